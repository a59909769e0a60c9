//! Campaign eligibility, caps and order.

use chrono::{TimeZone, Weekday};
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use uuid::Uuid;

use super::*;
use crate::program::{CampaignEffect, CampaignSpec, Category};
use crate::values::{Currency, Multiplier};

pub(crate) fn usd() -> Currency {
    Currency::new("USD").unwrap()
}

pub(crate) fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

/// "Double points weekends" for 2026, every day, no caps; tests narrow it down.
pub(crate) fn spec() -> CampaignSpec {
    CampaignSpec {
        id: Uuid::from_u128(1),
        name: "Double points weekends".into(),
        starts_at: at(2026, 1, 1, 0, 0),
        ends_at: at(2027, 1, 1, 0, 0),
        weekdays: vec![],
        categories: vec![],
        min_bill: None,
        effect: CampaignEffect::Multiplier(Multiplier::new(dec!(2)).unwrap()),
        priority: 0,
        member_cap: None,
        budget: None,
        active: true,
    }
}

fn money(amount: Decimal) -> Money {
    Money::new(amount, usd()).unwrap()
}

fn points(n: u64) -> Points {
    Points::whole(n).unwrap()
}

fn line(category: Option<&str>) -> BillLine {
    BillLine {
        category: category.map(|c| Category::new(c).unwrap()),
        amount: money(dec!(100)),
    }
}

fn weekends() -> Campaign {
    CampaignSpec {
        weekdays: vec![Weekday::Sat, Weekday::Sun],
        ..spec()
    }
    .validate()
    .unwrap()
}

// 2026-01-03 is a Saturday, 2026-01-05 a Monday.
const SATURDAY: (i32, u32, u32) = (2026, 1, 3);
const MONDAY: (i32, u32, u32) = (2026, 1, 5);

fn on(day: (i32, u32, u32), h: u32, min: u32) -> DateTime<Utc> {
    at(day.0, day.1, day.2, h, min)
}

#[test]
fn a_weekend_campaign_applies_on_a_saturday() {
    assert!(campaign_applies(
        &weekends(),
        on(SATURDAY, 12, 0),
        0,
        &money(dec!(100))
    ));
}

#[test]
fn a_weekend_campaign_does_not_apply_on_a_monday() {
    assert!(!campaign_applies(
        &weekends(),
        on(MONDAY, 12, 0),
        0,
        &money(dec!(100))
    ));
}

#[test]
fn weekdays_are_judged_in_the_programs_local_time() {
    // Friday 20:00 UTC is Saturday 01:30 in India (UTC+5:30).
    let friday_evening = at(2026, 1, 2, 20, 0);
    assert!(!campaign_applies(
        &weekends(),
        friday_evening,
        0,
        &money(dec!(1))
    ));
    assert!(campaign_applies(
        &weekends(),
        friday_evening,
        330,
        &money(dec!(1))
    ));
    // Monday 03:00 UTC is still Sunday in New York (UTC-5).
    let monday_night = on(MONDAY, 3, 0);
    assert!(campaign_applies(
        &weekends(),
        monday_night,
        -300,
        &money(dec!(1))
    ));
}

#[test]
fn an_offset_beyond_a_day_matches_no_weekday() {
    assert!(!campaign_applies(
        &weekends(),
        on(SATURDAY, 12, 0),
        24 * 60,
        &money(dec!(1))
    ));
    assert!(!campaign_applies(
        &weekends(),
        on(SATURDAY, 12, 0),
        i32::MAX,
        &money(dec!(1))
    ));
}

#[test]
fn a_campaign_without_weekdays_applies_every_day_whatever_the_offset() {
    let every_day = spec().validate().unwrap();
    assert!(campaign_applies(
        &every_day,
        on(MONDAY, 12, 0),
        i32::MIN,
        &money(dec!(1))
    ));
}

#[test]
fn a_campaign_applies_from_its_first_instant() {
    let c = spec().validate().unwrap();
    assert!(campaign_applies(&c, c.starts_at, 0, &money(dec!(1))));
}

#[test]
fn a_campaign_does_not_apply_before_it_starts() {
    let c = spec().validate().unwrap();
    assert!(!campaign_applies(
        &c,
        at(2025, 12, 31, 23, 59),
        0,
        &money(dec!(1))
    ));
}

#[test]
fn a_campaign_does_not_apply_at_its_end_instant() {
    let c = spec().validate().unwrap();
    assert!(!campaign_applies(&c, c.ends_at, 0, &money(dec!(1))));
}

#[test]
fn a_switched_off_campaign_does_not_apply() {
    let c = CampaignSpec {
        active: false,
        ..spec()
    }
    .validate()
    .unwrap();
    assert!(!campaign_applies(
        &c,
        on(SATURDAY, 12, 0),
        0,
        &money(dec!(1))
    ));
}

#[test]
fn a_bill_below_the_minimum_does_not_qualify_and_one_at_the_minimum_does() {
    let c = CampaignSpec {
        min_bill: Some(money(dec!(500))),
        ..spec()
    }
    .validate()
    .unwrap();
    assert!(!campaign_applies(
        &c,
        on(SATURDAY, 12, 0),
        0,
        &money(dec!(499.99))
    ));
    assert!(campaign_applies(
        &c,
        on(SATURDAY, 12, 0),
        0,
        &money(dec!(500))
    ));
}

#[test]
fn a_minimum_bill_in_another_currency_is_never_reached() {
    let c = CampaignSpec {
        min_bill: Some(Money::new(dec!(1), Currency::new("EUR").unwrap()).unwrap()),
        ..spec()
    }
    .validate()
    .unwrap();
    assert!(!campaign_applies(
        &c,
        on(SATURDAY, 12, 0),
        0,
        &money(dec!(1000))
    ));
}

#[test]
fn a_campaign_without_categories_rewards_every_line() {
    let c = spec().validate().unwrap();
    assert!(line_is_eligible(&c, &line(Some("Medicines"))));
    assert!(line_is_eligible(&c, &line(None)));
}

#[test]
fn a_category_campaign_rewards_only_its_categories() {
    let c = CampaignSpec {
        categories: vec![Category::new("Baby").unwrap()],
        ..spec()
    }
    .validate()
    .unwrap();
    assert!(line_is_eligible(&c, &line(Some("Baby"))));
    assert!(!line_is_eligible(&c, &line(Some("General"))));
}

#[test]
fn a_line_without_category_is_not_rewarded_by_a_category_campaign() {
    let c = CampaignSpec {
        categories: vec![Category::new("Baby").unwrap()],
        ..spec()
    }
    .validate()
    .unwrap();
    assert!(!line_is_eligible(&c, &line(None)));
}

fn capped(
    member_cap: Option<u64>,
    budget: Option<u64>,
    usage: (u64, u64),
    bonus: u64,
) -> CappedBonus {
    let c = CampaignSpec {
        member_cap: member_cap.map(points),
        budget: budget.map(points),
        ..spec()
    }
    .validate()
    .unwrap();
    let usage = CampaignUsage {
        member_awarded: points(usage.0),
        total_awarded: points(usage.1),
    };
    cap_campaign_bonus(&c, &usage, points(bonus))
}

#[test]
fn a_bonus_within_both_caps_is_not_limited() {
    let c = capped(Some(100), Some(1000), (10, 10), 50);
    assert_eq!((c.points, c.limited_by), (points(50), None));
}

#[test]
fn a_bonus_beyond_the_remaining_member_cap_is_cut_to_it() {
    let c = capped(Some(100), None, (80, 0), 50);
    assert_eq!(
        (c.points, c.limited_by),
        (points(20), Some(CampaignLimit::MemberCap))
    );
}

#[test]
fn a_bonus_beyond_the_remaining_budget_is_cut_to_it() {
    let c = capped(None, Some(1000), (0, 990), 50);
    assert_eq!(
        (c.points, c.limited_by),
        (points(10), Some(CampaignLimit::Budget))
    );
}

#[test]
fn the_tighter_of_member_cap_and_budget_is_reported() {
    let c = capped(Some(100), Some(1000), (80, 995), 50);
    assert_eq!(
        (c.points, c.limited_by),
        (points(5), Some(CampaignLimit::Budget))
    );
    let c = capped(Some(100), Some(1000), (95, 980), 50);
    assert_eq!(
        (c.points, c.limited_by),
        (points(5), Some(CampaignLimit::MemberCap))
    );
}

#[test]
fn equal_remaining_member_cap_and_budget_report_the_member_cap() {
    let c = capped(Some(100), Some(1000), (90, 990), 50);
    assert_eq!(
        (c.points, c.limited_by),
        (points(10), Some(CampaignLimit::MemberCap))
    );
}

#[test]
fn a_campaign_already_past_its_cap_gives_nothing_rather_than_taking_points() {
    let c = capped(Some(100), None, (150, 0), 50);
    assert_eq!(
        (c.points, c.limited_by),
        (Points::ZERO, Some(CampaignLimit::MemberCap))
    );
}

#[test]
fn a_bonus_exactly_at_the_remaining_cap_is_not_reported_as_limited() {
    let c = capped(Some(100), None, (50, 0), 50);
    assert_eq!((c.points, c.limited_by), (points(50), None));
}

fn with(id: u128, priority: i32) -> Campaign {
    CampaignSpec {
        id: Uuid::from_u128(id),
        priority,
        ..spec()
    }
    .validate()
    .unwrap()
}

#[test]
fn campaigns_apply_by_priority_then_by_id() {
    let (a, b, c) = (with(3, 1), with(1, 2), with(2, 1));
    let active = [
        ActiveCampaign::unused(&a),
        ActiveCampaign::unused(&b),
        ActiveCampaign::unused(&c),
    ];
    let ids: Vec<u128> = in_application_order(&active)
        .iter()
        .map(|c| c.campaign.id.as_u128())
        .collect();
    assert_eq!(ids, [2, 3, 1]);
}

proptest! {
    #[test]
    fn a_capped_bonus_never_exceeds_the_bonus_or_what_is_left_of_either_cap(
        member_cap in proptest::option::of(1u64..1000),
        budget in proptest::option::of(1u64..10_000),
        member_awarded in 0u64..2000,
        total_awarded in 0u64..20_000,
        bonus in 0u64..5000,
    ) {
        let c = capped(member_cap, budget, (member_awarded, total_awarded), bonus);
        prop_assert!(c.points <= points(bonus));
        if let Some(cap) = member_cap {
            prop_assert!(c.points <= points(cap).saturating_sub(points(member_awarded)));
        }
        if let Some(budget) = budget {
            prop_assert!(c.points <= points(budget).saturating_sub(points(total_awarded)));
        }
        prop_assert_eq!(c.limited_by.is_some(), c.points < points(bonus));
    }

    #[test]
    fn application_order_does_not_depend_on_the_input_order(
        keys in proptest::collection::vec((0u128..5, -3i32..3), 0..8),
        rotate in 0usize..8,
    ) {
        let campaigns: Vec<Campaign> = keys.iter().map(|&(id, p)| with(id, p)).collect();
        let active: Vec<ActiveCampaign> = campaigns.iter().map(ActiveCampaign::unused).collect();
        let mut rotated = active.clone();
        if !rotated.is_empty() {
            let by = rotate % rotated.len();
            rotated.rotate_left(by);
        }
        let order = |list: &[ActiveCampaign]| -> Vec<(i32, u128)> {
            in_application_order(list)
                .iter()
                .map(|c| (c.campaign.priority, c.campaign.id.as_u128()))
                .collect()
        };
        let first = order(&active);
        prop_assert!(first.windows(2).all(|w| w[0] <= w[1]));
        prop_assert_eq!(first, order(&rotated));
    }
}
