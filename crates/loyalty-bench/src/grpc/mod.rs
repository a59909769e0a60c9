//! The workloads over gRPC against the real server binary.
//!
//! - [`server`]: the server as child processes (operator commands, `serve`, health, stop).
//! - [`client`]: the channels, the setup calls and the workload calls with their retries.

pub mod client;
pub mod follow;
pub mod server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::database::{DatabaseSource, FreshDatabase};
use crate::driver::{self, Plan};
use crate::report::{Row, RunOutcome};
use crate::{check, cpu, report};
use client::GrpcShop;
use server::{Fleet, ServerOptions};

/// Servers that are already running (`--connect`), and how to check their ledger.
#[derive(Debug, Clone)]
pub struct Connected {
    /// Their addresses (loopback).
    pub addrs: Vec<SocketAddr>,
    /// The tenant to work in.
    pub tenant: String,
    /// An admin key of the tenant.
    pub admin_key: String,
    /// A service key of the tenant.
    pub service_key: String,
    /// Their database, for the checks; `None` skips them.
    pub database_url: Option<String>,
}

/// Runs `plan` over gRPC, with `members` members and `channels` HTTP/2 channels, against
/// fresh servers on a fresh database of `source` (or the `connected` ones), then checks the
/// ledger and runs the invariant checker. With `follow`, a consumer follows the tenant's
/// change stream meanwhile ([`follow`]).
pub async fn run(
    plan: Plan,
    members: usize,
    channels: usize,
    options: &ServerOptions,
    source: &DatabaseSource,
    connected: Option<&Connected>,
    follow: bool,
) -> anyhow::Result<RunOutcome> {
    let (db, fleet, check_url) = match connected {
        None => {
            let db = FreshDatabase::create(source)?;
            let (opts, url, dir) = (options.clone(), db.url().to_owned(), db.dir().to_owned());
            let fleet =
                tokio::task::spawn_blocking(move || Fleet::start(&opts, &url, &dir)).await??;
            let url = db.url().to_owned();
            (Some(db), fleet, Some(url))
        }
        Some(c) => (
            None,
            Fleet::existing(
                c.addrs.clone(),
                c.tenant.clone(),
                c.admin_key.clone(),
                c.service_key.clone(),
            ),
            c.database_url.clone(),
        ),
    };
    fleet.wait_healthy().await?;
    let shop = GrpcShop::setup(
        &fleet,
        channels,
        members,
        plan.workload.needs_points(),
        plan.in_flight,
    )
    .await?;
    let pids = fleet.pids();
    let (started, bench, servers) = (Instant::now(), cpu::used(None), cpu::used_by(&pids));
    let follower = match follow {
        true => Some(follow::Follower::start(fleet.addrs()[0], &fleet.admin_key).await?),
        false => None,
    };
    let rec = driver::drive(Arc::new(shop), plan).await?;
    let stream = match follower {
        Some(f) => Some(f.finish().await?),
        None => None,
    };
    let cpu = report::cpu_note(
        started.elapsed(),
        cpu::used(None)
            .zip(bench)
            .map_or(Duration::ZERO, |(b, a)| b.saturating_sub(a)),
        (!pids.is_empty()).then(|| cpu::used_by(&pids).saturating_sub(servers)),
    );
    // Stopped before the checks, so nothing changes the ledger while they read it.
    let tenant = fleet.tenant.clone();
    tokio::task::spawn_blocking(move || drop(fleet)).await?;
    let (ledger, invariants_ok, invariants) = match check_url {
        Some(url) => {
            let (acks, bin) = (rec.acks().to_vec(), options.bin.clone());
            let (ledger, (ok, said)) = tokio::task::spawn_blocking(move || {
                anyhow::Ok((
                    check::exactly_once(&url, &tenant, &acks)?,
                    check::verify_with_binary(&bin, &url, &tenant)?,
                ))
            })
            .await??;
            (ledger, Some(ok), said)
        }
        None => (
            check::LedgerCheck::skipped("no --check-database-url to read the ledger from"),
            None,
            "no --check-database-url".to_owned(),
        ),
    };
    drop(db);
    let backend = match (connected, options.replicas) {
        (Some(_), _) => "grpc connected".to_owned(),
        (None, 1) => format!("grpc {}", source.engine()),
        (None, n) => format!("grpc {} x{n}", source.engine()),
    };
    Ok(RunOutcome {
        row: Row {
            backend,
            workload: plan.workload,
            in_flight: plan.in_flight,
            summary: rec.summary(),
        },
        ledger,
        invariants_ok,
        invariants,
        cpu,
        stream: stream.map(|f| (f.passed(), f.describe())),
    })
}
