//! The ledger change stream: every ledger entry of a tenant, and every hold, tier and
//! reward-redemption state change, numbered in commit order, for consumers that follow the
//! ledger instead of polling it (notification, analytics and wallet services).
//!
//! Changes are recorded by database triggers (installed by `install` after the migrations,
//! in each backend's own dialect), so every write path records them inside its own
//! transaction: a change exists exactly when the write that made it committed.
//!
//! **Numbering.** On SQLite one writer commits at a time and a trigger numbers each change
//! `MAX + 1` of its tenant as it is written: the sequence is the commit order. On PostgreSQL
//! writers commit side by side, so a trigger only gives a change an id from a database
//! sequence and leaves its stream sequence empty; the stream *seals* committed changes
//! ([`Store::seal_changes`]): one short transaction that locks the tenant's head row (a reader
//! that finds it locked leaves the work to the other), numbers the unsealed changes it sees
//! after the head in id order and moves the head. Sealed sequences are therefore always a
//! gap-free prefix `1..=head`, and a sequence, once given, never changes: a consumer that
//! resumes after the last sequence it saw gets every later change once, on any replica.
//!
//! **Order.** A membership's writes hold its row lock from before their first entry until
//! commit, so the entries of one membership are numbered in the order they committed and
//! their `balance_after` values chain. Across memberships, changes committed close together
//! on PostgreSQL may be numbered in either order.
//!
//! Writers pay one indexed insert per change and never wait for the stream.

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use loyalty_core::Points;

use crate::amounts::points_from_db;
use crate::clock::from_db_time;
use crate::db::{Backend, DbConnection};
use crate::error::{StoreError, StoreResult};
use crate::models::ledger::EntryRow;
use crate::ops::history::{LedgerEntryView, attach_lines};
use crate::ops::reward_redemptions::RewardRedemptionStatus;
use crate::schema::reward_redemptions;
use crate::schema::{holds, ledger_changes, ledger_entries, ledger_stream_heads, memberships};
use crate::store::Store;

/// The most changes one call returns.
pub const MAX_CHANGES: u32 = 1000;

/// How many committed changes one sealing transaction numbers at most.
const SEAL_BATCH: i64 = 5000;

/// Changes read from the stream, and where its end was then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeBatch {
    /// The changes, by increasing sequence.
    pub changes: Vec<ChangeView>,
    /// The stream's last sequence when they were read.
    pub head: i64,
}

/// One change of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeView {
    /// Its place in the tenant's stream (1, 2, 3 ... without gaps).
    pub sequence: i64,
    /// When the change was made (the entry's time; the hold's, membership's or redemption's
    /// time of the change).
    pub recorded_at: DateTime<Utc>,
    /// What changed.
    pub change: Change,
}

/// What a change of the stream is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A ledger entry was written.
    Entry(Box<LedgerEntryView>),
    /// A hold was placed or resolved.
    Hold(HoldChange),
    /// A membership's tier changed.
    Tier(TierChange),
    /// A reward redemption was made or changed status.
    Redemption(RedemptionChange),
}

/// A hold placed (status `active`) or resolved (`captured`, `released`, `expired`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldChange {
    /// The hold.
    pub hold_id: String,
    /// The member.
    pub member_id: String,
    /// The program.
    pub program_id: String,
    /// The bill reference it holds points for.
    pub reference: String,
    /// The points held.
    pub points: Points,
    /// Its status after the change.
    pub status: String,
}

/// A membership's tier after a change (`None`: no tier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierChange {
    /// The member.
    pub member_id: String,
    /// The program.
    pub program_id: String,
    /// The tier after the change.
    pub tier: Option<String>,
}

/// A reward redemption made (status `active`) or moved on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedemptionChange {
    /// The redemption.
    pub redemption_id: String,
    /// The member.
    pub member_id: String,
    /// The program.
    pub program_id: String,
    /// The reward.
    pub reward_id: String,
    /// The points it cost.
    pub points: Points,
    /// Its status after the change.
    pub status: RewardRedemptionStatus,
}

/// SQLite: each trigger numbers its change after its tenant's last one (the writer holds the
/// write lock, so no two transactions number at once): name, event, condition, kind, the
/// changed row's id, its membership, the state after the change and when it happened.
const SQLITE_TRIGGERS: [[&str; 8]; 7] = [
    [
        "entry",
        "INSERT ON ledger_entries",
        "",
        "'entry'",
        "NEW.id",
        "NEW.membership_id",
        "NULL",
        "NEW.created_at",
    ],
    [
        "hold_placed",
        "INSERT ON holds",
        "",
        "'hold'",
        "NEW.id",
        "NEW.membership_id",
        "NEW.status",
        "NEW.created_at",
    ],
    [
        "hold_status",
        "UPDATE OF status ON holds",
        "WHEN OLD.status IS NOT NEW.status",
        "'hold'",
        "NEW.id",
        "NEW.membership_id",
        "NEW.status",
        "COALESCE(NEW.resolved_at, NEW.created_at)",
    ],
    [
        "tier_joined",
        "INSERT ON memberships",
        "WHEN NEW.tier IS NOT NULL",
        "'tier'",
        "NEW.id",
        "NEW.id",
        "NEW.tier",
        "NEW.joined_at",
    ],
    [
        "tier",
        "UPDATE OF tier ON memberships",
        "WHEN OLD.tier IS NOT NEW.tier",
        "'tier'",
        "NEW.id",
        "NEW.id",
        "NEW.tier",
        "NEW.updated_at",
    ],
    [
        "redemption_made",
        "INSERT ON reward_redemptions",
        "",
        "'redemption'",
        "NEW.id",
        "NEW.membership_id",
        "NEW.status",
        "NEW.created_at",
    ],
    [
        "redemption_status",
        "UPDATE OF status ON reward_redemptions",
        "WHEN OLD.status IS NOT NEW.status",
        "'redemption'",
        "NEW.id",
        "NEW.membership_id",
        "NEW.status",
        REDEMPTION_CHANGED_AT,
    ],
];

/// When a redemption's status changed: when it was cancelled or used, when it expired.
const REDEMPTION_CHANGED_AT: &str = "COALESCE(NEW.cancelled_at, NEW.used_at, \
     CASE WHEN NEW.status = 'expired' THEN NEW.expires_at END, NEW.created_at)";

/// The SQLite triggers' DDL.
fn sqlite_triggers() -> String {
    SQLITE_TRIGGERS
        .iter()
        .map(|[name, event, when, kind, id, membership, state, at]| {
            format!(
                "CREATE TRIGGER IF NOT EXISTS ledger_changes_{name} AFTER {event} {when} BEGIN
                 INSERT INTO ledger_changes
                     (tenant_id, id, seq, kind, ref_id, membership_id, state, recorded_at)
                 SELECT NEW.tenant_id, n, n, {kind}, {id}, {membership}, {state}, {at}
                 FROM (SELECT COALESCE(MAX(id), 0) + 1 AS n FROM ledger_changes
                       WHERE tenant_id = NEW.tenant_id);
                 END;\n"
            )
        })
        .collect()
}

/// PostgreSQL: triggers take ids from a sequence and leave `seq` to the stream's sealing;
/// they lock nothing, so writers never wait for one another on account of the stream.
const POSTGRES_INSTALL: &str = r#"
DO $$ BEGIN
    IF to_regclass('ledger_changes_id_seq') IS NULL THEN
        CREATE SEQUENCE ledger_changes_id_seq;
        PERFORM setval('ledger_changes_id_seq',
                       (SELECT COALESCE(MAX(id), 0) + 1 FROM ledger_changes), false);
    END IF;
END $$;
CREATE UNIQUE INDEX IF NOT EXISTS ledger_changes_sequence ON ledger_changes (tenant_id, seq);
CREATE INDEX IF NOT EXISTS ledger_changes_unsealed ON ledger_changes (tenant_id, id)
    WHERE seq IS NULL;

CREATE OR REPLACE FUNCTION loyalty_change_entry() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO ledger_changes (tenant_id, id, seq, kind, ref_id, membership_id, state, recorded_at)
    VALUES (NEW.tenant_id, nextval('ledger_changes_id_seq'), NULL, 'entry', NEW.id,
            NEW.membership_id, NULL, NEW.created_at);
    RETURN NULL;
END $f$;
CREATE OR REPLACE FUNCTION loyalty_change_hold() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO ledger_changes (tenant_id, id, seq, kind, ref_id, membership_id, state, recorded_at)
    VALUES (NEW.tenant_id, nextval('ledger_changes_id_seq'), NULL, 'hold', NEW.id,
            NEW.membership_id, NEW.status, COALESCE(NEW.resolved_at, NEW.created_at));
    RETURN NULL;
END $f$;
CREATE OR REPLACE FUNCTION loyalty_change_tier() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO ledger_changes (tenant_id, id, seq, kind, ref_id, membership_id, state, recorded_at)
    VALUES (NEW.tenant_id, nextval('ledger_changes_id_seq'), NULL, 'tier', NEW.id, NEW.id,
            NEW.tier, CASE WHEN TG_OP = 'INSERT' THEN NEW.joined_at ELSE NEW.updated_at END);
    RETURN NULL;
END $f$;
CREATE OR REPLACE FUNCTION loyalty_change_redemption() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO ledger_changes (tenant_id, id, seq, kind, ref_id, membership_id, state, recorded_at)
    VALUES (NEW.tenant_id, nextval('ledger_changes_id_seq'), NULL, 'redemption', NEW.id,
            NEW.membership_id, NEW.status,
            COALESCE(NEW.cancelled_at, NEW.used_at,
                     CASE WHEN NEW.status = 'expired' THEN NEW.expires_at END, NEW.created_at));
    RETURN NULL;
END $f$;

DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('ledger_changes_entry', 'ledger_entries',
         'AFTER INSERT ON ledger_entries FOR EACH ROW EXECUTE FUNCTION loyalty_change_entry()'),
        ('ledger_changes_hold_placed', 'holds',
         'AFTER INSERT ON holds FOR EACH ROW EXECUTE FUNCTION loyalty_change_hold()'),
        ('ledger_changes_hold_status', 'holds',
         'AFTER UPDATE OF status ON holds FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION loyalty_change_hold()'),
        ('ledger_changes_tier_joined', 'memberships',
         'AFTER INSERT ON memberships FOR EACH ROW WHEN (NEW.tier IS NOT NULL) EXECUTE FUNCTION loyalty_change_tier()'),
        ('ledger_changes_tier', 'memberships',
         'AFTER UPDATE OF tier ON memberships FOR EACH ROW WHEN (OLD.tier IS DISTINCT FROM NEW.tier) EXECUTE FUNCTION loyalty_change_tier()'),
        ('ledger_changes_redemption_made', 'reward_redemptions',
         'AFTER INSERT ON reward_redemptions FOR EACH ROW EXECUTE FUNCTION loyalty_change_redemption()'),
        ('ledger_changes_redemption_status', 'reward_redemptions',
         'AFTER UPDATE OF status ON reward_redemptions FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION loyalty_change_redemption()')
    ) AS x(name, tbl, body) LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_trigger
                       WHERE tgname = t.name AND tgrelid = t.tbl::regclass) THEN
            EXECUTE format('CREATE TRIGGER %I %s', t.name, t.body);
        END IF;
    END LOOP;
END $$;
"#;

/// Installs the change stream's triggers (and on PostgreSQL its id sequence and indexes),
/// leaving the ones already there: run after the migrations on every start (on PostgreSQL
/// under the migration lock). A table a later migration rebuilds gets its triggers back.
pub(crate) fn install(conn: &mut DbConnection, backend: Backend) -> StoreResult<()> {
    match backend {
        Backend::Sqlite => conn.batch_execute(&sqlite_triggers())?,
        Backend::Postgres => conn.batch_execute(POSTGRES_INSTALL)?,
    }
    Ok(())
}

#[derive(Queryable)]
struct ChangeRow {
    id: i64,
    seq: Option<i64>,
    kind: String,
    ref_id: String,
    membership_id: String,
    state: Option<String>,
    recorded_at: chrono::NaiveDateTime,
}

fn redemption_status(text: &str) -> StoreResult<RewardRedemptionStatus> {
    RewardRedemptionStatus::parse(text)
        .ok_or_else(|| StoreError::Corrupt(format!("a redemption change has status {text:?}")))
}

impl Store {
    /// Numbers the tenant's committed changes that have no sequence yet (PostgreSQL; on
    /// SQLite changes are numbered as they are written and this does nothing). Returns how
    /// many it numbered: 0 also when another replica is sealing the tenant right now.
    pub fn seal_changes(&self, tenant: &str) -> StoreResult<u64> {
        if self.backend() != Backend::Postgres {
            return Ok(0);
        }
        let unsealed: bool = self.read(|conn| {
            Ok(diesel::select(diesel::dsl::exists(
                ledger_changes::table
                    .filter(ledger_changes::tenant_id.eq(tenant))
                    .filter(ledger_changes::seq.is_null()),
            ))
            .get_result(conn)?)
        })?;
        if !unsealed {
            return Ok(0);
        }
        self.write(|conn| {
            let DbConnection::Postgres(pg) = conn else {
                return Ok(0);
            };
            diesel::insert_into(ledger_stream_heads::table)
                .values((
                    ledger_stream_heads::tenant_id.eq(tenant),
                    ledger_stream_heads::last_seq.eq(0i64),
                ))
                .on_conflict_do_nothing()
                .execute(pg)?;
            let head: Option<i64> = ledger_stream_heads::table
                .filter(ledger_stream_heads::tenant_id.eq(tenant))
                .select(ledger_stream_heads::last_seq)
                .for_update()
                .skip_locked()
                .first(pg)
                .optional()?;
            let Some(head) = head else {
                return Ok(0);
            };
            // A new statement, so a new snapshot: every change committed before the head was
            // locked is seen.
            let sealed = diesel::sql_query(
                "WITH next AS (
                     SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM ledger_changes
                     WHERE tenant_id = $1 AND seq IS NULL ORDER BY id LIMIT $3)
                 UPDATE ledger_changes c SET seq = $2 + next.n FROM next
                 WHERE c.tenant_id = $1 AND c.id = next.id",
            )
            .bind::<diesel::sql_types::Text, _>(tenant)
            .bind::<diesel::sql_types::BigInt, _>(head)
            .bind::<diesel::sql_types::BigInt, _>(SEAL_BATCH)
            .execute(pg)?;
            diesel::update(ledger_stream_heads::table)
                .filter(ledger_stream_heads::tenant_id.eq(tenant))
                .set(ledger_stream_heads::last_seq.eq(head + sealed as i64))
                .execute(pg)?;
            Ok(sealed as u64)
        })
    }

    /// The tenant's changes after sequence `after`, oldest first, at most `limit` (1..=1000),
    /// with the stream's last sequence; no changes when there is none yet. On PostgreSQL
    /// committed changes are sealed first. A sequence past the stream's end is refused: the
    /// caller follows another database (or one restored from an older backup).
    pub fn changes_after(&self, tenant: &str, after: i64, limit: u32) -> StoreResult<ChangeBatch> {
        if after < 0 {
            return Err(StoreError::InvalidArgument(format!(
                "after_sequence {after} is negative: pass 0 to start from the beginning"
            )));
        }
        self.seal_changes(tenant)?;
        let limit = i64::from(limit.clamp(1, MAX_CHANGES));
        self.read(|conn| {
            use ledger_changes::dsl as c;
            let head: Option<i64> = match conn {
                DbConnection::Sqlite(_) => c::ledger_changes
                    .filter(c::tenant_id.eq(tenant))
                    .select(diesel::dsl::max(c::id))
                    .first(conn)?,
                DbConnection::Postgres(_) => c::ledger_changes
                    .filter(c::tenant_id.eq(tenant))
                    .select(diesel::dsl::max(c::seq))
                    .first(conn)?,
            };
            let head = head.unwrap_or(0);
            if after > head {
                return Err(StoreError::FailedPrecondition(format!(
                    "after_sequence {after} is past the end of this ledger's change stream \
                     ({head}): the consumer followed another database, or this one was \
                     restored from an older backup"
                )));
            }
            let columns = (
                c::id,
                c::seq,
                c::kind,
                c::ref_id,
                c::membership_id,
                c::state,
                c::recorded_at,
            );
            let rows: Vec<ChangeRow> = match conn {
                DbConnection::Sqlite(_) => c::ledger_changes
                    .filter(c::tenant_id.eq(tenant))
                    .filter(c::id.gt(after))
                    .order(c::id)
                    .limit(limit)
                    .select(columns)
                    .load(conn)?,
                DbConnection::Postgres(_) => c::ledger_changes
                    .filter(c::tenant_id.eq(tenant))
                    .filter(c::seq.gt(after))
                    .order(c::seq)
                    .limit(limit)
                    .select(columns)
                    .load(conn)?,
            };
            Ok(ChangeBatch {
                changes: views(conn, tenant, rows)?,
                head,
            })
        })
    }
}

/// The rows' changes as callers see them: the entries, holds, memberships and redemptions
/// they name, one statement each.
fn views(
    conn: &mut DbConnection,
    tenant: &str,
    rows: Vec<ChangeRow>,
) -> StoreResult<Vec<ChangeView>> {
    let ids_of = |kind: &str| -> Vec<&str> {
        rows.iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.ref_id.as_str())
            .collect()
    };
    let entry_ids = ids_of("entry");
    let hold_ids = ids_of("hold");
    let redemption_ids = ids_of("redemption");
    let membership_ids: Vec<&str> = rows
        .iter()
        .filter(|r| r.kind != "entry")
        .map(|r| r.membership_id.as_str())
        .collect();

    let mut entries = Vec::new();
    if !entry_ids.is_empty() {
        let found: Vec<EntryRow> = ledger_entries::table
            .filter(ledger_entries::id.eq_any(&entry_ids))
            .select(EntryRow::as_select())
            .load(conn)?;
        entries = found
            .into_iter()
            .map(LedgerEntryView::try_from)
            .collect::<StoreResult<Vec<_>>>()?;
        attach_lines(conn, tenant, &mut entries)?;
    }
    let members: Vec<(String, String, String)> = if membership_ids.is_empty() {
        Vec::new()
    } else {
        memberships::table
            .filter(memberships::id.eq_any(&membership_ids))
            .select((
                memberships::id,
                memberships::member_id,
                memberships::program_id,
            ))
            .load(conn)?
    };
    let found_holds: Vec<(String, String, i64)> = if hold_ids.is_empty() {
        Vec::new()
    } else {
        holds::table
            .filter(holds::id.eq_any(&hold_ids))
            .select((holds::id, holds::reference, holds::points))
            .load(conn)?
    };
    let found_redemptions: Vec<(String, String, i64)> = if redemption_ids.is_empty() {
        Vec::new()
    } else {
        reward_redemptions::table
            .filter(reward_redemptions::id.eq_any(&redemption_ids))
            .select((
                reward_redemptions::id,
                reward_redemptions::reward_id,
                reward_redemptions::points,
            ))
            .load(conn)?
    };

    let missing = |what: &str, id: &str| {
        StoreError::Corrupt(format!("a change names {what} {id} that is not stored"))
    };
    let member_of = |membership: &str| {
        members
            .iter()
            .find(|(id, _, _)| id == membership)
            .map(|(_, member, program)| (member.clone(), program.clone()))
            .ok_or_else(|| missing("membership", membership))
    };
    let mut entries: std::collections::HashMap<String, LedgerEntryView> =
        entries.into_iter().map(|e| (e.id.clone(), e)).collect();
    rows.into_iter()
        .map(|r| {
            let change = match r.kind.as_str() {
                "entry" => Change::Entry(Box::new(
                    entries
                        .remove(&r.ref_id)
                        .ok_or_else(|| missing("entry", &r.ref_id))?,
                )),
                "hold" => {
                    let (_, reference, points) = found_holds
                        .iter()
                        .find(|(id, _, _)| *id == r.ref_id)
                        .ok_or_else(|| missing("hold", &r.ref_id))?;
                    let (member_id, program_id) = member_of(&r.membership_id)?;
                    Change::Hold(HoldChange {
                        hold_id: r.ref_id.clone(),
                        member_id,
                        program_id,
                        reference: reference.clone(),
                        points: points_from_db(*points)?,
                        status: r.state.clone().unwrap_or_default(),
                    })
                }
                "tier" => {
                    let (member_id, program_id) = member_of(&r.membership_id)?;
                    Change::Tier(TierChange {
                        member_id,
                        program_id,
                        tier: r.state.clone(),
                    })
                }
                "redemption" => {
                    let (_, reward_id, points) = found_redemptions
                        .iter()
                        .find(|(id, _, _)| *id == r.ref_id)
                        .ok_or_else(|| missing("redemption", &r.ref_id))?;
                    let (member_id, program_id) = member_of(&r.membership_id)?;
                    Change::Redemption(RedemptionChange {
                        redemption_id: r.ref_id.clone(),
                        member_id,
                        program_id,
                        reward_id: reward_id.clone(),
                        points: points_from_db(*points)?,
                        status: redemption_status(r.state.as_deref().unwrap_or_default())?,
                    })
                }
                other => {
                    return Err(StoreError::Corrupt(format!("a change has kind {other:?}")));
                }
            };
            Ok(ChangeView {
                sequence: r.seq.unwrap_or(r.id),
                recorded_at: from_db_time(r.recorded_at),
                change,
            })
        })
        .collect()
}
