//! [`EarnRate`] and [`ConversionRate`]: how spend becomes points and points become money.

use std::fmt;

use rust_decimal::Decimal;

use super::{Currency, Money, PointPrecision, Points};
use crate::error::{Error, Result};

/// Points earned per amount of spend: "1 point per 10 spent", "$100 = 5 tokens".
///
/// Earning is proportional (`spend * points / per`); the program's [`PointPrecision`] rounds the
/// result, so with whole points and rounding down "1 per 10" gives `floor(spend / 10)`.
///
/// ```
/// use loyalty_core::EarnRate;
/// use rust_decimal::Decimal;
/// let shop = EarnRate::new("1".parse()?, Decimal::from(10))?;
/// assert_eq!(shop.points_for(Decimal::from(500)), Decimal::from(50));
/// let wine_and_dine = EarnRate::new("5".parse()?, Decimal::from(100))?;
/// let frequent_flyer = EarnRate::new("1".parse()?, Decimal::from(100))?;
/// assert_eq!(wine_and_dine.points_for(Decimal::from(100)), Decimal::from(5));
/// assert_eq!(frequent_flyer.points_for(Decimal::from(100)), Decimal::from(1));
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EarnRate {
    points: Points,
    per: Decimal,
}

impl EarnRate {
    /// Validates a rate: `points` (may be zero: a program that earns only by category or
    /// action) per `per` units of spend (must be positive).
    pub fn new(points: Points, per: Decimal) -> Result<Self> {
        if per <= Decimal::ZERO {
            return Err(Error::NotPositive {
                what: "spend per earn unit",
                value: per,
            });
        }
        let per = super::decimal::amount("spend per earn unit", per)?;
        Ok(EarnRate { points, per })
    }

    /// A rate that earns nothing.
    pub fn none() -> Self {
        EarnRate {
            points: Points::ZERO,
            per: Decimal::ONE,
        }
    }

    /// Points per unit.
    pub fn points(&self) -> Points {
        self.points
    }

    /// Spend per unit.
    pub fn per(&self) -> Decimal {
        self.per
    }

    /// Exact (unrounded) points for an amount of spend.
    pub fn points_for(&self, spend: Decimal) -> Decimal {
        spend * self.points.value() / self.per
    }
}

impl fmt::Display for EarnRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} points per {} spent", self.points, self.per)
    }
}

/// The value of points when redeemed: "100 points = 10.00".
///
/// ```
/// use loyalty_core::{ConversionRate, Currency, Money};
/// let inr = Currency::new("INR")?;
/// let rate = ConversionRate::new("100".parse()?, Money::parse("10.00", inr)?)?;
/// assert_eq!(rate.value_of("50".parse()?)?.to_string(), "5.00 INR");
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConversionRate {
    points: Points,
    value: Money,
}

impl ConversionRate {
    /// Validates a conversion rate; both sides must be positive.
    pub fn new(points: Points, value: Money) -> Result<Self> {
        if points.is_zero() {
            return Err(Error::NotPositive {
                what: "points of the conversion rate",
                value: points.value(),
            });
        }
        if value.is_zero() {
            return Err(Error::NotPositive {
                what: "value of the conversion rate",
                value: value.amount(),
            });
        }
        Ok(ConversionRate { points, value })
    }

    /// The points side.
    pub fn points(&self) -> Points {
        self.points
    }

    /// The money side.
    pub fn value(&self) -> Money {
        self.value
    }

    /// The currency points convert to.
    pub fn currency(&self) -> Currency {
        self.value.currency()
    }

    /// Money value of `points`, rounded down to the currency's minor units (never more than
    /// the points are worth).
    pub fn value_of(&self, points: Points) -> Result<Money> {
        let exact = points.value() * self.value.amount() / self.points.value();
        Money::round_down(exact, self.currency())
    }

    /// Exact (unrounded) points worth `amount`.
    pub fn exact_points_for(&self, amount: Decimal) -> Decimal {
        amount * self.points.value() / self.value.amount()
    }

    /// The fewest points, in the program's precision, that are worth at least `amount`.
    ///
    /// ```
    /// use loyalty_core::{ConversionRate, Currency, Money, PointPrecision, Rounding};
    /// use rust_decimal::Decimal;
    /// let inr = Currency::new("INR")?;
    /// let rate = ConversionRate::new("100".parse()?, Money::parse("10", inr)?)?;
    /// let whole = PointPrecision::new(0, Rounding::Down)?;
    /// assert_eq!(rate.points_to_cover(Decimal::new(501, 2), whole)?.to_string(), "51");
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn points_to_cover(&self, amount: Decimal, precision: PointPrecision) -> Result<Points> {
        precision.round_up(self.exact_points_for(amount))
    }

    /// The most points, in the program's precision, whose value does not exceed `amount`.
    pub fn points_within(&self, amount: Decimal, precision: PointPrecision) -> Result<Points> {
        precision.round_down(self.exact_points_for(amount))
    }
}

impl fmt::Display for ConversionRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} points = {}", self.points, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn an_earn_rate_per_zero_spend_is_rejected() {
        assert!(matches!(
            EarnRate::new(Points::whole(1).unwrap(), dec!(0)),
            Err(Error::NotPositive { .. })
        ));
    }

    #[test]
    fn a_conversion_rate_of_zero_points_is_rejected() {
        let inr = Currency::new("INR").unwrap();
        assert!(ConversionRate::new(Points::ZERO, Money::new(dec!(10), inr).unwrap()).is_err());
    }

    #[test]
    fn values_are_rounded_down_to_the_currency_minor_unit() {
        let inr = Currency::new("INR").unwrap();
        let rate =
            ConversionRate::new(Points::whole(3).unwrap(), Money::new(dec!(1), inr).unwrap())
                .unwrap();
        // 1 point = 0.3333.. -> 0.33
        assert_eq!(
            rate.value_of(Points::whole(1).unwrap()).unwrap().amount(),
            dec!(0.33)
        );
    }
}
