//! The breakdown [`compute_earning`](super::compute_earning) returns.

use rust_decimal::Decimal;
use uuid::Uuid;

use crate::campaigns::CampaignLimit;
use crate::error::{Error, Result};
use crate::program::Category;
use crate::values::{EarnRate, Money, Multiplier, Percent, Points};

/// Which rule a bill line earned by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineRule {
    /// The line's category has a rule: this percentage of the amount ("Medicines 1%").
    Category(Percent),
    /// The line has no category, or its category has no rule: the program's base rate.
    Base(EarnRate),
}

/// What one bill line earned before rounding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineEarning {
    /// The line's category.
    pub category: Option<Category>,
    /// The amount that earned.
    pub amount: Money,
    /// The rule applied.
    pub rule: LineRule,
    /// Exact, unrounded points; the base is their sum, rounded once.
    pub exact_points: Decimal,
    /// The line's share of the bill's points, after rounding and the bill cap (step 6 of
    /// [`compute_earning`](super::compute_earning)): the lines' shares add up to the bill's
    /// components and total exactly.
    pub points: LinePoints,
}

/// One bill line's share of what the bill earned, component by component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinePoints {
    /// Its share of the base.
    pub base: Points,
    /// Its share of the tier bonus.
    pub tier_bonus: Points,
    /// Its share of the campaign bonuses (of the campaigns it was eligible for).
    pub campaign_bonus: Points,
    /// `base + tier_bonus + campaign_bonus`.
    pub total: Points,
}

/// What one campaign added to the bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignBonus {
    /// The campaign.
    pub campaign_id: Uuid,
    /// Its name, for receipts and statements.
    pub name: String,
    /// The bonus as the effect computes it, rounded down, before any cap.
    pub uncapped: Points,
    /// The bonus finally granted, after the campaign's member cap and budget and the bill cap.
    /// This is what counts against the campaign's caps.
    pub points: Points,
    /// The limit that made `points` smaller than `uncapped`: the bill cap if it cut this
    /// bonus, else the campaign's own cap that did.
    pub limited_by: Option<CampaignLimit>,
}

/// A bill's earning, component by component.
///
/// `total == base + tier_bonus + Σ campaign_bonuses[i].points`, all after the bill cap, and
/// `total <= earn_cap_per_bill`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earning {
    /// Each line's rule and exact points, in the bill's order.
    pub lines: Vec<LineEarning>,
    /// The lines' points, rounded with the program's rounding (after the bill cap).
    pub base: Points,
    /// What the tier multiplier added, rounded with the program's rounding (after the bill cap).
    pub tier_bonus: Points,
    /// The tier multiplier used (1 without a tier).
    pub tier_multiplier: Multiplier,
    /// The campaigns that applied and rewarded at least one line, in application order.
    pub campaign_bonuses: Vec<CampaignBonus>,
    /// Points the earn cap per bill took away.
    pub cap_reduction: Points,
    /// What rounding took: the exact sum of base, tier and campaign bonuses minus their
    /// rounded sum, both before any cap. Never negative with rounding down; may be negative
    /// when the program rounds to the nearest.
    pub rounding_loss: Decimal,
    /// The points the bill earns.
    pub total: Points,
}

impl Earning {
    /// The sum of the campaign bonuses granted.
    ///
    /// ```
    /// use chrono::Utc;
    /// use loyalty_core::{compute_earning, BillLine, Currency, EarnInput, EarnRate, Money, Points, ProgramRules};
    /// use rust_decimal::Decimal;
    /// let usd = Currency::new("USD")?;
    /// let mut frequent_flyer = ProgramRules::new(usd);
    /// frequent_flyer.base_rate = EarnRate::new(Points::whole(1)?, Decimal::from(100))?; // $100 = 1 point
    /// let rules = frequent_flyer.validate()?;
    /// let lines = [BillLine { category: None, amount: Money::parse("100", usd)? }];
    /// let earning = compute_earning(&EarnInput {
    ///     rules: &rules, tier: None, campaigns: &[], lines: &lines,
    ///     bill_total: Money::parse("100", usd)?, at: Utc::now(),
    /// })?;
    /// assert_eq!(earning.campaign_points()?, Points::ZERO);
    /// assert_eq!(earning.total, Points::whole(1)?);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn campaign_points(&self) -> Result<Points> {
        sum(self.campaign_bonuses.iter().map(|b| b.points))
    }

    /// `base + tier_bonus + campaign points`.
    pub(super) fn components_total(&self) -> Result<Points> {
        sum([self.base, self.tier_bonus]
            .into_iter()
            .chain(self.campaign_bonuses.iter().map(|b| b.points)))
    }
}

fn sum(points: impl Iterator<Item = Points>) -> Result<Points> {
    points
        .sum::<Result<Points>>()
        .map_err(|_| Error::Overflow("points earned on a bill"))
}
