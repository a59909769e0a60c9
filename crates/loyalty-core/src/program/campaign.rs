//! Campaign configuration: a time window with optional weekdays, categories and minimum bill,
//! an effect, and caps.

use std::ops::Deref;

use chrono::{DateTime, Utc, Weekday};
use uuid::Uuid;

use super::{Category, name};
use crate::error::{Error, Result};
use crate::values::{Money, Multiplier, Percent, Points};

/// What a campaign adds to a bill's points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignEffect {
    /// Multiplies the base points of eligible lines ("double points" = 2): the bonus is
    /// `base * (factor - 1)`.
    Multiplier(Multiplier),
    /// Extra points as a percentage of the eligible amount ("+2% on Baby Care").
    ExtraPercent(Percent),
    /// A fixed number of points per eligible bill.
    FixedBonus(Points),
}

/// A campaign as an admin writes it; validate it with [`CampaignSpec::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignSpec {
    /// Identifies the campaign (and its usage counters).
    pub id: Uuid,
    /// A human name ("Double points weekend").
    pub name: String,
    /// First instant the campaign applies (inclusive).
    pub starts_at: DateTime<Utc>,
    /// Instant the campaign stops applying (exclusive).
    pub ends_at: DateTime<Utc>,
    /// Local weekdays it applies on (empty = every day).
    pub weekdays: Vec<Weekday>,
    /// Categories whose lines are eligible (empty = all lines).
    pub categories: Vec<Category>,
    /// Minimum bill amount (after discounts) for the campaign to apply.
    pub min_bill: Option<Money>,
    /// What the campaign adds.
    pub effect: CampaignEffect,
    /// Lower numbers apply first; equal priorities apply in id order.
    pub priority: i32,
    /// The most bonus points one membership can get from this campaign, over all bills.
    pub member_cap: Option<Points>,
    /// The most bonus points the campaign gives out in total.
    pub budget: Option<Points>,
    /// Switched off campaigns never apply.
    pub active: bool,
}

impl CampaignSpec {
    /// Rejects an empty window, empty name, zero caps and duplicate weekdays or categories.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc, Weekday};
    /// use loyalty_core::{CampaignEffect, CampaignSpec};
    /// let spec = CampaignSpec {
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
    /// };
    /// assert!(spec.clone().validate().is_ok());
    /// let backwards = loyalty_core::CampaignSpec { ends_at: spec.starts_at, ..spec };
    /// assert!(backwards.validate().is_err());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn validate(self) -> Result<Campaign> {
        let invalid = |msg: String| Err(Error::InvalidConfig(msg));
        name("campaign name", &self.name, 200)?;
        if self.ends_at <= self.starts_at {
            return invalid(format!(
                "campaign {:?} ends ({}) before or when it starts ({})",
                self.name, self.ends_at, self.starts_at
            ));
        }
        for (i, day) in self.weekdays.iter().enumerate() {
            if self.weekdays[..i].contains(day) {
                return invalid(format!("campaign {:?} lists {day} twice", self.name));
            }
        }
        for (i, cat) in self.categories.iter().enumerate() {
            if self.categories[..i].contains(cat) {
                return invalid(format!(
                    "campaign {:?} lists category {cat} twice",
                    self.name
                ));
            }
        }
        if let CampaignEffect::FixedBonus(p) = self.effect
            && p.is_zero()
        {
            return invalid(format!(
                "campaign {:?} has a fixed bonus of zero points",
                self.name
            ));
        }
        if let CampaignEffect::ExtraPercent(p) = self.effect
            && p.is_zero()
        {
            return invalid(format!("campaign {:?} adds zero percent", self.name));
        }
        for (what, cap) in [("member cap", self.member_cap), ("budget", self.budget)] {
            if cap.is_some_and(Points::is_zero) {
                return invalid(format!(
                    "campaign {:?} has a {what} of zero (leave it unset for no cap)",
                    self.name
                ));
            }
        }
        Ok(Campaign(self))
    }
}

/// A validated [`CampaignSpec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign(CampaignSpec);

impl Campaign {
    /// The configuration as written.
    ///
    /// ```
    /// use chrono::{TimeDelta, Utc};
    /// use loyalty_core::{CampaignEffect, CampaignSpec};
    /// let starts_at = Utc::now();
    /// let campaign = CampaignSpec {
    ///     id: uuid::Uuid::nil(),
    ///     name: "Wine & Dine double tokens".into(),
    ///     starts_at,
    ///     ends_at: starts_at + TimeDelta::days(30),
    ///     weekdays: vec![],
    ///     categories: vec![],
    ///     min_bill: None,
    ///     effect: CampaignEffect::Multiplier("2".parse()?),
    ///     priority: 0,
    ///     member_cap: None,
    ///     budget: None,
    ///     active: true,
    /// }
    /// .validate()?;
    /// assert_eq!(campaign.spec().name, "Wine & Dine double tokens");
    /// assert_eq!(campaign.spec().effect, CampaignEffect::Multiplier("2".parse()?));
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn spec(&self) -> &CampaignSpec {
        &self.0
    }

    /// Gives the configuration back for editing.
    ///
    /// ```
    /// use chrono::{TimeDelta, Utc};
    /// use loyalty_core::{CampaignEffect, CampaignSpec, Points};
    /// let starts_at = Utc::now();
    /// let campaign = CampaignSpec {
    ///     id: uuid::Uuid::nil(),
    ///     name: "Wine & Dine double tokens".into(),
    ///     starts_at,
    ///     ends_at: starts_at + TimeDelta::days(30),
    ///     weekdays: vec![],
    ///     categories: vec![],
    ///     min_bill: None,
    ///     effect: CampaignEffect::Multiplier("2".parse()?),
    ///     priority: 0,
    ///     member_cap: None,
    ///     budget: None,
    ///     active: true,
    /// }
    /// .validate()?;
    /// // Edit the campaign, then validate it again.
    /// let mut spec = campaign.into_spec();
    /// spec.member_cap = Some(Points::ZERO);
    /// assert!(spec.clone().validate().is_err()); // a cap of zero is refused
    /// spec.member_cap = Some(Points::whole(500)?);
    /// assert_eq!(spec.validate()?.member_cap, Some(Points::whole(500)?));
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn into_spec(self) -> CampaignSpec {
        self.0
    }
}

impl Deref for Campaign {
    type Target = CampaignSpec;

    fn deref(&self) -> &CampaignSpec {
        &self.0
    }
}
