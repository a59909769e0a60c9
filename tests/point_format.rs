//! Points on the wire are shown with their program's point decimals, the way money is shown
//! with its currency's: a program with two point decimals answers "19.80" and "300.00", one
//! with whole points answers "300"; an answer that mixes programs shows each item in its own
//! program's format (a member's or the tenant's history, the change stream). Only the text is
//! padded: inputs take "300" and "300.00" alike.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ledger_support;

use std::time::Duration;

use common::authed;
use ledger_support::{Shop, available, bill, dec, pts};
use loyalty_core::{Currency, EarnRate, PointPrecision, ProgramRules, Rounding};
use loyalty_grpc::pb;
use loyalty_grpc::pb::change_stream_service_client::ChangeStreamServiceClient;
use loyalty_grpc::pb::member_service_client::MemberServiceClient;
use loyalty_grpc::pb::report_service_client::ReportServiceClient;

/// One point per 10.00 spent, in points with `decimals` decimals.
fn rules(decimals: u32) -> ProgramRules {
    let mut rules = ProgramRules::new(Currency::new("INR").unwrap());
    rules.precision = PointPrecision::new(decimals, Rounding::Down).unwrap();
    rules.base_rate = EarnRate::new(pts(1), dec("10")).unwrap();
    rules
}

on_both_backends! {
    async fn points_are_shown_with_their_program_decimals(server) {
        let mut shop = Shop::open(server, "Padding").await;
        let care = shop.program(server, "Care Card", rules(2));
        let whole = shop.program(server, "Whole Points", rules(0));
        let asha = shop.member(server, "PAD-0001", None, &[&care, &whole]);
        let (svc, admin) = (shop.service.clone(), shop.admin.clone());
        let earn = |key: &str, program: &str, reference: &str, amount: &str| {
            authed(&svc, pb::EarnRequest {
                idempotency_key: key.into(),
                member_id: asha.clone(),
                program_id: program.into(),
                bill: Some(bill(reference, &[("", amount)])),
            })
        };

        // Earn: 198.00 earns 19.8 points, shown "19.80"; 3000 earns "300" whole points.
        let earned = shop.ledger.earn(earn("care-1", &care, "CARE-1", "198")).await.unwrap().into_inner();
        assert_eq!(earned.points_earned, "19.80");
        assert_eq!(earned.breakdown.as_ref().unwrap().total, "19.80");
        assert_eq!(earned.breakdown.as_ref().unwrap().tier_bonus, "0.00");
        assert_eq!(earned.referral_points, "0.00");
        assert_eq!(available(&earned.balances), "19.80");
        assert_eq!(earned.balances.as_ref().unwrap().pending, "0.00");
        // A retry answers the same text.
        let replay = shop.ledger.earn(earn("care-1", &care, "CARE-1", "198")).await.unwrap().into_inner();
        assert_eq!(replay, earned);
        let earned = shop.ledger.earn(earn("whole-1", &whole, "WHOLE-1", "3000")).await.unwrap().into_inner();
        assert_eq!(earned.points_earned, "300");
        assert_eq!(available(&earned.balances), "300");

        // Signed amounts are padded too; the input takes "280.2" like "280.20".
        let adjusted = shop
            .ledger
            .adjust(authed(&admin, pb::AdjustRequest {
                idempotency_key: "care-adj".into(),
                member_id: asha.clone(),
                program_id: care.clone(),
                points: "280.2".into(),
                reason: "goodwill".into(),
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(available(&adjusted.balances), "300.00");

        // GetBalances: each membership in its own program's format.
        let mut members = MemberServiceClient::new(server.channel().await);
        let balances = members
            .get_balances(authed(&svc, pb::GetBalancesRequest {
                member_id: asha.clone(),
                program_id: String::new(),
                as_of: String::new(),
            }))
            .await
            .unwrap()
            .into_inner()
            .memberships;
        let of = |program: &str| {
            balances.iter().find(|m| m.program_id == program).unwrap().clone()
        };
        let (care_balances, whole_balances) = (of(&care).balances.unwrap(), of(&whole).balances.unwrap());
        assert_eq!((care_balances.available.as_str(), care_balances.earned.as_str()), ("300.00", "300.00"));
        assert_eq!((care_balances.debt.as_str(), of(&care).referral_earned.as_str()), ("0.00", "0.00"));
        assert_eq!((whole_balances.available.as_str(), whole_balances.earned.as_str()), ("300", "300"));
        assert_eq!((whole_balances.debt.as_str(), of(&whole).referral_earned.as_str()), ("0", "0"));

        // ListTransactions mixes both programs: each entry in its own program's format,
        // deltas and balances after included.
        let entries = shop
            .ledger
            .list_transactions(authed(&svc, pb::ListTransactionsRequest {
                member_id: asha.clone(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
            .entries;
        let shown = |e: &pb::LedgerEntry| {
            (e.points.clone(), e.available_delta.clone(), e.pending_delta.clone(), e.balance_after.clone())
        };
        let entry = |program: &str, kind: pb::EntryKind| {
            entries.iter().find(|e| e.program_id == program && e.kind == kind as i32).unwrap()
        };
        let text = |values: [&str; 4]| values.map(str::to_owned).into();
        assert_eq!(shown(entry(&care, pb::EntryKind::Earned)), text(["19.80", "19.80", "0.00", "19.80"]));
        assert_eq!(shown(entry(&care, pb::EntryKind::Adjusted)), text(["280.20", "280.20", "0.00", "300.00"]));
        assert_eq!(shown(entry(&whole, pb::EntryKind::Earned)), text(["300", "300", "0", "300"]));
        assert_eq!(entries.len(), 3);
        // So does the tenant's whole history.
        let tenant_wide = shop
            .ledger
            .list_transactions(authed(&svc, pb::ListTransactionsRequest::default()))
            .await
            .unwrap()
            .into_inner()
            .entries;
        assert_eq!(tenant_wide, entries);

        // The change stream: each entry in its own program's format.
        let mut changes = ChangeStreamServiceClient::new(server.channel().await);
        let mut stream = changes
            .stream_changes(authed(&svc, pb::StreamChangesRequest { after_sequence: 0 }))
            .await
            .unwrap()
            .into_inner();
        let mut streamed = Vec::new();
        while streamed.len() < 3 {
            let message = tokio::time::timeout(Duration::from_secs(60), stream.message())
                .await
                .expect("the stream went quiet")
                .unwrap()
                .expect("the stream ended");
            streamed.extend(message.changes.into_iter().filter_map(|c| match c.change {
                Some(pb::change::Change::Entry(e)) => Some((e.program_id, e.points, e.balance_after)),
                _ => None,
            }));
        }
        let expected = |program: &str, points: &str, after: &str| (program.to_owned(), points.to_owned(), after.to_owned());
        assert!(streamed.contains(&expected(&care, "19.80", "19.80")), "{streamed:?}");
        assert!(streamed.contains(&expected(&care, "280.20", "300.00")), "{streamed:?}");
        assert!(streamed.contains(&expected(&whole, "300", "300")), "{streamed:?}");

        // GetProgramReport: the program's totals in its format.
        let mut reports = ReportServiceClient::new(server.channel().await);
        let report = |program: &str| {
            authed(&admin, pb::GetProgramReportRequest { program_id: program.into(), as_of: String::new() })
        };
        let r = reports.get_program_report(report(&care)).await.unwrap().into_inner();
        let figures = (r.points_outstanding.as_str(), r.earned.as_str(), r.adjusted_up.as_str(), r.redeemed.as_str());
        assert_eq!(figures, ("300.00", "19.80", "280.20", "0.00"));
        let r = reports.get_program_report(report(&whole)).await.unwrap().into_inner();
        let figures = (r.points_outstanding.as_str(), r.earned.as_str(), r.adjusted_up.as_str(), r.redeemed.as_str());
        assert_eq!(figures, ("300", "300", "0", "0"));

        assert!(server.store.verify(None).unwrap().is_empty());
    }
}
