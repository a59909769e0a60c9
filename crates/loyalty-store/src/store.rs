//! [`Store`]: the database plus the clock, the handle every operation is called on.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;

use crate::checkpoint::Checkpointer;
use crate::clock::{Clock, SystemClock};
use crate::db::{Backend, Database, DbConnection, PoolOptions};
use crate::error::{StoreError, StoreResult};
use crate::writer::{self, Writer, WriterStats};

/// The loyalty store: a connection pool and a clock. Cheap to clone; share one per process.
///
/// Every method is one business operation in one database transaction (blocking: call it from
/// a blocking thread, never directly on an async executor). A server calls them through
/// [`Store::submit`] (writes) and [`Store::query`] (reads), which on SQLite hand writes to the
/// group-commit writer once [`Store::with_writer`] started it.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
    clock: Arc<dyn Clock>,
    writer: Option<Arc<Writer>>,
}

impl Store {
    /// Opens (and migrates) the database at `url` with the real clock.
    pub fn open(url: &str, max_connections: u32) -> StoreResult<Store> {
        Store::open_with_clock(url, max_connections, Arc::new(SystemClock))
    }

    /// Opens (and migrates) the database at `url` with the given clock.
    pub fn open_with_clock(
        url: &str,
        max_connections: u32,
        clock: Arc<dyn Clock>,
    ) -> StoreResult<Store> {
        Store::open_with(url, PoolOptions::new(max_connections), clock)
    }

    /// Opens (and migrates) the database at `url` as `options` say, with the given clock.
    pub fn open_with(url: &str, options: PoolOptions, clock: Arc<dyn Clock>) -> StoreResult<Store> {
        let db = Database::open_with(url, options)?;
        db.migrate()?;
        Ok(Store {
            db,
            clock,
            writer: None,
        })
    }

    /// This store with a group-commit writer (see [`crate::writer`]) on SQLite: one
    /// thread owns the write connection and commits queued calls in batches. PostgreSQL, whose
    /// row locks let writers run side by side, is returned unchanged.
    pub fn with_writer(self) -> StoreResult<Store> {
        if self.backend() != Backend::Sqlite || self.writer.is_some() {
            return Ok(self);
        }
        let conn = self.db.writer_connection()?;
        let checkpointer = Checkpointer::start(self.db.checkpoint_connection()?)?;
        let writer = Writer::start(conn, self.clone(), Some(checkpointer))?;
        Ok(Store {
            writer: Some(Arc::new(writer)),
            ..self
        })
    }

    /// What the group-commit writer has done (`None` without one).
    pub fn writer_stats(&self) -> Option<WriterStats> {
        self.writer.as_ref().map(|w| w.stats())
    }

    /// Runs a call that writes: on the group-commit writer when there is one (answered after
    /// its batch commits), otherwise on a blocking thread with a pooled connection.
    pub async fn submit<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> StoreResult<T> + Send + 'static,
    {
        match &self.writer {
            Some(writer) => {
                let (reply, answer) = tokio::sync::oneshot::channel();
                let deadline = std::time::Instant::now() + self.db.timeout();
                writer.send(writer::job(f, reply, deadline))?;
                answer.await.unwrap_or_else(|_| {
                    Err(StoreError::Unavailable(
                        "the database could not start a write transaction".into(),
                    ))
                })
            }
            None => self.blocking(f).await,
        }
    }

    /// Whether the database answers, as calls meet it: a trivial statement through the write
    /// path (on SQLite the group-commit writer, so a write lock held by another process counts
    /// as unavailable), failing with [`StoreError::Unavailable`] within the configured timeout.
    pub async fn ping(&self) -> StoreResult<()> {
        self.submit(|s| s.read(|conn| Ok(conn.batch_execute("SELECT 1")?)))
            .await
    }

    /// Runs a short read: on SQLite inline on the caller's thread (a read of an indexed row
    /// takes microseconds and never waits for the writer under WAL, so a thread hop would cost
    /// more than the read), on PostgreSQL on a blocking thread (a network round trip).
    pub async fn query<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> StoreResult<T> + Send + 'static,
    {
        match self.backend() {
            Backend::Sqlite => f(self),
            Backend::Postgres => self.blocking(f).await,
        }
    }

    /// Runs `f` on a blocking thread (long reads such as reports, and every call without a
    /// writer).
    pub async fn blocking<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> StoreResult<T> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .unwrap_or_else(|e| {
                Err(StoreError::Corrupt(format!(
                    "the call failed unexpectedly: {e}"
                )))
            })
    }

    /// The current instant according to the store's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Which backend the store runs on.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// The underlying database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Runs `f` as one write transaction: a savepoint of the open batch on the writer thread,
    /// otherwise its own transaction on a pooled connection.
    pub(crate) fn write<T>(
        &self,
        mut f: impl FnMut(&mut DbConnection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        if let Some(done) = writer::write_in_batch(&mut f) {
            return done;
        }
        self.db.write(f)
    }

    /// Runs `f` as one read-only transaction on a pooled connection (on the writer thread: on
    /// the batch's connection, seeing the batch's writes so far).
    pub(crate) fn read<T>(
        &self,
        mut f: impl FnMut(&mut DbConnection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        if let Some(done) = writer::read_in_batch(&mut f) {
            return done;
        }
        self.db.read(f)
    }
}

/// A new time-ordered id (UUID v7) as stored.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
