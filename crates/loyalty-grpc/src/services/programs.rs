//! `loyalty.v1.ProgramService`: programs and their rules, campaigns, and the rewards catalog.
//! Writes need the admin role; reads also the service and member roles (a checkout or an app
//! shows the rules and the catalog).

use loyalty_core::Currency;
use loyalty_store::{Program, Role, Store};
use tonic::{Request, Response, Status};

use super::{blocking, reading, writing};
use crate::auth::{caller, tenant_of};
use crate::convert::text::MAX_NAME;
use crate::convert::{
    campaign_to_pb, id, idempotency_key, program_to_pb, reward_from_pb, reward_to_pb,
    rules_from_pb, settings_from_pb, text,
};
use crate::error::{ApiError, ApiResult};
use crate::pb;

const WRITE: &[Role] = &[Role::Admin];
const READ: &[Role] = &[Role::Admin, Role::Service, Role::Member];

/// The program service.
#[derive(Debug, Clone)]
pub struct ProgramApi {
    store: Store,
}

impl ProgramApi {
    /// The service over `store`.
    pub fn new(store: Store) -> Self {
        ProgramApi { store }
    }

    /// The currency of a program (campaign and reward amounts are parsed in it). The store
    /// checks it again inside its write, so a rules change in between cannot slip a wrong
    /// currency in.
    async fn program_currency(&self, tenant: &str, program_id: &str) -> ApiResult<Currency> {
        let (tenant, program_id) = (tenant.to_owned(), program_id.to_owned());
        reading(&self.store, move |s| {
            s.get_program(&tenant, &program_id)
                .map(|p| p.rules.currency)
        })
        .await
    }
}

fn required<T>(field: &'static str, value: Option<T>) -> ApiResult<T> {
    value.ok_or_else(|| ApiError::field(field, "is required"))
}

#[tonic::async_trait]
impl pb::program_service_server::ProgramService for ProgramApi {
    async fn create_program(
        &self,
        request: Request<pb::CreateProgramRequest>,
    ) -> Result<Response<pb::CreateProgramResponse>, Status> {
        let who = caller(&request)?;
        let tenant = tenant_of(&who, WRITE)?;
        let pb::CreateProgramRequest {
            name,
            rules,
            idempotency_key: key,
        } = request.into_inner();
        let key = idempotency_key(&key)?;
        let name = text("name", &name, MAX_NAME)?;
        let rules = rules_from_pb(&required("rules", rules)?)?;
        let program = writing(&self.store, move |s| {
            s.create_program(&tenant, Some(&key), &name, rules)
        })
        .await?;
        Ok(Response::new(pb::CreateProgramResponse {
            program: Some(program_to_pb(program)),
        }))
    }

    async fn update_program(
        &self,
        request: Request<pb::UpdateProgramRequest>,
    ) -> Result<Response<pb::UpdateProgramResponse>, Status> {
        let who = caller(&request)?;
        let tenant = tenant_of(&who, WRITE)?;
        let pb::UpdateProgramRequest {
            program_id,
            name,
            rules,
            idempotency_key: key,
        } = request.into_inner();
        let key = idempotency_key(&key)?;
        let program_id = id("program_id", &program_id)?;
        let name = text("name", &name, MAX_NAME)?;
        let rules = rules_from_pb(&required("rules", rules)?)?;
        let program = writing(&self.store, move |s| {
            s.update_program(&tenant, Some(&key), &program_id, &name, rules)
        })
        .await?;
        Ok(Response::new(pb::UpdateProgramResponse {
            program: Some(program_to_pb(program)),
        }))
    }

    async fn get_program(
        &self,
        request: Request<pb::GetProgramRequest>,
    ) -> Result<Response<pb::GetProgramResponse>, Status> {
        let who = caller(&request)?;
        let tenant = tenant_of(&who, READ)?;
        let pb::GetProgramRequest { program_id } = request.into_inner();
        let program_id = id("program_id", &program_id)?;
        let program = reading(&self.store, move |s| s.get_program(&tenant, &program_id)).await?;
        Ok(Response::new(pb::GetProgramResponse {
            program: Some(program_to_pb(Program::clone(&program))),
        }))
    }

    async fn list_programs(
        &self,
        request: Request<pb::ListProgramsRequest>,
    ) -> Result<Response<pb::ListProgramsResponse>, Status> {
        let who = caller(&request)?;
        let tenant = tenant_of(&who, READ)?;
        let pb::ListProgramsRequest {} = request.into_inner();
        let programs = blocking(&self.store, move |s| s.list_programs(&tenant)).await?;
        Ok(Response::new(pb::ListProgramsResponse {
            programs: programs.into_iter().map(program_to_pb).collect(),
        }))
    }

    async fn set_program_enabled(
        &self,
        request: Request<pb::SetProgramEnabledRequest>,
    ) -> Result<Response<pb::SetProgramEnabledResponse>, Status> {
        let who = caller(&request)?;
        let tenant = tenant_of(&who, WRITE)?;
        let pb::SetProgramEnabledRequest {
            program_id,
            enabled,
            idempotency_key: key,
        } = request.into_inner();
        let key = idempotency_key(&key)?;
        let program_id = id("program_id", &program_id)?;
        let program = writing(&self.store, move |s| {
            s.set_program_enabled(&tenant, Some(&key), &program_id, enabled)
        })
        .await?;
        Ok(Response::new(pb::SetProgramEnabledResponse {
            program: Some(program_to_pb(program)),
        }))
    }

    async fn create_campaign(
        &self,
        request: Request<pb::CreateCampaignRequest>,
    ) -> Result<Response<pb::CreateCampaignResponse>, Status> {
        let who = caller(&request)?;
        let tenant = tenant_of(&who, WRITE)?;
        let pb::CreateCampaignRequest {
            program_id,
            settings,
            idempotency_key: key,
        } = request.into_inner();
        let key = idempotency_key(&key)?;
        let program_id = id("program_id", &program_id)?;
        let settings = required("settings", settings)?;
        let currency = self.program_currency(&tenant, &program_id).await?;
        let spec = settings_from_pb(&settings, currency)?;
        let campaign = writing(&self.store, move |s| {
            s.create_campaign(&tenant, Some(&key), &program_id, spec)
        })
        .await?;
        Ok(Response::new(pb::CreateCampaignResponse {
            campaign: Some(campaign_to_pb(campaign)),
        }))
    }

    async fn update_campaign(
        &self,
        request: Request<pb::UpdateCampaignRequest>,
    ) -> Result<Response<pb::UpdateCampaignResponse>, Status> {
        let who = caller(&request)?;
        let tenant = tenant_of(&who, WRITE)?;
        let pb::UpdateCampaignRequest {
            campaign_id,
            settings,
            idempotency_key: key,
        } = request.into_inner();
        let key = idempotency_key(&key)?;
        let campaign_id = id("campaign_id", &campaign_id)?;
        let settings = required("settings", settings)?;
        let (t, c) = (tenant.clone(), campaign_id.clone());
        let currency = reading(&self.store, move |s| {
            let campaign = s.get_campaign(&t, &c)?;
            s.get_program(&t, &campaign.program_id)
                .map(|p| p.rules.currency)
        })
        .await?;
        let spec = settings_from_pb(&settings, currency)?;
        let campaign = writing(&self.store, move |s| {
            s.update_campaign(&tenant, Some(&key), &campaign_id, spec)
        })
        .await?;
        Ok(Response::new(pb::UpdateCampaignResponse {
            campaign: Some(campaign_to_pb(campaign)),
        }))
    }

    async fn list_campaigns(
        &self,
        request: Request<pb::ListCampaignsRequest>,
    ) -> Result<Response<pb::ListCampaignsResponse>, Status> {
        let who = caller(&request)?;
        let tenant = tenant_of(&who, READ)?;
        let pb::ListCampaignsRequest { program_id } = request.into_inner();
        let program_id = id("program_id", &program_id)?;
        let campaigns =
            blocking(&self.store, move |s| s.list_campaigns(&tenant, &program_id)).await?;
        Ok(Response::new(pb::ListCampaignsResponse {
            campaigns: campaigns.into_iter().map(campaign_to_pb).collect(),
        }))
    }

    async fn set_campaign_active(
        &self,
        request: Request<pb::SetCampaignActiveRequest>,
    ) -> Result<Response<pb::SetCampaignActiveResponse>, Status> {
        let who = caller(&request)?;
        let tenant = tenant_of(&who, WRITE)?;
        let pb::SetCampaignActiveRequest {
            campaign_id,
            active,
            idempotency_key: key,
        } = request.into_inner();
        let key = idempotency_key(&key)?;
        let campaign_id = id("campaign_id", &campaign_id)?;
        let campaign = writing(&self.store, move |s| {
            s.set_campaign_active(&tenant, Some(&key), &campaign_id, active)
        })
        .await?;
        Ok(Response::new(pb::SetCampaignActiveResponse {
            campaign: Some(campaign_to_pb(campaign)),
        }))
    }

    async fn create_reward(
        &self,
        request: Request<pb::CreateRewardRequest>,
    ) -> Result<Response<pb::CreateRewardResponse>, Status> {
        let who = caller(&request)?;
        let tenant = tenant_of(&who, WRITE)?;
        let pb::CreateRewardRequest {
            program_id,
            name,
            kind,
            value,
            cost,
            validity_days,
            idempotency_key: key,
        } = request.into_inner();
        let key = idempotency_key(&key)?;
        let program_id = id("program_id", &program_id)?;
        let currency = self.program_currency(&tenant, &program_id).await?;
        let reward = reward_from_pb(&name, kind, &value, &cost, validity_days, currency)?;
        let reward = writing(&self.store, move |s| {
            s.create_reward(&tenant, Some(&key), &program_id, reward)
        })
        .await?;
        Ok(Response::new(pb::CreateRewardResponse {
            reward: Some(reward_to_pb(reward)),
        }))
    }

    async fn list_rewards(
        &self,
        request: Request<pb::ListRewardsRequest>,
    ) -> Result<Response<pb::ListRewardsResponse>, Status> {
        let who = caller(&request)?;
        let tenant = tenant_of(&who, READ)?;
        let pb::ListRewardsRequest {
            program_id,
            include_inactive,
        } = request.into_inner();
        let program_id = id("program_id", &program_id)?;
        let rewards = blocking(&self.store, move |s| {
            s.list_rewards(&tenant, &program_id, include_inactive)
        })
        .await?;
        Ok(Response::new(pb::ListRewardsResponse {
            rewards: rewards.into_iter().map(reward_to_pb).collect(),
        }))
    }

    async fn set_reward_active(
        &self,
        request: Request<pb::SetRewardActiveRequest>,
    ) -> Result<Response<pb::SetRewardActiveResponse>, Status> {
        let who = caller(&request)?;
        let tenant = tenant_of(&who, WRITE)?;
        let pb::SetRewardActiveRequest {
            reward_id,
            active,
            idempotency_key: key,
        } = request.into_inner();
        let key = idempotency_key(&key)?;
        let reward_id = id("reward_id", &reward_id)?;
        let reward = writing(&self.store, move |s| {
            s.set_reward_active(&tenant, Some(&key), &reward_id, active)
        })
        .await?;
        Ok(Response::new(pb::SetRewardActiveResponse {
            reward: Some(reward_to_pb(reward)),
        }))
    }
}
