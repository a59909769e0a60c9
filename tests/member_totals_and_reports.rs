//! Referral points per membership and per member in the balance and member views; a program
//! report whose `earned` leaves admin adjustments out and shows the referral part and the
//! adjustments apart; a bill's figures readable by the billing service.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ledger_support;

use common::authed;
use ledger_support::{Shop, bill, code_of, dec, money, pts};
use loyalty_core::{ConversionRate, Currency, EarnRate, ProgramRules, RedemptionRules};
use loyalty_grpc::pb;
use loyalty_grpc::pb::member_service_client::MemberServiceClient;
use loyalty_grpc::pb::report_service_client::ReportServiceClient;
use tonic::Code;

fn referral_shop() -> ProgramRules {
    let mut rules = ProgramRules::new(Currency::new("INR").unwrap());
    rules.base_rate = EarnRate::new(pts(1), dec("10")).unwrap();
    rules.referral_percent = "10".parse().unwrap();
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(pts(1), money("1.00", Currency::new("INR").unwrap())).unwrap(),
        min_points: pts(1),
        max_bill_share: "100".parse().unwrap(),
        max_points_per_bill: None,
    });
    rules
}

on_both_backends! {
    async fn referral_points_and_separate_report_figures(server) {
        let mut shop = Shop::open(server, "Referrals").await;
        let program = shop.program(server, "Points", referral_shop());
        let ana = shop.member(server, "CARD-ANA", None, &[&program]);
        let ben = shop.member(server, "CARD-BEN", Some(&ana), &[&program]);
        let (svc, admin) = (shop.service.clone(), shop.admin.clone());

        // Ben's 1000 earns him 100 points and Ana, his referrer, 10% of the bill: 100.
        let earn = |member: &str, reference: &str, amount: &str| authed(&svc, pb::EarnRequest {
            idempotency_key: format!("{reference}:earn"),
            member_id: member.into(),
            program_id: program.clone(),
            bill: Some(bill(reference, &[("", amount)])),
        });
        shop.ledger.earn(earn(&ben, "B-1", "1000")).await.unwrap();
        shop.ledger.earn(earn(&ana, "A-1", "500")).await.unwrap();
        let adjust = |points: &str, idem: &str| authed(&admin, pb::AdjustRequest {
            idempotency_key: idem.into(),
            member_id: ana.clone(),
            program_id: program.clone(),
            points: points.into(),
            reason: "goodwill".into(),
        });
        shop.ledger.adjust(adjust("40", "adj-1")).await.unwrap();
        shop.ledger.adjust(adjust("-15", "adj-2")).await.unwrap();

        // The balance view shows Ana's referral points apart (they are part of earned).
        let mut members = MemberServiceClient::new(server.channel().await);
        let balances = members
            .get_balances(authed(&svc, pb::GetBalancesRequest { member_id: ana.clone(), program_id: program.clone(), as_of: String::new() }))
            .await.unwrap().into_inner().memberships;
        assert_eq!(balances.len(), 1);
        assert_eq!(balances[0].referral_earned, "100");
        assert_eq!(balances[0].balances.as_ref().unwrap().earned, "190", "50 + 100 referral + 40 adjusted up");
        let bens = members
            .get_balances(authed(&svc, pb::GetBalancesRequest { member_id: ben.clone(), program_id: String::new(), as_of: String::new() }))
            .await.unwrap().into_inner().memberships;
        assert_eq!(bens[0].referral_earned, "0");

        // So does the member view, over all of Ana's programs.
        let read = members.get_member(authed(&svc, pb::GetMemberRequest { member_id: ana.clone() })).await.unwrap().into_inner();
        assert_eq!(read.referral_earned, "100");

        // The report: earned is what bills and referrals earned; adjustments are apart.
        let mut reports = ReportServiceClient::new(server.channel().await);
        let report = reports
            .get_program_report(authed(&admin, pb::GetProgramReportRequest { program_id: program.clone(), as_of: String::new() }))
            .await.unwrap().into_inner();
        let figures = (
            report.earned.as_str(), report.referral.as_str(), report.campaign.as_str(), report.tier_bonus.as_str(),
            report.adjusted_up.as_str(), report.adjusted_down.as_str(), report.reversed.as_str(),
        );
        assert_eq!(figures, ("250", "100", "0", "0", "40", "15", "0"));
        assert_eq!(report.points_outstanding, "275");

        // A redemption of 50 is a fifth of what was earned (not of 290).
        shop.ledger.redeem(authed(&svc, pb::RedeemRequest {
            idempotency_key: "B-2:redeem".into(),
            member_id: ben.clone(),
            program_id: program.clone(),
            bill: Some(bill("B-2", &[("", "100")])),
            points: "50".into(),
        })).await.unwrap();
        let report = reports
            .get_program_report(authed(&admin, pb::GetProgramReportRequest { program_id: program.clone(), as_of: String::new() }))
            .await.unwrap().into_inner();
        assert_eq!((report.redeemed.as_str(), report.redemption_rate.as_str()), ("50", "0.2"));

        // The billing service reads a bill's figures (a member key still may not).
        let bills = shop.ledger.get_bill(authed(&svc, pb::GetBillRequest { reference: "B-2".into() })).await.unwrap().into_inner().bills;
        assert_eq!(bills.len(), 1);
        let ben_key = shop.member_key(server, &ben).await;
        assert_eq!(code_of(shop.ledger.get_bill(authed(&ben_key, pb::GetBillRequest { reference: "B-2".into() })).await), Code::PermissionDenied);
        assert!(server.store.verify(None).unwrap().is_empty());
    }
}
