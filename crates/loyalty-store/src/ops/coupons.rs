//! Coupons: the codes coupon redemptions get, and using a coupon at checkout.
//!
//! A code is 16 characters of Crockford base32 (digits and upper-case letters without I, L, O,
//! U) encoding 80 random bits from `rand`'s thread generator (a CSPRNG seeded by the operating
//! system), so guessing a valid code is hopeless; the `UNIQUE` column on the code is the
//! backstop. Codes are matched as typed without regard to case, spaces or dashes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use loyalty_core::IdempotencyKey;
use rand::Rng;

use crate::clock::{from_db_time, to_db_time};
use crate::db::DbConnection;
use crate::error::{StoreError, StoreResult};
use crate::fingerprint::fields;
use crate::models::reward::RewardRedemptionRow;
use crate::ops::reward_redemptions::{
    RewardRedemptionStatus, RewardRedemptionView, load_view, status_at,
};
use crate::schema::reward_redemptions;
use crate::store::Store;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new coupon code: 80 random bits as 16 Crockford base32 characters.
pub(crate) fn new_coupon_code() -> String {
    let mut bytes = [0u8; 10];
    rand::rng().fill(&mut bytes);
    let mut bits = bytes
        .iter()
        .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
    let mut code = [b'0'; 16];
    for c in code.iter_mut().rev() {
        *c = CROCKFORD[(bits & 31) as usize];
        bits >>= 5;
    }
    code.iter().map(|&c| char::from(c)).collect()
}

/// A code as typed: case, spaces and dashes do not matter.
fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Marks a coupon used inside the caller's transaction (`code` normalized).
fn mark_coupon_used_in(
    conn: &mut DbConnection,
    tenant: &str,
    code: &str,
    now: DateTime<Utc>,
) -> StoreResult<RewardRedemptionView> {
    let mut row: RewardRedemptionRow = reward_redemptions::table
        .filter(reward_redemptions::tenant_id.eq(tenant))
        .filter(reward_redemptions::coupon_code.eq(code))
        .select(RewardRedemptionRow::as_select())
        .get_result(conn)
        .optional()?
        .ok_or_else(|| StoreError::NotFound {
            what: "coupon",
            id: code.to_owned(),
        })?;
    match status_at(&row, now)? {
        RewardRedemptionStatus::Active => {}
        RewardRedemptionStatus::Used => {
            let when = row.used_at.map(|t| from_db_time(t).to_rfc3339());
            return Err(StoreError::FailedPrecondition(format!(
                "coupon {code} was already used (at {}); a coupon is used once",
                when.unwrap_or_default()
            )));
        }
        RewardRedemptionStatus::Expired => {
            let when = row.expires_at.map(|t| from_db_time(t).to_rfc3339());
            return Err(StoreError::FailedPrecondition(format!(
                "coupon {code} expired at {}",
                when.unwrap_or_default()
            )));
        }
        RewardRedemptionStatus::Cancelled => {
            return Err(StoreError::FailedPrecondition(format!(
                "coupon {code} was cancelled and its points given back"
            )));
        }
        RewardRedemptionStatus::Fulfilled => {
            return Err(StoreError::Corrupt(format!(
                "coupon {code} is recorded as fulfilled, a status only donations and items have"
            )));
        }
    }
    let used_at = to_db_time(now);
    // The status condition is the backstop against two concurrent uses.
    let changed = diesel::update(
        reward_redemptions::table
            .filter(reward_redemptions::id.eq(&row.id))
            .filter(reward_redemptions::status.eq(RewardRedemptionStatus::Active.as_str())),
    )
    .set((
        reward_redemptions::status.eq(RewardRedemptionStatus::Used.as_str()),
        reward_redemptions::used_at.eq(Some(used_at)),
    ))
    .execute(conn)?;
    if changed != 1 {
        return Err(StoreError::FailedPrecondition(format!(
            "coupon {code} was already used; a coupon is used once"
        )));
    }
    row.status = RewardRedemptionStatus::Used.as_str().to_owned();
    row.used_at = Some(used_at);
    load_view(conn, &row, now)
}

impl Store {
    /// Marks a coupon of the tenant used (at checkout). Refused with `FailedPrecondition` when
    /// it was already used or has expired, `NotFound` when no coupon of the tenant has the code.
    ///
    /// With an idempotency key, a retry with the same key and code answers with the redemption
    /// as the first call did (instead of "already used"); with another code it is refused with
    /// `IdempotencyConflict`.
    pub fn mark_coupon_used(
        &self,
        tenant: &str,
        key: Option<&IdempotencyKey>,
        code: &str,
    ) -> StoreResult<RewardRedemptionView> {
        let code = normalize_code(code);
        let now = self.now();
        let request = fields(|out| out.text(1, &code));
        self.write_keyed(tenant, key, "mark_coupon_used", &request, |conn| {
            mark_coupon_used_in(conn, tenant, &code, now)
        })
    }
}
