//! Tiers of memberships: the measure a tier is judged by, upgrades on earning (in
//! [`earn`](crate::Store::earn)) and re-evaluation, which may also downgrade.

use chrono::{DateTime, Duration, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use loyalty_core::ledger::EntryKind;
use loyalty_core::{Rules, Tier, TierBasis, TierChange};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::account::{Account, EntryMeta};
use crate::amounts::from_db;
use crate::clock::to_db_time;
use crate::db::DbConnection;
use crate::error::StoreResult;
use crate::models::member::MembershipRow;
use crate::ops::rules_cache::load_program;
use crate::schema::{bills, memberships};
use crate::store::Store;

/// A tier change a call made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierMove {
    /// The tier held before (`None`: no tier).
    pub from: Option<String>,
    /// The tier held now (`None`: no tier).
    pub to: Option<String>,
    /// Upgrade bonus points credited (zero for a downgrade or a climb back).
    pub bonus: Decimal,
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
/// earned within the rolling window (bill time after `now - window_days`), or its lifetime
/// earned points (every earning credit, including upward adjustments, as in its balances).
pub(crate) fn measure(
    conn: &mut DbConnection,
    rules: &Rules,
    acct: &Account,
    now: DateTime<Utc>,
) -> StoreResult<Decimal> {
    match rules.tiers.basis {
        TierBasis::LifetimePoints => Ok(acct.balances.earned.value()),
        TierBasis::QualifyingSpend { window_days } => {
            let since = to_db_time(now - Duration::days(i64::from(window_days)));
            let spend: i64 = bills::table
                .filter(bills::membership_id.eq(&acct.row.id))
                .filter(bills::earned_at.ge(since))
                .select(sql::<BigInt>(
                    "CAST(COALESCE(SUM(earn_amount), 0) AS BIGINT)",
                ))
                .first(conn)?;
            Ok(from_db(spend))
        }
    }
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
                bonus: bonus.value(),
                bonus_entry_id,
            }))
        }
        TierChange::Downgraded { from, to } => {
            acct.row.tier.clone_from(&to);
            Ok(Some(TierMove {
                from: Some(from),
                to,
                bonus: Decimal::ZERO,
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
    /// Re-evaluates the tier of every membership of a program against its current measure
    /// (a nightly job): downgrades those whose window no longer qualifies, upgrades those that
    /// qualify for more (with the once-per-tier bonus rule). One transaction per membership,
    /// each locking it first, so it runs safely beside earning. Works on a disabled program
    /// too. Returns how many memberships changed tier.
    pub fn reevaluate_tiers(&self, tenant: &str, program_id: &str) -> StoreResult<usize> {
        let (program, ids) = self.read(|conn| {
            let program = load_program(conn, tenant, program_id)?;
            let ids: Vec<String> = memberships::table
                .filter(memberships::tenant_id.eq(tenant))
                .filter(memberships::program_id.eq(program_id))
                .order(memberships::id)
                .select(memberships::id)
                .load(conn)?;
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
