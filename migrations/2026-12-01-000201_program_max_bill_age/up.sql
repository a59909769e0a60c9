-- Dated bills: how many days old a bill may be when it earns (NULL = no limit, what every
-- program stored before this migration keeps). Same conventions as the first migration; one
-- SQL text serves both backends.
ALTER TABLE programs ADD COLUMN max_bill_age_days INTEGER
    CHECK (max_bill_age_days IS NULL OR max_bill_age_days BETWEEN 1 AND 3650);
