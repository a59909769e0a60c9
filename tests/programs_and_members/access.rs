//! Who may do what: roles, credentials (API keys and JWTs), and tenant isolation.

use super::common::{JWT_SECRET, tenant};
use super::*;

fn rogue_program() -> pb::CreateProgramRequest {
    new_program("Rogue", base("INR", "1", "1"))
}

on_both_backends! {
    async fn programs_are_configured_by_admins_only(server) {
        let (tenant_id, admin, service) = tenant(server, "Pharmacy chain").await;
        let program = create_program(server, &admin, "Pharmacy", pharmacy_rules()).await;
        let member = enroll(server, &service, "A", "CARD-000A").await;
        let app = member_key(server, &tenant_id, &member.id).await;
        let mut client = program_client(server).await;
        for key in [&service, &app, &server.operator_key] {
            let refused = client.create_program(authed(key, rogue_program())).await;
            assert_eq!(code(refused), Code::PermissionDenied);
        }
        let anonymous = client.create_program(tonic::Request::new(rogue_program())).await;
        assert_eq!(code(anonymous), Code::Unauthenticated);
        for garbage in ["lk_0123456789abcdef", "garbage"] {
            let refused = client.create_program(authed(garbage, rogue_program())).await;
            assert_eq!(code(refused), Code::Unauthenticated);
        }
        // Services and members read the rules (a checkout and an app show them).
        for key in [&service, &app] {
            assert_eq!(get_program(server, key, &program.id).await.unwrap().id, program.id);
        }
        assert_eq!(list_programs(server, &admin).await.len(), 1);
    }

    async fn a_member_credential_reads_only_its_own_member(server) {
        let (tenant_id, admin, service) = tenant(server, "Pharmacy chain").await;
        let program = create_program(server, &admin, "Pharmacy", pharmacy_rules()).await;
        let asha = enroll(server, &service, "A", "CARD-000A").await;
        let bala = enroll(server, &service, "B", "CARD-000B").await;
        let app = member_key(server, &tenant_id, &asha.id).await;
        let mut client = member_client(server).await;
        let balances = |m: &pb::Member| {
            let request = pb::GetBalancesRequest {
                member_id: m.id.clone(),
                program_id: String::new(),
                as_of: String::new(),
            };
            authed(&app, request)
        };
        client.get_balances(balances(&asha)).await.unwrap();
        assert_eq!(code(client.get_balances(balances(&bala)).await), Code::PermissionDenied);
        let get = |m: &pb::Member| authed(&app, pb::GetMemberRequest { member_id: m.id.clone() });
        let own = client.get_member(get(&asha)).await.unwrap().into_inner().member;
        assert_eq!(own, Some(asha.clone()));
        assert_eq!(code(client.get_member(get(&bala)).await), Code::PermissionDenied);

        // Finding, listing and changing members is for the tenant's staff.
        let lookup = client.lookup_member(authed(&app, by_card("CARD-000B"))).await;
        assert_eq!(code(lookup), Code::PermissionDenied);
        let list = pb::ListMembersRequest { page_size: 10, page_token: String::new() };
        assert_eq!(code(client.list_members(authed(&app, list)).await), Code::PermissionDenied);
        let referrals = pb::ListReferralsRequest { member_id: asha.id.clone() };
        let refused = client.list_referrals(authed(&app, referrals)).await;
        assert_eq!(code(refused), Code::PermissionDenied);
        let join = pb::JoinProgramRequest {
            idempotency_key: common::fresh_key(),
            member_id: asha.id.clone(),
            program_id: program.id.clone(),
        };
        assert_eq!(code(client.join_program(authed(&app, join)).await), Code::PermissionDenied);
        let update = pb::UpdateMemberRequest {
            idempotency_key: common::fresh_key(),
            member_id: asha.id.clone(),
            name: "Mallory".into(),
            ..Default::default()
        };
        assert_eq!(code(client.update_member(authed(&app, update)).await), Code::PermissionDenied);
    }

    async fn a_tenant_never_sees_another_tenants_programs_or_members(server) {
        let (_, admin_a, service_a) = tenant(server, "Pharmacy A").await;
        let (_, admin_b, service_b) = tenant(server, "Pharmacy B").await;
        let program = create_program(server, &admin_a, "Pharmacy", pharmacy_rules()).await;
        let member = enroll(server, &service_a, "C-1", "CARD-0001").await;

        assert_eq!(code(get_program(server, &admin_b, &program.id).await), Code::NotFound);
        let off = pb::SetProgramEnabledRequest { idempotency_key: common::fresh_key(), program_id: program.id.clone(), enabled: false };
        let mut programs = program_client(server).await;
        let refused = programs.set_program_enabled(authed(&admin_b, off)).await;
        assert_eq!(code(refused), Code::NotFound);
        assert!(list_programs(server, &admin_b).await.is_empty());
        assert!(get_program(server, &admin_a, &program.id).await.unwrap().enabled);

        let mut members = member_client(server).await;
        let get = pb::GetMemberRequest { member_id: member.id.clone() };
        assert_eq!(code(members.get_member(authed(&admin_b, get)).await), Code::NotFound);
        let join = pb::JoinProgramRequest {
            idempotency_key: common::fresh_key(),
            member_id: member.id.clone(),
            program_id: program.id.clone(),
        };
        assert_eq!(code(members.join_program(authed(&service_b, join)).await), Code::NotFound);
        let lookup = members.lookup_member(authed(&service_b, by_card("CARD-0001"))).await;
        assert_eq!(code(lookup), Code::NotFound);
        // The same card number is free in another tenant.
        enroll(server, &service_b, "C-1", "CARD-0001").await;
    }

    async fn a_signed_jwt_is_an_admin_credential(server) {
        let (tenant_id, _, _) = tenant(server, "Token service").await;
        let claims = |exp: u64| {
            serde_json::json!({
                "sub": "ops@tokens.example",
                "role": "admin",
                "tenant_id": tenant_id,
                "exp": exp,
            })
        };
        let token = jwt(&claims(unix_now() + 600), JWT_SECRET);
        let program = create_program(server, &token, "Wine & Dine", base("USD", "5", "100")).await;
        assert_eq!(program.name, "Wine & Dine");

        let mut client = program_client(server).await;
        let forged = jwt(&claims(unix_now() + 600), "not-the-secret");
        let refused = client.create_program(authed(&forged, rogue_program())).await;
        assert_eq!(code(refused), Code::Unauthenticated);
        let expired = jwt(&claims(unix_now() - 3600), JWT_SECRET);
        let refused = client.create_program(authed(&expired, rogue_program())).await;
        assert_eq!(code(refused), Code::Unauthenticated);
    }
}
