ALTER TABLE memberships DROP COLUMN settle_due_at;
