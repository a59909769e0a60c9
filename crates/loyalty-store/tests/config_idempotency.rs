//! Idempotency keys on configuration and member calls: a retry with the same key and request
//! has one effect and answers with the same entity; another request under the key is refused
//! and changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::{TimeZone, Utc};
use loyalty_core::{
    CampaignEffect, CampaignSpec, CardNumber, Currency, EarnRate, IdempotencyKey, ProgramRules,
};
use loyalty_store::{MemberUpdate, NewMember, Role, StoreError};
use rust_decimal::Decimal;

fn shop_rules() -> ProgramRules {
    let mut rules = ProgramRules::new(Currency::new("INR").unwrap());
    rules.base_rate = EarnRate::new("1".parse().unwrap(), Decimal::from(10)).unwrap();
    rules
}

fn key(value: &str) -> IdempotencyKey {
    IdempotencyKey::new(value).unwrap()
}

fn member(customer: &str, card: &str) -> NewMember {
    NewMember {
        customer_id: customer.into(),
        card_number: CardNumber::new(card).unwrap(),
        name: "Sachin".into(),
        phone: None,
        email: None,
        referrer_id: None,
    }
}

fn weekend_double() -> CampaignSpec {
    CampaignSpec {
        id: uuid::Uuid::now_v7(),
        name: "Double points weekends".into(),
        starts_at: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        ends_at: Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
        weekdays: vec![chrono::Weekday::Sat, chrono::Weekday::Sun],
        categories: vec![],
        min_bill: None,
        effect: CampaignEffect::Multiplier("2".parse().unwrap()),
        priority: 0,
        member_cap: None,
        budget: None,
        active: true,
    }
}

fn is_conflict(err: &StoreError) -> bool {
    matches!(err, StoreError::IdempotencyConflict { .. })
}

on_both_backends! {
    fn a_retried_create_program_creates_one_program(t) {
        let tenant = t.store.create_tenant(None, "Cathay Shop").unwrap().id;
        let k = key("setup:program");
        let first = t.store.create_program(&tenant, Some(&k), "Shop points", shop_rules()).unwrap();
        let again = t.store.create_program(&tenant, Some(&k), "Shop points", shop_rules()).unwrap();
        assert_eq!(again.id, first.id);
        assert_eq!(t.store.list_programs(&tenant).unwrap().len(), 1);
    }

    fn without_a_key_every_call_runs_and_nothing_is_replayed(t) {
        let tenant = t.store.create_tenant(None, "Cathay Shop").unwrap().id;
        let shop = t.store.create_program(&tenant, None, "Shop points", shop_rules()).unwrap().id;
        let id = t.store.enroll_member(&tenant, None, member("C-1001", "CARD001"), &[]).unwrap().0.id;
        t.store.join_program(&tenant, None, &id, &shop).unwrap();
        let err = t.store.join_program(&tenant, None, &id, &shop).unwrap_err();
        assert!(matches!(err, StoreError::AlreadyExists(_)), "{err:?}");
    }

    fn a_replayed_configuration_write_answers_as_the_first_call_did_not_with_the_state_now(t) {
        let tenant = t.store.create_tenant(None, "Cathay Shop").unwrap().id;
        let k = key("setup:program");
        let program = t.store.create_program(&tenant, Some(&k), "Shop points", shop_rules()).unwrap();
        t.store.update_program(&tenant, None, &program.id, "Cathay points", shop_rules()).unwrap();
        t.store.set_program_enabled(&tenant, None, &program.id, false).unwrap();
        let again = t.store.create_program(&tenant, Some(&k), "Shop points", shop_rules()).unwrap();
        assert_eq!(again, program);
        let now = t.store.get_program(&tenant, &program.id).unwrap();
        assert_eq!((now.name.as_str(), now.enabled, now.version), ("Cathay points", false, 3));

        let k = key("campaign:weekends");
        let campaign = t.store.create_campaign(&tenant, Some(&k), &program.id, weekend_double()).unwrap();
        t.store.set_campaign_active(&tenant, None, &campaign.id, false).unwrap();
        assert_eq!(t.store.create_campaign(&tenant, Some(&k), &program.id, weekend_double()).unwrap(), campaign);
        assert!(!t.store.get_campaign(&tenant, &campaign.id).unwrap().campaign.active);

        let k = key("program:off");
        let off = t.store.set_program_enabled(&tenant, Some(&k), &program.id, false).unwrap();
        t.store.set_program_enabled(&tenant, None, &program.id, true).unwrap();
        assert_eq!(t.store.set_program_enabled(&tenant, Some(&k), &program.id, false).unwrap(), off);
        assert!(t.store.get_program(&tenant, &program.id).unwrap().enabled);
    }

    fn another_program_under_a_used_key_is_refused_and_creates_nothing(t) {
        let tenant = t.store.create_tenant(None, "Cathay Shop").unwrap().id;
        let k = key("setup:program");
        t.store.create_program(&tenant, Some(&k), "Shop points", shop_rules()).unwrap();
        let err = t.store.create_program(&tenant, Some(&k), "Wallet", shop_rules()).unwrap_err();
        assert!(is_conflict(&err), "{err:?}");
        let programs = t.store.list_programs(&tenant).unwrap();
        assert_eq!(programs.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["Shop points"]);
    }

    fn a_key_is_scoped_to_its_tenant(t) {
        let shop = t.store.create_tenant(None, "Cathay Shop").unwrap().id;
        let pharmacy = t.store.create_tenant(None, "Pharmacy").unwrap().id;
        let k = key("setup:program");
        let a = t.store.create_program(&shop, Some(&k), "Points", shop_rules()).unwrap();
        let b = t.store.create_program(&pharmacy, Some(&k), "Points", shop_rules()).unwrap();
        assert_ne!(a.id, b.id);
    }

    fn a_retried_enrollment_enrolls_once_with_its_memberships(t) {
        let tenant = t.store.create_tenant(None, "Cathay Shop").unwrap().id;
        let shop = t.store.create_program(&tenant, None, "Shop points", shop_rules()).unwrap().id;
        let wallet = t.store.create_program(&tenant, None, "Wallet", shop_rules()).unwrap().id;
        let programs = [shop.clone(), wallet.clone()];
        let k = key("C-1001:enroll");
        let (first, joined) =
            t.store.enroll_member(&tenant, Some(&k), member("C-1001", "CARD001"), &programs).unwrap();
        let (again, rejoined) =
            t.store.enroll_member(&tenant, Some(&k), member("C-1001", "CARD001"), &programs).unwrap();
        assert_eq!(again.id, first.id);
        assert_eq!(
            rejoined.iter().map(|m| &m.id).collect::<Vec<_>>(),
            joined.iter().map(|m| &m.id).collect::<Vec<_>>()
        );
        assert_eq!(t.store.list_members(&tenant, None, 100).unwrap().items.len(), 1);
        assert_eq!(t.store.list_memberships(&tenant, &first.id).unwrap().len(), 2);
    }

    fn another_enrollment_under_a_used_key_is_refused_and_enrolls_nobody(t) {
        let tenant = t.store.create_tenant(None, "Cathay Shop").unwrap().id;
        let shop = t.store.create_program(&tenant, None, "Shop points", shop_rules()).unwrap().id;
        let k = key("C-1001:enroll");
        let programs = [shop];
        t.store.enroll_member(&tenant, Some(&k), member("C-1001", "CARD001"), &programs).unwrap();
        let err = t
            .store
            .enroll_member(&tenant, Some(&k), member("C-1002", "CARD002"), &programs)
            .unwrap_err();
        assert!(is_conflict(&err), "{err:?}");
        let err = t.store.enroll_member(&tenant, Some(&k), member("C-1001", "CARD001"), &[]).unwrap_err();
        assert!(is_conflict(&err), "{err:?}");
        let members = t.store.list_members(&tenant, None, 100).unwrap().items;
        assert_eq!(members.iter().map(|m| m.customer_id.as_str()).collect::<Vec<_>>(), ["C-1001"]);
    }

    fn a_retried_update_applies_once_and_answers_with_the_member_as_it_was_then(t) {
        let tenant = t.store.create_tenant(None, "Cathay Shop").unwrap().id;
        let id = t.store.enroll_member(&tenant, None, member("C-1001", "CARD001"), &[]).unwrap().0.id;
        let rename = |name: &str| MemberUpdate { name: Some(name.into()), ..MemberUpdate::default() };
        let k = key("C-1001:rename-1");
        let first = t.store.update_member(&tenant, Some(&k), &id, rename("Asha")).unwrap();
        assert_eq!(first.name, "Asha");
        t.store.update_member(&tenant, Some(&key("C-1001:rename-2")), &id, rename("Bala")).unwrap();
        // The retry changes nothing (the later rename stands) and answers as the first call did.
        let again = t.store.update_member(&tenant, Some(&k), &id, rename("Asha")).unwrap();
        assert_eq!(again, first);
        assert_eq!(t.store.get_member(&tenant, &id).unwrap().name, "Bala");
    }

    fn another_update_under_a_used_key_is_refused_and_changes_nothing(t) {
        let tenant = t.store.create_tenant(None, "Cathay Shop").unwrap().id;
        let id = t.store.enroll_member(&tenant, None, member("C-1001", "CARD001"), &[]).unwrap().0.id;
        let rename = |name: &str| MemberUpdate { name: Some(name.into()), ..MemberUpdate::default() };
        let k = key("C-1001:rename");
        t.store.update_member(&tenant, Some(&k), &id, rename("Asha")).unwrap();
        let err = t.store.update_member(&tenant, Some(&k), &id, rename("Chitra")).unwrap_err();
        assert!(is_conflict(&err), "{err:?}");
        assert_eq!(t.store.get_member(&tenant, &id).unwrap().name, "Asha");
    }

    fn a_retried_create_campaign_creates_one_campaign(t) {
        let tenant = t.store.create_tenant(None, "Cathay Shop").unwrap().id;
        let program = t.store.create_program(&tenant, None, "Shop points", shop_rules()).unwrap().id;
        let k = key("campaign:weekends");
        let first = t.store.create_campaign(&tenant, Some(&k), &program, weekend_double()).unwrap();
        // The caller's spec id does not matter (the store chooses it), so a rebuilt spec matches.
        let again = t.store.create_campaign(&tenant, Some(&k), &program, weekend_double()).unwrap();
        assert_eq!(again.id, first.id);
        assert_eq!(t.store.list_campaigns(&tenant, &program).unwrap().len(), 1);
    }

    fn another_campaign_under_a_used_key_is_refused_and_creates_nothing(t) {
        let tenant = t.store.create_tenant(None, "Cathay Shop").unwrap().id;
        let program = t.store.create_program(&tenant, None, "Shop points", shop_rules()).unwrap().id;
        let k = key("campaign:weekends");
        t.store.create_campaign(&tenant, Some(&k), &program, weekend_double()).unwrap();
        let triple = CampaignSpec {
            effect: CampaignEffect::Multiplier("3".parse().unwrap()),
            ..weekend_double()
        };
        let err = t.store.create_campaign(&tenant, Some(&k), &program, triple).unwrap_err();
        assert!(is_conflict(&err), "{err:?}");
        let campaigns = t.store.list_campaigns(&tenant, &program).unwrap();
        assert_eq!(campaigns.len(), 1);
        assert_eq!(campaigns[0].campaign.effect, CampaignEffect::Multiplier("2".parse().unwrap()));
    }

    fn operator_keys_need_no_tenant_and_a_retried_tenant_is_created_once(t) {
        let k = key("onboard:cathay");
        let first = t.store.create_tenant(Some(&k), "Cathay Shop").unwrap();
        let again = t.store.create_tenant(Some(&k), "Cathay Shop").unwrap();
        assert_eq!(again.id, first.id);
        let err = t.store.create_tenant(Some(&k), "Pharmacy").unwrap_err();
        assert!(is_conflict(&err), "{err:?}");
        assert_eq!(t.store.list_tenants().unwrap().len(), 1);
    }

    fn a_retried_key_issue_issues_no_second_key_and_names_the_first(t) {
        let tenant = t.store.create_tenant(None, "Cathay Shop").unwrap().id;
        let k = key("keys:billing");
        let issued =
            t.store.issue_api_key(Some(&k), Some(&tenant), Role::Service, None, "billing").unwrap();
        let err = t
            .store
            .issue_api_key(Some(&k), Some(&tenant), Role::Service, None, "billing")
            .unwrap_err();
        match &err {
            StoreError::AlreadyExists(message) => assert!(message.contains(&issued.id), "{message}"),
            other => panic!("expected AlreadyExists, got {other:?}"),
        }
        let err = t.store.issue_api_key(Some(&k), Some(&tenant), Role::Admin, None, "billing").unwrap_err();
        assert!(is_conflict(&err), "{err:?}");
        // The first key still works; revoking it twice under one key is one revocation.
        assert!(t.store.authenticate(&issued.key).unwrap().is_some());
        let revoke = key("keys:billing:revoke");
        t.store.revoke_api_key(Some(&revoke), &issued.id).unwrap();
        t.store.revoke_api_key(Some(&revoke), &issued.id).unwrap();
        assert!(t.store.authenticate(&issued.key).unwrap().is_none());
    }
}
