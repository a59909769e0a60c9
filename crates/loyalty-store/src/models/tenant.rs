//! `tenants`, `api_keys` and `idempotency_records`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{api_keys, idempotency_records, tenants};

/// A row of `tenants`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants)]
pub struct TenantRow {
    pub id: String,
    pub name: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

/// A row of `api_keys` (only the key's hash is stored).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: String,
    pub tenant_id: Option<String>,
    pub role: String,
    pub member_id: Option<String>,
    pub label: String,
    pub key_hash: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

/// A row of `idempotency_records`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_records)]
pub struct IdempotencyRow {
    pub tenant_id: String,
    pub key: String,
    pub operation: String,
    pub fingerprint: String,
    pub response: String,
    pub created_at: NaiveDateTime,
    /// What `response` holds: `result` or `failed_precondition` (see the migrations).
    pub outcome: String,
}
