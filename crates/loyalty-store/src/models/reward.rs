//! `rewards` (the catalog) and `reward_redemptions`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{reward_redemptions, rewards};

/// A row of `rewards`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rewards)]
pub struct RewardRow {
    pub id: String,
    pub tenant_id: String,
    pub program_id: String,
    pub name: String,
    pub kind: String,
    pub value: Option<i64>,
    pub cost: i64,
    pub validity_days: Option<i32>,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

/// A row of `reward_redemptions`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reward_redemptions)]
pub struct RewardRedemptionRow {
    pub id: String,
    pub tenant_id: String,
    pub membership_id: String,
    pub reward_id: String,
    pub entry_id: String,
    pub points: i64,
    pub coupon_code: Option<String>,
    pub status: String,
    pub expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub return_entry_id: Option<String>,
}
