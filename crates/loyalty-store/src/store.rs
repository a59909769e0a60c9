//! [`Store`]: the database plus the clock, the handle every operation is called on.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::{Clock, SystemClock};
use crate::db::{Backend, Database, DbConnection, PooledConn};
use crate::error::StoreResult;

/// The loyalty store: a connection pool and a clock. Cheap to clone; share one per process.
///
/// Every method is one business operation in one database transaction (blocking: call it from
/// a blocking thread, never directly on an async executor).
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
    clock: Arc<dyn Clock>,
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
        let db = Database::open(url, max_connections)?;
        db.migrate()?;
        Ok(Store { db, clock })
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

    pub(crate) fn conn(&self) -> StoreResult<PooledConn> {
        self.db.conn()
    }

    /// Runs `f` as one write transaction on a pooled connection.
    pub(crate) fn write<T>(
        &self,
        f: impl FnMut(&mut DbConnection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.conn()?;
        crate::db::write_tx(&mut conn, f)
    }

    /// Runs `f` as one read-only transaction on a pooled connection.
    pub(crate) fn read<T>(
        &self,
        f: impl FnMut(&mut DbConnection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.conn()?;
        crate::db::read_tx(&mut conn, f)
    }
}

/// A new time-ordered id (UUID v7) as stored.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
