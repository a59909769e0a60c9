//! Group commit: on SQLite one writer thread runs queued calls in batches, each call in its own
//! savepoint. Calls share commits, a refused call is refused alone, a call that panics leaves
//! nothing behind, every commit is durable (`synchronous = FULL`), and the WAL is checkpointed
//! off the write path and started over, so it stays short however long the load lasts. On PostgreSQL the store
//! keeps one transaction per call.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod spend_setup;

use common::{Kind, TestStore};
use diesel::prelude::*;
use diesel::sql_types::Integer;
use loyalty_store::{EarnRequest, Store, StoreError};
use std::future::Future;
use std::pin::Pin;

use rust_decimal::Decimal;
use spend_setup::*;

/// An earn of a bill of 500 (50 points at the shop's rate) on `reference`.
fn earn_req(c: &Checkout, member: &str, reference: &str) -> EarnRequest {
    EarnRequest {
        idempotency_key: key(&format!("{reference}:earn")),
        member_id: member.to_owned(),
        program_id: c.program.clone(),
        reference: reference.to_owned(),
        lines: bill("500"),
        at: None,
        actor: "billing".into(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// Submits every earn at once, before the writer answers any, and waits for all the answers.
fn submit_all(
    store: &Store,
    tenant: &str,
    requests: Vec<EarnRequest>,
) -> Vec<Result<Decimal, StoreError>> {
    runtime().block_on(async {
        let calls: Vec<_> = requests
            .into_iter()
            .map(|req| {
                let tenant = tenant.to_owned();
                let store = store.clone();
                async move { store.submit(move |s| s.earn(&tenant, req)).await }
            })
            .collect();
        let mut answers = Vec::new();
        for call in futures_join(calls).await {
            answers.push(call.map(|outcome| outcome.points.value()));
        }
        answers
    })
}

/// Polls every future together (each is queued to the writer on its first poll), in order.
async fn futures_join<F: Future>(calls: Vec<F>) -> Vec<F::Output> {
    let handles: Vec<_> = calls.into_iter().map(Box::pin).collect();
    let mut pending: Vec<Option<Pin<Box<F>>>> = handles.into_iter().map(Some).collect();
    let mut done: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (slot, out) in pending.iter_mut().zip(done.iter_mut()) {
            if let Some(fut) = slot {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => {
                        *out = Some(value);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    done.into_iter()
        .map(|d| d.expect("every call answered"))
        .collect()
}

fn earned_entries(t: &TestStore) -> i64 {
    use loyalty_store::schema::ledger_entries::dsl as e;
    let mut conn = t.store.database().conn().unwrap();
    e::ledger_entries
        .filter(e::kind.eq("earned"))
        .count()
        .get_result(&mut conn)
        .unwrap()
}

fn store_earn(t: &TestStore, c: &Checkout, member: &str, reference: &str) {
    t.store
        .earn(&c.tenant, earn_req(c, member, reference))
        .unwrap();
}

#[test]
fn concurrent_calls_share_commits_and_each_gets_its_own_answer() {
    let t = TestStore::new(Kind::Sqlite, 4);
    let store = t.store.clone().with_writer().unwrap();
    let c = open_checkout(&t, "Cathay Shop", shop_rules());
    let members: Vec<String> = (0..20)
        .map(|i| enroll(&t, &c.tenant, &c.program, &format!("M{i}")))
        .collect();
    // Ten bills already earned: earning on them again is refused by the rules.
    for (i, member) in members.iter().take(10).enumerate() {
        store_earn(&t, &c, member, &format!("OLD-{i}"));
    }

    let mut requests = Vec::new();
    for i in 0..200 {
        if i % 20 == 0 {
            // A new request (fresh key) on a bill its member already earned on.
            let old = (i / 20) % 10;
            let mut req = earn_req(&c, &members[old], &format!("OLD-{old}"));
            req.idempotency_key = key(&format!("again-{i}"));
            requests.push(req);
        } else {
            requests.push(earn_req(
                &c,
                &members[i % members.len()],
                &format!("NEW-{i}"),
            ));
        }
    }
    let answers = submit_all(&store, &c.tenant, requests);

    let refused: Vec<_> = answers.iter().filter_map(|a| a.as_ref().err()).collect();
    assert_eq!(
        refused.len(),
        10,
        "exactly the ten earns on earned bills are refused"
    );
    for err in &refused {
        assert!(err.to_string().contains("already earned"), "{err}");
    }
    for points in answers.iter().filter_map(|a| a.as_ref().ok()) {
        assert_eq!(points.to_string(), "50");
    }
    assert_eq!(earned_entries(&t), 10 + 190);

    let stats = store.writer_stats().expect("SQLite runs a writer");
    assert_eq!(stats.calls, 200);
    assert!(
        stats.batches <= 50,
        "200 calls queued together should share commits, took {} commits",
        stats.batches
    );
    common::after_scenario(&t);
}

#[test]
fn a_call_that_panics_on_the_writer_leaves_nothing_and_the_others_commit() {
    let t = TestStore::new(Kind::Sqlite, 4);
    let store = t.store.clone().with_writer().unwrap();
    let c = open_checkout(&t, "Cathay Shop", shop_rules());

    let submit = |reference: &'static str, panics: bool| {
        let (store, tenant, req) = (
            store.clone(),
            c.tenant.clone(),
            earn_req(&c, &c.member, reference),
        );
        async move {
            store
                .submit(move |s| {
                    // The earn is written (its own savepoint is released) ...
                    let outcome = s.earn(&tenant, req)?;
                    if panics {
                        // ... and then the call fails unexpectedly.
                        panic!("a bug after the earn");
                    }
                    Ok(outcome.points)
                })
                .await
        }
    };
    let answers = runtime().block_on(futures_join(vec![
        Box::pin(submit("A", false)) as Pin<Box<dyn Future<Output = _>>>,
        Box::pin(submit("B", true)),
        Box::pin(submit("C", false)),
    ]));

    assert!(answers[0].is_ok() && answers[2].is_ok(), "{answers:?}");
    assert!(
        answers[1]
            .as_ref()
            .is_err_and(|e| e.to_string().contains("a bug after the earn")),
        "{:?}",
        answers[1]
    );
    assert_eq!(
        earned_entries(&t),
        2,
        "the panicking call's earn was undone"
    );
    assert_eq!(balances(&t, &c).available, pts("100"));
    // Its key was not recorded either: a retry earns the bill.
    store_earn(&t, &c, &c.member, "B");
    assert_eq!(balances(&t, &c).available, pts("150"));
    common::after_scenario(&t);
}

#[test]
fn the_wal_is_checkpointed_off_the_write_path_and_started_over_under_steady_load() {
    let t = TestStore::new(Kind::Sqlite, 4);
    let store = t.store.clone().with_writer().unwrap();
    let c = open_checkout(&t, "Cathay Shop", shop_rules());
    let members: Vec<String> = (0..400)
        .map(|i| enroll(&t, &c.tenant, &c.program, &format!("M{i}")))
        .collect();
    let wal = std::path::PathBuf::from(format!("{}-wal", t.url));
    let frame = 4096 + 24;
    let mut longest_wal = 0;
    // Rounds of 200 earns queued together until the WAL has been started over twice: a
    // round writes a few hundred pages, WAL_RESTART_FRAMES is thousands.
    let (mut rounds, per_round) = (0, 200);
    while rounds < 60 && store.writer_stats().unwrap().wal_restarts < 2 {
        let requests = (0..per_round)
            .map(|i| {
                earn_req(
                    &c,
                    &members[(rounds * per_round + i) % members.len()],
                    &format!("R{rounds}-{i}"),
                )
            })
            .collect();
        let answers = submit_all(&store, &c.tenant, requests);
        assert!(answers.iter().all(Result::is_ok), "{answers:?}");
        longest_wal = longest_wal.max(std::fs::metadata(&wal).unwrap().len());
        rounds += 1;
    }
    assert_eq!(earned_entries(&t), (rounds * per_round) as i64);

    let stats = store.writer_stats().expect("SQLite runs a writer");
    assert!(stats.checkpoints > 0, "the checkpointer ran: {stats:?}");
    assert!(
        stats.wal_restarts > 0,
        "the WAL was started over at least once: {stats:?}, longest WAL {longest_wal} bytes"
    );
    // Never much longer than the restart length plus what one round writes.
    let bound = (loyalty_store::checkpoint::WAL_RESTART_FRAMES + 8192) * frame;
    assert!(
        longest_wal <= bound,
        "the WAL grew to {longest_wal} bytes (bound {bound}): {stats:?}"
    );
    // What was checkpointed is in the database file itself.
    let main = std::fs::metadata(&t.url).unwrap().len();
    assert!(main > 1024 * 1024, "the database file holds {main} bytes");
    common::after_scenario(&t);
}

#[derive(QueryableByName)]
struct Synchronous {
    #[diesel(sql_type = Integer)]
    synchronous: i32,
}

#[test]
fn sqlite_commits_survive_power_loss_by_default() {
    let t = TestStore::new(Kind::Sqlite, 2);
    let mut conn = t.store.database().conn().unwrap();
    let found: Synchronous = diesel::sql_query("PRAGMA synchronous")
        .get_result(&mut conn)
        .unwrap();
    // 2 = FULL: the WAL is synced on every commit.
    assert_eq!(found.synchronous, 2);
}

#[test]
fn postgresql_keeps_one_transaction_per_call_without_a_writer() {
    if common::skip_postgres() {
        return;
    }
    let t = TestStore::new(Kind::Postgres, 4);
    let store = t.store.clone().with_writer().unwrap();
    assert!(store.writer_stats().is_none());
    let c = open_checkout(&t, "Cathay Shop", shop_rules());
    let answers = submit_all(
        &store,
        &c.tenant,
        (0..10)
            .map(|i| earn_req(&c, &c.member, &format!("P-{i}")))
            .collect(),
    );
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    assert_eq!(balances(&t, &c).available, pts("500"));
    common::after_scenario(&t);
}
