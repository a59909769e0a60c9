//! One tracing span and one set of metrics per RPC: method, tenant, latency and outcome.
//!
//! Logs carry no customer data: the span records the method, the caller's tenant and role, the
//! gRPC status code and the latency, never request bodies.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use loyalty_store::Principal;
use tracing::Instrument;

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
        Box::pin(async move {
            let span = tracing::info_span!(
                "rpc",
                method = %method,
                tenant = tracing::field::Empty,
                role = tracing::field::Empty,
                code = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
            );
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
            metrics::counter!("loyalty_rpc_requests_total", "method" => method.clone(), "code" => code).increment(1);
            metrics::histogram!("loyalty_rpc_duration_seconds", "method" => method).record(elapsed);
            result
        })
    }
}

/// A call that takes this long is logged as slow (WARN).
const SLOW_CALL: std::time::Duration = std::time::Duration::from_secs(1);

/// Counts points moved, in ten-thousandths of a point (exact integers, never floats), for the
/// Prometheus counters `loyalty_points_{earned,redeemed,expired}_units_total`.
pub fn count_points(what: &'static str, points: rust_decimal::Decimal) {
    use rust_decimal::prelude::ToPrimitive;
    let units = (points * rust_decimal::Decimal::from(10_000))
        .trunc()
        .to_u64()
        .unwrap_or(0);
    match what {
        "earned" => metrics::counter!("loyalty_points_earned_units_total").increment(units),
        "redeemed" => metrics::counter!("loyalty_points_redeemed_units_total").increment(units),
        _ => metrics::counter!("loyalty_points_expired_units_total").increment(units),
    }
}
