//! The balances each entry records after it: what `Account::post` writes equals what the
//! migration that added them backfills, and the invariant checker reports an entry whose
//! recorded values were changed behind the ledger's back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod scenario;

use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel_migrations::MigrationHarness;
use loyalty_core::{ExpiryPolicy, ReturnPolicy};
use loyalty_store::amounts::from_db;
use loyalty_store::db::MIGRATIONS;
use loyalty_store::ops::verify::Discrepancy;
use loyalty_store::schema::ledger_entries as e;
use scenario::*;

type Backend = <loyalty_store::DbConnection as Connection>::Backend;

type After = (String, i64, i64, i64, i64, i64, i64, i64, i64, i64);

/// Every entry's recorded after-values, in posting order.
fn recorded(t: &common::TestStore) -> Vec<After> {
    let mut conn = t.store.database().conn().unwrap();
    e::table
        .order(e::id)
        .select((
            e::id,
            e::available_after,
            e::pending_after,
            e::held_after,
            e::debt_after,
            e::earned_after,
            e::redeemed_after,
            e::expired_after,
            e::reversed_after,
            e::referral_after,
        ))
        .load(&mut conn)
        .unwrap()
}

/// A history touching every bucket and total: referral earning, redemption, adjustments both
/// ways, a reversal into debt and a credit that repays it.
fn busy_history(t: &common::TestStore) -> (Shop, String) {
    let shop = open_shop(
        t,
        "Busy Shop",
        shop_rules(ExpiryPolicy::Never, ReturnPolicy::AllowDebt),
    );
    let ana = shop.member(t, "CARD-0001", None);
    let ben = shop.member(t, "CARD-0002", Some(&ana));
    shop.earn(t, &ben, "B-1", "1000");
    shop.earn(t, &ana, "A-1", "500");
    shop.redeem(t, &ana, "A-2", "100", "40");
    shop.adjust(t, &ana, "25");
    shop.adjust(t, &ana, "-5");
    shop.redeem(t, &ben, "B-2", "100", "90");
    shop.reverse(t, &ben, "B-1", None);
    shop.earn(t, &ben, "B-3", "300");
    (shop, ana)
}

on_both_backends! {
    fn the_backfill_records_what_posting_records(t) {
        let (shop, ana) = busy_history(t);
        let posted = recorded(t);
        assert!(posted.len() >= 9, "{posted:?}");
        let mut conn = t.store.database().conn().unwrap();
        let last_of_ana: (i64, i64, i64) = e::table
            .filter(e::membership_id.eq(shop.membership(t, &ana)))
            .order(e::id.desc())
            .select((e::available_after, e::earned_after, e::referral_after))
            .first(&mut conn)
            .unwrap();
        drop(conn);
        // Referral points: 5 % of Ben's 1000 and of his 300.
        let balances = shop.balances(t, &ana);
        assert_eq!(
            (from_db(last_of_ana.0), from_db(last_of_ana.1), from_db(last_of_ana.2)),
            (balances.available.value(), balances.earned.value(), d("65")),
            "the last entry records the membership's balances"
        );

        // Upgrade: the database as it was before the migration, then the migration itself.
        let mut conn = t.store.database().conn().unwrap();
        let ours = MigrationSource::<Backend>::migrations(&MIGRATIONS)
            .unwrap()
            .into_iter()
            .find(|m| m.name().to_string().contains("ledger_running_balances"))
            .unwrap();
        conn.revert_migration(ours.as_ref()).unwrap();
        conn.run_migration(ours.as_ref()).unwrap();
        drop(conn);

        assert_eq!(recorded(t), posted, "the backfill gives every entry what posting gave it");
    }

    fn an_entry_whose_recorded_balance_was_changed_is_reported(t) {
        let (shop, ana) = busy_history(t);
        assert!(t.store.verify(None).unwrap().is_empty());
        let membership = shop.membership(t, &ana);
        t.tampered.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut conn = t.store.database().conn().unwrap();
        let first: String = e::table
            .filter(e::membership_id.eq(&membership))
            .order(e::id)
            .select(e::id)
            .first(&mut conn)
            .unwrap();
        let changed = diesel::update(e::table.find(&first))
            .set(e::held_after.eq(e::held_after + 10_000))
            .execute(&mut conn)
            .unwrap();
        assert_eq!(changed, 1);
        drop(conn);

        let found = t.store.verify(None).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].membership_id, membership);
        assert!(
            matches!(&found[0].problem, Discrepancy::Entries(p) if p.contains(&first) && p.contains("running sums")),
            "{}",
            found[0]
        );
    }
}
