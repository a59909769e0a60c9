//! Tenants, keys and programs on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use loyalty_core::{ActionRule, Currency, EarnRate, Percent, ProgramRules};
use loyalty_store::{Role, StoreError};
use rust_decimal::Decimal;

fn shop_rules() -> ProgramRules {
    let mut rules = ProgramRules::new(Currency::new("INR").unwrap());
    rules.base_rate = EarnRate::new("1".parse().unwrap(), Decimal::from(10)).unwrap();
    rules.actions.push(ActionRule {
        action: "feedback".into(),
        points: "10".parse().unwrap(),
    });
    rules.referral_percent = Percent::new(Decimal::new(5, 1)).unwrap();
    rules
}

on_both_backends! {
    fn a_program_is_stored_with_exactly_its_rules(t) {
        let tenant = t.store.create_tenant(None, "Cathay Shop").unwrap();
        let created = t.store.create_program(&tenant.id, None, "Shop points", shop_rules()).unwrap();
        let read = t.store.get_program(&tenant.id, &created.id).unwrap();
        assert_eq!(read.rules, shop_rules().validate().unwrap());
        assert_eq!(read.name, "Shop points");
        assert!(read.enabled);
    }

    fn a_duplicate_program_name_is_refused(t) {
        let tenant = t.store.create_tenant(None, "Cathay Shop").unwrap();
        t.store.create_program(&tenant.id, None, "Shop points", shop_rules()).unwrap();
        let err = t.store.create_program(&tenant.id, None, "Shop points", shop_rules()).unwrap_err();
        assert!(matches!(err, StoreError::AlreadyExists(_)), "{err:?}");
    }

    fn another_tenant_cannot_read_a_program(t) {
        let shop = t.store.create_tenant(None, "Cathay Shop").unwrap();
        let pharmacy = t.store.create_tenant(None, "Pharmacy").unwrap();
        let program = t.store.create_program(&shop.id, None, "Shop points", shop_rules()).unwrap();
        let err = t.store.get_program(&pharmacy.id, &program.id).unwrap_err();
        assert!(matches!(err, StoreError::NotFound { what: "program", .. }), "{err:?}");
    }

    fn updating_rules_replaces_them_and_bumps_the_version(t) {
        let tenant = t.store.create_tenant(None, "Cathay Shop").unwrap();
        let program = t.store.create_program(&tenant.id, None, "Shop points", shop_rules()).unwrap();
        let mut rules = shop_rules();
        rules.actions.clear();
        let updated = t.store.update_program(&tenant.id, None, &program.id, "Shop points", rules.clone()).unwrap();
        assert_eq!(updated.rules, rules.validate().unwrap());
        assert_eq!(updated.version, program.version + 1);
    }

    fn a_disabled_program_reads_as_disabled(t) {
        let tenant = t.store.create_tenant(None, "Cathay Shop").unwrap();
        let program = t.store.create_program(&tenant.id, None, "Shop points", shop_rules()).unwrap();
        let off = t.store.set_program_enabled(&tenant.id, None, &program.id, false).unwrap();
        assert!(!off.enabled);
    }

    fn an_issued_key_authenticates_and_a_revoked_one_does_not(t) {
        let tenant = t.store.create_tenant(None, "Cathay Shop").unwrap();
        let key = t.store.issue_api_key(None, Some(&tenant.id), Role::Service, None, "billing").unwrap();
        let who = t.store.authenticate(&key.key).unwrap().unwrap();
        assert_eq!((who.role, who.tenant_id.as_deref()), (Role::Service, Some(tenant.id.as_str())));
        assert!(t.store.authenticate("lk_not-a-key").unwrap().is_none());
        t.store.revoke_api_key(None, &key.id).unwrap();
        assert!(t.store.authenticate(&key.key).unwrap().is_none());
    }

    fn an_operator_key_cannot_belong_to_a_tenant(t) {
        let tenant = t.store.create_tenant(None, "Cathay Shop").unwrap();
        let err = t.store.issue_api_key(None, Some(&tenant.id), Role::Operator, None, "ops").unwrap_err();
        assert!(matches!(err, StoreError::InvalidArgument(_)), "{err:?}");
    }
}
