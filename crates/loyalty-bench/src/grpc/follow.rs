//! `run --follow`: a consumer of the ledger change stream while a gRPC workload runs, to show
//! whether the stream keeps up with the write path's peak rate.
//!
//! It follows the run's tenant from sequence 0 (the setup's changes included) on the first
//! server, checks that every sequence is the previous one plus one, and records the largest
//! backlog it saw (a message's head minus its last change). When the callers stop, it learns
//! the stream's final head from a second call and reports how long after the last call it had
//! received everything.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use loyalty_grpc::pb;
use loyalty_grpc::pb::change_stream_service_client::ChangeStreamServiceClient;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

/// How long the consumer may take to catch up after the callers stopped.
const CATCH_UP: Duration = Duration::from_secs(120);

/// What the consumer saw.
#[derive(Debug, Clone)]
pub struct Followed {
    /// Changes received (sequences 1..=this when gap-free).
    pub changes: i64,
    /// Where the stream ended after the callers stopped.
    pub final_head: i64,
    /// The first sequence that was not the previous one plus one, if any.
    pub broken_at: Option<i64>,
    /// The largest backlog a message showed (its head minus its last change).
    pub max_backlog: i64,
    /// Changes received while the callers ran.
    pub during_run: i64,
    /// How long the callers ran.
    pub run: Duration,
    /// How long after the last call the consumer had everything.
    pub caught_up_after: Duration,
}

impl Followed {
    /// Whether it received every change once, in order.
    pub fn passed(&self) -> bool {
        self.broken_at.is_none() && self.changes == self.final_head
    }

    /// One line for the report.
    pub fn describe(&self) -> String {
        let verdict = match self.broken_at {
            None if self.changes == self.final_head => "gap-free".to_owned(),
            None => format!("INCOMPLETE ({} of {})", self.changes, self.final_head),
            Some(at) => format!("BROKEN at sequence {at}"),
        };
        format!(
            "change stream: {} changes followed, {verdict}; {} changes/s while the callers \
             ran, largest backlog {} changes, caught up {} ms after the last call",
            self.changes,
            i128::from(self.during_run) * 1000 / (self.run.as_millis() as i128).max(1),
            self.max_backlog,
            self.caught_up_after.as_millis()
        )
    }
}

/// A consumer following the stream in the background.
pub struct Follower {
    task: JoinHandle<anyhow::Result<Followed>>,
    stop: watch::Sender<Option<(Instant, i64)>>,
    channel: Channel,
    admin_key: String,
}

async fn open(
    channel: Channel,
    key: &str,
    after: i64,
) -> anyhow::Result<tonic::Streaming<pb::StreamChangesResponse>> {
    let mut request = tonic::Request::new(pb::StreamChangesRequest {
        after_sequence: after,
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {key}").parse()?);
    Ok(ChangeStreamServiceClient::new(channel)
        .stream_changes(request)
        .await
        .context("opening the change stream")?
        .into_inner())
}

impl Follower {
    /// Starts following the tenant of `admin_key` on the server at `addr`.
    pub async fn start(addr: SocketAddr, admin_key: &str) -> anyhow::Result<Follower> {
        // No call timeout: the stream lasts the whole run.
        let channel = Endpoint::from_shared(format!("http://{addr}"))?
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .connect()
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        let mut stream = open(channel.clone(), admin_key, 0).await?;
        let (stop, mut stopped) = watch::channel(None::<(Instant, i64)>);
        let started = Instant::now();
        let task = tokio::spawn(async move {
            let mut last = 0i64;
            let mut broken_at = None;
            let mut max_backlog = 0;
            let mut during_run = 0;
            loop {
                let stop = *stopped.borrow();
                if let Some((at, head)) = stop
                    && last >= head
                {
                    return Ok(Followed {
                        changes: last,
                        final_head: head,
                        broken_at,
                        max_backlog,
                        during_run,
                        run: at.duration_since(started),
                        caught_up_after: at.elapsed(),
                    });
                }
                let message = tokio::select! {
                    m = stream.message() => m.context("reading the change stream")?,
                    _ = stopped.changed() => continue,
                    _ = tokio::time::sleep(CATCH_UP) => anyhow::bail!("the change stream went quiet"),
                };
                let Some(message) = message else {
                    anyhow::bail!("the change stream ended");
                };
                for change in &message.changes {
                    if change.sequence != last + 1 && broken_at.is_none() {
                        broken_at = Some(change.sequence);
                    }
                    last = change.sequence;
                }
                if stop.is_none() {
                    during_run += message.changes.len() as i64;
                }
                max_backlog = max_backlog.max(message.head_sequence - last);
            }
        });
        Ok(Follower {
            task,
            stop,
            channel,
            admin_key: admin_key.to_owned(),
        })
    }

    /// Tells the consumer the callers stopped now, and waits until it has every change.
    pub async fn finish(self) -> anyhow::Result<Followed> {
        let stopped_at = Instant::now();
        // A fresh call's first message carries the head once everything committed is numbered.
        let head = open(self.channel.clone(), &self.admin_key, 0)
            .await?
            .message()
            .await?
            .context("the change stream ended at once")?
            .head_sequence;
        let _ = self.stop.send(Some((stopped_at, head)));
        let followed = tokio::time::timeout(CATCH_UP, self.task)
            .await
            .context("the change stream consumer did not catch up")???;
        Ok(followed)
    }
}
