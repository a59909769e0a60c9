//! The rest of a reward redemption's life after [`Store::redeem_reward`]: a donation made or an
//! item handed over ([`Store::fulfill_redemption`]), and an admin's cancellation of an active
//! redemption, which gives its points back ([`Store::cancel_redemption`]). A coupon is used
//! with [`Store::mark_coupon_used`].
//!
//! Only an active redemption moves on, exactly once: the `UPDATE ... WHERE status = 'active'`
//! is the database's backstop against two concurrent changes. A cancellation locks the
//! membership first and gives the points back as a `returned` credit in a new lot (spendable at
//! once, expiring like any credit made now), as a reversal gives back a bill's redeemed points:
//! the lots the points came from may have expired since, and the ledger stays append-only.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use loyalty_core::IdempotencyKey;
use loyalty_core::ledger::EntryKind;

use crate::account::{Account, EntryMeta};
use crate::amounts::points_from_db;
use crate::clock::{from_db_time, to_db_time};
use crate::db::DbConnection;
use crate::error::{StoreError, StoreResult};
use crate::fingerprint::{Canonical, Fingerprint};
use crate::models::reward::RewardRedemptionRow;
use crate::ops::earn::check_actor;
use crate::ops::reward_redemptions::{
    RewardRedemptionStatus, RewardRedemptionView, load_view, status_at,
};
use crate::ops::rules_cache::load_program;
use crate::schema::{memberships, reward_redemptions, rewards};
use crate::store::Store;

/// A request to record that a donation was made or an item handed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FulfillRequest {
    /// Makes a retried call harmless.
    pub idempotency_key: IdempotencyKey,
    /// The redemption.
    pub redemption_id: String,
}

/// A request to cancel an active redemption and give its points back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelRedemptionRequest {
    /// Makes a retried call harmless.
    pub idempotency_key: IdempotencyKey,
    /// The redemption.
    pub redemption_id: String,
    /// Why (recorded on the `returned` entry).
    pub reason: Option<String>,
    /// Who asks.
    pub actor: String,
}

impl Fingerprint for FulfillRequest {
    fn write_fields(&self, out: &mut Canonical) {
        let FulfillRequest {
            idempotency_key: _,
            redemption_id,
        } = self;
        out.text(1, redemption_id);
    }
}

impl Fingerprint for CancelRedemptionRequest {
    fn write_fields(&self, out: &mut Canonical) {
        let CancelRedemptionRequest {
            idempotency_key: _,
            redemption_id,
            reason,
            actor: _,
        } = self;
        out.text(1, redemption_id);
        out.text(2, reason.as_deref().unwrap_or_default());
    }
}

/// A redemption of the tenant and its reward's kind.
fn load_redemption(
    conn: &mut DbConnection,
    tenant: &str,
    redemption_id: &str,
) -> StoreResult<(RewardRedemptionRow, String)> {
    reward_redemptions::table
        .inner_join(rewards::table)
        .filter(reward_redemptions::id.eq(redemption_id))
        .filter(reward_redemptions::tenant_id.eq(tenant))
        .select((RewardRedemptionRow::as_select(), rewards::kind))
        .get_result(conn)
        .optional()?
        .ok_or_else(|| StoreError::NotFound {
            what: "reward redemption",
            id: redemption_id.to_owned(),
        })
}

/// Refuses a redemption that is not active at `now`, saying what it is instead.
fn check_active(row: &RewardRedemptionRow, now: DateTime<Utc>, doing: &str) -> StoreResult<()> {
    let when = |at: Option<chrono::NaiveDateTime>| {
        at.map(|t| from_db_time(t).to_rfc3339()).unwrap_or_default()
    };
    let why = match status_at(row, now)? {
        RewardRedemptionStatus::Active => return Ok(()),
        RewardRedemptionStatus::Used => format!("it was used at {}", when(row.used_at)),
        RewardRedemptionStatus::Fulfilled => {
            format!("it was fulfilled at {}", when(row.used_at))
        }
        RewardRedemptionStatus::Expired => format!("it expired at {}", when(row.expires_at)),
        RewardRedemptionStatus::Cancelled => {
            format!("it was cancelled at {}", when(row.cancelled_at))
        }
    };
    Err(StoreError::FailedPrecondition(format!(
        "reward redemption {} cannot be {doing}: {why}; only an active redemption can",
        row.id
    )))
}

/// The redemption `id` while still active: what the changes below update, so that a change
/// another operation made first leaves nothing to update (the backstop).
macro_rules! while_active {
    ($id:expr) => {
        reward_redemptions::table
            .filter(reward_redemptions::id.eq($id))
            .filter(reward_redemptions::status.eq(RewardRedemptionStatus::Active.as_str()))
    };
}

/// Refuses an update that changed no row: another operation moved the redemption first.
fn changed_once(changed: usize, id: &str) -> StoreResult<()> {
    if changed != 1 {
        return Err(StoreError::FailedPrecondition(format!(
            "reward redemption {id} was changed by another operation; it changes once"
        )));
    }
    Ok(())
}

impl Store {
    /// Records that a donation was made or an item handed over, in one idempotent
    /// transaction: an active donation or item becomes `fulfilled`. Refused with
    /// `FailedPrecondition` for a coupon (used with [`Store::mark_coupon_used`]) and for a
    /// redemption that is not active; `NotFound` when the tenant has no such redemption.
    pub fn fulfill_redemption(
        &self,
        tenant: &str,
        req: FulfillRequest,
    ) -> StoreResult<RewardRedemptionView> {
        let now = self.now();
        self.idempotent(
            tenant,
            &req.idempotency_key,
            "fulfill_redemption",
            &req,
            |conn| {
                let (mut row, kind) = load_redemption(conn, tenant, &req.redemption_id)?;
                if kind == "coupon" {
                    return Err(StoreError::FailedPrecondition(format!(
                        "reward redemption {} is a coupon: a till marks it used with its code",
                        row.id
                    )));
                }
                check_active(&row, now, "fulfilled")?;
                let at = to_db_time(now);
                let changed = diesel::update(while_active!(&row.id))
                    .set((
                        reward_redemptions::status.eq(RewardRedemptionStatus::Fulfilled.as_str()),
                        reward_redemptions::used_at.eq(Some(at)),
                    ))
                    .execute(conn)?;
                changed_once(changed, &row.id)?;
                row.status = RewardRedemptionStatus::Fulfilled.as_str().to_owned();
                row.used_at = Some(at);
                load_view(conn, &row, now)
            },
        )
    }

    /// Cancels an active redemption (an admin's decision) and gives its points back, in one
    /// idempotent transaction: the membership locked and settled, a `returned` credit of the
    /// redemption's points (reference `reward:<redemption id>`, like its `redeemed` entry) in a
    /// new lot, and the redemption `cancelled`. Refused with `FailedPrecondition` for a
    /// redemption that is used, fulfilled, expired or already cancelled.
    pub fn cancel_redemption(
        &self,
        tenant: &str,
        req: CancelRedemptionRequest,
    ) -> StoreResult<RewardRedemptionView> {
        check_actor(&req.actor)?;
        let now = self.now();
        self.idempotent(
            tenant,
            &req.idempotency_key,
            "cancel_redemption",
            &req,
            |conn| {
                let (membership_id, program_id): (String, String) = reward_redemptions::table
                    .inner_join(memberships::table)
                    .filter(reward_redemptions::id.eq(&req.redemption_id))
                    .filter(reward_redemptions::tenant_id.eq(tenant))
                    .select((memberships::id, memberships::program_id))
                    .get_result(conn)
                    .optional()?
                    .ok_or_else(|| StoreError::NotFound {
                        what: "reward redemption",
                        id: req.redemption_id.clone(),
                    })?;
                // The membership's lock orders this cancellation after any concurrent change
                // of the same redemption's points; the status is read under it.
                let mut acct = Account::lock(conn, tenant, &membership_id, now)?;
                let (mut row, _) = load_redemption(conn, tenant, &req.redemption_id)?;
                check_active(&row, now, "cancelled")?;
                acct.settle(conn)?;
                let program = load_program(conn, tenant, &program_id)?;
                let meta = EntryMeta {
                    reason: req.reason.clone(),
                    ..EntryMeta::by(&req.actor).with_reference(Some(&format!("reward:{}", row.id)))
                };
                let points = points_from_db(row.points)?;
                let entry = acct
                    .credit(conn, &program.rules, EntryKind::Returned, points, &meta)?
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("reward redemption {} has no points", row.id))
                    })?;
                let at = to_db_time(now);
                let changed = diesel::update(while_active!(&row.id))
                    .set((
                        reward_redemptions::status.eq(RewardRedemptionStatus::Cancelled.as_str()),
                        reward_redemptions::cancelled_at.eq(Some(at)),
                        reward_redemptions::return_entry_id.eq(Some(entry.clone())),
                    ))
                    .execute(conn)?;
                changed_once(changed, &row.id)?;
                acct.save(conn)?;
                row.status = RewardRedemptionStatus::Cancelled.as_str().to_owned();
                row.cancelled_at = Some(at);
                row.return_entry_id = Some(entry);
                load_view(conn, &row, now)
            },
        )
    }
}
