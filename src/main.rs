//! `loyalty`: the loyalty-points engine's server and operator command line. Thin: parse the
//! command line, then call `loyalty-grpc` (serve) or `loyalty-store` (operator commands).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use loyalty_store::{PoolOptions, Role, Store, SystemClock};

/// The loyalty-points engine.
#[derive(Debug, Parser)]
#[command(name = "loyalty", version = env!("LOYALTY_BUILD_INFO"), about)]
struct Cli {
    /// Database URL: a file path for SQLite (the embedded default, created on first use) or
    /// postgres://user@host/db for PostgreSQL.
    #[arg(
        long,
        global = true,
        env = "LOYALTY_DATABASE_URL",
        default_value = "loyalty.db"
    )]
    database_url: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KeyRole {
    Operator,
    Admin,
    Service,
    Member,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serves the gRPC API (creates and migrates the database on first start).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "LOYALTY_LISTEN", default_value = "127.0.0.1:50051")]
        listen: SocketAddr,
        /// Serve Prometheus metrics on this address (http://ADDR/metrics).
        #[arg(long, env = "LOYALTY_METRICS_LISTEN")]
        metrics_listen: Option<SocketAddr>,
        /// Accept HS256 JWTs signed with this secret (besides API keys).
        #[arg(long, env = "LOYALTY_JWT_SECRET", hide_env_values = true)]
        jwt_secret: Option<String>,
        /// Seconds between expiry sweeps (points and holds).
        #[arg(long, env = "LOYALTY_SWEEP_SECONDS", default_value_t = 60)]
        sweep_seconds: u64,
        /// Database connections in the pool.
        #[arg(long, env = "LOYALTY_POOL_SIZE", default_value_t = 16)]
        pool_size: u32,
        /// Milliseconds a call waits for the database (a connection, SQLite's write lock)
        /// before it answers UNAVAILABLE.
        #[arg(long, env = "LOYALTY_DB_TIMEOUT_MS", default_value_t = 2000)]
        db_timeout_ms: u64,
        /// Log as JSON lines.
        #[arg(long, env = "LOYALTY_LOG_JSON")]
        log_json: bool,
        /// Serve over TLS with this certificate chain (PEM); needs --tls-key.
        #[arg(long, env = "LOYALTY_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The TLS private key (PEM) of --tls-cert.
        #[arg(long, env = "LOYALTY_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Mutual TLS: clients must present a certificate signed by this CA (PEM); needs
        /// --tls-cert.
        #[arg(long, env = "LOYALTY_TLS_CLIENT_CA", requires = "tls_cert")]
        tls_client_ca: Option<PathBuf>,
    },
    /// Creates the database if needed and runs pending migrations.
    Migrate,
    /// Creates a tenant and prints its id.
    CreateTenant {
        /// The tenant's name.
        name: String,
    },
    /// Issues an API key and prints it once (only its hash is stored).
    IssueKey {
        /// The role the key grants.
        #[arg(long, value_enum)]
        role: KeyRole,
        /// The tenant (not for operator keys).
        #[arg(long)]
        tenant: Option<String>,
        /// The member (member keys only).
        #[arg(long)]
        member: Option<String>,
        /// A label to recognise the key by.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Expires overdue points and releases expired holds now.
    Expire,
    /// Checks that every balance equals its entries and its lots; exits 1 on a violation.
    Verify {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
}

fn open(url: &str, pool: u32) -> anyhow::Result<Store> {
    Store::open(url, pool).with_context(|| format!("opening the database {url}"))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            listen,
            metrics_listen,
            jwt_secret,
            sweep_seconds,
            pool_size,
            db_timeout_ms,
            log_json,
            tls_cert,
            tls_key,
            tls_client_ca,
        } => {
            init_logs(log_json);
            // Checked before anything starts: a bad file stops the server with its name.
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(loyalty_grpc::server::TlsConfig::from_files(
                    &cert,
                    &key,
                    tls_client_ca.as_deref(),
                )?),
                _ => None,
            };
            let options = PoolOptions {
                max_connections: pool_size,
                timeout: Duration::from_millis(db_timeout_ms.max(1)),
            };
            let store = Store::open_with(&cli.database_url, options, Arc::new(SystemClock))
                .with_context(|| format!("opening the database {}", cli.database_url))?;
            let config = loyalty_grpc::server::ServerConfig {
                jwt_secret,
                sweep_interval: Duration::from_secs(sweep_seconds.max(1)),
                metrics_addr: metrics_listen,
                tls,
            };
            let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("listening on {listen}"))?;
                let addr = listener.local_addr()?;
                tracing::info!(%addr, backend = ?store.backend(), "loyalty serving gRPC on {addr}");
                loyalty_grpc::server::run(listener, store, config, shutdown_signal()).await?;
                tracing::info!("stopped");
                anyhow::Ok(())
            })?;
        }
        Command::Migrate => {
            let db = loyalty_store::Database::open(&cli.database_url, 1)
                .with_context(|| format!("opening {}", cli.database_url))?;
            let ran = db.migrate().context("running migrations")?;
            println!("{ran} migration(s) applied ({:?})", db.backend());
        }
        Command::CreateTenant { name } => {
            let tenant = open(&cli.database_url, 1)?.create_tenant(None, &name)?;
            println!("{}", tenant.id);
        }
        Command::IssueKey {
            role,
            tenant,
            member,
            label,
        } => {
            let role = match role {
                KeyRole::Operator => Role::Operator,
                KeyRole::Admin => Role::Admin,
                KeyRole::Service => Role::Service,
                KeyRole::Member => Role::Member,
            };
            let key = open(&cli.database_url, 1)?.issue_api_key(
                None,
                tenant.as_deref(),
                role,
                member.as_deref(),
                &label,
            )?;
            eprintln!(
                "key id {} ({}); the key is shown only now:",
                key.id,
                role.as_str()
            );
            println!("{}", key.key);
        }
        Command::Expire => {
            let store = open(&cli.database_url, 1)?;
            let report = store.expire_due(None, u32::MAX)?;
            let holds = store.expire_holds(None)?;
            println!(
                "expired {} points in {} memberships; released {holds} expired holds",
                report.points_expired, report.memberships
            );
        }
        Command::Verify { tenant } => {
            let violations = open(&cli.database_url, 1)?.verify(tenant.as_deref())?;
            if violations.is_empty() {
                println!("ledger consistent: every balance equals its entries and its lots");
            } else {
                for v in &violations {
                    println!("{v}");
                }
                anyhow::bail!("{} violation(s) found", violations.len());
            }
        }
    }
    Ok(())
}

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Completes on SIGTERM or Ctrl-C: the server then finishes in-flight calls and stops.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutdown requested: finishing in-flight calls");
}
