//! Campaigns against a bill: whether a campaign applies, which lines it rewards, how much of
//! its bonus its caps still allow, and the order campaigns apply in.
//!
//! The configuration ([`Campaign`]) lives in [`crate::program`]; the store supplies how much a
//! campaign has already given ([`CampaignUsage`]); [`crate::earn`] combines these rules into a
//! bill's earning.

use chrono::{DateTime, Datelike, FixedOffset, Utc};

use crate::bill::BillLine;
use crate::program::Campaign;
use crate::values::{Money, Points};

/// Bonus points a campaign has already given, before the bill being computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CampaignUsage {
    /// Bonus this campaign has given to this membership, over all its bills.
    pub member_awarded: Points,
    /// Bonus this campaign has given to everyone (counts against its budget).
    pub total_awarded: Points,
}

/// A campaign of the program together with its usage so far: what earning needs to know
/// about one campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveCampaign<'a> {
    /// The campaign's configuration.
    pub campaign: &'a Campaign,
    /// What it has given so far.
    pub usage: CampaignUsage,
}

impl<'a> ActiveCampaign<'a> {
    /// A campaign that has not given any bonus yet.
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// use loyalty_core::{ActiveCampaign, CampaignEffect, CampaignSpec, Points};
    /// # let spec = CampaignSpec {
    /// #     id: uuid::Uuid::nil(), name: "Double points weekends".into(),
    /// #     starts_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    /// #     ends_at: Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
    /// #     weekdays: vec![], categories: vec![], min_bill: None,
    /// #     effect: CampaignEffect::Multiplier("2".parse()?), priority: 0,
    /// #     member_cap: None, budget: None, active: true,
    /// # };
    /// let campaign = spec.validate()?;
    /// let active = ActiveCampaign::unused(&campaign);
    /// assert_eq!(active.usage.member_awarded, Points::ZERO);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn unused(campaign: &'a Campaign) -> Self {
        ActiveCampaign {
            campaign,
            usage: CampaignUsage::default(),
        }
    }
}

/// Whether `campaign` applies to a bill made at `at` whose total after discounts is
/// `bill_total`.
///
/// It applies when it is active, `starts_at <= at < ends_at`, the bill falls on one of its
/// weekdays (judged in the program's local time, `at` shifted by `utc_offset_minutes`; no
/// weekdays means every day) and the bill reaches its minimum. A minimum in another currency
/// than the bill is never reached, and an offset beyond ±24 hours matches no weekday.
///
/// ```
/// use chrono::{TimeZone, Utc, Weekday};
/// use loyalty_core::{campaign_applies, CampaignEffect, CampaignSpec, Currency, Money};
/// let usd = Currency::new("USD")?;
/// let weekends = CampaignSpec {
///     id: uuid::Uuid::nil(),
///     name: "Double points weekends".into(),
///     starts_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
///     ends_at: Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
///     weekdays: vec![Weekday::Sat, Weekday::Sun],
///     categories: vec![],
///     min_bill: None,
///     effect: CampaignEffect::Multiplier("2".parse()?),
///     priority: 0,
///     member_cap: None,
///     budget: None,
///     active: true,
/// }
/// .validate()?;
/// let bill = Money::parse("100", usd)?;
/// let saturday = Utc.with_ymd_and_hms(2026, 1, 3, 12, 0, 0).unwrap();
/// let monday = Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap();
/// assert!(campaign_applies(&weekends, saturday, 0, &bill));
/// assert!(!campaign_applies(&weekends, monday, 0, &bill));
/// // Sunday 23:30 UTC is already Monday in a program at UTC+1.
/// let late_sunday = Utc.with_ymd_and_hms(2026, 1, 4, 23, 30, 0).unwrap();
/// assert!(!campaign_applies(&weekends, late_sunday, 60, &bill));
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn campaign_applies(
    campaign: &Campaign,
    at: DateTime<Utc>,
    utc_offset_minutes: i32,
    bill_total: &Money,
) -> bool {
    campaign.active
        && campaign.starts_at <= at
        && at < campaign.ends_at
        && on_a_campaign_day(campaign, at, utc_offset_minutes)
        && reaches_min_bill(campaign, bill_total)
}

fn on_a_campaign_day(campaign: &Campaign, at: DateTime<Utc>, utc_offset_minutes: i32) -> bool {
    if campaign.weekdays.is_empty() {
        return true;
    }
    // Weekdays are what the shop's customers see on the calendar, not UTC's.
    let Some(offset) = utc_offset_minutes
        .checked_mul(60)
        .and_then(FixedOffset::east_opt)
    else {
        return false;
    };
    campaign
        .weekdays
        .contains(&at.with_timezone(&offset).weekday())
}

fn reaches_min_bill(campaign: &Campaign, bill_total: &Money) -> bool {
    match &campaign.min_bill {
        None => true,
        Some(min) => min.currency() == bill_total.currency() && bill_total.amount() >= min.amount(),
    }
}

/// Whether a campaign rewards `line`: a campaign without categories rewards every line; one
/// with categories rewards only lines of those categories (so never a line without a
/// category).
///
/// ```
/// # use chrono::{TimeZone, Utc};
/// use loyalty_core::{line_is_eligible, BillLine, CampaignEffect, CampaignSpec, Category, Currency, Money};
/// let inr = Currency::new("INR")?;
/// let baby_week = CampaignSpec {
///     id: uuid::Uuid::nil(),
///     name: "Baby week".into(),
///     starts_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
///     ends_at: Utc.with_ymd_and_hms(2026, 1, 8, 0, 0, 0).unwrap(),
///     weekdays: vec![],
///     categories: vec![Category::new("Baby")?],
///     min_bill: None,
///     effect: CampaignEffect::ExtraPercent("2".parse()?),
///     priority: 0,
///     member_cap: None,
///     budget: None,
///     active: true,
/// }
/// .validate()?;
/// let nappies = BillLine { category: Some(Category::new("Baby")?), amount: Money::parse("500", inr)? };
/// let aspirin = BillLine { category: Some(Category::new("Medicines")?), amount: Money::parse("500", inr)? };
/// let unknown = BillLine { category: None, amount: Money::parse("500", inr)? };
/// assert!(line_is_eligible(&baby_week, &nappies));
/// assert!(!line_is_eligible(&baby_week, &aspirin));
/// assert!(!line_is_eligible(&baby_week, &unknown));
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn line_is_eligible(campaign: &Campaign, line: &BillLine) -> bool {
    campaign.categories.is_empty()
        || line
            .category
            .as_ref()
            .is_some_and(|c| campaign.categories.contains(c))
}

/// The limit that reduced a campaign's bonus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CampaignLimit {
    /// The campaign's bonus per membership was (nearly) used up.
    MemberCap,
    /// The campaign's total budget was (nearly) used up.
    Budget,
    /// The program's earn cap per bill cut the bonus.
    BillCap,
}

/// A campaign bonus after the campaign's own caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CappedBonus {
    /// What the campaign may still give: at most the bonus, never negative.
    pub points: Points,
    /// The cap that reduced it, if one did.
    pub limited_by: Option<CampaignLimit>,
}

/// Caps a campaign's `bonus` by what is left of its member cap and of its budget.
///
/// What is left is the cap minus what was already given, stopping at zero, so a campaign
/// that already gave more than its cap (the cap was lowered) gives nothing. When both limits
/// bite, the tighter one is reported; when they leave the same amount, [`CampaignLimit::MemberCap`].
///
/// ```
/// # use chrono::{TimeZone, Utc};
/// use loyalty_core::{cap_campaign_bonus, CampaignEffect, CampaignLimit, CampaignSpec, CampaignUsage, Points};
/// let weekends = CampaignSpec {
///     id: uuid::Uuid::nil(),
///     name: "Double points weekends".into(),
///     starts_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
///     ends_at: Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
///     weekdays: vec![],
///     categories: vec![],
///     min_bill: None,
///     effect: CampaignEffect::Multiplier("2".parse()?),
///     priority: 0,
///     member_cap: Some(Points::whole(100)?),
///     budget: Some(Points::whole(10_000)?),
///     active: true,
/// }
/// .validate()?;
/// let usage = CampaignUsage { member_awarded: Points::whole(80)?, total_awarded: Points::whole(500)? };
/// let capped = cap_campaign_bonus(&weekends, &usage, Points::whole(50)?);
/// assert_eq!(capped.points, Points::whole(20)?);
/// assert_eq!(capped.limited_by, Some(CampaignLimit::MemberCap));
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn cap_campaign_bonus(
    campaign: &Campaign,
    usage: &CampaignUsage,
    bonus: Points,
) -> CappedBonus {
    let member_left = campaign
        .member_cap
        .map(|cap| cap.saturating_sub(usage.member_awarded));
    let budget_left = campaign
        .budget
        .map(|budget| budget.saturating_sub(usage.total_awarded));
    let mut capped = CappedBonus {
        points: bonus,
        limited_by: None,
    };
    for (limit, left) in [
        (CampaignLimit::MemberCap, member_left),
        (CampaignLimit::Budget, budget_left),
    ] {
        if let Some(left) = left
            && left < capped.points
        {
            capped = CappedBonus {
                points: left,
                limited_by: Some(limit),
            };
        }
    }
    capped
}

/// The campaigns in the order they apply: by priority (lower first), then by id, so the
/// same campaigns always give the same result whatever order the store listed them in.
///
/// ```
/// # use chrono::{TimeZone, Utc};
/// use loyalty_core::{in_application_order, ActiveCampaign, CampaignEffect, CampaignSpec, Points};
/// let spec = |name: &str, priority: i32| -> Result<_, loyalty_core::Error> {
///     CampaignSpec {
///         id: uuid::Uuid::nil(),
///         name: name.into(),
///         starts_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
///         ends_at: Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
///         weekdays: vec![],
///         categories: vec![],
///         min_bill: None,
///         effect: CampaignEffect::FixedBonus(Points::whole(10)?),
///         priority,
///         member_cap: None,
///         budget: None,
///         active: true,
///     }
///     .validate()
/// };
/// let (late, early) = (spec("Welcome bonus", 10)?, spec("Double points weekends", 1)?);
/// let campaigns = [ActiveCampaign::unused(&late), ActiveCampaign::unused(&early)];
/// let order: Vec<&str> = in_application_order(&campaigns)
///     .iter()
///     .map(|c| c.campaign.name.as_str())
///     .collect();
/// assert_eq!(order, ["Double points weekends", "Welcome bonus"]);
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn in_application_order<'c, 'a>(
    campaigns: &'c [ActiveCampaign<'a>],
) -> Vec<&'c ActiveCampaign<'a>> {
    let mut ordered: Vec<_> = campaigns.iter().collect();
    ordered.sort_by_key(|c| (c.campaign.priority, c.campaign.id));
    ordered
}

#[cfg(test)]
pub(crate) mod tests;
