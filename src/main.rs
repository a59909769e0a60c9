//! `loyalty`: the loyalty-points engine's server and operator command line. Thin: parse the
//! command line, then call `loyalty-grpc` (serve) or `loyalty-store` (operator commands).

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

mod import;
mod telemetry;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use loyalty_grpc::auth::JwtKeys;
use loyalty_store::startup::{Create, DatabaseTarget};
use loyalty_store::{PoolOptions, Role, Store, SystemClock};

/// The loyalty-points engine.
#[derive(Debug, Parser)]
#[command(name = "loyalty", version = env!("LOYALTY_BUILD_INFO"), about)]
struct Cli {
    /// Database URL: a file path for SQLite (the embedded default; relative paths are taken
    /// from the working directory) or postgres://user:password@host:port/dbname for PostgreSQL.
    #[arg(
        long,
        global = true,
        env = "LOYALTY_DATABASE_URL",
        hide_env_values = true,
        default_value = "loyalty.db"
    )]
    database_url: String,

    /// Let an operator command create the database when it does not exist (`serve` and
    /// `migrate` always may). Without it, a mistyped path or name is refused instead of
    /// becoming a new empty database.
    #[arg(long, global = true)]
    create_database: bool,

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

impl From<KeyRole> for Role {
    fn from(role: KeyRole) -> Role {
        match role {
            KeyRole::Operator => Role::Operator,
            KeyRole::Admin => Role::Admin,
            KeyRole::Service => Role::Service,
            KeyRole::Member => Role::Member,
        }
    }
}

// Parsed once at start: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Serves the gRPC API (creates and migrates the database on first start).
    Serve {
        /// Address to listen on: IP:PORT or HOST:PORT (for example localhost:50051, or
        /// 0.0.0.0:50051 for every interface).
        #[arg(long, env = "LOYALTY_LISTEN", default_value = "127.0.0.1:50051")]
        listen: String,
        /// Serve Prometheus metrics on this address (http://ADDR/metrics), IP:PORT or HOST:PORT.
        #[arg(long, env = "LOYALTY_METRICS_LISTEN")]
        metrics_listen: Option<String>,
        /// Accept HS256 JWTs signed with this secret (besides API keys).
        #[arg(long, env = "LOYALTY_JWT_SECRET", hide_env_values = true)]
        jwt_secret: Option<String>,
        /// Accept RS256/ES256 JWTs checked with this PEM public key (RSA or P-256); repeatable.
        #[arg(long, env = "LOYALTY_JWT_PUBLIC_KEY", value_delimiter = ',')]
        jwt_public_key: Vec<PathBuf>,
        /// Accept RS256/ES256 JWTs checked with the keys of this JWKS file (a token's `kid`
        /// picks its key).
        #[arg(long, env = "LOYALTY_JWT_JWKS")]
        jwt_jwks: Option<PathBuf>,
        /// Require JWTs to carry this `iss` claim.
        #[arg(long, env = "LOYALTY_JWT_ISSUER")]
        jwt_issuer: Option<String>,
        /// Require JWTs to carry this `aud` claim.
        #[arg(long, env = "LOYALTY_JWT_AUDIENCE")]
        jwt_audience: Option<String>,
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
        /// Export traces (a span per RPC) over OTLP/gRPC to this collector, e.g.
        /// http://127.0.0.1:4317.
        #[arg(long, env = "LOYALTY_OTLP_ENDPOINT")]
        otlp_endpoint: Option<String>,
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
    /// Lists tenants.
    #[command(subcommand)]
    Tenants(TenantsCommand),
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
    /// Lists or revokes API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Expires overdue points and releases expired holds now.
    Expire,
    /// Checks that every balance equals its entries and its lots; exits 1 on a violation.
    Verify {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Imports members, memberships and opening balances from a JSON-lines FILE into a tenant
    /// (idempotent: run it again to finish an interrupted import); exits 3 when lines were
    /// rejected.
    Import {
        /// The JSON-lines file (one record per line; see the README).
        file: PathBuf,
        /// The tenant to import into.
        #[arg(long)]
        tenant: String,
        /// Also write the rejected lines (line number, tab, reason) to this new file.
        #[arg(long)]
        rejects: Option<PathBuf>,
    },
    /// Writes a consistent copy of the SQLite database to DEST while the server runs, and
    /// checks it (PostgreSQL: use pg_dump or continuous archiving).
    Backup {
        /// The new file to write (refused if it exists).
        dest: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum TenantsCommand {
    /// Lists every tenant: id, active, created, name.
    List,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Lists API keys (never their secrets): id, role, tenant, member, created, revoked, label.
    List {
        /// Only this tenant's keys.
        #[arg(long)]
        tenant: Option<String>,
        /// Revoked keys too.
        #[arg(long)]
        all: bool,
    },
    /// Revokes an API key by its id; every replica refuses it within half a second.
    Revoke {
        /// The key's id (as `issue-key` and `keys list` print it).
        id: String,
    },
}

/// Checks the database URL and the database (creating it when `create` allows), then opens it
/// with a pool as `options` say. A bad URL, a missing database or a refused connection fails
/// here at once, with a message that names the database and the fix.
fn open_store(url: &str, create: Create, options: PoolOptions) -> anyhow::Result<(Store, String)> {
    let target = DatabaseTarget::parse(url)?;
    target.prepare(create, options.timeout)?;
    let store = Store::open_with(url, options, Arc::new(SystemClock))
        .with_context(|| format!("opening the database {}", target.display()))?;
    Ok((store, target.display()))
}

/// [`open_store`] for an operator command: one connection, and no new database unless asked.
fn open(cli: &Cli) -> anyhow::Result<Store> {
    let create = if cli.create_database {
        Create::IfMissing
    } else {
        Create::Never
    };
    Ok(open_store(&cli.database_url, create, PoolOptions::new(1))?.0)
}

/// The first address `text` (IP:PORT or HOST:PORT) resolves to.
fn resolve(text: &str, what: &str) -> anyhow::Result<SocketAddr> {
    text.to_socket_addrs()
        .with_context(|| format!("{what} {text:?}: expected IP:PORT or HOST:PORT"))?
        .next()
        .with_context(|| format!("{what} {text:?} resolves to no address"))
}

/// The JWT keys the `serve` flags name.
fn jwt_keys(
    public_keys: &[PathBuf],
    jwks: Option<&Path>,
    issuer: Option<&str>,
    audience: Option<&str>,
) -> anyhow::Result<JwtKeys> {
    let mut keys = JwtKeys::new();
    for path in public_keys {
        let pem = std::fs::read(path)
            .with_context(|| format!("reading the JWT public key {}", path.display()))?;
        keys = keys
            .with_public_key_pem(&pem)
            .map_err(|e| anyhow::anyhow!("the JWT public key {}: {e}", path.display()))?;
    }
    if let Some(path) = jwks {
        let json = std::fs::read_to_string(path)
            .with_context(|| format!("reading the JWKS file {}", path.display()))?;
        keys = keys
            .with_jwks(&json)
            .map_err(|e| anyhow::anyhow!("the JWKS file {}: {e}", path.display()))?;
    }
    if let Some(issuer) = issuer {
        keys = keys.require_issuer(issuer);
    }
    if let Some(audience) = audience {
        keys = keys.require_audience(audience);
    }
    Ok(keys)
}

/// Runs the command; a failure is printed as one line (its causes joined by ": "), without a
/// backtrace even when `RUST_BACKTRACE` is set, and the process exits with status 1.
fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the command; the exit code of a command that finished (`import` exits
/// [`ROWS_REJECTED`] when it rejected lines).
fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Serve {
            listen,
            metrics_listen,
            jwt_secret,
            jwt_public_key,
            jwt_jwks,
            jwt_issuer,
            jwt_audience,
            sweep_seconds,
            pool_size,
            db_timeout_ms,
            log_json,
            otlp_endpoint,
            tls_cert,
            tls_key,
            tls_client_ca,
        } => {
            let _telemetry = telemetry::init(*log_json, otlp_endpoint.as_deref())?;
            // Checked before anything starts: a bad file stops the server with its name.
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(loyalty_grpc::server::TlsConfig::from_files(
                    cert,
                    key,
                    tls_client_ca.as_deref(),
                )?),
                _ => None,
            };
            let listen = resolve(listen, "--listen")?;
            let metrics_addr = metrics_listen
                .as_deref()
                .map(|addr| resolve(addr, "--metrics-listen"))
                .transpose()?;
            let jwt_keys = jwt_keys(
                jwt_public_key,
                jwt_jwks.as_deref(),
                jwt_issuer.as_deref(),
                jwt_audience.as_deref(),
            )?;
            let options = PoolOptions {
                max_connections: *pool_size,
                timeout: Duration::from_millis((*db_timeout_ms).max(1)),
            };
            let (store, database) = open_store(&cli.database_url, Create::IfMissing, options)?;
            let backend = store.backend().as_str();
            let config = loyalty_grpc::server::ServerConfig {
                jwt_secret: jwt_secret.clone(),
                jwt_keys,
                sweep_interval: Duration::from_secs((*sweep_seconds).max(1)),
                metrics_addr,
                tls,
            };
            let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("listening on {listen}"))?;
                let addr = listener.local_addr()?;
                tracing::info!(%addr, backend, database = %database, "loyalty serving gRPC on {addr} ({backend} database {database})");
                loyalty_grpc::server::run(listener, store, config, shutdown_signal()).await?;
                tracing::info!("stopped");
                anyhow::Ok(())
            })?;
        }
        Command::Migrate => {
            let target = DatabaseTarget::parse(&cli.database_url)?;
            target.prepare(Create::IfMissing, loyalty_store::db::DEFAULT_TIMEOUT)?;
            let db = loyalty_store::Database::open(&cli.database_url, 1)
                .with_context(|| format!("opening {}", target.display()))?;
            let ran = db.migrate().context("running migrations")?;
            println!(
                "{ran} migration(s) applied to the {} database {}",
                db.backend().as_str(),
                target.display()
            );
        }
        Command::CreateTenant { name } => {
            let tenant = open(&cli)?.create_tenant(None, name)?;
            println!("{}", tenant.id);
        }
        Command::Tenants(TenantsCommand::List) => {
            for tenant in open(&cli)?.list_tenants()? {
                println!(
                    "{}\t{}\t{}\t{}",
                    tenant.id,
                    if tenant.active { "active" } else { "inactive" },
                    tenant.created_at.to_rfc3339(),
                    tenant.name
                );
            }
        }
        Command::IssueKey {
            role,
            tenant,
            member,
            label,
        } => {
            let role = Role::from(*role);
            let key = open(&cli)?.issue_api_key(
                None,
                tenant.as_deref(),
                role,
                member.as_deref(),
                label,
            )?;
            eprintln!(
                "key id {} ({}); the key is shown only now:",
                key.id,
                role.as_str()
            );
            println!("{}", key.key);
        }
        Command::Keys(KeysCommand::List { tenant, all }) => {
            for key in open(&cli)?.list_api_keys(tenant.as_deref(), *all)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    key.id,
                    key.role.as_str(),
                    key.tenant_id.as_deref().unwrap_or("-"),
                    key.member_id.as_deref().unwrap_or("-"),
                    key.created_at.to_rfc3339(),
                    key.revoked_at.map_or_else(
                        || "active".to_owned(),
                        |at| format!("revoked {}", at.to_rfc3339())
                    ),
                    key.label
                );
            }
        }
        Command::Keys(KeysCommand::Revoke { id }) => {
            open(&cli)?.revoke_api_key(None, id)?;
            println!("revoked key {id}: every server refuses it within a second");
        }
        Command::Expire => {
            let store = open(&cli)?;
            // Settling a membership releases its overdue holds too; `expire_holds` finishes
            // any the settling did not reach.
            let report = store.expire_due(None, u32::MAX)?;
            let mut holds = usize::try_from(report.holds_released).unwrap_or(usize::MAX);
            loop {
                let released = store.expire_holds(None)?;
                holds = holds.saturating_add(released);
                if released
                    < usize::try_from(loyalty_store::ops::hold_resolution::EXPIRY_BATCH)
                        .unwrap_or(usize::MAX)
                {
                    break;
                }
            }
            println!(
                "expired {} points in {} memberships; released {holds} expired holds",
                report.points_expired, report.memberships
            );
        }
        Command::Verify { tenant } => {
            let violations = open(&cli)?.verify(tenant.as_deref())?;
            if violations.is_empty() {
                println!("ledger consistent: every balance equals its entries and its lots");
            } else {
                for v in &violations {
                    println!("{v}");
                }
                anyhow::bail!("{} violation(s) found", violations.len());
            }
        }
        Command::Import {
            file,
            tenant,
            rejects,
        } => {
            let report = import::run(&open(&cli)?, tenant, file, rejects.as_deref())?;
            import::print_summary(&report);
            if !report.rejected.is_empty() {
                return Ok(ExitCode::from(ROWS_REJECTED));
            }
        }
        Command::Backup { dest } => {
            let report = open(&cli)?.backup_to(dest)?;
            // The copy is a database of its own: check its ledger too.
            let copy = report.path.to_string_lossy();
            let violations = open_store(&copy, Create::Never, PoolOptions::new(1))?
                .0
                .verify(None)?;
            if !violations.is_empty() {
                anyhow::bail!(
                    "the copy at {} has {} ledger violation(s): run `loyalty verify` on it",
                    report.path.display(),
                    violations.len()
                );
            }
            println!(
                "backed up to {} ({} bytes): integrity ok, ledger consistent",
                report.path.display(),
                report.bytes
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The exit status of an `import` that finished but rejected lines (1 is a failure that
/// stopped it; 2 is a usage error).
const ROWS_REJECTED: u8 = 3;

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
