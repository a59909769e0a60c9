//! What the store returns (programs, campaigns, rewards, members, memberships) on the wire,
//! and the member and reward fields that arrive from it.

use loyalty_core::{CardNumber, Currency, Reward, RewardKind};
use loyalty_store::{CampaignView, Member, MemberUpdate, Membership, Program, RewardView};

use super::ledger::{balances_to_pb, points_to_pb};
use super::points::PointFormat;
use super::text::{MAX_EMAIL, MAX_NAME, MAX_PHONE, opt_text, text};
use super::{money, points, rules_to_pb, settings_to_pb, time_to_pb};
use crate::error::{ApiError, ApiResult};
use crate::pb;

/// A program on the wire.
pub fn program_to_pb(p: Program) -> pb::Program {
    pb::Program {
        rules: Some(rules_to_pb(p.rules.config())),
        id: p.id,
        name: p.name,
        enabled: p.enabled,
        version: p.version,
        created_at: time_to_pb(p.created_at),
        updated_at: time_to_pb(p.updated_at),
    }
}

/// A campaign on the wire.
pub fn campaign_to_pb(c: CampaignView) -> pb::Campaign {
    pb::Campaign {
        settings: Some(settings_to_pb(c.campaign.spec())),
        id: c.id,
        program_id: c.program_id,
        awarded: c.awarded.to_string(),
    }
}

/// A member on the wire (absent phone, e-mail and referrer are empty strings).
pub fn member_to_pb(m: Member) -> pb::Member {
    pb::Member {
        id: m.id,
        customer_id: m.customer_id,
        card_number: m.card_number,
        name: m.name,
        phone: m.phone.unwrap_or_default(),
        email: m.email.unwrap_or_default(),
        referrer_id: m.referrer_id.unwrap_or_default(),
        active: m.active,
        created_at: time_to_pb(m.created_at),
    }
}

/// A membership with its balances on the wire, in its program's point format `f`.
pub fn membership_to_pb(m: Membership, f: PointFormat) -> pb::Membership {
    pb::Membership {
        balances: Some(balances_to_pb(&m.balances, f)),
        id: m.id,
        member_id: m.member_id,
        program_id: m.program_id,
        tier: m.tier.unwrap_or_default(),
        joined_at: time_to_pb(m.joined_at),
        referral_earned: points_to_pb(m.referral_earned.value(), f),
    }
}

/// A card number (4..32 letters, digits or '-'; stored upper-case).
pub fn card_number(field: &'static str, value: &str) -> ApiResult<CardNumber> {
    CardNumber::new(value).map_err(|e| ApiError::field(field, e.to_string()))
}

/// The changes an `UpdateMemberRequest` asks for: empty fields are left as they are (so the
/// API cannot clear a phone or an e-mail, only replace it; an all-empty request changes nothing).
pub fn member_update_from_pb(
    name: &str,
    phone: &str,
    email: &str,
    card: &str,
) -> ApiResult<MemberUpdate> {
    Ok(MemberUpdate {
        name: opt_text("name", name, MAX_NAME)?,
        phone: opt_text("phone", phone, MAX_PHONE)?.map(Some),
        email: opt_text("email", email, MAX_EMAIL)?.map(Some),
        card_number: (!card.trim().is_empty())
            .then(|| card_number("card_number", card))
            .transpose()?,
    })
}

/// A catalog entry on the wire.
pub fn reward_to_pb(r: RewardView) -> pb::Reward {
    let kind = match r.kind.as_str() {
        "coupon" => pb::RewardKind::Coupon,
        "donation" => pb::RewardKind::Donation,
        "item" => pb::RewardKind::Item,
        _ => pb::RewardKind::Unspecified,
    };
    pb::Reward {
        id: r.id,
        program_id: r.program_id,
        name: r.name,
        kind: kind as i32,
        value: r.value.map(|v| v.amount().to_string()).unwrap_or_default(),
        cost: r.cost.to_string(),
        validity_days: r.validity_days.unwrap_or(0),
        active: r.active,
    }
}

/// A catalog entry from the fields of a `CreateRewardRequest`, with amounts in the program's
/// `currency`. Coupons and donations need a value, items have none; only coupons expire.
pub fn reward_from_pb(
    name: &str,
    kind: i32,
    value: &str,
    cost: &str,
    validity_days: u32,
    currency: Currency,
) -> ApiResult<Reward> {
    let kind = pb::RewardKind::try_from(kind).unwrap_or(pb::RewardKind::Unspecified);
    let amount = || money("value", value, currency);
    let kind = match kind {
        pb::RewardKind::Coupon => RewardKind::Coupon { value: amount()? },
        pb::RewardKind::Donation => RewardKind::Donation { amount: amount()? },
        pb::RewardKind::Item if value.trim().is_empty() => RewardKind::Item,
        pb::RewardKind::Item => return Err(ApiError::field("value", "an item has no value")),
        pb::RewardKind::Unspecified => {
            return Err(ApiError::field(
                "kind",
                "is required (REWARD_KIND_COUPON, REWARD_KIND_DONATION or REWARD_KIND_ITEM)",
            ));
        }
    };
    let validity = match (&kind, validity_days) {
        (_, 0) => None,
        (RewardKind::Coupon { .. }, days) => Some(days),
        _ => return Err(ApiError::field("validity_days", "only coupons expire")),
    };
    let name = text("name", name, MAX_NAME)?;
    Ok(Reward::new(&name, kind, points("cost", cost)?, validity)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::new("USD").unwrap()
    }

    #[test]
    fn a_coupon_keeps_its_value_and_validity() {
        let kind = pb::RewardKind::Coupon as i32;
        let coupon = reward_from_pb("$5 off", kind, "5.00", "500", 90, usd()).unwrap();
        assert_eq!(coupon.validity_days(), Some(90));
        assert_eq!(coupon.cost().to_string(), "500");
    }

    #[test]
    fn only_coupons_expire_and_only_items_have_no_value() {
        let donation = pb::RewardKind::Donation as i32;
        assert!(reward_from_pb("Trees", donation, "10", "500", 30, usd()).is_err());
        assert!(reward_from_pb("Trees", donation, "", "500", 0, usd()).is_err());
        let item = pb::RewardKind::Item as i32;
        assert!(reward_from_pb("Mug", item, "", "500", 0, usd()).is_ok());
        assert!(reward_from_pb("Mug", item, "5", "500", 0, usd()).is_err());
    }

    #[test]
    fn an_update_with_only_blanks_changes_nothing() {
        let update = member_update_from_pb(" ", "", "", "").unwrap();
        assert_eq!(update, MemberUpdate::default());
        let card = member_update_from_pb("", "", "", "card-0009").unwrap();
        assert_eq!(card.card_number.unwrap().as_str(), "CARD-0009");
    }
}
