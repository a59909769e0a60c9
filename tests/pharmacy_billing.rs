//! A pharmacy's loyalty cards: category points with two decimals (Medicines 1 %, General 3 %,
//! Baby 5 %), a referrer's 0.5 % share, redemption at billing capped at half the bill, and a
//! cancelled bill that takes the points back and gives the redeemed ones back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ledger_support;

use common::authed;
use ledger_support::{Shop, available, bill, code_of, dec, money, pts, status_of};
use loyalty_core::{
    Category, CategoryRule, ConversionRate, Currency, Percent, PointPrecision, Points,
    ProgramRules, RedemptionRules, Rounding,
};
use loyalty_grpc::pb;
use tonic::Code;

fn pharmacy() -> ProgramRules {
    let inr = Currency::new("INR").unwrap();
    let mut rules = ProgramRules::new(inr);
    rules.precision = PointPrecision::new(2, Rounding::Down).unwrap();
    let category = |name: &str, percent: &str| CategoryRule {
        category: Category::new(name).unwrap(),
        earn_percent: Percent::new(dec(percent)).unwrap(),
    };
    rules.categories = vec![
        category("Medicines", "1"),
        category("General", "3"),
        category("Baby", "5"),
    ];
    rules.referral_percent = Percent::new(dec("0.5")).unwrap();
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(pts(100), money("10.00", inr)).unwrap(),
        min_points: pts(100),
        max_bill_share: Percent::new(dec("50")).unwrap(),
        max_points_per_bill: None,
    });
    rules
}

fn points(value: &str) -> Points {
    Points::new(dec(value)).unwrap()
}

on_both_backends! {
    async fn a_pharmacy_bill_earns_by_category_pays_the_referrer_and_caps_redemption(server) {
        let mut shop = Shop::open(server, "City Pharmacy").await;
        let program = shop.program(server, "Care Card", pharmacy());
        let asha = shop.member(server, "PH-0001", None, &[&program]);
        let ravi = shop.member(server, "PH-0002", Some(&asha), &[&program]);
        let svc = shop.service.clone();
        let admin = shop.admin.clone();

        // Medicines 1 % of 1000 + General 3 % of 500 + Baby 5 % of 12.30 = 10 + 15 + 0.61.
        let earn = |idem: &str, reference: &str, lines: &[(&str, &str)]| {
            authed(&svc, pb::EarnRequest {
                idempotency_key: idem.into(),
                member_id: ravi.clone(),
                program_id: program.clone(),
                bill: Some(bill(reference, lines)),
            })
        };
        let earned = shop
            .ledger
            .earn(earn("bill-1", "BILL-1", &[("Medicines", "1000"), ("General", "500"), ("Baby", "12.30")]))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(earned.points_earned, "25.61");
        assert_eq!(earned.breakdown.as_ref().unwrap().base, "25.61");
        assert_eq!(earned.breakdown.as_ref().unwrap().tier_multiplier, "1");
        // Asha referred Ravi: 0.5 % of 1512.30, rounded down to 2 decimals.
        assert_eq!(earned.referral_points, "7.56");
        assert_eq!(earned.referrer_id, asha);
        assert_eq!(shop.balances(server, &asha, &program).available, points("7.56"));

        // A promotion gives Ravi enough points to pay with them.
        shop.ledger
            .adjust(authed(&admin, pb::AdjustRequest {
                idempotency_key: "welcome".into(),
                member_id: ravi.clone(),
                program_id: program.clone(),
                points: "1000".into(),
                reason: "welcome bonus".into(),
            }))
            .await
            .unwrap();

        // At billing, half of a 100.00 bill is the most points may pay: 500 points = 50.00.
        let quote = shop
            .ledger
            .quote(authed(&svc, pb::QuoteRequest {
                member_id: ravi.clone(),
                program_id: program.clone(),
                bill: Some(bill("BILL-2", &[("Medicines", "100")])),
                points_to_redeem: String::new(),
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(quote.max_redeemable_points, "500.00");
        assert_eq!(quote.max_redeemable_value, "50.00");
        assert_eq!(quote.max_redeemable_limited_by, "bill_share");
        assert_eq!(quote.to_pay, "100.00");
        assert_eq!(quote.earning.as_ref().unwrap().total, "1.00");
        assert_eq!(quote.referral_points, "0.50");

        // More than half is refused, naming the rule, and changes nothing.
        let redeem = |idem: &str, points: &str| {
            authed(&svc, pb::RedeemRequest {
                idempotency_key: idem.into(),
                member_id: ravi.clone(),
                program_id: program.clone(),
                bill: Some(bill("BILL-2", &[("Medicines", "100")])),
                points: points.into(),
            })
        };
        let before = shop.balances(server, &ravi, &program);
        let refused = status_of(shop.ledger.redeem(redeem("bill-2-redeem-a", "600")).await);
        assert_eq!(refused.code(), Code::FailedPrecondition);
        assert!(refused.message().contains("exceeds 50% of the bill"), "{}", refused.message());
        assert_eq!(shop.balances(server, &ravi, &program), before);

        // Within the limit: 500 points pay 50.00, 50.00 is left to pay.
        let paid = shop.ledger.redeem(redeem("bill-2-redeem-b", "500")).await.unwrap().into_inner();
        assert_eq!(paid.points, "500.00");
        assert_eq!(paid.value.as_ref().unwrap().amount, "50.00");
        assert_eq!(paid.value.as_ref().unwrap().currency, "INR");
        assert_eq!(paid.to_pay, "50.00");
        assert_eq!(available(&paid.balances), "525.61");

        // The bill earns on the 50.00 paid in cash; Asha earns 0.5 % of that.
        let earned = shop.ledger.earn(earn("bill-2", "BILL-2", &[("Medicines", "100")])).await.unwrap().into_inner();
        assert_eq!(earned.points_earned, "0.50");
        assert_eq!(earned.referral_points, "0.25");
        assert_eq!(available(&earned.balances), "526.11");

        // A disabled card system refuses billing but still reads.
        server.store.set_program_enabled(&shop.tenant, None, &program, false).unwrap();
        assert_eq!(code_of(shop.ledger.earn(earn("bill-3", "BILL-3", &[("General", "10")])).await), Code::FailedPrecondition);
        server.store.set_program_enabled(&shop.tenant, None, &program, true).unwrap();

        // The bill is cancelled: Ravi's 0.5 and Asha's 0.25 are taken back, the 500 redeemed
        // points come back.
        let reversed = shop
            .ledger
            .reverse(authed(&svc, pb::ReverseRequest {
                idempotency_key: "bill-2-cancel".into(),
                member_id: ravi.clone(),
                program_id: program.clone(),
                reference: "BILL-2".into(),
                amount: String::new(),
                reason: "bill cancelled".into(),
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(reversed.points_reversed, "0.50");
        assert_eq!(reversed.points_returned, "500.00");
        assert_eq!(reversed.referral_reversed, "0.25");
        assert_eq!(available(&reversed.balances), "1025.61");
        assert_eq!(shop.balances(server, &asha, &program).available, points("7.56"));

        // The bill's summary shows what it earned, redeemed and had reversed.
        let summary = shop
            .ledger
            .get_bill(authed(&admin, pb::GetBillRequest { reference: "BILL-2".into() }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(summary.bills.len(), 1);
        let b = &summary.bills[0];
        assert_eq!((b.earned.as_str(), b.earned_reversed.as_str()), ("0.50", "0.50"));
        assert_eq!((b.redeemed.as_str(), b.redeemed_returned.as_str()), ("500.00", "500.00"));
        assert_eq!(b.redeemed_value, "50.00");
        assert_eq!((b.referral.as_str(), b.member_id.as_str()), ("0.25", ravi.as_str()));

        // Referral effectiveness: one referrer, one referred member who earns, 7.81 points paid.
        let mut reports = pb::report_service_client::ReportServiceClient::new(server.channel().await);
        let referrals = reports
            .get_referral_report(authed(&admin, pb::GetReferralReportRequest { program_id: program.clone() }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((referrals.referrers, referrals.referred_members, referrals.referred_members_who_earned), (1, 1, 1));
        assert_eq!(referrals.referral_points, "7.81");

        // A bill cannot be reversed beyond what it earned.
        let again = authed(&svc, pb::ReverseRequest {
            idempotency_key: "bill-2-cancel-again".into(),
            member_id: ravi.clone(),
            program_id: program.clone(),
            reference: "BILL-2".into(),
            amount: String::new(),
            reason: "bill cancelled twice".into(),
        });
        assert_eq!(code_of(shop.ledger.reverse(again).await), Code::FailedPrecondition);
    }
}
