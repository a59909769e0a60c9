//! What the database cannot check about a bill's lines: their points add up to what the bill
//! earned, and their base and tier shares to its `earned` entry.

use std::collections::HashMap;

use diesel::prelude::*;
use loyalty_core::ledger::EntryKind;

use crate::amounts::from_db;
use crate::db::DbConnection;
use crate::error::StoreResult;
use crate::ops::sums::sum;
use crate::schema::{bills, earn_lines, ledger_entries};

/// Bills of memberships `ids` whose lines do not add up: (membership, reference, problem).
/// Bills without lines (earned before lines were recorded, or not earned) are skipped.
pub(super) fn line_mismatches(
    conn: &mut DbConnection,
    ids: &[&str],
) -> StoreResult<Vec<(String, String, String)>> {
    // (bill, membership, reference, earned, Σ points, Σ base + tier)
    let sums: Vec<(String, String, String, i64, i64, i64)> = earn_lines::table
        .inner_join(bills::table)
        .filter(bills::membership_id.eq_any(ids))
        .group_by((
            bills::id,
            bills::membership_id,
            bills::reference,
            bills::earned,
        ))
        .select((
            bills::id,
            bills::membership_id,
            bills::reference,
            bills::earned,
            sum("earn_lines.points"),
            sum("earn_lines.base_points + earn_lines.tier_bonus"),
        ))
        .load(conn)?;
    if sums.is_empty() {
        return Ok(Vec::new());
    }
    let entries: HashMap<(String, String), i64> = ledger_entries::table
        .filter(ledger_entries::membership_id.eq_any(ids))
        .filter(ledger_entries::kind.eq(EntryKind::Earned.as_str()))
        .filter(ledger_entries::reference.is_not_null())
        .select((
            ledger_entries::membership_id,
            ledger_entries::reference,
            ledger_entries::points,
        ))
        .load::<(String, Option<String>, i64)>(conn)?
        .into_iter()
        .filter_map(|(m, r, p)| Some(((m, r?), p)))
        .collect();
    let mut found = Vec::new();
    for (_, membership, reference, earned, points, base_and_tier) in sums {
        if points != earned {
            found.push((
                membership.clone(),
                reference.clone(),
                format!(
                    "its lines' points add up to {}, the bill earned {}",
                    from_db(points),
                    from_db(earned)
                ),
            ));
        }
        let entry = entries
            .get(&(membership.clone(), reference.clone()))
            .copied()
            .unwrap_or(0);
        if entry != base_and_tier {
            found.push((
                membership,
                reference,
                format!(
                    "its lines' base and tier points add up to {}, its earned entry has {}",
                    from_db(base_and_tier),
                    from_db(entry)
                ),
            ));
        }
    }
    Ok(found)
}
