//! Validation tests: every contradiction the configuration can hold is rejected.

use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;
use crate::values::{Money, Multiplier};

fn inr() -> Currency {
    Currency::new("INR").unwrap()
}

fn pharmacy() -> ProgramRules {
    let mut rules = ProgramRules::new(inr());
    rules.precision = PointPrecision::new(2, crate::values::Rounding::Down).unwrap();
    rules.categories = vec![
        CategoryRule {
            category: Category::new("Medicines").unwrap(),
            earn_percent: Percent::new(dec!(1)).unwrap(),
        },
        CategoryRule {
            category: Category::new("General").unwrap(),
            earn_percent: Percent::new(dec!(3)).unwrap(),
        },
    ];
    rules.referral_percent = Percent::new(dec!(0.5)).unwrap();
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(
            Points::whole(100).unwrap(),
            Money::new(dec!(10), inr()).unwrap(),
        )
        .unwrap(),
        min_points: Points::whole(100).unwrap(),
        max_bill_share: Percent::new(dec!(50)).unwrap(),
        max_points_per_bill: None,
    });
    rules
}

fn tier(name: &str, threshold: Decimal, multiplier: Decimal) -> Tier {
    Tier {
        name: name.into(),
        threshold,
        multiplier: Multiplier::new(multiplier).unwrap(),
        upgrade_bonus: Points::ZERO,
    }
}

#[test]
fn the_pharmacy_configuration_is_valid() {
    assert!(pharmacy().validate().is_ok());
}

#[test]
fn a_max_bill_share_above_100_percent_is_rejected() {
    let mut rules = pharmacy();
    rules.redemption.as_mut().unwrap().max_bill_share = Percent::new(dec!(100.01)).unwrap();
    assert!(
        matches!(rules.validate(), Err(Error::InvalidConfig(m)) if m.contains("cannot exceed 100%"))
    );
}

#[test]
fn a_conversion_rate_in_another_currency_is_rejected() {
    let mut rules = pharmacy();
    let usd = Currency::new("USD").unwrap();
    rules.redemption.as_mut().unwrap().rate = ConversionRate::new(
        Points::whole(100).unwrap(),
        Money::new(dec!(1), usd).unwrap(),
    )
    .unwrap();
    assert!(matches!(rules.validate(), Err(Error::InvalidConfig(m)) if m.contains("USD")));
}

#[test]
fn a_max_per_bill_below_the_minimum_redemption_is_rejected() {
    let mut rules = pharmacy();
    rules.redemption.as_mut().unwrap().max_points_per_bill = Some(Points::whole(50).unwrap());
    assert!(
        matches!(rules.validate(), Err(Error::InvalidConfig(m)) if m.contains("below the minimum"))
    );
}

#[test]
fn duplicate_category_rules_are_rejected() {
    let mut rules = pharmacy();
    let dup = rules.categories[0].clone();
    rules.categories.push(dup);
    assert!(
        matches!(rules.validate(), Err(Error::InvalidConfig(m)) if m.contains("more than one earn rule"))
    );
}

#[test]
fn duplicate_actions_are_rejected() {
    let mut rules = pharmacy();
    let feedback = ActionRule {
        action: "feedback".into(),
        points: Points::whole(10).unwrap(),
    };
    rules.actions = vec![feedback.clone(), feedback];
    assert!(rules.validate().is_err());
}

#[test]
fn an_action_with_an_empty_name_is_rejected() {
    let mut rules = pharmacy();
    rules.actions = vec![ActionRule {
        action: " ".into(),
        points: Points::whole(10).unwrap(),
    }];
    assert!(matches!(
        rules.validate(),
        Err(Error::InvalidField { what: "action", .. })
    ));
}

#[test]
fn tiers_out_of_order_are_rejected() {
    let mut rules = pharmacy();
    rules.tiers.tiers = vec![
        tier("Silver", dec!(1000), dec!(1.25)),
        tier("Bronze", dec!(0), dec!(1)),
    ];
    assert!(matches!(rules.validate(), Err(Error::InvalidConfig(m)) if m.contains("out of order")));
}

#[test]
fn a_higher_tier_with_a_smaller_multiplier_is_rejected() {
    let mut rules = pharmacy();
    rules.tiers.tiers = vec![
        tier("Silver", dec!(0), dec!(1.5)),
        tier("Gold", dec!(1000), dec!(1.25)),
    ];
    assert!(
        matches!(rules.validate(), Err(Error::InvalidConfig(m)) if m.contains("multiplies by"))
    );
}

#[test]
fn a_negative_tier_threshold_is_rejected() {
    let mut rules = pharmacy();
    rules.tiers.tiers = vec![tier("Bronze", dec!(-1), dec!(1))];
    assert!(rules.validate().is_err());
}

#[test]
fn duplicate_tier_names_are_rejected() {
    let mut rules = pharmacy();
    rules.tiers.tiers = vec![
        tier("Gold", dec!(0), dec!(1)),
        tier("gold", dec!(10), dec!(2)),
    ];
    assert!(rules.validate().is_err());
}

#[test]
fn a_zero_day_tier_window_is_rejected() {
    let mut rules = pharmacy();
    rules.tiers.basis = TierBasis::QualifyingSpend { window_days: 0 };
    assert!(rules.validate().is_err());
}

#[test]
fn expiry_after_zero_months_is_rejected() {
    let mut rules = pharmacy();
    rules.expiry = ExpiryPolicy::AfterMonths(0);
    assert!(rules.validate().is_err());
}

#[test]
fn a_pending_period_over_a_year_is_rejected() {
    let mut rules = pharmacy();
    rules.pending_days = 366;
    assert!(rules.validate().is_err());
}

#[test]
fn a_maximum_bill_age_outside_one_to_3650_days_is_rejected() {
    for (days, valid) in [(0, false), (1, true), (3650, true), (3651, false)] {
        let mut rules = pharmacy();
        rules.max_bill_age_days = Some(days);
        assert_eq!(rules.validate().is_ok(), valid, "{days} days");
    }
}

#[test]
fn a_zero_earn_cap_is_rejected() {
    let mut rules = pharmacy();
    rules.earn_cap_per_bill = Some(Points::ZERO);
    assert!(rules.validate().is_err());
}

#[test]
fn an_earn_cap_finer_than_the_point_decimals_is_rejected() {
    let mut rules = pharmacy();
    rules.earn_cap_per_bill = Some(Points::new(dec!(1.005)).unwrap());
    assert!(matches!(rules.validate(), Err(Error::InvalidConfig(m)) if m.contains("decimals")));
}

#[test]
fn a_rate_limit_of_zero_is_rejected() {
    let mut rules = pharmacy();
    rules.redemptions_per_minute = Some(0);
    assert!(rules.validate().is_err());
}

#[test]
fn a_category_discount_above_100_percent_is_rejected() {
    let mut rules = pharmacy();
    rules.discounts.categories = vec![CategoryDiscount {
        category: Category::new("Medicines").unwrap(),
        percent: Percent::new(dec!(101)).unwrap(),
    }];
    assert!(rules.validate().is_err());
}

#[test]
fn a_bill_discount_in_another_currency_is_rejected() {
    let mut rules = pharmacy();
    rules.discounts.bill = Some(BillDiscount::Amount(
        Money::new(dec!(5), Currency::new("USD").unwrap()).unwrap(),
    ));
    assert!(rules.validate().is_err());
}

#[test]
fn a_utc_offset_beyond_fourteen_hours_is_rejected() {
    let mut rules = pharmacy();
    rules.utc_offset_minutes = 15 * 60;
    assert!(rules.validate().is_err());
}

#[test]
fn a_campaign_with_a_zero_budget_is_rejected() {
    let spec = CampaignSpec {
        id: uuid::Uuid::nil(),
        name: "Launch".into(),
        starts_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        ends_at: Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap(),
        weekdays: vec![],
        categories: vec![],
        min_bill: None,
        effect: CampaignEffect::FixedBonus(Points::whole(5).unwrap()),
        priority: 0,
        member_cap: None,
        budget: Some(Points::ZERO),
        active: true,
    };
    assert!(matches!(spec.validate(), Err(Error::InvalidConfig(m)) if m.contains("budget")));
}

#[test]
fn action_points_for_an_unknown_action_are_refused() {
    let rules = pharmacy().validate().unwrap();
    assert_eq!(
        rules.action_points("feedback"),
        Err(Error::UnknownAction("feedback".into()))
    );
}
