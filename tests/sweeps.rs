//! The running server expires overdue points and releases expired holds by itself, on its
//! periodic sweep, without any call asking for it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ledger_support;

use std::time::Duration;

use chrono::Duration as Days;
use common::{JWT_SECRET, Kind, TestServer, authed};
use ledger_support::{Shop, bill, pts};
use loyalty_core::{
    ConversionRate, Currency, EarnRate, ExpiryPolicy, Money, ProgramRules, RedemptionRules,
};
use loyalty_grpc::pb;
use loyalty_grpc::server::ServerConfig;

fn shop_rules() -> ProgramRules {
    let inr = Currency::new("INR").unwrap();
    let mut rules = ProgramRules::new(inr);
    rules.base_rate = EarnRate::new(pts(1), "10".parse().unwrap()).unwrap();
    rules.expiry = ExpiryPolicy::AfterMonths(12);
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(pts(100), Money::parse("10", inr).unwrap()).unwrap(),
        min_points: pts(1),
        max_bill_share: "100".parse().unwrap(),
        max_points_per_bill: None,
    });
    rules
}

/// Polls `check` every 20 ms until it holds or 10 s have passed.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..500 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the sweep never {what}");
}

async fn the_sweep_expires_points_and_releases_holds(kind: Kind) {
    let config = ServerConfig {
        jwt_secret: Some(JWT_SECRET.into()),
        sweep_interval: Duration::from_millis(50),
        metrics_addr: None,
        tls: None,
    };
    let server = TestServer::start_with(kind, config).await;
    let mut shop = Shop::open(&server, "Cathay Shop").await;
    let program = shop.program(&server, "Shop points", shop_rules());
    let member = shop.member(&server, "CARD001", None, &[&program]);
    let earn = pb::EarnRequest {
        idempotency_key: "ORDER123:earn".into(),
        member_id: member.clone(),
        program_id: program.clone(),
        bill: Some(bill("ORDER123", &[("", "500")])),
    };
    shop.ledger.earn(authed(&shop.service, earn)).await.unwrap();
    let reserve = pb::ReserveRequest {
        idempotency_key: "ORDER124:reserve".into(),
        member_id: member.clone(),
        program_id: program.clone(),
        bill: Some(bill("ORDER124", &[("", "200")])),
        points: "30".into(),
        ttl_seconds: 900,
    };
    let hold = shop
        .ledger
        .reserve(authed(&shop.service, reserve))
        .await
        .unwrap()
        .into_inner()
        .hold
        .unwrap();
    assert_eq!(shop.balances(&server, &member, &program).held, pts(30));

    // Payment never comes back: a quarter of an hour later the hold has released itself.
    server.clock.advance(Days::minutes(16));
    eventually("released the expired hold", || {
        server
            .store
            .get_hold(&shop.tenant, &hold.id)
            .unwrap()
            .status
            == "expired"
    })
    .await;
    let balances = shop.balances(&server, &member, &program);
    assert_eq!((balances.available, balances.held), (pts(50), pts(0)));

    // A year later the points have expired without anyone calling.
    server.clock.advance(Days::days(366));
    eventually("expired the overdue points", || {
        shop.balances(&server, &member, &program).expired == pts(50)
    })
    .await;
    assert!(
        shop.balances(&server, &member, &program)
            .available
            .is_zero()
    );
    assert!(server.store.verify(None).unwrap().is_empty());
    server.stop().await;
}

mod the_running_server_expires_points_and_releases_holds_on_its_own {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        the_sweep_expires_points_and_releases_holds(Kind::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        if common::skip_postgres() {
            eprintln!("PostgreSQL test skipped: LOYALTY_TEST_SKIP_POSTGRES=1");
            return;
        }
        the_sweep_expires_points_and_releases_holds(Kind::Postgres).await;
    }
}
