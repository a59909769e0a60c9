//! How each kind of entry changes the balances, and what the invariant checker reports.

use chrono::Utc;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use uuid::Uuid;

use super::*;
use crate::hold::{Hold, HoldStatus};
use crate::lots::{Allocation, Lot};

fn p(n: u64) -> Points {
    Points::whole(n).unwrap()
}

fn delta(available: Decimal, pending: Decimal, held: Decimal, debt: Decimal) -> BucketDelta {
    BucketDelta {
        available,
        pending,
        held,
        debt,
    }
}

/// The shop member: 150 available, after earning 200, using 30 and 20 expiring.
fn shop_member() -> Balances {
    Balances {
        available: p(150),
        earned: p(200),
        redeemed: p(30),
        expired: p(20),
        ..Balances::ZERO
    }
}

#[test]
fn every_entry_kind_round_trips_through_its_storage_name() {
    for kind in EntryKind::ALL {
        assert_eq!(kind.as_str().parse::<EntryKind>().unwrap(), kind);
        assert_eq!(kind.to_string(), kind.as_str());
    }
    assert_eq!(EntryKind::ActionBonus.as_str(), "action_bonus");
}

#[test]
fn an_unknown_entry_kind_name_is_rejected() {
    assert!(matches!(
        "Earned".parse::<EntryKind>(),
        Err(Error::InvalidField { .. })
    ));
}

#[test]
fn earning_adds_to_available_and_to_lifetime_earned() {
    let after = shop_member()
        .apply(
            EntryKind::Earned,
            p(50),
            &delta(dec!(50), dec!(0), dec!(0), dec!(0)),
        )
        .unwrap();
    assert_eq!((after.available, after.earned), (p(200), p(250)));
}

#[test]
fn every_earning_kind_counts_as_earned_even_into_pending() {
    for kind in EntryKind::ALL.into_iter().filter(|k| k.is_earning()) {
        let after = Balances::ZERO
            .apply(kind, p(10), &delta(dec!(0), dec!(10), dec!(0), dec!(0)))
            .unwrap();
        assert_eq!((after.pending, after.earned), (p(10), p(10)), "{kind}");
    }
}

#[test]
fn a_credit_repays_debt_before_creating_a_lot() {
    let owing = Balances {
        debt: p(20),
        ..Balances::ZERO
    };
    let split = credit(&owing, EntryKind::Earned, p(50)).unwrap();
    assert_eq!((split.repay_debt, split.to_lot), (p(20), p(30)));
    let after = owing
        .apply(EntryKind::Earned, p(50), &split.delta(false))
        .unwrap();
    assert_eq!(
        (after.available, after.debt, after.earned),
        (p(30), p(0), p(50))
    );
}

#[test]
fn a_credit_smaller_than_the_debt_creates_no_lot() {
    let owing = Balances {
        debt: p(80),
        ..Balances::ZERO
    };
    let split = credit(&owing, EntryKind::Returned, p(30)).unwrap();
    assert_eq!((split.repay_debt, split.to_lot), (p(30), p(0)));
}

#[test]
fn a_debit_kind_is_not_a_credit() {
    for kind in [EntryKind::Redeemed, EntryKind::Released, EntryKind::Matured] {
        assert!(credit(&shop_member(), kind, p(1)).is_err(), "{kind}");
    }
}

#[test]
fn spending_more_than_available_is_insufficient_points() {
    let result = shop_member().apply(
        EntryKind::Redeemed,
        p(151),
        &delta(dec!(-151), dec!(0), dec!(0), dec!(0)),
    );
    assert_eq!(
        result,
        Err(Error::InsufficientPoints {
            requested: dec!(151),
            available: dec!(150)
        })
    );
}

#[test]
fn capturing_more_than_is_held_would_drive_held_negative_and_is_refused() {
    let result = shop_member().apply(
        EntryKind::Captured,
        p(1),
        &delta(dec!(0), dec!(0), dec!(-1), dec!(0)),
    );
    assert!(matches!(result, Err(Error::Negative { .. })));
}

#[test]
fn an_earning_entry_that_lowers_a_bucket_is_refused() {
    let result = shop_member().apply(
        EntryKind::Earned,
        p(10),
        &delta(dec!(20), dec!(-10), dec!(0), dec!(0)),
    );
    assert!(matches!(result, Err(Error::InvalidField { .. })));
}

#[test]
fn an_entry_whose_delta_does_not_add_up_to_its_points_is_refused() {
    let earned = shop_member().apply(
        EntryKind::Earned,
        p(50),
        &delta(dec!(40), dec!(0), dec!(0), dec!(0)),
    );
    assert!(earned.is_err());
    let reserved = shop_member().apply(
        EntryKind::Reserved,
        p(30),
        &delta(dec!(-20), dec!(0), dec!(20), dec!(0)),
    );
    assert!(reserved.is_err());
}

#[test]
fn a_capture_cannot_touch_the_available_bucket() {
    let held = Balances {
        held: p(30),
        ..shop_member()
    };
    let result = held.apply(
        EntryKind::Captured,
        p(30),
        &delta(dec!(-30), dec!(0), dec!(0), dec!(0)),
    );
    assert!(result.is_err());
}

#[test]
fn an_upward_adjustment_counts_as_earned_and_a_downward_one_as_reversed() {
    let up = shop_member()
        .apply(
            EntryKind::Adjusted,
            p(5),
            &delta(dec!(5), dec!(0), dec!(0), dec!(0)),
        )
        .unwrap();
    assert_eq!(
        (up.available, up.earned, up.reversed),
        (p(155), p(205), p(0))
    );
    let down = shop_member()
        .apply(
            EntryKind::Adjusted,
            p(5),
            &delta(dec!(-5), dec!(0), dec!(0), dec!(0)),
        )
        .unwrap();
    assert_eq!(
        (down.available, down.earned, down.reversed),
        (p(145), p(200), p(5))
    );
}

#[test]
fn reserving_moves_points_from_available_to_held_and_releasing_moves_them_back() {
    let held = shop_member()
        .apply(
            EntryKind::Reserved,
            p(30),
            &delta(dec!(-30), dec!(0), dec!(30), dec!(0)),
        )
        .unwrap();
    assert_eq!((held.available, held.held), (p(120), p(30)));
    assert_eq!(held.net(), shop_member().net());
    let back = held
        .apply(
            EntryKind::Released,
            p(30),
            &delta(dec!(30), dec!(0), dec!(-30), dec!(0)),
        )
        .unwrap();
    assert_eq!(back, shop_member());
}

#[test]
fn captured_and_redeemed_points_count_as_redeemed() {
    let held = Balances {
        held: p(30),
        ..shop_member()
    };
    let captured = held
        .apply(
            EntryKind::Captured,
            p(30),
            &delta(dec!(0), dec!(0), dec!(-30), dec!(0)),
        )
        .unwrap();
    assert_eq!((captured.held, captured.redeemed), (p(0), p(60)));
    let redeemed = shop_member()
        .apply(
            EntryKind::Redeemed,
            p(30),
            &delta(dec!(-30), dec!(0), dec!(0), dec!(0)),
        )
        .unwrap();
    assert_eq!((redeemed.available, redeemed.redeemed), (p(120), p(60)));
}

#[test]
fn returned_points_are_credited_and_subtracted_from_lifetime_redeemed() {
    let after = shop_member()
        .apply(
            EntryKind::Returned,
            p(30),
            &delta(dec!(30), dec!(0), dec!(0), dec!(0)),
        )
        .unwrap();
    assert_eq!(
        (after.available, after.redeemed, after.earned),
        (p(180), p(0), p(200))
    );
}

#[test]
fn returning_more_than_was_ever_redeemed_is_refused() {
    let result = shop_member().apply(
        EntryKind::Returned,
        p(31),
        &delta(dec!(31), dec!(0), dec!(0), dec!(0)),
    );
    assert!(matches!(result, Err(Error::Negative { .. })));
}

#[test]
fn expiry_takes_from_available_and_pending_and_counts_as_expired() {
    let member = Balances {
        pending: p(50),
        ..shop_member()
    };
    let after = member
        .apply(
            EntryKind::Expired,
            p(30),
            &delta(dec!(-20), dec!(-10), dec!(0), dec!(0)),
        )
        .unwrap();
    assert_eq!(
        (after.available, after.pending, after.expired),
        (p(130), p(40), p(50))
    );
}

#[test]
fn expiry_cannot_create_debt() {
    let result = shop_member().apply(
        EntryKind::Expired,
        p(20),
        &delta(dec!(-10), dec!(0), dec!(0), dec!(10)),
    );
    assert!(result.is_err());
}

#[test]
fn a_reversal_takes_points_and_may_raise_the_debt() {
    let after = shop_member()
        .apply(
            EntryKind::Reversed,
            p(200),
            &delta(dec!(-150), dec!(0), dec!(0), dec!(50)),
        )
        .unwrap();
    assert_eq!(
        (after.available, after.debt, after.reversed),
        (p(0), p(50), p(200))
    );
    assert_eq!(after.net(), dec!(-50));
}

#[test]
fn maturing_moves_pending_to_available_without_touching_lifetime_totals() {
    let member = Balances {
        pending: p(50),
        ..shop_member()
    };
    let after = member
        .apply(
            EntryKind::Matured,
            p(50),
            &delta(dec!(50), dec!(-50), dec!(0), dec!(0)),
        )
        .unwrap();
    assert_eq!(
        (after.available, after.pending, after.earned),
        (p(200), p(0), p(200))
    );
}

#[test]
fn net_is_available_plus_pending_plus_held_minus_debt() {
    let member = Balances {
        available: p(150),
        pending: p(50),
        held: p(30),
        debt: p(20),
        ..Balances::ZERO
    };
    assert_eq!(member.net(), dec!(210));
}

#[test]
fn consistent_balances_entries_and_lots_have_no_violations() {
    let lots = LotTotals {
        available: p(150),
        ..LotTotals::default()
    };
    assert!(check_invariants(&shop_member(), &shop_member(), &lots).is_empty());
}

#[test]
fn a_stored_balance_that_differs_from_its_entries_is_reported_with_both_numbers() {
    let lots = LotTotals {
        available: p(150),
        ..LotTotals::default()
    };
    let entries = Balances {
        expired: p(0),
        ..shop_member()
    };
    let found = check_invariants(&shop_member(), &entries, &lots);
    assert_eq!(
        found,
        vec![Violation {
            bucket: Bucket::Expired,
            source: Source::Entries,
            stored: p(20),
            computed: p(0),
        }]
    );
}

#[test]
fn held_points_without_an_active_hold_are_reported() {
    let stored = Balances {
        held: p(30),
        ..shop_member()
    };
    let lots = LotTotals {
        available: p(150),
        ..LotTotals::default()
    };
    let found = check_invariants(&stored, &stored, &lots);
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].bucket, found[0].source),
        (Bucket::Held, Source::Lots)
    );
    assert_eq!(found[0].to_string(), "held: stored 30, but the lots hold 0");
}

#[test]
fn lot_totals_count_lots_by_state_and_only_active_holds() {
    let lot = |id, points, pending| Lot {
        id: Uuid::from_u128(id),
        remaining: p(points),
        spendable_from: Utc::now(),
        expires_at: None,
        pending,
    };
    let hold = |status| Hold {
        points: p(30),
        status,
        expires_at: Utc::now(),
        allocations: vec![Allocation {
            lot_id: Uuid::from_u128(1),
            points: p(30),
        }],
    };
    let totals = LotTotals::of(
        &[lot(1, 120, false), lot(2, 50, true), lot(3, 30, false)],
        &[hold(HoldStatus::Active), hold(HoldStatus::Captured)],
    )
    .unwrap();
    assert_eq!(
        totals,
        LotTotals {
            available: p(150),
            pending: p(50),
            held_by_active_holds: p(30),
        }
    );
}

#[test]
fn an_absurdly_large_delta_is_refused_not_a_panic() {
    let huge = delta(Decimal::MAX, Decimal::MAX, dec!(0), Decimal::MIN);
    assert!(shop_member().apply(EntryKind::Earned, p(1), &huge).is_err());
    let moved = delta(Decimal::MIN, dec!(0), Decimal::MAX, dec!(0));
    assert!(
        shop_member()
            .apply(EntryKind::Reserved, p(1), &moved)
            .is_err()
    );
}

#[test]
fn an_imported_opening_balance_repays_debt_first_and_counts_as_earned() {
    let owing = Balances {
        debt: p(20),
        ..Balances::ZERO
    };
    let split = credit(&owing, EntryKind::Imported, p(150)).unwrap();
    assert_eq!((split.repay_debt, split.to_lot), (p(20), p(130)));
    let after = owing
        .apply(EntryKind::Imported, p(150), &split.delta(false))
        .unwrap();
    assert_eq!(
        (after.available, after.debt, after.earned),
        (p(130), p(0), p(150))
    );
    assert!(EntryKind::Imported.is_credit() && !EntryKind::Imported.is_earning());
}
