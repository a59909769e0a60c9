//! kill -9 under load (issue 8): a real `loyalty serve` on SQLite and on PostgreSQL, client
//! tasks earning, redeeming, and reserving then capturing points under unique idempotency
//! keys, and the test killing the server with SIGKILL at random (seeded) moments and starting
//! it again on the same database and address. A call that got no answer (the connection broke,
//! or nobody listened) is sent again with the same key until it is answered.
//!
//! Afterwards: every acknowledged call has exactly one effect in the ledger (its entries, found
//! by bill reference and hold), and sending it again answers the same; every call refused
//! (FAILED_PRECONDITION) changed nothing and is refused again; each balance is what the
//! acknowledged calls make it; and `loyalty verify` reports a consistent ledger.
//!
//! The normal run kills each server twice; `LOYALTY_LONG_FAULTS=1` kills it 8 times under
//! more load. `LOYALTY_FAULT_SEED=<n>` picks other moments. Figures are printed
//! (`--nocapture`); RELIABILITY.md records them.
// The bodies run outside `#[test]` functions, so the test allowances of clippy.toml do not
// reach them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "common/process.rs"]
mod process;
#[path = "common/seeded.rs"]
mod seeded;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use loyalty_core::ledger::EntryKind;
use loyalty_grpc::pb;
use loyalty_store::testing::TestDatabase;
use pb::ledger_service_client::LedgerServiceClient;
use rust_decimal::Decimal;
use tonic::transport::Channel;
use tonic::{Code, Status};

use common::{Kind, authed, skip_postgres};
use process::ServerProcess;
use seeded::{Seeded, verify};

/// Points each member starts with.
const START: u64 = 1_000;
/// A call unanswered for this long (across retries) fails the test.
const PATIENCE: Duration = Duration::from_secs(60);

fn long_faults() -> bool {
    std::env::var("LOYALTY_LONG_FAULTS").is_ok_and(|v| v == "1")
}

fn seed() -> u64 {
    std::env::var("LOYALTY_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_121)
}

/// How hard a run is.
#[derive(Debug, Clone, Copy)]
struct Plan {
    kills: usize,
    tasks: usize,
    /// The server lives a random time in this range (milliseconds) before each kill.
    lifetime_ms: (u64, u64),
}

const SHORT: Plan = Plan {
    kills: 2,
    tasks: 4,
    lifetime_ms: (150, 700),
};

const LONG: Plan = Plan {
    kills: 8,
    tasks: 12,
    lifetime_ms: (300, 2_500),
};

mod a_server_killed_at_random_under_load_acknowledges_each_call_once {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        super::kills(super::Kind::Sqlite, super::SHORT).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        if super::skip_postgres() {
            eprintln!("PostgreSQL test skipped: LOYALTY_TEST_SKIP_POSTGRES=1");
            return;
        }
        super::kills(super::Kind::Postgres, super::SHORT).await;
    }
}

mod a_server_killed_eight_times_under_heavy_load_loses_and_doubles_nothing {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        if !super::long_faults() {
            eprintln!("long fault test skipped: set LOYALTY_LONG_FAULTS=1 to run it");
            return;
        }
        super::kills(super::Kind::Sqlite, super::LONG).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        if !super::long_faults() {
            eprintln!("long fault test skipped: set LOYALTY_LONG_FAULTS=1 to run it");
            return;
        }
        if super::skip_postgres() {
            eprintln!("PostgreSQL test skipped: LOYALTY_TEST_SKIP_POSTGRES=1");
            return;
        }
        super::kills(super::Kind::Postgres, super::LONG).await;
    }
}

/// xorshift64: the kill moments, reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn between(&mut self, (low, high): (u64, u64)) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + self.0 % (high - low)
    }
}

/// One business call a task made (two RPCs for a checkout), and what it was answered.
#[derive(Debug, Clone)]
// A few thousand of them at most: their size does not matter.
#[allow(clippy::large_enum_variant)]
enum Call {
    Earn {
        request: pb::EarnRequest,
        answer: pb::EarnResponse,
    },
    Redeem {
        request: pb::RedeemRequest,
        answer: Result<pb::RedeemResponse, Status>,
    },
    Checkout {
        reserve: pb::ReserveRequest,
        reserved: pb::ReserveResponse,
        capture: pb::CaptureRequest,
        captured: pb::CaptureResponse,
    },
}

/// What the load saw: calls that got no answer, by code, and calls that took longer than
/// [`PATIENCE`] in one attempt.
#[derive(Debug, Default)]
struct Unanswered {
    unavailable: AtomicUsize,
    unknown: AtomicUsize,
    other: AtomicUsize,
}

impl Unanswered {
    fn count(&self, code: Code) {
        match code {
            Code::Unavailable => &self.unavailable,
            Code::Unknown => &self.unknown,
            _ => &self.other,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    fn total(&self) -> usize {
        self.unavailable.load(Ordering::Relaxed)
            + self.unknown.load(Ordering::Relaxed)
            + self.other.load(Ordering::Relaxed)
    }
}

/// Sends `call()` until it is answered: OK, or refused with FAILED_PRECONDITION. No answer
/// (UNAVAILABLE: nobody listening, the connection broke, or the database was not reachable
/// yet; UNKNOWN or CANCELLED: the connection broke mid-call) means send it again; any other
/// code fails the test.
async fn until_answered<T, F, Fut>(what: &str, lost: &Unanswered, mut call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, Status>>,
{
    let start = Instant::now();
    loop {
        let outcome = tokio::time::timeout(Duration::from_secs(20), call()).await;
        match outcome {
            Ok(Ok(response)) => return Ok(response.into_inner()),
            Ok(Err(status)) if status.code() == Code::FailedPrecondition => return Err(status),
            Ok(Err(status))
                if matches!(
                    status.code(),
                    Code::Unavailable | Code::Unknown | Code::Cancelled
                ) =>
            {
                lost.count(status.code());
            }
            Ok(Err(status)) => panic!("{what} answered {status:?}"),
            Err(_) => lost.count(Code::DeadlineExceeded),
        }
        assert!(
            start.elapsed() < PATIENCE,
            "{what} was not answered within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn bill(reference: &str, amount: &str) -> Option<pb::Bill> {
    Some(pb::Bill {
        reference: reference.into(),
        currency: String::new(),
        lines: vec![pb::BillLine {
            category: String::new(),
            amount: amount.into(),
        }],
        at: String::new(),
    })
}

/// A client task: on its own member, call after call (earn 20 points, redeem 5, reserve and
/// capture 5, and now and then a redemption the balance cannot afford), each retried until
/// answered, until `stop`.
async fn task(
    n: usize,
    seeded: Arc<Seeded>,
    channel: Channel,
    stop: Arc<AtomicBool>,
    lost: Arc<Unanswered>,
) -> Vec<Call> {
    let ledger = LedgerServiceClient::new(channel);
    let key = seeded.service.clone();
    let member = seeded.members[n].clone();
    let program = seeded.program.clone();
    let mut calls = Vec::new();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let name = format!("T{n}-{i}");
        let call = match i % 4 {
            0 | 3 if i % 8 != 3 => {
                let request = pb::EarnRequest {
                    idempotency_key: format!("earn-{name}"),
                    member_id: member.clone(),
                    program_id: program.clone(),
                    bill: bill(&format!("E-{name}"), "200"),
                };
                let answer = until_answered(&name, &lost, || {
                    let (mut ledger, request) = (ledger.clone(), request.clone());
                    let key = key.clone();
                    async move { ledger.earn(authed(&key, request)).await }
                })
                .await
                .unwrap_or_else(|s| panic!("earn {name} refused: {s:?}"));
                Call::Earn { request, answer }
            }
            1 | 3 => {
                // Every eighth call asks for more than any balance holds.
                let points = if i % 8 == 3 { "1000000" } else { "5" };
                let request = pb::RedeemRequest {
                    idempotency_key: format!("redeem-{name}"),
                    member_id: member.clone(),
                    program_id: program.clone(),
                    bill: bill(&format!("R-{name}"), "5000000"),
                    points: points.into(),
                };
                let answer = until_answered(&name, &lost, || {
                    let (mut ledger, request) = (ledger.clone(), request.clone());
                    let key = key.clone();
                    async move { ledger.redeem(authed(&key, request)).await }
                })
                .await;
                Call::Redeem { request, answer }
            }
            _ => {
                let reserve = pb::ReserveRequest {
                    idempotency_key: format!("reserve-{name}"),
                    member_id: member.clone(),
                    program_id: program.clone(),
                    bill: bill(&format!("H-{name}"), "50"),
                    points: "5".into(),
                    ttl_seconds: 3_600,
                };
                let reserved = until_answered(&name, &lost, || {
                    let (mut ledger, request) = (ledger.clone(), reserve.clone());
                    let key = key.clone();
                    async move { ledger.reserve(authed(&key, request)).await }
                })
                .await
                .unwrap_or_else(|s| panic!("reserve {name} refused: {s:?}"));
                let capture = pb::CaptureRequest {
                    idempotency_key: format!("capture-{name}"),
                    hold_id: reserved.hold.as_ref().unwrap().id.clone(),
                    points: String::new(),
                };
                let captured = until_answered(&name, &lost, || {
                    let (mut ledger, request) = (ledger.clone(), capture.clone());
                    let key = key.clone();
                    async move { ledger.capture(authed(&key, request)).await }
                })
                .await
                .unwrap_or_else(|s| panic!("capture {name} refused: {s:?}"));
                Call::Checkout {
                    reserve,
                    reserved,
                    capture,
                    captured,
                }
            }
        };
        calls.push(call);
        i += 1;
    }
    calls
}

async fn kills(kind: Kind, plan: Plan) {
    let db = TestDatabase::new(kind);
    let seeded = Arc::new(Seeded::new(&db.url, "Kill Shop", plan.tasks));
    // Free now; each server after the first takes the address of the one killed before it.
    let addr: SocketAddr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let start = || {
        tokio::task::block_in_place(|| {
            ServerProcess::start_on(addr, &db.url, &[], &[("RUST_LOG", "info")])
        })
    };
    let mut server = start();
    let channel = server.channel();
    let mut ledger = LedgerServiceClient::new(channel.clone());
    for (n, member) in seeded.members.iter().enumerate() {
        ledger
            .earn(authed(
                &seeded.service,
                pb::EarnRequest {
                    idempotency_key: format!("start-{n}"),
                    member_id: member.clone(),
                    program_id: seeded.program.clone(),
                    bill: bill(&format!("START-{n}"), &(START * 10).to_string()),
                },
            ))
            .await
            .unwrap();
    }

    let began = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let lost = Arc::new(Unanswered::default());
    let tasks: Vec<_> = (0..plan.tasks)
        .map(|n| {
            tokio::spawn(task(
                n,
                seeded.clone(),
                channel.clone(),
                stop.clone(),
                lost.clone(),
            ))
        })
        .collect();
    let mut rng = Rng(seed().max(1));
    let (mut restarts, mut recoveries) = (Vec::new(), Vec::new());
    for _ in 0..plan.kills {
        tokio::time::sleep(Duration::from_millis(rng.between(plan.lifetime_ms))).await;
        let killed = Instant::now();
        tokio::task::block_in_place(|| server.kill());
        server = start();
        restarts.push(killed.elapsed());
        // The first call answered after the kill.
        until_answered("a read after the restart", &Unanswered::default(), || {
            let mut ledger = ledger.clone();
            let request = authed(
                &seeded.admin,
                pb::ListTransactionsRequest {
                    page_size: 1,
                    ..Default::default()
                },
            );
            async move { ledger.list_transactions(request).await }
        })
        .await
        .unwrap();
        recoveries.push(killed.elapsed());
    }
    // Some load on the last server too, then every task finishes its call in flight.
    tokio::time::sleep(Duration::from_millis(plan.lifetime_ms.0)).await;
    stop.store(true, Ordering::Relaxed);
    let mut calls = Vec::new();
    for t in tasks {
        calls.push(t.await.unwrap());
    }
    let loaded = began.elapsed();

    let report = check(&seeded, &mut ledger, &calls).await;
    let verified = verify(&db.url);
    let max = |d: &[Duration]| d.iter().max().copied().unwrap_or_default();
    eprintln!(
        "{kind:?} (seed {}): {} kills in {loaded:.1?} under {} tasks; {report}; {} attempts \
         unanswered (UNAVAILABLE {}, UNKNOWN {}, other {}) and retried; restarted server \
         accepting {:?} after the kill (max {:?}), first call answered after {:?} (max {:?}); \
         {verified}",
        seed(),
        plan.kills,
        plan.tasks,
        lost.total(),
        lost.unavailable.load(Ordering::Relaxed),
        lost.unknown.load(Ordering::Relaxed),
        lost.other.load(Ordering::Relaxed),
        restarts,
        max(&restarts),
        recoveries,
        max(&recoveries),
    );
    assert!(
        calls.iter().all(|c| c.len() >= 2),
        "a task made fewer than two calls: {:?}",
        calls.iter().map(Vec::len).collect::<Vec<_>>()
    );
    server.stop();
}

/// Checks the ledger against what the calls were answered, sends every call again, and says
/// what it found.
async fn check(
    seeded: &Seeded,
    ledger: &mut LedgerServiceClient<Channel>,
    calls: &[Vec<Call>],
) -> String {
    let key = &seeded.service;
    let points = |n: u64| Decimal::from(n);
    let kinds = |reference: &str| {
        let mut found: Vec<(EntryKind, Decimal, Option<String>)> = seeded
            .entries_of(reference)
            .into_iter()
            .map(|e| (e.kind, e.points.value(), e.hold_id))
            .collect();
        found.sort_by_key(|(kind, _, _)| kind.as_str());
        found
    };
    let (mut earned, mut redeemed, mut refused, mut checkouts, mut entries) = (0, 0, 0, 0, 0);
    for (n, task_calls) in calls.iter().enumerate() {
        let member = &seeded.members[n];
        let mut balance = points(START);
        for call in task_calls {
            match call {
                Call::Earn { request, answer } => {
                    let reference = &request.bill.as_ref().unwrap().reference;
                    assert_eq!(
                        kinds(reference),
                        [(EntryKind::Earned, points(20), None)],
                        "{reference}"
                    );
                    let again = ledger.earn(authed(key, request.clone())).await.unwrap();
                    assert_eq!(
                        &again.into_inner(),
                        answer,
                        "{reference} answered otherwise"
                    );
                    balance += points(20);
                    earned += 1;
                    entries += 1;
                }
                Call::Redeem { request, answer } => {
                    let reference = &request.bill.as_ref().unwrap().reference;
                    let again = ledger.redeem(authed(key, request.clone())).await;
                    match answer {
                        Ok(answer) => {
                            assert_eq!(
                                kinds(reference),
                                [(EntryKind::Redeemed, points(5), None)],
                                "{reference}"
                            );
                            assert_eq!(&again.unwrap().into_inner(), answer, "{reference}");
                            balance -= points(5);
                            redeemed += 1;
                            entries += 1;
                        }
                        Err(status) => {
                            assert_eq!(request.points, "1000000", "{reference}: {status:?}");
                            assert_eq!(kinds(reference), [], "{reference} was refused");
                            let again = again.expect_err("a refused redemption succeeded");
                            assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");
                            refused += 1;
                        }
                    }
                }
                Call::Checkout {
                    reserve,
                    reserved,
                    capture,
                    captured,
                } => {
                    let reference = &reserve.bill.as_ref().unwrap().reference;
                    let hold = Some(capture.hold_id.clone());
                    assert_eq!(
                        kinds(reference),
                        [
                            (EntryKind::Captured, points(5), hold.clone()),
                            (EntryKind::Reserved, points(5), hold)
                        ],
                        "{reference}"
                    );
                    let again = ledger.reserve(authed(key, reserve.clone())).await.unwrap();
                    assert_eq!(&again.into_inner(), reserved, "{reference}");
                    let again = ledger.capture(authed(key, capture.clone())).await.unwrap();
                    assert_eq!(&again.into_inner(), captured, "{reference}");
                    let held = seeded
                        .store
                        .get_hold(&seeded.tenant, &capture.hold_id)
                        .unwrap();
                    assert_eq!(held.captured.value(), points(5), "{reference}");
                    balance -= points(5);
                    checkouts += 1;
                    entries += 2;
                }
            }
        }
        assert_eq!(
            seeded.available(member).value(),
            balance,
            "task {n}'s member"
        );
    }
    // Nothing else: one starting entry per member besides.
    let all = seeded.entries(Default::default()).len();
    assert_eq!(all, entries + seeded.members.len(), "entries in the ledger");
    let by_kind = seeded.entries(Default::default()).into_iter().fold(
        HashMap::<&str, usize>::new(),
        |mut m, e| {
            *m.entry(e.kind.as_str()).or_default() += 1;
            m
        },
    );
    assert_eq!(by_kind.get("released"), None, "a hold was released");
    format!(
        "{} calls answered: {earned} earns, {redeemed} redemptions, {checkouts} reserve+capture, \
         {refused} refused (and refused again); {all} ledger entries, each acknowledged once",
        earned + redeemed + checkouts + refused
    )
}
