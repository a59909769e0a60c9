//! The command line and what each command does.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::database::DatabaseSource;
use crate::driver::Plan;
use crate::grow::{self, GrowPlan};
use crate::grpc::{self, Connected, server::ServerOptions};
use crate::report::{self, Row, RunOutcome};
use crate::workload::Workload;

/// Load benchmark of the loyalty server: workloads over gRPC or store-direct, latency
/// percentiles, and a check that every acknowledged call is in the ledger exactly once.
#[derive(Debug, Parser)]
#[command(name = "loyalty-bench", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs workloads against fresh servers (or the store in-process) and checks the ledger.
    Run(RunArgs),
    /// Grows a ledger through the store and measures earn latency at its start and its end.
    Grow(GrowArgs),
    /// Two seconds of earn-spread with 4 callers over gRPC on SQLite (what the test runs).
    Smoke(SmokeArgs),
    /// Times `loyalty import` of a generated file of N lines on a fresh database, and a second
    /// import of the same file (everything already present).
    Import(ImportArgs),
}

/// Where the databases come from.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// A PostgreSQL server to run on (postgres://user@127.0.0.1:port/db): each run creates a
    /// throwaway database there and drops it afterwards. Without it, each run gets a fresh
    /// SQLite file.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Directory for the SQLite files and server logs (default: the system's temporary
    /// directory).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Keep the databases and logs after the run.
    #[arg(long)]
    pub keep: bool,
}

impl DbArgs {
    fn source(&self) -> anyhow::Result<DatabaseSource> {
        if let Some(url) = &self.database_url {
            anyhow::ensure!(
                url.starts_with("postgres://") || url.starts_with("postgresql://"),
                "--database-url takes a PostgreSQL URL; SQLite runs always use a fresh file"
            );
        }
        Ok(DatabaseSource {
            postgres_admin: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
            keep: self.keep,
        })
    }
}

/// How to start the servers.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// The `loyalty` server binary to start.
    #[arg(long, default_value = "target/release/loyalty")]
    pub server_bin: PathBuf,
    /// Server processes on the same database (PostgreSQL only for more than one); calls are
    /// spread over them.
    #[arg(long, default_value_t = 1)]
    pub replicas: usize,
    /// HTTP/2 channels the callers share (at least one per replica).
    #[arg(long, default_value_t = 4)]
    pub channels: usize,
    /// Database connections per server (and in-process for --direct).
    #[arg(long, default_value_t = 16)]
    pub pool_size: u32,
}

/// An already running server instead of fresh ones.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// Drive servers already running at these addresses (comma-separated host:port, loopback
    /// only) instead of starting fresh ones; each run creates its own program and members in
    /// the tenant, named after a fresh tag.
    #[arg(long, value_delimiter = ',', requires_all = ["tenant", "service_key", "admin_key"])]
    pub connect: Vec<SocketAddr>,
    /// With --connect: the tenant to work in.
    #[arg(long, env = "LOYALTY_BENCH_TENANT")]
    pub tenant: Option<String>,
    /// With --connect: a service key of the tenant.
    #[arg(long, env = "LOYALTY_BENCH_SERVICE_KEY", hide_env_values = true)]
    pub service_key: Option<String>,
    /// With --connect: an admin key of the tenant.
    #[arg(long, env = "LOYALTY_BENCH_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    /// With --connect: the servers' database, for the exactly-once check and `loyalty verify`
    /// (run with --server-bin); without it both are skipped.
    #[arg(long)]
    pub check_database_url: Option<String>,
}

impl ConnectArgs {
    fn connected(&self) -> anyhow::Result<Option<Connected>> {
        if self.connect.is_empty() {
            return Ok(None);
        }
        if let Some(addr) = self.connect.iter().find(|a| !a.ip().is_loopback()) {
            anyhow::bail!("--connect {addr}: the bench only drives servers on this machine");
        }
        let given = |value: &Option<String>, flag: &str| {
            value
                .clone()
                .ok_or_else(|| anyhow::anyhow!("--connect needs {flag}"))
        };
        Ok(Some(Connected {
            addrs: self.connect.clone(),
            tenant: given(&self.tenant, "--tenant")?,
            admin_key: given(&self.admin_key, "--admin-key")?,
            service_key: given(&self.service_key, "--service-key")?,
            database_url: self.check_database_url.clone(),
        }))
    }
}

/// Options of `run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Workloads to run, comma-separated (default: all of them, one after another).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub workload: Vec<Workload>,
    /// Run in-process through the store instead of over gRPC.
    #[arg(long)]
    pub direct: bool,
    /// Run every workload both over gRPC and in-process, and print the ratio.
    #[arg(long, conflicts_with = "direct")]
    pub compare: bool,
    /// Over gRPC: follow the tenant's ledger change stream while the callers run, and report
    /// its rate, largest backlog and how soon after the last call it had everything.
    #[arg(long, conflicts_with = "direct")]
    pub follow: bool,
    /// Concurrent callers (closed loop: each calls again as soon as it is answered).
    #[arg(long, default_value_t = 64)]
    pub in_flight: usize,
    /// Seconds measured per workload.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Seconds of warm-up before the measured window (calls made and checked, not counted).
    #[arg(long, default_value_t = 2)]
    pub warmup: u64,
    /// Members the calls are spread over.
    #[arg(long, default_value_t = 1000)]
    pub members: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub server: ServerArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub connect: ConnectArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArgs,
}

/// Options of `grow`.
#[derive(Debug, Clone, Args)]
pub struct GrowArgs {
    /// Ledger entries to grow to.
    #[arg(long, default_value_t = 10_000_000)]
    pub entries: u64,
    /// Entries at which the first measurement is taken.
    #[arg(long, default_value_t = 10_000)]
    pub baseline: u64,
    /// Members the entries are spread over.
    #[arg(long, default_value_t = 10_000)]
    pub members: usize,
    /// Earns per measurement.
    #[arg(long, default_value_t = 5_000)]
    pub measure_calls: u64,
    /// Callers during the measurements.
    #[arg(long, default_value_t = 64)]
    pub in_flight: usize,
    /// Earns in flight while growing.
    #[arg(long, default_value_t = 64)]
    pub fill_in_flight: usize,
    /// Store connections.
    #[arg(long, default_value_t = 16)]
    pub pool_size: u32,
    /// Seconds between progress lines.
    #[arg(long, default_value_t = 10)]
    pub progress_every: u64,
    /// Run the invariant checker at the end (reads every entry).
    #[arg(long)]
    pub verify: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArgs,
}

/// Options of `import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Lines in the import file (a member, its membership and two lots are 4 lines).
    #[arg(long, default_value_t = 100_000)]
    pub rows: u64,
    /// The `loyalty` binary to run `import` and `verify` with.
    #[arg(long, default_value = "target/release/loyalty")]
    pub server_bin: PathBuf,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub db: DbArgs,
}

/// Options of `smoke`.
#[derive(Debug, Clone, Args)]
pub struct SmokeArgs {
    /// The `loyalty` server binary to start.
    #[arg(long, default_value = "target/release/loyalty")]
    pub server_bin: PathBuf,
    /// Directory for the SQLite file and server log.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

impl SmokeArgs {
    /// The `run` it stands for.
    pub fn as_run(&self) -> RunArgs {
        RunArgs {
            workload: vec![Workload::EarnSpread],
            direct: false,
            compare: false,
            follow: false,
            in_flight: 4,
            duration: 2,
            warmup: 1,
            members: 50,
            server: ServerArgs {
                server_bin: self.server_bin.clone(),
                replicas: 1,
                channels: 1,
                pool_size: 4,
            },
            connect: ConnectArgs {
                connect: Vec::new(),
                tenant: None,
                service_key: None,
                admin_key: None,
                check_database_url: None,
            },
            db: DbArgs {
                database_url: None,
                data_dir: self.data_dir.clone(),
                keep: false,
            },
        }
    }
}

/// Runs the command; `Ok(false)` when a check failed.
pub async fn execute(cli: Cli) -> anyhow::Result<bool> {
    match cli.command {
        Command::Run(args) => run(&args).await,
        Command::Smoke(args) => run(&args.as_run()).await,
        Command::Import(args) => {
            let plan = crate::import::ImportPlan {
                rows: args.rows,
                bin: args.server_bin.clone(),
            };
            let source = args.db.source()?;
            print_machine("before");
            let outcome = tokio::task::block_in_place(|| crate::import::run(&plan, &source))?;
            print_machine("after");
            for (what, took) in [("import", outcome.elapsed), ("again", outcome.again)] {
                let millis = u64::try_from(took.as_millis()).unwrap_or(u64::MAX).max(1);
                println!(
                    "{what}: {} lines on {} in {}.{:03} s: {} lines/s",
                    outcome.rows,
                    source.engine(),
                    millis / 1000,
                    millis % 1000,
                    outcome.rows.saturating_mul(1000) / millis
                );
            }
            println!("{}", outcome.summary);
            Ok(outcome.clean && outcome.verified)
        }
        Command::Grow(args) => {
            let plan = GrowPlan {
                entries: args.entries,
                baseline: args.baseline,
                members: args.members,
                measure_calls: args.measure_calls,
                in_flight: args.in_flight,
                fill_in_flight: args.fill_in_flight,
                pool_size: args.pool_size,
                progress_every: Duration::from_secs(args.progress_every.max(1)),
                verify: args.verify,
            };
            print_machine("before");
            let outcome = grow::run(&plan, &args.db.source()?).await?;
            print_machine("after");
            println!(
                "grow: {} ({} in flight)",
                args.db.source()?.engine(),
                plan.in_flight
            );
            for line in grow::describe(&outcome) {
                println!("{line}");
            }
            Ok(outcome.verified != Some(false))
        }
    }
}

/// One mode a workload runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Grpc,
    Direct,
}

async fn run(args: &RunArgs) -> anyhow::Result<bool> {
    let source = args.db.source()?;
    anyhow::ensure!(
        args.server.replicas <= 1 || source.postgres_admin.is_some(),
        "--replicas above 1 needs --database-url postgres://... (SQLite is one process's file)"
    );
    anyhow::ensure!(args.members > 0, "--members must be at least 1");
    let connected = args.connect.connected()?;
    let workloads = if args.workload.is_empty() {
        Workload::ALL.to_vec()
    } else {
        args.workload.clone()
    };
    let modes: &[Mode] = match (args.direct, args.compare) {
        (true, _) => &[Mode::Direct],
        (false, true) => &[Mode::Grpc, Mode::Direct],
        (false, false) => &[Mode::Grpc],
    };
    let options = ServerOptions {
        bin: args.server.server_bin.clone(),
        replicas: args.server.replicas,
        pool_size: args.server.pool_size,
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut passed = true;
    print_machine("before");
    println!("{}", report::header());
    for &workload in &workloads {
        for &mode in modes {
            let plan = Plan {
                workload,
                in_flight: args.in_flight.max(1),
                warmup: Duration::from_secs(args.warmup),
                duration: Duration::from_secs(args.duration.max(1)),
            };
            eprintln!("{workload} ({mode:?}): setting up {} members", args.members);
            let outcome = match mode {
                Mode::Grpc => {
                    grpc::run(
                        plan,
                        args.members,
                        args.server.channels,
                        &options,
                        &source,
                        connected.as_ref(),
                        args.follow,
                    )
                    .await?
                }
                Mode::Direct => {
                    crate::direct::run(plan, args.members, args.server.pool_size, &source).await?
                }
            };
            print_outcome(&outcome);
            passed &= outcome.passed();
            rows.push(outcome.row);
        }
    }
    if rows.len() > 1 {
        println!();
        println!("{}", report::header());
        for row in &rows {
            println!("{}", report::line(row));
        }
    }
    let comparison = report::comparison(&rows);
    if !comparison.is_empty() {
        println!();
        for line in comparison {
            println!("{line}");
        }
    }
    println!();
    print_machine("after");
    println!(
        "{}",
        if passed {
            "all checks passed"
        } else {
            "CHECKS FAILED"
        }
    );
    Ok(passed)
}

/// The machine's CPUs and load average (Linux), so a table says how busy the machine was.
fn print_machine(when: &str) {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    match load {
        Some(load) => println!("{cpus} CPUs; load average (1, 5, 15 min) {when}: {load}"),
        None => println!("{cpus} CPUs"),
    }
}

fn print_outcome(outcome: &RunOutcome) {
    println!("{}", report::line(&outcome.row));
    println!("    {}", outcome.ledger.describe());
    let verdict = match outcome.invariants_ok {
        Some(true) => "invariant checker passed",
        Some(false) => "invariant checker FAILED",
        None => "invariant checker not run",
    };
    println!(
        "    {verdict}: {}",
        outcome.invariants.replace('\n', "\n    ")
    );
    println!("    {}", outcome.cpu);
    if let Some((_, stream)) = &outcome.stream {
        println!("    {stream}");
    }
    let _ = std::io::stdout().flush();
}
