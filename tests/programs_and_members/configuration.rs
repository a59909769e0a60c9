//! Programs and their rules, campaigns, and the rewards catalog, as an admin sets them up.

use super::common::tenant;
use super::*;

fn weekend_doubles() -> pb::CampaignSettings {
    pb::CampaignSettings {
        name: "Double points weekends".into(),
        starts_at: "2026-11-01T00:00:00Z".into(),
        ends_at: "2027-01-01T00:00:00Z".into(),
        weekdays: vec!["sat".into(), "sun".into()],
        effect: Some(pb::CampaignEffect {
            effect: Some(pb::campaign_effect::Effect::Multiplier("2".into())),
        }),
        budget: "10000".into(),
        active: true,
        ..Default::default()
    }
}

fn reward(program: &pb::Program, name: &str, kind: pb::RewardKind) -> pb::CreateRewardRequest {
    pb::CreateRewardRequest {
        idempotency_key: common::fresh_key(),
        program_id: program.id.clone(),
        name: name.into(),
        kind: kind as i32,
        cost: "500".into(),
        ..Default::default()
    }
}

on_both_backends! {
    async fn the_pharmacy_program_reads_back_as_it_was_created(server) {
        let (_, admin, _) = tenant(server, "Pharmacy chain").await;
        let created = create_program(server, &admin, "Pharmacy", pharmacy_rules()).await;
        assert!(created.enabled);
        let rules = created.rules.clone().unwrap();
        assert_eq!((rules.currency.as_str(), rules.point_decimals), ("INR", 2));
        let mut categories: Vec<(&str, &str)> = rules
            .categories
            .iter()
            .map(|c| (c.category.as_str(), c.earn_percent.as_str()))
            .collect();
        categories.sort();
        assert_eq!(categories, [("General", "3"), ("Medicines", "1")]);
        assert_eq!(num(&rules.referral_percent), num("0.5"));
        // Amounts come back as the same decimals, not necessarily with the same trailing zeros.
        let r = rules.redemption.clone().unwrap();
        let amounts = [&r.rate_points, &r.rate_value, &r.min_points, &r.max_bill_share_percent];
        assert_eq!(amounts.map(|a| num(a)), [num("100"), num("10.00"), num("100"), num("50")]);
        assert!(r.max_points_per_bill.is_empty());

        let read = get_program(server, &admin, &created.id).await.unwrap();
        assert_eq!(in_rule_order(read.clone()), in_rule_order(created.clone()));
        let listed: Vec<pb::Program> =
            list_programs(server, &admin).await.into_iter().map(in_rule_order).collect();
        assert_eq!(listed, [in_rule_order(created.clone())]);

        // What was read back is accepted again as it is, and means the same.
        let request = pb::UpdateProgramRequest {
            idempotency_key: common::fresh_key(),
            program_id: created.id.clone(),
            name: "Pharmacy".into(),
            rules: read.rules,
        };
        let mut client = program_client(server).await;
        let updated = client.update_program(authed(&admin, request)).await.unwrap();
        let updated = updated.into_inner().program.unwrap();
        assert_eq!(updated.version, created.version + 1);
        assert_eq!(in_rule_order(updated).rules, in_rule_order(created).rules);
    }

    async fn the_token_design_runs_two_programs_at_their_own_rates(server) {
        let (_, admin, _) = tenant(server, "Token service").await;
        let wine = create_program(server, &admin, "Wine & Dine", base("USD", "5", "100")).await;
        let flyer_rules = base("USD", "1", "100");
        let flyer = create_program(server, &admin, "Frequent Flyer", flyer_rules).await;
        assert_ne!(wine.id, flyer.id);
        let rates: Vec<(String, String, String)> = list_programs(server, &admin)
            .await
            .into_iter()
            .map(|p| {
                let r = p.rules.unwrap();
                (p.name, r.base_points, r.base_per)
            })
            .collect();
        let rate = |name: &str, points: &str| (name.into(), points.into(), "100".into());
        assert_eq!(rates, [rate("Wine & Dine", "5"), rate("Frequent Flyer", "1")]);

        let again = new_program("Wine & Dine", base("USD", "1", "1"));
        let mut client = program_client(server).await;
        assert_eq!(code(client.create_program(authed(&admin, again)).await), Code::AlreadyExists);
    }

    async fn a_disabled_program_can_still_be_read(server) {
        let (_, admin, service) = tenant(server, "Shop").await;
        let program = create_program(server, &admin, "Miles", base("USD", "1", "10")).await;
        let switch = |enabled: bool| {
            let request = pb::SetProgramEnabledRequest { idempotency_key: common::fresh_key(), program_id: program.id.clone(), enabled };
            authed(&admin, request)
        };
        let mut client = program_client(server).await;
        let disabled = client.set_program_enabled(switch(false)).await.unwrap();
        let disabled = disabled.into_inner().program.unwrap();
        assert!(!disabled.enabled);
        assert!(disabled.version > program.version);
        assert!(!get_program(server, &service, &program.id).await.unwrap().enabled);
        let enabled = client.set_program_enabled(switch(true)).await.unwrap();
        assert!(enabled.into_inner().program.unwrap().enabled);
    }

    async fn a_campaign_is_created_listed_and_switched_off(server) {
        let (_, admin, service) = tenant(server, "Cashback").await;
        let program = create_program(server, &admin, "Wallet", base("USD", "1", "1")).await;
        let settings = weekend_doubles();
        let request = pb::CreateCampaignRequest {
            idempotency_key: common::fresh_key(),
            program_id: program.id.clone(),
            settings: Some(settings.clone()),
        };
        let mut client = program_client(server).await;
        let campaign = client.create_campaign(authed(&admin, request)).await.unwrap();
        let campaign = campaign.into_inner().campaign.unwrap();
        assert_eq!(campaign.settings.as_ref(), Some(&settings));
        assert_eq!((campaign.program_id.as_str(), campaign.awarded.as_str()), (&*program.id, "0"));
        let list = |key: &str| {
            authed(key, pb::ListCampaignsRequest { program_id: program.id.clone() })
        };
        let listed = client.list_campaigns(list(&service)).await.unwrap().into_inner();
        assert_eq!(listed.campaigns, std::slice::from_ref(&campaign));

        let renamed = pb::CampaignSettings { name: "Weekend doubles".into(), ..settings };
        let request = pb::UpdateCampaignRequest {
            idempotency_key: common::fresh_key(),
            campaign_id: campaign.id.clone(),
            settings: Some(renamed),
        };
        let updated = client.update_campaign(authed(&admin, request)).await.unwrap();
        let updated = updated.into_inner().campaign.unwrap().settings.unwrap();
        assert_eq!(updated.name, "Weekend doubles");

        let off = pb::SetCampaignActiveRequest { idempotency_key: common::fresh_key(), campaign_id: campaign.id.clone(), active: false };
        let refused = client.set_campaign_active(authed(&service, off.clone())).await;
        assert_eq!(code(refused), Code::PermissionDenied);
        let switched = client.set_campaign_active(authed(&admin, off)).await.unwrap();
        assert!(!switched.into_inner().campaign.unwrap().settings.unwrap().active);
        let listed = client.list_campaigns(list(&admin)).await.unwrap().into_inner();
        assert!(!listed.campaigns[0].settings.as_ref().unwrap().active);
    }

    async fn the_rewards_catalog_offers_coupons_donations_and_items(server) {
        let (tenant_id, admin, service) = tenant(server, "Rewards page").await;
        let program = create_program(server, &admin, "Points", base("USD", "1", "1")).await;
        let coupon = pb::CreateRewardRequest {
            idempotency_key: common::fresh_key(),
            value: "5.00".into(),
            validity_days: 90,
            ..reward(&program, "$5 coupon", pb::RewardKind::Coupon)
        };
        let donation = pb::CreateRewardRequest {
            idempotency_key: common::fresh_key(),
            value: "10".into(),
            ..reward(&program, "Plant a tree", pb::RewardKind::Donation)
        };
        let mut client = program_client(server).await;
        let mut created = Vec::new();
        for request in [coupon, donation, reward(&program, "Mug", pb::RewardKind::Item)] {
            let response = client.create_reward(authed(&admin, request)).await.unwrap();
            created.push(response.into_inner().reward.unwrap());
        }
        let coupon = &created[0];
        assert_eq!(coupon.kind, pb::RewardKind::Coupon as i32);
        assert_eq!((num(&coupon.value), num(&coupon.cost)), (num("5"), num("500")));
        assert_eq!((coupon.validity_days, coupon.active), (90, true));
        assert!(created[2].value.is_empty());

        let mug = reward(&program, "Mug", pb::RewardKind::Item);
        assert_eq!(code(client.create_reward(authed(&service, mug)).await), Code::PermissionDenied);
        let off = pb::SetRewardActiveRequest { idempotency_key: common::fresh_key(), reward_id: created[2].id.clone(), active: false };
        let withdrawn = client.set_reward_active(authed(&admin, off)).await.unwrap();
        assert!(!withdrawn.into_inner().reward.unwrap().active);

        let member = enroll(server, &service, "C-1", "CARD-0001").await;
        let app = member_key(server, &tenant_id, &member.id).await;
        let list = |key: &str, include_inactive: bool| {
            let request = pb::ListRewardsRequest {
                program_id: program.id.clone(),
                include_inactive,
            };
            authed(key, request)
        };
        let offered = client.list_rewards(list(&app, false)).await.unwrap().into_inner().rewards;
        assert_eq!(offered, created[..2]);
        let all = client.list_rewards(list(&admin, true)).await.unwrap().into_inner().rewards;
        assert_eq!(all.len(), 3);
        assert!(!all[2].active);
    }
}
