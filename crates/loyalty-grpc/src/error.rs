//! The one error type of `loyalty-grpc` and its one mapping to gRPC status codes.

use loyalty_core::ErrorKind;
use loyalty_store::StoreError;
use loyalty_store::error::rule_reason;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A rule of `loyalty-core` refused a value while converting the request.
    #[error(transparent)]
    Rule(#[from] loyalty_core::Error),
    /// A request field is missing or malformed.
    #[error("invalid {field}: {reason}")]
    BadField {
        /// The field's name as in the proto.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// No valid credential was presented.
    #[error("{0}")]
    Unauthenticated(String),
    /// The credential may not do this.
    #[error("{0}")]
    PermissionDenied(String),
    /// A blocking task died (a bug); reported as INTERNAL.
    #[error("internal task failed: {0}")]
    Task(String),
}

impl ApiError {
    /// A malformed field. A reason that already starts with `invalid {field}: ` (the display
    /// of a `loyalty-core` error such as `invalid bill: ...`) loses that prefix, so the message
    /// says it once: `invalid bill: the bill total must be greater than zero`.
    pub fn field(field: &'static str, reason: impl Into<String>) -> ApiError {
        ApiError::BadField {
            field,
            reason: without_field_prefix(field, reason.into()),
        }
    }
}

/// `reason` without a leading `invalid {name}: `, where `name` is the field's last segment
/// with underscores as spaces ("bill.lines.category" -> "category", "idempotency_key" ->
/// "idempotency key").
fn without_field_prefix(field: &str, reason: String) -> String {
    let name = field.rsplit('.').next().unwrap_or(field);
    for spelled in [name.to_owned(), name.replace('_', " ")] {
        if let Some(rest) = reason.strip_prefix(&format!("invalid {spelled}: ")) {
            return rest.to_owned();
        }
    }
    reason
}

fn with_info(code: Code, message: String, reason: &str) -> Status {
    let details =
        ErrorDetails::with_error_info(reason, "loyalty", std::collections::HashMap::new());
    Status::with_error_details(code, message, details)
}

/// The status of a rule error; the reason string of its `google.rpc.ErrorInfo` is the rule's
/// name in SCREAMING_SNAKE_CASE ([`rule_reason`]), stable for callers to switch on.
fn rule_status(err: &loyalty_core::Error) -> Status {
    let code = match err.kind() {
        ErrorKind::InvalidInput => Code::InvalidArgument,
        ErrorKind::RuleViolated => Code::FailedPrecondition,
    };
    with_info(code, err.to_string(), &rule_reason(err))
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Status {
        match err {
            ApiError::Rule(rule) => rule_status(&rule),
            ApiError::BadField { field, reason } => {
                let details = ErrorDetails::with_bad_request_violation(field, reason.clone());
                Status::with_error_details(
                    Code::InvalidArgument,
                    format!("invalid {field}: {reason}"),
                    details,
                )
            }
            ApiError::Unauthenticated(m) => Status::unauthenticated(m),
            ApiError::PermissionDenied(m) => Status::permission_denied(m),
            ApiError::Store(store) => store_status(store),
            ApiError::Task(cause) => internal(&cause),
        }
    }
}

/// The status of a store error. A refusal by the rules (FAILED_PRECONDITION) is mapped from
/// [`StoreError::refusal`], the one record of it, so a refusal replayed from its idempotency
/// key has the same code, message and reason as the first.
fn store_status(store: StoreError) -> Status {
    if let Some(refusal) = store.refusal() {
        return with_info(Code::FailedPrecondition, refusal.message, &refusal.reason);
    }
    match store {
        // Only malformed values are left here: broken rules are refusals.
        StoreError::Rule(rule) => rule_status(&rule),
        StoreError::InvalidArgument(m) => Status::invalid_argument(m),
        e @ StoreError::NotFound { .. } => with_info(Code::NotFound, e.to_string(), "NOT_FOUND"),
        StoreError::AlreadyExists(m) => with_info(Code::AlreadyExists, m, "ALREADY_EXISTS"),
        e @ StoreError::IdempotencyConflict { .. } => {
            with_info(Code::AlreadyExists, e.to_string(), "IDEMPOTENCY_KEY_REUSED")
        }
        e @ StoreError::RateLimited { .. } => {
            with_info(Code::ResourceExhausted, e.to_string(), "RATE_LIMITED")
        }
        StoreError::Unavailable(cause) => {
            tracing::warn!(%cause, "database unavailable");
            Status::unavailable(
                "the database is unreachable; retry (with the same idempotency key for a write)",
            )
        }
        // `FailedPrecondition` and `Refused` are refusals, answered above.
        other @ (StoreError::FailedPrecondition(_)
        | StoreError::Refused(_)
        | StoreError::Corrupt(_)
        | StoreError::Database(_)
        | StoreError::Migration(_)) => internal(&other),
    }
}

/// Logs the cause with context and returns an INTERNAL status that reveals nothing of it.
fn internal(cause: &dyn std::fmt::Display) -> Status {
    let incident = uuid::Uuid::new_v4();
    tracing::error!(%incident, %cause, "internal error");
    Status::internal(format!(
        "internal error (incident {incident}); retry with the same idempotency key"
    ))
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_redemption_rule_is_a_failed_precondition_naming_the_rule() {
        let err = loyalty_core::Error::ExceedsBillShare {
            requested: 600.into(),
            share: 50.into(),
            max_points: 500.into(),
        };
        let status = Status::from(ApiError::Rule(err));
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert!(
            status.message().contains("exceeds 50% of the bill"),
            "{}",
            status.message()
        );
        assert_eq!(
            status.get_details_error_info().map(|i| i.reason),
            Some("EXCEEDS_BILL_SHARE".to_owned())
        );
    }

    #[test]
    fn a_replayed_refusal_has_the_code_message_and_reason_of_the_first() {
        let fresh = |err: StoreError| Status::from(ApiError::Store(err));
        let refusals = [
            StoreError::Rule(loyalty_core::Error::InsufficientPoints {
                requested: 56.into(),
                available: 55.into(),
            }),
            StoreError::FailedPrecondition("program \"Shop\" is disabled".into()),
        ];
        for err in refusals {
            let replayed = err.refusal().map(StoreError::Refused).unwrap();
            let (first, again) = (fresh(err), fresh(replayed));
            assert_eq!(first.code(), Code::FailedPrecondition);
            assert_eq!(again.code(), first.code());
            assert_eq!(again.message(), first.message());
            assert_eq!(
                again.get_details_error_info().map(|i| i.reason),
                first.get_details_error_info().map(|i| i.reason)
            );
        }
    }

    #[test]
    fn a_field_whose_reason_repeats_the_invalid_prefix_says_it_once() {
        let core =
            loyalty_core::Error::InvalidBill("the bill total must be greater than zero".into());
        let status = Status::from(ApiError::field("bill", core.to_string()));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "invalid bill: the bill total must be greater than zero"
        );
        let key = loyalty_core::Error::InvalidIdempotencyKey { reason: "is empty" };
        assert_eq!(
            ApiError::field("idempotency_key", key.to_string()).to_string(),
            "invalid idempotency_key: is empty"
        );
        let category = loyalty_core::Error::InvalidField {
            what: "category",
            reason: "is too long".into(),
        };
        assert_eq!(
            ApiError::field("bill.lines.category", category.to_string()).to_string(),
            "invalid bill.lines.category: is too long"
        );
        // A reason that merely starts alike is kept whole.
        assert_eq!(
            ApiError::field("bill", "invalid billing date").to_string(),
            "invalid bill: invalid billing date"
        );
    }

    #[test]
    fn a_malformed_value_is_an_invalid_argument() {
        let status = Status::from(ApiError::Rule(loyalty_core::Error::InvalidCurrency(
            "E".into(),
        )));
        assert_eq!(status.code(), Code::InvalidArgument);
    }

    #[test]
    fn an_unknown_member_is_not_found() {
        let status = Status::from(ApiError::Store(StoreError::NotFound {
            what: "member",
            id: "m1".into(),
        }));
        assert_eq!(status.code(), Code::NotFound);
    }

    #[test]
    fn a_rate_limit_is_resource_exhausted() {
        let status = Status::from(ApiError::Store(StoreError::RateLimited { limit: 5 }));
        assert_eq!(status.code(), Code::ResourceExhausted);
    }

    #[test]
    fn an_internal_error_hides_its_cause() {
        let status = Status::from(ApiError::Store(StoreError::Corrupt(
            "secret table x".into(),
        )));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret"));
    }
}
