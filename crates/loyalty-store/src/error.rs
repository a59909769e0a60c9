//! The one error type of `loyalty-store`.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use loyalty_core::ErrorKind;
use serde::{Deserialize, Serialize};

/// Everything a store operation can fail with. The gRPC layer maps each variant to one status
/// code in one place; the messages are written for the caller.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A loyalty rule refused the operation, or a value was malformed (see
    /// [`loyalty_core::ErrorKind`]).
    #[error(transparent)]
    Rule(#[from] loyalty_core::Error),
    /// Malformed input that `loyalty-core` does not judge (an unknown filter, a bad cursor).
    #[error("{0}")]
    InvalidArgument(String),
    /// The named thing does not exist in the caller's tenant.
    #[error("{what} {id:?} not found")]
    NotFound {
        /// What was looked up ("member", "program", ...).
        what: &'static str,
        /// The id, card number or reference that was looked up.
        id: String,
    },
    /// A unique thing already exists (card number, customer id, program name, membership).
    #[error("{0}")]
    AlreadyExists(String),
    /// The idempotency key was already used for a different request.
    #[error(
        "idempotency key {key:?} was already used for a different request ({operation}); use a new key for a new request"
    )]
    IdempotencyConflict {
        /// The key.
        key: String,
        /// The operation the key was first used for.
        operation: String,
    },
    /// The operation is refused in the current state (program disabled, member deactivated,
    /// hold already resolved, ...).
    #[error("{0}")]
    FailedPrecondition(String),
    /// The stored refusal of an earlier call with the same idempotency key and request,
    /// replayed: the call was refused by the rules then and is refused the same way now,
    /// whatever changed since.
    #[error("{}", .0.message)]
    Refused(Refusal),
    /// Too many redemption attempts for this member in the last minute.
    #[error("too many redemption attempts: at most {limit} per minute for a member; retry later")]
    RateLimited {
        /// The program's limit per minute.
        limit: u32,
    },
    /// The database could not be reached in time (pool exhausted, server down, connection lost,
    /// SQLite's write lock held elsewhere for longer than the timeout).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Stored data violates an invariant (should never happen; reported, never hidden).
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// A database error that is not the caller's fault.
    #[error("database error: {0}")]
    Database(DieselError),
    /// Running migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
}

impl From<DieselError> for StoreError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::NotFound => StoreError::NotFound {
                what: "record",
                id: String::new(),
            },
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => StoreError::Unavailable(format!(
                "the connection to the database was lost: {}",
                info.message()
            )),
            // SQLITE_BUSY and SQLITE_LOCKED: the busy timeout ran out while another connection
            // (often another process) held the lock.
            DieselError::DatabaseError(_, info) if is_sqlite_lock_message(info.message()) => {
                StoreError::Unavailable(format!(
                    "the database stayed locked by another writer: {}",
                    info.message()
                ))
            }
            // A SUM beyond 64 bits: SQLite's "integer overflow", PostgreSQL's "bigint out of
            // range" (casting a sum back to BIGINT). Only figures over many balances get there
            // (each balance is bounded), so it is the figure asked for, not a fault to retry.
            DieselError::DatabaseError(_, info) if is_overflow_message(info.message()) => {
                StoreError::FailedPrecondition(
                    "a total is too large to compute (beyond 9.2 x 10^14 points or units of \
                     money in one figure)"
                        .into(),
                )
            }
            other => StoreError::Database(other),
        }
    }
}

fn is_overflow_message(message: &str) -> bool {
    message.starts_with("integer overflow") || message.starts_with("bigint out of range")
}

impl From<r2d2::Error> for StoreError {
    fn from(err: r2d2::Error) -> Self {
        StoreError::Unavailable(err.to_string())
    }
}

impl StoreError {
    /// Whether the whole transaction may simply be run again (serialization failure,
    /// deadlock). SQLite's busy error is not: it comes after waiting the whole busy timeout for
    /// the lock, and is [`StoreError::Unavailable`].
    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            StoreError::Database(DieselError::DatabaseError(kind, info)) => {
                matches!(kind, DatabaseErrorKind::SerializationFailure)
                    || info.message().contains("deadlock detected")
            }
            _ => false,
        }
    }

    /// The refusal this error is, if the loyalty rules refused the call (FAILED_PRECONDITION:
    /// insufficient points, a disabled program, a resolved hold, ...). This one function
    /// decides what an idempotency key records besides a result: a refusal is an answer about
    /// the request in the state it met, so its retry gets the same answer even after the state
    /// changed. Everything else is not recorded, so a retry with the same key may succeed:
    /// malformed input (`InvalidArgument`, a core `InvalidInput` error), something not found
    /// or already existing (it may be created or removed meanwhile), a different request under
    /// the key (`IdempotencyConflict`), the rate limit (`RateLimited`: it asks the caller to
    /// retry later, and recording it would make that retry fail forever), and failures of the
    /// database or the server (`Unavailable`, `Database`, `Corrupt`, `Migration`).
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            StoreError::Rule(rule) => match rule.kind() {
                ErrorKind::RuleViolated => Some(Refusal {
                    reason: rule_reason(rule),
                    message: rule.to_string(),
                }),
                ErrorKind::InvalidInput => None,
            },
            StoreError::FailedPrecondition(message) => Some(Refusal {
                reason: "FAILED_PRECONDITION".to_owned(),
                message: message.clone(),
            }),
            StoreError::Refused(refusal) => Some(refusal.clone()),
            StoreError::InvalidArgument(_)
            | StoreError::NotFound { .. }
            | StoreError::AlreadyExists(_)
            | StoreError::IdempotencyConflict { .. }
            | StoreError::RateLimited { .. }
            | StoreError::Unavailable(_)
            | StoreError::Corrupt(_)
            | StoreError::Database(_)
            | StoreError::Migration(_) => None,
        }
    }

    /// Whether this is a unique-constraint violation.
    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StoreError::Database(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

/// Whether an error message is SQLite's for SQLITE_BUSY ("database is locked") or
/// SQLITE_LOCKED ("database table is locked"); Diesel reports both with an unknown kind.
fn is_sqlite_lock_message(message: &str) -> bool {
    message.starts_with("database is locked") || message.starts_with("database table is locked")
}

/// A refusal by the loyalty rules, as recorded under an idempotency key and replayed to every
/// retry (see [`StoreError::refusal`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The rule that refused, stable for callers to switch on: `INSUFFICIENT_POINTS`,
    /// `HOLD_ALREADY_RESOLVED`, ... for a `loyalty-core` rule, `FAILED_PRECONDITION` for a
    /// refusal of the store's own (a disabled program, a deactivated member, ...).
    pub reason: String,
    /// The message, as the first call reported it.
    pub message: String,
}

/// The reason of a `loyalty-core` error: its variant name in SCREAMING_SNAKE_CASE
/// (`InsufficientPoints` is `INSUFFICIENT_POINTS`), stable for callers to switch on.
pub fn rule_reason(err: &loyalty_core::Error) -> String {
    let debug = format!("{err:?}");
    let name: String = debug.chars().take_while(|c| c.is_alphanumeric()).collect();
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Shorthand used throughout the crate.
pub type StoreResult<T> = Result<T, StoreError>;
