//! Crediting a lot made elsewhere with its own dates: an imported opening balance.

use loyalty_core::ledger::{self, EntryKind};
use loyalty_core::lots::Lot;

use super::{Account, EntryMeta};
use crate::db::DbConnection;
use crate::error::StoreResult;

impl Account {
    /// Credits a lot the caller made with its own dates (an imported opening balance, see
    /// [`loyalty_core::lots::imported_lot`]) as one `kind` entry of its size: like
    /// [`Account::credit`], debt is repaid first and the rest stays in the lot, its dates kept.
    /// Returns the entry id.
    pub fn credit_lot(
        &mut self,
        conn: &mut DbConnection,
        kind: EntryKind,
        lot: Lot,
        meta: &EntryMeta,
    ) -> StoreResult<String> {
        let points = lot.remaining;
        let split = ledger::credit(&self.balances, kind, points)?;
        let lot = (!split.to_lot.is_zero()).then_some(Lot {
            remaining: split.to_lot,
            ..lot
        });
        let delta = split.delta(lot.as_ref().is_some_and(|l| l.pending));
        let entry = self.post(conn, kind, points, &delta, meta)?;
        if let Some(lot) = lot {
            self.open_lot(conn, &entry, &lot, meta)?;
        }
        Ok(entry)
    }
}
