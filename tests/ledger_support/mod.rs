//! Setup shared by the ledger end-to-end tests: programs, members and rewards are created
//! directly in the store (setup, not what is under test), then every flow goes through gRPC.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use loyalty_core::{CardNumber, Currency, Money, Points, ProgramRules, Reward, RewardKind};
use loyalty_grpc::pb;
use loyalty_grpc::pb::ledger_service_client::LedgerServiceClient;
use loyalty_grpc::pb::reward_service_client::RewardServiceClient;
use loyalty_store::NewMember;
use rust_decimal::Decimal;
use tonic::Code;
use tonic::transport::Channel;

use crate::common::{TestServer, authed};

/// A tenant with its keys and the clients to call it.
pub struct Shop {
    pub tenant: String,
    pub admin: String,
    pub service: String,
    pub ledger: LedgerServiceClient<Channel>,
    pub rewards: RewardServiceClient<Channel>,
}

impl Shop {
    /// A new tenant called `name` on `server`.
    pub async fn open(server: &TestServer, name: &str) -> Shop {
        let (tenant, admin, service) = crate::common::tenant(server, name).await;
        let channel = server.channel().await;
        Shop {
            tenant,
            admin,
            service,
            ledger: LedgerServiceClient::new(channel.clone()),
            rewards: RewardServiceClient::new(channel),
        }
    }

    /// A program with `rules`.
    pub fn program(&self, server: &TestServer, name: &str, rules: ProgramRules) -> String {
        server
            .store
            .create_program(&self.tenant, None, name, rules)
            .unwrap()
            .id
    }

    /// A member (optionally referred by `referrer`) who joined `programs`.
    pub fn member(
        &self,
        server: &TestServer,
        card: &str,
        referrer: Option<&str>,
        programs: &[&str],
    ) -> String {
        let (member, _) = server
            .store
            .enroll_member(
                &self.tenant,
                None,
                NewMember {
                    customer_id: format!("customer-{card}"),
                    card_number: CardNumber::new(card).unwrap(),
                    name: format!("Customer {card}"),
                    phone: None,
                    email: None,
                    referrer_id: referrer.map(str::to_owned),
                },
                &[],
            )
            .unwrap();
        for program in programs {
            server
                .store
                .join_program(&self.tenant, None, &member.id, program)
                .unwrap();
        }
        member.id
    }

    /// A member API key for `member`.
    pub async fn member_key(&self, server: &TestServer, member: &str) -> String {
        let mut operator =
            pb::operator_service_client::OperatorServiceClient::new(server.channel().await);
        let request = pb::IssueApiKeyRequest {
            idempotency_key: crate::common::fresh_key(),
            tenant_id: self.tenant.clone(),
            role: pb::Role::Member as i32,
            member_id: member.to_owned(),
            label: "member app".into(),
        };
        operator
            .issue_api_key(authed(&server.operator_key, request))
            .await
            .unwrap()
            .into_inner()
            .api_key
    }

    /// A reward in `program`'s catalog.
    pub fn reward(&self, server: &TestServer, program: &str, reward: Reward) -> String {
        server
            .store
            .create_reward(&self.tenant, None, program, reward)
            .unwrap()
            .id
    }

    /// The membership's balances, read from the store.
    pub fn balances(
        &self,
        server: &TestServer,
        member: &str,
        program: &str,
    ) -> loyalty_core::Balances {
        server
            .store
            .get_membership(&self.tenant, member, program)
            .unwrap()
            .balances
    }
}

/// A bill of `lines` (category, amount); an empty category is none.
pub fn bill(reference: &str, lines: &[(&str, &str)]) -> pb::Bill {
    pb::Bill {
        reference: reference.into(),
        currency: String::new(),
        lines: lines
            .iter()
            .map(|(category, amount)| pb::BillLine {
                category: (*category).into(),
                amount: (*amount).into(),
            })
            .collect(),
        at: String::new(),
    }
}

/// Whole points.
pub fn pts(n: u64) -> Points {
    Points::whole(n).unwrap()
}

/// An amount of money.
pub fn money(amount: &str, currency: Currency) -> Money {
    Money::parse(amount, currency).unwrap()
}

/// A decimal.
pub fn dec(value: &str) -> Decimal {
    value.parse().unwrap()
}

/// A coupon worth `value`, costing `cost` points, valid `days` days.
pub fn coupon(name: &str, value: Money, cost: u64, days: u32) -> Reward {
    Reward::new(name, RewardKind::Coupon { value }, pts(cost), Some(days)).unwrap()
}

/// A donation of `amount`, costing `cost` points.
pub fn donation(name: &str, amount: Money, cost: u64) -> Reward {
    Reward::new(name, RewardKind::Donation { amount }, pts(cost), None).unwrap()
}

/// The status code of a call that must fail.
pub fn code_of<T: std::fmt::Debug>(result: Result<tonic::Response<T>, tonic::Status>) -> Code {
    match result {
        Ok(response) => panic!("expected an error, got {:?}", response.into_inner()),
        Err(status) => status.code(),
    }
}

/// The status of a call that must fail.
pub fn status_of<T: std::fmt::Debug>(
    result: Result<tonic::Response<T>, tonic::Status>,
) -> tonic::Status {
    match result {
        Ok(response) => panic!("expected an error, got {:?}", response.into_inner()),
        Err(status) => status,
    }
}

/// The available points of a response's balances.
pub fn available(balances: &Option<pb::Balances>) -> &str {
    &balances.as_ref().expect("balances").available
}
