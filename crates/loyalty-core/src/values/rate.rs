//! [`EarnRate`] and [`ConversionRate`]: how spend becomes points and points become money.

use std::fmt;

use rust_decimal::Decimal;

use super::{Currency, Money, PointPrecision, Points};
use crate::error::{Error, Result};

/// The most points a program may earn per unit of spend, and the most units of money a point
/// may be worth or points a unit of money may be worth: one billion. Within it, converting any
/// amount up to [`MAX_AMOUNT`](super::MAX_AMOUNT) stays far inside the range of a decimal.
pub const MAX_RATE_RATIO: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// Points earned per amount of spend: "1 point per 10 spent", "$100 = 5 tokens".
///
/// Earning is proportional (`spend * points / per`); the program's [`PointPrecision`] rounds the
/// result, so with whole points and rounding down "1 per 10" gives `floor(spend / 10)`.
///
/// ```
/// use loyalty_core::EarnRate;
/// use rust_decimal::Decimal;
/// let shop = EarnRate::new("1".parse()?, Decimal::from(10))?;
/// assert_eq!(shop.points_for(Decimal::from(500))?, Decimal::from(50));
/// let wine_and_dine = EarnRate::new("5".parse()?, Decimal::from(100))?;
/// let frequent_flyer = EarnRate::new("1".parse()?, Decimal::from(100))?;
/// assert_eq!(wine_and_dine.points_for(Decimal::from(100))?, Decimal::from(5));
/// assert_eq!(frequent_flyer.points_for(Decimal::from(100))?, Decimal::from(1));
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
    /// assert_eq!(shop.points_for(Decimal::from(500))?, Decimal::from(50)); // 500 spent earns 50
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
    /// assert_eq!(none.points_for(Decimal::from(500))?, Decimal::ZERO);
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

    /// Exact (unrounded) points for an amount of spend; [`Error::Overflow`] when they leave
    /// the range of a decimal.
    ///
    /// ```
    /// use loyalty_core::{EarnRate, PointPrecision, Points, Rounding};
    /// use rust_decimal::Decimal;
    /// let shop = EarnRate::new(Points::whole(1)?, Decimal::from(10))?;
    /// assert_eq!(shop.points_for(Decimal::from(500))?, Decimal::from(50));
    /// let exact = shop.points_for(Decimal::from(505))?;
    /// assert_eq!(exact, Decimal::new(505, 1)); // 50.5, not rounded yet
    /// assert_eq!(PointPrecision::new(0, Rounding::Down)?.round(exact)?, Points::whole(50)?);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn points_for(&self, spend: Decimal) -> Result<Decimal> {
        spend
            .checked_mul(self.points.value())
            .and_then(|p| p.checked_div(self.per))
            .ok_or(Error::Overflow("points for an amount of spend"))
    }

    /// Refuses a rate that earns more than [`MAX_RATE_RATIO`] points per unit of spend: with
    /// it, no amount up to [`MAX_AMOUNT`](super::MAX_AMOUNT) can overflow a decimal when it
    /// is converted (a program's rules are checked with it when they are configured).
    ///
    /// ```
    /// use loyalty_core::{EarnRate, Points};
    /// use rust_decimal::Decimal;
    /// assert!(EarnRate::new(Points::whole(1)?, Decimal::from(10))?.check_bounds().is_ok());
    /// let absurd = EarnRate::new(Points::whole(100_000_000_000_000)?, Decimal::new(1, 4))?;
    /// assert!(absurd.check_bounds().is_err());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn check_bounds(&self) -> Result<()> {
        let ratio = self.points.value().checked_div(self.per);
        if ratio.is_none_or(|r| r > MAX_RATE_RATIO) {
            return Err(Error::InvalidConfig(format!(
                "the earn rate ({self}) earns more than {MAX_RATE_RATIO} points per unit of spend"
            )));
        }
        Ok(())
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
        Money::round_down(self.value_of_total(points.value())?, self.currency())
    }

    /// Money value of a total of points that may exceed what one balance can hold (a
    /// program's outstanding points), rounded down to the currency's minor units but not
    /// bounded by [`MAX_AMOUNT`](super::MAX_AMOUNT); [`Error::Overflow`] when it leaves the
    /// range of a decimal.
    ///
    /// ```
    /// use loyalty_core::{ConversionRate, Currency, Money, Points};
    /// use rust_decimal::Decimal;
    /// let inr = Currency::new("INR")?;
    /// let rate = ConversionRate::new(Points::whole(100)?, Money::parse("10.00", inr)?)?;
    /// let outstanding = Decimal::from(900_000_000_000_000u64); // more than one balance holds
    /// assert_eq!(rate.value_of_total(outstanding)?, Decimal::from(90_000_000_000_000u64));
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn value_of_total(&self, points: Decimal) -> Result<Decimal> {
        let (rate_points, rate_value) = (self.points.value(), self.value.amount());
        // Multiplying first is exact for every amount in range; only when the product leaves
        // the range of a decimal is the per-point value taken first.
        let exact = points
            .checked_mul(rate_value)
            .and_then(|p| p.checked_div(rate_points))
            .or_else(|| {
                rate_value
                    .checked_div(rate_points)
                    .and_then(|per_point| points.checked_mul(per_point))
            })
            .ok_or(Error::Overflow("the money value of points"))?;
        Ok(exact.round_dp_with_strategy(
            self.currency().minor_units(),
            rust_decimal::RoundingStrategy::ToZero,
        ))
    }

    /// Refuses a rate under which one point is worth more than [`MAX_RATE_RATIO`] units of
    /// money or one unit of money more than [`MAX_RATE_RATIO`] points: within these bounds no
    /// amount up to [`MAX_AMOUNT`](super::MAX_AMOUNT) can overflow a decimal when it is
    /// converted either way (a program's rules are checked with it when they are configured).
    ///
    /// ```
    /// use loyalty_core::{ConversionRate, Currency, Money, Points};
    /// let inr = Currency::new("INR")?;
    /// let rate = ConversionRate::new(Points::whole(100)?, Money::parse("10.00", inr)?)?;
    /// assert!(rate.check_bounds().is_ok());
    /// let absurd = ConversionRate::new("0.0001".parse()?, Money::parse("100000000000000", inr)?)?;
    /// assert!(absurd.check_bounds().is_err());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn check_bounds(&self) -> Result<()> {
        let (points, value) = (self.points.value(), self.value.amount());
        let per_point = value.checked_div(points);
        let per_unit = points.checked_div(value);
        if per_point.is_none_or(|v| v > MAX_RATE_RATIO)
            || per_unit.is_none_or(|p| p > MAX_RATE_RATIO)
        {
            return Err(Error::InvalidConfig(format!(
                "the conversion rate ({self}) must value a point at no more than {MAX_RATE_RATIO} units of money and a unit of money at no more than {MAX_RATE_RATIO} points"
            )));
        }
        Ok(())
    }

    /// Exact (unrounded) points worth `amount`.
    ///
    /// ```
    /// use loyalty_core::{ConversionRate, Currency, Money};
    /// use rust_decimal::Decimal;
    /// let inr = Currency::new("INR")?;
    /// let rate = ConversionRate::new("100".parse()?, Money::parse("10.00", inr)?)?;
    /// assert_eq!(rate.exact_points_for(Decimal::from(10))?, Decimal::from(100));
    /// assert_eq!(rate.exact_points_for(Decimal::new(501, 2))?, Decimal::new(501, 1)); // 5.01 -> 50.1
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn exact_points_for(&self, amount: Decimal) -> Result<Decimal> {
        amount
            .checked_mul(self.points.value())
            .and_then(|p| p.checked_div(self.value.amount()))
            .ok_or(Error::Overflow("points for an amount of money"))
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
        precision.round_up(self.exact_points_for(amount)?)
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
        precision.round_down(self.exact_points_for(amount)?)
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
