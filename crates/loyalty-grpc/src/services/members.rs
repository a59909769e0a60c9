//! `loyalty.v1.MemberService`: members and cards, referrers, memberships and balances.
//! Admin and service roles; a member credential may read only itself (`GetMember`,
//! `GetBalances`, `ListCashbackRecords`).

use loyalty_store::{Membership, NewMember, Role, Store};
use tonic::{Request, Response, Status};

use super::{blocking, point_format, point_formats, reading, writing};
use crate::auth::{caller, tenant_for_member, tenant_of};
use crate::convert::PointFormat;
use crate::convert::ledger::points_to_pb;
use crate::convert::text::{MAX_CUSTOMER_ID, MAX_EMAIL, MAX_NAME, MAX_PHONE};
use crate::convert::{
    card_number, id, idempotency_key, member_to_pb, member_update_from_pb, membership_to_pb,
    opt_id, opt_text, opt_time, page_size, required_text, short_list, text, wallet_to_pb,
};
use crate::error::{ApiError, ApiResult};
use crate::pb;

/// Enrol, update, deactivate, link, join; lookups and lists of members.
const STAFF: &[Role] = &[Role::Admin, Role::Service];
/// Reads of one member, which that member may also make.
const SELF_READ: &[Role] = &[Role::Admin, Role::Service, Role::Member];
/// How many cashback records `ListCashbackRecords` returns when the request says 0, and at most.
const CASHBACK_RECORDS: (u32, u32) = (100, 500);

/// The member service.
#[derive(Debug, Clone)]
pub struct MemberApi {
    store: Store,
}

impl MemberApi {
    /// The service over `store`.
    pub fn new(store: Store) -> Self {
        MemberApi { store }
    }
}

/// The tenant and the member id of a call about one member: the role is checked before the id
/// is parsed, so a caller of the wrong role learns nothing about its input.
fn member_scope(
    who: &loyalty_store::Principal,
    member_id: &str,
    roles: &[Role],
) -> ApiResult<(String, String)> {
    tenant_of(who, roles)?;
    let member_id = id("member_id", member_id)?;
    let tenant = tenant_for_member(who, &member_id, roles)?;
    Ok((tenant, member_id))
}

/// Program ids to join at enrolment: valid, and each named once.
fn program_ids(values: &[String]) -> ApiResult<Vec<String>> {
    short_list("program_ids", values)?;
    let mut ids: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        let program_id = id("program_ids", value)?;
        if ids.contains(&program_id) {
            return Err(ApiError::field(
                "program_ids",
                format!("program {program_id} is named twice"),
            ));
        }
        ids.push(program_id);
    }
    Ok(ids)
}

#[tonic::async_trait]
impl pb::member_service_server::MemberService for MemberApi {
    /// Enrolls the member and joins the requested programs in one transaction: a bad program
    /// id enrolls nobody.
    async fn enroll_member(
        &self,
        request: Request<pb::EnrollMemberRequest>,
    ) -> Result<Response<pb::EnrollMemberResponse>, Status> {
        let who = caller(&request)?;
        let tenant = tenant_of(&who, STAFF)?;
        let pb::EnrollMemberRequest {
            customer_id,
            card_number: card,
            name,
            phone,
            email,
            referrer_id,
            program_ids: programs,
            idempotency_key: key,
        } = request.into_inner();
        let key = idempotency_key(&key)?;
        let new = NewMember {
            customer_id: text("customer_id", &customer_id, MAX_CUSTOMER_ID)?,
            card_number: card_number("card_number", &card)?,
            name: text("name", &name, MAX_NAME)?,
            phone: opt_text("phone", &phone, MAX_PHONE)?,
            email: opt_text("email", &email, MAX_EMAIL)?,
            referrer_id: opt_id("referrer_id", &referrer_id)?,
        };
        let programs = program_ids(&programs)?;
        let (member, memberships) = {
            let tenant = tenant.clone();
            writing(&self.store, move |s| {
                s.enroll_member(&tenant, Some(&key), new, &programs)
            })
            .await?
        };
        Ok(Response::new(pb::EnrollMemberResponse {
            member: Some(member_to_pb(member)),
            memberships: memberships_to_pb(&self.store, &tenant, memberships).await?,
        }))
    }

    async fn get_member(
        &self,
        request: Request<pb::GetMemberRequest>,
    ) -> Result<Response<pb::GetMemberResponse>, Status> {
        let who = caller(&request)?;
        let pb::GetMemberRequest { member_id } = request.into_inner();
        let (tenant, member_id) = member_scope(&who, &member_id, SELF_READ)?;
        let (member, referral) = reading(&self.store, move |s| {
            s.get_member_with_referrals(&tenant, &member_id)
        })
        .await?;
        Ok(Response::new(pb::GetMemberResponse {
            member: Some(member_to_pb(member)),
            // A sum over all the member's programs, so in no one program's format: unpadded.
            referral_earned: points_to_pb(referral, PointFormat::default()),
        }))
    }

    async fn lookup_member(
        &self,
        request: Request<pb::LookupMemberRequest>,
    ) -> Result<Response<pb::LookupMemberResponse>, Status> {
        use pb::lookup_member_request::Key;
        let who = caller(&request)?;
        let tenant = tenant_of(&who, STAFF)?;
        let pb::LookupMemberRequest { key } = request.into_inner();
        let member = match key {
            Some(Key::CardNumber(card)) => {
                let card = card_number("card_number", &card)?;
                reading(&self.store, move |s| s.find_member_by_card(&tenant, &card)).await?
            }
            Some(Key::CustomerId(customer)) => {
                let customer = required_text("customer_id", &customer, MAX_CUSTOMER_ID)?;
                reading(&self.store, move |s| {
                    s.find_member_by_customer(&tenant, &customer)
                })
                .await?
            }
            None => {
                return Err(ApiError::field("key", "set card_number or customer_id").into());
            }
        };
        Ok(Response::new(pb::LookupMemberResponse {
            member: Some(member_to_pb(member)),
        }))
    }

    async fn update_member(
        &self,
        request: Request<pb::UpdateMemberRequest>,
    ) -> Result<Response<pb::UpdateMemberResponse>, Status> {
        let who = caller(&request)?;
        let pb::UpdateMemberRequest {
            member_id,
            name,
            phone,
            email,
            card_number,
            idempotency_key: key,
        } = request.into_inner();
        let (tenant, member_id) = member_scope(&who, &member_id, STAFF)?;
        let key = idempotency_key(&key)?;
        let update = member_update_from_pb(&name, &phone, &email, &card_number)?;
        let member = writing(&self.store, move |s| {
            s.update_member(&tenant, Some(&key), &member_id, update)
        })
        .await?;
        Ok(Response::new(pb::UpdateMemberResponse {
            member: Some(member_to_pb(member)),
        }))
    }

    async fn deactivate_member(
        &self,
        request: Request<pb::DeactivateMemberRequest>,
    ) -> Result<Response<pb::DeactivateMemberResponse>, Status> {
        let who = caller(&request)?;
        let pb::DeactivateMemberRequest {
            member_id,
            idempotency_key: key,
        } = request.into_inner();
        let (tenant, member_id) = member_scope(&who, &member_id, STAFF)?;
        let key = idempotency_key(&key)?;
        let member = writing(&self.store, move |s| {
            s.deactivate_member(&tenant, Some(&key), &member_id)
        })
        .await?;
        Ok(Response::new(pb::DeactivateMemberResponse {
            member: Some(member_to_pb(member)),
        }))
    }

    async fn link_referrer(
        &self,
        request: Request<pb::LinkReferrerRequest>,
    ) -> Result<Response<pb::LinkReferrerResponse>, Status> {
        let who = caller(&request)?;
        let pb::LinkReferrerRequest {
            member_id,
            referrer_id,
            idempotency_key: key,
        } = request.into_inner();
        let (tenant, member_id) = member_scope(&who, &member_id, STAFF)?;
        let key = idempotency_key(&key)?;
        let referrer_id = id("referrer_id", &referrer_id)?;
        let member = writing(&self.store, move |s| {
            s.link_referrer(&tenant, Some(&key), &member_id, &referrer_id)
        })
        .await?;
        Ok(Response::new(pb::LinkReferrerResponse {
            member: Some(member_to_pb(member)),
        }))
    }

    async fn list_referrals(
        &self,
        request: Request<pb::ListReferralsRequest>,
    ) -> Result<Response<pb::ListReferralsResponse>, Status> {
        let who = caller(&request)?;
        let pb::ListReferralsRequest { member_id } = request.into_inner();
        let (tenant, member_id) = member_scope(&who, &member_id, STAFF)?;
        let members = blocking(&self.store, move |s| s.list_referrals(&tenant, &member_id)).await?;
        Ok(Response::new(pb::ListReferralsResponse {
            members: members.into_iter().map(member_to_pb).collect(),
        }))
    }

    async fn list_members(
        &self,
        request: Request<pb::ListMembersRequest>,
    ) -> Result<Response<pb::ListMembersResponse>, Status> {
        let who = caller(&request)?;
        let tenant = tenant_of(&who, STAFF)?;
        let pb::ListMembersRequest {
            page_size: size,
            page_token,
        } = request.into_inner();
        // The cursor is the last member id of the previous page (ids are time-ordered).
        let cursor = opt_id("page_token", &page_token)?;
        let page = blocking(&self.store, move |s| {
            s.list_members(&tenant, cursor.as_deref(), page_size(size))
        })
        .await?;
        Ok(Response::new(pb::ListMembersResponse {
            members: page.items.into_iter().map(member_to_pb).collect(),
            next_page_token: page.next_cursor.unwrap_or_default(),
        }))
    }

    async fn join_program(
        &self,
        request: Request<pb::JoinProgramRequest>,
    ) -> Result<Response<pb::JoinProgramResponse>, Status> {
        let who = caller(&request)?;
        let pb::JoinProgramRequest {
            member_id,
            program_id,
            idempotency_key: key,
        } = request.into_inner();
        let (tenant, member_id) = member_scope(&who, &member_id, STAFF)?;
        let key = idempotency_key(&key)?;
        let program_id = id("program_id", &program_id)?;
        let membership = {
            let tenant = tenant.clone();
            writing(&self.store, move |s| {
                s.join_program(&tenant, Some(&key), &member_id, &program_id)
            })
            .await?
        };
        let f = point_format(&self.store, &tenant, &membership.program_id).await?;
        Ok(Response::new(pb::JoinProgramResponse {
            membership: Some(membership_to_pb(membership, f)),
        }))
    }

    async fn get_balances(
        &self,
        request: Request<pb::GetBalancesRequest>,
    ) -> Result<Response<pb::GetBalancesResponse>, Status> {
        let who = caller(&request)?;
        let pb::GetBalancesRequest {
            member_id,
            program_id,
            as_of,
        } = request.into_inner();
        let (tenant, member_id) = member_scope(&who, &member_id, SELF_READ)?;
        let program_id = opt_id("program_id", &program_id)?;
        let as_of = opt_time("as_of", &as_of)?;
        let memberships = {
            let tenant = tenant.clone();
            reading(&self.store, move |s| match (as_of, program_id) {
                (Some(at), program_id) => {
                    s.memberships_as_of(&tenant, &member_id, program_id.as_deref(), at)
                }
                (None, Some(program_id)) => s
                    .get_membership(&tenant, &member_id, &program_id)
                    .map(|m| vec![m]),
                (None, None) => s.list_memberships(&tenant, &member_id),
            })
            .await?
        };
        Ok(Response::new(pb::GetBalancesResponse {
            memberships: memberships_to_pb(&self.store, &tenant, memberships).await?,
        }))
    }

    async fn list_cashback_records(
        &self,
        request: Request<pb::ListCashbackRecordsRequest>,
    ) -> Result<Response<pb::ListCashbackRecordsResponse>, Status> {
        let who = caller(&request)?;
        let pb::ListCashbackRecordsRequest {
            member_id,
            program_id,
            limit,
        } = request.into_inner();
        let (tenant, member_id) = member_scope(&who, &member_id, SELF_READ)?;
        let program_id = id("program_id", &program_id)?;
        let (default, most) = CASHBACK_RECORDS;
        if limit > most {
            return Err(ApiError::field("limit", format!("at most {most} records")).into());
        }
        let limit = if limit == 0 { default } else { limit };
        let wallet = reading(&self.store, move |s| {
            s.cashback_wallet(&tenant, &member_id, &program_id, limit)
        })
        .await?;
        Ok(Response::new(wallet_to_pb(&wallet)))
    }
}

/// Memberships on the wire, each in its own program's point format.
async fn memberships_to_pb(
    store: &Store,
    tenant: &str,
    memberships: Vec<Membership>,
) -> ApiResult<Vec<pb::Membership>> {
    let formats = point_formats(
        store,
        tenant,
        memberships.iter().map(|m| m.program_id.as_str()),
    )
    .await?;
    Ok(memberships
        .into_iter()
        .map(|m| {
            let f = formats.of(&m.program_id);
            membership_to_pb(m, f)
        })
        .collect())
}
