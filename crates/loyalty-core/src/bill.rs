//! [`Bill`]: what a checkout or an earn is about: lines with a category and an amount.

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::program::Category;
use crate::values::{Currency, Money};

/// One line of a bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillLine {
    /// The product category, if the billing system knows it. Lines without a category (or
    /// whose category has no rule) earn at the program's base rate.
    pub category: Option<Category>,
    /// The line's amount (price times quantity), before any discount.
    pub amount: Money,
}

/// A validated bill: 1 to [`Bill::MAX_LINES`] lines in one currency, with a positive total.
///
/// ```
/// use chrono::Utc;
/// use loyalty_core::{Bill, BillLine, Category, Currency, Money};
/// let inr = Currency::new("INR")?;
/// let bill = Bill::new(
///     vec![
///         BillLine { category: Some(Category::new("Medicines")?), amount: Money::parse("500", inr)? },
///         BillLine { category: Some(Category::new("General")?), amount: Money::parse("500", inr)? },
///     ],
///     inr,
///     Utc::now(),
/// )?;
/// assert_eq!(bill.total().to_string(), "1000.00 INR");
/// assert!(Bill::new(vec![], inr, Utc::now()).is_err());
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill {
    lines: Vec<BillLine>,
    total: Money,
    at: DateTime<Utc>,
}

impl Bill {
    /// The most lines a bill may have.
    pub const MAX_LINES: usize = 1000;

    /// Validates a bill in `currency` made at `at`.
    ///
    /// ```
    /// use chrono::Utc;
    /// use loyalty_core::{Bill, BillLine, Currency, Money};
    /// let inr = Currency::new("INR")?;
    /// let line = BillLine { category: None, amount: Money::parse("500", inr)? };
    /// let bill = Bill::new(vec![line], inr, Utc::now())?;
    /// assert_eq!(bill.total(), Money::parse("500.00", inr)?);
    /// // Every line must be in the bill's currency.
    /// let usd = Currency::new("USD")?;
    /// let dollars = BillLine { category: None, amount: Money::parse("100", usd)? };
    /// assert!(Bill::new(vec![dollars], inr, Utc::now()).is_err());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn new(lines: Vec<BillLine>, currency: Currency, at: DateTime<Utc>) -> Result<Self> {
        if lines.is_empty() {
            return Err(Error::InvalidBill("a bill needs at least one line".into()));
        }
        if lines.len() > Self::MAX_LINES {
            return Err(Error::InvalidBill(format!(
                "a bill may have at most {} lines (got {})",
                Self::MAX_LINES,
                lines.len()
            )));
        }
        let mut total = Money::zero(currency);
        for line in &lines {
            total = total.checked_add(&line.amount)?;
        }
        if total.is_zero() {
            return Err(Error::InvalidBill(
                "the bill total must be greater than zero".into(),
            ));
        }
        Ok(Bill { lines, total, at })
    }

    /// The lines.
    ///
    /// ```
    /// use chrono::Utc;
    /// use loyalty_core::{Bill, BillLine, Category, Currency, Money};
    /// let inr = Currency::new("INR")?;
    /// let medicines = Category::new("Medicines")?;
    /// let bill = Bill::new(
    ///     vec![
    ///         BillLine { category: Some(medicines.clone()), amount: Money::parse("500", inr)? },
    ///         BillLine { category: None, amount: Money::parse("100", inr)? },
    ///     ],
    ///     inr,
    ///     Utc::now(),
    /// )?;
    /// assert_eq!(bill.lines().len(), 2);
    /// assert_eq!(bill.lines()[0].category, Some(medicines));
    /// assert_eq!(bill.lines()[1].category, None); // earns at the base rate
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn lines(&self) -> &[BillLine] {
        &self.lines
    }

    /// The sum of the lines, before discounts.
    ///
    /// ```
    /// use chrono::Utc;
    /// use loyalty_core::{Bill, BillLine, Category, Currency, Money};
    /// let inr = Currency::new("INR")?;
    /// let bill = Bill::new(
    ///     vec![
    ///         BillLine { category: Some(Category::new("Medicines")?), amount: Money::parse("500", inr)? },
    ///         BillLine { category: Some(Category::new("General")?), amount: Money::parse("250.50", inr)? },
    ///     ],
    ///     inr,
    ///     Utc::now(),
    /// )?;
    /// assert_eq!(bill.total().to_string(), "750.50 INR");
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn total(&self) -> Money {
        self.total
    }

    /// The bill's currency.
    ///
    /// ```
    /// use chrono::Utc;
    /// use loyalty_core::{Bill, BillLine, Currency, Money};
    /// let inr = Currency::new("INR")?;
    /// let line = BillLine { category: None, amount: Money::parse("500", inr)? };
    /// let bill = Bill::new(vec![line], inr, Utc::now())?;
    /// assert_eq!(bill.currency(), inr);
    /// assert_eq!(bill.currency().code(), "INR");
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn currency(&self) -> Currency {
        self.total.currency()
    }

    /// When the bill was made (campaign windows and weekdays are judged by this instant).
    ///
    /// ```
    /// use chrono::Utc;
    /// use loyalty_core::{Bill, BillLine, Currency, Money};
    /// let inr = Currency::new("INR")?;
    /// let at = Utc::now();
    /// let line = BillLine { category: None, amount: Money::parse("500", inr)? };
    /// let bill = Bill::new(vec![line], inr, at)?;
    /// assert_eq!(bill.at(), at);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn a_bill_with_lines_in_two_currencies_is_rejected() {
        let inr = Currency::new("INR").unwrap();
        let usd = Currency::new("USD").unwrap();
        let lines = vec![
            BillLine {
                category: None,
                amount: Money::new(dec!(1), inr).unwrap(),
            },
            BillLine {
                category: None,
                amount: Money::new(dec!(1), usd).unwrap(),
            },
        ];
        assert!(matches!(
            Bill::new(lines, inr, Utc::now()),
            Err(Error::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn a_bill_of_zero_is_rejected() {
        let inr = Currency::new("INR").unwrap();
        let lines = vec![BillLine {
            category: None,
            amount: Money::zero(inr),
        }];
        assert!(matches!(
            Bill::new(lines, inr, Utc::now()),
            Err(Error::InvalidBill(_))
        ));
    }
}
