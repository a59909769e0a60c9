//! [`Percent`] and [`Multiplier`].

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

use super::decimal;
use crate::error::{Error, Result};

const HUNDRED: Decimal = Decimal::ONE_HUNDRED;

/// A percentage: zero or more, at most 10 000 %, at most 6 decimal places ("0.5" is 0.5 %).
///
/// Whether a percentage may exceed 100 % depends on what it is for; program validation
/// rejects, for example, a maximum share of the bill above 100 %.
///
/// ```
/// use loyalty_core::Percent;
/// use rust_decimal::Decimal;
/// let medicines: Percent = "1".parse()?;
/// assert_eq!(medicines.of(Decimal::from(500)), Decimal::from(5));
/// assert!("-1".parse::<Percent>().is_err());
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Percent(Decimal);

impl Percent {
    /// The most decimal places a percentage may have.
    pub const MAX_SCALE: u32 = 6;
    /// Zero percent.
    pub const ZERO: Percent = Percent(Decimal::ZERO);
    /// One hundred percent.
    pub const HUNDRED: Percent = Percent(HUNDRED);

    /// Validates a percentage.
    ///
    /// ```
    /// use loyalty_core::Percent;
    /// use rust_decimal::Decimal;
    /// let general = Percent::new(Decimal::from(3))?; // General earns 3%
    /// assert_eq!(general.to_string(), "3%");
    /// assert!(Percent::new(Decimal::from(10_001)).is_err());
    /// assert!(Percent::new(Decimal::new(1, 7)).is_err()); // 7 decimal places
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn new(value: Decimal) -> Result<Self> {
        let what = "percentage";
        if value.is_sign_negative() && !value.is_zero() {
            return Err(Error::Negative { what, value });
        }
        let max = Decimal::from(10_000);
        if value > max {
            return Err(Error::TooLarge { what, value, max });
        }
        let normalized = value.normalize();
        if normalized.scale() > Self::MAX_SCALE {
            return Err(Error::TooPrecise {
                what,
                value,
                max_decimals: Self::MAX_SCALE,
            });
        }
        Ok(Percent(normalized))
    }

    /// The percentage as a number of percent (50 % is `50`).
    ///
    /// ```
    /// use loyalty_core::Percent;
    /// use rust_decimal::Decimal;
    /// let referrer: Percent = "0.5".parse()?;
    /// assert_eq!(referrer.value(), Decimal::new(5, 1));
    /// assert_eq!("50%".parse::<Percent>()?.value(), Decimal::from(50));
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn value(self) -> Decimal {
        self.0
    }

    /// This percentage of an amount, exactly (no rounding).
    ///
    /// ```
    /// use loyalty_core::Percent;
    /// use rust_decimal::Decimal;
    /// let referral: Percent = "0.5".parse()?;
    /// assert_eq!(referral.of(Decimal::from(1000)), Decimal::from(5));
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn of(self, amount: Decimal) -> Decimal {
        // Both factors are bounded (amounts by MAX_AMOUNT, percent by 10 000), so the product
        // fits a Decimal; the division is exact to 28 significant digits.
        amount * self.0 / HUNDRED
    }

    /// Whether this is zero percent.
    ///
    /// ```
    /// use loyalty_core::Percent;
    /// assert!(Percent::ZERO.is_zero());
    /// assert!(!"0.5".parse::<Percent>()?.is_zero());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

impl FromStr for Percent {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Percent::new(decimal::parse(
            "percentage",
            s.trim().trim_end_matches('%'),
        )?)
    }
}

/// A factor applied to points: at least 1 (a multiplier never takes points away), at most 100,
/// at most 4 decimal places. Tiers use it ("Gold earns 1.5x") and so do campaigns ("double
/// points" is 2).
///
/// ```
/// use loyalty_core::Multiplier;
/// use rust_decimal::Decimal;
/// let double: Multiplier = "2".parse()?;
/// assert_eq!(double.extra_on(Decimal::from(50)), Decimal::from(50));
/// assert!("0.5".parse::<Multiplier>().is_err());
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Multiplier(Decimal);

impl Multiplier {
    /// The neutral multiplier.
    pub const ONE: Multiplier = Multiplier(Decimal::ONE);

    /// Validates a multiplier.
    ///
    /// ```
    /// use loyalty_core::Multiplier;
    /// use rust_decimal::Decimal;
    /// let gold = Multiplier::new(Decimal::new(15, 1))?; // Gold earns 1.5x
    /// assert_eq!(gold.to_string(), "1.5x");
    /// assert!(Multiplier::new(Decimal::new(5, 1)).is_err()); // below 1
    /// assert!(Multiplier::new(Decimal::from(101)).is_err());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn new(value: Decimal) -> Result<Self> {
        let what = "multiplier";
        if value < Decimal::ONE {
            return Err(Error::TooSmall {
                what,
                value,
                min: Decimal::ONE,
            });
        }
        let max = HUNDRED;
        if value > max {
            return Err(Error::TooLarge { what, value, max });
        }
        let normalized = value.normalize();
        if normalized.scale() > decimal::MAX_SCALE {
            return Err(Error::TooPrecise {
                what,
                value,
                max_decimals: decimal::MAX_SCALE,
            });
        }
        Ok(Multiplier(normalized))
    }

    /// The factor.
    ///
    /// ```
    /// use loyalty_core::Multiplier;
    /// use rust_decimal::Decimal;
    /// let silver: Multiplier = "1.25x".parse()?;
    /// assert_eq!(silver.value(), Decimal::new(125, 2));
    /// assert_eq!(Multiplier::ONE.value(), Decimal::ONE);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn value(self) -> Decimal {
        self.0
    }

    /// What the multiplier adds on top of `base`: `base * (factor - 1)`, exactly.
    ///
    /// ```
    /// use loyalty_core::Multiplier;
    /// use rust_decimal::Decimal;
    /// let gold: Multiplier = "1.5".parse()?;
    /// // 500 spent earns 50 base points; Gold adds 25 on top.
    /// assert_eq!(gold.extra_on(Decimal::from(50)), Decimal::from(25));
    /// assert_eq!(Multiplier::ONE.extra_on(Decimal::from(50)), Decimal::ZERO);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn extra_on(self, base: Decimal) -> Decimal {
        base * (self.0 - Decimal::ONE)
    }
}

impl Default for Multiplier {
    fn default() -> Self {
        Multiplier::ONE
    }
}

impl fmt::Display for Multiplier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x", self.0)
    }
}

impl FromStr for Multiplier {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Multiplier::new(decimal::parse(
            "multiplier",
            s.trim().trim_end_matches('x'),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn a_percent_sign_is_accepted_when_parsing() {
        assert_eq!("3%".parse::<Percent>().unwrap().value(), dec!(3));
    }

    #[test]
    fn percentages_above_ten_thousand_are_rejected() {
        assert!(matches!(
            Percent::new(dec!(10001)),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn percentages_with_seven_places_are_rejected() {
        assert!(matches!(
            Percent::new(dec!(0.0000001)),
            Err(Error::TooPrecise { .. })
        ));
    }

    #[test]
    fn a_multiplier_below_one_is_rejected() {
        assert!(matches!(
            Multiplier::new(dec!(0.99)),
            Err(Error::TooSmall { .. })
        ));
    }

    #[test]
    fn the_neutral_multiplier_adds_nothing() {
        assert_eq!(Multiplier::ONE.extra_on(dec!(123.45)), dec!(0));
    }
}
