//! Connections, the pool, migrations and the one way to run a write transaction.
//!
//! One connection type serves both backends ([`DbConnection`], a Diesel `MultiConnection`), so
//! every query is written once. The backend is chosen by the URL: `postgres://` or
//! `postgresql://` is PostgreSQL, anything else (a path, or `sqlite://path`) is an SQLite file,
//! created on first use.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
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
}

/// Establishes connections of one backend and prepares them (SQLite pragmas).
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: String,
    backend: Backend,
}

/// Pragmas set on every SQLite connection as it is opened: WAL so readers never block the
/// writer, a busy timeout so writers of other processes queue instead of failing, a commit
/// that survives power loss (`synchronous = FULL` syncs the WAL on every commit; group commit
/// makes that one `fsync` per batch), foreign keys enforced, a page cache of 16 MiB and a memory
/// map of up to 1 GiB (shared by every connection through the operating system's page cache), so
/// the hot tables' pages are not copied in from the operating system on every call.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 15000; \
     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -16384; \
     PRAGMA mmap_size = 1073741824;";

/// The group-commit writer's own page cache: 256 MiB. It holds the dirty pages of a batch and
/// the index pages every call descends, which for a large ledger are spread all over the file.
/// Its commits never checkpoint the WAL: the checkpointer thread does (see
/// [`crate::checkpoint`]). Its savepoints (one per call, see [`crate::writer`]) keep their undo
/// pages in memory (`temp_store = MEMORY`): by default SQLite spills a savepoint's journal to a
/// temporary file after 64 KiB, which cost a batch some 2,000 `pwrite`s of pages that are never
/// read again when nothing rolls back.
const SQLITE_WRITER_PRAGMAS: &str =
    "PRAGMA cache_size = -262144; PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = MEMORY;";

fn open_sqlite(url: &str) -> Result<SqliteConnection, diesel::r2d2::Error> {
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    let mut conn =
        SqliteConnection::establish(path).map_err(diesel::r2d2::Error::ConnectionError)?;
    conn.batch_execute(SQLITE_PRAGMAS)
        .map_err(diesel::r2d2::Error::QueryError)?;
    Ok(conn)
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.url)
                .map(DbConnection::Postgres)
                .map_err(diesel::r2d2::Error::ConnectionError),
            Backend::Sqlite => open_sqlite(&self.url).map(DbConnection::Sqlite),
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// A pooled connection.
pub type PooledConn = PooledConnection<ConnectionManager>;

/// The connection pool of one database.
#[derive(Clone)]
pub struct Database {
    pool: Pool<ConnectionManager>,
    backend: Backend,
    url: String,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Opens a pool of at most `max_connections` to `url`.
    pub fn open(url: &str, max_connections: u32) -> StoreResult<Database> {
        let backend = Backend::of_url(url);
        let manager = ConnectionManager {
            url: url.to_owned(),
            backend,
        };
        let pool = Pool::builder()
            .max_size(max_connections.max(1))
            .min_idle(Some(1))
            // A file does not break under a connection the way a socket does: checking each
            // SQLite connection with a query on every checkout would only cost a statement.
            .test_on_check_out(backend == Backend::Postgres)
            .connection_timeout(Duration::from_secs(30))
            .build(manager)?;
        Ok(Database {
            pool,
            backend,
            url: url.to_owned(),
        })
    }

    /// A new connection outside the pool, for the group-commit writer to own.
    pub(crate) fn writer_connection(&self) -> StoreResult<DbConnection> {
        match self.backend {
            Backend::Sqlite => {
                let mut conn =
                    open_sqlite(&self.url).map_err(|e| StoreError::Unavailable(e.to_string()))?;
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
        open_sqlite(&self.url)
            .map(DbConnection::Sqlite)
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection from the pool.
    pub fn conn(&self) -> StoreResult<PooledConn> {
        Ok(self.pool.get()?)
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
            .map_err(|e| StoreError::Migration(e.to_string()));
        if self.backend == Backend::Postgres {
            diesel::sql_query("SELECT pg_advisory_unlock(7411)").execute(&mut *conn)?;
        }
        result
    }
}

/// Runs `f` as one write transaction and retries it (up to 5 times) when the database asks
/// for a retry (serialization failure, deadlock, SQLite busy).
///
/// On SQLite the transaction starts with `BEGIN IMMEDIATE`, taking the write lock up front so
/// two writers can never interleave a read and a write; on PostgreSQL it is a plain `BEGIN`
/// (READ COMMITTED) and operations lock the rows they change first. Either all of `f`'s writes
/// commit or none do, also when `f` returns an error or panics.
pub fn write_tx<T>(
    conn: &mut DbConnection,
    mut f: impl FnMut(&mut DbConnection) -> StoreResult<T>,
) -> StoreResult<T> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match run_once(conn, &mut f) {
            Err(err) if err.is_retryable() && attempt < 5 => {
                tracing::debug!(attempt, error = %err, "retrying transaction");
                std::thread::sleep(Duration::from_millis(5 * attempt));
            }
            other => return other,
        }
    }
}

/// Runs `f` in a read-only transaction, so every read sees one consistent snapshot.
pub fn read_tx<T>(
    conn: &mut DbConnection,
    mut f: impl FnMut(&mut DbConnection) -> StoreResult<T>,
) -> StoreResult<T> {
    let begin = match conn {
        DbConnection::Postgres(_) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        DbConnection::Sqlite(_) => "BEGIN DEFERRED",
    };
    conn.batch_execute(begin)?;
    let outcome = catch_unwind(AssertUnwindSafe(|| f(conn)));
    finish(conn, outcome)
}

fn run_once<T>(
    conn: &mut DbConnection,
    f: &mut impl FnMut(&mut DbConnection) -> StoreResult<T>,
) -> StoreResult<T> {
    let begin = match conn {
        DbConnection::Postgres(_) => "BEGIN",
        DbConnection::Sqlite(_) => "BEGIN IMMEDIATE",
    };
    conn.batch_execute(begin)?;
    let outcome = catch_unwind(AssertUnwindSafe(|| f(conn)));
    finish(conn, outcome)
}

fn finish<T>(
    conn: &mut DbConnection,
    outcome: std::thread::Result<StoreResult<T>>,
) -> StoreResult<T> {
    match outcome {
        Ok(Ok(value)) => match conn.batch_execute("COMMIT") {
            Ok(()) => Ok(value),
            Err(err) => {
                let _ = conn.batch_execute("ROLLBACK");
                Err(err.into())
            }
        },
        Ok(Err(err)) => {
            // SQLite may already have rolled back on some errors; the original error is what
            // the caller needs to see either way.
            if let Err(rollback) = conn.batch_execute("ROLLBACK") {
                tracing::warn!(error = %rollback, "rollback after a failed transaction failed");
            }
            Err(err)
        }
        Err(panic) => {
            let _ = conn.batch_execute("ROLLBACK");
            resume_unwind(panic)
        }
    }
}
