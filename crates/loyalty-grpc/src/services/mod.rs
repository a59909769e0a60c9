//! One struct per proto service, one file each. Every handler has the same shape:
//! authorize -> convert the request -> one store call (writes to the writer, short reads
//! inline, long reads on a blocking thread) -> convert the response.

use std::collections::{BTreeSet, HashMap};

use loyalty_store::{Store, StoreResult};

use crate::convert::{PointFormat, PointFormats};
use crate::error::{ApiError, ApiResult};
use crate::pb;

/// The fully-qualified names of the loyalty services (for health checking).
pub const SERVICE_NAMES: &[&str] = &[
    "loyalty.v1.OperatorService",
    "loyalty.v1.ProgramService",
    "loyalty.v1.MemberService",
    "loyalty.v1.LedgerService",
    "loyalty.v1.RewardService",
    "loyalty.v1.ReportService",
    "loyalty.v1.ChangeStreamService",
    "loyalty.v1.ImportService",
];

/// All loyalty services over one store.
#[derive(Debug, Clone)]
pub struct Services {
    store: Store,
    draining: tokio::sync::watch::Receiver<bool>,
}

impl Services {
    /// The services over `store`; long-lived calls (change streams) end when `draining`
    /// turns true, so a graceful shutdown does not wait for them.
    pub fn new(store: Store, draining: tokio::sync::watch::Receiver<bool>) -> Services {
        Services { store, draining }
    }

    /// The services as tonic routes.
    pub fn into_routes(self) -> tonic::service::Routes {
        let store = self.store;
        tonic::service::Routes::new(pb::operator_service_server::OperatorServiceServer::new(
            operator::OperatorApi::new(store.clone()),
        ))
        .add_service(pb::program_service_server::ProgramServiceServer::new(
            programs::ProgramApi::new(store.clone()),
        ))
        .add_service(pb::member_service_server::MemberServiceServer::new(
            members::MemberApi::new(store.clone()),
        ))
        .add_service(pb::ledger_service_server::LedgerServiceServer::new(
            ledger::LedgerApi::new(store.clone()),
        ))
        .add_service(pb::reward_service_server::RewardServiceServer::new(
            rewards::RewardApi::new(store.clone()),
        ))
        .add_service(pb::report_service_server::ReportServiceServer::new(
            reports::ReportApi::new(store.clone()),
        ))
        .add_service(pb::import_service_server::ImportServiceServer::new(
            import::ImportApi::new(store.clone()),
        ))
        .add_service(
            pb::change_stream_service_server::ChangeStreamServiceServer::new(
                changes::ChangeStreamApi::new(store, self.draining),
            ),
        )
    }
}

/// Runs a store call that writes: on SQLite it is queued to the group-commit writer and
/// answered after its batch commits; on PostgreSQL it runs on a blocking thread.
pub(crate) async fn writing<T, F>(store: &Store, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> StoreResult<T> + Send + 'static,
{
    store.submit(f).await.map_err(ApiError::from)
}

/// Whether a keyed write did its work now or answered from its idempotency key's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Done {
    /// This call did the work: count what it moved.
    Now,
    /// An earlier call with the same key did it; this one replayed its answer (counted as a
    /// replay, and what it moved was counted the first time).
    Before,
}

/// [`writing`] for a store call with an idempotency key: also tells whether it was replayed
/// from the key's record, and counts replays (answers and refusals alike) by `operation`.
pub(crate) async fn writing_keyed<T, F>(
    store: &Store,
    operation: &'static str,
    f: F,
) -> ApiResult<(T, Done)>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> StoreResult<T> + Send + 'static,
{
    let outcome = writing(store, move |s| {
        let (result, replayed) = loyalty_store::idempotency::detect_replay(|| f(s));
        result.map(|value| (value, replayed))
    })
    .await;
    match outcome {
        Ok((value, false)) => Ok((value, Done::Now)),
        Ok((value, true)) => {
            crate::observe::count_replay(operation);
            Ok((value, Done::Before))
        }
        // A refusal read back from the key's record.
        Err(err @ ApiError::Store(loyalty_store::StoreError::Refused(_))) => {
            crate::observe::count_replay(operation);
            Err(err)
        }
        Err(err) => Err(err),
    }
}

/// How program `program_id` shows its points: from the store's cache of program rules without
/// a database access in the common case (the call just made loaded the program), otherwise
/// read. Only the text of the answer depends on it, never a value.
pub(crate) async fn point_format(
    store: &Store,
    tenant: &str,
    program_id: &str,
) -> ApiResult<PointFormat> {
    if let Some(decimals) = store.cached_program_point_decimals(tenant, program_id) {
        return Ok(PointFormat::new(decimals));
    }
    let (tenant, program_id) = (tenant.to_owned(), program_id.to_owned());
    reading(store, move |s| {
        s.program_point_decimals(&tenant, &program_id)
    })
    .await
    .map(PointFormat::new)
}

/// The point formats of the programs `program_ids` (repeats allowed), for an answer that mixes
/// programs.
pub(crate) async fn point_formats<'a>(
    store: &Store,
    tenant: &str,
    program_ids: impl IntoIterator<Item = &'a str>,
) -> ApiResult<PointFormats> {
    let ids: BTreeSet<String> = program_ids.into_iter().map(str::to_owned).collect();
    let mut by_program = HashMap::with_capacity(ids.len());
    for id in ids {
        let format = point_format(store, tenant, &id).await?;
        by_program.insert(id, format);
    }
    Ok(PointFormats::new(by_program))
}

/// Runs a short read (a row or a page by index): inline on SQLite, on a blocking thread on
/// PostgreSQL.
pub(crate) async fn reading<T, F>(store: &Store, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> StoreResult<T> + Send + 'static,
{
    store.query(f).await.map_err(ApiError::from)
}

/// Runs a long read (reports, listings that aggregate) on a blocking thread, off the async
/// executor.
pub(crate) async fn blocking<T, F>(store: &Store, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> StoreResult<T> + Send + 'static,
{
    store.blocking(f).await.map_err(ApiError::from)
}

pub mod changes;
pub mod import;
pub mod ledger;
pub mod members;
pub mod operator;
pub mod programs;
pub mod reports;
pub mod rewards;
