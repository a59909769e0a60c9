//! Expiry and maturing: overdue lots expire oldest first, pending lots become spendable after
//! the pending period, by the sweep or lazily by the next operation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod scenario;

use chrono::{Duration, Months};
use loyalty_core::ledger::EntryKind;
use loyalty_core::{ExpiryPolicy, ReturnPolicy};
use loyalty_store::StoreError;
use loyalty_store::ops::history::HistoryFilter;
use scenario::*;

fn expiring_shop(t: &common::TestStore, name: &str) -> Shop {
    open_shop(
        t,
        name,
        shop_rules(ExpiryPolicy::AfterMonths(12), ReturnPolicy::CapAtAvailable),
    )
}

on_both_backends! {
    fn points_expire_twelve_months_after_they_were_earned_oldest_lots_first(t) {
        let shop = expiring_shop(t, "Cathay Shop");
        let member = shop.member(t, "CARD-0001", None);
        let start = common::start();
        shop.earn(t, &member, "ORDER1", "1000"); // 100, expiring first
        t.clock.set(start + Months::new(3));
        shop.earn(t, &member, "ORDER2", "500"); // 50
        shop.redeem(t, &member, "ORDER3", "100", "30"); // taken from ORDER1's lot: 70 left
        assert_eq!(t.store.expire_due(None, 100).unwrap().memberships, 0, "nothing is due yet");

        t.clock.set(start + Months::new(12) + Duration::seconds(1));
        let report = t.store.expire_due(None, 100).unwrap();

        assert_eq!((report.memberships, report.points_expired, report.lots_matured), (1, d("70"), 0));
        let b = shop.balances(t, &member);
        assert_eq!((b.available.value(), b.expired.value()), (d("50"), d("70")));
        let expired = t.store.history(&shop.tenant, HistoryFilter {
            kinds: vec![EntryKind::Expired],
            ..HistoryFilter::default()
        }, None, 10).unwrap().items;
        assert_eq!(expired.len(), 1);
        assert_eq!((expired[0].points, expired[0].reference.as_deref()), (pts("70"), Some("ORDER1")));
        assert_eq!(expired[0].actor, "system");

        assert_eq!(t.store.expire_due(None, 100).unwrap().memberships, 0, "an expired lot expires once");
        t.clock.set(start + Months::new(15) + Duration::seconds(1));
        let report = t.store.expire_due(None, 100).unwrap();
        assert_eq!(report.points_expired, d("50"));
        let b = shop.balances(t, &member);
        assert_eq!((b.available.value(), b.expired.value()), (d("0"), d("120")));
        assert_ledger_sound(t);
    }

    fn pending_points_become_spendable_after_the_pending_days(t) {
        let mut rules = shop_rules(ExpiryPolicy::Never, ReturnPolicy::CapAtAvailable);
        rules.pending_days = 14;
        let shop = open_shop(t, "Cathay Shop", rules);
        let member = shop.member(t, "CARD-0001", None);
        shop.earn(t, &member, "ORDER1", "1000");
        let b = shop.balances(t, &member);
        assert_eq!((b.available.value(), b.pending.value()), (d("0"), d("100")));
        let err = shop.try_redeem(t, &member, "ORDER2", "100", "10").unwrap_err();
        assert!(matches!(err, StoreError::Rule(loyalty_core::Error::InsufficientPoints { .. })), "{err:?}");

        t.clock.advance(Duration::days(14) - Duration::seconds(1));
        let report = t.store.expire_due(None, 100).unwrap();
        assert_eq!((report.memberships, report.lots_matured), (0, 0));
        t.clock.advance(Duration::seconds(1));
        let report = t.store.expire_due(None, 100).unwrap();

        assert_eq!((report.memberships, report.lots_matured, report.points_expired), (1, 1, d("0")));
        let b = shop.balances(t, &member);
        assert_eq!((b.available.value(), b.pending.value()), (d("100"), d("0")));
        shop.redeem(t, &member, "ORDER2", "100", "10");
        assert_ledger_sound(t);
    }

    fn the_next_operation_expires_overdue_points_itself_without_waiting_for_the_sweep(t) {
        let shop = expiring_shop(t, "Cathay Shop");
        let member = shop.member(t, "CARD-0001", None);
        shop.earn(t, &member, "ORDER1", "1000");
        t.clock.advance(Duration::days(400));
        let err = shop.try_redeem(t, &member, "ORDER2", "100", "10").unwrap_err();
        assert!(matches!(err, StoreError::Rule(loyalty_core::Error::InsufficientPoints { .. })), "{err:?}");
        shop.earn(t, &member, "ORDER3", "100");
        let b = shop.balances(t, &member);
        assert_eq!((b.available.value(), b.expired.value()), (d("10"), d("100")));
        assert_eq!(t.store.expire_due(None, 100).unwrap().memberships, 0);
        assert_ledger_sound(t);
    }

    fn the_sweep_works_in_batches_and_only_on_the_tenant_it_is_given(t) {
        let first = expiring_shop(t, "First Shop");
        let second = expiring_shop(t, "Second Shop");
        let members: Vec<String> = ["CARD-0001", "CARD-0002", "CARD-0003"]
            .iter()
            .map(|card| first.member(t, card, None))
            .collect();
        for (i, m) in members.iter().enumerate() {
            first.earn(t, m, &format!("ORDER{i}"), "100");
        }
        let outsider = second.member(t, "CARD-0001", None);
        second.earn(t, &outsider, "ORDER1", "100");
        t.clock.advance(Duration::days(400));

        assert_eq!(t.store.expire_due(Some(&first.tenant), 2).unwrap().memberships, 2);
        assert_eq!(t.store.expire_due(Some(&first.tenant), 2).unwrap().memberships, 1);
        assert_eq!(t.store.expire_due(Some(&first.tenant), 2).unwrap().memberships, 0);
        for m in &members {
            assert_eq!(first.balances(t, m).expired.value(), d("10"));
        }
        assert!(second.balances(t, &outsider).expired.is_zero(), "another tenant is not swept");
        let report = t.store.expire_due(None, 10).unwrap();
        assert_eq!((report.memberships, report.points_expired), (1, d("10")));
        assert_ledger_sound(t);
    }
}
