//! Redemption rules: every limit, every rejection and its order, and the invariants.

use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;
use crate::program::ProgramRules;
use crate::values::{ConversionRate, Currency, Percent, PointPrecision, Rounding};

fn inr() -> Currency {
    Currency::new("INR").unwrap()
}

fn money(amount: Decimal) -> Money {
    Money::new(amount, inr()).unwrap()
}

fn points(value: Decimal) -> Points {
    Points::new(value).unwrap()
}

/// The pharmacy: 2 point decimals, 100 points = 10.00, at most 50 % of a bill, at least 100
/// points per redemption.
fn pharmacy_config() -> ProgramRules {
    let mut rules = ProgramRules::new(inr());
    rules.precision = PointPrecision::new(2, Rounding::Down).unwrap();
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(points(dec!(100)), money(dec!(10))).unwrap(),
        min_points: points(dec!(100)),
        max_bill_share: Percent::new(dec!(50)).unwrap(),
        max_points_per_bill: None,
    });
    rules
}

fn pharmacy() -> Rules {
    pharmacy_config().validate().unwrap()
}

fn pharmacy_with_max_per_bill(max: Decimal) -> Rules {
    let mut rules = pharmacy_config();
    rules.redemption.as_mut().unwrap().max_points_per_bill = Some(points(max));
    rules.validate().unwrap()
}

fn checkout(bill: Decimal, available: Decimal) -> RedemptionContext {
    RedemptionContext {
        bill_amount: money(bill),
        available: points(available),
        already_redeemed_on_bill: Points::ZERO,
        already_redeemed_value_on_bill: Money::zero(inr()),
    }
}

fn after_earlier(mut ctx: RedemptionContext, pts: Decimal, value: Decimal) -> RedemptionContext {
    ctx.already_redeemed_on_bill = points(pts);
    ctx.already_redeemed_value_on_bill = money(value);
    ctx
}

fn redeem(rules: &Rules, ctx: &RedemptionContext, requested: Decimal) -> Result<Redemption> {
    validate_redemption(rules, ctx, points(requested))
}

// ----- max_redeemable -----

#[test]
fn the_balance_limits_the_maximum_when_it_is_smallest() {
    let limit = max_redeemable(&pharmacy(), &checkout(dec!(800), dec!(1200))).unwrap();
    assert_eq!(limit.max_points.value(), dec!(1200));
    assert_eq!(limit.max_value.amount(), dec!(120));
    assert_eq!(limit.limited_by, RedemptionLimitReason::Balance);
}

#[test]
fn the_bill_share_limits_the_maximum_when_it_is_smallest() {
    let limit = max_redeemable(&pharmacy(), &checkout(dec!(800), dec!(10000))).unwrap();
    assert_eq!(limit.max_points.value(), dec!(4000));
    assert_eq!(limit.max_value.amount(), dec!(400));
    assert_eq!(limit.limited_by, RedemptionLimitReason::BillShare);
}

#[test]
fn the_bill_share_maximum_is_in_the_program_point_precision() {
    // 50 % of 100.01 is 50.005 = 500.05 points exactly; their value rounds down to 50.00.
    let limit = max_redeemable(&pharmacy(), &checkout(dec!(100.01), dec!(10000))).unwrap();
    assert_eq!(limit.max_points.value(), dec!(500.05));
    assert_eq!(limit.max_value.amount(), dec!(50));
}

#[test]
fn the_points_per_bill_maximum_limits_the_maximum_and_counts_earlier_redemptions() {
    let rules = pharmacy_with_max_per_bill(dec!(1000));
    let ctx = checkout(dec!(800), dec!(5000));
    let limit = max_redeemable(&rules, &ctx).unwrap();
    assert_eq!(limit.max_points.value(), dec!(1000));
    assert_eq!(limit.limited_by, RedemptionLimitReason::PointsPerBill);
    let limit = max_redeemable(&rules, &after_earlier(ctx, dec!(700), dec!(70))).unwrap();
    assert_eq!(limit.max_points.value(), dec!(300));
}

#[test]
fn earlier_redemptions_use_up_the_bill_share() {
    // 50 % of 800.00 is 400.00; 150.00 already paid with points leaves 250.00 = 2500 points.
    let ctx = after_earlier(checkout(dec!(800), dec!(10000)), dec!(1500), dec!(150));
    let limit = max_redeemable(&pharmacy(), &ctx).unwrap();
    assert_eq!(limit.max_points.value(), dec!(2500));
    assert_eq!(limit.limited_by, RedemptionLimitReason::BillShare);
}

#[test]
fn a_maximum_below_the_minimum_redemption_is_zero() {
    let limit = max_redeemable(&pharmacy(), &checkout(dec!(800), dec!(99.99))).unwrap();
    assert!(limit.max_points.is_zero());
    assert!(limit.max_value.is_zero());
    assert_eq!(limit.limited_by, RedemptionLimitReason::BelowMinimum);
    // A bill of 19.98 allows 9.99 = 99.9 points: also below the minimum.
    let limit = max_redeemable(&pharmacy(), &checkout(dec!(19.98), dec!(5000))).unwrap();
    assert_eq!(limit.limited_by, RedemptionLimitReason::BelowMinimum);
}

#[test]
fn a_maximum_worth_nothing_is_zero() {
    let mut rules = pharmacy_config();
    let r = rules.redemption.as_mut().unwrap();
    r.rate = ConversionRate::new(points(dec!(1000)), money(dec!(1))).unwrap();
    r.min_points = Points::ZERO;
    let limit = max_redeemable(&rules.validate().unwrap(), &checkout(dec!(100), dec!(9))).unwrap();
    assert!(limit.max_points.is_zero());
    assert_eq!(limit.limited_by, RedemptionLimitReason::BelowMinimum);
}

#[test]
fn a_balance_finer_than_the_program_points_is_rounded_down() {
    let limit = max_redeemable(&pharmacy(), &checkout(dec!(800), dec!(150.5599))).unwrap();
    assert_eq!(limit.max_points.value(), dec!(150.55));
}

#[test]
fn equal_limits_report_the_balance_first() {
    let limit = max_redeemable(&pharmacy(), &checkout(dec!(800), dec!(4000))).unwrap();
    assert_eq!(limit.limited_by, RedemptionLimitReason::Balance);
}

#[test]
fn a_huge_bill_is_limited_by_the_largest_possible_points() {
    let mut rules = pharmacy_config();
    rules.redemption.as_mut().unwrap().rate =
        ConversionRate::new(points(dec!(10000)), money(dec!(0.01))).unwrap();
    let ctx = checkout(MAX_AMOUNT, MAX_AMOUNT);
    let limit = max_redeemable(&rules.validate().unwrap(), &ctx).unwrap();
    assert_eq!(limit.max_points.value(), MAX_AMOUNT);
}

#[test]
fn a_program_without_redemption_has_no_maximum() {
    let rules = ProgramRules::new(inr()).validate().unwrap();
    assert!(matches!(
        max_redeemable(&rules, &checkout(dec!(800), dec!(1000))),
        Err(Error::Precondition(m)) if m.contains("does not let points pay bills")
    ));
}

#[test]
fn a_bill_in_another_currency_has_no_maximum() {
    let mut ctx = checkout(dec!(800), dec!(1000));
    ctx.bill_amount = Money::new(dec!(800), Currency::new("USD").unwrap()).unwrap();
    assert!(matches!(
        max_redeemable(&pharmacy(), &ctx),
        Err(Error::CurrencyMismatch { .. })
    ));
    let mut ctx = checkout(dec!(800), dec!(1000));
    ctx.already_redeemed_value_on_bill = Money::zero(Currency::new("USD").unwrap());
    assert!(matches!(
        validate_redemption(&pharmacy(), &ctx, points(dec!(100))),
        Err(Error::CurrencyMismatch { .. })
    ));
}

// ----- validate_redemption: acceptance -----

#[test]
fn a_redemption_within_every_rule_is_accepted_at_its_value() {
    let r = redeem(&pharmacy(), &checkout(dec!(100), dec!(2000)), dec!(500)).unwrap();
    assert_eq!(r.points.value(), dec!(500));
    assert_eq!(r.value.amount(), dec!(50));
}

#[test]
fn a_redemption_value_is_rounded_down() {
    // 123.45 points are worth 12.345 -> 12.34.
    let r = redeem(&pharmacy(), &checkout(dec!(100), dec!(2000)), dec!(123.45)).unwrap();
    assert_eq!(r.value.amount(), dec!(12.34));
}

#[test]
fn a_redemption_of_exactly_the_minimum_is_accepted() {
    assert!(redeem(&pharmacy(), &checkout(dec!(100), dec!(100)), dec!(100)).is_ok());
}

// ----- validate_redemption: one test per rejection -----

#[test]
fn a_redemption_of_zero_points_is_rejected() {
    assert!(matches!(
        redeem(&pharmacy(), &checkout(dec!(100), dec!(2000)), dec!(0)),
        Err(Error::NotPositive { .. })
    ));
}

#[test]
fn a_redemption_finer_than_the_program_points_is_rejected() {
    assert!(matches!(
        redeem(&pharmacy(), &checkout(dec!(100), dec!(2000)), dec!(150.001)),
        Err(Error::TooPrecise {
            max_decimals: 2,
            ..
        })
    ));
}

#[test]
fn a_redemption_below_the_minimum_is_rejected() {
    assert_eq!(
        redeem(&pharmacy(), &checkout(dec!(100), dec!(2000)), dec!(99.99)),
        Err(Error::BelowMinimumRedemption {
            requested: dec!(99.99),
            minimum: dec!(100),
        })
    );
}

#[test]
fn a_redemption_above_the_points_per_bill_is_rejected() {
    let rules = pharmacy_with_max_per_bill(dec!(1000));
    assert!(matches!(
        redeem(&rules, &checkout(dec!(10000), dec!(5000)), dec!(1000.01)),
        Err(Error::ExceedsPointsPerBill { .. })
    ));
}

#[test]
fn a_redemption_above_the_points_per_bill_counting_earlier_ones_is_rejected() {
    let rules = pharmacy_with_max_per_bill(dec!(1000));
    let ctx = after_earlier(checkout(dec!(10000), dec!(5000)), dec!(800), dec!(80));
    assert!(redeem(&rules, &ctx, dec!(200)).is_ok());
    assert_eq!(
        redeem(&rules, &ctx, dec!(300)),
        Err(Error::ExceedsPointsPerBill {
            requested: dec!(300),
            max_points: dec!(1000),
            already: dec!(800),
        })
    );
}

#[test]
fn a_redemption_above_the_bill_share_is_rejected() {
    let err = redeem(&pharmacy(), &checkout(dec!(100), dec!(2000)), dec!(600)).unwrap_err();
    assert_eq!(
        err,
        Error::ExceedsBillShare {
            requested: dec!(600),
            share: dec!(50),
            max_points: dec!(500),
        }
    );
    assert_eq!(
        err.to_string(),
        "redemption of 600 points exceeds 50% of the bill (max 500 points)"
    );
}

#[test]
fn a_redemption_above_the_bill_share_left_after_earlier_ones_is_rejected() {
    let ctx = after_earlier(checkout(dec!(100), dec!(2000)), dec!(300), dec!(30));
    assert!(redeem(&pharmacy(), &ctx, dec!(200)).is_ok());
    assert!(matches!(
        redeem(&pharmacy(), &ctx, dec!(200.01)),
        Err(Error::ExceedsBillShare { max_points, .. }) if max_points == dec!(200)
    ));
}

#[test]
fn a_redemption_above_the_balance_is_rejected() {
    assert_eq!(
        redeem(&pharmacy(), &checkout(dec!(100), dec!(150)), dec!(150.01)),
        Err(Error::InsufficientPoints {
            requested: dec!(150.01),
            available: dec!(150),
        })
    );
}

#[test]
fn a_redemption_worth_nothing_is_rejected() {
    let mut rules = pharmacy_config();
    let r = rules.redemption.as_mut().unwrap();
    r.rate = ConversionRate::new(points(dec!(1000)), money(dec!(1))).unwrap();
    r.min_points = Points::ZERO;
    let rules = rules.validate().unwrap();
    // 9 points are worth 0.009 -> 0.00.
    assert_eq!(
        redeem(&rules, &checkout(dec!(100), dec!(2000)), dec!(9)),
        Err(Error::WorthlessRedemption { requested: dec!(9) })
    );
    // Insufficient points are reported before worthlessness.
    assert!(matches!(
        redeem(&rules, &checkout(dec!(100), dec!(5)), dec!(9)),
        Err(Error::InsufficientPoints { .. })
    ));
    assert_eq!(
        redeem(&rules, &checkout(dec!(100), dec!(2000)), dec!(10))
            .unwrap()
            .value
            .amount(),
        dec!(0.01)
    );
}

#[test]
fn a_redemption_in_a_program_without_redemption_is_rejected() {
    let rules = ProgramRules::new(inr()).validate().unwrap();
    assert!(matches!(
        redeem(&rules, &checkout(dec!(100), dec!(2000)), dec!(100)),
        Err(Error::Precondition(_))
    ));
}

#[test]
fn the_rules_are_checked_in_the_documented_order() {
    let rules = pharmacy_with_max_per_bill(dec!(1000));
    // Too precise beats below the minimum.
    let ctx = checkout(dec!(100), dec!(10));
    assert!(matches!(
        redeem(&rules, &ctx, dec!(50.001)),
        Err(Error::TooPrecise { .. })
    ));
    // Below the minimum beats insufficient points.
    assert!(matches!(
        redeem(&rules, &ctx, dec!(50)),
        Err(Error::BelowMinimumRedemption { .. })
    ));
    // Points per bill beats the bill share and the balance.
    assert!(matches!(
        redeem(&rules, &ctx, dec!(2000)),
        Err(Error::ExceedsPointsPerBill { .. })
    ));
    // The bill share beats the balance.
    assert!(matches!(
        redeem(&rules, &ctx, dec!(600)),
        Err(Error::ExceedsBillShare { .. })
    ));
}

// ----- points_value -----

#[test]
fn points_are_valued_at_the_conversion_rate_rounded_down() {
    assert_eq!(
        points_value(&pharmacy(), points(dec!(12345)))
            .unwrap()
            .amount(),
        dec!(1234.5)
    );
    assert_eq!(
        points_value(&pharmacy(), points(dec!(0.09)))
            .unwrap()
            .amount(),
        dec!(0)
    );
}

#[test]
fn points_have_no_value_in_a_program_without_redemption() {
    let rules = ProgramRules::new(inr()).validate().unwrap();
    assert!(matches!(
        points_value(&rules, points(dec!(100))),
        Err(Error::Precondition(_))
    ));
}
