//! `loyalty.v1.ReportService`: a program's numbers for admin dashboards (admin role).
//!
//! The program report covers the program's lifetime. Its liability is the money value of the
//! outstanding points at the redemption rate; a program whose points cannot pay bills owes no
//! money, so its liability is zero. A cashback program's totals are money, shown with its
//! currency's decimals.

use chrono::{DateTime, Utc};
use loyalty_core::ProgramKind;
use loyalty_store::{Store, TopBy};
use rust_decimal::Decimal;
use tonic::{Request, Response, Status};

use super::ledger::ADMIN;
use super::{blocking, point_format};
use crate::auth::{caller, tenant_of};
use crate::convert::ledger::{amount_to_pb, points_to_pb};
use crate::convert::{id, opt_time, program_kind_to_pb};
use crate::error::ApiError;
use crate::pb;

/// How many members [`ListTopMembers`](pb::report_service_server::ReportService::list_top_members)
/// returns when the request says 0.
const DEFAULT_TOP: u32 = 10;

/// The report service.
#[derive(Debug, Clone)]
pub struct ReportApi {
    store: Store,
}

impl ReportApi {
    /// The service over `store`.
    pub fn new(store: Store) -> Self {
        ReportApi { store }
    }
}

#[tonic::async_trait]
impl pb::report_service_server::ReportService for ReportApi {
    async fn get_program_report(
        &self,
        request: Request<pb::GetProgramReportRequest>,
    ) -> Result<Response<pb::GetProgramReportResponse>, Status> {
        let tenant = tenant_of(&caller(&request)?, ADMIN)?;
        let pb::GetProgramReportRequest { program_id, as_of } = request.into_inner();
        let program_id = id("program_id", &program_id)?;
        let as_of = opt_time("as_of", &as_of)?;
        let r = {
            let (tenant, program_id) = (tenant.clone(), program_id.clone());
            blocking(&self.store, move |s| match as_of {
                Some(at) => s.program_report_as_of(&tenant, &program_id, at),
                None => s.program_report(&tenant, &program_id, None, None),
            })
            .await?
        };
        let f = point_format(&self.store, &tenant, &program_id).await?;
        // A cashback program's points are money: shown with the currency's decimals.
        let total = |value: Decimal| match r.kind {
            ProgramKind::Points => points_to_pb(value, f),
            ProgramKind::Cashback => amount_to_pb(value, r.currency),
        };
        Ok(Response::new(pb::GetProgramReportResponse {
            members: r.members,
            points_outstanding: total(r.points_outstanding),
            liability: amount_to_pb(r.liability.unwrap_or(Decimal::ZERO), r.currency),
            currency: r.currency.code().to_owned(),
            earned: total(r.earned),
            redeemed: total(r.redeemed),
            expired: total(r.expired),
            reversed: total(r.reversed),
            redemption_rate: r.redemption_rate.normalize().to_string(),
            referral: total(r.referral),
            campaign: total(r.campaign),
            tier_bonus: total(r.tier_bonus),
            adjusted_up: total(r.adjusted_up),
            adjusted_down: total(r.adjusted_down),
            kind: program_kind_to_pb(r.kind) as i32,
        }))
    }

    async fn get_expired_points(
        &self,
        request: Request<pb::GetExpiredPointsRequest>,
    ) -> Result<Response<pb::GetExpiredPointsResponse>, Status> {
        let tenant = tenant_of(&caller(&request)?, ADMIN)?;
        let pb::GetExpiredPointsRequest {
            program_id,
            from,
            to,
        } = request.into_inner();
        let program_id = id("program_id", &program_id)?;
        let from = opt_time("from", &from)?.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let to = opt_time("to", &to)?;
        let expired = {
            let (tenant, program_id) = (tenant.clone(), program_id.clone());
            blocking(&self.store, move |s| {
                // Entries are stamped with the store's clock, so "now" is the store's too.
                let to = to.unwrap_or_else(|| s.now() + chrono::Duration::microseconds(1));
                s.expired_points(&tenant, &program_id, from, to)
            })
            .await?
        };
        let f = point_format(&self.store, &tenant, &program_id).await?;
        Ok(Response::new(pb::GetExpiredPointsResponse {
            points: points_to_pb(expired.points, f),
            entries: expired.entries,
        }))
    }

    async fn list_top_members(
        &self,
        request: Request<pb::ListTopMembersRequest>,
    ) -> Result<Response<pb::ListTopMembersResponse>, Status> {
        let tenant = tenant_of(&caller(&request)?, ADMIN)?;
        let pb::ListTopMembersRequest {
            program_id,
            rank_by,
            limit,
        } = request.into_inner();
        let program_id = id("program_id", &program_id)?;
        let by = match pb::RankBy::try_from(rank_by) {
            Ok(pb::RankBy::Unspecified | pb::RankBy::Earned) => TopBy::Earned,
            Ok(pb::RankBy::Available) => TopBy::Available,
            Err(_) => {
                return Err(
                    ApiError::field("rank_by", format!("unknown ranking {rank_by}")).into(),
                );
            }
        };
        if limit > 100 {
            return Err(ApiError::field("limit", "at most 100 members").into());
        }
        let limit = if limit == 0 { DEFAULT_TOP } else { limit };
        let top = {
            let (tenant, program_id) = (tenant.clone(), program_id.clone());
            blocking(&self.store, move |s| {
                s.top_members(&tenant, &program_id, by, limit)
            })
            .await?
        };
        let f = point_format(&self.store, &tenant, &program_id).await?;
        Ok(Response::new(pb::ListTopMembersResponse {
            members: top
                .into_iter()
                .map(|m| pb::TopMember {
                    points: points_to_pb(
                        match by {
                            TopBy::Earned => m.earned,
                            TopBy::Available => m.available,
                        },
                        f,
                    ),
                    member_id: m.member_id,
                    name: m.name,
                    card_number: m.card_number,
                })
                .collect(),
        }))
    }

    async fn get_referral_report(
        &self,
        request: Request<pb::GetReferralReportRequest>,
    ) -> Result<Response<pb::GetReferralReportResponse>, Status> {
        let tenant = tenant_of(&caller(&request)?, ADMIN)?;
        let pb::GetReferralReportRequest { program_id } = request.into_inner();
        let program_id = id("program_id", &program_id)?;
        let r = {
            let (tenant, program_id) = (tenant.clone(), program_id.clone());
            blocking(&self.store, move |s| {
                s.referral_report(&tenant, &program_id)
            })
            .await?
        };
        let f = point_format(&self.store, &tenant, &program_id).await?;
        Ok(Response::new(pb::GetReferralReportResponse {
            referrers: r.referrers,
            referred_members: r.referred_members,
            referred_members_who_earned: r.referred_members_who_earned,
            referral_points: points_to_pb(r.referral_points, f),
        }))
    }
}
