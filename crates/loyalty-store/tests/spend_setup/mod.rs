//! Fixtures for the spending tests: a shop, a pharmacy and a program without limits, a member
//! with points, and request builders.
#![allow(dead_code)]

use loyalty_core::{
    Balances, BillLine, CardNumber, Category, CategoryDiscount, ConversionRate, Currency, EarnRate,
    IdempotencyKey, Money, PointPrecision, Points, ProgramRules, RedemptionRules, Rounding,
};
use loyalty_store::{
    AdjustRequest, CaptureRequest, NewMember, RedeemRequest, ReleaseRequest, ReserveRequest,
};
use rust_decimal::Decimal;

use crate::common::TestStore;

/// A tenant, one of its programs and a member of it.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub tenant: String,
    pub program: String,
    pub member: String,
}

pub fn inr() -> Currency {
    Currency::new("INR").unwrap()
}

pub fn pts(points: &str) -> Points {
    points.parse().unwrap()
}

pub fn dec(value: &str) -> Decimal {
    value.parse().unwrap()
}

pub fn money(amount: &str) -> Money {
    Money::parse(amount, inr()).unwrap()
}

pub fn key(key: &str) -> IdempotencyKey {
    IdempotencyKey::new(key).unwrap()
}

pub fn line(category: Option<&str>, amount: &str) -> BillLine {
    BillLine {
        category: category.map(|c| Category::new(c).unwrap()),
        amount: Money::parse(amount, inr()).unwrap(),
    }
}

/// A bill of one uncategorized line.
pub fn bill(amount: &str) -> Vec<BillLine> {
    vec![line(None, amount)]
}

/// The shop: 1 point per 10 spent; 1 point pays 1.00, at least 10 points, at most half a bill.
pub fn shop_rules() -> ProgramRules {
    let mut rules = ProgramRules::new(inr());
    rules.base_rate = EarnRate::new(pts("1"), Decimal::from(10)).unwrap();
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(pts("1"), Money::parse("1.00", inr()).unwrap()).unwrap(),
        min_points: pts("10"),
        max_bill_share: "50".parse().unwrap(),
        max_points_per_bill: None,
    });
    rules
}

/// The pharmacy: 2 point decimals; 100 points = 10.00, at least 100 points, at most 50 % of
/// the bill after 5 % off medicines.
pub fn pharmacy_rules() -> ProgramRules {
    let mut rules = ProgramRules::new(inr());
    rules.precision = PointPrecision::new(2, Rounding::Down).unwrap();
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(pts("100"), Money::parse("10.00", inr()).unwrap()).unwrap(),
        min_points: pts("100"),
        max_bill_share: "50".parse().unwrap(),
        max_points_per_bill: None,
    });
    rules.discounts.categories = vec![CategoryDiscount {
        category: Category::new("Medicines").unwrap(),
        percent: "5".parse().unwrap(),
    }];
    rules
}

/// A program whose only redemption limit is the balance: 1 point = 1.00, from 1 point, up to
/// the whole bill.
pub fn open_rules() -> ProgramRules {
    let mut rules = ProgramRules::new(inr());
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(pts("1"), Money::parse("1.00", inr()).unwrap()).unwrap(),
        min_points: pts("1"),
        max_bill_share: "100".parse().unwrap(),
        max_points_per_bill: None,
    });
    rules
}

/// A new tenant named `name` with one program of `rules` and one member in it.
pub fn open_checkout(t: &TestStore, name: &str, rules: ProgramRules) -> Checkout {
    let tenant = t.store.create_tenant(None, name).unwrap().id;
    let program = t
        .store
        .create_program(&tenant, None, "Points", rules)
        .unwrap()
        .id;
    let member = enroll(t, &tenant, &program, "C-1");
    Checkout {
        tenant,
        program,
        member,
    }
}

/// Enrolls another customer of the tenant and joins them to the program.
pub fn enroll(t: &TestStore, tenant: &str, program: &str, customer: &str) -> String {
    let (member, _) = t
        .store
        .enroll_member(
            tenant,
            None,
            NewMember {
                customer_id: customer.to_owned(),
                card_number: CardNumber::new(&format!("CARD-{customer}")).unwrap(),
                name: format!("Customer {customer}"),
                phone: None,
                email: None,
                referrer_id: None,
            },
            &[],
        )
        .unwrap();
    t.store
        .join_program(tenant, None, &member.id, program)
        .unwrap();
    member.id
}

/// Gives the member `points` by an admin adjustment.
pub fn give(t: &TestStore, c: &Checkout, points: &str) {
    t.store
        .adjust(
            &c.tenant,
            AdjustRequest {
                idempotency_key: key(&uuid::Uuid::new_v4().to_string()),
                member_id: c.member.clone(),
                program_id: c.program.clone(),
                points: dec(points),
                reason: "welcome gift".into(),
                actor: "admin".into(),
            },
        )
        .unwrap();
}

/// The member's balances now.
pub fn balances(t: &TestStore, c: &Checkout) -> Balances {
    t.store
        .get_membership(&c.tenant, &c.member, &c.program)
        .unwrap()
        .balances
}

pub fn redeem_req(
    c: &Checkout,
    k: &str,
    reference: &str,
    lines: Vec<BillLine>,
    points: &str,
) -> RedeemRequest {
    RedeemRequest {
        idempotency_key: key(k),
        member_id: c.member.clone(),
        program_id: c.program.clone(),
        reference: reference.into(),
        lines,
        at: None,
        points: pts(points),
        actor: "till-1".into(),
    }
}

pub fn reserve_req(
    c: &Checkout,
    k: &str,
    reference: &str,
    amount: &str,
    points: &str,
) -> ReserveRequest {
    ReserveRequest {
        idempotency_key: key(k),
        member_id: c.member.clone(),
        program_id: c.program.clone(),
        reference: reference.into(),
        lines: bill(amount),
        at: None,
        points: pts(points),
        ttl_seconds: 900,
        actor: "checkout".into(),
    }
}

pub fn capture_req(k: &str, hold_id: &str, points: Option<&str>) -> CaptureRequest {
    CaptureRequest {
        idempotency_key: key(k),
        hold_id: hold_id.into(),
        points: points.map(pts),
        actor: "payments".into(),
    }
}

pub fn release_req(k: &str, hold_id: &str) -> ReleaseRequest {
    ReleaseRequest {
        idempotency_key: key(k),
        hold_id: hold_id.into(),
        actor: "payments".into(),
    }
}

/// The membership's lots as (amount, remaining), oldest first, reread from the database.
pub fn lots(t: &TestStore, c: &Checkout) -> Vec<(Decimal, Decimal)> {
    use diesel::prelude::*;
    use loyalty_store::schema::point_lots::dsl as l;
    let membership = t
        .store
        .get_membership(&c.tenant, &c.member, &c.program)
        .unwrap();
    let mut conn = t.store.database().conn().unwrap();
    l::point_lots
        .filter(l::membership_id.eq(&membership.id))
        .order((l::created_at, l::id))
        .select((l::amount, l::remaining))
        .load::<(i64, i64)>(&mut *conn)
        .unwrap()
        .into_iter()
        .map(|(a, r)| {
            (
                loyalty_store::amounts::from_db(a),
                loyalty_store::amounts::from_db(r),
            )
        })
        .collect()
}

/// How many ledger entries of `kind` the membership has.
pub fn entries(t: &TestStore, c: &Checkout, kind: &str) -> i64 {
    use diesel::prelude::*;
    use loyalty_store::schema::ledger_entries::dsl as e;
    let membership = t
        .store
        .get_membership(&c.tenant, &c.member, &c.program)
        .unwrap();
    let mut conn = t.store.database().conn().unwrap();
    e::ledger_entries
        .filter(e::membership_id.eq(&membership.id))
        .filter(e::kind.eq(kind))
        .count()
        .get_result(&mut *conn)
        .unwrap()
}
