//! A reversal's stored form.

use loyalty_core::ledger::Balances;
use loyalty_core::{Currency, Money, Points};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{StoreError, StoreResult};
use crate::ops::reverse::{ReverseOutcome, TakenBack};

/// A [`ReverseOutcome`] as idempotency records hold it: the currency code first, then the
/// amounts as decimals, as earlier releases wrote them. What was taken back needs no stored
/// form of its own: it is all points.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredReverse {
    reference: String,
    currency: String,
    bill_total: Decimal,
    returned: Decimal,
    returned_total: Decimal,
    redeemed_returned: Points,
    returned_entry_id: Option<String>,
    earned: TakenBack,
    referral: Option<TakenBack>,
    balances: Balances,
}

impl From<ReverseOutcome> for StoredReverse {
    fn from(o: ReverseOutcome) -> Self {
        let ReverseOutcome {
            reference,
            bill_total,
            returned,
            returned_total,
            redeemed_returned,
            returned_entry_id,
            earned,
            referral,
            balances,
        } = o;
        StoredReverse {
            reference,
            currency: bill_total.currency().code().to_owned(),
            bill_total: bill_total.amount(),
            returned: returned.amount(),
            returned_total: returned_total.amount(),
            redeemed_returned,
            returned_entry_id,
            earned,
            referral,
            balances,
        }
    }
}

impl TryFrom<StoredReverse> for ReverseOutcome {
    type Error = StoreError;

    fn try_from(s: StoredReverse) -> StoreResult<Self> {
        let StoredReverse {
            reference,
            currency,
            bill_total,
            returned,
            returned_total,
            redeemed_returned,
            returned_entry_id,
            earned,
            referral,
            balances,
        } = s;
        let currency = Currency::new(&currency)?;
        Ok(ReverseOutcome {
            reference,
            bill_total: Money::new(bill_total, currency)?,
            returned: Money::new(returned, currency)?,
            returned_total: Money::new(returned_total, currency)?,
            redeemed_returned,
            returned_entry_id,
            earned,
            referral,
            balances,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::stored::samples::written_back;

    /// A partial return exactly as an idempotency record of an earlier release holds it.
    const RECORDED_REVERSE: &str = concat!(
        r#"{"reference":"ORDER-1","currency":"INR","bill_total":"500.5","#,
        r#""returned":"250.25","returned_total":"250.25","redeemed_returned":"50","#,
        r#""returned_entry_id":"e-4","earned":{"membership_id":"m-1","planned":"25","#,
        r#""from_lots":"20","to_debt":"5","forgiven":"0","entry_id":"e-5"},"#,
        r#""referral":{"membership_id":"m-0","planned":"2.5","from_lots":"0","#,
        r#""to_debt":"0","forgiven":"2.5","entry_id":null},"balances":{"available":"0","#,
        r#""pending":"0","held":"0","debt":"5","earned":"25","redeemed":"0","expired":"0","#,
        r#""reversed":"25"}}"#
    );

    #[test]
    fn a_reversal_recorded_by_an_earlier_release_replays_with_core_values() {
        let done: ReverseOutcome = serde_json::from_str(RECORDED_REVERSE).unwrap();
        let inr = Currency::new("INR").unwrap();
        let money = |s: &str| Money::parse(s, inr).unwrap();
        assert_eq!(done.bill_total, money("500.50"));
        assert_eq!(
            (done.returned, done.returned_total),
            (money("250.25"), money("250.25"))
        );
        assert_eq!(done.redeemed_returned, Points::whole(50).unwrap());
        assert_eq!(done.earned.to_debt, Points::whole(5).unwrap());
        assert_eq!(done.referral.unwrap().forgiven, "2.5".parse().unwrap());
    }

    #[test]
    fn a_reversal_is_recorded_in_the_shape_earlier_releases_wrote() {
        assert_eq!(
            written_back::<ReverseOutcome>(RECORDED_REVERSE),
            RECORDED_REVERSE
        );
        let cancelled = RECORDED_REVERSE.replace(
            r#""referral":{"membership_id":"m-0","planned":"2.5","from_lots":"0","to_debt":"0","forgiven":"2.5","entry_id":null}"#,
            r#""referral":null"#,
        );
        assert!(cancelled.contains(r#""referral":null"#));
        assert_eq!(written_back::<ReverseOutcome>(&cancelled), cancelled);
    }

    #[test]
    fn a_recorded_reversal_with_an_unknown_currency_is_refused_as_corrupt_not_misread() {
        let bad = RECORDED_REVERSE.replace(r#""currency":"INR""#, r#""currency":"??""#);
        assert!(serde_json::from_str::<ReverseOutcome>(&bad).is_err());
    }
}
