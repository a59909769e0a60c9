//! After a run: every acknowledged call is in the ledger exactly once.
//!
//! The check reads the store's own tables (through `loyalty_store::Database` and its Diesel
//! schema, read-only) in one query per table instead of one API call per acknowledged call:
//! a run acknowledges hundreds of thousands of calls.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;

use anyhow::Context;
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use loyalty_store::Database;
use loyalty_store::schema::{bills, ledger_entries};

use crate::stats::Ack;

/// How many offending references or holds a failed check prints.
const SHOWN: usize = 10;

/// The outcome of the exactly-once check.
#[derive(Debug, Default)]
pub struct LedgerCheck {
    /// Acknowledged calls, by ledger entry kind.
    pub acknowledged: BTreeMap<&'static str, usize>,
    /// Acknowledged calls without their entry ("earned B3-17").
    pub missing: Vec<String>,
    /// References or holds with more than one entry of a kind, acknowledged or not.
    pub duplicated: Vec<String>,
    /// Acknowledged earns whose bill is missing, duplicated or earned nothing.
    pub bad_bills: Vec<String>,
    /// The check could not be made (no database to read): says why.
    pub skipped: Option<String>,
}

impl LedgerCheck {
    /// Whether every acknowledged call is in the ledger exactly once.
    pub fn passed(&self) -> bool {
        self.missing.is_empty() && self.duplicated.is_empty() && self.bad_bills.is_empty()
    }

    /// A check that was not made, and why.
    pub fn skipped(why: &str) -> LedgerCheck {
        LedgerCheck {
            skipped: Some(why.to_owned()),
            ..LedgerCheck::default()
        }
    }

    /// One line for the report.
    pub fn describe(&self) -> String {
        if let Some(why) = &self.skipped {
            return format!("exactly-once check skipped: {why}");
        }
        let total: usize = self.acknowledged.values().sum();
        let kinds: Vec<String> = self
            .acknowledged
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        let what = format!("{total} acknowledged calls ({})", kinds.join(", "));
        if self.passed() && total == 0 {
            return "exactly-once check passed: no acknowledged changes (read-only workload), \
                    no entry duplicated"
                .into();
        }
        if self.passed() {
            return format!("exactly-once check passed: {what}, each in the ledger once");
        }
        let shown = |list: &[String]| {
            let mut s = list
                .iter()
                .take(SHOWN)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if list.len() > SHOWN {
                s.push_str(", ...");
            }
            s
        };
        format!(
            "exactly-once check FAILED: {what}; missing {} [{}]; duplicated {} [{}]; bad bills {} [{}]",
            self.missing.len(),
            shown(&self.missing),
            self.duplicated.len(),
            shown(&self.duplicated),
            self.bad_bills.len(),
            shown(&self.bad_bills)
        )
    }
}

fn kind_and_key(ack: &Ack) -> (&'static str, &str) {
    match ack {
        Ack::Earned(reference) => ("earned", reference),
        Ack::Redeemed(reference) => ("redeemed", reference),
        Ack::Reserved(hold) => ("reserved", hold),
        Ack::Captured(hold) => ("captured", hold),
    }
}

/// Checks `acks` against the ledger of `tenant` in the database at `url`.
pub fn exactly_once(url: &str, tenant: &str, acks: &[Ack]) -> anyhow::Result<LedgerCheck> {
    let db = Database::open(url, 1).with_context(|| format!("opening {url} to check it"))?;
    let mut conn = db.conn()?;
    let entries: Vec<(String, Option<String>, Option<String>)> = ledger_entries::table
        .filter(ledger_entries::tenant_id.eq(tenant))
        .filter(ledger_entries::kind.eq_any(["earned", "redeemed", "reserved", "captured"]))
        .select((
            ledger_entries::kind,
            ledger_entries::reference,
            ledger_entries::hold_id,
        ))
        .load(&mut *conn)
        .context("reading the ledger entries")?;
    let mut counts: HashMap<(String, String), u32> = HashMap::new();
    for (kind, reference, hold) in entries {
        let key = if kind == "reserved" || kind == "captured" {
            hold
        } else {
            reference
        };
        *counts.entry((kind, key.unwrap_or_default())).or_default() += 1;
    }
    let earned_bills: Vec<(String, i64)> = bills::table
        .filter(bills::tenant_id.eq(tenant))
        .select((bills::reference, bills::earned))
        .load(&mut *conn)
        .context("reading the bills")?;
    let mut bills_by_reference: HashMap<String, Vec<i64>> = HashMap::new();
    for (reference, earned) in earned_bills {
        bills_by_reference
            .entry(reference)
            .or_default()
            .push(earned);
    }
    Ok(judge(acks, &counts, &bills_by_reference))
}

/// The check itself, over entry counts by (kind, reference or hold) and bills' earned points
/// by reference.
fn judge(
    acks: &[Ack],
    counts: &HashMap<(String, String), u32>,
    bills: &HashMap<String, Vec<i64>>,
) -> LedgerCheck {
    let mut check = LedgerCheck::default();
    for ack in acks {
        let (kind, key) = kind_and_key(ack);
        *check.acknowledged.entry(kind).or_default() += 1;
        if counts.get(&(kind.to_owned(), key.to_owned())).is_none() {
            check.missing.push(format!("{kind} {key}"));
        }
        if let Ack::Earned(reference) = ack {
            let ok =
                matches!(bills.get(reference).map(Vec::as_slice), Some([earned]) if *earned > 0);
            if !ok {
                check.bad_bills.push(reference.clone());
            }
        }
    }
    check.duplicated = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|((kind, key), n)| format!("{kind} {key} x{n}"))
        .collect();
    check.duplicated.sort();
    check
}

/// Runs the invariant checker, `loyalty verify`, of the server binary `bin` on the tenant;
/// returns whether it found no violation, and what it printed.
pub fn verify_with_binary(bin: &Path, url: &str, tenant: &str) -> anyhow::Result<(bool, String)> {
    let out = Command::new(bin)
        .args(["verify", "--database-url", url, "--tenant", tenant])
        .output()
        .with_context(|| format!("running {} verify", bin.display()))?;
    let mut text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    if !out.status.success() && !err.is_empty() {
        text.push('\n');
        text.push_str(&err);
    }
    Ok((out.status.success(), text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(entries: &[(&str, &str)]) -> HashMap<(String, String), u32> {
        let mut map = HashMap::new();
        for (kind, key) in entries {
            *map.entry(((*kind).to_owned(), (*key).to_owned()))
                .or_default() += 1;
        }
        map
    }

    fn bills(list: &[(&str, i64)]) -> HashMap<String, Vec<i64>> {
        let mut map: HashMap<String, Vec<i64>> = HashMap::new();
        for (reference, earned) in list {
            map.entry((*reference).to_owned())
                .or_default()
                .push(*earned);
        }
        map
    }

    #[test]
    fn acknowledged_calls_each_found_once_pass() {
        let acks = [
            Ack::Earned("B0-0".into()),
            Ack::Reserved("h1".into()),
            Ack::Captured("h1".into()),
        ];
        let check = judge(
            &acks,
            &counts(&[("earned", "B0-0"), ("reserved", "h1"), ("captured", "h1")]),
            &bills(&[("B0-0", 500_000)]),
        );
        assert!(check.passed(), "{}", check.describe());
        assert!(check.describe().contains("3 acknowledged calls"));
    }

    #[test]
    fn an_acknowledged_earn_missing_from_the_ledger_fails() {
        let check = judge(&[Ack::Earned("B0-1".into())], &counts(&[]), &bills(&[]));
        assert!(!check.passed());
        assert_eq!(check.missing, ["earned B0-1"]);
        assert_eq!(check.bad_bills, ["B0-1"]);
    }

    #[test]
    fn a_bill_credited_twice_fails_even_if_never_acknowledged() {
        let check = judge(
            &[],
            &counts(&[("earned", "B0-2"), ("earned", "B0-2")]),
            &bills(&[]),
        );
        assert!(!check.passed());
        assert_eq!(check.duplicated, ["earned B0-2 x2"]);
    }
}
