//! Actions, admin adjustments, quotes and campaign administration.

use loyalty_core::{ConversionRate, ErrorKind, IdempotencyKey, Money, Points, RedemptionRules};
use loyalty_store::{ActionRequest, AdjustRequest, QuoteRequest, StoreError};
use rust_decimal::Decimal;

use crate::on_both_backends;
use crate::support::*;

fn action(w: &World, key: &str, member: &str, action: &str) -> ActionRequest {
    ActionRequest {
        idempotency_key: IdempotencyKey::new(key).unwrap(),
        member_id: member.to_owned(),
        program_id: w.program.clone(),
        action: action.into(),
        reference: Some("REVIEW-7".into()),
        actor: "app".into(),
    }
}

fn adjustment(w: &World, key: &str, member: &str, points: &str, reason: &str) -> AdjustRequest {
    AdjustRequest {
        idempotency_key: IdempotencyKey::new(key).unwrap(),
        member_id: member.to_owned(),
        program_id: w.program.clone(),
        points: d(points),
        reason: reason.into(),
        actor: "admin-1".into(),
    }
}

on_both_backends! {
    fn giving_feedback_earns_10_flat_points(t) {
        let w = World::new(t, shop());
        let ana = w.member(&t.store, "CARD-1", None);
        let out = t.store.award_action(&w.tenant, action(&w, "fb-1", &ana, "feedback")).unwrap();
        assert_eq!((out.points, out.balances.available), (pts("10"), pts("10")));
        assert!(out.entry_id.is_some());
        // Retried with the same key: one effect.
        let again = t.store.award_action(&w.tenant, action(&w, "fb-1", &ana, "feedback")).unwrap();
        assert_eq!(again, out);
        let m = w.membership(&t.store, &ana);
        assert_eq!(m.balances.available, Points::whole(10).unwrap());
        assert_consistent(t, &m);
    }

    fn an_unknown_action_is_refused_and_changes_nothing(t) {
        let w = World::new(t, shop());
        let ana = w.member(&t.store, "CARD-1", None);
        let before = snapshot(t, &w, &[&ana]);
        let err = t.store.award_action(&w.tenant, action(&w, "tw-1", &ana, "tweet")).unwrap_err();
        assert!(matches!(&err, StoreError::Rule(loyalty_core::Error::UnknownAction(a)) if a == "tweet"), "{err:?}");
        assert_eq!(snapshot(t, &w, &[&ana]), before);
    }

    fn an_admin_adjusts_points_up_and_down_with_a_reason(t) {
        let w = World::new(t, pharmacy());
        let ana = w.member(&t.store, "PH-1", None);
        let up = t.store.adjust(&w.tenant, adjustment(&w, "adj-1", &ana, "25.50", "goodwill for a late delivery")).unwrap();
        assert_eq!((up.points, up.balances.available, up.balances.earned), (d("25.5"), pts("25.5"), pts("25.5")));
        // The same request written with other trailing zeros is the same request.
        let again = t.store.adjust(&w.tenant, adjustment(&w, "adj-1", &ana, "25.5", "goodwill for a late delivery")).unwrap();
        assert_eq!(again, up);
        let down = t.store.adjust(&w.tenant, adjustment(&w, "adj-2", &ana, "-10.25", "points given twice")).unwrap();
        assert_eq!((down.points, down.balances.available, down.balances.reversed), (d("-10.25"), pts("15.25"), pts("10.25")));
        // Allowed on a disabled program: mistakes must stay correctable.
        t.store.set_program_enabled(&w.tenant, None, &w.program, false).unwrap();
        let fix = t.store.adjust(&w.tenant, adjustment(&w, "adj-3", &ana, "-0.25", "rounding fix")).unwrap();
        assert_eq!(fix.balances.available, pts("15"));
        let m = w.membership(&t.store, &ana);
        assert_eq!(m.balances.available, Points::whole(15).unwrap());
        assert_consistent(t, &m);
    }

    fn an_adjustment_below_zero_or_malformed_is_refused_and_changes_nothing(t) {
        let w = World::new(t, pharmacy());
        let ana = w.member(&t.store, "PH-1", None);
        t.store.adjust(&w.tenant, adjustment(&w, "adj-1", &ana, "20", "welcome")).unwrap();
        let before = snapshot(t, &w, &[&ana]);
        let err = t.store.adjust(&w.tenant, adjustment(&w, "adj-2", &ana, "-20.01", "too much")).unwrap_err();
        assert!(matches!(err, StoreError::Rule(loyalty_core::Error::InsufficientPoints { .. })), "{err:?}");
        let err = t.store.adjust(&w.tenant, adjustment(&w, "adj-3", &ana, "1.001", "too precise")).unwrap_err();
        assert!(matches!(&err, StoreError::Rule(e) if e.kind() == ErrorKind::InvalidInput), "{err:?}");
        let err = t.store.adjust(&w.tenant, adjustment(&w, "adj-4", &ana, "5", "   ")).unwrap_err();
        assert!(matches!(err, StoreError::InvalidArgument(_)), "{err:?}");
        let err = t.store.adjust(&w.tenant, adjustment(&w, "adj-5", &ana, "0", "nothing")).unwrap_err();
        assert!(matches!(err, StoreError::InvalidArgument(_)), "{err:?}");
        assert_eq!(snapshot(t, &w, &[&ana]), before);
    }

    fn a_quote_changes_nothing_and_agrees_with_the_earn(t) {
        let mut rules = shop();
        rules.redemption = Some(RedemptionRules {
            rate: ConversionRate::new(Points::whole(1).unwrap(), Money::parse("1.00", inr()).unwrap()).unwrap(),
            min_points: Points::whole(10).unwrap(),
            max_bill_share: "50".parse().unwrap(),
            max_points_per_bill: None,
        });
        let w = World::new(t, rules);
        let ana = w.member(&t.store, "CARD-1", None);
        t.store.create_campaign(&w.tenant, None, &w.program, double_points_weekends(1000, 10_000)).unwrap();
        t.store.earn(&w.tenant, w.bill("k1", &ana, "B-1", "1500")).unwrap();
        let before = snapshot(t, &w, &[&ana]);
        let request = QuoteRequest {
            member_id: ana.clone(),
            program_id: w.program.clone(),
            reference: Some("B-2".into()),
            lines: vec![line(None, "500", inr())],
            at: None,
            requested_points: Some(Points::whole(100).unwrap()),
        };
        let view = t.store.quote(&w.tenant, request.clone()).unwrap();
        assert_eq!(view.available, Points::whole(300).unwrap());
        assert_eq!(view.quote.to_pay.amount(), Decimal::from(400));
        assert_eq!(view.quote.earning.total, Points::whole(80).unwrap()); // 40 + 40 weekend bonus
        assert!(!view.already_earned);
        t.store.quote(&w.tenant, QuoteRequest { requested_points: None, ..request.clone() }).unwrap();
        assert_eq!(snapshot(t, &w, &[&ana]), before);
        let stored = t.store.list_campaigns(&w.tenant, &w.program).unwrap();
        assert_eq!(stored[0].awarded, Points::whole(150).unwrap());

        // The earn on the same bill (nothing redeemed on it) gives what a quote without
        // redemption promised.
        let unredeemed = QuoteRequest { requested_points: None, ..request };
        let promised = t.store.quote(&w.tenant, unredeemed.clone()).unwrap();
        let earned = t.store.earn(&w.tenant, w.bill("k2", &ana, "B-2", "500")).unwrap();
        assert_eq!(earned.points, promised.quote.earning.total);
        assert!(t.store.quote(&w.tenant, unredeemed).unwrap().already_earned);
    }

    fn campaigns_are_created_with_a_store_id_edited_switched_off_and_listed(t) {
        let w = World::new(t, shop());
        let spec = double_points_weekends(80, 150);
        let created = t.store.create_campaign(&w.tenant, None, &w.program, spec.clone()).unwrap();
        assert_ne!(created.campaign.id, uuid::Uuid::nil());
        assert_eq!(created.id, created.campaign.id.to_string());
        let mut wider = spec.clone();
        wider.member_cap = Some(Points::whole(200).unwrap());
        let updated = t.store.update_campaign(&w.tenant, None, &created.id, wider).unwrap();
        assert_eq!(updated.campaign.member_cap, Some(Points::whole(200).unwrap()));
        assert_eq!(updated.id, created.id);
        let off = t.store.set_campaign_active(&w.tenant, None, &created.id, false).unwrap();
        assert!(!off.campaign.active);
        let listed = t.store.list_campaigns(&w.tenant, &w.program).unwrap();
        assert_eq!(listed, vec![off]);
        // A switched-off campaign gives nothing.
        let ana = w.member(&t.store, "CARD-1", None);
        let out = t.store.earn(&w.tenant, w.bill("k1", &ana, "B-1", "500")).unwrap();
        assert!(out.campaign_bonuses.is_empty());
        // Invalid campaigns and other tenants' campaigns are refused.
        let backwards = loyalty_core::CampaignSpec { ends_at: spec.starts_at, ..spec };
        let err = t.store.create_campaign(&w.tenant, None, &w.program, backwards).unwrap_err();
        assert!(matches!(err, StoreError::Rule(loyalty_core::Error::InvalidConfig(_))), "{err:?}");
        let other = World::new_named(t, "Pharmacy", shop());
        let err = t.store.set_campaign_active(&other.tenant, None, &created.id, true).unwrap_err();
        assert!(matches!(err, StoreError::NotFound { what: "campaign", .. }), "{err:?}");
    }
}
