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
    ///
    /// ```
    /// use loyalty_core::{EarnRate, Points};
    /// use rust_decimal::Decimal;
    /// let shop = EarnRate::new(Points::whole(1)?, Decimal::from(10))?; // 1 point per 10 spent
    /// assert_eq!(shop.points_for(Decimal::from(500)), Decimal::from(50)); // 500 spent earns 50
    /// assert!(EarnRate::new(Points::whole(1)?, Decimal::ZERO).is_err());
    /// // Zero points is allowed: a program that earns only by category.
    /// assert!(EarnRate::new(Points::ZERO, Decimal::from(10)).is_ok());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
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
    ///
    /// ```
    /// use loyalty_core::EarnRate;
    /// use rust_decimal::Decimal;
    /// let none = EarnRate::none();
    /// assert!(none.points().is_zero());
    /// assert_eq!(none.points_for(Decimal::from(500)), Decimal::ZERO);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn none() -> Self {
        EarnRate {
            points: Points::ZERO,
            per: Decimal::ONE,
        }
    }

    /// Points per unit.
    ///
    /// ```
    /// use loyalty_core::{EarnRate, Points};
    /// use rust_decimal::Decimal;
    /// let wine_and_dine = EarnRate::new("5".parse()?, Decimal::from(100))?; // $100 = 5 tokens
    /// assert_eq!(wine_and_dine.points(), Points::whole(5)?);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn points(&self) -> Points {
        self.points
    }

    /// Spend per unit.
    ///
    /// ```
    /// use loyalty_core::EarnRate;
    /// use rust_decimal::Decimal;
    /// let frequent_flyer = EarnRate::new("1".parse()?, Decimal::from(100))?; // $100 = 1 point
    /// assert_eq!(frequent_flyer.per(), Decimal::from(100));
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn per(&self) -> Decimal {
        self.per
    }

    /// Exact (unrounded) points for an amount of spend.
    ///
    /// ```
    /// use loyalty_core::{EarnRate, PointPrecision, Points, Rounding};
    /// use rust_decimal::Decimal;
    /// let shop = EarnRate::new(Points::whole(1)?, Decimal::from(10))?;
    /// assert_eq!(shop.points_for(Decimal::from(500)), Decimal::from(50));
    /// let exact = shop.points_for(Decimal::from(505));
    /// assert_eq!(exact, Decimal::new(505, 1)); // 50.5, not rounded yet
    /// assert_eq!(PointPrecision::new(0, Rounding::Down)?.round(exact)?, Points::whole(50)?);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
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
    ///
    /// ```
    /// use loyalty_core::{ConversionRate, Currency, Money, Points};
    /// let inr = Currency::new("INR")?;
    /// let rate = ConversionRate::new(Points::whole(100)?, Money::parse("10.00", inr)?)?;
    /// assert_eq!(rate.to_string(), "100 points = 10.00 INR");
    /// assert!(ConversionRate::new(Points::ZERO, Money::parse("10.00", inr)?).is_err());
    /// assert!(ConversionRate::new(Points::whole(100)?, Money::zero(inr)).is_err());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
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
    ///
    /// ```
    /// use loyalty_core::{ConversionRate, Currency, Money, Points};
    /// let inr = Currency::new("INR")?;
    /// let rate = ConversionRate::new(Points::whole(100)?, Money::parse("10.00", inr)?)?;
    /// assert_eq!(rate.points(), Points::whole(100)?);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn points(&self) -> Points {
        self.points
    }

    /// The money side.
    ///
    /// ```
    /// use loyalty_core::{ConversionRate, Currency, Money};
    /// let inr = Currency::new("INR")?;
    /// let rate = ConversionRate::new("100".parse()?, Money::parse("10.00", inr)?)?;
    /// assert_eq!(rate.value().to_string(), "10.00 INR");
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn value(&self) -> Money {
        self.value
    }

    /// The currency points convert to.
    ///
    /// ```
    /// use loyalty_core::{ConversionRate, Currency, Money};
    /// let inr = Currency::new("INR")?;
    /// let rate = ConversionRate::new("100".parse()?, Money::parse("10.00", inr)?)?;
    /// assert_eq!(rate.currency(), inr);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn currency(&self) -> Currency {
        self.value.currency()
    }

    /// Money value of `points`, rounded down to the currency's minor units (never more than
    /// the points are worth).
    ///
    /// ```
    /// use loyalty_core::{ConversionRate, Currency, Money, Points};
    /// let inr = Currency::new("INR")?;
    /// let rate = ConversionRate::new(Points::whole(100)?, Money::parse("10.00", inr)?)?;
    /// assert_eq!(rate.value_of(Points::whole(100)?)?.to_string(), "10.00 INR");
    /// assert_eq!(rate.value_of("12.34".parse()?)?.to_string(), "1.23 INR"); // 1.234 rounded down
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn value_of(&self, points: Points) -> Result<Money> {
        let exact = points.value() * self.value.amount() / self.points.value();
        Money::round_down(exact, self.currency())
    }

    /// Exact (unrounded) points worth `amount`.
    ///
    /// ```
    /// use loyalty_core::{ConversionRate, Currency, Money};
    /// use rust_decimal::Decimal;
    /// let inr = Currency::new("INR")?;
    /// let rate = ConversionRate::new("100".parse()?, Money::parse("10.00", inr)?)?;
    /// assert_eq!(rate.exact_points_for(Decimal::from(10)), Decimal::from(100));
    /// assert_eq!(rate.exact_points_for(Decimal::new(501, 2)), Decimal::new(501, 1)); // 5.01 -> 50.1
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
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
    ///
    /// ```
    /// use loyalty_core::{ConversionRate, Currency, Money, PointPrecision, Points, Rounding};
    /// use rust_decimal::Decimal;
    /// let inr = Currency::new("INR")?;
    /// let rate = ConversionRate::new("100".parse()?, Money::parse("10.00", inr)?)?;
    /// let whole = PointPrecision::new(0, Rounding::Down)?;
    /// // Points may pay at most 50% of a 500.00 bill: 250.00, which is 2500 points.
    /// assert_eq!(rate.points_within(Decimal::from(250), whole)?, Points::whole(2500)?);
    /// // 5.01 is worth 50.1 points; 51 would be worth more than 5.01.
    /// assert_eq!(rate.points_within(Decimal::new(501, 2), whole)?, Points::whole(50)?);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
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
