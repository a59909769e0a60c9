//! The workloads in-process through `loyalty_store::Store`, with the same callers, bills and
//! checks as over gRPC, so the cost of the RPC layer shows as a ratio.
//!
//! Every store call of the bench goes through [`store_call`], and only through it.
//!
//! - `calls`: [`DirectShop`], the setup and the workload calls with their retries.

mod calls;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use loyalty_core::ErrorKind;
use loyalty_store::{Store, StoreError, StoreResult};

use crate::database::{DatabaseSource, FreshDatabase};
use crate::driver::{self, Plan};
use crate::report::{Row, RunOutcome};
use crate::{check, cpu, report};
pub use calls::DirectShop;

/// Whether a store call writes or only reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A write: to the store's group-commit writer (SQLite) or a blocking thread.
    Write,
    /// A read: inline on SQLite, a blocking thread on PostgreSQL.
    Read,
}

/// Runs one store operation for the bench: the one place the bench enters the store, the same
/// entry points the gRPC services use ([`Store::submit`] for writes, [`Store::query`] for
/// reads).
pub async fn store_call<T: Send + 'static>(
    store: &Store,
    access: Access,
    f: impl FnOnce(&Store) -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    match access {
        Access::Write => store.submit(f).await,
        Access::Read => store.query(f).await,
    }
}

/// The gRPC status code name the server would answer a store error with (the same mapping as
/// `loyalty-grpc`'s), so the two modes' error columns read alike.
pub fn code_of(err: &StoreError) -> &'static str {
    match err {
        StoreError::Rule(rule) => match rule.kind() {
            ErrorKind::InvalidInput => "InvalidArgument",
            ErrorKind::RuleViolated => "FailedPrecondition",
        },
        StoreError::InvalidArgument(_) => "InvalidArgument",
        StoreError::NotFound { .. } => "NotFound",
        StoreError::AlreadyExists(_) | StoreError::IdempotencyConflict { .. } => "AlreadyExists",
        StoreError::FailedPrecondition(_) => "FailedPrecondition",
        StoreError::RateLimited { .. } => "ResourceExhausted",
        StoreError::Unavailable(_) => "Unavailable",
        _ => "Internal",
    }
}

/// Runs `plan` in-process on a fresh database of `source` with `members` members and a pool
/// of `pool_size` connections, then checks the ledger.
pub async fn run(
    plan: Plan,
    members: usize,
    pool_size: u32,
    source: &DatabaseSource,
) -> anyhow::Result<RunOutcome> {
    let db = FreshDatabase::create(source)?;
    let url = db.url().to_owned();
    let store = tokio::task::spawn_blocking(move || Store::open(&url, pool_size))
        .await?
        .and_then(Store::with_writer)
        .with_context(|| format!("opening the store on {}", db.url()))?;
    let shop = DirectShop::setup(
        &store,
        members,
        plan.workload.needs_points(),
        plan.in_flight,
    )
    .await?
    .with_in_flight(plan.in_flight);
    let tenant = shop.tenant().to_owned();
    let (started, bench) = (Instant::now(), cpu::used(None));
    let before = store.writer_stats();
    let rec = driver::drive(Arc::new(shop), plan).await?;
    let writer = store
        .writer_stats()
        .zip(before)
        .map(|(after, before)| report::writer_note(&after, &before))
        .unwrap_or_default();
    let cpu = writer
        + &report::cpu_note(
            started.elapsed(),
            cpu::used(None)
                .zip(bench)
                .map_or(Duration::ZERO, |(b, a)| b.saturating_sub(a)),
            None,
        );
    let url = db.url().to_owned();
    let acks = rec.acks().to_vec();
    let t = tenant.clone();
    let ledger =
        tokio::task::spawn_blocking(move || check::exactly_once(&url, &t, &acks)).await??;
    let violations = store_call(&store, Access::Write, move |s| s.verify(Some(&tenant))).await?;
    let invariants = if violations.is_empty() {
        "ledger consistent: every balance equals its entries and its lots".to_owned()
    } else {
        violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    Ok(RunOutcome {
        row: Row {
            backend: format!("direct {}", source.engine()),
            workload: plan.workload,
            in_flight: plan.in_flight,
            summary: rec.summary(),
        },
        ledger,
        invariants_ok: Some(violations.is_empty()),
        invariants,
        cpu,
        stream: None,
    })
}
