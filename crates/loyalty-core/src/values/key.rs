//! [`IdempotencyKey`]: the caller-chosen key that makes a retried call harmless.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A caller-chosen idempotency key: 1 to 128 characters from letters, digits and `-_.:/`.
/// UUIDs and keys such as `order-123:earn` fit. Keys are case-sensitive.
///
/// ```
/// use loyalty_core::IdempotencyKey;
/// let key: IdempotencyKey = "order-123:earn".parse()?;
/// assert_eq!(key.as_str(), "order-123:earn");
/// assert!("".parse::<IdempotencyKey>().is_err());
/// assert!("has space".parse::<IdempotencyKey>().is_err());
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Longest accepted key.
    pub const MAX_LEN: usize = 128;

    /// Validates a key.
    ///
    /// ```
    /// use loyalty_core::IdempotencyKey;
    /// let key = IdempotencyKey::new("ORDER123:earn")?;
    /// assert_eq!(key.to_string(), "ORDER123:earn");
    /// assert_ne!(key, IdempotencyKey::new("order123:earn")?); // case-sensitive
    /// assert!(IdempotencyKey::new("ORDER123 earn").is_err());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn new(input: &str) -> Result<Self> {
        if input.is_empty() {
            return Err(Error::InvalidIdempotencyKey {
                reason: "it must not be empty",
            });
        }
        if input.len() > Self::MAX_LEN {
            return Err(Error::InvalidIdempotencyKey {
                reason: "it must have at most 128 characters",
            });
        }
        if !input
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(c))
        {
            return Err(Error::InvalidIdempotencyKey {
                reason: "only letters, digits and - _ . : / are allowed",
            });
        }
        Ok(IdempotencyKey(input.to_owned()))
    }

    /// The key.
    ///
    /// ```
    /// use loyalty_core::IdempotencyKey;
    /// let key = IdempotencyKey::new("ORDER123:earn")?;
    /// assert_eq!(key.as_str(), "ORDER123:earn");
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for IdempotencyKey {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        IdempotencyKey::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_of_129_characters_is_rejected() {
        assert!(IdempotencyKey::new(&"k".repeat(129)).is_err());
    }

    #[test]
    fn a_uuid_is_a_valid_key() {
        assert!(IdempotencyKey::new("0b6f2a1e-9c1d-4e57-8f0a-2d7e5b9c1a33").is_ok());
    }
}
