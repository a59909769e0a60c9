//! A property test over a small in-memory wallet built only from the crate's public rules:
//! after any sequence of earn, spend, reserve, capture, release, expire, mature, reverse and
//! return operations, the balances equal what the entries add up to and what the lots hold.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::*;
use crate::hold::{Hold, HoldOutcome};
use crate::lots::{
    Allocation, Lot, apply_spend, matured, new_lot, overdue, plan_spend, restore,
    split as split_by_state,
};
use crate::program::{ExpiryPolicy, ProgramRules, ReturnPolicy, Rules};
use crate::reversal::plan_take_back;
use crate::values::Currency;

#[derive(Debug, Clone)]
enum Op {
    Earn(u64),
    Spend(u64),
    Reserve(u64),
    Capture(usize, Option<u64>),
    Release(usize),
    ExpireHold(usize),
    Advance(i64),
    Sweep,
    Reverse(usize, u64),
    Return(u64),
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u64..100).prop_map(Op::Earn),
        2 => (1u64..120).prop_map(Op::Spend),
        2 => (1u64..120).prop_map(Op::Reserve),
        2 => (any::<usize>(), prop::option::of(1u64..120)).prop_map(|(i, a)| Op::Capture(i, a)),
        1 => any::<usize>().prop_map(Op::Release),
        1 => any::<usize>().prop_map(Op::ExpireHold),
        2 => (0i64..240).prop_map(Op::Advance),
        2 => Just(Op::Sweep),
        1 => (any::<usize>(), 1u64..120).prop_map(|(i, n)| Op::Reverse(i, n)),
        1 => (1u64..60).prop_map(Op::Return),
    ]
}

#[derive(Debug, Clone)]
struct Wallet {
    rules: Rules,
    now: DateTime<Utc>,
    balances: Balances,
    entries: Vec<(EntryKind, Points, BucketDelta)>,
    lots: Vec<Lot>,
    holds: Vec<Hold>,
    /// The lots each earn created, as a bill's own lots for reversals.
    bills: Vec<Vec<Uuid>>,
    next_id: u128,
}

fn pts(n: u64) -> Points {
    Points::whole(n).unwrap()
}

impl Wallet {
    fn new(policy: ReturnPolicy) -> Self {
        let mut rules = ProgramRules::new(Currency::new("INR").unwrap());
        rules.expiry = ExpiryPolicy::AfterMonths(1);
        rules.pending_days = 3;
        rules.return_policy = policy;
        Wallet {
            rules: rules.validate().unwrap(),
            now: Utc.with_ymd_and_hms(2025, 1, 31, 9, 0, 0).unwrap(),
            balances: Balances::ZERO,
            entries: Vec::new(),
            lots: Vec::new(),
            holds: Vec::new(),
            bills: Vec::new(),
            next_id: 1,
        }
    }

    fn record(&mut self, kind: EntryKind, points: Points, delta: BucketDelta) -> Result<()> {
        if !points.is_zero() {
            self.balances = self.balances.apply(kind, points, &delta)?;
            self.entries.push((kind, points, delta));
        }
        Ok(())
    }

    fn credit(&mut self, kind: EntryKind, points: Points) -> Result<Vec<Uuid>> {
        let split = credit(&self.balances, kind, points)?;
        let mut created = Vec::new();
        let mut pending = false;
        if !split.to_lot.is_zero() {
            let id = Uuid::from_u128(self.next_id);
            self.next_id += 1;
            let lot = new_lot(&self.rules, kind, id, split.to_lot, self.now)?;
            pending = lot.pending;
            self.lots.push(lot);
            created.push(id);
        }
        self.record(kind, points, split.delta(pending))?;
        Ok(created)
    }

    fn settle(&mut self, outcome: &HoldOutcome) -> Result<()> {
        let c = outcome.captured.value();
        let r = outcome.released.value();
        self.record(
            EntryKind::Captured,
            outcome.captured,
            BucketDelta {
                held: -c,
                ..BucketDelta::ZERO
            },
        )?;
        restore(&mut self.lots, &outcome.released_allocations)?;
        self.record(
            EntryKind::Released,
            outcome.released,
            BucketDelta {
                available: r,
                held: -r,
                ..BucketDelta::ZERO
            },
        )
    }

    fn take(&mut self, kind: EntryKind, allocations: &[Allocation], debt: Points) -> Result<()> {
        let by_state = split_by_state(&self.lots, allocations)?;
        apply_spend(&mut self.lots, allocations)?;
        let total = by_state
            .available
            .checked_add(by_state.pending)?
            .checked_add(debt)?;
        self.record(
            kind,
            total,
            BucketDelta {
                available: -by_state.available.value(),
                pending: -by_state.pending.value(),
                held: Decimal::ZERO,
                debt: debt.value(),
            },
        )
    }

    fn step(&self, op: &Op) -> Result<Wallet> {
        let mut w = self.clone();
        let now = w.now;
        match *op {
            Op::Earn(n) => {
                let created = w.credit(EntryKind::Earned, pts(n))?;
                w.bills.push(created);
            }
            Op::Return(n) => {
                w.credit(EntryKind::Returned, pts(n))?;
            }
            Op::Spend(n) => {
                let plan = plan_spend(&w.lots, pts(n), now)?;
                apply_spend(&mut w.lots, &plan)?;
                let delta = BucketDelta {
                    available: -Decimal::from(n),
                    ..BucketDelta::ZERO
                };
                w.record(EntryKind::Redeemed, pts(n), delta)?;
            }
            Op::Reserve(n) => {
                let hold = Hold::reserve(&w.lots, pts(n), now, now + TimeDelta::hours(6))?;
                apply_spend(&mut w.lots, &hold.allocations)?;
                let delta = BucketDelta {
                    available: -Decimal::from(n),
                    held: Decimal::from(n),
                    ..BucketDelta::ZERO
                };
                w.record(EntryKind::Reserved, pts(n), delta)?;
                w.holds.push(hold);
            }
            Op::Capture(i, _) | Op::Release(i) | Op::ExpireHold(i) if !w.holds.is_empty() => {
                let at = i % w.holds.len();
                let outcome = match *op {
                    Op::Capture(_, amount) => w.holds[at].capture(amount.map(pts), now)?,
                    Op::Release(_) => w.holds[at].release()?,
                    _ => w.holds[at].expire(now)?,
                };
                w.settle(&outcome)?;
            }
            Op::Capture(..) | Op::Release(_) | Op::ExpireHold(_) => {}
            Op::Advance(hours) => w.now = now + TimeDelta::hours(hours),
            Op::Sweep => {
                let due = overdue(&w.lots, now);
                w.take(EntryKind::Expired, &due, Points::ZERO)?;
                for ripe in matured(&w.lots, now) {
                    if let Some(lot) = w.lots.iter_mut().find(|l| l.id == ripe.lot_id) {
                        lot.pending = false;
                    }
                    let delta = BucketDelta {
                        available: ripe.points.value(),
                        pending: -ripe.points.value(),
                        ..BucketDelta::ZERO
                    };
                    w.record(EntryKind::Matured, ripe.points, delta)?;
                }
            }
            Op::Reverse(i, n) if !w.bills.is_empty() => {
                let bill = &w.bills[i % w.bills.len()];
                let (own, others): (Vec<Lot>, Vec<Lot>) =
                    w.lots.iter().cloned().partition(|l| bill.contains(&l.id));
                let plan = plan_take_back(
                    &own,
                    &others,
                    pts(n),
                    w.balances.available,
                    w.balances.pending,
                    w.rules.return_policy,
                    now,
                )?;
                w.take(EntryKind::Reversed, &plan.from_lots, plan.to_debt)?;
            }
            Op::Reverse(..) => {}
        }
        Ok(w)
    }

    fn violations(&self) -> Vec<Violation> {
        let replayed = self
            .entries
            .iter()
            .try_fold(Balances::ZERO, |b, (kind, points, delta)| {
                b.apply(*kind, *points, delta)
            })
            .unwrap();
        let lots = LotTotals::of(&self.lots, &self.holds).unwrap();
        check_invariants(&self.balances, &replayed, &lots)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_lots_always_add_up_to_the_balances(
        allow_debt in any::<bool>(),
        ops in prop::collection::vec(arb_op(), 1..60),
    ) {
        let policy = if allow_debt { ReturnPolicy::AllowDebt } else { ReturnPolicy::CapAtAvailable };
        let mut wallet = Wallet::new(policy);
        for op in &ops {
            if let Ok(next) = wallet.step(op) {
                wallet = next;
            }
            let violations = wallet.violations();
            prop_assert!(violations.is_empty(), "after {op:?}: {violations:?}");
            let b = &wallet.balances;
            let lifetime = b.earned.value() - b.redeemed.value() - b.expired.value() - b.reversed.value();
            prop_assert_eq!(b.net(), lifetime);
            prop_assert!(b.debt.is_zero() || allow_debt);
        }
    }
}

#[test]
fn a_shop_members_month_adds_up_step_by_step() {
    let mut wallet = Wallet::new(ReturnPolicy::AllowDebt);
    let script = [
        Op::Earn(150),   // pending for 3 days
        Op::Advance(72), // 3 February
        Op::Sweep,       // matures: 150 available
        Op::Earn(50),    // ORDER123, pending
        Op::Spend(30),   // ORDER124, from the lot expiring first
        Op::Reserve(40), // checkout hold
        Op::Capture(0, Some(25)),
        Op::Advance(72),      // 6 February
        Op::Sweep,            // ORDER123's 50 mature
        Op::Reverse(1, 50),   // ORDER123 cancelled
        Op::Advance(22 * 24), // 28 February: the first lot expires
        Op::Sweep,
        Op::Reverse(0, 150), // the first bill cancelled: nothing left, all debt
        Op::Earn(100),       // repays debt only
        Op::Earn(80),        // repays the rest, 30 into a pending lot
    ];
    for op in &script {
        wallet = wallet.step(op).unwrap();
        assert!(wallet.violations().is_empty(), "after {op:?}");
    }
    let expected = Balances {
        available: pts(0),
        pending: pts(30),
        held: pts(0),
        debt: pts(0),
        earned: pts(380),
        redeemed: pts(55),
        expired: pts(95),
        reversed: pts(200),
    };
    assert_eq!(wallet.balances, expected);
    assert_eq!(wallet.holds[0].status, crate::hold::HoldStatus::Captured);
}
