-- Per-line earning: for each line of an earned bill, the category, the rule it earned by and
-- its share of the bill's points (see loyalty-core's `compute_earning`, step 6: the lines'
-- points add up to the bill's `earned` exactly, which the invariant checker proves). Written
-- in the earn's transaction; bills earned before this migration have no lines. Same
-- conventions as the first migration (amounts and points as BIGINT in 10^-4 units); one SQL
-- text serves both backends.
CREATE TABLE earn_lines (
    bill_id TEXT NOT NULL REFERENCES bills (id),
    line_no INTEGER NOT NULL CHECK (line_no >= 0),
    category TEXT,
    -- 'base_rate' (points per spend) or 'category_percent'.
    rule TEXT NOT NULL CHECK (rule IN ('base_rate', 'category_percent')),
    -- The category's percentage ("3"), or the base rate as points/per ("1/10").
    rate TEXT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount >= 0),
    base_points BIGINT NOT NULL CHECK (base_points >= 0),
    tier_bonus BIGINT NOT NULL CHECK (tier_bonus >= 0),
    campaign_bonus BIGINT NOT NULL CHECK (campaign_bonus >= 0),
    points BIGINT NOT NULL CHECK (points = base_points + tier_bonus + campaign_bonus),
    PRIMARY KEY (bill_id, line_no)
);
