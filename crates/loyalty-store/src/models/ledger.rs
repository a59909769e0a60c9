//! The append-only ledger and what hangs off it: `ledger_entries`, `point_lots`,
//! `lot_allocations`, `holds` and `bills`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{bills, earn_lines, holds, ledger_entries, lot_allocations, point_lots};

/// A row of `ledger_entries`. Inserted once, never updated or deleted.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ledger_entries)]
#[diesel(treat_none_as_default_value = false)]
pub struct EntryRow {
    pub id: String,
    pub tenant_id: String,
    pub membership_id: String,
    pub program_id: String,
    pub member_id: String,
    pub kind: String,
    pub points: i64,
    pub d_available: i64,
    pub d_pending: i64,
    pub d_held: i64,
    pub d_debt: i64,
    pub balance_after: i64,
    pub reference: Option<String>,
    pub hold_id: Option<String>,
    pub campaign_id: Option<String>,
    pub source_member_id: Option<String>,
    pub actor: String,
    pub reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub available_after: i64,
    pub pending_after: i64,
    pub held_after: i64,
    pub debt_after: i64,
    pub earned_after: i64,
    pub redeemed_after: i64,
    pub expired_after: i64,
    pub reversed_after: i64,
    pub referral_after: i64,
}

/// A row of `point_lots`: points from one credit, spent earliest-expiry first.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = point_lots)]
#[diesel(treat_none_as_default_value = false)]
pub struct LotRow {
    pub id: String,
    pub tenant_id: String,
    pub membership_id: String,
    pub entry_id: String,
    pub reference: Option<String>,
    pub amount: i64,
    pub remaining: i64,
    pub pending: bool,
    pub spendable_from: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// A row of `lot_allocations`: which lot a debit (or a hold) took points from.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = lot_allocations)]
#[diesel(treat_none_as_default_value = false)]
pub struct AllocationRow {
    pub id: String,
    pub tenant_id: String,
    pub lot_id: String,
    pub entry_id: String,
    pub hold_id: Option<String>,
    pub points: i64,
}

/// A row of `holds`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = holds)]
#[diesel(treat_none_as_default_value = false)]
pub struct HoldRow {
    pub id: String,
    pub tenant_id: String,
    pub membership_id: String,
    pub reference: String,
    pub points: i64,
    pub value: i64,
    pub bill_total: i64,
    pub to_pay: i64,
    pub captured: i64,
    pub status: String,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
}

/// A row of `bills`: per membership and bill reference, what the bill earned, gave the
/// referrer, redeemed, and what of it was returned.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = bills)]
#[diesel(treat_none_as_default_value = false)]
pub struct BillRow {
    pub id: String,
    pub tenant_id: String,
    pub membership_id: String,
    pub reference: String,
    pub total: i64,
    pub earn_amount: i64,
    pub returned: i64,
    pub earned: i64,
    pub earned_reversed: i64,
    pub referrer_membership_id: Option<String>,
    pub referral: i64,
    pub referral_reversed: i64,
    pub redeemed: i64,
    pub redeemed_value: i64,
    pub redeemed_returned: i64,
    pub earned_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A row of `earn_lines`: one line of an earned bill, the rule it earned by and its share of
/// the bill's points.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = earn_lines)]
#[diesel(treat_none_as_default_value = false)]
pub struct EarnLineRow {
    pub bill_id: String,
    pub line_no: i32,
    pub category: Option<String>,
    pub rule: String,
    pub rate: String,
    pub amount: i64,
    pub base_points: i64,
    pub tier_bonus: i64,
    pub campaign_bonus: i64,
    pub points: i64,
}
