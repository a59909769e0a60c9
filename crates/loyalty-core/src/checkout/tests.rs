//! The checkout quote: every rule of the order and every rejection; invariants for all inputs
//! in [`properties`](super::properties).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;
use crate::campaigns::tests::{at, spec};
use crate::error::Error;
use crate::program::{
    BillDiscount, CampaignEffect, CampaignSpec, Category, CategoryDiscount, CategoryRule,
    EarnBasis, ProgramRules, RedemptionRules,
};
use crate::values::{ConversionRate, Currency, EarnRate, Percent, PointPrecision, Rounding};

pub(super) fn inr() -> Currency {
    Currency::new("INR").unwrap()
}

fn money(s: &str) -> Money {
    Money::parse(s, inr()).unwrap()
}

fn pts(s: &str) -> Points {
    s.parse().unwrap()
}

fn line(category: &str, amount: &str) -> BillLine {
    BillLine {
        category: Some(Category::new(category).unwrap()),
        amount: money(amount),
    }
}

/// A Saturday in the test campaigns' window.
fn saturday() -> DateTime<Utc> {
    at(2026, 1, 3, 12, 0)
}

fn bill(lines: Vec<BillLine>) -> Bill {
    Bill::new(lines, inr(), saturday()).unwrap()
}

/// Medicines 500 and General 500.
fn pharmacy_bill() -> Bill {
    bill(vec![line("Medicines", "500"), line("General", "500")])
}

/// The pharmacy: Medicines 1% / General 3%, 2 point decimals, 100 points = 10.00, at most 50%
/// of a bill and at least 100 points, referrer 0.5%, Medicines 5% off.
pub(super) fn pharmacy() -> ProgramRules {
    let mut rules = ProgramRules::new(inr());
    rules.precision = PointPrecision::new(2, Rounding::Down).unwrap();
    rules.categories = [("Medicines", dec!(1)), ("General", dec!(3))]
        .into_iter()
        .map(|(c, p)| CategoryRule {
            category: Category::new(c).unwrap(),
            earn_percent: Percent::new(p).unwrap(),
        })
        .collect();
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(pts("100"), money("10.00")).unwrap(),
        min_points: pts("100"),
        max_bill_share: Percent::new(dec!(50)).unwrap(),
        max_points_per_bill: None,
    });
    rules.referral_percent = Percent::new(dec!(0.5)).unwrap();
    rules.discounts.categories = vec![CategoryDiscount {
        category: Category::new("Medicines").unwrap(),
        percent: Percent::new(dec!(5)).unwrap(),
    }];
    rules
}

fn input<'a>(rules: &'a Rules, bill: &'a Bill, requested: Option<&str>) -> QuoteInput<'a> {
    QuoteInput {
        rules,
        tier: None,
        campaigns: &[],
        bill,
        available: pts("10000"),
        already_redeemed_on_bill: Points::ZERO,
        already_redeemed_value_on_bill: Money::zero(inr()),
        requested_points: requested.map(pts),
        has_referrer: false,
    }
}

fn amounts(lines: &[BillLine]) -> Vec<Decimal> {
    lines.iter().map(|l| l.amount.amount()).collect()
}

#[test]
fn discounts_come_first_then_redemption_on_the_net_then_earning_on_what_is_paid() {
    let rules = pharmacy().validate().unwrap();
    let bill = pharmacy_bill();
    // 50 % of the net 975.00 is 487.50 = 4875 points; 50 % of the gross would be 5000.
    let q = quote(&input(&rules, &bill, Some("4875"))).unwrap();
    assert_eq!(q.bill_total, money("1000"));
    assert_eq!(q.discounts.total_discount, money("25"));
    assert_eq!(q.max_redeemable.unwrap().max_points, pts("4875"));
    assert_eq!(q.redemption.unwrap().value, money("487.50"));
    assert_eq!(q.to_pay, money("487.50"));
    // 487.50 spread over 475 / 500: 237.50 and 250.00 paid with points.
    assert_eq!(amounts(&q.earning_lines), [dec!(237.50), dec!(250.00)]);
    assert_eq!(q.earning_amount, money("487.50"));
    // 1 % of 237.50 + 3 % of 250.00 = 2.375 + 7.5 = 9.875 -> 9.87
    assert_eq!(q.earning.total, pts("9.87"));
}

#[test]
fn a_paid_amount_program_earns_on_what_was_not_paid_with_points() {
    let rules = pharmacy().validate().unwrap();
    let bill = pharmacy_bill();
    let q = quote(&input(&rules, &bill, Some("1000"))).unwrap();
    assert_eq!(amounts(&q.earning_lines), [dec!(426.28), dec!(448.72)]);
    assert_eq!(q.earning_amount, q.to_pay);
    assert_eq!(q.earning.total, pts("17.72"));
}

#[test]
fn a_discounted_amount_program_earns_on_the_discounted_bill_including_the_points() {
    let mut rules = pharmacy();
    rules.earn_basis = EarnBasis::DiscountedAmount;
    let rules = rules.validate().unwrap();
    let bill = pharmacy_bill();
    let q = quote(&input(&rules, &bill, Some("1000"))).unwrap();
    assert_eq!(q.to_pay, money("875"));
    assert_eq!(amounts(&q.earning_lines), [dec!(475), dec!(500)]);
    assert_eq!(q.earning_amount, money("975"));
    assert_eq!(q.earning.total, pts("19.75"));
}

#[test]
fn a_quote_changes_nothing_the_same_input_gives_the_same_quote() {
    let rules = pharmacy().validate().unwrap();
    let bill = pharmacy_bill();
    let checkout = input(&rules, &bill, Some("1000"));
    let (rules_before, bill_before) = (rules.clone(), bill.clone());
    assert_eq!(quote(&checkout).unwrap(), quote(&checkout).unwrap());
    assert_eq!((rules, bill), (rules_before, bill_before));
}

#[test]
fn earn_on_bill_and_quote_agree_for_the_same_redeemed_value() {
    let rules = pharmacy().validate().unwrap();
    let bill = pharmacy_bill();
    let mut checkout = input(&rules, &bill, Some("1000"));
    checkout.already_redeemed_on_bill = pts("200");
    checkout.already_redeemed_value_on_bill = money("20");
    checkout.has_referrer = true;
    let q = quote(&checkout).unwrap();
    // 20.00 earlier and 100.00 now.
    let earned = earn_on_bill(&rules, None, &[], &bill, &money("120"), true).unwrap();
    assert_eq!(earned.discounts, q.discounts);
    assert_eq!(earned.earning_lines, q.earning_lines);
    assert_eq!(earned.earning_amount, q.earning_amount);
    assert_eq!(earned.earning, q.earning);
    assert_eq!(earned.referral_points, q.referral_points);
}

#[test]
fn earlier_redemptions_on_the_bill_reduce_what_is_left_to_pay_and_what_earns() {
    let rules = pharmacy().validate().unwrap();
    let bill = pharmacy_bill();
    let mut checkout = input(&rules, &bill, None);
    checkout.already_redeemed_on_bill = pts("4000");
    checkout.already_redeemed_value_on_bill = money("400");
    let q = quote(&checkout).unwrap();
    // 487.50 of share, 400.00 used: 87.50 = 875 points left.
    assert_eq!(q.max_redeemable.unwrap().max_points, pts("875"));
    assert_eq!(q.to_pay, money("575"));
    assert_eq!(q.earning_amount, money("575"));
}

#[test]
fn what_is_left_to_pay_never_goes_below_zero() {
    let rules = pharmacy().validate().unwrap();
    let bill = pharmacy_bill();
    let mut checkout = input(&rules, &bill, None);
    checkout.already_redeemed_value_on_bill = money("2000");
    let q = quote(&checkout).unwrap();
    assert!(q.to_pay.is_zero());
    assert!(q.earning_amount.is_zero());
    assert_eq!(q.earning.total, Points::ZERO);
}

#[test]
fn the_referrer_earns_only_when_there_is_one() {
    let rules = pharmacy().validate().unwrap();
    let bill = pharmacy_bill();
    let mut checkout = input(&rules, &bill, Some("1000"));
    assert_eq!(quote(&checkout).unwrap().referral_points, Points::ZERO);
    checkout.has_referrer = true;
    // 0.5 % of the 875.00 paid.
    assert_eq!(quote(&checkout).unwrap().referral_points, pts("4.37"));
}

#[test]
fn a_requested_redemption_above_the_bill_share_is_rejected_with_exceeds_bill_share() {
    let rules = pharmacy().validate().unwrap();
    let bill = pharmacy_bill();
    let err = quote(&input(&rules, &bill, Some("4876"))).unwrap_err();
    assert_eq!(
        err,
        Error::ExceedsBillShare {
            requested: dec!(4876),
            share: dec!(50),
            max_points: dec!(4875),
        }
    );
}

#[test]
fn a_requested_redemption_that_breaks_a_rule_gets_that_rules_error() {
    let rules = pharmacy().validate().unwrap();
    let bill = pharmacy_bill();
    let too_few = quote(&input(&rules, &bill, Some("99")));
    assert!(matches!(too_few, Err(Error::BelowMinimumRedemption { .. })));
    let mut checkout = input(&rules, &bill, Some("500"));
    checkout.available = pts("499");
    assert!(matches!(
        quote(&checkout),
        Err(Error::InsufficientPoints { .. })
    ));
}

#[test]
fn a_program_without_redemption_quotes_no_maximum_and_refuses_a_request() {
    let mut rules = pharmacy();
    rules.redemption = None;
    let rules = rules.validate().unwrap();
    let bill = pharmacy_bill();
    let q = quote(&input(&rules, &bill, None)).unwrap();
    assert_eq!((q.max_redeemable, q.redemption), (None, None));
    assert_eq!(q.to_pay, money("975"));
    let refused = quote(&input(&rules, &bill, Some("100")));
    assert!(matches!(refused, Err(Error::Precondition(_))));
}

#[test]
fn a_bill_in_another_currency_is_rejected() {
    let rules = pharmacy().validate().unwrap();
    let usd = Currency::new("USD").unwrap();
    let lines = vec![BillLine {
        category: None,
        amount: Money::parse("10", usd).unwrap(),
    }];
    let dollars = Bill::new(lines, usd, saturday()).unwrap();
    let mismatch = |r: Result<_>| matches!(r, Err(Error::CurrencyMismatch { .. }));
    assert!(mismatch(quote(&input(&rules, &dollars, None)).map(|_| ())));
    let zero = Money::zero(inr());
    assert!(mismatch(
        earn_on_bill(&rules, None, &[], &dollars, &zero, false).map(|_| ())
    ));
}

#[test]
fn a_redeemed_value_in_another_currency_is_rejected() {
    let rules = pharmacy().validate().unwrap();
    let bill = pharmacy_bill();
    let dollars = Money::parse("10", Currency::new("USD").unwrap()).unwrap();
    let mut checkout = input(&rules, &bill, None);
    checkout.already_redeemed_value_on_bill = dollars;
    assert!(matches!(
        quote(&checkout),
        Err(Error::CurrencyMismatch { .. })
    ));
    assert!(matches!(
        earn_on_bill(&rules, None, &[], &bill, &dollars, false),
        Err(Error::CurrencyMismatch { .. })
    ));
}

#[test]
fn a_campaign_minimum_is_judged_on_the_bill_after_discounts() {
    let rules = pharmacy().validate().unwrap();
    let bill = pharmacy_bill();
    let bonus = |min: &str| {
        CampaignSpec {
            min_bill: Some(money(min)),
            effect: CampaignEffect::FixedBonus(pts("10")),
            ..spec()
        }
        .validate()
        .unwrap()
    };
    // The gross bill is 1000.00, the discounted one 975.00; points paid do not count.
    let (reached, missed) = (bonus("975"), bonus("976"));
    for (campaign, expected) in [(&reached, "10"), (&missed, "0")] {
        let campaigns = [ActiveCampaign::unused(campaign)];
        let mut checkout = input(&rules, &bill, Some("1000"));
        checkout.campaigns = &campaigns;
        let q = quote(&checkout).unwrap();
        assert_eq!(q.earning.campaign_points().unwrap(), pts(expected));
    }
}

#[test]
fn the_members_tier_multiplies_the_quoted_earning() {
    let rules = pharmacy().validate().unwrap();
    let bill = pharmacy_bill();
    let gold = Tier {
        name: "Gold".into(),
        threshold: dec!(50000),
        multiplier: "2".parse().unwrap(),
        upgrade_bonus: Points::ZERO,
    };
    let mut checkout = input(&rules, &bill, None);
    checkout.tier = Some(&gold);
    let q = quote(&checkout).unwrap();
    assert_eq!(
        (q.earning.base, q.earning.tier_bonus),
        (pts("19.75"), pts("19.75"))
    );
}

#[test]
fn points_paying_a_bill_with_a_bill_discount_are_spread_over_the_lines_exactly() {
    let mut rules = pharmacy();
    rules.discounts.bill = Some(BillDiscount::Amount(money("50")));
    let rules = rules.validate().unwrap();
    let bill = bill(vec![
        line("Medicines", "500"),
        line("Baby Care", "200"),
        line("General", "300"),
    ]);
    let q = quote(&input(&rules, &bill, Some("1001"))).unwrap();
    assert_eq!(q.discounts.net_total, money("925"));
    assert_eq!(q.to_pay, money("824.90"));
    assert_eq!(q.earning_amount, q.to_pay);
    for (earning, discounted) in q.earning_lines.iter().zip(&q.discounts.lines) {
        assert!(earning.amount.amount() <= discounted.net.amount());
    }
}

#[test]
fn a_bill_discount_of_the_whole_bill_leaves_nothing_to_pay_or_earn() {
    let mut rules = pharmacy();
    rules.discounts.bill = Some(BillDiscount::Percent(Percent::HUNDRED));
    let rules = rules.validate().unwrap();
    let bill = pharmacy_bill();
    let q = quote(&input(&rules, &bill, None)).unwrap();
    assert!(q.to_pay.is_zero());
    assert_eq!(q.max_redeemable.unwrap().max_points, Points::ZERO);
    assert_eq!(q.earning.total, Points::ZERO);
}

#[test]
fn the_shop_earns_on_the_cash_part_of_a_miles_plus_cash_bill() {
    let mut shop = ProgramRules::new(inr());
    shop.base_rate = EarnRate::new(pts("1"), dec!(10)).unwrap();
    shop.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(pts("1"), money("1")).unwrap(),
        min_points: pts("10"),
        max_bill_share: Percent::new(dec!(50)).unwrap(),
        max_points_per_bill: None,
    });
    let shop = shop.validate().unwrap();
    let bill = bill(vec![BillLine {
        category: None,
        amount: money("500"),
    }]);
    let mut checkout = input(&shop, &bill, Some("30"));
    checkout.available = pts("150");
    let q = quote(&checkout).unwrap();
    assert_eq!(q.to_pay, money("470"));
    assert_eq!(q.earning.total, pts("47"));
}
