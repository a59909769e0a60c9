//! Earns racing each other: many bills of one member, many members for one campaign budget.

use loyalty_core::Points;
use rust_decimal::Decimal;

use crate::common::{Kind, TestStore, skip_postgres};
use crate::support::*;

/// 64 threads earn on 64 distinct bills of one member (each sent twice with its key, as a
/// retrying till would): every bill lands exactly once and the balance is their sum.
fn every_concurrent_earn_lands_exactly_once(kind: Kind) {
    let t = TestStore::new(kind, 32);
    let w = World::new(&t, shop());
    let ana = w.member(&t.store, "CARD-1", None);
    let outcomes: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..64)
            .map(|i| {
                let (store, w, ana) = (&t.store, &w, &ana);
                scope.spawn(move || {
                    let request = w.bill(&format!("key-{i}"), ana, &format!("BILL-{i}"), "500");
                    let first = store.earn(&w.tenant, request.clone()).unwrap();
                    let retry = store.earn(&w.tenant, request).unwrap();
                    assert_eq!(first, retry);
                    first
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(outcomes.iter().all(|o| o.points == pts("50")));
    let m = w.membership(&t.store, &ana);
    assert_eq!(m.balances.available, Points::whole(64 * 50).unwrap());
    assert_eq!(m.balances.earned, Points::whole(64 * 50).unwrap());
    assert_eq!(entry_count(&t), 64);
    assert_consistent(&t, &m);
}

/// 16 members earn at once on a double-points Saturday whose budget covers 6 of their
/// bonuses: the budget is given out exactly, never beyond, and no earn fails.
fn members_racing_for_a_campaign_budget_never_exceed_it(kind: Kind) {
    let t = TestStore::new(kind, 16);
    let w = World::new(&t, shop());
    let campaign = t
        .store
        .create_campaign(
            &w.tenant,
            None,
            &w.program,
            double_points_weekends(1000, 300),
        )
        .unwrap();
    let members: Vec<String> = (0..16)
        .map(|i| w.member(&t.store, &format!("CARD-{i}"), None))
        .collect();
    let bonuses: Vec<Decimal> = std::thread::scope(|scope| {
        let handles: Vec<_> = members
            .iter()
            .enumerate()
            .map(|(i, member)| {
                let (store, w) = (&t.store, &w);
                scope.spawn(move || {
                    let request = w.bill(&format!("key-{i}"), member, "SAT-1", "500");
                    let out = store.earn(&w.tenant, request).unwrap();
                    out.campaign_bonuses
                        .iter()
                        .map(|b| b.points.value())
                        .sum::<Decimal>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(bonuses.iter().sum::<Decimal>(), d("300"));
    assert_eq!(bonuses.iter().filter(|b| **b == d("50")).count(), 6);
    let stored = t.store.get_campaign(&w.tenant, &campaign.id).unwrap();
    assert_eq!(stored.awarded, Points::whole(300).unwrap());
}

mod members_racing_for_a_campaign_budget_never_exceed_it {
    use super::*;

    #[test]
    fn sqlite() {
        members_racing_for_a_campaign_budget_never_exceed_it(Kind::Sqlite);
    }

    #[test]
    fn postgres() {
        if skip_postgres() {
            eprintln!("PostgreSQL test skipped: LOYALTY_TEST_SKIP_POSTGRES=1");
            return;
        }
        members_racing_for_a_campaign_budget_never_exceed_it(Kind::Postgres);
    }
}

mod sixty_four_concurrent_earns_on_distinct_bills_all_land_exactly_once {
    use super::*;

    #[test]
    fn sqlite() {
        every_concurrent_earn_lands_exactly_once(Kind::Sqlite);
    }

    #[test]
    fn postgres() {
        if skip_postgres() {
            eprintln!("PostgreSQL test skipped: LOYALTY_TEST_SKIP_POSTGRES=1");
            return;
        }
        every_concurrent_earn_lands_exactly_once(Kind::Postgres);
    }
}
