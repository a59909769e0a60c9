//! The workloads, and which member each call goes to.

use clap::ValueEnum;

/// What the callers of one run do, call after call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Workload {
    /// Earn on a new bill, spread over every member.
    EarnSpread,
    /// Earn on a new bill, every call on the same member.
    EarnHot,
    /// Redeem points on a new bill, spread over the members.
    Redeem,
    /// Reserve points for a new bill, then capture the hold (two calls).
    ReserveCapture,
    /// Quote a bill (read-only).
    Quote,
    /// Read a member's balances (read-only).
    GetBalances,
    /// A whole checkout as the billing example does it: balances, quote, reserve, capture,
    /// earn on the same bill (five calls).
    Checkout,
}

impl Workload {
    /// Every workload, in the order `run` runs them.
    pub const ALL: [Workload; 7] = [
        Workload::EarnSpread,
        Workload::EarnHot,
        Workload::Redeem,
        Workload::ReserveCapture,
        Workload::Quote,
        Workload::GetBalances,
        Workload::Checkout,
    ];

    /// Its name on the command line and in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Workload::EarnSpread => "earn-spread",
            Workload::EarnHot => "earn-hot",
            Workload::Redeem => "redeem",
            Workload::ReserveCapture => "reserve-capture",
            Workload::Quote => "quote",
            Workload::GetBalances => "get-balances",
            Workload::Checkout => "checkout",
        }
    }

    /// Whether the members need points before the run (the workload spends them, or quotes
    /// a redemption).
    pub fn needs_points(self) -> bool {
        matches!(
            self,
            Workload::Redeem | Workload::ReserveCapture | Workload::Quote | Workload::Checkout
        )
    }

    /// The member (an index below `members`) that call `seq` of caller `caller` goes to.
    /// Spread workloads rotate every caller through all members, offset so that callers
    /// rarely meet on one member at the same time; the hot workload always picks member 0.
    pub fn member(self, caller: usize, seq: u64, in_flight: usize, members: usize) -> usize {
        if self == Workload::EarnHot || members <= 1 {
            return 0;
        }
        let step = u64::try_from(in_flight.max(1)).unwrap_or(1);
        let start = u64::try_from(caller).unwrap_or(0);
        let members = u64::try_from(members).unwrap_or(1);
        usize::try_from((start + seq * step) % members).unwrap_or(0)
    }
}

impl std::fmt::Display for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The bill reference of call `seq` of caller `caller` (unique in a run).
pub fn reference(caller: usize, seq: u64) -> String {
    format!("B{caller}-{seq}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hot_workload_always_picks_the_first_member() {
        for seq in 0..100 {
            assert_eq!(Workload::EarnHot.member(7, seq, 64, 1000), 0);
        }
    }

    #[test]
    fn concurrent_callers_of_a_spread_workload_pick_different_members() {
        let in_flight = 64;
        for seq in 0..50 {
            let mut picked: Vec<usize> = (0..in_flight)
                .map(|caller| Workload::EarnSpread.member(caller, seq, in_flight, 1000))
                .collect();
            picked.sort_unstable();
            picked.dedup();
            assert_eq!(picked.len(), in_flight);
        }
    }

    #[test]
    fn spread_calls_reach_every_member() {
        let members = 100;
        let mut seen = vec![false; members];
        for caller in 0..4 {
            for seq in 0..100 {
                seen[Workload::Redeem.member(caller, seq, 4, members)] = true;
            }
        }
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn workload_names_match_the_command_line() {
        for w in Workload::ALL {
            let parsed = Workload::from_str(w.name(), false).ok();
            assert_eq!(parsed, Some(w));
        }
    }
}
