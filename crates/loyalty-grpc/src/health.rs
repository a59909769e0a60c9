//! Health checking that follows the database: `grpc.health.v1` reports every loyalty service
//! (and the server as a whole, the empty service name) SERVING while the database answers and
//! NOT_SERVING while it does not, so a load balancer stops sending calls that could only fail.

use std::time::Duration;

use loyalty_store::Store;
use tokio::sync::watch;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// How often the database is probed. A probe of an unreachable database fails within the
/// store's timeout, so an outage shows within `PROBE_EVERY` plus that timeout, and the return
/// of the database within `PROBE_EVERY` plus the time to connect.
pub const PROBE_EVERY: Duration = Duration::from_millis(250);

/// Sets every service's status to `status` (the empty name is the server as a whole).
pub async fn report(reporter: &HealthReporter, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for name in crate::services::SERVICE_NAMES {
        reporter.set_service_status(name, status).await;
    }
}

/// Probes the database with [`Store::ping`] every [`PROBE_EVERY`] and reports the outcome
/// whenever it changes, until `stop` turns true. Starts from SERVING (the server has just
/// opened and migrated its database).
pub async fn watch(store: Store, reporter: HealthReporter, mut stop: watch::Receiver<bool>) {
    let mut serving = true;
    loop {
        tokio::select! {
            () = tokio::time::sleep(PROBE_EVERY) => {}
            _ = stop.changed() => return,
        }
        let outcome = tokio::select! {
            outcome = store.ping() => outcome,
            _ = stop.changed() => return,
        };
        match (serving, outcome) {
            (true, Err(err)) => {
                tracing::warn!(error = %err, "the database is unreachable: health is NOT_SERVING");
                report(&reporter, ServingStatus::NotServing).await;
                serving = false;
            }
            (false, Ok(())) => {
                tracing::info!("the database answers again: health is SERVING");
                report(&reporter, ServingStatus::Serving).await;
                serving = true;
            }
            _ => {}
        }
    }
}
