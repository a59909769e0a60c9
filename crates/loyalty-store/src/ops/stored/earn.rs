//! The earn's stored form.

use chrono::{DateTime, Utc};
use loyalty_core::ledger::Balances;
use loyalty_core::{Currency, Money, Points};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{StoreError, StoreResult};
use crate::ops::earn::{CampaignAward, EarnOutcome};
use crate::ops::earn_lines::EarnLine;
use crate::ops::tiers::TierMove;

/// An [`EarnOutcome`] as idempotency records hold it: the earning amount as a decimal with its
/// currency code beside it. Records written by earlier releases have this shape, and a replay
/// must still read them, so it does not follow the outcome's own fields.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredEarn {
    membership_id: String,
    reference: String,
    entry_ids: Vec<String>,
    points: Points,
    base: Points,
    tier_bonus: Points,
    tier_multiplier: Decimal,
    campaign_bonuses: Vec<CampaignAward>,
    /// Absent from records written before per-line earning (and left out when empty, so an
    /// answer without lines keeps the earlier shape).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    lines: Vec<EarnLine>,
    cap_reduction: Points,
    earning_amount: Decimal,
    currency: String,
    referral_points: Points,
    referrer_member_id: Option<String>,
    tier_change: Option<TierMove>,
    balances: Balances,
    at: DateTime<Utc>,
}

impl From<EarnOutcome> for StoredEarn {
    fn from(o: EarnOutcome) -> Self {
        let EarnOutcome {
            membership_id,
            reference,
            entry_ids,
            points,
            base,
            tier_bonus,
            tier_multiplier,
            campaign_bonuses,
            lines,
            cap_reduction,
            earning_amount,
            referral_points,
            referrer_member_id,
            tier_change,
            balances,
            at,
        } = o;
        StoredEarn {
            membership_id,
            reference,
            entry_ids,
            points,
            base,
            tier_bonus,
            tier_multiplier,
            campaign_bonuses,
            lines,
            cap_reduction,
            earning_amount: earning_amount.amount(),
            currency: earning_amount.currency().code().to_owned(),
            referral_points,
            referrer_member_id,
            tier_change,
            balances,
            at,
        }
    }
}

impl TryFrom<StoredEarn> for EarnOutcome {
    type Error = StoreError;

    fn try_from(s: StoredEarn) -> StoreResult<Self> {
        let StoredEarn {
            membership_id,
            reference,
            entry_ids,
            points,
            base,
            tier_bonus,
            tier_multiplier,
            campaign_bonuses,
            lines,
            cap_reduction,
            earning_amount,
            currency,
            referral_points,
            referrer_member_id,
            tier_change,
            balances,
            at,
        } = s;
        Ok(EarnOutcome {
            membership_id,
            reference,
            entry_ids,
            points,
            base,
            tier_bonus,
            tier_multiplier,
            campaign_bonuses,
            lines,
            cap_reduction,
            earning_amount: Money::new(earning_amount, Currency::new(&currency)?)?,
            referral_points,
            referrer_member_id,
            tier_change,
            balances,
            at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An earn's answer exactly as an idempotency record of an earlier release holds it.
    const RECORDED_EARN: &str = concat!(
        r#"{"membership_id":"m-1","reference":"ORDER123","entry_ids":["e-1","e-2"],"#,
        r#""points":"57.5","base":"50","tier_bonus":"0","tier_multiplier":"1","#,
        r#""campaign_bonuses":[{"campaign_id":"c-1","name":"Weekend","points":"7.5","#,
        r#""limited_by":"budget","entry_id":"e-2"}],"cap_reduction":"0","#,
        r#""earning_amount":"500.25","currency":"INR","referral_points":"5","#,
        r#""referrer_member_id":"m-0","tier_change":{"from":null,"to":"Silver","bonus":"100","#,
        r#""bonus_entry_id":"e-3"},"balances":{"available":"157.5","pending":"0","held":"0","#,
        r#""debt":"0","earned":"157.5","redeemed":"0","expired":"0","reversed":"0"},"#,
        r#""at":"2026-11-21T10:00:00Z"}"#
    );

    #[test]
    fn an_earn_recorded_by_an_earlier_release_replays_with_core_values() {
        let outcome: EarnOutcome = serde_json::from_str(RECORDED_EARN).unwrap();
        let inr = Currency::new("INR").unwrap();
        assert_eq!(
            outcome.earning_amount,
            Money::new("500.25".parse().unwrap(), inr).unwrap()
        );
        assert_eq!(outcome.points, "57.5".parse().unwrap());
        assert_eq!(outcome.campaign_bonuses[0].points, "7.5".parse().unwrap());
        assert_eq!(
            outcome.tier_change.as_ref().unwrap().bonus,
            Points::whole(100).unwrap()
        );
        assert_eq!(outcome.balances.available, "157.5".parse().unwrap());
    }

    #[test]
    fn an_earn_is_recorded_in_the_shape_earlier_releases_wrote() {
        let outcome: EarnOutcome = serde_json::from_str(RECORDED_EARN).unwrap();
        assert_eq!(serde_json::to_string(&outcome).unwrap(), RECORDED_EARN);
    }

    #[test]
    fn an_earn_recorded_with_its_lines_replays_them() {
        let mut outcome: EarnOutcome = serde_json::from_str(RECORDED_EARN).unwrap();
        assert!(outcome.lines.is_empty());
        outcome.lines = vec![EarnLine {
            line: 0,
            category: Some("General".into()),
            rule: "category_percent".into(),
            rate: "3".into(),
            amount: "500.25".parse().unwrap(),
            base: "15".parse().unwrap(),
            tier_bonus: Points::ZERO,
            campaign_bonus: "7.5".parse().unwrap(),
            points: "22.5".parse().unwrap(),
        }];
        let recorded = serde_json::to_string(&outcome).unwrap();
        let replayed: EarnOutcome = serde_json::from_str(&recorded).unwrap();
        assert_eq!(replayed, outcome);
    }

    #[test]
    fn a_recorded_earn_with_an_unknown_currency_is_refused_as_corrupt_not_misread() {
        let bad = RECORDED_EARN.replace(r#""currency":"INR""#, r#""currency":"??""#);
        assert!(serde_json::from_str::<EarnOutcome>(&bad).is_err());
    }
}
