//! Programs and their active campaigns held in memory per program version, so the hot paths
//! read one small row instead of five tables on every call.
//!
//! Every change of a program's configuration (its rules, enabling, any campaign) bumps
//! `programs.version` in the changing transaction. A load reads
//! that stamp inside the caller's transaction (one indexed row) and uses the cached program
//! only when its stamp is the same; otherwise it reads the tables and caches what it read. So
//! a change committed by any replica is seen by the next call on every replica, and no call
//! ever mixes two versions. The cache is per process and keyed by program id (a UUID v7, unique
//! across databases); the stamp pairs the version with the microsecond `updated_at` so that two
//! databases holding the same program (a restored copy) do not share entries unless they hold
//! the same configuration. What changes with every call (a campaign's awarded total, a member's
//! usage) is never cached: it is read fresh under the caller's locks.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::{DbConnection, native};
use crate::error::{StoreError, StoreResult};
use crate::models::campaign::CampaignRow;
use crate::ops::programs::{Program, load_program_fresh};
use crate::schema::{campaigns, programs};

/// A program's version and last change, as read in the caller's transaction.
type Stamp = (i64, NaiveDateTime);

struct Cached {
    stamp: Stamp,
    program: Arc<Program>,
    /// The program's active campaigns (any window), loaded on first use.
    campaigns: Option<Arc<Vec<CampaignRow>>>,
}

/// The most programs kept; past it the cache starts afresh (a process serves a few programs).
const MAX_PROGRAMS: usize = 10_000;

static CACHE: LazyLock<Mutex<HashMap<String, Cached>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn stamp_of(conn: &mut DbConnection, tenant: &str, program_id: &str) -> StoreResult<Stamp> {
    native!(conn, c => programs::table
        .filter(programs::id.eq(program_id))
        .filter(programs::tenant_id.eq(tenant))
        .select((programs::version, programs::updated_at))
        .get_result(c))
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        what: "program",
        id: program_id.to_owned(),
    })
}

fn with_entry<T>(
    program_id: &str,
    current: impl Fn(&Cached) -> bool,
    f: impl FnOnce(&mut Cached) -> T,
) -> Option<T> {
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    cache.get_mut(program_id).filter(|c| current(c)).map(f)
}

fn remember(program_id: &str, entry: Cached) {
    let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= MAX_PROGRAMS {
        cache.clear();
    }
    cache.insert(program_id.to_owned(), entry);
}

/// The currency of program `program_id` of `tenant` as last loaded by this process, without
/// touching the database; `None` when it is not held. A hint for parsing a bill's amounts
/// before the call: every operation checks the bill against the rules it loads in its own
/// transaction.
pub(crate) fn cached_currency(tenant: &str, program_id: &str) -> Option<loyalty_core::Currency> {
    let cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    cache
        .get(program_id)
        .filter(|c| c.program.tenant_id == tenant)
        .map(|c| c.program.rules.currency)
}

/// The point decimals of program `program_id` of `tenant` as last loaded by this process,
/// without touching the database; `None` when it is not held. How points are shown on the
/// wire, never how they are computed.
pub(crate) fn cached_point_decimals(tenant: &str, program_id: &str) -> Option<u32> {
    let cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    cache
        .get(program_id)
        .filter(|c| c.program.tenant_id == tenant)
        .map(|c| c.program.rules.precision.decimals())
}

/// Loads a program of `tenant` with its rules: from the cache when its version is current.
pub(crate) fn load_program(
    conn: &mut DbConnection,
    tenant: &str,
    program_id: &str,
) -> StoreResult<Arc<Program>> {
    let stamp = stamp_of(conn, tenant, program_id)?;
    if let Some(program) = with_entry(program_id, |c| c.stamp == stamp, |c| c.program.clone()) {
        return Ok(program);
    }
    let program = Arc::new(load_program_fresh(conn, tenant, program_id)?);
    remember(
        program_id,
        Cached {
            stamp,
            program: program.clone(),
            campaigns: None,
        },
    );
    Ok(program)
}

/// The active campaigns (any window) of a program just loaded with [`load_program`], ordered
/// by id: from the cache when the program's version is the one loaded. Their `awarded` totals
/// may be stale: read them fresh where they matter (budgets).
pub(crate) fn active_campaigns(
    conn: &mut DbConnection,
    program: &Arc<Program>,
) -> StoreResult<Arc<Vec<CampaignRow>>> {
    let same = |c: &Cached| Arc::ptr_eq(&c.program, program);
    if let Some(rows) = with_entry(&program.id, same, |c| c.campaigns.clone()).flatten() {
        return Ok(rows);
    }
    let rows: Arc<Vec<CampaignRow>> = Arc::new(native!(conn, c => campaigns::table
            .filter(campaigns::tenant_id.eq(&program.tenant_id))
            .filter(campaigns::program_id.eq(&program.id))
            .filter(campaigns::active.eq(true))
            .order(campaigns::id)
            .select(CampaignRow::as_select())
            .load(c))?);
    with_entry(&program.id, same, |c| c.campaigns = Some(rows.clone()));
    Ok(rows)
}

/// Marks a program's configuration changed (a campaign was created, edited or switched): the
/// next load on every replica reads it afresh.
pub(crate) fn touch_program(conn: &mut DbConnection, program_id: &str) -> StoreResult<()> {
    native!(conn, c => diesel::update(programs::table.find(program_id))
        .set(programs::version.eq(programs::version + 1))
        .execute(c))?;
    Ok(())
}
