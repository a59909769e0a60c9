//! The stored forms of a catalog entry (the answer of `create_reward` and
//! `set_reward_active`) and of a reward redemption (the answer of `redeem_reward`).

use chrono::{DateTime, Utc};
use loyalty_core::{Currency, Money, Points};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{StoreError, StoreResult};
use crate::ops::reward_redemptions::{RewardRedemptionStatus, RewardRedemptionView};
use crate::ops::rewards::RewardView;

/// A [`RewardView`] as idempotency records hold it: the value as a decimal with the currency
/// code beside it (an item's too, though it has no value), as earlier releases wrote it.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredReward {
    id: String,
    program_id: String,
    name: String,
    kind: String,
    value: Option<Decimal>,
    currency: String,
    cost: Points,
    validity_days: Option<u32>,
    active: bool,
    created_at: DateTime<Utc>,
}

impl From<RewardView> for StoredReward {
    fn from(r: RewardView) -> Self {
        let RewardView {
            id,
            program_id,
            name,
            kind,
            value,
            currency,
            cost,
            validity_days,
            active,
            created_at,
        } = r;
        StoredReward {
            id,
            program_id,
            name,
            kind,
            value: value.map(|v| v.amount()),
            currency: currency.code().to_owned(),
            cost,
            validity_days,
            active,
            created_at,
        }
    }
}

impl TryFrom<StoredReward> for RewardView {
    type Error = StoreError;

    fn try_from(s: StoredReward) -> StoreResult<Self> {
        let StoredReward {
            id,
            program_id,
            name,
            kind,
            value,
            currency,
            cost,
            validity_days,
            active,
            created_at,
        } = s;
        let currency = Currency::new(&currency)?;
        Ok(RewardView {
            id,
            program_id,
            name,
            kind,
            value: value.map(|v| Money::new(v, currency)).transpose()?,
            currency,
            cost,
            validity_days,
            active,
            created_at,
        })
    }
}

/// A [`RewardRedemptionView`] as idempotency records hold it: the value as a decimal with the
/// currency code beside it (an item's too, though it has no value), as earlier releases wrote
/// it.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredRewardRedemption {
    id: String,
    reward_id: String,
    reward_name: String,
    kind: String,
    member_id: String,
    program_id: String,
    points: Points,
    value: Option<Decimal>,
    currency: String,
    coupon_code: Option<String>,
    status: RewardRedemptionStatus,
    entry_id: String,
    expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    /// Absent from records of earlier releases (which could not cancel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cancelled_at: Option<DateTime<Utc>>,
}

impl From<RewardRedemptionView> for StoredRewardRedemption {
    fn from(r: RewardRedemptionView) -> Self {
        let RewardRedemptionView {
            id,
            reward_id,
            reward_name,
            kind,
            member_id,
            program_id,
            points,
            value,
            currency,
            coupon_code,
            status,
            entry_id,
            expires_at,
            created_at,
            used_at,
            cancelled_at,
        } = r;
        StoredRewardRedemption {
            id,
            reward_id,
            reward_name,
            kind,
            member_id,
            program_id,
            points,
            value: value.map(|v| v.amount()),
            currency: currency.code().to_owned(),
            coupon_code,
            status,
            entry_id,
            expires_at,
            created_at,
            used_at,
            cancelled_at,
        }
    }
}

impl TryFrom<StoredRewardRedemption> for RewardRedemptionView {
    type Error = StoreError;

    fn try_from(s: StoredRewardRedemption) -> StoreResult<Self> {
        let StoredRewardRedemption {
            id,
            reward_id,
            reward_name,
            kind,
            member_id,
            program_id,
            points,
            value,
            currency,
            coupon_code,
            status,
            entry_id,
            expires_at,
            created_at,
            used_at,
            cancelled_at,
        } = s;
        let currency = Currency::new(&currency)?;
        Ok(RewardRedemptionView {
            id,
            reward_id,
            reward_name,
            kind,
            member_id,
            program_id,
            points,
            value: value.map(|v| Money::new(v, currency)).transpose()?,
            currency,
            coupon_code,
            status,
            entry_id,
            expires_at,
            created_at,
            used_at,
            cancelled_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::stored::samples::written_back;

    /// A coupon exactly as an idempotency record (`create_reward`) of an earlier release holds it.
    const RECORDED_COUPON: &str = concat!(
        r#"{"id":"rw-1","program_id":"p-1","name":"50 off","kind":"coupon","value":"50.5","#,
        r#""currency":"INR","cost":"500","validity_days":90,"active":true,"#,
        r#""created_at":"2026-11-21T10:00:00Z"}"#
    );

    /// An item: no value, the program's currency still beside it.
    const RECORDED_ITEM: &str = concat!(
        r#"{"id":"rw-2","program_id":"p-1","name":"Mug","kind":"item","value":null,"#,
        r#""currency":"USD","cost":"250","validity_days":null,"active":false,"#,
        r#""created_at":"2026-11-21T10:00:00Z"}"#
    );

    /// A coupon redemption exactly as an idempotency record (`redeem_reward`) of an earlier
    /// release holds it.
    const RECORDED_COUPON_REDEMPTION: &str = concat!(
        r#"{"id":"rr-1","reward_id":"rw-1","reward_name":"50 off","kind":"coupon","#,
        r#""member_id":"mem-1","program_id":"p-1","points":"500","value":"50","currency":"INR","#,
        r#""coupon_code":"K7Q2-M9XD-4HTP","status":"active","entry_id":"e-1","#,
        r#""expires_at":"2027-02-19T10:00:00Z","created_at":"2026-11-21T10:00:00Z","used_at":null}"#
    );

    /// An item redemption: no value, the program's currency still beside it.
    const RECORDED_ITEM_REDEMPTION: &str = concat!(
        r#"{"id":"rr-2","reward_id":"rw-2","reward_name":"Mug","kind":"item","#,
        r#""member_id":"mem-1","program_id":"p-1","points":"250.5","value":null,"currency":"USD","#,
        r#""coupon_code":null,"status":"active","entry_id":"e-2","#,
        r#""expires_at":null,"created_at":"2026-11-21T10:00:00Z","used_at":null}"#
    );

    fn money(amount: &str, code: &str) -> Money {
        Money::parse(amount, Currency::new(code).unwrap()).unwrap()
    }

    #[test]
    fn rewards_recorded_by_an_earlier_release_replay_with_core_values() {
        let coupon: RewardView = serde_json::from_str(RECORDED_COUPON).unwrap();
        assert_eq!(coupon.value, Some(money("50.50", "INR")));
        assert_eq!(coupon.cost, Points::whole(500).unwrap());
        let item: RewardView = serde_json::from_str(RECORDED_ITEM).unwrap();
        assert_eq!(
            (item.value, item.currency),
            (None, Currency::new("USD").unwrap())
        );
    }

    #[test]
    fn reward_redemptions_recorded_by_an_earlier_release_replay_with_core_values() {
        let coupon: RewardRedemptionView =
            serde_json::from_str(RECORDED_COUPON_REDEMPTION).unwrap();
        assert_eq!(coupon.value, Some(money("50", "INR")));
        assert_eq!(coupon.points, Points::whole(500).unwrap());
        let item: RewardRedemptionView = serde_json::from_str(RECORDED_ITEM_REDEMPTION).unwrap();
        assert_eq!(
            (item.value, item.currency),
            (None, Currency::new("USD").unwrap())
        );
        assert_eq!(item.points, "250.5".parse().unwrap());
    }

    #[test]
    fn rewards_and_their_redemptions_are_recorded_in_the_shape_earlier_releases_wrote() {
        assert_eq!(written_back::<RewardView>(RECORDED_COUPON), RECORDED_COUPON);
        assert_eq!(written_back::<RewardView>(RECORDED_ITEM), RECORDED_ITEM);
        let redemption = RECORDED_COUPON_REDEMPTION;
        assert_eq!(written_back::<RewardRedemptionView>(redemption), redemption);
        let item = RECORDED_ITEM_REDEMPTION;
        assert_eq!(written_back::<RewardRedemptionView>(item), item);
    }

    #[test]
    fn a_recorded_reward_with_an_unknown_currency_is_refused_as_corrupt_not_misread() {
        let bad = RECORDED_ITEM.replace(r#""currency":"USD""#, r#""currency":"??""#);
        assert!(serde_json::from_str::<RewardView>(&bad).is_err());
        let bad = RECORDED_COUPON_REDEMPTION.replace(r#""currency":"INR""#, r#""currency":"??""#);
        assert!(serde_json::from_str::<RewardRedemptionView>(&bad).is_err());
    }
}
