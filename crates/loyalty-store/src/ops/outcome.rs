//! Pieces shared by the outcomes of point-changing operations (stored as JSON for replay).

use loyalty_core::Balances;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A membership's balances and lifetime totals after an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointBalances {
    /// Spendable now.
    pub available: Decimal,
    /// Earned but not yet spendable.
    pub pending: Decimal,
    /// Reserved by holds.
    pub held: Decimal,
    /// Owed after reversals beyond the balance (repaid by later credits).
    pub debt: Decimal,
    /// Lifetime earned (every earning credit and upward adjustment).
    pub earned: Decimal,
    /// Lifetime redeemed.
    pub redeemed: Decimal,
    /// Lifetime expired.
    pub expired: Decimal,
    /// Lifetime reversed (including downward adjustments).
    pub reversed: Decimal,
}

impl From<&Balances> for PointBalances {
    fn from(b: &Balances) -> Self {
        PointBalances {
            available: b.available.value(),
            pending: b.pending.value(),
            held: b.held.value(),
            debt: b.debt.value(),
            earned: b.earned.value(),
            redeemed: b.redeemed.value(),
            expired: b.expired.value(),
            reversed: b.reversed.value(),
        }
    }
}
