//! The multi-program token service: "Wine & Dine" ($100 = 5 tokens) and "Frequent Flyer"
//! ($100 = 1 point) for one member, an idempotent Earn API called after each transaction, a
//! Burn API that never spends twice, 5 burn attempts per minute, balances per program.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ledger_support;

use common::{JWT_SECRET, authed};
use ledger_support::{Shop, available, bill, code_of, dec, money, pts};
use loyalty_core::{ConversionRate, Currency, EarnRate, Percent, ProgramRules, RedemptionRules};
use loyalty_grpc::pb;
use loyalty_grpc::pb::member_service_client::MemberServiceClient;
use tonic::Code;

fn program(tokens: u64, per: &str) -> ProgramRules {
    let usd = Currency::new("USD").unwrap();
    let mut rules = ProgramRules::new(usd);
    rules.base_rate = EarnRate::new(pts(tokens), dec(per)).unwrap();
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(pts(1), money("1.00", usd)).unwrap(),
        min_points: pts(1),
        max_bill_share: Percent::HUNDRED,
        max_points_per_bill: None,
    });
    rules.redemptions_per_minute = Some(5);
    rules
}

/// A member JWT signed with the test servers' secret.
fn member_jwt(tenant: &str, member: &str) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let claims = serde_json::json!({
        "sub": "mobile-app-user",
        "role": "member",
        "tenant_id": tenant,
        "member_id": member,
        "exp": exp,
    });
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

on_both_backends! {
    async fn one_member_earns_and_burns_in_two_programs(server) {
        let mut shop = Shop::open(server, "Token Service").await;
        let wine = shop.program(server, "Wine & Dine", program(5, "100"));
        let flyer = shop.program(server, "Frequent Flyer", program(1, "100"));
        let user = shop.member(server, "USER-0042", None, &[&wine, &flyer]);
        let svc = shop.service.clone();

        let earn = |idem: &str, program: &str, reference: &str, amount: &str| {
            authed(&svc, pb::EarnRequest {
                idempotency_key: idem.into(),
                member_id: user.clone(),
                program_id: program.into(),
                bill: Some(bill(reference, &[("", amount)])),
            })
        };

        // The backend calls Earn after the transaction; a retry credits once and answers the same.
        let first = shop.ledger.earn(earn("txn-1001", &wine, "TXN-1001", "200")).await.unwrap().into_inner();
        assert_eq!(first.points_earned, "10");
        let retry = shop.ledger.earn(earn("txn-1001", &wine, "TXN-1001", "200")).await.unwrap().into_inner();
        assert_eq!(retry, first);
        assert_eq!(shop.balances(server, &user, &wine).available, pts(10));

        // The same key for another transaction is refused and changes nothing.
        assert_eq!(code_of(shop.ledger.earn(earn("txn-1001", &wine, "TXN-1001", "300")).await), Code::AlreadyExists);
        assert_eq!(code_of(shop.ledger.earn(earn("txn-1001", &wine, "TXN-1002", "200")).await), Code::AlreadyExists);
        assert_eq!(shop.balances(server, &user, &wine).available, pts(10));

        // The same transaction earns by each program's own rule.
        let flown = shop.ledger.earn(earn("txn-1001-ff", &flyer, "TXN-1001", "200")).await.unwrap().into_inner();
        assert_eq!(flown.points_earned, "2");
        shop.ledger.earn(earn("txn-1003", &wine, "TXN-1003", "1000")).await.unwrap();

        // Burn: a retried burn never spends twice.
        let burn = |idem: &str, reference: &str, points: &str| {
            authed(&svc, pb::RedeemRequest {
                idempotency_key: idem.into(),
                member_id: user.clone(),
                program_id: wine.clone(),
                bill: Some(bill(reference, &[("", "50")])),
                points: points.into(),
            })
        };
        let burned = shop.ledger.redeem(burn("burn-1", "DINNER-1", "5")).await.unwrap().into_inner();
        assert_eq!(available(&burned.balances), "55");
        assert_eq!(burned.value.as_ref().unwrap().amount, "5.00");
        let again = shop.ledger.redeem(burn("burn-1", "DINNER-1", "5")).await.unwrap().into_inner();
        assert_eq!(again, burned);
        assert_eq!(shop.balances(server, &user, &wine).available, pts(55));
        let burns = shop
            .ledger
            .list_transactions(authed(&svc, pb::ListTransactionsRequest {
                member_id: user.clone(),
                program_id: wine.clone(),
                kinds: vec![pb::EntryKind::Redeemed as i32],
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(burns.entries.len(), 1);

        // An invalid burn (more than the balance) is refused and spends nothing.
        assert_eq!(code_of(shop.ledger.redeem(burn("burn-2", "DINNER-2", "56")).await), Code::FailedPrecondition);

        // Five attempts a minute: burn-1 and burn-2 were two; three more pass, the sixth is refused.
        for n in 3..=5 {
            shop.ledger.redeem(burn(&format!("burn-{n}"), &format!("DINNER-{n}"), "1")).await.unwrap();
        }
        let limited = shop.ledger.redeem(burn("burn-6", "DINNER-6", "1")).await;
        assert_eq!(code_of(limited), Code::ResourceExhausted);
        assert_eq!(shop.balances(server, &user, &wine).available, pts(52));
        // A minute later the member may burn again.
        server.clock.set("2026-11-21T10:01:01Z".parse().unwrap());
        shop.ledger.redeem(burn("burn-7", "DINNER-7", "1")).await.unwrap();

        // The member app (a member JWT) reads its balance per program.
        let mut members = MemberServiceClient::new(server.channel().await);
        let jwt = member_jwt(&shop.tenant, &user);
        let balances = members
            .get_balances(authed(&jwt, pb::GetBalancesRequest { member_id: user.clone(), program_id: String::new(), as_of: String::new() }))
            .await
            .unwrap()
            .into_inner();
        let mut per_program: Vec<(String, String)> = balances
            .memberships
            .iter()
            .map(|m| (m.program_id.clone(), m.balances.as_ref().unwrap().available.clone()))
            .collect();
        per_program.sort();
        let mut expected = vec![(wine.clone(), "51".to_owned()), (flyer.clone(), "2".to_owned())];
        expected.sort();
        assert_eq!(per_program, expected);
    }
}
