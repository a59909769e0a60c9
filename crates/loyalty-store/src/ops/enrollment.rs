//! Enrolling members and changing them: enroll (with programs), update, deactivate, link a
//! referrer, join a program — each once per idempotency key when the caller gives one.

use crate::clock::to_db_time;
use crate::db::DbConnection;
use crate::error::{StoreError, StoreResult};
use crate::fingerprint::{Canonical, fields};
use crate::models::member::{MemberRow, MembershipRow};
use crate::ops::members::{
    Member, MemberUpdate, Membership, NewMember, load_member, require_active,
};
use crate::ops::rules_cache::load_program;
use crate::schema::{members, memberships};
use crate::store::{Store, new_id};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use loyalty_core::IdempotencyKey;

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

/// An update's field: left as it is (nothing), cleared, or set.
fn changed(out: &mut Canonical, tag: u16, value: &Option<Option<String>>) {
    match value {
        None => {}
        Some(None) => out.cleared(tag),
        Some(Some(value)) => out.text(tag, value),
    }
}

/// The memberships of rows.
fn memberships_of(rows: Vec<MembershipRow>) -> StoreResult<Vec<Membership>> {
    rows.into_iter().map(Membership::try_from).collect()
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
    /// Enrolls a member (issues the card) and joins the given programs, all in one
    /// transaction: either the member exists with every membership, or nothing was written.
    /// The referrer, if given, must be a member of the same tenant.
    ///
    /// With an idempotency key it runs once per key: a retry with the same key and request
    /// enrolls nobody and answers with the member and the memberships as the first call did;
    /// with another request it is refused with `IdempotencyConflict`.
    pub fn enroll_member(
        &self,
        tenant: &str,
        key: Option<&IdempotencyKey>,
        new: NewMember,
        program_ids: &[String],
    ) -> StoreResult<(Member, Vec<Membership>)> {
        let now = to_db_time(self.now());
        let row = member_row(tenant, &new, now)?;
        // The request as checked (trimmed, blanks as none), never the id made for this call.
        let request = fields(|out| {
            out.text(1, &row.customer_id);
            out.text(2, &row.card_number);
            out.text(3, &row.name);
            out.opt_text(4, row.phone.as_deref());
            out.opt_text(5, row.email.as_deref());
            out.opt_text(6, row.referrer_id.as_deref());
            out.texts(7, program_ids.iter().map(String::as_str));
        });
        let (member, memberships) =
            self.write_keyed(tenant, key, "enroll_member", &request, |conn| {
                let memberships = enroll_in(conn, tenant, &row, program_ids, now)?;
                Ok((Member::from(row.clone()), memberships))
            })?;
        Ok((member, memberships_of(memberships)?))
    }

    /// Updates a member's details or replaces the card. With an idempotency key, a replay
    /// answers with the member as the first call did.
    pub fn update_member(
        &self,
        tenant: &str,
        key: Option<&IdempotencyKey>,
        member_id: &str,
        update: MemberUpdate,
    ) -> StoreResult<Member> {
        let now = to_db_time(self.now());
        let MemberUpdate {
            name,
            phone,
            email,
            card_number,
        } = &update;
        let request = fields(|out| {
            out.text(1, member_id);
            out.opt_text(2, name.as_deref());
            changed(out, 3, phone);
            changed(out, 4, email);
            out.opt_text(5, card_number.as_ref().map(|c| c.as_str()));
        });
        self.write_keyed(tenant, key, "update_member", &request, |conn| {
            update_member_in(conn, tenant, member_id, &update, now)
        })
    }

    /// Deactivates a member: no more earning or redeeming; history stays readable. With an
    /// idempotency key, a replay answers with the member as the first call did.
    pub fn deactivate_member(
        &self,
        tenant: &str,
        key: Option<&IdempotencyKey>,
        member_id: &str,
    ) -> StoreResult<Member> {
        let now = to_db_time(self.now());
        let request = fields(|out| out.text(1, member_id));
        self.write_keyed(tenant, key, "deactivate_member", &request, |conn| {
            deactivate_member_in(conn, tenant, member_id, now)
        })
    }

    /// Links `referrer_id` as the member's referrer (one level; no self-referral, no cycles; a
    /// referrer, once linked, is not replaced). With an idempotency key, a replay answers with
    /// the member as the first call did.
    pub fn link_referrer(
        &self,
        tenant: &str,
        key: Option<&IdempotencyKey>,
        member_id: &str,
        referrer_id: &str,
    ) -> StoreResult<Member> {
        let now = to_db_time(self.now());
        let request = fields(|out| {
            out.text(1, member_id);
            out.text(2, referrer_id);
        });
        self.write_keyed(tenant, key, "link_referrer", &request, |conn| {
            link_referrer_in(conn, tenant, member_id, referrer_id, now)
        })
    }

    /// Makes the member a member of the program. With an idempotency key, a replay answers
    /// with the membership as the first call did, instead of "already joined".
    pub fn join_program(
        &self,
        tenant: &str,
        key: Option<&IdempotencyKey>,
        member_id: &str,
        program_id: &str,
    ) -> StoreResult<Membership> {
        let now = to_db_time(self.now());
        let request = fields(|out| {
            out.text(1, member_id);
            out.text(2, program_id);
        });
        self.write_keyed(tenant, key, "join_program", &request, |conn| {
            join_program_in(conn, tenant, member_id, program_id, now)
        })?
        .try_into()
    }
}

/// The row of a member to enroll, its fields checked.
fn member_row(tenant: &str, new: &NewMember, now: NaiveDateTime) -> StoreResult<MemberRow> {
    Ok(MemberRow {
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
    })
}

/// Inserts a member and its memberships inside the caller's transaction.
fn enroll_in(
    conn: &mut DbConnection,
    tenant: &str,
    row: &MemberRow,
    program_ids: &[String],
    now: NaiveDateTime,
) -> StoreResult<Vec<MembershipRow>> {
    crate::ops::tenants::require_tenant(conn, tenant)?;
    if let Some(referrer) = &row.referrer_id {
        load_member(conn, tenant, referrer)?;
    }
    diesel::insert_into(members::table)
        .values(row)
        .execute(conn)
        .map_err(|e| unique_violation(e.into(), &row.card_number, &row.customer_id))?;
    program_ids
        .iter()
        .map(|program| insert_membership(conn, tenant, &row.id, program, now))
        .collect()
}

/// Updates a member inside the caller's transaction.
fn update_member_in(
    conn: &mut DbConnection,
    tenant: &str,
    member_id: &str,
    update: &MemberUpdate,
    now: NaiveDateTime,
) -> StoreResult<Member> {
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
}

/// Deactivates a member inside the caller's transaction.
fn deactivate_member_in(
    conn: &mut DbConnection,
    tenant: &str,
    member_id: &str,
    now: NaiveDateTime,
) -> StoreResult<Member> {
    let mut row = load_member(conn, tenant, member_id)?;
    diesel::update(members::table.find(member_id))
        .set((members::active.eq(false), members::updated_at.eq(now)))
        .execute(conn)?;
    row.active = false;
    row.updated_at = now;
    Ok(Member::from(row))
}

/// Links a referrer inside the caller's transaction.
fn link_referrer_in(
    conn: &mut DbConnection,
    tenant: &str,
    member_id: &str,
    referrer_id: &str,
    now: NaiveDateTime,
) -> StoreResult<Member> {
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
        .set((
            members::referrer_id.eq(referrer_id),
            members::updated_at.eq(now),
        ))
        .execute(conn)?;
    row.referrer_id = Some(referrer_id.to_owned());
    row.updated_at = now;
    Ok(Member::from(row))
}

/// Joins an active member to a program inside the caller's transaction.
fn join_program_in(
    conn: &mut DbConnection,
    tenant: &str,
    member_id: &str,
    program_id: &str,
    now: NaiveDateTime,
) -> StoreResult<MembershipRow> {
    let member = load_member(conn, tenant, member_id)?;
    require_active(&member)?;
    insert_membership(conn, tenant, member_id, program_id, now)
}

/// Inserts the membership of an (active, loaded) member in a program of the tenant.
fn insert_membership(
    conn: &mut DbConnection,
    tenant: &str,
    member_id: &str,
    program_id: &str,
    now: NaiveDateTime,
) -> StoreResult<MembershipRow> {
    load_program(conn, tenant, program_id)?;
    let row = MembershipRow::joined(tenant, member_id, program_id, now);
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
    Ok(row)
}
