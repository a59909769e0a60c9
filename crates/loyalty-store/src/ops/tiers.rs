//! Tiers of memberships: the measure a tier is judged by, upgrades on earning (in
//! [`earn`](crate::Store::earn)) and re-evaluation, which may also downgrade.

use chrono::{DateTime, Duration, NaiveDateTime, NaiveTime, Utc};
use diesel::prelude::*;
use loyalty_core::ledger::EntryKind;
use loyalty_core::{Points, Rules, Tier, TierBasis, TierChange};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::account::{Account, EntryMeta, balances_of};
use crate::amounts::from_db;
use crate::clock::to_db_time;
use crate::db::{DbConnection, native};
use crate::error::{StoreError, StoreResult};
use crate::literal::{SumBillEarnAmount, SumSpendDays};
use crate::models::member::{MembershipRow, SpendDayRow};
use crate::ops::members::find_membership;
use crate::ops::rules_cache::load_program;
use crate::schema::{bills, memberships, qualifying_spend_days};
use crate::statements::AddSpendDay;
use crate::store::Store;

/// A tier change a call made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierMove {
    /// The tier held before (`None`: no tier).
    pub from: Option<String>,
    /// The tier held now (`None`: no tier).
    pub to: Option<String>,
    /// Upgrade bonus points credited (zero for a downgrade or a climb back).
    pub bonus: Points,
    /// The `tier_bonus` entry, when a bonus was credited.
    pub bonus_entry_id: Option<String>,
}

/// The tier the membership holds, as the rules know it (`None` below the first tier, or when
/// the rules no longer have a tier of that name).
pub(crate) fn current_tier<'r>(rules: &'r Rules, row: &MembershipRow) -> Option<&'r Tier> {
    row.tier.as_deref().and_then(|name| rules.tiers.find(name))
}

/// The name of the best tier the membership ever reached.
fn best_reached<'r>(rules: &'r Rules, row: &MembershipRow) -> Option<&'r str> {
    row.best_tier_rank
        .and_then(|rank| usize::try_from(rank).ok())
        .and_then(|rank| rules.tiers.tiers.get(rank))
        .map(|t| t.name.as_str())
}

/// What the membership's tier is measured by at `now`: the earning amounts of its bills
/// earned within the rolling window (bill time at or after `now - window_days`, see
/// [`qualifying_spend_since`]), or its lifetime earned points (every earning credit, including
/// upward adjustments, as in its balances).
pub(crate) fn measure(
    conn: &mut DbConnection,
    rules: &Rules,
    acct: &Account,
    now: DateTime<Utc>,
) -> StoreResult<Decimal> {
    measure_of(conn, rules, &acct.row.id, acct.balances.earned, now)
}

fn measure_of(
    conn: &mut DbConnection,
    rules: &Rules,
    membership_id: &str,
    lifetime_earned: Points,
    now: DateTime<Utc>,
) -> StoreResult<Decimal> {
    match rules.tiers.basis {
        TierBasis::LifetimePoints => Ok(lifetime_earned.value()),
        TierBasis::QualifyingSpend { window_days } => {
            let since = to_db_time(now - Duration::days(i64::from(window_days)));
            Ok(from_db(qualifying_spend_since(conn, membership_id, since)?))
        }
    }
}

/// The sum of `earn_amount` over the membership's bills with `earned_at >= since` (exactly
/// what `SUM(earn_amount) ... WHERE earned_at >= since` over its bills gives), in
/// ten-thousandths, without reading the member's history.
///
/// The window is cut in two at the first midnight after `since` (UTC):
/// - the whole days from that midnight on (and any bill time a till's clock put slightly in
///   the future) come from `qualifying_spend_days`, one row per day with earnings, read by its
///   primary key: at most `window_days + 1` rows however many bills the member has;
/// - the partial first day, `[since, next midnight)`, comes from the bills themselves, read
///   by the `bills_membership_earned_at` index: only that one day's bills. Day buckets alone
///   could not be exact here, since `since` moves with the clock to any microsecond.
///
/// A bill's day is the date of its stored `earned_at`, the same instant the old comparison
/// used, so every bill is counted by exactly one of the two parts: its day either lies after
/// `since`'s day (its bucket is read, and it is at or after `since`), or it is `since`'s day
/// (it is read from the bills, and counted only if at or after `since`), or it is earlier (it
/// is outside the window in both views).
fn qualifying_spend_since(
    conn: &mut DbConnection,
    membership_id: &str,
    since: NaiveDateTime,
) -> StoreResult<i64> {
    let first_day = since.date();
    let next_midnight = first_day
        .succ_opt()
        .map(|day| day.and_time(NaiveTime::MIN))
        .ok_or_else(|| StoreError::Corrupt(format!("no day follows {first_day}")))?;
    let whole_days: i64 = native!(conn, c => qualifying_spend_days::table
        .filter(qualifying_spend_days::membership_id.eq(membership_id))
        .filter(qualifying_spend_days::day.gt(first_day))
        .select(SumSpendDays)
        .get_result(c))?;
    let first_day_part: i64 = native!(conn, c => bills::table
        .filter(bills::membership_id.eq(membership_id))
        .filter(bills::earned_at.ge(since))
        .filter(bills::earned_at.lt(next_midnight))
        .select(SumBillEarnAmount)
        .get_result(c))?;
    whole_days.checked_add(first_day_part).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "the qualifying spend of membership {membership_id} overflows"
        ))
    })
}

/// Adds `amount` (ten-thousandths; negative takes spend away) to the membership's qualifying
/// spend on the day of `earned_at`, the bucket [`qualifying_spend_since`] reads. Called by
/// every writer of a bill's `earn_amount` or `earned_at`, in its transaction and under the
/// membership's lock (so no one else creates the day's row meanwhile). Zero writes nothing.
pub(crate) fn add_qualifying_spend(
    conn: &mut DbConnection,
    membership_id: &str,
    earned_at: NaiveDateTime,
    amount: i64,
) -> StoreResult<()> {
    use crate::schema::qualifying_spend_days::dsl as q;
    if amount == 0 {
        return Ok(());
    }
    let day = earned_at.date();
    // The CHECK (amount >= 0) refuses taking away more than the day holds.
    let statement = AddSpendDay {
        amount: &amount,
        membership_id,
        day: &day,
    };
    let updated = native!(conn, c => statement.execute(c))?;
    if updated == 0 {
        native!(conn, c => diesel::insert_into(q::qualifying_spend_days)
            .values(SpendDayRow {
                membership_id: membership_id.to_owned(),
                day,
                amount,
            })
            .execute(c))?;
    }
    Ok(())
}

/// Applies `change` to the locked account: moves its tier, remembers the best tier reached,
/// and credits the upgrade bonus (a `tier_bonus` entry) when there is one. Returns what moved.
pub(crate) fn apply_change(
    conn: &mut DbConnection,
    rules: &Rules,
    acct: &mut Account,
    change: TierChange,
    actor: &str,
) -> StoreResult<Option<TierMove>> {
    match change {
        TierChange::Unchanged => Ok(None),
        TierChange::Upgraded { from, to, bonus } => {
            let rank = rules.tiers.rank(&to).and_then(|r| i32::try_from(r).ok());
            acct.row.best_tier_rank = acct.row.best_tier_rank.max(rank);
            acct.row.tier = Some(to.clone());
            let meta = EntryMeta {
                reason: Some(format!("reached tier {to}")),
                ..EntryMeta::by(actor)
            };
            let bonus_entry_id = acct.credit(conn, rules, EntryKind::TierBonus, bonus, &meta)?;
            Ok(Some(TierMove {
                from,
                to: Some(to),
                bonus,
                bonus_entry_id,
            }))
        }
        TierChange::Downgraded { from, to } => {
            acct.row.tier.clone_from(&to);
            Ok(Some(TierMove {
                from: Some(from),
                to,
                bonus: Points::ZERO,
                bonus_entry_id: None,
            }))
        }
    }
}

/// After an earn: upgrades the locked account if the measure (including the bill just
/// recorded) reaches a higher tier. Earning never downgrades.
pub(crate) fn upgrade_after_earn(
    conn: &mut DbConnection,
    rules: &Rules,
    acct: &mut Account,
    actor: &str,
) -> StoreResult<Option<TierMove>> {
    if rules.tiers.tiers.is_empty() {
        // No tier to reach: nothing to measure.
        return Ok(None);
    }
    let measure = measure(conn, rules, acct, acct.now)?;
    let change = loyalty_core::upgrade_on_earn(
        &rules.tiers,
        acct.row.tier.as_deref(),
        best_reached(rules, &acct.row),
        measure,
    );
    apply_change(conn, rules, acct, change, actor)
}

impl Store {
    /// What the member's tier in the program is measured by now (qualifying spend in the
    /// window, or lifetime earned points, per the program's tier basis), as the next earn or
    /// re-evaluation would see it.
    pub fn tier_measure(
        &self,
        tenant: &str,
        member_id: &str,
        program_id: &str,
    ) -> StoreResult<Decimal> {
        let now = self.now();
        self.read(|conn| {
            let program = load_program(conn, tenant, program_id)?;
            let row = find_membership(conn, tenant, member_id, program_id)?;
            let earned = balances_of(&row)?.earned;
            measure_of(conn, &program.rules, &row.id, earned, now)
        })
    }

    /// Re-evaluates the tier of every membership of a program against its current measure
    /// (a nightly job): downgrades those whose window no longer qualifies, upgrades those that
    /// qualify for more (with the once-per-tier bonus rule). One transaction per membership,
    /// each locking it first, so it runs safely beside earning. Works on a disabled program
    /// too. Returns how many memberships changed tier.
    pub fn reevaluate_tiers(&self, tenant: &str, program_id: &str) -> StoreResult<usize> {
        let (program, ids) = self.read(|conn| {
            let program = load_program(conn, tenant, program_id)?;
            let ids: Vec<String> = native!(conn, c => memberships::table
                .filter(memberships::tenant_id.eq(tenant))
                .filter(memberships::program_id.eq(program_id))
                .order(memberships::id)
                .select(memberships::id)
                .load(c))?;
            Ok((program, ids))
        })?;
        let rules = &program.rules;
        let mut changed = 0;
        for id in &ids {
            let now = self.now();
            let moved = self.write(|conn| {
                let mut acct = Account::lock(conn, tenant, id, now)?;
                acct.settle(conn)?;
                let measure = measure(conn, rules, &acct, now)?;
                let change = loyalty_core::reevaluate(
                    &rules.tiers,
                    acct.row.tier.as_deref(),
                    best_reached(rules, &acct.row),
                    measure,
                );
                let moved = apply_change(conn, rules, &mut acct, change, "system")?;
                acct.save(conn)?;
                Ok(moved.is_some())
            })?;
            changed += usize::from(moved);
        }
        Ok(changed)
    }
}
