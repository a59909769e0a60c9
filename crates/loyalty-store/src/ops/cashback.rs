//! Cashback records: one member's cashback wallet in a cashback program, read from what the
//! earn already wrote (no second source of truth).
//!
//! A record is a bill that earned: its `bills` row gives the transaction amount (the amount
//! that earned), the cashback it gave (after the cap per bill and the campaigns' caps) and
//! what returns took back; its `earn_lines` rows give each line's percentage and share; its
//! `campaign_bonus` entries name the campaigns; the lots of its `earned` and `campaign_bonus`
//! entries say when it becomes available (the end of the return window). `loyalty-core`'s
//! `loyalty_core::cashback::status` turns these into PENDING, PROCESSED or REVERSED.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use loyalty_core::cashback::{CashbackStatus, effective_percent, rate_percent, status};
use loyalty_core::ledger::EntryKind;
use loyalty_core::{Balances, Currency, EarnRate, Money, Points, ProgramKind};
use rust_decimal::Decimal;

use crate::amounts::{money_from_db, points_from_db};
use crate::clock::from_db_time;
use crate::error::{StoreError, StoreResult};
use crate::models::ledger::BillRow;
use crate::ops::earn_lines::{EarnLine, load_lines};
use crate::ops::members::{Membership, find_membership};
use crate::ops::rules_cache::load_program;
use crate::schema::{bills, ledger_entries, point_lots};
use crate::store::Store;

/// One bill line's cashback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashbackLine {
    /// The line's category (none: the line had none).
    pub category: Option<String>,
    /// The line's amount that earned.
    pub amount: Money,
    /// The percentage it earned by (its category's, or the base rate's).
    pub percent: Decimal,
    /// Its share of the bill's cashback (tier and campaign shares included).
    pub cashback: Points,
}

/// One bill's cashback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashbackRecord {
    /// The bill's reference.
    pub reference: String,
    /// The bill's total.
    pub bill_total: Money,
    /// The amount that earned cashback (the transaction amount).
    pub transaction_amount: Money,
    /// Cashback given as a percentage of the transaction amount, after caps.
    pub percent: Decimal,
    /// The cashback given: after the cap per bill and the campaigns' caps, campaign cashback
    /// included.
    pub cashback: Points,
    /// The part of `cashback` that campaigns added.
    pub campaign_cashback: Points,
    /// The campaigns that added cashback, by id.
    pub campaign_ids: Vec<String>,
    /// Cashback taken back by returns.
    pub reversed: Points,
    /// The amount of the bill returned.
    pub returned: Money,
    /// Pending, processed or reversed.
    pub status: CashbackStatus,
    /// The bill's time.
    pub earned_at: DateTime<Utc>,
    /// When the return window ends and the cashback becomes spendable.
    pub available_from: DateTime<Utc>,
    /// The lines (none for bills earned before lines were recorded).
    pub lines: Vec<CashbackLine>,
}

/// A member's cashback wallet in one program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashbackWallet {
    /// The program's currency: every amount is money in it.
    pub currency: Currency,
    /// The membership's balances, as recorded (pending cashback whose window passed becomes
    /// available when the membership is next used or swept).
    pub balances: Balances,
    /// The bills that earned, newest first.
    pub records: Vec<CashbackRecord>,
}

impl Store {
    /// The cashback wallet of `member_id` in the cashback program `program_id`: balances and
    /// the `limit` newest records. `NotFound` for an unknown program or membership,
    /// `FailedPrecondition` for a points program.
    pub fn cashback_wallet(
        &self,
        tenant: &str,
        member_id: &str,
        program_id: &str,
        limit: u32,
    ) -> StoreResult<CashbackWallet> {
        let now = self.now();
        self.read(|conn| {
            let program = load_program(conn, tenant, program_id)?;
            let rules = &program.rules;
            if rules.kind != ProgramKind::Cashback {
                return Err(StoreError::FailedPrecondition(format!(
                    "program {program_id} is a points program, not a cashback program"
                )));
            }
            let membership =
                Membership::try_from(find_membership(conn, tenant, member_id, program_id)?)?;
            let rows: Vec<BillRow> = bills::table
                .filter(bills::tenant_id.eq(tenant))
                .filter(bills::membership_id.eq(&membership.id))
                .filter(bills::earned_at.is_not_null())
                .order((bills::earned_at.desc(), bills::id.desc()))
                .limit(i64::from(limit))
                .select(BillRow::as_select())
                .load(conn)?;
            let bill_ids: Vec<&str> = rows.iter().map(|b| b.id.as_str()).collect();
            let mut lines = load_lines(conn, &bill_ids)?;
            let references: Vec<&str> = rows.iter().map(|b| b.reference.as_str()).collect();
            let kinds = [
                EntryKind::Earned.as_str(),
                EntryKind::CampaignBonus.as_str(),
            ];
            let entries: Vec<(String, Option<String>, String, Option<String>)> =
                ledger_entries::table
                    .filter(ledger_entries::tenant_id.eq(tenant))
                    .filter(ledger_entries::membership_id.eq(&membership.id))
                    .filter(ledger_entries::reference.eq_any(&references))
                    .filter(ledger_entries::kind.eq_any(kinds))
                    .order(ledger_entries::id)
                    .select((
                        ledger_entries::id,
                        ledger_entries::reference,
                        ledger_entries::kind,
                        ledger_entries::campaign_id,
                    ))
                    .load(conn)?;
            let entry_ids: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
            let spendable: HashMap<String, DateTime<Utc>> = point_lots::table
                .filter(point_lots::tenant_id.eq(tenant))
                .filter(point_lots::entry_id.eq_any(&entry_ids))
                .select((point_lots::entry_id, point_lots::spendable_from))
                .load::<(String, chrono::NaiveDateTime)>(conn)?
                .into_iter()
                .map(|(entry, at)| (entry, from_db_time(at)))
                .collect();
            // Per bill reference: the latest spendable-from of its lots and its campaigns.
            let mut by_reference: HashMap<&str, (Option<DateTime<Utc>>, Vec<String>)> =
                HashMap::new();
            for (id, reference, kind, campaign) in &entries {
                let Some(reference) = reference.as_deref() else {
                    continue;
                };
                let slot = by_reference.entry(reference).or_default();
                if let Some(at) = spendable.get(id) {
                    slot.0 = Some(slot.0.map_or(*at, |seen| seen.max(*at)));
                }
                if kind == EntryKind::CampaignBonus.as_str()
                    && let Some(campaign) = campaign
                    && !slot.1.contains(campaign)
                {
                    slot.1.push(campaign.clone());
                }
            }
            let currency = rules.currency;
            let mut records = Vec::with_capacity(rows.len());
            for b in &rows {
                let earned_at = from_db_time(b.earned_at.unwrap_or(b.created_at));
                let (lots_from, campaign_ids) = by_reference
                    .remove(b.reference.as_str())
                    .unwrap_or_default();
                // A bill that gave nothing has no lot: its window is the program's.
                let available_from = match lots_from {
                    Some(at) => at,
                    None => loyalty_core::lots::new_lot_dates(rules, earned_at)?.0,
                };
                let cashback = points_from_db(b.earned)?;
                let reversed = points_from_db(b.earned_reversed)?;
                let transaction_amount = money_from_db(b.earn_amount, currency)?;
                let bill_lines = lines.remove(&b.id).unwrap_or_default();
                let campaign_cashback = bill_lines
                    .iter()
                    .try_fold(Points::ZERO, |sum, l| sum.checked_add(l.campaign_bonus))?;
                records.push(CashbackRecord {
                    reference: b.reference.clone(),
                    bill_total: money_from_db(b.total, currency)?,
                    percent: effective_percent(cashback, transaction_amount.amount())?,
                    transaction_amount,
                    cashback,
                    campaign_cashback,
                    campaign_ids,
                    reversed,
                    returned: money_from_db(b.returned, currency)?,
                    status: status(cashback, reversed, available_from, now),
                    earned_at,
                    available_from,
                    lines: bill_lines
                        .iter()
                        .map(|l| line_of(l, currency))
                        .collect::<StoreResult<_>>()?,
                });
            }
            Ok(CashbackWallet {
                currency,
                balances: membership.balances,
                records,
            })
        })
    }
}

/// A line's cashback, its percentage read back from the rate the earn recorded ("5" for a
/// category, "2/100" for the base rate).
fn line_of(line: &EarnLine, currency: Currency) -> StoreResult<CashbackLine> {
    let corrupt = || StoreError::Corrupt(format!("unknown earn line rate {:?}", line.rate));
    let percent = match line.rate.split_once('/') {
        Some((points, per)) => {
            let points: Decimal = points.parse().map_err(|_| corrupt())?;
            let per: Decimal = per.parse().map_err(|_| corrupt())?;
            rate_percent(&EarnRate::new(Points::new(points)?, per)?)?
        }
        None => line.rate.parse().map_err(|_| corrupt())?,
    };
    Ok(CashbackLine {
        category: line.category.clone(),
        amount: Money::new(line.amount, currency)?,
        percent,
        cashback: line.points,
    })
}
