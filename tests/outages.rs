//! Database outages and key revocation, with real `loyalty serve` processes over real sockets
//! and the generated clients (issue 8):
//! - PostgreSQL stopped under load (a throwaway cluster of the test's own): calls answer
//!   UNAVAILABLE within the timeout (2 s by default), health turns NOT_SERVING; started again:
//!   the next call succeeds within a second, health turns SERVING.
//! - SQLite's write lock held by another process (this test process): writes answer
//!   UNAVAILABLE within the timeout, reads go on; released: writes succeed again at once.
//! - A key revoked through one server process is refused by a second one within a second.
//!
//! The long variants (outages of 45 s and more under load) run with `LOYALTY_LONG_FAULTS=1`.
//! Every test prints the figures it observed (`--nocapture`); RELIABILITY.md records them.
// The bodies run outside `#[test]` functions, so the test allowances of clippy.toml do not
// reach them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[path = "outages/cluster.rs"]
mod cluster;
#[path = "outages/load.rs"]
mod load;
#[path = "common/process.rs"]
mod process;

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use loyalty_grpc::pb;
use loyalty_store::testing::TestDatabase;
use loyalty_store::{Database, PoolOptions, Role, Store};
use pb::operator_service_client::OperatorServiceClient;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use cluster::Cluster;
use common::{Kind, authed, fresh_key, skip_postgres};
use load::{Load, read, write};
use process::ServerProcess;

/// The servers' timeout for reaching the database: the default.
const TIMEOUT: Duration = Duration::from_secs(2);
/// What a loaded two-core machine may add to it.
const SLACK: Duration = Duration::from_secs(1);
/// How soon the first call after the database returns must succeed.
const RECOVERY: Duration = Duration::from_secs(1);

fn long_faults() -> bool {
    std::env::var("LOYALTY_LONG_FAULTS").is_ok_and(|v| v == "1")
}

/// Migrates the database at `url` and issues operator keys for the test: `(admin, other)`.
fn prepare(url: &str) -> (String, loyalty_store::IssuedKey) {
    let store = Store::open(url, 1).unwrap();
    let admin = store
        .issue_api_key(None, None, Role::Operator, None, "outage tests")
        .unwrap()
        .key;
    let other = store
        .issue_api_key(None, None, Role::Operator, None, "to be revoked")
        .unwrap();
    (admin, other)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgresql_outage_fails_calls_fast_and_the_first_call_after_it_succeeds() {
    postgresql_outages(Duration::from_secs(3), 1, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn long_postgresql_outages_under_load_fail_every_call_fast_and_recover_at_once() {
    if !long_faults() {
        eprintln!("long fault test skipped: set LOYALTY_LONG_FAULTS=1 to run it");
        return;
    }
    postgresql_outages(Duration::from_secs(45), 2, 8).await;
}

async fn postgresql_outages(outage: Duration, rounds: usize, workers: usize) {
    let Some(cluster) = Cluster::start() else {
        eprintln!(
            "PostgreSQL outage test skipped: no PostgreSQL server binaries (initdb, pg_ctl) \
             under /usr/lib/postgresql/*/bin"
        );
        return;
    };
    let (key, _) = prepare(&cluster.url());
    let server = ServerProcess::start(&cluster.url(), &[]);
    let channel = server.channel();
    write(&channel, &key).await.unwrap();

    let load = Load::start(&channel, &key, workers);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut windows = Vec::new();
    for round in 1..=rounds {
        let stopping = load.now();
        tokio::task::block_in_place(|| cluster.down());
        let down = load.now();

        let (outcome, took) = timed(write(&channel, &key)).await;
        let status = outcome.expect_err("a write succeeded with PostgreSQL stopped");
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert!(
            status.message().contains("database is unreachable"),
            "{status:?}"
        );
        assert!(took <= TIMEOUT + SLACK, "a write took {took:?} to fail");
        server
            .await_health(ServingStatus::NotServing, TIMEOUT + SLACK + SLACK)
            .await;
        let not_serving = load.now() - down;

        tokio::time::sleep(outage.saturating_sub(load.now() - stopping)).await;
        let starting = load.now();
        tokio::task::block_in_place(|| cluster.up());
        let up = load.now();
        let (outcome, recovered) = timed(write(&channel, &key)).await;
        outcome.expect("the first write after PostgreSQL came back failed");
        assert!(
            recovered < RECOVERY,
            "the first write after PostgreSQL came back took {recovered:?}"
        );
        server
            .await_health(ServingStatus::Serving, RECOVERY * 3)
            .await;
        let serving = load.now() - up;
        eprintln!(
            "round {round}: PostgreSQL stopped in {:?}; a write failed after {took:?}; \
             NOT_SERVING after {not_serving:?}; down for {:?}; first write after the restart \
             took {recovered:?}; SERVING after {serving:?}",
            down - stopping,
            up - down
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        windows.push((stopping, down, starting, up));
    }
    let calls = load.stop().await;
    load::report("PostgreSQL outage", &calls);

    for call in &calls {
        assert!(
            matches!(call.code, Code::Ok | Code::Unavailable),
            "a call answered {:?}: {}",
            call.code,
            call.message
        );
        assert!(
            call.took <= TIMEOUT + SLACK,
            "a call took {:?} ({:?}, started at {:?})",
            call.took,
            call.code,
            call.started
        );
        let ended = call.started + call.took;
        // Between `pg_ctl stop` returning and `pg_ctl start` being run.
        let while_down = windows
            .iter()
            .any(|&(_, down, starting, _)| call.started >= down && ended < starting);
        if while_down {
            assert_eq!(
                call.code,
                Code::Unavailable,
                "{call:?} succeeded while down"
            );
        }
        let while_up = windows
            .iter()
            .all(|&(stopping, _, _, up)| ended < stopping || call.started >= up + RECOVERY);
        if while_up {
            assert_eq!(call.code, Code::Ok, "{}", call.message);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sqlite_lock_held_by_another_process_fails_writes_fast_while_reads_go_on() {
    sqlite_lock(Duration::from_secs(3), 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sqlite_lock_held_for_ninety_seconds_under_load_never_answers_internal() {
    if !long_faults() {
        eprintln!("long fault test skipped: set LOYALTY_LONG_FAULTS=1 to run it");
        return;
    }
    sqlite_lock(Duration::from_secs(90), 16).await;
}

async fn sqlite_lock(hold: Duration, workers: usize) {
    let db = TestDatabase::new(Kind::Sqlite);
    let (key, _) = prepare(&db.url);
    let server = ServerProcess::start(&db.url, &[]);
    let channel = server.channel();
    write(&channel, &key).await.unwrap();
    let load = Load::start(&channel, &key, workers);
    tokio::time::sleep(Duration::from_secs(1)).await;

    // This test process is the other process: it takes SQLite's write lock and keeps it.
    let holder = Database::open_with(
        &db.url,
        PoolOptions {
            max_connections: 1,
            timeout: Duration::from_secs(30),
        },
    )
    .unwrap();
    let mut lock = tokio::task::block_in_place(|| {
        let mut conn = holder.conn().unwrap();
        conn.batch_execute("BEGIN EXCLUSIVE").unwrap();
        conn
    });
    let locked = load.now();

    let (written, read_meanwhile) = tokio::join!(timed(write(&channel, &key)), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        timed(read(&channel, &key)).await
    });
    let (outcome, took) = written;
    let status = outcome.expect_err("a write succeeded while another process held the lock");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("database is unreachable"),
        "{status:?}"
    );
    assert!(took <= TIMEOUT + SLACK, "a write took {took:?} to fail");
    let (outcome, read_took) = read_meanwhile;
    outcome.expect("a read failed while a write waited for the lock");
    assert!(read_took < RECOVERY, "a read took {read_took:?}");
    server
        .await_health(ServingStatus::NotServing, TIMEOUT + SLACK + SLACK)
        .await;
    let not_serving = load.now() - locked;

    tokio::time::sleep(hold.saturating_sub(load.now() - locked)).await;
    tokio::task::block_in_place(|| lock.batch_execute("ROLLBACK").unwrap());
    drop(lock);
    let released = load.now();
    let (outcome, recovered) = timed(write(&channel, &key)).await;
    outcome.expect("the first write after the lock was released failed");
    assert!(
        recovered < RECOVERY,
        "the first write after the lock was released took {recovered:?}"
    );
    server
        .await_health(ServingStatus::Serving, RECOVERY * 3)
        .await;
    let serving = load.now() - released;
    eprintln!(
        "SQLite lock held for {:?}: a write failed after {took:?}, a read meanwhile took \
         {read_took:?}; NOT_SERVING after {not_serving:?}; first write after the release took \
         {recovered:?}; SERVING after {serving:?}",
        released - locked
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let calls = load.stop().await;
    load::report("SQLite lock", &calls);

    for call in &calls {
        let during = call.started >= locked && call.started + call.took < released;
        match (call.write, call.code) {
            (_, Code::Ok) => {}
            (true, Code::Unavailable) => {}
            (write, code) => panic!(
                "a {} answered {code:?}: {}",
                if write { "write" } else { "read" },
                call.message
            ),
        }
        assert!(
            call.took <= TIMEOUT + SLACK,
            "a call took {:?} ({:?}, started at {:?})",
            call.took,
            call.code,
            call.started
        );
        if during && !call.write {
            assert!(
                call.took < RECOVERY,
                "a read took {:?} during the lock",
                call.took
            );
        }
        if call.started >= released + RECOVERY {
            assert_eq!(call.code, Code::Ok, "{}", call.message);
        }
    }
}

mod a_key_revoked_through_one_server_is_refused_by_another_within_a_second {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        super::revocation(super::Kind::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        if super::skip_postgres() {
            eprintln!("PostgreSQL test skipped: LOYALTY_TEST_SKIP_POSTGRES=1");
            return;
        }
        super::revocation(super::Kind::Postgres).await;
    }
}

async fn revocation(kind: Kind) {
    let db = TestDatabase::new(kind);
    let (admin, doomed) = prepare(&db.url);
    let first = ServerProcess::start(&db.url, &[]);
    let second = ServerProcess::start(&db.url, &[]);
    let (through_first, through_second) = (first.channel(), second.channel());
    // Both know the key, and remember it.
    read(&through_first, &doomed.key).await.unwrap();
    read(&through_second, &doomed.key).await.unwrap();

    read(&through_second, &doomed.key).await.unwrap();
    let mut operator = OperatorServiceClient::new(through_first.clone());
    operator
        .revoke_api_key(authed(
            &admin,
            pb::RevokeApiKeyRequest {
                key_id: doomed.id.clone(),
                idempotency_key: fresh_key(),
            },
        ))
        .await
        .unwrap();
    let revoked = Instant::now();

    let refused_after = loop {
        match read(&through_second, &doomed.key).await {
            Ok(()) => assert!(
                revoked.elapsed() < Duration::from_secs(5),
                "the second server still accepts the revoked key after 5 s"
            ),
            Err(status) => {
                assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
                break revoked.elapsed();
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let status = read(&through_first, &doomed.key).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    eprintln!(
        "{kind:?}: the second server refused the revoked key {refused_after:?} after the revocation"
    );
    assert!(
        refused_after < Duration::from_secs(1),
        "the second server refused the revoked key only after {refused_after:?}"
    );
    // The other key is untouched.
    read(&through_second, &admin).await.unwrap();
}

async fn timed<T>(call: impl Future<Output = T>) -> (T, Duration) {
    let start = Instant::now();
    let outcome = call.await;
    (outcome, start.elapsed())
}
