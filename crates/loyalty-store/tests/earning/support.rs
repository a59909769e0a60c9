//! Programs of the five designs, members, and the checks every earning test ends with.

use chrono::{TimeZone, Utc, Weekday};
use diesel::dsl::count_star;
use diesel::prelude::*;
use loyalty_core::{
    ActionRule, BillLine, CampaignEffect, CampaignSpec, CardNumber, Category, CategoryRule,
    Currency, EarnRate, IdempotencyKey, Money, PointPrecision, Points, ProgramRules, Rounding,
};
use loyalty_store::schema::ledger_entries;
use loyalty_store::{EarnRequest, Membership, NewMember, Store};
use rust_decimal::Decimal;

use crate::common::TestStore;

/// Points written as a decimal.
pub fn pts(s: &str) -> Points {
    s.parse().unwrap()
}

pub fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

pub fn inr() -> Currency {
    Currency::new("INR").unwrap()
}

pub fn usd() -> Currency {
    Currency::new("USD").unwrap()
}

/// The shop: 1 point per 10 spent, `feedback` = 10.
pub fn shop() -> ProgramRules {
    let mut rules = ProgramRules::new(inr());
    rules.base_rate = EarnRate::new(Points::whole(1).unwrap(), Decimal::from(10)).unwrap();
    rules.actions.push(ActionRule {
        action: "feedback".into(),
        points: Points::whole(10).unwrap(),
    });
    rules
}

/// The pharmacy: Medicines 1 %, General 3 %, 2 point decimals, the referrer earns 0.5 %.
pub fn pharmacy() -> ProgramRules {
    let mut rules = ProgramRules::new(inr());
    rules.precision = PointPrecision::new(2, Rounding::Down).unwrap();
    rules.categories = vec![
        CategoryRule {
            category: Category::new("Medicines").unwrap(),
            earn_percent: "1".parse().unwrap(),
        },
        CategoryRule {
            category: Category::new("General").unwrap(),
            earn_percent: "3".parse().unwrap(),
        },
    ];
    rules.referral_percent = "0.5".parse().unwrap();
    rules
}

/// A USD program earning `points` per $100.
pub fn per_hundred_dollars(points: u64) -> ProgramRules {
    let mut rules = ProgramRules::new(usd());
    rules.base_rate = EarnRate::new(Points::whole(points).unwrap(), Decimal::from(100)).unwrap();
    rules
}

/// "Double points weekends" through November and December 2026.
pub fn double_points_weekends(member_cap: u64, budget: u64) -> CampaignSpec {
    CampaignSpec {
        id: uuid::Uuid::nil(),
        name: "Double points weekends".into(),
        starts_at: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        ends_at: Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
        weekdays: vec![Weekday::Sat, Weekday::Sun],
        categories: vec![],
        min_bill: None,
        effect: CampaignEffect::Multiplier("2".parse().unwrap()),
        priority: 0,
        member_cap: Some(Points::whole(member_cap).unwrap()),
        budget: Some(Points::whole(budget).unwrap()),
        active: true,
    }
}

/// A tenant with one program.
pub struct World {
    pub tenant: String,
    pub program: String,
    pub currency: Currency,
}

impl World {
    pub fn new(t: &TestStore, rules: ProgramRules) -> World {
        World::new_named(t, "Cathay Shop", rules)
    }

    /// A tenant of this name with one program.
    pub fn new_named(t: &TestStore, name: &str, rules: ProgramRules) -> World {
        let tenant = t.store.create_tenant(None, name).unwrap().id;
        let currency = rules.currency;
        let program = t
            .store
            .create_program(&tenant, None, "Points", rules)
            .unwrap()
            .id;
        World {
            tenant,
            program,
            currency,
        }
    }

    /// Enrolls a member (optionally referred) and joins the program.
    pub fn member(&self, store: &Store, card: &str, referrer: Option<&str>) -> String {
        let id = self.outsider(store, card, referrer);
        store
            .join_program(&self.tenant, None, &id, &self.program)
            .unwrap();
        id
    }

    /// Enrolls a member who does not join the program.
    pub fn outsider(&self, store: &Store, card: &str, referrer: Option<&str>) -> String {
        let member = NewMember {
            customer_id: format!("customer-{card}"),
            card_number: CardNumber::new(card).unwrap(),
            name: format!("Member {card}"),
            phone: None,
            email: None,
            referrer_id: referrer.map(str::to_owned),
        };
        store
            .enroll_member(&self.tenant, None, member, &[])
            .unwrap()
            .0
            .id
    }

    pub fn membership(&self, store: &Store, member: &str) -> Membership {
        store
            .get_membership(&self.tenant, member, &self.program)
            .unwrap()
    }

    /// An earn request on this program with one uncategorised line.
    pub fn bill(&self, key: &str, member: &str, reference: &str, amount: &str) -> EarnRequest {
        self.bill_of(
            key,
            member,
            reference,
            vec![line(None, amount, self.currency)],
        )
    }

    pub fn bill_of(
        &self,
        key: &str,
        member: &str,
        reference: &str,
        lines: Vec<BillLine>,
    ) -> EarnRequest {
        EarnRequest {
            idempotency_key: IdempotencyKey::new(key).unwrap(),
            member_id: member.to_owned(),
            program_id: self.program.clone(),
            reference: reference.to_owned(),
            lines,
            at: None,
            actor: "billing".into(),
        }
    }
}

pub fn line(category: Option<&str>, amount: &str, currency: Currency) -> BillLine {
    BillLine {
        category: category.map(|c| Category::new(c).unwrap()),
        amount: Money::parse(amount, currency).unwrap(),
    }
}

/// Entries of the whole database.
pub fn entry_count(t: &TestStore) -> i64 {
    let mut conn = t.store.database().conn().unwrap();
    ledger_entries::table
        .select(count_star())
        .first(&mut *conn)
        .unwrap()
}

/// What a refused call must leave exactly as it was: every membership's balances and the
/// number of entries.
pub fn snapshot(t: &TestStore, world: &World, members: &[&str]) -> (Vec<Membership>, i64) {
    let memberships = members
        .iter()
        .map(|m| world.membership(&t.store, m))
        .collect();
    (memberships, entry_count(t))
}

/// The ledger invariant checker finds nothing wrong with the membership: its buckets equal
/// what its entries add up to and what its lots (and active holds) hold.
pub fn assert_consistent(t: &TestStore, membership: &Membership) {
    let violations = t.store.verify(None).unwrap();
    let mine: Vec<_> = violations
        .iter()
        .filter(|v| v.membership_id == membership.id)
        .collect();
    assert!(
        mine.is_empty(),
        "ledger violations of {}: {mine:?}",
        membership.id
    );
}
