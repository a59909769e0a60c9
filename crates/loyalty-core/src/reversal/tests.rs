//! Proportional reversal with cumulative rounding down, and where taken-back points come from.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal_macros::dec;
use uuid::Uuid;

use super::*;
use crate::values::{Currency, Rounding};

fn p(n: u64) -> Points {
    Points::whole(n).unwrap()
}

fn inr() -> Currency {
    Currency::new("INR").unwrap()
}

fn money(amount: Decimal) -> Money {
    Money::new(amount, inr()).unwrap()
}

fn whole() -> PointPrecision {
    PointPrecision::new(0, Rounding::Down).unwrap()
}

/// ORDER123: 500.00, earned 50, gave the referrer 5, used 30.
fn order123() -> BillRecord {
    BillRecord {
        total: money(dec!(500)),
        returned: money(dec!(0)),
        earned: p(50),
        earned_reversed: p(0),
        referral: p(5),
        referral_reversed: p(0),
        redeemed: p(30),
        redeemed_returned: p(0),
    }
}

/// Applies a plan to the record, as the store does.
fn after(bill: &BillRecord, plan: &ReversalPlan) -> BillRecord {
    BillRecord {
        returned: plan.returned_after,
        earned_reversed: bill
            .earned_reversed
            .checked_add(plan.earned_to_reverse)
            .unwrap(),
        referral_reversed: bill
            .referral_reversed
            .checked_add(plan.referral_to_reverse)
            .unwrap(),
        redeemed_returned: bill
            .redeemed_returned
            .checked_add(plan.redeemed_to_return)
            .unwrap(),
        ..*bill
    }
}

#[test]
fn cancelling_a_bill_reverses_everything_it_earned_gave_and_used() {
    let plan = plan_reversal(whole(), &order123(), None).unwrap();
    assert_eq!(plan.returned_after, money(dec!(500)));
    assert_eq!(
        (
            plan.earned_to_reverse,
            plan.referral_to_reverse,
            plan.redeemed_to_return
        ),
        (p(50), p(5), p(30))
    );
}

#[test]
fn a_partial_return_reverses_proportionally_rounding_down() {
    // 170 of 500 returned: 50 × 0.34 = 17, 5 × 0.34 = 1.7 -> 1, 30 × 0.34 = 10.2 -> 10.
    let plan = plan_reversal(whole(), &order123(), Some(money(dec!(170)))).unwrap();
    assert_eq!(
        (
            plan.earned_to_reverse,
            plan.referral_to_reverse,
            plan.redeemed_to_return
        ),
        (p(17), p(1), p(10))
    );
}

#[test]
fn the_last_return_reverses_what_earlier_rounding_left_behind() {
    let first = plan_reversal(whole(), &order123(), Some(money(dec!(170)))).unwrap();
    let bill = after(&order123(), &first);
    let rest = plan_reversal(whole(), &bill, None).unwrap();
    assert_eq!(
        (
            rest.earned_to_reverse,
            rest.referral_to_reverse,
            rest.redeemed_to_return
        ),
        (p(33), p(4), p(20))
    );
}

#[test]
fn fractional_points_are_rounded_down_to_the_programs_decimals() {
    let pharmacy = PointPrecision::new(2, Rounding::HalfUp).unwrap();
    let bill = BillRecord {
        earned: Points::new(dec!(10.01)).unwrap(),
        ..order123()
    };
    // Half of 10.01 is 5.005 -> 5.00 (down, whatever the program's own rounding mode).
    let plan = plan_reversal(pharmacy, &bill, Some(money(dec!(250)))).unwrap();
    assert_eq!(plan.earned_to_reverse.value(), dec!(5));
}

#[test]
fn returning_more_than_what_remains_of_the_bill_is_refused() {
    let first = plan_reversal(whole(), &order123(), Some(money(dec!(400)))).unwrap();
    let bill = after(&order123(), &first);
    assert_eq!(
        plan_reversal(whole(), &bill, Some(money(dec!(101)))),
        Err(Error::ReversalExceedsBill {
            requested: dec!(101),
            remaining: dec!(100),
            total: dec!(500)
        })
    );
}

#[test]
fn a_fully_returned_bill_cannot_be_cancelled_again() {
    let plan = plan_reversal(whole(), &order123(), None).unwrap();
    let bill = after(&order123(), &plan);
    assert!(matches!(
        plan_reversal(whole(), &bill, None),
        Err(Error::ReversalExceedsBill { .. })
    ));
}

#[test]
fn returning_a_zero_amount_is_refused() {
    assert!(matches!(
        plan_reversal(whole(), &order123(), Some(money(dec!(0)))),
        Err(Error::NotPositive { .. })
    ));
}

#[test]
fn returning_an_amount_in_another_currency_is_refused() {
    let usd = Money::new(dec!(10), Currency::new("USD").unwrap()).unwrap();
    assert!(matches!(
        plan_reversal(whole(), &order123(), Some(usd)),
        Err(Error::CurrencyMismatch { .. })
    ));
}

#[test]
fn a_record_that_reversed_more_than_it_earned_is_refused() {
    let bill = BillRecord {
        earned_reversed: p(51),
        ..order123()
    };
    assert!(matches!(
        plan_reversal(whole(), &bill, None),
        Err(Error::InvalidBill(_))
    ));
}

#[test]
fn a_bill_with_a_zero_total_is_refused() {
    let bill = BillRecord {
        total: money(dec!(0)),
        ..order123()
    };
    assert!(plan_reversal(whole(), &bill, None).is_err());
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
}

fn lot(id: u128, points: u64, expires_in_days: Option<i64>, pending: bool) -> Lot {
    Lot {
        id: Uuid::from_u128(id),
        remaining: p(points),
        spendable_from: now() - TimeDelta::days(1),
        expires_at: expires_in_days.map(|d| now() + TimeDelta::days(d)),
        pending,
    }
}

fn alloc(id: u128, points: u64) -> Allocation {
    Allocation {
        lot_id: Uuid::from_u128(id),
        points: p(points),
    }
}

#[test]
fn take_back_starts_with_the_bills_own_lots_even_when_pending() {
    let own = [lot(123, 50, None, true)];
    let others = [lot(1, 150, Some(10), false)];
    let plan = plan_take_back(
        &own,
        &others,
        p(50),
        p(150),
        p(50),
        ReturnPolicy::CapAtAvailable,
        now(),
    )
    .unwrap();
    assert_eq!(plan.from_lots, vec![alloc(123, 50)]);
    assert!(plan.forgiven.is_zero() && plan.to_debt.is_zero());
}

#[test]
fn take_back_then_uses_other_spendable_lots_earliest_expiry_first() {
    let own = [lot(123, 20, None, false)];
    let others = [
        lot(1, 100, None, false),
        lot(2, 10, Some(30), false),
        lot(3, 100, Some(5), true),
        lot(4, 100, Some(-1), false),
    ];
    let plan = plan_take_back(
        &own,
        &others,
        p(50),
        p(230),
        p(100),
        ReturnPolicy::CapAtAvailable,
        now(),
    )
    .unwrap();
    assert_eq!(
        plan.from_lots,
        vec![alloc(123, 20), alloc(2, 10), alloc(1, 20)]
    );
}

#[test]
fn under_cap_at_available_what_cannot_be_taken_is_forgiven() {
    let own = [lot(123, 20, None, false)];
    let plan = plan_take_back(
        &own,
        &[],
        p(50),
        p(20),
        p(0),
        ReturnPolicy::CapAtAvailable,
        now(),
    )
    .unwrap();
    assert_eq!((plan.forgiven, plan.to_debt), (p(30), p(0)));
}

#[test]
fn under_allow_debt_what_cannot_be_taken_becomes_debt() {
    let own = [lot(123, 20, None, false)];
    let plan = plan_take_back(
        &own,
        &[],
        p(50),
        p(20),
        p(0),
        ReturnPolicy::AllowDebt,
        now(),
    )
    .unwrap();
    assert_eq!((plan.to_debt, plan.forgiven), (p(30), p(0)));
}

#[test]
fn take_back_never_takes_more_from_lots_than_the_balance_buckets_hold() {
    let own = [lot(123, 50, None, false)];
    let plan = plan_take_back(
        &own,
        &[],
        p(50),
        p(30),
        p(0),
        ReturnPolicy::AllowDebt,
        now(),
    )
    .unwrap();
    assert_eq!(
        (plan.from_lots, plan.to_debt),
        (vec![alloc(123, 30)], p(20))
    );
}

proptest! {
    #[test]
    fn partial_reversals_summing_to_the_whole_bill_reverse_exactly_what_was_earned(
        earned in 0u64..10_000,
        referral in 0u64..1_000,
        redeemed in 0u64..10_000,
        total_cents in 1u64..10_000_000,
        cuts in prop::collection::vec(1u64..1_000, 0..6),
        decimals in 0u32..=2,
    ) {
        let precision = PointPrecision::new(decimals, Rounding::HalfUp).unwrap();
        let total = money(Decimal::new(total_cents as i64, 2));
        let mut bill = BillRecord {
            total,
            returned: money(dec!(0)),
            earned: p(earned),
            earned_reversed: p(0),
            referral: p(referral),
            referral_reversed: p(0),
            redeemed: p(redeemed),
            redeemed_returned: p(0),
        };
        for cut in cuts {
            let remaining = total.saturating_sub(&bill.returned).unwrap();
            let share = Decimal::new((total_cents * cut / 1_000) as i64, 2).min(remaining.amount());
            if share.is_zero() || share == remaining.amount() {
                continue;
            }
            let plan = plan_reversal(precision, &bill, Some(money(share))).unwrap();
            bill = after(&bill, &plan);
            // Rounding never creates points: never more than the exact share so far.
            let exact = |of: u64| Decimal::from(of) * bill.returned.amount() / total.amount();
            prop_assert!(bill.earned_reversed.value() <= exact(earned));
            prop_assert!(bill.referral_reversed.value() <= exact(referral));
            prop_assert!(bill.redeemed_returned.value() <= exact(redeemed));
        }
        let last = plan_reversal(precision, &bill, None).unwrap();
        bill = after(&bill, &last);
        prop_assert_eq!(bill.returned, total);
        prop_assert_eq!(bill.earned_reversed, p(earned));
        prop_assert_eq!(bill.referral_reversed, p(referral));
        prop_assert_eq!(bill.redeemed_returned, p(redeemed));
    }

    #[test]
    fn rounding_never_creates_points(
        earned_hundredths in 0i64..10_000_000,
        total_cents in 1i64..10_000_000,
        returned_per_mille in 1i64..=1_000,
        decimals in 0u32..=4,
    ) {
        let precision = PointPrecision::new(decimals, Rounding::HalfUp).unwrap();
        let total = Decimal::new(total_cents, 2);
        let part = (Decimal::new(total_cents * returned_per_mille / 1_000, 2)).max(dec!(0.01));
        let earned = Points::new(Decimal::new(earned_hundredths, 2)).unwrap();
        let bill = BillRecord { total: money(total), earned, ..order123() };
        let plan = plan_reversal(precision, &bill, Some(money(part))).unwrap();
        let exact = earned.value() * part / total;
        prop_assert!(plan.earned_to_reverse.value() <= exact);
        prop_assert!(plan.earned_to_reverse <= earned);
        // ... and loses less than one unit of the program's precision.
        prop_assert!(exact - plan.earned_to_reverse.value() < Decimal::new(1, decimals));
    }

    #[test]
    fn take_back_accounts_for_every_point_and_never_overdraws_a_lot(
        own_points in prop::collection::vec((0u64..100, any::<bool>()), 0..3),
        other_points in prop::collection::vec((0u64..100, any::<bool>()), 0..4),
        amount in 0u64..500,
        allow_debt in any::<bool>(),
    ) {
        let own: Vec<Lot> = own_points.iter().enumerate().map(|(i, (n, pend))| lot(100 + i as u128, *n, None, *pend)).collect();
        let others: Vec<Lot> = other_points.iter().enumerate().map(|(i, (n, pend))| lot(i as u128, *n, Some(i as i64), *pend)).collect();
        let sum = |pending: bool| -> Points { own.iter().chain(&others).filter(|l| l.pending == pending).map(|l| l.remaining).sum::<Result<Points>>().unwrap() };
        let policy = if allow_debt { ReturnPolicy::AllowDebt } else { ReturnPolicy::CapAtAvailable };
        let plan = plan_take_back(&own, &others, p(amount), sum(false), sum(true), policy, now()).unwrap();
        let taken: Points = plan.from_lots.iter().map(|a| a.points).sum::<Result<Points>>().unwrap();
        prop_assert_eq!(taken.checked_add(plan.to_debt).unwrap().checked_add(plan.forgiven).unwrap(), p(amount));
        prop_assert!(plan.to_debt.is_zero() || allow_debt);
        prop_assert!(plan.forgiven.is_zero() || !allow_debt);
        let mut lots: Vec<Lot> = own.iter().chain(&others).cloned().collect();
        prop_assert!(crate::lots::apply_spend(&mut lots, &plan.from_lots).is_ok());
        for a in &plan.from_lots {
            let from_others = others.iter().find(|l| l.id == a.lot_id);
            prop_assert!(from_others.is_none_or(|l| !l.pending));
        }
    }
}
