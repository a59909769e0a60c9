//! Redeeming catalog rewards with points, and the member's redemption history.
//!
//! A coupon redemption gets a unique, unguessable code (see [`coupons`](super::coupons)). Every
//! redemption starts `active`; a coupon becomes `used` at a till, a donation or an item
//! `fulfilled` (the donation made, the item handed over); an active coupon past its
//! `expires_at` reads as `expired`; an admin may cancel an active one, which gives its points
//! back (see [`redemption_lifecycle`](super::redemption_lifecycle)).

use std::collections::BTreeMap;

use crate::ops::coupons::new_coupon_code;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use loyalty_core::ledger::EntryKind;
use loyalty_core::{Currency, Error as RuleError, IdempotencyKey, Money, Points};
use serde::{Deserialize, Serialize};

use crate::account::{Account, EntryMeta};
use crate::amounts::{money_from_db, points_from_db};
use crate::clock::{from_db_time, to_db_time};
use crate::db::DbConnection;
use crate::error::{StoreError, StoreResult};
use crate::fingerprint::{Canonical, Fingerprint};
use crate::models::reward::{RewardRedemptionRow, RewardRow};
use crate::ops::earn::check_actor;
use crate::ops::holds::currency_of;
use crate::ops::members::{Page, load_member, page};
use crate::ops::rate_limit::check_redemption_rate;
use crate::ops::rewards::load_reward;
use crate::ops::spending::load_spender;
use crate::ops::stored::StoredRewardRedemption;
use crate::schema::{memberships, reward_redemptions, rewards};
use crate::store::{Store, new_id};

/// A request to redeem a catalog reward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardRequest {
    /// Makes a retried call harmless.
    pub idempotency_key: IdempotencyKey,
    /// The member redeeming.
    pub member_id: String,
    /// The program whose points pay (the reward must be in its catalog).
    pub program_id: String,
    /// The reward.
    pub reward_id: String,
    /// Who asks.
    pub actor: String,
}

impl Fingerprint for RewardRequest {
    fn write_fields(&self, out: &mut Canonical) {
        let RewardRequest {
            idempotency_key: _,
            member_id,
            program_id,
            reward_id,
            actor: _,
        } = self;
        out.text(1, member_id);
        out.text(2, program_id);
        out.text(3, reward_id);
    }
}

/// Where a reward redemption is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardRedemptionStatus {
    /// Not used yet (a coupon within its validity, a donation not made yet, an item not handed
    /// over).
    Active,
    /// A coupon used at checkout.
    Used,
    /// A donation made or an item handed over.
    Fulfilled,
    /// A coupon past its validity.
    Expired,
    /// Cancelled by an admin while active; its points were given back.
    Cancelled,
}

impl RewardRedemptionStatus {
    /// The name storage and the API use.
    pub fn as_str(self) -> &'static str {
        match self {
            RewardRedemptionStatus::Active => "active",
            RewardRedemptionStatus::Used => "used",
            RewardRedemptionStatus::Fulfilled => "fulfilled",
            RewardRedemptionStatus::Expired => "expired",
            RewardRedemptionStatus::Cancelled => "cancelled",
        }
    }

    /// The status stored as `name` ([`as_str`](Self::as_str)); `None` for any other text.
    pub fn parse(name: &str) -> Option<RewardRedemptionStatus> {
        use RewardRedemptionStatus::*;
        [Active, Used, Fulfilled, Expired, Cancelled]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// A reward redemption as the member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredRewardRedemption", into = "StoredRewardRedemption")]
pub struct RewardRedemptionView {
    /// Its id.
    pub id: String,
    /// The reward.
    pub reward_id: String,
    /// The reward's name.
    pub reward_name: String,
    /// `coupon`, `donation` or `item`.
    pub kind: String,
    /// The member.
    pub member_id: String,
    /// The program.
    pub program_id: String,
    /// Points spent.
    pub points: Points,
    /// A coupon's value or a donation's amount, in `currency`.
    pub value: Option<Money>,
    /// The program's currency (named even for an item, which has no value, as every
    /// recorded answer names it).
    pub currency: Currency,
    /// A coupon's code.
    pub coupon_code: Option<String>,
    /// Where the redemption is in its life (as of when the view was made).
    pub status: RewardRedemptionStatus,
    /// The `redeemed` ledger entry.
    pub entry_id: String,
    /// When a coupon stops being valid.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was redeemed.
    pub created_at: DateTime<Utc>,
    /// When it was used (a coupon) or fulfilled (a donation, an item).
    pub used_at: Option<DateTime<Utc>>,
    /// When an admin cancelled it (and its points were given back).
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// The status a redemption reads as at `now`.
pub(crate) fn status_at(
    row: &RewardRedemptionRow,
    now: DateTime<Utc>,
) -> StoreResult<RewardRedemptionStatus> {
    let stored = RewardRedemptionStatus::parse(&row.status).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "reward redemption {} has status {:?}",
            row.id, row.status
        ))
    })?;
    Ok(match stored {
        RewardRedemptionStatus::Active
            if row.expires_at.is_some_and(|e| from_db_time(e) <= now) =>
        {
            RewardRedemptionStatus::Expired
        }
        status => status,
    })
}

/// What a view needs besides the redemption row.
pub(crate) struct Context<'a> {
    reward: &'a RewardRow,
    member_id: &'a str,
    currency: Currency,
    now: DateTime<Utc>,
}

pub(crate) fn view(
    row: &RewardRedemptionRow,
    ctx: &Context<'_>,
) -> StoreResult<RewardRedemptionView> {
    Ok(RewardRedemptionView {
        id: row.id.clone(),
        reward_id: row.reward_id.clone(),
        reward_name: ctx.reward.name.clone(),
        kind: ctx.reward.kind.clone(),
        member_id: ctx.member_id.to_owned(),
        program_id: ctx.reward.program_id.clone(),
        points: points_from_db(row.points)?,
        value: ctx
            .reward
            .value
            .map(|v| money_from_db(v, ctx.currency))
            .transpose()?,
        currency: ctx.currency,
        coupon_code: row.coupon_code.clone(),
        status: status_at(row, ctx.now)?,
        entry_id: row.entry_id.clone(),
        expires_at: row.expires_at.map(from_db_time),
        created_at: from_db_time(row.created_at),
        used_at: row.used_at.map(from_db_time),
        cancelled_at: row.cancelled_at.map(from_db_time),
    })
}

/// The view of one stored redemption.
pub(crate) fn load_view(
    conn: &mut DbConnection,
    row: &RewardRedemptionRow,
    now: DateTime<Utc>,
) -> StoreResult<RewardRedemptionView> {
    let reward: RewardRow = rewards::table
        .find(&row.reward_id)
        .select(RewardRow::as_select())
        .get_result(conn)?;
    let member_id: String = memberships::table
        .find(&row.membership_id)
        .select(memberships::member_id)
        .get_result(conn)?;
    let currency = currency_of(conn, &reward.program_id)?;
    view(
        row,
        &Context {
            reward: &reward,
            member_id: &member_id,
            currency,
            now,
        },
    )
}

impl Store {
    /// Redeems a catalog reward, in one idempotent transaction: the program enabled, the member
    /// active and within the redemption rate limit, the reward offered in this program; then a
    /// `redeemed` entry of its cost (reference `reward:<redemption id>`, earliest-expiring lots
    /// first) and the redemption record, with a code for a coupon.
    pub fn redeem_reward(
        &self,
        tenant: &str,
        req: RewardRequest,
    ) -> StoreResult<RewardRedemptionView> {
        check_actor(&req.actor)?;
        self.record_redemption_attempt(
            tenant,
            &req.idempotency_key,
            &req.member_id,
            &req.program_id,
        )?;
        let now = self.now();
        self.idempotent(
            tenant,
            &req.idempotency_key,
            "redeem_reward",
            &req,
            |conn| {
                let spender = load_spender(conn, tenant, &req.member_id, &req.program_id)?;
                check_redemption_rate(conn, &spender.program.rules, &spender.membership.id, now)?;
                let reward = load_reward(conn, tenant, &req.reward_id)?;
                if reward.program_id != req.program_id {
                    return Err(RuleError::RewardUnavailable(format!(
                        "{:?} is not in this program's catalog",
                        reward.name
                    ))
                    .into());
                }
                if !reward.active {
                    return Err(RuleError::RewardUnavailable(format!(
                        "{:?} is no longer offered",
                        reward.name
                    ))
                    .into());
                }

                let mut acct = Account::lock(conn, tenant, &spender.membership.id, now)?;
                acct.settle(conn)?;
                let id = new_id();
                let meta = EntryMeta::by(&req.actor).with_reference(Some(&format!("reward:{id}")));
                let cost = points_from_db(reward.cost)?;
                let (entry_id, _) = acct.debit(conn, EntryKind::Redeemed, cost, &meta)?;
                let coupon = reward.kind == "coupon";
                let row = RewardRedemptionRow {
                    id,
                    tenant_id: tenant.to_owned(),
                    membership_id: acct.row.id.clone(),
                    reward_id: reward.id.clone(),
                    entry_id,
                    points: reward.cost,
                    coupon_code: coupon.then(new_coupon_code),
                    // Every redemption starts active, a donation too: it is fulfilled
                    // when the donation is made.
                    status: RewardRedemptionStatus::Active.as_str().to_owned(),
                    expires_at: reward
                        .validity_days
                        .filter(|_| coupon)
                        .map(|days| to_db_time(now + Duration::days(i64::from(days)))),
                    created_at: to_db_time(now),
                    used_at: None,
                    cancelled_at: None,
                    return_entry_id: None,
                };
                diesel::insert_into(reward_redemptions::table)
                    .values(&row)
                    .execute(conn)?;
                acct.save(conn)?;
                let ctx = Context {
                    reward: &reward,
                    member_id: &req.member_id,
                    currency: spender.program.rules.currency,
                    now,
                };
                view(&row, &ctx)
            },
        )
    }

    /// A member's reward redemptions (in one program, or all), newest first, `limit`
    /// (1..=500) at a time after `cursor` (the last id of the previous page).
    pub fn list_reward_redemptions(
        &self,
        tenant: &str,
        member_id: &str,
        program_id: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<RewardRedemptionView>> {
        let limit = i64::from(limit.clamp(1, 500));
        let now = self.now();
        self.read(|conn| {
            load_member(conn, tenant, member_id)?;
            let mut query = reward_redemptions::table
                .inner_join(memberships::table)
                .inner_join(rewards::table)
                .filter(reward_redemptions::tenant_id.eq(tenant))
                .filter(memberships::member_id.eq(member_id))
                .into_boxed();
            if let Some(program_id) = program_id {
                query = query.filter(memberships::program_id.eq(program_id));
            }
            if let Some(before) = cursor {
                query = query.filter(reward_redemptions::id.lt(before));
            }
            let rows: Vec<(RewardRedemptionRow, RewardRow)> = query
                .order(reward_redemptions::id.desc())
                .limit(limit + 1)
                .select((RewardRedemptionRow::as_select(), RewardRow::as_select()))
                .load(conn)?;
            let mut currencies: BTreeMap<String, Currency> = BTreeMap::new();
            for (_, reward) in &rows {
                if !currencies.contains_key(&reward.program_id) {
                    let currency = currency_of(conn, &reward.program_id)?;
                    currencies.insert(reward.program_id.clone(), currency);
                }
            }
            let page = page(rows, limit, |(r, _)| r.id.clone(), |row| row);
            let items = page
                .items
                .iter()
                .map(|(row, reward)| {
                    let currency =
                        currencies.get(&reward.program_id).copied().ok_or_else(|| {
                            StoreError::Corrupt(format!(
                                "program {} has no currency",
                                reward.program_id
                            ))
                        })?;
                    let ctx = Context {
                        reward,
                        member_id,
                        currency,
                        now,
                    };
                    view(row, &ctx)
                })
                .collect::<StoreResult<_>>()?;
            Ok(Page {
                items,
                next_cursor: page.next_cursor,
            })
        })
    }
}
