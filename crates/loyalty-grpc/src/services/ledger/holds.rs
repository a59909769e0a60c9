//! Holds ("miles plus cash"): reserve points at checkout, then capture them when the payment
//! succeeds or release them when it fails.
//!
//! The store's hold view carries the membership's balances right after the call, so a replayed
//! call (same idempotency key) answers with the original hold and the balances as they were
//! then, never as they are now.

use loyalty_store::{CaptureRequest, ReleaseRequest, ReserveRequest, Store};
use tonic::{Request, Response, Status};

use super::{CHECKOUT, bill_currency, keyed};
use crate::auth::{caller, tenant_of};
use crate::convert::ledger::{BillIn, balances_to_pb, hold_to_pay, hold_to_pb};
use crate::convert::{id, idempotency_key, opt_points, points};
use crate::observe::{Movement, count_points};
use crate::pb;
use crate::services::{Done, point_format, writing_keyed};

/// A hold's time-to-live when the request leaves it at 0: fifteen minutes.
const DEFAULT_TTL_SECONDS: u32 = 900;

pub(super) async fn reserve(
    store: &Store,
    request: Request<pb::ReserveRequest>,
) -> Result<Response<pb::ReserveResponse>, Status> {
    let who = caller(&request)?;
    let tenant = tenant_of(&who, CHECKOUT)?;
    let pb::ReserveRequest {
        idempotency_key,
        member_id,
        program_id,
        bill,
        points: wanted,
        ttl_seconds,
    } = request.into_inner();
    let (idempotency_key, member_id, program_id) =
        keyed(&idempotency_key, &member_id, &program_id)?;
    let points = points("points", &wanted)?;
    let ttl_seconds = if ttl_seconds == 0 {
        DEFAULT_TTL_SECONDS
    } else {
        ttl_seconds
    };
    let currency = bill_currency(store, &tenant, &program_id).await?;
    let bill = BillIn::parse(bill.as_ref(), currency, store.now())?;
    let request = ReserveRequest {
        idempotency_key,
        member_id,
        program_id,
        reference: bill.required_reference()?,
        lines: bill.lines,
        at: bill.at,
        points,
        ttl_seconds,
        actor: who.key_id,
    };
    let (hold, _) = {
        let tenant = tenant.clone();
        writing_keyed(store, "reserve", move |s| s.reserve(&tenant, request)).await?
    };
    let f = point_format(store, &tenant, &hold.program_id).await?;
    Ok(Response::new(pb::ReserveResponse {
        to_pay: hold_to_pay(&hold),
        hold: Some(hold_to_pb(&hold, f)),
        balances: Some(balances_to_pb(&hold.balances, f)),
    }))
}

pub(super) async fn capture(
    store: &Store,
    request: Request<pb::CaptureRequest>,
) -> Result<Response<pb::CaptureResponse>, Status> {
    let who = caller(&request)?;
    let tenant = tenant_of(&who, CHECKOUT)?;
    let pb::CaptureRequest {
        idempotency_key: key,
        hold_id,
        points: wanted,
    } = request.into_inner();
    let request = CaptureRequest {
        idempotency_key: idempotency_key(&key)?,
        hold_id: id("hold_id", &hold_id)?,
        points: opt_points("points", &wanted)?,
        actor: who.key_id,
    };
    let (hold, done) = {
        let tenant = tenant.clone();
        writing_keyed(store, "capture", move |s| s.capture(&tenant, request)).await?
    };
    let f = point_format(store, &tenant, &hold.program_id).await?;
    if done == Done::Now {
        count_points(Movement::Redeemed, hold.captured.value());
    }
    Ok(Response::new(pb::CaptureResponse {
        hold: Some(hold_to_pb(&hold, f)),
        balances: Some(balances_to_pb(&hold.balances, f)),
    }))
}

pub(super) async fn release(
    store: &Store,
    request: Request<pb::ReleaseRequest>,
) -> Result<Response<pb::ReleaseResponse>, Status> {
    let who = caller(&request)?;
    let tenant = tenant_of(&who, CHECKOUT)?;
    let pb::ReleaseRequest {
        idempotency_key: key,
        hold_id,
    } = request.into_inner();
    let request = ReleaseRequest {
        idempotency_key: idempotency_key(&key)?,
        hold_id: id("hold_id", &hold_id)?,
        actor: who.key_id,
    };
    let (hold, _) = {
        let tenant = tenant.clone();
        writing_keyed(store, "release", move |s| s.release(&tenant, request)).await?
    };
    let f = point_format(store, &tenant, &hold.program_id).await?;
    Ok(Response::new(pb::ReleaseResponse {
        hold: Some(hold_to_pb(&hold, f)),
        balances: Some(balances_to_pb(&hold.balances, f)),
    }))
}
