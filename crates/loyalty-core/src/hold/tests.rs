//! Reserve, capture, release, expire: a hold is resolved exactly once.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::lots::{apply_spend, restore};

fn p(n: u64) -> Points {
    Points::whole(n).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
}

fn ttl() -> DateTime<Utc> {
    now() + TimeDelta::minutes(15)
}

fn lot(id: u128, points: u64, expires_in_days: Option<i64>) -> Lot {
    Lot {
        id: Uuid::from_u128(id),
        remaining: p(points),
        spendable_from: now() - TimeDelta::days(30),
        expires_at: expires_in_days.map(|d| now() + TimeDelta::days(d)),
        pending: false,
    }
}

fn alloc(id: u128, points: u64) -> Allocation {
    Allocation {
        lot_id: Uuid::from_u128(id),
        points: p(points),
    }
}

/// 150 points in two lots: 100 expiring in 10 days, 50 never.
fn lots() -> Vec<Lot> {
    vec![lot(1, 50, None), lot(2, 100, Some(10))]
}

fn hold_of(points: u64) -> Hold {
    Hold::reserve(&lots(), p(points), now(), ttl()).unwrap()
}

#[test]
fn status_names_round_trip_through_storage() {
    for status in HoldStatus::ALL {
        assert_eq!(status.as_str().parse::<HoldStatus>().unwrap(), status);
        assert_eq!(status.to_string(), status.as_str());
    }
}

#[test]
fn reserving_takes_the_lots_that_expire_first() {
    let hold = hold_of(120);
    assert_eq!(hold.status, HoldStatus::Active);
    assert_eq!(hold.allocations, vec![alloc(2, 100), alloc(1, 20)]);
}

#[test]
fn reserving_more_than_is_spendable_is_insufficient_points() {
    assert!(matches!(
        Hold::reserve(&lots(), p(151), now(), ttl()),
        Err(Error::InsufficientPoints { .. })
    ));
}

#[test]
fn reserving_zero_points_or_with_a_past_expiry_is_refused() {
    assert!(Hold::reserve(&lots(), p(0), now(), ttl()).is_err());
    assert!(Hold::reserve(&lots(), p(30), now(), now()).is_err());
}

#[test]
fn held_points_cannot_be_spent_twice() {
    let mut lots = lots();
    let hold = Hold::reserve(&lots, p(120), now(), ttl()).unwrap();
    apply_spend(&mut lots, &hold.allocations).unwrap();
    assert!(Hold::reserve(&lots, p(31), now(), ttl()).is_err());
    assert!(Hold::reserve(&lots, p(30), now(), ttl()).is_ok());
}

#[test]
fn a_full_capture_redeems_everything_and_releases_nothing() {
    let mut hold = hold_of(120);
    let outcome = hold.capture(None, now()).unwrap();
    assert_eq!(outcome.captured, p(120));
    assert_eq!(outcome.captured_allocations, hold.allocations);
    assert!(outcome.released.is_zero() && outcome.released_allocations.is_empty());
    assert_eq!(hold.status, HoldStatus::Captured);
}

#[test]
fn a_partial_capture_takes_the_earliest_expiring_points_and_releases_the_rest() {
    let mut hold = hold_of(120);
    let outcome = hold.capture(Some(p(110)), now()).unwrap();
    assert_eq!(outcome.captured, p(110));
    assert_eq!(
        outcome.captured_allocations,
        vec![alloc(2, 100), alloc(1, 10)]
    );
    assert_eq!(outcome.released, p(10));
    assert_eq!(outcome.released_allocations, vec![alloc(1, 10)]);
}

#[test]
fn the_released_part_of_a_capture_goes_back_to_the_same_lots() {
    let mut lots = lots();
    let mut hold = Hold::reserve(&lots, p(120), now(), ttl()).unwrap();
    apply_spend(&mut lots, &hold.allocations).unwrap();
    let outcome = hold.capture(Some(p(50)), now()).unwrap();
    restore(&mut lots, &outcome.released_allocations).unwrap();
    assert_eq!((lots[0].remaining, lots[1].remaining), (p(50), p(50)));
}

#[test]
fn capturing_more_than_is_held_is_refused_and_changes_nothing() {
    let mut hold = hold_of(30);
    assert_eq!(
        hold.capture(Some(p(31)), now()),
        Err(Error::CaptureExceedsHold {
            requested: p(31).value(),
            held: p(30).value()
        })
    );
    assert_eq!(hold, hold_of(30));
}

#[test]
fn capturing_zero_points_is_refused() {
    assert!(matches!(
        hold_of(30).capture(Some(p(0)), now()),
        Err(Error::NotPositive { .. })
    ));
}

#[test]
fn a_hold_cannot_be_captured_once_its_time_to_live_is_over() {
    let mut hold = hold_of(30);
    assert!(matches!(
        hold.capture(None, ttl()),
        Err(Error::HoldExpired { .. })
    ));
    assert!(hold.capture(None, ttl() - TimeDelta::seconds(1)).is_ok());
}

#[test]
fn a_hold_cannot_be_captured_after_it_was_released() {
    let mut hold = hold_of(30);
    hold.release().unwrap();
    assert_eq!(
        hold.capture(None, now()),
        Err(Error::HoldAlreadyResolved { status: "released" })
    );
}

#[test]
fn a_hold_cannot_be_released_twice() {
    let mut hold = hold_of(30);
    assert_eq!(hold.release().unwrap().released, p(30));
    assert!(matches!(
        hold.release(),
        Err(Error::HoldAlreadyResolved { .. })
    ));
}

#[test]
fn a_released_hold_is_not_expired_again_by_the_sweep() {
    let mut hold = hold_of(30);
    let outcome = hold.release().unwrap();
    assert_eq!(outcome.released_allocations, vec![alloc(2, 30)]);
    assert!(hold.expire(ttl()).is_err());
}

#[test]
fn a_hold_cannot_be_expired_before_its_time_to_live() {
    let mut hold = hold_of(30);
    assert!(matches!(
        hold.expire(ttl() - TimeDelta::seconds(1)),
        Err(Error::HoldNotExpired { .. })
    ));
    assert_eq!(hold.status, HoldStatus::Active);
}

#[test]
fn an_expired_hold_gives_everything_back_and_cannot_be_captured() {
    let mut hold = hold_of(120);
    let outcome = hold.expire(ttl()).unwrap();
    assert_eq!((outcome.captured, outcome.released), (p(0), p(120)));
    assert_eq!(outcome.released_allocations, hold.allocations);
    assert_eq!(hold.status, HoldStatus::Expired);
    assert!(matches!(
        hold.capture(None, now()),
        Err(Error::HoldAlreadyResolved { status: "expired" })
    ));
}

#[test]
fn a_hold_whose_allocations_do_not_add_up_is_refused() {
    let mut hold = hold_of(30);
    hold.points = p(40);
    assert!(matches!(hold.release(), Err(Error::InvalidField { .. })));
}

#[derive(Debug, Clone)]
enum Call {
    Capture(Option<u64>, i64),
    Release,
    Expire(i64),
}

fn arb_call() -> impl Strategy<Value = Call> {
    prop_oneof![
        (prop::option::of(1u64..40), -5i64..25).prop_map(|(a, m)| Call::Capture(a, m)),
        Just(Call::Release),
        (-5i64..25).prop_map(Call::Expire),
    ]
}

proptest! {
    #[test]
    fn a_hold_is_resolved_exactly_once(points in 1u64..40, calls in prop::collection::vec(arb_call(), 1..8)) {
        let mut hold = hold_of(points);
        let mut successes = 0;
        let mut outcomes = Vec::new();
        for call in &calls {
            let before = hold.clone();
            let result = match call {
                Call::Capture(amount, minutes) => hold.capture(amount.map(p), now() + TimeDelta::minutes(*minutes)),
                Call::Release => hold.release(),
                Call::Expire(minutes) => hold.expire(now() + TimeDelta::minutes(*minutes)),
            };
            match result {
                Ok(outcome) => {
                    successes += 1;
                    outcomes.push(outcome);
                }
                Err(_) => prop_assert_eq!(&hold, &before, "a refused call changed the hold"),
            }
        }
        prop_assert!(successes <= 1);
        if successes == 1 {
            prop_assert!(hold.status.is_resolved());
            let outcome = &outcomes[0];
            prop_assert_eq!(outcome.captured.checked_add(outcome.released).unwrap(), p(points));
        }
        // Whatever happened, one more release or an expiry after the TTL would settle an active
        // hold, and never a resolved one.
        let settled = hold.release().is_ok() || hold.expire(ttl()).is_ok();
        prop_assert_eq!(settled, successes == 0);
    }
}
