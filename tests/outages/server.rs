//! `loyalty serve` as a child process on a free port, driven over a real socket.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// How long a server may take to accept connections.
const PATIENCE: Duration = Duration::from_secs(30);

/// A running `loyalty serve`; killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    stderr: Option<JoinHandle<String>>,
}

impl ServerProcess {
    /// Starts `loyalty serve` on `database_url` (already migrated) with `args` besides, and
    /// waits until it accepts connections.
    pub fn start(database_url: &str, args: &[&str]) -> ServerProcess {
        // Free now; the tiny window before the server binds it again is acceptable in tests.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_loyalty"));
        for (var, _) in std::env::vars() {
            if var.starts_with("LOYALTY_") {
                command.env_remove(var);
            }
        }
        let mut child = command
            .args(["--database-url", database_url, "serve", "--listen"])
            .arg(addr.to_string())
            .args(["--pool-size", "4"])
            .args(args)
            .env("RUST_LOG", "info")
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start loyalty serve");
        // Drained on its own thread so a chatty log can never block the server on a full pipe.
        let mut pipe = child.stderr.take().unwrap();
        let stderr = thread::spawn(move || {
            let mut log = String::new();
            let _ = pipe.read_to_string(&mut log);
            log
        });
        let mut server = ServerProcess {
            child,
            addr,
            stderr: Some(stderr),
        };
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("loyalty serve exited early ({status}):\n{}", server.log());
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "loyalty serve did not accept connections on {addr} within {PATIENCE:?}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// A channel to the server (connecting on first use, and again after a broken connection).
    pub fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect_timeout(Duration::from_secs(5))
            .connect_lazy()
    }

    /// The server's overall health (`grpc.health.v1`, the empty service name).
    pub async fn health(&self) -> ServingStatus {
        let mut client = HealthClient::new(self.channel());
        let mut request = tonic::Request::new(HealthCheckRequest {
            service: String::new(),
        });
        request.set_timeout(Duration::from_secs(5));
        let status = client.check(request).await.unwrap().into_inner().status;
        ServingStatus::try_from(status).unwrap()
    }

    /// Waits (checking every 50 ms, at most `patience`) until the health is `wanted`; returns
    /// how long that took.
    pub async fn await_health(&self, wanted: ServingStatus, patience: Duration) -> Duration {
        let start = Instant::now();
        loop {
            let now = self.health().await;
            if now == wanted {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < patience,
                "health stayed {now:?}, not {wanted:?}, for {patience:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the server and returns its log.
    pub fn log(&mut self) -> String {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        self.stderr
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
