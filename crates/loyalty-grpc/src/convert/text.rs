//! Text fields from the wire: the one place where every free-text string of a request is
//! checked (trimmed, no control characters, at most its documented length), and where the
//! limits on strings and lists live. The limits are documented in the proto comments and in
//! the README's API section; a value over its limit is INVALID_ARGUMENT and its error message
//! never quotes more than a short prefix of what was sent ([`quoted`]).

use loyalty_core::error::excerpt;

use crate::error::{ApiError, ApiResult};

/// Names: tenants, programs, rewards, campaigns, members.
pub const MAX_NAME: usize = 200;
/// Reasons of an adjustment or a reversal.
pub const MAX_REASON: usize = 500;
/// Labels of API keys.
pub const MAX_LABEL: usize = 200;
/// A member's external customer id.
pub const MAX_CUSTOMER_ID: usize = 128;
/// A member's phone number.
pub const MAX_PHONE: usize = 32;
/// A member's e-mail address.
pub const MAX_EMAIL: usize = 254;
/// Action names (`feedback`) and tier names (`Gold`).
pub const MAX_SHORT_NAME: usize = 64;
/// A page token.
pub const MAX_PAGE_TOKEN: usize = 128;
/// A decimal string ("12.50"): 28 significant digits, a sign, a point and some blanks.
pub const MAX_DECIMAL: usize = 40;
/// An RFC 3339 time ("2026-11-21T10:00:00.123456+05:30").
pub const MAX_TIME: usize = 64;
/// Entries of a repeated field (program ids, rules, tiers, categories, kinds).
pub const MAX_LIST: usize = 100;

/// A prefix of `value` fit to quote in an error message (see [`excerpt`]), in quotes.
pub fn quoted(value: &str) -> String {
    format!("{:?}", excerpt(value))
}

/// A free-text field, trimmed; empty when it was blank. Control characters (NUL among them)
/// are refused: no field of this API has a use for them, and PostgreSQL cannot store a NUL.
pub fn text(field: &'static str, value: &str, max: usize) -> ApiResult<String> {
    let value = value.trim();
    if value.chars().any(char::is_control) {
        return Err(ApiError::field(
            field,
            "must not contain control characters",
        ));
    }
    if value.chars().count() > max {
        return Err(ApiError::field(
            field,
            format!("must have at most {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// A required free-text field ([`text`], not blank).
pub fn required_text(field: &'static str, value: &str, max: usize) -> ApiResult<String> {
    let value = text(field, value, max)?;
    if value.is_empty() {
        return Err(ApiError::field(field, "is required"));
    }
    Ok(value)
}

/// An optional free-text field ([`text`]; blank = none).
pub fn opt_text(field: &'static str, value: &str, max: usize) -> ApiResult<Option<String>> {
    let value = text(field, value, max)?;
    Ok((!value.is_empty()).then_some(value))
}

/// Refuses a repeated field with more than [`MAX_LIST`] entries.
pub fn short_list<T>(field: &'static str, values: &[T]) -> ApiResult<()> {
    if values.len() > MAX_LIST {
        return Err(ApiError::field(
            field,
            format!("must have at most {MAX_LIST} entries"),
        ));
    }
    Ok(())
}

/// Refuses a value longer than `max` bytes before it is parsed, so that a parse error never
/// quotes, or works through, an unbounded input.
pub fn bounded<'a>(field: &'static str, value: &'a str, max: usize) -> ApiResult<&'a str> {
    if value.len() > max {
        return Err(ApiError::field(
            field,
            format!("{} is too long (at most {max} characters)", quoted(value)),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_byte_is_refused_in_any_text_field() {
        assert!(text("reason", "a\u{0}b", MAX_REASON).is_err());
        assert!(text("reason", "\u{0}", MAX_REASON).is_err());
        assert!(required_text("name", "line\nbreak", MAX_NAME).is_err());
        assert_eq!(
            opt_text("phone", "  +91 98 ", MAX_PHONE)
                .unwrap()
                .as_deref(),
            Some("+91 98")
        );
    }

    #[test]
    fn a_field_over_its_limit_is_refused_and_blanks_do_not_count() {
        assert!(text("name", &"x".repeat(MAX_NAME + 1), MAX_NAME).is_err());
        let padded = format!("  {}  ", "é".repeat(MAX_NAME));
        assert_eq!(
            text("name", &padded, MAX_NAME).unwrap().chars().count(),
            MAX_NAME
        );
        assert!(required_text("name", "   ", MAX_NAME).is_err());
    }

    #[test]
    fn a_long_value_is_quoted_by_a_short_prefix_only() {
        let err = bounded("points", &"9".repeat(100_000), MAX_DECIMAL).unwrap_err();
        let message = err.to_string();
        assert!(message.len() < 200, "{message}");
        assert!(message.contains(&"9".repeat(32)), "{message}");
    }
}
