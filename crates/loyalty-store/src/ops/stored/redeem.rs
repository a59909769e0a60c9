//! A redemption's stored form.

use loyalty_core::ledger::Balances;
use loyalty_core::{Currency, Money, Points};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{StoreError, StoreResult};
use crate::ops::redeem::RedeemOutcome;

/// A [`RedeemOutcome`] as idempotency records hold it: its amounts as decimals with the
/// currency code beside them, as earlier releases wrote them.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredRedeem {
    entry_id: String,
    reference: String,
    points: Points,
    value: Decimal,
    currency: String,
    bill_total: Decimal,
    to_pay: Decimal,
    balances: Balances,
}

impl From<RedeemOutcome> for StoredRedeem {
    fn from(o: RedeemOutcome) -> Self {
        let RedeemOutcome {
            entry_id,
            reference,
            points,
            value,
            bill_total,
            to_pay,
            balances,
        } = o;
        StoredRedeem {
            entry_id,
            reference,
            points,
            value: value.amount(),
            currency: value.currency().code().to_owned(),
            bill_total: bill_total.amount(),
            to_pay: to_pay.amount(),
            balances,
        }
    }
}

impl TryFrom<StoredRedeem> for RedeemOutcome {
    type Error = StoreError;

    fn try_from(s: StoredRedeem) -> StoreResult<Self> {
        let StoredRedeem {
            entry_id,
            reference,
            points,
            value,
            currency,
            bill_total,
            to_pay,
            balances,
        } = s;
        let currency = Currency::new(&currency)?;
        Ok(RedeemOutcome {
            entry_id,
            reference,
            points,
            value: Money::new(value, currency)?,
            bill_total: Money::new(bill_total, currency)?,
            to_pay: Money::new(to_pay, currency)?,
            balances,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::stored::samples::written_back;

    /// A redemption exactly as an idempotency record of an earlier release holds it.
    const RECORDED_REDEEM: &str = concat!(
        r#"{"entry_id":"e-1","reference":"ORDER-1","points":"1000","value":"100","#,
        r#""currency":"INR","bill_total":"975","to_pay":"875","balances":{"available":"200","#,
        r#""pending":"0","held":"0","debt":"0","earned":"1200","redeemed":"1000","#,
        r#""expired":"0","reversed":"0"}}"#
    );

    #[test]
    fn a_redemption_recorded_by_an_earlier_release_replays_with_core_values() {
        let done: RedeemOutcome = serde_json::from_str(RECORDED_REDEEM).unwrap();
        let inr = Currency::new("INR").unwrap();
        let money = |s: &str| Money::parse(s, inr).unwrap();
        assert_eq!(done.points, Points::whole(1000).unwrap());
        assert_eq!(
            (done.value, done.bill_total, done.to_pay),
            (money("100"), money("975"), money("875"))
        );
        assert_eq!(done.balances.available, Points::whole(200).unwrap());
    }

    #[test]
    fn a_redemption_is_recorded_in_the_shape_earlier_releases_wrote() {
        assert_eq!(
            written_back::<RedeemOutcome>(RECORDED_REDEEM),
            RECORDED_REDEEM
        );
    }

    #[test]
    fn a_recorded_redemption_with_an_unknown_currency_is_refused_as_corrupt_not_misread() {
        let bad = RECORDED_REDEEM.replace(r#""currency":"INR""#, r#""currency":"??""#);
        assert!(serde_json::from_str::<RedeemOutcome>(&bad).is_err());
    }
}
