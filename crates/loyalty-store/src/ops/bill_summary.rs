//! Per-bill reads: what one bill earned, gave the referrer, redeemed, and what of it was
//! returned, per membership that has the bill.

use std::collections::HashMap;

use diesel::prelude::*;
use loyalty_core::{Currency, Money, Points};

use crate::amounts::{money_from_db, points_from_db};
use crate::error::{StoreError, StoreResult};
use crate::models::ledger::BillRow;
use crate::ops::earn_lines::{EarnLine, load_lines};
use crate::schema::{bills, memberships, programs};
use crate::store::Store;

/// One membership's view of a bill. Money in the program's currency, points in its points.
///
/// A read, never an idempotency record's answer, so it has no serialized form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillView {
    /// The bill's reference.
    pub reference: String,
    /// The membership the bill belongs to.
    pub membership_id: String,
    /// The member.
    pub member_id: String,
    /// The program.
    pub program_id: String,
    /// The bill's total.
    pub total: Money,
    /// The amount that earned points.
    pub earn_amount: Money,
    /// The amount returned so far.
    pub returned: Money,
    /// Points the bill earned the member.
    pub earned: Points,
    /// Of those, points reversed (or forgiven) by returns.
    pub earned_reversed: Points,
    /// The referrer's membership, when the bill earned one referral points.
    pub referrer_membership_id: Option<String>,
    /// Points the bill earned the referrer.
    pub referral: Points,
    /// Of those, points reversed by returns.
    pub referral_reversed: Points,
    /// Points the member redeemed on the bill.
    pub redeemed: Points,
    /// Their money value.
    pub redeemed_value: Money,
    /// Of the redeemed points, points given back by returns.
    pub redeemed_returned: Points,
    /// Each line's category, rule and share of `earned` (none before the bill earned, or when
    /// it earned before lines were recorded).
    pub lines: Vec<EarnLine>,
}

impl Store {
    /// The bill `reference` of the tenant, per membership that earned or redeemed on it
    /// (normally one). `NotFound` when no membership of the tenant has such a bill.
    pub fn bill_summary(&self, tenant: &str, reference: &str) -> StoreResult<Vec<BillView>> {
        self.read(|conn| {
            let rows: Vec<BillRow> = bills::table
                .filter(bills::tenant_id.eq(tenant))
                .filter(bills::reference.eq(reference))
                .order(bills::id)
                .select(BillRow::as_select())
                .load(conn)?;
            if rows.is_empty() {
                return Err(StoreError::NotFound {
                    what: "bill",
                    id: reference.to_owned(),
                });
            }
            let ids: Vec<&str> = rows.iter().map(|b| b.membership_id.as_str()).collect();
            let owners: HashMap<String, (String, String, String)> = memberships::table
                .inner_join(programs::table)
                .filter(memberships::tenant_id.eq(tenant))
                .filter(memberships::id.eq_any(&ids))
                .select((
                    memberships::id,
                    memberships::member_id,
                    memberships::program_id,
                    programs::currency,
                ))
                .load::<(String, String, String, String)>(conn)?
                .into_iter()
                .map(|(id, member, program, currency)| (id, (member, program, currency)))
                .collect();
            let bill_ids: Vec<&str> = rows.iter().map(|b| b.id.as_str()).collect();
            let mut lines = load_lines(conn, &bill_ids)?;
            rows.into_iter()
                .map(|b| {
                    let (member_id, program_id, currency) =
                        owners.get(&b.membership_id).cloned().ok_or_else(|| {
                            StoreError::Corrupt(format!(
                                "bill {} belongs to a missing membership",
                                b.id
                            ))
                        })?;
                    let currency = Currency::new(&currency)?;
                    let money = |amount| money_from_db(amount, currency);
                    Ok(BillView {
                        reference: b.reference,
                        membership_id: b.membership_id,
                        member_id,
                        program_id,
                        total: money(b.total)?,
                        earn_amount: money(b.earn_amount)?,
                        returned: money(b.returned)?,
                        earned: points_from_db(b.earned)?,
                        earned_reversed: points_from_db(b.earned_reversed)?,
                        referrer_membership_id: b.referrer_membership_id,
                        referral: points_from_db(b.referral)?,
                        referral_reversed: points_from_db(b.referral_reversed)?,
                        redeemed: points_from_db(b.redeemed)?,
                        redeemed_value: money(b.redeemed_value)?,
                        redeemed_returned: points_from_db(b.redeemed_returned)?,
                        lines: lines.remove(&b.id).unwrap_or_default(),
                    })
                })
                .collect()
        })
    }
}
