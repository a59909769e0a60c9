//! Properties of redemption that must hold for every program and every checkout.

use proptest::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy};

use super::*;
use crate::program::ProgramRules;
use crate::values::{ConversionRate, Currency, Percent, PointPrecision, Rounding};

fn inr() -> Currency {
    Currency::new("INR").unwrap()
}

fn hundredths(range: std::ops::RangeInclusive<i64>) -> impl Strategy<Value = Decimal> {
    range.prop_map(|n| Decimal::new(n, 2))
}

prop_compose! {
    /// A valid program with redemption: any point decimals (0 to 2), rate, share, minimum and
    /// per-bill maximum.
    fn any_rules()(
        decimals in 0u32..=2,
        rate_points in 1i64..=1_000,
        rate_value in hundredths(1..=100_000),
        share in hundredths(1..=10_000),
        min in hundredths(0..=50_000),
        per_bill in prop::option::of(hundredths(0..=10_000_000)),
    ) -> Option<Rules> {
        let cut = |d: Decimal| d.round_dp_with_strategy(decimals, RoundingStrategy::ToZero);
        let mut rules = ProgramRules::new(inr());
        rules.precision = PointPrecision::new(decimals, Rounding::Down).unwrap();
        rules.redemption = Some(RedemptionRules {
            rate: ConversionRate::new(
                Points::new(Decimal::from(rate_points)).unwrap(),
                Money::new(rate_value, inr()).unwrap(),
            )
            .unwrap(),
            min_points: Points::new(cut(min)).unwrap(),
            max_bill_share: Percent::new(share).unwrap(),
            max_points_per_bill: per_bill.map(|p| Points::new(cut(p)).unwrap()),
        });
        rules.validate().ok()
    }
}

prop_compose! {
    /// Any checkout, possibly with earlier redemptions on the same bill.
    fn any_checkout()(
        bill in hundredths(0..=10_000_000),
        available in hundredths(0..=10_000_000),
        earlier in prop::option::of((hundredths(0..=1_000_000), hundredths(0..=5_000_000))),
    ) -> RedemptionContext {
        let (earlier_points, earlier_value) = earlier.unwrap_or_default();
        RedemptionContext {
            bill_amount: Money::new(bill, inr()).unwrap(),
            available: Points::new(available).unwrap(),
            already_redeemed_on_bill: Points::new(earlier_points).unwrap(),
            already_redeemed_value_on_bill: Money::new(earlier_value, inr()).unwrap(),
        }
    }
}

fn share_left(rules: &Rules, ctx: &RedemptionContext) -> Decimal {
    let share = rules.redemption.as_ref().unwrap().max_bill_share;
    share.of(ctx.bill_amount.amount()) - ctx.already_redeemed_value_on_bill.amount()
}

fn unit(rules: &Rules) -> Decimal {
    Decimal::new(1, rules.precision.decimals())
}

proptest! {
    #[test]
    fn an_accepted_redemption_never_pays_more_than_the_share_nor_the_bill(
        rules in any_rules(),
        ctx in any_checkout(),
        anywhere in hundredths(1..=10_000_000),
        near_the_maximum in prop::option::of(0i64..=120),
    ) {
        let Some(rules) = rules else { return Err(TestCaseError::reject("invalid program")) };
        // Half the requests are around the maximum (0 to 120 % of it), so many are accepted.
        let requested = match near_the_maximum {
            Some(percent) => {
                let max = max_redeemable(&rules, &ctx).unwrap().max_points.value();
                (max * Decimal::new(percent, 2)).round_dp(rules.precision.decimals())
            }
            None => anywhere,
        };
        if let Ok(r) = validate_redemption(&rules, &ctx, Points::new(requested).unwrap()) {
            let redemption = rules.redemption.as_ref().unwrap();
            prop_assert!(r.value.amount() <= share_left(&rules, &ctx));
            prop_assert!(r.value.amount() <= ctx.bill_amount.amount());
            // The exact value fits as well, not only the rounded one.
            prop_assert!(
                r.points.value() * redemption.rate.value().amount()
                    <= share_left(&rules, &ctx) * redemption.rate.points().value()
            );
            prop_assert!(r.points <= ctx.available);
            prop_assert!(r.points >= redemption.min_points);
            if let Some(max) = redemption.max_points_per_bill {
                prop_assert!(ctx.already_redeemed_on_bill.value() + r.points.value() <= max.value());
            }
            prop_assert!(!r.value.is_zero());
            prop_assert_eq!(r.value, points_value(&rules, r.points).unwrap());
        }
    }

    #[test]
    fn the_maximum_passes_validation_and_one_point_unit_more_does_not(
        rules in any_rules(),
        ctx in any_checkout(),
    ) {
        let Some(rules) = rules else { return Err(TestCaseError::reject("invalid program")) };
        let limit = max_redeemable(&rules, &ctx).unwrap();
        if limit.max_points.is_zero() {
            return Ok(());
        }
        prop_assert_ne!(limit.limited_by, RedemptionLimitReason::BelowMinimum);
        let accepted = validate_redemption(&rules, &ctx, limit.max_points).unwrap();
        prop_assert_eq!(accepted.value, limit.max_value);
        let more = Points::new(limit.max_points.value() + unit(&rules)).unwrap();
        let refused = validate_redemption(&rules, &ctx, more);
        // The limit that set the maximum refuses it (or another limit it tied with).
        let expected_refusal = matches!(
            refused,
            Err(Error::InsufficientPoints { .. }
                | Error::ExceedsBillShare { .. }
                | Error::ExceedsPointsPerBill { .. })
        );
        prop_assert!(expected_refusal, "{:?} then {:?}", limit, refused);
    }

    #[test]
    fn nothing_passes_validation_when_the_maximum_is_below_the_minimum(
        rules in any_rules(),
        ctx in any_checkout(),
        requested in hundredths(0..=10_000_000),
    ) {
        let Some(rules) = rules else { return Err(TestCaseError::reject("invalid program")) };
        let limit = max_redeemable(&rules, &ctx).unwrap();
        if limit.limited_by == RedemptionLimitReason::BelowMinimum {
            prop_assert!(limit.max_points.is_zero());
            prop_assert!(validate_redemption(&rules, &ctx, Points::new(requested).unwrap()).is_err());
        }
    }
}
