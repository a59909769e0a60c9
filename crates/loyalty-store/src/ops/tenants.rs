//! Tenants and API keys (keys are stored hashed; the plain key is shown once).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use loyalty_core::IdempotencyKey;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::{from_db_time, to_db_time};
use crate::db::DbConnection;
use crate::error::{StoreError, StoreResult};
use crate::fingerprint::{fields, hex};
use crate::idempotency::OPERATOR_SCOPE;
use crate::models::tenant::{ApiKeyRow, TenantRow};
use crate::schema::{api_keys, members, tenants};
use crate::store::{Store, new_id};

/// A tenant: one business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Inactive tenants' keys are refused.
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<TenantRow> for Tenant {
    fn from(r: TenantRow) -> Self {
        Tenant {
            id: r.id,
            name: r.name,
            active: r.active,
            created_at: from_db_time(r.created_at),
        }
    }
}

/// What a credential may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Creates tenants and keys; sees no tenant's data.
    Operator,
    /// A tenant's configuration, adjustments and reports.
    Admin,
    /// A tenant's earn, quote, redeem, reserve and reverse calls (billing, order services).
    Service,
    /// One member's own balance, history and reward redemptions.
    Member,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::Service => "service",
            Role::Member => "member",
        }
    }

    /// A role from its stored name.
    pub fn parse(name: &str) -> Option<Role> {
        [Role::Operator, Role::Admin, Role::Service, Role::Member]
            .into_iter()
            .find(|r| r.as_str() == name)
    }
}

/// Who is calling, as established from a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The API key's id (recorded as the actor of ledger entries), or the JWT subject.
    pub key_id: String,
    /// The role.
    pub role: Role,
    /// The tenant (none for operators).
    pub tenant_id: Option<String>,
    /// The member (member role only).
    pub member_id: Option<String>,
}

/// A newly issued key: `key` is shown once and never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedKey {
    /// The key's id (safe to log).
    pub id: String,
    /// The secret to present as a bearer credential.
    pub key: String,
    /// The role it grants.
    pub role: Role,
    /// Its tenant.
    pub tenant_id: Option<String>,
    /// Its member.
    pub member_id: Option<String>,
}

/// An API key as listed: never its secret (not stored) nor its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    /// The key's id.
    pub id: String,
    /// The role it grants.
    pub role: Role,
    /// Its tenant (none for operator keys).
    pub tenant_id: Option<String>,
    /// Its member (member keys only).
    pub member_id: Option<String>,
    /// The label it was issued with.
    pub label: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<ApiKeyRow> for ApiKeyInfo {
    type Error = StoreError;

    fn try_from(row: ApiKeyRow) -> StoreResult<ApiKeyInfo> {
        Ok(ApiKeyInfo {
            role: Role::parse(&row.role)
                .ok_or_else(|| StoreError::Corrupt(format!("role {:?}", row.role)))?,
            id: row.id,
            tenant_id: row.tenant_id,
            member_id: row.member_id,
            label: row.label,
            created_at: from_db_time(row.created_at),
            revoked_at: row.revoked_at.map(from_db_time),
        })
    }
}

fn hash_key(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

fn tenant_row(name: &str, now: NaiveDateTime) -> StoreResult<TenantRow> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(StoreError::InvalidArgument(
            "a tenant name must have 1 to 200 characters".into(),
        ));
    }
    Ok(TenantRow {
        id: new_id(),
        name: name.to_owned(),
        active: true,
        created_at: now,
    })
}

fn create_tenant_in(conn: &mut DbConnection, row: &TenantRow) -> StoreResult<()> {
    diesel::insert_into(tenants::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

impl Store {
    /// Creates a tenant. With an idempotency key (in the operator scope, [`OPERATOR_SCOPE`])
    /// it runs once per key: a retry with the same key and name creates nothing and answers
    /// with the tenant as the first call did; with another name it is refused with
    /// `IdempotencyConflict`.
    pub fn create_tenant(&self, key: Option<&IdempotencyKey>, name: &str) -> StoreResult<Tenant> {
        let row = tenant_row(name, to_db_time(self.now()))?;
        let request = fields(|out| out.text(1, &row.name));
        self.write_keyed(OPERATOR_SCOPE, key, "create_tenant", &request, |conn| {
            create_tenant_in(conn, &row).map(|()| Tenant::from(row.clone()))
        })
    }

    /// A tenant by id.
    pub fn get_tenant(&self, id: &str) -> StoreResult<Tenant> {
        self.read(|conn| {
            tenants::table
                .find(id)
                .select(TenantRow::as_select())
                .get_result(conn)
                .optional()?
                .map(Tenant::from)
                .ok_or_else(|| StoreError::NotFound {
                    what: "tenant",
                    id: id.to_owned(),
                })
        })
    }

    /// All tenants, oldest first.
    pub fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        self.read(|conn| {
            Ok(tenants::table
                .order(tenants::id)
                .select(TenantRow::as_select())
                .load(conn)?
                .into_iter()
                .map(Tenant::from)
                .collect())
        })
    }

    /// Issues a key. Operator keys have no tenant; member keys name a member of the tenant.
    ///
    /// With an idempotency key (operator scope) it runs once per key. The secret is never
    /// stored, so it cannot be replayed: a retry with the same key and request issues no
    /// second key and is refused with `AlreadyExists` naming the key already issued; with
    /// another request it is refused with `IdempotencyConflict`.
    pub fn issue_api_key(
        &self,
        idempotency_key: Option<&IdempotencyKey>,
        tenant_id: Option<&str>,
        role: Role,
        member_id: Option<&str>,
        label: &str,
    ) -> StoreResult<IssuedKey> {
        let (row, key) = key_row(tenant_id, role, member_id, label, to_db_time(self.now()))?;
        let request = fields(|out| {
            out.opt_text(1, tenant_id);
            out.text(2, role.as_str());
            out.opt_text(3, member_id);
            out.text(4, &row.label);
        });
        let issued: String = self.write_keyed(
            OPERATOR_SCOPE,
            idempotency_key,
            "issue_api_key",
            &request,
            |conn| issue_api_key_in(conn, &row).map(|()| row.id.clone()),
        )?;
        if let Some(idempotency_key) = idempotency_key.filter(|_| issued != row.id) {
            return Err(StoreError::AlreadyExists(format!(
                "idempotency key {:?} already issued API key {issued}; its secret was shown once \
                 and cannot be shown again (revoke it and issue a new key with a new idempotency \
                 key if it was lost)",
                idempotency_key.as_str()
            )));
        }
        Ok(IssuedKey {
            id: row.id,
            key,
            role,
            tenant_id: row.tenant_id,
            member_id: row.member_id,
        })
    }

    /// Revokes a key; revoked keys authenticate no more. With an idempotency key (operator
    /// scope), a replay answers as the first call did.
    pub fn revoke_api_key(&self, key: Option<&IdempotencyKey>, key_id: &str) -> StoreResult<()> {
        let now = to_db_time(self.now());
        let request = fields(|out| out.text(1, key_id));
        self.write_keyed(OPERATOR_SCOPE, key, "revoke_api_key", &request, |conn| {
            revoke_api_key_in(conn, key_id, now)
        })
    }

    /// The API keys, oldest first: of one tenant, or all of them (operator keys included) when
    /// `tenant_id` is `None`; revoked keys only when `include_revoked`.
    pub fn list_api_keys(
        &self,
        tenant_id: Option<&str>,
        include_revoked: bool,
    ) -> StoreResult<Vec<ApiKeyInfo>> {
        self.read(|conn| {
            let mut query = api_keys::table
                .select(ApiKeyRow::as_select())
                .order((api_keys::created_at, api_keys::id))
                .into_boxed();
            if let Some(tenant) = tenant_id {
                query = query.filter(api_keys::tenant_id.eq(tenant));
            }
            if !include_revoked {
                query = query.filter(api_keys::revoked_at.is_null());
            }
            query
                .load(conn)?
                .into_iter()
                .map(ApiKeyInfo::try_from)
                .collect()
        })
    }

    /// The principal a presented key stands for, or `None` for an unknown, revoked or
    /// inactive-tenant key.
    pub fn authenticate(&self, key: &str) -> StoreResult<Option<Principal>> {
        let hash = hash_key(key);
        self.read(|conn| {
            let Some(row) = api_keys::table
                .filter(api_keys::key_hash.eq(&hash))
                .filter(api_keys::revoked_at.is_null())
                .select(ApiKeyRow::as_select())
                .get_result(conn)
                .optional()?
            else {
                return Ok(None);
            };
            if let Some(tenant) = &row.tenant_id {
                let active: bool = tenants::table
                    .find(tenant)
                    .select(tenants::active)
                    .get_result(conn)?;
                if !active {
                    return Ok(None);
                }
            }
            let role = Role::parse(&row.role)
                .ok_or_else(|| StoreError::Corrupt(format!("role {:?}", row.role)))?;
            Ok(Some(Principal {
                key_id: row.id,
                role,
                tenant_id: row.tenant_id,
                member_id: row.member_id,
            }))
        })
    }
}

/// A new key's row (its role, tenant and member checked) and its secret.
fn key_row(
    tenant_id: Option<&str>,
    role: Role,
    member_id: Option<&str>,
    label: &str,
    now: NaiveDateTime,
) -> StoreResult<(ApiKeyRow, String)> {
    match (role, tenant_id, member_id) {
        (Role::Operator, None, None) => {}
        (Role::Operator, _, _) => {
            return Err(StoreError::InvalidArgument(
                "an operator key belongs to no tenant and no member".into(),
            ));
        }
        (Role::Member, Some(_), Some(_)) => {}
        (Role::Member, _, _) => {
            return Err(StoreError::InvalidArgument(
                "a member key needs a tenant and a member".into(),
            ));
        }
        (_, Some(_), None) => {}
        (_, _, _) => {
            return Err(StoreError::InvalidArgument(format!(
                "an {} key needs a tenant and no member",
                role.as_str()
            )));
        }
    }
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let key = format!("lk_{}", hex(&secret));
    let row = ApiKeyRow {
        id: new_id(),
        tenant_id: tenant_id.map(str::to_owned),
        role: role.as_str().to_owned(),
        member_id: member_id.map(str::to_owned),
        label: label.trim().to_owned(),
        key_hash: hash_key(&key),
        created_at: now,
        revoked_at: None,
    };
    Ok((row, key))
}

/// Stores a key's row inside the caller's transaction, once its tenant and member exist.
fn issue_api_key_in(conn: &mut DbConnection, row: &ApiKeyRow) -> StoreResult<()> {
    if let Some(tenant) = &row.tenant_id {
        let exists: i64 = tenants::table
            .filter(tenants::id.eq(tenant))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            return Err(StoreError::NotFound {
                what: "tenant",
                id: tenant.to_owned(),
            });
        }
    }
    if let (Some(tenant), Some(member)) = (&row.tenant_id, &row.member_id) {
        let exists: i64 = members::table
            .filter(members::id.eq(member))
            .filter(members::tenant_id.eq(tenant))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            return Err(StoreError::NotFound {
                what: "member",
                id: member.to_owned(),
            });
        }
    }
    diesel::insert_into(api_keys::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Revokes a key inside the caller's transaction.
fn revoke_api_key_in(conn: &mut DbConnection, key_id: &str, now: NaiveDateTime) -> StoreResult<()> {
    let changed = diesel::update(api_keys::table.find(key_id))
        .set(api_keys::revoked_at.eq(Some(now)))
        .execute(conn)?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            what: "API key",
            id: key_id.to_owned(),
        });
    }
    Ok(())
}

/// Fails with `NotFound` unless the tenant exists and is active.
pub(crate) fn require_tenant(conn: &mut DbConnection, tenant: &str) -> StoreResult<()> {
    let active: Option<bool> = tenants::table
        .find(tenant)
        .select(tenants::active)
        .get_result(conn)
        .optional()?;
    match active {
        Some(true) => Ok(()),
        Some(false) => Err(StoreError::FailedPrecondition(format!(
            "tenant {tenant:?} is deactivated"
        ))),
        None => Err(StoreError::NotFound {
            what: "tenant",
            id: tenant.to_owned(),
        }),
    }
}
