//! A hold's stored form (the answer of `reserve`, `capture` and `release`).

use chrono::{DateTime, Utc};
use loyalty_core::ledger::Balances;
use loyalty_core::{Currency, Money, Points};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{StoreError, StoreResult};
use crate::ops::holds::HoldView;

/// A [`HoldView`] as idempotency records hold it: its amounts as decimals with the currency
/// code beside them, as earlier releases wrote them.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredHold {
    id: String,
    member_id: String,
    program_id: String,
    reference: String,
    status: String,
    points: Points,
    captured: Points,
    value: Decimal,
    currency: String,
    bill_total: Decimal,
    to_pay: Decimal,
    expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    balances: Balances,
}

impl From<HoldView> for StoredHold {
    fn from(h: HoldView) -> Self {
        let HoldView {
            id,
            member_id,
            program_id,
            reference,
            status,
            points,
            captured,
            value,
            bill_total,
            to_pay,
            expires_at,
            created_at,
            resolved_at,
            balances,
        } = h;
        StoredHold {
            id,
            member_id,
            program_id,
            reference,
            status,
            points,
            captured,
            value: value.amount(),
            currency: value.currency().code().to_owned(),
            bill_total: bill_total.amount(),
            to_pay: to_pay.amount(),
            expires_at,
            created_at,
            resolved_at,
            balances,
        }
    }
}

impl TryFrom<StoredHold> for HoldView {
    type Error = StoreError;

    fn try_from(s: StoredHold) -> StoreResult<Self> {
        let StoredHold {
            id,
            member_id,
            program_id,
            reference,
            status,
            points,
            captured,
            value,
            currency,
            bill_total,
            to_pay,
            expires_at,
            created_at,
            resolved_at,
            balances,
        } = s;
        let currency = Currency::new(&currency)?;
        Ok(HoldView {
            id,
            member_id,
            program_id,
            reference,
            status,
            points,
            captured,
            value: Money::new(value, currency)?,
            bill_total: Money::new(bill_total, currency)?,
            to_pay: Money::new(to_pay, currency)?,
            expires_at,
            created_at,
            resolved_at,
            balances,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::stored::samples::written_back;

    /// A captured hold exactly as an idempotency record of an earlier release holds it.
    const RECORDED_HOLD: &str = concat!(
        r#"{"id":"h-1","member_id":"mem-1","program_id":"p-1","reference":"ORDER1","#,
        r#""status":"captured","points":"30","captured":"20","value":"2.5","#,
        r#""currency":"INR","bill_total":"500","to_pay":"497.5","#,
        r#""expires_at":"2026-11-21T10:15:00Z","created_at":"2026-11-21T10:00:00Z","#,
        r#""resolved_at":"2026-11-21T10:05:00.250Z","balances":{"available":"120","#,
        r#""pending":"5","held":"0","debt":"0","earned":"250","redeemed":"120","#,
        r#""expired":"0","reversed":"0"}}"#
    );

    #[test]
    fn a_hold_recorded_by_an_earlier_release_replays_with_core_values() {
        let hold: HoldView = serde_json::from_str(RECORDED_HOLD).unwrap();
        let inr = Currency::new("INR").unwrap();
        let money = |s: &str| Money::parse(s, inr).unwrap();
        assert_eq!(
            (hold.points, hold.captured),
            (Points::whole(30).unwrap(), Points::whole(20).unwrap())
        );
        assert_eq!(
            (hold.value, hold.bill_total, hold.to_pay),
            (money("2.50"), money("500"), money("497.50"))
        );
        assert_eq!(hold.balances.redeemed, Points::whole(120).unwrap());
    }

    #[test]
    fn a_hold_is_recorded_in_the_shape_earlier_releases_wrote() {
        assert_eq!(written_back::<HoldView>(RECORDED_HOLD), RECORDED_HOLD);
    }

    #[test]
    fn a_recorded_hold_with_an_unknown_currency_is_refused_as_corrupt_not_misread() {
        let bad = RECORDED_HOLD.replace(r#""currency":"INR""#, r#""currency":"??""#);
        assert!(serde_json::from_str::<HoldView>(&bad).is_err());
    }
}
