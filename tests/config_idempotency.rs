//! End to end: configuration and member calls carry idempotency keys; a retried enrollment
//! enrolls once, and a call without a key is refused before it changes anything.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestServer, authed, tenant};
use loyalty_grpc::pb;
use pb::member_service_client::MemberServiceClient;
use pb::program_service_client::ProgramServiceClient;
use tonic::Code;

async fn shop_program(server: &TestServer, admin: &str) -> String {
    let request = pb::CreateProgramRequest {
        idempotency_key: common::fresh_key(),
        name: "Shop points".into(),
        rules: Some(pb::ProgramRules {
            currency: "INR".into(),
            base_points: "1".into(),
            base_per: "10".into(),
            ..Default::default()
        }),
    };
    let mut programs = ProgramServiceClient::new(server.channel().await);
    let response = programs.create_program(authed(admin, request)).await;
    response.unwrap().into_inner().program.unwrap().id
}

fn enrollment(key: &str, program: &str) -> pb::EnrollMemberRequest {
    pb::EnrollMemberRequest {
        idempotency_key: key.into(),
        customer_id: "C-1001".into(),
        card_number: "CARD001".into(),
        name: "Sachin".into(),
        program_ids: vec![program.into()],
        ..Default::default()
    }
}

on_both_backends! {
    async fn a_retried_enrollment_enrolls_once(server) {
        let (_, admin, service) = tenant(server, "Cathay Shop").await;
        let program = shop_program(server, &admin).await;
        let mut members = MemberServiceClient::new(server.channel().await);
        let request = enrollment("C-1001:enroll", &program);
        let first = members.enroll_member(authed(&service, request.clone())).await.unwrap().into_inner();
        // The answer was lost, say: the billing service retries with the same key.
        let again = members.enroll_member(authed(&service, request)).await.unwrap().into_inner();
        assert_eq!(again.member.unwrap().id, first.member.as_ref().unwrap().id);
        assert_eq!(
            again.memberships.iter().map(|m| &m.id).collect::<Vec<_>>(),
            first.memberships.iter().map(|m| &m.id).collect::<Vec<_>>()
        );
        let listed = members
            .list_members(authed(&service, pb::ListMembersRequest::default()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.members.len(), 1);
        // Another request under the used key is refused.
        let other = pb::EnrollMemberRequest {
            customer_id: "C-1002".into(),
            card_number: "CARD002".into(),
            ..enrollment("C-1001:enroll", &program)
        };
        let refused = members.enroll_member(authed(&service, other)).await.unwrap_err();
        assert_eq!(refused.code(), Code::AlreadyExists, "{refused:?}");
    }

    async fn a_replayed_create_program_answers_with_the_stored_program_not_the_current_one(server) {
        let (_, admin, _) = tenant(server, "Cathay Shop").await;
        let mut programs = ProgramServiceClient::new(server.channel().await);
        let rules = pb::ProgramRules {
            currency: "INR".into(),
            base_points: "1".into(),
            base_per: "10".into(),
            ..Default::default()
        };
        let create = pb::CreateProgramRequest {
            idempotency_key: "setup:shop-points".into(),
            name: "Shop points".into(),
            rules: Some(rules.clone()),
        };
        let first = programs.create_program(authed(&admin, create.clone())).await.unwrap().into_inner();
        let program = first.program.clone().unwrap();
        let rename = pb::UpdateProgramRequest {
            idempotency_key: common::fresh_key(),
            program_id: program.id.clone(),
            name: "Cathay points".into(),
            rules: Some(rules),
        };
        programs.update_program(authed(&admin, rename)).await.unwrap();
        // The answer to the create was lost; its retry gets the program as it was created.
        let again = programs.create_program(authed(&admin, create)).await.unwrap().into_inner();
        assert_eq!(again, first);
        let now = programs
            .get_program(authed(&admin, pb::GetProgramRequest { program_id: program.id }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(now.program.unwrap().name, "Cathay points");
    }

    async fn a_mutating_call_without_a_key_is_invalid_and_changes_nothing(server) {
        let (_, admin, service) = tenant(server, "Cathay Shop").await;
        let program = shop_program(server, &admin).await;
        let mut members = MemberServiceClient::new(server.channel().await);
        let refused = members
            .enroll_member(authed(&service, enrollment("", &program)))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        assert!(refused.message().contains("idempotency_key"), "{refused:?}");
        let listed = members
            .list_members(authed(&service, pb::ListMembersRequest::default()))
            .await
            .unwrap()
            .into_inner();
        assert!(listed.members.is_empty());
        let mut programs = ProgramServiceClient::new(server.channel().await);
        let off = pb::SetProgramEnabledRequest {
            program_id: program,
            enabled: false,
            idempotency_key: String::new(),
        };
        let refused = programs.set_program_enabled(authed(&admin, off)).await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    }
}
