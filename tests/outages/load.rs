//! Load on a server while its database goes away: workers alternating a write (CreateTenant)
//! and a read (ListTenants), recording what every call answered and how long it took.

use std::sync::Arc;
use std::time::{Duration, Instant};

use loyalty_grpc::pb;
use pb::operator_service_client::OperatorServiceClient;
use tokio::sync::watch;
use tonic::transport::Channel;
use tonic::{Code, Status};

use crate::common::{authed, fresh_key};

/// Longer than any call may take: a call that hangs fails the test instead of hanging it.
const CALL_DEADLINE: Duration = Duration::from_secs(30);

/// A write: creates a tenant under a fresh idempotency key.
pub async fn write(channel: &Channel, key: &str) -> Result<(), Status> {
    let mut request = authed(
        key,
        pb::CreateTenantRequest {
            name: "Outage Shop".into(),
            idempotency_key: fresh_key(),
        },
    );
    request.set_timeout(CALL_DEADLINE);
    OperatorServiceClient::new(channel.clone())
        .create_tenant(request)
        .await
        .map(drop)
}

/// A read: lists the tenants.
pub async fn read(channel: &Channel, key: &str) -> Result<(), Status> {
    let mut request = authed(key, pb::ListTenantsRequest {});
    request.set_timeout(CALL_DEADLINE);
    OperatorServiceClient::new(channel.clone())
        .list_tenants(request)
        .await
        .map(drop)
}

/// One call the load made.
#[derive(Debug, Clone)]
pub struct Call {
    /// When it started, since the load started.
    pub started: Duration,
    pub took: Duration,
    pub write: bool,
    pub code: Code,
    pub message: String,
}

/// Workers calling in a loop until stopped.
pub struct Load {
    origin: Instant,
    stop: watch::Sender<bool>,
    workers: Vec<tokio::task::JoinHandle<Vec<Call>>>,
}

impl Load {
    /// Starts `workers` workers, each pausing 20 ms between calls.
    pub fn start(channel: &Channel, key: &str, workers: usize) -> Load {
        let origin = Instant::now();
        let (stop, stopped) = watch::channel(false);
        let key: Arc<str> = key.into();
        let workers = (0..workers)
            .map(|worker| {
                let (channel, key, stopped) = (channel.clone(), key.clone(), stopped.clone());
                tokio::spawn(async move {
                    let mut calls = Vec::new();
                    let mut is_write = worker % 2 == 0;
                    while !*stopped.borrow() {
                        let started = Instant::now();
                        let outcome = if is_write {
                            write(&channel, &key).await
                        } else {
                            read(&channel, &key).await
                        };
                        let (code, message) = match outcome {
                            Ok(()) => (Code::Ok, String::new()),
                            Err(status) => (status.code(), status.message().to_owned()),
                        };
                        calls.push(Call {
                            started: started - origin,
                            took: started.elapsed(),
                            write: is_write,
                            code,
                            message,
                        });
                        is_write = !is_write;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    calls
                })
            })
            .collect();
        Load {
            origin,
            stop,
            workers,
        }
    }

    /// The time since the load started (the clock of [`Call::started`]).
    pub fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    /// Stops the workers and returns every call they made.
    pub async fn stop(self) -> Vec<Call> {
        let _ = self.stop.send(true);
        let mut calls = Vec::new();
        for worker in self.workers {
            calls.extend(worker.await.unwrap());
        }
        calls
    }
}

/// Prints what the calls answered and how long the failed ones took.
pub fn report(what: &str, calls: &[Call]) {
    let count = |code: Code| calls.iter().filter(|c| c.code == code).count();
    let mut failed: Vec<Duration> = calls
        .iter()
        .filter(|c| c.code == Code::Unavailable)
        .map(|c| c.took)
        .collect();
    failed.sort();
    let at = |q: usize| failed.get((failed.len() * q / 100).min(failed.len().saturating_sub(1)));
    eprintln!(
        "{what}: {} calls, {} OK, {} UNAVAILABLE (took median {:?}, max {:?}), {} other",
        calls.len(),
        count(Code::Ok),
        failed.len(),
        at(50),
        failed.last(),
        calls.len() - count(Code::Ok) - failed.len()
    );
}
