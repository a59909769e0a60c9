//! What the database cannot check about cancelled reward redemptions: each names, as its
//! return, a `returned` entry of the same membership, the same points and the redemption's
//! reference (`reward:<id>`).

use std::collections::HashMap;

use diesel::prelude::*;
use loyalty_core::ledger::EntryKind;

use crate::db::DbConnection;
use crate::error::StoreResult;
use crate::schema::{ledger_entries, reward_redemptions};

/// Cancelled redemptions of memberships `ids` whose return is not what it must be:
/// (membership, redemption, problem).
pub(super) fn redemption_mismatches(
    conn: &mut DbConnection,
    ids: &[&str],
) -> StoreResult<Vec<(String, String, String)>> {
    let cancelled: Vec<(String, String, i64, Option<String>)> = reward_redemptions::table
        .filter(reward_redemptions::membership_id.eq_any(ids))
        .filter(reward_redemptions::status.eq("cancelled"))
        .select((
            reward_redemptions::membership_id,
            reward_redemptions::id,
            reward_redemptions::points,
            reward_redemptions::return_entry_id,
        ))
        .load(conn)?;
    let entry_ids: Vec<&str> = cancelled
        .iter()
        .filter_map(|(_, _, _, entry)| entry.as_deref())
        .collect();
    let entries: HashMap<String, (String, String, i64, Option<String>)> = ledger_entries::table
        .filter(ledger_entries::id.eq_any(&entry_ids))
        .select((
            ledger_entries::id,
            ledger_entries::membership_id,
            ledger_entries::kind,
            ledger_entries::points,
            ledger_entries::reference,
        ))
        .load::<(String, String, String, i64, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, membership, kind, points, reference)| {
            (id, (membership, kind, points, reference))
        })
        .collect();
    let mut found = Vec::new();
    for (membership, id, points, entry) in cancelled {
        let reference = format!("reward:{id}");
        let problem = match entry.as_deref().and_then(|e| entries.get(e)) {
            None => Some("it is cancelled but names no entry that gave its points back".to_owned()),
            Some((m, kind, p, r)) => (m != &membership
                || kind != EntryKind::Returned.as_str()
                || *p != points
                || r.as_deref() != Some(reference.as_str()))
            .then(|| {
                format!(
                    "its return entry is a {kind} of {p} units on {r:?} of membership {m}, not \
                     a returned of {points} on {reference:?}"
                )
            }),
        };
        if let Some(problem) = problem {
            found.push((membership, id, problem));
        }
    }
    Ok(found)
}
