//! The Prometheus endpoint: a server started with `metrics_addr` serves `/metrics` over plain
//! HTTP, counting every RPC by method and status and the points moved.
//!
//! The Prometheus recorder is process-global and can be installed once, so this test binary
//! holds exactly one test and one server. Metrics do not depend on the backend: SQLite only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use loyalty_core::{CardNumber, Currency, EarnRate, Points, ProgramRules};
use loyalty_grpc::pb;
use loyalty_grpc::pb::ledger_service_client::LedgerServiceClient;
use loyalty_grpc::server::{ServerConfig, run};
use loyalty_store::testing::{Kind, TestDatabase, start};
use loyalty_store::{ManualClock, NewMember, Role};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_endpoint_counts_rpcs_and_points_earned() {
    let db = TestDatabase::new(Kind::Sqlite);
    let store = db.store(4, Arc::new(ManualClock::new(start())));

    // Setup straight in the store; the Earn under observation goes through gRPC.
    let tenant = store.create_tenant(None, "Cathay Shop").unwrap().id;
    let key = store
        .issue_api_key(None, Some(&tenant), Role::Service, None, "billing")
        .unwrap()
        .key;
    let mut rules = ProgramRules::new(Currency::new("INR").unwrap());
    rules.base_rate = EarnRate::new(Points::whole(1).unwrap(), "10".parse().unwrap()).unwrap();
    let program = store
        .create_program(&tenant, None, "Shop points", rules)
        .unwrap()
        .id;
    let new = NewMember {
        customer_id: "C-1001".into(),
        card_number: CardNumber::new("CARD001").unwrap(),
        name: "Sachin".into(),
        phone: None,
        email: None,
        referrer_id: None,
    };
    let (member, _) = store
        .enroll_member(&tenant, None, new, std::slice::from_ref(&program))
        .unwrap();

    // A free port for the metrics listener (bound again by the server right away).
    let metrics_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = ServerConfig {
        metrics_addr: Some(metrics_addr),
        ..ServerConfig::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(run(listener, store, config, async {
        let _ = stopped.await;
    }));

    let mut ledger = LedgerServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let mut request = tonic::Request::new(pb::EarnRequest {
        idempotency_key: "ORDER123:earn".into(),
        member_id: member.id,
        program_id: program,
        bill: Some(pb::Bill {
            reference: "ORDER123".into(),
            currency: String::new(),
            lines: vec![pb::BillLine {
                category: String::new(),
                amount: "500".into(),
            }],
            at: String::new(),
        }),
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {key}").parse().unwrap());
    let earned = ledger.earn(request).await.unwrap().into_inner();
    assert_eq!(earned.points_earned, "50");

    let body = tokio::task::spawn_blocking(move || scrape(metrics_addr))
        .await
        .unwrap();
    let earn_calls = body.lines().find(|line| {
        line.starts_with("loyalty_rpc_requests_total{")
            && line.contains(r#"method="/loyalty.v1.LedgerService/Earn""#)
            && line.contains(r#"code="OK""#)
    });
    assert_eq!(
        earn_calls.and_then(|line| line.rsplit(' ').next()),
        Some("1"),
        "no OK Earn call counted:\n{body}"
    );
    // Points are counted in ten-thousandths: 50 points.
    assert!(
        body.lines()
            .any(|line| line == "loyalty_points_earned_units_total 500000"),
        "50 points earned not counted:\n{body}"
    );

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// `GET /metrics` over a bare HTTP/1.1 connection (retrying while the listener starts);
/// returns the response body.
fn scrape(addr: SocketAddr) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(stream) => break stream,
            Err(e) if Instant::now() < deadline => {
                eprintln!("metrics endpoint not up yet: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("metrics endpoint {addr} never accepted a connection: {e}"),
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {response}"));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}
