//! Ledger benchmark: prints throughput and latency figures of the store's hot paths (earn,
//! concurrent earn, redeem, idempotent replay, history pages, the invariant checker) on SQLite
//! and, when `LOYALTY_TEST_DATABASE_URL` is set, on PostgreSQL. It asserts nothing about time.
//!
//! ```sh
//! cargo bench -p loyalty-store --bench ledger
//! LOYALTY_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres \
//!     cargo bench -p loyalty-store --bench ledger
//! ```
//!
//! `LOYALTY_BENCH_SCALE` (default 1, decimals allowed, e.g. `0.1` for a smoke run) multiplies
//! every count.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::thread;
use std::time::{Duration, Instant};

use loyalty_core::{
    BillLine, CardNumber, ConversionRate, Currency, EarnRate, ExpiryPolicy, IdempotencyKey, Money,
    Points, ProgramRules, RedemptionRules,
};
use loyalty_store::testing::{Kind, TestDatabase};
use loyalty_store::{AdjustRequest, EarnRequest, HistoryFilter, NewMember, RedeemRequest, Store};
use rust_decimal::Decimal;

/// Members the sequential earns and redeems are spread over.
const MEMBERS: usize = 100;
/// Threads of the concurrent earn run (one member each).
const THREADS: usize = 8;
/// History page size.
const PAGE: u32 = 50;
/// The history page whose latency is measured besides the first.
const DEEP_PAGE: usize = 50;
/// How often each history page is fetched to get percentiles.
const PAGE_SAMPLES: usize = 30;

/// How many of each operation to run.
#[derive(Debug, Clone, Copy)]
struct Counts {
    earns: usize,
    threaded_earns: usize,
    redeems: usize,
    history_entries: usize,
}

impl Counts {
    fn from_env() -> (String, Counts) {
        let raw = std::env::var("LOYALTY_BENCH_SCALE").unwrap_or_else(|_| "1".into());
        let scale: Decimal = raw
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("LOYALTY_BENCH_SCALE={raw:?} is not a number"));
        assert!(scale > Decimal::ZERO, "LOYALTY_BENCH_SCALE must be > 0");
        let scaled = |base: u64, min: u64| -> usize {
            let n = (Decimal::from(base) * scale).round();
            usize::try_from(u64::try_from(n).unwrap_or(u64::MAX).max(min)).unwrap_or(usize::MAX)
        };
        let counts = Counts {
            earns: scaled(2_000, MEMBERS as u64),
            threaded_earns: scaled(2_000, THREADS as u64),
            redeems: scaled(1_000, MEMBERS as u64),
            // Page 50 must exist.
            history_entries: scaled(20_000, u64::from(PAGE) * DEEP_PAGE as u64),
        };
        (scale.normalize().to_string(), counts)
    }
}

/// One printed line.
struct Row {
    name: String,
    count: usize,
    total: Duration,
    /// Per-operation latencies, when the row has them.
    latencies: Vec<Duration>,
}

impl Row {
    fn new(name: impl Into<String>, total: Duration, mut latencies: Vec<Duration>) -> Row {
        latencies.sort_unstable();
        Row {
            name: name.into(),
            count: latencies.len(),
            total,
            latencies,
        }
    }

    /// A row of one timed run of `count` operations without per-operation latencies.
    fn bulk(name: impl Into<String>, count: usize, total: Duration) -> Row {
        Row {
            name: name.into(),
            count,
            total,
            latencies: Vec::new(),
        }
    }

    fn percentile(&self, pct: usize) -> Option<Duration> {
        if self.latencies.is_empty() {
            return None;
        }
        // Nearest rank.
        let rank = (pct * self.latencies.len()).div_ceil(100).max(1);
        Some(self.latencies[rank - 1])
    }
}

/// Operations per second, in integers (the workspace denies float arithmetic).
fn ops_per_sec(count: usize, total: Duration) -> String {
    let nanos = total.as_nanos().max(1);
    let per_sec = (count as u128) * 1_000_000_000 / nanos;
    format!("{per_sec} /s")
}

/// A duration in µs, ms or s with a sensible number of decimals.
fn human(d: Duration) -> String {
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

fn print_table(backend: &str, rows: &[Row]) {
    let dash = || "-".to_owned();
    println!();
    println!(
        "{:<10} {:<34} {:>7} {:>10} {:>10} {:>10} {:>10}",
        "backend", "operation", "count", "total", "ops/s", "p50", "p99"
    );
    println!("{}", "-".repeat(10 + 34 + 7 + 10 * 4 + 6));
    for row in rows {
        println!(
            "{:<10} {:<34} {:>7} {:>10} {:>10} {:>10} {:>10}",
            backend,
            row.name,
            row.count,
            human(row.total),
            ops_per_sec(row.count, row.total),
            row.percentile(50).map_or_else(dash, human),
            row.percentile(99).map_or_else(dash, human),
        );
    }
}

fn inr() -> Currency {
    Currency::new("INR").unwrap()
}

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::new(k).unwrap()
}

fn bill(amount: &str) -> Vec<BillLine> {
    vec![BillLine {
        category: None,
        amount: Money::parse(amount, inr()).unwrap(),
    }]
}

/// The shop: 1 point per 10 spent, points expire after 12 months; 1 point pays 1.00, at least
/// 10 points, at most half a bill.
fn shop_rules() -> ProgramRules {
    let mut rules = ProgramRules::new(inr());
    rules.base_rate = EarnRate::new(Points::whole(1).unwrap(), Decimal::from(10)).unwrap();
    rules.expiry = ExpiryPolicy::AfterMonths(12);
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(
            Points::whole(1).unwrap(),
            Money::parse("1.00", inr()).unwrap(),
        )
        .unwrap(),
        min_points: Points::whole(10).unwrap(),
        max_bill_share: "50".parse().unwrap(),
        max_points_per_bill: None,
    });
    rules
}

struct Shop {
    store: Store,
    tenant: String,
    program: String,
}

impl Shop {
    fn member(&self, customer: &str) -> String {
        let (member, _) = self
            .store
            .enroll_member(
                &self.tenant,
                None,
                NewMember {
                    customer_id: customer.to_owned(),
                    card_number: CardNumber::new(&format!("CARD-{customer}")).unwrap(),
                    name: format!("Customer {customer}"),
                    phone: None,
                    email: None,
                    referrer_id: None,
                },
                &[],
            )
            .unwrap();
        self.store
            .join_program(&self.tenant, None, &member.id, &self.program)
            .unwrap();
        member.id
    }

    fn earn(&self, k: &str, member: &str, amount: &str) -> EarnRequest {
        EarnRequest {
            idempotency_key: key(k),
            member_id: member.to_owned(),
            program_id: self.program.clone(),
            reference: k.to_owned(),
            lines: bill(amount),
            at: None,
            actor: "bench".into(),
        }
    }

    fn redeem(&self, k: &str, member: &str) -> RedeemRequest {
        RedeemRequest {
            idempotency_key: key(k),
            member_id: member.to_owned(),
            program_id: self.program.clone(),
            reference: k.to_owned(),
            lines: bill("200"),
            at: None,
            points: Points::whole(10).unwrap(),
            actor: "bench".into(),
        }
    }
}

/// Times `op` once per item, returning the total and every latency.
fn timed<T>(items: Vec<T>, mut op: impl FnMut(T)) -> (Duration, Vec<Duration>) {
    let mut latencies = Vec::with_capacity(items.len());
    let started = Instant::now();
    for item in items {
        let t = Instant::now();
        op(item);
        latencies.push(t.elapsed());
    }
    (started.elapsed(), latencies)
}

fn run(kind: Kind, counts: Counts) -> Vec<Row> {
    let db = TestDatabase::new(kind);
    let mut rows = Vec::new();
    {
        let store = Store::open(&db.url, 16).expect("open the store");
        let tenant = store.create_tenant(None, "Bench Shop").unwrap().id;
        let program = store
            .create_program(&tenant, None, "Shop points", shop_rules())
            .unwrap()
            .id;
        let shop = Shop {
            store,
            tenant,
            program,
        };
        let members: Vec<String> = (0..MEMBERS)
            .map(|i| shop.member(&format!("M{i}")))
            .collect();

        // (1) Sequential earns on distinct bills, round-robin over the members: 500 -> 50 points.
        let requests: Vec<_> = (0..counts.earns)
            .map(|i| shop.earn(&format!("earn-{i}"), &members[i % MEMBERS], "500"))
            .collect();
        let (total, lat) = timed(requests, |r| {
            shop.store.earn(&shop.tenant, r).expect("earn");
        });
        rows.push(Row::new(
            format!("earn, sequential ({MEMBERS} members)"),
            total,
            lat,
        ));

        // (2) Earns from 8 threads, each on its own member.
        let thread_members: Vec<String> = (0..THREADS)
            .map(|t| shop.member(&format!("T{t}")))
            .collect();
        let per_thread = counts.threaded_earns.div_ceil(THREADS);
        let started = Instant::now();
        let lat = thread::scope(|s| {
            let handles: Vec<_> = thread_members
                .iter()
                .enumerate()
                .map(|(t, member)| {
                    let shop = &shop;
                    s.spawn(move || {
                        let requests: Vec<_> = (0..per_thread)
                            .map(|i| shop.earn(&format!("earn-t{t}-{i}"), member, "500"))
                            .collect();
                        timed(requests, |r| {
                            shop.store.earn(&shop.tenant, r).expect("concurrent earn");
                        })
                        .1
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("earn thread"))
                .collect::<Vec<_>>()
        });
        let total = started.elapsed();
        rows.push(Row::new(format!("earn, {THREADS} threads"), total, lat));

        // (3) Sequential redeems of 10 points on a bill of 200, round-robin over the members.
        let redeems: Vec<_> = (0..counts.redeems)
            .map(|i| shop.redeem(&format!("redeem-{i}"), &members[i % MEMBERS]))
            .collect();
        let (total, lat) = timed(redeems.clone(), |r| {
            shop.store.redeem(&shop.tenant, r).expect("redeem");
        });
        rows.push(Row::new("redeem, sequential", total, lat));

        // (4) The same redeems again under the same keys: idempotent replays.
        let (total, lat) = timed(redeems, |r| {
            shop.store.redeem(&shop.tenant, r).expect("replay");
        });
        rows.push(Row::new("redeem replay (same key)", total, lat));

        // (5) History of one member with many entries: +1 point adjustments.
        let heavy = shop.member("HISTORY");
        let started = Instant::now();
        for i in 0..counts.history_entries {
            shop.store
                .adjust(
                    &shop.tenant,
                    AdjustRequest {
                        idempotency_key: key(&format!("adjust-{i}")),
                        member_id: heavy.clone(),
                        program_id: shop.program.clone(),
                        points: Decimal::ONE,
                        reason: "bench".into(),
                        actor: "bench".into(),
                    },
                )
                .expect("adjust");
        }
        rows.push(Row::bulk(
            "adjust (history setup, 1 member)",
            counts.history_entries,
            started.elapsed(),
        ));
        let filter = HistoryFilter {
            member_id: Some(heavy.clone()),
            program_id: Some(shop.program.clone()),
            ..HistoryFilter::default()
        };
        let page = |cursor: Option<&str>| {
            let page = shop
                .store
                .history(&shop.tenant, filter.clone(), cursor, PAGE)
                .expect("history");
            assert_eq!(page.items.len(), PAGE as usize, "a full page");
            page.next_cursor
        };
        let (total, lat) = timed(vec![(); PAGE_SAMPLES], |()| {
            page(None);
        });
        rows.push(Row::new(
            format!("history page 1 ({} entries)", counts.history_entries),
            total,
            lat,
        ));
        let mut cursor = None;
        for _ in 1..DEEP_PAGE {
            cursor = page(cursor.as_deref());
        }
        let deep = cursor.expect("page 50 exists");
        let (total, lat) = timed(vec![(); PAGE_SAMPLES], |()| {
            page(Some(&deep));
        });
        rows.push(Row::new(format!("history page {DEEP_PAGE}"), total, lat));

        // (6) The invariant checker over every membership.
        let memberships = MEMBERS + THREADS + 1;
        let started = Instant::now();
        let violations = shop.store.verify(None).expect("verify");
        let total = started.elapsed();
        assert!(violations.is_empty(), "ledger violations: {violations:#?}");
        rows.push(Row::new(
            format!("verify ({memberships} memberships)"),
            total,
            vec![total],
        ));
    }
    // The store's connections are closed: the database can go.
    drop(db);
    rows
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported, so ignore arguments.
    let (scale, counts) = Counts::from_env();
    println!(
        "loyalty-store ledger benchmark (scale {scale}): {} earns over {MEMBERS} members, {} earns \
         on {THREADS} threads, {} redeems + replays, {} history entries, page size {PAGE}, \
         {PAGE_SAMPLES} samples per page",
        counts.earns, counts.threaded_earns, counts.redeems, counts.history_entries
    );
    let started = Instant::now();
    let mut tables = vec![("sqlite", run(Kind::Sqlite, counts))];
    if std::env::var("LOYALTY_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        tables.push(("postgres", run(Kind::Postgres, counts)));
    } else {
        println!("postgres: skipped (LOYALTY_TEST_DATABASE_URL is not set)");
    }
    for (backend, rows) in &tables {
        print_table(backend, rows);
    }
    println!();
    println!("total bench time: {}", human(started.elapsed()));
}
