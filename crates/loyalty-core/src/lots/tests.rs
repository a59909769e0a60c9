//! Lot dates, spending order, spend/restore, expiry and maturing.

use chrono::{DateTime, Days, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal_macros::dec;

use super::*;
use crate::program::ProgramRules;
use crate::values::Currency;

fn p(n: u64) -> Points {
    Points::whole(n).unwrap()
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}

fn shop(expiry: ExpiryPolicy, pending_days: u32) -> Rules {
    let mut rules = ProgramRules::new(Currency::new("INR").unwrap());
    rules.expiry = expiry;
    rules.pending_days = pending_days;
    rules.validate().unwrap()
}

fn lot(id: u128, points: u64, expires_at: Option<DateTime<Utc>>) -> Lot {
    Lot {
        id: Uuid::from_u128(id),
        remaining: p(points),
        spendable_from: at(2025, 1, 1),
        expires_at,
        pending: false,
    }
}

fn alloc(id: u128, points: u64) -> Allocation {
    Allocation {
        lot_id: Uuid::from_u128(id),
        points: p(points),
    }
}

#[test]
fn points_expire_twelve_calendar_months_after_they_were_earned() {
    let (from, expires) =
        new_lot_dates(&shop(ExpiryPolicy::AfterMonths(12), 0), at(2025, 3, 15)).unwrap();
    assert_eq!((from, expires), (at(2025, 3, 15), Some(at(2026, 3, 15))));
}

#[test]
fn expiry_at_a_month_end_is_clamped_to_the_shorter_month() {
    let (_, expires) =
        new_lot_dates(&shop(ExpiryPolicy::AfterMonths(1), 0), at(2025, 1, 31)).unwrap();
    assert_eq!(expires, Some(at(2025, 2, 28)));
}

#[test]
fn points_of_a_program_without_expiry_never_expire() {
    let (_, expires) = new_lot_dates(&shop(ExpiryPolicy::Never, 0), at(2025, 3, 15)).unwrap();
    assert_eq!(expires, None);
}

#[test]
fn points_become_spendable_after_the_pending_days() {
    let (from, _) = new_lot_dates(&shop(ExpiryPolicy::Never, 14), at(2025, 3, 1)).unwrap();
    assert_eq!(from, at(2025, 3, 15));
}

#[test]
fn an_earned_lot_is_pending_only_when_the_program_has_a_pending_period() {
    let now = at(2025, 3, 1);
    let id = Uuid::from_u128(123);
    let pending = new_lot(
        &shop(ExpiryPolicy::Never, 14),
        EntryKind::Earned,
        id,
        p(50),
        now,
    );
    assert!(pending.unwrap().pending);
    let at_once = new_lot(
        &shop(ExpiryPolicy::Never, 0),
        EntryKind::Earned,
        id,
        p(50),
        now,
    );
    assert!(!at_once.unwrap().pending);
}

#[test]
fn returned_and_adjusted_points_are_spendable_at_once_but_still_expire() {
    let rules = shop(ExpiryPolicy::AfterMonths(12), 14);
    for kind in [EntryKind::Returned, EntryKind::Adjusted] {
        let lot = new_lot(&rules, kind, Uuid::from_u128(1), p(30), at(2025, 3, 1)).unwrap();
        assert!(!lot.pending);
        assert_eq!(lot.spendable_from, at(2025, 3, 1));
        assert_eq!(lot.expires_at, Some(at(2026, 3, 1)));
    }
}

#[test]
fn a_lot_of_zero_points_or_from_a_debit_is_refused() {
    let rules = shop(ExpiryPolicy::Never, 0);
    let id = Uuid::from_u128(1);
    let now = at(2025, 3, 1);
    assert!(new_lot(&rules, EntryKind::Earned, id, p(0), now).is_err());
    assert!(new_lot(&rules, EntryKind::Expired, id, p(5), now).is_err());
}

#[test]
fn spending_takes_the_lot_that_expires_first() {
    let lots = [
        lot(1, 100, None),
        lot(2, 50, Some(at(2026, 1, 1))),
        lot(3, 50, Some(at(2025, 6, 1))),
    ];
    let plan = plan_spend(&lots, p(80), at(2025, 3, 1)).unwrap();
    assert_eq!(plan, vec![alloc(3, 50), alloc(2, 30)]);
}

#[test]
fn lots_that_never_expire_are_spent_last() {
    let lots = [lot(1, 100, None), lot(2, 50, Some(at(2026, 1, 1)))];
    let plan = plan_spend(&lots, p(60), at(2025, 3, 1)).unwrap();
    assert_eq!(plan, vec![alloc(2, 50), alloc(1, 10)]);
}

#[test]
fn equal_expiries_are_spent_by_spendable_from_then_by_id() {
    let mut later = lot(1, 10, None);
    later.spendable_from = at(2025, 2, 1);
    let lots = [later, lot(3, 10, None), lot(2, 10, None)];
    let plan = plan_spend(&lots, p(30), at(2025, 3, 1)).unwrap();
    assert_eq!(plan, vec![alloc(2, 10), alloc(3, 10), alloc(1, 10)]);
}

#[test]
fn pending_lots_are_never_spent() {
    let mut pending = lot(1, 100, Some(at(2025, 4, 1)));
    pending.pending = true;
    let lots = [pending, lot(2, 50, None)];
    assert_eq!(
        plan_spend(&lots, p(60), at(2025, 3, 1)),
        Err(Error::InsufficientPoints {
            requested: dec!(60),
            available: dec!(50)
        })
    );
}

#[test]
fn overdue_lots_are_never_spent_even_before_the_sweep() {
    let lots = [lot(1, 20, Some(at(2025, 3, 1))), lot(2, 150, None)];
    let plan = plan_spend(&lots, p(150), at(2025, 3, 1)).unwrap();
    assert_eq!(plan, vec![alloc(2, 150)]);
}

#[test]
fn spending_more_than_the_spendable_lots_hold_is_insufficient_points() {
    let lots = [lot(1, 150, None)];
    assert!(matches!(
        plan_spend(&lots, p(151), at(2025, 3, 1)),
        Err(Error::InsufficientPoints { .. })
    ));
}

#[test]
fn applying_a_spend_lowers_the_lots_and_restoring_gives_the_same_points_back() {
    let mut lots = [lot(1, 50, None), lot(2, 100, None)];
    let before = lots.clone();
    let spent = [alloc(1, 50), alloc(2, 30)];
    apply_spend(&mut lots, &spent).unwrap();
    assert_eq!((lots[0].remaining, lots[1].remaining), (p(0), p(70)));
    restore(&mut lots, &spent).unwrap();
    assert_eq!(lots, before);
}

#[test]
fn a_spend_larger_than_its_lot_changes_no_lot() {
    let mut lots = [lot(1, 50, None), lot(2, 10, None)];
    let before = lots.clone();
    assert!(apply_spend(&mut lots, &[alloc(1, 50), alloc(2, 11)]).is_err());
    assert_eq!(lots, before);
}

#[test]
fn an_allocation_for_an_unknown_lot_is_refused() {
    let mut lots = [lot(1, 50, None)];
    assert!(matches!(
        apply_spend(&mut lots, &[alloc(9, 1)]),
        Err(Error::InvalidField { .. })
    ));
    assert!(restore(&mut lots, &[alloc(9, 1)]).is_err());
    assert!(split(&lots, &[alloc(9, 1)]).is_err());
}

#[test]
fn overdue_lots_expire_whole_and_oldest_first() {
    let lots = [
        lot(1, 20, Some(at(2025, 3, 1))),
        lot(2, 30, Some(at(2025, 2, 1))),
        lot(3, 40, Some(at(2025, 3, 2))),
        lot(4, 0, Some(at(2025, 1, 1))),
        lot(5, 50, None),
    ];
    assert_eq!(
        overdue(&lots, at(2025, 3, 1)),
        vec![alloc(2, 30), alloc(1, 20)]
    );
}

#[test]
fn a_pending_lot_whose_expiry_passes_expires_from_pending_and_never_matures() {
    let mut late = lot(1, 50, Some(at(2025, 3, 1)));
    late.pending = true;
    late.spendable_from = at(2025, 3, 10);
    let lots = [late];
    let now = at(2025, 3, 20);
    assert_eq!(overdue(&lots, now), vec![alloc(1, 50)]);
    assert!(matured(&lots, now).is_empty());
    let by_bucket = split(&lots, &overdue(&lots, now)).unwrap();
    assert_eq!((by_bucket.available, by_bucket.pending), (p(0), p(50)));
}

#[test]
fn pending_lots_mature_when_their_pending_period_ends() {
    let mut lot_a = lot(1, 50, None);
    lot_a.pending = true;
    lot_a.spendable_from = at(2025, 3, 15);
    let mut lot_b = lot(2, 10, None);
    lot_b.pending = true;
    lot_b.spendable_from = at(2025, 3, 10);
    let lots = [lot_a, lot_b, lot(3, 70, None)];
    assert!(matured(&lots, at(2025, 3, 9)).is_empty());
    assert_eq!(matured(&lots, at(2025, 3, 10)), vec![alloc(2, 10)]);
    assert_eq!(
        matured(&lots, at(2025, 3, 15) + TimeDelta::seconds(1)),
        vec![alloc(2, 10), alloc(1, 50)]
    );
}

#[test]
fn a_pending_lot_is_pending_until_matured_even_after_its_spendable_from() {
    let mut lot_a = lot(1, 50, None);
    lot_a.pending = true;
    let later = at(2025, 1, 1).checked_add_days(Days::new(30)).unwrap();
    assert!(plan_spend(&[lot_a], p(1), later).is_err());
}

// ----- properties -----

fn arb_lots() -> impl Strategy<Value = Vec<Lot>> {
    prop::collection::vec(
        (
            0u64..200,
            prop::option::of(0i64..10),
            0i64..5,
            any::<bool>(),
        ),
        0..8,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (points, expiry_day, from_day, pending))| Lot {
                id: Uuid::from_u128(i as u128 + 1),
                remaining: p(points),
                spendable_from: at(2025, 1, 1) + TimeDelta::days(from_day),
                expires_at: expiry_day.map(|d| at(2025, 1, 1) + TimeDelta::days(d)),
                pending,
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn spending_then_restoring_restores_the_lots_exactly(lots in arb_lots(), amount in 0u64..600, day in 0i64..12) {
        let now = at(2025, 1, 1) + TimeDelta::days(day);
        if let Ok(plan) = plan_spend(&lots, p(amount), now) {
            let mut changed = lots.clone();
            apply_spend(&mut changed, &plan).unwrap();
            restore(&mut changed, &plan).unwrap();
            prop_assert_eq!(changed, lots);
        }
    }

    #[test]
    fn plan_spend_takes_only_spendable_lots_earliest_expiry_first(lots in arb_lots(), amount in 0u64..600, day in 0i64..12) {
        let now = at(2025, 1, 1) + TimeDelta::days(day);
        let spendable: Points = lots.iter().filter(|l| l.is_spendable(now)).map(|l| l.remaining).sum::<Result<Points>>().unwrap();
        match plan_spend(&lots, p(amount), now) {
            Err(Error::InsufficientPoints { available, .. }) => {
                prop_assert!(p(amount) > spendable);
                prop_assert_eq!(available, spendable.value());
            }
            Err(other) => prop_assert!(false, "unexpected {other}"),
            Ok(plan) => {
                let total: Points = plan.iter().map(|a| a.points).sum::<Result<Points>>().unwrap();
                prop_assert_eq!(total, p(amount));
                let used: Vec<&Lot> = plan.iter().map(|a| lots.iter().find(|l| l.id == a.lot_id).unwrap()).collect();
                for (allocation, lot) in plan.iter().zip(&used) {
                    prop_assert!(lot.is_spendable(now));
                    prop_assert!(allocation.points <= lot.remaining);
                }
                // Every lot before the last one used is emptied, and no unused spendable lot
                // comes earlier in spending order than a used one.
                for pair in used.windows(2) {
                    prop_assert_eq!(spend_order(pair[0], pair[1]), Ordering::Less);
                }
                for (allocation, lot) in plan.iter().zip(&used).take(plan.len().saturating_sub(1)) {
                    prop_assert_eq!(allocation.points, lot.remaining);
                }
                if let Some(last) = used.last() {
                    for unused in lots.iter().filter(|l| l.is_spendable(now) && !used.iter().any(|u| u.id == l.id)) {
                        prop_assert_eq!(spend_order(last, unused), Ordering::Less);
                    }
                }
            }
        }
    }
}

#[test]
fn a_bill_exactly_as_old_as_the_limit_is_accepted_and_a_microsecond_older_is_refused() {
    let mut rules = ProgramRules::new(Currency::new("INR").unwrap());
    rules.max_bill_age_days = Some(30);
    let rules = rules.validate().unwrap();
    let now = at(2026, 3, 31);
    let oldest = now - TimeDelta::days(30);
    assert!(check_bill_date(&rules, oldest, now).is_ok());
    let refused = check_bill_date(&rules, oldest - TimeDelta::microseconds(1), now);
    assert!(
        matches!(refused, Err(Error::Precondition(_))),
        "{refused:?}"
    );
}

#[test]
fn a_bill_whose_expiry_has_come_is_refused_and_one_a_second_younger_earns() {
    let rules = shop(ExpiryPolicy::AfterMonths(12), 0);
    let now = at(2026, 3, 31);
    let expired = at(2025, 3, 31);
    let refused = check_bill_date(&rules, expired, now);
    assert!(
        matches!(&refused, Err(Error::Precondition(m)) if m.contains("would have expired on 2026-03-31")),
        "{refused:?}"
    );
    assert!(check_bill_date(&rules, expired + TimeDelta::seconds(1), now).is_ok());
    // Without expiry, any bill's points are alive.
    let never = shop(ExpiryPolicy::Never, 0);
    assert!(check_bill_date(&never, at(2000, 1, 1), now).is_ok());
}

#[test]
fn a_dated_lot_counts_its_pending_days_and_expiry_from_the_bill() {
    let rules = shop(ExpiryPolicy::AfterMonths(12), 14);
    let now = at(2026, 3, 31);
    let bill_at = at(2026, 3, 21);
    let lot = new_dated_lot(
        &rules,
        EntryKind::Earned,
        Uuid::from_u128(1),
        p(50),
        bill_at,
        now,
    )
    .unwrap();
    assert!(lot.pending);
    assert_eq!(lot.spendable_from, at(2026, 4, 4));
    assert_eq!(lot.expires_at, Some(at(2027, 3, 21)));
    // Returned points are not a bill's: they count from now.
    let back = new_dated_lot(
        &rules,
        EntryKind::Returned,
        Uuid::from_u128(2),
        p(5),
        bill_at,
        now,
    )
    .unwrap();
    assert_eq!(back.spendable_from, now);
    assert_eq!(back.expires_at, Some(at(2027, 3, 31)));
}

#[test]
fn an_imported_lot_keeps_its_old_earn_date_and_is_spendable_at_once() {
    let rules = shop(ExpiryPolicy::AfterMonths(12), 14);
    let now = at(2026, 6, 1);
    let lot = imported_lot(
        &rules,
        Uuid::from_u128(1),
        p(50),
        at(2026, 5, 30),
        None,
        now,
    )
    .unwrap();
    assert!(!lot.pending, "no pending period starts again on import");
    assert_eq!(lot.spendable_from, at(2026, 5, 30));
    assert_eq!(lot.expires_at, Some(at(2027, 5, 30)));
}

#[test]
fn an_imported_lot_with_impossible_dates_or_points_is_refused() {
    let rules = shop(ExpiryPolicy::Never, 0);
    let now = at(2026, 6, 1);
    let import = |points: Points, earned: DateTime<Utc>, expires: Option<DateTime<Utc>>| {
        imported_lot(&rules, Uuid::from_u128(1), points, earned, expires, now)
    };
    assert!(matches!(
        import(p(0), at(2026, 1, 1), None),
        Err(Error::NotPositive { .. })
    ));
    assert!(matches!(
        import(Points::new(dec!(1.5)).unwrap(), at(2026, 1, 1), None),
        Err(Error::TooPrecise { .. })
    ));
    assert!(matches!(
        import(p(5), at(2026, 7, 1), None),
        Err(Error::InvalidField {
            what: "earned_at",
            ..
        })
    ));
    assert!(matches!(
        import(p(5), at(2026, 1, 1), Some(at(2025, 12, 1))),
        Err(Error::InvalidField {
            what: "expires_at",
            ..
        })
    ));
    assert!(matches!(
        import(p(5), at(2025, 1, 1), Some(at(2026, 5, 1))),
        Err(Error::Precondition(_))
    ));
    assert_eq!(import(p(5), at(2025, 1, 1), None).unwrap().expires_at, None);
}
