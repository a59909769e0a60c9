//! Periodic work of a running server: expire overdue points (and mature pending ones) and
//! release holds whose time-to-live passed. Safe with several replicas: every membership is
//! settled in its own transaction under its row lock, so two replicas sweeping at once simply
//! find nothing left to do.

use std::time::Duration;

use loyalty_store::Store;
use tokio::sync::watch;

/// Sweeps every `interval` until `stop` turns true.
pub async fn run(store: Store, interval: Duration, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => return,
        }
        // Through the writer like every other write, so the sweep never competes with it for
        // SQLite's lock.
        let outcome = store
            .submit(|s| {
                sweep_once(s);
                Ok(())
            })
            .await;
        if let Err(err) = outcome {
            tracing::error!(error = %err, "sweep task failed");
        }
    }
}

/// One sweep: expiry of points, then of holds.
pub fn sweep_once(store: &Store) {
    match store.expire_due(None, 1000) {
        Ok(report) => {
            if report.memberships > 0 {
                crate::observe::count_points(
                    crate::observe::Movement::Expired,
                    report.points_expired,
                );
                tracing::info!(memberships = report.memberships, points = %report.points_expired, "expired overdue points");
            }
        }
        Err(err) => tracing::warn!(error = %err, "point expiry sweep failed"),
    }
    match store.expire_holds(None) {
        Ok(0) => {}
        Ok(released) => tracing::info!(released, "released expired holds"),
        Err(err) => tracing::warn!(error = %err, "hold expiry sweep failed"),
    }
}
