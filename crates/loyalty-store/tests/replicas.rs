//! Several server replicas on one database: two stores with their own connection pools (as two
//! `loyalty serve` processes would have) race on the same member. Points are never spent twice
//! and a key has one effect, on PostgreSQL (the scale-out engine) and on one SQLite file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod spend_setup;

use std::sync::Barrier;

use common::{Kind, TestStore};
use loyalty_core::Error;
use loyalty_store::{Store, StoreError};
use spend_setup::*;

const PER_REPLICA: usize = 32;

/// A second replica: its own pool on the same database, sharing the test clock.
fn second_replica(t: &TestStore) -> Store {
    Store::open_with_clock(&t.url, PER_REPLICA as u32, t.clock.clone()).unwrap()
}

fn two_replicas_race_for_points(kind: Kind) {
    let t = TestStore::new(kind, PER_REPLICA as u32);
    let other = second_replica(&t);
    let c = open_checkout(&t, "Token Service", open_rules());
    give(&t, &c, "200");
    let start = Barrier::new(2 * PER_REPLICA);
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2 * PER_REPLICA)
            .map(|i| {
                let replica = if i % 2 == 0 { &t.store } else { &other };
                let (c, start) = (&c, &start);
                s.spawn(move || {
                    let req = redeem_req(
                        c,
                        &format!("burn-{i}"),
                        &format!("ORDER-{i}"),
                        bill("100"),
                        "10",
                    );
                    // Open this thread's pooled connection first, so the calls really overlap.
                    replica
                        .get_membership(&c.tenant, &c.member, &c.program)
                        .unwrap();
                    start.wait();
                    replica.redeem(&c.tenant, req)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 20, "200 points pay exactly twenty redemptions of 10");
    for refused in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(refused, StoreError::Rule(Error::InsufficientPoints { .. })),
            "{refused:?}"
        );
    }
    assert!(balances(&t, &c).available.is_zero());
    common::after_scenario(&t);
}

fn two_replicas_retrying_one_key_have_one_effect(kind: Kind) {
    let t = TestStore::new(kind, PER_REPLICA as u32);
    let other = second_replica(&t);
    let c = open_checkout(&t, "Token Service", open_rules());
    give(&t, &c, "200");
    let start = Barrier::new(2 * PER_REPLICA);
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2 * PER_REPLICA)
            .map(|i| {
                let replica = if i % 2 == 0 { &t.store } else { &other };
                let (c, start) = (&c, &start);
                s.spawn(move || {
                    let req = redeem_req(c, "ORDER-1:burn", "ORDER-1", bill("100"), "10");
                    // Open this thread's pooled connection first, so the calls really overlap.
                    replica
                        .get_membership(&c.tenant, &c.member, &c.program)
                        .unwrap();
                    start.wait();
                    replica.redeem(&c.tenant, req).unwrap()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    assert!(
        results.windows(2).all(|w| w[0] == w[1]),
        "every retry answers with the first result"
    );
    assert_eq!(entries(&t, &c, "redeemed"), 1);
    assert_eq!(balances(&t, &c).available, pts("190"));
    common::after_scenario(&t);
}

mod two_replicas_racing_for_the_same_points_never_spend_them_twice {
    use super::*;

    #[test]
    fn sqlite() {
        two_replicas_race_for_points(Kind::Sqlite);
    }

    #[test]
    fn postgres() {
        if !common::skip_postgres() {
            two_replicas_race_for_points(Kind::Postgres);
        }
    }
}

mod two_replicas_retrying_one_idempotency_key_have_one_effect {
    use super::*;

    #[test]
    fn sqlite() {
        two_replicas_retrying_one_key_have_one_effect(Kind::Sqlite);
    }

    #[test]
    fn postgres() {
        if !common::skip_postgres() {
            two_replicas_retrying_one_key_have_one_effect(Kind::Postgres);
        }
    }
}

fn earn_500(replica: &Store, c: &Checkout, reference: &str) -> rust_decimal::Decimal {
    replica
        .earn(
            &c.tenant,
            loyalty_store::EarnRequest {
                idempotency_key: key(&format!("{reference}:earn")),
                member_id: c.member.clone(),
                program_id: c.program.clone(),
                reference: reference.to_owned(),
                lines: bill("500"),
                at: None,
                actor: "billing".into(),
            },
        )
        .unwrap()
        .points
        .value()
}

fn a_configuration_change_on_one_replica_is_seen_by_the_next_earn_on_the_other(kind: Kind) {
    let t = TestStore::new(kind, 4);
    let other = second_replica(&t);
    let c = open_checkout(&t, "Cathay Shop", shop_rules());
    // The first replica has read (and cached) the rules: 1 point per 10.
    assert_eq!(earn_500(&t.store, &c, "B-1"), dec("50"));

    // The other replica doubles the base rate ...
    let mut doubled = shop_rules();
    doubled.base_rate = loyalty_core::EarnRate::new(pts("2"), dec("10")).unwrap();
    other
        .update_program(&c.tenant, None, &c.program, "Points", doubled)
        .unwrap();
    assert_eq!(earn_500(&t.store, &c, "B-2"), dec("100"));

    // ... then starts a campaign that adds 7 points to every bill.
    let campaign = loyalty_core::CampaignSpec {
        id: uuid::Uuid::nil(),
        name: "Seven extra".into(),
        starts_at: t.store.now() - chrono::Duration::days(1),
        ends_at: t.store.now() + chrono::Duration::days(30),
        weekdays: vec![],
        categories: vec![],
        min_bill: None,
        effect: loyalty_core::CampaignEffect::FixedBonus(pts("7")),
        priority: 0,
        member_cap: None,
        budget: None,
        active: true,
    };
    let created = other
        .create_campaign(&c.tenant, None, &c.program, campaign)
        .unwrap();
    assert_eq!(earn_500(&t.store, &c, "B-3"), dec("107"));

    // ... and switches it off again.
    other
        .set_campaign_active(&c.tenant, None, &created.id, false)
        .unwrap();
    assert_eq!(earn_500(&t.store, &c, "B-4"), dec("100"));
    common::after_scenario(&t);
}

mod a_configuration_change_on_one_replica_is_seen_by_the_next_call_on_every_replica {
    use super::*;

    #[test]
    fn sqlite() {
        a_configuration_change_on_one_replica_is_seen_by_the_next_earn_on_the_other(Kind::Sqlite);
    }

    #[test]
    fn postgres() {
        if !common::skip_postgres() {
            a_configuration_change_on_one_replica_is_seen_by_the_next_earn_on_the_other(
                Kind::Postgres,
            );
        }
    }
}
