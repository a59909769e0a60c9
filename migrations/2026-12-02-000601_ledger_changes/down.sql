-- Drop the triggers the store installed first (crates/loyalty-store/src/ops/changes.rs):
--   SQLite:     DROP TRIGGER IF EXISTS ledger_changes_<name>; for each trigger it lists;
--   PostgreSQL: DROP FUNCTION IF EXISTS loyalty_change_<name>() CASCADE; for each function,
--               and DROP SEQUENCE IF EXISTS ledger_changes_id_seq.
-- A store started on the database installs them again while the tables exist.
DROP INDEX reward_redemptions_entry;
DROP INDEX point_lots_entry;
DROP TABLE ledger_stream_heads;
DROP TABLE ledger_changes;
