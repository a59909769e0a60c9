-- When a membership's next lot can expire or mature: NULL = unknown (the next operation
-- settles and computes it); a value T = no open lot expires and no open pending lot matures
-- before T, so every operation before T skips settling. Existing rows start unknown.
ALTER TABLE memberships ADD COLUMN settle_due_at TIMESTAMP;
