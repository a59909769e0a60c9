//! The ledger's rules: what kinds of entries exist, how one entry changes a membership's
//! [`Balances`], and the checker that proves balances, entries and lots agree.
//!
//! Every entry carries a non-negative number of points (its size) and a signed
//! [`BucketDelta`] (where those points went). [`Balances::apply`] refuses a delta that does not
//! fit the entry's kind or that would drive a bucket below zero, so a ledger replayed through it
//! can never describe an impossible history.
//!
//! | kind | available | pending | held | debt | lifetime |
//! |------|-----------|---------|------|------|----------|
//! | earning kinds, `Returned` | + | + | 0 | − | earned + (returned: redeemed −) |
//! | `Adjusted` up / down | + / − | + / − | 0 | − / + | earned + / reversed + |
//! | `Reserved` | −p | 0 | +p | 0 | |
//! | `Captured` | 0 | 0 | −p | 0 | redeemed + |
//! | `Released` | +p | 0 | −p | 0 | |
//! | `Redeemed` | −p | 0 | 0 | 0 | redeemed + |
//! | `Reversed` | − | − | 0 | + | reversed + |
//! | `Expired` | − | − | 0 | 0 | expired + |
//! | `Matured` | +p | −p | 0 | 0 | |
//! | `Imported` | + | + | 0 | − | earned + |

mod check;
mod kind;

use std::fmt;

use rust_decimal::Decimal;

pub use check::{Bucket, LotTotals, Source, Violation, check_invariants};
pub use kind::EntryKind;

use crate::error::{Error, Result};
use crate::values::Points;

/// How one entry changes each balance bucket, signed: positive adds to the bucket.
///
/// ```
/// use loyalty_core::ledger::BucketDelta;
/// use rust_decimal::Decimal;
/// // Reserving 30 points for ORDER124 moves them from available to held.
/// let reserve = BucketDelta { available: Decimal::from(-30), held: Decimal::from(30), ..BucketDelta::ZERO };
/// assert_eq!(reserve.net(), Decimal::ZERO);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BucketDelta {
    /// Change of the spendable balance.
    pub available: Decimal,
    /// Change of the not-yet-spendable balance.
    pub pending: Decimal,
    /// Change of the points reserved by holds.
    pub held: Decimal,
    /// Change of the debt (points owed after a reversal under `ReturnPolicy::AllowDebt`).
    pub debt: Decimal,
}

impl BucketDelta {
    /// No change.
    pub const ZERO: BucketDelta = BucketDelta {
        available: Decimal::ZERO,
        pending: Decimal::ZERO,
        held: Decimal::ZERO,
        debt: Decimal::ZERO,
    };

    /// The change of the member's net points: available + pending + held − debt.
    ///
    /// ```
    /// use loyalty_core::ledger::BucketDelta;
    /// use rust_decimal::Decimal;
    /// // Earning 50 on ORDER123 while owing 20: 20 repay the debt, 30 become available.
    /// let earn = BucketDelta { available: Decimal::from(30), debt: Decimal::from(-20), ..BucketDelta::ZERO };
    /// assert_eq!(earn.net(), Decimal::from(50));
    /// ```
    pub fn net(&self) -> Decimal {
        // Saturating: a delta read from storage may hold anything, and an absurd one must be
        // refused by `Balances::apply`, not panic.
        self.available
            .saturating_add(self.pending)
            .saturating_add(self.held)
            .saturating_sub(self.debt)
    }
}

impl fmt::Display for BucketDelta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "available {:+}, pending {:+}, held {:+}, debt {:+}",
            self.available, self.pending, self.held, self.debt
        )
    }
}

/// A membership's balances: the four buckets and the lifetime totals.
///
/// ```
/// use loyalty_core::ledger::{Balances, BucketDelta, EntryKind};
/// use loyalty_core::Points;
/// use rust_decimal::Decimal;
/// let member = Balances { available: Points::whole(150)?, earned: Points::whole(150)?, ..Balances::ZERO };
/// let used = BucketDelta { available: Decimal::from(-30), ..BucketDelta::ZERO };
/// let after = member.apply(EntryKind::Redeemed, Points::whole(30)?, &used)?; // ORDER124
/// assert_eq!(after.available, Points::whole(120)?);
/// assert_eq!(after.redeemed, Points::whole(30)?);
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Balances {
    /// Spendable now.
    pub available: Points,
    /// Earned but not spendable until the pending period ends.
    pub pending: Points,
    /// Reserved by active holds.
    pub held: Points,
    /// Owed after a reversal took back more than was left (`ReturnPolicy::AllowDebt` only).
    pub debt: Points,
    /// Lifetime: every point ever credited by an earning kind or an upward adjustment.
    pub earned: Points,
    /// Lifetime: points redeemed or captured, minus points given back by returns.
    pub redeemed: Points,
    /// Lifetime: points that expired.
    pub expired: Points,
    /// Lifetime: points taken back by reversals and downward adjustments.
    pub reversed: Points,
}

/// Which way an entry moves points, decided by its kind (and, for `Adjusted`, its delta).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Credit,
    Debit,
    Move,
}

/// Which way one bucket may change under an entry's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum May {
    Stay,
    Rise,
    Fall,
}

impl May {
    fn allows(self, change: Decimal) -> bool {
        match self {
            May::Stay => change.is_zero(),
            May::Rise => change >= Decimal::ZERO,
            May::Fall => change <= Decimal::ZERO,
        }
    }
}

/// The buckets' permitted directions (available, pending, held, debt) and the entry's direction.
fn shape(kind: EntryKind, delta: &BucketDelta) -> ([May; 4], Direction) {
    use May::{Fall, Rise, Stay};
    const CREDIT: ([May; 4], Direction) = ([Rise, Rise, Stay, Fall], Direction::Credit);
    const DEBIT: ([May; 4], Direction) = ([Fall, Fall, Stay, Rise], Direction::Debit);
    match kind {
        EntryKind::Adjusted if delta.net() < Decimal::ZERO => DEBIT,
        EntryKind::Earned
        | EntryKind::ReferralEarned
        | EntryKind::ActionBonus
        | EntryKind::TierBonus
        | EntryKind::CampaignBonus
        | EntryKind::Adjusted
        | EntryKind::Returned
        | EntryKind::Imported => CREDIT,
        EntryKind::Reversed => DEBIT,
        EntryKind::Reserved => ([Fall, Stay, Rise, Stay], Direction::Move),
        EntryKind::Released => ([Rise, Stay, Fall, Stay], Direction::Move),
        EntryKind::Matured => ([Rise, Fall, Stay, Stay], Direction::Move),
        EntryKind::Captured => ([Stay, Stay, Fall, Stay], Direction::Debit),
        EntryKind::Redeemed => ([Fall, Stay, Stay, Stay], Direction::Debit),
        EntryKind::Expired => ([Fall, Fall, Stay, Stay], Direction::Debit),
    }
}

/// Checks that `delta` is what an entry of `kind` and size `points` can do.
fn check_shape(kind: EntryKind, points: Points, delta: &BucketDelta) -> Result<Direction> {
    let (may, direction) = shape(kind, delta);
    let changes = [delta.available, delta.pending, delta.held, delta.debt];
    let directions_fit = may.iter().zip(changes).all(|(m, c)| m.allows(c));
    let p = points.value();
    let size_fits = match direction {
        Direction::Credit => delta.net() == p,
        Direction::Debit => delta.net() == -p,
        // A move takes `p` out of one bucket and puts it into another.
        Direction::Move => {
            delta.net().is_zero()
                && changes
                    .iter()
                    .fold(Decimal::ZERO, |sum, c| sum.saturating_add(c.abs()))
                    == p + p
        }
    };
    if directions_fit && size_fits {
        Ok(direction)
    } else {
        Err(Error::InvalidField {
            what: "ledger entry",
            reason: format!(
                "a {kind} entry of {points} points cannot change the balances by {delta}"
            ),
        })
    }
}

/// Adds a signed change to a bucket or total, refusing to go below zero.
fn bucket(what: &'static str, current: Points, change: Decimal) -> Result<Points> {
    let after = current
        .value()
        .checked_add(change)
        .ok_or(Error::Overflow("balance"))?;
    if after < Decimal::ZERO {
        return Err(Error::Negative { what, value: after });
    }
    Points::new(after)
}

/// The available bucket after a change: going below zero is the member's insufficient points.
fn available(current: Points, change: Decimal) -> Result<Points> {
    bucket("available balance", current, change).map_err(|e| match e {
        Error::Negative { .. } => Error::InsufficientPoints {
            requested: -change,
            available: current.value(),
        },
        other => other,
    })
}

impl Balances {
    /// All buckets and totals at zero: a new membership.
    pub const ZERO: Balances = Balances {
        available: Points::ZERO,
        pending: Points::ZERO,
        held: Points::ZERO,
        debt: Points::ZERO,
        earned: Points::ZERO,
        redeemed: Points::ZERO,
        expired: Points::ZERO,
        reversed: Points::ZERO,
    };

    /// The balances after one entry.
    ///
    /// Refuses a delta that does not fit the kind (see the module's table; e.g. an `Earned`
    /// entry that lowers a bucket, or whose net change differs from its size), and a change
    /// that would drive any bucket or total below zero (`InsufficientPoints` for the available
    /// bucket, `Negative` for the others).
    ///
    /// ```
    /// use loyalty_core::ledger::{Balances, BucketDelta, EntryKind};
    /// use loyalty_core::{Error, Points};
    /// use rust_decimal::Decimal;
    /// let member = Balances { available: Points::whole(150)?, earned: Points::whole(150)?, ..Balances::ZERO };
    /// let earn = BucketDelta { available: Decimal::from(50), ..BucketDelta::ZERO }; // ORDER123
    /// let member = member.apply(EntryKind::Earned, Points::whole(50)?, &earn)?;
    /// assert_eq!((member.available, member.earned), (Points::whole(200)?, Points::whole(200)?));
    /// let expire = BucketDelta { available: Decimal::from(-20), ..BucketDelta::ZERO };
    /// let member = member.apply(EntryKind::Expired, Points::whole(20)?, &expire)?;
    /// assert_eq!((member.available, member.expired), (Points::whole(180)?, Points::whole(20)?));
    /// let too_much = BucketDelta { available: Decimal::from(-500), ..BucketDelta::ZERO };
    /// assert!(matches!(
    ///     member.apply(EntryKind::Redeemed, Points::whole(500)?, &too_much),
    ///     Err(Error::InsufficientPoints { .. })
    /// ));
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn apply(&self, kind: EntryKind, points: Points, delta: &BucketDelta) -> Result<Balances> {
        let direction = check_shape(kind, points, delta)?;
        let mut after = Balances {
            available: available(self.available, delta.available)?,
            pending: bucket("pending balance", self.pending, delta.pending)?,
            held: bucket("held balance", self.held, delta.held)?,
            debt: bucket("debt", self.debt, delta.debt)?,
            ..*self
        };
        match kind {
            EntryKind::Earned
            | EntryKind::ReferralEarned
            | EntryKind::ActionBonus
            | EntryKind::TierBonus
            | EntryKind::CampaignBonus
            | EntryKind::Imported => after.earned = after.earned.checked_add(points)?,
            EntryKind::Adjusted if direction == Direction::Credit => {
                after.earned = after.earned.checked_add(points)?;
            }
            EntryKind::Adjusted | EntryKind::Reversed => {
                after.reversed = after.reversed.checked_add(points)?;
            }
            EntryKind::Redeemed | EntryKind::Captured => {
                after.redeemed = after.redeemed.checked_add(points)?;
            }
            EntryKind::Returned => {
                after.redeemed = bucket("lifetime redeemed", self.redeemed, -points.value())?;
            }
            EntryKind::Expired => after.expired = after.expired.checked_add(points)?,
            EntryKind::Reserved | EntryKind::Released | EntryKind::Matured => {}
        }
        Ok(after)
    }

    /// The member's net points: available + pending + held − debt (negative only under debt).
    ///
    /// ```
    /// use loyalty_core::ledger::Balances;
    /// use loyalty_core::Points;
    /// use rust_decimal::Decimal;
    /// let member = Balances { available: Points::whole(150)?, held: Points::whole(30)?, debt: Points::whole(20)?, ..Balances::ZERO };
    /// assert_eq!(member.net(), Decimal::from(160));
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn net(&self) -> Decimal {
        self.available.value() + self.pending.value() + self.held.value() - self.debt.value()
    }
}

/// How a credit is split: first it repays the member's debt, the rest becomes a new lot.
///
/// ```
/// use loyalty_core::ledger::{Balances, EntryKind, credit};
/// use loyalty_core::Points;
/// let owing = Balances { debt: Points::whole(20)?, ..Balances::ZERO };
/// let split = credit(&owing, EntryKind::Earned, Points::whole(50)?)?; // ORDER123
/// assert_eq!((split.repay_debt, split.to_lot), (Points::whole(20)?, Points::whole(30)?));
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CreditSplit {
    /// Points that pay off debt (no lot is created for them).
    pub repay_debt: Points,
    /// Points that go into a new lot (none when the whole credit repaid debt).
    pub to_lot: Points,
}

impl CreditSplit {
    /// The delta of the credit's entry, with the lot's points in the pending bucket when the
    /// lot is pending.
    ///
    /// ```
    /// use loyalty_core::ledger::{Balances, EntryKind, credit};
    /// use loyalty_core::Points;
    /// use rust_decimal::Decimal;
    /// let owing = Balances { debt: Points::whole(20)?, ..Balances::ZERO };
    /// let delta = credit(&owing, EntryKind::Earned, Points::whole(50)?)?.delta(false);
    /// assert_eq!((delta.available, delta.debt), (Decimal::from(30), Decimal::from(-20)));
    /// let owing = owing.apply(EntryKind::Earned, Points::whole(50)?, &delta)?;
    /// assert!(owing.debt.is_zero());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn delta(&self, into_pending: bool) -> BucketDelta {
        let lot = self.to_lot.value();
        BucketDelta {
            available: if into_pending { Decimal::ZERO } else { lot },
            pending: if into_pending { lot } else { Decimal::ZERO },
            held: Decimal::ZERO,
            debt: -self.repay_debt.value(),
        }
    }
}

/// Splits a credit of `points` into debt repayment and a new lot. Credits repay debt first.
///
/// Only credit kinds (the earning kinds, `Adjusted` upwards, `Returned`, `Imported`) are
/// accepted.
///
/// ```
/// use loyalty_core::ledger::{Balances, EntryKind, credit};
/// use loyalty_core::Points;
/// let member = Balances { available: Points::whole(150)?, ..Balances::ZERO };
/// let split = credit(&member, EntryKind::Earned, Points::whole(50)?)?; // no debt
/// assert_eq!((split.repay_debt, split.to_lot), (Points::ZERO, Points::whole(50)?));
/// assert!(credit(&member, EntryKind::Redeemed, Points::whole(30)?).is_err());
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn credit(balances: &Balances, kind: EntryKind, points: Points) -> Result<CreditSplit> {
    if !kind.is_credit() {
        return Err(Error::InvalidField {
            what: "ledger entry",
            reason: format!("a {kind} entry is not a credit"),
        });
    }
    let repay_debt = points.min(balances.debt);
    Ok(CreditSplit {
        repay_debt,
        to_lot: points.saturating_sub(repay_debt),
    })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod wallet;
