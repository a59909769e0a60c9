//! The invariant checker finds every kind of tampering: a balance, a lot, an entry, a hold or a
//! bill that no longer agrees with the rest, in one tenant or in all of them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod scenario;

use diesel::prelude::*;
use loyalty_core::ledger::{Bucket, Source};
use loyalty_core::{ExpiryPolicy, ReturnPolicy};
use loyalty_store::models::ledger::HoldRow;
use loyalty_store::ops::verify::{Discrepancy, MembershipViolation};
use loyalty_store::schema::{bills, earn_lines, holds, ledger_entries, memberships, point_lots};
use scenario::*;

fn shop(t: &common::TestStore, name: &str) -> Shop {
    open_shop(
        t,
        name,
        shop_rules(ExpiryPolicy::Never, ReturnPolicy::CapAtAvailable),
    )
}

/// A member with 50 points earned on ORDER1; returns the shop, member and membership ids.
fn earned_fifty(t: &common::TestStore, name: &str) -> (Shop, String, String) {
    let shop = shop(t, name);
    let member = shop.member(t, "CARD-0001", None);
    shop.earn(t, &member, "ORDER1", "500");
    let membership = shop.membership(t, &member);
    (shop, member, membership)
}

fn tamper(
    t: &common::TestStore,
    sql_effect: impl FnOnce(&mut loyalty_store::DbConnection) -> QueryResult<usize>,
) {
    t.tampered.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut conn = t.store.database().conn().unwrap();
    assert_eq!(
        sql_effect(&mut conn).unwrap(),
        1,
        "exactly one row tampered with"
    );
}

fn balance_problems(found: &[MembershipViolation]) -> Vec<(Bucket, Source, String, String)> {
    found
        .iter()
        .filter_map(|v| match &v.problem {
            Discrepancy::Balance(b) => Some((
                b.bucket,
                b.source,
                b.stored.to_string(),
                b.computed.to_string(),
            )),
            _ => None,
        })
        .collect()
}

on_both_backends! {
    fn a_balance_changed_behind_the_ledgers_back_is_reported_against_its_entries_and_its_lots(t) {
        let (_shop, _member, membership) = earned_fifty(t, "Cathay Shop");
        assert!(t.store.verify(None).unwrap().is_empty());
        tamper(t, |conn| {
            diesel::update(memberships::table.find(&membership))
                .set(memberships::available.eq(memberships::available + 1_000_000))
                .execute(conn)
        });

        let found = t.store.verify(None).unwrap();

        assert!(found.iter().all(|v| v.membership_id == membership));
        assert_eq!(balance_problems(&found), vec![
            (Bucket::Available, Source::Entries, "150".into(), "50".into()),
            (Bucket::Available, Source::Lots, "150".into(), "50".into()),
        ]);
        assert!(found[0].to_string().contains("available: stored 150, but the entries add up to 50"), "{}", found[0]);
    }

    fn a_lot_emptied_behind_the_ledgers_back_is_reported(t) {
        let (_shop, _member, membership) = earned_fifty(t, "Cathay Shop");
        tamper(t, |conn| {
            diesel::update(point_lots::table.filter(point_lots::membership_id.eq(&membership)))
                .set(point_lots::remaining.eq(point_lots::remaining - 200_000))
                .execute(conn)
        });
        let found = t.store.verify(None).unwrap();
        assert_eq!(balance_problems(&found), vec![(Bucket::Available, Source::Lots, "50".into(), "30".into())]);
    }

    fn an_entry_rewritten_behind_the_ledgers_back_is_reported(t) {
        let (_shop, _member, membership) = earned_fifty(t, "Cathay Shop");
        tamper(t, |conn| {
            diesel::update(ledger_entries::table.filter(ledger_entries::membership_id.eq(&membership)))
                .set(ledger_entries::points.eq(10_000_000))
                .execute(conn)
        });
        let found = t.store.verify(None).unwrap();
        assert_eq!(balance_problems(&found), vec![(Bucket::Earned, Source::Entries, "50".into(), "1000".into())]);
    }

    fn a_hold_that_the_balance_does_not_know_is_reported(t) {
        let (shop, _member, membership) = earned_fifty(t, "Cathay Shop");
        let now = loyalty_store::clock::to_db_time(t.store.now());
        tamper(t, |conn| {
            diesel::insert_into(holds::table)
                .values(HoldRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    tenant_id: shop.tenant.clone(),
                    membership_id: membership.clone(),
                    reference: "ORDER2".into(),
                    points: 100_000,
                    value: 0,
                    bill_total: 0,
                    to_pay: 0,
                    captured: 40_000,
                    status: "active".into(),
                    expires_at: now,
                    created_at: now,
                    resolved_at: None,
                })
                .execute(conn)
        });
        let found = t.store.verify(None).unwrap();
        assert_eq!(balance_problems(&found), vec![(Bucket::Held, Source::Lots, "0".into(), "6".into())]);
    }

    fn a_bill_returned_beyond_its_total_is_reported(t) {
        let (_shop, _member, membership) = earned_fifty(t, "Cathay Shop");
        tamper(t, |conn| {
            diesel::update(bills::table.filter(bills::membership_id.eq(&membership)))
                .set(bills::returned.eq(bills::total + 1))
                .execute(conn)
        });
        let found = t.store.verify(None).unwrap();
        assert_eq!(found.len(), 1);
        assert!(matches!(&found[0].problem, Discrepancy::Bill { reference, .. } if reference == "ORDER1"), "{found:?}");
    }

    fn a_bill_line_whose_points_no_longer_add_up_is_reported(t) {
        let (_shop, _member, _membership) = earned_fifty(t, "Cathay Shop");
        // Both sides of the line's CHECK move together, so only the checker can see it.
        tamper(t, |conn| {
            diesel::update(earn_lines::table)
                .set((
                    earn_lines::base_points.eq(earn_lines::base_points + 10_000),
                    earn_lines::points.eq(earn_lines::points + 10_000),
                ))
                .execute(conn)
        });
        let found = t.store.verify(None).unwrap();
        let problems: Vec<&str> = found
            .iter()
            .filter_map(|v| match &v.problem {
                Discrepancy::Bill { reference, problem } if reference == "ORDER1" => Some(problem.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(problems.len(), 2, "{found:?}");
        assert!(problems[0].contains("lines' points add up to 51"), "{problems:?}");
        assert!(problems[1].contains("earned entry has 50"), "{problems:?}");
    }

    fn a_day_of_qualifying_spend_changed_behind_the_ledgers_back_is_reported(t) {
        let (_shop, _member, membership) = earned_fifty(t, "Cathay Shop");
        tamper(t, |conn| {
            use loyalty_store::schema::qualifying_spend_days as q;
            diesel::update(q::table.filter(q::membership_id.eq(&membership)))
                .set(q::amount.eq(q::amount + 10_000))
                .execute(conn)
        });
        let found = t.store.verify(None).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            matches!(
                &found[0].problem,
                Discrepancy::QualifyingSpend { bills, kept, .. }
                    if bills.to_string() == "500" && kept.to_string() == "501"
            ),
            "{found:?}"
        );
    }

    fn the_checker_looks_at_one_tenant_or_at_all_of_them_page_by_page(t) {
        let (_shop, _member, membership) = earned_fifty(t, "Cathay Shop");
        let other = shop(t, "Other Shop");
        // More memberships than one page of the checker holds.
        for i in 0..205 {
            other.member(t, &format!("CARD-{i:04}"), None);
        }
        let last = other.member(t, "CARD-9999", None);
        other.adjust(t, &last, "7");
        let last_membership = other.membership(t, &last);
        tamper(t, |conn| {
            diesel::update(memberships::table.filter(memberships::id.eq_any([&membership, &last_membership])))
                .set(memberships::earned.eq(0))
                .execute(conn)
                .map(|n| n / 2)
        });

        let everywhere = t.store.verify(None).unwrap();
        let mut ids: Vec<&str> = everywhere.iter().map(|v| v.membership_id.as_str()).collect();
        ids.sort_unstable();
        let mut expected = vec![membership.as_str(), last_membership.as_str()];
        expected.sort_unstable();
        assert_eq!(ids, expected);
        let only_other = t.store.verify(Some(&other.tenant)).unwrap();
        assert_eq!(only_other.len(), 1);
        assert_eq!((only_other[0].membership_id.as_str(), only_other[0].tenant_id.as_str()), (last_membership.as_str(), other.tenant.as_str()));
    }
}
