//! The rewards page: feedback earns a flat 10 points, points buy a coupon (with a code) or a
//! donation (without), both active at first; the page lists the redemptions with their status,
//! the donation is fulfilled when made, and the till uses a coupon once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ledger_support;

use common::authed;
use ledger_support::{Shop, available, bill, code_of, coupon, dec, donation, money, pts};
use loyalty_core::{ActionRule, Currency, EarnRate, ProgramRules};
use loyalty_grpc::pb;
use tonic::Code;

fn rewards_program() -> ProgramRules {
    let usd = Currency::new("USD").unwrap();
    let mut rules = ProgramRules::new(usd);
    rules.base_rate = EarnRate::new(pts(1), dec("1")).unwrap();
    rules.actions = vec![
        ActionRule {
            action: "feedback".into(),
            points: pts(10),
        },
        ActionRule {
            action: "event_attended".into(),
            points: pts(50),
        },
    ];
    rules
}

fn status(r: &pb::RewardRedemption) -> pb::RedemptionStatus {
    r.status()
}

on_both_backends! {
    async fn the_rewards_page_flow(server) {
        let mut shop = Shop::open(server, "Rewards").await;
        let usd = Currency::new("USD").unwrap();
        let program = shop.program(server, "Rewards", rewards_program());
        let coupon_id = shop.reward(server, &program, coupon("$5 off", money("5", usd), 50, 30));
        let donation_id = shop.reward(server, &program, donation("Donate $2 to the food bank", money("2", usd), 20));
        let alice = shop.member(server, "CARD-ALICE", None, &[&program]);
        let bob = shop.member(server, "CARD-BOB", None, &[&program]);
        let svc = shop.service.clone();
        let alice_key = shop.member_key(server, &alice).await;

        // Submitting feedback earns a flat 10 points, once per key.
        let feedback = |idem: &str| {
            authed(&svc, pb::AwardActionRequest {
                idempotency_key: idem.into(),
                member_id: alice.clone(),
                program_id: program.clone(),
                action: "feedback".into(),
                reference: "review-77".into(),
            })
        };
        let awarded = shop.ledger.award_action(feedback("feedback-77")).await.unwrap().into_inner();
        assert_eq!(awarded.points, "10");
        assert_eq!(available(&awarded.balances), "10");
        let replay = shop.ledger.award_action(feedback("feedback-77")).await.unwrap().into_inner();
        assert_eq!(replay, awarded);
        let unknown = authed(&svc, pb::AwardActionRequest {
            idempotency_key: "dance".into(),
            member_id: alice.clone(),
            program_id: program.clone(),
            action: "dance".into(),
            reference: String::new(),
        });
        assert_eq!(code_of(shop.ledger.award_action(unknown).await), Code::FailedPrecondition);

        // A purchase of $100 earns 100 points.
        shop.ledger
            .earn(authed(&svc, pb::EarnRequest {
                idempotency_key: "purchase-1".into(),
                member_id: alice.clone(),
                program_id: program.clone(),
                bill: Some(bill("PURCHASE-1", &[("", "100")])),
            }))
            .await
            .unwrap();
        assert_eq!(shop.balances(server, &alice, &program).available, pts(110));

        // Alice redeems a coupon from her own app: the code comes back.
        let redeem = |key: &str, idem: &str, reward: &str| {
            authed(key, pb::RedeemRewardRequest {
                idempotency_key: idem.into(),
                member_id: alice.clone(),
                program_id: program.clone(),
                reward_id: reward.into(),
            })
        };
        let coupon = shop.rewards.redeem_reward(redeem(&alice_key, "coupon-1", &coupon_id)).await.unwrap().into_inner().redemption.unwrap();
        assert_eq!(coupon.coupon_code.len(), 16, "{coupon:?}");
        assert_eq!(coupon.points, "50");
        assert_eq!(coupon.value, "5.00");
        assert_eq!(status(&coupon), pb::RedemptionStatus::Active);
        assert!(!coupon.expires_at.is_empty());

        // And a donation through the service: no code, active until the donation is made.
        let gift = shop.rewards.redeem_reward(redeem(&svc, "donation-1", &donation_id)).await.unwrap().into_inner().redemption.unwrap();
        assert_eq!(gift.coupon_code, "");
        assert_eq!(status(&gift), pb::RedemptionStatus::Active);
        assert_eq!(gift.used_at, "");
        assert_eq!(shop.balances(server, &alice, &program).available, pts(40));

        // Not enough points left for another coupon: refused, nothing spent.
        assert_eq!(code_of(shop.rewards.redeem_reward(redeem(&svc, "coupon-2", &coupon_id)).await), Code::FailedPrecondition);
        assert_eq!(shop.balances(server, &alice, &program).available, pts(40));

        // The rewards page lists both, newest first, with their status.
        let list = |key: &str, member: &str| {
            authed(key, pb::ListRewardRedemptionsRequest { member_id: member.into(), ..Default::default() })
        };
        let page = shop.rewards.list_reward_redemptions(list(&alice_key, &alice)).await.unwrap().into_inner();
        let names: Vec<(&str, pb::RedemptionStatus)> = page.redemptions.iter().map(|r| (r.reward_name.as_str(), status(r))).collect();
        assert_eq!(names, vec![("Donate $2 to the food bank", pb::RedemptionStatus::Active), ("$5 off", pb::RedemptionStatus::Active)]);
        assert!(page.next_page_token.is_empty());

        // The donation is made: the service records it fulfilled, with the date.
        let fulfill = authed(&svc, pb::FulfillRedemptionRequest { idempotency_key: "donation-1:made".into(), redemption_id: gift.id.clone() });
        let made = shop.rewards.fulfill_redemption(fulfill).await.unwrap().into_inner().redemption.unwrap();
        assert_eq!(status(&made), pb::RedemptionStatus::Fulfilled);
        assert!(!made.used_at.is_empty());

        // The till uses the coupon once; the member app cannot mark it.
        let mark = |key: &str| authed(key, pb::MarkCouponUsedRequest { idempotency_key: common::fresh_key(), coupon_code: coupon.coupon_code.to_lowercase() });
        assert_eq!(code_of(shop.rewards.mark_coupon_used(mark(&alice_key)).await), Code::PermissionDenied);
        let used = shop.rewards.mark_coupon_used(mark(&svc)).await.unwrap().into_inner().redemption.unwrap();
        assert_eq!(status(&used), pb::RedemptionStatus::Used);
        assert_eq!(used.id, coupon.id);
        assert_eq!(code_of(shop.rewards.mark_coupon_used(mark(&svc)).await), Code::FailedPrecondition);
        let unknown = authed(&svc, pb::MarkCouponUsedRequest { idempotency_key: common::fresh_key(), coupon_code: "0000000000000000".into() });
        assert_eq!(code_of(shop.rewards.mark_coupon_used(unknown).await), Code::NotFound);
        let page = shop.rewards.list_reward_redemptions(list(&svc, &alice)).await.unwrap().into_inner();
        assert_eq!(status(&page.redemptions[0]), pb::RedemptionStatus::Fulfilled);
        assert_eq!(status(&page.redemptions[1]), pb::RedemptionStatus::Used);
        assert_eq!(page.redemptions[1].used_at, used.used_at);
        assert!(server.store.verify(None).unwrap().is_empty());

        // Alice's key cannot see (or spend) Bob's.
        assert_eq!(code_of(shop.rewards.list_reward_redemptions(list(&alice_key, &bob)).await), Code::PermissionDenied);
        let for_bob = authed(&alice_key, pb::RedeemRewardRequest {
            idempotency_key: "bob-1".into(),
            member_id: bob.clone(),
            program_id: program.clone(),
            reward_id: donation_id.clone(),
        });
        assert_eq!(code_of(shop.rewards.redeem_reward(for_bob).await), Code::PermissionDenied);
    }

    async fn an_unused_coupon_expires(server) {
        let mut shop = Shop::open(server, "Rewards").await;
        let usd = Currency::new("USD").unwrap();
        let program = shop.program(server, "Rewards", rewards_program());
        let coupon_id = shop.reward(server, &program, coupon("$5 off", money("5", usd), 50, 30));
        let alice = shop.member(server, "CARD-ALICE", None, &[&program]);
        let svc = shop.service.clone();
        let event = authed(&svc, pb::AwardActionRequest {
            idempotency_key: "event-1".into(),
            member_id: alice.clone(),
            program_id: program.clone(),
            action: "event_attended".into(),
            reference: String::new(),
        });
        shop.ledger.award_action(event).await.unwrap();
        let redeem = authed(&svc, pb::RedeemRewardRequest {
            idempotency_key: "coupon-1".into(),
            member_id: alice.clone(),
            program_id: program.clone(),
            reward_id: coupon_id,
        });
        let coupon = shop.rewards.redeem_reward(redeem).await.unwrap().into_inner().redemption.unwrap();
        // 31 days after the test clock's start (2026-11-21T10:00Z): past the coupon's 30.
        server.clock.set("2026-12-22T10:00:00Z".parse().unwrap());
        let page = shop
            .rewards
            .list_reward_redemptions(authed(&svc, pb::ListRewardRedemptionsRequest { member_id: alice.clone(), ..Default::default() }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(status(&page.redemptions[0]), pb::RedemptionStatus::Expired);
        let mark = authed(&svc, pb::MarkCouponUsedRequest { idempotency_key: common::fresh_key(), coupon_code: coupon.coupon_code });
        assert_eq!(code_of(shop.rewards.mark_coupon_used(mark).await), Code::FailedPrecondition);
    }
}
