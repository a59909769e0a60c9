-- The ledger change stream (ChangeStreamService.StreamChanges): one row per ledger entry and
-- per hold, tier and reward-redemption state change, numbered per tenant in commit order.
--
-- Rows are written by triggers on ledger_entries, holds, memberships and reward_redemptions,
-- which the store installs after the migrations (their text differs between SQLite and
-- PostgreSQL: crates/loyalty-store/src/ops/changes.rs), so no write path can forget one.
--   id   numbers a tenant's rows as they are written: on SQLite (one writer at a time) it is
--        the stream's sequence itself; on PostgreSQL it comes from a sequence, and concurrent
--        transactions can commit out of id order.
--   seq  the stream's sequence: on SQLite equal to id; on PostgreSQL NULL until the stream
--        seals the committed rows, numbering them after ledger_stream_heads.last_seq in one
--        short transaction, so the sealed sequences are always a gap-free prefix.
CREATE TABLE ledger_changes (
    tenant_id TEXT NOT NULL,
    id BIGINT NOT NULL,
    seq BIGINT,
    kind TEXT NOT NULL CHECK (kind IN ('entry', 'hold', 'tier', 'redemption')),
    ref_id TEXT NOT NULL,
    membership_id TEXT NOT NULL,
    state TEXT,
    recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- The last sequence sealed per tenant (PostgreSQL; SQLite numbers rows as they are written).
CREATE TABLE ledger_stream_heads (
    tenant_id TEXT PRIMARY KEY NOT NULL,
    last_seq BIGINT NOT NULL
);

-- The entries written before the stream existed, in entry-id (time) order, so a consumer
-- starting from 0 gets the whole ledger.
INSERT INTO ledger_changes (tenant_id, id, seq, kind, ref_id, membership_id, state, recorded_at)
SELECT tenant_id, n, n, 'entry', id, membership_id, NULL, created_at
FROM (
    SELECT tenant_id, id, membership_id, created_at,
           ROW_NUMBER() OVER (PARTITION BY tenant_id ORDER BY id) AS n
    FROM ledger_entries
) numbered;

INSERT INTO ledger_stream_heads (tenant_id, last_seq)
SELECT tenant_id, MAX(seq) FROM ledger_changes GROUP BY tenant_id;

-- With a trigger on ledger_entries, SQLite compiles its foreign-key bookkeeping for inserted
-- parent rows (a look for child rows that name the new entry, run only while a deferred
-- violation is pending): these indexes make that look a seek instead of a scan.
CREATE INDEX point_lots_entry ON point_lots (entry_id);
CREATE INDEX reward_redemptions_entry ON reward_redemptions (entry_id);
