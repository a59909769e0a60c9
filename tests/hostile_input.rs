//! Hostile input is bad input: NUL bytes and other control characters, values far over their
//! documented limits, and settings that would overflow the arithmetic are refused with the
//! precise gRPC code, quote at most a short prefix of what was sent, and change nothing. A
//! report over more points than one balance holds is an answer, not an INTERNAL error.
//!
//! The fuzz test that sends every RPC random bytes and hostile field values is in
//! `hostile_fuzz.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ledger_support;

use common::{TestServer, authed, fresh_key};
use ledger_support::{Shop, bill, dec, money, pts};
use loyalty_core::{ConversionRate, Currency, EarnRate, Percent, ProgramRules, RedemptionRules};
use loyalty_grpc::pb;
use loyalty_grpc::pb::member_service_client::MemberServiceClient;
use loyalty_grpc::pb::operator_service_client::OperatorServiceClient;
use loyalty_grpc::pb::program_service_client::ProgramServiceClient;
use loyalty_grpc::pb::report_service_client::ReportServiceClient;
use loyalty_store::HistoryFilter;
use tonic::Code;

fn shop_rules() -> ProgramRules {
    let inr = Currency::new("INR").unwrap();
    let mut rules = ProgramRules::new(inr);
    rules.base_rate = EarnRate::new(pts(1), dec("10")).unwrap();
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(pts(1), money("1.00", inr)).unwrap(),
        min_points: pts(1),
        max_bill_share: Percent::HUNDRED,
        max_points_per_bill: None,
    });
    rules
}

/// Everything a refused call must leave as it was: tenants, and the tenant's programs,
/// members, memberships, ledger, campaigns and rewards.
fn state(server: &TestServer, tenant: &str) -> String {
    let store = &server.store;
    let programs = store.list_programs(tenant).unwrap();
    let members = store.list_members(tenant, None, 500).unwrap().items;
    let mut out = format!(
        "{:?}\n{programs:?}\n{members:?}\n",
        store.list_tenants().unwrap()
    );
    for member in &members {
        out += &format!(
            "{:?}\n",
            store.list_memberships(tenant, &member.id).unwrap()
        );
    }
    for program in &programs {
        out += &format!(
            "{:?}\n{:?}\n",
            store.list_campaigns(tenant, &program.id).unwrap(),
            store.list_rewards(tenant, &program.id, true).unwrap()
        );
    }
    let history = store
        .history(tenant, HistoryFilter::default(), None, 500)
        .unwrap();
    out + &format!("{:?}", history.items)
}

/// Asserts that `result` is a refusal with exactly `code` whose message is short.
fn refused_with<T: std::fmt::Debug>(
    label: &str,
    code: Code,
    result: Result<tonic::Response<T>, tonic::Status>,
) {
    match result {
        Ok(response) => panic!("{label}: accepted: {:?}", response.into_inner()),
        Err(status) => {
            assert_eq!(status.code(), code, "{label}: {status:?}");
            assert!(
                status.message().len() <= 300,
                "{label}: a message of {} bytes",
                status.message().len()
            );
        }
    }
}

struct Clients {
    members: MemberServiceClient<tonic::transport::Channel>,
    operator: OperatorServiceClient<tonic::transport::Channel>,
    programs: ProgramServiceClient<tonic::transport::Channel>,
    reports: ReportServiceClient<tonic::transport::Channel>,
}

async fn clients(server: &TestServer) -> Clients {
    let channel = server.channel().await;
    Clients {
        members: MemberServiceClient::new(channel.clone()),
        operator: OperatorServiceClient::new(channel.clone()),
        programs: ProgramServiceClient::new(channel.clone()),
        reports: ReportServiceClient::new(channel),
    }
}

fn rules_pb() -> pb::ProgramRules {
    pb::ProgramRules {
        currency: "INR".into(),
        base_points: "1".into(),
        base_per: "10".into(),
        ..Default::default()
    }
}

on_both_backends! {
    async fn a_nul_byte_or_a_control_character_in_any_text_field_is_refused_and_changes_nothing(server) {
        let mut shop = Shop::open(server, "Cathay Shop").await;
        let program = shop.program(server, "Cathay Rewards", shop_rules());
        let member = shop.member(server, "CARD-0001", None, &[&program]);
        let svc = shop.service.clone();
        shop.ledger.earn(authed(&svc, pb::EarnRequest {
            idempotency_key: "seed".into(),
            member_id: member.clone(),
            program_id: program.clone(),
            bill: Some(bill("SEED", &[("", "1000")])),
        })).await.unwrap();
        let mut c = clients(server).await;
        let before = state(server, &shop.tenant);
        let operator = server.operator_key.clone();

        for hostile in ["\u{0}", "refund\u{0}", "two\nlines", "bell\u{7}", "del\u{7f}", "c1\u{85}inside"] {
            let adjust = pb::AdjustRequest {
                idempotency_key: fresh_key(),
                member_id: member.clone(),
                program_id: program.clone(),
                points: "10".into(),
                reason: hostile.into(),
            };
            refused_with("Adjust.reason", Code::InvalidArgument, shop.ledger.adjust(authed(&shop.admin, adjust)).await);
            let reverse = pb::ReverseRequest {
                idempotency_key: fresh_key(),
                member_id: member.clone(),
                program_id: program.clone(),
                reference: "SEED".into(),
                amount: String::new(),
                reason: hostile.into(),
            };
            refused_with("Reverse.reason", Code::InvalidArgument, shop.ledger.reverse(authed(&svc, reverse)).await);
            let action = pb::AwardActionRequest {
                idempotency_key: fresh_key(),
                member_id: member.clone(),
                program_id: program.clone(),
                action: hostile.into(),
                reference: String::new(),
            };
            refused_with("AwardAction.action", Code::InvalidArgument, shop.ledger.award_action(authed(&svc, action)).await);
            let lookup = pb::LookupMemberRequest {
                key: Some(pb::lookup_member_request::Key::CustomerId(hostile.into())),
            };
            refused_with("LookupMember.customer_id", Code::InvalidArgument, c.members.lookup_member(authed(&svc, lookup)).await);
            let enroll = pb::EnrollMemberRequest {
                customer_id: "C-2".into(),
                card_number: "CARD-0002".into(),
                name: hostile.into(),
                idempotency_key: fresh_key(),
                ..Default::default()
            };
            refused_with("EnrollMember.name", Code::InvalidArgument, c.members.enroll_member(authed(&svc, enroll)).await);
            let update = pb::UpdateMemberRequest {
                member_id: member.clone(),
                email: hostile.into(),
                idempotency_key: fresh_key(),
                ..Default::default()
            };
            refused_with("UpdateMember.email", Code::InvalidArgument, c.members.update_member(authed(&svc, update)).await);
            let tenant = pb::CreateTenantRequest { name: hostile.into(), idempotency_key: fresh_key() };
            refused_with("CreateTenant.name", Code::InvalidArgument, c.operator.create_tenant(authed(&operator, tenant)).await);
            let key = pb::IssueApiKeyRequest {
                tenant_id: shop.tenant.clone(),
                role: pb::Role::Service as i32,
                member_id: String::new(),
                label: hostile.into(),
                idempotency_key: fresh_key(),
            };
            refused_with("IssueApiKey.label", Code::InvalidArgument, c.operator.issue_api_key(authed(&operator, key)).await);
            let create = pb::CreateProgramRequest { name: hostile.into(), rules: Some(rules_pb()), idempotency_key: fresh_key() };
            refused_with("CreateProgram.name", Code::InvalidArgument, c.programs.create_program(authed(&shop.admin, create)).await);
            let update = pb::UpdateProgramRequest {
                program_id: program.clone(),
                name: hostile.into(),
                rules: Some(rules_pb()),
                idempotency_key: fresh_key(),
            };
            refused_with("UpdateProgram.name", Code::InvalidArgument, c.programs.update_program(authed(&shop.admin, update)).await);
            let tier = pb::ProgramRules {
                tiers: vec![pb::Tier { name: hostile.into(), threshold: "0".into(), ..Default::default() }],
                ..rules_pb()
            };
            let create = pb::CreateProgramRequest { name: "Tiers".into(), rules: Some(tier), idempotency_key: fresh_key() };
            refused_with("ProgramRules.tiers.name", Code::InvalidArgument, c.programs.create_program(authed(&shop.admin, create)).await);
            let reward = pb::CreateRewardRequest {
                program_id: program.clone(),
                name: hostile.into(),
                kind: pb::RewardKind::Item as i32,
                value: String::new(),
                cost: "10".into(),
                validity_days: 0,
                idempotency_key: fresh_key(),
            };
            refused_with("CreateReward.name", Code::InvalidArgument, c.programs.create_reward(authed(&shop.admin, reward)).await);
            let campaign = pb::CreateCampaignRequest {
                program_id: program.clone(),
                settings: Some(pb::CampaignSettings {
                    name: hostile.into(),
                    starts_at: "2026-01-01T00:00:00Z".into(),
                    ends_at: "2026-02-01T00:00:00Z".into(),
                    effect: Some(pb::CampaignEffect { effect: Some(pb::campaign_effect::Effect::FixedBonus("5".into())) }),
                    ..Default::default()
                }),
                idempotency_key: fresh_key(),
            };
            refused_with("CreateCampaign.settings.name", Code::InvalidArgument, c.programs.create_campaign(authed(&shop.admin, campaign)).await);
            let page = pb::ListTransactionsRequest { page_token: hostile.into(), ..Default::default() };
            refused_with("ListTransactions.page_token", Code::InvalidArgument, shop.ledger.list_transactions(authed(&shop.admin, page)).await);
            assert_eq!(state(server, &shop.tenant), before, "after {hostile:?}");
        }
    }

    async fn a_value_far_over_its_limit_is_refused_with_a_short_message_and_changes_nothing(server) {
        let mut shop = Shop::open(server, "Cathay Shop").await;
        let program = shop.program(server, "Cathay Rewards", shop_rules());
        let member = shop.member(server, "CARD-0001", None, &[&program]);
        let mut c = clients(server).await;
        let before = state(server, &shop.tenant);
        let nines = "9".repeat(100_000);
        let long = "x".repeat(100_000);

        let adjust = |points: &str, reason: &str| authed(&shop.admin, pb::AdjustRequest {
            idempotency_key: fresh_key(),
            member_id: member.clone(),
            program_id: program.clone(),
            points: points.into(),
            reason: reason.into(),
        });
        refused_with("Adjust.points of 100000 nines", Code::InvalidArgument, shop.ledger.adjust(adjust(&nines, "test")).await);
        refused_with("Adjust.reason of 100000 characters", Code::InvalidArgument, shop.ledger.adjust(adjust("10", &long)).await);
        refused_with("Adjust.reason of 501 characters", Code::InvalidArgument, shop.ledger.adjust(adjust("10", &"r".repeat(501))).await);
        let earn = authed(&shop.service, pb::EarnRequest {
            idempotency_key: fresh_key(),
            member_id: member.clone(),
            program_id: program.clone(),
            bill: Some(pb::Bill { at: long.clone(), ..bill("B1", &[("", "100")]) }),
        });
        refused_with("Bill.at of 100000 characters", Code::InvalidArgument, shop.ledger.earn(earn).await);
        let earn = authed(&shop.service, pb::EarnRequest {
            idempotency_key: fresh_key(),
            member_id: member.clone(),
            program_id: program.clone(),
            bill: Some(pb::Bill { currency: long.clone(), ..bill("B1", &[(&long, "100")]) }),
        });
        refused_with("Bill.currency of 100000 characters", Code::InvalidArgument, shop.ledger.earn(earn).await);
        let card = pb::LookupMemberRequest { key: Some(pb::lookup_member_request::Key::CardNumber(long.clone())) };
        refused_with("LookupMember.card_number", Code::InvalidArgument, c.members.lookup_member(authed(&shop.service, card)).await);
        let customer = pb::LookupMemberRequest { key: Some(pb::lookup_member_request::Key::CustomerId(long.clone())) };
        refused_with("LookupMember.customer_id", Code::InvalidArgument, c.members.lookup_member(authed(&shop.service, customer)).await);
        let tenant = pb::CreateTenantRequest { name: "t".repeat(201), idempotency_key: fresh_key() };
        refused_with("CreateTenant.name of 201 characters", Code::InvalidArgument, c.operator.create_tenant(authed(&server.operator_key, tenant)).await);
        let rules = pb::ProgramRules { currency: long.clone(), ..rules_pb() };
        let create = pb::CreateProgramRequest { name: "Long".into(), rules: Some(rules), idempotency_key: fresh_key() };
        refused_with("ProgramRules.currency", Code::InvalidArgument, c.programs.create_program(authed(&shop.admin, create)).await);
        let actions = (0..101).map(|n| pb::ActionRule { action: format!("a{n}"), points: "1".into() }).collect();
        let rules = pb::ProgramRules { actions, ..rules_pb() };
        let create = pb::CreateProgramRequest { name: "Many".into(), rules: Some(rules), idempotency_key: fresh_key() };
        refused_with("ProgramRules.actions of 101 rules", Code::InvalidArgument, c.programs.create_program(authed(&shop.admin, create)).await);
        let weekdays = pb::CampaignSettings {
            name: "Weekend".into(),
            starts_at: "2026-01-01T00:00:00Z".into(),
            ends_at: "2026-02-01T00:00:00Z".into(),
            weekdays: vec![long.clone()],
            effect: Some(pb::CampaignEffect { effect: Some(pb::campaign_effect::Effect::FixedBonus("5".into())) }),
            ..Default::default()
        };
        let campaign = pb::CreateCampaignRequest { program_id: program.clone(), settings: Some(weekdays), idempotency_key: fresh_key() };
        refused_with("CampaignSettings.weekdays", Code::InvalidArgument, c.programs.create_campaign(authed(&shop.admin, campaign)).await);
        assert_eq!(state(server, &shop.tenant), before);
    }

    async fn a_conversion_rate_that_could_overflow_is_refused_when_it_is_configured(server) {
        let shop = Shop::open(server, "Cathay Shop").await;
        let mut c = clients(server).await;
        let before = state(server, &shop.tenant);
        let absurd = |rate_points: &str, rate_value: &str| pb::ProgramRules {
            point_decimals: 4,
            redemption: Some(pb::RedemptionRules {
                rate_points: rate_points.into(),
                rate_value: rate_value.into(),
                ..Default::default()
            }),
            ..rules_pb()
        };
        for (points, value) in [("0.0001", "100000000000000"), ("100000000000000", "0.0001")] {
            let create = pb::CreateProgramRequest { name: "Absurd".into(), rules: Some(absurd(points, value)), idempotency_key: fresh_key() };
            refused_with(&format!("{points} points = {value}"), Code::InvalidArgument, c.programs.create_program(authed(&shop.admin, create)).await);
        }
        let earn = pb::ProgramRules { base_points: "100000000000000".into(), base_per: "0.0001".into(), ..rules_pb() };
        let create = pb::CreateProgramRequest { name: "Absurd".into(), rules: Some(earn), idempotency_key: fresh_key() };
        refused_with("an earn rate of 10^18 points per unit", Code::InvalidArgument, c.programs.create_program(authed(&shop.admin, create)).await);
        assert_eq!(state(server, &shop.tenant), before);
    }

    async fn a_report_over_more_points_than_one_balance_holds_is_an_answer(server) {
        let mut shop = Shop::open(server, "Cathay Shop").await;
        let program = shop.program(server, "Cathay Rewards", shop_rules());
        let mut c = clients(server).await;
        // Three members at the largest balance: 3 * 10^14 points outstanding, worth as much.
        for n in 1..=3 {
            let member = shop.member(server, &format!("CARD-000{n}"), None, &[&program]);
            shop.ledger.adjust(authed(&shop.admin, pb::AdjustRequest {
                idempotency_key: fresh_key(),
                member_id: member,
                program_id: program.clone(),
                points: "100000000000000".into(),
                reason: "test".into(),
            })).await.unwrap();
        }
        let report = c.reports.get_program_report(authed(&shop.admin, pb::GetProgramReportRequest {
            program_id: program.clone(),
            as_of: String::new(),
        })).await.unwrap().into_inner();
        assert_eq!(report.points_outstanding, "300000000000000");
        assert_eq!(report.liability, "300000000000000.00");
    }

    async fn a_report_whose_totals_overflow_is_refused_not_internal(server) {
        let mut shop = Shop::open(server, "Cathay Shop").await;
        let program = shop.program(server, "Cathay Rewards", shop_rules());
        let mut c = clients(server).await;
        // Ten members at the largest balance: 10^15 points, 10^19 ten-thousandths, beyond the
        // 64-bit sums the store computes.
        for n in 0..10 {
            let member = shop.member(server, &format!("CARD-00{n:02}"), None, &[&program]);
            shop.ledger.adjust(authed(&shop.admin, pb::AdjustRequest {
                idempotency_key: fresh_key(),
                member_id: member,
                program_id: program.clone(),
                points: "100000000000000".into(),
                reason: "test".into(),
            })).await.unwrap();
        }
        let before = state(server, &shop.tenant);
        let answer = c.reports.get_program_report(authed(&shop.admin, pb::GetProgramReportRequest {
            program_id: program.clone(),
            as_of: String::new(),
        })).await;
        refused_with("a report over 10^15 points", Code::FailedPrecondition, answer);
        assert_eq!(state(server, &shop.tenant), before);
    }
}
