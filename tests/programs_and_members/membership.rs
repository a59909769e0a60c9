//! Enrolment, cards and customer ids, referrers, memberships and balances, and paging.

use super::common::tenant;
use super::*;

on_both_backends! {
    async fn members_are_enrolled_and_found_by_card_and_by_customer_id(server) {
        let (_, admin, service) = tenant(server, "Pharmacy chain").await;
        let pharmacy = create_program(server, &admin, "Pharmacy", pharmacy_rules()).await;
        let wallet = create_program(server, &admin, "Wallet", base("INR", "1", "100")).await;
        let mut client = member_client(server).await;
        let request = pb::EnrollMemberRequest {
            idempotency_key: common::fresh_key(),
            program_ids: vec![pharmacy.id.clone()],
            phone: "+91 98765 43210".into(),
            ..enrollment("C-1", "card-0001")
        };
        let enrolled = client.enroll_member(authed(&service, request)).await.unwrap().into_inner();
        let member = enrolled.member.unwrap();
        assert_eq!((member.card_number.as_str(), member.active), ("CARD-0001", true));
        let [membership] = enrolled.memberships.as_slice() else {
            panic!("one membership expected: {:?}", enrolled.memberships)
        };
        assert_eq!(membership.program_id, pharmacy.id);
        assert_eq!(membership.balances.as_ref().unwrap().available, "0.00");

        let found = client.lookup_member(authed(&service, by_card("card-0001"))).await.unwrap();
        assert_eq!(found.into_inner().member.as_ref(), Some(&member));
        let found = client.lookup_member(authed(&admin, by_customer("C-1"))).await.unwrap();
        assert_eq!(found.into_inner().member.as_ref(), Some(&member));

        let same_card = client.enroll_member(authed(&service, enrollment("C-2", "CARD-0001")));
        assert_eq!(code(same_card.await), Code::AlreadyExists);
        // An unknown program enrolls nobody.
        let request = pb::EnrollMemberRequest {
            idempotency_key: common::fresh_key(),
            program_ids: vec![unknown_id()],
            ..enrollment("C-3", "CARD-0003")
        };
        assert_eq!(code(client.enroll_member(authed(&service, request)).await), Code::NotFound);
        let nobody = client.lookup_member(authed(&service, by_customer("C-3"))).await;
        assert_eq!(code(nobody), Code::NotFound);

        let join = pb::JoinProgramRequest {
            idempotency_key: common::fresh_key(),
            member_id: member.id.clone(),
            program_id: wallet.id.clone(),
        };
        let joined = client.join_program(authed(&service, join.clone())).await.unwrap().into_inner();
        // A retry with the same key answers with the same membership; a new join is refused.
        let retried = client.join_program(authed(&service, join.clone())).await.unwrap().into_inner();
        assert_eq!(retried.membership.unwrap().id, joined.membership.unwrap().id);
        let again = pb::JoinProgramRequest { idempotency_key: common::fresh_key(), ..join };
        assert_eq!(code(client.join_program(authed(&service, again)).await), Code::AlreadyExists);
        let balances = |program_id: &str| {
            let request = pb::GetBalancesRequest {
                member_id: member.id.clone(),
                program_id: program_id.into(),
                as_of: String::new(),
            };
            authed(&service, request)
        };
        let all = client.get_balances(balances("")).await.unwrap().into_inner().memberships;
        let mut joined: Vec<&str> = all.iter().map(|m| m.program_id.as_str()).collect();
        joined.sort_unstable();
        let mut expected = [pharmacy.id.as_str(), wallet.id.as_str()];
        expected.sort_unstable();
        assert_eq!(joined, expected);
        let one = client.get_balances(balances(&wallet.id)).await.unwrap().into_inner();
        assert_eq!(one.memberships.len(), 1);

        let update = pb::UpdateMemberRequest {
            idempotency_key: common::fresh_key(),
            member_id: member.id.clone(),
            name: "Asha".into(),
            card_number: "card-0009".into(),
            ..Default::default()
        };
        let updated = client.update_member(authed(&service, update)).await.unwrap();
        let updated = updated.into_inner().member.unwrap();
        assert_eq!(
            (updated.name.as_str(), updated.card_number.as_str(), updated.phone.as_str()),
            ("Asha", "CARD-0009", "+91 98765 43210")
        );
        let off = pb::DeactivateMemberRequest { idempotency_key: common::fresh_key(), member_id: member.id.clone() };
        let deactivated = client.deactivate_member(authed(&admin, off)).await.unwrap();
        assert!(!deactivated.into_inner().member.unwrap().active);
    }

    async fn a_referrer_is_linked_once_without_self_referral_or_cycles(server) {
        let (_, _, service) = tenant(server, "Pharmacy chain").await;
        let asha = enroll(server, &service, "A", "CARD-000A").await;
        let bala = enroll(server, &service, "B", "CARD-000B").await;
        let mut client = member_client(server).await;
        let link = |member: &pb::Member, referrer: &pb::Member| {
            let request = pb::LinkReferrerRequest {
                idempotency_key: common::fresh_key(),
                member_id: member.id.clone(),
                referrer_id: referrer.id.clone(),
            };
            authed(&service, request)
        };
        let itself = client.link_referrer(link(&asha, &asha)).await;
        assert_eq!(code(itself), Code::FailedPrecondition);
        let linked = client.link_referrer(link(&bala, &asha)).await.unwrap();
        let linked = linked.into_inner().member.unwrap();
        assert_eq!(linked.referrer_id, asha.id);
        let cycle = client.link_referrer(link(&asha, &bala)).await;
        assert_eq!(code(cycle), Code::FailedPrecondition);
        let request = pb::EnrollMemberRequest {
            idempotency_key: common::fresh_key(),
            referrer_id: bala.id.clone(),
            ..enrollment("C", "CARD-000C")
        };
        let chitra = client.enroll_member(authed(&service, request)).await.unwrap();
        let chitra = chitra.into_inner().member.unwrap();
        let longer_cycle = client.link_referrer(link(&asha, &chitra)).await;
        assert_eq!(code(longer_cycle), Code::FailedPrecondition);

        let referrals = |member: &pb::Member| {
            authed(&service, pb::ListReferralsRequest { member_id: member.id.clone() })
        };
        let of_asha = client.list_referrals(referrals(&asha)).await.unwrap().into_inner();
        assert_eq!(of_asha.members, [linked]);
        let of_bala = client.list_referrals(referrals(&bala)).await.unwrap().into_inner();
        assert_eq!(of_bala.members, std::slice::from_ref(&chitra));
        let of_chitra = client.list_referrals(referrals(&chitra)).await.unwrap().into_inner();
        assert!(of_chitra.members.is_empty());
    }

    async fn members_are_listed_a_page_at_a_time(server) {
        let (_, admin, service) = tenant(server, "Shop").await;
        let mut enrolled = Vec::new();
        for i in 0..5 {
            let member = enroll(server, &service, &format!("C{i}"), &format!("CARD-{i:04}")).await;
            enrolled.push(member.id);
        }
        let mut client = member_client(server).await;
        let (mut seen, mut token, mut pages) = (Vec::new(), String::new(), 0);
        loop {
            let request = pb::ListMembersRequest { page_size: 2, page_token: token.clone() };
            let page = client.list_members(authed(&admin, request)).await.unwrap().into_inner();
            assert!(page.members.len() <= 2);
            seen.extend(page.members.into_iter().map(|m| m.id));
            pages += 1;
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!((pages, seen), (3, enrolled));
    }
}
