//! [`Rounding`] and [`PointPrecision`]: how exact results become points.

use rust_decimal::{Decimal, RoundingStrategy};

use super::Points;
use crate::error::{Error, Result};

/// How a program rounds computed points to its number of decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Rounding {
    /// Toward zero: a member never receives a fraction the rules did not earn (the default).
    #[default]
    Down,
    /// To the nearest, halves away from zero (commercial rounding).
    HalfUp,
    /// To the nearest, halves to the even neighbour (banker's rounding).
    HalfEven,
}

impl Rounding {
    fn strategy(self) -> RoundingStrategy {
        match self {
            Rounding::Down => RoundingStrategy::ToZero,
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
        }
    }
}

/// A program's point decimals (0 to 4) and rounding mode: turns exact computed values into
/// [`Points`].
///
/// ```
/// use loyalty_core::{PointPrecision, Rounding};
/// use rust_decimal::Decimal;
/// let whole = PointPrecision::new(0, Rounding::Down)?;
/// assert_eq!(whole.round(Decimal::new(505, 1))?.to_string(), "50"); // 50.5 -> 50
/// let pharmacy = PointPrecision::new(2, Rounding::Down)?;
/// assert_eq!(pharmacy.round(Decimal::new(5_678, 3))?.to_string(), "5.67");
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PointPrecision {
    decimals: u32,
    rounding: Rounding,
}

impl PointPrecision {
    /// Validates the number of decimals.
    ///
    /// ```
    /// use loyalty_core::{PointPrecision, Rounding};
    /// let pharmacy = PointPrecision::new(2, Rounding::Down)?; // points with 2 decimals
    /// assert_eq!(pharmacy.decimals(), 2);
    /// assert!(PointPrecision::new(5, Rounding::Down).is_err()); // at most 4 decimals
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn new(decimals: u32, rounding: Rounding) -> Result<Self> {
        if decimals > super::MAX_SCALE {
            return Err(Error::TooLarge {
                what: "point decimals",
                value: Decimal::from(decimals),
                max: Decimal::from(super::MAX_SCALE),
            });
        }
        Ok(PointPrecision { decimals, rounding })
    }

    /// Number of decimals points carry in this program.
    ///
    /// ```
    /// use loyalty_core::{PointPrecision, Rounding};
    /// assert_eq!(PointPrecision::default().decimals(), 0); // whole points
    /// assert_eq!(PointPrecision::new(2, Rounding::Down)?.decimals(), 2);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn decimals(self) -> u32 {
        self.decimals
    }

    /// The rounding mode.
    ///
    /// ```
    /// use loyalty_core::{PointPrecision, Rounding};
    /// assert_eq!(PointPrecision::default().rounding(), Rounding::Down);
    /// assert_eq!(PointPrecision::new(2, Rounding::HalfUp)?.rounding(), Rounding::HalfUp);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn rounding(self) -> Rounding {
        self.rounding
    }

    /// Rounds an exact, non-negative value to points.
    ///
    /// ```
    /// use loyalty_core::{PointPrecision, Rounding};
    /// use rust_decimal::Decimal;
    /// let exact = Decimal::new(5_678, 3); // Medicines 1% of 567.80 spent
    /// assert_eq!(PointPrecision::new(2, Rounding::Down)?.round(exact)?.to_string(), "5.67");
    /// assert_eq!(PointPrecision::new(2, Rounding::HalfUp)?.round(exact)?.to_string(), "5.68");
    /// assert!(PointPrecision::default().round(Decimal::NEGATIVE_ONE).is_err());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn round(self, exact: Decimal) -> Result<Points> {
        Points::new(exact.round_dp_with_strategy(self.decimals, self.rounding.strategy()))
    }

    /// Rounds toward zero regardless of the program's mode (used where rounding must never
    /// favour the member, e.g. proportional reversals and caps).
    ///
    /// ```
    /// use loyalty_core::{PointPrecision, Rounding};
    /// use rust_decimal::Decimal;
    /// let pharmacy = PointPrecision::new(2, Rounding::HalfUp)?;
    /// let exact = Decimal::new(5_678, 3);
    /// assert_eq!(pharmacy.round(exact)?.to_string(), "5.68");
    /// assert_eq!(pharmacy.round_down(exact)?.to_string(), "5.67");
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn round_down(self, exact: Decimal) -> Result<Points> {
        Points::new(exact.round_dp_with_strategy(self.decimals, RoundingStrategy::ToZero))
    }

    /// Rounds up to the next representable point value (used to find how many points buy an
    /// amount of money).
    ///
    /// ```
    /// use loyalty_core::{PointPrecision, Rounding};
    /// use rust_decimal::Decimal;
    /// let whole = PointPrecision::new(0, Rounding::Down)?;
    /// // At "100 points = 10.00", 5.01 is worth 50.1 points: 50 points would not cover it.
    /// assert_eq!(whole.round_up(Decimal::new(501, 1))?.to_string(), "51");
    /// assert_eq!(whole.round_up(Decimal::from(50))?.to_string(), "50");
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn round_up(self, exact: Decimal) -> Result<Points> {
        Points::new(exact.round_dp_with_strategy(self.decimals, RoundingStrategy::AwayFromZero))
    }

    /// Checks that a caller-supplied quantity fits the program's decimals.
    ///
    /// ```
    /// use loyalty_core::{PointPrecision, Points, Rounding};
    /// let whole = PointPrecision::new(0, Rounding::Down)?;
    /// assert!(whole.check(Points::whole(10)?).is_ok());
    /// assert!(whole.check("10.5".parse()?).is_err());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn check(self, points: Points) -> Result<Points> {
        if points.value().normalize().scale() > self.decimals {
            return Err(Error::TooPrecise {
                what: "points",
                value: points.value(),
                max_decimals: self.decimals,
            });
        }
        Ok(points)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn half_up_rounds_halves_away_from_zero() {
        let p = PointPrecision::new(0, Rounding::HalfUp).unwrap();
        assert_eq!(p.round(dec!(2.5)).unwrap().value(), dec!(3));
    }

    #[test]
    fn half_even_rounds_halves_to_even() {
        let p = PointPrecision::new(0, Rounding::HalfEven).unwrap();
        assert_eq!(p.round(dec!(2.5)).unwrap().value(), dec!(2));
    }

    #[test]
    fn five_point_decimals_are_rejected() {
        assert!(PointPrecision::new(5, Rounding::Down).is_err());
    }

    #[test]
    fn round_up_never_loses_a_fraction() {
        let p = PointPrecision::new(0, Rounding::Down).unwrap();
        assert_eq!(p.round_up(dec!(10.01)).unwrap().value(), dec!(11));
    }
}
