//! Earning: every step of the order and every rejection; campaigns and the bill cap in
//! [`campaigns`], invariants for all inputs in [`properties`].

mod campaigns;
mod properties;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use uuid::Uuid;

use super::*;
use crate::campaigns::CampaignUsage;
use crate::campaigns::tests::{at, spec};
use crate::program::{ActionRule, Campaign, CampaignSpec, Category, CategoryRule, ProgramRules};
use crate::values::{EarnRate, PointPrecision, Rounding};

fn inr() -> Currency {
    Currency::new("INR").unwrap()
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn pts(s: &str) -> Points {
    s.parse().unwrap()
}

fn money(s: &str) -> Money {
    Money::parse(s, inr()).unwrap()
}

fn line(category: Option<&str>, amount: &str) -> BillLine {
    BillLine {
        category: category.map(|c| Category::new(c).unwrap()),
        amount: money(amount),
    }
}

/// The shop: 1 point per 10 spent, whole points, rounding down.
fn shop() -> ProgramRules {
    let mut rules = ProgramRules::new(inr());
    rules.base_rate = EarnRate::new(pts("1"), dec!(10)).unwrap();
    rules
}

/// The pharmacy: Medicines 1%, General 3%, 2 point decimals, referrer 0.5%.
fn pharmacy() -> ProgramRules {
    let mut rules = shop();
    rules.precision = PointPrecision::new(2, Rounding::Down).unwrap();
    rules.categories = [("Medicines", dec!(1)), ("General", dec!(3))]
        .into_iter()
        .map(|(c, p)| CategoryRule {
            category: Category::new(c).unwrap(),
            earn_percent: Percent::new(p).unwrap(),
        })
        .collect();
    rules.referral_percent = Percent::new(dec!(0.5)).unwrap();
    rules
}

fn tier(multiplier: &str) -> Tier {
    Tier {
        name: "Gold".into(),
        threshold: dec!(50000),
        multiplier: multiplier.parse().unwrap(),
        upgrade_bonus: Points::ZERO,
    }
}

const SATURDAY: (i32, u32, u32) = (2026, 1, 3);

fn earn(
    rules: ProgramRules,
    tier: Option<&Tier>,
    campaigns: &[ActiveCampaign],
    lines: &[BillLine],
) -> Result<Earning> {
    let rules = rules.validate()?;
    let mut total = Money::zero(rules.currency);
    for l in lines {
        total = total.checked_add(&l.amount).unwrap_or(total);
    }
    compute_earning(&EarnInput {
        rules: &rules,
        tier,
        campaigns,
        lines,
        bill_total: total,
        at: at(SATURDAY.0, SATURDAY.1, SATURDAY.2, 12, 0),
    })
}

fn campaign(edit: impl FnOnce(&mut CampaignSpec)) -> Campaign {
    let mut s = spec();
    edit(&mut s);
    s.validate().unwrap()
}

fn double() -> CampaignEffect {
    CampaignEffect::Multiplier("2".parse().unwrap())
}

#[test]
fn five_hundred_spent_at_one_point_per_ten_earns_fifty() {
    let e = earn(shop(), None, &[], &[line(None, "500")]).unwrap();
    assert_eq!((e.base, e.total), (pts("50"), pts("50")));
    assert_eq!(e.lines[0].rule, LineRule::Base(shop().base_rate));
}

#[test]
fn wine_and_dine_earns_five_tokens_per_100_where_frequent_flyer_earns_one_point() {
    let mut wine_and_dine = shop();
    wine_and_dine.base_rate = EarnRate::new(pts("5"), dec!(100)).unwrap();
    let mut frequent_flyer = shop();
    frequent_flyer.base_rate = EarnRate::new(pts("1"), dec!(100)).unwrap();
    let bill = [line(None, "100")];
    assert_eq!(
        earn(wine_and_dine, None, &[], &bill).unwrap().total,
        pts("5")
    );
    assert_eq!(
        earn(frequent_flyer, None, &[], &bill).unwrap().total,
        pts("1")
    );
}

#[test]
fn pharmacy_lines_earn_their_category_percentage() {
    let e = earn(
        pharmacy(),
        None,
        &[],
        &[line(Some("Medicines"), "500"), line(Some("General"), "500")],
    )
    .unwrap();
    assert_eq!(
        e.lines[0].rule,
        LineRule::Category(Percent::new(dec!(1)).unwrap())
    );
    assert_eq!(e.lines[0].exact_points, dec!(5));
    assert_eq!(e.lines[1].exact_points, dec!(15));
    assert_eq!(e.total, pts("20"));
}

#[test]
fn pharmacy_points_keep_two_decimals_and_round_down() {
    let e = earn(pharmacy(), None, &[], &[line(Some("Medicines"), "333.33")]).unwrap();
    assert_eq!(e.total, pts("3.33"));
    assert_eq!(e.rounding_loss, dec!(0.0033));
}

#[test]
fn a_line_whose_category_has_no_rule_earns_the_base_rate() {
    let e = earn(pharmacy(), None, &[], &[line(Some("Baby"), "500")]).unwrap();
    assert!(matches!(e.lines[0].rule, LineRule::Base(_)));
    assert_eq!(e.total, pts("50"));
}

#[test]
fn a_line_without_category_earns_the_base_rate() {
    let e = earn(pharmacy(), None, &[], &[line(None, "500")]).unwrap();
    assert!(matches!(e.lines[0].rule, LineRule::Base(_)));
}

#[test]
fn the_base_is_rounded_once_for_the_bill_not_per_line() {
    let e = earn(shop(), None, &[], &[line(None, "15"), line(None, "15")]).unwrap();
    assert_eq!(e.base, pts("3"));
    assert_eq!(e.rounding_loss, dec!(0));
}

#[test]
fn the_base_follows_the_programs_rounding_mode() {
    let mut rules = shop();
    rules.precision = PointPrecision::new(0, Rounding::HalfUp).unwrap();
    let e = earn(rules, None, &[], &[line(None, "25")]).unwrap();
    assert_eq!(e.base, pts("3"));
    assert_eq!(e.rounding_loss, dec!(-0.5));
}

#[test]
fn the_tier_bonus_is_the_multiplier_extra_on_the_exact_base_rounded_down() {
    // 55 spent: exact base 5.5 -> 5; Silver 1.25 adds 1.375 -> 1.
    let silver = tier("1.25");
    let e = earn(shop(), Some(&silver), &[], &[line(None, "55")]).unwrap();
    assert_eq!(
        (e.base, e.tier_bonus, e.total),
        (pts("5"), pts("1"), pts("6"))
    );
    assert_eq!(e.tier_multiplier, "1.25".parse().unwrap());
    assert_eq!(e.rounding_loss, d("0.875"));
}

#[test]
fn a_half_even_silver_member_earns_15_points_not_14_on_a_bill_of_98() {
    // 98.00 spent at 1 point per 10: exact base 9.8 -> 10; Silver 1.5 adds 4.9 -> 5, not 4.
    let mut rules = shop();
    rules.precision = PointPrecision::new(0, Rounding::HalfEven).unwrap();
    let silver = tier("1.5");
    let e = earn(rules, Some(&silver), &[], &[line(None, "98.00")]).unwrap();
    assert_eq!(
        (e.base, e.tier_bonus, e.total),
        (pts("10"), pts("5"), pts("15"))
    );
    assert_eq!(e.rounding_loss, d("-0.3"));
}

#[test]
fn a_half_up_program_rounds_a_tier_bonus_of_half_a_point_up() {
    // 50 spent: exact base 5; Silver 1.1 adds 0.5 -> 1.
    let mut rules = shop();
    rules.precision = PointPrecision::new(0, Rounding::HalfUp).unwrap();
    let e = earn(rules, Some(&tier("1.1")), &[], &[line(None, "50")]).unwrap();
    assert_eq!((e.tier_bonus, e.total), (pts("1"), pts("6")));
}

#[test]
fn without_a_tier_the_multiplier_is_one_and_adds_nothing() {
    let e = earn(shop(), None, &[], &[line(None, "500")]).unwrap();
    assert_eq!(
        (e.tier_multiplier, e.tier_bonus),
        (Multiplier::ONE, Points::ZERO)
    );
}

#[test]
fn a_bill_under_the_cap_is_not_reduced() {
    let mut rules = shop();
    rules.earn_cap_per_bill = Some(pts("100"));
    let e = earn(rules, None, &[], &[line(None, "500")]).unwrap();
    assert_eq!((e.cap_reduction, e.total), (Points::ZERO, pts("50")));
}

#[test]
fn a_bill_without_lines_earns_nothing() {
    let weekends = campaign(|s| s.effect = CampaignEffect::FixedBonus(pts("5")));
    let e = earn(shop(), None, &[ActiveCampaign::unused(&weekends)], &[]).unwrap();
    assert_eq!(e.total, Points::ZERO);
    assert!(e.campaign_bonuses.is_empty());
}

#[test]
fn a_line_in_another_currency_is_rejected() {
    let usd = BillLine {
        category: None,
        amount: Money::parse("5", Currency::new("USD").unwrap()).unwrap(),
    };
    let rules = shop().validate().unwrap();
    let result = compute_earning(&EarnInput {
        rules: &rules,
        tier: None,
        campaigns: &[],
        lines: &[usd],
        bill_total: money("5"),
        at: at(2026, 1, 3, 12, 0),
    });
    assert!(matches!(result, Err(Error::CurrencyMismatch { .. })));
}

#[test]
fn a_bill_total_in_another_currency_is_rejected() {
    let rules = shop().validate().unwrap();
    let result = compute_earning(&EarnInput {
        rules: &rules,
        tier: None,
        campaigns: &[],
        lines: &[line(None, "5")],
        bill_total: Money::parse("5", Currency::new("USD").unwrap()).unwrap(),
        at: at(2026, 1, 3, 12, 0),
    });
    assert!(matches!(result, Err(Error::CurrencyMismatch { .. })));
}

#[test]
fn the_same_campaign_listed_twice_is_rejected() {
    let c = campaign(|_| {});
    let active = [ActiveCampaign::unused(&c), ActiveCampaign::unused(&c)];
    let result = earn(shop(), None, &active, &[line(None, "500")]);
    assert!(matches!(
        result,
        Err(Error::InvalidField {
            what: "campaigns",
            ..
        })
    ));
}

#[test]
fn an_earn_rate_that_could_overflow_is_refused_when_configured_and_never_panics() {
    let mut rules = shop();
    let absurd = EarnRate::new(
        Points::new(crate::values::MAX_AMOUNT).unwrap(),
        dec!(0.0001),
    )
    .unwrap();
    rules.base_rate = absurd;
    let result = earn(rules, None, &[], &[line(None, "100000000000000")]);
    assert!(matches!(result, Err(Error::InvalidConfig(_))), "{result:?}");
    // The arithmetic itself is checked: an error, not a panic.
    let spend = crate::values::MAX_AMOUNT;
    assert!(matches!(absurd.points_for(spend), Err(Error::Overflow(_))));
}

#[test]
fn earning_beyond_the_maximum_amount_is_an_overflow() {
    let mut rules = shop();
    rules.base_rate = EarnRate::new(pts("10"), dec!(1)).unwrap();
    let result = earn(rules, None, &[], &[line(None, "100000000000000")]);
    assert!(matches!(result, Err(Error::Overflow(_))));
}

#[test]
fn the_pharmacy_referrer_earns_half_a_percent_of_the_bill() {
    let rules = pharmacy().validate().unwrap();
    assert_eq!(referral_points(&rules, &money("1000")).unwrap(), pts("5"));
    assert_eq!(
        referral_points(&rules, &money("999.99")).unwrap(),
        pts("4.99")
    );
}

#[test]
fn a_half_up_program_rounds_the_referrers_19_5_points_to_20() {
    // Whole points, half-up, the referrer earns 5 % of a referred member's bill of 390.00.
    let mut rules = shop();
    rules.precision = PointPrecision::new(0, Rounding::HalfUp).unwrap();
    rules.referral_percent = Percent::new(dec!(5)).unwrap();
    let rules = rules.validate().unwrap();
    assert_eq!(
        referral_points(&rules, &money("390.00")).unwrap(),
        pts("20")
    );
}

#[test]
fn a_half_even_program_rounds_the_referrers_18_5_points_to_18() {
    let mut rules = shop();
    rules.precision = PointPrecision::new(0, Rounding::HalfEven).unwrap();
    rules.referral_percent = Percent::new(dec!(5)).unwrap();
    let rules = rules.validate().unwrap();
    assert_eq!(
        referral_points(&rules, &money("370.00")).unwrap(),
        pts("18")
    );
    assert_eq!(
        referral_points(&rules, &money("390.00")).unwrap(),
        pts("20")
    );
}

#[test]
fn referral_points_ignore_the_referred_members_earn_cap() {
    let mut rules = pharmacy();
    rules.earn_cap_per_bill = Some(pts("1"));
    let rules = rules.validate().unwrap();
    assert_eq!(referral_points(&rules, &money("1000")).unwrap(), pts("5"));
}

#[test]
fn referral_on_an_amount_in_another_currency_is_rejected() {
    let rules = pharmacy().validate().unwrap();
    let usd = Money::parse("1000", Currency::new("USD").unwrap()).unwrap();
    assert!(matches!(
        referral_points(&rules, &usd),
        Err(Error::CurrencyMismatch { .. })
    ));
}

#[test]
fn feedback_earns_its_flat_points_and_an_unknown_action_is_rejected() {
    let mut rules = shop();
    rules.actions = vec![ActionRule {
        action: "feedback".into(),
        points: pts("10"),
    }];
    let rules = rules.validate().unwrap();
    assert_eq!(action_award(&rules, "feedback").unwrap(), pts("10"));
    assert_eq!(
        action_award(&rules, "tweet"),
        Err(Error::UnknownAction("tweet".into()))
    );
}

#[test]
fn each_pharmacy_line_shows_its_category_percentage_and_points() {
    let e = earn(
        pharmacy(),
        None,
        &[],
        &[line(Some("Medicines"), "500"), line(Some("General"), "500")],
    )
    .unwrap();
    assert_eq!(
        e.lines[0].rule,
        LineRule::Category(Percent::new(dec!(1)).unwrap())
    );
    assert_eq!(e.lines[0].points.total, pts("5.00"));
    assert_eq!(
        e.lines[1].rule,
        LineRule::Category(Percent::new(dec!(3)).unwrap())
    );
    assert_eq!(e.lines[1].points.total, pts("15.00"));
    assert_eq!(e.total, pts("20"));
}

#[test]
fn what_rounding_leaves_goes_to_the_heaviest_line_first_in_bill_order() {
    // Three lines of 0.5 exact points: the bill earns 1 (1.5 rounded down); no line's share
    // reaches a whole point, so the remainder goes to the first of the equal lines.
    let lines = [line(None, "5"), line(None, "5"), line(None, "5")];
    let e = earn(shop(), None, &[], &lines).unwrap();
    let totals: Vec<Points> = e.lines.iter().map(|l| l.points.total).collect();
    assert_eq!(totals, [pts("1"), pts("0"), pts("0")]);

    // 7 + 3 exact, capped at 5: shares 3.5 -> 3 and 1.5 -> 1, the remainder 1 to the 7.
    let mut capped = shop();
    capped.earn_cap_per_bill = Some(pts("5"));
    let e = earn(capped, None, &[], &[line(None, "30"), line(None, "70")]).unwrap();
    let totals: Vec<Points> = e.lines.iter().map(|l| l.points.total).collect();
    assert_eq!(totals, [pts("1"), pts("4")]);
}

#[test]
fn a_campaign_bonus_goes_only_to_the_lines_it_rewards() {
    let baby = campaign(|s| {
        s.categories = vec![Category::new("Baby").unwrap()];
        s.effect = CampaignEffect::FixedBonus(pts("10"));
    });
    let active = [ActiveCampaign::unused(&baby)];
    let e = earn(
        shop(),
        Some(&tier("1.5")),
        &active,
        &[line(None, "100"), line(Some("Baby"), "100")],
    )
    .unwrap();
    assert_eq!(e.lines[0].points.campaign_bonus, Points::ZERO);
    assert_eq!(e.lines[1].points.campaign_bonus, pts("10"));
    assert_eq!(e.lines[0].points.tier_bonus, pts("5"));
    assert_eq!(e.lines[1].points.total, pts("25"));
    assert_eq!(e.total, pts("40"));
}
