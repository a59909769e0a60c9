//! `campaigns` and `campaign_usage`, and their mapping to [`loyalty_core::Campaign`].

use chrono::{NaiveDateTime, Weekday};
use diesel::prelude::*;
use loyalty_core::{
    Campaign, CampaignEffect, CampaignSpec, Category, Currency, Multiplier, Percent,
};
use serde::{Deserialize, Serialize};

use crate::amounts::{money_from_db, money_to_db, points_from_db, points_to_db};
use crate::clock::{from_db_time, to_db_time};
use crate::error::{StoreError, StoreResult};
use crate::schema::{campaign_usage, campaigns};

/// A row of `campaigns`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Serialize, Deserialize)]
#[diesel(table_name = campaigns)]
pub struct CampaignRow {
    pub id: String,
    pub tenant_id: String,
    pub program_id: String,
    pub name: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub weekdays: String,
    pub categories: String,
    pub min_bill: Option<i64>,
    pub effect_kind: String,
    pub effect_value: String,
    pub priority: i32,
    pub member_cap: Option<i64>,
    pub budget: Option<i64>,
    pub awarded: i64,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

/// A row of `campaign_usage`: bonus a campaign gave one membership.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = campaign_usage)]
pub struct CampaignUsageRow {
    pub campaign_id: String,
    pub membership_id: String,
    pub awarded: i64,
}

const WEEKDAYS: [(Weekday, &str); 7] = [
    (Weekday::Mon, "mon"),
    (Weekday::Tue, "tue"),
    (Weekday::Wed, "wed"),
    (Weekday::Thu, "thu"),
    (Weekday::Fri, "fri"),
    (Weekday::Sat, "sat"),
    (Weekday::Sun, "sun"),
];

/// The short lower-case name of a weekday ("sat").
pub fn weekday_name(day: Weekday) -> &'static str {
    WEEKDAYS
        .iter()
        .find(|(d, _)| *d == day)
        .map_or("mon", |(_, n)| n)
}

/// A weekday from its short name.
pub fn weekday_from_name(name: &str) -> Option<Weekday> {
    WEEKDAYS
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|(d, _)| *d)
}

/// The columns of a campaign (id, tenant and program set by the caller; `awarded` kept).
pub fn campaign_to_row(row: &mut CampaignRow, campaign: &Campaign) -> StoreResult<()> {
    row.name = campaign.name.clone();
    row.starts_at = to_db_time(campaign.starts_at);
    row.ends_at = to_db_time(campaign.ends_at);
    row.weekdays = campaign
        .weekdays
        .iter()
        .map(|d| weekday_name(*d))
        .collect::<Vec<_>>()
        .join(",");
    // Category codes may contain commas, so they are stored one per line.
    row.categories = campaign
        .categories
        .iter()
        .map(Category::as_str)
        .collect::<Vec<_>>()
        .join("\n");
    row.min_bill = campaign.min_bill.as_ref().map(money_to_db).transpose()?;
    (row.effect_kind, row.effect_value) = match campaign.effect {
        CampaignEffect::Multiplier(m) => ("multiplier".into(), m.value().to_string()),
        CampaignEffect::ExtraPercent(p) => ("extra_percent".into(), p.value().to_string()),
        CampaignEffect::FixedBonus(p) => ("fixed_bonus".into(), p.value().to_string()),
    };
    row.priority = campaign.priority;
    row.member_cap = campaign.member_cap.map(points_to_db).transpose()?;
    row.budget = campaign.budget.map(points_to_db).transpose()?;
    row.active = campaign.active;
    Ok(())
}

/// Rebuilds and validates a campaign from its row.
pub fn campaign_from_row(row: &CampaignRow, currency: Currency) -> StoreResult<Campaign> {
    let id = uuid::Uuid::parse_str(&row.id)
        .map_err(|_| StoreError::Corrupt(format!("campaign id {:?}", row.id)))?;
    let weekdays = row
        .weekdays
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| weekday_from_name(s).ok_or_else(|| StoreError::Corrupt(format!("weekday {s:?}"))))
        .collect::<StoreResult<_>>()?;
    let categories = row
        .categories
        .split('\n')
        .filter(|s| !s.is_empty())
        .map(Category::new)
        .collect::<Result<_, _>>()?;
    let value: rust_decimal::Decimal = row.effect_value.parse().map_err(|_| {
        StoreError::Corrupt(format!("campaign effect value {:?}", row.effect_value))
    })?;
    let effect = match row.effect_kind.as_str() {
        "multiplier" => CampaignEffect::Multiplier(Multiplier::new(value)?),
        "extra_percent" => CampaignEffect::ExtraPercent(Percent::new(value)?),
        "fixed_bonus" => CampaignEffect::FixedBonus(loyalty_core::Points::new(value)?),
        other => return Err(StoreError::Corrupt(format!("campaign effect {other:?}"))),
    };
    let spec = CampaignSpec {
        id,
        name: row.name.clone(),
        starts_at: from_db_time(row.starts_at),
        ends_at: from_db_time(row.ends_at),
        weekdays,
        categories,
        min_bill: row
            .min_bill
            .map(|m| money_from_db(m, currency))
            .transpose()?,
        effect,
        priority: row.priority,
        member_cap: row.member_cap.map(points_from_db).transpose()?,
        budget: row.budget.map(points_from_db).transpose()?,
        active: row.active,
    };
    Ok(spec.validate()?)
}
