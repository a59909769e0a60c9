//! The workloads over gRPC against the real server binary.
//!
//! - [`server`]: the server as child processes (operator commands, `serve`, health, stop).
//! - [`client`]: the channels, the setup calls and the workload calls with their retries.

pub mod client;
pub mod server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::database::{DatabaseSource, FreshDatabase};
use crate::driver::{self, Plan};
use crate::report::{Row, RunOutcome};
use crate::{check, cpu, report};
use client::GrpcShop;
use server::{Fleet, ServerOptions};

/// Runs `plan` over gRPC against fresh servers on a fresh database of `source`, with
/// `members` members and `channels` HTTP/2 channels, then checks the ledger and runs the
/// invariant checker.
pub async fn run(
    plan: Plan,
    members: usize,
    channels: usize,
    options: &ServerOptions,
    source: &DatabaseSource,
) -> anyhow::Result<RunOutcome> {
    let db = FreshDatabase::create(source)?;
    let (opts, url, dir) = (options.clone(), db.url().to_owned(), db.dir().to_owned());
    let mut fleet = tokio::task::spawn_blocking(move || Fleet::start(&opts, &url, &dir)).await??;
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
    let rec = driver::drive(Arc::new(shop), plan).await?;
    let cpu = report::cpu_note(
        started.elapsed(),
        cpu::used(None)
            .zip(bench)
            .map_or(Duration::ZERO, |(b, a)| b.saturating_sub(a)),
        Some(cpu::used_by(&pids).saturating_sub(servers)),
    );
    // Stopped before the checks, so nothing changes the ledger while they read it.
    let tenant = fleet.tenant.clone();
    let fleet = tokio::task::spawn_blocking(move || {
        fleet.stop();
        fleet
    })
    .await?;
    drop(fleet);
    let (url, acks, bin) = (
        db.url().to_owned(),
        rec.acks().to_vec(),
        options.bin.clone(),
    );
    let (ledger, (invariants_ok, invariants)) = tokio::task::spawn_blocking(move || {
        anyhow::Ok((
            check::exactly_once(&url, &tenant, &acks)?,
            check::verify_with_binary(&bin, &url, &tenant)?,
        ))
    })
    .await??;
    let mut backend = format!("grpc {}", source.engine());
    if options.replicas > 1 {
        backend.push_str(&format!(" x{}", options.replicas));
    }
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
    })
}
