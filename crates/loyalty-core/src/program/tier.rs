//! Tier configuration: ordered levels with thresholds, multipliers and upgrade bonuses.

use std::collections::HashSet;

use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::values::{Multiplier, PointPrecision, Points};

/// What a member's tier is measured by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierBasis {
    /// Money spent on bills over the last `window_days` days (1..=3660).
    QualifyingSpend {
        /// Length of the rolling window.
        window_days: u32,
    },
    /// Points earned over the membership's lifetime.
    LifetimePoints,
}

impl Default for TierBasis {
    fn default() -> Self {
        TierBasis::QualifyingSpend { window_days: 365 }
    }
}

/// One tier level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    /// The tier's name ("Gold").
    pub name: String,
    /// Qualifying spend or lifetime points needed to reach it.
    pub threshold: Decimal,
    /// Multiplier applied to points earned on bills while in this tier.
    pub multiplier: Multiplier,
    /// Points granted the first time a membership reaches this tier.
    pub upgrade_bonus: Points,
}

/// A program's tiers, lowest first. A membership below the first threshold has no tier and
/// earns at multiplier 1.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TierRules {
    /// What thresholds measure.
    pub basis: TierBasis,
    /// Levels, ordered by strictly increasing threshold.
    pub tiers: Vec<Tier>,
}

impl TierRules {
    /// Rejects tiers out of order, duplicate names, negative thresholds and bad windows.
    pub(crate) fn validate(&self, precision: PointPrecision) -> Result<()> {
        let invalid = |msg: String| Err(Error::InvalidConfig(msg));
        if let TierBasis::QualifyingSpend { window_days } = self.basis
            && !(1..=3660).contains(&window_days)
        {
            return invalid(format!(
                "the tier window must be 1 to 3660 days (got {window_days})"
            ));
        }
        let mut names = HashSet::new();
        for (i, tier) in self.tiers.iter().enumerate() {
            super::name("tier name", &tier.name, 64)?;
            if !names.insert(tier.name.trim().to_lowercase()) {
                return invalid(format!("tier {:?} appears more than once", tier.name));
            }
            if tier.threshold.is_sign_negative() && !tier.threshold.is_zero() {
                return invalid(format!(
                    "tier {:?} has a negative threshold {}",
                    tier.name, tier.threshold
                ));
            }
            if tier.threshold > crate::values::MAX_AMOUNT {
                return invalid(format!(
                    "tier {:?} has a threshold above the maximum amount",
                    tier.name
                ));
            }
            if tier.upgrade_bonus.value().normalize().scale() > precision.decimals() {
                return invalid(format!(
                    "tier {:?} has an upgrade bonus with more decimals than the program's points",
                    tier.name
                ));
            }
            if let Some(prev) = i.checked_sub(1).and_then(|p| self.tiers.get(p)) {
                if tier.threshold <= prev.threshold {
                    return invalid(format!(
                        "tiers are out of order: {:?} (threshold {}) must have a higher threshold than {:?} ({})",
                        tier.name, tier.threshold, prev.name, prev.threshold
                    ));
                }
                if tier.multiplier < prev.multiplier {
                    return invalid(format!(
                        "tiers are out of order: {:?} multiplies by {} which is less than the lower tier {:?} ({})",
                        tier.name, tier.multiplier, prev.name, prev.multiplier
                    ));
                }
            }
        }
        Ok(())
    }

    /// The tier with this name.
    ///
    /// ```
    /// use loyalty_core::{Multiplier, Points, Tier, TierBasis, TierRules};
    /// use rust_decimal::Decimal;
    /// let tier = |name: &str, threshold: i64, multiplier: &str| -> Result<Tier, loyalty_core::Error> {
    ///     Ok(Tier { name: name.into(), threshold: Decimal::from(threshold), multiplier: multiplier.parse()?, upgrade_bonus: Points::ZERO })
    /// };
    /// let rules = TierRules {
    ///     basis: TierBasis::QualifyingSpend { window_days: 365 },
    ///     tiers: vec![tier("Bronze", 1_000, "1")?, tier("Silver", 10_000, "1.25")?, tier("Gold", 50_000, "1.5")?],
    /// };
    /// let gold = rules.find("Gold").map(|t| t.multiplier);
    /// assert_eq!(gold, Some("1.5".parse::<Multiplier>()?));
    /// assert!(rules.find("gold").is_none()); // names are compared exactly
    /// assert!(rules.find("Platinum").is_none());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn find(&self, name: &str) -> Option<&Tier> {
        self.tiers.iter().find(|t| t.name == name)
    }

    /// The position (0 = lowest) of the tier with this name.
    ///
    /// ```
    /// use loyalty_core::{Points, Tier, TierBasis, TierRules};
    /// use rust_decimal::Decimal;
    /// let tier = |name: &str, threshold: i64, multiplier: &str| -> Result<Tier, loyalty_core::Error> {
    ///     Ok(Tier { name: name.into(), threshold: Decimal::from(threshold), multiplier: multiplier.parse()?, upgrade_bonus: Points::ZERO })
    /// };
    /// let rules = TierRules {
    ///     basis: TierBasis::QualifyingSpend { window_days: 365 },
    ///     tiers: vec![tier("Bronze", 1_000, "1")?, tier("Silver", 10_000, "1.25")?, tier("Gold", 50_000, "1.5")?],
    /// };
    /// assert_eq!(rules.rank("Bronze"), Some(0));
    /// assert_eq!(rules.rank("Gold"), Some(2));
    /// assert_eq!(rules.rank("Platinum"), None);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn rank(&self, name: &str) -> Option<usize> {
        self.tiers.iter().position(|t| t.name == name)
    }
}
