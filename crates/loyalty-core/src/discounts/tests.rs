//! Discount rules: order, rounding, the bill minimum, allocation and the invariants.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;
use crate::bill::BillLine;
use crate::program::{CategoryDiscount, ProgramRules};
use crate::values::Percent;

fn inr() -> Currency {
    Currency::new("INR").unwrap()
}

/// The pharmacy: Medicines 5 %, Baby Care 10 %, no bill discount.
fn pharmacy() -> ProgramRules {
    let mut rules = ProgramRules::new(inr());
    rules.discounts.categories = vec![
        CategoryDiscount {
            category: Category::new("Medicines").unwrap(),
            percent: Percent::new(dec!(5)).unwrap(),
        },
        CategoryDiscount {
            category: Category::new("Baby Care").unwrap(),
            percent: Percent::new(dec!(10)).unwrap(),
        },
    ];
    rules
}

fn with_bill_discount(discount: BillDiscount, minimum: Option<Decimal>) -> Rules {
    let mut rules = pharmacy();
    rules.discounts.bill = Some(discount);
    rules.discounts.bill_minimum = minimum.map(|m| Money::new(m, inr()).unwrap());
    rules.validate().unwrap()
}

fn flat(amount: Decimal) -> BillDiscount {
    BillDiscount::Amount(Money::new(amount, inr()).unwrap())
}

fn line(category: Option<&str>, amount: Decimal) -> BillLine {
    BillLine {
        category: category.map(|c| Category::new(c).unwrap()),
        amount: Money::new(amount, inr()).unwrap(),
    }
}

fn bill(lines: Vec<BillLine>) -> Bill {
    let at = Utc.with_ymd_and_hms(2025, 1, 15, 10, 0, 0).unwrap();
    Bill::new(lines, inr(), at).unwrap()
}

fn pharmacy_bill() -> Bill {
    bill(vec![
        line(Some("Medicines"), dec!(500)),
        line(Some("Baby Care"), dec!(200)),
        line(Some("General"), dec!(300)),
    ])
}

#[test]
fn category_discounts_take_their_percentage_of_each_line() {
    let d = apply_discounts(&pharmacy().validate().unwrap(), &pharmacy_bill()).unwrap();
    let parts: Vec<Decimal> = d
        .lines
        .iter()
        .map(|l| l.category_discount.amount())
        .collect();
    assert_eq!(parts, [dec!(25), dec!(20), dec!(0)]);
    assert_eq!(d.category_discount.amount(), dec!(45));
    assert!(d.bill_discount.is_zero());
    assert_eq!(d.total_discount.amount(), dec!(45));
    assert_eq!(d.net_total.amount(), dec!(955));
}

#[test]
fn category_discounts_are_rounded_down_to_the_minor_unit() {
    // 5 % of 10.99 is 0.5495: the member gets 0.54 off, not 0.55.
    let b = bill(vec![line(Some("Medicines"), dec!(10.99))]);
    let d = apply_discounts(&pharmacy().validate().unwrap(), &b).unwrap();
    assert_eq!(d.lines[0].category_discount.amount(), dec!(0.54));
    assert_eq!(d.lines[0].net.amount(), dec!(10.45));
}

#[test]
fn lines_without_a_category_or_a_discount_rule_pay_in_full() {
    let b = bill(vec![line(None, dec!(100)), line(Some("General"), dec!(50))]);
    let d = apply_discounts(&pharmacy().validate().unwrap(), &b).unwrap();
    assert!(d.total_discount.is_zero());
    assert_eq!(d.net_total, b.total());
}

#[test]
fn a_flat_bill_discount_is_spread_over_the_lines_in_proportion() {
    let rules = with_bill_discount(flat(dec!(50)), None);
    let d = apply_discounts(&rules, &pharmacy_bill()).unwrap();
    let parts: Vec<Decimal> = d.lines.iter().map(|l| l.bill_discount.amount()).collect();
    assert_eq!(parts, [dec!(24.87), dec!(9.42), dec!(15.71)]);
    assert_eq!(d.bill_discount.amount(), dec!(50));
    assert_eq!(d.total_discount.amount(), dec!(95));
    assert_eq!(d.net_total.amount(), dec!(905));
}

#[test]
fn a_flat_bill_discount_is_capped_at_what_is_left_of_the_bill() {
    let rules = with_bill_discount(flat(dec!(5000)), None);
    let d = apply_discounts(&rules, &pharmacy_bill()).unwrap();
    assert_eq!(d.bill_discount.amount(), dec!(955));
    assert!(d.net_total.is_zero());
    assert!(d.lines.iter().all(|l| l.net.is_zero()));
    assert_eq!(d.total_discount, pharmacy_bill().total());
}

#[test]
fn a_percentage_bill_discount_applies_after_category_discounts_and_rounds_down() {
    let rules = with_bill_discount(BillDiscount::Percent(Percent::new(dec!(3)).unwrap()), None);
    let d = apply_discounts(&rules, &pharmacy_bill()).unwrap();
    // 3 % of 955.00 (not of 1000.00) is 28.65.
    assert_eq!(d.bill_discount.amount(), dec!(28.65));
    let b = bill(vec![line(None, dec!(10.99))]);
    // 3 % of 10.99 is 0.3297 -> 0.32.
    assert_eq!(
        apply_discounts(&rules, &b).unwrap().bill_discount.amount(),
        dec!(0.32)
    );
}

#[test]
fn the_bill_discount_is_skipped_below_the_bill_minimum() {
    let rules = with_bill_discount(flat(dec!(50)), Some(dec!(1000.01)));
    let d = apply_discounts(&rules, &pharmacy_bill()).unwrap();
    assert!(d.bill_discount.is_zero());
    assert!(d.lines.iter().all(|l| l.bill_discount.is_zero()));
    assert_eq!(d.net_total.amount(), dec!(955));
}

#[test]
fn the_bill_minimum_is_judged_on_the_total_before_discounts() {
    // 1000.00 before discounts, 955.00 after category discounts: the minimum of 1000 is met.
    let rules = with_bill_discount(flat(dec!(50)), Some(dec!(1000)));
    let d = apply_discounts(&rules, &pharmacy_bill()).unwrap();
    assert_eq!(d.bill_discount.amount(), dec!(50));
}

#[test]
fn a_fully_discounted_bill_gets_no_bill_discount() {
    let mut rules = pharmacy();
    rules.discounts.categories[0].percent = Percent::HUNDRED;
    rules.discounts.bill = Some(flat(dec!(10)));
    let d = apply_discounts(
        &rules.validate().unwrap(),
        &bill(vec![line(Some("Medicines"), dec!(80))]),
    )
    .unwrap();
    assert!(d.bill_discount.is_zero());
    assert!(d.net_total.is_zero());
    assert_eq!(d.total_discount.amount(), dec!(80));
}

#[test]
fn lines_finer_than_the_minor_unit_never_go_below_zero() {
    let rules = with_bill_discount(flat(dec!(100)), None);
    let b = bill(vec![line(None, dec!(0.0051)), line(None, dec!(0.0049))]);
    let d = apply_discounts(&rules, &b).unwrap();
    assert_eq!(d.bill_discount.amount(), dec!(0.01));
    assert!(d.lines.iter().all(|l| l.net.is_zero()));
}

#[test]
fn a_bill_in_another_currency_is_rejected() {
    let usd = Currency::new("USD").unwrap();
    let b = Bill::new(
        vec![BillLine {
            category: None,
            amount: Money::new(dec!(10), usd).unwrap(),
        }],
        usd,
        Utc::now(),
    )
    .unwrap();
    assert!(matches!(
        apply_discounts(&pharmacy().validate().unwrap(), &b),
        Err(Error::CurrencyMismatch { expected, got }) if expected == "INR" && got == "USD"
    ));
}

fn any_line() -> impl Strategy<Value = BillLine> {
    (
        prop::option::of(prop::sample::select(vec![
            "Medicines",
            "Baby Care",
            "General",
        ])),
        0i64..=5_000_000,
        prop::bool::weighted(0.1),
    )
        .prop_map(|(category, cents, fine)| {
            // Now and then a line with four places, to exercise sub-minor amounts.
            let amount = if fine {
                Decimal::new(cents, 4)
            } else {
                Decimal::new(cents, 2)
            };
            line(category, amount)
        })
}

fn any_bill_discount() -> impl Strategy<Value = Option<BillDiscount>> {
    prop_oneof![
        Just(None),
        (0i64..=10_000_000).prop_map(|c| Some(flat(Decimal::new(c, 2)))),
        (0i64..=10_000).prop_map(|p| Some(BillDiscount::Percent(
            Percent::new(Decimal::new(p, 2)).unwrap()
        ))),
    ]
}

proptest! {
    #[test]
    fn discounts_never_make_a_line_negative_and_always_add_up(
        lines in prop::collection::vec(any_line(), 1..12),
        discount in any_bill_discount(),
        minimum in prop::option::of(0i64..=10_000_000),
    ) {
        let total: Decimal = lines.iter().map(|l| l.amount.amount()).sum();
        prop_assume!(!total.is_zero());
        let b = bill(lines);
        let mut rules = pharmacy();
        rules.discounts.bill = discount;
        rules.discounts.bill_minimum = minimum.map(|m| Money::new(Decimal::new(m, 2), inr()).unwrap());
        let d = apply_discounts(&rules.validate().unwrap(), &b).unwrap();

        prop_assert_eq!(d.net_total.amount() + d.total_discount.amount(), b.total().amount());
        prop_assert_eq!(
            d.total_discount.amount(),
            d.category_discount.amount() + d.bill_discount.amount()
        );
        let mut nets = Decimal::ZERO;
        let mut bill_parts = Decimal::ZERO;
        for l in &d.lines {
            // Money cannot be negative, so a negative net would already have failed above.
            prop_assert_eq!(
                l.net.amount(),
                l.amount.amount() - l.category_discount.amount() - l.bill_discount.amount()
            );
            nets += l.net.amount();
            bill_parts += l.bill_discount.amount();
        }
        prop_assert_eq!(nets, d.net_total.amount());
        prop_assert_eq!(bill_parts, d.bill_discount.amount());
    }
}
