//! The one error type of `loyalty-store`.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

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
    /// Too many redemption attempts for this member in the last minute.
    #[error("too many redemption attempts: at most {limit} per minute for a member; retry later")]
    RateLimited {
        /// The program's limit per minute.
        limit: u32,
    },
    /// The database could not be reached in time (pool exhausted, server down).
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
            other => StoreError::Database(other),
        }
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(err: r2d2::Error) -> Self {
        StoreError::Unavailable(err.to_string())
    }
}

impl StoreError {
    /// Whether the whole transaction may simply be run again (serialization failure, deadlock,
    /// SQLite busy).
    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            StoreError::Database(DieselError::DatabaseError(kind, info)) => {
                matches!(kind, DatabaseErrorKind::SerializationFailure)
                    || info.message().contains("deadlock detected")
                    || info.message().contains("database is locked")
            }
            _ => false,
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

/// Shorthand used throughout the crate.
pub type StoreResult<T> = Result<T, StoreError>;
