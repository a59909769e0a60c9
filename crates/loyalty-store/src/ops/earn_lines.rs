//! Per-line earning: which line of a bill earned which of its points, by which rule.
//!
//! `loyalty-core`'s [`compute_earning`](loyalty_core::compute_earning) shares the bill's
//! points out over its lines (step 6: rounding remainders to the heaviest line), so the lines'
//! points add up to the bill's `earned` exactly. The earn writes them, in its transaction, to
//! `earn_lines` (one multi-row INSERT); the bill's reads and the history return them, and the
//! invariant checker proves the sum.

use std::collections::HashMap;

use diesel::prelude::*;
use loyalty_core::{Earning, LineRule, Points};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::amounts::{from_db, points_from_db, points_to_db, to_db};
use crate::db::{DbConnection, native};
use crate::error::StoreResult;
use crate::models::ledger::EarnLineRow;
use crate::schema::earn_lines;

/// One bill line's earning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarnLine {
    /// The line's position in the bill (0 for the first).
    pub line: u32,
    /// The line's category (none: the line had none).
    pub category: Option<String>,
    /// The rule it earned by: `base_rate` or `category_percent`.
    pub rule: String,
    /// The category's percentage ("3"), or the base rate as points/per ("1/10").
    pub rate: String,
    /// The amount of the line that earned, in the program's currency.
    pub amount: Decimal,
    /// Its share of the base points.
    pub base: Points,
    /// Its share of the tier bonus (the bill's tier multiplier on its base).
    pub tier_bonus: Points,
    /// Its share of the campaign bonuses of the campaigns it was eligible for.
    pub campaign_bonus: Points,
    /// `base + tier_bonus + campaign_bonus`; the lines' points add up to the bill's.
    pub points: Points,
}

/// The lines of a bill's earning (what an earn records; a quote shows the same).
pub fn lines_of(earning: &Earning) -> Vec<EarnLine> {
    earning
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let (rule, rate) = match l.rule {
                LineRule::Category(p) => ("category_percent", p.value().normalize().to_string()),
                LineRule::Base(r) => (
                    "base_rate",
                    format!("{}/{}", r.points(), r.per().normalize()),
                ),
            };
            EarnLine {
                line: u32::try_from(i).unwrap_or(u32::MAX),
                category: l.category.as_ref().map(|c| c.as_str().to_owned()),
                rule: rule.to_owned(),
                rate,
                amount: l.amount.amount(),
                base: l.points.base,
                tier_bonus: l.points.tier_bonus,
                campaign_bonus: l.points.campaign_bonus,
                points: l.points.total,
            }
        })
        .collect()
}

/// Writes a bill's lines, in one statement.
pub(crate) fn insert_lines(
    conn: &mut DbConnection,
    bill_id: &str,
    lines: &[EarnLine],
) -> StoreResult<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let rows = lines
        .iter()
        .map(|l| {
            Ok(EarnLineRow {
                bill_id: bill_id.to_owned(),
                line_no: i32::try_from(l.line).unwrap_or(i32::MAX),
                category: l.category.clone(),
                rule: l.rule.clone(),
                rate: l.rate.clone(),
                amount: to_db(l.amount)?,
                base_points: points_to_db(l.base)?,
                tier_bonus: points_to_db(l.tier_bonus)?,
                campaign_bonus: points_to_db(l.campaign_bonus)?,
                points: points_to_db(l.points)?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    native!(conn, c => diesel::insert_into(earn_lines::table)
        .values(&rows)
        .execute(c))?;
    Ok(())
}

/// The lines of some bills, by bill id, each bill's in line order (bills earned before lines
/// were recorded have none).
pub(crate) fn load_lines(
    conn: &mut DbConnection,
    bill_ids: &[&str],
) -> StoreResult<HashMap<String, Vec<EarnLine>>> {
    let mut by_bill: HashMap<String, Vec<EarnLine>> = HashMap::new();
    if bill_ids.is_empty() {
        return Ok(by_bill);
    }
    let rows: Vec<EarnLineRow> = native!(conn, c => earn_lines::table
        .filter(earn_lines::bill_id.eq_any(bill_ids))
        .order((earn_lines::bill_id, earn_lines::line_no))
        .select(EarnLineRow::as_select())
        .load(c))?;
    for r in rows {
        let line = EarnLine {
            line: u32::try_from(r.line_no).unwrap_or(0),
            category: r.category,
            rule: r.rule,
            rate: r.rate,
            amount: from_db(r.amount),
            base: points_from_db(r.base_points)?,
            tier_bonus: points_from_db(r.tier_bonus)?,
            campaign_bonus: points_from_db(r.campaign_bonus)?,
            points: points_from_db(r.points)?,
        };
        by_bill.entry(r.bill_id).or_default().push(line);
    }
    Ok(by_bill)
}
