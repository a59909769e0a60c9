//! The checkout quote: a bill's discounts, then its redemption, then its earning, as one pure
//! function whose result explains every number. A quote changes nothing.
//!
//! [`quote`] works in this order, each step on the result of the one before:
//! 1. **Currency.** The bill and the value already redeemed on it must be in the program's
//!    currency ([`Error::CurrencyMismatch`](crate::Error::CurrencyMismatch)).
//! 2. **Discounts** ([`apply_discounts`]): category discounts, then the bill discount. Their
//!    [`net_total`](Discounts::net_total) is "the bill" for everything that follows.
//! 3. **Redemption** on the net total: the most points the bill can take now
//!    ([`max_redeemable`]) and, when points are requested, the checked redemption
//!    ([`validate_redemption`]; a broken rule is that rule's own error). A program without
//!    redemption quotes no maximum and refuses a request with
//!    [`Error::Precondition`](crate::Error::Precondition).
//! 4. **To pay**: the net total minus the value already redeemed on the bill and minus this
//!    redemption's value, never below zero.
//! 5. **Earning**, on [`earn_on_bill`]'s path so a quote and the later earn always agree: the
//!    amounts that earn per line (below), then [`compute_earning`](crate::compute_earning())
//!    with the net total as the bill total (campaign minimums are judged after discounts) and
//!    the bill's time, then the referrer's [`referral_points`](crate::referral_points()) on
//!    the earning amount.
//!
//! The amounts that earn follow the program's [`EarnBasis`](crate::EarnBasis). With
//! `PaidAmount` the part paid with points (earlier redemptions on the bill plus this one) is
//! spread over the discounted lines in proportion to their nets with
//! [`allocate`](crate::allocate()), in the currency's minor units or finer when the amounts are
//! finer, and each line earns on its net minus its share. The value spread is never more than
//! the net total, so no line earns on less than zero. With `DiscountedAmount` each line earns
//! on its net.
//!
//! The pharmacy (Medicines 1 % and General 3 %, 2 point decimals, 100 points = 10.00 for at
//! most 50 % of a bill and at least 100 points, the referrer earns 0.5 %, Medicines 5 % off):
//! ```
//! use chrono::Utc;
//! use loyalty_core::{
//!     quote, Bill, BillLine, Category, CategoryDiscount, CategoryRule, ConversionRate, Currency,
//!     Money, PointPrecision, Points, ProgramRules, QuoteInput, RedemptionLimitReason,
//!     RedemptionRules, Rounding,
//! };
//! let inr = Currency::new("INR")?;
//! let mut pharmacy = ProgramRules::new(inr);
//! pharmacy.precision = PointPrecision::new(2, Rounding::Down)?;
//! pharmacy.categories = vec![
//!     CategoryRule { category: Category::new("Medicines")?, earn_percent: "1".parse()? },
//!     CategoryRule { category: Category::new("General")?, earn_percent: "3".parse()? },
//! ];
//! pharmacy.redemption = Some(RedemptionRules {
//!     rate: ConversionRate::new("100".parse()?, Money::parse("10.00", inr)?)?,
//!     min_points: "100".parse()?,
//!     max_bill_share: "50".parse()?,
//!     max_points_per_bill: None,
//! });
//! pharmacy.referral_percent = "0.5".parse()?;
//! pharmacy.discounts.categories =
//!     vec![CategoryDiscount { category: Category::new("Medicines")?, percent: "5".parse()? }];
//! let pharmacy = pharmacy.validate()?;
//! let line = |category: &str, amount: &str| -> loyalty_core::Result<BillLine> {
//!     Ok(BillLine { category: Some(Category::new(category)?), amount: Money::parse(amount, inr)? })
//! };
//! let bill = Bill::new(vec![line("Medicines", "500")?, line("General", "500")?], inr, Utc::now())?;
//! let mut checkout = QuoteInput {
//!     rules: &pharmacy,
//!     tier: None,
//!     campaigns: &[],
//!     bill: &bill,
//!     available: "1200".parse()?,
//!     already_redeemed_on_bill: Points::ZERO,
//!     already_redeemed_value_on_bill: Money::zero(inr),
//!     requested_points: None,
//!     has_referrer: true,
//! };
//! let q = quote(&checkout)?;
//! // 25.00 off the medicines leaves 975.00; the member can pay 120.00 of it with 1200 points.
//! assert_eq!(q.discounts.net_total.to_string(), "975.00 INR");
//! let max = q.max_redeemable.map(|m| (m.max_points.to_string(), m.max_value.to_string(), m.limited_by));
//! assert_eq!(max, Some(("1200".into(), "120.00 INR".into(), RedemptionLimitReason::Balance)));
//! // Without a redemption: 1 % of 475.00 + 3 % of 500.00 = 19.75 points.
//! assert_eq!((q.to_pay.to_string(), q.earning.total.to_string()), ("975.00 INR".into(), "19.75".into()));
//!
//! // Redeeming 1000 points pays 100.00, spread 48.72 / 51.28 over the lines, so the paid
//! // 426.28 and 448.72 earn 4.2628 + 13.4616 = 17.72 points; the referrer earns 0.5 % of 875.00.
//! checkout.requested_points = Some("1000".parse()?);
//! let q = quote(&checkout)?;
//! assert_eq!(q.to_pay.to_string(), "875.00 INR");
//! assert_eq!(q.earning_lines[0].amount.to_string(), "426.28 INR");
//! assert_eq!(q.earning_lines[1].amount.to_string(), "448.72 INR");
//! assert_eq!(q.earning.total.to_string(), "17.72");
//! assert_eq!(q.referral_points.to_string(), "4.37");
//! # Ok::<(), loyalty_core::Error>(())
//! ```

use crate::bill::{Bill, BillLine};
use crate::campaigns::ActiveCampaign;
use crate::discounts::{Discounts, apply_discounts};
use crate::earn::Earning;
use crate::error::Result;
use crate::program::{Rules, Tier};
use crate::redeem::{
    Redemption, RedemptionContext, RedemptionLimit, max_redeemable, validate_redemption,
};
use crate::values::{Money, Points};

mod earning;
pub use earning::{BillEarning, earn_on_bill};

/// Everything a checkout quote depends on.
#[derive(Debug, Clone, Copy)]
pub struct QuoteInput<'a> {
    /// The program's validated rules.
    pub rules: &'a Rules,
    /// The membership's current tier, or `None` below the first tier.
    pub tier: Option<&'a Tier>,
    /// The program's candidate campaigns with their usage; those that do not apply are skipped.
    pub campaigns: &'a [ActiveCampaign<'a>],
    /// The gross bill (before discounts).
    pub bill: &'a Bill,
    /// The member's spendable points.
    pub available: Points,
    /// Points already redeemed on this bill reference.
    pub already_redeemed_on_bill: Points,
    /// The money value of those points.
    pub already_redeemed_value_on_bill: Money,
    /// `None`: no redemption now (the quote shows the maximum); `Some`: check and apply it.
    pub requested_points: Option<Points>,
    /// Whether the member was referred (the referrer earns a share of the earning amount).
    pub has_referrer: bool,
}

/// A checkout quote: every number of the bill, each explained by its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// The gross bill total.
    pub bill_total: Money,
    /// The discounts, line by line.
    pub discounts: Discounts,
    /// The most points the bill can take now; `None` when the program has no redemption.
    pub max_redeemable: Option<RedemptionLimit>,
    /// The requested redemption, checked.
    pub redemption: Option<Redemption>,
    /// The discounted net total minus the value already redeemed on the bill and minus this
    /// redemption's value (never below zero).
    pub to_pay: Money,
    /// The amounts that earn, line by line, in the bill's order.
    pub earning_lines: Vec<BillLine>,
    /// Their sum.
    pub earning_amount: Money,
    /// What the bill earns, component by component.
    pub earning: Earning,
    /// What the member's referrer earns (zero without a referrer).
    pub referral_points: Points,
}

/// Quotes a checkout: discounts, then redemption, then earning (see the
/// [module documentation](self) for the order and the errors).
///
/// The shop (1 point per 10 spent, 1 point = 1.00 for at most half a bill, at least 10 points):
/// a member with 150 points redeems 30 of them on a 500 bill.
/// ```
/// use chrono::Utc;
/// use loyalty_core::{
///     quote, Bill, BillLine, ConversionRate, Currency, EarnRate, Money, Points, ProgramRules,
///     QuoteInput, RedemptionRules,
/// };
/// use rust_decimal::Decimal;
/// let inr = Currency::new("INR")?;
/// let mut shop = ProgramRules::new(inr);
/// shop.base_rate = EarnRate::new(Points::whole(1)?, Decimal::from(10))?;
/// shop.redemption = Some(RedemptionRules {
///     rate: ConversionRate::new(Points::whole(1)?, Money::parse("1.00", inr)?)?,
///     min_points: Points::whole(10)?,
///     max_bill_share: "50".parse()?,
///     max_points_per_bill: None,
/// });
/// let shop = shop.validate()?;
/// let bill = Bill::new(vec![BillLine { category: None, amount: Money::parse("500", inr)? }], inr, Utc::now())?;
/// let q = quote(&QuoteInput {
///     rules: &shop,
///     tier: None,
///     campaigns: &[],
///     bill: &bill,
///     available: Points::whole(150)?,
///     already_redeemed_on_bill: Points::ZERO,
///     already_redeemed_value_on_bill: Money::zero(inr),
///     requested_points: Some(Points::whole(30)?),
///     has_referrer: false,
/// })?;
/// assert_eq!(q.max_redeemable.map(|m| m.max_points), Some(Points::whole(150)?));
/// assert_eq!(q.redemption.map(|r| r.value.to_string()), Some("30.00 INR".into()));
/// assert_eq!(q.to_pay.to_string(), "470.00 INR");
/// // The paid 470.00 earns 47 points.
/// assert_eq!(q.earning.total, Points::whole(47)?);
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn quote(input: &QuoteInput<'_>) -> Result<Quote> {
    let rules = input.rules;
    same_currency(rules, &input.bill.total())?;
    same_currency(rules, &input.already_redeemed_value_on_bill)?;
    let discounts = apply_discounts(rules, input.bill)?;

    let ctx = RedemptionContext {
        bill_amount: discounts.net_total,
        available: input.available,
        already_redeemed_on_bill: input.already_redeemed_on_bill,
        already_redeemed_value_on_bill: input.already_redeemed_value_on_bill,
    };
    let max_redeemable = match rules.redemption {
        Some(_) => Some(max_redeemable(rules, &ctx)?),
        None => None,
    };
    // Without redemption in the program, `validate_redemption` refuses with its precondition.
    let redemption = input
        .requested_points
        .map(|points| validate_redemption(rules, &ctx, points))
        .transpose()?;

    let redeemed_value = match &redemption {
        Some(r) => input.already_redeemed_value_on_bill.checked_add(&r.value)?,
        None => input.already_redeemed_value_on_bill,
    };
    let to_pay = discounts.net_total.saturating_sub(&redeemed_value)?;
    let BillEarning {
        discounts,
        earning_lines,
        earning_amount,
        earning,
        referral_points,
    } = earning::earn_on_discounts(
        rules,
        input.tier,
        input.campaigns,
        input.bill,
        discounts,
        &redeemed_value,
        input.has_referrer,
    )?;
    Ok(Quote {
        bill_total: input.bill.total(),
        discounts,
        max_redeemable,
        redemption,
        to_pay,
        earning_lines,
        earning_amount,
        earning,
        referral_points,
    })
}

fn same_currency(rules: &Rules, money: &Money) -> Result<()> {
    Money::zero(rules.currency).same_currency(money)
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
