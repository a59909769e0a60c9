//! A tenant set up directly in a database, for the tests that run `loyalty serve` processes on
//! it (setup and inspection, not what is under test): a program that earns 1 point per 10 INR
//! and redeems 1 point for 1.00 INR, members who joined it, a key of each role, and what the
//! ledger holds afterwards. `loyalty verify` is run as the operator runs it.
// Each test binary uses some of it.
#![allow(dead_code)]

use std::process::Command;

use loyalty_core::{
    CardNumber, ConversionRate, Currency, EarnRate, Money, Percent, Points, ProgramRules,
    RedemptionRules,
};
use loyalty_store::{HistoryFilter, LedgerEntryView, NewMember, Role, Store};

/// A tenant with one program, its members and keys.
pub struct Seeded {
    /// The test's own view of the database.
    pub store: Store,
    pub tenant: String,
    pub program: String,
    /// Keys of each role: an operator, the tenant's admin and service, and one member key per
    /// member (in the order of `members`).
    pub operator: String,
    pub admin: String,
    pub service: String,
    pub member_keys: Vec<String>,
    pub members: Vec<String>,
}

/// 1 point per 10 INR; 1 point pays 1.00 INR, up to the whole bill.
pub fn rules() -> ProgramRules {
    let inr = Currency::new("INR").unwrap();
    let mut rules = ProgramRules::new(inr);
    rules.base_rate = EarnRate::new(Points::whole(1).unwrap(), "10".parse().unwrap()).unwrap();
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(
            Points::whole(1).unwrap(),
            Money::parse("1.00", inr).unwrap(),
        )
        .unwrap(),
        min_points: Points::whole(1).unwrap(),
        max_bill_share: Percent::HUNDRED,
        max_points_per_bill: None,
    });
    rules
}

impl Seeded {
    /// Migrates the database at `url` and creates a tenant called `name` with `members`
    /// members (no points yet).
    pub fn new(url: &str, name: &str, members: usize) -> Seeded {
        let store = Store::open(url, 2).unwrap();
        let operator = store
            .issue_api_key(None, None, Role::Operator, None, "fault suite")
            .unwrap()
            .key;
        let tenant = store.create_tenant(None, name).unwrap().id;
        let key = |role: Role, member: Option<&str>| {
            store
                .issue_api_key(None, Some(&tenant), role, member, "fault suite")
                .unwrap()
                .key
        };
        let admin = key(Role::Admin, None);
        let service = key(Role::Service, None);
        let program = store
            .create_program(&tenant, None, "Fault Rewards", rules())
            .unwrap()
            .id;
        let members: Vec<String> = (0..members)
            .map(|n| {
                let (member, _) = store
                    .enroll_member(
                        &tenant,
                        None,
                        NewMember {
                            customer_id: format!("customer-{n}"),
                            card_number: CardNumber::new(&format!("CARD-{n:04}")).unwrap(),
                            name: format!("Customer {n}"),
                            phone: None,
                            email: None,
                            referrer_id: None,
                        },
                        std::slice::from_ref(&program),
                    )
                    .unwrap();
                member.id
            })
            .collect();
        let member_keys = members.iter().map(|m| key(Role::Member, Some(m))).collect();
        Seeded {
            store,
            tenant,
            program,
            operator,
            admin,
            service,
            member_keys,
            members,
        }
    }

    /// A member's available points.
    pub fn available(&self, member: &str) -> Points {
        self.store
            .get_membership(&self.tenant, member, &self.program)
            .unwrap()
            .balances
            .available
    }

    /// Every ledger entry of the tenant matching `filter`, newest first.
    pub fn entries(&self, filter: HistoryFilter) -> Vec<LedgerEntryView> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .store
                .history(&self.tenant, filter.clone(), cursor.as_deref(), 500)
                .unwrap();
            out.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return out,
            }
        }
    }

    /// The entries of one bill or order reference.
    pub fn entries_of(&self, reference: &str) -> Vec<LedgerEntryView> {
        self.entries(HistoryFilter {
            reference: Some(reference.to_owned()),
            ..HistoryFilter::default()
        })
    }
}

/// Runs `loyalty verify` (the invariant checker) on `url` as an operator would, and returns
/// its output; fails the test unless it reports a consistent ledger.
pub fn verify(url: &str) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_loyalty"));
    for (var, _) in std::env::vars() {
        if var.starts_with("LOYALTY_") {
            command.env_remove(var);
        }
    }
    let out = command
        .args(["--database-url", url, "verify"])
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run loyalty verify");
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success() && stdout.contains("ledger consistent"),
        "`loyalty verify` found violations ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
