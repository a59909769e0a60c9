//! Properties of the checkout quote that must hold for every program and every bill.

use proptest::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy};

use super::tests::{inr, pharmacy};
use super::*;
use crate::campaigns::tests::{at, spec};
use crate::program::{
    BillDiscount, CampaignEffect, CampaignSpec, Category, EarnBasis, RedemptionRules,
};
use crate::values::{ConversionRate, Percent, PointPrecision, Rounding};

fn hundredths(range: std::ops::RangeInclusive<i64>) -> impl Strategy<Value = Decimal> {
    range.prop_map(|n| Decimal::new(n, 2))
}

fn money(amount: Decimal) -> Money {
    Money::new(amount, inr()).unwrap()
}

prop_compose! {
    /// A pharmacy-like program with any point decimals, rate, share, minimum, discounts and
    /// earn basis.
    fn any_rules()(
        decimals in 0u32..=2,
        rate_points in 1i64..=1_000,
        rate_value in hundredths(1..=10_000),
        share in hundredths(1..=10_000),
        min in 0i64..=500,
        per_bill in prop::option::of(0i64..=100_000),
        medicines_off in hundredths(0..=10_000),
        bill_off in prop::option::of((any::<bool>(), hundredths(0..=10_000))),
        paid_basis in any::<bool>(),
    ) -> Rules {
        let cut = |d: i64| Decimal::from(d).round_dp_with_strategy(decimals, RoundingStrategy::ToZero);
        let mut rules = pharmacy();
        rules.precision = PointPrecision::new(decimals, Rounding::Down).unwrap();
        rules.redemption = Some(RedemptionRules {
            rate: ConversionRate::new(
                Points::new(Decimal::from(rate_points)).unwrap(),
                money(rate_value),
            )
            .unwrap(),
            min_points: Points::new(cut(min)).unwrap(),
            max_bill_share: Percent::new(share).unwrap(),
            max_points_per_bill: per_bill.map(|p| Points::new(cut(p.max(min))).unwrap()),
        });
        rules.discounts.categories[0].percent = Percent::new(medicines_off).unwrap();
        rules.discounts.bill = bill_off.map(|(flat, off)| {
            if flat { BillDiscount::Amount(money(off)) } else { BillDiscount::Percent(Percent::new(off).unwrap()) }
        });
        rules.earn_basis = if paid_basis { EarnBasis::PaidAmount } else { EarnBasis::DiscountedAmount };
        rules.validate().unwrap()
    }
}

prop_compose! {
    /// A bill of one to four lines, amounts with 0, 2 or 4 decimals, some without a category.
    fn any_bill()(
        lines in prop::collection::vec(
            (prop::option::of(prop::sample::select(vec!["Medicines", "General", "Baby Care"])),
             1i64..=10_000_000,
             prop::sample::select(vec![0u32, 2, 4])),
            1..=4,
        ),
    ) -> Bill {
        let lines = lines
            .into_iter()
            .map(|(category, units, scale)| BillLine {
                category: category.map(|c| Category::new(c).unwrap()),
                amount: money(Decimal::new(units, scale)),
            })
            .collect();
        Bill::new(lines, inr(), at(2026, 1, 3, 12, 0)).unwrap()
    }
}

/// What the member brings to the checkout: balance, earlier redemptions, a request.
#[derive(Debug, Clone)]
struct Checkout {
    available: Decimal,
    earlier: Option<(Decimal, Decimal)>,
    /// `None`: no request; `Some(None)`: the quoted maximum; `Some(Some(p))`: `p` points.
    request: Option<Option<Decimal>>,
    has_referrer: bool,
}

fn any_checkout() -> impl Strategy<Value = Checkout> {
    (
        hundredths(0..=10_000_000),
        prop::option::of((hundredths(0..=100_000), hundredths(0..=500_000))),
        prop::option::of(prop::option::of(hundredths(1..=10_000_000))),
        any::<bool>(),
    )
        .prop_map(|(available, earlier, request, has_referrer)| Checkout {
            available,
            earlier,
            request,
            has_referrer,
        })
}

/// Quotes the checkout (first without a request, which must always succeed, then with the
/// request); `Ok(None)` when a random request is refused.
fn run(
    rules: &Rules,
    bill: &Bill,
    c: &Checkout,
    campaigns: &[ActiveCampaign<'_>],
) -> Result<Option<Quote>, TestCaseError> {
    let (earlier_points, earlier_value) = c.earlier.unwrap_or_default();
    let mut input = QuoteInput {
        rules,
        tier: None,
        campaigns,
        bill,
        available: Points::new(c.available).unwrap(),
        already_redeemed_on_bill: Points::new(earlier_points).unwrap(),
        already_redeemed_value_on_bill: money(earlier_value),
        requested_points: None,
        has_referrer: c.has_referrer,
    };
    let without = quote(&input);
    prop_assert!(
        without.is_ok(),
        "a quote without a request failed: {without:?}"
    );
    let without = without.unwrap();
    input.requested_points = match c.request {
        None => return Ok(Some(without)),
        Some(None) => match without.max_redeemable {
            Some(max) if !max.max_points.is_zero() => Some(max.max_points),
            _ => return Ok(Some(without)),
        },
        Some(Some(p)) => Some(Points::new(p).unwrap()),
    };
    match quote(&input) {
        Ok(q) => Ok(Some(q)),
        // A random request may break any rule (or be too precise); the maximum may not.
        Err(e) => {
            prop_assert!(c.request != Some(None), "the maximum was refused: {}", e);
            Ok(None)
        }
    }
}

fn campaign(min_bill: Option<Decimal>) -> crate::program::Campaign {
    CampaignSpec {
        min_bill: min_bill.map(money),
        effect: CampaignEffect::FixedBonus(Points::whole(7).unwrap()),
        ..spec()
    }
    .validate()
    .unwrap()
}

proptest! {
    #[test]
    fn what_is_paid_plus_points_plus_discounts_is_the_bill(
        rules in any_rules(), bill in any_bill(), c in any_checkout(),
    ) {
        let Some(q) = run(&rules, &bill, &c, &[])? else { return Ok(()) };
        let redeemed = q.redemption.map_or(Decimal::ZERO, |r| r.value.amount());
        let earlier = c.earlier.map_or(Decimal::ZERO, |(_, v)| v);
        if !q.to_pay.is_zero() {
            prop_assert_eq!(
                q.to_pay.amount() + redeemed + earlier + q.discounts.total_discount.amount(),
                q.bill_total.amount()
            );
        }
        prop_assert_eq!(q.bill_total, bill.total());
    }

    #[test]
    fn the_earning_amount_never_exceeds_the_discounted_total(
        rules in any_rules(), bill in any_bill(), c in any_checkout(),
    ) {
        let Some(q) = run(&rules, &bill, &c, &[])? else { return Ok(()) };
        prop_assert!(q.earning_amount.amount() <= q.discounts.net_total.amount());
        for (earning, line) in q.earning_lines.iter().zip(&q.discounts.lines) {
            prop_assert!(earning.amount.amount() <= line.net.amount());
        }
        if rules.earn_basis == EarnBasis::PaidAmount {
            prop_assert_eq!(q.earning_amount, q.to_pay);
        }
    }

    #[test]
    fn the_quoted_earning_is_what_earn_on_bill_gives_for_the_same_redeemed_value(
        rules in any_rules(), bill in any_bill(), c in any_checkout(),
        min_bill in prop::option::of(hundredths(0..=20_000_000)),
    ) {
        let campaign = campaign(min_bill);
        let campaigns = [ActiveCampaign::unused(&campaign)];
        let Some(q) = run(&rules, &bill, &c, &campaigns)? else { return Ok(()) };
        let earlier = c.earlier.map_or(Decimal::ZERO, |(_, v)| v);
        let redeemed = money(earlier + q.redemption.map_or(Decimal::ZERO, |r| r.value.amount()));
        let earned = earn_on_bill(&rules, None, &campaigns, &bill, &redeemed, c.has_referrer).unwrap();
        prop_assert_eq!(&earned.discounts, &q.discounts);
        prop_assert_eq!(&earned.earning_lines, &q.earning_lines);
        prop_assert_eq!(earned.earning_amount, q.earning_amount);
        prop_assert_eq!(&earned.earning, &q.earning);
        prop_assert_eq!(earned.referral_points, q.referral_points);
    }

    #[test]
    fn the_quoted_maximum_always_validates(
        rules in any_rules(), bill in any_bill(), mut c in any_checkout(),
    ) {
        c.request = Some(None);
        let Some(q) = run(&rules, &bill, &c, &[])? else { return Ok(()) };
        let max = q.max_redeemable.unwrap();
        if max.max_points.is_zero() {
            prop_assert_eq!(q.redemption, None);
        } else {
            let r = q.redemption.unwrap();
            prop_assert_eq!((r.points, r.value), (max.max_points, max.max_value));
        }
    }
}
