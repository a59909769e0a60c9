//! Cashback wallets: a program kind whose balance is money in the program's currency.
//!
//! A cashback program reuses every points rule: its "points" are minor-unit-exact amounts of
//! the program's currency. What makes it a wallet is checked here once, when its rules are
//! validated ([`check_wallet`]):
//! - its point decimals are the currency's minor units (2 for EUR, 0 for JPY), so a balance is
//!   an amount of money and never has more decimals than the currency;
//! - its redemption converts 1 point into 1 unit of the currency (spent at checkout 1:1) and
//!   must be set: a wallet that cannot pay bills is not a wallet.
//!
//! The cashback percentages are the existing earn rules read as percentages: the base rate
//! "2 per 100" is 2 % ([`rate_percent`]), a category rule is already a percentage. The cap
//! per transaction is the earn cap per bill, the caps per campaign are the campaign's member
//! cap and budget, the return window is the pending period. [`status`] tells what a cashback
//! record is: pending, processed (available) or reversed.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::program::{ProgramKind, ProgramRules};
use crate::values::{EarnRate, Percent, Points};

/// Checks what a cashback program must satisfy (nothing for a points program).
///
/// ```
/// use loyalty_core::{ConversionRate, Currency, Money, ProgramKind, ProgramRules, PointPrecision, RedemptionRules, Rounding};
/// let eur = Currency::new("EUR")?;
/// let mut wallet = ProgramRules::new(eur);
/// wallet.kind = ProgramKind::Cashback;
/// wallet.precision = PointPrecision::new(2, Rounding::Down)?;
/// wallet.redemption = Some(RedemptionRules {
///     rate: ConversionRate::new("1".parse()?, Money::parse("1.00", eur)?)?,
///     min_points: "0.01".parse()?,
///     max_bill_share: "100".parse()?,
///     max_points_per_bill: None,
/// });
/// assert!(wallet.clone().validate().is_ok());
/// wallet.precision = PointPrecision::new(0, Rounding::Down)?; // whole euros only
/// assert!(wallet.validate().is_err());
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn check_wallet(rules: &ProgramRules) -> Result<()> {
    if rules.kind != ProgramKind::Cashback {
        return Ok(());
    }
    let invalid = |msg: String| Err(Error::InvalidConfig(msg));
    let minor = rules.currency.minor_units();
    if rules.precision.decimals() != minor {
        return invalid(format!(
            "a cashback program's point decimals must be its currency's minor units \
             ({} has {minor}, got {})",
            rules.currency,
            rules.precision.decimals()
        ));
    }
    match &rules.redemption {
        None => invalid(
            "a cashback program must set redemption (1 point = 1 unit of its currency)".into(),
        ),
        Some(r) if r.rate.points().value() != r.rate.value().amount() => invalid(format!(
            "a cashback program redeems 1:1 (1 point = 1 {}), got {} points = {}",
            rules.currency,
            r.rate.points(),
            r.rate.value().amount()
        )),
        Some(_) => Ok(()),
    }
}

/// The base rate as a percentage of the amount (a plain decimal, 6 decimals at most): "2 per
/// 100" is 2 %, "1 per 10" is 10 %.
///
/// ```
/// use loyalty_core::cashback::rate_percent;
/// use loyalty_core::EarnRate;
/// use rust_decimal::Decimal;
/// assert_eq!(rate_percent(&EarnRate::new("2".parse()?, Decimal::from(100))?)?.to_string(), "2");
/// assert_eq!(rate_percent(&EarnRate::new("1".parse()?, Decimal::from(8))?)?.to_string(), "12.5");
/// assert_eq!(rate_percent(&EarnRate::none())?.to_string(), "0");
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn rate_percent(rate: &EarnRate) -> Result<Decimal> {
    let exact = rate
        .points()
        .value()
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|v| v.checked_div(rate.per()))
        .ok_or(Error::Overflow("cashback percentage"))?;
    Ok(exact.round_dp(Percent::MAX_SCALE).normalize())
}

/// The cashback actually given as a percentage of the transaction amount (after caps),
/// rounded to 4 decimals (a plain decimal: a fixed campaign bonus can exceed 100 %); zero for
/// a zero amount.
///
/// ```
/// use loyalty_core::cashback::effective_percent;
/// use rust_decimal::Decimal;
/// let p = effective_percent("5.00".parse()?, Decimal::from(200))?;
/// assert_eq!(p.to_string(), "2.5");
/// assert!(effective_percent("0".parse()?, Decimal::ZERO)?.is_zero());
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn effective_percent(cashback: Points, amount: Decimal) -> Result<Decimal> {
    if amount.is_zero() {
        return Ok(Decimal::ZERO);
    }
    let exact = cashback
        .value()
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|v| v.checked_div(amount))
        .ok_or(Error::Overflow("cashback percentage"))?;
    Ok(exact.round_dp(4).normalize())
}

/// Where a cashback record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CashbackStatus {
    /// Inside the return window: credited but not yet spendable.
    Pending,
    /// The return window passed: available and spendable.
    Processed,
    /// The bill was returned: all of its cashback was taken back.
    Reversed,
}

/// The status of a bill's cashback: `Reversed` once returns took back all it gave (a partial
/// return keeps the status and reduces the amount), else `Pending` until `available_from`,
/// then `Processed`.
///
/// ```
/// use chrono::{Duration, Utc};
/// use loyalty_core::cashback::{CashbackStatus, status};
/// use loyalty_core::Points;
/// let now = Utc::now();
/// let five: Points = "5.00".parse()?;
/// assert_eq!(status(five, Points::ZERO, now + Duration::days(30), now), CashbackStatus::Pending);
/// assert_eq!(status(five, Points::ZERO, now, now), CashbackStatus::Processed);
/// assert_eq!(status(five, five, now, now), CashbackStatus::Reversed);
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn status(
    cashback: Points,
    reversed: Points,
    available_from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> CashbackStatus {
    if !cashback.is_zero() && reversed >= cashback {
        CashbackStatus::Reversed
    } else if now < available_from {
        CashbackStatus::Pending
    } else {
        CashbackStatus::Processed
    }
}

#[cfg(test)]
mod tests;
