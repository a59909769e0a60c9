-- Qualifying spend per membership and UTC day: the running aggregate that a tier measured by
-- qualifying spend over a rolling window reads (see crates/loyalty-store/src/ops/tiers.rs), so
-- an earn costs the same however many bills the member has. Same conventions as the first
-- migration; one SQL text serves both backends.
--
-- A row holds the sum of `bills.earn_amount` over the membership's earned bills whose
-- `earned_at` falls on `day` (UTC). It is written in the transaction that records the bill's
-- earning, under the membership's lock. The window's first, partial day is never read from
-- here but from the bills themselves, so the measure is exact to the microsecond.

CREATE TABLE qualifying_spend_days (
    membership_id TEXT NOT NULL REFERENCES memberships (id),
    day DATE NOT NULL,
    amount BIGINT NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (membership_id, day)
);

-- Backfill from the bills already earned, so an upgraded database measures what it measured
-- before. `date(timestamp)` is the calendar day on both backends (PostgreSQL's cast function;
-- SQLite's date function, which keeps the stored text's day: timestamps are stored without
-- zone, in UTC).
INSERT INTO qualifying_spend_days (membership_id, day, amount)
SELECT membership_id, date(earned_at), CAST(SUM(earn_amount) AS BIGINT)
FROM bills
WHERE earned_at IS NOT NULL
GROUP BY membership_id, date(earned_at)
HAVING SUM(earn_amount) > 0;
