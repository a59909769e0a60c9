//! Applying a program's discounts (not points) to a bill.
//!
//! The order is fixed, so a quote and a checkout always agree:
//! 1. **Category discounts**, line by line: the category's percentage of the line's amount,
//!    rounded *down* to the currency's minor units (rounding favours the business).
//! 2. **The bill discount**, only if the bill's total *before* any discount reaches the
//!    program's `bill_minimum` (when one is set): a flat amount capped at what is left of the
//!    bill, or a percentage of what is left, rounded down to minor units. It is spread over the
//!    lines in proportion to their amounts after step 1 with [`allocate`](crate::allocate()),
//!    so the per-line parts add up to the bill discount exactly.
//!
//! No line's net ever goes below zero, and `net_total + total_discount` is always the bill's
//! total. Points redemption comes after discounts, on [`Discounts::net_total`].

use rust_decimal::{Decimal, RoundingStrategy};

use crate::allocate::allocate;
use crate::bill::Bill;
use crate::error::{Error, Result};
use crate::program::{BillDiscount, Category, Rules};
use crate::values::{Currency, Money};

/// One bill line after discounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscountedLine {
    /// The line's category, as on the bill.
    pub category: Option<Category>,
    /// The line's amount before discounts.
    pub amount: Money,
    /// What the line's category discount took off.
    pub category_discount: Money,
    /// The line's part of the bill discount.
    pub bill_discount: Money,
    /// What is left to pay for the line: `amount - category_discount - bill_discount`.
    pub net: Money,
}

/// A bill after the program's discounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discounts {
    /// The bill's lines, in the bill's order.
    pub lines: Vec<DiscountedLine>,
    /// The sum of the category discounts.
    pub category_discount: Money,
    /// The bill discount (zero when the bill is below the minimum or there is none).
    pub bill_discount: Money,
    /// `category_discount + bill_discount`.
    pub total_discount: Money,
    /// What is left of the bill: the bill's total minus `total_discount`.
    pub net_total: Money,
}

/// Applies the program's category discounts, then its bill discount, to `bill` (see the
/// [module documentation](self) for the order and the rounding).
///
/// Fails with [`Error::CurrencyMismatch`] when the bill is not in the program's currency.
///
/// ```
/// use chrono::Utc;
/// use loyalty_core::{
///     apply_discounts, Bill, BillDiscount, BillLine, Category, CategoryDiscount, Currency,
///     Money, ProgramRules,
/// };
/// let inr = Currency::new("INR")?;
/// let mut pharmacy = ProgramRules::new(inr);
/// pharmacy.discounts.categories = vec![
///     CategoryDiscount { category: Category::new("Medicines")?, percent: "5".parse()? },
///     CategoryDiscount { category: Category::new("Baby Care")?, percent: "10".parse()? },
/// ];
/// pharmacy.discounts.bill = Some(BillDiscount::Amount(Money::parse("50.00", inr)?));
/// pharmacy.discounts.bill_minimum = Some(Money::parse("1000.00", inr)?);
/// let pharmacy = pharmacy.validate()?;
///
/// let line = |category: &str, amount: &str| -> loyalty_core::Result<BillLine> {
///     Ok(BillLine { category: Some(Category::new(category)?), amount: Money::parse(amount, inr)? })
/// };
/// let bill = Bill::new(
///     vec![line("Medicines", "500")?, line("Baby Care", "200")?, line("General", "300")?],
///     inr,
///     Utc::now(),
/// )?;
/// let d = apply_discounts(&pharmacy, &bill)?;
/// // 5 % of 500 and 10 % of 200; then 50.00 off the 955.00 left, spread over the lines.
/// assert_eq!(d.category_discount.to_string(), "45.00 INR");
/// assert_eq!(d.bill_discount.to_string(), "50.00 INR");
/// assert_eq!(d.net_total.to_string(), "905.00 INR");
/// assert_eq!(d.lines[0].net.to_string(), "450.13 INR"); // 500 - 25.00 - 24.87
/// assert_eq!(d.lines[1].net.to_string(), "170.58 INR"); // 200 - 20.00 - 9.42
/// assert_eq!(d.lines[2].net.to_string(), "284.29 INR"); // 300 - 0 - 15.71
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn apply_discounts(rules: &Rules, bill: &Bill) -> Result<Discounts> {
    let currency = rules.currency;
    if bill.currency() != currency {
        return Err(Error::CurrencyMismatch {
            expected: currency.to_string(),
            got: bill.currency().to_string(),
        });
    }
    let discounts = &rules.discounts;

    // 1. Category discounts, line by line.
    let mut category_parts = Vec::with_capacity(bill.lines().len());
    let mut after_category = Vec::with_capacity(bill.lines().len());
    for line in bill.lines() {
        let part = match line
            .category
            .as_ref()
            .and_then(|c| discounts.category_percent(c))
        {
            Some(percent) => Money::round_down(percent.of(line.amount.amount()), currency)?,
            None => Money::zero(currency),
        };
        // A percentage is at most 100 % and rounds down, so this never goes below zero.
        after_category.push(line.amount.amount() - part.amount());
        category_parts.push(part);
    }
    let remaining = sum(&after_category)?;

    // 2. The bill discount, on what is left.
    let eligible = discounts
        .bill_minimum
        .is_none_or(|minimum| bill.total().amount() >= minimum.amount());
    let bill_discount = match discounts.bill {
        Some(BillDiscount::Amount(off)) if eligible => off.amount().min(remaining),
        Some(BillDiscount::Percent(percent)) if eligible => percent
            .of(remaining)
            .round_dp_with_strategy(currency.minor_units(), RoundingStrategy::ToZero),
        _ => Decimal::ZERO,
    };
    let bill_parts = spread(bill_discount, &after_category, currency)?;

    let mut lines = Vec::with_capacity(bill.lines().len());
    for (((line, category_part), left), bill_part) in bill
        .lines()
        .iter()
        .zip(category_parts)
        .zip(&after_category)
        .zip(bill_parts)
    {
        lines.push(DiscountedLine {
            category: line.category.clone(),
            amount: line.amount,
            category_discount: category_part,
            bill_discount: Money::new(bill_part, currency)?,
            net: Money::new(left - bill_part, currency)?,
        });
    }

    let category_discount = Money::new(bill.total().amount() - remaining, currency)?;
    let bill_discount = Money::new(bill_discount, currency)?;
    let total_discount = category_discount.checked_add(&bill_discount)?;
    let net_total = Money::new(remaining - bill_discount.amount(), currency)?;
    Ok(Discounts {
        lines,
        category_discount,
        bill_discount,
        total_discount,
        net_total,
    })
}

/// Spreads the bill discount over the lines in proportion to `weights` (their amounts after
/// category discounts).
///
/// Units are the currency's minor units, or finer when the bill's own amounts are finer
/// (money may carry up to four places): a share is then never larger than its line, because
/// every line is a whole number of units and no share exceeds its exact part by a unit.
fn spread(discount: Decimal, weights: &[Decimal], currency: Currency) -> Result<Vec<Decimal>> {
    if discount.is_zero() {
        return Ok(vec![Decimal::ZERO; weights.len()]);
    }
    let decimals = weights
        .iter()
        .chain(std::iter::once(&discount))
        .map(|d| d.normalize().scale())
        .fold(currency.minor_units(), u32::max);
    allocate(discount, weights, decimals)
}

fn sum(amounts: &[Decimal]) -> Result<Decimal> {
    amounts.iter().try_fold(Decimal::ZERO, |acc, &a| {
        acc.checked_add(a).ok_or(Error::Overflow("discounts"))
    })
}

#[cfg(test)]
mod tests;
