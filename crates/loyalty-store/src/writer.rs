//! Group commit on SQLite: one thread owns the write connection and commits calls in batches.
//!
//! SQLite lets one writer in at a time. Writers that each open their own transaction queue on
//! the database's lock by sleep-polling (`busy_timeout`), which is where multi-second tails
//! come from, and each pays for its own `fsync`. Instead the writer thread owns the only
//! write connection of the process: callers send it work over a channel
//! ([`Store::submit`](crate::Store::submit)) and await a reply. The thread takes the first call
//! waiting, opens one transaction (`BEGIN IMMEDIATE`), runs that call and every call queued
//! behind it (up to [`MAX_BATCH`]), each in its own `SAVEPOINT`, commits once, and only then
//! answers each call with its own result. A call that fails rolls back to its savepoint alone;
//! if the commit itself fails, every call of the batch gets that error and none of their
//! writes happened, so each may be retried with its idempotency key.
//!
//! While a call runs on the writer thread, every [`Store::write`](crate::Store) and
//! `Store::read` it makes uses the batch's connection (a thread-local), so it sees the writes
//! of the calls before it in the same batch.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;

use crate::checkpoint::{self, Checkpointer, WAL_RESTART_FRAMES};
use crate::db::DbConnection;
use crate::error::{StoreError, StoreResult};
use crate::store::Store;

/// The most calls one commit carries: enough to amortize the `fsync`, few enough that the
/// first call of a batch does not wait long for the last.
pub const MAX_BATCH: usize = 256;

/// How a finished call is answered once its batch's commit is known: `None` when it
/// committed, the commit's error otherwise.
type Answer = Box<dyn FnOnce(Option<&StoreError>) + Send>;

/// A call queued for the writer: runs on the writer thread inside the open batch and returns
/// how to answer its caller.
pub(crate) type Job = Box<dyn FnOnce(&Store) -> Answer + Send>;

thread_local! {
    /// The open batch's connection, while the writer thread runs calls.
    static BATCH: RefCell<Option<DbConnection>> = const { RefCell::new(None) };
}

/// What the writer has done since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Transactions committed (or attempted): one per batch.
    pub batches: u64,
    /// Calls run, over all batches.
    pub calls: u64,
    /// Time spent running calls (inside transactions, before their commits).
    pub running: Duration,
    /// Time spent committing (writing and syncing the WAL, and starting it over).
    pub committing: Duration,
    /// Passive checkpoints the checkpointer thread ran (see [`crate::checkpoint`]).
    pub checkpoints: u64,
    /// Times the writer finished a checkpoint itself so that the WAL started over.
    pub wal_restarts: u64,
    /// Calls queued for the writer now, not yet taken into a batch.
    pub queued: u64,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    calls: AtomicU64,
    running_nanos: AtomicU64,
    committing_nanos: AtomicU64,
    wal_restarts: AtomicU64,
    queued: AtomicU64,
}

/// The handle of the writer thread: a channel to it. The thread stops when every handle is
/// dropped and its queue is empty.
#[derive(Debug)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Job>,
    counters: Arc<Counters>,
    checkpointer: Option<Arc<Checkpointer>>,
}

impl Writer {
    /// Starts the writer thread with `conn` as its write connection; `store` is what calls run
    /// against (a store without a writer of its own, so the thread does not keep itself alive).
    /// With a `checkpointer`, the writer wakes it after every commit and starts the WAL over
    /// when it has grown long (see [`crate::checkpoint`]).
    pub(crate) fn start(
        conn: DbConnection,
        store: Store,
        checkpointer: Option<Checkpointer>,
    ) -> StoreResult<Writer> {
        let (queue, jobs) = mpsc::channel::<Job>();
        let counters = Arc::new(Counters::default());
        let checkpointer = checkpointer.map(Arc::new);
        let (counting, checkpointing) = (counters.clone(), checkpointer.clone());
        std::thread::Builder::new()
            .name("loyalty-writer".into())
            .spawn(move || run(conn, store, jobs, &counting, checkpointing.as_deref()))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer {
            queue,
            counters,
            checkpointer,
        })
    }

    /// What the writer has done so far.
    pub(crate) fn stats(&self) -> WriterStats {
        WriterStats {
            batches: self.counters.batches.load(Ordering::Relaxed),
            calls: self.counters.calls.load(Ordering::Relaxed),
            running: Duration::from_nanos(self.counters.running_nanos.load(Ordering::Relaxed)),
            committing: Duration::from_nanos(
                self.counters.committing_nanos.load(Ordering::Relaxed),
            ),
            checkpoints: self.checkpointer.as_ref().map_or(0, |c| c.runs()),
            wal_restarts: self.counters.wal_restarts.load(Ordering::Relaxed),
            queued: self.counters.queued.load(Ordering::Relaxed),
        }
    }

    /// Queues `job`; fails when the writer thread has stopped.
    pub(crate) fn send(&self, job: Job) -> StoreResult<()> {
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        self.queue.send(job).map_err(|_| {
            self.counters.queued.fetch_sub(1, Ordering::Relaxed);
            StoreError::Unavailable("the writer has stopped".into())
        })
    }
}

impl Counters {
    fn add_time(&self, counter: &AtomicU64, spent: Duration) {
        counter.fetch_add(
            u64::try_from(spent.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

fn run(
    conn: DbConnection,
    store: Store,
    jobs: mpsc::Receiver<Job>,
    counters: &Counters,
    checkpointer: Option<&Checkpointer>,
) {
    BATCH.with(|b| *b.borrow_mut() = Some(conn));
    while let Ok(first) = jobs.recv() {
        counters.queued.fetch_sub(1, Ordering::Relaxed);
        let started = Instant::now();
        let mut answers: Vec<Answer> = Vec::new();
        let begun = with_conn(|conn| conn.batch_execute("BEGIN IMMEDIATE"));
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match &begun {
                Ok(()) => answers.push(job(&store)),
                // No transaction: run nothing, answer with the error below.
                Err(_) => answers.push(Box::new(|_| ())),
            }
            if answers.len() < MAX_BATCH {
                next = jobs.try_recv().ok();
                if next.is_some() {
                    counters.queued.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
        let ran = Instant::now();
        let outcome = match begun {
            Ok(()) => with_conn(|conn| match conn.batch_execute("COMMIT") {
                Ok(()) => Ok(()),
                Err(err) => {
                    let _ = conn.batch_execute("ROLLBACK");
                    Err(err)
                }
            }),
            Err(err) => Err(err),
        };
        if let (Ok(()), Some(checkpointer)) = (&outcome, checkpointer) {
            restart_long_wal(checkpointer, counters);
            checkpointer.wake();
        }
        let committed = Instant::now();
        counters.add_time(&counters.running_nanos, ran - started);
        counters.add_time(&counters.committing_nanos, committed - ran);
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters
            .calls
            .fetch_add(answers.len() as u64, Ordering::Relaxed);
        let failure = outcome.err().map(|err| {
            tracing::warn!(error = %err, calls = answers.len(), "a batch failed to commit");
            StoreError::Unavailable(format!("the database could not commit: {err}"))
        });
        for answer in answers {
            answer(failure.as_ref());
        }
    }
}

/// Between two batches: when the WAL has grown past [`WAL_RESTART_FRAMES`], finishes the
/// checkpoint on the writer's connection, so that the next batch starts the WAL over.
fn restart_long_wal(checkpointer: &Checkpointer, counters: &Counters) {
    if checkpointer.wal_frames() <= WAL_RESTART_FRAMES {
        return;
    }
    match with_conn(checkpoint::passive) {
        Ok(Some(done)) => {
            if done.complete {
                counters.wal_restarts.fetch_add(1, Ordering::Relaxed);
                checkpointer.set_wal_frames(0);
            }
        }
        Ok(None) => {}
        Err(err) => tracing::warn!(error = %err, "the writer's WAL checkpoint failed"),
    }
}

fn with_conn<T>(f: impl FnOnce(&mut DbConnection) -> T) -> T {
    BATCH.with(|b| {
        let mut slot = b.borrow_mut();
        match slot.as_mut() {
            Some(conn) => f(conn),
            None => unreachable_batch(),
        }
    })
}

#[allow(clippy::panic)] // Only the writer thread calls `with_conn`, after putting its connection in.
fn unreachable_batch() -> ! {
    panic!("the writer thread has no connection")
}

/// Runs `f` on the batch's connection in its own savepoint: its writes stay when it succeeds
/// and are undone alone when it fails or panics. `None` when this thread runs no batch.
pub(crate) fn write_in_batch<T>(
    f: impl FnOnce(&mut DbConnection) -> StoreResult<T>,
) -> Option<StoreResult<T>> {
    BATCH.with(|b| {
        let mut slot = b.try_borrow_mut().ok()?;
        let conn = slot.as_mut()?;
        Some(savepoint(conn, f))
    })
}

/// Runs `f` on the batch's connection (reads see the batch's writes so far). `None` when this
/// thread runs no batch.
pub(crate) fn read_in_batch<T>(
    f: impl FnOnce(&mut DbConnection) -> StoreResult<T>,
) -> Option<StoreResult<T>> {
    BATCH.with(|b| {
        let mut slot = b.try_borrow_mut().ok()?;
        let conn = slot.as_mut()?;
        Some(f(conn))
    })
}

fn savepoint<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> StoreResult<T>,
) -> StoreResult<T> {
    conn.batch_execute("SAVEPOINT call")?;
    let outcome = catch_unwind(AssertUnwindSafe(|| f(conn)));
    match outcome {
        Ok(Ok(value)) => {
            conn.batch_execute("RELEASE call")?;
            Ok(value)
        }
        Ok(Err(err)) => {
            undo(conn);
            Err(err)
        }
        Err(panic) => {
            undo(conn);
            resume_unwind(panic)
        }
    }
}

fn undo(conn: &mut DbConnection) {
    if let Err(err) = conn.batch_execute("ROLLBACK TO call; RELEASE call") {
        tracing::error!(error = %err, "rolling back a call's savepoint failed");
    }
}

/// Wraps `f` as a job whose answer goes to `reply` after the batch commits. A job that reaches
/// the writer after `deadline` (it queued behind batches that waited for a lock held elsewhere,
/// or behind a stalled disk) does not run and answers [`StoreError::Unavailable`]: its caller
/// has waited as long as it should.
pub(crate) fn job<T, F>(
    f: F,
    reply: tokio::sync::oneshot::Sender<StoreResult<T>>,
    deadline: Instant,
) -> Job
where
    T: Send + 'static,
    F: FnOnce(&Store) -> StoreResult<T> + Send + 'static,
{
    Box::new(move |store: &Store| {
        if Instant::now() > deadline {
            let _ = reply.send(Err(StoreError::Unavailable(
                "the write waited too long for the writer".into(),
            )));
            return Box::new(|_| ());
        }
        // The whole call in a savepoint of its own too, so that a panic anywhere in it (also
        // between two of its store operations) undoes everything it wrote.
        let marked = with_conn(|conn| conn.batch_execute("SAVEPOINT job"));
        if let Err(err) = marked {
            let _ = reply.send(Err(err.into()));
            return Box::new(|_| ());
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| f(store)));
        let end = if outcome.is_ok() {
            "RELEASE job"
        } else {
            "ROLLBACK TO job; RELEASE job"
        };
        if let Err(err) = with_conn(|conn| conn.batch_execute(end)) {
            tracing::error!(error = %err, "ending a call's savepoint failed");
        }
        let result = outcome.unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = %what, "a call panicked on the writer; its writes were undone");
            Err(StoreError::Corrupt(format!(
                "the call failed unexpectedly: {what}"
            )))
        });
        Box::new(move |failure: Option<&StoreError>| {
            let answer = match failure {
                None => result,
                Some(StoreError::Unavailable(msg)) => Err(StoreError::Unavailable(msg.clone())),
                Some(other) => Err(StoreError::Unavailable(other.to_string())),
            };
            let _ = reply.send(answer);
        })
    })
}
