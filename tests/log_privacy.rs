//! Logs hold no personal data (issue 8): a real `loyalty serve` process, its standard output
//! and error captured, at the default log level and at `RUST_LOG=debug`, through a normal run
//! over a real socket: a member enrolled with a name, phone, email, card number and customer
//! id, looked up, updated, earning and redeeming, read through a member JWT, plus refused
//! calls that quote those values (a duplicate card, an unknown card, a garbage key). None of
//! those values, no API key, no JWT and not the JWT secret may appear in what the server wrote.
// The bodies run outside `#[test]` functions, so the test allowances of clippy.toml do not
// reach them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// Not every helper of `common` is used here.
#[allow(unused_imports)]
mod common;
#[path = "common/process.rs"]
mod process;
#[path = "common/seeded.rs"]
mod seeded;

use std::net::TcpListener;
use std::time::{SystemTime, UNIX_EPOCH};

use loyalty_grpc::pb;
use loyalty_store::testing::TestDatabase;
use pb::ledger_service_client::LedgerServiceClient;
use pb::member_service_client::MemberServiceClient;

use common::{Kind, authed};
use process::ServerProcess;
use seeded::Seeded;

const JWT_SECRET: &str = "log-privacy-jwt-secret-7f3a";
const NAME: &str = "Priya Venkataraman";
const PHONE: &str = "+91 98450 12345";
const EMAIL: &str = "priya.venkat@example.org";
const CARD: &str = "CARD-7733-1904";
const CUSTOMER: &str = "cust-priya-0042";
const NEW_EMAIL: &str = "p.venkataraman@example.net";
const GARBAGE_KEY: &str = "lk_thisisnotakeybutlookslikeone0042";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_server_logs_no_personal_data_keys_or_tokens_at_the_default_level() {
    run(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_server_logs_no_personal_data_keys_or_tokens_at_debug_level() {
    run(Some("debug")).await;
}

async fn run(level: Option<&str>) {
    let db = TestDatabase::new(Kind::Sqlite);
    let seeded = Seeded::new(&db.url, "Privacy Shop", 0);
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let env: Vec<(&str, &str)> = level.map(|l| ("RUST_LOG", l)).into_iter().collect();
    let server = ServerProcess::start_on(addr, &db.url, &["--jwt-secret", JWT_SECRET], &env);
    let channel = server.channel();
    let mut members = MemberServiceClient::new(channel.clone());
    let mut ledger = LedgerServiceClient::new(channel);
    let service = &seeded.service;

    let enroll = |key: &str| pb::EnrollMemberRequest {
        customer_id: CUSTOMER.into(),
        card_number: CARD.into(),
        name: NAME.into(),
        phone: PHONE.into(),
        email: EMAIL.into(),
        referrer_id: String::new(),
        program_ids: vec![seeded.program.clone()],
        idempotency_key: key.into(),
    };
    let member = members
        .enroll_member(authed(service, enroll("enrol-1")))
        .await
        .unwrap()
        .into_inner()
        .member
        .unwrap()
        .id;
    // Refused calls that quote the values: the same card again, a card nobody has, a key that
    // is not one.
    let duplicate = members
        .enroll_member(authed(service, enroll("enrol-2")))
        .await;
    assert!(duplicate.is_err(), "{duplicate:?}");
    let unknown = members
        .lookup_member(authed(
            service,
            pb::LookupMemberRequest {
                key: Some(pb::lookup_member_request::Key::CardNumber(format!(
                    "{CARD}-9"
                ))),
            },
        ))
        .await;
    assert!(unknown.is_err(), "{unknown:?}");
    let garbage = members
        .get_member(authed(
            GARBAGE_KEY,
            pb::GetMemberRequest {
                member_id: member.clone(),
            },
        ))
        .await;
    assert!(garbage.is_err(), "{garbage:?}");
    members
        .lookup_member(authed(
            service,
            pb::LookupMemberRequest {
                key: Some(pb::lookup_member_request::Key::CardNumber(CARD.into())),
            },
        ))
        .await
        .unwrap();
    members
        .update_member(authed(
            service,
            pb::UpdateMemberRequest {
                member_id: member.clone(),
                email: NEW_EMAIL.into(),
                idempotency_key: "update-1".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let bill = |reference: &str| pb::Bill {
        reference: reference.into(),
        currency: String::new(),
        lines: vec![pb::BillLine {
            category: String::new(),
            amount: "500".into(),
        }],
        at: String::new(),
    };
    ledger
        .earn(authed(
            service,
            pb::EarnRequest {
                idempotency_key: "earn-1".into(),
                member_id: member.clone(),
                program_id: seeded.program.clone(),
                bill: Some(bill("BILL-1")),
            },
        ))
        .await
        .unwrap();
    ledger
        .redeem(authed(
            &seeded.admin,
            pb::RedeemRequest {
                idempotency_key: "redeem-1".into(),
                member_id: member.clone(),
                program_id: seeded.program.clone(),
                bill: Some(bill("BILL-2")),
                points: "10".into(),
            },
        ))
        .await
        .unwrap();
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3_600;
    let jwt = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &serde_json::json!({
            "sub": "privacy-app", "role": "member", "tenant_id": seeded.tenant,
            "member_id": member, "exp": exp,
        }),
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let mine = members
        .get_member(authed(
            &jwt,
            pb::GetMemberRequest {
                member_id: member.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .member
        .unwrap();
    assert_eq!(mine.email, NEW_EMAIL);
    let member_key = &seeded.store.issue_api_key(
        None,
        Some(&seeded.tenant),
        loyalty_store::Role::Member,
        Some(&member),
        "app",
    );
    let member_key = &member_key.as_ref().unwrap().key;
    members
        .get_balances(authed(
            member_key,
            pb::GetBalancesRequest {
                member_id: member.clone(),
                program_id: String::new(),
                as_of: String::new(),
            },
        ))
        .await
        .unwrap();

    let log = server.stop();
    let level = level.unwrap_or("the default");
    assert!(
        log.contains("loyalty serving gRPC"),
        "nothing captured at {level} level:\n{log}"
    );
    let secrets = [
        ("the member's name", NAME),
        ("the member's phone", PHONE),
        ("the member's phone without spaces", "9845012345"),
        ("the member's email", EMAIL),
        ("the member's new email", NEW_EMAIL),
        ("the member's card", CARD),
        ("the member's card without dashes", "773319"),
        ("the member's customer id", CUSTOMER),
        ("the operator key", seeded.operator.as_str()),
        ("the admin key", seeded.admin.as_str()),
        ("the service key", seeded.service.as_str()),
        ("the member key", member_key.as_str()),
        ("a garbage key", GARBAGE_KEY),
        ("the member JWT", jwt.as_str()),
        (
            "the member JWT's signature",
            jwt.rsplit('.').next().unwrap(),
        ),
        ("the JWT secret", JWT_SECRET),
    ];
    let leaked: Vec<&str> = secrets
        .iter()
        .filter(|(_, value)| log.contains(value))
        .map(|(what, _)| *what)
        .collect();
    assert!(
        leaked.is_empty(),
        "the log at {level} level holds {leaked:?}:\n{log}"
    );
    eprintln!(
        "{level} level: {} lines, {} bytes of log; none of {} secret values in it",
        log.lines().count(),
        log.len(),
        secrets.len()
    );
}
