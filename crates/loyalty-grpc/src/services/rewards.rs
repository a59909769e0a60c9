//! `loyalty.v1.RewardService`: redeeming catalog rewards (coupons, donations, items), a
//! member's redemption history, and using a coupon at checkout.
//!
//! A member credential may redeem and list for itself only; services and admins for any
//! member of their tenant. Marking a coupon used is the till's job (service or admin), and so
//! is recording a donation made or an item handed over; cancelling a redemption (which gives
//! its points back) is an admin's.

use loyalty_store::{CancelRedemptionRequest, FulfillRequest, RewardRequest, Role, Store};
use tonic::{Request, Response, Status};

use super::{Done, blocking, point_format, point_formats, writing, writing_keyed};
use crate::auth::{caller, tenant_for_member, tenant_of};
use crate::convert::ledger::redemption_to_pb;
use crate::convert::text::MAX_REASON;
use crate::convert::{id, idempotency_key, opt_id, opt_text, page_size};
use crate::error::{ApiError, ApiResult};
use crate::observe::{Movement, count_points};
use crate::pb;

/// Who may redeem a reward or list redemptions (a member only its own).
const REDEEMERS: &[Role] = &[Role::Service, Role::Admin, Role::Member];
/// Who may mark a coupon used, or a donation or item fulfilled.
const TILLS: &[Role] = &[Role::Service, Role::Admin];
/// Who may cancel a redemption.
const ADMINS: &[Role] = &[Role::Admin];

/// The longest coupon code accepted as typed (16 characters plus separators).
const MAX_CODE_LEN: usize = 64;

/// The reward service.
#[derive(Debug, Clone)]
pub struct RewardApi {
    store: Store,
}

impl RewardApi {
    /// The service over `store`.
    pub fn new(store: Store) -> Self {
        RewardApi { store }
    }
}

fn coupon_code(value: &str) -> ApiResult<String> {
    let code = value.trim();
    if code.is_empty() {
        return Err(ApiError::field("coupon_code", "is required"));
    }
    if code.len() > MAX_CODE_LEN
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' ')
    {
        return Err(ApiError::field("coupon_code", "is not a coupon code"));
    }
    Ok(code.to_owned())
}

#[tonic::async_trait]
impl pb::reward_service_server::RewardService for RewardApi {
    async fn redeem_reward(
        &self,
        request: Request<pb::RedeemRewardRequest>,
    ) -> Result<Response<pb::RedeemRewardResponse>, Status> {
        let who = caller(&request)?;
        let pb::RedeemRewardRequest {
            idempotency_key: key,
            member_id,
            program_id,
            reward_id,
        } = request.into_inner();
        let member_id = id("member_id", &member_id)?;
        let tenant = tenant_for_member(&who, &member_id, REDEEMERS)?;
        let request = RewardRequest {
            idempotency_key: idempotency_key(&key)?,
            member_id,
            program_id: id("program_id", &program_id)?,
            reward_id: id("reward_id", &reward_id)?,
            actor: who.key_id,
        };
        let (redemption, done) = {
            let tenant = tenant.clone();
            writing_keyed(&self.store, "redeem_reward", move |s| {
                s.redeem_reward(&tenant, request)
            })
            .await?
        };
        if done == Done::Now {
            count_points(Movement::Redeemed, redemption.points.value());
        }
        Ok(Response::new(pb::RedeemRewardResponse {
            redemption: Some(redemption_to_pb(
                &redemption,
                point_format(&self.store, &tenant, &redemption.program_id).await?,
            )),
        }))
    }

    async fn list_reward_redemptions(
        &self,
        request: Request<pb::ListRewardRedemptionsRequest>,
    ) -> Result<Response<pb::ListRewardRedemptionsResponse>, Status> {
        let who = caller(&request)?;
        let pb::ListRewardRedemptionsRequest {
            member_id,
            program_id,
            page_size: size,
            page_token,
        } = request.into_inner();
        let member_id = id("member_id", &member_id)?;
        let tenant = tenant_for_member(&who, &member_id, REDEEMERS)?;
        let program_id = opt_id("program_id", &program_id)?;
        let cursor = opt_id("page_token", &page_token)?;
        let limit = page_size(size);
        let page = {
            let tenant = tenant.clone();
            blocking(&self.store, move |s| {
                s.list_reward_redemptions(
                    &tenant,
                    &member_id,
                    program_id.as_deref(),
                    cursor.as_deref(),
                    limit,
                )
            })
            .await?
        };
        let formats = point_formats(
            &self.store,
            &tenant,
            page.items.iter().map(|r| r.program_id.as_str()),
        )
        .await?;
        Ok(Response::new(pb::ListRewardRedemptionsResponse {
            redemptions: page
                .items
                .iter()
                .map(|r| redemption_to_pb(r, formats.of(&r.program_id)))
                .collect(),
            next_page_token: page.next_cursor.unwrap_or_default(),
        }))
    }

    async fn mark_coupon_used(
        &self,
        request: Request<pb::MarkCouponUsedRequest>,
    ) -> Result<Response<pb::MarkCouponUsedResponse>, Status> {
        let tenant = tenant_of(&caller(&request)?, TILLS)?;
        let pb::MarkCouponUsedRequest {
            coupon_code: code,
            idempotency_key: key,
        } = request.into_inner();
        let key = idempotency_key(&key)?;
        let code = coupon_code(&code)?;
        let redemption = {
            let tenant = tenant.clone();
            writing(&self.store, move |s| {
                s.mark_coupon_used(&tenant, Some(&key), &code)
            })
            .await?
        };
        Ok(Response::new(pb::MarkCouponUsedResponse {
            redemption: Some(redemption_to_pb(
                &redemption,
                point_format(&self.store, &tenant, &redemption.program_id).await?,
            )),
        }))
    }

    async fn fulfill_redemption(
        &self,
        request: Request<pb::FulfillRedemptionRequest>,
    ) -> Result<Response<pb::FulfillRedemptionResponse>, Status> {
        let tenant = tenant_of(&caller(&request)?, TILLS)?;
        let pb::FulfillRedemptionRequest {
            idempotency_key: key,
            redemption_id,
        } = request.into_inner();
        let request = FulfillRequest {
            idempotency_key: idempotency_key(&key)?,
            redemption_id: id("redemption_id", &redemption_id)?,
        };
        let redemption = {
            let tenant = tenant.clone();
            writing(&self.store, move |s| s.fulfill_redemption(&tenant, request)).await?
        };
        Ok(Response::new(pb::FulfillRedemptionResponse {
            redemption: Some(redemption_to_pb(
                &redemption,
                point_format(&self.store, &tenant, &redemption.program_id).await?,
            )),
        }))
    }

    async fn cancel_redemption(
        &self,
        request: Request<pb::CancelRedemptionRequest>,
    ) -> Result<Response<pb::CancelRedemptionResponse>, Status> {
        let who = caller(&request)?;
        let tenant = tenant_of(&who, ADMINS)?;
        let pb::CancelRedemptionRequest {
            idempotency_key: key,
            redemption_id,
            reason,
        } = request.into_inner();
        let request = CancelRedemptionRequest {
            idempotency_key: idempotency_key(&key)?,
            redemption_id: id("redemption_id", &redemption_id)?,
            reason: opt_text("reason", &reason, MAX_REASON)?,
            actor: who.key_id,
        };
        let (redemption, done) = {
            let tenant = tenant.clone();
            writing_keyed(&self.store, "cancel_redemption", move |s| {
                s.cancel_redemption(&tenant, request)
            })
            .await?
        };
        if done == Done::Now {
            count_points(Movement::Returned, redemption.points.value());
        }
        Ok(Response::new(pb::CancelRedemptionResponse {
            redemption: Some(redemption_to_pb(
                &redemption,
                point_format(&self.store, &tenant, &redemption.program_id).await?,
            )),
        }))
    }
}
