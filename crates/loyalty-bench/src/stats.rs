//! What a run records, and exact statistics over it.
//!
//! Every call's latency is kept (nanoseconds, 8 bytes a call), so percentiles are exact
//! nearest-rank values, not estimates. Rates are computed in integers: the workspace denies
//! float arithmetic, and none is needed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A call the system acknowledged, to be found in the ledger exactly once afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ack {
    /// An earn on this bill reference.
    Earned(String),
    /// A redeem on this bill reference.
    Redeemed(String),
    /// A reserve that created this hold.
    Reserved(String),
    /// A capture of this hold.
    Captured(String),
}

/// One caller's (or, merged, one run's) record.
#[derive(Debug)]
pub struct Recorder {
    /// Calls started before this instant are the warm-up: done and checked, not counted.
    measure_from: Instant,
    latencies_ns: Vec<u64>,
    errors: BTreeMap<String, u64>,
    retries: u64,
    last_end: Option<Instant>,
    acks: Vec<Ack>,
}

/// The figures of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Calls counted (after the warm-up), failed ones included.
    pub calls: u64,
    /// Of those, calls that failed after their retries.
    pub failed: u64,
    /// Counted calls per second of the measured window.
    pub per_sec: u64,
    /// Median latency.
    pub p50: Duration,
    /// 95th percentile.
    pub p95: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Slowest call.
    pub max: Duration,
    /// Failed counted calls by status code name.
    pub errors: BTreeMap<String, u64>,
    /// Retries of calls (same idempotency key) after UNAVAILABLE, a deadline or a transport
    /// error, during the whole run.
    pub retries: u64,
}

impl Recorder {
    /// An empty record; calls started before `measure_from` are not counted.
    pub fn new(measure_from: Instant) -> Recorder {
        Recorder {
            measure_from,
            latencies_ns: Vec::new(),
            errors: BTreeMap::new(),
            retries: 0,
            last_end: None,
            acks: Vec::new(),
        }
    }

    /// Records a call that started at `started` and just ended, failed with the status code
    /// named `Err(code)` or not.
    pub fn record(&mut self, started: Instant, outcome: Result<(), &str>) {
        if started < self.measure_from {
            return;
        }
        let ended = Instant::now();
        let nanos = ended.duration_since(started).as_nanos();
        self.latencies_ns
            .push(u64::try_from(nanos).unwrap_or(u64::MAX));
        if let Err(code) = outcome {
            *self.errors.entry(code.to_owned()).or_default() += 1;
        }
        self.last_end = Some(self.last_end.map_or(ended, |last| last.max(ended)));
    }

    /// Notes that a call was retried with the same idempotency key.
    pub fn retried(&mut self) {
        self.retries += 1;
    }

    /// Notes an acknowledged call (warm-up calls too: they are in the ledger).
    pub fn ack(&mut self, ack: Ack) {
        self.acks.push(ack);
    }

    /// Every acknowledged call.
    pub fn acks(&self) -> &[Ack] {
        &self.acks
    }

    /// Adds another caller's record to this one.
    pub fn merge(&mut self, other: Recorder) {
        self.latencies_ns.extend(other.latencies_ns);
        for (code, n) in other.errors {
            *self.errors.entry(code).or_default() += n;
        }
        self.retries += other.retries;
        self.last_end = match (self.last_end, other.last_end) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.acks.extend(other.acks);
    }

    /// The figures: rate over the window from the end of the warm-up to the last counted
    /// call's end, and exact percentiles.
    pub fn summary(&self) -> Summary {
        let mut sorted = self.latencies_ns.clone();
        sorted.sort_unstable();
        let calls = u64::try_from(sorted.len()).unwrap_or(u64::MAX);
        let window = self
            .last_end
            .map_or(Duration::ZERO, |end| end.duration_since(self.measure_from));
        let at = |pct| Duration::from_nanos(percentile(&sorted, pct));
        Summary {
            calls,
            failed: self.errors.values().sum(),
            per_sec: per_second(calls, window),
            p50: at(50),
            p95: at(95),
            p99: at(99),
            max: Duration::from_nanos(sorted.last().copied().unwrap_or(0)),
            errors: self.errors.clone(),
            retries: self.retries,
        }
    }
}

/// The nearest-rank `pct`th percentile of `sorted` (ascending); 0 when empty.
pub fn percentile(sorted: &[u64], pct: u64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let n = u64::try_from(sorted.len()).unwrap_or(u64::MAX);
    let rank = (pct.min(100) * n).div_ceil(100).max(1);
    let index = usize::try_from(rank - 1).unwrap_or(0);
    sorted[index.min(sorted.len() - 1)]
}

/// `count` events over `window`, per second (0 for an empty window).
pub fn per_second(count: u64, window: Duration) -> u64 {
    let nanos = window.as_nanos();
    if nanos == 0 {
        return 0;
    }
    u64::try_from(u128::from(count) * 1_000_000_000 / nanos).unwrap_or(u64::MAX)
}

/// `part / whole` in whole percent (0 when `whole` is 0).
pub fn percent(part: u64, whole: u64) -> u64 {
    if whole == 0 {
        return 0;
    }
    u64::try_from(u128::from(part) * 100 / u128::from(whole)).unwrap_or(u64::MAX)
}

/// `a / b` as a decimal string with two places ("1.07"); "-" when `b` is zero.
pub fn ratio(a: Duration, b: Duration) -> String {
    let (a, b) = (a.as_nanos(), b.as_nanos());
    if b == 0 {
        return "-".into();
    }
    let hundredths = (a * 100 + b / 2) / b;
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_values_of_the_recorded_latencies() {
        let sorted: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&sorted, 50), 50);
        assert_eq!(percentile(&sorted, 95), 95);
        assert_eq!(percentile(&sorted, 99), 99);
        assert_eq!(percentile(&sorted, 100), 100);
        assert_eq!(percentile(&[7], 99), 7);
        assert_eq!(percentile(&[], 50), 0);
    }

    #[test]
    fn a_rate_is_the_count_over_the_window_in_whole_calls_per_second() {
        assert_eq!(per_second(20_000, Duration::from_secs(2)), 10_000);
        assert_eq!(per_second(3, Duration::from_millis(1500)), 2);
        assert_eq!(per_second(5, Duration::ZERO), 0);
    }

    #[test]
    fn ratios_print_with_two_decimals() {
        assert_eq!(
            ratio(Duration::from_millis(107), Duration::from_millis(100)),
            "1.07"
        );
        assert_eq!(ratio(Duration::from_millis(1), Duration::ZERO), "-");
        assert_eq!(percent(1, 2), 50);
    }

    #[test]
    fn warm_up_calls_are_not_counted_but_their_acknowledgements_are_kept() {
        let before = Instant::now();
        let mut rec = Recorder::new(before + Duration::from_secs(3600));
        rec.record(before, Err("Unavailable"));
        rec.ack(Ack::Earned("B0-0".into()));
        let summary = rec.summary();
        assert_eq!(summary.calls, 0);
        assert!(summary.errors.is_empty());
        assert_eq!(rec.acks().len(), 1);
    }

    #[test]
    fn merged_records_add_up_calls_and_errors() {
        let start = Instant::now();
        let mut a = Recorder::new(start);
        let mut b = Recorder::new(start);
        a.record(Instant::now(), Ok(()));
        b.record(Instant::now(), Err("Internal"));
        b.record(Instant::now(), Err("Internal"));
        b.retried();
        a.merge(b);
        let summary = a.summary();
        assert_eq!(summary.calls, 3);
        assert_eq!(summary.failed, 2);
        assert_eq!(summary.errors.get("Internal"), Some(&2));
        assert_eq!(summary.retries, 1);
    }
}
