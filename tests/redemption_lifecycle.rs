//! The life of a reward redemption: every one starts ACTIVE; a coupon becomes USED at a till,
//! a donation or an item FULFILLED; an admin may cancel an ACTIVE one, which gives its points
//! back with a RETURNED entry; nothing else moves a redemption, and each change happens once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ledger_support;

use common::authed;
use ledger_support::{Shop, bill, code_of, coupon, dec, donation, money, pts};
use loyalty_core::{Currency, EarnRate, ProgramRules, Reward, RewardKind};
use loyalty_grpc::pb;
use tonic::Code;

fn rules() -> ProgramRules {
    let usd = Currency::new("USD").unwrap();
    let mut rules = ProgramRules::new(usd);
    rules.base_rate = EarnRate::new(pts(1), dec("1")).unwrap();
    rules
}

struct Page {
    shop: Shop,
    program: String,
    member: String,
    coupon: String,
    donation: String,
    item: String,
}

/// A member with 300 points and a catalog of a coupon (50), a donation (20) and a mug (80).
async fn rewards_page(server: &common::TestServer) -> Page {
    let mut shop = Shop::open(server, "Rewards").await;
    let usd = Currency::new("USD").unwrap();
    let program = shop.program(server, "Rewards", rules());
    let coupon = shop.reward(server, &program, coupon("$5 off", money("5", usd), 50, 30));
    let donation = shop.reward(server, &program, donation("Food bank", money("2", usd), 20));
    let mug = Reward::new("Mug", RewardKind::Item, pts(80), None).unwrap();
    let item = shop.reward(server, &program, mug);
    let member = shop.member(server, "CARD-ALICE", None, &[&program]);
    let earn = authed(
        &shop.service,
        pb::EarnRequest {
            idempotency_key: "P-1:earn".into(),
            member_id: member.clone(),
            program_id: program.clone(),
            bill: Some(bill("P-1", &[("", "300")])),
        },
    );
    shop.ledger.earn(earn).await.unwrap();
    Page {
        shop,
        program,
        member,
        coupon,
        donation,
        item,
    }
}

impl Page {
    async fn redeem(&mut self, reward: &str) -> pb::RewardRedemption {
        let request = authed(
            &self.shop.service,
            pb::RedeemRewardRequest {
                idempotency_key: common::fresh_key(),
                member_id: self.member.clone(),
                program_id: self.program.clone(),
                reward_id: reward.into(),
            },
        );
        let r = self
            .shop
            .rewards
            .redeem_reward(request)
            .await
            .unwrap()
            .into_inner()
            .redemption
            .unwrap();
        assert_eq!(
            r.status(),
            pb::RedemptionStatus::Active,
            "every redemption starts active: {r:?}"
        );
        r
    }

    fn cancel(
        &self,
        key: &str,
        idem: &str,
        id: &str,
    ) -> tonic::Request<pb::CancelRedemptionRequest> {
        authed(
            key,
            pb::CancelRedemptionRequest {
                idempotency_key: idem.into(),
                redemption_id: id.into(),
                reason: "customer changed their mind".into(),
            },
        )
    }

    fn fulfill(
        &self,
        key: &str,
        idem: &str,
        id: &str,
    ) -> tonic::Request<pb::FulfillRedemptionRequest> {
        authed(
            key,
            pb::FulfillRedemptionRequest {
                idempotency_key: idem.into(),
                redemption_id: id.into(),
            },
        )
    }
}

on_both_backends! {
    async fn a_cancelled_active_coupon_gives_its_points_back(server) {
        let mut page = rewards_page(server).await;
        let (admin, svc) = (page.shop.admin.clone(), page.shop.service.clone());
        let coupon_id = page.coupon.clone();
        let coupon = page.redeem(&coupon_id).await;
        assert_eq!(page.shop.balances(server, &page.member, &page.program).available, pts(250));

        // Only an admin cancels.
        assert_eq!(code_of(page.shop.rewards.cancel_redemption(page.cancel(&svc, "c-1", &coupon.id)).await), Code::PermissionDenied);
        let cancelled = page.shop.rewards.cancel_redemption(page.cancel(&admin, "c-1", &coupon.id)).await.unwrap().into_inner().redemption.unwrap();
        assert_eq!(cancelled.status(), pb::RedemptionStatus::Cancelled);
        assert!(!cancelled.cancelled_at.is_empty());
        assert_eq!(cancelled.used_at, "");
        let balances = page.shop.balances(server, &page.member, &page.program);
        assert_eq!((balances.available, balances.redeemed), (pts(300), pts(0)));

        // A retry answers the same and gives nothing more back; a second cancellation is refused.
        let again = page.shop.rewards.cancel_redemption(page.cancel(&admin, "c-1", &coupon.id)).await.unwrap().into_inner().redemption.unwrap();
        assert_eq!(again, cancelled);
        assert_eq!(code_of(page.shop.rewards.cancel_redemption(page.cancel(&admin, "c-2", &coupon.id)).await), Code::FailedPrecondition);
        assert_eq!(page.shop.balances(server, &page.member, &page.program).available, pts(300));

        // The points came back as a RETURNED entry on the redemption's reference.
        let history = page.shop.ledger
            .list_transactions(authed(&admin, pb::ListTransactionsRequest { member_id: page.member.clone(), reference: format!("reward:{}", coupon.id), ..Default::default() }))
            .await.unwrap().into_inner().entries;
        let kinds: Vec<(pb::EntryKind, &str)> = history.iter().map(|e| (e.kind(), e.points.as_str())).collect();
        assert_eq!(kinds, vec![(pb::EntryKind::Returned, "50"), (pb::EntryKind::Redeemed, "50")]);

        // A cancelled coupon cannot be used at a till; the history shows it cancelled.
        let mark = authed(&svc, pb::MarkCouponUsedRequest { idempotency_key: common::fresh_key(), coupon_code: coupon.coupon_code.clone() });
        assert_eq!(code_of(page.shop.rewards.mark_coupon_used(mark).await), Code::FailedPrecondition);
        let listed = page.shop.rewards
            .list_reward_redemptions(authed(&svc, pb::ListRewardRedemptionsRequest { member_id: page.member.clone(), ..Default::default() }))
            .await.unwrap().into_inner().redemptions;
        assert_eq!(listed, vec![cancelled]);
        assert!(server.store.verify(None).unwrap().is_empty());
    }

    async fn a_used_coupon_cannot_be_cancelled(server) {
        let mut page = rewards_page(server).await;
        let (admin, svc) = (page.shop.admin.clone(), page.shop.service.clone());
        let coupon_id = page.coupon.clone();
        let coupon = page.redeem(&coupon_id).await;
        let mark = authed(&svc, pb::MarkCouponUsedRequest { idempotency_key: common::fresh_key(), coupon_code: coupon.coupon_code.clone() });
        let used = page.shop.rewards.mark_coupon_used(mark).await.unwrap().into_inner().redemption.unwrap();
        assert_eq!(used.status(), pb::RedemptionStatus::Used);
        assert!(!used.used_at.is_empty());

        let refused = page.shop.rewards.cancel_redemption(page.cancel(&admin, "c-1", &coupon.id)).await.unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition);
        assert!(refused.message().contains("used"), "{}", refused.message());
        assert_eq!(page.shop.balances(server, &page.member, &page.program).available, pts(250));
        // An unknown redemption is not found; a malformed id is a bad argument.
        assert_eq!(code_of(page.shop.rewards.cancel_redemption(page.cancel(&admin, "c-2", "0190a0a0-0000-7000-8000-000000000000")).await), Code::NotFound);
        assert_eq!(code_of(page.shop.rewards.cancel_redemption(page.cancel(&admin, "c-3", "")).await), Code::InvalidArgument);
        assert!(server.store.verify(None).unwrap().is_empty());
    }

    async fn donations_and_items_start_active_and_become_fulfilled(server) {
        let mut page = rewards_page(server).await;
        let (admin, svc) = (page.shop.admin.clone(), page.shop.service.clone());
        let (donation_id, item_id, coupon_id) = (page.donation.clone(), page.item.clone(), page.coupon.clone());
        let gift = page.redeem(&donation_id).await;
        let mug = page.redeem(&item_id).await;
        let coupon = page.redeem(&coupon_id).await;
        assert_eq!((gift.kind.as_str(), mug.kind.as_str()), ("donation", "item"));

        // The member app cannot fulfil; the service does, once per redemption.
        let member_key = page.shop.member_key(server, &page.member).await;
        assert_eq!(code_of(page.shop.rewards.fulfill_redemption(page.fulfill(&member_key, "f-0", &gift.id)).await), Code::PermissionDenied);
        let made = page.shop.rewards.fulfill_redemption(page.fulfill(&svc, "f-1", &gift.id)).await.unwrap().into_inner().redemption.unwrap();
        assert_eq!(made.status(), pb::RedemptionStatus::Fulfilled);
        assert!(!made.used_at.is_empty());
        let retry = page.shop.rewards.fulfill_redemption(page.fulfill(&svc, "f-1", &gift.id)).await.unwrap().into_inner().redemption.unwrap();
        assert_eq!(retry, made);
        assert_eq!(code_of(page.shop.rewards.fulfill_redemption(page.fulfill(&svc, "f-2", &gift.id)).await), Code::FailedPrecondition);
        let handed = page.shop.rewards.fulfill_redemption(page.fulfill(&admin, "f-3", &mug.id)).await.unwrap().into_inner().redemption.unwrap();
        assert_eq!(handed.status(), pb::RedemptionStatus::Fulfilled);

        // A coupon is used with its code, not fulfilled; a fulfilled donation is not cancelled.
        assert_eq!(code_of(page.shop.rewards.fulfill_redemption(page.fulfill(&svc, "f-4", &coupon.id)).await), Code::FailedPrecondition);
        assert_eq!(code_of(page.shop.rewards.cancel_redemption(page.cancel(&admin, "c-1", &gift.id)).await), Code::FailedPrecondition);
        let balances = page.shop.balances(server, &page.member, &page.program);
        assert_eq!((balances.available, balances.redeemed), (pts(150), pts(150)));

        // An active item can be cancelled, and then not fulfilled.
        let mug2 = page.redeem(&item_id).await;
        page.shop.rewards.cancel_redemption(page.cancel(&admin, "c-2", &mug2.id)).await.unwrap();
        assert_eq!(code_of(page.shop.rewards.fulfill_redemption(page.fulfill(&svc, "f-5", &mug2.id)).await), Code::FailedPrecondition);
        assert_eq!(page.shop.balances(server, &page.member, &page.program).available, pts(150));

        let statuses: Vec<pb::RedemptionStatus> = page.shop.rewards
            .list_reward_redemptions(authed(&svc, pb::ListRewardRedemptionsRequest { member_id: page.member.clone(), ..Default::default() }))
            .await.unwrap().into_inner().redemptions.iter().map(|r| r.status()).collect();
        assert_eq!(statuses, vec![
            pb::RedemptionStatus::Cancelled,
            pb::RedemptionStatus::Active,
            pb::RedemptionStatus::Fulfilled,
            pb::RedemptionStatus::Fulfilled,
        ]);
        assert!(server.store.verify(None).unwrap().is_empty());
    }
}
