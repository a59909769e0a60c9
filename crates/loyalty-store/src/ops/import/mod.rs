//! Import: a shop replacing another loyalty system brings over its members (cards, referrers),
//! their memberships (with tiers) and their opening balances as dated lots, from a file of JSON
//! lines ([`ImportRecord`], read by [`parse_line`]).
//!
//! Idempotent and resumable by natural keys: a member is present when its customer id is
//! known, a membership when the member joined the program, a lot when the membership holds an
//! `imported` entry with the lot's reference. Importing a file again, or the whole file after
//! a run stopped half-way, adds only what is missing.
//!
//! [`Store::import_batch`] writes up to [`IMPORT_BATCH`] rows in one transaction, each row in
//! its own savepoint: a bad row is rolled back alone and answered with its reason, the others
//! commit. The callers (the `Import` RPC, `loyalty import`) cut a file into such batches, so
//! the database commits every thousand rows and other calls interleave on SQLite's one writer.

mod records;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use loyalty_core::ledger::EntryKind;
use loyalty_core::lots;
use uuid::Uuid;

pub use records::{ImportRecord, LotRecord, MemberRecord, MembershipRecord, parse_line};

use crate::account::{Account, EntryMeta};
use crate::clock::to_db_time;
use crate::db::{DbConnection, native};
use crate::error::{StoreError, StoreResult};
use crate::models::member::{MemberRow, MembershipRow};
use crate::ops::members::require_active;
use crate::ops::programs::Program;
use crate::ops::rules_cache::load_program;
use crate::schema::{ledger_entries, members, memberships, programs};
use crate::store::{Store, new_id};

/// The most rows one [`Store::import_batch`] call (one transaction) takes.
pub const IMPORT_BATCH: usize = 1000;

/// One line of an import file: its number in the file and its record, or why it is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// The line number in the file (from 1).
    pub line: u64,
    /// The parsed record, or the reason the line is rejected.
    pub record: Result<ImportRecord, String>,
}

impl ImportRow {
    /// The row of line `line`, or `None` for a blank line (skipped, not counted).
    pub fn of(line: u64, bytes: &[u8]) -> Option<ImportRow> {
        let record = match std::str::from_utf8(bytes) {
            Ok(text) if text.trim().is_empty() => return None,
            Ok(text) => parse_line(text),
            Err(_) => Err("the line is not UTF-8".into()),
        };
        Some(ImportRow { line, record })
    }
}

/// What became of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    /// Written now.
    Imported,
    /// Its natural key was already there (an earlier run): nothing written.
    AlreadyPresent,
    /// Refused, with the reason; nothing written for it.
    Rejected(String),
}

/// A rejected row: its line and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    /// The line number in the file.
    pub line: u64,
    /// Why it was rejected.
    pub reason: String,
}

/// The counts of an import so far and its rejected rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Rows read (blank lines are not rows).
    pub read: u64,
    /// Rows written.
    pub imported: u64,
    /// Rows whose natural key was already present.
    pub already_present: u64,
    /// Rows rejected, in file order.
    pub rejected: Vec<RejectedRow>,
}

impl ImportReport {
    /// Adds the outcomes of `rows` (in the same order).
    pub fn add(&mut self, rows: &[ImportRow], outcomes: Vec<RowOutcome>) {
        for (row, outcome) in rows.iter().zip(outcomes) {
            self.read += 1;
            match outcome {
                RowOutcome::Imported => self.imported += 1,
                RowOutcome::AlreadyPresent => self.already_present += 1,
                RowOutcome::Rejected(reason) => self.rejected.push(RejectedRow {
                    line: row.line,
                    reason,
                }),
            }
        }
    }
}

/// Whether an error rejects its row alone (bad or conflicting data) rather than the batch (the
/// database failed: the batch is retried or the import stops).
fn rejects_row(err: &StoreError) -> bool {
    matches!(
        err,
        StoreError::Rule(_)
            | StoreError::InvalidArgument(_)
            | StoreError::NotFound { .. }
            | StoreError::AlreadyExists(_)
            | StoreError::FailedPrecondition(_)
    )
}

/// The programs a batch named, by the id or name it named them with.
type Programs = HashMap<String, Arc<Program>>;

impl Store {
    /// Imports `rows` (at most [`IMPORT_BATCH`]) into `tenant` in one transaction, each row in
    /// its own savepoint, and answers one outcome per row in order. `actor` is recorded on the
    /// opening balances' entries. Fails as a whole only when the database does (nothing of the
    /// batch is then written; the natural keys make a retry safe).
    pub fn import_batch(
        &self,
        tenant: &str,
        actor: &str,
        rows: &[ImportRow],
    ) -> StoreResult<Vec<RowOutcome>> {
        if rows.len() > IMPORT_BATCH {
            return Err(StoreError::InvalidArgument(format!(
                "an import batch has at most {IMPORT_BATCH} rows (got {})",
                rows.len()
            )));
        }
        let now = self.now();
        self.write(|conn| {
            crate::ops::tenants::require_tenant(conn, tenant)?;
            let mut programs = Programs::new();
            rows.iter()
                .map(|row| match &row.record {
                    Err(reason) => Ok(RowOutcome::Rejected(reason.clone())),
                    Ok(record) => one_row(conn, tenant, actor, now, &mut programs, record),
                })
                .collect()
        })
    }
}

/// Imports one record in its own savepoint.
fn one_row(
    conn: &mut DbConnection,
    tenant: &str,
    actor: &str,
    now: DateTime<Utc>,
    programs: &mut Programs,
    record: &ImportRecord,
) -> StoreResult<RowOutcome> {
    conn.batch_execute("SAVEPOINT import_row")?;
    let outcome = match record {
        ImportRecord::Member(member) => import_member(conn, tenant, now, member),
        ImportRecord::Membership(membership) => {
            import_membership(conn, tenant, now, programs, membership)
        }
        ImportRecord::Lot(lot) => import_lot(conn, tenant, actor, now, programs, lot),
    };
    match outcome {
        Ok(done) => {
            conn.batch_execute("RELEASE SAVEPOINT import_row")?;
            Ok(done)
        }
        Err(err) => {
            conn.batch_execute("ROLLBACK TO SAVEPOINT import_row")?;
            conn.batch_execute("RELEASE SAVEPOINT import_row")?;
            if rejects_row(&err) {
                Ok(RowOutcome::Rejected(err.to_string()))
            } else {
                Err(err)
            }
        }
    }
}

/// The tenant's member with customer id `customer_id`, if there is one.
fn member_by_customer(
    conn: &mut DbConnection,
    tenant: &str,
    customer_id: &str,
) -> StoreResult<Option<MemberRow>> {
    Ok(native!(conn, c => members::table
        .filter(members::tenant_id.eq(tenant))
        .filter(members::customer_id.eq(customer_id))
        .select(MemberRow::as_select())
        .get_result(c))
    .optional()?)
}

/// The tenant's member with customer id `customer_id`, or why the row cannot go on.
fn existing_member(
    conn: &mut DbConnection,
    tenant: &str,
    customer_id: &str,
) -> StoreResult<MemberRow> {
    member_by_customer(conn, tenant, customer_id)?.ok_or_else(|| {
        StoreError::FailedPrecondition(format!(
            "no member has customer id {customer_id:.32?}: import the member on an earlier line"
        ))
    })
}

/// The program a row names by id or name (looked up once per batch).
fn program_of(
    conn: &mut DbConnection,
    tenant: &str,
    programs: &mut Programs,
    named: &str,
) -> StoreResult<Arc<Program>> {
    if let Some(program) = programs.get(named) {
        return Ok(program.clone());
    }
    let id: Option<String> = native!(conn, c => programs::table
        .filter(programs::tenant_id.eq(tenant))
        .filter(programs::id.eq(named).or(programs::name.eq(named)))
        .select(programs::id)
        .first(c))
    .optional()?;
    let id = id.ok_or_else(|| StoreError::NotFound {
        what: "program",
        id: named.chars().take(32).collect(),
    })?;
    let program = load_program(conn, tenant, &id)?;
    programs.insert(named.to_owned(), program.clone());
    Ok(program)
}

fn import_member(
    conn: &mut DbConnection,
    tenant: &str,
    now: DateTime<Utc>,
    record: &MemberRecord,
) -> StoreResult<RowOutcome> {
    if member_by_customer(conn, tenant, &record.customer_id)?.is_some() {
        return Ok(RowOutcome::AlreadyPresent);
    }
    let referrer_id = match &record.referrer {
        Some(referrer) if *referrer == record.customer_id => {
            return Err(loyalty_core::Error::SelfReferral.into());
        }
        Some(referrer) => Some(
            member_by_customer(conn, tenant, referrer)?
                .ok_or_else(|| {
                    StoreError::FailedPrecondition(format!(
                        "the referrer {referrer:.32?} is not a member: import referrers on \
                         earlier lines than the members they referred"
                    ))
                })?
                .id,
        ),
        None => None,
    };
    let at = to_db_time(now);
    let row = MemberRow {
        id: new_id(),
        tenant_id: tenant.to_owned(),
        customer_id: record.customer_id.clone(),
        card_number: record.card_number.as_str().to_owned(),
        name: record.name.clone(),
        phone: record.phone.clone(),
        email: record.email.clone(),
        referrer_id,
        active: true,
        created_at: at,
        updated_at: at,
    };
    native!(conn, c => diesel::insert_into(members::table).values(&row).execute(c)).map_err(
        |e| {
            let e = StoreError::from(e);
            if e.is_unique_violation() {
                // The customer id was free a moment ago, so it is the card (or another import
                // running at the same time just added this customer: run again to see it present).
                StoreError::AlreadyExists(format!(
                    "card number {} belongs to another member (or customer id {:.32?} was just \
                     imported by another run)",
                    row.card_number, row.customer_id
                ))
            } else {
                e
            }
        },
    )?;
    Ok(RowOutcome::Imported)
}

fn import_membership(
    conn: &mut DbConnection,
    tenant: &str,
    now: DateTime<Utc>,
    programs: &mut Programs,
    record: &MembershipRecord,
) -> StoreResult<RowOutcome> {
    let member = existing_member(conn, tenant, &record.customer_id)?;
    let program = program_of(conn, tenant, programs, &record.program)?;
    let joined: Option<String> = native!(conn, c => memberships::table
        .filter(memberships::member_id.eq(&member.id))
        .filter(memberships::program_id.eq(&program.id))
        .select(memberships::id)
        .get_result(c))
    .optional()?;
    if joined.is_some() {
        return Ok(RowOutcome::AlreadyPresent);
    }
    require_active(&member)?;
    // The tier counts as reached: no upgrade bonus is paid for it later. The program's tier
    // rules re-evaluate it as they do every tier (spend before the import is not known).
    let best_tier_rank = match &record.tier {
        None => None,
        Some(tier) => {
            let rank = program.rules.tiers.rank(tier).ok_or_else(|| {
                StoreError::InvalidArgument(format!(
                    "program {} has no tier {tier:.32?}",
                    program.name
                ))
            })?;
            Some(i32::try_from(rank).map_err(|_| StoreError::Corrupt("tier rank".into()))?)
        }
    };
    let at = to_db_time(now);
    let row = MembershipRow {
        tier: record.tier.clone(),
        best_tier_rank,
        ..MembershipRow::joined(tenant, &member.id, &program.id, at)
    };
    native!(conn, c => diesel::insert_into(memberships::table).values(&row).execute(c)).map_err(
        |e| {
            let e = StoreError::from(e);
            if e.is_unique_violation() {
                StoreError::AlreadyExists(format!(
                    "member {:.32?} joined program {} in another run at the same time",
                    record.customer_id, program.name
                ))
            } else {
                e
            }
        },
    )?;
    Ok(RowOutcome::Imported)
}

fn import_lot(
    conn: &mut DbConnection,
    tenant: &str,
    actor: &str,
    now: DateTime<Utc>,
    programs: &mut Programs,
    record: &LotRecord,
) -> StoreResult<RowOutcome> {
    let member = existing_member(conn, tenant, &record.customer_id)?;
    let program = program_of(conn, tenant, programs, &record.program)?;
    let mut acct =
        Account::lock_of(conn, tenant, &member.id, &program.id, now).map_err(|e| match e {
            StoreError::NotFound { .. } => StoreError::FailedPrecondition(format!(
                "member {:.32?} has not joined program {}: import its membership on an earlier \
                 line",
                record.customer_id, program.name
            )),
            other => other,
        })?;
    // Under the membership's lock, so two imports of one lot cannot both find it missing.
    let present: Option<String> = native!(conn, c => ledger_entries::table
        .filter(ledger_entries::tenant_id.eq(tenant))
        .filter(ledger_entries::reference.eq(&record.reference))
        .filter(ledger_entries::membership_id.eq(&acct.row.id))
        .filter(ledger_entries::kind.eq(EntryKind::Imported.as_str()))
        .select(ledger_entries::id)
        .first(c))
    .optional()?;
    if present.is_some() {
        return Ok(RowOutcome::AlreadyPresent);
    }
    let lot = lots::imported_lot(
        &program.rules,
        Uuid::now_v7(),
        record.points,
        record.earned_at,
        record.expires_at,
        now,
    )?;
    acct.settle(conn)?;
    let meta = EntryMeta {
        reference: Some(record.reference.clone()),
        reason: Some(format!(
            "opening balance earned {}",
            record.earned_at.to_rfc3339()
        )),
        ..EntryMeta::by(actor)
    };
    acct.credit_lot(conn, EntryKind::Imported, lot, &meta)?;
    acct.save(conn)?;
    Ok(RowOutcome::Imported)
}
