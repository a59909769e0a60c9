-- Back to three statuses: a fulfilled redemption reads as used; a cancelled one cannot be
-- described without its return, so the downgrade keeps it as used (its points stay returned in
-- the ledger).
CREATE TABLE reward_redemptions_v1 (
    id TEXT NOT NULL PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    membership_id TEXT NOT NULL REFERENCES memberships (id),
    reward_id TEXT NOT NULL REFERENCES rewards (id),
    entry_id TEXT NOT NULL REFERENCES ledger_entries (id),
    points BIGINT NOT NULL CHECK (points > 0),
    coupon_code TEXT UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('active', 'used', 'expired')),
    expires_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
INSERT INTO reward_redemptions_v1
    (id, tenant_id, membership_id, reward_id, entry_id, points, coupon_code, status,
     expires_at, created_at, used_at)
SELECT id, tenant_id, membership_id, reward_id, entry_id, points, coupon_code,
       CASE WHEN status IN ('fulfilled', 'cancelled') THEN 'used' ELSE status END,
       expires_at, created_at, COALESCE(used_at, cancelled_at)
FROM reward_redemptions;
DROP TABLE reward_redemptions;
ALTER TABLE reward_redemptions_v1 RENAME TO reward_redemptions;
CREATE INDEX reward_redemptions_membership ON reward_redemptions (membership_id, id);
