//! Online backups of an SQLite database (PostgreSQL is backed up with its own tools:
//! `pg_dump`, or base backups with WAL archiving for point-in-time recovery).
//!
//! A WAL-mode SQLite database cannot be copied with `cp` while a server writes to it: the file
//! and its `-wal` would be copied at different moments. [`Store::backup_to`] has SQLite write
//! a consistent copy instead (`VACUUM INTO`): one read transaction, so the copy is the database
//! as of one commit, taken while the server goes on writing (WAL readers never block the
//! writer). The copy is a single self-contained file (no `-wal`), compacted; then it is opened
//! and checked before the backup is reported done.

use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl, SqliteConnection};

use crate::db::{Backend, DbConnection};
use crate::error::{StoreError, StoreResult};
use crate::store::Store;

/// What [`Store::backup_to`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// The copy's path.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
}

#[derive(diesel::QueryableByName)]
struct IntegrityRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

impl Store {
    /// Writes a consistent copy of this SQLite database to `dest` (a new file; an existing one
    /// is refused) while other connections and processes go on writing, then checks the copy
    /// with SQLite's `integrity_check`. On PostgreSQL it is refused: use `pg_dump` or
    /// PostgreSQL's continuous archiving.
    pub fn backup_to(&self, dest: &Path) -> StoreResult<BackupReport> {
        if self.backend() != Backend::Sqlite {
            return Err(StoreError::FailedPrecondition(
                "backups of PostgreSQL are taken with PostgreSQL's tools: pg_dump, or base \
                 backups with WAL archiving for point-in-time recovery (see the README)"
                    .into(),
            ));
        }
        if dest.exists() {
            return Err(StoreError::InvalidArgument(format!(
                "{} already exists: a backup is written to a new file",
                dest.display()
            )));
        }
        let dest_text = dest.to_str().ok_or_else(|| {
            StoreError::InvalidArgument(format!("{} is not a UTF-8 path", dest.display()))
        })?;
        let mut conn = self.database().conn()?;
        let DbConnection::Sqlite(sqlite) = &mut *conn else {
            return Err(StoreError::Corrupt(
                "an SQLite store handed out another backend's connection".into(),
            ));
        };
        // A literal (VACUUM takes no bound parameters), quoted as SQL quotes a string.
        let quoted = dest_text.replace('\'', "''");
        sqlite.batch_execute(&format!("VACUUM INTO '{quoted}'"))?;
        drop(conn);

        let mut copy = SqliteConnection::establish(dest_text)
            .map_err(|e| StoreError::Unavailable(format!("opening the copy: {e}")))?;
        let rows: Vec<IntegrityRow> =
            diesel::sql_query("PRAGMA integrity_check").load(&mut copy)?;
        if rows.len() != 1 || rows[0].integrity_check != "ok" {
            let problems: Vec<String> = rows.into_iter().map(|r| r.integrity_check).collect();
            return Err(StoreError::Corrupt(format!(
                "the copy at {} fails SQLite's integrity check: {}",
                dest.display(),
                problems.join("; ")
            )));
        }
        drop(copy);
        let bytes = std::fs::metadata(dest)
            .map_err(|e| StoreError::Unavailable(format!("reading {}: {e}", dest.display())))?
            .len();
        Ok(BackupReport {
            path: dest.to_path_buf(),
            bytes,
        })
    }
}
