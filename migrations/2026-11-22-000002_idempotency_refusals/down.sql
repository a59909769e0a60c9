-- Recorded refusals cannot be kept as results: forget them (their keys become unused again).
DELETE FROM idempotency_records WHERE outcome <> 'result';
ALTER TABLE idempotency_records DROP COLUMN outcome;
