//! The server: every service, health checking (following the database, see
//! [`crate::health`]), reflection, auth and observation layers, periodic sweeps, and graceful
//! shutdown, over plaintext HTTP/2 or TLS (optionally mutual TLS, see [`TlsConfig`]).

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
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
    /// Serve gRPC over TLS (rustls) with this certificate and key; `None` = plaintext.
    pub tls: Option<TlsConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            jwt_secret: None,
            jwt_keys: JwtKeys::new(),
            sweep_interval: Duration::from_secs(60),
            metrics_addr: None,
            tls: None,
        }
    }
}

/// How long a client may take over the TLS handshake before its connection is dropped (so a
/// client that connects and says nothing holds no task or socket for long).
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's TLS: its certificate chain and private key, and optionally the CA that client
/// certificates must be signed by (mutual TLS), all PEM.
#[derive(Clone)]
pub struct TlsConfig {
    /// The server's certificate chain (PEM), its own certificate first.
    pub cert: Vec<u8>,
    /// The server's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: Vec<u8>,
    /// When set, every client must present a certificate signed by one of these CA
    /// certificates (PEM); without one, or with another CA's, the handshake fails.
    pub client_ca: Option<Vec<u8>>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("cert", &format_args!("{} bytes", self.cert.len()))
            .field("key", &"<redacted>")
            .field("mutual", &self.client_ca.is_some())
            .finish()
    }
}

/// Why a [`TlsConfig`] could not be loaded: each names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read the TLS {what} file {}: {error}", path.display())]
    Read {
        /// Which file ("certificate", "private key", "client CA").
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A file holds no valid PEM item of the kind wanted.
    #[error("the TLS {what} file {} holds no valid PEM {wanted}: {reason}", path.display())]
    Pem {
        /// Which file ("certificate", "private key", "client CA").
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What it should hold.
        wanted: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The files parse, but rustls refuses them together (say, a key that is not the
    /// certificate's).
    #[error("the TLS certificate {} and key {} are not usable together: {reason}", cert.display(), key.display())]
    Rejected {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason.
        reason: String,
    },
}

impl TlsConfig {
    /// Reads and checks the server's certificate chain, private key and optional client CA
    /// from PEM files, so that a bad file stops the server at start-up with an error naming
    /// it.
    pub fn from_files(
        cert: &Path,
        key: &Path,
        client_ca: Option<&Path>,
    ) -> Result<TlsConfig, TlsError> {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};

        let read = |what: &'static str, path: &Path| {
            std::fs::read(path).map_err(|error| TlsError::Read {
                what,
                path: path.to_owned(),
                error,
            })
        };
        let certificates = |what: &'static str, path: &Path, pem: &[u8]| {
            let bad = |reason: String| TlsError::Pem {
                what,
                path: path.to_owned(),
                wanted: "certificate",
                reason,
            };
            let found = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(e.to_string()))?;
            if found.is_empty() {
                return Err(bad("no CERTIFICATE section found".into()));
            }
            Ok(())
        };

        let config = TlsConfig {
            cert: read("certificate", cert)?,
            key: read("private key", key)?,
            client_ca: client_ca.map(|path| read("client CA", path)).transpose()?,
        };
        certificates("certificate", cert, &config.cert)?;
        PrivateKeyDer::from_pem_slice(&config.key).map_err(|e| TlsError::Pem {
            what: "private key",
            path: key.to_owned(),
            wanted: "private key",
            reason: e.to_string(),
        })?;
        if let (Some(path), Some(pem)) = (client_ca, &config.client_ca) {
            certificates("client CA", path, pem)?;
        }
        // What rustls itself checks (the key matches the certificate, its algorithm is
        // supported, the client CA is a usable trust anchor), now rather than at the first
        // connection.
        tonic::transport::Server::builder()
            .tls_config(config.server_tls_config())
            .map_err(|e| TlsError::Rejected {
                cert: cert.to_owned(),
                key: key.to_owned(),
                reason: error_chain(&e),
            })?;
        Ok(config)
    }

    /// tonic's TLS configuration for this certificate, key and client CA.
    fn server_tls_config(&self) -> tonic::transport::ServerTlsConfig {
        use tonic::transport::{Certificate, Identity, ServerTlsConfig};
        let tls = ServerTlsConfig::new()
            .identity(Identity::from_pem(&self.cert, &self.key))
            .timeout(TLS_HANDSHAKE_TIMEOUT);
        match &self.client_ca {
            Some(ca) => tls.client_ca_root(Certificate::from_pem(ca)),
            None => tls,
        }
    }
}

/// `error` and its sources, "outer: inner: ...", since tonic's transport errors say only
/// "transport error" themselves.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
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
    /// The TLS certificate, key or client CA was refused.
    #[error("TLS: {0}")]
    Tls(String),
}

/// Serves the loyalty API on `listener` until `shutdown` completes, then stops accepting calls
/// and finishes the ones in flight.
pub async fn run(
    listener: TcpListener,
    store: Store,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    // TLS first: a refused certificate stops the server before anything starts.
    let mut builder = tonic::transport::Server::builder();
    match &config.tls {
        Some(tls) => {
            builder = builder
                .tls_config(tls.server_tls_config())
                .map_err(|e| ServeError::Tls(error_chain(&e)))?;
            if tls.client_ca.is_some() {
                tracing::info!(
                    "TLS on, mutual: clients must present a certificate signed by the client CA"
                );
            } else {
                tracing::info!("TLS on (clients are not asked for certificates)");
            }
        }
        None => tracing::info!("TLS off: serving plaintext gRPC"),
    }

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
    // Turned true when shutdown begins, so change streams end instead of holding it up.
    let (drain, draining) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        let _ = drain.send(true);
    };
    let services = crate::services::Services::new(store.clone(), draining);
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
    let result = builder
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

    #[test]
    fn the_tls_configuration_never_shows_its_private_key() {
        let tls = TlsConfig {
            cert: b"-----BEGIN CERTIFICATE-----".to_vec(),
            key: b"-----BEGIN PRIVATE KEY-----\nc2VjcmV0IGtleSBtYXRlcmlhbA==".to_vec(),
            client_ca: None,
        };
        let shown = format!(
            "{:?}",
            ServerConfig {
                tls: Some(tls),
                ..ServerConfig::default()
            }
        );
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(!shown.contains("c2VjcmV0"), "the key leaks: {shown}");
        assert!(!shown.contains("PRIVATE KEY"), "the key leaks: {shown}");
    }

    #[test]
    fn a_missing_certificate_file_is_named_in_the_error() {
        let missing = Path::new("/nonexistent/loyalty-test/server.pem");
        let error = TlsConfig::from_files(missing, missing, None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("certificate file /nonexistent/loyalty-test/server.pem"),
            "{error}"
        );
    }
}
