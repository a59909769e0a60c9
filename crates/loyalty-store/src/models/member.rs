//! `members`, `memberships` and the memberships' `qualifying_spend_days`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use loyalty_core::Points;
use serde::{Deserialize, Serialize};

use crate::amounts::points_from_db;
use crate::error::StoreResult;
use crate::schema::{members, memberships, qualifying_spend_days};

/// A row of `members`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = members)]
#[diesel(treat_none_as_default_value = false)]
pub struct MemberRow {
    pub id: String,
    pub tenant_id: String,
    pub customer_id: String,
    pub card_number: String,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub referrer_id: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A row of `memberships`: a member in a program, with its balances.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = memberships)]
#[diesel(treat_none_as_default_value = false)]
pub struct MembershipRow {
    pub id: String,
    pub tenant_id: String,
    pub member_id: String,
    pub program_id: String,
    pub available: i64,
    pub pending: i64,
    pub held: i64,
    pub debt: i64,
    pub earned: i64,
    pub redeemed: i64,
    pub expired: i64,
    pub reversed: i64,
    pub tier: Option<String>,
    pub best_tier_rank: Option<i32>,
    pub version: i64,
    pub joined_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// When settling can next find something due: `None` = unknown, settle must run;
    /// `Some(t)` = no open lot expires and no open pending lot matures before `t` (see
    /// [`crate::account::Account::settle`]). Absent from results recorded before it existed.
    #[serde(default)]
    pub settle_due_at: Option<NaiveDateTime>,
    /// Lifetime referral points (ten-thousandths): the sum of the membership's
    /// `referral_earned` entries. Absent from results recorded before it existed.
    #[serde(default)]
    pub referral_earned: i64,
}

impl MembershipRow {
    /// A new membership of `member_id` in `program_id` joined `at`: every balance zero, no
    /// tier, and no lots, so nothing can be due until one is credited.
    pub fn joined(tenant: &str, member_id: &str, program_id: &str, at: NaiveDateTime) -> Self {
        MembershipRow {
            id: crate::store::new_id(),
            tenant_id: tenant.to_owned(),
            member_id: member_id.to_owned(),
            program_id: program_id.to_owned(),
            available: 0,
            pending: 0,
            held: 0,
            debt: 0,
            earned: 0,
            redeemed: 0,
            expired: 0,
            reversed: 0,
            tier: None,
            best_tier_rank: None,
            version: 0,
            joined_at: at,
            updated_at: at,
            settle_due_at: Some(crate::account::NOTHING_DUE),
            referral_earned: 0,
        }
    }

    /// The points available to spend now.
    pub fn available_points(&self) -> StoreResult<Points> {
        points_from_db(self.available)
    }
}

/// A row of `qualifying_spend_days`: the earning amounts (ten-thousandths) of a membership's
/// bills earned on one UTC day, kept with the bills (see `ops::tiers`).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = qualifying_spend_days)]
pub struct SpendDayRow {
    pub membership_id: String,
    pub day: NaiveDate,
    pub amount: i64,
}
