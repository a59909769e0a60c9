//! Tier evaluation: which tier a measure reaches, upgrades on earning (with one-time upgrade
//! bonuses) and re-evaluation (which may downgrade).
//!
//! The measure is whatever the program's [`TierBasis`](crate::TierBasis) says: qualifying spend
//! over the rolling window (the store sums it) or lifetime points earned. These functions only
//! take the number.
//!
//! Timing: the bill that crosses a threshold earns at the tier the member held *before* it
//! ([`EarnInput::tier`](crate::EarnInput::tier)); the store then calls [`upgrade_on_earn`]
//! with the measure including that bill, and the new tier applies from the next bill.
//! Downgrades happen only in [`reevaluate`] (for example a nightly job when old spend leaves
//! the window), never on an earn.
//!
//! Upgrade bonuses are granted once per membership per tier, ever: the store remembers the
//! best tier a membership ever reached, and only tiers above it pay their bonus. A member who
//! is downgraded and climbs back gets no second bonus.

use rust_decimal::Decimal;

use crate::program::{Tier, TierRules};
use crate::values::{MAX_AMOUNT, Points};

/// The highest tier whose threshold the measure reaches, or `None` below the first tier.
///
/// ```
/// use loyalty_core::{tier_for, Tier, TierBasis, TierRules, Points};
/// use rust_decimal::Decimal;
/// let tier = |name: &str, threshold: i64, multiplier: &str| -> Result<Tier, loyalty_core::Error> {
///     Ok(Tier { name: name.into(), threshold: Decimal::from(threshold), multiplier: multiplier.parse()?, upgrade_bonus: Points::ZERO })
/// };
/// let rules = TierRules {
///     basis: TierBasis::QualifyingSpend { window_days: 365 },
///     tiers: vec![tier("Bronze", 1_000, "1")?, tier("Silver", 10_000, "1.25")?, tier("Gold", 50_000, "1.5")?],
/// };
/// assert!(tier_for(&rules, Decimal::from(999)).is_none());
/// assert_eq!(tier_for(&rules, Decimal::from(10_000)).map(|t| t.name.as_str()), Some("Silver"));
/// assert_eq!(tier_for(&rules, Decimal::from(1_000_000)).map(|t| t.name.as_str()), Some("Gold"));
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn tier_for(rules: &TierRules, measure: Decimal) -> Option<&Tier> {
    // Validated tiers are ordered by increasing threshold, so the last one reached is highest.
    rules.tiers.iter().rev().find(|t| t.threshold <= measure)
}

/// What evaluating a membership's tier decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TierChange {
    /// The membership keeps its tier.
    Unchanged,
    /// The membership moves up.
    Upgraded {
        /// The tier it held (`None`: no tier).
        from: Option<String>,
        /// The tier it now holds.
        to: String,
        /// Upgrade bonus points to grant now: the bonuses of every tier above the best tier
        /// ever reached, up to and including `to` (zero when climbing back).
        bonus: Points,
    },
    /// The membership moves down.
    Downgraded {
        /// The tier it held.
        from: String,
        /// The tier it now holds (`None`: no tier).
        to: Option<String>,
    },
}

/// Evaluates the tier after an earn: may upgrade, never downgrades.
///
/// `current` is the tier the membership holds, `best_reached` the highest tier it ever held
/// (both by name; a name the rules no longer know counts as no tier), `measure_after` the
/// measure including the bill just earned. See the [module docs](self) for when the new tier
/// starts to apply.
///
/// ```
/// use loyalty_core::{upgrade_on_earn, Points, Tier, TierBasis, TierChange, TierRules};
/// use rust_decimal::Decimal;
/// let tier = |name: &str, threshold: i64, bonus: u64| -> Result<Tier, loyalty_core::Error> {
///     Ok(Tier { name: name.into(), threshold: Decimal::from(threshold), multiplier: "1".parse()?, upgrade_bonus: Points::whole(bonus)? })
/// };
/// let rules = TierRules {
///     basis: TierBasis::QualifyingSpend { window_days: 365 },
///     tiers: vec![tier("Bronze", 0, 0)?, tier("Silver", 10_000, 100)?, tier("Gold", 50_000, 500)?],
/// };
/// // A Bronze member whose bill takes the year's spend to 60 000 jumps to Gold and gets both
/// // the Silver and the Gold bonus.
/// let change = upgrade_on_earn(&rules, Some("Bronze"), Some("Bronze"), Decimal::from(60_000));
/// assert_eq!(change, TierChange::Upgraded { from: Some("Bronze".into()), to: "Gold".into(), bonus: Points::whole(600)? });
/// // Once Gold, climbing back to Gold after a downgrade pays nothing again.
/// let change = upgrade_on_earn(&rules, Some("Silver"), Some("Gold"), Decimal::from(50_000));
/// assert_eq!(change, TierChange::Upgraded { from: Some("Silver".into()), to: "Gold".into(), bonus: Points::ZERO });
/// // Earning never downgrades.
/// assert_eq!(upgrade_on_earn(&rules, Some("Gold"), Some("Gold"), Decimal::from(10)), TierChange::Unchanged);
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn upgrade_on_earn(
    rules: &TierRules,
    current: Option<&str>,
    best_reached: Option<&str>,
    measure_after: Decimal,
) -> TierChange {
    match evaluate(rules, current, best_reached, measure_after) {
        change @ TierChange::Upgraded { .. } => change,
        TierChange::Unchanged | TierChange::Downgraded { .. } => TierChange::Unchanged,
    }
}

/// Re-evaluates the tier from the current measure: downgrades when the window no longer
/// qualifies for the current tier, upgrades (with the same once-per-tier bonus rule as
/// [`upgrade_on_earn`]) when it qualifies for a higher one. A current tier name the rules no
/// longer know is dropped to whatever the measure reaches.
///
/// ```
/// use loyalty_core::{reevaluate, Points, Tier, TierBasis, TierChange, TierRules};
/// use rust_decimal::Decimal;
/// let tier = |name: &str, threshold: i64| -> Result<Tier, loyalty_core::Error> {
///     Ok(Tier { name: name.into(), threshold: Decimal::from(threshold), multiplier: "1".parse()?, upgrade_bonus: Points::ZERO })
/// };
/// let rules = TierRules {
///     basis: TierBasis::QualifyingSpend { window_days: 365 },
///     tiers: vec![tier("Bronze", 1_000)?, tier("Silver", 10_000)?, tier("Gold", 50_000)?],
/// };
/// // Last year's big purchases left the window: Gold drops to Silver.
/// let change = reevaluate(&rules, Some("Gold"), Some("Gold"), Decimal::from(12_000));
/// assert_eq!(change, TierChange::Downgraded { from: "Gold".into(), to: Some("Silver".into()) });
/// assert_eq!(reevaluate(&rules, Some("Silver"), Some("Gold"), Decimal::from(12_000)), TierChange::Unchanged);
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn reevaluate(
    rules: &TierRules,
    current: Option<&str>,
    best_reached: Option<&str>,
    measure: Decimal,
) -> TierChange {
    evaluate(rules, current, best_reached, measure)
}

fn evaluate(
    rules: &TierRules,
    current: Option<&str>,
    best_reached: Option<&str>,
    measure: Decimal,
) -> TierChange {
    let current_rank = current.and_then(|name| rules.rank(name));
    let new_rank = rules.tiers.iter().rposition(|t| t.threshold <= measure);
    let new_name = new_rank
        .and_then(|r| rules.tiers.get(r))
        .map(|t| t.name.clone());
    // `None` (no tier) orders below every tier.
    match (new_rank.cmp(&current_rank), new_name, current) {
        (std::cmp::Ordering::Greater, Some(to), _) => TierChange::Upgraded {
            from: current.map(str::to_owned),
            bonus: upgrade_bonus(rules, current_rank, best_reached, new_rank),
            to,
        },
        (std::cmp::Ordering::Less, to, Some(from)) => TierChange::Downgraded {
            from: from.to_owned(),
            to,
        },
        // Same rank: unchanged, unless the current name is stale (unknown to the rules).
        (_, to, Some(from)) if current_rank.is_none() && to.is_none() => TierChange::Downgraded {
            from: from.to_owned(),
            to,
        },
        _ => TierChange::Unchanged,
    }
}

/// The bonuses of every tier above the best reached (or the current tier, if the store's
/// record of the best is behind it) up to and including `new_rank`.
fn upgrade_bonus(
    rules: &TierRules,
    current_rank: Option<usize>,
    best_reached: Option<&str>,
    new_rank: Option<usize>,
) -> Points {
    let best_rank = best_reached
        .and_then(|name| rules.rank(name))
        .max(current_rank);
    let first_unpaid = best_rank.map_or(0, |r| r.saturating_add(1));
    let last = new_rank.map_or(0, |r| r.saturating_add(1));
    let total = rules
        .tiers
        .get(first_unpaid..last)
        .unwrap_or_default()
        .iter()
        .fold(Decimal::ZERO, |acc, t| {
            acc.checked_add(t.upgrade_bonus.value())
                .unwrap_or(MAX_AMOUNT)
        });
    // Each bonus is valid points, so the sum is too once bounded by the maximum amount;
    // bonuses adding up beyond one hundred trillion points are granted as the maximum.
    Points::new(total.min(MAX_AMOUNT)).unwrap_or_default()
}

#[cfg(test)]
mod tests;
