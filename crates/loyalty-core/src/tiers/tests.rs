//! Tier evaluation: thresholds, upgrades, downgrades and once-per-tier bonuses.

use proptest::prelude::*;
use rust_decimal_macros::dec;

use super::*;
use crate::program::TierBasis;
use crate::values::Multiplier;

fn tier(name: &str, threshold: Decimal, multiplier: Decimal, bonus: u64) -> Tier {
    Tier {
        name: name.into(),
        threshold,
        multiplier: Multiplier::new(multiplier).unwrap(),
        upgrade_bonus: Points::whole(bonus).unwrap(),
    }
}

/// Bronze from 1 000 spent, Silver from 10 000, Gold from 50 000 over a year.
fn bronze_silver_gold() -> TierRules {
    TierRules {
        basis: TierBasis::QualifyingSpend { window_days: 365 },
        tiers: vec![
            tier("Bronze", dec!(1000), dec!(1), 10),
            tier("Silver", dec!(10000), dec!(1.25), 100),
            tier("Gold", dec!(50000), dec!(1.5), 500),
        ],
    }
}

fn name(rules: &TierRules, measure: Decimal) -> Option<&str> {
    tier_for(rules, measure).map(|t| t.name.as_str())
}

fn upgraded(from: Option<&str>, to: &str, bonus: u64) -> TierChange {
    TierChange::Upgraded {
        from: from.map(str::to_owned),
        to: to.into(),
        bonus: Points::whole(bonus).unwrap(),
    }
}

#[test]
fn a_measure_below_the_first_threshold_has_no_tier() {
    assert_eq!(name(&bronze_silver_gold(), dec!(999.99)), None);
}

#[test]
fn a_measure_exactly_at_a_threshold_reaches_that_tier() {
    let rules = bronze_silver_gold();
    assert_eq!(name(&rules, dec!(1000)), Some("Bronze"));
    assert_eq!(name(&rules, dec!(10000)), Some("Silver"));
    assert_eq!(name(&rules, dec!(50000)), Some("Gold"));
}

#[test]
fn a_measure_above_the_last_threshold_stays_in_the_highest_tier() {
    assert_eq!(name(&bronze_silver_gold(), dec!(1000000)), Some("Gold"));
}

#[test]
fn a_program_without_tiers_has_no_tier_for_any_measure() {
    assert_eq!(name(&TierRules::default(), dec!(1000000)), None);
}

#[test]
fn crossing_a_threshold_on_an_earn_upgrades_and_grants_the_bonus() {
    let change = upgrade_on_earn(
        &bronze_silver_gold(),
        Some("Bronze"),
        Some("Bronze"),
        dec!(10000),
    );
    assert_eq!(change, upgraded(Some("Bronze"), "Silver", 100));
}

#[test]
fn a_first_earn_into_a_tier_upgrades_from_no_tier() {
    let change = upgrade_on_earn(&bronze_silver_gold(), None, None, dec!(1500));
    assert_eq!(change, upgraded(None, "Bronze", 10));
}

#[test]
fn skipping_tiers_grants_every_skipped_tiers_bonus() {
    let change = upgrade_on_earn(&bronze_silver_gold(), None, None, dec!(60000));
    assert_eq!(change, upgraded(None, "Gold", 610));
}

#[test]
fn climbing_back_to_a_tier_already_reached_grants_no_second_bonus() {
    let change = upgrade_on_earn(
        &bronze_silver_gold(),
        Some("Bronze"),
        Some("Gold"),
        dec!(50000),
    );
    assert_eq!(change, upgraded(Some("Bronze"), "Gold", 0));
}

#[test]
fn climbing_past_the_best_tier_reached_grants_only_the_new_tiers_bonus() {
    let change = upgrade_on_earn(
        &bronze_silver_gold(),
        Some("Bronze"),
        Some("Silver"),
        dec!(50000),
    );
    assert_eq!(change, upgraded(Some("Bronze"), "Gold", 500));
}

#[test]
fn a_best_reached_record_behind_the_current_tier_does_not_pay_the_current_tier_again() {
    let change = upgrade_on_earn(&bronze_silver_gold(), Some("Silver"), None, dec!(50000));
    assert_eq!(change, upgraded(Some("Silver"), "Gold", 500));
}

#[test]
fn an_earn_that_stays_below_the_next_threshold_changes_nothing() {
    let change = upgrade_on_earn(
        &bronze_silver_gold(),
        Some("Silver"),
        Some("Silver"),
        dec!(49999),
    );
    assert_eq!(change, TierChange::Unchanged);
}

#[test]
fn an_earn_never_downgrades() {
    let change = upgrade_on_earn(&bronze_silver_gold(), Some("Gold"), Some("Gold"), dec!(0));
    assert_eq!(change, TierChange::Unchanged);
}

#[test]
fn reevaluation_downgrades_when_the_window_no_longer_qualifies() {
    let change = reevaluate(
        &bronze_silver_gold(),
        Some("Gold"),
        Some("Gold"),
        dec!(12000),
    );
    assert_eq!(
        change,
        TierChange::Downgraded {
            from: "Gold".into(),
            to: Some("Silver".into())
        }
    );
}

#[test]
fn reevaluation_can_drop_a_member_below_every_tier() {
    let change = reevaluate(
        &bronze_silver_gold(),
        Some("Bronze"),
        Some("Silver"),
        dec!(10),
    );
    assert_eq!(
        change,
        TierChange::Downgraded {
            from: "Bronze".into(),
            to: None
        }
    );
}

#[test]
fn reevaluation_upgrades_with_the_same_once_per_tier_bonus_rule() {
    let rules = bronze_silver_gold();
    let change = reevaluate(&rules, Some("Bronze"), Some("Silver"), dec!(50000));
    assert_eq!(change, upgraded(Some("Bronze"), "Gold", 500));
}

#[test]
fn reevaluation_of_a_still_qualifying_member_changes_nothing() {
    let change = reevaluate(
        &bronze_silver_gold(),
        Some("Silver"),
        Some("Gold"),
        dec!(10000),
    );
    assert_eq!(change, TierChange::Unchanged);
}

#[test]
fn a_tier_name_the_rules_no_longer_know_counts_as_no_tier() {
    let rules = bronze_silver_gold();
    assert_eq!(
        upgrade_on_earn(&rules, Some("Platinum"), None, dec!(1000)),
        upgraded(Some("Platinum"), "Bronze", 10)
    );
    assert_eq!(
        upgrade_on_earn(&rules, Some("Platinum"), None, dec!(1)),
        TierChange::Unchanged
    );
    assert_eq!(
        reevaluate(&rules, Some("Platinum"), None, dec!(1)),
        TierChange::Downgraded {
            from: "Platinum".into(),
            to: None
        }
    );
}

#[test]
fn a_member_without_a_tier_below_every_threshold_is_unchanged() {
    assert_eq!(
        reevaluate(&bronze_silver_gold(), None, None, dec!(5)),
        TierChange::Unchanged
    );
}

fn rank_of(rules: &TierRules, name: Option<&str>) -> Option<usize> {
    name.and_then(|n| rules.rank(n))
}

fn tier_name(index: usize) -> Option<&'static str> {
    ["Bronze", "Silver", "Gold"].get(index).copied()
}

proptest! {
    #[test]
    fn a_larger_measure_never_reaches_a_lower_tier(a in 0i64..10_000_000, b in 0i64..10_000_000) {
        let rules = bronze_silver_gold();
        let (low, high) = (Decimal::new(a.min(b), 2), Decimal::new(a.max(b), 2));
        prop_assert!(rank_of(&rules, name(&rules, low)) <= rank_of(&rules, name(&rules, high)));
    }

    #[test]
    fn an_earn_never_downgrades_and_upgrades_only_to_the_tier_the_measure_reaches(
        current in 0usize..4, best in 0usize..4, cents in 0i64..10_000_000,
    ) {
        let rules = bronze_silver_gold();
        let measure = Decimal::new(cents, 2);
        match upgrade_on_earn(&rules, tier_name(current), tier_name(best), measure) {
            TierChange::Downgraded { .. } => prop_assert!(false, "an earn downgraded"),
            TierChange::Unchanged => {
                prop_assert!(rank_of(&rules, name(&rules, measure)) <= rank_of(&rules, tier_name(current)));
            }
            TierChange::Upgraded { to, .. } => {
                prop_assert_eq!(Some(to.as_str()), name(&rules, measure));
                prop_assert!(rules.rank(&to) > rank_of(&rules, tier_name(current)));
            }
        }
    }

    #[test]
    fn each_tiers_bonus_is_paid_at_most_once_along_any_path(
        measures in proptest::collection::vec(0i64..100_000, 1..20),
        reevaluations in proptest::collection::vec(any::<bool>(), 20),
    ) {
        let rules = bronze_silver_gold();
        let (mut current, mut best): (Option<String>, Option<String>) = (None, None);
        let mut paid = Points::ZERO;
        for (m, reeval) in measures.iter().zip(&reevaluations) {
            let measure = Decimal::from(*m);
            let change = if *reeval {
                reevaluate(&rules, current.as_deref(), best.as_deref(), measure)
            } else {
                upgrade_on_earn(&rules, current.as_deref(), best.as_deref(), measure)
            };
            match change {
                TierChange::Unchanged => {}
                TierChange::Upgraded { to, bonus, .. } => {
                    paid = paid.checked_add(bonus).unwrap();
                    if rules.rank(&to) > rank_of(&rules, best.as_deref()) {
                        best = Some(to.clone());
                    }
                    current = Some(to);
                }
                TierChange::Downgraded { to, .. } => current = to,
            }
        }
        let expected: u64 = match rank_of(&rules, best.as_deref()) {
            None => 0,
            Some(0) => 10,
            Some(1) => 110,
            Some(_) => 610,
        };
        prop_assert_eq!(paid, Points::whole(expected).unwrap());
    }
}
