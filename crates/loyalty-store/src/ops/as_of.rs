//! Balances as of any moment, and member statements.
//!
//! Every ledger entry records the membership's balances and lifetime totals right after it
//! (`available_after` .. `referral_after`, written by [`Account::post`](crate::account::Account::post)
//! from the locked membership, backfilled by the migration that added them). The balances at
//! an instant are therefore the after-values of the membership's last entry made at or before
//! it: one seek on the `(membership_id, created_at, id)` index, O(log n) whatever the length
//! of the history. Before its first entry a membership holds nothing.
//!
//! An as-of read shows what the ledger *recorded* at that instant. Expiry and maturing are
//! posted lazily (when the membership is next touched, or by the sweep), so points whose
//! expiry time had passed but that no operation had expired yet still count as available at
//! that instant; their `expired` entry shows when it was recorded.
//!
//! A statement covers `[from, to)`: its opening balances are what was recorded before `from`,
//! its entries those made in the period in the order they were posted (time, then id), and
//! its closing balances what was recorded before `to`, so opening + the entries' deltas =
//! closing. Long statements are paged with the id of the last entry of the previous page.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use loyalty_core::Points;
use loyalty_core::ledger::Balances;
use uuid::Uuid;

use crate::amounts::points_from_db;
use crate::clock::to_db_time;
use crate::db::DbConnection;
use crate::error::{StoreError, StoreResult};
use crate::models::ledger::EntryRow;
use crate::models::member::MembershipRow;
use crate::ops::history::LedgerEntryView;
use crate::ops::members::{Membership, Page, find_membership, load_member, page};
use crate::schema::memberships;
use crate::store::Store;

/// A membership's balances and lifetime referral points as the ledger recorded them at some
/// instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// Balances and lifetime totals.
    pub balances: Balances,
    /// Lifetime points earned as a referrer.
    pub referral_earned: Points,
}

impl Recorded {
    /// What a membership holds before its first entry.
    pub const NOTHING: Recorded = Recorded {
        balances: Balances::ZERO,
        referral_earned: Points::ZERO,
    };
}

/// A member's statement for one program and period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The membership.
    pub membership_id: String,
    /// Start of the period (inclusive).
    pub from: DateTime<Utc>,
    /// End of the period (exclusive); `None`: up to now, entries made now included.
    pub to: Option<DateTime<Utc>>,
    /// What was recorded before the period.
    pub opening: Recorded,
    /// The period's entries (this page), oldest first.
    pub entries: Page<LedgerEntryView>,
    /// What was recorded at the end of the period.
    pub closing: Recorded,
}

/// Which end of an instant a read stops at.
#[derive(Debug, Clone, Copy)]
enum Until {
    /// Entries made before the instant.
    Before(NaiveDateTime),
    /// Entries made at or before the instant.
    AtOrBefore(NaiveDateTime),
}

type AfterValues = (i64, i64, i64, i64, i64, i64, i64, i64, i64);

/// What membership `membership_id` recorded until `until`: the after-values of its last entry
/// in that range, one index seek.
fn recorded(conn: &mut DbConnection, membership_id: &str, until: Until) -> StoreResult<Recorded> {
    use crate::schema::ledger_entries::dsl as e;
    let query = e::ledger_entries
        .filter(e::membership_id.eq(membership_id))
        .into_boxed();
    let query = match until {
        Until::Before(t) => query.filter(e::created_at.lt(t)),
        Until::AtOrBefore(t) => query.filter(e::created_at.le(t)),
    };
    let last: Option<AfterValues> = query
        .order((e::created_at.desc(), e::id.desc()))
        .select((
            e::available_after,
            e::pending_after,
            e::held_after,
            e::debt_after,
            e::earned_after,
            e::redeemed_after,
            e::expired_after,
            e::reversed_after,
            e::referral_after,
        ))
        .first(conn)
        .optional()?;
    let Some((available, pending, held, debt, earned, redeemed, expired, reversed, referral)) =
        last
    else {
        return Ok(Recorded::NOTHING);
    };
    Ok(Recorded {
        balances: Balances {
            available: points_from_db(available)?,
            pending: points_from_db(pending)?,
            held: points_from_db(held)?,
            debt: points_from_db(debt)?,
            earned: points_from_db(earned)?,
            redeemed: points_from_db(redeemed)?,
            expired: points_from_db(expired)?,
            reversed: points_from_db(reversed)?,
        },
        referral_earned: points_from_db(referral)?,
    })
}

/// Refuses an instant after now: the ledger cannot say what it will hold.
fn not_in_future(what: &str, at: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<()> {
    if at > now {
        return Err(StoreError::InvalidArgument(format!(
            "{what} {} is in the future (now is {})",
            at.to_rfc3339(),
            now.to_rfc3339()
        )));
    }
    Ok(())
}

impl Store {
    /// The member's memberships (the one in `program_id`, or all) with their balances and
    /// lifetime totals as the ledger recorded them at `as_of` (entries made at that instant
    /// included): one index seek per membership. A membership joined after `as_of` shows zero;
    /// its tier is today's. `as_of` after now is `InvalidArgument`.
    pub fn memberships_as_of(
        &self,
        tenant: &str,
        member_id: &str,
        program_id: Option<&str>,
        as_of: DateTime<Utc>,
    ) -> StoreResult<Vec<Membership>> {
        not_in_future("as_of", as_of, self.now())?;
        let at = Until::AtOrBefore(to_db_time(as_of));
        self.read(|conn| {
            let rows = match program_id {
                Some(program) => vec![find_membership(conn, tenant, member_id, program)?],
                None => {
                    load_member(conn, tenant, member_id)?;
                    memberships::table
                        .filter(memberships::tenant_id.eq(tenant))
                        .filter(memberships::member_id.eq(member_id))
                        .order(memberships::id)
                        .select(MembershipRow::as_select())
                        .load(conn)?
                }
            };
            rows.into_iter()
                .map(|row| {
                    let mut m = Membership::try_from(row)?;
                    let then = recorded(conn, &m.id, at)?;
                    m.balances = then.balances;
                    m.referral_earned = then.referral_earned;
                    Ok(m)
                })
                .collect()
        })
    }

    /// The statement of member `member_id` in program `program_id` for `[from, to)` (`to`
    /// `None`: up to now, entries made now included): opening balances, the period's entries
    /// oldest first, `limit` (1..=500) at a time after `cursor` (the previous page's
    /// `next_cursor`), and closing balances. Two index seeks and one index range scan, in one
    /// read transaction. `from` or `to` after now, or `to` before `from`, is `InvalidArgument`,
    /// as is a cursor that is not an entry of this statement.
    #[allow(clippy::too_many_arguments)]
    pub fn statement(
        &self,
        tenant: &str,
        member_id: &str,
        program_id: &str,
        from: DateTime<Utc>,
        to: Option<DateTime<Utc>>,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Statement> {
        use crate::schema::ledger_entries::dsl as e;
        not_in_future("from", from, self.now())?;
        if let Some(to) = to {
            not_in_future("to", to, self.now())?;
            if to < from {
                return Err(StoreError::InvalidArgument(format!(
                    "the period ends ({}) before it starts ({})",
                    to.to_rfc3339(),
                    from.to_rfc3339()
                )));
            }
        }
        let after = cursor
            .map(|c| {
                Uuid::parse_str(c).map(|id| id.to_string()).map_err(|_| {
                    StoreError::InvalidArgument(format!(
                        "{c:?} is not a statement cursor: pass the next_cursor of the previous page"
                    ))
                })
            })
            .transpose()?;
        let limit = i64::from(limit.clamp(1, 500));
        let now = self.now();
        let from_db = to_db_time(from);
        let end = match to {
            Some(to) => Until::Before(to_db_time(to)),
            None => Until::AtOrBefore(to_db_time(now)),
        };
        self.read(|conn| {
            load_member(conn, tenant, member_id)?;
            let membership = find_membership(conn, tenant, member_id, program_id)?;
            let opening = recorded(conn, &membership.id, Until::Before(from_db))?;
            let closing = recorded(conn, &membership.id, end)?;
            let mut query = e::ledger_entries
                .filter(e::membership_id.eq(&membership.id))
                .filter(e::created_at.ge(from_db))
                .into_boxed();
            query = match end {
                Until::Before(t) => query.filter(e::created_at.lt(t)),
                Until::AtOrBefore(t) => query.filter(e::created_at.le(t)),
            };
            if let Some(after) = &after {
                let at: Option<NaiveDateTime> = e::ledger_entries
                    .filter(e::id.eq(after))
                    .filter(e::membership_id.eq(&membership.id))
                    .select(e::created_at)
                    .first(conn)
                    .optional()?;
                let at = at.ok_or_else(|| {
                    StoreError::InvalidArgument(format!(
                        "{after:?} is not an entry of this statement: pass the next_cursor of the previous page"
                    ))
                })?;
                query = query.filter(
                    e::created_at
                        .gt(at)
                        .or(e::created_at.eq(at).and(e::id.gt(after.clone()))),
                );
            }
            let rows: Vec<EntryRow> = query
                .order((e::created_at.asc(), e::id.asc()))
                .limit(limit + 1)
                .select(EntryRow::as_select())
                .load(conn)?;
            let entries = page(rows, limit, |r| r.id.clone(), LedgerEntryView::try_from);
            Ok(Statement {
                membership_id: membership.id.clone(),
                from,
                to,
                opening,
                entries: Page {
                    items: entries.items.into_iter().collect::<StoreResult<_>>()?,
                    next_cursor: entries.next_cursor,
                },
                closing,
            })
        })
    }
}

/// The program's members and outstanding points (available + pending + held) as recorded at
/// `at` (entries made then included): memberships joined by then, each with one index seek for
/// its last entry, in one statement: O(m log n) for m memberships and n entries.
pub(crate) fn outstanding_as_of(
    conn: &mut DbConnection,
    tenant: &str,
    program_id: &str,
    at: DateTime<Utc>,
) -> StoreResult<(i64, i64)> {
    use diesel::sql_types::{BigInt, Text, Timestamp};
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        members: i64,
        #[diesel(sql_type = BigInt)]
        outstanding: i64,
    }
    // `$n` placeholders in order of first use: PostgreSQL's positional parameters, and
    // SQLite numbers named parameters in the order they first appear, so one text serves both.
    const SQL: &str = "SELECT CAST(COUNT(*) AS BIGINT) AS members, \
        CAST(COALESCE(SUM((SELECT e.available_after + e.pending_after + e.held_after \
            FROM ledger_entries e WHERE e.membership_id = m.id AND e.created_at <= $1 \
            ORDER BY e.created_at DESC, e.id DESC LIMIT 1)), 0) AS BIGINT) AS outstanding \
        FROM memberships m \
        WHERE m.joined_at <= $1 AND m.tenant_id = $2 AND m.program_id = $3";
    let at = to_db_time(at);
    let row: Row = crate::db::native!(conn, c => diesel::sql_query(SQL)
        .bind::<Timestamp, _>(at)
        .bind::<Text, _>(tenant)
        .bind::<Text, _>(program_id)
        .get_result(c))?;
    Ok((row.members, row.outstanding))
}
