//! `loyalty.v1.OperatorService`: tenants and API keys (operator role).

use loyalty_store::{Role, Store};
use tonic::{Request, Response, Status};

use super::{blocking, writing};
use crate::auth::{caller, require_operator};
use crate::convert::text::{MAX_LABEL, MAX_NAME};
use crate::convert::{idempotency_key, opt_id, text, time_to_pb};
use crate::error::ApiError;
use crate::pb;

/// The operator service.
#[derive(Debug, Clone)]
pub struct OperatorApi {
    store: Store,
}

impl OperatorApi {
    /// The service over `store`.
    pub fn new(store: Store) -> Self {
        OperatorApi { store }
    }
}

fn tenant_to_pb(t: loyalty_store::Tenant) -> pb::Tenant {
    pb::Tenant {
        id: t.id,
        name: t.name,
        active: t.active,
        created_at: time_to_pb(t.created_at),
    }
}

#[tonic::async_trait]
impl pb::operator_service_server::OperatorService for OperatorApi {
    async fn create_tenant(
        &self,
        request: Request<pb::CreateTenantRequest>,
    ) -> Result<Response<pb::CreateTenantResponse>, Status> {
        require_operator(&caller(&request)?)?;
        let pb::CreateTenantRequest {
            name,
            idempotency_key: key,
        } = request.into_inner();
        let key = idempotency_key(&key)?;
        let name = text("name", &name, MAX_NAME)?;
        let tenant = writing(&self.store, move |s| s.create_tenant(Some(&key), &name)).await?;
        Ok(Response::new(pb::CreateTenantResponse {
            tenant: Some(tenant_to_pb(tenant)),
        }))
    }

    async fn list_tenants(
        &self,
        request: Request<pb::ListTenantsRequest>,
    ) -> Result<Response<pb::ListTenantsResponse>, Status> {
        require_operator(&caller(&request)?)?;
        let tenants = blocking(&self.store, |s| s.list_tenants()).await?;
        Ok(Response::new(pb::ListTenantsResponse {
            tenants: tenants.into_iter().map(tenant_to_pb).collect(),
        }))
    }

    async fn issue_api_key(
        &self,
        request: Request<pb::IssueApiKeyRequest>,
    ) -> Result<Response<pb::IssueApiKeyResponse>, Status> {
        require_operator(&caller(&request)?)?;
        let pb::IssueApiKeyRequest {
            tenant_id,
            role,
            member_id,
            label,
            idempotency_key: key,
        } = request.into_inner();
        let idempotency_key = idempotency_key(&key)?;
        let role = match pb::Role::try_from(role) {
            Ok(pb::Role::Operator) => Role::Operator,
            Ok(pb::Role::Admin) => Role::Admin,
            Ok(pb::Role::Service) => Role::Service,
            Ok(pb::Role::Member) => Role::Member,
            _ => {
                return Err(ApiError::field(
                    "role",
                    "is required (ROLE_OPERATOR, ROLE_ADMIN, ROLE_SERVICE or ROLE_MEMBER)",
                )
                .into());
            }
        };
        let tenant = opt_id("tenant_id", &tenant_id)?;
        let member = opt_id("member_id", &member_id)?;
        let label = text("label", &label, MAX_LABEL)?;
        let key = writing(&self.store, move |s| {
            s.issue_api_key(
                Some(&idempotency_key),
                tenant.as_deref(),
                role,
                member.as_deref(),
                &label,
            )
        })
        .await?;
        Ok(Response::new(pb::IssueApiKeyResponse {
            key_id: key.id,
            api_key: key.key,
        }))
    }

    async fn revoke_api_key(
        &self,
        request: Request<pb::RevokeApiKeyRequest>,
    ) -> Result<Response<pb::RevokeApiKeyResponse>, Status> {
        require_operator(&caller(&request)?)?;
        let pb::RevokeApiKeyRequest {
            key_id,
            idempotency_key: key,
        } = request.into_inner();
        let key = idempotency_key(&key)?;
        let key_id = crate::convert::id("key_id", &key_id)?;
        writing(&self.store, move |s| s.revoke_api_key(Some(&key), &key_id)).await?;
        Ok(Response::new(pb::RevokeApiKeyResponse {}))
    }
}
