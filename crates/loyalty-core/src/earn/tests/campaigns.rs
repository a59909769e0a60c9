//! Campaign bonuses and the bill cap inside a bill's earning.

use chrono::Weekday;

use super::*;

#[test]
fn a_double_points_weekend_doubles_the_base_on_a_saturday() {
    let weekends = campaign(|s| {
        s.weekdays = vec![Weekday::Sat, Weekday::Sun];
        s.effect = double();
    });
    let e = earn(
        shop(),
        None,
        &[ActiveCampaign::unused(&weekends)],
        &[line(None, "500")],
    )
    .unwrap();
    assert_eq!(e.campaign_bonuses.len(), 1);
    assert_eq!(e.campaign_bonuses[0].points, pts("50"));
    assert_eq!(e.campaign_bonuses[0].name, "Double points weekends");
    assert_eq!(e.total, pts("100"));
}

#[test]
fn a_campaign_that_does_not_apply_adds_nothing_and_is_not_listed() {
    let weekdays = campaign(|s| s.weekdays = vec![Weekday::Mon]);
    let e = earn(
        shop(),
        None,
        &[ActiveCampaign::unused(&weekdays)],
        &[line(None, "500")],
    )
    .unwrap();
    assert!(e.campaign_bonuses.is_empty());
    assert_eq!(e.total, pts("50"));
}

#[test]
fn a_campaigns_minimum_is_judged_on_the_bill_total_after_discounts() {
    let big_bills = campaign(|s| s.min_bill = Some(money("1000")));
    let rules = shop().validate().unwrap();
    let lines = [line(None, "1200")];
    let input = |total: &str| EarnInput {
        rules: &rules,
        tier: None,
        campaigns: &[],
        lines: &lines,
        bill_total: money(total),
        at: at(2026, 1, 3, 12, 0),
    };
    let campaigns = [ActiveCampaign::unused(&big_bills)];
    let discounted = EarnInput {
        campaigns: &campaigns,
        ..input("999")
    };
    assert!(
        compute_earning(&discounted)
            .unwrap()
            .campaign_bonuses
            .is_empty()
    );
    let full = EarnInput {
        campaigns: &campaigns,
        ..input("1000")
    };
    assert_eq!(compute_earning(&full).unwrap().campaign_bonuses.len(), 1);
}

#[test]
fn a_multiplier_campaign_multiplies_only_the_eligible_lines_base() {
    let baby = campaign(|s| s.categories = vec![Category::new("Baby").unwrap()]);
    let lines = [line(Some("Baby"), "200"), line(Some("Medicines"), "500")];
    let e = earn(pharmacy(), None, &[ActiveCampaign::unused(&baby)], &lines).unwrap();
    assert_eq!(e.base, pts("25"));
    assert_eq!(e.campaign_bonuses[0].points, pts("20"));
}

#[test]
fn an_extra_percent_campaign_adds_that_share_of_the_eligible_amount() {
    let baby = campaign(|s| {
        s.categories = vec![Category::new("Baby").unwrap()];
        s.effect = CampaignEffect::ExtraPercent("2".parse().unwrap());
    });
    let lines = [line(Some("Baby"), "333.33"), line(Some("General"), "100")];
    let e = earn(pharmacy(), None, &[ActiveCampaign::unused(&baby)], &lines).unwrap();
    assert_eq!(e.campaign_bonuses[0].points, pts("6.66")); // 6.6666 rounded down
}

#[test]
fn a_fixed_bonus_is_given_once_per_bill_whatever_the_number_of_lines() {
    let welcome = campaign(|s| s.effect = CampaignEffect::FixedBonus(pts("25")));
    let lines = [line(None, "10"), line(None, "10"), line(None, "10")];
    let e = earn(shop(), None, &[ActiveCampaign::unused(&welcome)], &lines).unwrap();
    assert_eq!(e.campaign_bonuses[0].points, pts("25"));
    assert_eq!(e.total, pts("28"));
}

#[test]
fn a_fixed_bonus_needs_at_least_one_eligible_line() {
    let baby = campaign(|s| {
        s.categories = vec![Category::new("Baby").unwrap()];
        s.effect = CampaignEffect::FixedBonus(pts("25"));
    });
    let e = earn(
        shop(),
        None,
        &[ActiveCampaign::unused(&baby)],
        &[line(None, "500")],
    )
    .unwrap();
    assert!(e.campaign_bonuses.is_empty());
    assert_eq!(e.total, pts("50"));
}

#[test]
fn tier_and_campaign_bonuses_are_each_computed_on_the_base_and_do_not_compound() {
    let gold = tier("1.5");
    let (a, b) = (
        campaign(|s| s.effect = double()),
        campaign(|s| {
            s.id = Uuid::from_u128(2);
            s.effect = CampaignEffect::Multiplier("3".parse().unwrap());
        }),
    );
    let active = [ActiveCampaign::unused(&a), ActiveCampaign::unused(&b)];
    let e = earn(shop(), Some(&gold), &active, &[line(None, "100")]).unwrap();
    assert_eq!((e.base, e.tier_bonus), (pts("10"), pts("5")));
    let bonuses: Vec<Points> = e.campaign_bonuses.iter().map(|c| c.points).collect();
    assert_eq!(bonuses, [pts("10"), pts("20")]);
    assert_eq!(e.total, pts("45"));
}

#[test]
fn a_campaign_bonus_is_cut_to_what_is_left_of_its_member_cap() {
    let capped = campaign(|s| s.member_cap = Some(pts("100")));
    let active = [ActiveCampaign {
        campaign: &capped,
        usage: CampaignUsage {
            member_awarded: pts("90"),
            total_awarded: pts("90"),
        },
    }];
    let e = earn(shop(), None, &active, &[line(None, "500")]).unwrap();
    let bonus = &e.campaign_bonuses[0];
    assert_eq!((bonus.uncapped, bonus.points), (pts("50"), pts("10")));
    assert_eq!(bonus.limited_by, Some(CampaignLimit::MemberCap));
}

#[test]
fn a_campaign_bonus_is_cut_to_what_is_left_of_its_budget() {
    let capped = campaign(|s| s.budget = Some(pts("1000")));
    let active = [ActiveCampaign {
        campaign: &capped,
        usage: CampaignUsage {
            member_awarded: Points::ZERO,
            total_awarded: pts("1000"),
        },
    }];
    let e = earn(shop(), None, &active, &[line(None, "500")]).unwrap();
    assert_eq!(e.campaign_bonuses[0].points, Points::ZERO);
    assert_eq!(
        e.campaign_bonuses[0].limited_by,
        Some(CampaignLimit::Budget)
    );
    assert_eq!(e.total, pts("50"));
}

#[test]
fn a_member_cap_finer_than_the_programs_points_never_grants_a_fraction() {
    let capped = campaign(|s| s.member_cap = Some(pts("10.5")));
    let e = earn(
        shop(),
        None,
        &[ActiveCampaign::unused(&capped)],
        &[line(None, "500")],
    )
    .unwrap();
    assert_eq!(e.campaign_bonuses[0].points, pts("10"));
}

#[test]
fn the_bill_cap_cuts_the_last_applied_campaign_first() {
    let mut rules = shop();
    rules.earn_cap_per_bill = Some(pts("120"));
    let first = campaign(|s| s.priority = 1);
    let last = campaign(|s| {
        s.id = Uuid::from_u128(2);
        s.priority = 2;
    });
    // Listed in reverse: order comes from the priorities, not the slice.
    let active = [
        ActiveCampaign::unused(&last),
        ActiveCampaign::unused(&first),
    ];
    let e = earn(rules, None, &active, &[line(None, "500")]).unwrap();
    let (a, b) = (&e.campaign_bonuses[0], &e.campaign_bonuses[1]);
    assert_eq!(
        (a.campaign_id, a.points, a.limited_by),
        (first.id, pts("50"), None)
    );
    assert_eq!(
        (b.campaign_id, b.points, b.limited_by),
        (last.id, pts("20"), Some(CampaignLimit::BillCap))
    );
    assert_eq!((e.cap_reduction, e.total), (pts("30"), pts("120")));
}

#[test]
fn the_bill_cap_cuts_the_tier_bonus_after_the_campaigns_and_the_base_last() {
    let mut rules = shop();
    rules.earn_cap_per_bill = Some(pts("40"));
    let gold = tier("1.5");
    let weekends = campaign(|s| s.effect = double());
    let e = earn(
        rules,
        Some(&gold),
        &[ActiveCampaign::unused(&weekends)],
        &[line(None, "500")],
    )
    .unwrap();
    assert_eq!(e.campaign_bonuses[0].points, Points::ZERO);
    assert_eq!(
        (e.tier_bonus, e.base, e.total),
        (Points::ZERO, pts("40"), pts("40"))
    );
    assert_eq!(e.cap_reduction, pts("85"));
}
