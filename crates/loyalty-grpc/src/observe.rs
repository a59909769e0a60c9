//! One tracing span and one set of metrics per RPC: method, tenant, latency and outcome; the
//! business counters (points moved, idempotent replays); the store's gauges (connection pool,
//! SQLite writer); and the Prometheus exporter that serves them all. Every metric is listed in
//! `docs/METRICS.md`.
//!
//! Logs carry no customer data: the span records the method, the caller's tenant and role, the
//! gRPC status code and the latency, never request bodies.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use loyalty_store::Principal;
use tracing::Instrument;

/// Whether spans are exported (OpenTelemetry): only then is a call's W3C `traceparent` read,
/// so a server without an exporter pays nothing for it.
static TRACE_CONTEXT: AtomicBool = AtomicBool::new(false);

/// Makes every call's span a child of the caller's trace (its `traceparent` header, read with
/// the global OpenTelemetry propagator): call it when an OpenTelemetry exporter is installed.
pub fn follow_trace_context() {
    TRACE_CONTEXT.store(true, Ordering::Relaxed);
}

/// Reads a call's headers for the OpenTelemetry propagator.
struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// The tower layer that observes every call. Put it outside [`crate::auth::AuthLayer`]'s
/// service so it sees the principal the auth layer inserted (it reads it after the call).
#[derive(Debug, Clone, Copy, Default)]
pub struct ObserveLayer;

impl<S> tower::Layer<S> for ObserveLayer {
    type Service = ObserveService<S>;

    fn layer(&self, inner: S) -> ObserveService<S> {
        ObserveService { inner }
    }
}

/// The service [`ObserveLayer`] wraps.
#[derive(Debug, Clone)]
pub struct ObserveService<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The status code of a response: a trailers-only (error) response carries it in its headers;
/// a normal response carries it in its trailers, which for unary calls means OK.
fn status_code<B>(res: &http::Response<B>) -> &'static str {
    match res
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
    {
        None | Some("0") => "OK",
        Some(code) => match code.parse::<i32>().map(tonic::Code::from) {
            Ok(tonic::Code::Cancelled) => "CANCELLED",
            Ok(tonic::Code::InvalidArgument) => "INVALID_ARGUMENT",
            Ok(tonic::Code::DeadlineExceeded) => "DEADLINE_EXCEEDED",
            Ok(tonic::Code::NotFound) => "NOT_FOUND",
            Ok(tonic::Code::AlreadyExists) => "ALREADY_EXISTS",
            Ok(tonic::Code::PermissionDenied) => "PERMISSION_DENIED",
            Ok(tonic::Code::ResourceExhausted) => "RESOURCE_EXHAUSTED",
            Ok(tonic::Code::FailedPrecondition) => "FAILED_PRECONDITION",
            Ok(tonic::Code::Unimplemented) => "UNIMPLEMENTED",
            Ok(tonic::Code::Internal) => "INTERNAL",
            Ok(tonic::Code::Unavailable) => "UNAVAILABLE",
            Ok(tonic::Code::Unauthenticated) => "UNAUTHENTICATED",
            _ => "OTHER",
        },
    }
}

impl<S, B, R> tower::Service<http::Request<B>> for ObserveService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let method = req.uri().path().to_owned();
        let parent = TRACE_CONTEXT.load(Ordering::Relaxed).then(|| {
            opentelemetry::global::get_text_map_propagator(|propagator| {
                propagator.extract(&HeaderExtractor(req.headers()))
            })
        });
        Box::pin(async move {
            let span = tracing::info_span!(
                "rpc",
                method = %method,
                tenant = tracing::field::Empty,
                role = tracing::field::Empty,
                code = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
                otel.name = tracing::field::Empty,
                otel.kind = tracing::field::Empty,
            );
            if let Some(parent) = parent {
                use tracing_opentelemetry::OpenTelemetrySpanExt;
                // Exported spans are named after the RPC, as server spans (recorded only when
                // exporting, so logs do not carry them).
                span.record("otel.name", method.trim_start_matches('/'));
                span.record("otel.kind", "server");
                let _ = span.set_parent(parent);
            }
            let started = Instant::now();
            let result = inner.call(req).instrument(span.clone()).await;
            let elapsed = started.elapsed();
            let code = match &result {
                Ok(res) => {
                    if let Some(p) = res.extensions().get::<Principal>() {
                        span.record("tenant", p.tenant_id.as_deref().unwrap_or("-"));
                        span.record("role", p.role.as_str());
                    }
                    status_code(res)
                }
                Err(_) => "TRANSPORT_ERROR",
            };
            span.record("code", code);
            span.record("latency_ms", elapsed.as_millis() as u64);
            // A line per answered call at the default level would cost more than a balance
            // read itself (formatting and writing 40,000 lines a second); successful calls are
            // logged at DEBUG, refusals and errors at INFO, slow calls at WARN. The metrics
            // below count every call.
            span.in_scope(|| {
                if elapsed >= SLOW_CALL {
                    tracing::warn!("slow rpc finished");
                } else if code == "OK" {
                    tracing::debug!("rpc finished");
                } else {
                    tracing::info!("rpc finished");
                }
            });
            metrics::counter!(RPC_REQUESTS, "method" => method.clone(), "code" => code)
                .increment(1);
            metrics::histogram!(RPC_DURATION, "method" => method, "code" => code).record(elapsed);
            result
        })
    }
}

/// A call that takes this long is logged as slow (WARN).
const SLOW_CALL: std::time::Duration = std::time::Duration::from_secs(1);

/// Calls answered, by method and gRPC status code (counter).
pub const RPC_REQUESTS: &str = "loyalty_rpc_requests_total";
/// Latency of calls, by method and gRPC status code (histogram, seconds).
pub const RPC_DURATION: &str = "loyalty_rpc_duration_seconds";
/// Points credited by earns and actions (counter, points).
pub const EARNED_POINTS: &str = "loyalty_earned_points_total";
/// Points spent by redemptions, captured holds and rewards (counter, points).
pub const REDEEMED_POINTS: &str = "loyalty_redeemed_points_total";
/// Points that expired (counter, points).
pub const EXPIRED_POINTS: &str = "loyalty_expired_points_total";
/// Earned points taken back by reversals (counter, points).
pub const REVERSED_POINTS: &str = "loyalty_reversed_points_total";
/// Redeemed points given back by reversals (counter, points).
pub const RETURNED_POINTS: &str = "loyalty_returned_points_total";
/// Calls answered from their idempotency key's record, by operation (counter).
pub const IDEMPOTENT_REPLAYS: &str = "loyalty_idempotent_replays_total";
/// Pool connections by state, `in_use` or `idle` (gauge, connections).
pub const POOL_CONNECTIONS: &str = "loyalty_db_pool_connections";
/// The most connections the pool opens (gauge, connections).
pub const POOL_MAX_CONNECTIONS: &str = "loyalty_db_pool_max_connections";
/// Calls queued for the SQLite writer (gauge, calls).
pub const WRITER_QUEUED: &str = "loyalty_sqlite_writer_queued_calls";
/// Transactions the SQLite writer committed or attempted (counter, batches).
pub const WRITER_BATCHES: &str = "loyalty_sqlite_writer_batches_total";
/// Calls the SQLite writer ran (counter, calls).
pub const WRITER_CALLS: &str = "loyalty_sqlite_writer_calls_total";

/// The latency histogram's buckets, in seconds: 0.1 ms to 10 s, about three per decade.
pub const LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Installs the Prometheus exporter as the process's metrics recorder, serving
/// `http://{addr}/metrics`, with RPC latencies as histograms ([`LATENCY_BUCKETS`]) and every
/// metric described (`# HELP`). The recorder is process-global: install it once.
pub fn install_exporter(addr: std::net::SocketAddr) -> Result<(), String> {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full(RPC_DURATION.into()),
            &LATENCY_BUCKETS,
        )
        .and_then(|builder| builder.install())
        .map_err(|e| e.to_string())?;
    describe();
    Ok(())
}

/// Describes every metric to the installed recorder (its `# HELP` line and unit).
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        RPC_REQUESTS,
        Unit::Count,
        "gRPC calls answered, by full method name and gRPC status code."
    );
    describe_histogram!(
        RPC_DURATION,
        Unit::Seconds,
        "Latency of gRPC calls in seconds, from the request's arrival to the response's headers, by method and gRPC status code."
    );
    describe_counter!(
        EARNED_POINTS,
        "Points credited by Earn (the member's and the referrer's) and AwardAction, in points; replayed calls are not counted again."
    );
    describe_counter!(
        REDEEMED_POINTS,
        "Points spent by Redeem, Capture and RedeemReward, in points; replayed calls are not counted again."
    );
    describe_counter!(
        EXPIRED_POINTS,
        "Points expired by the sweep and ExpirePoints, in points."
    );
    describe_counter!(
        REVERSED_POINTS,
        "Earned points taken back by Reverse (from the member's and the referrer's lots or as debt), in points; replayed calls are not counted again."
    );
    describe_counter!(
        RETURNED_POINTS,
        "Redeemed points given back to members by Reverse, in points; replayed calls are not counted again."
    );
    describe_counter!(
        IDEMPOTENT_REPLAYS,
        Unit::Count,
        "Calls answered from their idempotency key's record (a retry of a call already done, or refused), by operation."
    );
    describe_gauge!(
        POOL_CONNECTIONS,
        Unit::Count,
        "Database pool connections by state: in_use (handed to calls) or idle."
    );
    describe_gauge!(
        POOL_MAX_CONNECTIONS,
        Unit::Count,
        "The most connections the database pool opens (--pool-size)."
    );
    describe_gauge!(
        WRITER_QUEUED,
        Unit::Count,
        "Calls queued for the SQLite group-commit writer, not yet in a batch (SQLite only)."
    );
    describe_counter!(
        WRITER_BATCHES,
        Unit::Count,
        "Transactions the SQLite group-commit writer committed or attempted, one per batch of calls (SQLite only)."
    );
    describe_counter!(
        WRITER_CALLS,
        Unit::Count,
        "Calls the SQLite group-commit writer ran, over all batches (SQLite only)."
    );
}

/// How points moved, for [`count_points`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Movement {
    /// Credited by an earn or an action.
    Earned,
    /// Spent by a redemption, a capture or a reward.
    Redeemed,
    /// Expired.
    Expired,
    /// Earned points taken back by a reversal.
    Reversed,
    /// Redeemed points given back by a reversal.
    Returned,
}

/// The exact running totals behind the point counters, one per [`Movement`].
static TOTALS: [std::sync::Mutex<rust_decimal::Decimal>; 5] = [
    std::sync::Mutex::new(rust_decimal::Decimal::ZERO),
    std::sync::Mutex::new(rust_decimal::Decimal::ZERO),
    std::sync::Mutex::new(rust_decimal::Decimal::ZERO),
    std::sync::Mutex::new(rust_decimal::Decimal::ZERO),
    std::sync::Mutex::new(rust_decimal::Decimal::ZERO),
];

/// Counts `points` moved. The counter shows whole points: metrics counters are integers, so the
/// exact total is kept as a decimal (no float arithmetic, no fraction ever lost) and the
/// counter set to its whole part.
pub fn count_points(movement: Movement, points: rust_decimal::Decimal) {
    use rust_decimal::prelude::ToPrimitive;
    if points <= rust_decimal::Decimal::ZERO {
        return;
    }
    let (index, name) = match movement {
        Movement::Earned => (0, EARNED_POINTS),
        Movement::Redeemed => (1, REDEEMED_POINTS),
        Movement::Expired => (2, EXPIRED_POINTS),
        Movement::Reversed => (3, REVERSED_POINTS),
        Movement::Returned => (4, RETURNED_POINTS),
    };
    let mut total = TOTALS[index]
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Beyond 7.9e28 points the total stays where it is rather than wrapping.
    *total = total.checked_add(points).unwrap_or(*total);
    // Set under the lock, so concurrent calls never move the counter backwards.
    metrics::counter!(name).absolute(total.trunc().to_u64().unwrap_or(u64::MAX));
}

/// Counts a call answered from its idempotency key's record (`operation`: "earn", ...).
pub fn count_replay(operation: &'static str) {
    metrics::counter!(IDEMPOTENT_REPLAYS, "operation" => operation).increment(1);
}

/// Sets the store's gauges and counters now: the pool's connections and, on SQLite, the
/// group-commit writer's queue and batches.
pub fn publish_store_metrics(store: &loyalty_store::Store) {
    let pool = store.database().pool_state();
    metrics::gauge!(POOL_CONNECTIONS, "state" => "in_use").set(pool.in_use);
    metrics::gauge!(POOL_CONNECTIONS, "state" => "idle").set(pool.idle);
    metrics::gauge!(POOL_MAX_CONNECTIONS).set(pool.max);
    if let Some(writer) = store.writer_stats() {
        // The queue depth is a count of calls: exact in an f64 below 2^53.
        metrics::gauge!(WRITER_QUEUED).set(u32::try_from(writer.queued).unwrap_or(u32::MAX));
        metrics::counter!(WRITER_BATCHES).absolute(writer.batches);
        metrics::counter!(WRITER_CALLS).absolute(writer.calls);
    }
}

/// Publishes the store's metrics ([`publish_store_metrics`]) every second until `stop` turns
/// true.
pub async fn publish_store_metrics_every_second(
    store: loyalty_store::Store,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => publish_store_metrics(&store),
            _ = stop.changed() => return,
        }
    }
}
