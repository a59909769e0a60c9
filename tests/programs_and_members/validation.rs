//! Malformed input is an INVALID_ARGUMENT that changes nothing; unknown ids are NOT_FOUND.

use super::common::tenant;
use super::*;

fn tier(name: &str, threshold: &str) -> pb::Tier {
    pb::Tier {
        name: name.into(),
        threshold: threshold.into(),
        multiplier: "1".into(),
        upgrade_bonus: "0".into(),
    }
}

/// Program requests that must be refused, each with what is wrong with it.
fn malformed_programs() -> Vec<(&'static str, pb::CreateProgramRequest)> {
    let mut negative_percent = pharmacy_rules();
    negative_percent.categories[0].earn_percent = "-1".into();
    let mut non_numeric_rate = pharmacy_rules();
    if let Some(r) = non_numeric_rate.redemption.as_mut() {
        r.rate_value = "ten".into();
    }
    let mut share_150 = pharmacy_rules();
    if let Some(r) = share_150.redemption.as_mut() {
        r.max_bill_share_percent = "150".into();
    }
    let tiers_out_of_order = pb::ProgramRules {
        tiers: vec![tier("Gold", "1000"), tier("Silver", "500")],
        ..pharmacy_rules()
    };
    vec![
        (
            "negative percent",
            new_program("Pharmacy", negative_percent),
        ),
        (
            "non-numeric rate",
            new_program("Pharmacy", non_numeric_rate),
        ),
        ("empty name", new_program("  ", pharmacy_rules())),
        ("max bill share 150%", new_program("Pharmacy", share_150)),
        (
            "tiers out of order",
            new_program("Pharmacy", tiers_out_of_order),
        ),
        ("no currency", new_program("Pharmacy", base("", "1", "1"))),
        (
            "no rules",
            pb::CreateProgramRequest {
                idempotency_key: common::fresh_key(),
                name: "Pharmacy".into(),
                rules: None,
            },
        ),
    ]
}

on_both_backends! {
    async fn malformed_programs_are_refused_and_nothing_is_created(server) {
        let (_, admin, _) = tenant(server, "Pharmacy chain").await;
        let mut client = program_client(server).await;
        for (case, request) in malformed_programs() {
            let status = client.create_program(authed(&admin, request)).await.expect_err(case);
            assert_eq!(status.code(), Code::InvalidArgument, "{case}: {status:?}");
        }
        assert!(list_programs(server, &admin).await.is_empty());

        assert_eq!(code(get_program(server, &admin, &unknown_id()).await), Code::NotFound);
        assert_eq!(code(get_program(server, &admin, "../etc").await), Code::InvalidArgument);
        assert_eq!(code(get_program(server, &admin, "").await), Code::InvalidArgument);
    }

    async fn malformed_campaigns_and_rewards_are_refused(server) {
        let (_, admin, _) = tenant(server, "Cashback").await;
        let program = create_program(server, &admin, "Wallet", base("USD", "1", "1")).await;
        let mut client = program_client(server).await;
        let no_effect = pb::CampaignSettings {
            name: "Nothing".into(),
            starts_at: "2026-11-01T00:00:00Z".into(),
            ends_at: "2027-01-01T00:00:00Z".into(),
            ..Default::default()
        };
        let request = pb::CreateCampaignRequest {
            idempotency_key: common::fresh_key(),
            program_id: program.id.clone(),
            settings: Some(no_effect),
        };
        let refused = client.create_campaign(authed(&admin, request)).await;
        assert_eq!(code(refused), Code::InvalidArgument);
        let request = pb::CreateCampaignRequest { idempotency_key: common::fresh_key(), program_id: unknown_id(), settings: None };
        let refused = client.create_campaign(authed(&admin, request)).await;
        assert_eq!(code(refused), Code::InvalidArgument);

        let reward = |kind: pb::RewardKind, value: &str, cost: &str| pb::CreateRewardRequest {
            idempotency_key: common::fresh_key(),
            program_id: program.id.clone(),
            name: "Coupon".into(),
            kind: kind as i32,
            value: value.into(),
            cost: cost.into(),
            validity_days: 0,
        };
        let malformed = [
            ("free reward", reward(pb::RewardKind::Coupon, "5", "0")),
            ("coupon without a value", reward(pb::RewardKind::Coupon, "", "500")),
            ("item with a value", reward(pb::RewardKind::Item, "5", "500")),
            ("no kind", reward(pb::RewardKind::Unspecified, "5", "500")),
            ("non-numeric cost", reward(pb::RewardKind::Item, "", "lots")),
        ];
        for (case, request) in malformed {
            let status = client.create_reward(authed(&admin, request)).await.expect_err(case);
            assert_eq!(status.code(), Code::InvalidArgument, "{case}: {status:?}");
        }
        let unknown = pb::CreateRewardRequest {
            idempotency_key: common::fresh_key(),
            program_id: unknown_id(),
            ..reward(pb::RewardKind::Item, "", "500")
        };
        assert_eq!(code(client.create_reward(authed(&admin, unknown)).await), Code::NotFound);
        let list = pb::ListRewardsRequest {
            program_id: program.id.clone(),
            include_inactive: true,
        };
        let listed = client.list_rewards(authed(&admin, list)).await.unwrap().into_inner();
        assert!(listed.rewards.is_empty());
    }

    async fn malformed_members_are_refused_and_nothing_is_enrolled(server) {
        let (_, admin, service) = tenant(server, "Pharmacy chain").await;
        let mut client = member_client(server).await;
        let empty = pb::GetMemberRequest { member_id: String::new() };
        assert_eq!(code(client.get_member(authed(&service, empty)).await), Code::InvalidArgument);
        let unknown = pb::GetMemberRequest { member_id: unknown_id() };
        assert_eq!(code(client.get_member(authed(&service, unknown)).await), Code::NotFound);
        let malformed = [
            ("short card", enrollment("C-1", "12")),
            ("card with spaces", enrollment("C-1", "CARD 0001")),
            ("no customer id", enrollment("", "CARD-0001")),
            ("no name", pb::EnrollMemberRequest { idempotency_key: common::fresh_key(), name: " ".into(), ..enrollment("C-1", "C-01") }),
        ];
        for (case, request) in malformed {
            let status = client.enroll_member(authed(&service, request)).await.expect_err(case);
            assert_eq!(status.code(), Code::InvalidArgument, "{case}: {status:?}");
        }
        let no_key = pb::LookupMemberRequest { key: None };
        let refused = client.lookup_member(authed(&service, no_key)).await;
        assert_eq!(code(refused), Code::InvalidArgument);
        let list = pb::ListMembersRequest { page_size: 10, page_token: String::new() };
        let listed = client.list_members(authed(&admin, list)).await.unwrap().into_inner();
        assert!(listed.members.is_empty());
    }
}
