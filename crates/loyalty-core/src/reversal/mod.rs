//! Reversal of a cancelled or (partly) returned bill.
//!
//! [`plan_reversal`] says how many points to take back and give back, proportionally to the
//! amount returned; [`plan_take_back`] says which lots pay for the points taken back.
//!
//! Proportions use cumulative rounding down: after returns adding up to `returned_after`, the
//! bill has reversed `round_down(earned × returned_after / total)` in all, and each return
//! reverses the difference to what was reversed before. So no return ever takes back more than
//! its exact share, and returns adding up to the whole bill reverse exactly what it earned.
//!
//! A cancellation or return is applied in this order (one store transaction):
//! 1. give back `redeemed_to_return` first: a `Returned` credit (repays debt first, then a new
//!    lot, see [`credit`](crate::ledger::credit) and [`new_lot`](crate::lots::new_lot)), so
//!    that under `CapAtAvailable` the points given back can pay for the points taken back;
//! 2. take back `earned_to_reverse` with [`plan_take_back`] over the member's lots, and
//!    `referral_to_reverse` the same way over the referrer's lots: a `Reversed` entry each,
//!    of `from_lots` plus `to_debt` points ([`split`](crate::lots::split) gives the
//!    available and pending parts of its delta; `to_debt` raises the debt);
//! 3. add the plan's amounts to the bill's record (`forgiven` points count as reversed for the
//!    bill, so a later return does not try again) and set `returned` to `returned_after`.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::lots::{Allocation, Lot, spend_order};
use crate::program::ReturnPolicy;
use crate::values::{MAX_SCALE, Money, PointPrecision, Points};

/// What a bill earned, gave and used, and how much of it was already returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BillRecord {
    /// The bill's total.
    pub total: Money,
    /// The amount returned so far, over all earlier returns (zero at first).
    pub returned: Money,
    /// Points the bill earned the member (all earning kinds tied to the bill).
    pub earned: Points,
    /// Points of `earned` already reversed.
    pub earned_reversed: Points,
    /// Points the bill earned the member's referrer.
    pub referral: Points,
    /// Points of `referral` already reversed.
    pub referral_reversed: Points,
    /// Points the member redeemed on the bill.
    pub redeemed: Points,
    /// Points of `redeemed` already given back.
    pub redeemed_returned: Points,
}

/// What one cancellation or return does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReversalPlan {
    /// The bill's returned amount after this return (the new `BillRecord::returned`).
    pub returned_after: Money,
    /// Earned points to take back from the member.
    pub earned_to_reverse: Points,
    /// Referral points to take back from the referrer.
    pub referral_to_reverse: Points,
    /// Redeemed points to give back to the member.
    pub redeemed_to_return: Points,
}

/// Plans the return of `amount` of a bill (`None`: cancel whatever is left of it).
///
/// Refuses an amount in another currency (`CurrencyMismatch`), zero (`NotPositive`), more than
/// what is left of the bill or a bill already fully returned (`ReversalExceedsBill`), and a
/// record that contradicts itself (`InvalidBill`, `NotPositive` for a zero total).
///
/// ```
/// use loyalty_core::reversal::{plan_reversal, BillRecord};
/// use loyalty_core::{Currency, Money, PointPrecision, Points};
/// let inr = Currency::new("INR")?;
/// // ORDER123: 500.00 earned 50 points and used 30.
/// let order123 = BillRecord {
///     total: Money::parse("500", inr)?, returned: Money::zero(inr),
///     earned: Points::whole(50)?, earned_reversed: Points::ZERO,
///     referral: Points::ZERO, referral_reversed: Points::ZERO,
///     redeemed: Points::whole(30)?, redeemed_returned: Points::ZERO,
/// };
/// let half = plan_reversal(PointPrecision::default(), &order123, Some(Money::parse("250", inr)?))?;
/// assert_eq!((half.earned_to_reverse, half.redeemed_to_return), (Points::whole(25)?, Points::whole(15)?));
/// let cancel = plan_reversal(PointPrecision::default(), &order123, None)?;
/// assert_eq!(cancel.earned_to_reverse, Points::whole(50)?);
/// assert!(plan_reversal(PointPrecision::default(), &order123, Some(Money::parse("501", inr)?)).is_err());
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn plan_reversal(
    precision: PointPrecision,
    bill: &BillRecord,
    amount: Option<Money>,
) -> Result<ReversalPlan> {
    let total = bill.total;
    total.same_currency(&bill.returned)?;
    if total.is_zero() {
        return Err(Error::NotPositive {
            what: "bill total",
            value: total.amount(),
        });
    }
    if bill.returned.amount() > total.amount() {
        return Err(Error::InvalidBill(format!(
            "{} was returned of a bill of {total}",
            bill.returned
        )));
    }
    for (what, done, of) in [
        ("earned points reversed", bill.earned_reversed, bill.earned),
        (
            "referral points reversed",
            bill.referral_reversed,
            bill.referral,
        ),
        (
            "redeemed points returned",
            bill.redeemed_returned,
            bill.redeemed,
        ),
    ] {
        if done > of {
            return Err(Error::InvalidBill(format!("{what} ({done}) exceed {of}")));
        }
    }
    let remaining = total.saturating_sub(&bill.returned)?;
    // Cancelling an already fully returned bill asks for the whole bill again.
    let (amount, requested) = match amount {
        None => (remaining, total.amount()),
        Some(amount) => {
            total.same_currency(&amount)?;
            if amount.is_zero() {
                return Err(Error::NotPositive {
                    what: "returned amount",
                    value: amount.amount(),
                });
            }
            (amount, amount.amount())
        }
    };
    if remaining.is_zero() || amount.amount() > remaining.amount() {
        return Err(Error::ReversalExceedsBill {
            requested,
            remaining: remaining.amount(),
            total: total.amount(),
        });
    }
    let returned_after = bill.returned.checked_add(&amount)?;
    let to_undo = |of: Points, done: Points| -> Result<Points> {
        let target = if returned_after == total {
            of
        } else {
            share_down(precision, of, returned_after.amount(), total.amount())?
        };
        Ok(target.saturating_sub(done))
    };
    Ok(ReversalPlan {
        returned_after,
        earned_to_reverse: to_undo(bill.earned, bill.earned_reversed)?,
        referral_to_reverse: to_undo(bill.referral, bill.referral_reversed)?,
        redeemed_to_return: to_undo(bill.redeemed, bill.redeemed_returned)?,
    })
}

/// `whole × part / total` rounded down to the program's decimals, exactly: computed on whole
/// ten-thousandths in 128-bit integers, so no intermediate rounding can round up.
fn share_down(
    precision: PointPrecision,
    whole: Points,
    part: Decimal,
    total: Decimal,
) -> Result<Points> {
    let units = |value: Decimal| -> Result<i128> {
        let mut value = value;
        value.rescale(MAX_SCALE);
        if value.scale() == MAX_SCALE {
            Ok(value.mantissa())
        } else {
            Err(Error::Overflow("proportional reversal"))
        }
    };
    let numerator = units(whole.value())?
        .checked_mul(units(part)?)
        .ok_or(Error::Overflow("proportional reversal"))?;
    let share = numerator
        .checked_div(units(total)?)
        .ok_or(Error::Overflow("proportional reversal"))?;
    let share = Decimal::try_from_i128_with_scale(share, MAX_SCALE)
        .map_err(|_| Error::Overflow("proportional reversal"))?;
    precision.round_down(share)
}

/// Where the points a reversal takes back come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TakeBack {
    /// Points taken from lots: the bill's own lots first (pending or not), then the member's
    /// other spendable lots, earliest expiry first.
    pub from_lots: Vec<Allocation>,
    /// Points the lots could not pay that become debt (`ReturnPolicy::AllowDebt` only).
    pub to_debt: Points,
    /// Points the lots could not pay that are forgiven (`ReturnPolicy::CapAtAvailable` only).
    pub forgiven: Points,
}

/// Plans taking back `amount` points: from the lots the bill created (whatever their state:
/// those points exist only because of the bill), then from the member's other spendable lots
/// earliest expiry first; what is still missing becomes debt or is forgiven, per `policy`.
///
/// `available` and `pending` are the membership's buckets: no more is taken from non-pending
/// lots than `available`, nor from pending lots than `pending`, so the `Reversed` entry always
/// applies. Lots held by active holds are not in any lot's remaining and are never taken.
///
/// ```
/// use chrono::Utc;
/// use loyalty_core::lots::Lot;
/// use loyalty_core::reversal::plan_take_back;
/// use loyalty_core::{Points, ReturnPolicy};
/// use uuid::Uuid;
/// let now = Utc::now();
/// let lot = |id, remaining| Lot { id: Uuid::from_u128(id), remaining, spendable_from: now, expires_at: None, pending: false };
/// // ORDER123 earned 50, of which 30 were used on ORDER124: its lot holds 20; 0 elsewhere.
/// let order123 = [lot(123, Points::whole(20)?)];
/// let fifty = Points::whole(50)?;
/// let twenty = Points::whole(20)?;
/// let capped = plan_take_back(&order123, &[], fifty, twenty, Points::ZERO, ReturnPolicy::CapAtAvailable, now)?;
/// assert_eq!((capped.from_lots[0].points, capped.forgiven), (twenty, Points::whole(30)?));
/// let owed = plan_take_back(&order123, &[], fifty, twenty, Points::ZERO, ReturnPolicy::AllowDebt, now)?;
/// assert_eq!(owed.to_debt, Points::whole(30)?);
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn plan_take_back(
    lots_of_the_bill: &[Lot],
    other_lots: &[Lot],
    amount: Points,
    available: Points,
    pending: Points,
    policy: ReturnPolicy,
    now: DateTime<Utc>,
) -> Result<TakeBack> {
    let mut own: Vec<&Lot> = lots_of_the_bill.iter().collect();
    own.sort_by(|a, b| spend_order(a, b));
    let mut others: Vec<&Lot> = other_lots
        .iter()
        .filter(|l| l.is_spendable(now) && !lots_of_the_bill.iter().any(|o| o.id == l.id))
        .collect();
    others.sort_by(|a, b| spend_order(a, b));

    let (mut left, mut room_available, mut room_pending) = (amount, available, pending);
    let mut from_lots = Vec::new();
    for lot in own.into_iter().chain(others) {
        let room = if lot.pending {
            &mut room_pending
        } else {
            &mut room_available
        };
        let points = lot.remaining.min(left).min(*room);
        if !points.is_zero() {
            left = left.saturating_sub(points);
            *room = room.saturating_sub(points);
            from_lots.push(Allocation {
                lot_id: lot.id,
                points,
            });
        }
    }
    let (to_debt, forgiven) = match policy {
        ReturnPolicy::AllowDebt => (left, Points::ZERO),
        ReturnPolicy::CapAtAvailable => (Points::ZERO, left),
    };
    Ok(TakeBack {
        from_lots,
        to_debt,
        forgiven,
    })
}

#[cfg(test)]
mod tests;
