//! Point lots: where credited points live until they are spent, reversed or expire.
//!
//! Each credit that is not swallowed by debt creates a [`Lot`]. Spending takes from the lots
//! that expire first and records one [`Allocation`] per lot touched, so that a release, a
//! partial capture or a cancelled debit can put the points back into exactly the lots they
//! came from ([`restore`]).
//!
//! A lot's `pending` flag, not its `spendable_from`, decides whether it can be spent: the
//! flag changes together with the balances (a `Matured` entry for what [`matured`] returns),
//! so lots and buckets always agree. Likewise an overdue lot stays in the available (or
//! pending) bucket until the expiry sweep writes an `Expired` entry for what [`overdue`]
//! returns, but it is never spent in the meantime.

mod dated;
mod imported;
mod sweep;

use std::cmp::Ordering;

use chrono::{DateTime, Days, Months, Utc};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::ledger::EntryKind;
use crate::program::{ExpiryPolicy, Rules};
use crate::values::Points;

pub use dated::{check_bill_date, new_dated_lot};
pub use imported::imported_lot;
pub use sweep::{matured, overdue};

/// Points from one credit, with the dates that govern them.
///
/// ```
/// use chrono::Utc;
/// use loyalty_core::lots::Lot;
/// use loyalty_core::Points;
/// use uuid::Uuid;
/// let order123 = Lot { id: Uuid::from_u128(123), remaining: Points::whole(50)?, spendable_from: Utc::now(), expires_at: None, pending: false };
/// assert!(order123.is_spendable(Utc::now()));
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lot {
    /// The lot's identity.
    pub id: Uuid,
    /// Points not yet spent, reserved, reversed or expired.
    pub remaining: Points,
    /// When the pending period ends (the credit's time when there is none).
    pub spendable_from: DateTime<Utc>,
    /// When the remaining points expire (`None`: never).
    pub expires_at: Option<DateTime<Utc>>,
    /// Not yet matured: its points are in the pending bucket and cannot be spent.
    pub pending: bool,
}

impl Lot {
    /// Whether the lot's expiry has come (`expires_at <= now`), whatever it still holds.
    ///
    /// ```
    /// use chrono::{TimeDelta, Utc};
    /// use loyalty_core::lots::Lot;
    /// use loyalty_core::Points;
    /// use uuid::Uuid;
    /// let now = Utc::now();
    /// let lot = Lot { id: Uuid::from_u128(1), remaining: Points::whole(20)?, spendable_from: now, expires_at: Some(now), pending: false };
    /// assert!(lot.is_overdue(now));
    /// assert!(!lot.is_overdue(now - TimeDelta::seconds(1)));
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Whether the lot can be spent now: matured, not overdue, and not empty.
    ///
    /// ```
    /// use chrono::Utc;
    /// use loyalty_core::lots::Lot;
    /// use loyalty_core::Points;
    /// use uuid::Uuid;
    /// let lot = Lot { id: Uuid::from_u128(123), remaining: Points::whole(50)?, spendable_from: Utc::now(), expires_at: None, pending: true };
    /// assert!(!lot.is_spendable(Utc::now())); // still pending
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn is_spendable(&self, now: DateTime<Utc>) -> bool {
        !self.pending && !self.is_overdue(now) && !self.remaining.is_zero()
    }
}

/// Points taken from (or given back to) one lot by one debit.
///
/// ```
/// use loyalty_core::lots::Allocation;
/// use loyalty_core::Points;
/// use uuid::Uuid;
/// let used_on_order124 = Allocation { lot_id: Uuid::from_u128(123), points: Points::whole(30)? };
/// assert_eq!(used_on_order124.points, Points::whole(30)?);
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Allocation {
    /// The lot.
    pub lot_id: Uuid,
    /// How many of its points.
    pub points: Points,
}

/// How many of some allocations' points sit in each bucket (by their lots' state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LotSplit {
    /// Points from lots that are not pending.
    pub available: Points,
    /// Points from pending lots.
    pub pending: Points,
}

/// The spendable-from and expiry dates of points earned at `earned_at`.
///
/// Spendable after the program's pending days; expiring N calendar months after earning (the
/// day is clamped to the month's end: earned 31 January, 1 month -> 28/29 February). The
/// pending period may outlast the expiry (60 pending days, expiry after 1 month): such a lot
/// expires from the pending bucket and never matures.
///
/// ```
/// use chrono::{Months, Utc};
/// use loyalty_core::lots::new_lot_dates;
/// use loyalty_core::{Currency, ExpiryPolicy, ProgramRules};
/// let mut shop = ProgramRules::new(Currency::new("INR")?);
/// shop.expiry = ExpiryPolicy::AfterMonths(12);
/// let shop = shop.validate()?;
/// let earned_at = Utc::now(); // ORDER123
/// let (spendable_from, expires_at) = new_lot_dates(&shop, earned_at)?;
/// assert_eq!(spendable_from, earned_at);
/// assert_eq!(expires_at, earned_at.checked_add_months(Months::new(12)));
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn new_lot_dates(
    rules: &Rules,
    earned_at: DateTime<Utc>,
) -> Result<(DateTime<Utc>, Option<DateTime<Utc>>)> {
    let spendable_from = earned_at
        .checked_add_days(Days::new(u64::from(rules.pending_days)))
        .ok_or(Error::Overflow("lot spendable-from date"))?;
    Ok((spendable_from, expiry_date(rules, earned_at)?))
}

fn expiry_date(rules: &Rules, from: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
    match rules.expiry {
        ExpiryPolicy::Never => Ok(None),
        ExpiryPolicy::AfterMonths(months) => from
            .checked_add_months(Months::new(months))
            .map(Some)
            .ok_or(Error::Overflow("lot expiry date")),
    }
}

/// The lot created by a credit of `points` (a credit's `to_lot`, see
/// [`credit`](crate::ledger::credit)) at `at`.
///
/// Earning kinds get [`new_lot_dates`] and are pending when the program has a pending period.
/// `Adjusted` and `Returned` credits are spendable at once (an admin's correction and points
/// given back from a cancelled bill were never in doubt) and expire N months after `at`.
///
/// ```
/// use chrono::Utc;
/// use loyalty_core::ledger::EntryKind;
/// use loyalty_core::lots::new_lot;
/// use loyalty_core::{Currency, ProgramRules, Points};
/// use uuid::Uuid;
/// let mut shop = ProgramRules::new(Currency::new("INR")?);
/// shop.pending_days = 14;
/// let shop = shop.validate()?;
/// let lot = new_lot(&shop, EntryKind::Earned, Uuid::from_u128(123), Points::whole(50)?, Utc::now())?;
/// assert!(lot.pending);
/// let back = new_lot(&shop, EntryKind::Returned, Uuid::from_u128(124), Points::whole(30)?, Utc::now())?;
/// assert!(!back.pending);
/// assert!(new_lot(&shop, EntryKind::Redeemed, Uuid::from_u128(1), Points::whole(30)?, Utc::now()).is_err());
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn new_lot(
    rules: &Rules,
    kind: EntryKind,
    id: Uuid,
    points: Points,
    at: DateTime<Utc>,
) -> Result<Lot> {
    if !kind.is_credit() {
        return Err(Error::InvalidField {
            what: "lot",
            reason: format!("a {kind} entry does not create a lot"),
        });
    }
    if points.is_zero() {
        return Err(Error::NotPositive {
            what: "lot points",
            value: points.value(),
        });
    }
    let (spendable_from, expires_at) = if kind.is_earning() {
        new_lot_dates(rules, at)?
    } else {
        (at, expiry_date(rules, at)?)
    };
    Ok(Lot {
        id,
        remaining: points,
        spendable_from,
        expires_at,
        pending: spendable_from > at,
    })
}

/// The order lots are spent (and expire) in: earliest expiry first, never-expiring last; ties
/// by spendable-from, then id, so that every replica picks the same lots.
pub(crate) fn spend_order(a: &Lot, b: &Lot) -> Ordering {
    let expiry = match (a.expires_at, b.expires_at) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    expiry
        .then(a.spendable_from.cmp(&b.spendable_from))
        .then(a.id.cmp(&b.id))
}

/// Which lots pay `amount` points now: spendable lots (not pending, not overdue), earliest
/// expiry first. Fails with `InsufficientPoints` (and the spendable total) when they hold less.
///
/// ```
/// use chrono::{Months, Utc};
/// use loyalty_core::lots::{plan_spend, Lot};
/// use loyalty_core::Points;
/// use uuid::Uuid;
/// let now = Utc::now();
/// let lot = |id, remaining, months| Lot { id: Uuid::from_u128(id), remaining, spendable_from: now, expires_at: now.checked_add_months(Months::new(months)), pending: false };
/// let lots = [lot(123, Points::whole(50)?, 12), lot(100, Points::whole(100)?, 3)];
/// let order124 = plan_spend(&lots, Points::whole(130)?, now)?;
/// assert_eq!(order124[0].lot_id, Uuid::from_u128(100)); // expires first
/// assert_eq!(order124[1].points, Points::whole(30)?);
/// assert!(plan_spend(&lots, Points::whole(151)?, now).is_err());
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn plan_spend(lots: &[Lot], amount: Points, now: DateTime<Utc>) -> Result<Vec<Allocation>> {
    let mut spendable: Vec<&Lot> = lots.iter().filter(|l| l.is_spendable(now)).collect();
    spendable.sort_by(|a, b| spend_order(a, b));
    let mut left = amount;
    let mut allocations = Vec::new();
    for lot in &spendable {
        if left.is_zero() {
            break;
        }
        let points = lot.remaining.min(left);
        left = left.saturating_sub(points);
        allocations.push(Allocation {
            lot_id: lot.id,
            points,
        });
    }
    if !left.is_zero() {
        let available: Result<Points> = spendable.iter().map(|l| l.remaining).sum();
        return Err(Error::InsufficientPoints {
            requested: amount.value(),
            available: available?.value(),
        });
    }
    Ok(allocations)
}

/// Applies `change` to the lot each allocation names, all or nothing.
fn change_lots(
    lots: &mut [Lot],
    allocations: &[Allocation],
    change: impl Fn(Points, Points) -> Result<Points>,
) -> Result<()> {
    let mut changed = lots.to_vec();
    for allocation in allocations {
        let lot = changed
            .iter_mut()
            .find(|l| l.id == allocation.lot_id)
            .ok_or_else(|| Error::InvalidField {
                what: "allocation",
                reason: format!("lot {} is not among the given lots", allocation.lot_id),
            })?;
        lot.remaining = change(lot.remaining, allocation.points)?;
    }
    lots.clone_from_slice(&changed);
    Ok(())
}

/// Takes the allocated points out of their lots. All or nothing: fails, changing no lot, when
/// a lot is missing or holds less than its allocation. Pending and overdue lots are not
/// refused here (a reversal takes from them); [`plan_spend`] decides what may be spent.
///
/// ```
/// use chrono::Utc;
/// use loyalty_core::lots::{apply_spend, Allocation, Lot};
/// use loyalty_core::Points;
/// use uuid::Uuid;
/// let mut lots = [Lot { id: Uuid::from_u128(123), remaining: Points::whole(150)?, spendable_from: Utc::now(), expires_at: None, pending: false }];
/// let order124 = [Allocation { lot_id: Uuid::from_u128(123), points: Points::whole(30)? }];
/// apply_spend(&mut lots, &order124)?;
/// assert_eq!(lots[0].remaining, Points::whole(120)?);
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn apply_spend(lots: &mut [Lot], allocations: &[Allocation]) -> Result<()> {
    change_lots(lots, allocations, |remaining, points| {
        remaining
            .checked_sub(points)
            .ok_or(Error::InsufficientPoints {
                requested: points.value(),
                available: remaining.value(),
            })
    })
}

/// Gives allocated points back to exactly the lots they came from (release, expired hold,
/// the released part of a capture). All or nothing. A lot that became overdue meanwhile gets
/// its points back too; the next expiry sweep expires them.
///
/// ```
/// use chrono::Utc;
/// use loyalty_core::lots::{apply_spend, restore, Allocation, Lot};
/// use loyalty_core::Points;
/// use uuid::Uuid;
/// let mut lots = [Lot { id: Uuid::from_u128(123), remaining: Points::whole(150)?, spendable_from: Utc::now(), expires_at: None, pending: false }];
/// let before = lots.clone();
/// let order124 = [Allocation { lot_id: Uuid::from_u128(123), points: Points::whole(30)? }];
/// apply_spend(&mut lots, &order124)?;
/// restore(&mut lots, &order124)?;
/// assert_eq!(lots, before);
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn restore(lots: &mut [Lot], allocations: &[Allocation]) -> Result<()> {
    change_lots(lots, allocations, Points::checked_add)
}

/// How many of the allocated points come from pending lots and how many from the others:
/// the bucket deltas of an `Expired` or `Reversed` entry.
///
/// ```
/// use chrono::Utc;
/// use loyalty_core::lots::{split, Allocation, Lot};
/// use loyalty_core::Points;
/// use uuid::Uuid;
/// let fifty = Points::whole(50)?;
/// let lot = |id, pending| Lot { id: Uuid::from_u128(id), remaining: fifty, spendable_from: Utc::now(), expires_at: None, pending };
/// let lots = [lot(1, false), lot(123, true)];
/// let take = [Allocation { lot_id: Uuid::from_u128(1), points: Points::whole(20)? },
///             Allocation { lot_id: Uuid::from_u128(123), points: Points::whole(50)? }];
/// let by_bucket = split(&lots, &take)?;
/// assert_eq!((by_bucket.available, by_bucket.pending), (Points::whole(20)?, Points::whole(50)?));
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn split(lots: &[Lot], allocations: &[Allocation]) -> Result<LotSplit> {
    let mut by_bucket = LotSplit::default();
    for allocation in allocations {
        let lot = lots
            .iter()
            .find(|l| l.id == allocation.lot_id)
            .ok_or_else(|| Error::InvalidField {
                what: "allocation",
                reason: format!("lot {} is not among the given lots", allocation.lot_id),
            })?;
        let total = if lot.pending {
            &mut by_bucket.pending
        } else {
            &mut by_bucket.available
        };
        *total = total.checked_add(allocation.points)?;
    }
    Ok(by_bucket)
}

#[cfg(test)]
mod tests;
