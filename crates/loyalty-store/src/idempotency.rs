//! Idempotent operations: a caller-chosen key makes a retried call harmless.
//!
//! The first call with a key runs the operation and, in the same transaction, stores the key
//! with a fingerprint of the request and the operation's result. A later call with the same
//! key and the same request returns the stored result and changes nothing; with a different
//! request it is refused. The database enforces this with the primary key
//! `(tenant_id, key)`: two concurrent first calls cannot both commit: on PostgreSQL the second
//! insert waits for the first transaction and then fails on the unique key, on SQLite the
//! write lock taken by `BEGIN IMMEDIATE` orders them. The loser's transaction is rolled back
//! whole, and it answers with the winner's stored result.

use diesel::prelude::*;
use loyalty_core::IdempotencyKey;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::clock::to_db_time;
use crate::db::DbConnection;
use crate::error::{StoreError, StoreResult};
use crate::models::tenant::IdempotencyRow;
use crate::schema::idempotency_records::dsl as ir;
use crate::store::Store;

/// The scope of operator calls' keys (creating tenants, issuing and revoking API keys), which
/// belong to no tenant: stored in `idempotency_records.tenant_id`, where no tenant id is empty.
pub const OPERATOR_SCOPE: &str = "";

/// A fingerprint of an operation's request: SHA-256 over the operation name and the request's
/// canonical form (its `Debug` rendering, which for the store's request types lists every field
/// with normalized decimals).
pub fn fingerprint(operation: &str, request: &impl std::fmt::Debug) -> String {
    let mut hasher = Sha256::new();
    hasher.update(operation.as_bytes());
    hasher.update([0]);
    hasher.update(format!("{request:?}").as_bytes());
    hex(&hasher.finalize())
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| {
            [
                DIGITS[usize::from(b >> 4)] as char,
                DIGITS[usize::from(b & 15)] as char,
            ]
        })
        .collect()
}

enum Outcome<T> {
    Fresh(T),
    Stored(IdempotencyRow),
}

fn find(conn: &mut DbConnection, tenant: &str, key: &str) -> StoreResult<Option<IdempotencyRow>> {
    Ok(ir::idempotency_records
        .filter(ir::tenant_id.eq(tenant))
        .filter(ir::key.eq(key))
        .select(IdempotencyRow::as_select())
        .get_result(conn)
        .optional()?)
}

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
    serde_json::from_str(&row.response).map_err(|e| {
        StoreError::Corrupt(format!(
            "stored result for idempotency key {:?}: {e}",
            row.key
        ))
    })
}

impl Store {
    /// Runs `body` once per `(tenant, key)`, as one write transaction that also records the key.
    pub(crate) fn idempotent<Req, Res>(
        &self,
        tenant: &str,
        key: &IdempotencyKey,
        operation: &'static str,
        request: &Req,
        mut body: impl FnMut(&mut DbConnection) -> StoreResult<Res>,
    ) -> StoreResult<Res>
    where
        Req: std::fmt::Debug,
        Res: Serialize + DeserializeOwned,
    {
        let print = fingerprint(operation, request);
        let now = to_db_time(self.now());
        let result = self.write(|conn| {
            if let Some(row) = find(conn, tenant, key.as_str())? {
                return Ok(Outcome::Stored(row));
            }
            let result = body(conn)?;
            let response = serde_json::to_string(&result)
                .map_err(|e| StoreError::Corrupt(format!("cannot record the result: {e}")))?;
            diesel::insert_into(ir::idempotency_records)
                .values(IdempotencyRow {
                    tenant_id: tenant.to_owned(),
                    key: key.as_str().to_owned(),
                    operation: operation.to_owned(),
                    fingerprint: print.clone(),
                    response,
                    created_at: now,
                })
                .execute(conn)?;
            Ok(Outcome::Fresh(result))
        });
        match result {
            Ok(Outcome::Fresh(value)) => Ok(value),
            Ok(Outcome::Stored(row)) => replay(row, operation, &print),
            // A concurrent call with the same key may have committed first: then this one lost
            // on the unique key, or (on PostgreSQL, where it waited for the row lock and then
            // saw the first call's effect) a rule refused it, e.g. the points were already
            // spent by the first call. Either way the caller's retry gets the first result.
            Err(err) => match self.read(|conn| find(conn, tenant, key.as_str()))? {
                Some(row) => replay(row, operation, &print),
                None => Err(err),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_request_has_the_same_fingerprint_and_another_does_not() {
        assert_eq!(
            fingerprint("earn", &("a", 1)),
            fingerprint("earn", &("a", 1))
        );
        assert_ne!(
            fingerprint("earn", &("a", 1)),
            fingerprint("earn", &("a", 2))
        );
        assert_ne!(
            fingerprint("earn", &("a", 1)),
            fingerprint("redeem", &("a", 1))
        );
    }
}
