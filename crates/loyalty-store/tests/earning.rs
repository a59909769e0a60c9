//! Earning on both backends: bills, categories, referrals, caps, campaigns, tiers and
//! idempotency (this file); refusals, actions, adjustments, quotes and concurrency in
//! `earning/`.
// Tests may unwrap: a failure is the test's report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "earning/admin.rs"]
mod admin;
mod common;
#[path = "earning/concurrency.rs"]
mod concurrency;
#[path = "earning/refusals.rs"]
mod refusals;
#[path = "earning/support.rs"]
mod support;

use loyalty_core::{Points, Tier, TierBasis, TierRules};
use loyalty_store::StoreError;
use support::*;

fn tiered_shop() -> loyalty_core::ProgramRules {
    let tier = |name: &str, threshold: i64, multiplier: &str, bonus: u64| Tier {
        name: name.into(),
        threshold: threshold.into(),
        multiplier: multiplier.parse().unwrap(),
        upgrade_bonus: Points::whole(bonus).unwrap(),
    };
    let mut rules = shop();
    rules.tiers = TierRules {
        basis: TierBasis::QualifyingSpend { window_days: 365 },
        tiers: vec![
            tier("Silver", 1000, "1.5", 100),
            tier("Gold", 5000, "2", 500),
        ],
    };
    rules
}

on_both_backends! {
    fn shop_earns_one_point_per_ten_spent_so_500_earns_50(t) {
        let w = World::new(t, shop());
        let ana = w.member(&t.store, "CARD-1", None);
        let out = t.store.earn(&w.tenant, w.bill("k1", &ana, "ORDER123", "500")).unwrap();
        assert_eq!((out.points, out.base, out.tier_bonus), (pts("50"), pts("50"), pts("0")));
        assert_eq!((out.earning_amount.amount(), out.earning_amount.currency().code()), (d("500"), "INR"));
        assert_eq!(out.entry_ids.len(), 1);
        assert_eq!(out.balances.available, pts("50"));
        let m = w.membership(&t.store, &ana);
        assert_eq!((m.balances.available, m.balances.earned), (Points::whole(50).unwrap(), Points::whole(50).unwrap()));
        assert_consistent(t, &m);
    }

    fn pharmacy_lines_earn_by_category_and_the_referrer_earns_half_a_percent(t) {
        let w = World::new(t, pharmacy());
        let asha = w.member(&t.store, "PH-1", None);
        let ravi = w.member(&t.store, "PH-2", Some(&asha));
        let lines = vec![line(Some("Medicines"), "123.45", inr()), line(Some("General"), "200", inr())];
        let out = t.store.earn(&w.tenant, w.bill_of("k1", &ravi, "INV-9", lines)).unwrap();
        // 1 % of 123.45 + 3 % of 200 = 7.2345, rounded down to 2 decimals.
        assert_eq!(out.points, pts("7.23"));
        // 0.5 % of 323.45 = 1.61725 -> 1.61 for the referrer.
        assert_eq!(out.referral_points, pts("1.61"));
        assert_eq!(out.referrer_member_id.as_deref(), Some(asha.as_str()));
        assert_eq!(out.entry_ids.len(), 2);
        let referrer = w.membership(&t.store, &asha);
        assert_eq!(referrer.balances.available.value(), d("1.61"));
        assert_eq!(w.membership(&t.store, &ravi).balances.available.value(), d("7.23"));
        assert_consistent(t, &referrer);
        assert_consistent(t, &w.membership(&t.store, &ravi));

        // A referrer outside the program earns nothing, and nothing is posted for them.
        let outsider = w.outsider(&t.store, "PH-3", None);
        let meena = w.member(&t.store, "PH-4", Some(&outsider));
        let out = t.store.earn(&w.tenant, w.bill("k2", &meena, "INV-10", "100")).unwrap();
        assert_eq!((out.referral_points, out.referrer_member_id), (pts("0"), None));

        // A deactivated referrer earns nothing either.
        t.store.deactivate_member(&w.tenant, None, &asha).unwrap();
        let out = t.store.earn(&w.tenant, w.bill("k3", &ravi, "INV-11", "100")).unwrap();
        assert_eq!((out.referral_points, out.referrer_member_id), (pts("0"), None));
        assert_eq!(w.membership(&t.store, &asha).balances.available.value(), d("1.61"));
    }

    fn the_same_member_earns_5_tokens_at_wine_and_dine_and_1_point_at_frequent_flyer_for_100_dollars(t) {
        let w = World::new(t, per_hundred_dollars(5));
        let flyer = t.store.create_program(&w.tenant, None, "Frequent Flyer", per_hundred_dollars(1)).unwrap();
        let sam = w.member(&t.store, "SAM-1", None);
        t.store.join_program(&w.tenant, None, &sam, &flyer.id).unwrap();
        let dine = t.store.earn(&w.tenant, w.bill("wd-1", &sam, "DINNER-1", "100")).unwrap();
        let mut trip = w.bill("ff-1", &sam, "DINNER-1", "100");
        trip.program_id = flyer.id.clone();
        let fly = t.store.earn(&w.tenant, trip).unwrap();
        assert_eq!((dine.points, fly.points), (pts("5"), pts("1")));
        assert_eq!(w.membership(&t.store, &sam).balances.available, Points::whole(5).unwrap());
        let ff = t.store.get_membership(&w.tenant, &sam, &flyer.id).unwrap();
        assert_eq!(ff.balances.available, Points::whole(1).unwrap());
    }

    fn the_earn_cap_per_bill_limits_what_one_bill_earns(t) {
        let mut rules = shop();
        rules.earn_cap_per_bill = Some(Points::whole(100).unwrap());
        let w = World::new(t, rules);
        let ana = w.member(&t.store, "CARD-1", None);
        let out = t.store.earn(&w.tenant, w.bill("k1", &ana, "BIG-1", "2000")).unwrap();
        assert_eq!((out.points, out.cap_reduction), (pts("100"), pts("100")));
        assert_eq!(w.membership(&t.store, &ana).balances.available, Points::whole(100).unwrap());
    }

    fn double_points_weekends_stop_at_the_member_cap_and_the_budget(t) {
        // The test clock starts on Saturday 2026-11-21.
        let w = World::new(t, shop());
        let campaign = t.store.create_campaign(&w.tenant, None, &w.program, double_points_weekends(80, 150)).unwrap();
        let ana = w.member(&t.store, "CARD-1", None);
        let ben = w.member(&t.store, "CARD-2", None);
        let bonus = |key: &str, member: &str, reference: &str| {
            let out = t.store.earn(&w.tenant, w.bill(key, member, reference, "500")).unwrap();
            assert_eq!(out.base, pts("50"));
            out.campaign_bonuses.first().map(|b| b.points)
        };
        assert_eq!(bonus("a1", &ana, "A-1"), Some(pts("50")));
        assert_eq!(bonus("a2", &ana, "A-2"), Some(pts("30"))); // Ana's cap of 80
        assert_eq!(bonus("a3", &ana, "A-3"), Some(pts("0")));
        assert_eq!(bonus("b1", &ben, "B-1"), Some(pts("50")));
        assert_eq!(bonus("b2", &ben, "B-2"), Some(pts("20"))); // the budget of 150
        let out = t.store.earn(&w.tenant, w.bill("b3", &ben, "B-3", "500")).unwrap();
        assert_eq!(out.campaign_bonuses[0].points, pts("0"));
        assert_eq!(out.campaign_bonuses[0].limited_by.as_deref(), Some("budget"));
        assert_eq!(out.entry_ids.len(), 1);

        t.clock.advance(chrono::Duration::days(2)); // Monday
        let out = t.store.earn(&w.tenant, w.bill("a4", &ana, "A-4", "500")).unwrap();
        assert!(out.campaign_bonuses.is_empty());

        let stored = t.store.get_campaign(&w.tenant, &campaign.id).unwrap();
        assert_eq!(stored.awarded, Points::whole(150).unwrap());
        assert_eq!(w.membership(&t.store, &ana).balances.available, Points::whole(280).unwrap());
        assert_eq!(w.membership(&t.store, &ben).balances.available, Points::whole(220).unwrap());
        assert_consistent(t, &w.membership(&t.store, &ana));
    }

    fn a_campaign_bonus_reports_the_cap_that_cut_it(t) {
        let w = World::new(t, shop());
        t.store.create_campaign(&w.tenant, None, &w.program, double_points_weekends(30, 1000)).unwrap();
        let ana = w.member(&t.store, "CARD-1", None);
        let out = t.store.earn(&w.tenant, w.bill("a1", &ana, "A-1", "500")).unwrap();
        let bonus = &out.campaign_bonuses[0];
        assert_eq!((bonus.points, bonus.limited_by.as_deref()), (pts("30"), Some("member_cap")));
        assert_eq!(out.points, pts("80"));
        let m = w.membership(&t.store, &ana);
        assert_eq!(m.balances.available, Points::whole(80).unwrap());
    }

    fn a_tier_upgrade_pays_its_bonus_on_the_crossing_earn_and_not_again(t) {
        let w = World::new(t, tiered_shop());
        let ana = w.member(&t.store, "CARD-1", None);
        let first = t.store.earn(&w.tenant, w.bill("k1", &ana, "B-1", "600")).unwrap();
        assert_eq!(first.tier_change, None);
        // The crossing bill earns at the old tier; the upgrade pays Silver's 100.
        let crossing = t.store.earn(&w.tenant, w.bill("k2", &ana, "B-2", "600")).unwrap();
        assert_eq!(crossing.points, pts("60"));
        let change = crossing.tier_change.clone().unwrap();
        assert_eq!((change.from, change.to.as_deref(), change.bonus), (None, Some("Silver"), pts("100")));
        assert_eq!(crossing.entry_ids.len(), 2);
        // The next bill earns at Silver (1.5x) and pays no bonus.
        let next = t.store.earn(&w.tenant, w.bill("k3", &ana, "B-3", "600")).unwrap();
        assert_eq!((next.base, next.tier_bonus, next.tier_change), (pts("60"), pts("30"), None));
        let m = w.membership(&t.store, &ana);
        assert_eq!(m.tier.as_deref(), Some("Silver"));
        assert_eq!(m.balances.available, Points::whole(60 + 60 + 100 + 90).unwrap());
        assert_consistent(t, &m);
    }

    fn a_tier_is_lost_on_reevaluation_once_the_window_passes_and_regained_without_a_bonus(t) {
        let w = World::new(t, tiered_shop());
        let ana = w.member(&t.store, "CARD-1", None);
        let ben = w.member(&t.store, "CARD-2", None);
        t.store.earn(&w.tenant, w.bill("k1", &ana, "B-1", "1200")).unwrap();
        assert_eq!(t.store.reevaluate_tiers(&w.tenant, &w.program).unwrap(), 0);
        t.clock.advance(chrono::Duration::days(400));
        t.store.earn(&w.tenant, w.bill("k2", &ben, "B-2", "100")).unwrap();
        assert_eq!(t.store.reevaluate_tiers(&w.tenant, &w.program).unwrap(), 1);
        assert_eq!(w.membership(&t.store, &ana).tier, None);
        assert_eq!(t.store.reevaluate_tiers(&w.tenant, &w.program).unwrap(), 0);
        let back = t.store.earn(&w.tenant, w.bill("k3", &ana, "B-3", "1200")).unwrap();
        let change = back.tier_change.unwrap();
        assert_eq!((change.to.as_deref(), change.bonus, change.bonus_entry_id), (Some("Silver"), pts("0"), None));
        assert_eq!(w.membership(&t.store, &ana).balances.available, Points::whole(120 + 100 + 120).unwrap());
    }

    fn an_earn_retried_with_the_same_key_has_one_effect_and_the_same_result(t) {
        let w = World::new(t, shop());
        let ana = w.member(&t.store, "CARD-1", None);
        let first = t.store.earn(&w.tenant, w.bill("k1", &ana, "ORDER123", "500")).unwrap();
        let entries = entry_count(t);
        let again = t.store.earn(&w.tenant, w.bill("k1", &ana, "ORDER123", "500")).unwrap();
        assert_eq!(first, again);
        assert_eq!(entry_count(t), entries);
        assert_eq!(w.membership(&t.store, &ana).balances.available, Points::whole(50).unwrap());
    }

    fn a_key_reused_for_a_different_earn_is_refused_and_changes_nothing(t) {
        let w = World::new(t, shop());
        let ana = w.member(&t.store, "CARD-1", None);
        t.store.earn(&w.tenant, w.bill("k1", &ana, "ORDER123", "500")).unwrap();
        let before = snapshot(t, &w, &[&ana]);
        let err = t.store.earn(&w.tenant, w.bill("k1", &ana, "ORDER124", "700")).unwrap_err();
        assert!(matches!(err, StoreError::IdempotencyConflict { .. }), "{err:?}");
        assert_eq!(snapshot(t, &w, &[&ana]), before);
    }

    fn a_bill_reference_earns_only_once(t) {
        let w = World::new(t, shop());
        let ana = w.member(&t.store, "CARD-1", None);
        t.store.earn(&w.tenant, w.bill("k1", &ana, "ORDER123", "500")).unwrap();
        let before = snapshot(t, &w, &[&ana]);
        let err = t.store.earn(&w.tenant, w.bill("k2", &ana, "ORDER123", "500")).unwrap_err();
        assert!(matches!(&err, StoreError::FailedPrecondition(m) if m.contains("ORDER123")), "{err:?}");
        assert_eq!(snapshot(t, &w, &[&ana]), before);
    }
}
