//! Members and cards, referrers, and memberships (joining programs).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use loyalty_core::{Balances, CardNumber};
use serde::{Deserialize, Serialize};

use crate::account::balances_of;
use crate::clock::{from_db_time, to_db_time};
use crate::db::DbConnection;
use crate::error::{StoreError, StoreResult};
use crate::models::member::{MemberRow, MembershipRow};
use crate::ops::programs::load_program;
use crate::schema::{members, memberships};
use crate::store::{Store, new_id};

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
}

impl TryFrom<MembershipRow> for Membership {
    type Error = StoreError;

    fn try_from(r: MembershipRow) -> StoreResult<Self> {
        Ok(Membership {
            balances: balances_of(&r)?,
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

fn text(what: &'static str, value: &str, max: usize) -> StoreResult<String> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(StoreError::InvalidArgument(format!(
            "{what} must have 1 to {max} characters and no control characters"
        )));
    }
    Ok(value.to_owned())
}

fn optional(what: &'static str, value: Option<&str>, max: usize) -> StoreResult<Option<String>> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| text(what, v, max))
        .transpose()
}

fn unique_violation(err: StoreError, card: &str, customer: &str) -> StoreError {
    if err.is_unique_violation() {
        StoreError::AlreadyExists(format!(
            "a member with card number {card:?} or customer id {customer:?} already exists in this tenant"
        ))
    } else {
        err
    }
}

/// Loads a member of the tenant.
pub(crate) fn load_member(
    conn: &mut DbConnection,
    tenant: &str,
    member_id: &str,
) -> StoreResult<MemberRow> {
    members::table
        .filter(members::id.eq(member_id))
        .filter(members::tenant_id.eq(tenant))
        .select(MemberRow::as_select())
        .first(conn)
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
    memberships::table
        .filter(memberships::tenant_id.eq(tenant))
        .filter(memberships::member_id.eq(member_id))
        .filter(memberships::program_id.eq(program_id))
        .select(MembershipRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| StoreError::NotFound {
            what: "membership",
            id: format!("member {member_id} in program {program_id}"),
        })
}

/// Checks that linking `referrer_id` as the referrer of `member_id` creates no cycle.
fn check_referral(
    conn: &mut DbConnection,
    tenant: &str,
    member_id: &str,
    referrer_id: &str,
) -> StoreResult<()> {
    if member_id == referrer_id {
        return Err(loyalty_core::Error::SelfReferral.into());
    }
    let mut next = Some(load_member(conn, tenant, referrer_id)?);
    let mut steps = 0;
    while let Some(m) = next {
        if m.id == member_id {
            return Err(loyalty_core::Error::ReferralCycle.into());
        }
        steps += 1;
        next = match m.referrer_id {
            Some(id) if steps < 10_000 => Some(load_member(conn, tenant, &id)?),
            _ => None,
        };
    }
    Ok(())
}

impl Store {
    /// Enrolls a member (issues the card). The referrer, if given, must be a member of the
    /// same tenant.
    pub fn enroll_member(&self, tenant: &str, new: NewMember) -> StoreResult<Member> {
        self.enroll_member_in(tenant, new, &[])
            .map(|(member, _)| member)
    }

    /// Enrolls a member and joins the given programs, all in one transaction: either the
    /// member exists with every membership, or nothing was written.
    pub fn enroll_member_in(
        &self,
        tenant: &str,
        new: NewMember,
        program_ids: &[String],
    ) -> StoreResult<(Member, Vec<Membership>)> {
        let now = to_db_time(self.now());
        let row = MemberRow {
            id: new_id(),
            tenant_id: tenant.to_owned(),
            customer_id: text("customer id", &new.customer_id, 128)?,
            card_number: new.card_number.as_str().to_owned(),
            name: text("name", &new.name, 200)?,
            phone: optional("phone", new.phone.as_deref(), 32)?,
            email: optional("email", new.email.as_deref(), 254)?,
            referrer_id: new.referrer_id.clone(),
            active: true,
            created_at: now,
            updated_at: now,
        };
        let memberships = self.write(|conn| {
            crate::ops::tenants::require_tenant(conn, tenant)?;
            if let Some(referrer) = &row.referrer_id {
                load_member(conn, tenant, referrer)?;
            }
            diesel::insert_into(members::table)
                .values(&row)
                .execute(conn)
                .map_err(|e| unique_violation(e.into(), &row.card_number, &row.customer_id))?;
            program_ids
                .iter()
                .map(|program| insert_membership(conn, tenant, &row.id, program, now))
                .collect::<StoreResult<Vec<_>>>()
        })?;
        Ok((row.into(), memberships))
    }

    /// Updates a member's details or replaces the card.
    pub fn update_member(
        &self,
        tenant: &str,
        member_id: &str,
        update: MemberUpdate,
    ) -> StoreResult<Member> {
        let now = to_db_time(self.now());
        self.write(|conn| {
            let mut row = load_member(conn, tenant, member_id)?;
            if let Some(name) = &update.name {
                row.name = text("name", name, 200)?;
            }
            if let Some(phone) = &update.phone {
                row.phone = optional("phone", phone.as_deref(), 32)?;
            }
            if let Some(email) = &update.email {
                row.email = optional("email", email.as_deref(), 254)?;
            }
            if let Some(card) = &update.card_number {
                row.card_number = card.as_str().to_owned();
            }
            row.updated_at = now;
            diesel::update(members::table.find(member_id))
                .set((
                    members::name.eq(&row.name),
                    members::phone.eq(&row.phone),
                    members::email.eq(&row.email),
                    members::card_number.eq(&row.card_number),
                    members::updated_at.eq(now),
                ))
                .execute(conn)
                .map_err(|e| unique_violation(e.into(), &row.card_number, &row.customer_id))?;
            Ok(Member::from(row))
        })
    }

    /// Deactivates a member: no more earning or redeeming; history stays readable.
    pub fn deactivate_member(&self, tenant: &str, member_id: &str) -> StoreResult<Member> {
        let now = to_db_time(self.now());
        self.write(|conn| {
            let mut row = load_member(conn, tenant, member_id)?;
            diesel::update(members::table.find(member_id))
                .set((members::active.eq(false), members::updated_at.eq(now)))
                .execute(conn)?;
            row.active = false;
            row.updated_at = now;
            Ok(Member::from(row))
        })
    }

    /// A member by id.
    pub fn get_member(&self, tenant: &str, member_id: &str) -> StoreResult<Member> {
        self.read(|conn| load_member(conn, tenant, member_id).map(Member::from))
    }

    /// A member by card number.
    pub fn find_member_by_card(&self, tenant: &str, card: &CardNumber) -> StoreResult<Member> {
        self.read(|conn| {
            members::table
                .filter(members::tenant_id.eq(tenant))
                .filter(members::card_number.eq(card.as_str()))
                .select(MemberRow::as_select())
                .first(conn)
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
            members::table
                .filter(members::tenant_id.eq(tenant))
                .filter(members::customer_id.eq(customer_id.trim()))
                .select(MemberRow::as_select())
                .first(conn)
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

    /// Links `referrer_id` as the member's referrer (one level; no self-referral, no cycles; a
    /// referrer, once linked, is not replaced).
    pub fn link_referrer(
        &self,
        tenant: &str,
        member_id: &str,
        referrer_id: &str,
    ) -> StoreResult<Member> {
        let now = to_db_time(self.now());
        self.write(|conn| {
            let mut row = load_member(conn, tenant, member_id)?;
            if let Some(existing) = &row.referrer_id {
                if existing == referrer_id {
                    return Ok(Member::from(row));
                }
                return Err(StoreError::FailedPrecondition(format!(
                    "member {member_id} was already referred by {existing}; a referrer is linked once"
                )));
            }
            check_referral(conn, tenant, member_id, referrer_id)?;
            diesel::update(members::table.find(member_id))
                .set((members::referrer_id.eq(referrer_id), members::updated_at.eq(now)))
                .execute(conn)?;
            row.referrer_id = Some(referrer_id.to_owned());
            row.updated_at = now;
            Ok(Member::from(row))
        })
    }

    /// The members that `member_id` referred.
    pub fn list_referrals(&self, tenant: &str, member_id: &str) -> StoreResult<Vec<Member>> {
        self.read(|conn| {
            load_member(conn, tenant, member_id)?;
            Ok(members::table
                .filter(members::tenant_id.eq(tenant))
                .filter(members::referrer_id.eq(member_id))
                .order(members::id)
                .select(MemberRow::as_select())
                .load(conn)?
                .into_iter()
                .map(Member::from)
                .collect())
        })
    }

    /// Makes the member a member of the program.
    pub fn join_program(
        &self,
        tenant: &str,
        member_id: &str,
        program_id: &str,
    ) -> StoreResult<Membership> {
        let now = to_db_time(self.now());
        self.write(|conn| {
            let member = load_member(conn, tenant, member_id)?;
            require_active(&member)?;
            insert_membership(conn, tenant, member_id, program_id, now)
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

    /// All of a member's memberships.
    pub fn list_memberships(&self, tenant: &str, member_id: &str) -> StoreResult<Vec<Membership>> {
        self.read(|conn| {
            load_member(conn, tenant, member_id)?;
            memberships::table
                .filter(memberships::tenant_id.eq(tenant))
                .filter(memberships::member_id.eq(member_id))
                .order(memberships::id)
                .select(MembershipRow::as_select())
                .load(conn)?
                .into_iter()
                .map(Membership::try_from)
                .collect()
        })
    }
}

/// Inserts the membership of an (active, loaded) member in a program of the tenant.
fn insert_membership(
    conn: &mut DbConnection,
    tenant: &str,
    member_id: &str,
    program_id: &str,
    now: chrono::NaiveDateTime,
) -> StoreResult<Membership> {
    load_program(conn, tenant, program_id)?;
    let row = MembershipRow {
        id: new_id(),
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
        joined_at: now,
        updated_at: now,
    };
    diesel::insert_into(memberships::table)
        .values(&row)
        .execute(conn)
        .map_err(|e| {
            let e = StoreError::from(e);
            if e.is_unique_violation() {
                StoreError::AlreadyExists(format!(
                    "member {member_id} already joined program {program_id}"
                ))
            } else {
                e
            }
        })?;
    Membership::try_from(row)
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
