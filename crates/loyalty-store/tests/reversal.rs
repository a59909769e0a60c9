//! Cancelled and returned bills: points earned are taken back, points redeemed are given back,
//! the referrer's share is taken back too, proportionally to the amount returned.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod scenario;

use loyalty_core::ledger::EntryKind;
use loyalty_core::{ExpiryPolicy, ReturnPolicy};
use loyalty_store::StoreError;
use loyalty_store::ops::history::HistoryFilter;
use scenario::*;

fn shop(t: &common::TestStore, policy: ReturnPolicy) -> Shop {
    open_shop(t, "Cathay Shop", shop_rules(ExpiryPolicy::Never, policy))
}

fn exceeds_bill(err: &StoreError) -> bool {
    matches!(
        err,
        StoreError::Rule(loyalty_core::Error::ReversalExceedsBill { .. })
    )
}

on_both_backends! {
    fn a_cancelled_pharmacy_bill_reverses_the_members_and_the_referrers_points_and_gives_back_redeemed_points(t) {
        let pharmacy = open_shop(t, "Apollo Pharmacy", pharmacy_rules());
        let asha = pharmacy.member(t, "CARD-0001", None);
        let ravi = pharmacy.member(t, "CARD-0002", Some(&asha));
        pharmacy.adjust(t, &ravi, "100");
        // Checkout: 100 points (10.00) pay part of the bill, the rest earns.
        pharmacy.redeem(t, &ravi, "BILL-1", "1000", "100");
        pharmacy.earn_lines(t, &ravi, "BILL-1", vec![
            line(Some("Medicines"), "500"),
            line(Some("General"), "500"),
        ]);
        let bill = t.store.bill_summary(&pharmacy.tenant, "BILL-1").unwrap().remove(0);
        // 990.00 paid: 4.95 (Medicines 1 %) + 14.85 (General 3 %); the referrer 0.5 % = 4.95.
        assert_eq!((bill.earned, bill.referral, bill.redeemed), (pts("19.80"), pts("4.95"), pts("100")));
        let ravi_before = pharmacy.balances(t, &ravi);
        assert_eq!(ravi_before.available.value(), d("19.80"));
        assert_eq!(pharmacy.balances(t, &asha).available.value(), d("4.95"));

        let out = pharmacy.reverse(t, &ravi, "BILL-1", None);

        assert_eq!(out.redeemed_returned, pts("100"));
        assert_eq!((out.earned.planned, out.earned.from_lots), (pts("19.80"), pts("19.80")));
        let referral = out.referral.clone().unwrap();
        assert_eq!((referral.planned, referral.from_lots), (pts("4.95"), pts("4.95")));
        assert_eq!((out.returned, out.returned_total, out.bill_total), (money("1000"), money("1000"), money("1000")));
        let ravi_after = pharmacy.balances(t, &ravi);
        assert_eq!(ravi_after.available.value(), d("100"), "back to the points before the bill");
        assert_eq!(ravi_after.reversed.value(), d("19.80"));
        assert!(ravi_after.redeemed.is_zero(), "the redemption was given back");
        assert_eq!(ravi_after.earned, ravi_before.earned, "lifetime earned never shrinks");
        let asha_after = pharmacy.balances(t, &asha);
        assert!(asha_after.available.is_zero());
        assert_eq!(asha_after.reversed.value(), d("4.95"));
        let bill = t.store.bill_summary(&pharmacy.tenant, "BILL-1").unwrap().remove(0);
        assert_eq!(bill.returned, money("1000"));
        assert_eq!((bill.earned_reversed, bill.referral_reversed, bill.redeemed_returned), (pts("19.80"), pts("4.95"), pts("100")));
        let entries = t.store.history(&pharmacy.tenant, HistoryFilter {
            reference: Some("BILL-1".into()),
            kinds: vec![EntryKind::Reversed, EntryKind::Returned],
            ..HistoryFilter::default()
        }, None, 50).unwrap().items;
        assert_eq!(entries.len(), 3);
        let referral_entry = entries.iter().find(|e| e.member_id == asha).unwrap();
        assert_eq!(referral_entry.source_member_id.as_deref(), Some(ravi.as_str()));
        assert_eq!(referral_entry.reason.as_deref(), Some("returned at the till"));
        assert_ledger_sound(t);
    }

    fn a_partial_return_reverses_proportionally_and_a_second_return_finishing_the_bill_reverses_exactly_the_rest(t) {
        let shop = shop(t, ReturnPolicy::CapAtAvailable);
        let member = shop.member(t, "CARD-0001", None);
        shop.adjust(t, &member, "100");
        shop.earn(t, &member, "ORDER123", "333"); // 33 points
        shop.redeem(t, &member, "ORDER123", "333", "30");

        let first = shop.reverse(t, &member, "ORDER123", Some("100"));
        // 33 x 100/333 = 9.9 and 30 x 100/333 = 9.0: rounded down, never more than the share.
        assert_eq!((first.earned.planned, first.redeemed_returned), (pts("9"), pts("9")));
        assert_eq!((first.returned, first.returned_total), (money("100"), money("100")));

        let second = shop.reverse(t, &member, "ORDER123", Some("233"));
        assert_eq!((second.earned.planned, second.redeemed_returned), (pts("24"), pts("21")));
        assert_eq!(second.returned_total, money("333"));

        let b = shop.balances(t, &member);
        assert_eq!((b.available.value(), b.earned.value(), b.reversed.value()), (d("100"), d("133"), d("33")));
        assert!(b.redeemed.is_zero());
        let bill = t.store.bill_summary(&shop.tenant, "ORDER123").unwrap().remove(0);
        assert_eq!((bill.returned, bill.earned_reversed, bill.redeemed_returned), (money("333"), pts("33"), pts("30")));
        let err = shop.try_reverse(t, &member, "ORDER123", Some("1")).unwrap_err();
        assert!(exceeds_bill(&err), "{err:?}");
        assert_ledger_sound(t);
    }

    fn reversing_beyond_the_bill_is_refused_and_changes_nothing(t) {
        let shop = shop(t, ReturnPolicy::CapAtAvailable);
        let member = shop.member(t, "CARD-0001", None);
        let other = shop.member(t, "CARD-0002", None);
        shop.earn(t, &member, "ORDER1", "500");
        let before = snapshot(t);

        let err = shop.try_reverse(t, &member, "ORDER1", Some("600")).unwrap_err();
        assert!(exceeds_bill(&err), "{err:?}");
        assert!(err.to_string().contains("only 500 of 500 is left"), "{err}");
        let err = shop.try_reverse(t, &member, "ORDER1", Some("0")).unwrap_err();
        assert!(matches!(err, StoreError::Rule(loyalty_core::Error::NotPositive { .. })), "{err:?}");
        let err = shop.try_reverse(t, &member, "ORDER9", None).unwrap_err();
        assert!(matches!(err, StoreError::NotFound { what: "bill", .. }), "{err:?}");
        let err = shop.try_reverse(t, &other, "ORDER1", None).unwrap_err();
        assert!(matches!(err, StoreError::NotFound { what: "bill", .. }), "{err:?}");
        let after = snapshot(t);
        assert_eq!(after.ledger, before.ledger);
        // Only the refusal by the rules is recorded under its key; the malformed and the
        // not-found calls are not.
        assert_eq!(after.idempotency.len(), before.idempotency.len() + 1);

        shop.reverse(t, &member, "ORDER1", None);
        let cancelled = snapshot(t);
        let err = shop.try_reverse(t, &member, "ORDER1", None).unwrap_err();
        assert!(exceeds_bill(&err), "a cancelled bill cannot be cancelled again: {err:?}");
        let after = snapshot(t);
        assert_eq!(after.ledger, cancelled.ledger);
        assert_eq!(after.idempotency.len(), cancelled.idempotency.len() + 1);
        assert_ledger_sound(t);
    }

    fn a_repeated_reversal_with_the_same_key_changes_nothing_and_another_request_is_refused(t) {
        let shop = shop(t, ReturnPolicy::CapAtAvailable);
        let member = shop.member(t, "CARD-0001", None);
        shop.earn(t, &member, "ORDER1", "500");
        let request = shop.reverse_request(&member, "ORDER1", Some("250"));
        let first = t.store.reverse(&shop.tenant, request.clone()).unwrap();
        let after_first = snapshot(t);
        let same_amount = loyalty_store::ops::reverse::ReverseRequest { amount: Some(d("250.00")), ..request.clone() };
        assert_eq!(t.store.reverse(&shop.tenant, same_amount).unwrap(), first);
        assert_eq!(snapshot(t), after_first);
        let other = loyalty_store::ops::reverse::ReverseRequest { amount: Some(d("100")), ..request };
        let err = t.store.reverse(&shop.tenant, other).unwrap_err();
        assert!(matches!(err, StoreError::IdempotencyConflict { .. }), "{err:?}");
        assert_eq!(snapshot(t), after_first);
        assert_eq!(shop.balances(t, &member).available.value(), d("25"));
    }

    fn return_policy_cap_at_available_forgives_what_was_already_spent(t) {
        let shop = shop(t, ReturnPolicy::CapAtAvailable);
        let member = shop.member(t, "CARD-0001", None);
        shop.earn(t, &member, "ORDER1", "500"); // 50
        shop.redeem(t, &member, "ORDER2", "100", "40");

        let out = shop.reverse(t, &member, "ORDER1", None);

        assert_eq!((out.earned.from_lots, out.earned.forgiven, out.earned.to_debt), (pts("10"), pts("40"), pts("0")));
        let b = shop.balances(t, &member);
        assert!(b.available.is_zero() && b.debt.is_zero());
        assert_eq!(b.reversed.value(), d("10"));
        let bill = t.store.bill_summary(&shop.tenant, "ORDER1").unwrap().remove(0);
        assert_eq!(bill.earned_reversed, pts("50"), "forgiven points count as reversed for the bill");
        assert_ledger_sound(t);
    }

    fn under_cap_at_available_the_points_a_cancellation_gives_back_pay_for_the_points_it_takes_back(t) {
        let shop = shop(t, ReturnPolicy::CapAtAvailable);
        let member = shop.member(t, "CARD-0001", None);
        shop.adjust(t, &member, "40");
        shop.redeem(t, &member, "ORDER1", "500", "40"); // pays 10.00
        shop.earn(t, &member, "ORDER1", "500"); // 490 paid: 49 points
        shop.redeem(t, &member, "ORDER2", "200", "49");
        assert!(shop.balances(t, &member).available.is_zero());

        let out = shop.reverse(t, &member, "ORDER1", None);

        assert_eq!((out.redeemed_returned, out.earned.planned), (pts("40"), pts("49")));
        assert_eq!((out.earned.from_lots, out.earned.forgiven), (pts("40"), pts("9")));
        let b = shop.balances(t, &member);
        assert!(b.available.is_zero(), "the 40 given back went to pay the 49 taken back");
        assert_eq!(b.reversed.value(), d("40"));
        assert_ledger_sound(t);
    }

    fn return_policy_allow_debt_creates_debt_that_the_next_earn_repays(t) {
        let shop = shop(t, ReturnPolicy::AllowDebt);
        let member = shop.member(t, "CARD-0001", None);
        shop.earn(t, &member, "ORDER1", "500"); // 50
        shop.redeem(t, &member, "ORDER2", "100", "40");

        let out = shop.reverse(t, &member, "ORDER1", None);

        assert_eq!((out.earned.from_lots, out.earned.to_debt, out.earned.forgiven), (pts("10"), pts("40"), pts("0")));
        assert_eq!(out.balances.debt, pts("40"));
        let b = shop.balances(t, &member);
        assert_eq!((b.available.value(), b.debt.value(), b.reversed.value()), (d("0"), d("40"), d("50")));
        let err = shop.try_redeem(t, &member, "ORDER3", "100", "1").unwrap_err();
        assert!(matches!(err, StoreError::Rule(loyalty_core::Error::InsufficientPoints { .. })), "{err:?}");

        shop.earn(t, &member, "ORDER4", "1000"); // 100: 40 repay the debt
        let b = shop.balances(t, &member);
        assert_eq!((b.available.value(), b.debt.value(), b.earned.value()), (d("60"), d("0"), d("150")));
        assert_ledger_sound(t);
    }

    fn a_cancelled_bill_paid_with_captured_held_points_gives_them_back_and_leaves_other_holds_alone(t) {
        use loyalty_store::ops::holds::{CaptureRequest, ReserveRequest};
        let shop = shop(t, ReturnPolicy::CapAtAvailable);
        let member = shop.member(t, "CARD-0001", None);
        shop.adjust(t, &member, "100");
        let reserve = |reference: &str, points: &str| {
            t.store.reserve(&shop.tenant, ReserveRequest {
                idempotency_key: key(),
                member_id: member.clone(),
                program_id: shop.program.clone(),
                reference: reference.into(),
                lines: vec![line(None, "500")],
                at: None,
                points: pts(points),
                ttl_seconds: 600,
                actor: "web-shop".into(),
            }).unwrap()
        };
        let order1 = reserve("ORDER1", "60");
        t.store.capture(&shop.tenant, CaptureRequest {
            idempotency_key: key(),
            hold_id: order1.id.clone(),
            points: Some(pts("40")),
            actor: "payments".into(),
        }).unwrap();
        shop.earn(t, &member, "ORDER1", "500"); // 490 paid: 49 points
        reserve("ORDER2", "10");
        assert_ledger_sound(t);

        let out = shop.reverse(t, &member, "ORDER1", None);

        assert_eq!((out.redeemed_returned, out.earned.from_lots), (pts("40"), pts("49")));
        let b = shop.balances(t, &member);
        assert_eq!((b.available.value(), b.held.value()), (d("90"), d("10")), "the other order's hold stays");
        assert!(b.redeemed.is_zero());
        assert_ledger_sound(t);
    }

    fn a_bill_whose_points_are_still_pending_is_reversed_from_the_pending_balance(t) {
        let mut rules = shop_rules(ExpiryPolicy::Never, ReturnPolicy::CapAtAvailable);
        rules.pending_days = 14;
        let shop = open_shop(t, "Cathay Shop", rules);
        let member = shop.member(t, "CARD-0001", None);
        shop.adjust(t, &member, "100");
        shop.earn(t, &member, "ORDER1", "500");
        assert_eq!(shop.balances(t, &member).pending.value(), d("50"));

        let out = shop.reverse(t, &member, "ORDER1", Some("250"));

        assert_eq!(out.earned.from_lots, pts("25"));
        let b = shop.balances(t, &member);
        assert_eq!((b.available.value(), b.pending.value()), (d("100"), d("25")), "the available points stay");
        assert_ledger_sound(t);
    }

    fn a_bill_is_reversed_even_after_its_program_was_disabled_but_never_from_another_tenant(t) {
        let shop = shop(t, ReturnPolicy::CapAtAvailable);
        let member = shop.member(t, "CARD-0001", None);
        shop.earn(t, &member, "ORDER1", "500");
        let intruder = open_shop(t, "Other Shop", pharmacy_rules());
        let mut request = shop.reverse_request(&member, "ORDER1", None);
        let before = snapshot(t);
        let err = t.store.reverse(&intruder.tenant, request.clone()).unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
        assert_eq!(snapshot(t), before);

        t.store.set_program_enabled(&shop.tenant, None, &shop.program, false).unwrap();
        request.idempotency_key = key();
        t.store.reverse(&shop.tenant, request).unwrap();
        assert!(shop.balances(t, &member).available.is_zero());
        assert_ledger_sound(t);
    }
}
