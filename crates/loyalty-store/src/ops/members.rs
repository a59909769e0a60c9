//! Members and cards, referrers, and memberships (joining programs).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use loyalty_core::{Balances, CardNumber, Points};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::account::balances_of;
use crate::amounts::points_from_db;
use crate::clock::from_db_time;
use crate::db::{DbConnection, native};
use crate::error::{StoreError, StoreResult};
use crate::models::member::{MemberRow, MembershipRow};
use crate::schema::{members, memberships};
use crate::store::Store;

/// A member: a customer of a tenant with a loyalty card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Its id.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// The tenant's own customer id (unique in the tenant).
    pub customer_id: String,
    /// The card number (unique in the tenant).
    pub card_number: String,
    /// The customer's name.
    pub name: String,
    /// Phone number.
    pub phone: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// The member who referred this one.
    pub referrer_id: Option<String>,
    /// Deactivated members can neither earn nor redeem.
    pub active: bool,
    /// When the card was issued.
    pub created_at: DateTime<Utc>,
    /// When the member last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<MemberRow> for Member {
    fn from(r: MemberRow) -> Self {
        Member {
            id: r.id,
            tenant_id: r.tenant_id,
            customer_id: r.customer_id,
            card_number: r.card_number,
            name: r.name,
            phone: r.phone,
            email: r.email,
            referrer_id: r.referrer_id,
            active: r.active,
            created_at: from_db_time(r.created_at),
            updated_at: from_db_time(r.updated_at),
        }
    }
}

/// What enrolling a member needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMember {
    /// The tenant's customer id.
    pub customer_id: String,
    /// The card number.
    pub card_number: CardNumber,
    /// The customer's name.
    pub name: String,
    /// Phone number.
    pub phone: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// The referring member's id, if any.
    pub referrer_id: Option<String>,
}

/// Changes to a member; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberUpdate {
    /// New name.
    pub name: Option<String>,
    /// New phone (`Some(None)` clears it).
    pub phone: Option<Option<String>>,
    /// New e-mail (`Some(None)` clears it).
    pub email: Option<Option<String>>,
    /// A replacement card.
    pub card_number: Option<CardNumber>,
}

/// A member in a program, with its balances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// Its id.
    pub id: String,
    /// The member.
    pub member_id: String,
    /// The program.
    pub program_id: String,
    /// Balances and lifetime totals.
    pub balances: Balances,
    /// The current tier's name.
    pub tier: Option<String>,
    /// When the member joined.
    pub joined_at: DateTime<Utc>,
    /// Lifetime points earned as a referrer on referred members' bills (part of
    /// `balances.earned`; a later reversal of such a bill shows in `balances.reversed`).
    pub referral_earned: Points,
}

impl TryFrom<MembershipRow> for Membership {
    type Error = StoreError;

    fn try_from(r: MembershipRow) -> StoreResult<Self> {
        Ok(Membership {
            balances: balances_of(&r)?,
            referral_earned: points_from_db(r.referral_earned)?,
            id: r.id,
            member_id: r.member_id,
            program_id: r.program_id,
            tier: r.tier,
            joined_at: from_db_time(r.joined_at),
        })
    }
}

/// A page of results and the cursor of the next page (`None`: this was the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass this to get the next page.
    pub next_cursor: Option<String>,
}

/// Loads a member of the tenant.
pub(crate) fn load_member(
    conn: &mut DbConnection,
    tenant: &str,
    member_id: &str,
) -> StoreResult<MemberRow> {
    native!(conn, c => members::table
        .filter(members::id.eq(member_id))
        .filter(members::tenant_id.eq(tenant))
        .select(MemberRow::as_select())
        .get_result(c))
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        what: "member",
        id: member_id.to_owned(),
    })
}

/// Fails with `FailedPrecondition` when the member is deactivated.
pub(crate) fn require_active(member: &MemberRow) -> StoreResult<()> {
    if member.active {
        Ok(())
    } else {
        Err(StoreError::FailedPrecondition(format!(
            "member {} is deactivated",
            member.id
        )))
    }
}

/// The membership of a member in a program (both of the tenant).
pub(crate) fn find_membership(
    conn: &mut DbConnection,
    tenant: &str,
    member_id: &str,
    program_id: &str,
) -> StoreResult<MembershipRow> {
    native!(conn, c => memberships::table
        .filter(memberships::tenant_id.eq(tenant))
        .filter(memberships::member_id.eq(member_id))
        .filter(memberships::program_id.eq(program_id))
        .select(MembershipRow::as_select())
        .get_result(c))
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        what: "membership",
        id: format!("member {member_id} in program {program_id}"),
    })
}

impl Store {
    /// A member by id.
    pub fn get_member(&self, tenant: &str, member_id: &str) -> StoreResult<Member> {
        self.read(|conn| load_member(conn, tenant, member_id).map(Member::from))
    }

    /// A member by card number.
    pub fn find_member_by_card(&self, tenant: &str, card: &CardNumber) -> StoreResult<Member> {
        self.read(|conn| {
            native!(conn, c => members::table
                .filter(members::tenant_id.eq(tenant))
                .filter(members::card_number.eq(card.as_str()))
                .select(MemberRow::as_select())
                .get_result(c))
            .optional()?
            .map(Member::from)
            .ok_or_else(|| StoreError::NotFound {
                what: "card",
                id: card.as_str().to_owned(),
            })
        })
    }

    /// A member by the tenant's customer id.
    pub fn find_member_by_customer(&self, tenant: &str, customer_id: &str) -> StoreResult<Member> {
        self.read(|conn| {
            native!(conn, c => members::table
                .filter(members::tenant_id.eq(tenant))
                .filter(members::customer_id.eq(customer_id.trim()))
                .select(MemberRow::as_select())
                .get_result(c))
            .optional()?
            .map(Member::from)
            .ok_or_else(|| StoreError::NotFound {
                what: "customer",
                id: customer_id.to_owned(),
            })
        })
    }

    /// The tenant's members, oldest first, `limit` (1..=500) at a time after `cursor`.
    pub fn list_members(
        &self,
        tenant: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<Member>> {
        let limit = i64::from(limit.clamp(1, 500));
        self.read(|conn| {
            let mut query = members::table
                .filter(members::tenant_id.eq(tenant))
                .into_boxed();
            if let Some(after) = cursor {
                query = query.filter(members::id.gt(after));
            }
            let rows: Vec<MemberRow> = query
                .order(members::id)
                .limit(limit + 1)
                .select(MemberRow::as_select())
                .load(conn)?;
            Ok(page(rows, limit, |r| r.id.clone(), Member::from))
        })
    }

    /// The members that `member_id` referred.
    pub fn list_referrals(&self, tenant: &str, member_id: &str) -> StoreResult<Vec<Member>> {
        self.read(|conn| {
            load_member(conn, tenant, member_id)?;
            Ok(native!(conn, c => members::table
                .filter(members::tenant_id.eq(tenant))
                .filter(members::referrer_id.eq(member_id))
                .order(members::id)
                .select(MemberRow::as_select())
                .load(c))?
            .into_iter()
            .map(Member::from)
            .collect())
        })
    }

    /// A member's membership in a program, with balances.
    pub fn get_membership(
        &self,
        tenant: &str,
        member_id: &str,
        program_id: &str,
    ) -> StoreResult<Membership> {
        self.read(|conn| {
            Membership::try_from(find_membership(conn, tenant, member_id, program_id)?)
        })
    }

    /// A member with the referral points it earned in all its programs (the sum of its
    /// memberships' lifetime referral points).
    pub fn get_member_with_referrals(
        &self,
        tenant: &str,
        member_id: &str,
    ) -> StoreResult<(Member, Decimal)> {
        self.read(|conn| {
            let member = Member::from(load_member(conn, tenant, member_id)?);
            let units: i64 = native!(conn, c => memberships::table
                .filter(memberships::tenant_id.eq(tenant))
                .filter(memberships::member_id.eq(member_id))
                .select(crate::ops::sums::sum("referral_earned"))
                .get_result(c))?;
            Ok((member, crate::amounts::from_db(units)))
        })
    }

    /// All of a member's memberships.
    pub fn list_memberships(&self, tenant: &str, member_id: &str) -> StoreResult<Vec<Membership>> {
        self.read(|conn| {
            load_member(conn, tenant, member_id)?;
            native!(conn, c => memberships::table
                .filter(memberships::tenant_id.eq(tenant))
                .filter(memberships::member_id.eq(member_id))
                .order(memberships::id)
                .select(MembershipRow::as_select())
                .load(c))?
            .into_iter()
            .map(Membership::try_from)
            .collect()
        })
    }
}

/// Turns `limit + 1` rows into a page: the extra row only says there is a next page.
pub(crate) fn page<R, T>(
    mut rows: Vec<R>,
    limit: i64,
    key: impl Fn(&R) -> String,
    map: impl Fn(R) -> T,
) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = if more { rows.last().map(&key) } else { None };
    Page {
        items: rows.into_iter().map(map).collect(),
        next_cursor,
    }
}
