//! The benchmark's shop: one program and the amounts every workload uses, the same over gRPC
//! and store-direct so the two modes do the same work.
//!
//! The program earns 1 point per 10 spent; 100 points pay 10.00, at least 10 points, at most
//! half a bill; points expire after 12 months; no redemption rate limit.

use anyhow::Context;
use loyalty_core::{
    BillLine, ConversionRate, Currency, EarnRate, ExpiryPolicy, Money, Points, ProgramRules,
    RedemptionRules,
};
use loyalty_grpc::pb;
use rust_decimal::Decimal;

/// The program's currency.
pub const CURRENCY: &str = "INR";
/// The program's name.
pub const PROGRAM_NAME: &str = "Bench points";
/// An earned bill: 500 earns 50 points.
pub const EARN_BILL: &str = "500";
/// A bill points pay part of (redeem, reserve).
pub const SPEND_BILL: &str = "200";
/// Points one redeem or reserve uses: 100 points = 10.00, well under half of 200.
pub const SPEND_POINTS: u64 = 100;
/// The bill of a quote and of a whole checkout.
pub const CHECKOUT_BILL: &str = "300";
/// Points every member gets before a workload that spends: enough for 100,000 spends each.
pub const SEED_POINTS: u64 = 10_000_000;
/// Seconds a checkout's hold lives before it releases itself (captured long before).
pub const HOLD_TTL_SECONDS: u32 = 900;

/// The program's rules as the API takes them.
pub fn program_rules_pb() -> pb::ProgramRules {
    pb::ProgramRules {
        currency: CURRENCY.into(),
        base_points: "1".into(),
        base_per: "10".into(),
        redemption: Some(pb::RedemptionRules {
            rate_points: "100".into(),
            rate_value: "10.00".into(),
            min_points: "10".into(),
            max_bill_share_percent: "50".into(),
            max_points_per_bill: String::new(),
        }),
        expiry_months: 12,
        redemptions_per_minute: 0,
        ..pb::ProgramRules::default()
    }
}

/// The same rules as the store takes them.
pub fn program_rules() -> anyhow::Result<ProgramRules> {
    let inr = currency()?;
    let mut rules = ProgramRules::new(inr);
    rules.base_rate = EarnRate::new(Points::whole(1)?, Decimal::from(10))?;
    rules.expiry = ExpiryPolicy::AfterMonths(12);
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(Points::whole(100)?, Money::parse("10.00", inr)?)?,
        min_points: Points::whole(10)?,
        max_bill_share: "50".parse().context("the bill share")?,
        max_points_per_bill: None,
    });
    rules.redemptions_per_minute = None;
    Ok(rules)
}

/// The program's currency as a value.
pub fn currency() -> anyhow::Result<Currency> {
    Ok(Currency::new(CURRENCY)?)
}

/// A one-line bill for the API.
pub fn bill_pb(reference: &str, amount: &str) -> pb::Bill {
    pb::Bill {
        reference: reference.to_owned(),
        // Empty: the program's currency.
        currency: String::new(),
        lines: vec![pb::BillLine {
            category: String::new(),
            amount: amount.to_owned(),
        }],
        // Empty: now.
        at: String::new(),
    }
}

/// A one-line bill for the store.
pub fn bill_lines(amount: &str) -> anyhow::Result<Vec<BillLine>> {
    Ok(vec![BillLine {
        category: None,
        amount: Money::parse(amount, currency()?)?,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_accepts_the_benchmark_program() {
        let rules = program_rules().and_then(|r| Ok(r.validate()?));
        assert!(rules.is_ok(), "{rules:?}");
    }

    #[test]
    fn an_earned_bill_earns_fifty_points() -> anyhow::Result<()> {
        let rules = program_rules()?.validate()?;
        assert_eq!(
            rules.base_rate.points_for(EARN_BILL.parse()?)?,
            Decimal::from(50)
        );
        Ok(())
    }
}
