//! Reversals of cancelled or returned bills, transaction history, member statements, bill
//! summaries, and expiry on demand.

use chrono::{DateTime, Utc};
use loyalty_store::{HistoryFilter, ReverseRequest, Role, Store};
use tonic::{Request, Response, Status};

use super::{ADMIN, CHECKOUT, in_writer, keyed};
use crate::auth::{caller, tenant_for_member, tenant_of};
use crate::convert::PointFormat;
use crate::convert::ledger::{
    balances_to_pb, bill_to_pb, entry_to_pb, points_to_pb, reverse_to_pb,
};
use crate::convert::text::{MAX_PAGE_TOKEN, MAX_REASON};
use crate::convert::{
    id, idempotency_key, kind_from_pb, opt_decimal, opt_id, opt_text, opt_time, page_size,
    reference, short_list,
};
use crate::error::ApiResult;
use crate::observe::{Movement, count_points};
use crate::pb;
use crate::services::{Done, point_format, point_formats, reading, writing_keyed};

/// Who may read one member's history: the tenant's admins and services, and the member.
const HISTORY_READERS: &[Role] = &[Role::Admin, Role::Service, Role::Member];

/// Memberships settled per store call of [`expire_points`]; it calls again while a call fills
/// its batch, at most [`EXPIRY_ROUNDS`] times (the periodic sweep finishes the rest).
const EXPIRY_BATCH: u32 = 1000;
const EXPIRY_ROUNDS: u32 = 100;

pub(super) async fn reverse(
    store: &Store,
    request: Request<pb::ReverseRequest>,
) -> Result<Response<pb::ReverseResponse>, Status> {
    let who = caller(&request)?;
    let tenant = tenant_of(&who, CHECKOUT)?;
    let pb::ReverseRequest {
        idempotency_key,
        member_id,
        program_id,
        reference: given,
        amount,
        reason,
    } = request.into_inner();
    let (idempotency_key, member_id, program_id) =
        keyed(&idempotency_key, &member_id, &program_id)?;
    let program = program_id.clone();
    let request = ReverseRequest {
        idempotency_key,
        member_id,
        program_id,
        reference: reference("reference", &given)?,
        amount: opt_decimal("amount", &amount)?,
        reason: opt_text("reason", &reason, MAX_REASON)?,
        actor: who.key_id,
    };
    let (outcome, done) = {
        let tenant = tenant.clone();
        writing_keyed(store, "reverse", move |s| s.reverse(&tenant, request)).await?
    };
    if done == Done::Now {
        let taken = |t: &loyalty_store::TakenBack| t.from_lots.value() + t.to_debt.value();
        count_points(Movement::Reversed, taken(&outcome.earned));
        if let Some(referral) = &outcome.referral {
            count_points(Movement::Reversed, taken(referral));
        }
        count_points(Movement::Returned, outcome.redeemed_returned.value());
    }
    let f = point_format(store, &tenant, &program).await?;
    Ok(Response::new(reverse_to_pb(&outcome, f)))
}

pub(super) async fn list_transactions(
    store: &Store,
    request: Request<pb::ListTransactionsRequest>,
) -> Result<Response<pb::ListTransactionsResponse>, Status> {
    let who = caller(&request)?;
    let pb::ListTransactionsRequest {
        member_id,
        program_id,
        kinds,
        from,
        to,
        reference: given,
        page_size: size,
        page_token,
    } = request.into_inner();
    let member_id = opt_id("member_id", &member_id)?;
    // The whole tenant's history is for its admins and services; a member key must name itself.
    let tenant = match &member_id {
        Some(member) => tenant_for_member(&who, member, HISTORY_READERS)?,
        None => tenant_of(&who, CHECKOUT)?,
    };
    short_list("kinds", &kinds)?;
    let filter = HistoryFilter {
        member_id,
        program_id: opt_id("program_id", &program_id)?,
        kinds: kinds
            .into_iter()
            .map(kind_from_pb)
            .collect::<ApiResult<_>>()?,
        from: opt_time("from", &from)?,
        to: opt_time("to", &to)?,
        reference: if given.trim().is_empty() {
            None
        } else {
            Some(reference("reference", &given)?)
        },
    };
    let cursor = opt_text("page_token", &page_token, MAX_PAGE_TOKEN)?;
    let limit = page_size(size);
    let page = {
        let tenant = tenant.clone();
        reading(store, move |s| {
            s.history(&tenant, filter, cursor.as_deref(), limit)
        })
        .await?
    };
    // A tenant's history mixes programs: each entry in its own program's format.
    let formats = point_formats(
        store,
        &tenant,
        page.items.iter().map(|e| e.program_id.as_str()),
    )
    .await?;
    Ok(Response::new(pb::ListTransactionsResponse {
        entries: page
            .items
            .into_iter()
            .map(|e| {
                let f = formats.of(&e.program_id);
                entry_to_pb(e, f)
            })
            .collect(),
        next_page_token: page.next_cursor.unwrap_or_default(),
    }))
}

pub(super) async fn get_statement(
    store: &Store,
    request: Request<pb::GetStatementRequest>,
) -> Result<Response<pb::GetStatementResponse>, Status> {
    let who = caller(&request)?;
    let pb::GetStatementRequest {
        member_id,
        program_id,
        from,
        to,
        page_size: size,
        page_token,
    } = request.into_inner();
    let member_id = id("member_id", &member_id)?;
    let tenant = tenant_for_member(&who, &member_id, HISTORY_READERS)?;
    let program_id = id("program_id", &program_id)?;
    let from = opt_time("from", &from)?.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let to = opt_time("to", &to)?;
    let cursor = opt_text("page_token", &page_token, MAX_PAGE_TOKEN)?;
    let limit = page_size(size);
    let program = program_id.clone();
    let statement = {
        let tenant = tenant.clone();
        reading(store, move |s| {
            s.statement(
                &tenant,
                &member_id,
                &program_id,
                from,
                to,
                cursor.as_deref(),
                limit,
            )
        })
        .await?
    };
    let f = point_format(store, &tenant, &program).await?;
    Ok(Response::new(pb::GetStatementResponse {
        opening: Some(balances_to_pb(&statement.opening.balances, f)),
        entries: statement
            .entries
            .items
            .into_iter()
            .map(|e| entry_to_pb(e, f))
            .collect(),
        closing: Some(balances_to_pb(&statement.closing.balances, f)),
        next_page_token: statement.entries.next_cursor.unwrap_or_default(),
    }))
}

pub(super) async fn get_bill(
    store: &Store,
    request: Request<pb::GetBillRequest>,
) -> Result<Response<pb::GetBillResponse>, Status> {
    // The billing service reads what a bill earned and redeemed, as the dashboards do.
    let tenant = tenant_of(&caller(&request)?, CHECKOUT)?;
    let pb::GetBillRequest { reference: given } = request.into_inner();
    let reference = reference("reference", &given)?;
    let bills = {
        let tenant = tenant.clone();
        reading(store, move |s| s.bill_summary(&tenant, &reference)).await?
    };
    // One reference may name bills of several programs: each in its own program's format.
    let formats =
        point_formats(store, &tenant, bills.iter().map(|b| b.program_id.as_str())).await?;
    Ok(Response::new(pb::GetBillResponse {
        bills: bills
            .into_iter()
            .map(|b| {
                let f = formats.of(&b.program_id);
                bill_to_pb(b, f)
            })
            .collect(),
    }))
}

/// Expiry is naturally idempotent: a retry finds nothing due that the first call expired, so
/// the key is required and validated but not recorded.
pub(super) async fn expire_points(
    store: &Store,
    request: Request<pb::ExpirePointsRequest>,
) -> Result<Response<pb::ExpirePointsResponse>, Status> {
    let tenant = tenant_of(&caller(&request)?, ADMIN)?;
    let pb::ExpirePointsRequest {
        idempotency_key: key,
    } = request.into_inner();
    idempotency_key(&key)?;
    let (memberships, points, holds) = in_writer(store, move |s| {
        let (mut memberships, mut points, mut holds) = (0u64, rust_decimal::Decimal::ZERO, 0u64);
        for _ in 0..EXPIRY_ROUNDS {
            // Settling a membership also releases its holds whose time-to-live passed.
            let report = s.expire_due(Some(&tenant), EXPIRY_BATCH)?;
            memberships += u64::from(report.memberships);
            points += report.points_expired;
            holds += u64::from(report.holds_released);
            if report.memberships < EXPIRY_BATCH {
                break;
            }
        }
        Ok((memberships, points, holds))
    })
    .await?;
    count_points(Movement::Expired, points);
    Ok(Response::new(pb::ExpirePointsResponse {
        memberships,
        // A sum over all the tenant's programs, so in no one program's format: unpadded.
        points_expired: points_to_pb(points, PointFormat::default()),
        holds_released: holds,
    }))
}
