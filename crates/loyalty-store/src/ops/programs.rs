//! Programs and their rules: create, replace the rules, enable/disable, read.

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use loyalty_core::{Currency, IdempotencyKey, ProgramRules, Rules};

use crate::clock::{from_db_time, to_db_time};
use crate::db::DbConnection;
use crate::error::{StoreError, StoreResult};
use crate::fingerprint::{Fingerprint, fields};
use crate::models::program::{
    ActionRow, CategoryRow, ProgramRow, RulesRows, TierRow, rules_from_rows, rules_to_rows,
};
use crate::ops::rules_cache::load_program;
use crate::schema::{program_actions, program_categories, program_tiers, programs};
use crate::store::{Store, new_id};

/// A program with its validated rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// Its id.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Its name, unique in the tenant ("Wine & Dine").
    pub name: String,
    /// A disabled program refuses earning and redeeming; reads still work.
    pub enabled: bool,
    /// Its rules.
    pub rules: Rules,
    /// Bumped on every change.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

fn check_name(name: &str) -> StoreResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(StoreError::InvalidArgument(
            "a program name must have 1 to 200 characters".into(),
        ));
    }
    Ok(name.to_owned())
}

fn blank_row(id: String, tenant: &str, name: String, now: NaiveDateTime) -> ProgramRow {
    ProgramRow {
        id,
        tenant_id: tenant.to_owned(),
        name,
        enabled: true,
        currency: String::new(),
        point_decimals: 0,
        rounding: String::new(),
        base_points: 0,
        base_per: 0,
        earn_cap_per_bill: None,
        earn_basis: String::new(),
        referral_percent: String::new(),
        redemption_points: None,
        redemption_value: None,
        min_redemption_points: None,
        max_bill_share: None,
        max_points_per_bill: None,
        expiry_months: None,
        pending_days: 0,
        return_policy: String::new(),
        bill_discount_kind: None,
        bill_discount_value: None,
        bill_discount_minimum: None,
        redemptions_per_minute: None,
        tier_basis: String::new(),
        tier_window_days: None,
        utc_offset_minutes: 0,
        max_bill_age_days: None,
        kind: String::new(),
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

fn insert_rule_rows(conn: &mut DbConnection, rows: &RulesRows) -> StoreResult<()> {
    // Diesel's MultiConnection has no multi-row INSERT, so rule rows go in one by one (a
    // program has a handful of them).
    for row in &rows.categories {
        diesel::insert_into(program_categories::table)
            .values(row)
            .execute(conn)?;
    }
    for row in &rows.actions {
        diesel::insert_into(program_actions::table)
            .values(row)
            .execute(conn)?;
    }
    for row in &rows.tiers {
        diesel::insert_into(program_tiers::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

fn name_taken(err: StoreError, name: &str) -> StoreError {
    if err.is_unique_violation() {
        StoreError::AlreadyExists(format!("the tenant already has a program named {name:?}"))
    } else {
        err
    }
}

/// Loads a program of `tenant` with its rules from its tables (see
/// [`rules_cache`](crate::ops::rules_cache) for the cached load every other path uses).
pub(crate) fn load_program_fresh(
    conn: &mut DbConnection,
    tenant: &str,
    program_id: &str,
) -> StoreResult<Program> {
    program_of(load_rows(conn, tenant, program_id)?)
}

/// The rows of a program of `tenant`.
fn load_rows(conn: &mut DbConnection, tenant: &str, program_id: &str) -> StoreResult<RulesRows> {
    let program: ProgramRow = programs::table
        .filter(programs::id.eq(program_id))
        .filter(programs::tenant_id.eq(tenant))
        .select(ProgramRow::as_select())
        .get_result(conn)
        .optional()?
        .ok_or_else(|| StoreError::NotFound {
            what: "program",
            id: program_id.to_owned(),
        })?;
    let categories = program_categories::table
        .filter(program_categories::program_id.eq(program_id))
        .order(program_categories::category)
        .select(CategoryRow::as_select())
        .load(conn)?;
    let actions = program_actions::table
        .filter(program_actions::program_id.eq(program_id))
        .order(program_actions::action)
        .select(ActionRow::as_select())
        .load(conn)?;
    let tiers = program_tiers::table
        .filter(program_tiers::program_id.eq(program_id))
        .select(TierRow::as_select())
        .load(conn)?;
    Ok(RulesRows {
        program,
        categories,
        actions,
        tiers,
    })
}

/// The program its rows store, its rules validated.
fn program_of(rows: RulesRows) -> StoreResult<Program> {
    let rules = rules_from_rows(&rows)?;
    let p = rows.program;
    Ok(Program {
        id: p.id,
        tenant_id: p.tenant_id,
        name: p.name,
        enabled: p.enabled,
        rules,
        version: p.version,
        created_at: from_db_time(p.created_at),
        updated_at: from_db_time(p.updated_at),
    })
}

/// Fails with `FailedPrecondition` when the program is disabled.
pub(crate) fn require_enabled(program: &Program) -> StoreResult<()> {
    if program.enabled {
        Ok(())
    } else {
        Err(StoreError::FailedPrecondition(format!(
            "program {:?} is disabled: earning and redeeming are switched off",
            program.name
        )))
    }
}

/// Creates a program (name checked, rules validated) inside the caller's transaction.
fn create_program_in(
    conn: &mut DbConnection,
    tenant: &str,
    name: &str,
    rules: &Rules,
    now: NaiveDateTime,
) -> StoreResult<RulesRows> {
    let id = new_id();
    let rows = rules_to_rows(blank_row(id.clone(), tenant, name.to_owned(), now), rules)?;
    crate::ops::tenants::require_tenant(conn, tenant)?;
    diesel::insert_into(programs::table)
        .values(&rows.program)
        .execute(conn)
        .map_err(|e| name_taken(e.into(), name))?;
    insert_rule_rows(conn, &rows)?;
    load_rows(conn, tenant, &id)
}

/// Replaces a program's name and rules inside the caller's transaction.
fn update_program_in(
    conn: &mut DbConnection,
    tenant: &str,
    program_id: &str,
    name: &str,
    rules: &Rules,
    now: NaiveDateTime,
) -> StoreResult<RulesRows> {
    let current = load_program(conn, tenant, program_id)?;
    // Balances mean points or money from the first entry on; a kind never changes.
    if current.rules.kind != rules.kind {
        return Err(StoreError::FailedPrecondition(format!(
            "program {program_id} is a {} program and stays one (its kind cannot change; \
             create another program)",
            current.rules.kind.as_str()
        )));
    }
    let mut row = blank_row(program_id.to_owned(), tenant, name.to_owned(), now);
    row.enabled = current.enabled;
    row.version = current.version + 1;
    row.created_at = to_db_time(current.created_at);
    let rows = rules_to_rows(row, rules)?;
    diesel::update(programs::table.find(program_id))
        .set(&rows.program)
        .execute(conn)
        .map_err(|e| name_taken(e.into(), name))?;
    diesel::delete(program_categories::table.filter(program_categories::program_id.eq(program_id)))
        .execute(conn)?;
    diesel::delete(program_actions::table.filter(program_actions::program_id.eq(program_id)))
        .execute(conn)?;
    diesel::delete(program_tiers::table.filter(program_tiers::program_id.eq(program_id)))
        .execute(conn)?;
    insert_rule_rows(conn, &rows)?;
    load_rows(conn, tenant, program_id)
}

/// Switches a program on or off inside the caller's transaction.
fn set_program_enabled_in(
    conn: &mut DbConnection,
    tenant: &str,
    program_id: &str,
    enabled: bool,
    now: NaiveDateTime,
) -> StoreResult<RulesRows> {
    load_rows(conn, tenant, program_id)?;
    diesel::update(programs::table.find(program_id))
        .set((
            programs::enabled.eq(enabled),
            programs::version.eq(programs::version + 1),
            programs::updated_at.eq(now),
        ))
        .execute(conn)?;
    load_rows(conn, tenant, program_id)
}

impl Store {
    /// Creates a program with validated rules.
    ///
    /// With an idempotency key it runs once per key: a retry with the same key and request
    /// creates nothing and answers with the program as the first call did; with another
    /// request it is refused with `IdempotencyConflict`.
    pub fn create_program(
        &self,
        tenant: &str,
        key: Option<&IdempotencyKey>,
        name: &str,
        rules: ProgramRules,
    ) -> StoreResult<Program> {
        let name = check_name(name)?;
        let rules = rules.validate()?;
        let now = to_db_time(self.now());
        let request = fields(|out| {
            out.text(1, &name);
            out.record(2, |r| rules.write_fields(r));
        });
        program_of(
            self.write_keyed(tenant, key, "create_program", &request, |conn| {
                create_program_in(conn, tenant, &name, &rules, now)
            })?,
        )
    }

    /// Replaces a program's name and rules (atomically; entries already posted keep the numbers
    /// they were computed with). With an idempotency key, a replay answers with the program as
    /// the first call did.
    pub fn update_program(
        &self,
        tenant: &str,
        key: Option<&IdempotencyKey>,
        program_id: &str,
        name: &str,
        rules: ProgramRules,
    ) -> StoreResult<Program> {
        let name = check_name(name)?;
        let rules = rules.validate()?;
        let now = to_db_time(self.now());
        let request = fields(|out| {
            out.text(1, program_id);
            out.text(2, &name);
            out.record(3, |r| rules.write_fields(r));
        });
        program_of(
            self.write_keyed(tenant, key, "update_program", &request, |conn| {
                update_program_in(conn, tenant, program_id, &name, &rules, now)
            })?,
        )
    }

    /// Switches a program on or off. With an idempotency key, a replay answers with the
    /// program as the first call did.
    pub fn set_program_enabled(
        &self,
        tenant: &str,
        key: Option<&IdempotencyKey>,
        program_id: &str,
        enabled: bool,
    ) -> StoreResult<Program> {
        let now = to_db_time(self.now());
        let request = fields(|out| {
            out.text(1, program_id);
            out.boolean(2, enabled);
        });
        program_of(
            self.write_keyed(tenant, key, "set_program_enabled", &request, |conn| {
                set_program_enabled_in(conn, tenant, program_id, enabled, now)
            })?,
        )
    }

    /// The currency of a program of the tenant, to parse a bill's amounts in before the call
    /// that uses them: from this process's cache of program rules when it holds the program
    /// (no database access), otherwise read. Operations check the bill against the program's
    /// rules again inside their transaction, so a currency changed meanwhile is refused there.
    pub fn program_currency(&self, tenant: &str, program_id: &str) -> StoreResult<Currency> {
        if let Some(currency) = crate::ops::rules_cache::cached_currency(tenant, program_id) {
            return Ok(currency);
        }
        self.get_program(tenant, program_id)
            .map(|p| p.rules.currency)
    }

    /// The part of [`Store::program_currency`] that needs no database: `None` when this
    /// process does not hold the program.
    pub fn cached_program_currency(&self, tenant: &str, program_id: &str) -> Option<Currency> {
        crate::ops::rules_cache::cached_currency(tenant, program_id)
    }

    /// The number of decimals program `program_id` shows its points with (its point
    /// precision): from this process's cache of program rules without a database access when
    /// the program was used recently (always right after a call on it), otherwise read.
    pub fn program_point_decimals(&self, tenant: &str, program_id: &str) -> StoreResult<u32> {
        if let Some(decimals) = self.cached_program_point_decimals(tenant, program_id) {
            return Ok(decimals);
        }
        self.get_program(tenant, program_id)
            .map(|p| p.rules.precision.decimals())
    }

    /// The part of [`Store::program_point_decimals`] that needs no database: `None` when this
    /// process does not hold the program.
    pub fn cached_program_point_decimals(&self, tenant: &str, program_id: &str) -> Option<u32> {
        crate::ops::rules_cache::cached_point_decimals(tenant, program_id)
    }

    /// A program of the tenant.
    pub fn get_program(&self, tenant: &str, program_id: &str) -> StoreResult<Arc<Program>> {
        self.read(|conn| load_program(conn, tenant, program_id))
    }

    /// The tenant's programs, oldest first.
    pub fn list_programs(&self, tenant: &str) -> StoreResult<Vec<Program>> {
        self.read(|conn| {
            let ids: Vec<String> = programs::table
                .filter(programs::tenant_id.eq(tenant))
                .order(programs::id)
                .select(programs::id)
                .load(conn)?;
            ids.iter()
                .map(|id| load_program(conn, tenant, id).map(|p| (*p).clone()))
                .collect()
        })
    }
}
