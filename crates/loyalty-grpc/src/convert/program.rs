//! Program rules and campaign settings between the wire and `loyalty-core`.

use chrono::Weekday;
use loyalty_core::{
    ActionRule, BillDiscount, CampaignEffect, CampaignSpec, Category, CategoryDiscount,
    CategoryRule, ConversionRate, DiscountRules, EarnBasis, EarnRate, ExpiryPolicy, Multiplier,
    Percent, PointPrecision, ProgramKind, ProgramRules, RedemptionRules, ReturnPolicy, Rounding,
    Tier, TierBasis, TierRules,
};

use super::text::{MAX_NAME, MAX_SHORT_NAME, quoted, short_list, text};
use super::{currency, decimal, money, opt_points, points, time, time_to_pb};
use crate::error::{ApiError, ApiResult};
use crate::pb;

fn percent(field: &'static str, value: &str) -> ApiResult<Percent> {
    Percent::new(decimal(field, value)?).map_err(|e| ApiError::field(field, e.to_string()))
}

fn category(field: &'static str, value: &str) -> ApiResult<Category> {
    Category::new(&text(field, value, MAX_SHORT_NAME)?)
        .map_err(|e| ApiError::field(field, e.to_string()))
}

/// Program rules from the wire (validated later by `ProgramRules::validate` in the store).
pub fn rules_from_pb(r: &pb::ProgramRules) -> ApiResult<ProgramRules> {
    let cur = currency("rules.currency", &r.currency)?;
    short_list("rules.categories", &r.categories)?;
    short_list("rules.actions", &r.actions)?;
    short_list("rules.category_discounts", &r.category_discounts)?;
    short_list("rules.tiers", &r.tiers)?;
    let mut rules = ProgramRules::new(cur);
    rules.kind = match pb::ProgramKind::try_from(r.kind) {
        Ok(pb::ProgramKind::Unspecified | pb::ProgramKind::Points) => ProgramKind::Points,
        Ok(pb::ProgramKind::Cashback) => ProgramKind::Cashback,
        Err(_) => {
            return Err(ApiError::field(
                "rules.kind",
                format!("unknown program kind {}", r.kind),
            ));
        }
    };
    let rounding = match pb::Rounding::try_from(r.rounding).unwrap_or(pb::Rounding::Unspecified) {
        pb::Rounding::Unspecified | pb::Rounding::Down => Rounding::Down,
        pb::Rounding::HalfUp => Rounding::HalfUp,
        pb::Rounding::HalfEven => Rounding::HalfEven,
    };
    rules.precision = PointPrecision::new(r.point_decimals, rounding)
        .map_err(|e| ApiError::field("rules.point_decimals", e.to_string()))?;
    if !r.base_points.trim().is_empty() || !r.base_per.trim().is_empty() {
        let per = if r.base_per.trim().is_empty() {
            "1"
        } else {
            r.base_per.as_str()
        };
        rules.base_rate = EarnRate::new(
            points("rules.base_points", &r.base_points)?,
            decimal("rules.base_per", per)?,
        )
        .map_err(|e| ApiError::field("rules.base_per", e.to_string()))?;
    }
    rules.categories = r
        .categories
        .iter()
        .map(|c| {
            Ok(CategoryRule {
                category: category("rules.categories.category", &c.category)?,
                earn_percent: percent("rules.categories.earn_percent", &c.earn_percent)?,
            })
        })
        .collect::<ApiResult<_>>()?;
    rules.actions = r
        .actions
        .iter()
        .map(|a| {
            Ok(ActionRule {
                action: text("rules.actions.action", &a.action, MAX_SHORT_NAME)?,
                points: points("rules.actions.points", &a.points)?,
            })
        })
        .collect::<ApiResult<_>>()?;
    rules.earn_cap_per_bill = opt_points("rules.earn_cap_per_bill", &r.earn_cap_per_bill)?;
    rules.earn_basis =
        match pb::EarnBasis::try_from(r.earn_basis).unwrap_or(pb::EarnBasis::Unspecified) {
            pb::EarnBasis::Unspecified | pb::EarnBasis::PaidAmount => EarnBasis::PaidAmount,
            pb::EarnBasis::DiscountedAmount => EarnBasis::DiscountedAmount,
        };
    if !r.referral_percent.trim().is_empty() {
        rules.referral_percent = percent("rules.referral_percent", &r.referral_percent)?;
    }
    rules.redemption = r
        .redemption
        .as_ref()
        .map(|red| {
            Ok::<_, ApiError>(RedemptionRules {
                rate: ConversionRate::new(
                    points("rules.redemption.rate_points", &red.rate_points)?,
                    money("rules.redemption.rate_value", &red.rate_value, cur)?,
                )
                .map_err(|e| ApiError::field("rules.redemption", e.to_string()))?,
                min_points: opt_points("rules.redemption.min_points", &red.min_points)?
                    .unwrap_or_default(),
                max_bill_share: if red.max_bill_share_percent.trim().is_empty() {
                    Percent::HUNDRED
                } else {
                    percent(
                        "rules.redemption.max_bill_share_percent",
                        &red.max_bill_share_percent,
                    )?
                },
                max_points_per_bill: opt_points(
                    "rules.redemption.max_points_per_bill",
                    &red.max_points_per_bill,
                )?,
            })
        })
        .transpose()?;
    rules.expiry = if r.expiry_months == 0 {
        ExpiryPolicy::Never
    } else {
        ExpiryPolicy::AfterMonths(r.expiry_months)
    };
    rules.pending_days = r.pending_days;
    rules.return_policy = match pb::ReturnPolicy::try_from(r.return_policy)
        .unwrap_or(pb::ReturnPolicy::Unspecified)
    {
        pb::ReturnPolicy::Unspecified | pb::ReturnPolicy::CapAtAvailable => {
            ReturnPolicy::CapAtAvailable
        }
        pb::ReturnPolicy::AllowDebt => ReturnPolicy::AllowDebt,
    };
    let bill = match (
        r.bill_discount_amount.trim().is_empty(),
        r.bill_discount_percent.trim().is_empty(),
    ) {
        (true, true) => None,
        (false, true) => Some(BillDiscount::Amount(money(
            "rules.bill_discount_amount",
            &r.bill_discount_amount,
            cur,
        )?)),
        (true, false) => Some(BillDiscount::Percent(percent(
            "rules.bill_discount_percent",
            &r.bill_discount_percent,
        )?)),
        (false, false) => {
            return Err(ApiError::field(
                "rules.bill_discount_amount",
                "set either an amount or a percent, not both",
            ));
        }
    };
    rules.discounts = DiscountRules {
        categories: r
            .category_discounts
            .iter()
            .map(|d| {
                Ok(CategoryDiscount {
                    category: category("rules.category_discounts.category", &d.category)?,
                    percent: percent("rules.category_discounts.percent", &d.percent)?,
                })
            })
            .collect::<ApiResult<_>>()?,
        bill,
        bill_minimum: if r.bill_discount_minimum.trim().is_empty() {
            None
        } else {
            Some(money(
                "rules.bill_discount_minimum",
                &r.bill_discount_minimum,
                cur,
            )?)
        },
    };
    rules.redemptions_per_minute =
        (r.redemptions_per_minute > 0).then_some(r.redemptions_per_minute);
    rules.tiers = TierRules {
        basis: match pb::TierBasis::try_from(r.tier_basis).unwrap_or(pb::TierBasis::Unspecified) {
            pb::TierBasis::Unspecified | pb::TierBasis::QualifyingSpend => {
                TierBasis::QualifyingSpend {
                    window_days: if r.tier_window_days == 0 {
                        365
                    } else {
                        r.tier_window_days
                    },
                }
            }
            pb::TierBasis::LifetimePoints => TierBasis::LifetimePoints,
        },
        tiers: r
            .tiers
            .iter()
            .map(|t| {
                Ok(Tier {
                    name: text("rules.tiers.name", &t.name, MAX_SHORT_NAME)?,
                    threshold: decimal("rules.tiers.threshold", &t.threshold)?,
                    multiplier: Multiplier::new(decimal(
                        "rules.tiers.multiplier",
                        if t.multiplier.is_empty() {
                            "1"
                        } else {
                            &t.multiplier
                        },
                    )?)
                    .map_err(|e| ApiError::field("rules.tiers.multiplier", e.to_string()))?,
                    upgrade_bonus: opt_points("rules.tiers.upgrade_bonus", &t.upgrade_bonus)?
                        .unwrap_or_default(),
                })
            })
            .collect::<ApiResult<_>>()?,
    };
    rules.utc_offset_minutes = r.utc_offset_minutes;
    rules.max_bill_age_days = (r.max_bill_age_days != 0).then_some(r.max_bill_age_days);
    Ok(rules)
}

/// Program rules on the wire.
pub fn rules_to_pb(r: &ProgramRules) -> pb::ProgramRules {
    let (bill_discount_amount, bill_discount_percent) = match r.discounts.bill {
        None => (String::new(), String::new()),
        Some(BillDiscount::Amount(m)) => (m.amount().to_string(), String::new()),
        Some(BillDiscount::Percent(p)) => (String::new(), p.value().to_string()),
    };
    pb::ProgramRules {
        currency: r.currency.to_string(),
        point_decimals: r.precision.decimals(),
        rounding: match r.precision.rounding() {
            Rounding::Down => pb::Rounding::Down,
            Rounding::HalfUp => pb::Rounding::HalfUp,
            Rounding::HalfEven => pb::Rounding::HalfEven,
        } as i32,
        base_points: r.base_rate.points().to_string(),
        base_per: r.base_rate.per().to_string(),
        categories: r
            .categories
            .iter()
            .map(|c| pb::CategoryRule {
                category: c.category.to_string(),
                earn_percent: c.earn_percent.value().to_string(),
            })
            .collect(),
        actions: r
            .actions
            .iter()
            .map(|a| pb::ActionRule {
                action: a.action.clone(),
                points: a.points.to_string(),
            })
            .collect(),
        earn_cap_per_bill: r
            .earn_cap_per_bill
            .map(|p| p.to_string())
            .unwrap_or_default(),
        earn_basis: match r.earn_basis {
            EarnBasis::PaidAmount => pb::EarnBasis::PaidAmount,
            EarnBasis::DiscountedAmount => pb::EarnBasis::DiscountedAmount,
        } as i32,
        referral_percent: r.referral_percent.value().to_string(),
        redemption: r.redemption.as_ref().map(|red| pb::RedemptionRules {
            rate_points: red.rate.points().to_string(),
            rate_value: red.rate.value().amount().to_string(),
            min_points: red.min_points.to_string(),
            max_bill_share_percent: red.max_bill_share.value().to_string(),
            max_points_per_bill: red
                .max_points_per_bill
                .map(|p| p.to_string())
                .unwrap_or_default(),
        }),
        expiry_months: match r.expiry {
            ExpiryPolicy::Never => 0,
            ExpiryPolicy::AfterMonths(m) => m,
        },
        pending_days: r.pending_days,
        return_policy: match r.return_policy {
            ReturnPolicy::CapAtAvailable => pb::ReturnPolicy::CapAtAvailable,
            ReturnPolicy::AllowDebt => pb::ReturnPolicy::AllowDebt,
        } as i32,
        category_discounts: r
            .discounts
            .categories
            .iter()
            .map(|d| pb::CategoryDiscount {
                category: d.category.to_string(),
                percent: d.percent.value().to_string(),
            })
            .collect(),
        bill_discount_amount,
        bill_discount_percent,
        bill_discount_minimum: r
            .discounts
            .bill_minimum
            .map(|m| m.amount().to_string())
            .unwrap_or_default(),
        redemptions_per_minute: r.redemptions_per_minute.unwrap_or(0),
        tier_basis: match r.tiers.basis {
            TierBasis::QualifyingSpend { .. } => pb::TierBasis::QualifyingSpend,
            TierBasis::LifetimePoints => pb::TierBasis::LifetimePoints,
        } as i32,
        tier_window_days: match r.tiers.basis {
            TierBasis::QualifyingSpend { window_days } => window_days,
            TierBasis::LifetimePoints => 0,
        },
        tiers: r
            .tiers
            .tiers
            .iter()
            .map(|t| pb::Tier {
                name: t.name.clone(),
                threshold: t.threshold.to_string(),
                multiplier: t.multiplier.value().to_string(),
                upgrade_bonus: t.upgrade_bonus.to_string(),
            })
            .collect(),
        utc_offset_minutes: r.utc_offset_minutes,
        max_bill_age_days: r.max_bill_age_days.unwrap_or(0),
        kind: program_kind_to_pb(r.kind) as i32,
    }
}

/// A program's kind on the wire.
pub fn program_kind_to_pb(kind: ProgramKind) -> pb::ProgramKind {
    match kind {
        ProgramKind::Points => pb::ProgramKind::Points,
        ProgramKind::Cashback => pb::ProgramKind::Cashback,
    }
}

fn weekday(value: &str) -> ApiResult<Weekday> {
    value.trim().parse::<Weekday>().map_err(|_| {
        ApiError::field(
            "settings.weekdays",
            format!("{} is not a weekday such as \"sat\"", quoted(value)),
        )
    })
}

/// Campaign settings from the wire, in the program's currency.
pub fn settings_from_pb(
    s: &pb::CampaignSettings,
    cur: loyalty_core::Currency,
) -> ApiResult<CampaignSpec> {
    let effect = match s.effect.as_ref().and_then(|e| e.effect.as_ref()) {
        Some(pb::campaign_effect::Effect::Multiplier(m)) => CampaignEffect::Multiplier(
            Multiplier::new(decimal("settings.effect.multiplier", m)?)
                .map_err(|e| ApiError::field("settings.effect.multiplier", e.to_string()))?,
        ),
        Some(pb::campaign_effect::Effect::ExtraPercent(p)) => {
            CampaignEffect::ExtraPercent(percent("settings.effect.extra_percent", p)?)
        }
        Some(pb::campaign_effect::Effect::FixedBonus(p)) => {
            CampaignEffect::FixedBonus(points("settings.effect.fixed_bonus", p)?)
        }
        None => {
            return Err(ApiError::field(
                "settings.effect",
                "is required (multiplier, extra_percent or fixed_bonus)",
            ));
        }
    };
    short_list("settings.weekdays", &s.weekdays)?;
    short_list("settings.categories", &s.categories)?;
    Ok(CampaignSpec {
        id: uuid::Uuid::nil(),
        name: text("settings.name", &s.name, MAX_NAME)?,
        starts_at: time("settings.starts_at", &s.starts_at)?,
        ends_at: time("settings.ends_at", &s.ends_at)?,
        weekdays: s
            .weekdays
            .iter()
            .map(|d| weekday(d))
            .collect::<ApiResult<_>>()?,
        categories: s
            .categories
            .iter()
            .map(|c| category("settings.categories", c))
            .collect::<ApiResult<_>>()?,
        min_bill: if s.min_bill.trim().is_empty() {
            None
        } else {
            Some(money("settings.min_bill", &s.min_bill, cur)?)
        },
        effect,
        priority: s.priority,
        member_cap: opt_points("settings.member_cap", &s.member_cap)?,
        budget: opt_points("settings.budget", &s.budget)?,
        active: s.active,
    })
}

/// Campaign settings on the wire.
pub fn settings_to_pb(c: &CampaignSpec) -> pb::CampaignSettings {
    let effect = match c.effect {
        CampaignEffect::Multiplier(m) => {
            pb::campaign_effect::Effect::Multiplier(m.value().to_string())
        }
        CampaignEffect::ExtraPercent(p) => {
            pb::campaign_effect::Effect::ExtraPercent(p.value().to_string())
        }
        CampaignEffect::FixedBonus(p) => pb::campaign_effect::Effect::FixedBonus(p.to_string()),
    };
    pb::CampaignSettings {
        name: c.name.clone(),
        starts_at: time_to_pb(c.starts_at),
        ends_at: time_to_pb(c.ends_at),
        weekdays: c
            .weekdays
            .iter()
            .map(|d| d.to_string().to_lowercase())
            .collect(),
        categories: c.categories.iter().map(|x| x.to_string()).collect(),
        min_bill: c
            .min_bill
            .map(|m| m.amount().to_string())
            .unwrap_or_default(),
        effect: Some(pb::CampaignEffect {
            effect: Some(effect),
        }),
        priority: c.priority,
        member_cap: c.member_cap.map(|p| p.to_string()).unwrap_or_default(),
        budget: c.budget.map(|p| p.to_string()).unwrap_or_default(),
        active: c.active,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pharmacy_rules_survive_the_wire() {
        let wire = pb::ProgramRules {
            currency: "INR".into(),
            point_decimals: 2,
            categories: vec![
                pb::CategoryRule {
                    category: "Medicines".into(),
                    earn_percent: "1".into(),
                },
                pb::CategoryRule {
                    category: "General".into(),
                    earn_percent: "3".into(),
                },
            ],
            referral_percent: "0.5".into(),
            redemption: Some(pb::RedemptionRules {
                rate_points: "100".into(),
                rate_value: "10".into(),
                min_points: "100".into(),
                max_bill_share_percent: "50".into(),
                max_points_per_bill: String::new(),
            }),
            category_discounts: vec![pb::CategoryDiscount {
                category: "Medicines".into(),
                percent: "5".into(),
            }],
            ..Default::default()
        };
        let rules = rules_from_pb(&wire).unwrap().validate().unwrap();
        let back = rules_from_pb(&rules_to_pb(&rules))
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(rules, back);
    }

    #[test]
    fn a_bill_discount_with_both_amount_and_percent_is_rejected() {
        let wire = pb::ProgramRules {
            currency: "INR".into(),
            bill_discount_amount: "5".into(),
            bill_discount_percent: "5".into(),
            ..Default::default()
        };
        assert!(rules_from_pb(&wire).is_err());
    }

    #[test]
    fn a_campaign_without_an_effect_is_rejected() {
        let s = pb::CampaignSettings {
            name: "Weekend".into(),
            starts_at: "2026-11-21T00:00:00Z".into(),
            ends_at: "2026-12-21T00:00:00Z".into(),
            ..Default::default()
        };
        assert!(settings_from_pb(&s, loyalty_core::Currency::new("INR").unwrap()).is_err());
    }
}
