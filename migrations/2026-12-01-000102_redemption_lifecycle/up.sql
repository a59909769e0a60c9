-- The life of a reward redemption: every redemption starts 'active'; a coupon becomes 'used'
-- at a till, a donation or an item 'fulfilled' (donation made, item delivered); a coupon past
-- its validity is 'expired'; an admin may cancel an active one ('cancelled'), which gives its
-- points back with a `returned` ledger entry (`return_entry_id`). `used_at` is when it was used
-- or fulfilled.
--
-- Neither backend lets one text alter a CHECK constraint (SQLite cannot at all), so the table
-- is rebuilt: created anew, filled, the old one dropped, the new one renamed. No table refers to
-- reward_redemptions. Same conventions as the first migration; one SQL text serves both.
CREATE TABLE reward_redemptions_v2 (
    id TEXT NOT NULL PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    membership_id TEXT NOT NULL REFERENCES memberships (id),
    reward_id TEXT NOT NULL REFERENCES rewards (id),
    entry_id TEXT NOT NULL REFERENCES ledger_entries (id),
    points BIGINT NOT NULL CHECK (points > 0),
    coupon_code TEXT UNIQUE,
    status TEXT NOT NULL
        CHECK (status IN ('active', 'used', 'fulfilled', 'expired', 'cancelled')),
    expires_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    cancelled_at TIMESTAMP,
    -- No foreign key (one to ledger_entries is there already, and a second would make the
    -- join ambiguous); the invariant checker proves it names this membership's `returned`
    -- entry of the redemption's points.
    return_entry_id TEXT,
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
    CHECK ((status = 'cancelled') = (return_entry_id IS NOT NULL))
);

-- A donation was recorded as used the moment it was redeemed: it was made, so it is fulfilled.
INSERT INTO reward_redemptions_v2
    (id, tenant_id, membership_id, reward_id, entry_id, points, coupon_code, status,
     expires_at, created_at, used_at)
SELECT r.id, r.tenant_id, r.membership_id, r.reward_id, r.entry_id, r.points, r.coupon_code,
       CASE WHEN r.status = 'used' AND w.kind <> 'coupon' THEN 'fulfilled' ELSE r.status END,
       r.expires_at, r.created_at, r.used_at
FROM reward_redemptions r
JOIN rewards w ON w.id = r.reward_id;

DROP TABLE reward_redemptions;
ALTER TABLE reward_redemptions_v2 RENAME TO reward_redemptions;
CREATE INDEX reward_redemptions_membership ON reward_redemptions (membership_id, id);
