//! Transactions on one connection: a write transaction (retried when the database asks for it)
//! and a read-only one, each committed or rolled back as a whole.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::Duration;

use diesel::connection::SimpleConnection;

use crate::db::DbConnection;
use crate::error::{StoreError, StoreResult};

/// Runs `f` as one write transaction and retries it (up to 5 times) when the database asks
/// for a retry (serialization failure, deadlock).
///
/// On SQLite the transaction starts with `BEGIN IMMEDIATE`, taking the write lock up front so
/// two writers can never interleave a read and a write; a lock held elsewhere for longer than
/// the connection's busy timeout fails it as [`StoreError::Unavailable`]. On PostgreSQL it is a plain `BEGIN`
/// (READ COMMITTED) and operations lock the rows they change first. Either all of `f`'s writes
/// commit or none do, also when `f` returns an error or panics.
pub fn write_tx<T>(
    conn: &mut DbConnection,
    mut f: impl FnMut(&mut DbConnection) -> StoreResult<T>,
) -> StoreResult<T> {
    write_attempts(conn, &mut f).map_err(TxError::into_inner)
}

/// Runs `f` in a read-only transaction, so every read sees one consistent snapshot.
pub fn read_tx<T>(
    conn: &mut DbConnection,
    mut f: impl FnMut(&mut DbConnection) -> StoreResult<T>,
) -> StoreResult<T> {
    read_once(conn, &mut f).map_err(TxError::into_inner)
}

/// Why a transaction failed: before anything ran (its `BEGIN` failed), or after.
pub(crate) enum TxError {
    NotBegun(StoreError),
    Failed(StoreError),
}

impl TxError {
    pub(crate) fn into_inner(self) -> StoreError {
        match self {
            TxError::NotBegun(err) | TxError::Failed(err) => err,
        }
    }
}

pub(crate) fn write_attempts<T>(
    conn: &mut DbConnection,
    f: &mut impl FnMut(&mut DbConnection) -> StoreResult<T>,
) -> Result<T, TxError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match write_once(conn, f) {
            Err(TxError::Failed(err)) if err.is_retryable() && attempt < 5 => {
                tracing::debug!(attempt, error = %err, "retrying transaction");
                std::thread::sleep(Duration::from_millis(5 * attempt));
            }
            Err(TxError::NotBegun(err)) if attempt > 1 => return Err(TxError::Failed(err)),
            other => return other,
        }
    }
}

pub(crate) fn read_once<T>(
    conn: &mut DbConnection,
    f: &mut impl FnMut(&mut DbConnection) -> StoreResult<T>,
) -> Result<T, TxError> {
    let begin = match conn {
        DbConnection::Postgres(_) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        DbConnection::Sqlite(_) => "BEGIN DEFERRED",
    };
    conn.batch_execute(begin)
        .map_err(|e| TxError::NotBegun(e.into()))?;
    let outcome = catch_unwind(AssertUnwindSafe(|| f(conn)));
    finish(conn, outcome).map_err(TxError::Failed)
}

fn write_once<T>(
    conn: &mut DbConnection,
    f: &mut impl FnMut(&mut DbConnection) -> StoreResult<T>,
) -> Result<T, TxError> {
    let begin = match conn {
        DbConnection::Postgres(_) => "BEGIN",
        DbConnection::Sqlite(_) => "BEGIN IMMEDIATE",
    };
    conn.batch_execute(begin)
        .map_err(|e| TxError::NotBegun(e.into()))?;
    let outcome = catch_unwind(AssertUnwindSafe(|| f(conn)));
    finish(conn, outcome).map_err(TxError::Failed)
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
