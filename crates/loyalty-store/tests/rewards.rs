//! The rewards page: a catalog of coupons, donations and items bought with points, on both
//! backends.
// Test bodies run in helper functions (one per backend), which clippy's allow-*-in-tests
// settings do not cover.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod spend_setup;

use chrono::Duration;
use loyalty_core::{Currency, Error, Money, Reward, RewardKind};
use loyalty_store::{
    FulfillRequest, RewardRedemptionStatus, RewardRequest, RewardView, StoreError,
};
use spend_setup::*;

fn coupon(t: &common::TestStore, c: &Checkout) -> RewardView {
    let value = Money::parse("5", inr()).unwrap();
    let reward = Reward::new("5 off", RewardKind::Coupon { value }, pts("500"), Some(90)).unwrap();
    t.store
        .create_reward(&c.tenant, None, &c.program, reward)
        .unwrap()
}

fn donation(t: &common::TestStore, c: &Checkout) -> RewardView {
    let amount = Money::parse("10", inr()).unwrap();
    let reward = Reward::new(
        "Plant a tree",
        RewardKind::Donation { amount },
        pts("200"),
        None,
    )
    .unwrap();
    t.store
        .create_reward(&c.tenant, None, &c.program, reward)
        .unwrap()
}

fn reward_req(c: &Checkout, key: &str, reward_id: &str) -> RewardRequest {
    RewardRequest {
        idempotency_key: spend_setup::key(key),
        member_id: c.member.clone(),
        program_id: c.program.clone(),
        reward_id: reward_id.into(),
        actor: "rewards-page".into(),
    }
}

on_both_backends! {
    fn a_coupon_redemption_costs_its_points_and_yields_a_unique_code(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "2000");
        let reward = coupon(t, &c);
        let first = t.store.redeem_reward(&c.tenant, reward_req(&c, "k1", &reward.id)).unwrap();
        let second = t.store.redeem_reward(&c.tenant, reward_req(&c, "k2", &reward.id)).unwrap();
        let (a, b) = (first.coupon_code.clone().unwrap(), second.coupon_code.clone().unwrap());
        assert_ne!(a, b);
        for code in [&a, &b] {
            assert_eq!(code.len(), 16);
            assert!(code.chars().all(|ch| "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(ch)), "{code}");
        }
        assert_eq!((first.status, first.points, first.value), (RewardRedemptionStatus::Active, pts("500"), Some(money("5"))));
        assert_eq!(first.expires_at, Some(t.store.now() + Duration::days(90)));
        assert_eq!(balances(t, &c).available, pts("1000"));
        assert_eq!(entries(t, &c, "redeemed"), 2);
    }

    fn a_donation_has_no_code_and_is_active_until_fulfilled(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "300");
        let reward = donation(t, &c);
        let done = t.store.redeem_reward(&c.tenant, reward_req(&c, "k1", &reward.id)).unwrap();
        assert_eq!((done.coupon_code.clone(), done.status, done.used_at), (None, RewardRedemptionStatus::Active, None));
        assert_eq!(done.kind, "donation");
        assert_eq!(balances(t, &c).available, pts("100"));
        let fulfill = FulfillRequest { idempotency_key: key("k2"), redemption_id: done.id.clone() };
        let made = t.store.fulfill_redemption(&c.tenant, fulfill).unwrap();
        assert_eq!((made.status, made.used_at), (RewardRedemptionStatus::Fulfilled, Some(t.store.now())));
        assert_eq!(balances(t, &c).available, pts("100"));
    }

    fn a_coupon_is_used_once(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "500");
        let reward = coupon(t, &c);
        let code = t.store.redeem_reward(&c.tenant, reward_req(&c, "k1", &reward.id)).unwrap().coupon_code.unwrap();
        // Typed in lower case with a dash, it is the same code.
        let typed = format!("{}-{}", &code[..8], &code[8..]).to_lowercase();
        let used = t.store.mark_coupon_used(&c.tenant, None, &typed).unwrap();
        assert_eq!((used.status, used.used_at), (RewardRedemptionStatus::Used, Some(t.store.now())));
        let err = t.store.mark_coupon_used(&c.tenant, None, &code).unwrap_err();
        assert!(matches!(err, StoreError::FailedPrecondition(_)), "{err:?}");
        assert!(err.to_string().contains("already used"), "{err}");
    }

    fn an_expired_coupon_reads_as_expired_and_cannot_be_used(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "500");
        let reward = coupon(t, &c);
        let code = t.store.redeem_reward(&c.tenant, reward_req(&c, "k1", &reward.id)).unwrap().coupon_code.unwrap();
        t.clock.advance(Duration::days(90));
        let history = t.store.list_reward_redemptions(&c.tenant, &c.member, None, None, 10).unwrap();
        assert_eq!(history.items[0].status, RewardRedemptionStatus::Expired);
        let err = t.store.mark_coupon_used(&c.tenant, None, &code).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
    }

    fn a_withdrawn_reward_cannot_be_redeemed_and_nothing_changes(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "2000");
        let reward = coupon(t, &c);
        let off = t.store.set_reward_active(&c.tenant, None, &reward.id, false).unwrap();
        assert!(!off.active);
        let err = t.store.redeem_reward(&c.tenant, reward_req(&c, "k1", &reward.id)).unwrap_err();
        assert!(matches!(err, StoreError::Rule(Error::RewardUnavailable(_))), "{err:?}");
        assert_eq!(balances(t, &c).available, pts("2000"));
        assert!(t.store.list_rewards(&c.tenant, &c.program, false).unwrap().is_empty());
        assert_eq!(t.store.list_rewards(&c.tenant, &c.program, true).unwrap(), vec![off]);
    }

    fn a_reward_costing_more_than_the_balance_is_refused_and_nothing_changes(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "499");
        let reward = coupon(t, &c);
        let err = t.store.redeem_reward(&c.tenant, reward_req(&c, "k1", &reward.id)).unwrap_err();
        assert!(matches!(err, StoreError::Rule(Error::InsufficientPoints { .. })), "{err:?}");
        assert_eq!(balances(t, &c).available, pts("499"));
        assert!(t.store.list_reward_redemptions(&c.tenant, &c.member, None, None, 10).unwrap().items.is_empty());
        assert_eq!(entries(t, &c, "redeemed"), 0);
    }

    fn redeeming_a_reward_twice_with_one_key_has_one_effect(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "2000");
        let reward = coupon(t, &c);
        let first = t.store.redeem_reward(&c.tenant, reward_req(&c, "k1", &reward.id)).unwrap();
        let again = t.store.redeem_reward(&c.tenant, reward_req(&c, "k1", &reward.id)).unwrap();
        assert_eq!(first, again);
        assert_eq!(balances(t, &c).available, pts("1500"));
    }

    fn the_redemption_history_pages_newest_first(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "2000");
        let reward = donation(t, &c);
        let ids: Vec<String> = (1..=3)
            .map(|i| t.store.redeem_reward(&c.tenant, reward_req(&c, &format!("k{i}"), &reward.id)).unwrap().id)
            .collect();
        let first = t.store.list_reward_redemptions(&c.tenant, &c.member, Some(&c.program), None, 2).unwrap();
        let listed: Vec<_> = first.items.iter().map(|r| r.id.clone()).collect();
        assert_eq!(listed, vec![ids[2].clone(), ids[1].clone()]);
        let cursor = first.next_cursor.unwrap();
        let rest = t.store.list_reward_redemptions(&c.tenant, &c.member, Some(&c.program), Some(&cursor), 2).unwrap();
        assert_eq!(rest.items.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), vec![ids[0].clone()]);
        assert_eq!(rest.next_cursor, None);
    }

    fn a_reward_of_another_program_is_refused(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "2000");
        let other = t.store.create_program(&c.tenant, None, "Wine & Dine", shop_rules()).unwrap();
        let value = Money::parse("5", inr()).unwrap();
        let reward = Reward::new("Wine", RewardKind::Coupon { value }, pts("100"), None).unwrap();
        let reward = t.store.create_reward(&c.tenant, None, &other.id, reward).unwrap();
        let err = t.store.redeem_reward(&c.tenant, reward_req(&c, "k1", &reward.id)).unwrap_err();
        assert!(matches!(err, StoreError::Rule(Error::RewardUnavailable(_))), "{err:?}");
        assert_eq!(balances(t, &c).available, pts("2000"));
    }

    fn a_reward_priced_in_another_currency_is_refused(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        let value = Money::parse("5", Currency::new("USD").unwrap()).unwrap();
        let reward = Reward::new("$5 off", RewardKind::Coupon { value }, pts("500"), None).unwrap();
        let err = t.store.create_reward(&c.tenant, None, &c.program, reward).unwrap_err();
        assert!(matches!(err, StoreError::Rule(Error::CurrencyMismatch { .. })), "{err:?}");
    }

    fn another_tenant_cannot_see_redeem_or_use_a_reward(t) {
        let c = open_checkout(t, "Cathay Shop", shop_rules());
        give(t, &c, "2000");
        let reward = coupon(t, &c);
        let code = t.store.redeem_reward(&c.tenant, reward_req(&c, "k1", &reward.id)).unwrap().coupon_code.unwrap();
        let p = open_checkout(t, "Pharmacy", shop_rules());
        give(t, &p, "2000");
        let err = t.store.redeem_reward(&p.tenant, reward_req(&p, "k1", &reward.id)).unwrap_err();
        assert!(matches!(err, StoreError::NotFound { what: "reward", .. }), "{err:?}");
        let err = t.store.set_reward_active(&p.tenant, None, &reward.id, false).unwrap_err();
        assert!(matches!(err, StoreError::NotFound { what: "reward", .. }), "{err:?}");
        let err = t.store.mark_coupon_used(&p.tenant, None, &code).unwrap_err();
        assert!(matches!(err, StoreError::NotFound { what: "coupon", .. }), "{err:?}");
        let err = t.store.list_rewards(&p.tenant, &c.program, true).unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
        assert_eq!(balances(t, &p).available, pts("2000"));
        assert!(t.store.list_rewards(&c.tenant, &c.program, false).unwrap()[0].active);
    }
}
