//! Transaction history: the ledger entries of a member or a tenant, newest first, with filters
//! and keyset pagination.
//!
//! Entry ids are UUID v7 (time-ordered), so "newest first" is `ORDER BY id DESC` and the next
//! page is `id < cursor`: served by the `(membership_id, id)` and `(tenant_id, id)` indexes,
//! as fast on the millionth page as on the first, and stable while new entries are written
//! (they sort before the first page, never into a later one).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use loyalty_core::Points;
use loyalty_core::ledger::EntryKind;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::amounts::{from_db, points_from_db};
use crate::clock::{from_db_time, to_db_time};
use crate::db::{DbConnection, native};
use crate::error::{StoreError, StoreResult};
use crate::models::ledger::EntryRow;
use crate::ops::earn_lines::{EarnLine, load_lines};
use crate::ops::members::{Page, find_membership, load_member, page};
use crate::ops::rules_cache::load_program;
use crate::schema::{bills, memberships};
use crate::store::Store;

/// Which entries to list; every field narrows the list, an empty filter lists the tenant's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistoryFilter {
    /// Only this member's entries.
    pub member_id: Option<String>,
    /// Only entries in this program.
    pub program_id: Option<String>,
    /// Only entries of these kinds (empty: all kinds).
    pub kinds: Vec<EntryKind>,
    /// Only entries made at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only entries made before this instant.
    pub to: Option<DateTime<Utc>>,
    /// Only entries of this bill or order reference.
    pub reference: Option<String>,
}

/// One ledger entry as callers see it.
///
/// Its size is [`Points`]; the deltas and the balance after it are signed, so they stay
/// decimals (`Points` is never negative).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntryView {
    /// Its id (also the pagination cursor).
    pub id: String,
    /// The membership it belongs to.
    pub membership_id: String,
    /// The member.
    pub member_id: String,
    /// The program.
    pub program_id: String,
    /// What it did.
    pub kind: EntryKind,
    /// Its size (never negative; the deltas say where the points went).
    pub points: Points,
    /// Change of the available balance.
    pub d_available: Decimal,
    /// Change of the pending balance.
    pub d_pending: Decimal,
    /// Change of the held balance.
    pub d_held: Decimal,
    /// Change of the debt.
    pub d_debt: Decimal,
    /// The member's net points after it (available + pending + held - debt).
    pub balance_after: Decimal,
    /// The bill or order reference.
    pub reference: Option<String>,
    /// The hold it belongs to.
    pub hold_id: Option<String>,
    /// The campaign that granted it.
    pub campaign_id: Option<String>,
    /// The referred member whose bill earned it (referral entries).
    pub source_member_id: Option<String>,
    /// Who performed it.
    pub actor: String,
    /// Why.
    pub reason: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// On an `earned` entry, its bill's lines: each line's category, rule and share of the
    /// bill's points (which include the campaign bonuses posted as their own entries). Empty
    /// on other entries and on bills earned before lines were recorded.
    pub lines: Vec<EarnLine>,
}

impl TryFrom<EntryRow> for LedgerEntryView {
    type Error = StoreError;

    fn try_from(r: EntryRow) -> StoreResult<Self> {
        Ok(LedgerEntryView {
            kind: r.kind.parse().map_err(|_| {
                StoreError::Corrupt(format!("entry {} has kind {:?}", r.id, r.kind))
            })?,
            points: points_from_db(r.points)?,
            d_available: from_db(r.d_available),
            d_pending: from_db(r.d_pending),
            d_held: from_db(r.d_held),
            d_debt: from_db(r.d_debt),
            balance_after: from_db(r.balance_after),
            created_at: from_db_time(r.created_at),
            id: r.id,
            membership_id: r.membership_id,
            member_id: r.member_id,
            program_id: r.program_id,
            reference: r.reference,
            hold_id: r.hold_id,
            campaign_id: r.campaign_id,
            source_member_id: r.source_member_id,
            actor: r.actor,
            reason: r.reason,
            lines: Vec::new(),
        })
    }
}

/// A cursor is the id of the last entry of the previous page.
fn check_cursor(cursor: Option<&str>) -> StoreResult<Option<String>> {
    cursor
        .map(|c| {
            Uuid::parse_str(c).map(|id| id.to_string()).map_err(|_| {
                StoreError::InvalidArgument(format!(
                    "{c:?} is not a history cursor: pass the next_cursor of the previous page"
                ))
            })
        })
        .transpose()
}

impl Store {
    /// Ledger entries of the tenant matching `filter`, newest first, `limit` (1..=500) at a
    /// time; pass the page's `next_cursor` to get the next one. A member or program that is
    /// not the tenant's is `NotFound`; a cursor that is not one is `InvalidArgument`.
    pub fn history(
        &self,
        tenant: &str,
        filter: HistoryFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<LedgerEntryView>> {
        use crate::schema::ledger_entries::dsl as e;
        let limit = i64::from(limit.clamp(1, 500));
        let before = check_cursor(cursor)?;
        self.read(|conn| {
            let mut query = e::ledger_entries
                .filter(e::tenant_id.eq(tenant))
                .into_boxed();
            match (&filter.member_id, &filter.program_id) {
                (Some(member), Some(program)) => {
                    let membership = find_membership(conn, tenant, member, program)?;
                    query = query.filter(e::membership_id.eq(membership.id));
                }
                (Some(member), None) => {
                    load_member(conn, tenant, member)?;
                    // Through the member's memberships, so the (membership_id, id) index serves.
                    let ids: Vec<String> = memberships::table
                        .filter(memberships::tenant_id.eq(tenant))
                        .filter(memberships::member_id.eq(member))
                        .select(memberships::id)
                        .load(conn)?;
                    query = query.filter(e::membership_id.eq_any(ids));
                }
                (None, Some(program)) => {
                    load_program(conn, tenant, program)?;
                    query = query.filter(e::program_id.eq(program));
                }
                (None, None) => {}
            }
            if !filter.kinds.is_empty() {
                let kinds: Vec<&str> = filter.kinds.iter().map(|k| k.as_str()).collect();
                query = query.filter(e::kind.eq_any(kinds));
            }
            if let Some(from) = filter.from {
                query = query.filter(e::created_at.ge(to_db_time(from)));
            }
            if let Some(to) = filter.to {
                query = query.filter(e::created_at.lt(to_db_time(to)));
            }
            if let Some(reference) = &filter.reference {
                query = query.filter(e::reference.eq(reference));
            }
            if let Some(before) = &before {
                query = query.filter(e::id.lt(before));
            }
            let rows: Vec<EntryRow> = query
                .order(e::id.desc())
                .limit(limit + 1)
                .select(EntryRow::as_select())
                .load(conn)?;
            let page = page(rows, limit, |r| r.id.clone(), LedgerEntryView::try_from);
            let mut items = page.items.into_iter().collect::<StoreResult<Vec<_>>>()?;
            attach_lines(conn, tenant, &mut items)?;
            Ok(Page {
                items,
                next_cursor: page.next_cursor,
            })
        })
    }
}

/// Gives the page's `earned` entries their bills' lines: two statements per page, on the
/// bills' `(membership_id, reference)` key and the lines' primary key.
/// Line amounts are shown in the program currency's minor units ("500.00").
pub(crate) fn attach_lines(
    conn: &mut DbConnection,
    tenant: &str,
    items: &mut [LedgerEntryView],
) -> StoreResult<()> {
    let earned: Vec<(&str, &str)> = items
        .iter()
        .filter(|v| v.kind == EntryKind::Earned)
        .filter_map(|v| Some((v.membership_id.as_str(), v.reference.as_deref()?)))
        .collect();
    if earned.is_empty() {
        return Ok(());
    }
    let memberships: Vec<&str> = earned.iter().map(|(m, _)| *m).collect();
    let references: Vec<&str> = earned.iter().map(|(_, r)| *r).collect();
    let found: Vec<(String, String, String)> = native!(conn, c => bills::table
        .filter(bills::membership_id.eq_any(&memberships))
        .filter(bills::reference.eq_any(&references))
        .select((bills::id, bills::membership_id, bills::reference))
        .load(c))?;
    let bill_ids: Vec<&str> = found.iter().map(|(id, _, _)| id.as_str()).collect();
    let mut lines = load_lines(conn, &bill_ids)?;
    for item in items.iter_mut().filter(|v| v.kind == EntryKind::Earned) {
        let bill = found.iter().find(|(_, m, r)| {
            *m == item.membership_id && Some(r.as_str()) == item.reference.as_deref()
        });
        if let Some((id, _, _)) = bill {
            let minor = load_program(conn, tenant, &item.program_id)?
                .rules
                .currency
                .minor_units();
            item.lines = lines.remove(id).unwrap_or_default();
            for line in &mut item.lines {
                let mut shown = line.amount.normalize();
                if shown.scale() < minor {
                    shown.rescale(minor);
                }
                line.amount = shown;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_must_be_an_entry_id() {
        assert!(matches!(
            check_cursor(Some("page-2")),
            Err(StoreError::InvalidArgument(_))
        ));
        let id = Uuid::now_v7().to_string();
        assert_eq!(check_cursor(Some(&id)).unwrap(), Some(id));
        assert_eq!(check_cursor(None).unwrap(), None);
    }
}
