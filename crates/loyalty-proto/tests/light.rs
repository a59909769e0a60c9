//! `loyalty-proto` is what another service links to call the loyalty server, so it must stay
//! light: its normal dependency tree (as `cargo tree` resolves it from the lock file) holds the
//! protobuf stack and never the database, the server or the metrics exporter.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::process::Command;

/// Crates that would mean the database, the server or the metrics exporter leaked in.
const HEAVY: &[&str] = &[
    "diesel",
    "diesel_migrations",
    "libsqlite3-sys",
    "pq-sys",
    "r2d2",
    "metrics",
    "metrics-exporter-prometheus",
    "metrics-util",
    "loyalty-store",
    "loyalty-grpc",
    "loyalty-core",
    "jsonwebtoken",
];

/// The names of the crates in `loyalty-proto`'s normal (not dev, not build) dependency tree.
fn normal_dependencies() -> BTreeSet<String> {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "--locked",
            "-p",
            "loyalty-proto",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // Each line is `name vX.Y.Z [(path)] [(*)]`.
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_proto_crate_pulls_no_database_server_or_metrics_crates() {
    let crates = normal_dependencies();
    // The command saw the real tree: the crate itself and the protobuf stack.
    for expected in ["loyalty-proto", "tonic", "tonic-prost", "prost"] {
        assert!(
            crates.contains(expected),
            "{expected} missing from cargo tree's answer: {crates:?}"
        );
    }
    let leaked: Vec<&str> = HEAVY
        .iter()
        .copied()
        .filter(|heavy| crates.contains(*heavy))
        .collect();
    assert!(
        leaked.is_empty(),
        "loyalty-proto depends on {leaked:?}; the full tree: {crates:?}"
    );
}
