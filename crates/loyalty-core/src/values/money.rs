//! [`Currency`] and [`Money`]: exact, non-negative amounts in one currency.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};

use super::decimal;
use crate::error::{Error, Result, excerpt};

/// An ISO 4217 style currency code: three ASCII letters, stored upper-case.
///
/// ```
/// use loyalty_core::Currency;
/// let inr = Currency::new("inr")?;
/// assert_eq!(inr.code(), "INR");
/// assert_eq!(inr.minor_units(), 2);
/// assert_eq!(Currency::new("JPY")?.minor_units(), 0);
/// assert!(Currency::new("EURO").is_err());
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Validates a currency code.
    ///
    /// ```
    /// use loyalty_core::Currency;
    /// assert_eq!(Currency::new(" inr ")?, Currency::new("INR")?);
    /// assert!(Currency::new("RS").is_err());
    /// assert!(Currency::new("RUPEE").is_err());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn new(code: &str) -> Result<Self> {
        let bytes = code.trim().as_bytes();
        match bytes {
            [a, b, c] if bytes.iter().all(u8::is_ascii_alphabetic) => Ok(Currency([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ])),
            _ => Err(Error::InvalidCurrency(excerpt(code))),
        }
    }

    /// The three-letter code.
    ///
    /// ```
    /// use loyalty_core::Currency;
    /// assert_eq!(Currency::new("inr")?.code(), "INR");
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn code(&self) -> &str {
        // Only ASCII letters are ever stored, so this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// How many decimal places the currency's smallest unit has (ISO 4217 exponent).
    ///
    /// Values of redeemed points are rounded down to this many places.
    ///
    /// ```
    /// use loyalty_core::Currency;
    /// assert_eq!(Currency::new("INR")?.minor_units(), 2);
    /// assert_eq!(Currency::new("JPY")?.minor_units(), 0);
    /// assert_eq!(Currency::new("KWD")?.minor_units(), 3);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn minor_units(&self) -> u32 {
        match self.code() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF"
            | "UGX" | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            _ => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A non-negative amount of money in one currency, at most [`MAX_AMOUNT`](super::MAX_AMOUNT),
/// with at most [`MAX_SCALE`](super::MAX_SCALE) decimal places.
///
/// ```
/// use loyalty_core::{Currency, Money};
/// let inr = Currency::new("INR")?;
/// let bill = Money::parse("500.00", inr)?;
/// assert_eq!(bill.to_string(), "500.00 INR");
/// assert!(Money::parse("-5", inr).is_err());
/// assert!(Money::parse("five", inr).is_err());
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// Validates an amount of money.
    ///
    /// ```
    /// use loyalty_core::{Currency, Money};
    /// use rust_decimal::Decimal;
    /// let inr = Currency::new("INR")?;
    /// assert_eq!(Money::new(Decimal::from(500), inr)?.to_string(), "500.00 INR");
    /// assert!(Money::new(Decimal::NEGATIVE_ONE, inr).is_err());
    /// assert!(Money::new(Decimal::new(1, 5), inr).is_err()); // 0.00001: more than 4 places
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self> {
        Ok(Money {
            amount: decimal::amount("amount", amount)?,
            currency,
        })
    }

    /// Parses an amount written as a plain decimal string ("12.50").
    ///
    /// ```
    /// use loyalty_core::{Currency, Money};
    /// use rust_decimal::Decimal;
    /// let inr = Currency::new("INR")?;
    /// assert_eq!(Money::parse("12.50", inr)?.amount(), Decimal::new(1250, 2));
    /// assert!(Money::parse("1e3", inr).is_err());
    /// assert!(Money::parse("10.00 INR", inr).is_err());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn parse(amount: &str, currency: Currency) -> Result<Self> {
        Money::new(decimal::parse("amount", amount)?, currency)
    }

    /// Zero in the given currency.
    ///
    /// ```
    /// use loyalty_core::{Currency, Money};
    /// let zero = Money::zero(Currency::new("INR")?);
    /// assert!(zero.is_zero());
    /// assert_eq!(zero.to_string(), "0.00 INR");
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn zero(currency: Currency) -> Self {
        Money {
            amount: Decimal::ZERO,
            currency,
        }
    }

    /// The exact amount.
    ///
    /// ```
    /// use loyalty_core::{Currency, Money};
    /// use rust_decimal::Decimal;
    /// let ten = Money::parse("10.00", Currency::new("INR")?)?;
    /// assert_eq!(ten.amount(), Decimal::from(10));
    /// assert_eq!(ten.amount().to_string(), "10"); // stored without trailing zeros
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    ///
    /// ```
    /// use loyalty_core::{Currency, Money};
    /// let inr = Currency::new("INR")?;
    /// assert_eq!(Money::parse("10.00", inr)?.currency(), inr);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Whether the amount is zero.
    ///
    /// ```
    /// use loyalty_core::{Currency, Money};
    /// let inr = Currency::new("INR")?;
    /// assert!(Money::parse("0.00", inr)?.is_zero());
    /// assert!(!Money::parse("0.01", inr)?.is_zero());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    /// Fails unless `other` is in the same currency.
    ///
    /// ```
    /// use loyalty_core::{Currency, Error, Money};
    /// let inr = Currency::new("INR")?;
    /// let bill = Money::parse("500", inr)?;
    /// assert!(bill.same_currency(&Money::parse("10.00", inr)?).is_ok());
    /// let dollars = Money::parse("100", Currency::new("USD")?)?;
    /// assert!(matches!(bill.same_currency(&dollars), Err(Error::CurrencyMismatch { .. })));
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn same_currency(&self, other: &Money) -> Result<()> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(Error::CurrencyMismatch {
                expected: self.currency.to_string(),
                got: other.currency.to_string(),
            })
        }
    }

    /// Adds two amounts of the same currency.
    ///
    /// ```
    /// use loyalty_core::{Currency, Money};
    /// let inr = Currency::new("INR")?;
    /// let sum = Money::parse("500", inr)?.checked_add(&Money::parse("0.50", inr)?)?;
    /// assert_eq!(sum.to_string(), "500.50 INR");
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn checked_add(&self, other: &Money) -> Result<Money> {
        self.same_currency(other)?;
        let sum = self
            .amount
            .checked_add(other.amount)
            .ok_or(Error::Overflow("money"))?;
        Money::new(sum, self.currency)
    }

    /// Subtracts an amount of the same currency, stopping at zero.
    ///
    /// ```
    /// use loyalty_core::{Currency, Money};
    /// let inr = Currency::new("INR")?;
    /// let bill = Money::parse("500", inr)?;
    /// let paid_with_points = Money::parse("10.00", inr)?; // 100 points
    /// assert_eq!(bill.saturating_sub(&paid_with_points)?.to_string(), "490.00 INR");
    /// assert!(paid_with_points.saturating_sub(&bill)?.is_zero());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn saturating_sub(&self, other: &Money) -> Result<Money> {
        self.same_currency(other)?;
        let diff = (self.amount - other.amount).max(Decimal::ZERO);
        Money::new(diff, self.currency)
    }

    /// Rounds an exact (possibly long) decimal down to the currency's minor units and makes it
    /// money. Used for values the business pays out, so rounding never favours the caller.
    ///
    /// ```
    /// use loyalty_core::{Currency, Money};
    /// use rust_decimal::Decimal;
    /// let inr = Currency::new("INR")?;
    /// assert_eq!(Money::round_down(Decimal::new(12_349, 3), inr)?.amount(), Decimal::new(1234, 2));
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn round_down(exact: Decimal, currency: Currency) -> Result<Money> {
        let rounded =
            exact.round_dp_with_strategy(currency.minor_units(), RoundingStrategy::ToZero);
        Money::new(rounded, currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.amount;
        if shown.scale() < self.currency.minor_units() {
            shown.rescale(self.currency.minor_units());
        }
        write!(f, "{shown} {}", self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn inr() -> Currency {
        Currency::new("INR").unwrap()
    }

    #[test]
    fn currency_codes_with_digits_are_rejected() {
        assert!(Currency::new("US1").is_err());
        assert!(Currency::new("").is_err());
    }

    #[test]
    fn adding_different_currencies_is_refused() {
        let a = Money::new(dec!(1), inr()).unwrap();
        let b = Money::new(dec!(1), Currency::new("EUR").unwrap()).unwrap();
        assert!(matches!(
            a.checked_add(&b),
            Err(Error::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn money_with_more_than_four_places_is_rejected() {
        assert!(matches!(
            Money::new(dec!(0.00001), inr()),
            Err(Error::TooPrecise { .. })
        ));
    }

    #[test]
    fn money_above_the_maximum_is_rejected() {
        assert!(matches!(
            Money::parse("999999999999999999", inr()),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn subtraction_stops_at_zero() {
        let a = Money::new(dec!(1), inr()).unwrap();
        let b = Money::new(dec!(3), inr()).unwrap();
        assert!(a.saturating_sub(&b).unwrap().is_zero());
    }
}
