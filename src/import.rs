//! `loyalty import FILE --tenant TENANT`: a JSON-lines import file straight into the database,
//! a thousand lines per transaction, with progress on standard error.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use loyalty_store::ops::import::IMPORT_BATCH;
use loyalty_store::{ImportReport, ImportRow, Store};

/// The actor recorded on imported entries.
const ACTOR: &str = "import";

/// How often progress is printed.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Imports `path` into `tenant`; writes the rejected lines (number, tab, reason) to `rejects`
/// when given. Returns the report.
pub fn run(
    store: &Store,
    tenant: &str,
    path: &Path,
    rejects: Option<&Path>,
) -> anyhow::Result<ImportReport> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut rejects = rejects
        .map(|p| {
            File::create_new(p).with_context(|| {
                format!(
                    "creating the rejects file {} (it must not exist)",
                    p.display()
                )
            })
        })
        .transpose()?;
    let started = Instant::now();
    let mut last_progress = started;
    let mut report = ImportReport::default();
    let mut batch: Vec<ImportRow> = Vec::with_capacity(IMPORT_BATCH);
    let mut flush = |batch: &mut Vec<ImportRow>, report: &mut ImportReport| -> anyhow::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let outcomes = store.import_batch(tenant, ACTOR, batch).with_context(|| {
            format!(
                "importing lines {} to {}",
                batch[0].line,
                batch[batch.len() - 1].line
            )
        })?;
        let before = report.rejected.len();
        report.add(batch, outcomes);
        if let Some(out) = rejects.as_mut() {
            for rejected in &report.rejected[before..] {
                writeln!(out, "{}\t{}", rejected.line, rejected.reason)?;
            }
        }
        batch.clear();
        Ok(())
    };
    for (number, line) in BufReader::new(file).split(b'\n').enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        let bytes = line.strip_suffix(b"\r").unwrap_or(&line);
        let number = u64::try_from(number).unwrap_or(u64::MAX).saturating_add(1);
        if let Some(row) = ImportRow::of(number, bytes) {
            batch.push(row);
        }
        if batch.len() == IMPORT_BATCH {
            flush(&mut batch, &mut report)?;
            if last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                progress(&report, started.elapsed());
            }
        }
    }
    flush(&mut batch, &mut report)?;
    progress(&report, started.elapsed());
    Ok(report)
}

fn progress(report: &ImportReport, elapsed: Duration) {
    let millis = u64::try_from(elapsed.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    eprintln!(
        "{} rows in {}.{} s ({} rows/s): {} imported, {} already present, {} rejected",
        report.read,
        millis / 1000,
        millis % 1000 / 100,
        report.read.saturating_mul(1000) / millis,
        report.imported,
        report.already_present,
        report.rejected.len()
    );
}

/// Prints the summary and the first 100 rejected lines (`--rejects` keeps them all).
pub fn print_summary(report: &ImportReport) {
    println!(
        "read {} lines: {} imported, {} already present, {} rejected",
        report.read,
        report.imported,
        report.already_present,
        report.rejected.len()
    );
    for rejected in report.rejected.iter().take(100) {
        println!("line {}: {}", rejected.line, rejected.reason);
    }
    if report.rejected.len() > 100 {
        println!("... and {} more", report.rejected.len() - 100);
    }
}
