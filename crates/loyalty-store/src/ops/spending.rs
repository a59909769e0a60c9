//! What every way of spending points shares: who may spend (program enabled, member active,
//! membership), checking a redemption against the bill with `loyalty-core`, and the per-bill
//! record of what points paid.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use loyalty_core::{
    Bill, BillLine, Currency, IdempotencyKey, Money, Points, Quote, QuoteInput, Redemption, Rules,
    quote,
};

use crate::account::Account;
use crate::amounts::{money_from_db, money_to_db, points_from_db, points_to_db};
use crate::clock::to_db_time;
use crate::db::{DbConnection, native};
use crate::error::{StoreError, StoreResult};
use crate::fingerprint::Fingerprint;
use crate::literal::{HoldActive, SumHoldPoints, SumHoldValue};
use crate::models::ledger::BillRow;
use crate::models::member::MembershipRow;
use crate::ops::bills::bill_time;
use crate::ops::members::{find_membership, load_member, require_active};
use crate::ops::programs::{Program, require_enabled};
use crate::ops::rate_limit::check_redemption_rate;
use crate::ops::rules_cache::load_program;
use crate::schema::{bills, holds};
use crate::store::{Store, new_id};

/// Who is spending: an enabled program, an active member, and the membership.
#[derive(Debug)]
pub(crate) struct Spender {
    pub program: std::sync::Arc<Program>,
    pub membership: MembershipRow,
}

/// Loads the spender and checks that the program is enabled and the member active.
pub(crate) fn load_spender(
    conn: &mut DbConnection,
    tenant: &str,
    member_id: &str,
    program_id: &str,
) -> StoreResult<Spender> {
    let program = load_program(conn, tenant, program_id)?;
    require_enabled(&program)?;
    let member = load_member(conn, tenant, member_id)?;
    require_active(&member)?;
    let membership = find_membership(conn, tenant, member_id, program_id)?;
    Ok(Spender {
        program,
        membership,
    })
}

/// A checkout payment with points, checked and with the membership locked: what `redeem` and
/// `reserve` share before they post their entry.
#[derive(Debug)]
pub(crate) struct CheckoutSpend {
    pub spender: Spender,
    pub acct: Account,
    pub bill: Bill,
    pub redemption: Redemption,
    pub quote: Quote,
}

/// What a request to pay a bill with points says.
pub(crate) struct SpendOnBill<'a> {
    pub member_id: &'a str,
    pub program_id: &'a str,
    pub reference: &'a str,
    pub lines: &'a [BillLine],
    pub at: Option<DateTime<Utc>>,
    pub points: Points,
}

/// Loads the spender, applies the rate limit, locks and settles the membership, and checks the
/// payment with `loyalty-core` against the discounted bill and what points already pay on it
/// (earlier redemptions and active holds on the same reference).
pub(crate) fn lock_checkout_spend(
    conn: &mut DbConnection,
    tenant: &str,
    req: &SpendOnBill<'_>,
    now: DateTime<Utc>,
) -> StoreResult<CheckoutSpend> {
    let spender = load_spender(conn, tenant, req.member_id, req.program_id)?;
    let rules = &spender.program.rules;
    check_redemption_rate(conn, rules, &spender.membership.id, now)?;
    let bill = bill_of(rules, req.lines, req.at, now)?;
    let mut acct = Account::lock(conn, tenant, &spender.membership.id, now)?;
    acct.settle(conn)?;
    let on_bill = already_on_bill(conn, &acct.row.id, req.reference, rules.currency)?;
    let (redemption, quote) =
        check_redemption(rules, &bill, acct.balances.available, on_bill, req.points)?;
    Ok(CheckoutSpend {
        spender,
        acct,
        bill,
        redemption,
        quote,
    })
}

impl Store {
    /// Pays a bill with points, idempotently: records the redemption attempt (rate limit),
    /// then in one idempotent transaction locks and checks the spend ([`lock_checkout_spend`])
    /// and hands it to `then`, which posts the entry that spends the points.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn spend_on_bill<Req, Res>(
        &self,
        tenant: &str,
        key: &IdempotencyKey,
        operation: &'static str,
        request: &Req,
        spend: SpendOnBill<'_>,
        now: DateTime<Utc>,
        mut then: impl FnMut(&mut DbConnection, CheckoutSpend) -> StoreResult<Res>,
    ) -> StoreResult<Res>
    where
        Req: Fingerprint,
        Res: serde::Serialize + serde::de::DeserializeOwned,
    {
        self.record_redemption_attempt(tenant, key, spend.member_id, spend.program_id)?;
        self.idempotent(tenant, key, operation, request, |conn| {
            let checkout = lock_checkout_spend(conn, tenant, &spend, now)?;
            then(conn, checkout)
        })
    }
}

/// The gross bill, in the program's currency, at `at` (default: now; not in the future).
pub(crate) fn bill_of(
    rules: &Rules,
    lines: &[BillLine],
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StoreResult<Bill> {
    Ok(Bill::new(
        lines.to_vec(),
        rules.currency,
        bill_time(at, now)?,
    )?)
}

/// What points already pay on one bill of a membership: what redemptions and captures paid
/// (the `bills` row) plus what active holds on the same reference reserve, so a reservation
/// and a later redemption together stay within the bill's limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OnBill {
    pub points: Points,
    pub value: Money,
}

pub(crate) fn already_on_bill(
    conn: &mut DbConnection,
    membership_id: &str,
    reference: &str,
    currency: Currency,
) -> StoreResult<OnBill> {
    let bill: Option<(i64, i64)> = native!(conn, c => bills::table
        .filter(bills::membership_id.eq(membership_id))
        .filter(bills::reference.eq(reference))
        .select((bills::redeemed, bills::redeemed_value))
        .get_result(c))
    .optional()?;
    let (held_points, held_value): (i64, i64) = native!(conn, c => holds::table
        .filter(holds::membership_id.eq(membership_id))
        .filter(holds::reference.eq(reference))
        .filter(HoldActive)
        .select((SumHoldPoints, SumHoldValue))
        .get_result(c))?;
    let (redeemed, redeemed_value) = bill.unwrap_or((0, 0));
    Ok(OnBill {
        points: points_from_db(redeemed)?.checked_add(points_from_db(held_points)?)?,
        value: money_from_db(redeemed_value, currency)?
            .checked_add(&money_from_db(held_value, currency)?)?,
    })
}

/// Checks a request to pay `bill` with `points` with `loyalty-core`'s checkout quote (discounts
/// first; the redemption rules judge the discounted total). Returns the accepted redemption
/// and the quote that explains it.
pub(crate) fn check_redemption(
    rules: &Rules,
    bill: &Bill,
    available: Points,
    on_bill: OnBill,
    points: Points,
) -> StoreResult<(Redemption, Quote)> {
    let q = quote(&QuoteInput {
        rules,
        tier: None,
        campaigns: &[],
        bill,
        available,
        already_redeemed_on_bill: on_bill.points,
        already_redeemed_value_on_bill: on_bill.value,
        requested_points: Some(points),
        has_referrer: false,
    })?;
    let redemption = q.redemption.ok_or_else(|| {
        StoreError::Corrupt("the checkout quote did not check the redemption".into())
    })?;
    Ok((redemption, q))
}

/// Adds what points paid to the bill's row (created on first use), and sets its gross total.
pub(crate) fn add_to_bill(
    conn: &mut DbConnection,
    membership: &MembershipRow,
    reference: &str,
    gross_total: i64,
    points: Points,
    value: &Money,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    // The caller holds the membership's lock, so no one else inserts this bill meanwhile.
    let now = to_db_time(now);
    let points = points_to_db(points)?;
    let value = money_to_db(value)?;
    let existing: Option<String> = native!(conn, c => bills::table
        .filter(bills::membership_id.eq(&membership.id))
        .filter(bills::reference.eq(reference))
        .select(bills::id)
        .get_result(c))
    .optional()?;
    match existing {
        Some(id) => {
            native!(conn, c => diesel::update(bills::table.filter(bills::id.eq(id)))
                .set((
                    bills::redeemed.eq(bills::redeemed + points),
                    bills::redeemed_value.eq(bills::redeemed_value + value),
                    bills::total.eq(gross_total),
                    bills::updated_at.eq(now),
                ))
                .execute(c))?;
        }
        None => {
            let row = BillRow {
                id: new_id(),
                tenant_id: membership.tenant_id.clone(),
                membership_id: membership.id.clone(),
                reference: reference.to_owned(),
                total: gross_total,
                earn_amount: 0,
                returned: 0,
                earned: 0,
                earned_reversed: 0,
                referrer_membership_id: None,
                referral: 0,
                referral_reversed: 0,
                redeemed: points,
                redeemed_value: value,
                redeemed_returned: 0,
                earned_at: None,
                created_at: now,
                updated_at: now,
            };
            native!(conn, c => diesel::insert_into(bills::table)
                .values(&row)
                .execute(c))?;
        }
    }
    Ok(())
}
