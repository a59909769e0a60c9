//! Concurrent spending on a 64-connection pool, on both backends: points are never spent
//! twice, a key has one effect, a hold is resolved once.
// Test bodies run in helper functions (one per backend), which clippy's allow-*-in-tests
// settings do not cover.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod spend_setup;

use std::sync::Barrier;

use common::{Kind, TestStore};
use loyalty_core::Error;
use loyalty_store::StoreError;
use spend_setup::*;

const THREADS: usize = 64;

/// How long a call may wait for the database here. Without the group-commit writer, 64
/// threads queue for SQLite's one write lock, each busy-waiting; on a loaded 2-core machine the
/// last in line can wait longer than the production default of 2 s (the fail-fast bound that
/// tests/outages.rs checks). These tests are about exactly-once outcomes under contention, not
/// about that bound, so calls wait as long as it takes.
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// Defines a test on each backend with a store of `THREADS` connections.
macro_rules! on_both_backends_in_parallel {
    ($(fn $name:ident($t:ident) $body:block)*) => {
        $(
            mod $name {
                use super::*;

                fn run($t: &TestStore) $body

                #[test]
                fn sqlite() {
                    run(&TestStore::with_timeout(Kind::Sqlite, THREADS as u32, PATIENCE));
                }

                #[test]
                fn postgres() {
                    if common::skip_postgres() {
                        eprintln!("PostgreSQL test skipped: LOYALTY_TEST_SKIP_POSTGRES=1");
                        return;
                    }
                    run(&TestStore::with_timeout(Kind::Postgres, THREADS as u32, PATIENCE));
                }
            }
        )*
    };
}

on_both_backends_in_parallel! {
    fn sixty_four_redemptions_of_ten_points_race_for_two_hundred_and_exactly_twenty_succeed(t) {
        let c = open_checkout(t, "Token Service", open_rules());
        give(t, &c, "200");
        let start = Barrier::new(THREADS);
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|i| {
                    let (c, start) = (&c, &start);
                    s.spawn(move || {
                        let req = redeem_req(c, &format!("burn-{i}"), &format!("ORDER-{i}"), bill("100"), "10");
                        // Open this thread's pooled connection before the race, so the
                        // calls really overlap instead of queueing for connections.
                        t.store.get_membership(&c.tenant, &c.member, &c.program).unwrap();
                        start.wait();
                        t.store.redeem(&c.tenant, req)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let won = results.iter().filter(|r| r.is_ok()).count();
        for refused in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(matches!(refused, StoreError::Rule(Error::InsufficientPoints { .. })), "{refused:?}");
        }
        assert_eq!(won, 20);
        let b = balances(t, &c);
        assert_eq!((b.available, b.redeemed), (pts("0"), pts("200")));
        assert_eq!(entries(t, &c, "redeemed"), 20);
        assert_eq!(lots(t, &c), vec![(dec("200"), dec("0"))]);
    }

    fn sixty_four_concurrent_calls_with_one_key_have_exactly_one_effect(t) {
        let c = open_checkout(t, "Token Service", open_rules());
        give(t, &c, "200");
        let start = Barrier::new(THREADS);
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    let (c, start) = (&c, &start);
                    s.spawn(move || {
                        let req = redeem_req(c, "order-1:burn", "ORDER-1", bill("100"), "10");
                        // Open this thread's pooled connection before the race, so the
                        // duplicates really overlap instead of queueing for connections.
                        t.store.get_membership(&c.tenant, &c.member, &c.program).unwrap();
                        start.wait();
                        t.store.redeem(&c.tenant, req)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let first = results[0].as_ref().unwrap();
        for result in &results {
            assert_eq!(result.as_ref().unwrap(), first);
        }
        assert_eq!(entries(t, &c, "redeemed"), 1);
        assert_eq!(balances(t, &c).available, pts("190"));
    }

    fn concurrent_retries_of_a_burn_of_the_whole_balance_all_get_the_first_result(t) {
        // The retries that wait behind the first call would find no points left; they must
        // still answer with the first call's result, not with "insufficient points".
        let c = open_checkout(t, "Token Service", open_rules());
        give(t, &c, "10");
        let start = Barrier::new(THREADS);
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    let (c, start) = (&c, &start);
                    s.spawn(move || {
                        let req = redeem_req(c, "order-2:burn", "ORDER-2", bill("100"), "10");
                        // Open this thread's pooled connection before the race, so the
                        // duplicates really overlap instead of queueing for connections.
                        t.store.get_membership(&c.tenant, &c.member, &c.program).unwrap();
                        start.wait();
                        t.store.redeem(&c.tenant, req)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let first = results[0].as_ref().unwrap();
        for result in &results {
            assert_eq!(result.as_ref().unwrap(), first);
        }
        assert_eq!(entries(t, &c, "redeemed"), 1);
        assert!(balances(t, &c).available.is_zero());
    }

    fn a_capture_racing_a_release_of_one_hold_has_exactly_one_winner_every_time(t) {
        let c = open_checkout(t, "Cathay Shop", open_rules());
        give(t, &c, "200");
        let mut captured = 0;
        for round in 0..20 {
            let hold = t.store.reserve(&c.tenant, reserve_req(&c, &format!("h{round}"), &format!("ORDER-{round}"), "100", "5")).unwrap();
            let start = Barrier::new(2);
            let (capture, release) = std::thread::scope(|s| {
                let capture = s.spawn(|| {
                    start.wait();
                    t.store.capture(&c.tenant, capture_req(&format!("h{round}:capture"), &hold.id, None))
                });
                let release = s.spawn(|| {
                    start.wait();
                    t.store.release(&c.tenant, release_req(&format!("h{round}:release"), &hold.id))
                });
                (capture.join().unwrap(), release.join().unwrap())
            });
            let loser = match (&capture, &release) {
                (Ok(_), Err(err)) => {
                    captured += 5;
                    err
                }
                (Err(err), Ok(_)) => err,
                other => panic!("round {round}: exactly one must win: {other:?}"),
            };
            assert!(matches!(loser, StoreError::Rule(Error::HoldAlreadyResolved { .. })), "{loser:?}");
            let b = balances(t, &c);
            assert_eq!(b.held, pts("0"));
            assert_eq!(b.redeemed, pts(&captured.to_string()));
            assert_eq!(b.available, pts(&(200 - captured).to_string()));
        }
        assert_eq!(entries(t, &c, "reserved"), 20);
        assert_eq!(entries(t, &c, "captured") * 5, captured);
    }
}
