//! End-to-end test support: a real `loyalty` server on `127.0.0.1:0` over a fresh SQLite file
//! or PostgreSQL database, driven with the generated tonic clients over a real socket.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;

use loyalty_grpc::pb;
use loyalty_grpc::server::{ServerConfig, run};
use loyalty_store::testing::TestDatabase;
pub use loyalty_store::testing::{Kind, skip_postgres, start};
use loyalty_store::{ManualClock, Role, Store};
use tokio::sync::oneshot;
use tonic::transport::Channel;

/// The JWT secret the test servers accept.
pub const JWT_SECRET: &str = "end-to-end-test-secret";

/// A running server and what a test needs to call it.
pub struct TestServer {
    pub addr: SocketAddr,
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub kind: Kind,
    /// An operator API key.
    pub operator_key: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _db: TestDatabase,
}

impl TestServer {
    /// Starts a server on a fresh database of `kind`.
    pub async fn start(kind: Kind) -> TestServer {
        let config = ServerConfig {
            jwt_secret: Some(JWT_SECRET.into()),
            ..ServerConfig::default()
        };
        TestServer::start_with(kind, config).await
    }

    /// Starts a server on a fresh database of `kind` with `config`.
    pub async fn start_with(kind: Kind, config: ServerConfig) -> TestServer {
        let db = TestDatabase::new(kind);
        let clock = Arc::new(ManualClock::new(start()));
        let store = db.store(8, clock.clone());
        let operator_key = store
            .issue_api_key(None, None, Role::Operator, None, "tests")
            .unwrap()
            .key;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server_store = store.clone();
        let task = tokio::spawn(async move {
            run(listener, server_store, config, async {
                let _ = stopped.await;
            })
            .await
            .expect("server failed");
        });
        TestServer {
            addr,
            store,
            clock,
            kind,
            operator_key,
            stop: Some(stop),
            task: Some(task),
            _db: db,
        }
    }

    /// A channel to the server.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// Stops the server, waiting for in-flight calls.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

/// A request carrying `key` as its bearer credential.
pub fn authed<T>(key: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {key}").parse().unwrap());
    request
}

/// A fresh idempotency key for a mutating request (unique in the test process).
pub fn fresh_key() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    format!(
        "test-{}",
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// Creates a tenant through the API and returns its id with an admin and a service key.
pub async fn tenant(server: &TestServer, name: &str) -> (String, String, String) {
    let mut operator =
        pb::operator_service_client::OperatorServiceClient::new(server.channel().await);
    let tenant = operator
        .create_tenant(authed(
            &server.operator_key,
            pb::CreateTenantRequest {
                idempotency_key: fresh_key(),
                name: name.into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .tenant
        .unwrap();
    let key = |role: pb::Role| {
        let mut operator = operator.clone();
        let request = authed(
            &server.operator_key,
            pb::IssueApiKeyRequest {
                idempotency_key: fresh_key(),
                tenant_id: tenant.id.clone(),
                role: role as i32,
                member_id: String::new(),
                label: "tests".into(),
            },
        );
        async move {
            operator
                .issue_api_key(request)
                .await
                .unwrap()
                .into_inner()
                .api_key
        }
    };
    let admin = key(pb::Role::Admin).await;
    let service = key(pb::Role::Service).await;
    (tenant.id, admin, service)
}

/// Defines each async test twice, `<name>::sqlite` and `<name>::postgres`, each with its own
/// server: `on_both_backends! { async fn a_thing_happens(server) { ... } }`.
#[macro_export]
macro_rules! on_both_backends {
    ($(async fn $name:ident($s:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($s: &$crate::common::TestServer) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    let server = $crate::common::TestServer::start($crate::common::Kind::Sqlite).await;
                    run(&server).await;
                    server.stop().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    if $crate::common::skip_postgres() {
                        eprintln!("PostgreSQL test skipped: LOYALTY_TEST_SKIP_POSTGRES=1");
                        return;
                    }
                    let server = $crate::common::TestServer::start($crate::common::Kind::Postgres).await;
                    run(&server).await;
                    server.stop().await;
                }
            }
        )*
    };
}
