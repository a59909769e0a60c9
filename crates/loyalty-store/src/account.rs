//! [`Account`]: one membership locked inside a write transaction, and the only code that
//! writes ledger entries, lots and allocations.
//!
//! Every operation that changes points locks the membership first ([`Account::lock`]: a
//! `SELECT ... FOR UPDATE` of its row, which on PostgreSQL holds the row lock until commit
//! (SQLite's write transactions are exclusive already), so concurrent
//! operations on one membership, on any replica, run one after another and each sees what the
//! previous committed). It then settles the membership (expires overdue lots, matures due
//! pending lots), posts entries through [`Account::credit`] / [`Account::debit`] /
//! [`Account::post`], which check every change with `loyalty-core`'s
//! [`Balances::apply`](loyalty_core::Balances::apply), and finally [`Account::save`]s the
//! balances. A balance can therefore only change together with the entry that explains it.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use diesel::prelude::*;
use loyalty_core::ledger::{self, Balances, BucketDelta, EntryKind};
use loyalty_core::lots::{self, Allocation, Lot};
use loyalty_core::{Points, Rules};
use uuid::Uuid;

use crate::amounts::{points_from_db, points_to_db, to_db};
use crate::clock::{from_db_time, to_db_time};
use crate::db::{DbConnection, native};
use crate::error::{StoreError, StoreResult};
use crate::literal::{
    HoldActive, LotOpen, LotPending, MinHoldExpiry, MinLotExpiry, MinLotSpendableFrom,
};
use crate::models::ledger::{AllocationRow, EntryRow, LotRow};
use crate::models::member::MembershipRow;
use crate::schema::{holds, lot_allocations, point_lots};
use crate::statements::{MoveLot, SaveMembership};
use crate::store::new_id;

mod held;
mod imported;

pub(crate) use held::hold_of;

/// The `settle_due_at` of a membership that has nothing that can ever come due (no open lot
/// with an expiry, no open pending lot, no active hold): 9999-01-01, later than any lot's date and still a
/// valid `TIMESTAMP` on both backends. `NULL` cannot say this, because `NULL` means unknown.
pub const NOTHING_DUE: NaiveDateTime = NaiveDateTime::new(
    match NaiveDate::from_ymd_opt(9999, 1, 1) {
        Some(day) => day,
        None => panic!("9999-01-01 is a date"),
    },
    NaiveTime::MIN,
);

/// What an entry records besides its points: the why, who and which bill.
#[derive(Debug, Clone, Default)]
pub struct EntryMeta {
    /// The bill or order reference.
    pub reference: Option<String>,
    /// The hold the entry belongs to.
    pub hold_id: Option<String>,
    /// The campaign that granted a bonus.
    pub campaign_id: Option<String>,
    /// The member whose bill earned a referral bonus.
    pub source_member_id: Option<String>,
    /// Who performed it (an API key id, "system", ...).
    pub actor: String,
    /// Why (required for admin adjustments).
    pub reason: Option<String>,
    /// When the points of an earning credit were earned (a dated bill's time), if not now:
    /// the lot's pending period and expiry count from it.
    pub earned_at: Option<DateTime<Utc>>,
}

impl EntryMeta {
    /// Metadata with only an actor.
    pub fn by(actor: &str) -> Self {
        EntryMeta {
            actor: actor.to_owned(),
            ..EntryMeta::default()
        }
    }

    /// The same metadata with a reference.
    pub fn with_reference(mut self, reference: Option<&str>) -> Self {
        self.reference = reference.map(str::to_owned);
        self
    }
}

/// A membership locked for the rest of the transaction.
#[derive(Debug)]
pub struct Account {
    /// The row as locked (balances are kept in [`Account::balances`] until saved).
    pub row: MembershipRow,
    /// The balances, updated by every posted entry.
    pub balances: Balances,
    /// When the operation happens.
    pub now: DateTime<Utc>,
    /// Ids of entries posted in this transaction, in order.
    pub posted: Vec<String>,
    /// Overdue holds that settling released in this transaction.
    pub holds_released: u32,
}

pub(crate) fn balances_of(row: &MembershipRow) -> StoreResult<Balances> {
    Ok(Balances {
        available: points_from_db(row.available)?,
        pending: points_from_db(row.pending)?,
        held: points_from_db(row.held)?,
        debt: points_from_db(row.debt)?,
        earned: points_from_db(row.earned)?,
        redeemed: points_from_db(row.redeemed)?,
        expired: points_from_db(row.expired)?,
        reversed: points_from_db(row.reversed)?,
    })
}

pub(crate) fn lot_of(row: &LotRow) -> StoreResult<Lot> {
    Ok(Lot {
        id: parse_id(&row.id)?,
        remaining: points_from_db(row.remaining)?,
        spendable_from: from_db_time(row.spendable_from),
        expires_at: row.expires_at.map(from_db_time),
        pending: row.pending,
    })
}

pub(crate) fn parse_id(id: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| StoreError::Corrupt(format!("stored id {id:?} is not a UUID")))
}

/// Reads the one membership row `$query` selects, taking its row lock on PostgreSQL: one
/// statement either way. PostgreSQL: `FOR UPDATE` takes the row lock and reads the row as it is
/// once the lock is granted. SQLite: every write transaction already holds the database's write
/// lock (`BEGIN IMMEDIATE`, or the group-commit writer), so no other writer can change the row
/// before commit.
macro_rules! locked_membership {
    ($conn:expr, $query:expr) => {
        match $conn {
            DbConnection::Postgres(pg) => $query
                .select(MembershipRow::as_select())
                .for_update()
                .get_result(pg)
                .optional()?,
            DbConnection::Sqlite(sqlite) => $query
                .select(MembershipRow::as_select())
                .get_result(sqlite)
                .optional()?,
        }
    };
}

impl Account {
    /// Locks membership `membership_id` of `tenant` for the rest of the transaction and loads
    /// it. Fails with `NotFound` when it is not the tenant's.
    pub fn lock(
        conn: &mut DbConnection,
        tenant: &str,
        membership_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Account> {
        use crate::schema::memberships::dsl as m;
        let row: Option<MembershipRow> = locked_membership!(
            conn,
            m::memberships
                .filter(m::id.eq(membership_id))
                .filter(m::tenant_id.eq(tenant))
        );
        let row = row.ok_or_else(|| StoreError::NotFound {
            what: "membership",
            id: membership_id.to_owned(),
        })?;
        Account::of(row, now)
    }

    /// Locks and loads the membership of member `member_id` in program `program_id`, in one
    /// statement like [`Account::lock`]. Fails with `NotFound` when the member has not joined
    /// the program (or either is not the tenant's).
    pub fn lock_of(
        conn: &mut DbConnection,
        tenant: &str,
        member_id: &str,
        program_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Account> {
        use crate::schema::memberships::dsl as m;
        let row: Option<MembershipRow> = locked_membership!(
            conn,
            m::memberships
                .filter(m::tenant_id.eq(tenant))
                .filter(m::member_id.eq(member_id))
                .filter(m::program_id.eq(program_id))
        );
        let row = row.ok_or_else(|| StoreError::NotFound {
            what: "membership",
            id: format!("member {member_id} in program {program_id}"),
        })?;
        Account::of(row, now)
    }

    fn of(row: MembershipRow, now: DateTime<Utc>) -> StoreResult<Account> {
        let balances = balances_of(&row)?;
        Ok(Account {
            row,
            balances,
            now,
            posted: Vec::new(),
            holds_released: 0,
        })
    }

    /// Releases this membership's active holds whose time-to-live is over, expires its overdue
    /// lots and matures its due pending lots, posting a `released` entry per hold and an
    /// `expired` / `matured` entry per lot, so every operation sees up-to-date balances (an
    /// overdue hold's points are spendable in the same call). Returns the points that expired.
    ///
    /// The membership's `settle_due_at` makes this free when nothing is due: while it is
    /// `Some(t)` with now before `t`, no active hold runs out, no open lot expires and no open
    /// pending lot matures, so settling returns without a statement. Otherwise (due, or
    /// `None`: unknown) it settles and then recomputes the value with three index seeks.
    pub fn settle(&mut self, conn: &mut DbConnection) -> StoreResult<Points> {
        self.settle_but(conn, None)
    }

    /// [`Account::settle`], leaving hold `kept` alone: the hold the caller resolves itself
    /// (a capture of an overdue hold is refused as expired, its release is a release).
    pub fn settle_but(
        &mut self,
        conn: &mut DbConnection,
        kept: Option<&str>,
    ) -> StoreResult<Points> {
        use crate::schema::point_lots::dsl as l;
        let now_db = to_db_time(self.now);
        if self.row.settle_due_at.is_some_and(|due| now_db < due) {
            return Ok(Points::ZERO);
        }
        // Holds first: their points go back to their lots, which may be overdue themselves.
        self.release_overdue_holds(conn, kept)?;
        // Two queries whose literal predicates match the partial indexes `point_lots_open`
        // and `point_lots_maturing` (a bound `remaining > $1` could not use them), so
        // settling stays cheap however many lots a membership has.
        let mut due: Vec<LotRow> = native!(conn, c => l::point_lots
            .filter(l::membership_id.eq(&self.row.id))
            .filter(LotOpen)
            .filter(l::expires_at.le(now_db))
            .select(LotRow::as_select())
            .load(c))?;
        let maturing: Vec<LotRow> = native!(conn, c => l::point_lots
            .filter(l::membership_id.eq(&self.row.id))
            .filter(LotPending)
            .filter(LotOpen)
            .filter(l::spendable_from.le(now_db))
            .select(LotRow::as_select())
            .load(c))?;
        for row in maturing {
            if !due.iter().any(|d| d.id == row.id) {
                due.push(row);
            }
        }
        let lots = due.iter().map(lot_of).collect::<StoreResult<Vec<_>>>()?;
        let reference_of = |lot_id: Uuid| {
            due.iter()
                .find(|r| r.id == lot_id.to_string())
                .and_then(|r| r.reference.clone())
        };
        let mut expired = Points::ZERO;
        for alloc in lots::overdue(&lots, self.now) {
            let split = lots::split(&lots, std::slice::from_ref(&alloc))?;
            let delta = BucketDelta {
                available: -split.available.value(),
                pending: -split.pending.value(),
                ..BucketDelta::ZERO
            };
            let meta = EntryMeta {
                reference: reference_of(alloc.lot_id),
                ..EntryMeta::by("system")
            };
            let entry = self.post(conn, EntryKind::Expired, alloc.points, &delta, &meta)?;
            self.take_from_lots(conn, &entry, None, std::slice::from_ref(&alloc))?;
            expired = expired.checked_add(alloc.points)?;
        }
        for alloc in lots::matured(&lots, self.now) {
            let delta = BucketDelta {
                available: alloc.points.value(),
                pending: -alloc.points.value(),
                ..BucketDelta::ZERO
            };
            let meta = EntryMeta {
                reference: reference_of(alloc.lot_id),
                ..EntryMeta::by("system")
            };
            self.post(conn, EntryKind::Matured, alloc.points, &delta, &meta)?;
            native!(conn, c => diesel::update(l::point_lots.filter(l::id.eq(alloc.lot_id.to_string())))
                .set(l::pending.eq(false))
                .execute(c))?;
        }
        self.row.settle_due_at = Some(self.next_due(conn)?);
        Ok(expired)
    }

    /// When the membership's next open lot expires, next open pending lot matures or next
    /// active hold runs out ([`NOTHING_DUE`] when none exists): three seeks, on
    /// `point_lots_open`, `point_lots_maturing` and `holds_active_membership` (whose predicates
    /// the literal fragments repeat).
    fn next_due(&self, conn: &mut DbConnection) -> StoreResult<NaiveDateTime> {
        use crate::schema::point_lots::dsl as l;
        let expiry: Option<NaiveDateTime> = native!(conn, c => l::point_lots
            .filter(l::membership_id.eq(&self.row.id))
            .filter(LotOpen)
            .select(MinLotExpiry)
            .get_result(c))?;
        let maturity: Option<NaiveDateTime> = native!(conn, c => l::point_lots
            .filter(l::membership_id.eq(&self.row.id))
            .filter(LotPending)
            .filter(LotOpen)
            .select(MinLotSpendableFrom)
            .get_result(c))?;
        let hold: Option<NaiveDateTime> = native!(conn, c => holds::table
            .filter(holds::membership_id.eq(&self.row.id))
            .filter(HoldActive)
            .select(MinHoldExpiry)
            .get_result(c))?;
        Ok([expiry, maturity, hold]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(NOTHING_DUE))
    }

    /// Lowers `settle_due_at` to `at` (an unknown value stays unknown).
    pub(crate) fn due_no_later_than(&mut self, at: NaiveDateTime) {
        if let Some(due) = self.row.settle_due_at.as_mut() {
            *due = (*due).min(at);
        }
    }

    /// Posts one entry: checks the change with `loyalty-core`, appends the entry with the
    /// balances and lifetime totals after it, returns its id.
    pub fn post(
        &mut self,
        conn: &mut DbConnection,
        kind: EntryKind,
        points: Points,
        delta: &BucketDelta,
        meta: &EntryMeta,
    ) -> StoreResult<String> {
        self.balances = self.balances.apply(kind, points, delta)?;
        if kind == EntryKind::ReferralEarned {
            self.row.referral_earned = self
                .row
                .referral_earned
                .checked_add(points_to_db(points)?)
                .ok_or_else(|| StoreError::Corrupt("referral points overflow".into()))?;
        }
        let id = new_id();
        let b = &self.balances;
        let row = EntryRow {
            id: id.clone(),
            tenant_id: self.row.tenant_id.clone(),
            membership_id: self.row.id.clone(),
            program_id: self.row.program_id.clone(),
            member_id: self.row.member_id.clone(),
            kind: kind.as_str().to_owned(),
            points: points_to_db(points)?,
            d_available: to_db(delta.available)?,
            d_pending: to_db(delta.pending)?,
            d_held: to_db(delta.held)?,
            d_debt: to_db(delta.debt)?,
            balance_after: to_db(self.balances.net())?,
            reference: meta.reference.clone(),
            hold_id: meta.hold_id.clone(),
            campaign_id: meta.campaign_id.clone(),
            source_member_id: meta.source_member_id.clone(),
            actor: meta.actor.clone(),
            reason: meta.reason.clone(),
            created_at: to_db_time(self.now),
            // The running values after the entry, from the balances just computed: the
            // balances as of any moment are one seek away (see `ops::as_of`).
            available_after: points_to_db(b.available)?,
            pending_after: points_to_db(b.pending)?,
            held_after: points_to_db(b.held)?,
            debt_after: points_to_db(b.debt)?,
            earned_after: points_to_db(b.earned)?,
            redeemed_after: points_to_db(b.redeemed)?,
            expired_after: points_to_db(b.expired)?,
            reversed_after: points_to_db(b.reversed)?,
            referral_after: self.row.referral_earned,
        };
        native!(conn, c => diesel::insert_into(crate::schema::ledger_entries::table)
            .values(&row)
            .execute(c))?;
        self.posted.push(id.clone());
        Ok(id)
    }

    /// Credits `points` of a credit kind: repays debt first, puts the rest in a new lot (pending
    /// when the program has a pending period). Returns the entry id. Zero points post nothing.
    pub fn credit(
        &mut self,
        conn: &mut DbConnection,
        rules: &Rules,
        kind: EntryKind,
        points: Points,
        meta: &EntryMeta,
    ) -> StoreResult<Option<String>> {
        if points.is_zero() {
            return Ok(None);
        }
        let split = ledger::credit(&self.balances, kind, points)?;
        let lot = if split.to_lot.is_zero() {
            None
        } else {
            Some(lots::new_dated_lot(
                rules,
                kind,
                Uuid::now_v7(),
                split.to_lot,
                meta.earned_at.unwrap_or(self.now),
                self.now,
            )?)
        };
        let delta = split.delta(lot.as_ref().is_some_and(|l| l.pending));
        let entry = self.post(conn, kind, points, &delta, meta)?;
        if let Some(lot) = lot {
            self.open_lot(conn, &entry, &lot, meta)?;
        }
        Ok(Some(entry))
    }

    /// Inserts `lot`, credited by `entry`, and lowers `settle_due_at` to its dates.
    fn open_lot(
        &mut self,
        conn: &mut DbConnection,
        entry: &str,
        lot: &Lot,
        meta: &EntryMeta,
    ) -> StoreResult<()> {
        if let Some(expires_at) = lot.expires_at {
            self.due_no_later_than(to_db_time(expires_at));
        }
        if lot.pending {
            self.due_no_later_than(to_db_time(lot.spendable_from));
        }
        let row = LotRow {
            id: lot.id.to_string(),
            tenant_id: self.row.tenant_id.clone(),
            membership_id: self.row.id.clone(),
            entry_id: entry.to_owned(),
            reference: meta.reference.clone(),
            amount: points_to_db(lot.remaining)?,
            remaining: points_to_db(lot.remaining)?,
            pending: lot.pending,
            spendable_from: to_db_time(lot.spendable_from),
            expires_at: lot.expires_at.map(to_db_time),
            created_at: to_db_time(self.now),
        };
        native!(conn, c => diesel::insert_into(point_lots::table)
            .values(&row)
            .execute(c))?;
        Ok(())
    }

    /// The membership's spendable lots (not pending, not overdue, with points left).
    pub fn spendable_lots(&self, conn: &mut DbConnection) -> StoreResult<Vec<Lot>> {
        use crate::schema::point_lots::dsl as l;
        let rows: Vec<LotRow> = native!(conn, c => l::point_lots
            .filter(l::membership_id.eq(&self.row.id))
            .filter(LotOpen)
            .filter(l::pending.eq(false))
            .select(LotRow::as_select())
            .load(c))?;
        let lots = rows.iter().map(lot_of).collect::<StoreResult<Vec<_>>>()?;
        Ok(lots
            .into_iter()
            .filter(|l| l.is_spendable(self.now))
            .collect())
    }

    /// Lowers the lots by `allocations` and records each allocation against `entry` (and the
    /// hold, when points go to or come from a hold).
    pub fn take_from_lots(
        &mut self,
        conn: &mut DbConnection,
        entry: &str,
        hold_id: Option<&str>,
        allocations: &[Allocation],
    ) -> StoreResult<()> {
        self.move_lots(conn, entry, hold_id, allocations, -1)
    }

    /// Gives `allocations` back to their lots (a release, a return of redeemed points) and
    /// records them against `entry`.
    pub fn give_back_to_lots(
        &mut self,
        conn: &mut DbConnection,
        entry: &str,
        hold_id: Option<&str>,
        allocations: &[Allocation],
    ) -> StoreResult<()> {
        // A lot given points back may be overdue or due before `settle_due_at`; rather than
        // read its dates, mark the next due time unknown, for the next settle to recompute.
        if !allocations.is_empty() {
            self.row.settle_due_at = None;
        }
        self.move_lots(conn, entry, hold_id, allocations, 1)
    }

    fn move_lots(
        &mut self,
        conn: &mut DbConnection,
        entry: &str,
        hold_id: Option<&str>,
        allocations: &[Allocation],
        sign: i64,
    ) -> StoreResult<()> {
        for alloc in allocations {
            let units = points_to_db(alloc.points)?;
            // The lot's own CHECK (0 <= remaining <= amount) is the database's backstop.
            let statement = MoveLot {
                delta: &(sign * units),
                id: &alloc.lot_id.to_string(),
            };
            let changed = native!(conn, c => statement.execute(c))?;
            if changed != 1 {
                return Err(StoreError::Corrupt(format!(
                    "lot {} is missing",
                    alloc.lot_id
                )));
            }
            native!(conn, c => diesel::insert_into(lot_allocations::table)
                .values(AllocationRow {
                    id: new_id(),
                    tenant_id: self.row.tenant_id.clone(),
                    lot_id: alloc.lot_id.to_string(),
                    entry_id: entry.to_owned(),
                    hold_id: hold_id.map(str::to_owned),
                    points: units,
                })
                .execute(c))?;
        }
        Ok(())
    }

    /// Debits spendable points for a redemption-like entry (`Redeemed`, `Reserved`, negative
    /// `Adjusted`): plans the lots earliest expiry first, posts the entry, lowers the lots.
    /// Returns the entry id and the allocations.
    pub fn debit(
        &mut self,
        conn: &mut DbConnection,
        kind: EntryKind,
        points: Points,
        meta: &EntryMeta,
    ) -> StoreResult<(String, Vec<Allocation>)> {
        let lots = self.spendable_lots(conn)?;
        let allocations = lots::plan_spend(&lots, points, self.now)?;
        let delta = match kind {
            EntryKind::Reserved => BucketDelta {
                available: -points.value(),
                held: points.value(),
                ..BucketDelta::ZERO
            },
            _ => BucketDelta {
                available: -points.value(),
                ..BucketDelta::ZERO
            },
        };
        let entry = self.post(conn, kind, points, &delta, meta)?;
        self.take_from_lots(conn, &entry, meta.hold_id.as_deref(), &allocations)?;
        Ok((entry, allocations))
    }

    /// Writes the balances back to the membership row.
    pub fn save(&self, conn: &mut DbConnection) -> StoreResult<()> {
        let b = &self.balances;
        let statement = SaveMembership {
            available: &points_to_db(b.available)?,
            pending: &points_to_db(b.pending)?,
            held: &points_to_db(b.held)?,
            debt: &points_to_db(b.debt)?,
            earned: &points_to_db(b.earned)?,
            redeemed: &points_to_db(b.redeemed)?,
            expired: &points_to_db(b.expired)?,
            reversed: &points_to_db(b.reversed)?,
            tier: &self.row.tier,
            best_tier_rank: &self.row.best_tier_rank,
            updated_at: &to_db_time(self.now),
            settle_due_at: &self.row.settle_due_at,
            referral_earned: &self.row.referral_earned,
            id: &self.row.id,
        };
        native!(conn, c => statement.execute(c))?;
        Ok(())
    }
}
