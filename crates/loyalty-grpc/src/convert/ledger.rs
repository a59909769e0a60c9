//! Ledger, checkout and reward values between the wire and the store.
//!
//! Points leave with their program's point decimals ("50" with whole points, "12.50" with 2;
//! see [`PointFormat`]), whether the store computed them or read them back, so a replayed call
//! answers with the same strings as the first; money leaves with at least the currency's minor
//! units ("250.00").

use chrono::{DateTime, Utc};
use loyalty_core::ledger::Balances;
use loyalty_core::{BillLine, Currency, Earning, Money, RedemptionLimitReason};
use loyalty_store::{
    BillView, EarnLine, EarnOutcome, HoldView, LedgerEntryView, QuoteView, ReverseOutcome,
    RewardRedemptionStatus, RewardRedemptionView, TakenBack, lines_of,
};
use rust_decimal::Decimal;

use super::points::PointFormat;
use super::{bill_lines, check_bill, kind_to_pb, opt_time, opt_time_to_pb, reference, time_to_pb};
use crate::error::{ApiError, ApiResult};
use crate::pb;

/// Points (signed or not) on the wire, in the program's format `f`.
pub fn points_to_pb(points: Decimal, f: PointFormat) -> String {
    f.show(points)
}

/// A money amount on the wire, with at least the currency's minor units.
pub fn amount_to_pb(amount: Decimal, currency: Currency) -> String {
    let mut shown = amount.normalize();
    if shown.scale() < currency.minor_units() {
        shown.rescale(currency.minor_units());
    }
    shown.to_string()
}

/// A [`Money`] on the wire (amount only; the currency travels beside it).
pub fn money_to_pb(money: &Money) -> String {
    amount_to_pb(money.amount(), money.currency())
}

/// A bill from the wire, in the program's currency.
#[derive(Debug, Clone)]
pub struct BillIn {
    /// The reference; `None` when the request left it empty.
    pub reference: Option<String>,
    /// The lines, checked as a whole by `loyalty-core`.
    pub lines: Vec<BillLine>,
    /// When it was made; `None` = now.
    pub at: Option<DateTime<Utc>>,
}

impl BillIn {
    /// Parses `bill` (required) in `currency`, checking it as of `now` when it has no time.
    pub fn parse(
        bill: Option<&pb::Bill>,
        currency: Currency,
        now: DateTime<Utc>,
    ) -> ApiResult<BillIn> {
        let bill = bill.ok_or_else(|| ApiError::field("bill", "is required"))?;
        let pb::Bill {
            reference: given,
            currency: _,
            lines: _,
            at,
        } = bill;
        let lines = bill_lines(bill, currency)?;
        let at = opt_time("bill.at", at)?;
        check_bill(&lines, currency, at.unwrap_or(now))?;
        let reference = if given.trim().is_empty() {
            None
        } else {
            Some(reference("bill.reference", given)?)
        };
        Ok(BillIn {
            reference,
            lines,
            at,
        })
    }

    /// The reference, which this call requires.
    pub fn required_reference(&self) -> ApiResult<String> {
        self.reference
            .clone()
            .ok_or_else(|| ApiError::field("bill.reference", "is required"))
    }
}

/// A membership's balances after an operation.
pub fn balances_to_pb(b: &Balances, f: PointFormat) -> pb::Balances {
    let Balances {
        available,
        pending,
        held,
        debt,
        earned,
        redeemed,
        expired,
        reversed,
    } = *b;
    pb::Balances {
        available: points_to_pb(available.value(), f),
        pending: points_to_pb(pending.value(), f),
        held: points_to_pb(held.value(), f),
        debt: points_to_pb(debt.value(), f),
        earned: points_to_pb(earned.value(), f),
        redeemed: points_to_pb(redeemed.value(), f),
        expired: points_to_pb(expired.value(), f),
        reversed: points_to_pb(reversed.value(), f),
    }
}

/// How a quoted bill's points were computed.
pub fn earning_to_pb(e: &Earning, earning_amount: &Money, f: PointFormat) -> pb::EarnBreakdown {
    pb::EarnBreakdown {
        base: points_to_pb(e.base.value(), f),
        tier_bonus: points_to_pb(e.tier_bonus.value(), f),
        tier_multiplier: e.tier_multiplier.value().normalize().to_string(),
        campaign_bonuses: e
            .campaign_bonuses
            .iter()
            .map(|b| pb::CampaignBonus {
                campaign_id: b.campaign_id.to_string(),
                name: b.name.clone(),
                points: points_to_pb(b.points.value(), f),
            })
            .collect(),
        cap_reduction: points_to_pb(e.cap_reduction.value(), f),
        total: points_to_pb(e.total.value(), f),
        earning_amount: money_to_pb(earning_amount),
        lines: lines_of(e)
            .iter()
            .map(|l| line_to_pb(l, Some(earning_amount.currency()), f))
            .collect(),
    }
}

fn limit_name(reason: RedemptionLimitReason) -> &'static str {
    match reason {
        RedemptionLimitReason::Balance => "balance",
        RedemptionLimitReason::BillShare => "bill_share",
        RedemptionLimitReason::PointsPerBill => "points_per_bill",
        RedemptionLimitReason::BelowMinimum => "below_minimum",
    }
}

/// A quote on the wire. A program without redemption rules quotes a maximum of zero limited by
/// `no_redemption`.
pub fn quote_to_pb(view: &QuoteView, f: PointFormat) -> pb::QuoteResponse {
    let q = &view.quote;
    let currency = q.bill_total.currency();
    let (max_points, max_value, limited_by) = match &q.max_redeemable {
        Some(m) => (
            m.max_points.value(),
            m.max_value.amount(),
            limit_name(m.limited_by),
        ),
        None => (Decimal::ZERO, Decimal::ZERO, "no_redemption"),
    };
    let (redeem_points, redeem_value) = match &q.redemption {
        Some(r) => (r.points.value(), r.value.amount()),
        None => (Decimal::ZERO, Decimal::ZERO),
    };
    pb::QuoteResponse {
        bill_total: money_to_pb(&q.bill_total),
        total_discount: money_to_pb(&q.discounts.total_discount),
        discounted_total: money_to_pb(&q.discounts.net_total),
        max_redeemable_points: points_to_pb(max_points, f),
        max_redeemable_value: amount_to_pb(max_value, currency),
        max_redeemable_limited_by: limited_by.to_owned(),
        redeem_points: points_to_pb(redeem_points, f),
        redeem_value: amount_to_pb(redeem_value, currency),
        to_pay: money_to_pb(&q.to_pay),
        earning: Some(earning_to_pb(&q.earning, &q.earning_amount, f)),
        referral_points: points_to_pb(q.referral_points.value(), f),
        currency: currency.code().to_owned(),
    }
}

/// An earn on the wire.
pub fn earn_to_pb(o: &EarnOutcome, f: PointFormat) -> pb::EarnResponse {
    let breakdown = pb::EarnBreakdown {
        base: points_to_pb(o.base.value(), f),
        tier_bonus: points_to_pb(o.tier_bonus.value(), f),
        tier_multiplier: o.tier_multiplier.normalize().to_string(),
        campaign_bonuses: o
            .campaign_bonuses
            .iter()
            .map(|b| pb::CampaignBonus {
                campaign_id: b.campaign_id.clone(),
                name: b.name.clone(),
                points: points_to_pb(b.points.value(), f),
            })
            .collect(),
        cap_reduction: points_to_pb(o.cap_reduction.value(), f),
        total: points_to_pb(o.points.value(), f),
        earning_amount: money_to_pb(&o.earning_amount),
        lines: o
            .lines
            .iter()
            .map(|l| line_to_pb(l, Some(o.earning_amount.currency()), f))
            .collect(),
    };
    let upgrade = o.tier_change.as_ref();
    pb::EarnResponse {
        points_earned: points_to_pb(o.points.value(), f),
        breakdown: Some(breakdown),
        referral_points: points_to_pb(o.referral_points.value(), f),
        referrer_id: o.referrer_member_id.clone().unwrap_or_default(),
        new_tier: upgrade.and_then(|t| t.to.clone()).unwrap_or_default(),
        tier_bonus: points_to_pb(upgrade.map(|t| t.bonus).unwrap_or_default().value(), f),
        balances: Some(balances_to_pb(&o.balances, f)),
        entry_ids: o.entry_ids.clone(),
    }
}

/// A hold's stored status on the wire.
pub fn hold_status(status: &str) -> pb::HoldStatus {
    match status {
        "active" => pb::HoldStatus::Active,
        "captured" => pb::HoldStatus::Captured,
        "released" => pb::HoldStatus::Released,
        "expired" => pb::HoldStatus::Expired,
        _ => pb::HoldStatus::Unspecified,
    }
}

/// A [`Money`] on the wire with its currency.
pub fn money_with_currency_to_pb(money: &Money) -> pb::Money {
    pb::Money {
        amount: money_to_pb(money),
        currency: money.currency().code().to_owned(),
    }
}

/// A hold on the wire.
pub fn hold_to_pb(h: &HoldView, f: PointFormat) -> pb::Hold {
    pb::Hold {
        id: h.id.clone(),
        member_id: h.member_id.clone(),
        program_id: h.program_id.clone(),
        reference: h.reference.clone(),
        points: points_to_pb(h.points.value(), f),
        value: Some(money_with_currency_to_pb(&h.value)),
        captured: points_to_pb(h.captured.value(), f),
        status: hold_status(&h.status) as i32,
        expires_at: time_to_pb(h.expires_at),
    }
}

/// What is left to pay by card on a held bill (after discounts, earlier redemptions and the
/// held points).
pub fn hold_to_pay(h: &HoldView) -> String {
    money_to_pb(&h.to_pay)
}

/// A reward redemption's status on the wire.
pub fn redemption_status(status: RewardRedemptionStatus) -> pb::RedemptionStatus {
    match status {
        RewardRedemptionStatus::Active => pb::RedemptionStatus::Active,
        RewardRedemptionStatus::Used => pb::RedemptionStatus::Used,
        RewardRedemptionStatus::Expired => pb::RedemptionStatus::Expired,
        RewardRedemptionStatus::Fulfilled => pb::RedemptionStatus::Fulfilled,
        RewardRedemptionStatus::Cancelled => pb::RedemptionStatus::Cancelled,
    }
}

/// A reward redemption on the wire.
pub fn redemption_to_pb(r: &RewardRedemptionView, f: PointFormat) -> pb::RewardRedemption {
    let status = redemption_status(r.status);
    pb::RewardRedemption {
        id: r.id.clone(),
        reward_id: r.reward_id.clone(),
        reward_name: r.reward_name.clone(),
        points: points_to_pb(r.points.value(), f),
        coupon_code: r.coupon_code.clone().unwrap_or_default(),
        status: status as i32,
        redeemed_at: time_to_pb(r.created_at),
        expires_at: opt_time_to_pb(r.expires_at),
        value: r.value.as_ref().map(money_to_pb).unwrap_or_default(),
        member_id: r.member_id.clone(),
        used_at: opt_time_to_pb(r.used_at),
        cancelled_at: opt_time_to_pb(r.cancelled_at),
        kind: r.kind.clone(),
        program_id: r.program_id.clone(),
    }
}

/// A reversal on the wire: what was taken back includes what became debt; what was forgiven
/// (spent points under the cap-at-available policy) is reported apart.
pub fn reverse_to_pb(o: &ReverseOutcome, f: PointFormat) -> pb::ReverseResponse {
    let taken = |t: &TakenBack| points_to_pb(t.planned.value() - t.forgiven.value(), f);
    pb::ReverseResponse {
        points_reversed: taken(&o.earned),
        points_returned: points_to_pb(o.redeemed_returned.value(), f),
        referral_reversed: o
            .referral
            .as_ref()
            .map(taken)
            .unwrap_or_else(|| points_to_pb(Decimal::ZERO, f)),
        debt: points_to_pb(o.earned.to_debt.value(), f),
        forgiven: points_to_pb(o.earned.forgiven.value(), f),
        balances: Some(balances_to_pb(&o.balances, f)),
    }
}

/// A ledger entry on the wire.
pub fn entry_to_pb(e: LedgerEntryView, f: PointFormat) -> pb::LedgerEntry {
    pb::LedgerEntry {
        id: e.id,
        kind: kind_to_pb(e.kind) as i32,
        points: points_to_pb(e.points.value(), f),
        available_delta: points_to_pb(e.d_available, f),
        pending_delta: points_to_pb(e.d_pending, f),
        held_delta: points_to_pb(e.d_held, f),
        debt_delta: points_to_pb(e.d_debt, f),
        balance_after: points_to_pb(e.balance_after, f),
        member_id: e.member_id,
        program_id: e.program_id,
        reference: e.reference.unwrap_or_default(),
        hold_id: e.hold_id.unwrap_or_default(),
        campaign_id: e.campaign_id.unwrap_or_default(),
        source_member_id: e.source_member_id.unwrap_or_default(),
        actor: e.actor,
        reason: e.reason.unwrap_or_default(),
        created_at: time_to_pb(e.created_at),
        lines: e.lines.iter().map(|l| line_to_pb(l, None, f)).collect(),
    }
}

/// One bill line's earning on the wire; the amount in `currency`'s minor units when given,
/// else as the store scaled it.
pub fn line_to_pb(l: &EarnLine, currency: Option<Currency>, f: PointFormat) -> pb::EarnLine {
    pb::EarnLine {
        line: l.line,
        category: l.category.clone().unwrap_or_default(),
        rule: l.rule.clone(),
        rate: l.rate.clone(),
        amount: match currency {
            Some(c) => amount_to_pb(l.amount, c),
            None => l.amount.to_string(),
        },
        base: points_to_pb(l.base.value(), f),
        tier_bonus: points_to_pb(l.tier_bonus.value(), f),
        campaign_bonus: points_to_pb(l.campaign_bonus.value(), f),
        points: points_to_pb(l.points.value(), f),
    }
}

/// One membership's bill on the wire.
pub fn bill_to_pb(b: BillView, f: PointFormat) -> pb::BillSummary {
    pb::BillSummary {
        member_id: b.member_id,
        program_id: b.program_id,
        reference: b.reference,
        total: money_to_pb(&b.total),
        earned: points_to_pb(b.earned.value(), f),
        earned_reversed: points_to_pb(b.earned_reversed.value(), f),
        redeemed: points_to_pb(b.redeemed.value(), f),
        redeemed_value: money_to_pb(&b.redeemed_value),
        redeemed_returned: points_to_pb(b.redeemed_returned.value(), f),
        returned: money_to_pb(&b.returned),
        referral: points_to_pb(b.referral.value(), f),
        lines: b
            .lines
            .iter()
            .map(|l| line_to_pb(l, Some(b.total.currency()), f))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_keep_their_program_decimals_and_money_its_minor_units() {
        let inr = Currency::new("INR").unwrap();
        let (whole, two) = (PointFormat::new(0), PointFormat::new(2));
        assert_eq!(points_to_pb(Decimal::new(5000, 2), whole), "50");
        assert_eq!(points_to_pb(Decimal::new(1250, 2), whole), "12.5");
        assert_eq!(points_to_pb(Decimal::new(198, 1), two), "19.80");
        assert_eq!(points_to_pb(Decimal::from(300), two), "300.00");
        assert_eq!(amount_to_pb(Decimal::from(250), inr), "250.00");
        assert_eq!(amount_to_pb(Decimal::new(12_345, 3), inr), "12.345");
    }

    #[test]
    fn a_bill_without_a_reference_parses_but_cannot_be_earned_on() {
        let bill = pb::Bill {
            reference: String::new(),
            currency: String::new(),
            lines: vec![pb::BillLine {
                category: String::new(),
                amount: "10".into(),
            }],
            at: String::new(),
        };
        let parsed = BillIn::parse(Some(&bill), Currency::new("INR").unwrap(), Utc::now()).unwrap();
        assert!(parsed.required_reference().is_err());
    }

    #[test]
    fn a_missing_bill_is_an_invalid_argument() {
        assert!(BillIn::parse(None, Currency::new("INR").unwrap(), Utc::now()).is_err());
    }
}
