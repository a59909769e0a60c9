//! The sweeps' questions: which lots have expired, which pending lots have matured.

use chrono::{DateTime, Utc};

use super::{Allocation, Lot, spend_order};

/// The points to expire at `now`: the whole remaining of every lot whose expiry has come,
/// oldest expiry first.
///
/// A pending lot whose expiry passes before it matures expires too, from the pending bucket
/// (use [`split`](super::split) to know how much comes from each bucket); it never matures.
///
/// ```
/// use chrono::{Months, Utc};
/// use loyalty_core::lots::{overdue, Lot};
/// use loyalty_core::Points;
/// use uuid::Uuid;
/// let earned = Utc::now();
/// let lot = Lot { id: Uuid::from_u128(1), remaining: Points::whole(20)?, spendable_from: earned, expires_at: earned.checked_add_months(Months::new(12)), pending: false };
/// assert!(overdue(&[lot.clone()], earned).is_empty());
/// let a_year_later = earned.checked_add_months(Months::new(12)).unwrap_or(earned);
/// assert_eq!(overdue(&[lot], a_year_later)[0].points, Points::whole(20)?);
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn overdue(lots: &[Lot], now: DateTime<Utc>) -> Vec<Allocation> {
    let mut due: Vec<&Lot> = lots
        .iter()
        .filter(|l| l.is_overdue(now) && !l.remaining.is_zero())
        .collect();
    due.sort_by(|a, b| spend_order(a, b));
    due.into_iter()
        .map(|l| Allocation {
            lot_id: l.id,
            points: l.remaining,
        })
        .collect()
}

/// The pending lots whose pending period has ended at `now` (`spendable_from <= now`), with
/// the points to move from pending to available, earliest first. Overdue lots do not mature
/// (they expire from pending, see [`overdue`]).
///
/// ```
/// use chrono::{Days, Utc};
/// use loyalty_core::lots::{matured, Lot};
/// use loyalty_core::Points;
/// use uuid::Uuid;
/// let earned = Utc::now();
/// let two_weeks = earned.checked_add_days(Days::new(14)).unwrap_or(earned);
/// let lot = Lot { id: Uuid::from_u128(123), remaining: Points::whole(50)?, spendable_from: two_weeks, expires_at: None, pending: true };
/// assert!(matured(&[lot.clone()], earned).is_empty());
/// assert_eq!(matured(&[lot], two_weeks)[0].points, Points::whole(50)?);
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn matured(lots: &[Lot], now: DateTime<Utc>) -> Vec<Allocation> {
    let mut ripe: Vec<&Lot> = lots
        .iter()
        .filter(|l| {
            l.pending && l.spendable_from <= now && !l.is_overdue(now) && !l.remaining.is_zero()
        })
        .collect();
    ripe.sort_by(|a, b| {
        a.spendable_from
            .cmp(&b.spendable_from)
            .then(a.id.cmp(&b.id))
    });
    ripe.into_iter()
        .map(|l| Allocation {
            lot_id: l.id,
            points: l.remaining,
        })
        .collect()
}
