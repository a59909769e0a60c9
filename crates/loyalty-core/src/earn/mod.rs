//! Earning: the points a bill earns, with a breakdown that explains every number, plus
//! referral and action points.
//!
//! [`compute_earning`] works in a fixed, documented order:
//! 1. **Lines.** Each line earns exact (unrounded) points: its category's percentage of its
//!    amount if the category has a rule ("Medicines 1%"), else the base rate ("1 point per 10
//!    spent").
//! 2. **Base.** The sum of the lines' exact points, rounded once with the program's rounding.
//! 3. **Tier bonus.** What the member's tier multiplier adds on top of the exact base
//!    (`base * (multiplier - 1)`), rounded with the program's rounding like the base (a
//!    half-even program's Silver x1.5 on an exact base of 9.8 adds 4.9 -> 5).
//! 4. **Campaigns**, by (priority, id), each only if it applies to the bill: a multiplier adds
//!    on the exact base points of its eligible lines, an extra percentage adds that share of
//!    their amount, a fixed bonus adds its points once per bill with at least one eligible
//!    line. Each is rounded down, then cut to what is left of the campaign's member cap and
//!    budget. Tier and campaign bonuses are each computed on the base; they do not compound.
//! 5. **Bill cap.** The program's earn cap per bill applies after all bonuses: the excess is
//!    taken from the campaign bonuses (the last applied first), then the tier bonus, then the
//!    base.
//!
//! Every component is rounded on its own: the base and the tier bonus with the program's
//! rounding, campaign bonuses down (step 4). So with [`Rounding::Down`](crate::Rounding::Down)
//! rounding never creates points the rules did not earn.
//!
//! 6. **Lines.** Each line's share of every component (after the cap) is set last: the base
//!    and the tier bonus are shared by the lines' exact points, a multiplier campaign by its
//!    eligible lines' exact points, an extra-percentage or fixed campaign by its eligible
//!    lines' amounts. Each share is rounded down to the program's point decimals and what
//!    rounding leaves of a component goes to its line with the largest weight (the first in
//!    bill order on ties), so the lines' points add up to every component and to the total
//!    exactly.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::bill::BillLine;
use crate::campaigns::{
    ActiveCampaign, CampaignLimit, campaign_applies, cap_campaign_bonus, in_application_order,
    line_is_eligible,
};
use crate::error::{Error, Result};
use crate::program::{CampaignEffect, Rules, Tier};
use crate::values::{Currency, Money, Multiplier, Percent, PointPrecision, Points};

mod breakdown;
mod lines;
pub use breakdown::{CampaignBonus, Earning, LineEarning, LinePoints, LineRule};

/// Everything one bill's earning depends on.
#[derive(Debug, Clone, Copy)]
pub struct EarnInput<'a> {
    /// The program's validated rules.
    pub rules: &'a Rules,
    /// The member's tier when the bill is made (the tier held *before* this bill; an upgrade
    /// the bill causes applies from the next bill), or `None` below the first tier.
    pub tier: Option<&'a Tier>,
    /// The program's campaigns with their usage so far; those that do not apply are skipped.
    pub campaigns: &'a [ActiveCampaign<'a>],
    /// The amounts that earn, line by line: the caller has already taken off what the
    /// program's [`EarnBasis`](crate::EarnBasis) excludes (discounts, the part paid with points).
    pub lines: &'a [BillLine],
    /// The bill's total after discounts, which campaigns' minimum bill is judged by.
    pub bill_total: Money,
    /// When the bill was made; campaign windows and weekdays are judged by it.
    pub at: DateTime<Utc>,
}

/// Computes what a bill earns, component by component (see the [module docs](self) for the
/// order).
///
/// Lines and the bill total must be in the program's currency ([`Error::CurrencyMismatch`]);
/// the same campaign may not be listed twice ([`Error::InvalidField`]); results beyond
/// [`MAX_AMOUNT`](crate::values::MAX_AMOUNT) are [`Error::Overflow`].
///
/// The shop earns 1 point per 10 spent; a Gold member (1.5x) shopping on a double-points
/// weekend with a cap of 100 points per bill:
/// ```
/// use chrono::{TimeZone, Utc, Weekday};
/// use loyalty_core::{
///     compute_earning, ActiveCampaign, BillLine, CampaignEffect, CampaignLimit, CampaignSpec,
///     Currency, EarnInput, EarnRate, Money, Points, ProgramRules, Tier,
/// };
/// use rust_decimal::Decimal;
/// let inr = Currency::new("INR")?;
/// let mut shop = ProgramRules::new(inr);
/// shop.base_rate = EarnRate::new(Points::whole(1)?, Decimal::from(10))?;
/// shop.earn_cap_per_bill = Some(Points::whole(100)?);
/// let shop = shop.validate()?;
/// let gold = Tier {
///     name: "Gold".into(),
///     threshold: Decimal::from(50_000),
///     multiplier: "1.5".parse()?,
///     upgrade_bonus: Points::whole(500)?,
/// };
/// let weekends = CampaignSpec {
///     id: uuid::Uuid::nil(),
///     name: "Double points weekends".into(),
///     starts_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
///     ends_at: Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
///     weekdays: vec![Weekday::Sat, Weekday::Sun],
///     categories: vec![],
///     min_bill: None,
///     effect: CampaignEffect::Multiplier("2".parse()?),
///     priority: 0,
///     member_cap: None,
///     budget: None,
///     active: true,
/// }
/// .validate()?;
/// let campaigns = [ActiveCampaign::unused(&weekends)];
/// let lines = [BillLine { category: None, amount: Money::parse("500", inr)? }];
/// let mut input = EarnInput {
///     rules: &shop,
///     tier: None,
///     campaigns: &campaigns,
///     lines: &lines,
///     bill_total: Money::parse("500", inr)?,
///     at: Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap(), // a Monday
/// };
/// // 500 spent earns 50.
/// assert_eq!(compute_earning(&input)?.total, Points::whole(50)?);
///
/// // On Saturday, as Gold: 50 base + 25 tier + 50 campaign = 125, cut to the cap of 100
/// // by taking 25 from the campaign bonus.
/// input.at = Utc.with_ymd_and_hms(2026, 1, 3, 12, 0, 0).unwrap();
/// input.tier = Some(&gold);
/// let earning = compute_earning(&input)?;
/// assert_eq!(earning.base, Points::whole(50)?);
/// assert_eq!(earning.tier_bonus, Points::whole(25)?);
/// assert_eq!(earning.campaign_bonuses[0].uncapped, Points::whole(50)?);
/// assert_eq!(earning.campaign_bonuses[0].points, Points::whole(25)?);
/// assert_eq!(earning.campaign_bonuses[0].limited_by, Some(CampaignLimit::BillCap));
/// assert_eq!(earning.cap_reduction, Points::whole(25)?);
/// assert_eq!(earning.total, Points::whole(100)?);
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn compute_earning(input: &EarnInput<'_>) -> Result<Earning> {
    let rules = input.rules;
    let precision = rules.precision;
    same_currency(rules.currency, &input.bill_total)?;
    let lines = input
        .lines
        .iter()
        .map(|line| line_earning(rules, line))
        .collect::<Result<Vec<_>>>()?;

    let base_exact = sum(lines.iter().map(|l| l.exact_points))?;
    let base = overflow(precision.round(base_exact))?;

    let tier_multiplier = input.tier.map_or(Multiplier::ONE, |t| t.multiplier);
    let tier_exact = extra_on(tier_multiplier, base_exact)?;
    let tier_bonus = overflow(precision.round(tier_exact))?;

    let mut exact_sum = add(base_exact, tier_exact)?;
    let mut rounded_sum = add(base.value(), tier_bonus.value())?;
    let mut campaign_bonuses = Vec::new();
    let mut campaign_weights = Vec::new();
    let ordered = in_application_order(input.campaigns);
    for (i, active) in ordered.iter().enumerate() {
        let campaign = active.campaign;
        if ordered[..i].iter().any(|a| a.campaign.id == campaign.id) {
            return Err(Error::InvalidField {
                what: "campaigns",
                reason: format!("campaign {} is listed more than once", campaign.id),
            });
        }
        if let Some((bonus, exact, weights)) = campaign_bonus(input, &lines, active)? {
            exact_sum = add(exact_sum, exact)?;
            rounded_sum = add(rounded_sum, bonus.uncapped.value())?;
            campaign_bonuses.push(bonus);
            campaign_weights.push(weights);
        }
    }

    let mut earning = Earning {
        lines,
        base,
        tier_bonus,
        tier_multiplier,
        campaign_bonuses,
        cap_reduction: Points::ZERO,
        rounding_loss: exact_sum
            .checked_sub(rounded_sum)
            .ok_or(Error::Overflow("rounding loss"))?,
        total: Points::ZERO,
    };
    apply_bill_cap(&mut earning, rules.earn_cap_per_bill)?;
    share_over_lines(&mut earning, &campaign_weights, precision)?;
    Ok(earning)
}

/// Sets each line's [`LinePoints`]: its share of the base, the tier bonus and each campaign's
/// bonus (step 6 of the module docs).
fn share_over_lines(
    earning: &mut Earning,
    campaign_weights: &[Vec<Option<Decimal>>],
    precision: PointPrecision,
) -> Result<()> {
    let by_points: Vec<Option<Decimal>> =
        earning.lines.iter().map(|l| Some(l.exact_points)).collect();
    let mut points = vec![LinePoints::default(); earning.lines.len()];
    let base = lines::share(earning.base, &by_points, precision)?;
    lines::add_shares(&mut points, &base, |p| &mut p.base)?;
    let tier = lines::share(earning.tier_bonus, &by_points, precision)?;
    lines::add_shares(&mut points, &tier, |p| &mut p.tier_bonus)?;
    for (bonus, weights) in earning.campaign_bonuses.iter().zip(campaign_weights) {
        let shares = lines::share(bonus.points, weights, precision)?;
        lines::add_shares(&mut points, &shares, |p| &mut p.campaign_bonus)?;
    }
    for (line, p) in earning.lines.iter_mut().zip(points) {
        line.points = p;
    }
    Ok(())
}

/// A campaign's bonus, its exact value, and each line's weight in it (`None`: not rewarded).
type AppliedCampaign = (CampaignBonus, Decimal, Vec<Option<Decimal>>);

/// One campaign's bonus on the bill (after its member cap and budget), its exact value and
/// each line's weight in it (`None` for lines it does not reward), or `None` when the
/// campaign does not apply or rewards none of the lines.
fn campaign_bonus(
    input: &EarnInput<'_>,
    lines: &[LineEarning],
    active: &ActiveCampaign<'_>,
) -> Result<Option<AppliedCampaign>> {
    let campaign = active.campaign;
    let precision = input.rules.precision;
    if !campaign_applies(
        campaign,
        input.at,
        input.rules.utc_offset_minutes,
        &input.bill_total,
    ) {
        return Ok(None);
    }
    let eligible: Vec<&LineEarning> = lines
        .iter()
        .zip(input.lines)
        .filter(|(_, line)| line_is_eligible(campaign, line))
        .map(|(earning, _)| earning)
        .collect();
    if eligible.is_empty() {
        return Ok(None);
    }
    let exact = match campaign.effect {
        CampaignEffect::Multiplier(m) => {
            extra_on(m, sum(eligible.iter().map(|l| l.exact_points))?)?
        }
        CampaignEffect::ExtraPercent(p) => {
            percent_of(p, sum(eligible.iter().map(|l| l.amount.amount()))?)?
        }
        CampaignEffect::FixedBonus(points) => points.value(),
    };
    let weights = lines
        .iter()
        .zip(input.lines)
        .map(|(earning, line)| {
            line_is_eligible(campaign, line).then_some(match campaign.effect {
                CampaignEffect::Multiplier(_) => earning.exact_points,
                CampaignEffect::ExtraPercent(_) | CampaignEffect::FixedBonus(_) => {
                    earning.amount.amount()
                }
            })
        })
        .collect();
    let uncapped = overflow(precision.round_down(exact))?;
    let capped = cap_campaign_bonus(campaign, &active.usage, uncapped);
    // A cap with more decimals than the program's points must not hand out a fraction.
    let points = overflow(precision.round_down(capped.points.value()))?;
    let bonus = CampaignBonus {
        campaign_id: campaign.id,
        name: campaign.name.clone(),
        uncapped,
        points,
        limited_by: capped.limited_by,
    };
    Ok(Some((bonus, exact, weights)))
}

fn line_earning(rules: &Rules, line: &BillLine) -> Result<LineEarning> {
    same_currency(rules.currency, &line.amount)?;
    let amount = line.amount.amount();
    let rule = match line.category.as_ref().and_then(|c| rules.category_rule(c)) {
        Some(percent) => LineRule::Category(percent),
        None => LineRule::Base(rules.base_rate),
    };
    let exact_points = match rule {
        LineRule::Category(percent) => percent_of(percent, amount)?,
        // `EarnRate::points_for` with checked arithmetic: a tiny `per` could overflow.
        LineRule::Base(rate) => amount
            .checked_mul(rate.points().value())
            .and_then(|p| p.checked_div(rate.per()))
            .ok_or(Error::Overflow("points of a bill line"))?,
    };
    Ok(LineEarning {
        category: line.category.clone(),
        amount: line.amount,
        rule,
        exact_points,
        points: LinePoints::default(),
    })
}

/// Cuts the excess over the bill cap: campaign bonuses last-applied first, then the tier bonus,
/// then the base; sets `cap_reduction` and `total`.
fn apply_bill_cap(earning: &mut Earning, cap: Option<Points>) -> Result<()> {
    let uncapped = earning.components_total()?;
    let mut excess = cap.map_or(Points::ZERO, |cap| uncapped.saturating_sub(cap));
    earning.cap_reduction = excess;
    for bonus in earning.campaign_bonuses.iter_mut().rev() {
        if take(&mut bonus.points, &mut excess) {
            bonus.limited_by = Some(CampaignLimit::BillCap);
        }
    }
    take(&mut earning.tier_bonus, &mut excess);
    take(&mut earning.base, &mut excess);
    earning.total = earning.components_total()?;
    Ok(())
}

/// Takes as much of `excess` as `from` holds; returns whether it took anything.
fn take(from: &mut Points, excess: &mut Points) -> bool {
    let taken = (*from).min(*excess);
    *from = from.saturating_sub(taken);
    *excess = excess.saturating_sub(taken);
    !taken.is_zero()
}

/// What a referrer earns from a referred member's bill: the program's referral percentage of
/// the bill's earning amount, rounded to the program's point decimals with the program's
/// rounding (like every point a bill earns by the program's rates).
///
/// Referral points are computed on the amount, not on the referred member's points: the
/// referrer's tier does not multiply them, campaigns do not add to them, and the referred
/// member's earn cap per bill does not limit them (it limits what *that* member earns).
///
/// The pharmacy's referrer earns 0.5 % of a 1000 bill:
/// ```
/// use loyalty_core::{referral_points, Currency, Money, PointPrecision, ProgramRules, Rounding};
/// let inr = Currency::new("INR")?;
/// let mut pharmacy = ProgramRules::new(inr);
/// pharmacy.precision = PointPrecision::new(2, Rounding::Down)?;
/// pharmacy.referral_percent = "0.5".parse()?;
/// let pharmacy = pharmacy.validate()?;
/// assert_eq!(referral_points(&pharmacy, &Money::parse("1000", inr)?)?.to_string(), "5");
/// assert_eq!(referral_points(&pharmacy, &Money::parse("999.99", inr)?)?.to_string(), "4.99");
///
/// // A whole-point, half-up program whose referrer earns 5 %: 19.5 points of a 390.00 bill
/// // round to 20.
/// let mut shop = ProgramRules::new(inr);
/// shop.precision = PointPrecision::new(0, Rounding::HalfUp)?;
/// shop.referral_percent = "5".parse()?;
/// let shop = shop.validate()?;
/// assert_eq!(referral_points(&shop, &Money::parse("390.00", inr)?)?.to_string(), "20");
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn referral_points(rules: &Rules, earning_amount: &Money) -> Result<Points> {
    same_currency(rules.currency, earning_amount)?;
    let exact = percent_of(rules.referral_percent, earning_amount.amount())?;
    overflow(rules.precision.round(exact))
}

/// The flat points a named action earns ("feedback" = 10); [`Error::UnknownAction`] if the
/// program has no rule for it. Action points are not multiplied by tiers, not boosted by
/// campaigns and not limited by the earn cap per bill.
///
/// ```
/// use loyalty_core::{action_award, ActionRule, Currency, Error, Points, ProgramRules};
/// let mut rules = ProgramRules::new(Currency::new("INR")?);
/// rules.actions.push(ActionRule { action: "feedback".into(), points: Points::whole(10)? });
/// let rules = rules.validate()?;
/// assert_eq!(action_award(&rules, "feedback")?, Points::whole(10)?);
/// assert!(matches!(action_award(&rules, "tweet"), Err(Error::UnknownAction(_))));
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn action_award(rules: &Rules, action: &str) -> Result<Points> {
    rules.action_points(action)
}

fn same_currency(expected: Currency, money: &Money) -> Result<()> {
    if money.currency() == expected {
        Ok(())
    } else {
        Err(Error::CurrencyMismatch {
            expected: expected.to_string(),
            got: money.currency().to_string(),
        })
    }
}

fn sum(mut values: impl Iterator<Item = Decimal>) -> Result<Decimal> {
    values.try_fold(Decimal::ZERO, add)
}

fn add(a: Decimal, b: Decimal) -> Result<Decimal> {
    a.checked_add(b)
        .ok_or(Error::Overflow("points earned on a bill"))
}

fn extra_on(multiplier: Multiplier, base: Decimal) -> Result<Decimal> {
    base.checked_mul(multiplier.value() - Decimal::ONE)
        .ok_or(Error::Overflow("a multiplier bonus"))
}

fn percent_of(percent: Percent, amount: Decimal) -> Result<Decimal> {
    amount
        .checked_mul(percent.value())
        .map(|p| p / Decimal::ONE_HUNDRED)
        .ok_or(Error::Overflow("a percentage of an amount"))
}

/// Points beyond the accepted range are an overflow of the bill's earning, whatever the
/// value type calls them.
fn overflow(points: Result<Points>) -> Result<Points> {
    points.map_err(|_| Error::Overflow("points earned on a bill"))
}

#[cfg(test)]
mod tests;
