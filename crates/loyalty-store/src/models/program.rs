//! Programs and their rules: the `programs`, `program_categories`, `program_actions` and
//! `program_tiers` tables, and the exact mapping between them and [`loyalty_core::Rules`].

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use loyalty_core::{
    ActionRule, BillDiscount, Category, CategoryDiscount, CategoryRule, ConversionRate, Currency,
    DiscountRules, EarnBasis, EarnRate, ExpiryPolicy, Money, Multiplier, Percent, PointPrecision,
    ProgramKind, ProgramRules, RedemptionRules, ReturnPolicy, Rounding, Rules, Tier, TierBasis,
    TierRules,
};
use serde::{Deserialize, Serialize};

use crate::amounts::{from_db, money_from_db, money_to_db, points_from_db, points_to_db, to_db};
use crate::error::{StoreError, StoreResult};
use crate::schema::{program_actions, program_categories, program_tiers, programs};

/// A row of `programs`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Serialize, Deserialize)]
#[diesel(table_name = programs)]
pub struct ProgramRow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub enabled: bool,
    pub currency: String,
    pub point_decimals: i32,
    pub rounding: String,
    pub base_points: i64,
    pub base_per: i64,
    pub earn_cap_per_bill: Option<i64>,
    pub earn_basis: String,
    pub referral_percent: String,
    pub redemption_points: Option<i64>,
    pub redemption_value: Option<i64>,
    pub min_redemption_points: Option<i64>,
    pub max_bill_share: Option<String>,
    pub max_points_per_bill: Option<i64>,
    pub expiry_months: Option<i32>,
    pub pending_days: i32,
    pub return_policy: String,
    pub bill_discount_kind: Option<String>,
    pub bill_discount_value: Option<String>,
    pub bill_discount_minimum: Option<i64>,
    pub redemptions_per_minute: Option<i32>,
    pub tier_basis: String,
    pub tier_window_days: Option<i32>,
    pub utc_offset_minutes: i32,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    #[serde(default)]
    pub max_bill_age_days: Option<i32>,
    /// `points` or `cashback` (records written before the column existed were points).
    #[serde(default = "points_kind")]
    pub kind: String,
}

fn points_kind() -> String {
    "points".to_owned()
}

/// A row of `program_categories`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = program_categories)]
pub struct CategoryRow {
    pub program_id: String,
    pub category: String,
    pub earn_percent: Option<String>,
    pub discount_percent: Option<String>,
}

/// A row of `program_actions`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = program_actions)]
pub struct ActionRow {
    pub program_id: String,
    pub action: String,
    pub points: i64,
}

/// A row of `program_tiers`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = program_tiers)]
pub struct TierRow {
    pub program_id: String,
    pub rank: i32,
    pub name: String,
    pub threshold: i64,
    pub multiplier: String,
    pub upgrade_bonus: i64,
}

/// Every row that stores one program's rules (also what an idempotency key records of a
/// program it created or changed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RulesRows {
    pub program: ProgramRow,
    pub categories: Vec<CategoryRow>,
    pub actions: Vec<ActionRow>,
    pub tiers: Vec<TierRow>,
}

fn rounding_name(r: Rounding) -> &'static str {
    match r {
        Rounding::Down => "down",
        Rounding::HalfUp => "half_up",
        Rounding::HalfEven => "half_even",
    }
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what} {value:?}"))
}

fn small(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn unsigned(what: &str, value: i32) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative {what} {value}")))
}

/// Writes `rules` into the columns of `row` and returns the rows of the rule tables.
pub fn rules_to_rows(mut row: ProgramRow, rules: &ProgramRules) -> StoreResult<RulesRows> {
    let id = row.id.clone();
    row.currency = rules.currency.code().to_owned();
    row.point_decimals = small(rules.precision.decimals());
    row.rounding = rounding_name(rules.precision.rounding()).to_owned();
    row.base_points = points_to_db(rules.base_rate.points())?;
    row.base_per = to_db(rules.base_rate.per())?;
    row.earn_cap_per_bill = rules.earn_cap_per_bill.map(points_to_db).transpose()?;
    row.earn_basis = match rules.earn_basis {
        EarnBasis::PaidAmount => "paid_amount",
        EarnBasis::DiscountedAmount => "discounted_amount",
    }
    .to_owned();
    row.referral_percent = rules.referral_percent.value().to_string();
    let r = rules.redemption.as_ref();
    row.redemption_points = r.map(|r| points_to_db(r.rate.points())).transpose()?;
    row.redemption_value = r.map(|r| money_to_db(&r.rate.value())).transpose()?;
    row.min_redemption_points = r.map(|r| points_to_db(r.min_points)).transpose()?;
    row.max_bill_share = r.map(|r| r.max_bill_share.value().to_string());
    row.max_points_per_bill = r
        .and_then(|r| r.max_points_per_bill)
        .map(points_to_db)
        .transpose()?;
    row.expiry_months = match rules.expiry {
        ExpiryPolicy::Never => None,
        ExpiryPolicy::AfterMonths(m) => Some(small(m)),
    };
    row.pending_days = small(rules.pending_days);
    row.return_policy = match rules.return_policy {
        ReturnPolicy::CapAtAvailable => "cap_at_available",
        ReturnPolicy::AllowDebt => "allow_debt",
    }
    .to_owned();
    (row.bill_discount_kind, row.bill_discount_value) = match rules.discounts.bill {
        None => (None, None),
        Some(BillDiscount::Amount(m)) => (Some("amount".into()), Some(m.amount().to_string())),
        Some(BillDiscount::Percent(p)) => (Some("percent".into()), Some(p.value().to_string())),
    };
    row.bill_discount_minimum = rules
        .discounts
        .bill_minimum
        .as_ref()
        .map(money_to_db)
        .transpose()?;
    row.redemptions_per_minute = rules.redemptions_per_minute.map(small);
    (row.tier_basis, row.tier_window_days) = match rules.tiers.basis {
        TierBasis::QualifyingSpend { window_days } => {
            ("qualifying_spend".into(), Some(small(window_days)))
        }
        TierBasis::LifetimePoints => ("lifetime_points".into(), None),
    };
    row.utc_offset_minutes = rules.utc_offset_minutes;
    row.max_bill_age_days = rules.max_bill_age_days.map(small);
    row.kind = rules.kind.as_str().to_owned();

    let mut categories: BTreeMap<String, CategoryRow> = BTreeMap::new();
    for c in &rules.categories {
        categories
            .entry(c.category.as_str().to_owned())
            .or_insert_with(|| CategoryRow {
                program_id: id.clone(),
                category: c.category.as_str().to_owned(),
                earn_percent: None,
                discount_percent: None,
            })
            .earn_percent = Some(c.earn_percent.value().to_string());
    }
    for d in &rules.discounts.categories {
        categories
            .entry(d.category.as_str().to_owned())
            .or_insert_with(|| CategoryRow {
                program_id: id.clone(),
                category: d.category.as_str().to_owned(),
                earn_percent: None,
                discount_percent: None,
            })
            .discount_percent = Some(d.percent.value().to_string());
    }
    let actions = rules
        .actions
        .iter()
        .map(|a| {
            Ok(ActionRow {
                program_id: id.clone(),
                action: a.action.clone(),
                points: points_to_db(a.points)?,
            })
        })
        .collect::<StoreResult<_>>()?;
    let tiers = rules
        .tiers
        .tiers
        .iter()
        .enumerate()
        .map(|(rank, t)| {
            Ok(TierRow {
                program_id: id.clone(),
                rank: i32::try_from(rank).unwrap_or(i32::MAX),
                name: t.name.clone(),
                threshold: to_db(t.threshold)?,
                multiplier: t.multiplier.value().to_string(),
                upgrade_bonus: points_to_db(t.upgrade_bonus)?,
            })
        })
        .collect::<StoreResult<_>>()?;
    Ok(RulesRows {
        program: row,
        categories: categories.into_values().collect(),
        actions,
        tiers,
    })
}

fn decimal(what: &str, text: &str) -> StoreResult<rust_decimal::Decimal> {
    text.parse().map_err(|_| corrupt(what, text))
}

fn percent(what: &str, text: &str) -> StoreResult<Percent> {
    Ok(Percent::new(decimal(what, text)?)?)
}

/// Rebuilds and validates a program's rules from its rows.
pub fn rules_from_rows(rows: &RulesRows) -> StoreResult<Rules> {
    let p = &rows.program;
    let currency = Currency::new(&p.currency)?;
    let rounding = match p.rounding.as_str() {
        "down" => Rounding::Down,
        "half_up" => Rounding::HalfUp,
        "half_even" => Rounding::HalfEven,
        other => return Err(corrupt("rounding", other)),
    };
    let mut rules = ProgramRules::new(currency);
    rules.kind = match p.kind.as_str() {
        "points" => ProgramKind::Points,
        "cashback" => ProgramKind::Cashback,
        other => return Err(corrupt("program kind", other)),
    };
    rules.precision = PointPrecision::new(unsigned("point decimals", p.point_decimals)?, rounding)?;
    rules.base_rate = EarnRate::new(points_from_db(p.base_points)?, from_db(p.base_per))?;
    rules.earn_cap_per_bill = p.earn_cap_per_bill.map(points_from_db).transpose()?;
    rules.earn_basis = match p.earn_basis.as_str() {
        "paid_amount" => EarnBasis::PaidAmount,
        "discounted_amount" => EarnBasis::DiscountedAmount,
        other => return Err(corrupt("earn basis", other)),
    };
    rules.referral_percent = percent("referral percent", &p.referral_percent)?;
    rules.redemption = match (
        p.redemption_points,
        p.redemption_value,
        p.min_redemption_points,
        &p.max_bill_share,
    ) {
        (Some(points), Some(value), Some(min), Some(share)) => Some(RedemptionRules {
            rate: ConversionRate::new(points_from_db(points)?, money_from_db(value, currency)?)?,
            min_points: points_from_db(min)?,
            max_bill_share: percent("max bill share", share)?,
            max_points_per_bill: p.max_points_per_bill.map(points_from_db).transpose()?,
        }),
        _ => None,
    };
    rules.expiry = match p.expiry_months {
        None => ExpiryPolicy::Never,
        Some(m) => ExpiryPolicy::AfterMonths(unsigned("expiry months", m)?),
    };
    rules.pending_days = unsigned("pending days", p.pending_days)?;
    rules.return_policy = match p.return_policy.as_str() {
        "cap_at_available" => ReturnPolicy::CapAtAvailable,
        "allow_debt" => ReturnPolicy::AllowDebt,
        other => return Err(corrupt("return policy", other)),
    };
    rules.discounts = DiscountRules {
        categories: Vec::new(),
        bill: match (
            p.bill_discount_kind.as_deref(),
            p.bill_discount_value.as_deref(),
        ) {
            (Some("amount"), Some(v)) => Some(BillDiscount::Amount(Money::new(
                decimal("bill discount", v)?,
                currency,
            )?)),
            (Some("percent"), Some(v)) => Some(BillDiscount::Percent(percent("bill discount", v)?)),
            (None, _) => None,
            (Some(other), _) => return Err(corrupt("bill discount kind", other)),
        },
        bill_minimum: p
            .bill_discount_minimum
            .map(|m| money_from_db(m, currency))
            .transpose()?,
    };
    rules.redemptions_per_minute = p
        .redemptions_per_minute
        .map(|v| unsigned("rate limit", v))
        .transpose()?;
    rules.tiers = TierRules {
        basis: match p.tier_basis.as_str() {
            "qualifying_spend" => TierBasis::QualifyingSpend {
                window_days: unsigned("tier window", p.tier_window_days.unwrap_or(365))?,
            },
            "lifetime_points" => TierBasis::LifetimePoints,
            other => return Err(corrupt("tier basis", other)),
        },
        tiers: Vec::new(),
    };
    rules.utc_offset_minutes = p.utc_offset_minutes;
    rules.max_bill_age_days = p
        .max_bill_age_days
        .map(|v| unsigned("maximum bill age", v))
        .transpose()?;
    for c in &rows.categories {
        let category = Category::new(&c.category)?;
        if let Some(earn) = &c.earn_percent {
            rules.categories.push(CategoryRule {
                category: category.clone(),
                earn_percent: percent("earn percent", earn)?,
            });
        }
        if let Some(discount) = &c.discount_percent {
            rules.discounts.categories.push(CategoryDiscount {
                category,
                percent: percent("discount percent", discount)?,
            });
        }
    }
    for a in &rows.actions {
        rules.actions.push(ActionRule {
            action: a.action.clone(),
            points: points_from_db(a.points)?,
        });
    }
    let mut tiers = rows.tiers.clone();
    tiers.sort_by_key(|t| t.rank);
    for t in tiers {
        rules.tiers.tiers.push(Tier {
            name: t.name,
            threshold: from_db(t.threshold),
            multiplier: Multiplier::new(decimal("tier multiplier", &t.multiplier)?)?,
            upgrade_bonus: points_from_db(t.upgrade_bonus)?,
        });
    }
    Ok(rules.validate()?)
}
