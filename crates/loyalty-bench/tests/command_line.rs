//! The command line: defaults, presets, and what it refuses before sending anything.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use clap::Parser;
use loyalty_bench::cli::{Cli, Command as BenchCommand};
use loyalty_bench::workload::Workload;

fn parse(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("loyalty-bench").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?} did not parse: {e}"))
}

#[test]
fn a_run_defaults_to_every_workload_with_64_calls_in_flight_for_ten_seconds() {
    let BenchCommand::Run(run) = parse(&["run"]).command else {
        panic!("not a run");
    };
    assert!(run.workload.is_empty(), "empty means every workload");
    assert_eq!(run.in_flight, 64);
    assert_eq!(run.duration, 10);
    assert_eq!(run.members, 1000);
    assert_eq!(run.server.replicas, 1);
}

#[test]
fn workloads_are_named_and_comma_separated() {
    let BenchCommand::Run(run) = parse(&["run", "--workload", "earn-hot,checkout"]).command else {
        panic!("not a run");
    };
    assert_eq!(run.workload, [Workload::EarnHot, Workload::Checkout]);
}

#[test]
fn the_smoke_preset_is_two_seconds_of_earn_spread_with_four_callers_over_grpc() {
    let BenchCommand::Smoke(smoke) = parse(&["smoke"]).command else {
        panic!("not smoke");
    };
    let run = smoke.as_run();
    assert_eq!(run.workload, [Workload::EarnSpread]);
    assert_eq!((run.in_flight, run.duration), (4, 2));
    assert!(!run.direct && !run.compare);
    assert!(run.db.database_url.is_none());
}

#[test]
fn direct_and_compare_cannot_be_asked_together() {
    let parsed = Cli::try_parse_from(["loyalty-bench", "run", "--direct", "--compare"]);
    assert!(parsed.is_err());
}

#[test]
fn a_server_off_this_machine_is_refused_before_any_call() {
    let out = Command::new(env!("CARGO_BIN_EXE_loyalty-bench"))
        .args(["run", "--connect", "192.0.2.1:50051"])
        .args(["--tenant", "t", "--admin-key", "a", "--service-key", "s"])
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run loyalty-bench");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("only drives servers on this machine"),
        "{stderr}"
    );
}

#[test]
fn sqlite_replicas_are_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_loyalty-bench"))
        .args([
            "run",
            "--replicas",
            "3",
            "--server-bin",
            "/nonexistent/loyalty",
        ])
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run loyalty-bench");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--replicas above 1 needs"), "{stderr}");
}
