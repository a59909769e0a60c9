//! Shared scenario steps for the ledger tests: programs like the design documents' (a shop, a
//! pharmacy), members with a referrer, the calls that move points, and a snapshot of every
//! ledger table to prove that a refused call changed nothing.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU64, Ordering};

use diesel::prelude::*;
use loyalty_core::{
    Balances, BillLine, CardNumber, Category, ConversionRate, Currency, EarnRate, ExpiryPolicy,
    IdempotencyKey, Money, Percent, PointPrecision, Points, ProgramRules, RedemptionRules,
    ReturnPolicy, Rounding,
};
use loyalty_store::ops::redeem::RedeemRequest;
use loyalty_store::ops::reverse::{ReverseOutcome, ReverseRequest};
use loyalty_store::{AdjustRequest, EarnRequest, NewMember, StoreResult};
use rust_decimal::Decimal;

use crate::common::TestStore;

pub fn inr() -> Currency {
    Currency::new("INR").unwrap()
}

pub fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

pub fn pts(text: &str) -> Points {
    Points::new(d(text)).unwrap()
}

pub fn money(text: &str) -> Money {
    Money::parse(text, inr()).unwrap()
}

/// A fresh idempotency key.
pub fn key() -> IdempotencyKey {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    IdempotencyKey::new(&format!("key-{}", NEXT.fetch_add(1, Ordering::Relaxed))).unwrap()
}

/// The shop: 1 point per 10 spent, 5 % referral, 1 point pays 0.25, expiry and return policy
/// as given.
pub fn shop_rules(expiry: ExpiryPolicy, policy: ReturnPolicy) -> ProgramRules {
    let mut rules = ProgramRules::new(inr());
    rules.base_rate = EarnRate::new(Points::whole(1).unwrap(), Decimal::from(10)).unwrap();
    rules.referral_percent = Percent::new(Decimal::from(5)).unwrap();
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(Points::whole(4).unwrap(), money("1")).unwrap(),
        min_points: Points::whole(1).unwrap(),
        max_bill_share: Percent::new(Decimal::from(100)).unwrap(),
        max_points_per_bill: None,
    });
    rules.expiry = expiry;
    rules.return_policy = policy;
    rules
}

/// The pharmacy: points with 2 decimals, Medicines earn 1 %, General 3 %, the referrer 0.5 %;
/// 100 points pay 10.00.
pub fn pharmacy_rules() -> ProgramRules {
    let mut rules = ProgramRules::new(inr());
    rules.precision = PointPrecision::new(2, Rounding::Down).unwrap();
    rules.categories = vec![
        loyalty_core::CategoryRule {
            category: Category::new("Medicines").unwrap(),
            earn_percent: Percent::new(Decimal::ONE).unwrap(),
        },
        loyalty_core::CategoryRule {
            category: Category::new("General").unwrap(),
            earn_percent: Percent::new(Decimal::from(3)).unwrap(),
        },
    ];
    rules.referral_percent = Percent::new(d("0.5")).unwrap();
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(Points::whole(100).unwrap(), money("10")).unwrap(),
        min_points: Points::whole(1).unwrap(),
        max_bill_share: Percent::new(Decimal::from(50)).unwrap(),
        max_points_per_bill: None,
    });
    rules
}

/// A tenant with one program.
pub struct Shop {
    pub tenant: String,
    pub program: String,
}

pub fn open_shop(t: &TestStore, name: &str, rules: ProgramRules) -> Shop {
    let tenant = t.store.create_tenant(None, name).unwrap();
    let program = t
        .store
        .create_program(&tenant.id, None, "Points", rules)
        .unwrap();
    Shop {
        tenant: tenant.id,
        program: program.id,
    }
}

impl Shop {
    /// Enrolls a member (optionally referred) and joins the program; returns the member id.
    pub fn member(&self, t: &TestStore, card: &str, referrer: Option<&str>) -> String {
        let (member, _) = t
            .store
            .enroll_member(
                &self.tenant,
                None,
                NewMember {
                    customer_id: format!("customer-{card}"),
                    card_number: CardNumber::new(card).unwrap(),
                    name: format!("Member {card}"),
                    phone: None,
                    email: None,
                    referrer_id: referrer.map(str::to_owned),
                },
                &[],
            )
            .unwrap();
        t.store
            .join_program(&self.tenant, None, &member.id, &self.program)
            .unwrap();
        member.id
    }

    pub fn membership(&self, t: &TestStore, member: &str) -> String {
        t.store
            .get_membership(&self.tenant, member, &self.program)
            .unwrap()
            .id
    }

    pub fn balances(&self, t: &TestStore, member: &str) -> Balances {
        t.store
            .get_membership(&self.tenant, member, &self.program)
            .unwrap()
            .balances
    }

    /// Earns on a bill of uncategorised `amount`.
    pub fn earn(&self, t: &TestStore, member: &str, reference: &str, amount: &str) {
        self.earn_lines(t, member, reference, vec![line(None, amount)]);
    }

    pub fn earn_lines(&self, t: &TestStore, member: &str, reference: &str, lines: Vec<BillLine>) {
        t.store
            .earn(
                &self.tenant,
                EarnRequest {
                    idempotency_key: key(),
                    member_id: member.to_owned(),
                    program_id: self.program.clone(),
                    reference: reference.to_owned(),
                    lines,
                    at: None,
                    actor: "till-1".into(),
                },
            )
            .unwrap();
    }

    /// Redeems `points` on a bill of uncategorised `amount`.
    pub fn try_redeem(
        &self,
        t: &TestStore,
        member: &str,
        reference: &str,
        amount: &str,
        points: &str,
    ) -> StoreResult<()> {
        t.store
            .redeem(
                &self.tenant,
                RedeemRequest {
                    idempotency_key: key(),
                    member_id: member.to_owned(),
                    program_id: self.program.clone(),
                    reference: reference.to_owned(),
                    lines: vec![line(None, amount)],
                    at: None,
                    points: pts(points),
                    actor: "till-1".into(),
                },
            )
            .map(|_| ())
    }

    pub fn redeem(&self, t: &TestStore, member: &str, reference: &str, amount: &str, points: &str) {
        self.try_redeem(t, member, reference, amount, points)
            .unwrap();
    }

    /// An admin adjustment of `points` (negative: down).
    pub fn adjust(&self, t: &TestStore, member: &str, points: &str) {
        t.store
            .adjust(
                &self.tenant,
                AdjustRequest {
                    idempotency_key: key(),
                    member_id: member.to_owned(),
                    program_id: self.program.clone(),
                    points: d(points),
                    reason: "goodwill".into(),
                    actor: "admin-1".into(),
                },
            )
            .unwrap();
    }

    pub fn reverse_request(
        &self,
        member: &str,
        reference: &str,
        amount: Option<&str>,
    ) -> ReverseRequest {
        ReverseRequest {
            idempotency_key: key(),
            member_id: member.to_owned(),
            program_id: self.program.clone(),
            reference: reference.to_owned(),
            amount: amount.map(d),
            reason: Some("returned at the till".into()),
            actor: "till-1".into(),
        }
    }

    pub fn try_reverse(
        &self,
        t: &TestStore,
        member: &str,
        reference: &str,
        amount: Option<&str>,
    ) -> StoreResult<ReverseOutcome> {
        t.store.reverse(
            &self.tenant,
            self.reverse_request(member, reference, amount),
        )
    }

    pub fn reverse(
        &self,
        t: &TestStore,
        member: &str,
        reference: &str,
        amount: Option<&str>,
    ) -> ReverseOutcome {
        self.try_reverse(t, member, reference, amount).unwrap()
    }
}

pub fn line(category: Option<&str>, amount: &str) -> BillLine {
    BillLine {
        category: category.map(|c| Category::new(c).unwrap()),
        amount: money(amount),
    }
}

/// The invariant checker finds nothing wrong anywhere.
pub fn assert_ledger_sound(t: &TestStore) {
    let found = t.store.verify(None).unwrap();
    assert!(found.is_empty(), "ledger violations: {found:#?}");
}

/// Every row of every table a point-changing call writes, to compare before and after: the
/// ledger's rows, and the idempotency records apart (a call the rules refuse changes nothing
/// in the ledger but records its refusal under its key).
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub ledger: Vec<String>,
    pub idempotency: Vec<String>,
}

pub fn snapshot(t: &TestStore) -> Snapshot {
    use loyalty_store::models::ledger::{AllocationRow, BillRow, EntryRow, HoldRow, LotRow};
    use loyalty_store::models::member::MembershipRow;
    use loyalty_store::models::tenant::IdempotencyRow;
    use loyalty_store::schema::*;
    let mut conn = t.store.database().conn().unwrap();
    let conn = &mut *conn;
    let mut rows = Vec::new();
    macro_rules! dump {
        ($table:ident, $row:ty, $order:expr) => {
            let loaded: Vec<$row> = $table::table
                .order($order)
                .select(<$row>::as_select())
                .load(conn)
                .unwrap();
            rows.extend(loaded.iter().map(|r| format!("{r:?}")));
        };
    }
    dump!(memberships, MembershipRow, memberships::id);
    dump!(ledger_entries, EntryRow, ledger_entries::id);
    dump!(point_lots, LotRow, point_lots::id);
    dump!(lot_allocations, AllocationRow, lot_allocations::id);
    dump!(holds, HoldRow, holds::id);
    dump!(bills, BillRow, bills::id);
    let ledger = std::mem::take(&mut rows);
    dump!(
        idempotency_records,
        IdempotencyRow,
        idempotency_records::key
    );
    Snapshot {
        ledger,
        idempotency: rows,
    }
}
