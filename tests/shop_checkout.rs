//! Cathay Shop, "miles plus cash": 1 point per 10 spent, an admin's promotion, then a checkout
//! that reserves points, fails payment and releases them, reserves again, captures on
//! payment, and earns on what was paid by card.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ledger_support;

use common::authed;
use ledger_support::{Shop, available, bill, code_of, dec, money, pts};
use loyalty_core::{
    ConversionRate, Currency, EarnRate, ExpiryPolicy, ProgramRules, RedemptionRules,
};
use loyalty_grpc::pb;
use tonic::Code;

fn cathay_shop() -> ProgramRules {
    let inr = Currency::new("INR").unwrap();
    let mut rules = ProgramRules::new(inr);
    rules.base_rate = EarnRate::new(pts(1), dec("10")).unwrap();
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(pts(1), money("1.00", inr)).unwrap(),
        min_points: pts(10),
        max_bill_share: "50".parse().unwrap(),
        max_points_per_bill: Some(pts(100)),
    });
    rules.expiry = ExpiryPolicy::AfterMonths(12);
    rules
}

fn entry_kinds(entries: &[pb::LedgerEntry]) -> Vec<pb::EntryKind> {
    entries.iter().map(|e| e.kind()).collect()
}

on_both_backends! {
    async fn miles_plus_cash_checkout_reserves_releases_captures_and_earns(server) {
        let mut shop = Shop::open(server, "Cathay Shop").await;
        let program = shop.program(server, "Cathay Rewards", cathay_shop());
        let sachin = shop.member(server, "CARD-0001", None, &[&program]);
        let svc = shop.service.clone();
        let admin = shop.admin.clone();

        // 500 spent earns 50 points.
        let earned = shop
            .ledger
            .earn(authed(&svc, pb::EarnRequest {
                idempotency_key: "ORDER123:earn".into(),
                member_id: sachin.clone(),
                program_id: program.clone(),
                bill: Some(bill("ORDER123", &[("", "500")])),
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(earned.points_earned, "50");
        assert_eq!(earned.breakdown.as_ref().unwrap().earning_amount, "500.00");
        assert_eq!(available(&earned.balances), "50");

        // The admin adds 100 points for a promotion; a service key may not.
        let adjust = |key: &str, idem: &str| {
            authed(key, pb::AdjustRequest {
                idempotency_key: idem.into(),
                member_id: sachin.clone(),
                program_id: program.clone(),
                points: "100".into(),
                reason: "Diwali promotion".into(),
            })
        };
        assert_eq!(code_of(shop.ledger.adjust(adjust(&svc, "promo-1")).await), Code::PermissionDenied);
        let adjusted = shop.ledger.adjust(adjust(&admin, "promo-1")).await.unwrap().into_inner();
        assert_eq!(available(&adjusted.balances), "150");

        // Checkout of a 300 order: the quote caps points at 100 per order.
        let quote = shop
            .ledger
            .quote(authed(&svc, pb::QuoteRequest {
                member_id: sachin.clone(),
                program_id: program.clone(),
                bill: Some(bill("ORDER124", &[("", "300")])),
                points_to_redeem: "30".into(),
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(quote.bill_total, "300.00");
        assert_eq!(quote.max_redeemable_points, "100");
        assert_eq!(quote.max_redeemable_limited_by, "points_per_bill");
        assert_eq!(quote.redeem_points, "30");
        assert_eq!(quote.redeem_value, "30.00");
        assert_eq!(quote.to_pay, "270.00");
        assert_eq!(quote.currency, "INR");

        let reserve = |idem: &str| {
            authed(&svc, pb::ReserveRequest {
                idempotency_key: idem.into(),
                member_id: sachin.clone(),
                program_id: program.clone(),
                bill: Some(bill("ORDER124", &[("", "300")])),
                points: "30".into(),
                ttl_seconds: 600,
            })
        };
        let first = shop.ledger.reserve(reserve("ORDER124:reserve-1")).await.unwrap().into_inner();
        let first_hold = first.hold.unwrap();
        assert_eq!(first_hold.status(), pb::HoldStatus::Active);
        assert_eq!(first.to_pay, "270.00");
        assert_eq!(first.balances.as_ref().unwrap().held, "30");
        assert_eq!(available(&first.balances), "120");

        // The card payment fails: the points come back.
        let released = shop
            .ledger
            .release(authed(&svc, pb::ReleaseRequest { idempotency_key: "ORDER124:release-1".into(), hold_id: first_hold.id.clone() }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(released.hold.unwrap().status(), pb::HoldStatus::Released);
        assert_eq!(available(&released.balances), "150");
        assert_eq!(released.balances.as_ref().unwrap().held, "0");

        // Second attempt: reserve again, the payment succeeds, capture.
        let second = shop.ledger.reserve(reserve("ORDER124:reserve-2")).await.unwrap().into_inner();
        let hold = second.hold.unwrap();
        let capture = |idem: &str, hold_id: &str| {
            authed(&svc, pb::CaptureRequest { idempotency_key: idem.into(), hold_id: hold_id.into(), points: String::new() })
        };
        let captured = shop.ledger.capture(capture("ORDER124:capture", &hold.id)).await.unwrap().into_inner();
        let captured_hold = captured.hold.clone().unwrap();
        assert_eq!(captured_hold.status(), pb::HoldStatus::Captured);
        assert_eq!(captured_hold.captured, "30");
        assert_eq!(available(&captured.balances), "120");
        assert_eq!(captured.balances.as_ref().unwrap().redeemed, "30");

        // A retried capture returns the same result and spends nothing more.
        let again = shop.ledger.capture(capture("ORDER124:capture", &hold.id)).await.unwrap().into_inner();
        assert_eq!(again, captured);
        assert_eq!(shop.balances(server, &sachin, &program).redeemed, pts(30));

        // The released hold cannot be captured any more.
        assert_eq!(code_of(shop.ledger.capture(capture("ORDER124:late", &first_hold.id)).await), Code::FailedPrecondition);

        // Earning on the order: the 30.00 paid with points does not earn.
        let earned = shop
            .ledger
            .earn(authed(&svc, pb::EarnRequest {
                idempotency_key: "ORDER124:earn".into(),
                member_id: sachin.clone(),
                program_id: program.clone(),
                bill: Some(bill("ORDER124", &[("", "300")])),
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(earned.breakdown.as_ref().unwrap().earning_amount, "270.00");
        assert_eq!(earned.points_earned, "27");
        assert_eq!(available(&earned.balances), "147");

        // The admin's transaction history shows the whole checkout, newest first.
        let history = shop
            .ledger
            .list_transactions(authed(&admin, pb::ListTransactionsRequest {
                member_id: sachin.clone(),
                program_id: program.clone(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        use pb::EntryKind::*;
        assert_eq!(
            entry_kinds(&history.entries),
            vec![Earned, Captured, Reserved, Released, Reserved, Adjusted, Earned]
        );
        let adjustment = &history.entries[5];
        assert_eq!(adjustment.reason, "Diwali promotion");
        assert_eq!(adjustment.balance_after, "150");
        assert!(history.entries.iter().all(|e| !e.actor.is_empty()));

        // Filtered by order, and by kind.
        let order = shop
            .ledger
            .list_transactions(authed(&admin, pb::ListTransactionsRequest {
                reference: "ORDER124".into(),
                kinds: vec![Reserved as i32, Released as i32],
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(entry_kinds(&order.entries), vec![Reserved, Released, Reserved]);

        // Pages follow one another without gaps.
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let page = shop
                .ledger
                .list_transactions(authed(&admin, pb::ListTransactionsRequest {
                    member_id: sachin.clone(),
                    page_size: 3,
                    page_token: token.clone(),
                    ..Default::default()
                }))
                .await
                .unwrap()
                .into_inner();
            seen.extend(page.entries.into_iter().map(|e| e.id));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        let all: Vec<String> = history.entries.iter().map(|e| e.id.clone()).collect();
        assert_eq!(seen, all);
    }

    async fn a_member_reads_its_own_history_only(server) {
        let mut shop = Shop::open(server, "Cathay Shop").await;
        let program = shop.program(server, "Cathay Rewards", cathay_shop());
        let sachin = shop.member(server, "CARD-0001", None, &[&program]);
        let priya = shop.member(server, "CARD-0002", None, &[&program]);
        let svc = shop.service.clone();
        shop.ledger
            .earn(authed(&svc, pb::EarnRequest {
                idempotency_key: "o1".into(),
                member_id: sachin.clone(),
                program_id: program.clone(),
                bill: Some(bill("O1", &[("", "100")])),
            }))
            .await
            .unwrap();
        let key = shop.member_key(server, &sachin).await;
        let own = |member: &str| authed(&key, pb::ListTransactionsRequest { member_id: member.into(), ..Default::default() });
        let mine = shop.ledger.list_transactions(own(&sachin)).await.unwrap().into_inner();
        assert_eq!(mine.entries.len(), 1);
        assert_eq!(code_of(shop.ledger.list_transactions(own(&priya)).await), Code::PermissionDenied);
        assert_eq!(code_of(shop.ledger.list_transactions(own("")).await), Code::PermissionDenied);
        // A member key cannot earn for itself.
        let earn = authed(&key, pb::EarnRequest {
            idempotency_key: "o2".into(),
            member_id: sachin.clone(),
            program_id: program.clone(),
            bill: Some(bill("O2", &[("", "100")])),
        });
        assert_eq!(code_of(shop.ledger.earn(earn).await), Code::PermissionDenied);
    }

    async fn expired_points_show_in_the_admin_reports(server) {
        let mut shop = Shop::open(server, "Cathay Shop").await;
        let program = shop.program(server, "Cathay Rewards", cathay_shop());
        let sachin = shop.member(server, "CARD-0001", None, &[&program]);
        let priya = shop.member(server, "CARD-0002", None, &[&program]);
        let (svc, admin) = (shop.service.clone(), shop.admin.clone());
        for (n, (member, amount)) in [(&sachin, "500"), (&priya, "2000")].into_iter().enumerate() {
            shop.ledger
                .earn(authed(&svc, pb::EarnRequest {
                    idempotency_key: format!("earn-{n}"),
                    member_id: member.clone(),
                    program_id: program.clone(),
                    bill: Some(bill(&format!("ORDER-{n}"), &[("", amount)])),
                }))
                .await
                .unwrap();
        }
        let mut reports = pb::report_service_client::ReportServiceClient::new(server.channel().await);
        let report = |key: &str| authed(key, pb::GetProgramReportRequest { program_id: program.clone(), as_of: String::new() });
        assert_eq!(code_of(reports.get_program_report(report(&svc)).await), Code::PermissionDenied);
        let before = reports.get_program_report(report(&admin)).await.unwrap().into_inner();
        assert_eq!((before.members, before.points_outstanding.as_str()), (2, "250"));
        assert_eq!((before.liability.as_str(), before.currency.as_str()), ("250.00", "INR"));
        assert_eq!((before.earned.as_str(), before.redemption_rate.as_str()), ("250", "0"));

        let top = reports
            .list_top_members(authed(&admin, pb::ListTopMembersRequest { program_id: program.clone(), rank_by: pb::RankBy::Available as i32, limit: 0 }))
            .await
            .unwrap()
            .into_inner();
        let ranked: Vec<(&str, &str)> = top.members.iter().map(|m| (m.card_number.as_str(), m.points.as_str())).collect();
        assert_eq!(ranked, vec![("CARD-0002", "200"), ("CARD-0001", "50")]);

        // Thirteen months later the points have expired; the admin expires them now.
        server.clock.set("2027-12-21T10:00:00Z".parse().unwrap());
        let expired = shop.ledger.expire_points(authed(&admin, pb::ExpirePointsRequest { idempotency_key: common::fresh_key() })).await.unwrap().into_inner();
        assert_eq!((expired.memberships, expired.points_expired.as_str()), (2, "250"));
        let again = shop.ledger.expire_points(authed(&admin, pb::ExpirePointsRequest { idempotency_key: common::fresh_key() })).await.unwrap().into_inner();
        assert_eq!((again.memberships, again.points_expired.as_str()), (0, "0"));
        assert_eq!(shop.balances(server, &sachin, &program).expired, pts(50));

        let window = reports
            .get_expired_points(authed(&admin, pb::GetExpiredPointsRequest { program_id: program.clone(), from: String::new(), to: String::new() }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((window.points.as_str(), window.entries), ("250", 2));
        let earlier = reports
            .get_expired_points(authed(&admin, pb::GetExpiredPointsRequest {
                program_id: program.clone(),
                from: String::new(),
                to: "2027-01-01T00:00:00Z".into(),
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((earlier.points.as_str(), earlier.entries), ("0", 0));
        let after = reports.get_program_report(report(&admin)).await.unwrap().into_inner();
        assert_eq!((after.points_outstanding.as_str(), after.expired.as_str(), after.liability.as_str()), ("0", "250", "0.00"));
    }
}
