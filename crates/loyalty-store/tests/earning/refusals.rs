//! Earns that must be refused, and must change nothing.

use chrono::Duration;
use loyalty_core::{BillLine, EarnRate, ErrorKind, Money, Points};
use loyalty_store::StoreError;
use rust_decimal::Decimal;

use crate::on_both_backends;
use crate::support::*;

fn is_not_found(err: &StoreError, what: &str) -> bool {
    matches!(err, StoreError::NotFound { what: w, .. } if *w == what)
}

on_both_backends! {
    fn a_disabled_program_refuses_earning_and_nothing_changes(t) {
        let w = World::new(t, shop());
        let ana = w.member(&t.store, "CARD-1", None);
        t.store.earn(&w.tenant, w.bill("k1", &ana, "B-1", "500")).unwrap();
        t.store.set_program_enabled(&w.tenant, None, &w.program, false).unwrap();
        let before = snapshot(t, &w, &[&ana]);
        let err = t.store.earn(&w.tenant, w.bill("k2", &ana, "B-2", "500")).unwrap_err();
        assert!(matches!(&err, StoreError::FailedPrecondition(m) if m.contains("disabled")), "{err:?}");
        assert_eq!(snapshot(t, &w, &[&ana]), before);
        // The refusal is the answer recorded under the key: once the program is back, a retry
        // with the same key is refused the same way and changes nothing; a new key earns.
        t.store.set_program_enabled(&w.tenant, None, &w.program, true).unwrap();
        let again = t.store.earn(&w.tenant, w.bill("k2", &ana, "B-2", "500")).unwrap_err();
        assert!(matches!(&again, StoreError::Refused(r) if r.message == err.to_string()), "{again:?}");
        assert_eq!(snapshot(t, &w, &[&ana]), before);
        assert_eq!(t.store.earn(&w.tenant, w.bill("k3", &ana, "B-2", "500")).unwrap().points, pts("50"));
    }

    fn a_deactivated_member_cannot_earn(t) {
        let w = World::new(t, shop());
        let ana = w.member(&t.store, "CARD-1", None);
        t.store.deactivate_member(&w.tenant, None, &ana).unwrap();
        let before = snapshot(t, &w, &[&ana]);
        let err = t.store.earn(&w.tenant, w.bill("k1", &ana, "B-1", "500")).unwrap_err();
        assert!(matches!(&err, StoreError::FailedPrecondition(m) if m.contains("deactivated")), "{err:?}");
        assert_eq!(snapshot(t, &w, &[&ana]), before);
    }

    fn an_unknown_program_member_or_membership_is_not_found(t) {
        let w = World::new(t, shop());
        let ana = w.member(&t.store, "CARD-1", None);
        let mut request = w.bill("k1", &ana, "B-1", "500");
        request.program_id = uuid::Uuid::now_v7().to_string();
        let err = t.store.earn(&w.tenant, request).unwrap_err();
        assert!(is_not_found(&err, "program"), "{err:?}");
        let err = t.store.earn(&w.tenant, w.bill("k2", "no-such-member", "B-1", "500")).unwrap_err();
        assert!(is_not_found(&err, "member"), "{err:?}");
        let stranger = w.outsider(&t.store, "CARD-2", None);
        let err = t.store.earn(&w.tenant, w.bill("k3", &stranger, "B-1", "500")).unwrap_err();
        assert!(is_not_found(&err, "membership"), "{err:?}");
        assert_eq!(entry_count(t), 0);
    }

    fn another_tenants_member_and_program_are_not_found(t) {
        let w = World::new(t, shop());
        let ana = w.member(&t.store, "CARD-1", None);
        let other = World::new_named(t, "Pharmacy", shop());
        let err = t.store.earn(&other.tenant, w.bill("k1", &ana, "B-1", "500")).unwrap_err();
        assert!(is_not_found(&err, "program"), "{err:?}");
        let err = t.store.earn(&other.tenant, other.bill("k2", &ana, "B-1", "500")).unwrap_err();
        assert!(is_not_found(&err, "member"), "{err:?}");
        assert_eq!(entry_count(t), 0);
        assert!(w.membership(&t.store, &ana).balances.available.is_zero());
    }

    fn negative_and_overflowing_amounts_are_refused_and_nothing_changes(t) {
        // A negative line cannot even be written down.
        assert!(Money::new(Decimal::from(-5), inr()).is_err());

        let mut rich = shop();
        rich.base_rate = EarnRate::new(Points::whole(1000).unwrap(), Decimal::ONE).unwrap();
        let w = World::new(t, rich);
        let ana = w.member(&t.store, "CARD-1", None);
        let before = snapshot(t, &w, &[&ana]);
        let huge = || BillLine { category: None, amount: Money::parse("60000000000000", inr()).unwrap() };
        // Two lines whose total exceeds the largest amount.
        let err = t.store.earn(&w.tenant, w.bill_of("k1", &ana, "B-1", vec![huge(), huge()])).unwrap_err();
        assert!(matches!(&err, StoreError::Rule(e) if e.kind() == ErrorKind::InvalidInput), "{err:?}");
        // One line whose points exceed the largest amount.
        let err = t.store.earn(&w.tenant, w.bill_of("k2", &ana, "B-2", vec![huge()])).unwrap_err();
        assert!(matches!(&err, StoreError::Rule(e) if e.kind() == ErrorKind::InvalidInput), "{err:?}");
        // An empty bill.
        let err = t.store.earn(&w.tenant, w.bill_of("k3", &ana, "B-3", vec![])).unwrap_err();
        assert!(matches!(&err, StoreError::Rule(e) if e.kind() == ErrorKind::InvalidInput), "{err:?}");
        assert_eq!(snapshot(t, &w, &[&ana]), before);
    }

    fn a_bill_without_a_reference_or_from_the_future_is_refused(t) {
        let w = World::new(t, shop());
        let ana = w.member(&t.store, "CARD-1", None);
        let err = t.store.earn(&w.tenant, w.bill("k1", &ana, "  ", "500")).unwrap_err();
        assert!(matches!(err, StoreError::InvalidArgument(_)), "{err:?}");
        let mut later = w.bill("k2", &ana, "B-1", "500");
        later.at = Some(t.store.now() + Duration::hours(1));
        let err = t.store.earn(&w.tenant, later).unwrap_err();
        assert!(matches!(err, StoreError::InvalidArgument(_)), "{err:?}");
        assert_eq!(entry_count(t), 0);
    }
}
