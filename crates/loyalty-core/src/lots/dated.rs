//! Dated bills: a bill's points count their pending period and expiry from the bill's time,
//! not from when the till uploaded it, so a late upload neither earns fresh points nor points
//! that were already dead.

use chrono::{DateTime, Days, Utc};
use uuid::Uuid;

use super::{Lot, expiry_date, new_lot, new_lot_dates};
use crate::error::{Error, Result};
use crate::ledger::EntryKind;
use crate::program::Rules;
use crate::values::Points;

/// Checks that a bill made at `bill_at` may still earn at `now`: not older than the program's
/// maximum bill age, and not so old that its points would already have expired. Both are
/// broken business rules ([`Error::Precondition`]). A bill in the future is the caller's to
/// refuse (clock skew is a transport matter).
///
/// ```
/// use chrono::{Months, TimeDelta, Utc};
/// use loyalty_core::lots::check_bill_date;
/// use loyalty_core::{Currency, ExpiryPolicy, ProgramRules};
/// let mut shop = ProgramRules::new(Currency::new("INR")?);
/// shop.expiry = ExpiryPolicy::AfterMonths(12);
/// shop.max_bill_age_days = Some(30);
/// let shop = shop.validate()?;
/// let now = Utc::now();
/// assert!(check_bill_date(&shop, now - TimeDelta::days(29), now).is_ok());
/// assert!(check_bill_date(&shop, now - TimeDelta::days(31), now).is_err()); // too old
///
/// let mut no_limit = ProgramRules::new(Currency::new("INR")?);
/// no_limit.expiry = ExpiryPolicy::AfterMonths(12);
/// let no_limit = no_limit.validate()?;
/// let thirteen_months_ago = now.checked_sub_months(Months::new(13)).unwrap();
/// let refused = check_bill_date(&no_limit, thirteen_months_ago, now).unwrap_err();
/// assert!(refused.to_string().starts_with("points of a bill dated"));
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn check_bill_date(rules: &Rules, bill_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<()> {
    if let Some(days) = rules.max_bill_age_days {
        let oldest = now
            .checked_sub_days(Days::new(u64::from(days)))
            .ok_or(Error::Overflow("the oldest accepted bill date"))?;
        if bill_at < oldest {
            return Err(Error::Precondition(format!(
                "the bill dated {bill_at} is older than the program accepts: bills may be at \
                 most {days} days old (the oldest accepted now is {oldest})"
            )));
        }
    }
    if let Some(expires_at) = expiry_date(rules, bill_at)?
        && expires_at <= now
    {
        return Err(Error::Precondition(format!(
            "points of a bill dated {bill_at} would have expired on {expires_at}; the bill \
             cannot earn"
        )));
    }
    Ok(())
}

/// The lot of an earning credit of `points` for a bill made at `earned_at` and credited at
/// `now`: its pending period and expiry count from `earned_at` ([`new_lot_dates`]), and it is
/// pending only while `now` is before its spendable-from date (a bill older than the pending
/// period arrives already matured). Other credit kinds ignore `earned_at` ([`new_lot`] at
/// `now`). The caller has checked the bill with [`check_bill_date`].
///
/// ```
/// use chrono::{Months, TimeDelta, Utc};
/// use loyalty_core::ledger::EntryKind;
/// use loyalty_core::lots::new_dated_lot;
/// use loyalty_core::{Currency, ExpiryPolicy, Points, ProgramRules};
/// use uuid::Uuid;
/// let mut shop = ProgramRules::new(Currency::new("INR")?);
/// shop.expiry = ExpiryPolicy::AfterMonths(12);
/// shop.pending_days = 14;
/// let shop = shop.validate()?;
/// let now = Utc::now();
/// let bill_at = now - TimeDelta::days(20);
/// let lot = new_dated_lot(&shop, EntryKind::Earned, Uuid::from_u128(1), Points::whole(50)?, bill_at, now)?;
/// assert!(!lot.pending); // 14 pending days after a 20-day-old bill are over
/// assert_eq!(lot.expires_at, bill_at.checked_add_months(Months::new(12)));
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn new_dated_lot(
    rules: &Rules,
    kind: EntryKind,
    id: Uuid,
    points: Points,
    earned_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Lot> {
    let mut lot = new_lot(rules, kind, id, points, now)?;
    if kind.is_earning() {
        let (spendable_from, expires_at) = new_lot_dates(rules, earned_at)?;
        lot.spendable_from = spendable_from;
        lot.expires_at = expires_at;
        lot.pending = spendable_from > now;
    }
    Ok(lot)
}
