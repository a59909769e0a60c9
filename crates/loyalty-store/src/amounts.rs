//! Exact conversion between decimals and the database's scaled integers.
//!
//! Points and money are stored as BIGINT counts of ten-thousandths (scale 4, the most places
//! `loyalty-core` accepts), so SQL can add them exactly and identically on both backends.

use loyalty_core::{Currency, Money, Points};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::error::{StoreError, StoreResult};

const SCALE: u32 = 4;
const FACTOR: i64 = 10_000;

/// A decimal as ten-thousandths. Fails only for values `loyalty-core` would never produce.
pub fn to_db(value: Decimal) -> StoreResult<i64> {
    value
        .checked_mul(Decimal::from(FACTOR))
        .filter(|scaled| scaled.fract().is_zero())
        .and_then(|scaled| scaled.to_i64())
        .ok_or_else(|| StoreError::Corrupt(format!("amount {value} cannot be stored exactly")))
}

/// Ten-thousandths as a decimal.
pub fn from_db(value: i64) -> Decimal {
    Decimal::new(value, SCALE).normalize()
}

/// Points as ten-thousandths.
pub fn points_to_db(points: Points) -> StoreResult<i64> {
    to_db(points.value())
}

/// Ten-thousandths as points (never negative in a consistent database).
pub fn points_from_db(value: i64) -> StoreResult<Points> {
    Points::new(from_db(value))
        .map_err(|e| StoreError::Corrupt(format!("stored points {value}: {e}")))
}

/// Money as ten-thousandths.
pub fn money_to_db(money: &Money) -> StoreResult<i64> {
    to_db(money.amount())
}

/// Ten-thousandths as money.
pub fn money_from_db(value: i64, currency: Currency) -> StoreResult<Money> {
    Money::new(from_db(value), currency)
        .map_err(|e| StoreError::Corrupt(format!("stored amount {value}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn twelve_and_a_half_is_stored_as_125000() {
        assert_eq!(to_db(Decimal::new(125, 1)).unwrap(), 125_000);
        assert_eq!(from_db(125_000), Decimal::new(125, 1));
    }

    #[test]
    fn a_fifth_decimal_place_cannot_be_stored() {
        assert!(to_db(Decimal::new(1, 5)).is_err());
    }

    proptest! {
        #[test]
        fn every_core_amount_round_trips_exactly(units in 0i64..=1_000_000_000_000_000_000i64) {
            let d = from_db(units);
            prop_assert_eq!(to_db(d).unwrap(), units);
            prop_assert!(Points::new(d).is_ok());
        }
    }
}
