//! Holds as the locked membership sees them: rebuilding a `loyalty-core` [`Hold`] from its row,
//! giving held points back to their lots, and releasing the membership's overdue holds while
//! it settles.
//!
//! An active hold past its `expires_at` is released by the first of: the periodic sweep,
//! `ExpirePoints` / `loyalty expire`, or any operation that settles its membership. The last
//! one is what makes an overdue hold's points spendable in the very call that comes after its
//! time-to-live, without waiting for the sweep. Each path locks the membership and rereads
//! the hold's status under the lock, so a hold is resolved exactly once.

use diesel::prelude::*;
use loyalty_core::Points;
use loyalty_core::hold::{Hold, HoldStatus};
use loyalty_core::ledger::{BucketDelta, EntryKind};
use loyalty_core::lots::Allocation;

use super::{Account, EntryMeta, parse_id};
use crate::amounts::points_from_db;
use crate::clock::{from_db_time, to_db_time};
use crate::db::{DbConnection, native};
use crate::error::{StoreError, StoreResult};
use crate::literal::HoldActive;
use crate::models::ledger::{AllocationRow, HoldRow};
use crate::schema::{holds, ledger_entries, lot_allocations};

/// Rebuilds the core hold from its row and the allocations of its `reserved` entry.
pub(crate) fn hold_of(conn: &mut DbConnection, row: &HoldRow) -> StoreResult<Hold> {
    let rows: Vec<AllocationRow> = native!(conn, c => lot_allocations::table
        .inner_join(ledger_entries::table)
        .filter(lot_allocations::hold_id.eq(&row.id))
        .filter(ledger_entries::kind.eq(EntryKind::Reserved.as_str()))
        // Allocation ids are time-ordered and written in spending order.
        .order(lot_allocations::id)
        .select(AllocationRow::as_select())
        .load(c))?;
    let allocations = rows
        .iter()
        .map(|a| {
            Ok(Allocation {
                lot_id: parse_id(&a.lot_id)?,
                points: points_from_db(a.points)?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let status = row
        .status
        .parse::<HoldStatus>()
        .map_err(|e| StoreError::Corrupt(format!("hold {}: {e}", row.id)))?;
    Ok(Hold {
        points: points_from_db(row.points)?,
        status,
        expires_at: from_db_time(row.expires_at),
        allocations,
    })
}

impl Account {
    /// Posts a `released` entry of `points` held by hold `row` and gives them back to the lots
    /// they came from (`allocations`).
    pub(crate) fn give_back_held(
        &mut self,
        conn: &mut DbConnection,
        row: &HoldRow,
        points: Points,
        allocations: &[Allocation],
        actor: &str,
    ) -> StoreResult<()> {
        if points.is_zero() {
            return Ok(());
        }
        let meta = EntryMeta {
            reference: Some(row.reference.clone()),
            hold_id: Some(row.id.clone()),
            ..EntryMeta::by(actor)
        };
        let delta = BucketDelta {
            available: points.value(),
            held: -points.value(),
            ..BucketDelta::ZERO
        };
        let entry = self.post(conn, EntryKind::Released, points, &delta, &meta)?;
        self.give_back_to_lots(conn, &entry, Some(&row.id), allocations)
    }

    /// Expires this membership's active holds whose time-to-live is over (but `kept`, the hold
    /// the caller is resolving itself), giving their points back to their lots: one seek on
    /// `holds_active_membership`, then per hold its allocations, a `released` entry and the
    /// conditional status change. Returns how many holds expired.
    pub(super) fn release_overdue_holds(
        &mut self,
        conn: &mut DbConnection,
        kept: Option<&str>,
    ) -> StoreResult<u32> {
        let now_db = to_db_time(self.now);
        let overdue: Vec<HoldRow> = native!(conn, c => holds::table
            .filter(holds::membership_id.eq(&self.row.id))
            .filter(HoldActive)
            .filter(holds::expires_at.le(now_db))
            .order((holds::expires_at, holds::id))
            .select(HoldRow::as_select())
            .load(c))?;
        let mut released = 0;
        for row in overdue.iter().filter(|r| Some(r.id.as_str()) != kept) {
            let mut hold = hold_of(conn, row)?;
            let outcome = hold.expire(self.now)?;
            // The status condition is the backstop: a hold is resolved exactly once.
            let changed = native!(conn, c => diesel::update(
                holds::table
                    .filter(holds::id.eq(&row.id))
                    .filter(holds::status.eq(HoldStatus::Active.as_str())),
            )
            .set((
                holds::status.eq(hold.status.as_str()),
                holds::resolved_at.eq(Some(now_db)),
            ))
            .execute(c))?;
            if changed != 1 {
                return Err(StoreError::Corrupt(format!(
                    "hold {} changed under its membership's lock",
                    row.id
                )));
            }
            self.give_back_held(
                conn,
                row,
                outcome.released,
                &outcome.released_allocations,
                "system",
            )?;
            released += 1;
        }
        self.holds_released += released;
        Ok(released)
    }
}
