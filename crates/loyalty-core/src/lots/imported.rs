//! Imported opening balances: points a member brings from another loyalty system, each lot
//! with its original earn date and expiry, so that they expire when they would have there.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Lot, expiry_date};
use crate::error::{Error, Result};
use crate::program::Rules;
use crate::values::Points;

/// The lot of an imported opening balance of `points`, earned at `earned_at` in the old system
/// and imported at `now`. It expires at `expires_at` when given, otherwise as the program's
/// expiry policy says counting from `earned_at`; it is spendable at once (the old system had
/// already let the member spend it; no pending period starts again).
///
/// Refused: zero points or more decimals than the program's points have, an earn date in the
/// future, an expiry not after the earn date (all [`Error::InvalidField`]-like input errors),
/// and a lot whose expiry has already come ([`Error::Precondition`]: the points expired in the
/// old system and are not brought back to life).
///
/// ```
/// use chrono::{Months, TimeDelta, Utc};
/// use loyalty_core::lots::imported_lot;
/// use loyalty_core::{Currency, ExpiryPolicy, Points, ProgramRules};
/// use uuid::Uuid;
/// let mut shop = ProgramRules::new(Currency::new("INR")?);
/// shop.expiry = ExpiryPolicy::AfterMonths(12);
/// shop.pending_days = 14;
/// let shop = shop.validate()?;
/// let now = Utc::now();
/// let earned_at = now - TimeDelta::days(300);
/// // No expiry given: the program's 12 months from the original earn date.
/// let lot = imported_lot(&shop, Uuid::from_u128(1), Points::whole(150)?, earned_at, None, now)?;
/// assert_eq!(lot.expires_at, earned_at.checked_add_months(Months::new(12)));
/// assert!(!lot.pending);
/// // An explicit expiry wins; one already past is refused.
/// let soon = now + TimeDelta::days(3);
/// let lot = imported_lot(&shop, Uuid::from_u128(2), Points::whole(20)?, earned_at, Some(soon), now)?;
/// assert_eq!(lot.expires_at, Some(soon));
/// let gone = now - TimeDelta::days(1);
/// assert!(imported_lot(&shop, Uuid::from_u128(3), Points::whole(20)?, earned_at, Some(gone), now).is_err());
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn imported_lot(
    rules: &Rules,
    id: Uuid,
    points: Points,
    earned_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Lot> {
    if points.is_zero() {
        return Err(Error::NotPositive {
            what: "lot points",
            value: points.value(),
        });
    }
    let points = rules.precision.check(points)?;
    if earned_at > now {
        return Err(Error::InvalidField {
            what: "earned_at",
            reason: format!("the earn date {earned_at} is in the future"),
        });
    }
    let expires_at = match expires_at {
        Some(at) => Some(at),
        None => expiry_date(rules, earned_at)?,
    };
    if let Some(at) = expires_at {
        if at <= earned_at {
            return Err(Error::InvalidField {
                what: "expires_at",
                reason: format!("the expiry {at} is not after the earn date {earned_at}"),
            });
        }
        if at <= now {
            return Err(Error::Precondition(format!(
                "the lot expired on {at}; expired points are not imported"
            )));
        }
    }
    Ok(Lot {
        id,
        remaining: points,
        spendable_from: earned_at,
        expires_at,
        pending: false,
    })
}
