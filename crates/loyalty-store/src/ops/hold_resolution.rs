//! Resolving a hold exactly once: capture (payment succeeded), release (payment failed), or
//! expiry (nobody settled it within its time-to-live).
//!
//! Every resolution locks the hold's membership first, then rereads the hold and rebuilds a
//! `loyalty-core` [`Hold`] from its row and its reservation's lot allocations; the core decides
//! whether the resolution is allowed (`HoldAlreadyResolved`, `HoldExpired`,
//! `CaptureExceedsHold`). The lock orders concurrent resolutions of one hold, so the second
//! sees the first's outcome; the conditional `UPDATE ... WHERE status = 'active'` is the
//! database's backstop.
//!
//! Capturing and releasing do not require the program to be enabled or the member active: they
//! finish a checkout that was allowed when the points were reserved, and giving points back is
//! always safe.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use loyalty_core::hold::{self, Hold, HoldOutcome, HoldStatus};
use loyalty_core::ledger::{BucketDelta, EntryKind};
use loyalty_core::{Currency, Money, Redemption};

use crate::account::{Account, EntryMeta, hold_of};
use crate::amounts::{money_from_db, points_from_db};
use crate::clock::to_db_time;
use crate::db::{DbConnection, native};
use crate::error::{StoreError, StoreResult};
use crate::models::ledger::HoldRow;
use crate::ops::earn::check_actor;
use crate::ops::holds::{CaptureRequest, HoldView, ReleaseRequest, currency_of, hold_view};
use crate::ops::rules_cache::load_program;
use crate::ops::spending::add_to_bill;
use crate::schema::holds;
use crate::store::Store;

/// Holds the expiry sweep handles per call.
pub const EXPIRY_BATCH: i64 = 500;

/// A hold with its membership locked for the rest of the transaction.
struct LockedHold {
    acct: Account,
    row: HoldRow,
    hold: Hold,
    currency: Currency,
}

/// Locks the membership of hold `hold_id` of `tenant`, settles it (releasing its other overdue
/// holds), and loads the hold.
fn lock_hold(
    conn: &mut DbConnection,
    tenant: &str,
    hold_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<LockedHold> {
    // A hold never changes membership, so reading it before the lock is safe; its status is
    // read again under the lock.
    let membership_id: String = native!(conn, c => holds::table
        .filter(holds::id.eq(hold_id))
        .filter(holds::tenant_id.eq(tenant))
        .select(holds::membership_id)
        .get_result(c))
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        what: "hold",
        id: hold_id.to_owned(),
    })?;
    let mut acct = Account::lock(conn, tenant, &membership_id, now)?;
    acct.settle_but(conn, Some(hold_id))?;
    let row: HoldRow = native!(conn, c => holds::table
        .find(hold_id)
        .select(HoldRow::as_select())
        .get_result(c))?;
    let hold = hold_of(conn, &row)?;
    let currency = currency_of(conn, &acct.row.program_id)?;
    Ok(LockedHold {
        acct,
        row,
        hold,
        currency,
    })
}

/// The value of the captured part of a hold by `loyalty-core`'s rule
/// ([`hold::captured_value`]): what a redemption of the captured points pays.
fn captured_value(
    conn: &mut DbConnection,
    row: &HoldRow,
    program_id: &str,
    currency: Currency,
    outcome: &HoldOutcome,
) -> StoreResult<Money> {
    let program = load_program(conn, &row.tenant_id, program_id)?;
    let reserved = Redemption {
        points: points_from_db(row.points)?,
        value: money_from_db(row.value, currency)?,
    };
    Ok(hold::captured_value(
        &program.rules,
        &reserved,
        outcome.captured,
    )?)
}

/// Writes what resolving the hold did: a `captured` entry and the bill's record for the
/// captured part, a `released` entry giving the rest back to the same lots, the hold's new
/// status, and the balances.
fn finish(
    conn: &mut DbConnection,
    mut locked: LockedHold,
    outcome: &HoldOutcome,
    actor: &str,
    now: DateTime<Utc>,
) -> StoreResult<HoldView> {
    let row = &locked.row;
    let acct = &mut locked.acct;
    // The hold's status changes first, so that the settling below (after points went back to
    // their lots) sees it resolved. The status condition is the database's backstop.
    let status = locked.hold.status.as_str();
    let captured = crate::amounts::points_to_db(outcome.captured)?;
    let resolved_at = to_db_time(now);
    let changed = native!(conn, c => diesel::update(
        holds::table
            .filter(holds::id.eq(&row.id))
            .filter(holds::status.eq(HoldStatus::Active.as_str())),
    )
    .set((
        holds::status.eq(status),
        holds::captured.eq(captured),
        holds::resolved_at.eq(Some(resolved_at)),
    ))
    .execute(c))?;
    if changed != 1 {
        return Err(StoreError::FailedPrecondition(format!(
            "hold {} was resolved by another operation; a hold is resolved exactly once",
            row.id
        )));
    }
    if !outcome.captured.is_zero() {
        let meta = EntryMeta {
            reference: Some(row.reference.clone()),
            hold_id: Some(row.id.clone()),
            ..EntryMeta::by(actor)
        };
        let delta = BucketDelta {
            held: -outcome.captured.value(),
            ..BucketDelta::ZERO
        };
        acct.post(conn, EntryKind::Captured, outcome.captured, &delta, &meta)?;
        let value = captured_value(conn, row, &acct.row.program_id, locked.currency, outcome)?;
        let membership = acct.row.clone();
        add_to_bill(
            conn,
            &membership,
            &row.reference,
            row.bill_total,
            outcome.captured,
            &value,
            now,
        )?;
    }
    if !outcome.released.is_zero() {
        acct.give_back_held(
            conn,
            row,
            outcome.released,
            &outcome.released_allocations,
            actor,
        )?;
        // Points given back to a lot that expired while they were held expire now.
        acct.settle(conn)?;
    }
    acct.save(conn)?;
    let mut resolved = locked.row.clone();
    resolved.status = status.to_owned();
    resolved.captured = captured;
    resolved.resolved_at = Some(resolved_at);
    let balances = locked.acct.balances;
    hold_view(&resolved, &locked.acct.row, locked.currency, balances)
}

impl Store {
    /// Captures a hold when the payment succeeded, in one idempotent transaction: all its
    /// points, or `points` of them with the rest released to the same lots. Refused for a
    /// resolved hold, from its `expires_at` on, and for more points than it holds.
    pub fn capture(&self, tenant: &str, req: CaptureRequest) -> StoreResult<HoldView> {
        check_actor(&req.actor)?;
        let now = self.now();
        self.idempotent(tenant, &req.idempotency_key, "capture", &req, |conn| {
            let mut locked = lock_hold(conn, tenant, &req.hold_id, now)?;
            let outcome = locked.hold.capture(req.points, now)?;
            finish(conn, locked, &outcome, &req.actor, now)
        })
    }

    /// Releases a hold when the payment failed, in one idempotent transaction: every point goes
    /// back to the lot it came from. Accepted until the hold is resolved, also after its TTL.
    pub fn release(&self, tenant: &str, req: ReleaseRequest) -> StoreResult<HoldView> {
        check_actor(&req.actor)?;
        let now = self.now();
        self.idempotent(tenant, &req.idempotency_key, "release", &req, |conn| {
            let mut locked = lock_hold(conn, tenant, &req.hold_id, now)?;
            let outcome = locked.hold.release()?;
            finish(conn, locked, &outcome, &req.actor, now)
        })
    }

    /// Expires overdue active holds (of one tenant, or of all with `None`), releasing their
    /// points, up to [`EXPIRY_BATCH`] per call, oldest first. Each hold is expired in its own
    /// transaction (membership locked, status read again), so a hold captured or released
    /// meanwhile is skipped. Returns how many holds expired. A hold that fails to expire is
    /// logged and left for the next sweep rather than stopping the others.
    pub fn expire_holds(&self, tenant: Option<&str>) -> StoreResult<usize> {
        let now = self.now();
        let due: Vec<(String, String)> = self.read(|conn| {
            // A literal predicate (not a bound parameter), so both backends can use the
            // partial index `holds_active_expiry ... WHERE status = 'active'`.
            let mut query = holds::table
                .filter(crate::literal::HoldActive)
                .filter(holds::expires_at.le(to_db_time(now)))
                .into_boxed();
            if let Some(tenant) = tenant {
                query = query.filter(holds::tenant_id.eq(tenant));
            }
            Ok(query
                .order(holds::expires_at)
                .limit(EXPIRY_BATCH)
                .select((holds::id, holds::tenant_id))
                .load(conn)?)
        })?;
        let mut expired = 0;
        for (hold_id, hold_tenant) in due {
            let result = self.write(|conn| {
                let mut locked = lock_hold(conn, &hold_tenant, &hold_id, now)?;
                if locked.hold.status.is_resolved() {
                    return Ok(false);
                }
                let outcome = locked.hold.expire(now)?;
                finish(conn, locked, &outcome, "system", now)?;
                Ok(true)
            });
            match result {
                Ok(true) => expired += 1,
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(hold = %hold_id, error = %err, "could not expire a hold");
                }
            }
        }
        Ok(expired)
    }
}
