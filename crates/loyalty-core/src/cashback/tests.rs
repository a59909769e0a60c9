//! Cashback wallet rules: what a cashback program must be, its percentages and its records'
//! status.

use chrono::{Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;
use crate::program::RedemptionRules;
use crate::values::{ConversionRate, Currency, Money, PointPrecision, Rounding};
use crate::{BillLine, Category, CategoryRule, EarnInput, Earning, compute_earning};

fn eur() -> Currency {
    Currency::new("EUR").unwrap()
}

/// 2 % back, 5 % on "Electronics", at most 10.00 per bill, 14 days' return window.
fn wallet(currency: Currency, decimals: u32) -> ProgramRules {
    let mut rules = ProgramRules::new(currency);
    rules.kind = ProgramKind::Cashback;
    rules.precision = PointPrecision::new(decimals, Rounding::Down).unwrap();
    rules.base_rate = EarnRate::new(Points::new(dec!(2)).unwrap(), dec!(100)).unwrap();
    rules.categories = vec![CategoryRule {
        category: Category::new("Electronics").unwrap(),
        earn_percent: Percent::new(dec!(5)).unwrap(),
    }];
    rules.earn_cap_per_bill = Some(Points::new(dec!(10)).unwrap());
    rules.pending_days = 14;
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(
            Points::whole(1).unwrap(),
            Money::new(dec!(1), currency).unwrap(),
        )
        .unwrap(),
        min_points: Points::ZERO,
        max_bill_share: Percent::HUNDRED,
        max_points_per_bill: None,
    });
    rules
}

/// What a bill of `lines` earns (no tier, no campaign).
fn earn(rules: &crate::Rules, lines: &[(Option<&str>, Decimal)]) -> Earning {
    let lines: Vec<BillLine> = lines
        .iter()
        .map(|(category, amount)| BillLine {
            category: category.map(|c| Category::new(c).unwrap()),
            amount: Money::new(*amount, eur()).unwrap(),
        })
        .collect();
    let total: Decimal = lines.iter().map(|l| l.amount.amount()).sum();
    compute_earning(&EarnInput {
        rules,
        tier: None,
        campaigns: &[],
        lines: &lines,
        bill_total: Money::new(total, eur()).unwrap(),
        at: Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap(),
    })
    .unwrap()
}

#[test]
fn a_cashback_program_in_euros_keeps_two_decimals() {
    assert!(wallet(eur(), 2).validate().is_ok());
}

#[test]
fn a_cashback_program_in_yen_keeps_whole_yen() {
    let jpy = Currency::new("JPY").unwrap();
    assert!(wallet(jpy, 0).validate().is_ok());
    assert!(matches!(
        wallet(jpy, 2).validate(),
        Err(Error::InvalidConfig(m)) if m.contains("JPY has 0, got 2")
    ));
}

#[test]
fn a_cashback_program_whose_point_decimals_are_not_the_currency_minor_units_is_refused() {
    for decimals in [0, 1, 3, 4] {
        let refused = wallet(eur(), decimals).validate();
        assert!(
            matches!(&refused, Err(Error::InvalidConfig(m)) if m.contains("minor units")),
            "{decimals}: {refused:?}"
        );
    }
}

#[test]
fn a_points_program_may_keep_any_point_decimals() {
    let mut rules = wallet(eur(), 0);
    rules.kind = ProgramKind::Points;
    rules.redemption = None;
    assert!(rules.validate().is_ok());
}

#[test]
fn a_cashback_program_must_redeem_one_to_one() {
    let mut rules = wallet(eur(), 2);
    rules.redemption.as_mut().unwrap().rate = ConversionRate::new(
        Points::whole(100).unwrap(),
        Money::new(dec!(10), eur()).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        rules.validate(),
        Err(Error::InvalidConfig(m)) if m.contains("redeems 1:1")
    ));
    let mut rules = wallet(eur(), 2);
    rules.redemption.as_mut().unwrap().rate = ConversionRate::new(
        Points::whole(100).unwrap(),
        Money::new(dec!(100), eur()).unwrap(),
    )
    .unwrap();
    assert!(rules.validate().is_ok(), "100 points = 100.00 is still 1:1");
}

#[test]
fn a_cashback_program_without_redemption_is_refused() {
    let mut rules = wallet(eur(), 2);
    rules.redemption = None;
    assert!(matches!(
        rules.validate(),
        Err(Error::InvalidConfig(m)) if m.contains("must set redemption")
    ));
}

#[test]
fn the_base_and_category_percentages_give_money_rounded_down_to_the_cent_once_per_bill() {
    let rules = wallet(eur(), 2).validate().unwrap();
    let earning = earn(
        &rules,
        &[(None, dec!(123.45)), (Some("Electronics"), dec!(99.99))],
    );
    // 2 % of 123.45 = 2.469 and 5 % of 99.99 = 4.9995: 7.4685, rounded down to 7.46.
    assert_eq!(earning.total.value(), dec!(7.46));
    assert_eq!(earning.cap_reduction, Points::ZERO);
}

#[test]
fn the_cap_per_bill_limits_the_cashback_and_shows_what_it_cut() {
    let rules = wallet(eur(), 2).validate().unwrap();
    let earning = earn(&rules, &[(Some("Electronics"), dec!(400))]);
    assert_eq!(earning.total.value(), dec!(10));
    assert_eq!(earning.cap_reduction.value(), dec!(10));
}

#[test]
fn the_base_rate_reads_as_a_percentage() {
    let rules = wallet(eur(), 2);
    assert_eq!(rate_percent(&rules.base_rate).unwrap(), dec!(2));
    let third = EarnRate::new(Points::whole(1).unwrap(), dec!(3)).unwrap();
    assert_eq!(rate_percent(&third).unwrap(), dec!(33.333333));
}

#[test]
fn the_effective_percentage_is_what_was_given_over_the_amount() {
    let given = Points::new(dec!(10)).unwrap();
    assert_eq!(effective_percent(given, dec!(400)).unwrap(), dec!(2.5));
    assert_eq!(effective_percent(given, dec!(3)).unwrap(), dec!(333.3333));
}

#[test]
fn a_record_is_pending_inside_the_return_window_then_processed() {
    let earned = Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap();
    let available_from = earned + Duration::days(14);
    let five = Points::new(dec!(5)).unwrap();
    assert_eq!(
        status(five, Points::ZERO, available_from, earned),
        CashbackStatus::Pending
    );
    assert_eq!(
        status(
            five,
            Points::ZERO,
            available_from,
            available_from - Duration::seconds(1)
        ),
        CashbackStatus::Pending
    );
    assert_eq!(
        status(five, Points::ZERO, available_from, available_from),
        CashbackStatus::Processed
    );
}

#[test]
fn a_record_is_reversed_only_when_returns_took_back_all_of_it() {
    let now = Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap();
    let five = Points::new(dec!(5)).unwrap();
    let two = Points::new(dec!(2)).unwrap();
    assert_eq!(status(five, two, now, now), CashbackStatus::Processed);
    assert_eq!(
        status(five, two, now + Duration::days(1), now),
        CashbackStatus::Pending
    );
    assert_eq!(
        status(five, five, now + Duration::days(1), now),
        CashbackStatus::Reversed
    );
    // A bill that earned nothing was never reversed.
    assert_eq!(
        status(Points::ZERO, Points::ZERO, now, now),
        CashbackStatus::Processed
    );
}
