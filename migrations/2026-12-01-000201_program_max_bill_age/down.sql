ALTER TABLE programs DROP COLUMN max_bill_age_days;
