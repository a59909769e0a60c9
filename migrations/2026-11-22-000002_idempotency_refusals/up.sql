-- An idempotency record keeps what the first call answered, a result or a refusal, and every
-- retry with the same key and request gets that answer again. `outcome` says which one
-- `response` holds:
--   * 'result': the operation's result, as JSON (every record written before this migration);
--   * 'failed_precondition': a refusal by the rules (insufficient points, a disabled program,
--     a resolved hold ...), as JSON {"reason": ..., "message": ...}; the operation's own writes
--     were rolled back, only the record of the refusal committed.
-- Malformed requests, rate-limited calls and transient failures are never recorded.
--
-- The same release replaces the request fingerprint (formerly a hash of the request's Debug
-- text, which included the caller's API key) with a canonical, versioned encoding. A key
-- recorded before cannot be matched any more: its retry is refused as a different request
-- (ALREADY_EXISTS) and changes nothing, never run twice.
ALTER TABLE idempotency_records
    ADD COLUMN outcome TEXT NOT NULL DEFAULT 'result'
    CHECK (outcome IN ('result', 'failed_precondition'));
