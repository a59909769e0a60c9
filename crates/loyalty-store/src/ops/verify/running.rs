//! The running values each entry records (the balances and lifetime totals after it, read by
//! balances as of a moment and statements) against the running sums of its membership's
//! entries in the order they were posted.

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::db::{DbConnection, native};
use crate::error::StoreResult;

/// At most this many wrong entries are reported per page of memberships.
const MAX_REPORTED: i64 = 1000;

/// Entries of memberships with ids in `[first, last]` whose after-values are not the running
/// sums of their membership's entries (by the rules of `Balances::apply`, as the migration
/// that added them backfilled them), as (membership, entry); at most [`MAX_REPORTED`].
pub(super) fn running_mismatches(
    conn: &mut DbConnection,
    first: &str,
    last: &str,
) -> StoreResult<Vec<(String, String)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        membership_id: String,
        #[diesel(sql_type = Text)]
        id: String,
    }
    // `$n` placeholders in order of first use serve both backends (SQLite numbers named
    // parameters in order of appearance).
    let sql = format!(
        "SELECT membership_id, id FROM (SELECT membership_id, id, \
            available_after, pending_after, held_after, debt_after, earned_after, \
            redeemed_after, expired_after, reversed_after, referral_after, \
            SUM(d_available) OVER w AS r_available, \
            SUM(d_pending) OVER w AS r_pending, \
            SUM(d_held) OVER w AS r_held, \
            SUM(d_debt) OVER w AS r_debt, \
            SUM(CASE WHEN kind IN ('earned', 'referral_earned', 'action_bonus', 'tier_bonus', \
                'campaign_bonus', 'imported') THEN points \
                WHEN kind = 'adjusted' AND d_available + d_pending + d_held - d_debt > 0 \
                THEN points ELSE 0 END) OVER w AS r_earned, \
            SUM(CASE WHEN kind IN ('redeemed', 'captured') THEN points \
                WHEN kind = 'returned' THEN -points ELSE 0 END) OVER w AS r_redeemed, \
            SUM(CASE WHEN kind = 'expired' THEN points ELSE 0 END) OVER w AS r_expired, \
            SUM(CASE WHEN kind = 'reversed' THEN points \
                WHEN kind = 'adjusted' AND d_available + d_pending + d_held - d_debt < 0 \
                THEN points ELSE 0 END) OVER w AS r_reversed, \
            SUM(CASE WHEN kind = 'referral_earned' THEN points ELSE 0 END) OVER w AS r_referral \
          FROM ledger_entries WHERE membership_id >= $1 AND membership_id <= $2 \
          WINDOW w AS (PARTITION BY membership_id ORDER BY id \
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) r \
        WHERE available_after <> r_available OR pending_after <> r_pending \
            OR held_after <> r_held OR debt_after <> r_debt OR earned_after <> r_earned \
            OR redeemed_after <> r_redeemed OR expired_after <> r_expired \
            OR reversed_after <> r_reversed OR referral_after <> r_referral \
        ORDER BY membership_id, id LIMIT {MAX_REPORTED}"
    );
    let rows: Vec<Row> = native!(conn, c => diesel::sql_query(&sql)
        .bind::<Text, _>(first)
        .bind::<Text, _>(last)
        .load(c))?;
    Ok(rows.into_iter().map(|r| (r.membership_id, r.id)).collect())
}
