//! [`CardNumber`]: a loyalty card's number, unique within a tenant.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result, excerpt};

/// A card number: 4 to 32 characters of letters, digits and hyphens, stored upper-case with
/// surrounding blanks removed, so "card-001 " and "CARD-001" are the same card.
///
/// ```
/// use loyalty_core::CardNumber;
/// let card: CardNumber = " card001 ".parse()?;
/// assert_eq!(card.as_str(), "CARD001");
/// assert!("".parse::<CardNumber>().is_err());
/// assert!("CARD 001".parse::<CardNumber>().is_err());
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardNumber(String);

impl CardNumber {
    /// Shortest accepted card number.
    pub const MIN_LEN: usize = 4;
    /// Longest accepted card number.
    pub const MAX_LEN: usize = 32;

    /// Validates and normalizes a card number.
    ///
    /// ```
    /// use loyalty_core::CardNumber;
    /// assert_eq!(CardNumber::new(" card001 ")?, CardNumber::new("CARD001")?);
    /// assert!(CardNumber::new("C01").is_err()); // fewer than 4 characters
    /// assert!(CardNumber::new("CARD_001").is_err());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn new(input: &str) -> Result<Self> {
        let trimmed = input.trim();
        let reject = |reason| {
            Err(Error::InvalidCardNumber {
                input: excerpt(input),
                reason,
            })
        };
        if trimmed.len() < Self::MIN_LEN {
            return reject("it must have at least 4 characters");
        }
        if trimmed.len() > Self::MAX_LEN {
            return reject("it must have at most 32 characters");
        }
        if !trimmed
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return reject("only letters, digits and '-' are allowed");
        }
        Ok(CardNumber(trimmed.to_ascii_uppercase()))
    }

    /// The normalized number.
    ///
    /// ```
    /// use loyalty_core::CardNumber;
    /// assert_eq!(CardNumber::new("card001")?.as_str(), "CARD001");
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CardNumber {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        CardNumber::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_number_longer_than_32_characters_is_rejected() {
        assert!(CardNumber::new(&"9".repeat(33)).is_err());
    }

    #[test]
    fn card_numbers_compare_case_insensitively() {
        assert_eq!(
            CardNumber::new("ab-12").unwrap(),
            CardNumber::new("AB-12").unwrap()
        );
    }
}
