//! The server: every service, health checking (following the database, see
//! [`crate::health`]), reflection, auth and observation layers, periodic sweeps, and graceful
//! shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use loyalty_store::Store;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

use crate::auth::{AuthLayer, Authenticator, JwtKeys};
use crate::observe::ObserveLayer;
use crate::pb;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Secret for HS256 JWTs; `None` accepts API keys only (unless `jwt_keys` has keys).
    pub jwt_secret: Option<String>,
    /// Public keys (RS256/ES256) JWTs are also checked with, and required claims.
    pub jwt_keys: JwtKeys,
    /// How often overdue points expire and overdue holds release themselves.
    pub sweep_interval: Duration,
    /// Where to serve Prometheus metrics over HTTP; `None` = no metrics endpoint.
    pub metrics_addr: Option<SocketAddr>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            jwt_secret: None,
            jwt_keys: JwtKeys::new(),
            sweep_interval: Duration::from_secs(60),
            metrics_addr: None,
        }
    }
}

/// The error of [`run`].
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The gRPC transport failed.
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// Reflection could not be built from the descriptor set.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The metrics endpoint could not start.
    #[error("metrics endpoint: {0}")]
    Metrics(String),
    /// The store's writer could not start.
    #[error("store: {0}")]
    Store(String),
}

/// Serves the loyalty API on `listener` until `shutdown` completes, then stops accepting calls
/// and finishes the ones in flight.
pub async fn run(
    listener: TcpListener,
    store: Store,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    if let Some(addr) = config.metrics_addr {
        crate::observe::install_exporter(addr).map_err(ServeError::Metrics)?;
        tracing::info!(%addr, "metrics on http://{addr}/metrics");
    }

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        // google.rpc.ErrorInfo / BadRequest, which error statuses carry as details.
        .register_encoded_file_descriptor_set(pb::ERROR_DETAILS_FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        // google.rpc.ErrorInfo / BadRequest, which error statuses carry as details.
        .register_encoded_file_descriptor_set(pb::ERROR_DETAILS_FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    // On SQLite every write goes through one group-commit writer (see loyalty_store::writer).
    let store = store
        .with_writer()
        .map_err(|e| ServeError::Store(e.to_string()))?;
    let services = crate::services::Services::new(store.clone());
    crate::health::report(&health_reporter, tonic_health::ServingStatus::Serving).await;

    let (stop_tasks, tasks_stopped) = tokio::sync::watch::channel(false);
    let sweeper = tokio::spawn(crate::sweep::run(
        store.clone(),
        config.sweep_interval,
        tasks_stopped.clone(),
    ));
    // The pool's and the writer's gauges, when metrics are served.
    let store_metrics = config.metrics_addr.map(|_| {
        tokio::spawn(crate::observe::publish_store_metrics_every_second(
            store.clone(),
            tasks_stopped.clone(),
        ))
    });
    let health_watcher = tokio::spawn(crate::health::watch(
        store.clone(),
        health_reporter,
        tasks_stopped,
    ));

    let mut jwt = config.jwt_keys;
    if let Some(secret) = &config.jwt_secret {
        jwt = jwt.with_secret(secret);
    }
    let auth = AuthLayer::new(Authenticator::new(store, jwt));
    let result = tonic::transport::Server::builder()
        .layer(ObserveLayer)
        .layer(auth)
        .add_routes(services.into_routes())
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(accepted(listener), shutdown)
        .await;
    let _ = stop_tasks.send(true);
    let _ = sweeper.await;
    let _ = health_watcher.await;
    if let Some(task) = store_metrics {
        let _ = task.await;
    }
    Ok(result?)
}

/// The connections `listener` accepts, each with `TCP_NODELAY` set: responses are written in
/// one go, and without it any response larger than a few hundred bytes would wait ~40 ms for
/// the client's delayed acknowledgement (Nagle's algorithm). tonic's own `tcp_nodelay` setting
/// only applies to listeners it binds itself.
pub fn accepted(
    listener: TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt;
    TcpListenerStream::new(listener).map(|accepted| {
        let stream = accepted?;
        stream.set_nodelay(true)?;
        Ok(stream)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_stream::StreamExt;

    #[tokio::test]
    async fn accepted_connections_have_nagles_algorithm_switched_off() -> anyhow::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut incoming = Box::pin(accepted(listener));
        let _client = tokio::net::TcpStream::connect(addr).await?;
        let server_side = incoming
            .next()
            .await
            .ok_or_else(|| anyhow::anyhow!("no connection accepted"))??;
        assert!(
            server_side.nodelay()?,
            "TCP_NODELAY is not set on an accepted connection"
        );
        Ok(())
    }
}
