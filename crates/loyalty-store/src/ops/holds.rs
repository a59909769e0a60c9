//! Holds ("miles plus cash"): checkout reserves points for an order with a time-to-live, and
//! the payment's outcome captures or releases them (see [`hold_resolution`](super::hold_resolution)).
//!
//! Reserving is checked exactly like a redemption (the same rules, the same per-bill limits,
//! the same rate limit) and moves the points from available to held, taking them from the lots
//! that expire first; the allocations are recorded against the hold so that a release gives
//! every point back to the lot it came from.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use loyalty_core::hold::HoldStatus;
use loyalty_core::ledger::EntryKind;
use loyalty_core::{BillLine, Currency, IdempotencyKey, Money, Points};
use serde::{Deserialize, Serialize};

use crate::account::{EntryMeta, balances_of};
use crate::amounts::{money_from_db, money_to_db, points_from_db};
use crate::clock::{from_db_time, to_db_time};
use crate::db::{DbConnection, native};
use crate::error::{StoreError, StoreResult};
use crate::fingerprint::{Canonical, Fingerprint};
use crate::models::ledger::HoldRow;
use crate::models::member::MembershipRow;
use crate::ops::bills::check_reference;
use crate::ops::earn::check_actor;
use crate::ops::members::find_membership;
use crate::ops::stored::StoredHold;
use loyalty_core::Balances;

use crate::ops::spending::{CheckoutSpend, SpendOnBill};
use crate::schema::{holds, memberships, programs};
use crate::store::{Store, new_id};

/// The longest time-to-live of a hold: one day.
pub const MAX_HOLD_TTL_SECONDS: u32 = 86_400;

/// The most holds [`Store::list_holds`] returns.
pub const MAX_LISTED_HOLDS: i64 = 500;

/// A request to reserve points for a checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveRequest {
    /// Makes a retried call harmless.
    pub idempotency_key: IdempotencyKey,
    /// The member paying.
    pub member_id: String,
    /// The program whose points pay.
    pub program_id: String,
    /// The order's bill reference.
    pub reference: String,
    /// The gross bill (discounts are applied first, as for a redemption).
    pub lines: Vec<BillLine>,
    /// When the bill was made (default: now).
    pub at: Option<DateTime<Utc>>,
    /// Points to hold.
    pub points: Points,
    /// How long the hold lives unless captured or released: 1 to 86400 seconds.
    pub ttl_seconds: u32,
    /// Who asks.
    pub actor: String,
}

/// A request to capture a hold when the payment succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureRequest {
    /// Makes a retried call harmless.
    pub idempotency_key: IdempotencyKey,
    /// The hold.
    pub hold_id: String,
    /// Points to redeem (`None`: all); the rest goes back to the lots.
    pub points: Option<Points>,
    /// Who asks.
    pub actor: String,
}

/// A request to release a hold when the payment failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRequest {
    /// Makes a retried call harmless.
    pub idempotency_key: IdempotencyKey,
    /// The hold.
    pub hold_id: String,
    /// Who asks.
    pub actor: String,
}

impl Fingerprint for ReserveRequest {
    fn write_fields(&self, out: &mut Canonical) {
        let ReserveRequest {
            idempotency_key: _,
            member_id,
            program_id,
            reference,
            lines,
            at,
            points,
            ttl_seconds,
            actor: _,
        } = self;
        out.text(1, member_id);
        out.text(2, program_id);
        out.text(3, reference);
        out.records(4, lines.iter());
        out.opt_instant(5, *at);
        out.decimal(6, points.value());
        out.integer(7, i64::from(*ttl_seconds));
    }
}

impl Fingerprint for CaptureRequest {
    fn write_fields(&self, out: &mut Canonical) {
        let CaptureRequest {
            idempotency_key: _,
            hold_id,
            points,
            actor: _,
        } = self;
        out.text(1, hold_id);
        out.opt_decimal(2, points.map(|p| p.value()));
    }
}

impl Fingerprint for ReleaseRequest {
    fn write_fields(&self, out: &mut Canonical) {
        let ReleaseRequest {
            idempotency_key: _,
            hold_id,
            actor: _,
        } = self;
        out.text(1, hold_id);
    }
}

/// A hold as the caller sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredHold", into = "StoredHold")]
pub struct HoldView {
    /// Its id.
    pub id: String,
    /// The member.
    pub member_id: String,
    /// The program.
    pub program_id: String,
    /// The order's bill reference.
    pub reference: String,
    /// `active`, `captured`, `released` or `expired`.
    pub status: String,
    /// Points held.
    pub points: Points,
    /// Points captured (redeemed) when the hold was captured.
    pub captured: Points,
    /// What the held points pay, in the program's currency (as are the other amounts).
    pub value: Money,
    /// The gross bill total.
    pub bill_total: Money,
    /// What is left to pay by card once the held points are captured (after discounts and
    /// earlier redemptions on the bill).
    pub to_pay: Money,
    /// When the hold stops being capturable; from then on the next operation on the
    /// membership (or the expiry sweep, or `ExpirePoints`) releases it.
    pub expires_at: DateTime<Utc>,
    /// When the points were reserved.
    pub created_at: DateTime<Utc>,
    /// When the hold was captured, released or expired.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The membership's balances when this view was taken: right after the reserve, capture
    /// or release that answered with it (a retry with the same idempotency key answers with
    /// the same balances, as they were then), or when the hold was read.
    pub balances: Balances,
}

/// The view of a hold row.
pub(crate) fn hold_view(
    row: &HoldRow,
    membership: &MembershipRow,
    currency: Currency,
    balances: Balances,
) -> StoreResult<HoldView> {
    Ok(HoldView {
        id: row.id.clone(),
        member_id: membership.member_id.clone(),
        program_id: membership.program_id.clone(),
        reference: row.reference.clone(),
        status: row.status.clone(),
        points: points_from_db(row.points)?,
        captured: points_from_db(row.captured)?,
        value: money_from_db(row.value, currency)?,
        bill_total: money_from_db(row.bill_total, currency)?,
        to_pay: money_from_db(row.to_pay, currency)?,
        expires_at: from_db_time(row.expires_at),
        created_at: from_db_time(row.created_at),
        resolved_at: row.resolved_at.map(from_db_time),
        balances,
    })
}

/// A program's currency.
pub(crate) fn currency_of(conn: &mut DbConnection, program_id: &str) -> StoreResult<Currency> {
    let code: String = native!(conn, c => programs::table
        .find(program_id)
        .select(programs::currency)
        .get_result(c))?;
    Ok(Currency::new(&code)?)
}

/// A hold of the tenant (not locked).
pub(crate) fn load_hold(
    conn: &mut DbConnection,
    tenant: &str,
    hold_id: &str,
) -> StoreResult<HoldRow> {
    native!(conn, c => holds::table
        .filter(holds::id.eq(hold_id))
        .filter(holds::tenant_id.eq(tenant))
        .select(HoldRow::as_select())
        .get_result(c))
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        what: "hold",
        id: hold_id.to_owned(),
    })
}

impl Store {
    /// Reserves points for a checkout, in one idempotent transaction: the checks of
    /// [`Store::redeem`], then a hold of `points` for `ttl_seconds`, a `reserved` entry
    /// (available -> held) and the lots' allocations recorded against the hold.
    pub fn reserve(&self, tenant: &str, req: ReserveRequest) -> StoreResult<HoldView> {
        let reference = check_reference(&req.reference)?;
        check_actor(&req.actor)?;
        let req = ReserveRequest {
            reference: reference.clone(),
            ..req
        };
        if !(1..=MAX_HOLD_TTL_SECONDS).contains(&req.ttl_seconds) {
            return Err(StoreError::InvalidArgument(format!(
                "a hold's time-to-live must be 1 to {MAX_HOLD_TTL_SECONDS} seconds (got {})",
                req.ttl_seconds
            )));
        }
        let now = self.now();
        let spend = SpendOnBill {
            member_id: &req.member_id,
            program_id: &req.program_id,
            reference: &reference,
            lines: &req.lines,
            at: req.at,
            points: req.points,
        };
        let key = &req.idempotency_key;
        self.spend_on_bill(
            tenant,
            key,
            "reserve",
            &req,
            spend,
            now,
            |conn, checkout| {
                let CheckoutSpend {
                    spender,
                    mut acct,
                    bill,
                    redemption,
                    quote,
                } = checkout;
                let rules = &spender.program.rules;
                let row = HoldRow {
                    id: new_id(),
                    tenant_id: tenant.to_owned(),
                    membership_id: acct.row.id.clone(),
                    reference: reference.clone(),
                    points: crate::amounts::points_to_db(redemption.points)?,
                    value: money_to_db(&redemption.value)?,
                    bill_total: money_to_db(&bill.total())?,
                    to_pay: money_to_db(&quote.to_pay)?,
                    captured: 0,
                    status: HoldStatus::Active.as_str().to_owned(),
                    expires_at: to_db_time(now + Duration::seconds(i64::from(req.ttl_seconds))),
                    created_at: to_db_time(now),
                    resolved_at: None,
                };
                // The hold row comes first: the allocations refer to it.
                native!(conn, c => diesel::insert_into(holds::table)
                    .values(&row)
                    .execute(c))?;
                let meta = EntryMeta {
                    reference: Some(reference.clone()),
                    hold_id: Some(row.id.clone()),
                    ..EntryMeta::by(&req.actor)
                };
                acct.debit(conn, EntryKind::Reserved, redemption.points, &meta)?;
                // The next operation after the hold's time-to-live settles and releases it.
                acct.due_no_later_than(row.expires_at);
                acct.save(conn)?;
                let balances = acct.balances;
                hold_view(&row, &acct.row, rules.currency, balances)
            },
        )
    }

    /// A hold of the tenant.
    pub fn get_hold(&self, tenant: &str, hold_id: &str) -> StoreResult<HoldView> {
        self.read(|conn| {
            let row = load_hold(conn, tenant, hold_id)?;
            let membership: MembershipRow = native!(conn, c => memberships::table
                .find(&row.membership_id)
                .select(MembershipRow::as_select())
                .get_result(c))?;
            let currency = currency_of(conn, &membership.program_id)?;
            let balances = balances_of(&membership)?;
            hold_view(&row, &membership, currency, balances)
        })
    }

    /// A member's holds in a program, the newest [`MAX_LISTED_HOLDS`] first (every status; an
    /// active hold past its `expires_at` stays active until it is released, the next operation
    /// on the membership settles it, or the expiry sweep reaches it).
    pub fn list_holds(
        &self,
        tenant: &str,
        member_id: &str,
        program_id: &str,
    ) -> StoreResult<Vec<HoldView>> {
        self.read(|conn| {
            let membership = find_membership(conn, tenant, member_id, program_id)?;
            let currency = currency_of(conn, program_id)?;
            let rows: Vec<HoldRow> = native!(conn, c => holds::table
                .filter(holds::membership_id.eq(&membership.id))
                .order(holds::id.desc())
                .limit(MAX_LISTED_HOLDS)
                .select(HoldRow::as_select())
                .load(c))?;
            let balances = balances_of(&membership)?;
            rows.iter()
                .map(|row| hold_view(row, &membership, currency, balances))
                .collect()
        })
    }
}
