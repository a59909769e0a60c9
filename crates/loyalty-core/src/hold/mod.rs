//! Holds: points reserved for a checkout ("miles plus cash") until the payment is settled.
//!
//! Reserving takes allocations from the lots (a `Reserved` entry: available -> held). Then
//! exactly one of three things resolves the hold:
//! - [`Hold::capture`] when the payment succeeded: all or part of the held points are redeemed
//!   (a `Captured` entry), the rest go back to the same lots (a `Released` entry);
//! - [`Hold::release`] when it failed: everything goes back to the same lots;
//! - [`Hold::expire`] when nobody settled it within its time-to-live.
//!
//! The time-to-live splits time in two: before `expires_at` a hold can be captured but not
//! expired, from `expires_at` on it can be expired but not captured, so a late capture and the
//! expiry sweep can never both succeed. Release is accepted at any time while the hold is
//! active: giving points back is always safe.
//!
//! The captured points pay what a redemption of the same points pays ([`captured_value`]).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::lots::{Allocation, Lot, plan_spend};
use crate::values::Points;

mod value;
pub use value::captured_value;

/// Where a hold is in its life. Stored by its snake_case name ([`HoldStatus::as_str`]).
///
/// ```
/// use loyalty_core::hold::HoldStatus;
/// assert_eq!("captured".parse::<HoldStatus>()?, HoldStatus::Captured);
/// assert!("paid".parse::<HoldStatus>().is_err());
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HoldStatus {
    /// Points are held, waiting for the payment.
    Active,
    /// The payment succeeded; (part of) the points were redeemed.
    Captured,
    /// The payment failed; the points went back.
    Released,
    /// Nobody settled the hold in time; the points went back.
    Expired,
}

impl HoldStatus {
    const ALL: [HoldStatus; 4] = [
        HoldStatus::Active,
        HoldStatus::Captured,
        HoldStatus::Released,
        HoldStatus::Expired,
    ];

    /// The name storage and the API use.
    ///
    /// ```
    /// use loyalty_core::hold::HoldStatus;
    /// assert_eq!(HoldStatus::Active.as_str(), "active");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            HoldStatus::Active => "active",
            HoldStatus::Captured => "captured",
            HoldStatus::Released => "released",
            HoldStatus::Expired => "expired",
        }
    }

    /// Whether the hold was already captured, released or expired.
    ///
    /// ```
    /// use loyalty_core::hold::HoldStatus;
    /// assert!(!HoldStatus::Active.is_resolved());
    /// assert!(HoldStatus::Expired.is_resolved());
    /// ```
    pub fn is_resolved(self) -> bool {
        self != HoldStatus::Active
    }
}

impl fmt::Display for HoldStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HoldStatus {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        HoldStatus::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Error::InvalidField {
                what: "hold status",
                reason: format!("unknown hold status {s:?}"),
            })
    }
}

/// Points reserved for one checkout, with the lots they were taken from.
///
/// `points` always equals the sum of `allocations`; the methods refuse a hold where it does not.
///
/// ```
/// use chrono::{TimeDelta, Utc};
/// use loyalty_core::hold::{Hold, HoldStatus};
/// use loyalty_core::lots::{apply_spend, Lot};
/// use loyalty_core::Points;
/// use uuid::Uuid;
/// let now = Utc::now();
/// let mut lots = [Lot { id: Uuid::from_u128(123), remaining: Points::whole(150)?, spendable_from: now, expires_at: None, pending: false }];
/// // Checkout of ORDER124 reserves 30 points for 15 minutes.
/// let mut hold = Hold::reserve(&lots, Points::whole(30)?, now, now + TimeDelta::minutes(15))?;
/// apply_spend(&mut lots, &hold.allocations)?;
/// let paid = hold.capture(None, now + TimeDelta::minutes(2))?;
/// assert_eq!(paid.captured, Points::whole(30)?);
/// assert_eq!(hold.status, HoldStatus::Captured);
/// assert!(hold.release().is_err()); // resolved exactly once
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hold {
    /// Points held.
    pub points: Points,
    /// Where the hold is in its life.
    pub status: HoldStatus,
    /// End of the time-to-live.
    pub expires_at: DateTime<Utc>,
    /// The lots the points were taken from, in spending order (earliest expiry first).
    pub allocations: Vec<Allocation>,
}

/// What resolving a hold did: points redeemed, and points to give back with
/// [`restore`](crate::lots::restore).
///
/// ```
/// use loyalty_core::hold::HoldOutcome;
/// let nothing = HoldOutcome::default();
/// assert!(nothing.captured.is_zero() && nothing.released_allocations.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct HoldOutcome {
    /// Points redeemed (a `Captured` entry).
    pub captured: Points,
    /// Which lots the captured points came from.
    pub captured_allocations: Vec<Allocation>,
    /// Points given back (a `Released` entry).
    pub released: Points,
    /// Which lots get them back.
    pub released_allocations: Vec<Allocation>,
}

impl Hold {
    /// Plans a hold of `points` on the spendable lots (earliest expiry first), active until
    /// `expires_at`. The caller applies [`Hold::allocations`](Hold) to the lots with
    /// [`apply_spend`](crate::lots::apply_spend) and writes a `Reserved` entry.
    ///
    /// Refuses zero points, a time-to-live that is already over, and more points than the
    /// spendable lots hold (`InsufficientPoints`).
    ///
    /// ```
    /// use chrono::{TimeDelta, Utc};
    /// use loyalty_core::hold::Hold;
    /// use loyalty_core::lots::Lot;
    /// use loyalty_core::Points;
    /// use uuid::Uuid;
    /// let now = Utc::now();
    /// let lots = [Lot { id: Uuid::from_u128(123), remaining: Points::whole(150)?, spendable_from: now, expires_at: None, pending: false }];
    /// let ttl = now + TimeDelta::minutes(15);
    /// assert_eq!(Hold::reserve(&lots, Points::whole(30)?, now, ttl)?.points, Points::whole(30)?);
    /// assert!(Hold::reserve(&lots, Points::whole(151)?, now, ttl).is_err());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn reserve(
        lots: &[Lot],
        points: Points,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Hold> {
        if points.is_zero() {
            return Err(Error::NotPositive {
                what: "points to hold",
                value: points.value(),
            });
        }
        if expires_at <= now {
            return Err(Error::InvalidField {
                what: "hold expiry",
                reason: format!("it must be after the reservation time {}", now.to_rfc3339()),
            });
        }
        Ok(Hold {
            points,
            status: HoldStatus::Active,
            expires_at,
            allocations: plan_spend(lots, points, now)?,
        })
    }

    /// Captures `amount` points (`None`: all of them) when the payment succeeded; the rest is
    /// released back to the same lots. The captured part is taken from the allocations in
    /// their order (earliest expiry first), so the points kept are the ones expiring last.
    ///
    /// Refuses a resolved hold (`HoldAlreadyResolved`), a capture from `expires_at` on
    /// (`HoldExpired`), more than is held (`CaptureExceedsHold`) and zero (release instead).
    /// A refused capture changes nothing.
    ///
    /// ```
    /// use chrono::{TimeDelta, Utc};
    /// use loyalty_core::hold::Hold;
    /// use loyalty_core::lots::Lot;
    /// use loyalty_core::{Error, Points};
    /// use uuid::Uuid;
    /// let now = Utc::now();
    /// let lots = [Lot { id: Uuid::from_u128(123), remaining: Points::whole(150)?, spendable_from: now, expires_at: None, pending: false }];
    /// let mut hold = Hold::reserve(&lots, Points::whole(50)?, now, now + TimeDelta::minutes(15))?;
    /// assert!(matches!(hold.capture(Some(Points::whole(60)?), now), Err(Error::CaptureExceedsHold { .. })));
    /// let paid = hold.capture(Some(Points::whole(30)?), now)?; // ORDER124 used 30 of 50
    /// assert_eq!((paid.captured, paid.released), (Points::whole(30)?, Points::whole(20)?));
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn capture(&mut self, amount: Option<Points>, now: DateTime<Utc>) -> Result<HoldOutcome> {
        self.check_active()?;
        if now >= self.expires_at {
            return Err(Error::HoldExpired {
                expires_at: self.expires_at.to_rfc3339(),
            });
        }
        let amount = amount.unwrap_or(self.points);
        if amount > self.points {
            return Err(Error::CaptureExceedsHold {
                requested: amount.value(),
                held: self.points.value(),
            });
        }
        if amount.is_zero() {
            return Err(Error::NotPositive {
                what: "points to capture",
                value: amount.value(),
            });
        }
        let mut outcome = HoldOutcome::default();
        let mut left = amount;
        for allocation in &self.allocations {
            let take = allocation.points.min(left);
            let give_back = allocation.points.saturating_sub(take);
            left = left.saturating_sub(take);
            if !take.is_zero() {
                outcome.captured_allocations.push(Allocation {
                    points: take,
                    ..*allocation
                });
            }
            if !give_back.is_zero() {
                outcome.released_allocations.push(Allocation {
                    points: give_back,
                    ..*allocation
                });
            }
        }
        outcome.captured = amount;
        outcome.released = self.points.saturating_sub(amount);
        self.status = HoldStatus::Captured;
        Ok(outcome)
    }

    /// Releases every held point back to its lot when the payment failed. Accepted until the
    /// hold is resolved, even after its time-to-live; refuses a resolved hold.
    ///
    /// ```
    /// use chrono::{TimeDelta, Utc};
    /// use loyalty_core::hold::{Hold, HoldStatus};
    /// use loyalty_core::lots::Lot;
    /// use loyalty_core::Points;
    /// use uuid::Uuid;
    /// let now = Utc::now();
    /// let lots = [Lot { id: Uuid::from_u128(123), remaining: Points::whole(150)?, spendable_from: now, expires_at: None, pending: false }];
    /// let mut hold = Hold::reserve(&lots, Points::whole(30)?, now, now + TimeDelta::minutes(15))?;
    /// let back = hold.release()?;
    /// assert_eq!(back.released, Points::whole(30)?);
    /// assert_eq!(back.released_allocations, hold.allocations);
    /// assert_eq!(hold.status, HoldStatus::Released);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn release(&mut self) -> Result<HoldOutcome> {
        self.check_active()?;
        self.status = HoldStatus::Released;
        Ok(self.give_everything_back())
    }

    /// Expires the hold once its time-to-live is over (`now >= expires_at`), releasing every
    /// held point back to its lot. Refuses a resolved hold and one that has not expired yet.
    ///
    /// ```
    /// use chrono::{TimeDelta, Utc};
    /// use loyalty_core::hold::{Hold, HoldStatus};
    /// use loyalty_core::lots::Lot;
    /// use loyalty_core::{Error, Points};
    /// use uuid::Uuid;
    /// let now = Utc::now();
    /// let lots = [Lot { id: Uuid::from_u128(123), remaining: Points::whole(150)?, spendable_from: now, expires_at: None, pending: false }];
    /// let ttl = now + TimeDelta::minutes(15);
    /// let mut hold = Hold::reserve(&lots, Points::whole(30)?, now, ttl)?;
    /// assert!(matches!(hold.expire(now), Err(Error::HoldNotExpired { .. })));
    /// assert_eq!(hold.expire(ttl)?.released, Points::whole(30)?);
    /// assert_eq!(hold.status, HoldStatus::Expired);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn expire(&mut self, now: DateTime<Utc>) -> Result<HoldOutcome> {
        self.check_active()?;
        if now < self.expires_at {
            return Err(Error::HoldNotExpired {
                expires_at: self.expires_at.to_rfc3339(),
            });
        }
        self.status = HoldStatus::Expired;
        Ok(self.give_everything_back())
    }

    /// Refuses a resolved hold, or one whose allocations do not add up to its points.
    fn check_active(&self) -> Result<()> {
        if self.status.is_resolved() {
            return Err(Error::HoldAlreadyResolved {
                status: self.status.as_str(),
            });
        }
        let allocated: Points = self
            .allocations
            .iter()
            .map(|a| a.points)
            .sum::<Result<Points>>()?;
        if allocated != self.points {
            return Err(Error::InvalidField {
                what: "hold",
                reason: format!(
                    "its allocations add up to {allocated} points but it holds {}",
                    self.points
                ),
            });
        }
        Ok(())
    }

    fn give_everything_back(&self) -> HoldOutcome {
        HoldOutcome {
            released: self.points,
            released_allocations: self.allocations.clone(),
            ..HoldOutcome::default()
        }
    }
}

#[cfg(test)]
mod tests;
