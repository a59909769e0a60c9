//! The closed loop: `in_flight` callers, each making its next call as soon as the previous one
//! answered, for a warm-up (not counted) and then a fixed time. The loop stops by itself: no
//! caller starts a call after the deadline, and every call has a timeout.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::stats::Recorder;
use crate::workload::Workload;

/// Something the workloads can be run against (a gRPC server, the store in-process).
pub trait Target: Send + Sync + 'static {
    /// Performs one step of `workload` (one or more calls, each recorded in `rec`) as call
    /// number `seq` of caller `caller`.
    fn step(
        &self,
        workload: Workload,
        caller: usize,
        seq: u64,
        rec: &mut Recorder,
    ) -> impl Future<Output = ()> + Send;
}

/// How long and how hard one run drives its target.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// The workload.
    pub workload: Workload,
    /// Concurrent callers.
    pub in_flight: usize,
    /// Time before the measured window (calls made, checked, not counted).
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
}

/// How long after the deadline the callers may take to finish their last calls (each call has
/// a shorter timeout of its own).
const DRAIN: Duration = Duration::from_secs(120);

/// Runs `plan` against `target` and returns the merged record of every caller.
pub async fn drive<T: Target>(target: Arc<T>, plan: Plan) -> anyhow::Result<Recorder> {
    let started = Instant::now();
    let measure_from = started + plan.warmup;
    let deadline = measure_from + plan.duration;
    let mut callers = tokio::task::JoinSet::new();
    for caller in 0..plan.in_flight.max(1) {
        let target = Arc::clone(&target);
        callers.spawn(async move {
            let mut rec = Recorder::new(measure_from);
            let mut seq = 0u64;
            while Instant::now() < deadline {
                target.step(plan.workload, caller, seq, &mut rec).await;
                seq += 1;
            }
            rec
        });
    }
    let mut merged = Recorder::new(measure_from);
    let collect = async {
        while let Some(done) = callers.join_next().await {
            merged.merge(done.context("a caller task failed")?);
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(plan.warmup + plan.duration + DRAIN, collect)
        .await
        .context("callers did not finish their last calls in time")??;
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Ack;

    /// A target whose every call takes a millisecond and succeeds.
    struct Sleeper;

    impl Target for Sleeper {
        async fn step(&self, _: Workload, caller: usize, seq: u64, rec: &mut Recorder) {
            let started = Instant::now();
            tokio::time::sleep(Duration::from_millis(1)).await;
            rec.record(started, Ok(()));
            rec.ack(Ack::Earned(crate::workload::reference(caller, seq)));
        }
    }

    #[tokio::test]
    async fn the_loop_stops_by_itself_and_counts_only_the_measured_window() -> anyhow::Result<()> {
        let plan = Plan {
            workload: Workload::EarnSpread,
            in_flight: 4,
            warmup: Duration::from_millis(100),
            duration: Duration::from_millis(300),
        };
        let rec = drive(Arc::new(Sleeper), plan).await?;
        let summary = rec.summary();
        assert!(summary.calls > 0);
        // Warm-up calls are acknowledged (and checked) but not counted.
        assert!(rec.acks().len() as u64 > summary.calls);
        // At most 4 callers x 300 ms / 1 ms calls.
        assert!(summary.calls <= 4 * 300);
        Ok(())
    }
}
