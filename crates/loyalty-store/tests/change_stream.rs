//! The ledger change stream's storage: a database upgraded to it streams the entries it held
//! before (the migration's backfill, in entry order) and then the new ones; a refused call
//! leaves no change behind; two tenants' streams are numbered apart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod scenario;

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel_migrations::MigrationHarness;
use loyalty_core::{ExpiryPolicy, ReturnPolicy};
use loyalty_store::db::MIGRATIONS;
use loyalty_store::schema::ledger_entries as e;
use loyalty_store::{Backend as Engine, Change, ChangeView, StoreError};
use scenario::*;

type Backend = <loyalty_store::DbConnection as Connection>::Backend;

/// Every change of the tenant, oldest first.
fn stream(t: &common::TestStore, tenant: &str) -> Vec<ChangeView> {
    let mut all: Vec<ChangeView> = Vec::new();
    loop {
        let after = all.last().map_or(0, |c| c.sequence);
        let batch = t.store.changes_after(tenant, after, 1000).unwrap();
        if batch.changes.is_empty() {
            assert_eq!(batch.head, after, "the head is the last change");
            return all;
        }
        all.extend(batch.changes);
    }
}

fn entry_ids(changes: &[ChangeView]) -> Vec<String> {
    changes
        .iter()
        .filter_map(|c| match &c.change {
            Change::Entry(e) => Some(e.id.clone()),
            _ => None,
        })
        .collect()
}

/// The tenant's entries in id (posting) order.
fn ledger(t: &common::TestStore, tenant: &str) -> Vec<String> {
    let mut conn = t.store.database().conn().unwrap();
    e::table
        .filter(e::tenant_id.eq(tenant))
        .order(e::id)
        .select(e::id)
        .load(&mut conn)
        .unwrap()
}

on_both_backends! {
    fn an_upgraded_database_streams_its_earlier_entries_then_the_new_ones(t) {
        let shop = open_shop(t, "Upgrade Shop", shop_rules(ExpiryPolicy::Never, ReturnPolicy::AllowDebt));
        let ana = shop.member(t, "CARD-0001", None);
        let ben = shop.member(t, "CARD-0002", Some(&ana));
        shop.earn(t, &ben, "B-1", "1000");
        shop.earn(t, &ana, "A-1", "500");
        shop.redeem(t, &ana, "A-2", "100", "40");
        shop.adjust(t, &ana, "-5");
        let before = ledger(t, &shop.tenant);
        assert!(before.len() >= 5, "{before:?}");

        // The database as it was before the stream existed (its triggers dropped first, as the
        // migration's down.sql says), then the migration again and a start's install.
        let mut conn = t.store.database().conn().unwrap();
        let drop_triggers = match t.store.backend() {
            Engine::Sqlite => [
                "entry", "hold_placed", "hold_status", "tier_joined", "tier",
                "redemption_made", "redemption_status",
            ]
            .map(|name| format!("DROP TRIGGER IF EXISTS ledger_changes_{name};"))
            .join("\n"),
            Engine::Postgres => ["entry", "hold", "tier", "redemption"]
                .map(|name| format!("DROP FUNCTION IF EXISTS loyalty_change_{name}() CASCADE;"))
                .join("\n")
                + "\nDROP SEQUENCE IF EXISTS ledger_changes_id_seq;",
        };
        conn.batch_execute(&drop_triggers).unwrap();
        let ours = MigrationSource::<Backend>::migrations(&MIGRATIONS)
            .unwrap()
            .into_iter()
            .find(|m| m.name().to_string().contains("ledger_changes"))
            .unwrap();
        conn.revert_migration(ours.as_ref()).unwrap();
        // Written while there was no stream: not in it.
        shop.earn(t, &ben, "B-2", "200");
        conn.run_migration(ours.as_ref()).unwrap();
        drop(conn);
        t.store.database().migrate().unwrap();

        let backfilled = stream(t, &shop.tenant);
        let mut expected = before.clone();
        expected.extend(ledger(t, &shop.tenant).into_iter().filter(|id| !before.contains(id)));
        expected.sort();
        assert_eq!(entry_ids(&backfilled), expected, "the backfill is every entry, in entry order");
        assert!(backfilled.iter().enumerate().all(|(n, c)| c.sequence == n as i64 + 1));

        // New writes continue the numbering.
        shop.earn(t, &ben, "B-3", "300");
        let now = stream(t, &shop.tenant);
        assert_eq!(now[..backfilled.len()], backfilled[..], "a sequence never changes");
        let new = &now[backfilled.len()..];
        assert_eq!(new.len(), 2, "B-3 earns, and Ana earns by referral: {new:#?}");
        assert_eq!(new[0].sequence, backfilled.len() as i64 + 1);
        assert_eq!(entry_ids(&now), ledger(t, &shop.tenant));
        assert_ledger_sound(t);
    }

    fn a_refused_call_leaves_no_change_and_tenants_are_numbered_apart(t) {
        let shop = open_shop(t, "Refusing Shop", shop_rules(ExpiryPolicy::Never, ReturnPolicy::AllowDebt));
        let other = open_shop(t, "Other Shop", shop_rules(ExpiryPolicy::Never, ReturnPolicy::AllowDebt));
        let ana = shop.member(t, "CARD-0001", None);
        let zed = other.member(t, "CARD-0001", None);
        shop.earn(t, &ana, "A-1", "100");
        other.earn(t, &zed, "Z-1", "100");
        let head = stream(t, &shop.tenant).len();
        assert!(shop.try_redeem(t, &ana, "A-2", "100", "5000").is_err(), "more than the balance");
        shop.earn(t, &ana, "A-3", "100");
        let changes = stream(t, &shop.tenant);
        assert_eq!(changes.len(), head + 1, "the refused redemption left nothing");
        assert_eq!(entry_ids(&changes), ledger(t, &shop.tenant));
        assert_eq!(entry_ids(&stream(t, &other.tenant)), ledger(t, &other.tenant));
        assert_eq!(stream(t, &other.tenant)[0].sequence, 1, "each tenant counts from 1");

        // Past the end, or negative: refused.
        let ahead = t.store.changes_after(&shop.tenant, changes.len() as i64 + 1, 10);
        assert!(matches!(ahead, Err(StoreError::FailedPrecondition(_))), "{ahead:?}");
        let negative = t.store.changes_after(&shop.tenant, -1, 10);
        assert!(matches!(negative, Err(StoreError::InvalidArgument(_))), "{negative:?}");
        assert_ledger_sound(t);
    }
}
