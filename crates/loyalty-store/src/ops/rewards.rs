//! The rewards catalog of a program: coupons, donations and items with a points cost.
//! Redeeming them is in [`reward_redemptions`](super::reward_redemptions).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use loyalty_core::{Currency, IdempotencyKey, Money, Points, Reward, RewardKind};
use serde::{Deserialize, Serialize};

use crate::amounts::{money_from_db, money_to_db, points_from_db, points_to_db};
use crate::clock::{from_db_time, to_db_time};
use crate::db::DbConnection;
use crate::error::{StoreError, StoreResult};
use crate::fingerprint::{Fingerprint, fields};
use crate::models::reward::RewardRow;
use crate::ops::holds::currency_of;
use crate::ops::rules_cache::load_program;
use crate::ops::stored::StoredReward;
use crate::schema::rewards;
use crate::store::{Store, new_id};

/// A catalog entry as the caller sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredReward", into = "StoredReward")]
pub struct RewardView {
    /// Its id.
    pub id: String,
    /// The program whose points buy it.
    pub program_id: String,
    /// Its name.
    pub name: String,
    /// `coupon`, `donation` or `item`.
    pub kind: String,
    /// A coupon's value or a donation's amount, in `currency`.
    pub value: Option<Money>,
    /// The program's currency (named even for an item, which has no value, as every
    /// recorded answer names it).
    pub currency: Currency,
    /// Points it costs.
    pub cost: Points,
    /// Days a coupon code stays valid (`None`: no end).
    pub validity_days: Option<u32>,
    /// Whether it can be redeemed.
    pub active: bool,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// The view of a reward row.
pub(crate) fn reward_view(row: &RewardRow, currency: Currency) -> StoreResult<RewardView> {
    Ok(RewardView {
        id: row.id.clone(),
        program_id: row.program_id.clone(),
        name: row.name.clone(),
        kind: row.kind.clone(),
        value: row.value.map(|v| money_from_db(v, currency)).transpose()?,
        currency,
        cost: points_from_db(row.cost)?,
        validity_days: row.validity_days.and_then(|d| u32::try_from(d).ok()),
        active: row.active,
        created_at: from_db_time(row.created_at),
    })
}

/// A reward of the tenant.
pub(crate) fn load_reward(
    conn: &mut DbConnection,
    tenant: &str,
    reward_id: &str,
) -> StoreResult<RewardRow> {
    rewards::table
        .filter(rewards::id.eq(reward_id))
        .filter(rewards::tenant_id.eq(tenant))
        .select(RewardRow::as_select())
        .get_result(conn)
        .optional()?
        .ok_or_else(|| StoreError::NotFound {
            what: "reward",
            id: reward_id.to_owned(),
        })
}

/// The kind's stored name and amount, checked against the program's currency.
fn kind_columns(kind: &RewardKind, currency: Currency) -> StoreResult<(&'static str, Option<i64>)> {
    let amount = |money: &Money| -> StoreResult<Option<i64>> {
        Money::zero(currency).same_currency(money)?;
        Ok(Some(money_to_db(money)?))
    };
    Ok(match kind {
        RewardKind::Coupon { value } => ("coupon", amount(value)?),
        RewardKind::Donation { amount: given } => ("donation", amount(given)?),
        RewardKind::Item => ("item", None),
    })
}

/// Adds a reward to a program's catalog inside the caller's transaction.
fn create_reward_in(
    conn: &mut DbConnection,
    tenant: &str,
    program_id: &str,
    reward: &Reward,
    now: NaiveDateTime,
) -> StoreResult<RewardView> {
    let program = load_program(conn, tenant, program_id)?;
    let (kind, value) = kind_columns(reward.kind(), program.rules.currency)?;
    let row = RewardRow {
        id: new_id(),
        tenant_id: tenant.to_owned(),
        program_id: program_id.to_owned(),
        name: reward.name().to_owned(),
        kind: kind.to_owned(),
        value,
        cost: points_to_db(reward.cost())?,
        validity_days: reward
            .validity_days()
            .map(|d| i32::try_from(d).unwrap_or(i32::MAX)),
        active: true,
        created_at: now,
    };
    diesel::insert_into(rewards::table)
        .values(&row)
        .execute(conn)?;
    reward_view(&row, program.rules.currency)
}

/// Offers or withdraws a reward inside the caller's transaction.
fn set_reward_active_in(
    conn: &mut DbConnection,
    tenant: &str,
    reward_id: &str,
    active: bool,
) -> StoreResult<RewardView> {
    let mut row = load_reward(conn, tenant, reward_id)?;
    diesel::update(rewards::table.find(reward_id))
        .set(rewards::active.eq(active))
        .execute(conn)?;
    row.active = active;
    let currency = currency_of(conn, &row.program_id)?;
    reward_view(&row, currency)
}

impl Store {
    /// Adds a reward to a program's catalog (active at once). Its value must be in the
    /// program's currency.
    ///
    /// With an idempotency key it runs once per key: a retry with the same key and request
    /// adds nothing and answers with the reward as the first call did; with another request it
    /// is refused with `IdempotencyConflict`.
    pub fn create_reward(
        &self,
        tenant: &str,
        key: Option<&IdempotencyKey>,
        program_id: &str,
        reward: Reward,
    ) -> StoreResult<RewardView> {
        let now = to_db_time(self.now());
        let request = fields(|out| {
            out.text(1, program_id);
            out.record(2, |r| reward.write_fields(r));
        });
        self.write_keyed(tenant, key, "create_reward", &request, |conn| {
            create_reward_in(conn, tenant, program_id, &reward, now)
        })
    }

    /// Offers a reward again, or withdraws it (redemptions already made stay valid). With an
    /// idempotency key, a replay answers with the reward as the first call did.
    pub fn set_reward_active(
        &self,
        tenant: &str,
        key: Option<&IdempotencyKey>,
        reward_id: &str,
        active: bool,
    ) -> StoreResult<RewardView> {
        let request = fields(|out| {
            out.text(1, reward_id);
            out.boolean(2, active);
        });
        self.write_keyed(tenant, key, "set_reward_active", &request, |conn| {
            set_reward_active_in(conn, tenant, reward_id, active)
        })
    }

    /// A reward of the tenant.
    pub fn get_reward(&self, tenant: &str, reward_id: &str) -> StoreResult<RewardView> {
        self.read(|conn| {
            let row = load_reward(conn, tenant, reward_id)?;
            let currency = currency_of(conn, &row.program_id)?;
            reward_view(&row, currency)
        })
    }

    /// A program's catalog, oldest first; withdrawn rewards only with `include_inactive`.
    pub fn list_rewards(
        &self,
        tenant: &str,
        program_id: &str,
        include_inactive: bool,
    ) -> StoreResult<Vec<RewardView>> {
        self.read(|conn| {
            let program = load_program(conn, tenant, program_id)?;
            let mut query = rewards::table
                .filter(rewards::tenant_id.eq(tenant))
                .filter(rewards::program_id.eq(program_id))
                .into_boxed();
            if !include_inactive {
                query = query.filter(rewards::active.eq(true));
            }
            let rows: Vec<RewardRow> = query
                .order(rewards::id)
                .select(RewardRow::as_select())
                .load(conn)?;
            rows.iter()
                .map(|row| reward_view(row, program.rules.currency))
                .collect()
        })
    }
}
