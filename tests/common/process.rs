//! `loyalty serve` as a child process on a free port, driven over a real socket; killed with
//! SIGKILL or stopped with SIGTERM, its output kept.
// Each test binary uses some of it.
#![allow(dead_code)]

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
    /// The threads reading its standard output and error.
    output: Vec<JoinHandle<String>>,
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
        ServerProcess::start_on(addr, database_url, args, &[("RUST_LOG", "info")])
    }

    /// Starts `loyalty serve` listening on `addr` (a restarted server takes its predecessor's
    /// address), with `args` and the environment variables `env` besides, and waits until it
    /// accepts connections. Its standard output and error are both kept ([`ServerProcess::log`]).
    pub fn start_on(
        addr: SocketAddr,
        database_url: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> ServerProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_loyalty"));
        for (var, _) in std::env::vars() {
            if var.starts_with("LOYALTY_") || var == "RUST_LOG" {
                command.env_remove(var);
            }
        }
        let mut child = command
            .args(["--database-url", database_url, "serve", "--listen"])
            .arg(addr.to_string())
            .args(["--pool-size", "4"])
            .args(args)
            .envs(env.iter().copied())
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start loyalty serve");
        // Drained on their own threads so a chatty log can never block the server on a full
        // pipe.
        let drain = |mut pipe: Box<dyn Read + Send>| {
            thread::spawn(move || {
                let mut log = String::new();
                let _ = pipe.read_to_string(&mut log);
                log
            })
        };
        let stdout = drain(Box::new(child.stdout.take().unwrap()));
        let stderr = drain(Box::new(child.stderr.take().unwrap()));
        let mut server = ServerProcess {
            child,
            addr,
            output: vec![stdout, stderr],
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
            thread::sleep(Duration::from_millis(20));
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

    /// Kills the server (SIGKILL, at once: no shutdown, no flushing) and waits until it is
    /// gone.
    pub fn kill(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// Stops the server with SIGTERM (a graceful shutdown), waits for it, and returns its
    /// standard output and error.
    pub fn stop(mut self) -> String {
        if matches!(self.child.try_wait(), Ok(None)) {
            let pid = self.child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let deadline = Instant::now() + PATIENCE;
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(20));
            }
        }
        self.log()
    }

    /// Kills the server and returns its standard output and error.
    pub fn log(&mut self) -> String {
        self.kill();
        self.output
            .drain(..)
            .map(|t| t.join().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("")
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
