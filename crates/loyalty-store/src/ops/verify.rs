//! The invariant checker: every membership's stored balances equal what its entries add up to
//! and what its lots (and active holds) hold.
//!
//! The entries are added up in SQL, per membership and kind, and turned into [`Balances`] with
//! the rules of [`Balances::apply`]; the lots are summed by state and the active holds by their
//! uncaptured points; `loyalty-core`'s [`check_invariants`] compares the three. Sums do not
//! depend on the order of entries, so the check is exact even for entries written in the same
//! instant, and its memory stays bounded: memberships are checked a page at a time, each page
//! in one read transaction (one consistent snapshot of those memberships).
//!
//! It also checks what the database cannot: every entry's recorded after-values (the
//! balances and totals after it) are the running sums of its membership's entries in posting
//! order, so the last equal the membership's balances; the lifetime referral points equal the
//! `referral_earned` entries, no bill has more returned than its total, the
//! tier measure's day buckets of qualifying spend equal the bills they summarize, every
//! cancelled reward redemption gave its points back with a `returned` entry, and a bill's
//! lines add up to what it earned (their base and tier shares to its `earned` entry).

mod earn_lines;
mod redemptions;
mod running;

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use diesel::prelude::*;
use loyalty_core::Points;
use loyalty_core::ledger::{Balances, EntryKind, LotTotals, Violation, check_invariants};

use crate::account::balances_of;
use crate::amounts::{from_db, points_from_db};
use crate::db::DbConnection;
use crate::error::StoreResult;
use crate::models::member::MembershipRow;
use crate::ops::sums::sum;
use crate::schema::{bills, holds, memberships, point_lots, qualifying_spend_days};
use crate::store::Store;

/// Memberships checked per read transaction.
const PAGE: i64 = 200;

/// What is wrong with one membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discrepancy {
    /// A stored balance or total disagrees with its entries or its lots.
    Balance(Violation),
    /// The entries add up to something no valid history can (a negative bucket or total).
    Entries(String),
    /// The qualifying spend kept for a day (the tier measure's day bucket) is not what the
    /// membership's bills of that day add up to.
    QualifyingSpend {
        /// The day (UTC).
        day: chrono::NaiveDate,
        /// What the bills of the day add up to.
        bills: rust_decimal::Decimal,
        /// What the day's bucket holds.
        kept: rust_decimal::Decimal,
    },
    /// A cancelled reward redemption of the membership did not give its points back as it
    /// must.
    Redemption {
        /// The redemption.
        id: String,
        /// What is wrong.
        problem: String,
    },
    /// A bill of the membership contradicts itself.
    Bill {
        /// The bill's reference.
        reference: String,
        /// What is wrong.
        problem: String,
    },
}

/// One discrepancy found by [`Store::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipViolation {
    /// The membership's tenant.
    pub tenant_id: String,
    /// The membership.
    pub membership_id: String,
    /// What is wrong.
    pub problem: Discrepancy,
}

impl fmt::Display for MembershipViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "membership {}: ", self.membership_id)?;
        match &self.problem {
            Discrepancy::Balance(v) => write!(f, "{v}"),
            Discrepancy::Entries(problem) => f.write_str(problem),
            Discrepancy::Bill { reference, problem } => write!(f, "bill {reference:?}: {problem}"),
            Discrepancy::Redemption { id, problem } => {
                write!(f, "reward redemption {id}: {problem}")
            }
            Discrepancy::QualifyingSpend { day, bills, kept } => write!(
                f,
                "the qualifying spend kept for {day} is {kept}, its bills add up to {bills}"
            ),
        }
    }
}

/// Sums of one membership's entries of one kind (ten-thousandths).
#[derive(Debug, Clone, Copy, Default)]
struct KindSums {
    points: i64,
    available: i64,
    pending: i64,
    held: i64,
    debt: i64,
}

/// The balances a membership's entries add up to, by the rules of [`Balances::apply`]: the
/// buckets are the sums of the deltas; earned counts the earning kinds, upward adjustments and
/// imported opening balances,
/// redeemed counts redemptions and captures minus returns, expired the expiries, reversed the
/// reversals and downward adjustments.
fn from_entry_sums(
    by_kind: &HashMap<EntryKind, KindSums>,
    adjusted_down: i64,
) -> Result<Balances, String> {
    let total = |f: fn(&KindSums) -> i64| by_kind.values().map(f).sum::<i64>();
    let points = |kinds: &[EntryKind]| {
        kinds
            .iter()
            .filter_map(|k| by_kind.get(k))
            .map(|s| s.points)
            .sum::<i64>()
    };
    let adjusted = points(&[EntryKind::Adjusted]);
    // Imported opening balances count toward lifetime earned (see `Balances::apply`).
    let imported = points(&[EntryKind::Imported]);
    let earning: Vec<EntryKind> = EntryKind::ALL
        .into_iter()
        .filter(|k| k.is_earning())
        .collect();
    let fields = [
        ("available", total(|s| s.available)),
        ("pending", total(|s| s.pending)),
        ("held", total(|s| s.held)),
        ("debt", total(|s| s.debt)),
        (
            "earned",
            points(&earning) + adjusted + imported - adjusted_down,
        ),
        (
            "redeemed",
            points(&[EntryKind::Redeemed, EntryKind::Captured]) - points(&[EntryKind::Returned]),
        ),
        ("expired", points(&[EntryKind::Expired])),
        ("reversed", points(&[EntryKind::Reversed]) + adjusted_down),
    ];
    let mut values = [Points::ZERO; 8];
    for (slot, (name, units)) in values.iter_mut().zip(fields) {
        *slot = Points::new(from_db(units))
            .map_err(|_| format!("the entries add up to {} {name}", from_db(units)))?;
    }
    let [
        available,
        pending,
        held,
        debt,
        earned,
        redeemed,
        expired,
        reversed,
    ] = values;
    Ok(Balances {
        available,
        pending,
        held,
        debt,
        earned,
        redeemed,
        expired,
        reversed,
    })
}

/// Checks one page of memberships (in one read transaction).
fn check_page(
    conn: &mut DbConnection,
    page: &[MembershipRow],
) -> StoreResult<Vec<MembershipViolation>> {
    use crate::schema::ledger_entries::dsl as e;
    let ids: Vec<&str> = page.iter().map(|m| m.id.as_str()).collect();
    let entry_sums: Vec<(String, String, i64, i64, i64, i64, i64)> = e::ledger_entries
        .filter(e::membership_id.eq_any(&ids))
        .group_by((e::membership_id, e::kind))
        .select((
            e::membership_id,
            e::kind,
            sum("points"),
            sum("d_available"),
            sum("d_pending"),
            sum("d_held"),
            sum("d_debt"),
        ))
        .load(conn)?;
    // An adjustment whose net change is negative is a debit (see `Balances::apply`).
    let adjusted_down: HashMap<String, i64> = e::ledger_entries
        .filter(e::membership_id.eq_any(&ids))
        .filter(e::kind.eq(EntryKind::Adjusted.as_str()))
        .filter((e::d_available + e::d_pending + e::d_held - e::d_debt).lt(0))
        .group_by(e::membership_id)
        .select((e::membership_id, sum("points")))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    let lot_sums: Vec<(String, bool, i64)> = point_lots::table
        .filter(point_lots::membership_id.eq_any(&ids))
        .group_by((point_lots::membership_id, point_lots::pending))
        .select((
            point_lots::membership_id,
            point_lots::pending,
            sum("remaining"),
        ))
        .load(conn)?;
    let held: HashMap<String, i64> = holds::table
        .filter(holds::membership_id.eq_any(&ids))
        .filter(holds::status.eq("active"))
        .group_by(holds::membership_id)
        .select((holds::membership_id, sum("points - captured")))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    let bad_bills: Vec<(String, String)> = bills::table
        .filter(bills::membership_id.eq_any(&ids))
        .filter(bills::returned.gt(bills::total))
        .select((bills::membership_id, bills::reference))
        .load(conn)?;

    let running = match (page.first(), page.last()) {
        (Some(first), Some(last)) => running::running_mismatches(conn, &first.id, &last.id)?,
        _ => Vec::new(),
    };
    let spend_days = spend_day_mismatches(conn, &ids)?;
    let bad_redemptions = redemptions::redemption_mismatches(conn, &ids)?;
    let bad_lines = earn_lines::line_mismatches(conn, &ids)?;

    let mut by_membership: HashMap<&str, HashMap<EntryKind, KindSums>> = HashMap::new();
    let mut found = Vec::new();
    let mut report = |m: &MembershipRow, problem: Discrepancy| {
        found.push(MembershipViolation {
            tenant_id: m.tenant_id.clone(),
            membership_id: m.id.clone(),
            problem,
        });
    };
    for (membership, kind, points, available, pending, held, debt) in &entry_sums {
        let Some(m) = page.iter().find(|m| &m.id == membership) else {
            continue;
        };
        match kind.parse::<EntryKind>() {
            Ok(kind) => {
                by_membership.entry(m.id.as_str()).or_default().insert(
                    kind,
                    KindSums {
                        points: *points,
                        available: *available,
                        pending: *pending,
                        held: *held,
                        debt: *debt,
                    },
                );
            }
            Err(err) => report(m, Discrepancy::Entries(err.to_string())),
        }
    }
    for m in page {
        let none = HashMap::new();
        let kinds = by_membership.get(m.id.as_str()).unwrap_or(&none);
        let from_entries =
            from_entry_sums(kinds, adjusted_down.get(&m.id).copied().unwrap_or_default());
        let referral = kinds
            .get(&EntryKind::ReferralEarned)
            .map_or(0, |sums| sums.points);
        if referral != m.referral_earned {
            report(
                m,
                Discrepancy::Entries(format!(
                    "its lifetime referral points are {}, its referral_earned entries add up to {}",
                    from_db(m.referral_earned),
                    from_db(referral)
                )),
            );
        }
        let lots = lot_totals(
            &lot_sums,
            held.get(&m.id).copied().unwrap_or_default(),
            &m.id,
        );
        match (balances_of(m), from_entries, lots) {
            (Ok(stored), Ok(from_entries), Ok(lots)) => {
                for v in check_invariants(&stored, &from_entries, &lots) {
                    report(m, Discrepancy::Balance(v));
                }
            }
            (Err(err), _, _) => report(m, Discrepancy::Entries(err.to_string())),
            (_, Err(problem), _) | (_, _, Err(problem)) => report(m, Discrepancy::Entries(problem)),
        }
        for (_, day, bills, kept) in spend_days.iter().filter(|(id, ..)| id == &m.id) {
            report(
                m,
                Discrepancy::QualifyingSpend {
                    day: *day,
                    bills: from_db(*bills),
                    kept: from_db(*kept),
                },
            );
        }
        for (_, entry) in running.iter().filter(|(id, _)| id == &m.id) {
            report(
                m,
                Discrepancy::Entries(format!(
                    "entry {entry} records balances after it that are not the running sums of \
                     the membership's entries up to it"
                )),
            );
        }
        for (_, reference) in bad_bills.iter().filter(|(id, _)| id == &m.id) {
            report(
                m,
                Discrepancy::Bill {
                    reference: reference.clone(),
                    problem: "more was returned than the bill's total".into(),
                },
            );
        }
        for (_, reference, problem) in bad_lines.iter().filter(|(m_id, ..)| m_id == &m.id) {
            report(
                m,
                Discrepancy::Bill {
                    reference: reference.clone(),
                    problem: problem.clone(),
                },
            );
        }
        for (_, id, problem) in bad_redemptions.iter().filter(|(m_id, ..)| m_id == &m.id) {
            report(
                m,
                Discrepancy::Redemption {
                    id: id.clone(),
                    problem: problem.clone(),
                },
            );
        }
    }
    Ok(found)
}

/// Days whose qualifying-spend bucket differs from the sum of the earning amounts of the bills
/// earned that day (UTC): (membership, day, bills, kept).
fn spend_day_mismatches(
    conn: &mut DbConnection,
    ids: &[&str],
) -> StoreResult<Vec<(String, chrono::NaiveDate, i64, i64)>> {
    let earned: Vec<(String, Option<chrono::NaiveDateTime>, i64)> = bills::table
        .filter(bills::membership_id.eq_any(ids))
        .filter(bills::earned_at.is_not_null())
        .select((bills::membership_id, bills::earned_at, bills::earn_amount))
        .load(conn)?;
    let kept: Vec<(String, chrono::NaiveDate, i64)> = qualifying_spend_days::table
        .filter(qualifying_spend_days::membership_id.eq_any(ids))
        .select((
            qualifying_spend_days::membership_id,
            qualifying_spend_days::day,
            qualifying_spend_days::amount,
        ))
        .load(conn)?;
    // (membership, day) -> (bills, kept)
    let mut days: BTreeMap<(String, chrono::NaiveDate), (i64, i64)> = BTreeMap::new();
    for (membership, at, amount) in earned {
        if let Some(at) = at {
            let sums = days.entry((membership, at.date())).or_default();
            sums.0 = sums.0.saturating_add(amount);
        }
    }
    for (membership, day, amount) in kept {
        days.entry((membership, day)).or_default().1 = amount;
    }
    Ok(days
        .into_iter()
        .filter(|(_, (bills, kept))| bills != kept)
        .map(|((membership, day), (bills, kept))| (membership, day, bills, kept))
        .collect())
}

fn lot_totals(
    sums: &[(String, bool, i64)],
    held: i64,
    membership: &str,
) -> Result<LotTotals, String> {
    let points = |units: i64, what: &str| {
        points_from_db(units).map_err(|_| format!("the {what} add up to {}", from_db(units)))
    };
    let of = |pending: bool| {
        sums.iter()
            .filter(|(id, p, _)| id == membership && *p == pending)
            .map(|(_, _, units)| *units)
            .sum::<i64>()
    };
    Ok(LotTotals {
        available: points(of(false), "spendable lots")?,
        pending: points(of(true), "pending lots")?,
        held_by_active_holds: points(held, "active holds")?,
    })
}

impl Store {
    /// Checks that every membership of `tenant` (or of every tenant) has balances equal to what
    /// its entries add up to and to what its lots and active holds hold, and that no bill was
    /// returned beyond its total. Returns every discrepancy; empty when the ledger is sound.
    pub fn verify(&self, tenant: Option<&str>) -> StoreResult<Vec<MembershipViolation>> {
        let mut found = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let (last, violations) = self.read(|conn| {
                let mut query = memberships::table.into_boxed();
                if let Some(tenant) = tenant {
                    query = query.filter(memberships::tenant_id.eq(tenant));
                }
                if let Some(after) = &after {
                    query = query.filter(memberships::id.gt(after));
                }
                let page: Vec<MembershipRow> = query
                    .order(memberships::id)
                    .limit(PAGE)
                    .select(MembershipRow::as_select())
                    .load(conn)?;
                let last = page.last().map(|m| m.id.clone());
                Ok((last, check_page(conn, &page)?))
            })?;
            found.extend(violations);
            match last {
                Some(last) => after = Some(last),
                None => return Ok(found),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imported_opening_balances_count_as_earned() {
        let by_kind = HashMap::from([(
            EntryKind::Imported,
            KindSums {
                points: 150_0000,
                available: 150_0000,
                ..KindSums::default()
            },
        )]);
        let balances = from_entry_sums(&by_kind, 0).unwrap();
        assert_eq!(balances.earned, Points::whole(150).unwrap());
        assert_eq!(balances.available, Points::whole(150).unwrap());
    }

    #[test]
    fn an_upward_and_a_downward_adjustment_count_as_earned_and_reversed() {
        let by_kind = HashMap::from([(
            EntryKind::Adjusted,
            KindSums {
                points: 70_0000,
                available: 30_0000,
                ..KindSums::default()
            },
        )]);
        let balances = from_entry_sums(&by_kind, 20_0000).unwrap();
        assert_eq!(balances.earned, Points::whole(50).unwrap());
        assert_eq!(balances.reversed, Points::whole(20).unwrap());
        assert_eq!(balances.available, Points::whole(30).unwrap());
    }

    #[test]
    fn entries_adding_up_to_a_negative_bucket_are_reported() {
        let by_kind = HashMap::from([(
            EntryKind::Redeemed,
            KindSums {
                points: 10_0000,
                available: -10_0000,
                ..KindSums::default()
            },
        )]);
        let err = from_entry_sums(&by_kind, 0).unwrap_err();
        assert!(err.contains("available"), "{err}");
    }
}
