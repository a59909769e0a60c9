-- Balances as of any moment: every ledger entry records the membership's balances and lifetime
-- totals right after it (`balance_after` already held the net), so the balances at an instant
-- are the after-values of the membership's last entry made at or before it, one seek on
-- `ledger_membership_created` (membership_id, created_at, id): O(log n). New entries get the
-- values from `Account::post`, computed in memory from the locked membership (no extra
-- statement); existing entries are backfilled here with running window sums in posting order
-- (entry ids are UUID v7, so `ORDER BY id` is the order they were posted). The migration is
-- the one place that writes to existing entries. The invariant checker proves each entry's
-- after-values equal the running sums of its membership's entries and the last ones equal the
-- membership's balances. Same conventions as the first migration; one SQL text serves both
-- backends (window functions: SQLite >= 3.25, UPDATE ... FROM: SQLite >= 3.33).
ALTER TABLE ledger_entries ADD COLUMN available_after BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ledger_entries ADD COLUMN pending_after BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ledger_entries ADD COLUMN held_after BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ledger_entries ADD COLUMN debt_after BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ledger_entries ADD COLUMN earned_after BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ledger_entries ADD COLUMN redeemed_after BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ledger_entries ADD COLUMN expired_after BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ledger_entries ADD COLUMN reversed_after BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ledger_entries ADD COLUMN referral_after BIGINT NOT NULL DEFAULT 0;

-- The lifetime totals follow `Balances::apply`: earned counts the earning kinds and upward
-- adjustments (a positive net change), reversed the reversals and downward adjustments,
-- redeemed the redemptions and captures minus the returns.
UPDATE ledger_entries SET
    available_after = r.available_after,
    pending_after = r.pending_after,
    held_after = r.held_after,
    debt_after = r.debt_after,
    earned_after = r.earned_after,
    redeemed_after = r.redeemed_after,
    expired_after = r.expired_after,
    reversed_after = r.reversed_after,
    referral_after = r.referral_after
FROM (
    SELECT
        id,
        CAST(SUM(d_available) OVER w AS BIGINT) AS available_after,
        CAST(SUM(d_pending) OVER w AS BIGINT) AS pending_after,
        CAST(SUM(d_held) OVER w AS BIGINT) AS held_after,
        CAST(SUM(d_debt) OVER w AS BIGINT) AS debt_after,
        CAST(SUM(CASE
            WHEN kind IN ('earned', 'referral_earned', 'action_bonus', 'tier_bonus', 'campaign_bonus')
                THEN points
            WHEN kind = 'adjusted' AND d_available + d_pending + d_held - d_debt > 0 THEN points
            ELSE 0 END) OVER w AS BIGINT) AS earned_after,
        CAST(SUM(CASE
            WHEN kind IN ('redeemed', 'captured') THEN points
            WHEN kind = 'returned' THEN -points
            ELSE 0 END) OVER w AS BIGINT) AS redeemed_after,
        CAST(SUM(CASE WHEN kind = 'expired' THEN points ELSE 0 END) OVER w AS BIGINT)
            AS expired_after,
        CAST(SUM(CASE
            WHEN kind = 'reversed' THEN points
            WHEN kind = 'adjusted' AND d_available + d_pending + d_held - d_debt < 0 THEN points
            ELSE 0 END) OVER w AS BIGINT) AS reversed_after,
        CAST(SUM(CASE WHEN kind = 'referral_earned' THEN points ELSE 0 END) OVER w AS BIGINT)
            AS referral_after
    FROM ledger_entries
    WINDOW w AS (PARTITION BY membership_id ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
) AS r
WHERE ledger_entries.id = r.id;

CREATE INDEX ledger_membership_created ON ledger_entries (membership_id, created_at, id);
