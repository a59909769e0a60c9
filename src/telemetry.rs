//! Logs (standard error, text or JSON lines, filtered by `RUST_LOG`) and, when asked for,
//! OpenTelemetry traces exported over OTLP/gRPC: one server span per RPC, named after it,
//! child of the caller's trace when the call carries a W3C `traceparent` header.

use anyhow::Context;
use opentelemetry::trace::TracerProvider;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Keeps the trace exporter running; dropping it sends the spans still buffered.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    // The exporter's connection runs on a runtime of its own, so that it outlives the server's.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(err) = provider.shutdown() {
                eprintln!("warning: sending the last trace spans failed: {err}");
            }
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Installs the logger, and the OTLP trace exporter when `otlp_endpoint` is given
/// (`http://collector:4317`).
pub fn init(json: bool, otlp_endpoint: Option<&str>) -> anyhow::Result<Telemetry> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let fmt = if json {
        fmt.json().boxed()
    } else {
        fmt.boxed()
    };
    let Some(endpoint) = otlp_endpoint else {
        tracing_subscriber::registry()
            .with(fmt.with_filter(filter))
            .try_init()
            .context("installing the logger")?;
        return Ok(Telemetry {
            provider: None,
            runtime: None,
        });
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("otlp")
        .enable_all()
        .build()
        .context("starting the trace exporter's runtime")?;
    let provider = {
        let _entered = runtime.enter();
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .with_context(|| format!("the OTLP endpoint {endpoint}"))?;
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name("loyalty").build())
            .build()
    };
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let tracer = provider.tracer("loyalty");
    // Only the RPC spans (and what runs inside them) are exported, not every log line's target.
    let traces = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(traces)
        .try_init()
        .context("installing the logger")?;
    loyalty_grpc::observe::follow_trace_context();
    tracing::info!(%endpoint, "exporting traces over OTLP to {endpoint}");
    Ok(Telemetry {
        provider: Some(provider),
        runtime: Some(runtime),
    })
}
