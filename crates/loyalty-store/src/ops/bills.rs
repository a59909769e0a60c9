//! A bill as earning and quoting see it: its reference, its time, and its `bills` row (what
//! it earned, gave the referrer and redeemed).

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use crate::db::{DbConnection, native};
use crate::error::{StoreError, StoreResult};
use crate::models::ledger::BillRow;
use crate::ops::tiers::add_qualifying_spend;
use crate::schema::bills;
use crate::store::new_id;

/// How far in the future a bill's time may lie (clock skew between the till and the store).
const BILL_CLOCK_SKEW_MINUTES: i64 = 5;

/// Checks a bill reference: 1 to 128 characters, no control characters.
pub(crate) fn check_reference(reference: &str) -> StoreResult<String> {
    let trimmed = reference.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 128 || trimmed.chars().any(char::is_control)
    {
        return Err(StoreError::InvalidArgument(
            "a bill reference must have 1 to 128 characters and no control characters".into(),
        ));
    }
    Ok(trimmed.to_owned())
}

/// The bill's time: `at`, or `now` without one; refused when it lies in the future.
pub(crate) fn bill_time(
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StoreResult<DateTime<Utc>> {
    let at = crate::clock::to_micros(at.unwrap_or(now));
    if at > now + Duration::minutes(BILL_CLOCK_SKEW_MINUTES) {
        return Err(StoreError::InvalidArgument(format!(
            "the bill time {at} lies in the future (now is {now})"
        )));
    }
    Ok(at)
}

/// The bill row of a membership and reference.
pub(crate) fn find_bill(
    conn: &mut DbConnection,
    membership_id: &str,
    reference: &str,
) -> StoreResult<Option<BillRow>> {
    Ok(native!(conn, c => bills::table
        .filter(bills::membership_id.eq(membership_id))
        .filter(bills::reference.eq(reference))
        .select(BillRow::as_select())
        .get_result(c))
    .optional()?)
}

/// Records what the bill earned on its row (creating the row when no redemption made it), and
/// moves its earning amount into the membership's qualifying spend of its day (what the row
/// counted before, if anything, moves out), so the tier measure always equals the sum over
/// the bills. The caller holds the membership's lock. Returns the row's id.
pub(crate) fn record_bill(
    conn: &mut DbConnection,
    existing: Option<BillRow>,
    mut row: BillRow,
) -> StoreResult<String> {
    match existing {
        Some(old) => {
            row.id.clone_from(&old.id);
            native!(conn, c => diesel::update(bills::table.find(&old.id))
                .set((
                    bills::total.eq(row.total),
                    bills::earn_amount.eq(row.earn_amount),
                    bills::earned.eq(row.earned),
                    bills::referrer_membership_id.eq(&row.referrer_membership_id),
                    bills::referral.eq(row.referral),
                    bills::earned_at.eq(row.earned_at),
                    bills::updated_at.eq(row.updated_at),
                ))
                .execute(c))?;
            // A row a redemption created has not earned (no `earned_at`) and counts nothing;
            // should one ever have, its old contribution leaves before the new one arrives.
            if let Some(at) = old.earned_at {
                add_qualifying_spend(conn, &old.membership_id, at, -old.earn_amount)?;
            }
        }
        None => {
            row.id = new_id();
            native!(conn, c => diesel::insert_into(bills::table)
                .values(&row)
                .execute(c))?;
        }
    }
    if let Some(at) = row.earned_at {
        add_qualifying_spend(conn, &row.membership_id, at, row.earn_amount)?;
    }
    Ok(row.id)
}
