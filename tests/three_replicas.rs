//! Three `loyalty serve` replicas on one PostgreSQL database (issue 8), over real sockets:
//! - concurrent redemptions, spread over the replicas, against balances that afford only some
//!   of them: exactly the affordable ones succeed, the others are refused with
//!   FAILED_PRECONDITION, no balance is ever negative, and `loyalty verify` is clean;
//! - a retry storm: the same Earn request (one idempotency key) sent 1,000 times at once,
//!   spread over the replicas: one effect in the ledger, and every answer the same.
//!
//! `LOYALTY_LONG_FAULTS=1` races more members and storms more keys. Figures are printed
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
use std::time::{Duration, Instant};

use loyalty_core::ledger::EntryKind;
use loyalty_grpc::pb;
use loyalty_store::testing::TestDatabase;
use pb::ledger_service_client::LedgerServiceClient;
use rust_decimal::Decimal;
use tonic::Code;
use tonic::transport::Channel;

use common::{Kind, authed, skip_postgres};
use process::ServerProcess;
use seeded::{Seeded, verify};

const REPLICAS: usize = 3;
/// Connections to each replica (each one HTTP/2 connection), so calls also race within one.
const CONNECTIONS: usize = 4;
/// Longer than any call may take.
const DEADLINE: Duration = Duration::from_secs(60);

fn long_faults() -> bool {
    std::env::var("LOYALTY_LONG_FAULTS").is_ok_and(|v| v == "1")
}

/// Three replicas on a fresh PostgreSQL database, and `CONNECTIONS` channels to each.
fn replicas(db: &TestDatabase) -> (Vec<ServerProcess>, Vec<Channel>) {
    let servers: Vec<ServerProcess> = (0..REPLICAS)
        .map(|_| ServerProcess::start(&db.url, &[]))
        .collect();
    let channels = (0..CONNECTIONS)
        .flat_map(|_| servers.iter().map(ServerProcess::channel))
        .collect();
    (servers, channels)
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

fn database() -> Option<TestDatabase> {
    if skip_postgres() {
        eprintln!("PostgreSQL test skipped: LOYALTY_TEST_SKIP_POSTGRES=1");
        return None;
    }
    Some(TestDatabase::new(Kind::Postgres))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_on_three_replicas_spend_exactly_what_the_balances_afford() {
    redemption_race(20, 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_more_concurrent_redemptions_on_three_replicas_never_overspend() {
    if !long_faults() {
        eprintln!("long fault test skipped: set LOYALTY_LONG_FAULTS=1 to run it");
        return;
    }
    redemption_race(100, 20).await;
}

/// `members` members with 100 points each; `attempts` redemptions of 30 points per member, all
/// at once: three per member can succeed.
async fn redemption_race(members: usize, attempts: usize) {
    let Some(db) = database() else { return };
    let seeded = Seeded::new(&db.url, "Race Shop", members);
    let (_servers, channels) = replicas(&db);
    let mut ledger = LedgerServiceClient::new(channels[0].clone());
    for (n, member) in seeded.members.iter().enumerate() {
        ledger
            .earn(authed(
                &seeded.service,
                pb::EarnRequest {
                    idempotency_key: format!("start-{n}"),
                    member_id: member.clone(),
                    program_id: seeded.program.clone(),
                    bill: bill(&format!("START-{n}"), "1000"),
                },
            ))
            .await
            .unwrap();
    }

    let began = Instant::now();
    let mut calls = Vec::new();
    for attempt in 0..attempts {
        for (n, member) in seeded.members.iter().enumerate() {
            let channel = channels[(attempt * members + n) % channels.len()].clone();
            let request = pb::RedeemRequest {
                idempotency_key: format!("redeem-{n}-{attempt}"),
                member_id: member.clone(),
                program_id: seeded.program.clone(),
                bill: bill(&format!("R-{n}-{attempt}"), "100"),
                points: "30".into(),
            };
            let key = seeded.service.clone();
            calls.push(tokio::spawn(async move {
                let mut client = LedgerServiceClient::new(channel);
                // UNAVAILABLE (no database connection free within the timeout, under this
                // load) asks for a retry with the same key, as a client would.
                let mut retries = 0;
                loop {
                    let call = client.redeem(authed(&key, request.clone()));
                    let outcome = tokio::time::timeout(DEADLINE, call).await;
                    match outcome.expect("a redemption hung") {
                        Err(status) if status.code() == Code::Unavailable => retries += 1,
                        outcome => return (n, outcome, retries),
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }));
        }
    }
    let mut succeeded = vec![0usize; members];
    let mut answers: HashMap<Code, usize> = HashMap::new();
    let mut unavailable = 0;
    for call in calls {
        let (n, outcome, retries) = call.await.unwrap();
        unavailable += retries;
        match &outcome {
            Ok(_) => succeeded[n] += 1,
            Err(status) => assert_eq!(
                status.code(),
                Code::FailedPrecondition,
                "a redemption answered {status:?}"
            ),
        }
        let code = outcome_code(&outcome);
        *answers.entry(code).or_default() += 1;
    }
    let took = began.elapsed();

    for (n, member) in seeded.members.iter().enumerate() {
        assert_eq!(
            succeeded[n], 3,
            "member {n}: {} redemptions succeeded",
            succeeded[n]
        );
        assert_eq!(
            seeded.available(member).value(),
            Decimal::from(10),
            "member {n}"
        );
    }
    let entries = seeded.entries(Default::default());
    let redeemed = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Redeemed)
        .count();
    assert_eq!(redeemed, 3 * members, "redemption entries");
    assert!(
        entries.iter().all(|e| e.balance_after >= Decimal::ZERO),
        "a balance went negative"
    );
    let verified = verify(&db.url);
    eprintln!(
        "{} redemptions of 30 points against 100-point balances ({members} members) over \
         {REPLICAS} replicas in {took:.1?}: {answers:?} ({unavailable} UNAVAILABLE answers \
         retried with the same key); every member kept 10 points; {verified}",
        members * attempts
    );
}

fn outcome_code<T>(outcome: &Result<T, tonic::Status>) -> Code {
    match outcome {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_way_retry_storm_over_three_replicas_earns_once_and_answers_alike() {
    retry_storm(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retry_storms_of_five_keys_over_three_replicas_each_earn_once() {
    if !long_faults() {
        eprintln!("long fault test skipped: set LOYALTY_LONG_FAULTS=1 to run it");
        return;
    }
    retry_storm(5).await;
}

/// For each of `keys` keys in turn: the same Earn request sent 1,000 times at once over every
/// connection to the replicas.
async fn retry_storm(keys: usize) {
    let Some(db) = database() else { return };
    let seeded = Seeded::new(&db.url, "Storm Shop", 1);
    let (_servers, channels) = replicas(&db);
    let member = &seeded.members[0];
    for round in 0..keys {
        let request = pb::EarnRequest {
            idempotency_key: format!("storm-{round}"),
            member_id: member.clone(),
            program_id: seeded.program.clone(),
            bill: bill(&format!("STORM-{round}"), "1234.50"),
        };
        let began = Instant::now();
        let calls: Vec<_> = (0..1_000)
            .map(|n| {
                let channel = channels[n % channels.len()].clone();
                let request = authed(&seeded.service, request.clone());
                tokio::spawn(async move {
                    let mut client = LedgerServiceClient::new(channel);
                    let call = client.earn(request);
                    let outcome = tokio::time::timeout(DEADLINE, call).await;
                    outcome.expect("a retry hung")
                })
            })
            .collect();
        let mut answers: Vec<pb::EarnResponse> = Vec::new();
        for call in calls {
            match call.await.unwrap() {
                Ok(response) => answers.push(response.into_inner()),
                Err(status) => panic!("a retry answered {status:?}"),
            }
        }
        let took = began.elapsed();
        let first = &answers[0];
        assert!(
            answers.iter().all(|a| a == first),
            "the answers differ: {:?}",
            answers
                .iter()
                .filter(|a| *a != first)
                .take(2)
                .collect::<Vec<_>>()
        );
        assert_eq!(first.points_earned, "123", "{first:?}");
        let entries = seeded.entries_of(&format!("STORM-{round}"));
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0].kind, EntryKind::Earned);
        assert_eq!(
            seeded.available(member).value(),
            Decimal::from(123 * (round + 1)),
            "after storm {round}"
        );
        eprintln!(
            "storm {round}: 1,000 identical Earn calls over {REPLICAS} replicas \
             ({} connections) answered in {took:.1?}: all OK and identical, one entry",
            channels.len()
        );
    }
    eprintln!("{}", verify(&db.url));
}
