//! A hold whose time-to-live passed gives its points back at once, without waiting for the
//! periodic sweep: `ExpirePoints` releases it, and so does any operation on its membership
//! (an earn, a redeem, a reserve), whose own work can then spend those points.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ledger_support;

use chrono::Duration;
use common::authed;
use ledger_support::{Shop, available, bill, code_of, dec, money, pts};
use loyalty_core::{ConversionRate, Currency, EarnRate, ProgramRules, RedemptionRules};
use loyalty_grpc::pb;
use tonic::Code;

fn shop_rules() -> ProgramRules {
    let inr = Currency::new("INR").unwrap();
    let mut rules = ProgramRules::new(inr);
    rules.base_rate = EarnRate::new(pts(1), dec("10")).unwrap();
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(pts(1), money("1.00", inr)).unwrap(),
        min_points: pts(10),
        max_bill_share: "100".parse().unwrap(),
        max_points_per_bill: None,
    });
    rules
}

/// A shop whose member holds all her 100 points in a hold of 60 seconds on ORDER-1.
async fn holding_everything(server: &common::TestServer) -> (Shop, String, String, String) {
    let mut shop = Shop::open(server, "Holds").await;
    let program = shop.program(server, "Points", shop_rules());
    let member = shop.member(server, "CARD-0001", None, &[&program]);
    let svc = shop.service.clone();
    let earn = authed(
        &svc,
        pb::EarnRequest {
            idempotency_key: "ORDER-0:earn".into(),
            member_id: member.clone(),
            program_id: program.clone(),
            bill: Some(bill("ORDER-0", &[("", "1000")])),
        },
    );
    shop.ledger.earn(earn).await.unwrap();
    let reserve = authed(
        &svc,
        pb::ReserveRequest {
            idempotency_key: "ORDER-1:reserve".into(),
            member_id: member.clone(),
            program_id: program.clone(),
            bill: Some(bill("ORDER-1", &[("", "500")])),
            points: "100".into(),
            ttl_seconds: 60,
        },
    );
    let held = shop.ledger.reserve(reserve).await.unwrap().into_inner();
    assert_eq!(available(&held.balances), "0");
    assert_eq!(held.balances.as_ref().unwrap().held, "100");
    let hold = held.hold.unwrap().id;
    (shop, program, member, hold)
}

fn redeem(
    key: &str,
    idem: &str,
    member: &str,
    program: &str,
    points: &str,
) -> tonic::Request<pb::RedeemRequest> {
    authed(
        key,
        pb::RedeemRequest {
            idempotency_key: idem.into(),
            member_id: member.into(),
            program_id: program.into(),
            bill: Some(bill("ORDER-2", &[("", "500")])),
            points: points.into(),
        },
    )
}

on_both_backends! {
    async fn expire_points_releases_a_hold_past_its_time_to_live(server) {
        let (mut shop, program, member, hold) = holding_everything(server).await;
        let admin = shop.admin.clone();
        let expire = || authed(&admin, pb::ExpirePointsRequest { idempotency_key: common::fresh_key() });

        // Before its time-to-live is over, the hold stays.
        server.clock.advance(Duration::seconds(59));
        let early = shop.ledger.expire_points(expire()).await.unwrap().into_inner();
        assert_eq!(early.holds_released, 0);
        assert_eq!(server.store.get_hold(&shop.tenant, &hold).unwrap().status, "active");

        // From its expiry on, ExpirePoints releases it (no sweep runs in these servers).
        server.clock.advance(Duration::seconds(1));
        let expired = shop.ledger.expire_points(expire()).await.unwrap().into_inner();
        assert_eq!((expired.memberships, expired.holds_released, expired.points_expired.as_str()), (1, 1, "0"));
        let view = server.store.get_hold(&shop.tenant, &hold).unwrap();
        assert_eq!(view.status, "expired");
        let balances = shop.balances(server, &member, &program);
        assert_eq!((balances.available, balances.held), (pts(100), pts(0)));
        let again = shop.ledger.expire_points(expire()).await.unwrap().into_inner();
        assert_eq!((again.memberships, again.holds_released), (0, 0));

        // The released points are spendable, and the hold can no longer be captured.
        let svc = shop.service.clone();
        let spent = shop.ledger.redeem(redeem(&svc, "ORDER-2:redeem", &member, &program, "100")).await.unwrap().into_inner();
        assert_eq!(available(&spent.balances), "0");
        let capture = authed(&svc, pb::CaptureRequest { idempotency_key: "ORDER-1:capture".into(), hold_id: hold.clone(), points: String::new() });
        assert_eq!(code_of(shop.ledger.capture(capture).await), Code::FailedPrecondition);

        let kinds: Vec<pb::EntryKind> = shop
            .ledger
            .list_transactions(authed(&admin, pb::ListTransactionsRequest { member_id: member.clone(), reference: "ORDER-1".into(), ..Default::default() }))
            .await
            .unwrap()
            .into_inner()
            .entries
            .iter()
            .map(|e| e.kind())
            .collect();
        assert_eq!(kinds, vec![pb::EntryKind::Released, pb::EntryKind::Reserved]);
        assert!(server.store.verify(None).unwrap().is_empty());
    }

    async fn a_redeem_after_the_time_to_live_spends_the_held_points_in_the_same_call(server) {
        let (mut shop, program, member, hold) = holding_everything(server).await;
        let svc = shop.service.clone();

        // While the hold lives, its points cannot be spent.
        assert_eq!(code_of(shop.ledger.redeem(redeem(&svc, "early", &member, &program, "100")).await), Code::FailedPrecondition);

        // One second past its time-to-live the same redemption succeeds: settling the
        // membership released the hold inside the redeem's own transaction.
        server.clock.advance(Duration::seconds(61));
        let spent = shop.ledger.redeem(redeem(&svc, "late", &member, &program, "100")).await.unwrap().into_inner();
        assert_eq!(spent.points, "100");
        let balances = spent.balances.unwrap();
        assert_eq!((balances.available.as_str(), balances.held.as_str(), balances.redeemed.as_str()), ("0", "0", "100"));
        assert_eq!(server.store.get_hold(&shop.tenant, &hold).unwrap().status, "expired");

        // Nothing is left for ExpirePoints to release.
        let admin = shop.admin.clone();
        let expired = shop.ledger.expire_points(authed(&admin, pb::ExpirePointsRequest { idempotency_key: common::fresh_key() })).await.unwrap().into_inner();
        assert_eq!(expired.holds_released, 0);
        assert!(server.store.verify(None).unwrap().is_empty());
    }

    async fn an_earn_after_the_time_to_live_releases_the_hold(server) {
        let (mut shop, program, member, hold) = holding_everything(server).await;
        let svc = shop.service.clone();
        server.clock.advance(Duration::minutes(5));
        let earn = authed(&svc, pb::EarnRequest {
            idempotency_key: "ORDER-3:earn".into(),
            member_id: member.clone(),
            program_id: program.clone(),
            bill: Some(bill("ORDER-3", &[("", "200")])),
        });
        let earned = shop.ledger.earn(earn).await.unwrap().into_inner();
        assert_eq!(earned.points_earned, "20");
        assert_eq!(available(&earned.balances), "120");
        assert_eq!(earned.balances.as_ref().unwrap().held, "0");
        assert_eq!(server.store.get_hold(&shop.tenant, &hold).unwrap().status, "expired");

        // A release of the hold the earn expired is refused: it was resolved exactly once.
        let release = authed(&svc, pb::ReleaseRequest { idempotency_key: "ORDER-1:release".into(), hold_id: hold.clone() });
        assert_eq!(code_of(shop.ledger.release(release).await), Code::FailedPrecondition);
        assert_eq!(shop.balances(server, &member, &program).available, pts(120));
        assert!(server.store.verify(None).unwrap().is_empty());
    }

    async fn releasing_a_hold_after_its_time_to_live_is_still_a_release(server) {
        let (mut shop, program, member, hold) = holding_everything(server).await;
        let svc = shop.service.clone();
        server.clock.advance(Duration::minutes(5));
        // The payment failed late: the release resolves the hold itself (settling leaves the
        // hold being released alone), and the points come back once.
        let release = authed(&svc, pb::ReleaseRequest { idempotency_key: "ORDER-1:release".into(), hold_id: hold.clone() });
        let released = shop.ledger.release(release).await.unwrap().into_inner();
        assert_eq!(released.hold.unwrap().status(), pb::HoldStatus::Released);
        assert_eq!(available(&released.balances), "100");
        assert_eq!(shop.balances(server, &member, &program).held, pts(0));
        assert!(server.store.verify(None).unwrap().is_empty());
    }
}
