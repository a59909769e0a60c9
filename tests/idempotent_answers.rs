//! End to end: an idempotency key answers every retry of the same request, from any API key of
//! the tenant, with the first call's answer: its result (balances as they were then) or its
//! refusal by the rules (same code, message and details), whatever changed since. Malformed
//! requests are not recorded, and another tenant's identical key string is another key.
// The bodies run outside `#[test]` functions (`on_both_backends!` calls them), so the test
// allowances of clippy.toml do not reach them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ledger_support;

use common::{TestServer, authed};
use ledger_support::{Shop, available, bill, dec, money, pts, status_of};
use loyalty_core::{ConversionRate, Currency, EarnRate, ProgramRules, RedemptionRules};
use loyalty_grpc::pb;
use tonic::Code;

/// 1 point per 10 spent; 1 point pays 1.00, at least 10 and at most 100 points, half a bill.
fn cathay_rules() -> ProgramRules {
    let inr = Currency::new("INR").unwrap();
    let mut rules = ProgramRules::new(inr);
    rules.base_rate = EarnRate::new(pts(1), dec("10")).unwrap();
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(pts(1), money("1.00", inr)).unwrap(),
        min_points: pts(10),
        max_bill_share: "50".parse().unwrap(),
        max_points_per_bill: Some(pts(100)),
    });
    rules
}

/// A shop with one program and one member in it.
async fn checkout(server: &TestServer, name: &str) -> (Shop, String, String) {
    let shop = Shop::open(server, name).await;
    let program = shop.program(server, "Cathay Rewards", cathay_rules());
    let member = shop.member(server, "CARD-0001", None, &[&program]);
    (shop, program, member)
}

/// Another service key of the shop's tenant (a second till).
async fn second_till(server: &TestServer, shop: &Shop) -> String {
    let mut operator =
        pb::operator_service_client::OperatorServiceClient::new(server.channel().await);
    let request = pb::IssueApiKeyRequest {
        idempotency_key: common::fresh_key(),
        tenant_id: shop.tenant.clone(),
        role: pb::Role::Service as i32,
        member_id: String::new(),
        label: "till 2".into(),
    };
    operator
        .issue_api_key(authed(&server.operator_key, request))
        .await
        .unwrap()
        .into_inner()
        .api_key
}

/// Points arrive: an admin adjustment of `points` under a fresh key.
async fn give(shop: &mut Shop, member: &str, program: &str, points: &str) {
    let request = pb::AdjustRequest {
        idempotency_key: common::fresh_key(),
        member_id: member.into(),
        program_id: program.into(),
        points: points.into(),
        reason: "points arrive".into(),
    };
    shop.ledger
        .adjust(authed(&shop.admin.clone(), request))
        .await
        .unwrap();
}

fn redeem(key: &str, member: &str, program: &str, points: &str) -> pb::RedeemRequest {
    pb::RedeemRequest {
        idempotency_key: key.into(),
        member_id: member.into(),
        program_id: program.into(),
        bill: Some(bill("ORDER1", &[("", "500")])),
        points: points.into(),
    }
}

on_both_backends! {
    async fn a_refused_redemption_is_refused_again_after_points_arrive_and_changes_nothing(server) {
        let (mut shop, program, member) = checkout(server, "Cathay Shop").await;
        give(&mut shop, &member, &program, "50").await;
        let svc = shop.service.clone();
        let request = redeem("till-7:ORDER1", &member, &program, "100");

        let first = status_of(shop.ledger.redeem(authed(&svc, request.clone())).await);
        assert_eq!(first.code(), Code::FailedPrecondition, "{first:?}");
        assert!(first.message().contains("insufficient points"), "{first:?}");

        // The till was told "not enough points" and charged the card; points arrive and the
        // request is redelivered: it is refused the same way and spends nothing.
        give(&mut shop, &member, &program, "200").await;
        let again = status_of(shop.ledger.redeem(authed(&svc, request)).await);
        assert_eq!(
            (again.code(), again.message(), again.details()),
            (first.code(), first.message(), first.details())
        );
        let balances = shop.balances(server, &member, &program);
        assert_eq!((balances.available, balances.redeemed), (pts(250), pts(0)));
    }

    async fn a_malformed_request_is_not_recorded_and_its_corrected_retry_with_the_same_key_succeeds(server) {
        let (mut shop, program, member) = checkout(server, "Cathay Shop").await;
        give(&mut shop, &member, &program, "150").await;
        let svc = shop.service.clone();
        let dollars = pb::RedeemRequest {
            bill: Some(pb::Bill { currency: "USD".into(), ..bill("ORDER1", &[("", "500")]) }),
            ..redeem("till-7:ORDER1", &member, &program, "30")
        };
        let refused = status_of(shop.ledger.redeem(authed(&svc, dollars)).await);
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        let paid = shop
            .ledger
            .redeem(authed(&svc, redeem("till-7:ORDER1", &member, &program, "30")))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(paid.points, "30");
        assert_eq!(available(&paid.balances), "120");
    }

    async fn the_same_request_from_two_api_keys_of_one_tenant_replays_the_first_result(server) {
        let (mut shop, program, member) = checkout(server, "Cathay Shop").await;
        give(&mut shop, &member, &program, "150").await;
        let till_2 = second_till(server, &shop).await;
        let request = redeem("ORDER1:burn", &member, &program, "30");
        let first = shop.ledger.redeem(authed(&shop.service.clone(), request.clone())).await.unwrap().into_inner();
        give(&mut shop, &member, &program, "5").await;
        // The first answer was lost; another till of the same tenant retries the request.
        let again = shop.ledger.redeem(authed(&till_2, request.clone())).await.unwrap().into_inner();
        assert_eq!(again, first);
        let by_admin = shop.ledger.redeem(authed(&shop.admin.clone(), request)).await.unwrap().into_inner();
        assert_eq!(by_admin, first);
        let balances = shop.balances(server, &member, &program);
        assert_eq!((balances.available, balances.redeemed), (pts(125), pts(30)));
    }

    async fn another_tenant_using_the_same_key_string_is_independent(server) {
        let (mut shop, shop_program, shop_member) = checkout(server, "Cathay Shop").await;
        let (mut pharmacy, pharmacy_program, pharmacy_member) = checkout(server, "Pharmacy").await;
        give(&mut shop, &shop_member, &shop_program, "5").await;
        give(&mut pharmacy, &pharmacy_member, &pharmacy_program, "150").await;
        let refused = status_of(
            shop.ledger
                .redeem(authed(&shop.service.clone(), redeem("burn-1", &shop_member, &shop_program, "30")))
                .await,
        );
        assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
        let request = redeem("burn-1", &pharmacy_member, &pharmacy_program, "30");
        let svc = pharmacy.service.clone();
        let paid = pharmacy.ledger.redeem(authed(&svc, request.clone())).await.unwrap().into_inner();
        assert_eq!(available(&paid.balances), "120");
        let again = pharmacy.ledger.redeem(authed(&svc, request)).await.unwrap().into_inner();
        assert_eq!(again, paid);
    }

    async fn retried_reserve_capture_and_release_answer_with_the_original_balances(server) {
        let (mut shop, program, member) = checkout(server, "Cathay Shop").await;
        give(&mut shop, &member, &program, "150").await;
        let svc = shop.service.clone();
        let reserve = |key: &str, reference: &str| {
            authed(&svc, pb::ReserveRequest {
                idempotency_key: key.into(),
                member_id: member.clone(),
                program_id: program.clone(),
                bill: Some(bill(reference, &[("", "300")])),
                points: "30".into(),
                ttl_seconds: 600,
            })
        };
        let reserved = shop.ledger.reserve(reserve("ORDER1:reserve", "ORDER1")).await.unwrap().into_inner();
        assert_eq!(available(&reserved.balances), "120");
        give(&mut shop, &member, &program, "100").await;
        let again = shop.ledger.reserve(reserve("ORDER1:reserve", "ORDER1")).await.unwrap().into_inner();
        assert_eq!(again, reserved);

        let hold = reserved.hold.unwrap().id;
        let capture = || authed(&svc, pb::CaptureRequest {
            idempotency_key: "ORDER1:capture".into(),
            hold_id: hold.clone(),
            points: String::new(),
        });
        let captured = shop.ledger.capture(capture()).await.unwrap().into_inner();
        assert_eq!(available(&captured.balances), "220");
        assert_eq!(captured.balances.as_ref().unwrap().redeemed, "30");
        give(&mut shop, &member, &program, "7").await;
        assert_eq!(shop.ledger.capture(capture()).await.unwrap().into_inner(), captured);

        let second = shop.ledger.reserve(reserve("ORDER2:reserve", "ORDER2")).await.unwrap().into_inner();
        let release = || authed(&svc, pb::ReleaseRequest {
            idempotency_key: "ORDER2:release".into(),
            hold_id: second.hold.as_ref().unwrap().id.clone(),
        });
        let released = shop.ledger.release(release()).await.unwrap().into_inner();
        assert_eq!(available(&released.balances), "227");
        give(&mut shop, &member, &program, "3").await;
        assert_eq!(shop.ledger.release(release()).await.unwrap().into_inner(), released);

        let balances = shop.balances(server, &member, &program);
        assert_eq!((balances.available, balances.held, balances.redeemed), (pts(230), pts(0), pts(30)));
    }
}
