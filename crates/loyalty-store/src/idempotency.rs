//! Idempotent operations: a caller-chosen key makes a retried call harmless.
//!
//! The first call with a key runs the operation and, in the same transaction, records the key
//! with the request's [fingerprint](crate::fingerprint) and the operation's answer: its result,
//! or its refusal by the rules ([`StoreError::refusal`]). A later call with the same key and
//! the same request gets that answer again and changes nothing, even if the state changed
//! since (a redemption refused for insufficient points stays refused after points arrive);
//! with a different request it is refused. Errors that are not refusals (malformed input,
//! something not found, the rate limit, a failing database) are not recorded, so a retry may
//! still succeed.
//!
//! Keys are scoped to the tenant: any credential of the tenant may retry a call, and the
//! fingerprint leaves out who calls. The database enforces one answer per key with the primary
//! key `(tenant_id, key)`: two concurrent first calls cannot both commit: on PostgreSQL the
//! second insert waits for the first transaction and then fails on the unique key, on SQLite
//! the write lock taken by `BEGIN IMMEDIATE` orders them. The loser's transaction is rolled
//! back whole, and it answers with the winner's recorded answer.
//!
//! A refusal must leave nothing of the operation behind but its record, so the operation runs
//! inside the savepoint `idem_body` (raw SQL, like the transaction around it, which
//! `Store::write` opens): a refusal rolls back to it and the record commits alone.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use loyalty_core::IdempotencyKey;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::to_db_time;
use crate::db::{DbConnection, native};
use crate::error::{Refusal, StoreError, StoreResult};
use crate::fingerprint::{Fingerprint, fingerprint};
use crate::models::tenant::IdempotencyRow;
use crate::schema::idempotency_records::dsl as ir;
use crate::store::Store;

/// The scope of operator calls' keys (creating tenants, issuing and revoking API keys), which
/// belong to no tenant: stored in `idempotency_records.tenant_id`, where no tenant id is empty.
pub const OPERATOR_SCOPE: &str = "";

/// `idempotency_records.outcome` of a recorded result.
const RESULT: &str = "result";
/// `idempotency_records.outcome` of a recorded refusal by the rules.
const FAILED_PRECONDITION: &str = "failed_precondition";

/// What one run of the write transaction came to.
enum Outcome<T> {
    /// The operation ran and its result was recorded.
    Fresh(T),
    /// The rules refused the operation; its writes were rolled back and the refusal recorded.
    Refused(StoreError),
    /// The key already had a record.
    Stored(IdempotencyRow),
}

fn find(conn: &mut DbConnection, tenant: &str, key: &str) -> StoreResult<Option<IdempotencyRow>> {
    Ok(native!(conn, c => ir::idempotency_records
        .filter(ir::tenant_id.eq(tenant))
        .filter(ir::key.eq(key))
        .select(IdempotencyRow::as_select())
        .get_result(c))
    .optional()?)
}

fn to_json(value: &impl Serialize) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Corrupt(format!("cannot record the answer: {e}")))
}

fn from_json<T: DeserializeOwned>(row: &IdempotencyRow) -> StoreResult<T> {
    serde_json::from_str(&row.response).map_err(|e| {
        StoreError::Corrupt(format!(
            "stored answer for idempotency key {:?}: {e}",
            row.key
        ))
    })
}

thread_local! {
    /// Whether an idempotent operation on this thread answered from its key's record since
    /// [`detect_replay`] last looked.
    static REPLAYED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` (store operations, on this thread) and tells whether any idempotent operation in
/// it was answered from its key's record, i.e. replayed the answer of an earlier call instead
/// of doing the work. A server counts moved points only for calls that did the work.
///
/// ```
/// let ((), replayed) = loyalty_store::idempotency::detect_replay(|| ());
/// assert!(!replayed);
/// ```
pub fn detect_replay<T>(f: impl FnOnce() -> T) -> (T, bool) {
    let outer = REPLAYED.replace(false);
    let value = f();
    let replayed = REPLAYED.get();
    REPLAYED.set(outer || replayed);
    (value, replayed)
}

/// The recorded answer of `row`, if it was recorded for this operation and request.
fn replay<T: DeserializeOwned>(
    row: IdempotencyRow,
    operation: &str,
    fingerprint: &str,
) -> StoreResult<T> {
    if row.operation != operation || row.fingerprint != fingerprint {
        return Err(StoreError::IdempotencyConflict {
            key: row.key,
            operation: row.operation,
        });
    }
    REPLAYED.set(true);
    match row.outcome.as_str() {
        RESULT => from_json(&row),
        FAILED_PRECONDITION => Err(StoreError::Refused(from_json::<Refusal>(&row)?)),
        other => Err(StoreError::Corrupt(format!(
            "idempotency key {:?} records an unknown outcome {other:?}",
            row.key
        ))),
    }
}

impl Store {
    /// Runs `body` as one write transaction: once per `(tenant, key)` when there is a key (see
    /// [`Store::idempotent`]); when there is none, every call runs it and nothing is recorded.
    pub(crate) fn write_keyed<Req, Res>(
        &self,
        tenant: &str,
        key: Option<&IdempotencyKey>,
        operation: &'static str,
        request: &Req,
        body: impl FnMut(&mut DbConnection) -> StoreResult<Res>,
    ) -> StoreResult<Res>
    where
        Req: Fingerprint + ?Sized,
        Res: Serialize + DeserializeOwned,
    {
        match key {
            Some(key) => self.idempotent(tenant, key, operation, request, body),
            None => self.write(body),
        }
    }

    /// Runs `body` once per `(tenant, key)`, as one write transaction that also records the
    /// key with the answer: the result, or the refusal when the rules refused (see the module
    /// docs). A retry with the same key and request gets the recorded answer.
    pub(crate) fn idempotent<Req, Res>(
        &self,
        tenant: &str,
        key: &IdempotencyKey,
        operation: &'static str,
        request: &Req,
        mut body: impl FnMut(&mut DbConnection) -> StoreResult<Res>,
    ) -> StoreResult<Res>
    where
        Req: Fingerprint + ?Sized,
        Res: Serialize + DeserializeOwned,
    {
        let print = fingerprint(operation, request);
        let now = to_db_time(self.now());
        let record = |conn: &mut DbConnection, outcome: &str, response: String| {
            native!(conn, c => diesel::insert_into(ir::idempotency_records)
                .values(IdempotencyRow {
                    tenant_id: tenant.to_owned(),
                    key: key.as_str().to_owned(),
                    operation: operation.to_owned(),
                    fingerprint: print.clone(),
                    response,
                    created_at: now,
                    outcome: outcome.to_owned(),
                })
                .execute(c))
        };
        let result = self.write(|conn| {
            if let Some(row) = find(conn, tenant, key.as_str())? {
                return Ok(Outcome::Stored(row));
            }
            conn.batch_execute("SAVEPOINT idem_body")?;
            match body(conn) {
                Ok(value) => {
                    conn.batch_execute("RELEASE SAVEPOINT idem_body")?;
                    record(conn, RESULT, to_json(&value)?)?;
                    Ok(Outcome::Fresh(value))
                }
                Err(err) => match err.refusal() {
                    // Undo the body's writes (a settled expiry, a half-posted spend) and
                    // keep the transaction usable, also on PostgreSQL after a failed
                    // statement; then record the refusal.
                    Some(refusal) => {
                        conn.batch_execute("ROLLBACK TO SAVEPOINT idem_body")?;
                        conn.batch_execute("RELEASE SAVEPOINT idem_body")?;
                        record(conn, FAILED_PRECONDITION, to_json(&refusal)?)?;
                        Ok(Outcome::Refused(err))
                    }
                    // Nothing is recorded: the whole transaction rolls back, savepoint and all.
                    None => Err(err),
                },
            }
        });
        match result {
            Ok(Outcome::Fresh(value)) => Ok(value),
            Ok(Outcome::Refused(err)) => Err(err),
            Ok(Outcome::Stored(row)) => replay(row, operation, &print),
            // A concurrent call with the same key may have committed first: then this one lost
            // on the unique key, or (on PostgreSQL, where it waited for the row lock and then
            // saw the first call's effect) failed otherwise. Either way the caller's retry
            // gets the first call's answer. If the lookup fails too, the first error is the
            // one worth reporting. An unreachable database is not looked up again: the call
            // has already waited as long as it may.
            Err(err @ StoreError::Unavailable(_)) => Err(err),
            Err(err) => match self.read(|conn| find(conn, tenant, key.as_str())) {
                Ok(Some(row)) => replay(row, operation, &print),
                Ok(None) | Err(_) => Err(err),
            },
        }
    }
}
