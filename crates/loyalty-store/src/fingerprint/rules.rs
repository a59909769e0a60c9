//! Fingerprints of `loyalty-core`'s configuration and bill types, as requests carry them.
//!
//! Each destructures its value, so a field added in `loyalty-core` breaks the build here until
//! it is given a tag of its own.

use loyalty_core::{
    ActionRule, BillDiscount, BillLine, CampaignEffect, CampaignSpec, CategoryDiscount,
    CategoryRule, DiscountRules, EarnBasis, ExpiryPolicy, Money, ProgramKind, ProgramRules,
    RedemptionRules, ReturnPolicy, Reward, RewardKind, Rounding, Tier, TierBasis, TierRules,
};

use super::{Canonical, Fingerprint};

fn money(out: &mut Canonical, tag: u16, value: &Money) {
    out.record(tag, |m| {
        m.decimal(1, value.amount());
        m.text(2, value.currency().code());
    });
}

impl Fingerprint for BillLine {
    fn write_fields(&self, out: &mut Canonical) {
        let BillLine { category, amount } = self;
        out.opt_text(1, category.as_ref().map(|c| c.as_str()));
        money(out, 2, amount);
    }
}

impl Fingerprint for ProgramRules {
    fn write_fields(&self, out: &mut Canonical) {
        let ProgramRules {
            kind,
            currency,
            precision,
            base_rate,
            categories,
            actions,
            earn_cap_per_bill,
            earn_basis,
            referral_percent,
            redemption,
            expiry,
            pending_days,
            return_policy,
            discounts,
            redemptions_per_minute,
            tiers,
            utc_offset_minutes,
            max_bill_age_days,
        } = self;
        out.text(1, currency.code());
        out.integer(2, i64::from(precision.decimals()));
        out.text(
            3,
            match precision.rounding() {
                Rounding::Down => "down",
                Rounding::HalfUp => "half_up",
                Rounding::HalfEven => "half_even",
            },
        );
        out.record(4, |rate| {
            rate.decimal(1, base_rate.points().value());
            rate.decimal(2, base_rate.per());
        });
        out.list(5, categories.iter(), |c, rule| {
            let CategoryRule {
                category,
                earn_percent,
            } = rule;
            c.text(1, category.as_str());
            c.decimal(2, earn_percent.value());
        });
        out.list(6, actions.iter(), |a, rule| {
            let ActionRule { action, points } = rule;
            a.text(1, action);
            a.decimal(2, points.value());
        });
        out.opt_decimal(7, earn_cap_per_bill.map(|p| p.value()));
        out.text(
            8,
            match earn_basis {
                EarnBasis::PaidAmount => "paid_amount",
                EarnBasis::DiscountedAmount => "discounted_amount",
            },
        );
        out.decimal(9, referral_percent.value());
        if let Some(redemption) = redemption {
            out.record(10, |r| write_redemption(r, redemption));
        }
        if let ExpiryPolicy::AfterMonths(months) = expiry {
            out.integer(11, i64::from(*months));
        }
        out.integer(12, i64::from(*pending_days));
        out.text(
            13,
            match return_policy {
                ReturnPolicy::CapAtAvailable => "cap_at_available",
                ReturnPolicy::AllowDebt => "allow_debt",
            },
        );
        out.record(14, |d| write_discounts(d, discounts));
        out.opt_integer(15, redemptions_per_minute.map(i64::from));
        out.record(16, |t| write_tiers(t, tiers));
        out.integer(17, i64::from(*utc_offset_minutes));
        out.opt_integer(18, max_bill_age_days.map(i64::from));
        // Absent for a points program, so the fingerprints recorded before the kind existed
        // still match their requests.
        if *kind != ProgramKind::Points {
            out.text(19, kind.as_str());
        }
    }
}

fn write_redemption(out: &mut Canonical, redemption: &RedemptionRules) {
    let RedemptionRules {
        rate,
        min_points,
        max_bill_share,
        max_points_per_bill,
    } = redemption;
    out.decimal(1, rate.points().value());
    money(out, 2, &rate.value());
    out.decimal(3, min_points.value());
    out.decimal(4, max_bill_share.value());
    out.opt_decimal(5, max_points_per_bill.map(|p| p.value()));
}

fn write_discounts(out: &mut Canonical, discounts: &DiscountRules) {
    let DiscountRules {
        categories,
        bill,
        bill_minimum,
    } = discounts;
    out.list(1, categories.iter(), |c, discount| {
        let CategoryDiscount { category, percent } = discount;
        c.text(1, category.as_str());
        c.decimal(2, percent.value());
    });
    match bill {
        None => {}
        Some(BillDiscount::Amount(amount)) => money(out, 2, amount),
        Some(BillDiscount::Percent(percent)) => out.decimal(3, percent.value()),
    }
    if let Some(minimum) = bill_minimum {
        money(out, 4, minimum);
    }
}

fn write_tiers(out: &mut Canonical, tiers: &TierRules) {
    let TierRules { basis, tiers } = tiers;
    match basis {
        TierBasis::QualifyingSpend { window_days } => {
            out.integer(1, i64::from(*window_days));
        }
        TierBasis::LifetimePoints => out.text(2, "lifetime_points"),
    }
    out.list(3, tiers.iter(), |t, tier| {
        let Tier {
            name,
            threshold,
            multiplier,
            upgrade_bonus,
        } = tier;
        t.text(1, name);
        t.decimal(2, *threshold);
        t.decimal(3, multiplier.value());
        t.decimal(4, upgrade_bonus.value());
    });
}

impl Fingerprint for CampaignSpec {
    /// Everything but `id`: the store chooses a new campaign's id (and keeps an updated one's),
    /// never the caller, so it does not make the request.
    fn write_fields(&self, out: &mut Canonical) {
        let CampaignSpec {
            id: _,
            name,
            starts_at,
            ends_at,
            weekdays,
            categories,
            min_bill,
            effect,
            priority,
            member_cap,
            budget,
            active,
        } = self;
        out.text(1, name);
        out.instant(2, *starts_at);
        out.instant(3, *ends_at);
        out.list(4, weekdays.iter(), |w, day| {
            w.integer(1, i64::from(day.number_from_monday()));
        });
        out.texts(5, categories.iter().map(|c| c.as_str()));
        if let Some(min_bill) = min_bill {
            money(out, 6, min_bill);
        }
        match effect {
            CampaignEffect::Multiplier(m) => out.decimal(7, m.value()),
            CampaignEffect::ExtraPercent(p) => out.decimal(8, p.value()),
            CampaignEffect::FixedBonus(p) => out.decimal(9, p.value()),
        }
        out.integer(10, i64::from(*priority));
        out.opt_decimal(11, member_cap.map(|p| p.value()));
        out.opt_decimal(12, budget.map(|p| p.value()));
        out.boolean(13, *active);
    }
}

impl Fingerprint for Reward {
    fn write_fields(&self, out: &mut Canonical) {
        out.text(1, self.name());
        match self.kind() {
            RewardKind::Coupon { value } => money(out, 2, value),
            RewardKind::Donation { amount } => money(out, 3, amount),
            RewardKind::Item => out.text(4, "item"),
        }
        out.decimal(5, self.cost().value());
        out.opt_integer(6, self.validity_days().map(i64::from));
    }
}
