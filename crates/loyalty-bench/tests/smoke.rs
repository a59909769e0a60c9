//! The bench end to end: `loyalty-bench smoke` starts the real server binary on a fresh SQLite
//! file, earns over gRPC with 4 callers for two seconds, and checks the ledger afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

/// The server binary of the same build, next to the bench's binary. The workspace's tests
/// (`cargo test --workspace`) build it; `cargo test -p loyalty-bench` alone does not.
fn server_bin() -> PathBuf {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_loyalty-bench"));
    let server = bench.with_file_name(format!("loyalty{}", std::env::consts::EXE_SUFFIX));
    assert!(
        server.exists(),
        "{} is missing: build the server first (`cargo build -p loyalty`), or run the \
         workspace's tests, which build it",
        server.display()
    );
    server
}

#[test]
fn a_smoke_run_earns_over_grpc_and_finds_every_acknowledged_earn_in_the_ledger_once() {
    let out = Command::new(env!("CARGO_BIN_EXE_loyalty-bench"))
        .arg("smoke")
        .arg("--server-bin")
        .arg(server_bin())
        .output()
        .expect("run loyalty-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "loyalty-bench smoke failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let row = stdout
        .lines()
        .find(|line| line.starts_with("grpc sqlite") && line.contains(" earn-spread "))
        .unwrap_or_else(|| panic!("no earn-spread row in:\n{stdout}"));
    // backend (two words), workload, in flight, calls, ...
    let columns: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(columns[3], "4", "in flight: {row}");
    let calls: u64 = columns[4].parse().expect("a number of calls");
    assert!(calls > 0, "no calls counted: {row}");
    assert!(
        stdout.contains("exactly-once check passed"),
        "the exactly-once check did not pass:\n{stdout}"
    );
    assert!(
        stdout.contains("invariant checker passed"),
        "the invariant checker did not pass:\n{stdout}"
    );
}
