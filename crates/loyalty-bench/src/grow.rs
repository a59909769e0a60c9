//! Grows one ledger to millions of entries through the store, and measures earn latency when
//! it is small (about ten thousand entries) and when it is full, over the same number of calls.
//!
//! Every entry is a real earn (one `earned` entry, one lot, one bill) made through
//! [`crate::direct::store_call`], many in flight at once, so the tables and their
//! indexes grow as they would in production.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use loyalty_store::Store;

use crate::database::{DatabaseSource, FreshDatabase};
use crate::direct::{Access, DirectShop, store_call};
use crate::report::human;
use crate::stats::{Recorder, Summary, per_second, ratio};
use crate::workload::Workload;

/// What to grow and how to measure.
#[derive(Debug, Clone)]
pub struct GrowPlan {
    /// Ledger entries to reach.
    pub entries: u64,
    /// Entries at which the first measurement is taken.
    pub baseline: u64,
    /// Members the entries are spread over.
    pub members: usize,
    /// Earns per measurement.
    pub measure_calls: u64,
    /// Callers during the measurements.
    pub in_flight: usize,
    /// Earns in flight while growing.
    pub fill_in_flight: usize,
    /// Store connections.
    pub pool_size: u32,
    /// Seconds between progress lines.
    pub progress_every: Duration,
    /// Run the invariant checker at the end (reads every entry: minutes at 10 million).
    pub verify: bool,
}

/// The outcome: the two measurements and the invariant checker's verdict.
#[derive(Debug)]
pub struct GrowOutcome {
    /// Earns at about `baseline` entries.
    pub start: Summary,
    /// Earns at `entries`.
    pub end: Summary,
    /// Entries when each measurement began.
    pub at: (u64, u64),
    /// `None` when not asked for; otherwise whether the ledger is consistent.
    pub verified: Option<bool>,
}

/// Earns (one entry each) made so far, for references and progress.
struct Filler {
    shop: DirectShop,
    made: AtomicU64,
}

impl Filler {
    /// Earns until `target` entries exist, `in_flight` at a time, printing progress; returns
    /// how many earns failed.
    async fn fill_to(self: &Arc<Filler>, target: u64, in_flight: usize, every: Duration) -> u64 {
        let started = Instant::now();
        let from = self.made.load(Ordering::Relaxed);
        if from >= target {
            return 0;
        }
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..in_flight.max(1) {
            let filler = Arc::clone(self);
            workers.spawn(async move {
                let mut failed = 0;
                let members = filler.shop.members();
                loop {
                    let n = filler.made.fetch_add(1, Ordering::Relaxed);
                    if n >= target {
                        filler.made.fetch_sub(1, Ordering::Relaxed);
                        return failed;
                    }
                    let member = &members[usize::try_from(n % members.len() as u64).unwrap_or(0)];
                    // A record per earn: the fill keeps no latencies or acknowledgements.
                    let mut rec = Recorder::new(Instant::now());
                    filler
                        .shop
                        .earn(&mut rec, member, &format!("G{n}"), false)
                        .await;
                    failed += rec.summary().failed;
                }
            });
        }
        let mut failed = 0;
        let mut last = Instant::now();
        while !workers.is_empty() {
            tokio::select! {
                joined = workers.join_next() => failed += joined.and_then(Result::ok).unwrap_or(0),
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
            if last.elapsed() >= every {
                last = Instant::now();
                let made = self.made.load(Ordering::Relaxed).min(target);
                let rate = per_second(made - from, started.elapsed());
                let eta = (target - made).checked_div(rate).unwrap_or(0);
                eprintln!("  {made} / {target} entries, {rate} earns/s, about {eta} s to go");
            }
        }
        failed
    }
}

/// Measures `calls` earns with `in_flight` callers on fresh bills.
async fn measure(shop: &DirectShop, phase: &str, calls: u64, in_flight: usize) -> Summary {
    let next = Arc::new(AtomicU64::new(0));
    let mut callers = tokio::task::JoinSet::new();
    let measure_from = Instant::now();
    for caller in 0..in_flight.max(1) {
        let (shop, next, phase) = (shop.clone(), Arc::clone(&next), phase.to_owned());
        callers.spawn(async move {
            let mut rec = Recorder::new(measure_from);
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= calls {
                    return rec;
                }
                let members = shop.members();
                let member = &members[Workload::EarnSpread.member(caller, n, 1, members.len())];
                shop.earn(&mut rec, member, &format!("{phase}{n}"), false)
                    .await;
            }
        });
    }
    let mut merged = Recorder::new(measure_from);
    while let Some(Ok(rec)) = callers.join_next().await {
        merged.merge(rec);
    }
    merged.summary()
}

/// Grows a fresh database of `source` as `plan` says, printing progress and both
/// measurements.
pub async fn run(plan: &GrowPlan, source: &DatabaseSource) -> anyhow::Result<GrowOutcome> {
    if plan.baseline >= plan.entries {
        bail!(
            "--entries ({}) must be above the baseline ({})",
            plan.entries,
            plan.baseline
        );
    }
    let db = FreshDatabase::create(source)?;
    let (url, pool) = (db.url().to_owned(), plan.pool_size);
    let store = tokio::task::spawn_blocking(move || Store::open(&url, pool))
        .await?
        .and_then(Store::with_writer)
        .with_context(|| format!("opening the store on {}", db.url()))?;
    eprintln!("grow: {} members on {}", plan.members, db.url());
    let shop = DirectShop::setup(&store, plan.members, false, plan.fill_in_flight).await?;
    let filler = Arc::new(Filler {
        shop: shop.clone(),
        made: AtomicU64::new(0),
    });
    eprintln!("grow: filling to the baseline of {} entries", plan.baseline);
    let mut failed = filler
        .fill_to(plan.baseline, plan.fill_in_flight, plan.progress_every)
        .await;
    let at_start = filler.made.load(Ordering::Relaxed);
    let start = measure(&shop, "S", plan.measure_calls, plan.in_flight).await;
    let after_start = at_start + start.calls - start.failed;
    filler.made.store(after_start, Ordering::Relaxed);
    eprintln!("grow: filling to {} entries", plan.entries);
    let fill_started = Instant::now();
    failed += filler
        .fill_to(
            plan.entries.saturating_sub(plan.measure_calls),
            plan.fill_in_flight,
            plan.progress_every,
        )
        .await;
    if failed > 0 {
        eprintln!(
            "grow: {failed} earns of the fill failed (the ledger has that many fewer entries)"
        );
    }
    eprintln!("grow: filled in {}", human(fill_started.elapsed()));
    let at_end = filler.made.load(Ordering::Relaxed);
    let end = measure(&shop, "E", plan.measure_calls, plan.in_flight).await;
    let verified = if plan.verify {
        eprintln!("grow: running the invariant checker");
        let tenant = shop.tenant().to_owned();
        Some(
            store_call(&store, Access::Write, move |s| s.verify(Some(&tenant)))
                .await?
                .is_empty(),
        )
    } else {
        None
    };
    Ok(GrowOutcome {
        start,
        end,
        at: (at_start, at_end),
        verified,
    })
}

/// The printed result.
pub fn describe(outcome: &GrowOutcome) -> Vec<String> {
    let row = |label: &str, entries: u64, s: &Summary| {
        format!(
            "{label:<6} {entries:>12} {:>7} {:>9} {:>10} {:>10} {:>10}  {}",
            s.calls,
            s.per_sec,
            human(s.p50),
            human(s.p99),
            human(s.max),
            crate::report::errors(s)
        )
    };
    let (s, e) = (&outcome.start, &outcome.end);
    let mut lines = vec![
        format!(
            "{:<6} {:>12} {:>7} {:>9} {:>10} {:>10} {:>10}  errors",
            "at", "entries", "earns", "earns/s", "p50", "p99", "max"
        ),
        "-".repeat(80),
        row("start", outcome.at.0, s),
        row("end", outcome.at.1, e),
        format!(
            "end/start: p50 {}x, p99 {}x",
            ratio(e.p50, s.p50),
            ratio(e.p99, s.p99)
        ),
    ];
    match outcome.verified {
        Some(true) => lines.push("invariant checker: ledger consistent".into()),
        Some(false) => lines.push("invariant checker: VIOLATIONS found".into()),
        None => {}
    }
    lines
}
