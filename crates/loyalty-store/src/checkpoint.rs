//! WAL checkpoints off the write path (SQLite).
//!
//! In WAL mode every commit appends the pages it changed to the `-wal` file; a checkpoint
//! copies them back into the database file. SQLite's default runs that copy inside the commit
//! that pushes the WAL past 1,000 pages, so one call in a few hundred waits for ~1,000 page
//! writes and two `fsync`s, and the group-commit writer can start nothing else meanwhile.
//!
//! Here the writer's connection never checkpoints on its own (`wal_autocheckpoint = 0`).
//! A checkpointer thread with a connection of its own runs `PRAGMA wal_checkpoint(PASSIVE)`
//! after commits (woken by the writer, at most one run waiting) and every
//! [`IDLE_CHECKPOINT`] when nothing commits. A passive checkpoint takes no lock a writer
//! or reader needs; it copies what it can while the writer keeps committing.
//!
//! A passive checkpoint can never catch up with a writer that keeps committing, and SQLite
//! only starts the WAL over from its beginning when a write transaction begins with every
//! frame copied. So once the WAL holds more than [`WAL_RESTART_FRAMES`] frames, the writer runs
//! one passive checkpoint itself between two batches: the checkpointer has already copied all
//! but the last few commits, so that costs little, and the next batch starts the WAL over.
//! The WAL therefore stays near [`WAL_RESTART_FRAMES`] pages however long the load lasts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use diesel::RunQueryDsl;
use diesel::sql_types::Integer;

use crate::db::DbConnection;
use crate::error::{StoreError, StoreResult};

/// How long the WAL may grow (in pages) before the writer starts it over.
pub const WAL_RESTART_FRAMES: u64 = 8192;

/// How often the checkpointer looks at the WAL when no commit wakes it.
pub const IDLE_CHECKPOINT: Duration = Duration::from_millis(500);

/// `PRAGMA wal_checkpoint`'s answer.
#[derive(Debug, Clone, Copy, diesel::QueryableByName)]
struct CheckpointRow {
    /// 1 when the checkpoint could not start (another one ran).
    #[diesel(sql_type = Integer)]
    busy: i32,
    /// Frames in the WAL.
    #[diesel(sql_type = Integer)]
    log: i32,
    /// Frames copied into the database file.
    #[diesel(sql_type = Integer)]
    checkpointed: i32,
}

/// The result of one passive checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checkpointed {
    /// Frames in the WAL.
    pub log: u64,
    /// Whether every frame is now in the database file (the next write starts the WAL over).
    pub complete: bool,
}

/// Runs one passive checkpoint on `conn` (SQLite only; `None` on PostgreSQL).
pub(crate) fn passive(conn: &mut DbConnection) -> StoreResult<Option<Checkpointed>> {
    let DbConnection::Sqlite(conn) = conn else {
        return Ok(None);
    };
    let row: CheckpointRow =
        diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result(conn)?;
    // Not in WAL mode, SQLite answers -1 for both counts.
    let log = u64::try_from(row.log).unwrap_or(0);
    let checkpointed = u64::try_from(row.checkpointed).unwrap_or(0);
    Ok(Some(Checkpointed {
        log,
        complete: row.busy == 0 && checkpointed >= log,
    }))
}

/// The handle of the checkpointer thread; it stops when the handle is dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    wake: mpsc::SyncSender<()>,
    wal_frames: Arc<AtomicU64>,
    runs: Arc<AtomicU64>,
}

impl Checkpointer {
    /// Starts the checkpointer on its own connection.
    pub(crate) fn start(mut conn: DbConnection) -> StoreResult<Checkpointer> {
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let wal_frames = Arc::new(AtomicU64::new(0));
        let runs = Arc::new(AtomicU64::new(0));
        let (frames, counted) = (wal_frames.clone(), runs.clone());
        std::thread::Builder::new()
            .name("loyalty-checkpointer".into())
            .spawn(move || {
                while let Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) =
                    woken.recv_timeout(IDLE_CHECKPOINT)
                {
                    match passive(&mut conn) {
                        Ok(Some(done)) => {
                            frames.store(done.log, Ordering::Relaxed);
                            counted.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(None) => break,
                        Err(err) => tracing::warn!(error = %err, "a WAL checkpoint failed"),
                    }
                }
            })
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot start the checkpointer thread: {e}"))
            })?;
        Ok(Checkpointer {
            wake,
            wal_frames,
            runs,
        })
    }

    /// Asks for a checkpoint soon (after a commit); never waits.
    pub(crate) fn wake(&self) {
        let _ = self.wake.try_send(());
    }

    /// The WAL's length in frames when it was last looked at.
    pub(crate) fn wal_frames(&self) -> u64 {
        self.wal_frames.load(Ordering::Relaxed)
    }

    /// Records the WAL's length as the writer found it.
    pub(crate) fn set_wal_frames(&self, frames: u64) {
        self.wal_frames.store(frames, Ordering::Relaxed);
    }

    /// Checkpoints the checkpointer has run.
    pub(crate) fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }
}
