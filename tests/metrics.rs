//! The Prometheus endpoint of a real `loyalty serve` process started with `--metrics-listen`,
//! scraped over plain HTTP: every family is described (`# HELP`, `# TYPE`), RPC latencies are
//! histograms by method and status code, points are counted in points and only once per
//! idempotency key (replays are counted apart), and the pool's and the SQLite writer's gauges
//! are published. Metrics do not depend on the backend: SQLite only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/process.rs"]
mod process;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use loyalty_core::{CardNumber, Currency, EarnRate, Points, ProgramRules};
use loyalty_grpc::pb;
use loyalty_grpc::pb::ledger_service_client::LedgerServiceClient;
use loyalty_store::testing::{Kind, TestDatabase, start};
use loyalty_store::{ManualClock, NewMember, Role};
use process::ServerProcess;
use tonic::transport::Channel;

const EARN: &str = "/loyalty.v1.LedgerService/Earn";

/// An Earn of a bill of `amount` (one line) under `key`, with the service key `auth`.
async fn earn(
    ledger: &mut LedgerServiceClient<Channel>,
    auth: &str,
    key: &str,
    member: &str,
    program: &str,
    amount: &str,
) -> Result<pb::EarnResponse, tonic::Status> {
    let reference = key.split(':').next().unwrap().to_owned();
    let mut request = tonic::Request::new(pb::EarnRequest {
        idempotency_key: key.into(),
        member_id: member.into(),
        program_id: program.into(),
        bill: Some(pb::Bill {
            reference,
            currency: String::new(),
            lines: vec![pb::BillLine {
                category: String::new(),
                amount: amount.into(),
            }],
            at: String::new(),
        }),
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {auth}").parse().unwrap());
    ledger.earn(request).await.map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_endpoint_describes_every_family_and_counts_calls_points_and_replays() {
    let db = TestDatabase::new(Kind::Sqlite);
    // Setup straight in the store (then closed); the calls under observation go through gRPC.
    let (key, member, program) = {
        let store = db.store(1, Arc::new(ManualClock::new(start())));
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
        (key, member.id, program)
    };

    // A free port for the metrics listener (bound again by the server right away).
    let metrics_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let server = ServerProcess::start(&db.url, &["--metrics-listen", &metrics_addr.to_string()]);
    let mut ledger = LedgerServiceClient::new(server.channel());

    // 50 points, then 30 more; the first call retried (a replay: the same 50 points, not
    // earned again); and a call for an unknown program (NOT_FOUND).
    let first = earn(&mut ledger, &key, "ORDER123:earn", &member, &program, "500").await;
    assert_eq!(first.unwrap().points_earned, "50");
    let second = earn(&mut ledger, &key, "ORDER124:earn", &member, &program, "300").await;
    assert_eq!(second.unwrap().points_earned, "30");
    let before_replay = scrape_when(metrics_addr, |body| {
        sample(body, "loyalty_earned_points_total", &[]).is_some()
    })
    .await;
    assert_eq!(
        sample(&before_replay, "loyalty_earned_points_total", &[]),
        Some(80.0),
        "50 + 30 points earned not counted:\n{before_replay}"
    );
    assert_eq!(
        sample(
            &before_replay,
            "loyalty_idempotent_replays_total",
            &[("operation", "earn")]
        ),
        None,
        "no call was replayed yet:\n{before_replay}"
    );
    let replayed = earn(&mut ledger, &key, "ORDER123:earn", &member, &program, "500").await;
    assert_eq!(
        replayed.unwrap().points_earned,
        "50",
        "the first call's answer"
    );
    let unknown = format!("{}x", &program[..program.len() - 1]);
    let refused = earn(&mut ledger, &key, "ORDER125:earn", &member, &unknown, "100").await;
    assert_eq!(refused.unwrap_err().code(), tonic::Code::NotFound);

    // The pool's and the writer's figures are published every second: wait until they show
    // the writer's batches of the calls above.
    let body = scrape_when(metrics_addr, |body| {
        sample(
            body,
            "loyalty_idempotent_replays_total",
            &[("operation", "earn")],
        )
        .is_some()
            && sample(body, "loyalty_db_pool_max_connections", &[]).is_some()
            && sample(body, "loyalty_sqlite_writer_batches_total", &[]).is_some_and(|n| n >= 1.0)
    })
    .await;

    // Every family has HELP and TYPE, and every sample belongs to a typed family.
    let help = families(&body, "# HELP ");
    let types = families(&body, "# TYPE ");
    assert_eq!(
        help.keys().collect::<BTreeSet<_>>(),
        types.keys().collect::<BTreeSet<_>>(),
        "families without HELP or without TYPE:\n{body}"
    );
    for line in body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let name = line.split(['{', ' ']).next().unwrap();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(
            types.contains_key(family),
            "{name} has no # TYPE line:\n{body}"
        );
    }
    for (family, kind) in [
        ("loyalty_rpc_requests_total", "counter"),
        ("loyalty_rpc_duration_seconds", "histogram"),
        ("loyalty_earned_points_total", "counter"),
        ("loyalty_idempotent_replays_total", "counter"),
        ("loyalty_db_pool_connections", "gauge"),
        ("loyalty_db_pool_max_connections", "gauge"),
        ("loyalty_sqlite_writer_queued_calls", "gauge"),
        ("loyalty_sqlite_writer_batches_total", "counter"),
        ("loyalty_sqlite_writer_calls_total", "counter"),
    ] {
        assert_eq!(
            types.get(family).map(String::as_str),
            Some(kind),
            "{family}:\n{body}"
        );
    }

    // Latency histograms by method and code, with buckets from 0.1 ms to 10 s.
    for (code, calls) in [("OK", 3.0), ("NOT_FOUND", 1.0)] {
        let labels = [("method", EARN), ("code", code)];
        for le in ["0.0001", "0.001", "0.1", "1", "10"] {
            let bucket = [labels[0], labels[1], ("le", le)];
            assert!(
                sample(&body, "loyalty_rpc_duration_seconds_bucket", &bucket).is_some(),
                "no bucket le={le} of Earn {code}:\n{body}"
            );
        }
        let all = [labels[0], labels[1], ("le", "+Inf")];
        assert_eq!(
            sample(&body, "loyalty_rpc_duration_seconds_bucket", &all),
            Some(calls),
            "Earn {code}:\n{body}"
        );
        assert_eq!(
            sample(&body, "loyalty_rpc_duration_seconds_count", &labels),
            Some(calls),
            "Earn {code}:\n{body}"
        );
        assert_eq!(
            sample(&body, "loyalty_rpc_requests_total", &labels),
            Some(calls),
            "Earn {code}:\n{body}"
        );
    }

    // Points: the replay earned nothing again, and was counted as a replay.
    assert_eq!(
        sample(&body, "loyalty_earned_points_total", &[]),
        Some(80.0),
        "the replay must not count its 50 points again:\n{body}"
    );
    assert_eq!(
        sample(
            &body,
            "loyalty_idempotent_replays_total",
            &[("operation", "earn")]
        ),
        Some(1.0),
        "{body}"
    );

    // The pool (--pool-size 4) and the SQLite writer, which ran the three fresh calls' work.
    assert_eq!(
        sample(&body, "loyalty_db_pool_max_connections", &[]),
        Some(4.0),
        "{body}"
    );
    for state in ["in_use", "idle"] {
        let connections = sample(&body, "loyalty_db_pool_connections", &[("state", state)]);
        assert!(
            connections.is_some_and(|n| (0.0..=4.0).contains(&n)),
            "pool connections {state}: {connections:?}\n{body}"
        );
    }
    assert!(
        sample(&body, "loyalty_sqlite_writer_queued_calls", &[]).is_some(),
        "{body}"
    );
    assert!(
        sample(&body, "loyalty_sqlite_writer_batches_total", &[]).is_some_and(|n| n >= 1.0),
        "{body}"
    );

    let log = server.stop();
    assert!(!log.contains("panicked"), "{log}");
}

/// The families named by `# HELP` or `# TYPE` lines (`prefix`), with the rest of the line.
fn families(body: &str, prefix: &str) -> BTreeMap<String, String> {
    body.lines()
        .filter_map(|line| line.strip_prefix(prefix))
        .filter_map(|rest| rest.split_once(' '))
        .map(|(name, rest)| (name.to_owned(), rest.to_owned()))
        .collect()
}

/// The value of the sample of `name` whose labels include `labels` (exactly one must match).
fn sample(body: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<f64> = body
        .lines()
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (series_name, series_labels) = match series.split_once('{') {
                Some((n, l)) => (n, l.strip_suffix('}')?),
                None => (series, ""),
            };
            let has = |(k, v): &(&str, &str)| {
                series_labels
                    .split(',')
                    .any(|pair| pair == format!("{k}=\"{v}\""))
            };
            (series_name == name && labels.iter().all(has)).then(|| value.parse().unwrap())
        })
        .collect();
    assert!(
        matching.len() <= 1,
        "{name} {labels:?} matches several samples:\n{body}"
    );
    matching.first().copied()
}

/// Scrapes until `ready` holds of the body (at most 10 s); returns that body.
async fn scrape_when(addr: SocketAddr, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = tokio::task::spawn_blocking(move || scrape(addr))
            .await
            .unwrap();
        if ready(&body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "the metrics never showed what was waited for:\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
