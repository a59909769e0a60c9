//! `import`: the import path's throughput. Writes an import file of N JSON lines (members,
//! memberships and two opening-balance lots per member) for a fresh database's tenant, runs
//! `loyalty import` on it as an operator would (its progress lines pass through), then once
//! more (every line already present: what resuming an interrupted import costs), prints
//! rows/s of both, and runs `loyalty verify`.

use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{SecondsFormat, TimeDelta, Utc};
use loyalty_store::Store;

use crate::check::verify_with_binary;
use crate::database::{DatabaseSource, FreshDatabase};
use crate::shop::{self, PROGRAM_NAME};

/// Lines per member in the file: the member, its membership and two lots.
const LINES_PER_MEMBER: u64 = 4;

/// What to measure.
#[derive(Debug, Clone)]
pub struct ImportPlan {
    /// Lines in the file (rounded down to whole members).
    pub rows: u64,
    /// The `loyalty` binary.
    pub bin: PathBuf,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    /// Lines imported.
    pub rows: u64,
    /// How long `loyalty import` took.
    pub elapsed: Duration,
    /// How long the second `loyalty import` of the same file took.
    pub again: Duration,
    /// What `loyalty import` printed on standard output (its summary).
    pub summary: String,
    /// Whether both imports exited 0 (every line imported or present).
    pub clean: bool,
    /// Whether `loyalty verify` found no violation.
    pub verified: bool,
}

/// Writes the import file for `members` members of the program [`PROGRAM_NAME`].
pub fn write_file(path: &Path, members: u64) -> anyhow::Result<()> {
    let now = Utc::now();
    let earned = (now - TimeDelta::days(30)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let expires = (now + TimeDelta::days(300)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut text = BufWriter::new(file);
    for n in 0..members {
        let customer = format!("IMP-{n}");
        writeln!(
            text,
            r#"{{"type":"member","customer_id":"{customer}","card_number":"IMP-{n:09}","name":"Member {n}","email":"member{n}@example.com"}}"#
        )?;
        writeln!(
            text,
            r#"{{"type":"membership","customer_id":"{customer}","program":"{PROGRAM_NAME}"}}"#
        )?;
        for (lot, points) in [(1, 120), (2, 35)] {
            writeln!(
                text,
                r#"{{"type":"lot","customer_id":"{customer}","program":"{PROGRAM_NAME}","points":"{points}","earned_at":"{earned}","expires_at":"{expires}","reference":"OLD-{n}-{lot}"}}"#
            )?;
        }
    }
    text.flush()
        .with_context(|| format!("writing {}", path.display()))
}

/// Runs the measurement on a fresh database from `source`.
pub fn run(plan: &ImportPlan, source: &DatabaseSource) -> anyhow::Result<ImportOutcome> {
    let db = FreshDatabase::create(source)?;
    let store = Store::open(db.url(), 2).context("opening the fresh database")?;
    let tenant = store.create_tenant(None, "Import bench")?.id;
    store.create_program(&tenant, None, PROGRAM_NAME, shop::program_rules()?)?;
    drop(store);
    let members = plan.rows / LINES_PER_MEMBER;
    let file = db.dir().join("import.jsonl");
    write_file(&file, members)?;
    let import = || {
        let started = Instant::now();
        let out = Command::new(&plan.bin)
            .args(["--database-url", db.url(), "import"])
            .arg(&file)
            .args(["--tenant", &tenant])
            .stderr(std::process::Stdio::inherit())
            .output()
            .with_context(|| format!("running {} import", plan.bin.display()));
        out.map(|out| (out, started.elapsed()))
    };
    let (out, elapsed) = import()?;
    let (out_again, again) = import()?;
    let (verified, verdict) = verify_with_binary(&plan.bin, db.url(), &tenant)?;
    Ok(ImportOutcome {
        rows: members * LINES_PER_MEMBER,
        elapsed,
        again,
        summary: format!(
            "{}\n{}\n{verdict}",
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out_again.stdout).trim()
        ),
        clean: out.status.success() && out_again.status.success(),
        verified,
    })
}
