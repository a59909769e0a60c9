//! Flat cost on the hot path.
//!
//! - The tier measure kept as day buckets (`qualifying_spend_days`) equals, after every step of
//!   a long seeded scenario (late bills, bills on the window's edge and on midnights,
//!   redemptions before earning, partial and full returns, re-evaluations), the sum over the
//!   bills that it replaced, both as the test computes it and as the old SQL gave it; tiers
//!   move exactly as `loyalty-core` says they should with that sum. On both backends.
//! - An upgraded database (the migration's backfill) holds the same buckets and measures the
//!   same. On both backends.
//! - Every statement that earn, redeem, reserve/capture/release, quote, reverse and the
//!   balance reads execute finds its rows through an index, never by scanning a member's
//!   history (SQLite's `EXPLAIN QUERY PLAN` of the statements as they ran): see `plans`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "flat_cost/plans.rs"]
mod plans;
mod scenario;

use chrono::{DateTime, Duration, NaiveDateTime, NaiveTime, Utc};
use diesel::dsl::sql;
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_migrations::MigrationHarness;
use loyalty_core::{
    ExpiryPolicy, Points, ProgramRules, ReturnPolicy, Tier, TierBasis, TierChange, TierRules,
};
use loyalty_store::amounts::from_db;
use loyalty_store::clock::{to_db_time, to_micros};
use loyalty_store::db::MIGRATIONS;
use loyalty_store::models::member::SpendDayRow;
use loyalty_store::schema::{bills, qualifying_spend_days};
use loyalty_store::{EarnOutcome, EarnRequest};
use rust_decimal::Decimal;
use scenario::*;

use crate::common::TestStore;

/// The backend type of the store's two-backend connection.
type Backend = <loyalty_store::DbConnection as Connection>::Backend;

/// The rolling window of the scenario's tiers.
const WINDOW_DAYS: u32 = 30;

fn tier(name: &str, threshold: i64, multiplier: &str, bonus: u64) -> Tier {
    Tier {
        name: name.into(),
        threshold: threshold.into(),
        multiplier: multiplier.parse().unwrap(),
        upgrade_bonus: Points::whole(bonus).unwrap(),
    }
}

/// The shop with Silver from 1,200 and Gold from 2,500 of qualifying spend in `window_days`.
fn tiered_shop(window_days: u32) -> ProgramRules {
    let mut rules = shop_rules(ExpiryPolicy::Never, ReturnPolicy::AllowDebt);
    rules.tiers = TierRules {
        basis: TierBasis::QualifyingSpend { window_days },
        tiers: vec![
            tier("Silver", 1_200, "1.5", 100),
            tier("Gold", 2_500, "2", 500),
        ],
    };
    rules
}

/// A small deterministic generator (xorshift), so a failure replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn micros_below(&mut self, d: Duration) -> Duration {
        let n = u64::try_from(d.num_microseconds().unwrap()).unwrap();
        Duration::microseconds(i64::try_from(self.below(n)).unwrap())
    }

    /// An amount of 1.00 to 900.00.
    fn amount(&mut self) -> Decimal {
        Decimal::new(i64::try_from(100 + self.below(89_901)).unwrap(), 2)
    }
}

fn midnight(at: DateTime<Utc>) -> DateTime<Utc> {
    at.date_naive().and_time(NaiveTime::MIN).and_utc()
}

/// Earns on a bill of uncategorised `amount` made at `at` (`None`: now).
fn earn_at(
    t: &TestStore,
    shop: &Shop,
    member: &str,
    reference: &str,
    amount: Decimal,
    at: Option<DateTime<Utc>>,
) -> EarnOutcome {
    t.store
        .earn(
            &shop.tenant,
            EarnRequest {
                idempotency_key: key(),
                member_id: member.to_owned(),
                program_id: shop.program.clone(),
                reference: reference.to_owned(),
                lines: vec![line(None, &amount.to_string())],
                at,
                actor: "till-1".into(),
            },
        )
        .unwrap()
}

/// What the old measure gave: `SUM(earn_amount)` over the membership's bills since `since`.
fn old_sum(t: &TestStore, membership: &str, since: NaiveDateTime) -> Decimal {
    let mut conn = t.store.database().conn().unwrap();
    let units: i64 = bills::table
        .filter(bills::membership_id.eq(membership))
        .filter(bills::earned_at.ge(since))
        .select(sql::<BigInt>(
            "CAST(COALESCE(SUM(earn_amount), 0) AS BIGINT)",
        ))
        .first(&mut *conn)
        .unwrap();
    from_db(units)
}

/// Every day bucket of the database, in order.
fn buckets(t: &TestStore) -> Vec<SpendDayRow> {
    let mut conn = t.store.database().conn().unwrap();
    qualifying_spend_days::table
        .order((
            qualifying_spend_days::membership_id,
            qualifying_spend_days::day,
        ))
        .select(SpendDayRow::as_select())
        .load(&mut *conn)
        .unwrap()
}

/// A bill as the test remembers it.
struct ModelBill {
    member: usize,
    reference: String,
    at: DateTime<Utc>,
    earn_amount: Decimal,
    total: Decimal,
    returned: Decimal,
}

/// A member as the test remembers it.
struct ModelMember {
    id: String,
    membership: String,
    tier: Option<String>,
    best: Option<String>,
}

/// What the store should hold, computed without it.
struct Model {
    tiers: TierRules,
    window: Duration,
    members: Vec<ModelMember>,
    bills: Vec<ModelBill>,
    /// Downgrades so far (the scenario must see some).
    downgrades: usize,
}

impl Model {
    /// The qualifying spend of `member` at `now`, summed over the remembered bills.
    fn measure(&self, member: usize, now: DateTime<Utc>) -> Decimal {
        let since = to_micros(now - self.window);
        self.bills
            .iter()
            .filter(|b| b.member == member && b.at >= since)
            .map(|b| b.earn_amount)
            .sum()
    }

    fn lifetime(&self, member: usize) -> Decimal {
        self.bills
            .iter()
            .filter(|b| b.member == member)
            .map(|b| b.earn_amount)
            .sum()
    }

    /// Applies a tier change to the remembered member; returns `(from, to)` when it moved.
    fn apply(
        &mut self,
        member: usize,
        change: TierChange,
    ) -> Option<(Option<String>, Option<String>)> {
        let m = &mut self.members[member];
        match change {
            TierChange::Unchanged => None,
            TierChange::Upgraded { from, to, .. } => {
                let rank = |name: Option<&str>| name.and_then(|n| self.tiers.rank(n));
                if rank(Some(&to)) > rank(m.best.as_deref()) {
                    m.best = Some(to.clone());
                }
                m.tier = Some(to.clone());
                Some((from, Some(to)))
            }
            TierChange::Downgraded { from, to } => {
                m.tier.clone_from(&to);
                self.downgrades += 1;
                Some((Some(from), to))
            }
        }
    }

    /// Records an earned bill and the upgrade it should cause; returns the expected move.
    fn earned(
        &mut self,
        member: usize,
        out: &EarnOutcome,
        total: Decimal,
        now: DateTime<Utc>,
    ) -> Option<(Option<String>, Option<String>)> {
        self.bills.push(ModelBill {
            member,
            reference: out.reference.clone(),
            at: out.at,
            earn_amount: out.earning_amount.amount(),
            total,
            returned: Decimal::ZERO,
        });
        let m = &self.members[member];
        let change = loyalty_core::upgrade_on_earn(
            &self.tiers,
            m.tier.as_deref(),
            m.best.as_deref(),
            self.measure(member, now),
        );
        self.apply(member, change)
    }
}

/// After every step: the maintained measure, the model's sum and the old SQL agree for every
/// member, the buckets hold every earned bill once, and the tiers are the model's.
fn check(t: &TestStore, shop: &Shop, model: &Model, step: &str) {
    let now = t.store.now();
    let since = to_db_time(now - model.window);
    let all = buckets(t);
    for (i, m) in model.members.iter().enumerate() {
        let expected = model.measure(i, now);
        let maintained = t
            .store
            .tier_measure(&shop.tenant, &m.id, &shop.program)
            .unwrap();
        assert_eq!(
            maintained, expected,
            "{step}: measure of member {i} at {now}"
        );
        assert_eq!(
            old_sum(t, &m.membership, since),
            expected,
            "{step}: old SUM of member {i}"
        );
        let bucketed: i64 = all
            .iter()
            .filter(|b| b.membership_id == m.membership)
            .map(|b| b.amount)
            .sum();
        assert_eq!(
            from_db(bucketed),
            model.lifetime(i),
            "{step}: buckets of member {i}"
        );
        let held = t
            .store
            .get_membership(&shop.tenant, &m.id, &shop.program)
            .unwrap()
            .tier;
        assert_eq!(held, m.tier, "{step}: tier of member {i}");
    }
}

/// When the scenario's next bill is made: now, a random instant of the last 40 days, a
/// midnight, the last microsecond of a day, or right on the window's edge.
fn bill_time(rng: &mut Rng, now: DateTime<Utc>, window: Duration) -> Option<DateTime<Utc>> {
    let days_back = Duration::days(i64::try_from(rng.below(40)).unwrap());
    let at = match rng.below(6) {
        0 => return None,
        1 | 2 => now - rng.micros_below(Duration::days(40)),
        3 => midnight(now - days_back),
        4 => midnight(now - days_back) - Duration::microseconds(1),
        _ => now - window + Duration::microseconds(i64::try_from(rng.below(3)).unwrap() - 1),
    };
    Some(at)
}

/// One step of the scenario, chosen by `rng`; returns what it did.
fn step(t: &TestStore, shop: &Shop, model: &mut Model, rng: &mut Rng, n: usize) -> String {
    let now = t.store.now();
    let member = usize::try_from(rng.below(2)).unwrap();
    let id = model.members[member].id.clone();
    match rng.below(10) {
        // A bill earns.
        0..=3 => {
            let amount = rng.amount();
            let at = bill_time(rng, now, model.window);
            let out = earn_at(t, shop, &id, &format!("B{n}"), amount, at);
            let moved = model.earned(member, &out, amount, now);
            let got = out.tier_change.map(|m| (m.from, m.to));
            assert_eq!(got, moved, "step {n}: the tier move of the earn");
            format!("earn {amount} at {}", out.at)
        }
        // Points pay part of a bill first; the bill earns on the rest (its row already exists).
        4 => {
            let available = shop.balances(t, &id).available.value().floor();
            let points = available.min(Decimal::from(40));
            let amount = rng.amount() + Decimal::from(10);
            let reference = format!("B{n}");
            if points >= Decimal::ONE {
                shop.redeem(t, &id, &reference, &amount.to_string(), &points.to_string());
            }
            let at = bill_time(rng, now, model.window);
            let out = earn_at(t, shop, &id, &reference, amount, at);
            let moved = model.earned(member, &out, amount, now);
            let got = out.tier_change.map(|m| (m.from, m.to));
            assert_eq!(
                got, moved,
                "step {n}: the tier move of the earn after a redemption"
            );
            format!("redeem {points}, earn {} at {}", out.earning_amount, out.at)
        }
        // A bill comes back, whole or in part: the measure does not change.
        5 | 6 => {
            let open: Vec<usize> = (0..model.bills.len())
                .filter(|&b| model.bills[b].returned < model.bills[b].total)
                .collect();
            if open.is_empty() {
                return "nothing to return".into();
            }
            let b = open[usize::try_from(rng.below(open.len() as u64)).unwrap()];
            let bill = &mut model.bills[b];
            let left = bill.total - bill.returned;
            let part = (bill.total / Decimal::from(3)).round_dp(2);
            let amount = if rng.below(2) == 0 || part.is_zero() || part > left {
                None
            } else {
                Some(part)
            };
            let owner = model.members[bill.member].id.clone();
            let text = amount.map(|a| a.to_string());
            shop.reverse(t, &owner, &bill.reference, text.as_deref());
            bill.returned += amount.unwrap_or(left);
            format!("return {} of {}", amount.unwrap_or(left), bill.reference)
        }
        // The nightly re-evaluation.
        7 => {
            let changed = t
                .store
                .reevaluate_tiers(&shop.tenant, &shop.program)
                .unwrap();
            let mut expected = 0;
            for i in 0..model.members.len() {
                let m = &model.members[i];
                let change = loyalty_core::reevaluate(
                    &model.tiers,
                    m.tier.as_deref(),
                    m.best.as_deref(),
                    model.measure(i, now),
                );
                expected += usize::from(model.apply(i, change).is_some());
            }
            assert_eq!(changed, expected, "step {n}: memberships re-evaluated");
            format!("re-evaluate: {changed} changed")
        }
        // The window's edge lands exactly on the next bill to leave the window, then moves one
        // microsecond past it.
        _ => {
            let next = model
                .bills
                .iter()
                .map(|b| b.at + model.window)
                .filter(|edge| *edge >= now)
                .min();
            let Some(edge) = next else {
                return "no bill ahead of the edge".into();
            };
            t.clock.set(edge);
            check(t, shop, model, &format!("step {n}: the edge on a bill"));
            t.clock.advance(Duration::microseconds(1));
            "edge on a bill, then past it".into()
        }
    }
}

on_both_backends! {
    fn the_maintained_measure_equals_the_sum_over_the_bills_after_every_step(t) {
        let shop = open_shop(t, "Cathay Shop", tiered_shop(WINDOW_DAYS));
        let ana = shop.member(t, "CARD-1", None);
        let ben = shop.member(t, "CARD-2", Some(&ana));
        let mut model = Model {
            tiers: tiered_shop(WINDOW_DAYS).tiers,
            window: Duration::days(i64::from(WINDOW_DAYS)),
            members: [ana, ben]
                .into_iter()
                .map(|id| ModelMember {
                    membership: shop.membership(t, &id),
                    id,
                    tier: None,
                    best: None,
                })
                .collect(),
            bills: Vec::new(),
            downgrades: 0,
        };
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for n in 0..160 {
            // Time moves on: mostly hours, sometimes a microsecond, sometimes to a midnight
            // (the window's first day then starts exactly at the edge).
            match rng.below(8) {
                0 => t.clock.advance(Duration::microseconds(1)),
                1 => {
                    let now = t.store.now();
                    let since = now - model.window;
                    t.clock.set(midnight(since) + Duration::days(1) + model.window);
                }
                _ => t.clock.advance(rng.micros_below(Duration::hours(36))),
            }
            let did = step(t, &shop, &mut model, &mut rng, n);
            check(t, &shop, &model, &format!("step {n} ({did})"));
        }
        // The scenario reached both tiers, lost them again, and returned bills.
        assert!(model.bills.iter().any(|b| b.returned > Decimal::ZERO));
        assert!(model.members.iter().any(|m| m.best.as_deref() == Some("Gold")), "no one reached Gold");
        assert!(model.downgrades > 1, "re-evaluation downgraded {} times", model.downgrades);
        // Long after the last bill the window is empty, and re-evaluation drops every tier.
        t.clock.advance(model.window + Duration::days(2));
        t.store.reevaluate_tiers(&shop.tenant, &shop.program).unwrap();
        for m in &mut model.members {
            m.tier = None;
        }
        check(t, &shop, &model, "after the window");
    }

    fn an_upgraded_database_backfills_the_same_buckets_and_measures_the_same(t) {
        let shop = open_shop(t, "Cathay Shop", tiered_shop(WINDOW_DAYS));
        let ana = shop.member(t, "CARD-1", None);
        let ben = shop.member(t, "CARD-2", None);
        let now = t.store.now();
        let day = |back: i64| midnight(now) - Duration::days(back);
        // Midnights, the last microsecond of a day, two bills on one day, the window's edge.
        let times = [
            day(3),
            day(3) - Duration::microseconds(1),
            day(3) + Duration::hours(12),
            day(10) + Duration::microseconds(1),
            now - Duration::days(i64::from(WINDOW_DAYS)),
            now - Duration::days(i64::from(WINDOW_DAYS)) - Duration::microseconds(1),
            day(45) - Duration::microseconds(1),
            now,
        ];
        for (n, at) in times.iter().enumerate() {
            earn_at(t, &shop, &ana, &format!("A{n}"), Decimal::new(1234 + 100 * n as i64, 1), Some(*at));
            earn_at(t, &shop, &ben, &format!("B{n}"), Decimal::from(70), Some(*at));
        }
        let measures = |t: &TestStore| -> Vec<Decimal> {
            let mut seen = Vec::new();
            for probe in [Duration::zero(), Duration::microseconds(1), Duration::hours(13)] {
                t.clock.set(now + probe);
                for member in [&ana, &ben] {
                    seen.push(t.store.tier_measure(&shop.tenant, member, &shop.program).unwrap());
                }
            }
            t.clock.set(now);
            seen
        };
        let kept = buckets(t);
        let measured = measures(t);
        assert_eq!(measured[0], old_sum(t, &shop.membership(t, &ana), to_db_time(now - Duration::days(30))));

        // Upgrade: the database as it was before the migration, then the migration itself.
        let mut conn = t.store.database().conn().unwrap();
        let ours = MigrationSource::<Backend>::migrations(&MIGRATIONS)
            .unwrap()
            .into_iter()
            .find(|m| m.name().to_string().contains("qualifying_spend_days"))
            .unwrap();
        conn.revert_migration(ours.as_ref()).unwrap();
        conn.run_migration(ours.as_ref()).unwrap();
        drop(conn);

        assert_eq!(buckets(t), kept, "the backfill gives the buckets the store kept");
        assert_eq!(measures(t), measured, "an upgraded database measures the same");
    }
}
