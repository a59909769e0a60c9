//! A program's configuration and the validation that rejects contradictions.
//!
//! [`ProgramRules`] is the configuration as written by an admin (public fields, easy to build);
//! [`ProgramRules::validate`] turns it into [`Rules`], which every rule function takes, so a
//! contradictory configuration can never reach the earning or redemption rules.

mod campaign;
mod discount;
mod reward;
mod tier;

use std::collections::HashSet;
use std::ops::Deref;

pub use campaign::{Campaign, CampaignEffect, CampaignSpec};
pub use discount::{BillDiscount, CategoryDiscount, DiscountRules};
pub use reward::{Reward, RewardKind};
pub use tier::{Tier, TierBasis, TierRules};

use crate::error::{Error, Result, excerpt};
use crate::values::{ConversionRate, Currency, EarnRate, Percent, PointPrecision, Points};

/// A product category code as the tenant's billing system names it ("medicines", "1").
///
/// 1 to 64 characters, no control characters; compared exactly after trimming blanks.
///
/// ```
/// use loyalty_core::Category;
/// assert_eq!(Category::new(" Medicines ")?.as_str(), "Medicines");
/// assert!(Category::new("").is_err());
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Category(String);

impl Category {
    /// Validates a category code.
    ///
    /// ```
    /// use loyalty_core::Category;
    /// assert_eq!(Category::new(" General ")?, Category::new("General")?);
    /// assert_ne!(Category::new("general")?, Category::new("General")?); // compared exactly
    /// assert!(Category::new(&"x".repeat(65)).is_err());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn new(code: &str) -> Result<Self> {
        Ok(Category(name("category", code, 64)?))
    }

    /// The code.
    ///
    /// ```
    /// use loyalty_core::Category;
    /// assert_eq!(Category::new("Medicines")?.as_str(), "Medicines");
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Validates a short human or machine name: trimmed, 1..=max characters, no control chars.
pub(crate) fn name(what: &'static str, input: &str, max: usize) -> Result<String> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(Error::InvalidField {
            what,
            reason: "it must not be empty".into(),
        });
    }
    if trimmed.chars().count() > max {
        return Err(Error::InvalidField {
            what,
            reason: format!("it must have at most {max} characters"),
        });
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Error::InvalidField {
            what,
            reason: "it must not contain control characters".into(),
        });
    }
    Ok(trimmed.to_owned())
}

/// Points earned as a percentage of a category's amount ("Medicines 1%").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryRule {
    /// The category.
    pub category: Category,
    /// Points per 100 units of spend in the category.
    pub earn_percent: Percent,
}

/// Flat points for a named action ("feedback" = 10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRule {
    /// The action's name, e.g. `feedback`, `event_attended`.
    pub action: String,
    /// Points awarded each time.
    pub points: Points,
}

/// What amount of a bill earns points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EarnBasis {
    /// What the member paid: after discounts and after the part paid with points (default).
    #[default]
    PaidAmount,
    /// The bill after discounts, including the part paid with points.
    DiscountedAmount,
}

/// How points become money at checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedemptionRules {
    /// "100 points = 10.00".
    pub rate: ConversionRate,
    /// The fewest points one redemption may use.
    pub min_points: Points,
    /// The largest share of a bill (after discounts) that points may pay, at most 100 %.
    pub max_bill_share: Percent,
    /// The most points one bill may use, over all its redemptions.
    pub max_points_per_bill: Option<Points>,
}

/// When earned points expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpiryPolicy {
    /// Points never expire.
    #[default]
    Never,
    /// Points expire this many calendar months after they were earned (1..=600).
    AfterMonths(u32),
}

/// What a reversal does when the points it takes back were already spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReturnPolicy {
    /// Take back only what is left; the rest is forgiven (default).
    #[default]
    CapAtAvailable,
    /// Take back everything; what is missing becomes a debt repaid by later earning.
    AllowDebt,
}

/// What a program's balance is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgramKind {
    /// Points, worth money only through the redemption rate (default).
    #[default]
    Points,
    /// A cashback wallet: the balance is money in the program's currency, spent 1:1 (see
    /// [`cashback`](crate::cashback)).
    Cashback,
}

impl ProgramKind {
    /// Its name as stored and in messages: `points` or `cashback`.
    ///
    /// ```
    /// use loyalty_core::ProgramKind;
    /// assert_eq!(ProgramKind::default().as_str(), "points");
    /// assert_eq!(ProgramKind::Cashback.as_str(), "cashback");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ProgramKind::Points => "points",
            ProgramKind::Cashback => "cashback",
        }
    }
}

/// A program's whole configuration as an admin writes it. Validate it with
/// [`ProgramRules::validate`] before use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramRules {
    /// Points or a cashback wallet.
    pub kind: ProgramKind,
    /// The currency bills and point values are in.
    pub currency: Currency,
    /// Point decimals and rounding.
    pub precision: PointPrecision,
    /// Points per spend for lines whose category has no rule.
    pub base_rate: EarnRate,
    /// Per-category earn percentages.
    pub categories: Vec<CategoryRule>,
    /// Flat points for actions.
    pub actions: Vec<ActionRule>,
    /// The most points one bill can earn (after tier and campaign bonuses).
    pub earn_cap_per_bill: Option<Points>,
    /// Which amount of a bill earns.
    pub earn_basis: EarnBasis,
    /// What a referrer earns, as a percentage of the referred member's earning amount.
    pub referral_percent: Percent,
    /// Redemption at checkout; `None` means points cannot pay bills in this program.
    pub redemption: Option<RedemptionRules>,
    /// Expiry of earned points.
    pub expiry: ExpiryPolicy,
    /// Days before earned points become spendable (0 = at once, at most 365).
    pub pending_days: u32,
    /// Reversal beyond the remaining points.
    pub return_policy: ReturnPolicy,
    /// Discounts that are not points.
    pub discounts: DiscountRules,
    /// Redemption attempts allowed per member per minute (`None` = unlimited).
    pub redemptions_per_minute: Option<u32>,
    /// Tiers.
    pub tiers: TierRules,
    /// The program's local time offset from UTC in minutes, used for campaign weekdays.
    pub utc_offset_minutes: i32,
    /// How many days old a bill may be when it earns (`None` = no limit, 1..=3650): a till
    /// that uploads offline bills late is accepted within it, older bills are refused.
    pub max_bill_age_days: Option<u32>,
}

impl ProgramRules {
    /// A minimal program in `currency`: earns nothing until rules are added, no redemption.
    ///
    /// ```
    /// use loyalty_core::{Currency, ProgramRules};
    /// use rust_decimal::Decimal;
    /// let rules = ProgramRules::new(Currency::new("INR")?);
    /// assert_eq!(rules.base_rate.points_for(Decimal::from(500))?, Decimal::ZERO); // earns nothing yet
    /// assert!(rules.redemption.is_none());
    /// assert!(rules.validate().is_ok());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn new(currency: Currency) -> Self {
        ProgramRules {
            kind: ProgramKind::default(),
            currency,
            precision: PointPrecision::default(),
            base_rate: EarnRate::none(),
            categories: Vec::new(),
            actions: Vec::new(),
            earn_cap_per_bill: None,
            earn_basis: EarnBasis::default(),
            referral_percent: Percent::ZERO,
            redemption: None,
            expiry: ExpiryPolicy::default(),
            pending_days: 0,
            return_policy: ReturnPolicy::default(),
            discounts: DiscountRules::default(),
            redemptions_per_minute: None,
            tiers: TierRules::default(),
            utc_offset_minutes: 0,
            max_bill_age_days: None,
        }
    }

    /// Checks the configuration for contradictions and returns the validated [`Rules`].
    ///
    /// ```
    /// use loyalty_core::{ConversionRate, Currency, Money, Percent, ProgramRules, RedemptionRules};
    /// let inr = Currency::new("INR")?;
    /// let mut rules = ProgramRules::new(inr);
    /// rules.redemption = Some(RedemptionRules {
    ///     rate: ConversionRate::new("100".parse()?, Money::parse("10.00", inr)?)?,
    ///     min_points: "100".parse()?,
    ///     max_bill_share: "50".parse()?,
    ///     max_points_per_bill: None,
    /// });
    /// assert!(rules.clone().validate().is_ok());
    /// if let Some(r) = rules.redemption.as_mut() { r.max_bill_share = "150".parse()?; }
    /// assert!(rules.validate().is_err()); // more than 100 % of a bill
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn validate(self) -> Result<Rules> {
        let invalid = |msg: String| Err(Error::InvalidConfig(msg));
        self.precision_fits("earn cap per bill", self.earn_cap_per_bill)?;
        if let Some(cap) = self.earn_cap_per_bill
            && cap.is_zero()
        {
            return invalid(
                "the earn cap per bill must be greater than zero (leave it unset for no cap)"
                    .into(),
            );
        }
        let mut seen = HashSet::new();
        for rule in &self.categories {
            if !seen.insert(rule.category.as_str()) {
                return invalid(format!(
                    "category {:?} has more than one earn rule",
                    rule.category.as_str()
                ));
            }
        }
        let mut seen = HashSet::new();
        for rule in &self.actions {
            name("action", &rule.action, 64)?;
            if rule.action.trim() != rule.action {
                return invalid(format!(
                    "action {:?} has surrounding blanks",
                    excerpt(&rule.action)
                ));
            }
            if !seen.insert(rule.action.as_str()) {
                return invalid(format!("action {:?} has more than one rule", rule.action));
            }
            self.precision_fits("action points", Some(rule.points))?;
        }
        self.base_rate.check_bounds()?;
        if let Some(redemption) = &self.redemption {
            redemption.rate.check_bounds()?;
            if redemption.rate.currency() != self.currency {
                return invalid(format!(
                    "the conversion rate is in {} but the program is in {}",
                    redemption.rate.currency(),
                    self.currency
                ));
            }
            if redemption.max_bill_share > Percent::HUNDRED {
                return invalid(format!(
                    "the maximum share of a bill payable with points is {} but cannot exceed 100%",
                    redemption.max_bill_share
                ));
            }
            if redemption.max_bill_share.is_zero() {
                return invalid("the maximum share of a bill payable with points must be greater than 0% (leave redemption unset to switch it off)".into());
            }
            self.precision_fits("minimum points per redemption", Some(redemption.min_points))?;
            self.precision_fits("maximum points per bill", redemption.max_points_per_bill)?;
            if let Some(max) = redemption.max_points_per_bill
                && max < redemption.min_points
            {
                return invalid(format!(
                    "the maximum points per bill ({max}) is below the minimum points per redemption ({})",
                    redemption.min_points
                ));
            }
        }
        if let ExpiryPolicy::AfterMonths(months) = self.expiry
            && !(1..=600).contains(&months)
        {
            return invalid(format!(
                "points must expire after 1 to 600 months (got {months})"
            ));
        }
        if self.pending_days > 365 {
            return invalid(format!(
                "the pending period must be at most 365 days (got {})",
                self.pending_days
            ));
        }
        if let Some(limit) = self.redemptions_per_minute
            && limit == 0
        {
            return invalid(
                "redemptions per minute must be at least 1 (leave it unset for no limit)".into(),
            );
        }
        if let Some(days) = self.max_bill_age_days
            && !(1..=3650).contains(&days)
        {
            return invalid(format!(
                "the maximum bill age must be 1 to 3650 days (got {days}; leave it unset for no limit)"
            ));
        }
        if !(-14 * 60..=14 * 60).contains(&self.utc_offset_minutes) {
            return invalid(format!(
                "the UTC offset must be within ±14 hours (got {} minutes)",
                self.utc_offset_minutes
            ));
        }
        self.discounts.validate(self.currency)?;
        self.tiers.validate(self.precision)?;
        crate::cashback::check_wallet(&self)?;
        Ok(Rules(self))
    }

    fn precision_fits(&self, what: &'static str, points: Option<Points>) -> Result<()> {
        match points {
            Some(p) if p.value().normalize().scale() > self.precision.decimals() => {
                Err(Error::InvalidConfig(format!(
                    "{what} {p} has more decimals than the program's {} point decimals",
                    self.precision.decimals()
                )))
            }
            _ => Ok(()),
        }
    }
}

/// A validated [`ProgramRules`]: the only form the rule functions accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules(ProgramRules);

impl Rules {
    /// The earn percentage for a category, if the category has a rule.
    ///
    /// ```
    /// use loyalty_core::{Category, CategoryRule, Currency, Percent, PointPrecision, ProgramRules, Rounding};
    /// let mut pharmacy = ProgramRules::new(Currency::new("INR")?);
    /// pharmacy.precision = PointPrecision::new(2, Rounding::Down)?;
    /// pharmacy.categories = vec![
    ///     CategoryRule { category: Category::new("Medicines")?, earn_percent: "1".parse()? },
    ///     CategoryRule { category: Category::new("General")?, earn_percent: "3".parse()? },
    /// ];
    /// let pharmacy = pharmacy.validate()?;
    /// let medicines = Category::new("Medicines")?;
    /// assert_eq!(pharmacy.category_rule(&medicines), Some("1".parse::<Percent>()?));
    /// assert_eq!(pharmacy.category_rule(&Category::new("Baby Care")?), None); // base rate
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn category_rule(&self, category: &Category) -> Option<Percent> {
        self.0
            .categories
            .iter()
            .find(|r| &r.category == category)
            .map(|r| r.earn_percent)
    }

    /// The points for an action.
    ///
    /// ```
    /// use loyalty_core::{ActionRule, Currency, ProgramRules};
    /// let mut rules = ProgramRules::new(Currency::new("USD")?);
    /// rules.actions.push(ActionRule { action: "feedback".into(), points: "10".parse()? });
    /// let rules = rules.validate()?;
    /// assert_eq!(rules.action_points("feedback")?.to_string(), "10");
    /// assert!(rules.action_points("tweet").is_err());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn action_points(&self, action: &str) -> Result<Points> {
        self.0
            .actions
            .iter()
            .find(|r| r.action == action)
            .map(|r| r.points)
            .ok_or_else(|| Error::UnknownAction(excerpt(action)))
    }

    /// The configuration as written.
    ///
    /// ```
    /// use loyalty_core::{Currency, EarnRate, ProgramRules};
    /// use rust_decimal::Decimal;
    /// let mut shop = ProgramRules::new(Currency::new("INR")?);
    /// shop.base_rate = EarnRate::new("1".parse()?, Decimal::from(10))?;
    /// let rules = shop.clone().validate()?;
    /// assert_eq!(rules.config(), &shop);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn config(&self) -> &ProgramRules {
        &self.0
    }

    /// Gives the configuration back for editing.
    ///
    /// ```
    /// use loyalty_core::{Currency, ProgramRules};
    /// let rules = ProgramRules::new(Currency::new("INR")?).validate()?;
    /// let mut edited = rules.into_config();
    /// edited.referral_percent = "0.5".parse()?; // referrers earn 0.5%
    /// let rules = edited.validate()?;
    /// assert_eq!(rules.referral_percent.to_string(), "0.5%");
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn into_config(self) -> ProgramRules {
        self.0
    }
}

impl Deref for Rules {
    type Target = ProgramRules;

    fn deref(&self) -> &ProgramRules {
        &self.0
    }
}

#[cfg(test)]
mod tests;
