//! The redemption rate limit: at most the program's `redemptions_per_minute` redemption
//! attempts (redeem, reserve, redeem a reward) per membership in any 60 seconds.
//!
//! It works in two steps, because a refused attempt must count too:
//! 1. `Store::record_redemption_attempt` writes the attempt in its own short transaction
//!    before the operation, so it stays recorded whatever the operation then does. An attempt
//!    is identified by its tenant and idempotency key: a replay of a request that already has
//!    its answer (a result, or a refusal by the rules) records nothing, and concurrent
//!    duplicates of one request (or a retry within the minute) count once.
//! 2. `check_redemption_rate` runs inside the operation's idempotent body, which only runs
//!    when the key has no stored answer: replays return the stored answer without being
//!    limited. Being limited is not recorded under the key, so a retry after the minute runs. It counts the membership's attempts in the last 60 seconds, this one included,
//!    and refuses with [`StoreError::RateLimited`] above the limit; nothing else happens then.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use loyalty_core::{IdempotencyKey, Rules};

use crate::clock::to_db_time;
use crate::db::{DbConnection, native};
use crate::error::{StoreError, StoreResult};
use crate::fingerprint::{fields, fingerprint};
use crate::ops::members::find_membership;
use crate::ops::rules_cache::load_program;
use crate::schema::{idempotency_records, redemption_attempts};
use crate::store::Store;

/// The window the limit counts attempts in.
fn window_start(now: DateTime<Utc>) -> chrono::NaiveDateTime {
    to_db_time(now - Duration::seconds(60))
}

impl Store {
    /// Records a redemption attempt of `member_id` in `program_id` (step 1 above). Does nothing
    /// when the program has no limit, when the key already has a stored result, or when the
    /// membership does not exist (the operation then reports why).
    pub(crate) fn record_redemption_attempt(
        &self,
        tenant: &str,
        key: &IdempotencyKey,
        member_id: &str,
        program_id: &str,
    ) -> StoreResult<()> {
        let now = self.now();
        // The id is derived from the request's key, so one request is one attempt.
        let attempt = fields(|out| {
            out.text(1, tenant);
            out.text(2, key.as_str());
        });
        let attempt_id = fingerprint("redemption_attempt", &attempt);
        // Most programs have no limit: find out in a read, and take the write lock only when
        // there is something to record.
        let membership_id = self.read(|conn| {
            let replay = idempotency_records::table
                .filter(idempotency_records::tenant_id.eq(tenant))
                .filter(idempotency_records::key.eq(key.as_str()))
                .select(idempotency_records::key)
                .first::<String>(conn)
                .optional()?
                .is_some();
            if replay {
                return Ok(None);
            }
            let Some(program) = found(load_program(conn, tenant, program_id))? else {
                return Ok(None);
            };
            if program.rules.redemptions_per_minute.is_none() {
                return Ok(None);
            }
            Ok(found(find_membership(conn, tenant, member_id, program_id))?.map(|m| m.id))
        })?;
        let Some(membership_id) = membership_id else {
            return Ok(());
        };
        let recorded = self.write(|conn| {
            // Attempts older than the window never count again; keep the table small.
            native!(conn, c => diesel::delete(
                redemption_attempts::table
                    .filter(redemption_attempts::membership_id.eq(&membership_id))
                    .filter(redemption_attempts::attempted_at.le(window_start(now))),
            )
            .execute(c))?;
            native!(conn, c => diesel::insert_into(redemption_attempts::table)
                .values((
                    redemption_attempts::id.eq(&attempt_id),
                    redemption_attempts::membership_id.eq(&membership_id),
                    redemption_attempts::attempted_at.eq(to_db_time(now)),
                ))
                .execute(c))?;
            Ok(())
        });
        match recorded {
            // The same request was already counted (a concurrent duplicate or a retry).
            Err(err) if err.is_unique_violation() => Ok(()),
            other => other,
        }
    }
}

/// `None` for something not found (the operation itself will say so), other errors as they are.
fn found<T>(result: StoreResult<T>) -> StoreResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Refuses the operation when the membership made more attempts in the last 60 seconds than
/// the program allows (step 2 above).
pub(crate) fn check_redemption_rate(
    conn: &mut DbConnection,
    rules: &Rules,
    membership_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let Some(limit) = rules.redemptions_per_minute else {
        return Ok(());
    };
    let attempts: i64 = native!(conn, c => redemption_attempts::table
        .filter(redemption_attempts::membership_id.eq(membership_id))
        .filter(redemption_attempts::attempted_at.gt(window_start(now)))
        .count()
        .get_result(c))?;
    if attempts > i64::from(limit) {
        return Err(StoreError::RateLimited { limit });
    }
    Ok(())
}
