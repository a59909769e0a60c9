//! `memberships.settle_due_at`: settling is skipped while nothing can be due, and points still
//! expire and mature exactly when due, on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod scenario;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};

use chrono::{DateTime, Duration, Months, NaiveDateTime, Utc};
use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};
use diesel::dsl::min;
use diesel::prelude::*;
use loyalty_core::{ExpiryPolicy, ReturnPolicy};
use loyalty_store::models::member::MembershipRow;
use loyalty_store::schema::{memberships, point_lots};
use loyalty_store::{CaptureRequest, Clock, ReleaseRequest, ReserveRequest, StoreError};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use scenario::*;

fn expiring_shop(t: &common::TestStore, name: &str) -> Shop {
    open_shop(
        t,
        name,
        shop_rules(ExpiryPolicy::AfterMonths(12), ReturnPolicy::CapAtAvailable),
    )
}

fn settle_due_at(t: &common::TestStore, membership: &str) -> Option<NaiveDateTime> {
    let mut conn = t.store.database().conn().unwrap();
    memberships::table
        .find(membership)
        .select(memberships::settle_due_at)
        .get_result(&mut *conn)
        .unwrap()
}

fn forget_settle_due_at(t: &common::TestStore, membership: &str) {
    let mut conn = t.store.database().conn().unwrap();
    diesel::update(memberships::table.find(membership))
        .set(memberships::settle_due_at.eq(None::<NaiveDateTime>))
        .execute(&mut *conn)
        .unwrap();
}

/// (earliest expiry of an open lot, earliest maturity of an open pending lot), computed with
/// Diesel's own `MIN` and bound predicates, independently of the store's literals.
fn due_times(
    t: &common::TestStore,
    membership: &str,
) -> (Option<NaiveDateTime>, Option<NaiveDateTime>) {
    let mut conn = t.store.database().conn().unwrap();
    let expiry: Option<NaiveDateTime> = point_lots::table
        .filter(point_lots::membership_id.eq(membership))
        .filter(point_lots::remaining.gt(0))
        .select(min(point_lots::expires_at))
        .get_result(&mut *conn)
        .unwrap();
    let maturity: Option<NaiveDateTime> = point_lots::table
        .filter(point_lots::membership_id.eq(membership))
        .filter(point_lots::remaining.gt(0))
        .filter(point_lots::pending.eq(true))
        .select(min(point_lots::spendable_from))
        .get_result(&mut *conn)
        .unwrap();
    (expiry, maturity)
}

/// The one lot's expiry of a membership with one lot.
fn only_lot_expiry(t: &common::TestStore, membership: &str) -> DateTime<Utc> {
    due_times(t, membership)
        .0
        .expect("an expiring lot")
        .and_utc()
}

fn micro() -> Duration {
    Duration::microseconds(1)
}

fn reserve(shop: &Shop, member: &str, reference: &str, points: &str) -> ReserveRequest {
    ReserveRequest {
        idempotency_key: key(),
        member_id: member.to_owned(),
        program_id: shop.program.clone(),
        reference: reference.to_owned(),
        lines: vec![line(None, "500")],
        at: None,
        points: pts(points),
        ttl_seconds: 900,
        actor: "checkout".into(),
    }
}

fn release(hold_id: &str) -> ReleaseRequest {
    ReleaseRequest {
        idempotency_key: key(),
        hold_id: hold_id.to_owned(),
        actor: "payments".into(),
    }
}

on_both_backends! {
    fn points_expire_exactly_when_due_although_settling_was_skipped_before(t) {
        let shop = expiring_shop(t, "Cathay Shop");
        let member = shop.member(t, "CARD-0001", None);
        let membership = shop.membership(t, &member);
        shop.earn(t, &member, "ORDER1", "1000"); // 100 points
        let due = only_lot_expiry(t, &membership);
        assert_eq!(due, common::start() + Months::new(12));
        assert_eq!(settle_due_at(t, &membership), Some(due.naive_utc()));

        t.clock.set(due - micro());
        shop.earn(t, &member, "ORDER2", "100"); // 10 points, settle skipped
        let b = shop.balances(t, &member);
        assert_eq!((b.available.value(), b.expired.value()), (d("110"), d("0")), "a microsecond early");
        assert_eq!(settle_due_at(t, &membership), Some(due.naive_utc()));

        t.clock.set(due);
        shop.earn(t, &member, "ORDER3", "100");
        let b = shop.balances(t, &member);
        assert_eq!((b.available.value(), b.expired.value()), (d("20"), d("100")), "exactly when due");
        let next = due - micro() + Months::new(12);
        assert_eq!(settle_due_at(t, &membership), Some(next.naive_utc()), "ORDER2's lot is next");
        assert_ledger_sound(t);
    }

    fn pending_points_mature_exactly_when_due(t) {
        let mut rules = shop_rules(ExpiryPolicy::Never, ReturnPolicy::CapAtAvailable);
        rules.pending_days = 14;
        let shop = open_shop(t, "Cathay Shop", rules);
        let member = shop.member(t, "CARD-0001", None);
        let membership = shop.membership(t, &member);
        assert!(settle_due_at(t, &membership).is_some(), "a new membership has nothing due");
        shop.earn(t, &member, "ORDER1", "1000");
        let matures = common::start() + Duration::days(14);
        assert_eq!(settle_due_at(t, &membership), Some(matures.naive_utc()));

        t.clock.set(matures - micro());
        shop.earn(t, &member, "ORDER2", "1000");
        let b = shop.balances(t, &member);
        assert_eq!((b.available.value(), b.pending.value()), (d("0"), d("200")), "a microsecond early");

        t.clock.set(matures);
        shop.earn(t, &member, "ORDER3", "1000");
        let b = shop.balances(t, &member);
        assert_eq!((b.available.value(), b.pending.value()), (d("100"), d("200")), "exactly when due");
        let next = matures - micro() + Duration::days(14);
        assert_eq!(settle_due_at(t, &membership), Some(next.naive_utc()));
        assert_ledger_sound(t);
    }

    fn points_released_into_an_overdue_lot_expire_at_once(t) {
        let shop = expiring_shop(t, "Cathay Shop");
        let member = shop.member(t, "CARD-0001", None);
        let membership = shop.membership(t, &member);
        shop.earn(t, &member, "ORDER1", "1000"); // 100 points, expiring first
        let due = only_lot_expiry(t, &membership);
        t.clock.set(common::start() + Months::new(1));
        shop.earn(t, &member, "ORDER2", "100"); // 10 points, expiring a month later
        t.clock.set(due - Duration::seconds(60));
        let hold = t.store.reserve(&shop.tenant, reserve(&shop, &member, "ORDER3", "30")).unwrap();

        t.clock.set(due + Duration::seconds(1));
        t.store.release(&shop.tenant, release(&hold.id)).unwrap();

        let b = shop.balances(t, &member);
        assert_eq!(
            (b.available.value(), b.held.value(), b.expired.value()),
            (d("10"), d("0"), d("100")),
            "the 70 left expired, and the 30 released into the overdue lot too"
        );
        let next = common::start() + Months::new(13);
        assert_eq!(settle_due_at(t, &membership), Some(next.naive_utc()));
        shop.earn(t, &member, "ORDER4", "100");
        let b = shop.balances(t, &member);
        assert_eq!((b.available.value(), b.expired.value()), (d("20"), d("100")));
        assert_ledger_sound(t);
    }

    fn a_membership_whose_due_time_is_unknown_settles_and_then_knows_it(t) {
        let shop = expiring_shop(t, "Cathay Shop");
        let member = shop.member(t, "CARD-0001", None);
        let membership = shop.membership(t, &member);
        shop.earn(t, &member, "ORDER1", "1000");
        let due = only_lot_expiry(t, &membership);

        forget_settle_due_at(t, &membership); // as the migration leaves every membership
        t.clock.set(common::start() + Duration::days(1));
        shop.earn(t, &member, "ORDER2", "100");
        assert_eq!(settle_due_at(t, &membership), Some(due.naive_utc()), "nothing was due");

        forget_settle_due_at(t, &membership);
        t.clock.set(due);
        shop.earn(t, &member, "ORDER3", "100");
        let b = shop.balances(t, &member);
        assert_eq!((b.available.value(), b.expired.value()), (d("20"), d("100")));
        let next = common::start() + Duration::days(1) + Months::new(12);
        assert_eq!(settle_due_at(t, &membership), Some(next.naive_utc()));
        assert_ledger_sound(t);
    }

    fn an_earn_with_nothing_due_reads_no_lot(t) {
        record_statements();
        // The store opened before the recorder was installed; this one opens after it.
        let store = common::TestStore::new(t.kind, 2);
        let t = &store;
        let shop = expiring_shop(t, "Cathay Shop");
        let member = shop.member(t, "CARD-0001", None);
        let membership = shop.membership(t, &member);
        shop.earn(t, &member, "ORDER1", "1000");

        t.clock.set(common::start() + Duration::days(1));
        let before = lot_reads(&membership);
        shop.earn(t, &member, "ORDER2", "1000");
        assert_eq!(lot_reads(&membership), before, "nothing was due: no SELECT on point_lots");

        // The recorder does see the settling reads when they run.
        forget_settle_due_at(t, &membership);
        shop.earn(t, &member, "ORDER3", "1000");
        assert!(lot_reads(&membership) >= before + 2, "an unknown due time reads the lots");
        common::after_scenario(t);
    }

    fn after_any_operation_the_due_time_is_never_after_a_due_lot_and_nothing_due_is_left(t) {
        let mut rules = shop_rules(ExpiryPolicy::AfterMonths(2), ReturnPolicy::CapAtAvailable);
        rules.pending_days = 7;
        let shop = open_shop(t, "Cathay Shop", rules);
        let cards = AtomicU64::new(1);
        let mut runner = TestRunner::new(Config {
            cases: 6,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&proptest::collection::vec(step(), 10..30), |steps| {
                let card = format!("CARD-{:04}", cards.fetch_add(1, Ordering::Relaxed));
                run_steps(t, &shop, &card, &steps);
                Ok(())
            })
            .unwrap();
    }
}

/// One random step of the property test.
#[derive(Debug, Clone)]
enum Step {
    Earn(u32),
    Redeem(u32),
    Reserve(u32),
    Release(usize),
    Capture(usize),
    Reverse(usize, bool),
    Wait(Duration),
    /// To the membership's next due time, minus `0` or `1` microseconds.
    ToNextDue(i64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (10u32..3000).prop_map(Step::Earn),
        2 => (1u32..60).prop_map(Step::Redeem),
        2 => (1u32..60).prop_map(Step::Reserve),
        2 => any::<usize>().prop_map(Step::Release),
        1 => any::<usize>().prop_map(Step::Capture),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(i, all)| Step::Reverse(i, all)),
        3 => prop_oneof![
            Just(Duration::microseconds(1)),
            Just(Duration::seconds(1)),
            Just(Duration::days(1)),
            Just(Duration::days(7)),
            Just(Duration::days(30)),
            Just(Duration::days(61)),
        ].prop_map(Step::Wait),
        2 => (0i64..2).prop_map(Step::ToNextDue),
    ]
}

/// Refusals by the rules are expected (not enough points, a hold already resolved ...);
/// anything else fails the test.
fn allowed<T>(result: Result<T, StoreError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(StoreError::Rule(_) | StoreError::FailedPrecondition(_) | StoreError::Refused(_)) => {
            None
        }
        Err(other) => panic!("unexpected failure: {other:?}"),
    }
}

fn run_steps(t: &common::TestStore, shop: &Shop, card: &str, steps: &[Step]) {
    let member = shop.member(t, card, None);
    let membership = shop.membership(t, &member);
    let mut bills: Vec<String> = Vec::new();
    let mut holds: Vec<String> = Vec::new();
    for (n, step) in steps.iter().enumerate() {
        let reference = format!("{card}-BILL{n}");
        let operated = match step {
            Step::Earn(amount) => {
                shop.earn(t, &member, &reference, &amount.to_string());
                bills.push(reference);
                true
            }
            Step::Redeem(points) => {
                let done = shop.try_redeem(t, &member, &reference, "500", &points.to_string());
                let done = allowed(done).is_some();
                if done {
                    bills.push(reference);
                }
                done
            }
            Step::Reserve(points) => {
                let request = reserve(shop, &member, &reference, &points.to_string());
                match allowed(t.store.reserve(&shop.tenant, request)) {
                    Some(hold) => {
                        holds.push(hold.id);
                        true
                    }
                    None => false,
                }
            }
            Step::Release(i) if !holds.is_empty() => {
                let hold = holds.remove(i % holds.len());
                allowed(t.store.release(&shop.tenant, release(&hold))).is_some()
            }
            Step::Capture(i) if !holds.is_empty() => {
                let hold = holds.remove(i % holds.len());
                let request = CaptureRequest {
                    idempotency_key: key(),
                    hold_id: hold,
                    points: Some(pts("1")),
                    actor: "payments".into(),
                };
                allowed(t.store.capture(&shop.tenant, request)).is_some()
            }
            Step::Reverse(i, all) if !bills.is_empty() => {
                let bill = &bills[i % bills.len()];
                let amount = if *all { None } else { Some("50") };
                allowed(shop.try_reverse(t, &member, bill, amount)).is_some()
            }
            Step::Wait(by) => {
                t.clock.advance(*by);
                false
            }
            Step::ToNextDue(early) => {
                let (expiry, maturity) = due_times(t, &membership);
                if let Some(next) = [expiry, maturity].into_iter().flatten().min() {
                    let at = next.and_utc() - Duration::microseconds(*early);
                    if at > t.clock.now() {
                        t.clock.set(at);
                    }
                }
                false
            }
            _ => false,
        };
        check(t, &membership, operated, step);
    }
}

/// The invariant after every step: `settle_due_at`, when known, is no later than any open
/// lot's expiry or open pending lot's maturity; after an operation nothing due is left
/// unsettled; and the ledger checker finds nothing wrong.
fn check(t: &common::TestStore, membership: &str, operated: bool, step: &Step) {
    let (expiry, maturity) = due_times(t, membership);
    let due = settle_due_at(t, membership);
    if let Some(due) = due {
        for at in [expiry, maturity].into_iter().flatten() {
            assert!(
                due <= at,
                "after {step:?}: settle_due_at {due} is after a due lot at {at}"
            );
        }
    }
    if operated {
        let now = t.clock.now().naive_utc();
        for at in [expiry, maturity].into_iter().flatten() {
            assert!(
                at > now,
                "after {step:?}: a lot due at {at} was left at {now}"
            );
        }
        assert!(
            due.is_some(),
            "after {step:?}: an operation leaves the due time known"
        );
    }
    assert_ledger_sound(t);
}

/// Every statement any connection opened from now on runs, as its SQL and binds.
static STATEMENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn recorder() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(|event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            let text = format!("{query}");
            if text.contains("point_lots") {
                STATEMENTS.lock().unwrap().push(text);
            }
        }
    }))
}

fn record_statements() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| set_default_instrumentation(recorder).unwrap());
}

/// How many SELECTs on `point_lots` with `membership` bound have run.
fn lot_reads(membership: &str) -> usize {
    STATEMENTS
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.trim_start().starts_with("SELECT") && s.contains(membership))
        .count()
}

#[test]
fn a_membership_recorded_before_settle_due_at_existed_still_reads_back() {
    let json = r#"{"id":"m","tenant_id":"t","member_id":"p","program_id":"g","available":1,
        "pending":0,"held":0,"debt":0,"earned":1,"redeemed":0,"expired":0,"reversed":0,
        "tier":null,"best_tier_rank":null,"version":3,"joined_at":"2026-11-21T10:00:00",
        "updated_at":"2026-11-21T10:00:00"}"#;
    let row: MembershipRow = serde_json::from_str(json).unwrap();
    assert_eq!((row.version, row.settle_due_at), (3, None));
}
