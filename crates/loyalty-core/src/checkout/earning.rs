//! [`earn_on_bill`]: what a bill earns once part of it was paid with points; the earning
//! step of every [`quote`](super::quote()).

use rust_decimal::Decimal;

use super::same_currency;
use crate::allocate::allocate;
use crate::bill::{Bill, BillLine};
use crate::campaigns::ActiveCampaign;
use crate::discounts::{Discounts, apply_discounts};
use crate::earn::{EarnInput, Earning, compute_earning, referral_points};
use crate::error::Result;
use crate::program::{EarnBasis, Rules, Tier};
use crate::values::{Money, Points};

/// What a bill earns once the member has paid part of it with points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillEarning {
    /// The discounts, line by line.
    pub discounts: Discounts,
    /// The amounts that earn, line by line, in the bill's order.
    pub earning_lines: Vec<BillLine>,
    /// Their sum.
    pub earning_amount: Money,
    /// What the bill earns, component by component.
    pub earning: Earning,
    /// What the member's referrer earns (zero without a referrer).
    pub referral_points: Points,
}

/// What a bill earns when the member has already redeemed `redeemed_value` on it (all
/// redemptions on the bill together): the store's earn after checkout.
/// [`quote`](super::quote()) takes the same path, so the two always agree.
///
/// Fails with [`Error::CurrencyMismatch`](crate::Error::CurrencyMismatch) when the bill or
/// `redeemed_value` is not in the program's currency; the earning rules' own errors pass
/// through.
///
/// The pharmacy's member paid 100.00 of a 1000 bill (975.00 after 5 % off the medicines)
/// with points:
/// ```
/// use chrono::Utc;
/// use loyalty_core::{
///     earn_on_bill, Bill, BillLine, Category, CategoryDiscount, CategoryRule, Currency,
///     EarnBasis, Money, PointPrecision, ProgramRules, Rounding,
/// };
/// let inr = Currency::new("INR")?;
/// let mut pharmacy = ProgramRules::new(inr);
/// pharmacy.precision = PointPrecision::new(2, Rounding::Down)?;
/// pharmacy.categories = vec![
///     CategoryRule { category: Category::new("Medicines")?, earn_percent: "1".parse()? },
///     CategoryRule { category: Category::new("General")?, earn_percent: "3".parse()? },
/// ];
/// pharmacy.referral_percent = "0.5".parse()?;
/// pharmacy.discounts.categories =
///     vec![CategoryDiscount { category: Category::new("Medicines")?, percent: "5".parse()? }];
/// let line = |category: &str, amount: &str| -> loyalty_core::Result<BillLine> {
///     Ok(BillLine { category: Some(Category::new(category)?), amount: Money::parse(amount, inr)? })
/// };
/// let bill = Bill::new(vec![line("Medicines", "500")?, line("General", "500")?], inr, Utc::now())?;
/// let paid_with_points = Money::parse("100.00", inr)?;
///
/// let rules = pharmacy.clone().validate()?;
/// let earned = earn_on_bill(&rules, None, &[], &bill, &paid_with_points, true)?;
/// assert_eq!(earned.earning_amount.to_string(), "875.00 INR");
/// assert_eq!(earned.earning.total.to_string(), "17.72");
/// assert_eq!(earned.referral_points.to_string(), "4.37");
///
/// // A program that earns on the discounted amount ignores how the bill was paid.
/// pharmacy.earn_basis = EarnBasis::DiscountedAmount;
/// let rules = pharmacy.validate()?;
/// let earned = earn_on_bill(&rules, None, &[], &bill, &paid_with_points, false)?;
/// assert_eq!(earned.earning_amount.to_string(), "975.00 INR");
/// assert_eq!(earned.earning.total.to_string(), "19.75"); // 4.75 + 15.00
/// assert!(earned.referral_points.is_zero());
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn earn_on_bill(
    rules: &Rules,
    tier: Option<&Tier>,
    campaigns: &[ActiveCampaign<'_>],
    bill: &Bill,
    redeemed_value: &Money,
    has_referrer: bool,
) -> Result<BillEarning> {
    same_currency(rules, &bill.total())?;
    same_currency(rules, redeemed_value)?;
    let discounts = apply_discounts(rules, bill)?;
    earn_on_discounts(
        rules,
        tier,
        campaigns,
        bill,
        discounts,
        redeemed_value,
        has_referrer,
    )
}

/// The shared earning path of [`quote`](super::quote()) and [`earn_on_bill`], after discounts.
pub(super) fn earn_on_discounts(
    rules: &Rules,
    tier: Option<&Tier>,
    campaigns: &[ActiveCampaign<'_>],
    bill: &Bill,
    discounts: Discounts,
    redeemed_value: &Money,
    has_referrer: bool,
) -> Result<BillEarning> {
    let earning_lines = earning_lines(rules, &discounts, redeemed_value)?;
    let earning_amount = earning_lines
        .iter()
        .try_fold(Money::zero(rules.currency), |sum, line| {
            sum.checked_add(&line.amount)
        })?;
    let earning = compute_earning(&EarnInput {
        rules,
        tier,
        campaigns,
        lines: &earning_lines,
        bill_total: discounts.net_total,
        at: bill.at(),
    })?;
    let referral_points = if has_referrer {
        referral_points(rules, &earning_amount)?
    } else {
        Points::ZERO
    };
    Ok(BillEarning {
        discounts,
        earning_lines,
        earning_amount,
        earning,
        referral_points,
    })
}

/// The amounts that earn, per line, under the program's [`EarnBasis`].
fn earning_lines(
    rules: &Rules,
    discounts: &Discounts,
    redeemed_value: &Money,
) -> Result<Vec<BillLine>> {
    let currency = rules.currency;
    let nets: Vec<_> = discounts.lines.iter().map(|l| l.net.amount()).collect();
    // Points never pay more than the bill, whatever earlier redemptions the caller reports.
    let paid_with_points = match rules.earn_basis {
        EarnBasis::PaidAmount => redeemed_value.amount().min(discounts.net_total.amount()),
        EarnBasis::DiscountedAmount => Decimal::ZERO,
    };
    let shares = if paid_with_points.is_zero() {
        vec![Decimal::ZERO; nets.len()]
    } else {
        // Finer units when the amounts are finer, as for the bill discount: every net is then a
        // whole number of units, so no share exceeds its line.
        let decimals = nets
            .iter()
            .chain(std::iter::once(&paid_with_points))
            .map(|d| d.normalize().scale())
            .fold(currency.minor_units(), u32::max);
        allocate(paid_with_points, &nets, decimals)?
    };
    discounts
        .lines
        .iter()
        .zip(shares)
        .map(|(line, share)| {
            Ok(BillLine {
                category: line.category.clone(),
                amount: Money::new(line.net.amount() - share, currency)?,
            })
        })
        .collect()
}
