//! Malformed and hostile input: every bad amount, id, key, bill or program is refused with
//! INVALID_ARGUMENT or NOT_FOUND (or UNAUTHENTICATED without a credential), and leaves the
//! balances and the ledger exactly as they were.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ledger_support;

use common::authed;
use ledger_support::{Shop, bill, dec, money, pts};
use loyalty_core::{
    Balances, ConversionRate, Currency, EarnRate, Percent, ProgramRules, RedemptionRules,
};
use loyalty_grpc::pb;
use tonic::Code;

/// A program id and a member id that look right but do not exist.
const NO_SUCH_ID: &str = "0190f5a0-0000-7000-8000-000000000000";

fn shop_rules() -> ProgramRules {
    let inr = Currency::new("INR").unwrap();
    let mut rules = ProgramRules::new(inr);
    rules.base_rate = EarnRate::new(pts(1), dec("10")).unwrap();
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(pts(1), money("1.00", inr)).unwrap(),
        min_points: pts(1),
        max_bill_share: Percent::HUNDRED,
        max_points_per_bill: None,
    });
    rules
}

/// What must not change.
#[derive(Debug, PartialEq)]
struct Books {
    balances: Balances,
    entries: usize,
}

async fn books(shop: &mut Shop, server: &common::TestServer, member: &str, program: &str) -> Books {
    let entries = shop
        .ledger
        .list_transactions(authed(
            &shop.admin,
            pb::ListTransactionsRequest {
                page_size: 500,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .entries
        .len();
    Books {
        balances: shop.balances(server, member, program),
        entries,
    }
}

fn refused<T: std::fmt::Debug>(
    label: &str,
    result: Result<tonic::Response<T>, tonic::Status>,
    allowed: &[Code],
) {
    match result {
        Ok(response) => panic!("{label}: accepted: {:?}", response.into_inner()),
        Err(status) => assert!(allowed.contains(&status.code()), "{label}: {status:?}"),
    }
}

const INVALID: &[Code] = &[Code::InvalidArgument];
const INVALID_OR_MISSING: &[Code] = &[Code::InvalidArgument, Code::NotFound];

on_both_backends! {
    async fn malformed_requests_are_refused_and_change_nothing(server) {
        let mut shop = Shop::open(server, "Cathay Shop").await;
        let program = shop.program(server, "Cathay Rewards", shop_rules());
        let member = shop.member(server, "CARD-0001", None, &[&program]);
        let svc = shop.service.clone();
        let earn = |key: &str, member: &str, program: &str, bill: Option<pb::Bill>| {
            authed(&svc, pb::EarnRequest {
                idempotency_key: key.into(),
                member_id: member.into(),
                program_id: program.into(),
                bill,
            })
        };
        shop.ledger.earn(earn("seed", &member, &program, Some(bill("SEED", &[("", "1000")])))).await.unwrap();
        let before = books(&mut shop, server, &member, &program).await;
        assert_eq!(before.balances.available, pts(100));

        // Amounts.
        let amounts = ["-100", "1e30", "99999999999999999999", "99999999999999999999999999999", "ten", "", "12.5.0", "0", "0x10", "NaN", "12.34567"];
        for (n, amount) in amounts.into_iter().enumerate() {
            let result = shop.ledger.earn(earn(&format!("amount-{n}"), &member, &program, Some(bill("B1", &[("", amount)])))).await;
            refused(&format!("earn on {amount:?}"), result, INVALID);
            assert_eq!(books(&mut shop, server, &member, &program).await, before, "after {amount:?}");
        }
        let currency = pb::Bill { currency: "USD".into(), ..bill("B1", &[("", "100")]) };
        refused("another currency", shop.ledger.earn(earn("currency", &member, &program, Some(currency))).await, INVALID);
        let at = pb::Bill { at: "yesterday".into(), ..bill("B1", &[("", "100")]) };
        refused("bad bill time", shop.ledger.earn(earn("at-1", &member, &program, Some(at))).await, INVALID);
        let future = pb::Bill { at: "2030-01-01T00:00:00Z".into(), ..bill("B1", &[("", "100")]) };
        refused("future bill", shop.ledger.earn(earn("at-2", &member, &program, Some(future))).await, INVALID);
        refused("no lines", shop.ledger.earn(earn("lines", &member, &program, Some(bill("B1", &[])))).await, INVALID);
        refused("no bill", shop.ledger.earn(earn("no-bill", &member, &program, None)).await, INVALID);
        refused("no reference", shop.ledger.earn(earn("no-ref", &member, &program, Some(bill("", &[("", "100")])))).await, INVALID);

        // Ids and keys.
        let ok_bill = || Some(bill("B1", &[("", "100")]));
        refused("empty member", shop.ledger.earn(earn("ids-1", "", &program, ok_bill())).await, INVALID);
        refused("empty program", shop.ledger.earn(earn("ids-2", &member, "", ok_bill())).await, INVALID);
        refused("junk member id", shop.ledger.earn(earn("ids-3", "'; DROP TABLE members; --", &program, ok_bill())).await, INVALID);
        refused("empty key", shop.ledger.earn(earn("", &member, &program, ok_bill())).await, INVALID);
        refused("key with spaces", shop.ledger.earn(earn("has space", &member, &program, ok_bill())).await, INVALID);
        refused("unknown program", shop.ledger.earn(earn("ids-4", &member, NO_SUCH_ID, ok_bill())).await, INVALID_OR_MISSING);
        refused("unknown member", shop.ledger.earn(earn("ids-5", NO_SUCH_ID, &program, ok_bill())).await, INVALID_OR_MISSING);
        assert_eq!(books(&mut shop, server, &member, &program).await, before);

        // Points to redeem, reserve and adjust.
        for (n, points) in ["-5", "1e30", "99999999999999999999", "abc", "", "0.5"].into_iter().enumerate() {
            let redeem = authed(&svc, pb::RedeemRequest {
                idempotency_key: format!("redeem-{n}"),
                member_id: member.clone(),
                program_id: program.clone(),
                bill: ok_bill(),
                points: points.into(),
            });
            refused(&format!("redeem {points:?}"), shop.ledger.redeem(redeem).await, INVALID);
            let reserve = authed(&svc, pb::ReserveRequest {
                idempotency_key: format!("reserve-{n}"),
                member_id: member.clone(),
                program_id: program.clone(),
                bill: ok_bill(),
                points: points.into(),
                ttl_seconds: 60,
            });
            refused(&format!("reserve {points:?}"), shop.ledger.reserve(reserve).await, INVALID);
            let adjust = authed(&shop.admin, pb::AdjustRequest {
                idempotency_key: format!("adjust-{n}"),
                member_id: member.clone(),
                program_id: program.clone(),
                points: if points == "-5" { "0".into() } else { points.into() },
                reason: "test".into(),
            });
            refused(&format!("adjust {points:?}"), shop.ledger.adjust(adjust).await, INVALID);
            assert_eq!(books(&mut shop, server, &member, &program).await, before, "after {points:?}");
        }
        let no_reason = authed(&shop.admin, pb::AdjustRequest {
            idempotency_key: "adjust-no-reason".into(),
            member_id: member.clone(),
            program_id: program.clone(),
            points: "10".into(),
            reason: " ".into(),
        });
        refused("adjust without a reason", shop.ledger.adjust(no_reason).await, INVALID);
        let long_hold = authed(&svc, pb::ReserveRequest {
            idempotency_key: "reserve-ttl".into(),
            member_id: member.clone(),
            program_id: program.clone(),
            bill: ok_bill(),
            points: "10".into(),
            ttl_seconds: 86_401,
        });
        refused("a hold of more than a day", shop.ledger.reserve(long_hold).await, INVALID);

        // Holds, history and bills.
        let capture = |hold: &str| authed(&svc, pb::CaptureRequest { idempotency_key: format!("capture-{}", hold.len()), hold_id: hold.into(), points: String::new() });
        refused("empty hold", shop.ledger.capture(capture("")).await, INVALID);
        refused("junk hold", shop.ledger.capture(capture("hold/../1")).await, INVALID);
        refused("unknown hold", shop.ledger.capture(capture(NO_SUCH_ID)).await, &[Code::NotFound]);
        let release = authed(&svc, pb::ReleaseRequest { idempotency_key: String::new(), hold_id: NO_SUCH_ID.into() });
        refused("release without a key", shop.ledger.release(release).await, INVALID);
        let list = |request: pb::ListTransactionsRequest| authed(&shop.admin, request);
        refused("page token", shop.ledger.list_transactions(list(pb::ListTransactionsRequest { page_token: "page-2".into(), ..Default::default() })).await, INVALID);
        refused("kind 99", shop.ledger.list_transactions(list(pb::ListTransactionsRequest { kinds: vec![99], ..Default::default() })).await, INVALID);
        refused("kind unspecified", shop.ledger.list_transactions(list(pb::ListTransactionsRequest { kinds: vec![0], ..Default::default() })).await, INVALID);
        refused("from", shop.ledger.list_transactions(list(pb::ListTransactionsRequest { from: "last week".into(), ..Default::default() })).await, INVALID);
        refused("unknown bill", shop.ledger.get_bill(authed(&shop.admin, pb::GetBillRequest { reference: "NOPE".into() })).await, &[Code::NotFound]);
        refused("empty bill", shop.ledger.get_bill(authed(&shop.admin, pb::GetBillRequest { reference: String::new() })).await, INVALID);
        let reverse = |n: usize, amount: &str| {
            authed(&svc, pb::ReverseRequest {
                idempotency_key: format!("reverse-{n}"),
                member_id: member.clone(),
                program_id: program.clone(),
                reference: "SEED".into(),
                amount: amount.into(),
                reason: String::new(),
            })
        };
        for (n, amount) in ["-1", "1e30", "abc", "99999999999999999999"].into_iter().enumerate() {
            refused(&format!("reverse {amount:?}"), shop.ledger.reverse(reverse(n, amount)).await, &[Code::InvalidArgument, Code::FailedPrecondition]);
        }

        // Rewards.
        let reward = authed(&svc, pb::RedeemRewardRequest {
            idempotency_key: "reward-1".into(),
            member_id: member.clone(),
            program_id: program.clone(),
            reward_id: NO_SUCH_ID.into(),
        });
        refused("unknown reward", shop.rewards.redeem_reward(reward).await, &[Code::NotFound]);
        refused("empty coupon", shop.rewards.mark_coupon_used(authed(&svc, pb::MarkCouponUsedRequest { idempotency_key: common::fresh_key(), coupon_code: String::new() })).await, INVALID);

        // No credential at all.
        let anonymous = tonic::Request::new(pb::EarnRequest {
            idempotency_key: "anon".into(),
            member_id: member.clone(),
            program_id: program.clone(),
            bill: ok_bill(),
        });
        refused("no credential", shop.ledger.earn(anonymous).await, &[Code::Unauthenticated]);

        // Another tenant's program is not found from this tenant.
        let other = Shop::open(server, "Another Shop").await;
        let foreign = other.program(server, "Theirs", shop_rules());
        refused("foreign program", shop.ledger.earn(earn("foreign", &member, &foreign, ok_bill())).await, &[Code::NotFound]);

        assert_eq!(books(&mut shop, server, &member, &program).await, before);
    }
}
