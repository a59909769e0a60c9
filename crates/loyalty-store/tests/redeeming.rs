//! Redeeming points on a bill at checkout, on both backends.
// Test bodies run in helper functions (one per backend), which clippy's allow-*-in-tests
// settings do not cover.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod spend_setup;

use chrono::Duration;
use loyalty_core::{Error, ExpiryPolicy, Points};
use loyalty_store::StoreError;
use spend_setup::*;

on_both_backends! {
    fn the_pharmacy_pays_ten_rupees_per_hundred_points_after_its_discounts(t) {
        let c = open_checkout(t, "Pharmacy", pharmacy_rules());
        give(t, &c, "1200");
        let lines = vec![line(Some("Medicines"), "500"), line(Some("General"), "500")];
        let done = t.store.redeem(&c.tenant, redeem_req(&c, "r1", "BILL-1", lines, "1000")).unwrap();
        assert_eq!(done.points, pts("1000"));
        assert_eq!(done.value, money("100"));
        assert_eq!(done.value.currency(), inr());
        // 5 % off 500.00 of medicines leaves 975.00, of which points paid 100.00.
        assert_eq!((done.bill_total, done.to_pay), (money("975"), money("875")));
        assert_eq!((done.balances.available, done.balances.redeemed), (pts("200"), pts("1000")));
        let b = balances(t, &c);
        assert_eq!((b.available, b.redeemed), (pts("200"), pts("1000")));
        assert_eq!(entries(t, &c, "redeemed"), 1);
    }

    fn a_redemption_below_the_minimum_is_refused_naming_the_rule_and_changes_nothing(t) {
        let c = open_checkout(t, "Pharmacy", pharmacy_rules());
        give(t, &c, "1200");
        let before = balances(t, &c);
        let err = t.store.redeem(&c.tenant, redeem_req(&c, "r1", "BILL-1", bill("1000"), "99.5")).unwrap_err();
        assert!(matches!(err, StoreError::Rule(Error::BelowMinimumRedemption { .. })), "{err:?}");
        assert!(err.to_string().contains("below the minimum of 100 points"), "{err}");
        assert_eq!(balances(t, &c), before);
        assert_eq!(entries(t, &c, "redeemed"), 0);
    }

    fn a_redemption_above_half_the_bill_is_refused_naming_the_share_rule_and_changes_nothing(t) {
        let c = open_checkout(t, "Pharmacy", pharmacy_rules());
        give(t, &c, "2000");
        let before = balances(t, &c);
        let err = t.store.redeem(&c.tenant, redeem_req(&c, "r1", "BILL-1", bill("100.00"), "600")).unwrap_err();
        assert!(matches!(err, StoreError::Rule(Error::ExceedsBillShare { .. })), "{err:?}");
        assert_eq!(err.to_string(), "redemption of 600 points exceeds 50% of the bill (max 500 points)");
        assert_eq!(balances(t, &c), before);
        assert_eq!(entries(t, &c, "redeemed"), 0);
    }

    fn the_share_of_a_bill_counts_every_redemption_on_it(t) {
        let c = open_checkout(t, "Pharmacy", pharmacy_rules());
        give(t, &c, "2000");
        t.store.redeem(&c.tenant, redeem_req(&c, "r1", "BILL-1", bill("100.00"), "300")).unwrap();
        let err = t.store.redeem(&c.tenant, redeem_req(&c, "r2", "BILL-1", bill("100.00"), "300")).unwrap_err();
        assert!(err.to_string().contains("(max 200 points)"), "{err}");
        let last = t.store.redeem(&c.tenant, redeem_req(&c, "r3", "BILL-1", bill("100.00"), "200")).unwrap();
        assert_eq!(last.to_pay, money("50"));
        // Another bill has its own share.
        t.store.redeem(&c.tenant, redeem_req(&c, "r4", "BILL-2", bill("100.00"), "500")).unwrap();
        assert_eq!(balances(t, &c).available, pts("1000"));
    }

    fn more_points_than_the_member_has_are_refused_and_nothing_changes(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "40");
        let before = balances(t, &c);
        let err = t.store.redeem(&c.tenant, redeem_req(&c, "r1", "ORDER-1", bill("500"), "50")).unwrap_err();
        assert!(matches!(err, StoreError::Rule(Error::InsufficientPoints { .. })), "{err:?}");
        assert_eq!(balances(t, &c), before);
        assert_eq!(lots(t, &c), vec![(dec("40"), dec("40"))]);
    }

    fn a_redemption_spends_the_lot_that_expires_first(t) {
        let mut rules = shop_rules();
        rules.expiry = ExpiryPolicy::AfterMonths(12);
        let c = open_checkout(t, "Cathay Shop", rules);
        give(t, &c, "100");
        t.clock.advance(Duration::days(90));
        give(t, &c, "100");
        t.store.redeem(&c.tenant, redeem_req(&c, "r1", "ORDER-1", bill("400"), "150")).unwrap();
        assert_eq!(lots(t, &c), vec![(dec("100"), dec("0")), (dec("100"), dec("50"))]);

        // Past the first lot's expiry nothing expires: it was spent; the later lot pays on.
        t.clock.advance(Duration::days(306));
        let done = t.store.redeem(&c.tenant, redeem_req(&c, "r2", "ORDER-2", bill("100"), "10")).unwrap();
        assert_eq!((done.balances.available, done.balances.expired), (pts("40"), pts("0")));
    }

    fn redeeming_twice_with_one_key_has_one_effect(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "100");
        let first = t.store.redeem(&c.tenant, redeem_req(&c, "order-9:burn", "ORDER-9", bill("500"), "30")).unwrap();
        let again = t.store.redeem(&c.tenant, redeem_req(&c, "order-9:burn", "ORDER-9", bill("500"), "30")).unwrap();
        assert_eq!(first, again);
        assert_eq!(balances(t, &c).available, pts("70"));
        assert_eq!(entries(t, &c, "redeemed"), 1);
    }

    fn the_same_key_for_another_redemption_is_refused_and_changes_nothing(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "100");
        t.store.redeem(&c.tenant, redeem_req(&c, "order-9:burn", "ORDER-9", bill("500"), "30")).unwrap();
        let err = t.store.redeem(&c.tenant, redeem_req(&c, "order-9:burn", "ORDER-9", bill("500"), "40")).unwrap_err();
        assert!(matches!(err, StoreError::IdempotencyConflict { .. }), "{err:?}");
        assert_eq!(balances(t, &c).available, pts("70"));
        assert_eq!(entries(t, &c, "redeemed"), 1);
    }

    fn a_disabled_program_or_a_deactivated_member_cannot_redeem(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "100");
        t.store.set_program_enabled(&c.tenant, None, &c.program, false).unwrap();
        let err = t.store.redeem(&c.tenant, redeem_req(&c, "r1", "ORDER-1", bill("500"), "30")).unwrap_err();
        assert!(matches!(err, StoreError::FailedPrecondition(_)), "{err:?}");
        t.store.set_program_enabled(&c.tenant, None, &c.program, true).unwrap();
        t.store.deactivate_member(&c.tenant, None, &c.member).unwrap();
        let err = t.store.redeem(&c.tenant, redeem_req(&c, "r2", "ORDER-1", bill("500"), "30")).unwrap_err();
        assert!(matches!(err, StoreError::FailedPrecondition(_)), "{err:?}");
        assert_eq!(balances(t, &c).available, pts("100"));
    }

    fn a_redemption_needs_a_bill_reference(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "100");
        let err = t.store.redeem(&c.tenant, redeem_req(&c, "r1", " ", bill("500"), "30")).unwrap_err();
        assert!(matches!(err, StoreError::InvalidArgument(_)), "{err:?}");
    }

    fn another_tenant_cannot_redeem_a_members_points(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "100");
        let other = t.store.create_tenant(None, "Pharmacy").unwrap();
        let err = t.store.redeem(&other.id, redeem_req(&c, "r1", "ORDER-1", bill("500"), "30")).unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
        assert_eq!(balances(t, &c).available, pts("100"));
    }

    fn the_sixth_redemption_attempt_within_a_minute_is_rate_limited(t) {
        let mut rules = shop_rules();
        rules.redemptions_per_minute = Some(5);
        let c = open_checkout(t, "Token Service", rules);
        give(t, &c, "1000");
        for i in 1..=3 {
            t.store.redeem(&c.tenant, redeem_req(&c, &format!("r{i}"), &format!("O-{i}"), bill("100"), "10")).unwrap();
        }
        // A refused attempt counts too, and so does a reservation.
        t.store.redeem(&c.tenant, redeem_req(&c, "r4", "O-4", bill("100"), "5")).unwrap_err();
        t.store.reserve(&c.tenant, reserve_req(&c, "h5", "O-5", "100", "10")).unwrap();
        let before = balances(t, &c);
        let err = t.store.redeem(&c.tenant, redeem_req(&c, "r6", "O-6", bill("100"), "10")).unwrap_err();
        assert!(matches!(err, StoreError::RateLimited { limit: 5 }), "{err:?}");
        assert_eq!(balances(t, &c), before);
        // A replay of a redemption that happened is answered, not limited.
        let replay = t.store.redeem(&c.tenant, redeem_req(&c, "r1", "O-1", bill("100"), "10"));
        assert!(replay.is_ok(), "{replay:?}");

        t.clock.advance(Duration::seconds(61));
        let done = t.store.redeem(&c.tenant, redeem_req(&c, "r6", "O-6", bill("100"), "10")).unwrap();
        assert_eq!(done.balances.available, pts("950"));
        assert_eq!(entries(t, &c, "redeemed"), 4);
    }

    fn points_with_more_decimals_than_the_program_allows_are_refused(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "100");
        let mut req = redeem_req(&c, "r1", "ORDER-1", bill("500"), "10");
        req.points = Points::new(dec("10.5")).unwrap();
        let err = t.store.redeem(&c.tenant, req).unwrap_err();
        assert!(matches!(err, StoreError::Rule(Error::TooPrecise { .. })), "{err:?}");
        assert_eq!(balances(t, &c).available, pts("100"));
    }
}
