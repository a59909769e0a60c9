//! Programs, campaigns, rewards and members over the real socket, with the generated clients:
//! what an admin configures, what a billing service enrolls and looks up, and who may do which.
//!
//! Layout (one concern per file under `programs_and_members/`):
//! - `configuration`: programs and their rules, campaigns, the rewards catalog.
//! - `membership`: enrolment, cards and customer ids, referrers, memberships, paging.
//! - `access`: roles, credentials (API keys and JWTs) and tenant isolation.
//! - `validation`: malformed input is refused and changes nothing.
// The bodies run outside `#[test]` functions (`on_both_backends!` calls them), so the test
// allowances of clippy.toml do not reach them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[path = "programs_and_members/access.rs"]
mod access;
#[path = "programs_and_members/configuration.rs"]
mod configuration;
#[path = "programs_and_members/membership.rs"]
mod membership;
#[path = "programs_and_members/validation.rs"]
mod validation;

use common::{TestServer, authed};
use loyalty_grpc::pb;
use pb::lookup_member_request::Key;
use pb::member_service_client::MemberServiceClient;
use pb::program_service_client::ProgramServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Status};

async fn program_client(server: &TestServer) -> ProgramServiceClient<Channel> {
    ProgramServiceClient::new(server.channel().await)
}

async fn member_client(server: &TestServer) -> MemberServiceClient<Channel> {
    MemberServiceClient::new(server.channel().await)
}

/// The code of a call that must fail.
fn code<T: std::fmt::Debug>(result: Result<T, Status>) -> Code {
    result.expect_err("the call should have failed").code()
}

/// The pharmacy design: Medicines 1%, General 3%, two point decimals, 100 points = 10.00,
/// at most 50% of a bill, at least 100 points, referrers earn 0.5%.
fn pharmacy_rules() -> pb::ProgramRules {
    let category = |name: &str, percent: &str| pb::CategoryRule {
        category: name.into(),
        earn_percent: percent.into(),
    };
    pb::ProgramRules {
        currency: "INR".into(),
        point_decimals: 2,
        categories: vec![category("Medicines", "1"), category("General", "3")],
        referral_percent: "0.5".into(),
        redemption: Some(pb::RedemptionRules {
            rate_points: "100".into(),
            rate_value: "10.00".into(),
            min_points: "100".into(),
            max_bill_share_percent: "50".into(),
            max_points_per_bill: String::new(),
        }),
        ..Default::default()
    }
}

/// Points per unit of spend in `currency` ("$100 = 5 tokens": `base("USD", "5", "100")`).
fn base(currency: &str, points: &str, per: &str) -> pb::ProgramRules {
    pb::ProgramRules {
        currency: currency.into(),
        base_points: points.into(),
        base_per: per.into(),
        ..Default::default()
    }
}

fn new_program(name: &str, rules: pb::ProgramRules) -> pb::CreateProgramRequest {
    pb::CreateProgramRequest {
        idempotency_key: common::fresh_key(),
        name: name.into(),
        rules: Some(rules),
    }
}

async fn create_program(
    server: &TestServer,
    key: &str,
    name: &str,
    rules: pb::ProgramRules,
) -> pb::Program {
    let request = authed(key, new_program(name, rules));
    let response = program_client(server).await.create_program(request).await;
    response.unwrap().into_inner().program.unwrap()
}

async fn get_program(server: &TestServer, key: &str, id: &str) -> Result<pb::Program, Status> {
    let request = authed(
        key,
        pb::GetProgramRequest {
            program_id: id.into(),
        },
    );
    let response = program_client(server).await.get_program(request).await?;
    Ok(response.into_inner().program.unwrap())
}

async fn list_programs(server: &TestServer, key: &str) -> Vec<pb::Program> {
    let request = authed(key, pb::ListProgramsRequest {});
    let response = program_client(server).await.list_programs(request).await;
    response.unwrap().into_inner().programs
}

/// Category and action rules form sets (each category or action has one rule), so their order
/// on the wire means nothing; tiers keep theirs.
fn in_rule_order(mut program: pb::Program) -> pb::Program {
    if let Some(rules) = program.rules.as_mut() {
        rules.categories.sort_by(|a, b| a.category.cmp(&b.category));
        rules.actions.sort_by(|a, b| a.action.cmp(&b.action));
        rules
            .category_discounts
            .sort_by(|a, b| a.category.cmp(&b.category));
    }
    program
}

fn enrollment(customer: &str, card: &str) -> pb::EnrollMemberRequest {
    pb::EnrollMemberRequest {
        idempotency_key: common::fresh_key(),
        customer_id: customer.into(),
        card_number: card.into(),
        name: format!("Customer {customer}"),
        ..Default::default()
    }
}

async fn enroll(server: &TestServer, key: &str, customer: &str, card: &str) -> pb::Member {
    let request = authed(key, enrollment(customer, card));
    let response = member_client(server).await.enroll_member(request).await;
    response.unwrap().into_inner().member.unwrap()
}

fn by_card(card: &str) -> pb::LookupMemberRequest {
    pb::LookupMemberRequest {
        key: Some(Key::CardNumber(card.into())),
    }
}

fn by_customer(customer: &str) -> pb::LookupMemberRequest {
    pb::LookupMemberRequest {
        key: Some(Key::CustomerId(customer.into())),
    }
}

/// A member credential for `member_id`, issued by the operator.
async fn member_key(server: &TestServer, tenant_id: &str, member_id: &str) -> String {
    let mut operator =
        pb::operator_service_client::OperatorServiceClient::new(server.channel().await);
    let request = pb::IssueApiKeyRequest {
        idempotency_key: common::fresh_key(),
        tenant_id: tenant_id.into(),
        role: pb::Role::Member as i32,
        member_id: member_id.into(),
        label: "app".into(),
    };
    let response = operator
        .issue_api_key(authed(&server.operator_key, request))
        .await;
    response.unwrap().into_inner().api_key
}

/// An HS256 JWT over `claims`.
fn jwt(claims: &serde_json::Value, secret: &str) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// Seconds since the epoch by the real clock (JWT expiry is judged by it, not the test clock).
fn unix_now() -> u64 {
    let now = std::time::SystemTime::now();
    now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn num(value: &str) -> rust_decimal::Decimal {
    value.parse().unwrap()
}

/// A well-formed id that names nothing.
fn unknown_id() -> String {
    "01900000-0000-7000-8000-000000000000".into()
}
