//! Discounts that are not points: a flat bill discount and per-category percentages.

use std::collections::HashSet;

use super::Category;
use crate::error::{Error, Result};
use crate::values::{Currency, Money, Percent};

/// A discount on the whole bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillDiscount {
    /// A fixed amount off the bill (never below zero).
    Amount(Money),
    /// A percentage off the bill (at most 100 %).
    Percent(Percent),
}

/// A category's discount percentage ("Baby Care 10%").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryDiscount {
    /// The category.
    pub category: Category,
    /// Percentage off the category's lines (at most 100 %).
    pub percent: Percent,
}

/// A program's discounts. Category discounts apply first, line by line; the bill discount
/// then applies to what is left; points redemption comes after both.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiscountRules {
    /// Per-category discounts.
    pub categories: Vec<CategoryDiscount>,
    /// A discount on the whole bill.
    pub bill: Option<BillDiscount>,
    /// The bill discount applies only to bills of at least this amount (before discounts).
    pub bill_minimum: Option<Money>,
}

impl DiscountRules {
    pub(crate) fn validate(&self, currency: Currency) -> Result<()> {
        let invalid = |msg: String| Err(Error::InvalidConfig(msg));
        let mut seen = HashSet::new();
        for d in &self.categories {
            if !seen.insert(d.category.as_str()) {
                return invalid(format!(
                    "category {:?} has more than one discount",
                    d.category.as_str()
                ));
            }
            if d.percent > Percent::HUNDRED {
                return invalid(format!(
                    "the discount for {:?} is {} but cannot exceed 100%",
                    d.category.as_str(),
                    d.percent
                ));
            }
        }
        match self.bill {
            Some(BillDiscount::Percent(p)) if p > Percent::HUNDRED => {
                return invalid(format!("the bill discount is {p} but cannot exceed 100%"));
            }
            Some(BillDiscount::Amount(m)) if m.currency() != currency => {
                return invalid(format!(
                    "the bill discount is in {} but the program is in {currency}",
                    m.currency()
                ));
            }
            _ => {}
        }
        if let Some(m) = self.bill_minimum
            && m.currency() != currency
        {
            return invalid(format!(
                "the bill discount minimum is in {} but the program is in {currency}",
                m.currency()
            ));
        }
        Ok(())
    }

    /// The discount percentage of a category, if any.
    ///
    /// ```
    /// use loyalty_core::{Category, CategoryDiscount, DiscountRules, Percent};
    /// let discounts = DiscountRules {
    ///     categories: vec![CategoryDiscount {
    ///         category: Category::new("Baby Care")?,
    ///         percent: "10".parse()?,
    ///     }],
    ///     ..DiscountRules::default()
    /// };
    /// let baby_care = Category::new("Baby Care")?;
    /// assert_eq!(discounts.category_percent(&baby_care), Some("10".parse::<Percent>()?));
    /// assert_eq!(discounts.category_percent(&Category::new("Medicines")?), None);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn category_percent(&self, category: &Category) -> Option<Percent> {
        self.categories
            .iter()
            .find(|d| &d.category == category)
            .map(|d| d.percent)
    }
}
