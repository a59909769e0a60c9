//! Invariants of earning and referral for all inputs.

use proptest::prelude::*;

use super::*;

/// (effect kind, value, only Baby lines?, priority, member cap, member usage, budget usage)
type CampaignCase = (u8, u32, bool, i32, Option<u32>, u32, u32);

fn build_campaign(i: usize, case: &CampaignCase) -> (Campaign, CampaignUsage) {
    let &(kind, value, baby, priority, member_cap, used, spent) = case;
    let effect = match kind {
        0 => CampaignEffect::Multiplier(
            Multiplier::new(Decimal::new(100 + i64::from(value % 300), 2)).unwrap(),
        ),
        1 => CampaignEffect::ExtraPercent(
            Percent::new(Decimal::new(1 + i64::from(value % 1000), 2)).unwrap(),
        ),
        _ => CampaignEffect::FixedBonus(Points::whole(1 + u64::from(value % 100)).unwrap()),
    };
    let c = campaign(|s| {
        s.id = Uuid::from_u128(i as u128);
        s.effect = effect;
        s.priority = priority;
        s.member_cap = member_cap.map(|c| Points::whole(u64::from(c) + 1).unwrap());
        s.budget = Some(Points::whole(5000).unwrap());
        if baby {
            s.categories = vec![Category::new("Baby").unwrap()];
        }
    });
    let usage = CampaignUsage {
        member_awarded: Points::whole(u64::from(used)).unwrap(),
        total_awarded: Points::whole(u64::from(spent)).unwrap(),
    };
    (c, usage)
}

/// The exact, unrounded, uncapped points the rules define, computed independently.
fn exact_uncapped(
    e: &Earning,
    lines: &[BillLine],
    campaigns: &[(Campaign, CampaignUsage)],
) -> Decimal {
    let base: Decimal = e.lines.iter().map(|l| l.exact_points).sum();
    let mut exact = base * e.tier_multiplier.value();
    for (c, _) in campaigns {
        let eligible: Vec<(&LineEarning, &BillLine)> = e
            .lines
            .iter()
            .zip(lines)
            .filter(|(_, l)| line_is_eligible(c, l))
            .collect();
        if eligible.is_empty() {
            continue;
        }
        exact += match c.effect {
            CampaignEffect::Multiplier(m) => {
                eligible
                    .iter()
                    .map(|(l, _)| l.exact_points)
                    .sum::<Decimal>()
                    * (m.value() - Decimal::ONE)
            }
            CampaignEffect::ExtraPercent(p) => {
                p.of(eligible.iter().map(|(_, l)| l.amount.amount()).sum())
            }
            CampaignEffect::FixedBonus(p) => p.value(),
        };
    }
    exact
}

/// (lines as (category index, cents), tier multiplier in hundredths, point decimals, bill
/// cap, campaigns)
type Case = (
    Vec<(u8, i64)>,
    Option<u16>,
    u32,
    Option<u64>,
    Vec<CampaignCase>,
);

fn cases() -> impl Strategy<Value = Case> {
    (
        proptest::collection::vec((0u8..4, 0i64..100_000_000), 0..6),
        proptest::option::of(100u16..=300),
        0u32..3,
        proptest::option::of(1u64..500),
        proptest::collection::vec(
            (
                0u8..3,
                any::<u32>(),
                any::<bool>(),
                -2i32..3,
                proptest::option::of(0u32..200),
                0u32..300,
                0u32..6000,
            ),
            0..4,
        ),
    )
}

fn any_rounding() -> impl Strategy<Value = Rounding> {
    prop_oneof![
        Just(Rounding::Down),
        Just(Rounding::HalfUp),
        Just(Rounding::HalfEven)
    ]
}

/// `exact` rounded to `decimals` the way `rounding` says, computed without [`PointPrecision`].
fn rounded(exact: Decimal, decimals: u32, rounding: Rounding) -> Decimal {
    use rust_decimal::RoundingStrategy;
    let strategy = match rounding {
        Rounding::Down => RoundingStrategy::ToZero,
        Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
        Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
    };
    exact.round_dp_with_strategy(decimals, strategy)
}

/// A generated case's bill lines (category index 3 = no category), its tier (a multiplier in
/// hundredths) and its campaigns.
fn generated(
    lines: &[(u8, i64)],
    multiplier: Option<u16>,
    campaign_cases: &[CampaignCase],
) -> (Vec<BillLine>, Option<Tier>, Vec<(Campaign, CampaignUsage)>) {
    let lines = lines
        .iter()
        .map(|&(cat, cents)| BillLine {
            category: ["Medicines", "General", "Baby"]
                .get(usize::from(cat))
                .map(|c| Category::new(c).unwrap()),
            amount: Money::new(Decimal::new(cents, 2), inr()).unwrap(),
        })
        .collect();
    let gold = multiplier.map(|m| Tier {
        multiplier: Multiplier::new(Decimal::new(i64::from(m), 2)).unwrap(),
        ..tier("1")
    });
    let campaigns = campaign_cases
        .iter()
        .enumerate()
        .map(|(i, c)| build_campaign(i, c))
        .collect();
    (lines, gold, campaigns)
}

proptest! {
    #[test]
    fn the_tier_bonus_follows_the_programs_rounding_mode(
        lines in proptest::collection::vec((0u8..4, 0i64..100_000_000), 0..6),
        multiplier in 100u16..=300,
        decimals in 0u32..3,
        rounding in any_rounding(),
    ) {
        let mut rules = pharmacy();
        rules.precision = PointPrecision::new(decimals, rounding).unwrap();
        let lines: Vec<BillLine> = lines
            .iter()
            .map(|&(cat, cents)| BillLine {
                category: ["Medicines", "General", "Baby"].get(usize::from(cat)).map(|c| Category::new(c).unwrap()),
                amount: Money::new(Decimal::new(cents, 2), inr()).unwrap(),
            })
            .collect();
        let multiplier = Multiplier::new(Decimal::new(i64::from(multiplier), 2)).unwrap();
        let silver = Tier { multiplier, ..tier("1") };

        let e = earn(rules, Some(&silver), &[], &lines).unwrap();

        let exact_base: Decimal = e.lines.iter().map(|l| l.exact_points).sum();
        let exact_extra = exact_base * (multiplier.value() - Decimal::ONE);
        prop_assert_eq!(e.base.value(), rounded(exact_base, decimals, rounding));
        prop_assert_eq!(e.tier_bonus.value(), rounded(exact_extra, decimals, rounding));
        prop_assert_eq!(e.total.value(), e.base.value() + e.tier_bonus.value());
        // Each component is at most half a unit of the program's points away from its exact
        // value (less than a unit when rounding down, and never above it).
        let unit = Decimal::new(1, decimals);
        let off = e.tier_bonus.value() - exact_extra;
        match rounding {
            Rounding::Down => prop_assert!(off <= Decimal::ZERO && -off < unit),
            Rounding::HalfUp | Rounding::HalfEven => prop_assert!(off.abs() * Decimal::TWO <= unit),
        }
    }

    #[test]
    fn referral_points_follow_the_programs_rounding_mode(
        cents in 0i64..1_000_000_000,
        percent in 1i64..=2_000,
        decimals in 0u32..3,
        rounding in any_rounding(),
    ) {
        let mut rules = pharmacy();
        rules.precision = PointPrecision::new(decimals, rounding).unwrap();
        rules.referral_percent = Percent::new(Decimal::new(percent, 2)).unwrap();
        let rules = rules.validate().unwrap();
        let amount = Money::new(Decimal::new(cents, 2), inr()).unwrap();

        let points = referral_points(&rules, &amount).unwrap();

        let exact = amount.amount() * Decimal::new(percent, 2) / Decimal::ONE_HUNDRED;
        prop_assert_eq!(points.value(), rounded(exact, decimals, rounding));
    }

    #[test]
    fn every_earning_adds_up_stays_under_the_cap_and_never_exceeds_the_exact_points(
        (lines, multiplier, decimals, cap, campaign_cases) in cases()
    ) {
        let mut rules = pharmacy();
        rules.precision = PointPrecision::new(decimals, Rounding::Down).unwrap();
        rules.earn_cap_per_bill = cap.map(|c| Points::whole(c).unwrap());
        let (lines, gold, campaigns) = generated(&lines, multiplier, &campaign_cases);
        let active: Vec<ActiveCampaign> =
            campaigns.iter().map(|(c, usage)| ActiveCampaign { campaign: c, usage: *usage }).collect();

        let e = earn(rules, gold.as_ref(), &active, &lines).unwrap();

        prop_assert_eq!(e.total, e.components_total().unwrap());
        if let Some(cap) = cap {
            prop_assert!(e.total <= Points::whole(cap).unwrap());
        }
        prop_assert!(e.total.value() <= exact_uncapped(&e, &lines, &campaigns));
        prop_assert!(e.rounding_loss >= Decimal::ZERO);
        for bonus in &e.campaign_bonuses {
            let (c, usage) = campaigns.iter().find(|(c, _)| c.id == bonus.campaign_id).unwrap();
            prop_assert!(bonus.points <= bonus.uncapped);
            if let Some(member_cap) = c.member_cap {
                prop_assert!(bonus.points <= member_cap.saturating_sub(usage.member_awarded));
            }
            if let Some(budget) = c.budget {
                prop_assert!(bonus.points <= budget.saturating_sub(usage.total_awarded));
            }
        }

        // The same campaigns in another order earn exactly the same.
        let reversed: Vec<ActiveCampaign> = active.iter().rev().copied().collect();
        let mut rules = pharmacy();
        rules.precision = PointPrecision::new(decimals, Rounding::Down).unwrap();
        rules.earn_cap_per_bill = cap.map(|c| Points::whole(c).unwrap());
        prop_assert_eq!(e, earn(rules, gold.as_ref(), &reversed, &lines).unwrap());
    }

    #[test]
    fn the_lines_points_add_up_to_every_component_and_the_total_exactly(
        (lines, multiplier, decimals, cap, campaign_cases) in cases(),
        rounding in any_rounding(),
    ) {
        let mut rules = pharmacy();
        rules.precision = PointPrecision::new(decimals, rounding).unwrap();
        rules.earn_cap_per_bill = cap.map(|c| Points::whole(c).unwrap());
        let (lines, gold, campaigns) = generated(&lines, multiplier, &campaign_cases);
        let active: Vec<ActiveCampaign> =
            campaigns.iter().map(|(c, usage)| ActiveCampaign { campaign: c, usage: *usage }).collect();

        let e = earn(rules, gold.as_ref(), &active, &lines).unwrap();

        let sum = |pick: fn(&LinePoints) -> Decimal| -> Decimal {
            e.lines.iter().map(|l| pick(&l.points)).sum()
        };
        prop_assert_eq!(sum(|p| p.base.value()), e.base.value());
        prop_assert_eq!(sum(|p| p.tier_bonus.value()), e.tier_bonus.value());
        prop_assert_eq!(sum(|p| p.campaign_bonus.value()), e.campaign_points().unwrap().value());
        prop_assert_eq!(sum(|p| p.total.value()), e.total.value());
        let unit = Decimal::new(1, decimals);
        for line in &e.lines {
            let p = line.points;
            prop_assert_eq!(p.total.value(), p.base.value() + p.tier_bonus.value() + p.campaign_bonus.value());
            // Every share is in the program's point decimals.
            prop_assert_eq!(p.total.value() % unit, Decimal::ZERO);
            // A line that earned nothing exactly gets no base.
            if line.exact_points.is_zero() && e.lines.iter().any(|l| !l.exact_points.is_zero()) {
                prop_assert_eq!(p.base, Points::ZERO);
            }
        }
    }

    #[test]
    fn referral_points_never_exceed_the_exact_share(cents in 0i64..1_000_000_000) {
        let rules = pharmacy().validate().unwrap();
        let amount = Money::new(Decimal::new(cents, 2), inr()).unwrap();
        let points = referral_points(&rules, &amount).unwrap();
        let exact = rules.referral_percent.of(amount.amount());
        prop_assert!(points.value() <= exact);
        prop_assert!(exact - points.value() < dec!(0.01));
    }
}
