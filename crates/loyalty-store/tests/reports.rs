//! Reports: outstanding points and liability, flows, redemption rate, expired points, top
//! members, referrals and per-bill numbers match the scenario that produced them; no tenant
//! can read another's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod scenario;

use chrono::{Duration, Months};
use loyalty_core::{ExpiryPolicy, ReturnPolicy};
use loyalty_store::StoreError;
use loyalty_store::ops::reports::TopBy;
use scenario::*;

struct Scenario {
    shop: Shop,
    asha: String,
    ravi: String,
    chen: String,
}

/// Asha referred Ravi; Chen came alone. 1 point per 10, referrer 5 %, 4 points pay 1.00,
/// points expire after 12 months.
fn scenario(t: &common::TestStore) -> Scenario {
    let shop = open_shop(
        t,
        "Cathay Shop",
        shop_rules(ExpiryPolicy::AfterMonths(12), ReturnPolicy::CapAtAvailable),
    );
    let asha = shop.member(t, "CARD-0001", None);
    let ravi = shop.member(t, "CARD-0002", Some(&asha));
    let chen = shop.member(t, "CARD-0003", None);
    let start = common::start();
    shop.earn(t, &ravi, "ORDER1", "1000"); // Ravi 100, Asha 50
    shop.earn(t, &chen, "ORDER2", "500"); // Chen 50
    t.clock.set(start + Duration::days(1));
    shop.redeem(t, &chen, "ORDER3", "100", "20");
    t.clock.set(start + Duration::days(2));
    shop.reverse(t, &ravi, "ORDER1", Some("200")); // Ravi -20, Asha -10
    t.clock.set(start + Months::new(6));
    shop.earn(t, &asha, "ORDER4", "2000"); // Asha 200, expiring 6 months later
    t.clock.set(start + Months::new(12) + Duration::hours(1));
    // Ravi's 80, Asha's 40 referral points and Chen's 30 expire.
    assert_eq!(
        t.store.expire_due(None, 100).unwrap().points_expired,
        d("150")
    );
    Scenario {
        shop,
        asha,
        ravi,
        chen,
    }
}

on_both_backends! {
    fn the_program_report_matches_the_scenario(t) {
        let s = scenario(t);
        let report = t.store.program_report(&s.shop.tenant, &s.shop.program, None, None).unwrap();
        assert_eq!(report.members, 3);
        assert_eq!(report.points_outstanding, d("200"));
        assert_eq!(report.liability, Some(d("50")), "200 points at 4 points per 1.00");
        assert_eq!((report.earned, report.redeemed, report.expired, report.reversed), (d("400"), d("20"), d("150"), d("30")));
        assert_eq!(report.redemption_rate, d("0.05"));
        assert_eq!(report.currency, inr());

        let start = common::start();
        let first_days = t.store.program_report(&s.shop.tenant, &s.shop.program, Some(start), Some(start + Duration::days(3))).unwrap();
        assert_eq!((first_days.earned, first_days.redeemed, first_days.expired, first_days.reversed), (d("200"), d("20"), d("0"), d("30")));
        assert_eq!(first_days.redemption_rate, d("0.1"));
        assert_eq!(first_days.points_outstanding, d("200"), "outstanding points are always today's");
        let since = t.store.program_report(&s.shop.tenant, &s.shop.program, Some(start + Months::new(1)), None).unwrap();
        assert_eq!((since.earned, since.expired), (d("200"), d("150")));

        t.store.set_program_enabled(&s.shop.tenant, None, &s.shop.program, false).unwrap();
        assert_eq!(t.store.program_report(&s.shop.tenant, &s.shop.program, None, None).unwrap(), report, "reads still work");
        assert_ledger_sound(t);
    }

    fn expired_points_are_counted_in_their_window(t) {
        let s = scenario(t);
        let start = common::start();
        let year = start + Months::new(12);
        let expired = t.store.expired_points(&s.shop.tenant, &s.shop.program, year, year + Duration::days(1)).unwrap();
        assert_eq!((expired.points, expired.entries), (d("150"), 3));
        let before = t.store.expired_points(&s.shop.tenant, &s.shop.program, start, year).unwrap();
        assert_eq!((before.points, before.entries), (d("0"), 0));
    }

    fn top_members_rank_by_points_earned_or_available(t) {
        let s = scenario(t);
        let by_earned = t.store.top_members(&s.shop.tenant, &s.shop.program, TopBy::Earned, 10).unwrap();
        let ranking: Vec<(&str, _)> = by_earned.iter().map(|m| (m.member_id.as_str(), m.earned)).collect();
        assert_eq!(ranking, vec![(s.asha.as_str(), d("250")), (s.ravi.as_str(), d("100")), (s.chen.as_str(), d("50"))]);
        assert_eq!(by_earned[0].card_number, "CARD-0001");
        let by_available = t.store.top_members(&s.shop.tenant, &s.shop.program, TopBy::Available, 1).unwrap();
        assert_eq!(by_available.len(), 1);
        assert_eq!((by_available[0].member_id.as_str(), by_available[0].available), (s.asha.as_str(), d("200")));
    }

    fn the_referral_report_counts_referrers_referred_members_and_their_points(t) {
        let s = scenario(t);
        let report = t.store.referral_report(&s.shop.tenant, &s.shop.program).unwrap();
        assert_eq!((report.referrers, report.referred_members, report.referred_members_who_earned), (1, 1, 1));
        assert_eq!(report.referral_points, d("50"));
    }

    fn the_bill_summary_shows_what_a_bill_earned_gave_redeemed_and_returned(t) {
        let s = scenario(t);
        let bills = t.store.bill_summary(&s.shop.tenant, "ORDER1").unwrap();
        assert_eq!(bills.len(), 1);
        let bill = &bills[0];
        assert_eq!((bill.member_id.as_str(), bill.total.currency()), (s.ravi.as_str(), inr()));
        assert_eq!((bill.total, bill.returned), (money("1000"), money("200")));
        assert_eq!((bill.earned, bill.earned_reversed), (pts("100"), pts("20")));
        assert_eq!((bill.referral, bill.referral_reversed), (pts("50"), pts("10")));
        assert_eq!(bill.referrer_membership_id, Some(s.shop.membership(t, &s.asha)));
        let redeemed = t.store.bill_summary(&s.shop.tenant, "ORDER3").unwrap().remove(0);
        assert_eq!((redeemed.redeemed, redeemed.redeemed_value), (pts("20"), money("5")));
        let err = t.store.bill_summary(&s.shop.tenant, "ORDER9").unwrap_err();
        assert!(matches!(err, StoreError::NotFound { what: "bill", .. }), "{err:?}");
    }

    fn no_report_reads_another_tenants_data(t) {
        let s = scenario(t);
        let other = open_shop(t, "Other Shop", pharmacy_rules());
        let not_found = |err: StoreError| assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
        not_found(t.store.program_report(&other.tenant, &s.shop.program, None, None).unwrap_err());
        not_found(t.store.expired_points(&other.tenant, &s.shop.program, common::start(), t.store.now()).unwrap_err());
        not_found(t.store.top_members(&other.tenant, &s.shop.program, TopBy::Earned, 10).unwrap_err());
        not_found(t.store.referral_report(&other.tenant, &s.shop.program).unwrap_err());
        not_found(t.store.bill_summary(&other.tenant, "ORDER1").unwrap_err());
        let empty = t.store.program_report(&other.tenant, &other.program, None, None).unwrap();
        assert_eq!((empty.members, empty.points_outstanding, empty.redemption_rate), (0, d("0"), d("0")));
        assert!(t.store.verify(Some(&other.tenant)).unwrap().is_empty());
    }
}
