//! `loyalty.v1.LedgerService`: checkout quotes, earning, actions, adjustments and redeeming
//! here; holds in `holds.rs`, reversals, history and expiry in `history.rs` (under `ledger/`).
//!
//! Calls that carry a bill learn the program's currency first (`bill_currency`, from memory
//! in the common case) and parse the bill's amounts as money of that currency, so a bill in
//! another currency is refused before the store is asked; then they make one store call.

mod history;
mod holds;

use loyalty_core::{Currency, IdempotencyKey};
use loyalty_store::{
    ActionRequest, AdjustRequest, EarnRequest, QuoteRequest, RedeemRequest, Role, Store,
};
use tonic::{Request, Response, Status};

use super::{Done, point_format, reading, writing, writing_keyed};
use crate::auth::{caller, tenant_of};
use crate::convert::ledger::{
    BillIn, balances_to_pb, earn_to_pb, money_to_pb, money_with_currency_to_pb, points_to_pb,
    quote_to_pb,
};
use crate::convert::text::{MAX_REASON, MAX_SHORT_NAME};
use crate::convert::{decimal, id, idempotency_key, opt_points, points, reference, text};
use crate::error::{ApiError, ApiResult};
use crate::observe::{Movement, count_points};
use crate::pb;

/// Who may check out (quote, earn, redeem, reserve, capture, release, reverse, actions).
pub(crate) const CHECKOUT: &[Role] = &[Role::Service, Role::Admin];
/// Who may adjust, expire and read a tenant's books.
pub(crate) const ADMIN: &[Role] = &[Role::Admin];

/// The ledger service.
#[derive(Debug, Clone)]
pub struct LedgerApi {
    store: Store,
}

impl LedgerApi {
    /// The service over `store`.
    pub fn new(store: Store) -> Self {
        LedgerApi { store }
    }
}

/// The currency a bill for program `program_id` is parsed in: from the store's cache of
/// program rules without a database access when the program was used recently (the common
/// case), otherwise read. The call that takes the bill checks it against the program's rules
/// again inside its own transaction.
pub(crate) async fn bill_currency(
    store: &Store,
    tenant: &str,
    program_id: &str,
) -> ApiResult<Currency> {
    if let Some(currency) = store.cached_program_currency(tenant, program_id) {
        return Ok(currency);
    }
    let (tenant, program_id) = (tenant.to_owned(), program_id.to_owned());
    reading(store, move |s| s.program_currency(&tenant, &program_id)).await
}

/// [`writing`] for work that also converts values, and so fails with an [`ApiError`].
pub(crate) async fn in_writer<T, F>(store: &Store, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> ApiResult<T> + Send + 'static,
{
    writing(store, move |s| Ok(f(s))).await?
}

/// The idempotency key, member id and program id every point-changing call starts with.
fn keyed(
    key: &str,
    member_id: &str,
    program_id: &str,
) -> ApiResult<(IdempotencyKey, String, String)> {
    Ok((
        idempotency_key(key)?,
        id("member_id", member_id)?,
        id("program_id", program_id)?,
    ))
}

#[tonic::async_trait]
impl pb::ledger_service_server::LedgerService for LedgerApi {
    async fn quote(
        &self,
        request: Request<pb::QuoteRequest>,
    ) -> Result<Response<pb::QuoteResponse>, Status> {
        let tenant = tenant_of(&caller(&request)?, CHECKOUT)?;
        let pb::QuoteRequest {
            member_id,
            program_id,
            bill,
            points_to_redeem,
        } = request.into_inner();
        let member_id = id("member_id", &member_id)?;
        let program_id = id("program_id", &program_id)?;
        let requested_points = opt_points("points_to_redeem", &points_to_redeem)?;
        let currency = bill_currency(&self.store, &tenant, &program_id).await?;
        let bill = BillIn::parse(bill.as_ref(), currency, self.store.now())?;
        let program = program_id.clone();
        let request = QuoteRequest {
            member_id,
            program_id,
            reference: bill.reference,
            lines: bill.lines,
            at: bill.at,
            requested_points,
        };
        let view = {
            let tenant = tenant.clone();
            reading(&self.store, move |s| s.quote(&tenant, request)).await?
        };
        let f = point_format(&self.store, &tenant, &program).await?;
        Ok(Response::new(quote_to_pb(&view, f)))
    }

    async fn earn(
        &self,
        request: Request<pb::EarnRequest>,
    ) -> Result<Response<pb::EarnResponse>, Status> {
        let who = caller(&request)?;
        let tenant = tenant_of(&who, CHECKOUT)?;
        let pb::EarnRequest {
            idempotency_key,
            member_id,
            program_id,
            bill,
        } = request.into_inner();
        let (idempotency_key, member_id, program_id) =
            keyed(&idempotency_key, &member_id, &program_id)?;
        let currency = bill_currency(&self.store, &tenant, &program_id).await?;
        let bill = BillIn::parse(bill.as_ref(), currency, self.store.now())?;
        let program = program_id.clone();
        let request = EarnRequest {
            idempotency_key,
            member_id,
            program_id,
            reference: bill.required_reference()?,
            lines: bill.lines,
            at: bill.at,
            actor: who.key_id,
        };
        let (outcome, done) = {
            let tenant = tenant.clone();
            writing_keyed(&self.store, "earn", move |s| s.earn(&tenant, request)).await?
        };
        if done == Done::Now {
            count_points(Movement::Earned, outcome.points.value());
            count_points(Movement::Earned, outcome.referral_points.value());
        }
        let f = point_format(&self.store, &tenant, &program).await?;
        let response = earn_to_pb(&outcome, f);
        Ok(Response::new(response))
    }

    async fn award_action(
        &self,
        request: Request<pb::AwardActionRequest>,
    ) -> Result<Response<pb::AwardActionResponse>, Status> {
        let who = caller(&request)?;
        let tenant = tenant_of(&who, CHECKOUT)?;
        let pb::AwardActionRequest {
            idempotency_key,
            member_id,
            program_id,
            action,
            reference: given,
        } = request.into_inner();
        let (idempotency_key, member_id, program_id) =
            keyed(&idempotency_key, &member_id, &program_id)?;
        let action = text("action", &action, MAX_SHORT_NAME)?;
        if action.is_empty() {
            return Err(ApiError::field(
                "action",
                "is required (the action's name, e.g. \"feedback\")",
            )
            .into());
        }
        let reference = if given.trim().is_empty() {
            None
        } else {
            Some(reference("reference", &given)?)
        };
        let program = program_id.clone();
        let request = ActionRequest {
            idempotency_key,
            member_id,
            program_id,
            action,
            reference,
            actor: who.key_id,
        };
        let (outcome, done) = {
            let tenant = tenant.clone();
            writing_keyed(&self.store, "award_action", move |s| {
                s.award_action(&tenant, request)
            })
            .await?
        };
        if done == Done::Now {
            count_points(Movement::Earned, outcome.points.value());
        }
        let f = point_format(&self.store, &tenant, &program).await?;
        Ok(Response::new(pb::AwardActionResponse {
            points: points_to_pb(outcome.points.value(), f),
            balances: Some(balances_to_pb(&outcome.balances, f)),
            entry_id: outcome.entry_id.unwrap_or_default(),
        }))
    }

    async fn adjust(
        &self,
        request: Request<pb::AdjustRequest>,
    ) -> Result<Response<pb::AdjustResponse>, Status> {
        let who = caller(&request)?;
        let tenant = tenant_of(&who, ADMIN)?;
        let pb::AdjustRequest {
            idempotency_key,
            member_id,
            program_id,
            points: signed,
            reason,
        } = request.into_inner();
        let (idempotency_key, member_id, program_id) =
            keyed(&idempotency_key, &member_id, &program_id)?;
        let change = decimal("points", &signed)?;
        // Its size must be a valid quantity of points (not too large, not too precise).
        points("points", &change.abs().to_string())?;
        let program = program_id.clone();
        let request = AdjustRequest {
            idempotency_key,
            member_id,
            program_id,
            points: change,
            reason: text("reason", &reason, MAX_REASON)?,
            actor: who.key_id,
        };
        let (outcome, _) = {
            let tenant = tenant.clone();
            writing_keyed(&self.store, "adjust", move |s| s.adjust(&tenant, request)).await?
        };
        let f = point_format(&self.store, &tenant, &program).await?;
        Ok(Response::new(pb::AdjustResponse {
            balances: Some(balances_to_pb(&outcome.balances, f)),
            entry_id: outcome.entry_id,
        }))
    }

    async fn redeem(
        &self,
        request: Request<pb::RedeemRequest>,
    ) -> Result<Response<pb::RedeemResponse>, Status> {
        let who = caller(&request)?;
        let tenant = tenant_of(&who, CHECKOUT)?;
        let pb::RedeemRequest {
            idempotency_key,
            member_id,
            program_id,
            bill,
            points: wanted,
        } = request.into_inner();
        let (idempotency_key, member_id, program_id) =
            keyed(&idempotency_key, &member_id, &program_id)?;
        let points = points("points", &wanted)?;
        let currency = bill_currency(&self.store, &tenant, &program_id).await?;
        let bill = BillIn::parse(bill.as_ref(), currency, self.store.now())?;
        let program = program_id.clone();
        let request = RedeemRequest {
            idempotency_key,
            member_id,
            program_id,
            reference: bill.required_reference()?,
            lines: bill.lines,
            at: bill.at,
            points,
            actor: who.key_id,
        };
        let (outcome, done) = {
            let tenant = tenant.clone();
            writing_keyed(&self.store, "redeem", move |s| s.redeem(&tenant, request)).await?
        };
        if done == Done::Now {
            count_points(Movement::Redeemed, outcome.points.value());
        }
        let f = point_format(&self.store, &tenant, &program).await?;
        Ok(Response::new(pb::RedeemResponse {
            points: points_to_pb(outcome.points.value(), f),
            value: Some(money_with_currency_to_pb(&outcome.value)),
            to_pay: money_to_pb(&outcome.to_pay),
            balances: Some(balances_to_pb(&outcome.balances, f)),
            entry_id: outcome.entry_id,
        }))
    }

    async fn reserve(
        &self,
        request: Request<pb::ReserveRequest>,
    ) -> Result<Response<pb::ReserveResponse>, Status> {
        holds::reserve(&self.store, request).await
    }

    async fn capture(
        &self,
        request: Request<pb::CaptureRequest>,
    ) -> Result<Response<pb::CaptureResponse>, Status> {
        holds::capture(&self.store, request).await
    }

    async fn release(
        &self,
        request: Request<pb::ReleaseRequest>,
    ) -> Result<Response<pb::ReleaseResponse>, Status> {
        holds::release(&self.store, request).await
    }

    async fn reverse(
        &self,
        request: Request<pb::ReverseRequest>,
    ) -> Result<Response<pb::ReverseResponse>, Status> {
        history::reverse(&self.store, request).await
    }

    async fn list_transactions(
        &self,
        request: Request<pb::ListTransactionsRequest>,
    ) -> Result<Response<pb::ListTransactionsResponse>, Status> {
        history::list_transactions(&self.store, request).await
    }

    async fn get_statement(
        &self,
        request: Request<pb::GetStatementRequest>,
    ) -> Result<Response<pb::GetStatementResponse>, Status> {
        history::get_statement(&self.store, request).await
    }

    async fn get_bill(
        &self,
        request: Request<pb::GetBillRequest>,
    ) -> Result<Response<pb::GetBillResponse>, Status> {
        history::get_bill(&self.store, request).await
    }

    async fn expire_points(
        &self,
        request: Request<pb::ExpirePointsRequest>,
    ) -> Result<Response<pb::ExpirePointsResponse>, Status> {
        history::expire_points(&self.store, request).await
    }
}
