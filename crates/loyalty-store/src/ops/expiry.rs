//! The expiry sweep: expires overdue lots, matures pending lots whose pending period is over,
//! and releases holds whose time-to-live passed, for memberships nobody has touched since.
//!
//! Every point-changing operation already settles its membership first
//! ([`Account::settle`]), so balances are right whenever they are used; the sweep makes them
//! right for idle members too, so reports and balance reads show expired points as expired.
//! Each membership is settled in its own transaction, under its lock, by the same code: the
//! sweep and a concurrent earn or redeem can never expire a lot twice.

use std::collections::BTreeSet;

use diesel::prelude::*;
use loyalty_core::Points;
use loyalty_core::ledger::EntryKind;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::clock::to_db_time;
use crate::error::StoreResult;
use crate::literal::{HoldActive, LotOpen, LotPending};
use crate::schema::{holds, ledger_entries, point_lots};
use crate::store::Store;

/// What one sweep did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExpiryReport {
    /// Memberships settled.
    pub memberships: u32,
    /// Points that expired.
    pub points_expired: Decimal,
    /// Pending lots that became spendable.
    pub lots_matured: u32,
    /// Holds whose time-to-live passed, released.
    #[serde(default)]
    pub holds_released: u32,
}

impl Store {
    /// Settles up to `batch` memberships (of `tenant`, or of every tenant) that have overdue or
    /// matured lots or overdue active holds: their overdue holds are released, their overdue
    /// lots expire (oldest expiry first), their due pending lots become spendable. Call it
    /// again until it reports no memberships.
    pub fn expire_due(&self, tenant: Option<&str>, batch: u32) -> StoreResult<ExpiryReport> {
        let now = self.now();
        let now_db = to_db_time(now);
        let limit = i64::from(batch.max(1));
        // Two queries, each matching one partial index exactly (`point_lots_expiry`:
        // `WHERE remaining > 0`; `point_lots_maturity`: `WHERE pending`), hence the literal
        // predicates.
        let due: BTreeSet<(String, String)> = self.read(|conn| {
            let mut overdue = point_lots::table
                .filter(LotOpen)
                .filter(point_lots::expires_at.le(now_db))
                .select((point_lots::tenant_id, point_lots::membership_id))
                .distinct()
                .limit(limit)
                .into_boxed();
            let mut ripe = point_lots::table
                .filter(LotPending)
                .filter(point_lots::spendable_from.le(now_db))
                .filter(point_lots::remaining.gt(0))
                .select((point_lots::tenant_id, point_lots::membership_id))
                .distinct()
                .limit(limit)
                .into_boxed();
            // `holds_active_expiry ... WHERE status = 'active'`.
            let mut run_out = holds::table
                .filter(HoldActive)
                .filter(holds::expires_at.le(now_db))
                .select((holds::tenant_id, holds::membership_id))
                .distinct()
                .limit(limit)
                .into_boxed();
            if let Some(tenant) = tenant {
                overdue = overdue.filter(point_lots::tenant_id.eq(tenant));
                ripe = ripe.filter(point_lots::tenant_id.eq(tenant));
                run_out = run_out.filter(holds::tenant_id.eq(tenant));
            }
            let mut due: BTreeSet<(String, String)> = overdue.load(conn)?.into_iter().collect();
            due.extend(ripe.load::<(String, String)>(conn)?);
            due.extend(run_out.load::<(String, String)>(conn)?);
            Ok(due)
        })?;
        let mut report = ExpiryReport::default();
        let mut expired = Points::ZERO;
        for (tenant_id, membership_id) in due
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
        {
            let (points, matured, released) = self.write(|conn| {
                let mut acct = Account::lock(conn, &tenant_id, &membership_id, now)?;
                let points = acct.settle(conn)?;
                acct.save(conn)?;
                let matured = if acct.posted.is_empty() {
                    0
                } else {
                    ledger_entries::table
                        .filter(ledger_entries::id.eq_any(&acct.posted))
                        .filter(ledger_entries::kind.eq(EntryKind::Matured.as_str()))
                        .count()
                        .get_result::<i64>(conn)?
                };
                Ok((points, matured, acct.holds_released))
            })?;
            report.memberships += 1;
            report.holds_released += released;
            report.lots_matured += u32::try_from(matured).unwrap_or(u32::MAX);
            expired = expired.checked_add(points)?;
        }
        report.points_expired = expired.value();
        Ok(report)
    }
}
