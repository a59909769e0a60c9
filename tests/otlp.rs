//! OpenTelemetry export: a real `loyalty serve --otlp-endpoint` sends a server span per RPC to
//! a collector (here a real OTLP/gRPC server in the test), named after the RPC and in the
//! caller's trace when the call carries a W3C `traceparent`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/process.rs"]
mod process;
#[path = "common/seeded.rs"]
mod seeded;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use loyalty_grpc::pb;
use loyalty_store::testing::{Kind, TestDatabase};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use process::ServerProcess;
use seeded::Seeded;

/// A span as the collector received it.
#[derive(Debug, Clone)]
struct Received {
    name: String,
    trace_id: Vec<u8>,
    parent_span_id: Vec<u8>,
    kind: i32,
    service: Option<String>,
}

#[derive(Default, Clone)]
struct Collector(Arc<Mutex<Vec<Received>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut received = self.0.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans.resource.as_ref().and_then(|r| {
                r.attributes
                    .iter()
                    .find(|a| a.key == "service.name")
                    .and_then(|a| a.value.as_ref())
                    .and_then(|v| match &v.value {
                        Some(Value::StringValue(s)) => Some(s.clone()),
                        _ => None,
                    })
            });
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    received.push(Received {
                        name: span.name,
                        trace_id: span.trace_id,
                        parent_span_id: span.parent_span_id,
                        kind: span.kind,
                        service: service.clone(),
                    });
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[test]
fn the_server_exports_a_span_per_rpc_in_the_callers_trace() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let collector = Collector::default();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let collector_addr = listener.local_addr().unwrap();
    runtime.spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let db = TestDatabase::new(Kind::Sqlite);
    let seeded = Seeded::new(&db.url, "Traced Shop", 1);
    let endpoint = format!("http://{collector_addr}");
    let server = ServerProcess::start(&db.url, &["--otlp-endpoint", &endpoint]);

    // A call in a trace of the caller's: trace 4bf9..., its span 00f0....
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    runtime.block_on(async {
        let channel = server.channel();
        let mut members = pb::member_service_client::MemberServiceClient::new(channel);
        let mut request = tonic::Request::new(pb::GetMemberRequest {
            member_id: seeded.members[0].clone(),
        });
        let metadata = request.metadata_mut();
        metadata.insert(
            "authorization",
            format!("Bearer {}", seeded.admin).parse().unwrap(),
        );
        metadata.insert(
            "traceparent",
            format!("00-{trace_id}-{caller_span}-01").parse().unwrap(),
        );
        members.get_member(request).await.unwrap();
    });
    // Stopping the server sends the spans it still holds.
    let log = server.stop();

    let deadline = Instant::now() + Duration::from_secs(20);
    let span = loop {
        let found = collector
            .0
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.name == "loyalty.v1.MemberService/GetMember")
            .cloned();
        if let Some(span) = found {
            break span;
        }
        assert!(
            Instant::now() < deadline,
            "no GetMember span reached the collector: {:?}\nserver log:\n{log}",
            collector.0.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(hex(&span.trace_id), trace_id, "not in the caller's trace");
    assert_eq!(hex(&span.parent_span_id), caller_span);
    // SPAN_KIND_SERVER
    assert_eq!(span.kind, 2);
    assert_eq!(span.service.as_deref(), Some("loyalty"));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
