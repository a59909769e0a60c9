//! Connections, the pool, migrations and the one way to run a write transaction.
//!
//! One connection type serves both backends ([`DbConnection`], a Diesel `MultiConnection`), so
//! every query is written once. The backend is chosen by the URL: `postgres://` or
//! `postgresql://` is PostgreSQL, anything else (a path, or `sqlite://path`) is an SQLite file,
//! created on first use.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::{StoreError, StoreResult};

/// The migrations under the workspace's top-level `migrations/`, embedded in the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

mod connection {
    // The derive generates public items (a backend, a query builder) that cannot carry docs.
    #![allow(missing_docs)]

    use diesel::pg::PgConnection;
    use diesel::sqlite::SqliteConnection;

    /// A connection to either backend.
    #[derive(diesel::MultiConnection)]
    pub enum DbConnection {
        /// PostgreSQL: the production and scale-out engine.
        Postgres(PgConnection),
        /// SQLite: the embedded default.
        Sqlite(SqliteConnection),
    }
}

pub use connection::DbConnection;

mod transaction;
use transaction::{TxError, read_once, write_attempts};
pub use transaction::{read_tx, write_tx};

/// Runs a Diesel query on the backend's own connection: `native!(conn, c => query.load(c))`.
///
/// A query run through the two-backend [`DbConnection`] is serialized to SQL text on every
/// call, even when its prepared statement is cached, which costs more than SQLite takes to
/// run it. The hot paths (earning, spending, balances, idempotency) therefore match on the
/// backend and run the same query text on `PgConnection` or `SqliteConnection` directly,
/// where a query with a static shape is looked up in the statement cache by its type alone.
/// The expression is written once and compiled for each backend.
macro_rules! native {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgres($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use native;

/// Which database engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

impl Backend {
    /// The backend a database URL selects.
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// Its name as logs and messages give it.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Postgres => "postgresql",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// How long a call waits for the database by default before it answers
/// [`StoreError::Unavailable`]: for a pooled connection, for SQLite's write lock, for a
/// PostgreSQL connection to be established.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// How often the pool tries again to connect while the database is unreachable, so the first
/// call after it comes back finds a connection at most this long after.
const RECONNECT_EVERY: Duration = Duration::from_millis(200);

/// How a [`Database`] is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// The most connections the pool holds.
    pub max_connections: u32,
    /// How long a call waits for the database before it fails with
    /// [`StoreError::Unavailable`] (see [`DEFAULT_TIMEOUT`]).
    pub timeout: Duration,
}

impl PoolOptions {
    /// A pool of at most `max_connections` with the [`DEFAULT_TIMEOUT`].
    pub fn new(max_connections: u32) -> PoolOptions {
        PoolOptions {
            max_connections,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Establishes connections of one backend and prepares them (SQLite pragmas).
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: String,
    backend: Backend,
    timeout: Duration,
}

/// Pragmas set on every SQLite connection as it is opened (after its `busy_timeout`, which is
/// the configured timeout: a write lock held elsewhere longer than that fails the call as
/// unavailable instead of stalling it): WAL so readers never block the writer, a commit
/// that survives power loss (`synchronous = FULL` syncs the WAL on every commit; group commit
/// makes that one `fsync` per batch), foreign keys enforced, a page cache of 16 MiB and a memory
/// map of up to 1 GiB (shared by every connection through the operating system's page cache), so
/// the hot tables' pages are not copied in from the operating system on every call.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -16384; \
     PRAGMA mmap_size = 1073741824;";

/// The group-commit writer's connection keeps the shared 16 MiB page cache (enough for the dirty
/// pages of a full batch; database pages are read through the memory map). A 256 MiB cache gave
/// no more throughput on an idle machine (store-direct earn 4,713/s against 4,904/s), and under
/// load SQLite's page-cache scan at commits (`pcache1TruncateUnsafe`) grew with it.
/// Its commits never checkpoint the WAL: the checkpointer thread does (see
/// [`crate::checkpoint`]). Its savepoints (one per call, see [`crate::writer`]) keep their undo
/// pages in memory (`temp_store = MEMORY`): by default SQLite spills a savepoint's journal to a
/// temporary file after 64 KiB, which cost a batch some 2,000 `pwrite`s of pages that are never
/// read again when nothing rolls back.
const SQLITE_WRITER_PRAGMAS: &str = "PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = MEMORY;";

fn open_sqlite(url: &str, timeout: Duration) -> Result<SqliteConnection, diesel::r2d2::Error> {
    let path = if url.starts_with("file:") {
        url
    } else {
        crate::startup::sqlite_path(url)
    };
    let mut conn =
        SqliteConnection::establish(path).map_err(diesel::r2d2::Error::ConnectionError)?;
    // First, so that the other pragmas already wait for a lock held elsewhere.
    conn.batch_execute(&format!("PRAGMA busy_timeout = {};", timeout.as_millis()))
        .and_then(|()| conn.batch_execute(SQLITE_PRAGMAS))
        .map_err(diesel::r2d2::Error::QueryError)?;
    Ok(conn)
}

/// `url` with libpq's `connect_timeout` and `tcp_user_timeout` set from `timeout` unless the URL
/// sets them: a connection attempt to a host that does not answer, or a query on a connection
/// whose peer vanished without closing it, fails after about `timeout` instead of the operating
/// system's minutes.
fn pg_url(url: &str, timeout: Duration) -> String {
    let mut url = url.to_owned();
    // libpq takes whole seconds and treats anything below 2 as 2.
    let parameters = [
        ("connect_timeout", timeout.as_secs().max(2).to_string()),
        ("tcp_user_timeout", timeout.as_millis().max(1).to_string()),
    ];
    for (name, value) in parameters {
        if !url.contains(&format!("{name}=")) {
            let separator = if url.contains('?') { '&' } else { '?' };
            url = format!("{url}{separator}{name}={value}");
        }
    }
    url
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.url)
                .map(DbConnection::Postgres)
                .map_err(diesel::r2d2::Error::ConnectionError),
            Backend::Sqlite => open_sqlite(&self.url, self.timeout).map(DbConnection::Sqlite),
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        is_broken(conn)
    }
}

/// Whether `conn` can no longer be used: Diesel follows libpq's transaction status after every
/// statement, and a PostgreSQL connection that was closed or lost reports an unknown one. Free
/// (no round trip), so the pool asks it of every connection given back and drops the broken
/// ones, instead of pinging every connection it hands out.
fn is_broken(conn: &mut DbConnection) -> bool {
    use diesel::r2d2::R2D2Connection;
    match conn {
        DbConnection::Postgres(pg) => pg.is_broken(),
        DbConnection::Sqlite(sqlite) => sqlite.is_broken(),
    }
}

/// Connection failures as the pool meets them while the database is unreachable: logged at
/// DEBUG, since the pool tries again every [`RECONNECT_EVERY`] and the calls that fail say so
/// themselves (and the health service reports the outage once).
#[derive(Debug)]
struct QuietErrors;

impl r2d2::HandleError<diesel::r2d2::Error> for QuietErrors {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        tracing::debug!(%error, "connecting to the database failed");
    }
}

/// A snapshot of a [`Database`]'s connection pool ([`Database::pool_state`]). The
/// group-commit writer's and the checkpointer's connections are outside the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    /// Connections handed out to calls.
    pub in_use: u32,
    /// Open connections waiting in the pool.
    pub idle: u32,
    /// The most connections the pool opens.
    pub max: u32,
}

/// A pooled connection.
pub type PooledConn = PooledConnection<ConnectionManager>;

/// The connection pool of one database.
#[derive(Clone)]
pub struct Database {
    pool: Pool<ConnectionManager>,
    backend: Backend,
    url: String,
    options: PoolOptions,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Opens a pool of at most `max_connections` to `url` with the [`DEFAULT_TIMEOUT`].
    pub fn open(url: &str, max_connections: u32) -> StoreResult<Database> {
        Database::open_with(url, PoolOptions::new(max_connections))
    }

    /// Opens a pool to `url` as `options` say.
    ///
    /// The pool does not ping a connection before handing it out (a round trip on every call):
    /// a connection the database closed is found broken by the statement that meets it, and
    /// then dropped (see [`Database::read`]).
    pub fn open_with(url: &str, options: PoolOptions) -> StoreResult<Database> {
        // An unknown scheme (a typo such as `postgress://`) would otherwise name an SQLite file.
        let backend = crate::startup::DatabaseTarget::parse(url)
            .map_err(|e| StoreError::InvalidArgument(e.to_string()))?
            .backend();
        let url = match backend {
            Backend::Postgres => pg_url(url, options.timeout),
            Backend::Sqlite => url.to_owned(),
        };
        let manager = ConnectionManager {
            url: url.clone(),
            backend,
            timeout: options.timeout,
        };
        let pool = Pool::builder()
            .max_size(options.max_connections.max(1))
            .min_idle(Some(1))
            .test_on_check_out(false)
            // r2d2 waits `connection_timeout / 2` at most between two attempts to connect: this
            // keeps that wait at RECONNECT_EVERY. Calls wait for a connection with their own
            // timeout (`get_timeout`), and nothing else reads this setting once the pool is
            // built without waiting for its first connection (`build_unchecked`).
            .connection_timeout(2 * RECONNECT_EVERY)
            .error_handler(Box::new(QuietErrors))
            .build_unchecked(manager);
        Ok(Database {
            pool,
            backend,
            url,
            options,
        })
    }

    /// How long a call waits for the database before it fails with
    /// [`StoreError::Unavailable`].
    pub fn timeout(&self) -> Duration {
        self.options.timeout
    }

    /// A new connection outside the pool, for the group-commit writer to own.
    pub(crate) fn writer_connection(&self) -> StoreResult<DbConnection> {
        match self.backend {
            Backend::Sqlite => {
                let mut conn = open_sqlite(&self.url, self.options.timeout)
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                conn.batch_execute(SQLITE_WRITER_PRAGMAS)?;
                Ok(DbConnection::Sqlite(conn))
            }
            Backend::Postgres => PgConnection::establish(&self.url)
                .map(DbConnection::Postgres)
                .map_err(|e| StoreError::Unavailable(e.to_string())),
        }
    }

    /// A new SQLite connection outside the pool, for the checkpointer thread to own.
    pub(crate) fn checkpoint_connection(&self) -> StoreResult<DbConnection> {
        open_sqlite(&self.url, self.options.timeout)
            .map(DbConnection::Sqlite)
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool's state now, for metrics.
    pub fn pool_state(&self) -> PoolState {
        let state = self.pool.state();
        PoolState {
            in_use: state.connections.saturating_sub(state.idle_connections),
            idle: state.idle_connections,
            max: self.pool.max_size(),
        }
    }

    /// A connection from the pool, waiting at most the configured timeout for one.
    pub fn conn(&self) -> StoreResult<PooledConn> {
        self.pool.get_timeout(self.options.timeout).map_err(|e| {
            StoreError::Unavailable(format!(
                "no database connection within {:?}: {e}",
                self.options.timeout
            ))
        })
    }

    /// Runs `f` as one write transaction on a pooled connection (see [`write_tx`]).
    pub fn write<T>(
        &self,
        mut f: impl FnMut(&mut DbConnection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.on_live_connection(|conn| write_attempts(conn, &mut f))
    }

    /// Runs `f` in a read-only transaction on a pooled connection (see [`read_tx`]).
    pub fn read<T>(
        &self,
        mut f: impl FnMut(&mut DbConnection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.on_live_connection(|conn| read_once(conn, &mut f))
    }

    /// Runs a transaction on a pooled connection. A connection the database closed while it
    /// sat in the pool (a restart, an idle timeout) fails the transaction's first statement:
    /// nothing ran on it yet, so it is dropped and the transaction begins again on another,
    /// until the pool has a live one or none within the timeout. A connection that breaks
    /// later fails its call as [`StoreError::Unavailable`] (whatever ran was rolled back by
    /// the database, unless the break hit the commit) and is dropped too.
    fn on_live_connection<T>(
        &self,
        mut run: impl FnMut(&mut DbConnection) -> Result<T, TxError>,
    ) -> StoreResult<T> {
        let mut dropped = 0;
        loop {
            let mut conn = self.conn()?;
            let err = match run(&mut conn) {
                Ok(value) => return Ok(value),
                Err(err) if !is_broken(&mut conn) => return Err(err.into_inner()),
                Err(err) => err,
            };
            // Given back broken, `conn` is dropped by the pool.
            match err {
                TxError::NotBegun(err) if dropped < self.options.max_connections => {
                    dropped += 1;
                    tracing::debug!(error = %err, "dropped a pooled connection the database had closed");
                }
                err => {
                    return Err(StoreError::Unavailable(format!(
                        "the connection to the database was lost: {}",
                        err.into_inner()
                    )));
                }
            }
        }
    }

    /// Runs pending migrations; returns how many ran.
    pub fn migrate(&self) -> StoreResult<usize> {
        let mut conn = self.conn()?;
        // Concurrent replicas may start together: on PostgreSQL an advisory lock makes them
        // migrate one after another.
        if self.backend == Backend::Postgres {
            diesel::sql_query("SELECT pg_advisory_lock(7411)").execute(&mut *conn)?;
        }
        let result = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|done| done.len())
            .map_err(|e| StoreError::Migration(e.to_string()))
            .and_then(|ran| {
                // The change stream's triggers, in each backend's own dialect.
                crate::ops::changes::install(&mut conn, self.backend)?;
                Ok(ran)
            });
        if self.backend == Backend::Postgres {
            diesel::sql_query("SELECT pg_advisory_unlock(7411)").execute(&mut *conn)?;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgresql_url_gets_the_timeouts_it_does_not_set_itself() {
        let two = Duration::from_secs(2);
        assert_eq!(
            pg_url("postgres://u@h/db", two),
            "postgres://u@h/db?connect_timeout=2&tcp_user_timeout=2000"
        );
        assert_eq!(
            pg_url("postgres://u@h/db?sslmode=disable&connect_timeout=9", two),
            "postgres://u@h/db?sslmode=disable&connect_timeout=9&tcp_user_timeout=2000"
        );
        // libpq counts connect_timeout in whole seconds, and anything below 2 as 2.
        assert_eq!(
            pg_url("postgres://u@h/db", Duration::from_millis(500)),
            "postgres://u@h/db?connect_timeout=2&tcp_user_timeout=500"
        );
    }
}
