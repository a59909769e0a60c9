//! An operation interrupted midway, by an error, a panic or a failure injected into the
//! database, leaves nothing behind: balances, entries, lots, bills and idempotency keys are
//! exactly as before, and the same call can simply be made again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod scenario;

use std::panic::{AssertUnwindSafe, catch_unwind};

use chrono::Duration;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use loyalty_core::{ExpiryPolicy, ReturnPolicy};
use loyalty_store::db::write_tx;
use loyalty_store::models::ledger::EntryRow;
use loyalty_store::schema::{ledger_entries, memberships};
use loyalty_store::{DbConnection, StoreError};
use scenario::*;

fn shop(t: &common::TestStore) -> Shop {
    open_shop(
        t,
        "Cathay Shop",
        shop_rules(ExpiryPolicy::AfterMonths(12), ReturnPolicy::CapAtAvailable),
    )
}

/// Half of an earn, written by hand: a 50-point entry and the balance that goes with it.
fn half_an_earn(
    conn: &mut DbConnection,
    t: &common::TestStore,
    shop: &Shop,
    membership: &str,
    member: &str,
) -> Result<(), StoreError> {
    let now = loyalty_store::clock::to_db_time(t.store.now());
    diesel::insert_into(ledger_entries::table)
        .values(EntryRow {
            id: uuid::Uuid::now_v7().to_string(),
            tenant_id: shop.tenant.clone(),
            membership_id: membership.to_owned(),
            program_id: shop.program.clone(),
            member_id: member.to_owned(),
            kind: "earned".into(),
            points: 500_000,
            d_available: 500_000,
            d_pending: 0,
            d_held: 0,
            d_debt: 0,
            balance_after: 500_000,
            reference: Some("ORDER1".into()),
            hold_id: None,
            campaign_id: None,
            source_member_id: None,
            actor: "till-1".into(),
            reason: None,
            created_at: now,
            available_after: 500_000,
            pending_after: 0,
            held_after: 0,
            debt_after: 0,
            earned_after: 500_000,
            redeemed_after: 0,
            expired_after: 0,
            reversed_after: 0,
            referral_after: 0,
        })
        .execute(conn)?;
    diesel::update(memberships::table.find(membership))
        .set(memberships::available.eq(memberships::available + 500_000))
        .execute(conn)?;
    Ok(())
}

/// Makes the database refuse, with an error, any `reversed` entry posted for a referrer: the
/// last step of a reversal fails after every other step was written.
fn refuse_referral_reversals(t: &common::TestStore) {
    let sql = match t.kind {
        common::Kind::Sqlite => {
            "CREATE TRIGGER refuse_referral_reversal BEFORE INSERT ON ledger_entries \
             WHEN NEW.kind = 'reversed' AND NEW.source_member_id IS NOT NULL \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
        }
        common::Kind::Postgres => {
            "CREATE FUNCTION injected_failure() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$; \
             CREATE TRIGGER refuse_referral_reversal BEFORE INSERT ON ledger_entries FOR EACH ROW \
             WHEN (NEW.kind = 'reversed' AND NEW.source_member_id IS NOT NULL) \
             EXECUTE FUNCTION injected_failure();"
        }
    };
    t.store
        .database()
        .conn()
        .unwrap()
        .batch_execute(sql)
        .unwrap();
}

fn allow_referral_reversals(t: &common::TestStore) {
    let sql = match t.kind {
        common::Kind::Sqlite => "DROP TRIGGER refuse_referral_reversal;",
        common::Kind::Postgres => "DROP TRIGGER refuse_referral_reversal ON ledger_entries;",
    };
    t.store
        .database()
        .conn()
        .unwrap()
        .batch_execute(sql)
        .unwrap();
}

on_both_backends! {
    fn a_transaction_that_fails_after_writing_leaves_nothing_behind(t) {
        let shop = shop(t);
        let member = shop.member(t, "CARD-0001", None);
        let membership = shop.membership(t, &member);
        let before = snapshot(t);
        let mut conn = t.store.database().conn().unwrap();

        let result: Result<(), StoreError> = write_tx(&mut conn, |conn| {
            half_an_earn(conn, t, &shop, &membership, &member)?;
            Err(StoreError::FailedPrecondition("the till lost power".into()))
        });

        assert!(matches!(result, Err(StoreError::FailedPrecondition(_))));
        assert_eq!(snapshot(t), before);
        assert_ledger_sound(t);
    }

    fn a_transaction_that_panics_after_writing_leaves_nothing_behind_and_the_connection_still_works(t) {
        let shop = shop(t);
        let member = shop.member(t, "CARD-0001", None);
        let membership = shop.membership(t, &member);
        let before = snapshot(t);
        let mut conn = t.store.database().conn().unwrap();

        let outcome = catch_unwind(AssertUnwindSafe(|| {
            write_tx(&mut conn, |conn| -> Result<(), StoreError> {
                half_an_earn(conn, t, &shop, &membership, &member)?;
                panic!("the process died mid-earn");
            })
        }));

        assert!(outcome.is_err());
        assert_eq!(snapshot(t), before);
        // The half earn committed next is raw test data, not a whole ledger operation, so the
        // invariant checker must not judge the database afterwards.
        t.tampered.store(true, std::sync::atomic::Ordering::SeqCst);
        write_tx(&mut conn, |conn| half_an_earn(conn, t, &shop, &membership, &member)).unwrap();
        assert_eq!(shop.balances(t, &member).available.value(), d("50"), "a later commit on the same connection works");
    }

    fn a_reversal_whose_referrer_step_fails_changes_nothing_and_can_be_retried(t) {
        let shop = shop(t);
        let asha = shop.member(t, "CARD-0001", None);
        let ravi = shop.member(t, "CARD-0002", Some(&asha));
        shop.adjust(t, &ravi, "100");
        shop.redeem(t, &ravi, "ORDER1", "1000", "40");
        shop.earn(t, &ravi, "ORDER1", "1000");
        refuse_referral_reversals(t);
        let before = snapshot(t);
        let request = shop.reverse_request(&ravi, "ORDER1", None);

        let err = t.store.reverse(&shop.tenant, request.clone()).unwrap_err();

        assert!(err.to_string().contains("injected failure"), "{err}");
        assert_eq!(snapshot(t), before, "the returned points, the member's reversal and the bill are all undone");
        allow_referral_reversals(t);
        let out = t.store.reverse(&shop.tenant, request).unwrap();
        assert_eq!(out.redeemed_returned, pts("40"));
        assert!(out.referral.is_some());
        assert!(shop.balances(t, &asha).available.is_zero());
        assert_ledger_sound(t);
    }

    fn a_redemption_refused_after_the_lazy_expiry_ran_leaves_the_overdue_lot_untouched(t) {
        let shop = shop(t);
        let member = shop.member(t, "CARD-0001", None);
        shop.earn(t, &member, "ORDER1", "1000");
        t.clock.advance(Duration::days(400));
        let before = snapshot(t);

        // The redemption first expires the overdue 100 points, then finds nothing to spend.
        let err = shop.try_redeem(t, &member, "ORDER2", "100", "10").unwrap_err();

        assert!(matches!(err, StoreError::Rule(loyalty_core::Error::InsufficientPoints { .. })), "{err:?}");
        let after = snapshot(t);
        assert_eq!(after.ledger, before.ledger, "the expiry it wrote was rolled back with it");
        assert_eq!(after.idempotency.len(), before.idempotency.len() + 1, "only the refusal is recorded");
        assert_eq!(t.store.expire_due(None, 10).unwrap().points_expired, d("100"));
        assert_ledger_sound(t);
    }
}
