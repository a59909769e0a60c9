//! The real server binary as child processes: the tenant and keys made with its operator
//! commands, then `serve` on 127.0.0.1 with a port the kernel picks, found in its log.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// How long a server may take to start listening (PostgreSQL replicas migrate one after
/// another) and then to report itself serving.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stopped server may take to finish its in-flight calls before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// What the server logs once it listens, followed by the address.
const LISTENING: &str = "serving gRPC on ";

/// How to start the servers.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The `loyalty` binary.
    pub bin: PathBuf,
    /// How many `serve` processes share the database.
    pub replicas: usize,
    /// Database connections in each server's pool.
    pub pool_size: u32,
}

/// Running servers on one database, with a tenant and its keys; dropping it stops them.
#[derive(Debug)]
pub struct Fleet {
    children: Vec<Child>,
    addrs: Vec<SocketAddr>,
    /// The tenant the bench works in.
    pub tenant: String,
    /// An admin key of the tenant (program, adjustments).
    pub admin_key: String,
    /// A service key of the tenant (the checkout calls).
    pub service_key: String,
}

/// Runs an operator command of the server binary on `url` and returns what it printed.
fn operator(bin: &Path, url: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(bin)
        .args(args)
        .args(["--database-url", url])
        .stdin(Stdio::null())
        .output()
        .with_context(|| {
            format!(
                "running {} (build it with `cargo build --release`, or pass --server-bin)",
                bin.display()
            )
        })?;
    if !out.status.success() {
        bail!(
            "{} {} failed: {}",
            bin.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The address in a server log's "serving gRPC on ADDR" line, once it is there.
fn listening_addr(log: &str) -> Option<SocketAddr> {
    let at = log.find(LISTENING)? + LISTENING.len();
    log[at..].split_whitespace().next()?.parse().ok()
}

/// The last lines of a log, for an error message.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

impl Fleet {
    /// Creates the tenant and keys on `url`, starts the servers (logs in `log_dir`) and waits
    /// until each listens. Blocking: call it from a blocking thread.
    pub fn start(options: &ServerOptions, url: &str, log_dir: &Path) -> anyhow::Result<Fleet> {
        let bin = &options.bin;
        // Create and migrate the database (operator commands never create one).
        operator(bin, url, &["migrate"])?;
        let tenant = operator(bin, url, &["create-tenant", "Bench shop"])?;
        let key = |role: &str| {
            operator(
                bin,
                url,
                &[
                    "issue-key",
                    "--role",
                    role,
                    "--tenant",
                    &tenant,
                    "--label",
                    "bench",
                ],
            )
        };
        let admin_key = key("admin")?;
        let service_key = key("service")?;
        let mut fleet = Fleet {
            children: Vec::new(),
            addrs: Vec::new(),
            tenant,
            admin_key,
            service_key,
        };
        let mut logs = Vec::new();
        for replica in 0..options.replicas.max(1) {
            let log = log_dir.join(format!("server-{replica}.log"));
            let stderr =
                File::create(&log).with_context(|| format!("creating {}", log.display()))?;
            let child = Command::new(bin)
                .args(["serve", "--database-url", url, "--listen", "127.0.0.1:0"])
                .args(["--pool-size", &options.pool_size.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .with_context(|| format!("starting {}", bin.display()))?;
            fleet.children.push(child);
            logs.push(log);
        }
        let deadline = Instant::now() + START_TIMEOUT;
        for (child, log) in fleet.children.iter_mut().zip(&logs) {
            loop {
                if let Some(addr) =
                    listening_addr(&std::fs::read_to_string(log).unwrap_or_default())
                {
                    fleet.addrs.push(addr);
                    break;
                }
                if let Some(status) = child.try_wait()? {
                    bail!("the server exited ({status}):\n{}", tail(log));
                }
                if Instant::now() > deadline {
                    bail!(
                        "the server did not listen within {START_TIMEOUT:?}:\n{}",
                        tail(log)
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(fleet)
    }

    /// Servers started elsewhere (`--connect`), with the tenant and keys to use: nothing to
    /// start, nothing to stop.
    pub fn existing(
        addrs: Vec<SocketAddr>,
        tenant: String,
        admin_key: String,
        service_key: String,
    ) -> Fleet {
        Fleet {
            children: Vec::new(),
            addrs,
            tenant,
            admin_key,
            service_key,
        }
    }

    /// The servers' addresses.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The servers' process ids.
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }

    /// Waits until every server's health service says SERVING.
    pub async fn wait_healthy(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        for addr in &self.addrs {
            loop {
                let serving = async {
                    let channel =
                        tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
                            .timeout(Duration::from_secs(5))
                            .connect()
                            .await?;
                    let mut health = HealthClient::new(channel);
                    let status = health
                        .check(HealthCheckRequest {
                            service: String::new(),
                        })
                        .await?
                        .into_inner()
                        .status;
                    anyhow::Ok(status == ServingStatus::Serving as i32)
                };
                if serving.await.unwrap_or(false) {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("the server on {addr} did not report SERVING in time");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }

    /// Stops every server: SIGTERM (they finish in-flight calls), then a kill after
    /// ten seconds.
    pub fn stop(&mut self) {
        for child in &mut self.children {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        for mut child in self.children.drain(..) {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_read_from_the_servers_log_line() {
        let log = "2026-11-21T10:00:00Z  INFO loyalty: loyalty serving gRPC on 127.0.0.1:41234 \
                   addr=127.0.0.1:41234 backend=Sqlite\n";
        assert_eq!(
            listening_addr(log),
            Some(SocketAddr::from(([127, 0, 0, 1], 41234)))
        );
        assert_eq!(listening_addr("starting\n"), None);
    }
}
