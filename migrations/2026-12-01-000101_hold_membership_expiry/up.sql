-- An active hold past its time-to-live is released by the next operation on its membership
-- (see `Account::settle` in crates/loyalty-store/src/account.rs), not only by the sweep. Two
-- things make that cheap: the membership's `settle_due_at` is no later than its earliest
-- active hold's `expires_at`, and this index answers "the membership's active holds, earliest
-- expiry first" with one seek. Same conventions as the first migration; one SQL text serves
-- both backends.
CREATE INDEX holds_active_membership ON holds (membership_id, expires_at) WHERE status = 'active';

-- A membership with an active hold may have a `settle_due_at` later than the hold's expiry
-- (written before this release): make it unknown, so its next operation recomputes it.
UPDATE memberships SET settle_due_at = NULL
WHERE id IN (SELECT membership_id FROM holds WHERE status = 'active');
