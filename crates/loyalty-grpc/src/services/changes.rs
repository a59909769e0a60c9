//! `loyalty.v1.ChangeStreamService`: the ledger change stream (admin and service roles).
//!
//! One call is one task that reads the tenant's changes after the caller's sequence from the
//! store (sealing committed ones on PostgreSQL, see `loyalty_store::ops::changes`) and sends
//! them in messages of up to 1000 (the first one at once, even when empty, so the caller
//! learns the stream's head); when it is caught up it looks again every
//! [`POLL_INTERVAL`]. It stops when the caller hangs up, and ends the stream with UNAVAILABLE
//! when the server begins to shut down or the database fails, so a consumer reconnects (to
//! any replica) and resumes after the last sequence it received.

use std::pin::Pin;
use std::time::Duration;

use loyalty_store::{Change, ChangeBatch, ChangeView, Store};
use tokio::sync::{mpsc, watch};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::ledger::CHECKOUT;
use super::{blocking, point_formats};
use crate::auth::{caller, tenant_of};
use crate::convert::ledger::{entry_to_pb, hold_status, points_to_pb, redemption_status};
use crate::convert::{PointFormats, time_to_pb};
use crate::pb;

/// How long a caught-up stream waits before it looks for new changes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// How many changes one message carries at most.
const BATCH: u32 = 1000;

/// The change stream service.
#[derive(Debug, Clone)]
pub struct ChangeStreamApi {
    store: Store,
    draining: watch::Receiver<bool>,
}

impl ChangeStreamApi {
    /// The service over `store`; its streams end when `draining` turns true (the server is
    /// shutting down and waits for calls in flight).
    pub fn new(store: Store, draining: watch::Receiver<bool>) -> Self {
        ChangeStreamApi { store, draining }
    }
}

/// The program a change belongs to.
fn program_of(c: &ChangeView) -> &str {
    match &c.change {
        Change::Entry(e) => &e.program_id,
        Change::Hold(h) => &h.program_id,
        Change::Tier(t) => &t.program_id,
        Change::Redemption(r) => &r.program_id,
    }
}

/// A change on the wire, its points in its program's format (from `formats`).
pub fn change_to_pb(c: ChangeView, formats: &PointFormats) -> pb::Change {
    let f = formats.of(program_of(&c));
    let change = match c.change {
        Change::Entry(entry) => pb::change::Change::Entry(entry_to_pb(*entry, f)),
        Change::Hold(h) => pb::change::Change::Hold(pb::HoldChange {
            hold_id: h.hold_id,
            member_id: h.member_id,
            program_id: h.program_id,
            reference: h.reference,
            points: points_to_pb(h.points.value(), f),
            status: hold_status(&h.status) as i32,
        }),
        Change::Tier(t) => pb::change::Change::Tier(pb::TierChange {
            member_id: t.member_id,
            program_id: t.program_id,
            tier: t.tier.unwrap_or_default(),
        }),
        Change::Redemption(r) => pb::change::Change::Redemption(pb::RedemptionChange {
            redemption_id: r.redemption_id,
            member_id: r.member_id,
            program_id: r.program_id,
            reward_id: r.reward_id,
            points: points_to_pb(r.points.value(), f),
            status: redemption_status(r.status) as i32,
        }),
    };
    pb::Change {
        sequence: c.sequence,
        recorded_at: time_to_pb(c.recorded_at),
        change: Some(change),
    }
}

fn batch_to_pb(batch: ChangeBatch, formats: &PointFormats) -> pb::StreamChangesResponse {
    pb::StreamChangesResponse {
        changes: batch
            .changes
            .into_iter()
            .map(|c| change_to_pb(c, formats))
            .collect(),
        head_sequence: batch.head,
    }
}

type ChangeStream = Pin<Box<dyn Stream<Item = Result<pb::StreamChangesResponse, Status>> + Send>>;

#[tonic::async_trait]
impl pb::change_stream_service_server::ChangeStreamService for ChangeStreamApi {
    type StreamChangesStream = ChangeStream;

    async fn stream_changes(
        &self,
        request: Request<pb::StreamChangesRequest>,
    ) -> Result<Response<ChangeStream>, Status> {
        let tenant = tenant_of(&caller(&request)?, CHECKOUT)?;
        let pb::StreamChangesRequest { after_sequence } = request.into_inner();
        let stream_tenant = tenant.clone();
        // The first read answers the call, so a bad sequence is the call's status.
        let read_from = move |after: i64| {
            let tenant = tenant.clone();
            move |s: &Store| s.changes_after(&tenant, after, BATCH)
        };
        let first = blocking(&self.store, read_from(after_sequence)).await?;
        let (tx, rx) = mpsc::channel::<Result<pb::StreamChangesResponse, Status>>(2);
        let store = self.store.clone();
        let mut draining = self.draining.clone();
        tokio::spawn(async move {
            let mut next = Some(first);
            let mut last = after_sequence;
            let mut first_message = true;
            loop {
                if let Some(batch) = next.take() {
                    let full = batch.changes.len() as u32 >= BATCH;
                    // The first message goes out even when empty: it tells the head.
                    if first_message || !batch.changes.is_empty() {
                        first_message = false;
                        if let Some(c) = batch.changes.last() {
                            last = c.sequence;
                        }
                        let programs = batch.changes.iter().map(program_of);
                        let formats = match point_formats(&store, &stream_tenant, programs).await {
                            Ok(f) => f,
                            Err(e) => return end(&tx, e.into()).await,
                        };
                        if tx.send(Ok(batch_to_pb(batch, &formats))).await.is_err() {
                            return;
                        }
                    }
                    if full {
                        // Behind: read on at once.
                        next = Some(match blocking(&store, read_from(last)).await {
                            Ok(b) => b,
                            Err(e) => return end(&tx, e.into()).await,
                        });
                        continue;
                    }
                }
                if *draining.borrow() || draining.has_changed().is_err() {
                    let stopping = Status::unavailable(format!(
                        "the server is shutting down: reconnect and resume after sequence {last}"
                    ));
                    return end(&tx, stopping).await;
                }
                tokio::select! {
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
                    _ = tx.closed() => return,
                    _ = draining.changed() => continue,
                }
                next = Some(match blocking(&store, read_from(last)).await {
                    Ok(b) => b,
                    Err(e) => return end(&tx, e.into()).await,
                });
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

/// Ends a stream with `status` (a caller that hung up already is not told).
async fn end(tx: &mpsc::Sender<Result<pb::StreamChangesResponse, Status>>, status: Status) {
    let _ = tx.send(Err(status)).await;
}
