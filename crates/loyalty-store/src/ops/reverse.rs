//! Reversal of a cancelled or (partly) returned bill: give back the points it redeemed, take
//! back the points it earned and the referral points it gave the referrer.
//!
//! One idempotent transaction, in the order `loyalty-core`'s [`reversal`] module prescribes:
//! 1. lock the member's membership, read the bill, plan with [`reversal::plan_reversal`];
//! 2. give back the redeemed share as a `Returned` credit. It creates a new lot (spendable at
//!    once, expiring like any credit made now) rather than refilling the lots the points came
//!    from: those may have expired since, and a new lot keeps the ledger append-only and the
//!    expiry rule simple ("points given back are as good as new");
//! 3. take back the earned share with [`reversal::plan_take_back`]: from the lots the bill
//!    created first, then from the member's other spendable lots; what is missing becomes debt
//!    (`AllowDebt`) or is forgiven (`CapAtAvailable`). Forgiven points still count as reversed
//!    for the bill, so a later return does not try again;
//! 4. lock the referrer's membership (always after the member's: referrals point one way, so
//!    two reversals can never wait for each other) and take back the referral share the same
//!    way, from the lots the referral created first;
//! 5. record the reversal on the bill.

use diesel::prelude::*;
use loyalty_core::ledger::{BucketDelta, EntryKind};
use loyalty_core::lots::{self, Lot};
use loyalty_core::reversal::{self, BillRecord};
use loyalty_core::{Currency, IdempotencyKey, Money, Points, ReturnPolicy};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::account::{Account, EntryMeta, lot_of};
use crate::amounts::{money_from_db, money_to_db, points_from_db, points_to_db};
use crate::clock::to_db_time;
use crate::db::DbConnection;
use crate::error::{StoreError, StoreResult};
use crate::fingerprint::{Canonical, Fingerprint};
use crate::models::ledger::{BillRow, LotRow};
use crate::ops::bills::check_reference;
use crate::ops::earn::check_actor;
use crate::ops::members::find_membership;
use crate::ops::rules_cache::load_program;
use crate::ops::stored::StoredReverse;
use crate::schema::{bills, ledger_entries, point_lots};
use crate::store::Store;
use loyalty_core::Balances;

/// A cancellation or return of a bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReverseRequest {
    /// Makes a retried call harmless.
    pub idempotency_key: IdempotencyKey,
    /// The member whose bill it was.
    pub member_id: String,
    /// The program the bill earned or redeemed in.
    pub program_id: String,
    /// The bill's reference.
    pub reference: String,
    /// The money amount returned (`None`: cancel whatever is left of the bill).
    pub amount: Option<Decimal>,
    /// Why (kept on the entries).
    pub reason: Option<String>,
    /// Who performed it.
    pub actor: String,
}

impl Fingerprint for ReverseRequest {
    fn write_fields(&self, out: &mut Canonical) {
        let ReverseRequest {
            idempotency_key: _,
            member_id,
            program_id,
            reference,
            amount,
            reason,
            actor: _,
        } = self;
        out.text(1, member_id);
        out.text(2, program_id);
        out.text(3, reference);
        out.opt_decimal(4, *amount);
        out.opt_text(5, reason.as_deref());
    }
}

/// Points taken back from one membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TakenBack {
    /// The membership the points were taken from.
    pub membership_id: String,
    /// Points the plan asked to take back.
    pub planned: Points,
    /// Points taken from the membership's lots.
    pub from_lots: Points,
    /// Points that became debt (`AllowDebt`).
    pub to_debt: Points,
    /// Points forgiven because they had been spent (`CapAtAvailable`).
    pub forgiven: Points,
    /// The `reversed` entry (none when everything was forgiven or nothing was due).
    pub entry_id: Option<String>,
}

/// What a reversal did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredReverse", into = "StoredReverse")]
pub struct ReverseOutcome {
    /// The bill's reference.
    pub reference: String,
    /// The bill's total, in the program's currency (as are the other amounts).
    pub bill_total: Money,
    /// The amount this call returned.
    pub returned: Money,
    /// The amount returned of the bill so far, this call included.
    pub returned_total: Money,
    /// Redeemed points given back to the member.
    pub redeemed_returned: Points,
    /// The `returned` entry giving them back.
    pub returned_entry_id: Option<String>,
    /// Earned points taken back from the member.
    pub earned: TakenBack,
    /// Referral points taken back from the referrer (`None` when none were due).
    pub referral: Option<TakenBack>,
    /// The member's balances afterwards.
    pub balances: Balances,
}

/// An optional reason: trimmed, at most 500 characters; blank is none.
fn check_reason(reason: Option<&str>) -> StoreResult<Option<String>> {
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) if r.chars().count() > 500 => Err(StoreError::InvalidArgument(
            "a reversal reason may have at most 500 characters".into(),
        )),
        other => Ok(other.map(str::to_owned)),
    }
}

/// The bill of a membership by reference.
fn load_bill(conn: &mut DbConnection, membership: &str, reference: &str) -> StoreResult<BillRow> {
    bills::table
        .filter(bills::membership_id.eq(membership))
        .filter(bills::reference.eq(reference))
        .select(BillRow::as_select())
        .get_result(conn)
        .optional()?
        .ok_or_else(|| StoreError::NotFound {
            what: "bill",
            id: reference.to_owned(),
        })
}

fn bill_record(row: &BillRow, currency: Currency) -> StoreResult<BillRecord> {
    Ok(BillRecord {
        total: money_from_db(row.total, currency)?,
        returned: money_from_db(row.returned, currency)?,
        earned: points_from_db(row.earned)?,
        earned_reversed: points_from_db(row.earned_reversed)?,
        referral: points_from_db(row.referral)?,
        referral_reversed: points_from_db(row.referral_reversed)?,
        redeemed: points_from_db(row.redeemed)?,
        redeemed_returned: points_from_db(row.redeemed_returned)?,
    })
}

/// Which lots of a membership a bill created: those with its reference whose entry is of one
/// of `kinds` (and, for referral lots, was earned on the given member's bill). `Returned` lots
/// carry the reference too, but are not the bill's earnings.
fn lots_of_the_bill(
    conn: &mut DbConnection,
    acct: &Account,
    reference: &str,
    kinds: &[EntryKind],
    source_member: Option<&str>,
) -> StoreResult<Vec<Lot>> {
    use crate::schema::ledger_entries::dsl as e;
    let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    let mut query = point_lots::table
        .inner_join(ledger_entries::table)
        .filter(point_lots::membership_id.eq(&acct.row.id))
        .filter(point_lots::reference.eq(reference))
        .filter(point_lots::remaining.gt(0))
        .filter(e::kind.eq_any(kinds))
        .into_boxed();
    if let Some(source) = source_member {
        query = query.filter(e::source_member_id.eq(source));
    }
    let rows: Vec<LotRow> = query.select(LotRow::as_select()).load(conn)?;
    rows.iter().map(lot_of).collect()
}

/// Takes back `amount` points from a locked membership: plans with `loyalty-core`, posts one
/// `reversed` entry for what the lots pay plus the debt, and lowers the lots.
fn take_back(
    conn: &mut DbConnection,
    acct: &mut Account,
    policy: ReturnPolicy,
    amount: Points,
    own: Vec<Lot>,
    meta: &EntryMeta,
) -> StoreResult<TakenBack> {
    let mut done = TakenBack {
        membership_id: acct.row.id.clone(),
        planned: amount,
        from_lots: Points::ZERO,
        to_debt: Points::ZERO,
        forgiven: Points::ZERO,
        entry_id: None,
    };
    if amount.is_zero() {
        return Ok(done);
    }
    let others = acct.spendable_lots(conn)?;
    let b = acct.balances;
    let plan = reversal::plan_take_back(
        &own,
        &others,
        amount,
        b.available,
        b.pending,
        policy,
        acct.now,
    )?;
    let extra: Vec<Lot> = others
        .into_iter()
        .filter(|o| !own.iter().any(|l| l.id == o.id))
        .collect();
    let mut all = own;
    all.extend(extra);
    let split = lots::split(&all, &plan.from_lots)?;
    let from_lots = split.available.checked_add(split.pending)?;
    let points = from_lots.checked_add(plan.to_debt)?;
    done.from_lots = from_lots;
    done.to_debt = plan.to_debt;
    done.forgiven = plan.forgiven;
    if points.is_zero() {
        return Ok(done);
    }
    let delta = BucketDelta {
        available: -split.available.value(),
        pending: -split.pending.value(),
        debt: plan.to_debt.value(),
        ..BucketDelta::ZERO
    };
    let entry = acct.post(conn, EntryKind::Reversed, points, &delta, meta)?;
    acct.take_from_lots(conn, &entry, None, &plan.from_lots)?;
    done.entry_id = Some(entry);
    Ok(done)
}

impl Store {
    /// Cancels a bill (`amount: None`) or returns part of it: gives back the points it
    /// redeemed, takes back the points it earned and the referral points it gave, in
    /// proportion to the amount returned (see the module docs for the order and the return
    /// policy). Refused with `ReversalExceedsBill` beyond what is left of the bill, and
    /// `NotFound` for a bill the member never had in the program. Works in disabled programs
    /// and for deactivated members: a cancelled bill must always be undone.
    pub fn reverse(&self, tenant: &str, request: ReverseRequest) -> StoreResult<ReverseOutcome> {
        check_actor(&request.actor)?;
        // The fingerprint must not tell 250 from 250.00, nor " ORDER1" from "ORDER1".
        let request = ReverseRequest {
            reference: check_reference(&request.reference)?,
            amount: request.amount.map(|a| a.normalize()),
            reason: check_reason(request.reason.as_deref())?,
            ..request
        };
        let now = self.now();
        let req = &request;
        self.idempotent(tenant, &req.idempotency_key, "reverse", req, |conn| {
            let program = load_program(conn, tenant, &req.program_id)?;
            let rules = &program.rules;
            let currency = rules.currency;
            let membership = find_membership(conn, tenant, &req.member_id, &req.program_id)?;
            let mut acct = Account::lock(conn, tenant, &membership.id, now)?;
            // Read after the lock: every writer of the bill holds the same lock.
            let bill = load_bill(conn, &membership.id, &req.reference)?;
            let record = bill_record(&bill, currency)?;
            let amount = req.amount.map(|a| Money::new(a, currency)).transpose()?;
            let plan = reversal::plan_reversal(rules.precision, &record, amount)?;
            acct.settle(conn)?;

            let meta = EntryMeta {
                reference: Some(req.reference.clone()),
                reason: req.reason.clone(),
                ..EntryMeta::by(&req.actor)
            };
            let returned_entry_id = acct.credit(
                conn,
                rules,
                EntryKind::Returned,
                plan.redeemed_to_return,
                &meta,
            )?;
            let own = lots_of_the_bill(
                conn,
                &acct,
                &req.reference,
                &[EntryKind::Earned, EntryKind::CampaignBonus],
                None,
            )?;
            let earned = take_back(
                conn,
                &mut acct,
                rules.return_policy,
                plan.earned_to_reverse,
                own,
                &meta,
            )?;
            acct.save(conn)?;

            let referral = if plan.referral_to_reverse.is_zero() {
                None
            } else {
                let referrer = bill.referrer_membership_id.as_deref().ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "bill {:?} gave referral points but names no referrer",
                        bill.reference
                    ))
                })?;
                let mut referrer = Account::lock(conn, tenant, referrer, now)?;
                referrer.settle(conn)?;
                let meta = EntryMeta {
                    source_member_id: Some(req.member_id.clone()),
                    ..meta.clone()
                };
                let own = lots_of_the_bill(
                    conn,
                    &referrer,
                    &req.reference,
                    &[EntryKind::ReferralEarned],
                    Some(&req.member_id),
                )?;
                let taken = take_back(
                    conn,
                    &mut referrer,
                    rules.return_policy,
                    plan.referral_to_reverse,
                    own,
                    &meta,
                )?;
                referrer.save(conn)?;
                Some(taken)
            };

            let returned_now = plan.returned_after.saturating_sub(&record.returned)?;
            diesel::update(bills::table.find(&bill.id))
                .set((
                    bills::returned.eq(bills::returned + money_to_db(&returned_now)?),
                    bills::earned_reversed
                        .eq(bills::earned_reversed + points_to_db(plan.earned_to_reverse)?),
                    bills::referral_reversed
                        .eq(bills::referral_reversed + points_to_db(plan.referral_to_reverse)?),
                    bills::redeemed_returned
                        .eq(bills::redeemed_returned + points_to_db(plan.redeemed_to_return)?),
                    bills::updated_at.eq(to_db_time(now)),
                ))
                .execute(conn)?;

            Ok(ReverseOutcome {
                reference: req.reference.clone(),
                bill_total: record.total,
                returned: returned_now,
                returned_total: plan.returned_after,
                redeemed_returned: plan.redeemed_to_return,
                returned_entry_id,
                earned,
                referral,
                balances: acct.balances,
            })
        })
    }
}
