//! The one error type of `loyalty-core`.
//!
//! Every rule that can refuse something refuses it with a variant of [`Error`]; the message says
//! which rule failed and with which numbers, so that a caller (or a gRPC status built from it)
//! can act on it. [`Error::kind`] sorts the variants into bad input and broken business rules,
//! which is all a transport needs to pick a status code.

use rust_decimal::Decimal;

/// How an [`Error`] should be reported to a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input itself is malformed or out of range (gRPC `INVALID_ARGUMENT`).
    InvalidInput,
    /// The input is well formed but a business rule refuses it (gRPC `FAILED_PRECONDITION`).
    RuleViolated,
}

/// Everything `loyalty-core` can refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    // ----- malformed values (InvalidInput) -----
    /// A decimal string did not parse.
    #[error("{what} is not a valid decimal number: {input:?}")]
    NotADecimal {
        /// Which value was being parsed.
        what: &'static str,
        /// The rejected input.
        input: String,
    },
    /// A value that must be zero or more was negative.
    #[error("{what} must not be negative (got {value})")]
    Negative {
        /// Which value.
        what: &'static str,
        /// The rejected value.
        value: Decimal,
    },
    /// A value that must be more than zero was zero or negative.
    #[error("{what} must be greater than zero (got {value})")]
    NotPositive {
        /// Which value.
        what: &'static str,
        /// The rejected value.
        value: Decimal,
    },
    /// A value exceeded its upper bound.
    #[error("{what} {value} exceeds the maximum of {max}")]
    TooLarge {
        /// Which value.
        what: &'static str,
        /// The rejected value.
        value: Decimal,
        /// The largest accepted value.
        max: Decimal,
    },
    /// A value was below its lower bound (other than zero/negative checks).
    #[error("{what} {value} is below the minimum of {min}")]
    TooSmall {
        /// Which value.
        what: &'static str,
        /// The rejected value.
        value: Decimal,
        /// The smallest accepted value.
        min: Decimal,
    },
    /// A value had more decimal places than allowed.
    #[error("{what} {value} has more than {max_decimals} decimal places")]
    TooPrecise {
        /// Which value.
        what: &'static str,
        /// The rejected value.
        value: Decimal,
        /// How many decimal places are accepted.
        max_decimals: u32,
    },
    /// A currency code was not three ASCII letters.
    #[error("invalid currency code {0:?}: expected three letters such as \"EUR\"")]
    InvalidCurrency(String),
    /// Two amounts in different currencies were combined.
    #[error("currency mismatch: expected {expected}, got {got}")]
    CurrencyMismatch {
        /// The currency of the program or bill.
        expected: String,
        /// The currency that was supplied.
        got: String,
    },
    /// A card number was malformed.
    #[error("invalid card number {input:?}: {reason}")]
    InvalidCardNumber {
        /// The rejected input.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An idempotency key was malformed.
    #[error("invalid idempotency key: {reason}")]
    InvalidIdempotencyKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A name, code or identifier field was malformed.
    #[error("invalid {what}: {reason}")]
    InvalidField {
        /// Which field.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A program configuration contradicts itself.
    #[error("invalid program configuration: {0}")]
    InvalidConfig(String),
    /// A bill was malformed (no lines, bad amounts, ...).
    #[error("invalid bill: {0}")]
    InvalidBill(String),
    /// Arithmetic left the range that amounts may take.
    #[error("arithmetic overflow while computing {0}")]
    Overflow(&'static str),

    // ----- broken business rules (RuleViolated) -----
    /// A redemption asked for fewer points than the program's minimum.
    #[error("redemption of {requested} points is below the minimum of {minimum} points")]
    BelowMinimumRedemption {
        /// Points requested.
        requested: Decimal,
        /// The program's minimum.
        minimum: Decimal,
    },
    /// A redemption would pay more than the allowed share of the bill.
    #[error(
        "redemption of {requested} points exceeds {share}% of the bill (max {max_points} points)"
    )]
    ExceedsBillShare {
        /// Points requested.
        requested: Decimal,
        /// The allowed share in percent.
        share: Decimal,
        /// The most points the share allows.
        max_points: Decimal,
    },
    /// A redemption would exceed the program's maximum points per bill.
    #[error(
        "redemption of {requested} points exceeds the maximum of {max_points} points per bill ({already} already redeemed on this bill)"
    )]
    ExceedsPointsPerBill {
        /// Points requested.
        requested: Decimal,
        /// The program's maximum per bill.
        max_points: Decimal,
        /// Points already redeemed on the same bill.
        already: Decimal,
    },
    /// Not enough spendable points.
    #[error("insufficient points: {requested} requested, {available} available")]
    InsufficientPoints {
        /// Points requested.
        requested: Decimal,
        /// Points available to spend.
        available: Decimal,
    },
    /// A redemption was requested whose money value would be zero.
    #[error("redemption of {requested} points is worth nothing at the program's conversion rate")]
    WorthlessRedemption {
        /// Points requested.
        requested: Decimal,
    },
    /// An action has no rule in the program.
    #[error("the program has no rule for action {0:?}")]
    UnknownAction(String),
    /// A reward cannot be redeemed (inactive, wrong program ...).
    #[error("reward is not available: {0}")]
    RewardUnavailable(String),
    /// A hold was already captured, released or expired.
    #[error("hold is already {status}; a hold is resolved exactly once")]
    HoldAlreadyResolved {
        /// The state the hold is in.
        status: &'static str,
    },
    /// A hold's time-to-live has passed, so it can no longer be captured.
    #[error("hold expired at {expires_at}; it can no longer be captured")]
    HoldExpired {
        /// When the hold expired.
        expires_at: String,
    },
    /// A hold has not expired yet, so the expiry sweep may not release it.
    #[error("hold does not expire until {expires_at}")]
    HoldNotExpired {
        /// When the hold will expire.
        expires_at: String,
    },
    /// A capture asked for more than the hold holds.
    #[error("capture of {requested} points exceeds the {held} points held")]
    CaptureExceedsHold {
        /// Points requested.
        requested: Decimal,
        /// Points held.
        held: Decimal,
    },
    /// A return or cancellation asked to reverse more of a bill than remains.
    #[error(
        "cannot reverse {requested} of the bill: only {remaining} of {total} is left to reverse"
    )]
    ReversalExceedsBill {
        /// Amount requested to reverse.
        requested: Decimal,
        /// Amount of the bill not yet reversed.
        remaining: Decimal,
        /// The bill's total.
        total: Decimal,
    },
    /// A member tried to refer themselves.
    #[error("a member cannot refer themselves")]
    SelfReferral,
    /// Linking the referrer would create a referral cycle.
    #[error("linking this referrer would create a referral cycle")]
    ReferralCycle,
    /// A bill falls outside what the program accepts (e.g. zero after discounts).
    #[error("{0}")]
    Precondition(String),
}

impl Error {
    /// Whether the error is bad input or a broken business rule.
    ///
    /// ```
    /// use loyalty_core::{Error, ErrorKind};
    /// assert_eq!(Error::SelfReferral.kind(), ErrorKind::RuleViolated);
    /// assert_eq!(Error::InvalidCurrency("E".into()).kind(), ErrorKind::InvalidInput);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotADecimal { .. }
            | Error::Negative { .. }
            | Error::NotPositive { .. }
            | Error::TooLarge { .. }
            | Error::TooSmall { .. }
            | Error::TooPrecise { .. }
            | Error::InvalidCurrency(_)
            | Error::CurrencyMismatch { .. }
            | Error::InvalidCardNumber { .. }
            | Error::InvalidIdempotencyKey { .. }
            | Error::InvalidField { .. }
            | Error::InvalidConfig(_)
            | Error::InvalidBill(_)
            | Error::Overflow(_) => ErrorKind::InvalidInput,
            Error::BelowMinimumRedemption { .. }
            | Error::ExceedsBillShare { .. }
            | Error::ExceedsPointsPerBill { .. }
            | Error::InsufficientPoints { .. }
            | Error::WorthlessRedemption { .. }
            | Error::UnknownAction(_)
            | Error::RewardUnavailable(_)
            | Error::HoldAlreadyResolved { .. }
            | Error::HoldExpired { .. }
            | Error::HoldNotExpired { .. }
            | Error::CaptureExceedsHold { .. }
            | Error::ReversalExceedsBill { .. }
            | Error::SelfReferral
            | Error::ReferralCycle
            | Error::Precondition(_) => ErrorKind::RuleViolated,
        }
    }
}

/// How many characters of a caller's input an error message quotes.
pub const EXCERPT_CHARS: usize = 32;

/// What an error message may quote of a caller's input: its first [`EXCERPT_CHARS`]
/// characters, with "…" when there were more, so that no message echoes an unbounded input.
///
/// ```
/// use loyalty_core::error::excerpt;
/// assert_eq!(excerpt("12.5x"), "12.5x");
/// assert_eq!(excerpt(&"9".repeat(100_000)), format!("{}…", "9".repeat(32)));
/// ```
pub fn excerpt(input: &str) -> String {
    match input.char_indices().nth(EXCERPT_CHARS) {
        Some((end, _)) => format!("{}…", &input[..end]),
        None => input.to_owned(),
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
