//! The printed tables: one row per workload run, and the gRPC/direct comparison.

use std::time::Duration;

use loyalty_store::writer::WriterStats;

use crate::check::LedgerCheck;
use crate::stats::{Summary, percent};
use crate::workload::Workload;

/// One printed row: where a workload ran and its figures.
#[derive(Debug, Clone)]
pub struct Row {
    /// "grpc sqlite", "direct postgres", "grpc postgres x3".
    pub backend: String,
    /// The workload.
    pub workload: Workload,
    /// Concurrent callers.
    pub in_flight: usize,
    /// The figures.
    pub summary: Summary,
}

/// A finished run: its row and what the checks afterwards found.
#[derive(Debug)]
pub struct RunOutcome {
    /// The figures.
    pub row: Row,
    /// Whether every acknowledged call is in the ledger exactly once.
    pub ledger: LedgerCheck,
    /// Whether the invariant checker found no violation (`None`: not run).
    pub invariants_ok: Option<bool>,
    /// What the invariant checker said.
    pub invariants: String,
    /// CPU time the bench (and its servers) used while the callers ran.
    pub cpu: String,
    /// With `--follow`: whether the change stream delivered every change once, and what its
    /// consumer saw.
    pub stream: Option<(bool, String)>,
}

impl RunOutcome {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.ledger.passed()
            && self.invariants_ok != Some(false)
            && self.stream.as_ref().is_none_or(|(ok, _)| *ok)
    }
}

/// "CPU while the callers ran (N s): bench X s, servers Y s".
pub fn cpu_note(wall: Duration, bench: Duration, servers: Option<Duration>) -> String {
    let mut note = format!(
        "CPU while the callers ran ({}): bench {}",
        human(wall),
        human(bench)
    );
    if let Some(servers) = servers {
        note.push_str(&format!(", server(s) {}", human(servers)));
    }
    note
}

/// The header of the runs table.
pub fn header() -> String {
    format!(
        "{:<20} {:<16} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10}  {}\n{}",
        "backend",
        "workload",
        "in flight",
        "calls",
        "calls/s",
        "p50",
        "p95",
        "p99",
        "max",
        "errors",
        "-".repeat(124)
    )
}

/// One line of the runs table.
pub fn line(row: &Row) -> String {
    let s = &row.summary;
    format!(
        "{:<20} {:<16} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10}  {}",
        row.backend,
        row.workload.name(),
        row.in_flight,
        s.calls,
        s.per_sec,
        human(s.p50),
        human(s.p95),
        human(s.p99),
        human(s.max),
        errors(s)
    )
}

/// Failed calls by code and the retries, or "none".
pub fn errors(s: &Summary) -> String {
    let mut parts: Vec<String> = s
        .errors
        .iter()
        .map(|(code, n)| format!("{code}={n}"))
        .collect();
    if s.retries > 0 {
        parts.push(format!("({} retried)", s.retries));
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(" ")
    }
}

/// The gRPC/direct comparison: one line per workload that ran both ways.
pub fn comparison(rows: &[Row]) -> Vec<String> {
    let mut out = Vec::new();
    for workload in Workload::ALL {
        let find = |prefix: &str| {
            rows.iter()
                .find(|r| r.workload == workload && r.backend.starts_with(prefix))
        };
        if let (Some(grpc), Some(direct)) = (find("grpc"), find("direct")) {
            if out.is_empty() {
                out.push(format!(
                    "{:<16} {:>12} {:>12} {:>14}",
                    "workload", "grpc/s", "direct/s", "grpc/direct"
                ));
                out.push("-".repeat(57));
            }
            out.push(format!(
                "{:<16} {:>12} {:>12} {:>13}%",
                workload.name(),
                grpc.summary.per_sec,
                direct.summary.per_sec,
                percent(grpc.summary.per_sec, direct.summary.per_sec)
            ));
        }
    }
    out
}

/// A duration in µs, ms or s with a sensible number of decimals.
pub fn human(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos < 1_000_000 {
        format!("{}.{} µs", nanos / 1_000, (nanos % 1_000) / 100)
    } else if nanos < 1_000_000_000 {
        format!(
            "{}.{:02} ms",
            nanos / 1_000_000,
            (nanos % 1_000_000) / 10_000
        )
    } else {
        format!(
            "{}.{:02} s",
            nanos / 1_000_000_000,
            (nanos % 1_000_000_000) / 10_000_000
        )
    }
}

/// What the store's group-commit writer did between two readings: calls, commits, and where
/// its time went (running calls against committing them), on a line of its own.
pub fn writer_note(after: &WriterStats, before: &WriterStats) -> String {
    let calls = after.calls - before.calls;
    let batches = (after.batches - before.batches).max(1);
    let running = after.running.saturating_sub(before.running);
    let committing = after.committing.saturating_sub(before.committing);
    // Tenths, in integers (amounts and figures here never go through floats).
    let tenths = |n: u128| format!("{}.{}", n / 10, n % 10);
    let per_call = |d: Duration| tenths(d.as_nanos() / 100 / u128::from(calls.max(1)));
    format!(
        "writer: {calls} calls in {batches} commits ({} a commit); running calls {} ({} µs a \
         call), committing {} ({} µs a call); {} checkpoints, {} WAL restarts\n    ",
        tenths(u128::from(calls) * 10 / u128::from(batches)),
        human(running),
        per_call(running),
        human(committing),
        per_call(committing),
        after.checkpoints - before.checkpoints,
        after.wal_restarts - before.wal_restarts,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn summary(per_sec: u64) -> Summary {
        Summary {
            calls: per_sec * 10,
            failed: 0,
            per_sec,
            p50: Duration::from_micros(1500),
            p95: Duration::from_millis(3),
            p99: Duration::from_millis(9),
            max: Duration::from_millis(40),
            errors: BTreeMap::new(),
            retries: 0,
        }
    }

    #[test]
    fn durations_print_in_their_natural_unit() {
        assert_eq!(human(Duration::from_nanos(12_345)), "12.3 µs");
        assert_eq!(human(Duration::from_micros(1500)), "1.50 ms");
        assert_eq!(human(Duration::from_millis(2500)), "2.50 s");
    }

    #[test]
    fn a_row_shows_calls_rate_percentiles_and_no_errors() {
        let row = Row {
            backend: "grpc sqlite".into(),
            workload: Workload::EarnSpread,
            in_flight: 64,
            summary: summary(700),
        };
        let text = line(&row);
        assert!(text.starts_with("grpc sqlite"));
        assert!(text.contains("earn-spread"));
        assert!(text.contains(" 7000 "));
        assert!(text.ends_with("none"));
    }

    #[test]
    fn the_comparison_gives_grpc_as_a_percentage_of_direct() {
        let row = |backend: &str, per_sec| Row {
            backend: backend.into(),
            workload: Workload::EarnSpread,
            in_flight: 64,
            summary: summary(per_sec),
        };
        let lines = comparison(&[row("grpc sqlite", 600), row("direct sqlite", 1200)]);
        assert_eq!(lines.len(), 3);
        assert!(lines[2].ends_with("50%"));
    }
}
