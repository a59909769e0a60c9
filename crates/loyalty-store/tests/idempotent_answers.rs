//! What a key answers: the first call's result or its refusal by the rules, to every retry of
//! the same request by any credential of the tenant, whatever changed since; malformed,
//! not-found and rate-limited calls are not recorded, so their retries may still succeed.
// Test bodies run in helper functions (one per backend), which clippy's allow-*-in-tests
// settings do not cover.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod spend_setup;

use chrono::Duration;
use loyalty_core::{BillLine, Currency, Error, Money};
use loyalty_store::{RedeemRequest, StoreError};
use spend_setup::*;

fn insufficient(err: &StoreError) -> bool {
    matches!(err, StoreError::Rule(Error::InsufficientPoints { .. }))
}

/// The refusal a retry replays: the same message as the first call's error, and its rule.
fn replayed(err: &StoreError, first: &StoreError, reason: &str) -> bool {
    matches!(err, StoreError::Refused(r) if r.message == first.to_string() && r.reason == reason)
}

on_both_backends! {
    fn detect_replay_tells_a_call_answered_from_its_key_from_one_that_did_the_work(t) {
        use loyalty_store::idempotency::detect_replay;
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "150");
        let request = redeem_req(&c, "till-7:burn-1", "ORDER1", bill("500"), "100");
        let (first, replayed) = detect_replay(|| t.store.redeem(&c.tenant, request.clone()));
        assert!(!replayed, "the first call did the work");
        assert_eq!(first.unwrap().points, pts("100"));
        let (again, replayed) = detect_replay(|| t.store.redeem(&c.tenant, request.clone()));
        assert!(replayed, "the retry is answered from the key's record");
        assert_eq!(again.unwrap().points, pts("100"));
        // A refusal read back from its record is a replay too; a key reused for another
        // request is not.
        let greedy = redeem_req(&c, "till-7:burn-2", "ORDER2", bill("500"), "500");
        let (refused, replayed) = detect_replay(|| t.store.redeem(&c.tenant, greedy.clone()));
        assert!(refused.is_err() && !replayed, "{refused:?}");
        let (refused, replayed) = detect_replay(|| t.store.redeem(&c.tenant, greedy));
        assert!(matches!(refused, Err(StoreError::Refused(_))) && replayed, "{refused:?}");
        let other = redeem_req(&c, "till-7:burn-1", "ORDER1", bill("500"), "90");
        let (conflict, replayed) = detect_replay(|| t.store.redeem(&c.tenant, other));
        assert!(matches!(conflict, Err(StoreError::IdempotencyConflict { .. })), "{conflict:?}");
        assert!(!replayed);
        assert_eq!(balances(t, &c).redeemed, pts("100"));
    }

    fn a_redemption_refused_for_insufficient_points_stays_refused_after_points_arrive(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "50");
        let request = redeem_req(&c, "till-7:burn-1", "ORDER1", bill("500"), "100");
        let first = t.store.redeem(&c.tenant, request.clone()).unwrap_err();
        assert!(insufficient(&first), "{first:?}");

        // Points arrive; the till's redelivery of the refused request must not spend them.
        give(t, &c, "200");
        let again = t.store.redeem(&c.tenant, request.clone()).unwrap_err();
        assert!(replayed(&again, &first, "INSUFFICIENT_POINTS"), "{again:?}");
        assert_eq!(again.to_string(), first.to_string());
        // Any credential of the tenant retrying it gets the same answer.
        let other_till = RedeemRequest { actor: "till-8".into(), ..request.clone() };
        let again = t.store.redeem(&c.tenant, other_till).unwrap_err();
        assert!(replayed(&again, &first, "INSUFFICIENT_POINTS"), "{again:?}");
        let b = balances(t, &c);
        assert_eq!((b.available, b.redeemed), (pts("250"), pts("0")));
        assert_eq!(entries(t, &c, "redeemed"), 0);

        // The key still belongs to that request; a new key is a new request and succeeds.
        let other = redeem_req(&c, "till-7:burn-1", "ORDER1", bill("500"), "90");
        let conflict = t.store.redeem(&c.tenant, other).unwrap_err();
        assert!(matches!(conflict, StoreError::IdempotencyConflict { .. }), "{conflict:?}");
        let paid = t.store.redeem(&c.tenant, RedeemRequest { idempotency_key: key("till-7:burn-2"), ..request }).unwrap();
        assert_eq!(paid.points, pts("100"));
    }

    fn a_malformed_request_is_not_recorded_and_a_corrected_retry_with_the_same_key_succeeds(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "150");
        let usd = Currency::new("USD").unwrap();
        let dollars = vec![BillLine { category: None, amount: Money::parse("500", usd).unwrap() }];
        let err = t.store.redeem(&c.tenant, redeem_req(&c, "burn-1", "ORDER1", dollars, "30")).unwrap_err();
        assert!(matches!(err, StoreError::Rule(Error::CurrencyMismatch { .. })), "{err:?}");
        assert_eq!(err.refusal(), None);
        // Had the malformed request been recorded, the corrected one would conflict with it.
        let paid = t.store.redeem(&c.tenant, redeem_req(&c, "burn-1", "ORDER1", bill("500"), "30")).unwrap();
        assert_eq!(paid.points, pts("30"));
        assert_eq!(balances(t, &c).available, pts("120"));
    }

    fn a_call_for_a_membership_not_yet_made_is_not_recorded_and_succeeds_once_it_exists(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        let newcomer = loyalty_store::NewMember {
            customer_id: "C-2".into(),
            card_number: loyalty_core::CardNumber::new("CARD-C-2").unwrap(),
            name: "Newcomer".into(),
            phone: None,
            email: None,
            referrer_id: None,
        };
        let member = t.store.enroll_member(&c.tenant, None, newcomer, &[]).unwrap().0.id;
        let welcome = |member: &str| loyalty_store::AdjustRequest {
            idempotency_key: key("welcome:C-2"),
            member_id: member.to_owned(),
            program_id: c.program.clone(),
            points: dec("25"),
            reason: "welcome".into(),
            actor: "admin".into(),
        };
        let err = t.store.adjust(&c.tenant, welcome(&member)).unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
        t.store.join_program(&c.tenant, None, &member, &c.program).unwrap();
        assert_eq!(t.store.adjust(&c.tenant, welcome(&member)).unwrap().points, dec("25"));
    }

    fn a_rate_limited_redemption_is_not_recorded_and_its_retry_a_minute_later_succeeds(t) {
        let mut rules = shop_rules();
        rules.redemptions_per_minute = Some(1);
        let c = open_checkout(t, "Cathay Shop", rules);
        give(t, &c, "150");
        t.store.redeem(&c.tenant, redeem_req(&c, "burn-1", "ORDER1", bill("500"), "10")).unwrap();
        let request = redeem_req(&c, "burn-2", "ORDER2", bill("500"), "10");
        let limited = t.store.redeem(&c.tenant, request.clone()).unwrap_err();
        assert!(matches!(limited, StoreError::RateLimited { limit: 1 }), "{limited:?}");
        assert_eq!(limited.refusal(), None);
        t.clock.advance(Duration::seconds(61));
        assert_eq!(t.store.redeem(&c.tenant, request).unwrap().points, pts("10"));
        assert_eq!(balances(t, &c).available, pts("130"));
    }

    fn a_retry_from_another_credential_of_the_tenant_replays_the_first_result(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "150");
        let request = redeem_req(&c, "ORDER1:burn", "ORDER1", bill("500"), "30");
        let first = t.store.redeem(&c.tenant, request.clone()).unwrap();
        give(t, &c, "10");
        let retry = RedeemRequest { actor: "till-2".into(), ..request };
        assert_eq!(t.store.redeem(&c.tenant, retry).unwrap(), first);
        assert_eq!(entries(t, &c, "redeemed"), 1);
        assert_eq!(balances(t, &c).available, pts("130"));
    }

    fn another_tenant_using_the_same_key_string_is_independent(t) {
        let shop = open_checkout(t, "Cathay Shop", shop_rules());
        let pharmacy = open_checkout(t, "Pharmacy", shop_rules());
        give(t, &shop, "5");
        give(t, &pharmacy, "150");
        let refused = t.store.redeem(&shop.tenant, redeem_req(&shop, "burn-1", "ORDER1", bill("500"), "30")).unwrap_err();
        assert!(insufficient(&refused), "{refused:?}");
        // The same key string in another tenant is another key: the shop's refusal is not its
        // answer, and a different request under it is no conflict.
        let paid = t.store.redeem(&pharmacy.tenant, redeem_req(&pharmacy, "burn-1", "ORDER1", bill("500"), "30")).unwrap();
        assert_eq!(paid.points, pts("30"));
        let again = t.store.redeem(&pharmacy.tenant, redeem_req(&pharmacy, "burn-1", "ORDER1", bill("500"), "30")).unwrap();
        assert_eq!(again, paid);
        assert_eq!((balances(t, &shop).available, balances(t, &pharmacy).available), (pts("5"), pts("120")));
    }

    fn retried_reserve_capture_and_release_answer_with_the_balances_as_they_were(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "150");
        let hold = t.store.reserve(&c.tenant, reserve_req(&c, "h1", "ORDER1", "500", "30")).unwrap();
        assert_eq!((hold.balances.available, hold.balances.held), (pts("120"), pts("30")));
        give(t, &c, "100");
        let again = t.store.reserve(&c.tenant, reserve_req(&c, "h1", "ORDER1", "500", "30")).unwrap();
        assert_eq!(again, hold, "the reservation's answer, with the balances as they were");

        let paid = t.store.capture(&c.tenant, capture_req("h1:capture", &hold.id, Some("20"))).unwrap();
        assert_eq!((paid.balances.available, paid.balances.held, paid.balances.redeemed), (pts("230"), pts("0"), pts("20")));
        let second = t.store.reserve(&c.tenant, reserve_req(&c, "h2", "ORDER2", "500", "40")).unwrap();
        give(t, &c, "7");
        assert_eq!(t.store.capture(&c.tenant, capture_req("h1:capture", &hold.id, Some("20"))).unwrap(), paid);

        let released = t.store.release(&c.tenant, release_req("h2:release", &second.id)).unwrap();
        assert_eq!((released.balances.available, released.balances.held), (pts("237"), pts("0")));
        give(t, &c, "3");
        assert_eq!(t.store.release(&c.tenant, release_req("h2:release", &second.id)).unwrap(), released);

        // A refused resolution is recorded too: the capture of the released hold stays refused.
        let late = t.store.capture(&c.tenant, capture_req("h2:capture", &second.id, None)).unwrap_err();
        assert!(matches!(late, StoreError::Rule(Error::HoldAlreadyResolved { .. })), "{late:?}");
        let retried = t.store.capture(&c.tenant, capture_req("h2:capture", &second.id, None)).unwrap_err();
        assert!(replayed(&retried, &late, "HOLD_ALREADY_RESOLVED"), "{retried:?}");
        let b = balances(t, &c);
        assert_eq!((b.available, b.held, b.redeemed), (pts("240"), pts("0"), pts("20")));
        assert_eq!((entries(t, &c, "reserved"), entries(t, &c, "captured"), entries(t, &c, "released")), (2, 1, 2));
    }
}
