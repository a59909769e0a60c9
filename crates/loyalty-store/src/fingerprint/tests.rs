use chrono::{TimeZone, Utc};
use loyalty_core::{
    BillLine, Category, ConversionRate, Currency, EarnRate, IdempotencyKey, Money, Points,
    ProgramRules, RedemptionRules,
};
use rust_decimal::Decimal;

use super::*;
use crate::ops::actions::AdjustRequest;
use crate::ops::redeem::RedeemRequest;

fn dec(value: &str) -> Decimal {
    value.parse().unwrap()
}

fn inr(amount: &str) -> Money {
    Money::new(dec(amount), Currency::new("INR").unwrap()).unwrap()
}

fn line(category: Option<&str>, amount: &str) -> BillLine {
    BillLine {
        category: category.map(|c| Category::new(c).unwrap()),
        amount: inr(amount),
    }
}

/// One fixed request, the one whose digest is pinned below.
fn redeem() -> RedeemRequest {
    RedeemRequest {
        idempotency_key: IdempotencyKey::new("ORDER124:redeem").unwrap(),
        member_id: "0190a4c2-7b6e-7000-8000-000000000001".into(),
        program_id: "0190a4c2-7b6e-7000-8000-000000000002".into(),
        reference: "ORDER124".into(),
        lines: vec![line(Some("grocery"), "250.50"), line(None, "49.5")],
        at: Some(Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap()),
        points: Points::new(dec("30")).unwrap(),
        actor: "key-billing-1".into(),
    }
}

fn shop_rules() -> ProgramRules {
    let inr_currency = Currency::new("INR").unwrap();
    let mut rules = ProgramRules::new(inr_currency);
    rules.base_rate = EarnRate::new(Points::new(dec("1")).unwrap(), dec("10")).unwrap();
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(Points::new(dec("1")).unwrap(), inr("1.00")).unwrap(),
        min_points: Points::new(dec("10")).unwrap(),
        max_bill_share: "50".parse().unwrap(),
        max_points_per_bill: Some(Points::new(dec("100")).unwrap()),
    });
    rules
}

fn print(request: &impl Fingerprint) -> String {
    fingerprint("redeem", request)
}

#[test]
fn the_fingerprint_of_a_fixed_request_never_changes_between_releases() {
    // Pinned: if this digest changes, every key recorded by an earlier release stops
    // replaying. Add a new tag instead of changing what an existing one encodes.
    assert_eq!(
        print(&redeem()),
        "b485e42db0453554456941ab6097a5dcd5664ee7650909c34883f9b6a613004a"
    );
    assert_eq!(
        fingerprint("create_program", &shop_rules()),
        "316770c267304c26c43ef0a9af46fbfe18d27c00b5149e006fbe2a3c5efeb8b7"
    );
}

#[test]
fn who_calls_and_the_key_itself_do_not_change_the_fingerprint() {
    let other_caller = RedeemRequest {
        actor: "key-billing-2".into(),
        ..redeem()
    };
    assert_eq!(print(&other_caller), print(&redeem()));
    let other_key = RedeemRequest {
        idempotency_key: IdempotencyKey::new("another-key").unwrap(),
        ..redeem()
    };
    assert_eq!(print(&other_key), print(&redeem()));
}

#[test]
fn every_field_of_the_request_changes_the_fingerprint() {
    let base = redeem();
    let changed = [
        RedeemRequest {
            member_id: "0190a4c2-7b6e-7000-8000-000000000009".into(),
            ..redeem()
        },
        RedeemRequest {
            program_id: "0190a4c2-7b6e-7000-8000-000000000009".into(),
            ..redeem()
        },
        RedeemRequest {
            reference: "ORDER125".into(),
            ..redeem()
        },
        RedeemRequest {
            lines: vec![line(Some("grocery"), "250.50")],
            ..redeem()
        },
        RedeemRequest {
            lines: vec![line(None, "49.5"), line(Some("grocery"), "250.50")],
            ..redeem()
        },
        RedeemRequest {
            lines: vec![line(Some("pharmacy"), "250.50"), line(None, "49.5")],
            ..redeem()
        },
        RedeemRequest {
            lines: vec![line(Some("grocery"), "250.51"), line(None, "49.5")],
            ..redeem()
        },
        RedeemRequest {
            lines: vec![
                line(Some("grocery"), "250.50"),
                BillLine {
                    category: None,
                    amount: Money::new(dec("49.5"), Currency::new("USD").unwrap()).unwrap(),
                },
            ],
            ..redeem()
        },
        RedeemRequest {
            at: None,
            ..redeem()
        },
        RedeemRequest {
            at: Some(Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 1).unwrap()),
            ..redeem()
        },
        RedeemRequest {
            points: Points::new(dec("31")).unwrap(),
            ..redeem()
        },
    ];
    let mut seen = vec![print(&base)];
    for request in &changed {
        let digest = print(request);
        assert!(
            !seen.contains(&digest),
            "{request:?} has a fingerprint seen before"
        );
        seen.push(digest);
    }
    assert_ne!(
        fingerprint("reserve", &base),
        print(&base),
        "the operation takes part"
    );
}

#[test]
fn decimals_that_are_equal_have_the_same_fingerprint() {
    let padded = RedeemRequest {
        lines: vec![line(Some("grocery"), "250.5"), line(None, "49.50")],
        points: Points::new(dec("30.00")).unwrap(),
        ..redeem()
    };
    assert_eq!(print(&padded), print(&redeem()));
    let adjust = |points: &str| AdjustRequest {
        idempotency_key: IdempotencyKey::new("promo-1").unwrap(),
        member_id: "m".into(),
        program_id: "p".into(),
        points: dec(points),
        reason: "Diwali".into(),
        actor: "admin".into(),
    };
    assert_eq!(print(&adjust("-1.50")), print(&adjust("-1.5")));
    assert_ne!(print(&adjust("-1.5")), print(&adjust("1.5")));
}

#[test]
fn an_absent_an_empty_and_a_cleared_value_are_three_different_requests() {
    let absent = fields(|out| out.opt_text(1, None));
    let empty = fields(|out| out.opt_text(1, Some("")));
    let cleared = fields(|out| out.cleared(1));
    let prints = [print(&absent), print(&empty), print(&cleared)];
    assert_ne!(prints[0], prints[1]);
    assert_ne!(prints[0], prints[2]);
    assert_ne!(prints[1], prints[2]);
}

#[test]
fn values_cannot_run_into_each_other() {
    let split = |a: &'static str, b: &'static str| {
        fields(move |out| {
            out.text(1, a);
            out.text(2, b);
        })
    };
    assert_ne!(print(&split("ab", "c")), print(&split("a", "bc")));
    let listed =
        |items: &'static [&'static str]| fields(move |out| out.texts(1, items.iter().copied()));
    assert_ne!(print(&listed(&["ab", "c"])), print(&listed(&["a", "bc"])));
    assert_ne!(print(&listed(&["a", "b"])), print(&listed(&["b", "a"])));
    assert_ne!(print(&listed(&[])), print(&listed(&[""])));
}

#[test]
fn a_program_rule_changes_the_fingerprint_of_its_program() {
    let base = fingerprint("create_program", &shop_rules());
    let mut longer_expiry = shop_rules();
    longer_expiry.expiry = loyalty_core::ExpiryPolicy::AfterMonths(24);
    let mut limited = shop_rules();
    limited.redemptions_per_minute = Some(5);
    let mut share = shop_rules();
    if let Some(r) = share.redemption.as_mut() {
        r.max_bill_share = "50.0".parse().unwrap();
    }
    assert_ne!(fingerprint("create_program", &longer_expiry), base);
    assert_ne!(fingerprint("create_program", &limited), base);
    assert_eq!(
        fingerprint("create_program", &share),
        base,
        "50.0 % is 50 %"
    );
}

#[test]
fn a_cashback_program_and_a_points_program_with_the_same_rules_are_different_requests() {
    let points = shop_rules();
    let mut cashback = shop_rules();
    cashback.kind = loyalty_core::ProgramKind::Cashback;
    assert_ne!(
        fingerprint("create_program", &points),
        fingerprint("create_program", &cashback)
    );
}
