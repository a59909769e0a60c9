//! The shop's "miles plus cash" checkout: holds reserved, captured, released and expired, on
//! both backends.
// Test bodies run in helper functions (one per backend), which clippy's allow-*-in-tests
// settings do not cover.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod spend_setup;

use chrono::Duration;
use loyalty_core::{EarnRate, Error, ExpiryPolicy};
use loyalty_store::{EarnRequest, StoreError};
use spend_setup::*;

fn already_resolved(err: &StoreError) -> bool {
    matches!(err, StoreError::Rule(Error::HoldAlreadyResolved { .. }))
}

on_both_backends! {
    fn the_shop_reserves_points_at_checkout_and_captures_them_when_payment_succeeds(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "150");
        let hold = t.store.reserve(&c.tenant, reserve_req(&c, "order124:reserve", "ORDER124", "500", "30")).unwrap();
        assert_eq!((hold.status.as_str(), hold.points, hold.value), ("active", pts("30"), money("30")));
        assert_eq!(hold.expires_at, t.store.now() + Duration::seconds(900));
        let b = balances(t, &c);
        assert_eq!((b.available, b.held), (pts("120"), pts("30")));

        let paid = t.store.capture(&c.tenant, capture_req("order124:capture", &hold.id, None)).unwrap();
        assert_eq!((paid.status.as_str(), paid.captured), ("captured", pts("30")));
        let b = balances(t, &c);
        assert_eq!((b.available, b.held, b.redeemed), (pts("120"), pts("0"), pts("30")));
        assert_eq!(t.store.get_hold(&c.tenant, &hold.id).unwrap(), paid);
        // The bill remembers what points paid: a later redemption on it pays the rest.
        let more = t.store.redeem(&c.tenant, redeem_req(&c, "order124:burn", "ORDER124", bill("500"), "20")).unwrap();
        assert_eq!(more.to_pay, money("450"));
    }

    fn a_failed_payment_releases_the_hold_back_to_the_same_lots(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "150");
        let hold = t.store.reserve(&c.tenant, reserve_req(&c, "h1", "ORDER124", "500", "30")).unwrap();
        assert_eq!(lots(t, &c), vec![(dec("150"), dec("120"))]);
        let back = t.store.release(&c.tenant, release_req("h1:release", &hold.id)).unwrap();
        assert_eq!((back.status.as_str(), back.captured), ("released", pts("0")));
        let b = balances(t, &c);
        assert_eq!((b.available, b.held, b.redeemed), (pts("150"), pts("0"), pts("0")));
        assert_eq!(lots(t, &c), vec![(dec("150"), dec("150"))]);
        assert_eq!(entries(t, &c, "released"), 1);
    }

    fn a_partial_capture_redeems_the_earliest_expiring_points_and_releases_the_rest_to_their_lots(t) {
        let mut rules = shop_rules();
        rules.expiry = ExpiryPolicy::AfterMonths(12);
        let c = open_checkout(t, "Cathay Shop", rules);
        give(t, &c, "20");
        t.clock.advance(Duration::days(30));
        give(t, &c, "100");
        let hold = t.store.reserve(&c.tenant, reserve_req(&c, "h1", "ORDER124", "500", "50")).unwrap();
        assert_eq!(lots(t, &c), vec![(dec("20"), dec("0")), (dec("100"), dec("70"))]);
        // ORDER124 used 30 of the 50 points.
        let paid = t.store.capture(&c.tenant, capture_req("h1:capture", &hold.id, Some("30"))).unwrap();
        assert_eq!((paid.status.as_str(), paid.captured), ("captured", pts("30")));
        assert_eq!(lots(t, &c), vec![(dec("20"), dec("0")), (dec("100"), dec("90"))]);
        let b = balances(t, &c);
        assert_eq!((b.available, b.held, b.redeemed), (pts("90"), pts("0"), pts("30")));
        assert_eq!((entries(t, &c, "captured"), entries(t, &c, "released")), (1, 1));
    }

    fn a_partial_capture_pays_what_redeeming_the_captured_points_pays_and_the_bill_earns_on_the_rest(t) {
        // 100 points = 10.00, two point decimals, earning 1 point per 10 spent.
        let mut rules = pharmacy_rules();
        rules.base_rate = EarnRate::new(pts("1"), dec("10")).unwrap();
        if let Some(redemption) = rules.redemption.as_mut() {
            redemption.min_points = pts("10");
        }
        let c = open_checkout(t, "Pharmacy", rules);
        give(t, &c, "100");
        let total = dec("163.89");
        let hold = t.store.reserve(&c.tenant, reserve_req(&c, "h1", "BILL-7", &total.to_string(), "28.19")).unwrap();
        assert_eq!(hold.value, money("2.81")); // 28.19 points are worth 2.819

        let paid = t.store.capture(&c.tenant, capture_req("h1:capture", &hold.id, Some("20.75"))).unwrap();
        assert_eq!(paid.captured, pts("20.75"));
        let earned = t.store.earn(&c.tenant, EarnRequest {
            idempotency_key: key("bill-7:earn"),
            member_id: c.member.clone(),
            program_id: c.program.clone(),
            reference: "BILL-7".into(),
            lines: bill(&total.to_string()),
            at: None,
            actor: "till-1".into(),
        }).unwrap();

        // 20.75 points pay 2.07 (2.075 rounded down), as a redemption of 20.75 points does; not
        // a share of the hold's 2.81 (2.81 x 20.75 / 28.19 = 2.068 -> 2.06).
        let redeemed_value = dec("2.07");
        let earning_amount = total - redeemed_value;
        assert_eq!(earning_amount, dec("161.82"));
        assert_eq!((earned.earning_amount.amount(), earned.points), (earning_amount, pts("16.18")));
        let summary = t.store.bill_summary(&c.tenant, "BILL-7").unwrap();
        assert_eq!(summary.len(), 1);
        let b = &summary[0];
        assert_eq!(
            (b.total.amount(), b.redeemed, b.redeemed_value.amount(), b.earn_amount.amount(), b.earned),
            (total, pts("20.75"), redeemed_value, earning_amount, pts("16.18"))
        );
        let balances = balances(t, &c);
        assert_eq!((balances.available, balances.held, balances.redeemed), (pts("95.43"), pts("0"), pts("20.75")));
    }

    fn a_capture_after_a_release_is_refused_and_changes_nothing(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "150");
        let hold = t.store.reserve(&c.tenant, reserve_req(&c, "h1", "ORDER124", "500", "30")).unwrap();
        t.store.release(&c.tenant, release_req("h1:release", &hold.id)).unwrap();
        let before = balances(t, &c);
        let err = t.store.capture(&c.tenant, capture_req("h1:capture", &hold.id, None)).unwrap_err();
        assert!(already_resolved(&err), "{err:?}");
        assert!(err.to_string().contains("already released"), "{err}");
        assert_eq!(balances(t, &c), before);
    }

    fn a_release_after_a_capture_is_refused_and_changes_nothing(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "150");
        let hold = t.store.reserve(&c.tenant, reserve_req(&c, "h1", "ORDER124", "500", "30")).unwrap();
        t.store.capture(&c.tenant, capture_req("h1:capture", &hold.id, None)).unwrap();
        let before = balances(t, &c);
        let err = t.store.release(&c.tenant, release_req("h1:release", &hold.id)).unwrap_err();
        assert!(already_resolved(&err), "{err:?}");
        let err = t.store.capture(&c.tenant, capture_req("h1:capture-again", &hold.id, None)).unwrap_err();
        assert!(already_resolved(&err), "{err:?}");
        assert_eq!(balances(t, &c), before);
        assert_eq!(entries(t, &c, "captured"), 1);
    }

    fn a_capture_after_the_time_to_live_is_refused(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "150");
        let hold = t.store.reserve(&c.tenant, reserve_req(&c, "h1", "ORDER124", "500", "30")).unwrap();
        t.clock.advance(Duration::seconds(900));
        let err = t.store.capture(&c.tenant, capture_req("h1:capture", &hold.id, None)).unwrap_err();
        assert!(matches!(err, StoreError::Rule(Error::HoldExpired { .. })), "{err:?}");
        let b = balances(t, &c);
        assert_eq!((b.available, b.held, b.redeemed), (pts("120"), pts("30"), pts("0")));
        // Giving the points back is still allowed.
        t.store.release(&c.tenant, release_req("h1:release", &hold.id)).unwrap();
        assert_eq!(balances(t, &c).available, pts("150"));
    }

    fn the_expiry_sweep_releases_an_overdue_hold_once(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "150");
        let hold = t.store.reserve(&c.tenant, reserve_req(&c, "h1", "ORDER124", "500", "30")).unwrap();
        assert_eq!(t.store.expire_holds(Some(&c.tenant)).unwrap(), 0);
        t.clock.advance(Duration::seconds(901));
        assert_eq!(t.store.expire_holds(Some(&c.tenant)).unwrap(), 1);
        let expired = t.store.get_hold(&c.tenant, &hold.id).unwrap();
        assert_eq!(expired.status, "expired");
        assert_eq!(expired.resolved_at, Some(t.store.now()));
        let b = balances(t, &c);
        assert_eq!((b.available, b.held), (pts("150"), pts("0")));
        assert_eq!(t.store.expire_holds(None).unwrap(), 0);
        assert_eq!(entries(t, &c, "released"), 1);
        let err = t.store.release(&c.tenant, release_req("h1:release", &hold.id)).unwrap_err();
        assert!(already_resolved(&err), "{err:?}");
    }

    fn points_released_to_a_lot_that_expired_meanwhile_expire_at_once(t) {
        let mut rules = shop_rules();
        rules.expiry = ExpiryPolicy::AfterMonths(1);
        let c = open_checkout(t, "Cathay Shop", rules);
        give(t, &c, "100");
        let mut req = reserve_req(&c, "h1", "ORDER124", "500", "30");
        req.ttl_seconds = 86_400;
        let hold = t.store.reserve(&c.tenant, req).unwrap();
        t.clock.advance(Duration::days(45));
        t.store.release(&c.tenant, release_req("h1:release", &hold.id)).unwrap();
        let b = balances(t, &c);
        assert_eq!((b.available, b.held, b.expired), (pts("0"), pts("0"), pts("100")));
    }

    fn held_points_cannot_be_spent_by_a_redeem(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "100");
        t.store.reserve(&c.tenant, reserve_req(&c, "h1", "ORDER-A", "100", "40")).unwrap();
        let err = t.store.redeem(&c.tenant, redeem_req(&c, "r1", "ORDER-B", bill("1000"), "70")).unwrap_err();
        assert!(matches!(err, StoreError::Rule(Error::InsufficientPoints { .. })), "{err:?}");
        let done = t.store.redeem(&c.tenant, redeem_req(&c, "r2", "ORDER-B", bill("1000"), "60")).unwrap();
        assert_eq!((done.balances.available, done.balances.held), (pts("0"), pts("40")));
    }

    fn a_reservation_and_a_redemption_on_one_bill_share_its_limit(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "100");
        t.store.reserve(&c.tenant, reserve_req(&c, "h1", "ORDER-A", "100", "30")).unwrap();
        let err = t.store.redeem(&c.tenant, redeem_req(&c, "r1", "ORDER-A", bill("100"), "30")).unwrap_err();
        assert!(matches!(err, StoreError::Rule(Error::ExceedsBillShare { .. })), "{err:?}");
        assert!(err.to_string().contains("(max 20 points)"), "{err}");
        let err = t.store.reserve(&c.tenant, reserve_req(&c, "h2", "ORDER-A", "100", "30")).unwrap_err();
        assert!(matches!(err, StoreError::Rule(Error::ExceedsBillShare { .. })), "{err:?}");
        assert_eq!(balances(t, &c).available, pts("70"));
    }

    fn capturing_twice_with_one_key_returns_the_first_result(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "150");
        let hold = t.store.reserve(&c.tenant, reserve_req(&c, "h1", "ORDER124", "500", "30")).unwrap();
        let again = t.store.reserve(&c.tenant, reserve_req(&c, "h1", "ORDER124", "500", "30")).unwrap();
        assert_eq!(hold, again);
        let paid = t.store.capture(&c.tenant, capture_req("h1:capture", &hold.id, None)).unwrap();
        let replay = t.store.capture(&c.tenant, capture_req("h1:capture", &hold.id, None)).unwrap();
        assert_eq!(paid, replay);
        assert_eq!((entries(t, &c, "reserved"), entries(t, &c, "captured")), (1, 1));
        assert_eq!(balances(t, &c).redeemed, pts("30"));
    }

    fn a_time_to_live_outside_one_second_to_a_day_is_refused(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "150");
        for ttl in [0, 86_401] {
            let mut req = reserve_req(&c, "h1", "ORDER124", "500", "30");
            req.ttl_seconds = ttl;
            let err = t.store.reserve(&c.tenant, req).unwrap_err();
            assert!(matches!(err, StoreError::InvalidArgument(_)), "{err:?}");
        }
        assert_eq!(balances(t, &c).available, pts("150"));
    }

    fn another_tenant_cannot_see_or_resolve_a_hold(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "150");
        let hold = t.store.reserve(&c.tenant, reserve_req(&c, "h1", "ORDER124", "500", "30")).unwrap();
        let other = t.store.create_tenant(None, "Pharmacy").unwrap().id;
        let not_found = |err: StoreError| matches!(err, StoreError::NotFound { what: "hold", .. });
        assert!(not_found(t.store.get_hold(&other, &hold.id).unwrap_err()));
        assert!(not_found(t.store.capture(&other, capture_req("x1", &hold.id, None)).unwrap_err()));
        assert!(not_found(t.store.release(&other, release_req("x2", &hold.id)).unwrap_err()));
        assert_eq!(t.store.expire_holds(Some(&other)).unwrap(), 0);
        assert_eq!(t.store.get_hold(&c.tenant, &hold.id).unwrap().status, "active");
        assert_eq!(t.store.list_holds(&c.tenant, &c.member, &c.program).unwrap(), vec![hold]);
    }
}
