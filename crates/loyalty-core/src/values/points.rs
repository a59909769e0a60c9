//! [`Points`]: a non-negative, bounded, exact quantity of loyalty points.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

use super::decimal;
use crate::error::{Error, Result};

/// A quantity of points: never negative, at most [`MAX_AMOUNT`](super::MAX_AMOUNT), at most
/// [`MAX_SCALE`](super::MAX_SCALE) decimal places.
///
/// Debits and credits are expressed by what is done with a `Points` value (an entry's kind),
/// never by a negative quantity.
///
/// ```
/// use loyalty_core::Points;
/// let fifty: Points = "50".parse()?;
/// assert_eq!(fifty.to_string(), "50");
/// assert!("-1".parse::<Points>().is_err());
/// assert!("0.00001".parse::<Points>().is_err());
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "Decimal", into = "Decimal")
)]
pub struct Points(Decimal);

impl Points {
    /// No points.
    pub const ZERO: Points = Points(Decimal::ZERO);

    /// Validates a decimal as a quantity of points.
    ///
    /// ```
    /// use loyalty_core::Points;
    /// use rust_decimal::Decimal;
    /// assert_eq!(Points::new(Decimal::new(1250, 2))?.value(), Decimal::new(125, 1));
    /// assert!(Points::new(Decimal::new(-1, 0)).is_err());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn new(value: Decimal) -> Result<Self> {
        decimal::amount("points", value).map(Points)
    }

    /// A whole number of points.
    ///
    /// ```
    /// use loyalty_core::Points;
    /// assert_eq!(Points::whole(50)?.to_string(), "50");
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn whole(value: u64) -> Result<Self> {
        Self::new(Decimal::from(value))
    }

    /// The exact decimal value.
    ///
    /// ```
    /// use loyalty_core::Points;
    /// use rust_decimal::Decimal;
    /// let points: Points = "5.670".parse()?;
    /// assert_eq!(points.value(), Decimal::new(567, 2));
    /// assert_eq!(points.value().to_string(), "5.67"); // stored without trailing zeros
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn value(self) -> Decimal {
        self.0
    }

    /// Whether this is zero points.
    ///
    /// ```
    /// use loyalty_core::Points;
    /// assert!(Points::ZERO.is_zero());
    /// assert!("0.00".parse::<Points>()?.is_zero());
    /// assert!(!Points::whole(50)?.is_zero());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// Adds, refusing to leave the accepted range.
    ///
    /// ```
    /// use loyalty_core::Points;
    /// let sum = Points::whole(50)?.checked_add(Points::whole(25)?)?;
    /// assert_eq!(sum, Points::whole(75)?);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn checked_add(self, other: Points) -> Result<Points> {
        self.0
            .checked_add(other.0)
            .ok_or(Error::Overflow("points"))
            .and_then(Points::new)
    }

    /// Subtracts, or returns `None` when `other` is larger.
    ///
    /// ```
    /// use loyalty_core::Points;
    /// assert_eq!(Points::whole(50)?.checked_sub(Points::whole(30)?), Some(Points::whole(20)?));
    /// assert_eq!(Points::whole(30)?.checked_sub(Points::whole(50)?), None);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn checked_sub(self, other: Points) -> Option<Points> {
        if other.0 > self.0 {
            None
        } else {
            Some(Points((self.0 - other.0).normalize()))
        }
    }

    /// Subtracts, stopping at zero.
    ///
    /// ```
    /// use loyalty_core::Points;
    /// assert_eq!(Points::whole(30)?.saturating_sub(Points::whole(50)?), Points::ZERO);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn saturating_sub(self, other: Points) -> Points {
        self.checked_sub(other).unwrap_or(Points::ZERO)
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for Points {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Points::new(decimal::parse("points", s)?)
    }
}

impl TryFrom<Decimal> for Points {
    type Error = Error;

    fn try_from(value: Decimal) -> Result<Self> {
        Points::new(value)
    }
}

impl From<Points> for Decimal {
    fn from(value: Points) -> Self {
        value.0
    }
}

impl std::iter::Sum<Points> for Result<Points> {
    fn sum<I: Iterator<Item = Points>>(mut iter: I) -> Self {
        iter.try_fold(Points::ZERO, Points::checked_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn negative_points_are_rejected() {
        assert_eq!(
            Points::new(dec!(-1)),
            Err(Error::Negative {
                what: "points",
                value: dec!(-1)
            })
        );
    }

    #[test]
    fn points_above_the_maximum_are_rejected() {
        assert!(matches!(
            Points::new(dec!(100_000_000_000_001)),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn points_with_five_decimal_places_are_rejected() {
        assert!(matches!(
            Points::new(dec!(1.00001)),
            Err(Error::TooPrecise { .. })
        ));
    }

    #[test]
    fn trailing_zeros_do_not_count_as_precision() {
        assert_eq!(Points::new(dec!(1.500000)).unwrap().value(), dec!(1.5));
    }

    #[test]
    fn non_numeric_points_are_rejected() {
        assert!(matches!(
            "abc".parse::<Points>(),
            Err(Error::NotADecimal { .. })
        ));
    }

    #[test]
    fn adding_past_the_maximum_is_an_error_not_a_wrap() {
        let max = Points::new(crate::values::MAX_AMOUNT).unwrap();
        assert!(max.checked_add(Points::whole(1).unwrap()).is_err());
    }

    #[test]
    fn summing_points_adds_exactly() {
        let total: Result<Points> = [dec!(0.1), dec!(0.2)]
            .into_iter()
            .map(|d| Points::new(d).unwrap())
            .sum();
        assert_eq!(total.unwrap().value(), dec!(0.3));
    }
}
