//! Redemption at checkout: how many points may pay a bill, and checking a request against
//! every rule with a specific error for each.
//!
//! Points only ever pay part of a bill (they never cash out): the money value of a redemption
//! is the conversion rate applied to the points, rounded *down* to the currency's minor units,
//! and the points themselves are limited so that their exact value fits within the program's
//! maximum share of the bill (at most 100 %). A bill may be paid with points more than once
//! (several redemptions, or a hold then a redemption); the context carries what earlier
//! redemptions already used, and the per-bill limits count them.

use crate::error::{Error, Result};
use crate::program::{RedemptionRules, Rules};
use crate::values::{MAX_AMOUNT, Money, Points};

/// What a redemption is judged against: the bill and the member's points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedemptionContext {
    /// The bill after discounts (the whole bill, not reduced by earlier redemptions).
    pub bill_amount: Money,
    /// The member's spendable points.
    pub available: Points,
    /// Points earlier redemptions already used on this bill.
    pub already_redeemed_on_bill: Points,
    /// The money value of those earlier redemptions.
    pub already_redeemed_value_on_bill: Money,
}

/// Which rule sets the most points a bill can take now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RedemptionLimitReason {
    /// The member's spendable points.
    Balance,
    /// The program's maximum share of the bill payable with points.
    BillShare,
    /// The program's maximum points per bill.
    PointsPerBill,
    /// What the other limits allow is below the program's minimum redemption (or worth less
    /// than the currency's smallest unit), so nothing can be redeemed.
    BelowMinimum,
}

/// The most points a bill can take now, and their value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedemptionLimit {
    /// The most points that pass [`validate_redemption`] (zero when none do).
    pub max_points: Points,
    /// Their money value.
    pub max_value: Money,
    /// The rule that set the limit.
    pub limited_by: RedemptionLimitReason,
}

/// An accepted redemption: the points and what they pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redemption {
    /// The points spent.
    pub points: Points,
    /// Their money value, rounded down to the currency's minor units.
    pub value: Money,
}

/// The most points the member can redeem on this bill now.
///
/// The smallest of: the member's spendable points; the program's maximum points per bill minus
/// what the bill already used; and the most points whose exact value fits within the maximum
/// share of the bill minus the value already redeemed on it, all in the program's point
/// precision (rounded down). When two limits are equal, the reason reported is the first of
/// balance, bill share, points per bill. If the result is below the minimum redemption, or
/// worth nothing, the maximum is zero with [`RedemptionLimitReason::BelowMinimum`].
///
/// A non-zero result always passes [`validate_redemption`]. Fails with
/// [`Error::Precondition`] when the program does not let points pay bills, and with
/// [`Error::CurrencyMismatch`] when the amounts are not in the program's currency.
///
/// ```
/// use loyalty_core::{
///     max_redeemable, ConversionRate, Currency, Money, PointPrecision, Points, ProgramRules,
///     RedemptionContext, RedemptionLimitReason, RedemptionRules, Rounding,
/// };
/// let inr = Currency::new("INR")?;
/// let mut pharmacy = ProgramRules::new(inr);
/// pharmacy.precision = PointPrecision::new(2, Rounding::Down)?;
/// pharmacy.redemption = Some(RedemptionRules {
///     rate: ConversionRate::new("100".parse()?, Money::parse("10.00", inr)?)?, // 100 points = 10.00
///     min_points: "100".parse()?,
///     max_bill_share: "50".parse()?,
///     max_points_per_bill: None,
/// });
/// let pharmacy = pharmacy.validate()?;
/// let mut checkout = RedemptionContext {
///     bill_amount: Money::parse("800.00", inr)?,
///     available: "1200".parse()?,
///     already_redeemed_on_bill: Points::ZERO,
///     already_redeemed_value_on_bill: Money::zero(inr),
/// };
/// let limit = max_redeemable(&pharmacy, &checkout)?;
/// assert_eq!((limit.max_points.to_string(), limit.max_value.to_string()), ("1200".into(), "120.00 INR".into()));
/// assert_eq!(limit.limited_by, RedemptionLimitReason::Balance);
///
/// checkout.available = "10000".parse()?; // 50 % of 800.00 is 400.00 = 4000 points
/// let limit = max_redeemable(&pharmacy, &checkout)?;
/// assert_eq!((limit.max_points.to_string(), limit.limited_by), ("4000".into(), RedemptionLimitReason::BillShare));
///
/// checkout.available = "99".parse()?; // below the minimum of 100 points
/// assert_eq!(max_redeemable(&pharmacy, &checkout)?.limited_by, RedemptionLimitReason::BelowMinimum);
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn max_redeemable(rules: &Rules, ctx: &RedemptionContext) -> Result<RedemptionLimit> {
    let redemption = redemption_rules(rules)?;
    check_currencies(rules, ctx)?;
    let precision = rules.precision;
    let currency = rules.currency;

    let mut max_points = precision.round_down(ctx.available.value())?;
    let mut limited_by = RedemptionLimitReason::Balance;
    let share = share_limit(rules, redemption, ctx)?;
    if share < max_points {
        max_points = share;
        limited_by = RedemptionLimitReason::BillShare;
    }
    if let Some(per_bill) = per_bill_limit(rules, redemption, ctx)?
        && per_bill < max_points
    {
        max_points = per_bill;
        limited_by = RedemptionLimitReason::PointsPerBill;
    }

    let max_value = redemption.rate.value_of(max_points)?;
    let worthless = !max_points.is_zero() && max_value.is_zero();
    if max_points < redemption.min_points || worthless {
        return Ok(RedemptionLimit {
            max_points: Points::ZERO,
            max_value: Money::zero(currency),
            limited_by: RedemptionLimitReason::BelowMinimum,
        });
    }
    Ok(RedemptionLimit {
        max_points,
        max_value,
        limited_by,
    })
}

/// Checks a request to pay the bill with `requested` points and returns the points and their
/// value.
///
/// After the program's preconditions (redemption enabled, amounts in its currency), the rules
/// are checked in this order, and the first one broken is the error:
/// 1. the request is for more than zero points ([`Error::NotPositive`]);
/// 2. it has no more decimals than the program's points ([`Error::TooPrecise`]);
/// 3. it reaches the minimum redemption ([`Error::BelowMinimumRedemption`]);
/// 4. with what the bill already used, it stays within the maximum points per bill
///    ([`Error::ExceedsPointsPerBill`]);
/// 5. its exact value, with what the bill already redeemed, stays within the maximum share of
///    the bill ([`Error::ExceedsBillShare`]);
/// 6. the member has the points ([`Error::InsufficientPoints`]);
/// 7. it is worth at least the currency's smallest unit ([`Error::WorthlessRedemption`]).
///
/// ```
/// use loyalty_core::{
///     validate_redemption, ConversionRate, Currency, Error, Money, PointPrecision, Points,
///     ProgramRules, RedemptionContext, RedemptionRules, Rounding,
/// };
/// let inr = Currency::new("INR")?;
/// let mut pharmacy = ProgramRules::new(inr);
/// pharmacy.precision = PointPrecision::new(2, Rounding::Down)?;
/// pharmacy.redemption = Some(RedemptionRules {
///     rate: ConversionRate::new("100".parse()?, Money::parse("10.00", inr)?)?,
///     min_points: "100".parse()?,
///     max_bill_share: "50".parse()?,
///     max_points_per_bill: None,
/// });
/// let pharmacy = pharmacy.validate()?;
/// let checkout = RedemptionContext {
///     bill_amount: Money::parse("100.00", inr)?,
///     available: "2000".parse()?,
///     already_redeemed_on_bill: Points::ZERO,
///     already_redeemed_value_on_bill: Money::zero(inr),
/// };
/// let ok = validate_redemption(&pharmacy, &checkout, "500".parse()?)?;
/// assert_eq!(ok.value.to_string(), "50.00 INR");
///
/// let too_many = validate_redemption(&pharmacy, &checkout, "600".parse()?).unwrap_err();
/// assert_eq!(too_many.to_string(), "redemption of 600 points exceeds 50% of the bill (max 500 points)");
/// let too_few = validate_redemption(&pharmacy, &checkout, "50".parse()?);
/// assert!(matches!(too_few, Err(Error::BelowMinimumRedemption { .. })));
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn validate_redemption(
    rules: &Rules,
    ctx: &RedemptionContext,
    requested: Points,
) -> Result<Redemption> {
    let redemption = redemption_rules(rules)?;
    check_currencies(rules, ctx)?;

    if requested.is_zero() {
        return Err(Error::NotPositive {
            what: "points to redeem",
            value: requested.value(),
        });
    }
    rules.precision.check(requested)?;
    if requested < redemption.min_points {
        return Err(Error::BelowMinimumRedemption {
            requested: requested.value(),
            minimum: redemption.min_points.value(),
        });
    }
    if let Some(max) = redemption.max_points_per_bill {
        let with_earlier = ctx.already_redeemed_on_bill.checked_add(requested)?;
        if with_earlier > max {
            return Err(Error::ExceedsPointsPerBill {
                requested: requested.value(),
                max_points: max.value(),
                already: ctx.already_redeemed_on_bill.value(),
            });
        }
    }
    let share = share_limit(rules, redemption, ctx)?;
    if requested > share {
        return Err(Error::ExceedsBillShare {
            requested: requested.value(),
            share: redemption.max_bill_share.value(),
            max_points: share.value(),
        });
    }
    if requested > ctx.available {
        return Err(Error::InsufficientPoints {
            requested: requested.value(),
            available: ctx.available.value(),
        });
    }
    let value = redemption.rate.value_of(requested)?;
    if value.is_zero() {
        return Err(Error::WorthlessRedemption {
            requested: requested.value(),
        });
    }
    Ok(Redemption {
        points: requested,
        value,
    })
}

/// The money value of `points` at the program's conversion rate, rounded down to the
/// currency's minor units: what outstanding points would pay (the program's liability).
///
/// Fails with [`Error::Precondition`] when the program does not let points pay bills.
///
/// ```
/// use loyalty_core::{points_value, ConversionRate, Currency, Money, ProgramRules, RedemptionRules};
/// let inr = Currency::new("INR")?;
/// let mut pharmacy = ProgramRules::new(inr);
/// pharmacy.redemption = Some(RedemptionRules {
///     rate: ConversionRate::new("100".parse()?, Money::parse("10.00", inr)?)?,
///     min_points: "100".parse()?,
///     max_bill_share: "50".parse()?,
///     max_points_per_bill: None,
/// });
/// let pharmacy = pharmacy.validate()?;
/// assert_eq!(points_value(&pharmacy, "12345".parse()?)?.to_string(), "1234.50 INR");
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn points_value(rules: &Rules, points: Points) -> Result<Money> {
    redemption_rules(rules)?.rate.value_of(points)
}

fn redemption_rules(rules: &Rules) -> Result<&RedemptionRules> {
    rules
        .redemption
        .as_ref()
        .ok_or_else(|| Error::Precondition("this program does not let points pay bills".to_owned()))
}

fn check_currencies(rules: &Rules, ctx: &RedemptionContext) -> Result<()> {
    let program = Money::zero(rules.currency);
    program.same_currency(&ctx.bill_amount)?;
    program.same_currency(&ctx.already_redeemed_value_on_bill)
}

/// The most points whose exact value fits in what is left of the bill's share.
fn share_limit(
    rules: &Rules,
    redemption: &RedemptionRules,
    ctx: &RedemptionContext,
) -> Result<Points> {
    let allowed = redemption.max_bill_share.of(ctx.bill_amount.amount());
    let left = allowed - ctx.already_redeemed_value_on_bill.amount();
    if left.is_sign_negative() || left.is_zero() {
        return Ok(Points::ZERO);
    }
    let rate = &redemption.rate;
    let exact = left
        .checked_mul(rate.points().value())
        .and_then(|p| p.checked_div(rate.value().amount()));
    match exact {
        Some(points) if points <= MAX_AMOUNT => rate.points_within(left, rules.precision),
        // The share would allow more points than can exist: it is no limit at all.
        _ => Points::new(MAX_AMOUNT),
    }
}

/// What is left of the maximum points per bill, in the program's precision.
fn per_bill_limit(
    rules: &Rules,
    redemption: &RedemptionRules,
    ctx: &RedemptionContext,
) -> Result<Option<Points>> {
    redemption
        .max_points_per_bill
        .map(|max| {
            let left = max.saturating_sub(ctx.already_redeemed_on_bill);
            rules.precision.round_down(left.value())
        })
        .transpose()
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
