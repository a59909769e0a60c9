-- Lifetime referral points per membership: what the member earned as a referrer on referred
-- members' bills (the sum of its `referral_earned` entries, also counted in `earned`), kept
-- beside the other lifetime totals so balance reads show it without summing the ledger. The
-- invariant checker proves it equal to the entries. Same conventions as the first migration;
-- one SQL text serves both backends.
ALTER TABLE memberships ADD COLUMN referral_earned BIGINT NOT NULL DEFAULT 0
    CHECK (referral_earned >= 0);

UPDATE memberships SET referral_earned = COALESCE((
    SELECT CAST(SUM(e.points) AS BIGINT)
    FROM ledger_entries e
    WHERE e.membership_id = memberships.id AND e.kind = 'referral_earned'
), 0);
