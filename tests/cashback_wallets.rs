//! Cashback wallets end to end: a cashback program's balance is money in its currency. Base and
//! category percentages, the cap per bill and a campaign's caps, pending until the return
//! window passes, spending at checkout 1:1, a return reversing cashback, the cashback records
//! with their status, reports in money; a cashback program whose point decimals are not its
//! currency's minor units is refused. The invariant checker runs after every scenario.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ledger_support;

use chrono::{DateTime, Duration, Utc};
use common::{TestServer, authed};
use ledger_support::{Shop, available, bill, status_of};
use loyalty_grpc::pb;
use loyalty_grpc::pb::member_service_client::MemberServiceClient;
use loyalty_grpc::pb::program_service_client::ProgramServiceClient;
use loyalty_grpc::pb::report_service_client::ReportServiceClient;
use tonic::Code;

/// A euro wallet: 2 % back, 5 % on "Electronics", a 14-day return window, spent 1:1.
fn euro_wallet(cap: &str) -> pb::ProgramRules {
    pb::ProgramRules {
        kind: pb::ProgramKind::Cashback as i32,
        currency: "EUR".into(),
        point_decimals: 2,
        base_points: "2".into(),
        base_per: "100".into(),
        categories: vec![pb::CategoryRule {
            category: "Electronics".into(),
            earn_percent: "5".into(),
        }],
        earn_cap_per_bill: cap.into(),
        pending_days: 14,
        redemption: Some(pb::RedemptionRules {
            rate_points: "1".into(),
            rate_value: "1".into(),
            min_points: String::new(),
            max_bill_share_percent: String::new(),
            max_points_per_bill: String::new(),
        }),
        ..Default::default()
    }
}

/// Creates a program through the API; its id, or the refusal.
async fn create(
    server: &TestServer,
    shop: &Shop,
    name: &str,
    rules: pb::ProgramRules,
) -> Result<String, tonic::Status> {
    let mut programs = ProgramServiceClient::new(server.channel().await);
    programs
        .create_program(authed(
            &shop.admin,
            pb::CreateProgramRequest {
                idempotency_key: format!("create:{}", name.replace(' ', "-")),
                name: name.into(),
                rules: Some(rules),
            },
        ))
        .await
        .map(|r| r.into_inner().program.unwrap().id)
}

/// Earns on a bill of `lines`; the response.
async fn earn(
    shop: &mut Shop,
    member: &str,
    program: &str,
    reference: &str,
    lines: &[(&str, &str)],
) -> pb::EarnResponse {
    shop.ledger
        .earn(authed(
            &shop.service,
            pb::EarnRequest {
                idempotency_key: format!("{reference}:earn"),
                member_id: member.into(),
                program_id: program.into(),
                bill: Some(bill(reference, lines)),
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

/// The member's cashback wallet, read with `key`.
async fn wallet(
    server: &TestServer,
    key: &str,
    member: &str,
    program: &str,
) -> Result<pb::ListCashbackRecordsResponse, tonic::Status> {
    let mut members = MemberServiceClient::new(server.channel().await);
    members
        .list_cashback_records(authed(
            key,
            pb::ListCashbackRecordsRequest {
                member_id: member.into(),
                program_id: program.into(),
                limit: 0,
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

fn record<'a>(w: &'a pb::ListCashbackRecordsResponse, reference: &str) -> &'a pb::CashbackRecord {
    w.records
        .iter()
        .find(|r| r.reference == reference)
        .unwrap_or_else(|| panic!("no record of {reference}: {w:?}"))
}

fn status(r: &pb::CashbackRecord) -> pb::CashbackStatus {
    pb::CashbackStatus::try_from(r.status).unwrap()
}

fn time(value: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value)
        .unwrap()
        .with_timezone(&Utc)
}

fn no_violations(server: &TestServer) {
    let violations = server.store.verify(None).unwrap();
    assert!(violations.is_empty(), "{violations:?}");
}

on_both_backends! {
    async fn a_cashback_program_whose_point_decimals_are_not_its_currency_minor_units_is_refused(server) {
        let shop = Shop::open(server, "Wallets").await;
        for (currency, decimals) in [("EUR", 0), ("EUR", 4), ("JPY", 2)] {
            let rules = pb::ProgramRules {
                currency: currency.into(),
                point_decimals: decimals,
                ..euro_wallet("")
            };
            let refused = create(server, &shop, &format!("{currency}-{decimals}"), rules).await.unwrap_err();
            assert_eq!(refused.code(), Code::InvalidArgument, "{currency} {decimals}");
            assert!(refused.message().contains("minor units"), "{}", refused.message());
        }
        // Yen have no minor unit: a yen wallet keeps whole yen.
        let yen = pb::ProgramRules { currency: "JPY".into(), point_decimals: 0, ..euro_wallet("") };
        create(server, &shop, "Yen wallet", yen).await.unwrap();

        // A wallet spends 1:1 and must be spendable.
        let mut rules = euro_wallet("");
        rules.redemption.as_mut().unwrap().rate_points = "100".into();
        let refused = create(server, &shop, "Ten cents a point", rules).await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert!(refused.message().contains("1:1"), "{}", refused.message());
        let refused = create(server, &shop, "Unspendable", pb::ProgramRules { redemption: None, ..euro_wallet("") })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        let unknown = pb::ProgramRules { kind: 7, ..euro_wallet("") };
        assert_eq!(create(server, &shop, "Unknown kind", unknown).await.unwrap_err().code(), Code::InvalidArgument);

        // The same decimals in a points program are fine; its kind cannot become cashback.
        let points = pb::ProgramRules { kind: pb::ProgramKind::Points as i32, point_decimals: 0, ..euro_wallet("") };
        let program = create(server, &shop, "Points", points).await.unwrap();
        let mut programs = ProgramServiceClient::new(server.channel().await);
        let refused = status_of(
            programs
                .update_program(authed(&shop.admin, pb::UpdateProgramRequest {
                    idempotency_key: "update:points".into(),
                    program_id: program.clone(),
                    name: "Points".into(),
                    rules: Some(euro_wallet("")),
                }))
                .await,
        );
        assert_eq!(refused.code(), Code::FailedPrecondition);
        assert!(refused.message().contains("kind cannot change"), "{}", refused.message());

        // A points program has no cashback records.
        let member = shop.member(server, "CARD-1", None, &[&program]);
        let refused = wallet(server, &shop.service, &member, &program).await.unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition);
        no_violations(server);
    }

    async fn base_and_category_percentages_and_the_cap_per_bill_give_money(server) {
        let mut shop = Shop::open(server, "Wallets").await;
        let program = create(server, &shop, "Euro wallet", euro_wallet("10.00")).await.unwrap();
        let member = shop.member(server, "CARD-1", None, &[&program]);

        // 2 % of 123.45 = 2.469 and 5 % of 99.99 = 4.9995: 7.4685, rounded down to the cent
        // once per bill.
        let mixed = earn(&mut shop, &member, &program, "MIXED-1", &[("", "123.45"), ("Electronics", "99.99")]).await;
        assert_eq!(mixed.points_earned, "7.46");
        server.clock.advance(Duration::minutes(1));
        // 5 % of 400.00 = 20.00, capped at 10.00 per bill: the cut shows.
        let capped = earn(&mut shop, &member, &program, "TV-1", &[("Electronics", "400.00")]).await;
        assert_eq!(capped.points_earned, "10.00");
        assert_eq!(capped.breakdown.as_ref().unwrap().cap_reduction, "10.00");

        let w = wallet(server, &shop.service, &member, &program).await.unwrap();
        assert_eq!(w.currency, "EUR");
        let balances = w.balances.as_ref().unwrap();
        assert_eq!((balances.available.as_str(), balances.pending.as_str()), ("0.00", "17.46"));
        assert_eq!(w.records.len(), 2);
        assert_eq!(w.records[0].reference, "TV-1", "newest first");
        let tv = record(&w, "TV-1");
        assert_eq!(tv.transaction_amount, "400.00");
        assert_eq!(tv.cashback_amount, "10.00");
        assert_eq!(tv.percent, "2.5");
        assert_eq!(tv.lines[0].percent, "5");
        let mixed = record(&w, "MIXED-1");
        assert_eq!(mixed.bill_total, "223.44");
        assert_eq!(mixed.transaction_amount, "223.44");
        assert_eq!(mixed.cashback_amount, "7.46");
        assert_eq!(mixed.percent, "3.3387");
        assert_eq!(mixed.campaign_amount, "0.00");
        assert!(mixed.campaign_ids.is_empty());
        assert_eq!(mixed.reversed_amount, "0.00");
        let lines: Vec<(&str, &str, &str, &str)> = mixed
            .lines
            .iter()
            .map(|l| (l.category.as_str(), l.amount.as_str(), l.percent.as_str(), l.cashback_amount.as_str()))
            .collect();
        // The lines share the bill's 7.46 (rounded down, the remainder cent to the heaviest).
        assert_eq!(lines, [("", "123.45", "2", "2.46"), ("Electronics", "99.99", "5", "5.00")]);
        assert_eq!(status(mixed), pb::CashbackStatus::Pending);
        assert_eq!(time(&mixed.available_from) - time(&mixed.earned_at), Duration::days(14));

        // The member reads its own wallet with its own key.
        let own = shop.member_key(server, &member).await;
        assert_eq!(wallet(server, &own, &member, &program).await.unwrap().records.len(), 2);
        no_violations(server);
    }

    async fn cashback_is_pending_until_the_return_window_passes_then_spent_at_checkout_one_to_one(server) {
        let mut shop = Shop::open(server, "Wallets").await;
        let program = create(server, &shop, "Euro wallet", euro_wallet("")).await.unwrap();
        let member = shop.member(server, "CARD-1", None, &[&program]);
        let earned = earn(&mut shop, &member, &program, "SHOES-1", &[("", "500.00")]).await;
        assert_eq!(earned.points_earned, "10.00");
        assert_eq!(earned.balances.as_ref().unwrap().pending, "10.00");

        let redeem = |reference: &str, total: &str, points: &str| authed(&shop.service, pb::RedeemRequest {
            idempotency_key: format!("{reference}:redeem"),
            member_id: member.clone(),
            program_id: program.clone(),
            bill: Some(bill(reference, &[("", total)])),
            points: points.into(),
        });
        // Inside the return window the cashback cannot be spent.
        let refused = status_of(shop.ledger.redeem(redeem("PAY-0", "30.00", "5.00")).await);
        assert_eq!(refused.code(), Code::FailedPrecondition);

        server.clock.advance(Duration::days(14) - Duration::seconds(1));
        let w = wallet(server, &shop.service, &member, &program).await.unwrap();
        assert_eq!(status(record(&w, "SHOES-1")), pb::CashbackStatus::Pending);
        server.clock.advance(Duration::seconds(2));
        let w = wallet(server, &shop.service, &member, &program).await.unwrap();
        assert_eq!(status(record(&w, "SHOES-1")), pb::CashbackStatus::Processed);
        server.store.expire_due(Some(&shop.tenant), 100).unwrap();
        let w = wallet(server, &shop.service, &member, &program).await.unwrap();
        let balances = w.balances.as_ref().unwrap();
        assert_eq!((balances.available.as_str(), balances.pending.as_str()), ("10.00", "0.00"));

        // 7.50 of cashback pays 7.50 of a 30.00 bill.
        let paid = shop.ledger.redeem(redeem("PAY-1", "30.00", "7.50")).await.unwrap().into_inner();
        assert_eq!(paid.value.as_ref().unwrap().amount, "7.50");
        assert_eq!(paid.value.as_ref().unwrap().currency, "EUR");
        assert_eq!(paid.to_pay, "22.50");
        assert_eq!(available(&paid.balances), "2.50");
        // A cent more than the wallet holds is refused.
        let refused = status_of(shop.ledger.redeem(redeem("PAY-2", "30.00", "2.51")).await);
        assert_eq!(refused.code(), Code::FailedPrecondition);

        // The report is in money.
        let mut reports = ReportServiceClient::new(server.channel().await);
        let report = reports
            .get_program_report(authed(&shop.admin, pb::GetProgramReportRequest { program_id: program.clone(), as_of: String::new() }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(report.kind, pb::ProgramKind::Cashback as i32);
        assert_eq!(report.currency, "EUR");
        assert_eq!(report.points_outstanding, "2.50");
        assert_eq!(report.liability, "2.50");
        assert_eq!(report.earned, "10.00");
        assert_eq!(report.redeemed, "7.50");
        assert_eq!(report.expired, "0.00");
        no_violations(server);
    }

    async fn a_returned_bill_reverses_its_cashback_and_its_record_says_so(server) {
        let mut shop = Shop::open(server, "Wallets").await;
        let program = create(server, &shop, "Euro wallet", euro_wallet("")).await.unwrap();
        let member = shop.member(server, "CARD-1", None, &[&program]);
        earn(&mut shop, &member, &program, "COAT-1", &[("", "300.00")]).await;
        server.clock.advance(Duration::minutes(1));
        earn(&mut shop, &member, &program, "HAT-1", &[("", "100.00")]).await;

        let reverse = |reference: &str, amount: &str| authed(&shop.service, pb::ReverseRequest {
            idempotency_key: format!("{reference}:{amount}:reverse"),
            member_id: member.clone(),
            program_id: program.clone(),
            reference: reference.into(),
            amount: amount.into(),
            reason: "returned".into(),
        });
        let back = shop.ledger.reverse(reverse("COAT-1", "")).await.unwrap().into_inner();
        assert_eq!(back.points_reversed, "6.00");
        // Half the hat comes back: half its cashback goes.
        let half = shop.ledger.reverse(reverse("HAT-1", "50.00")).await.unwrap().into_inner();
        assert_eq!(half.points_reversed, "1.00");

        let w = wallet(server, &shop.service, &member, &program).await.unwrap();
        let coat = record(&w, "COAT-1");
        assert_eq!(status(coat), pb::CashbackStatus::Reversed);
        assert_eq!((coat.cashback_amount.as_str(), coat.reversed_amount.as_str()), ("6.00", "6.00"));
        assert_eq!(coat.returned_amount, "300.00");
        let hat = record(&w, "HAT-1");
        assert_eq!(status(hat), pb::CashbackStatus::Pending);
        assert_eq!((hat.cashback_amount.as_str(), hat.reversed_amount.as_str()), ("2.00", "1.00"));
        let balances = w.balances.as_ref().unwrap();
        assert_eq!((balances.pending.as_str(), balances.reversed.as_str()), ("1.00", "7.00"));

        // Past the window, the rest of the hat's cashback is processed; the coat stays reversed.
        server.clock.advance(Duration::days(15));
        let w = wallet(server, &shop.service, &member, &program).await.unwrap();
        assert_eq!(status(record(&w, "HAT-1")), pb::CashbackStatus::Processed);
        assert_eq!(status(record(&w, "COAT-1")), pb::CashbackStatus::Reversed);
        no_violations(server);
    }

    async fn a_campaign_adds_cashback_up_to_its_caps_per_member_and_overall(server) {
        let mut shop = Shop::open(server, "Wallets").await;
        let program = create(server, &shop, "Euro wallet", euro_wallet("")).await.unwrap();
        let ana = shop.member(server, "CARD-ANA", None, &[&program]);
        let ben = shop.member(server, "CARD-BEN", None, &[&program]);
        let now = server.store.now();
        let mut programs = ProgramServiceClient::new(server.channel().await);
        // 3 % more, at most 5.00 per member and 8.00 in all.
        let campaign = programs
            .create_campaign(authed(&shop.admin, pb::CreateCampaignRequest {
                idempotency_key: "campaign:winter".into(),
                program_id: program.clone(),
                settings: Some(pb::CampaignSettings {
                    name: "Winter +3%".into(),
                    starts_at: (now - Duration::days(1)).to_rfc3339(),
                    ends_at: (now + Duration::days(30)).to_rfc3339(),
                    effect: Some(pb::CampaignEffect {
                        effect: Some(pb::campaign_effect::Effect::ExtraPercent("3".into())),
                    }),
                    member_cap: "5.00".into(),
                    budget: "8.00".into(),
                    active: true,
                    ..Default::default()
                }),
            }))
            .await
            .unwrap()
            .into_inner()
            .campaign
            .unwrap()
            .id;

        // Ana: 2.00 + 3.00, then 4.00 + 2.00 (her cap leaves 2.00 of the 6.00).
        assert_eq!(earn(&mut shop, &ana, &program, "ANA-1", &[("", "100.00")]).await.points_earned, "5.00");
        server.clock.advance(Duration::minutes(1));
        let second = earn(&mut shop, &ana, &program, "ANA-2", &[("", "200.00")]).await;
        assert_eq!(second.points_earned, "6.00");
        assert_eq!(second.breakdown.as_ref().unwrap().campaign_bonuses[0].points, "2.00");
        // Ben: 4.00 + 3.00 (the budget leaves 3.00 of the 6.00).
        let ben_earned = earn(&mut shop, &ben, &program, "BEN-1", &[("", "200.00")]).await;
        assert_eq!(ben_earned.points_earned, "7.00");

        let w = wallet(server, &shop.service, &ana, &program).await.unwrap();
        let first = record(&w, "ANA-1");
        assert_eq!((first.cashback_amount.as_str(), first.campaign_amount.as_str()), ("5.00", "3.00"));
        assert_eq!(first.campaign_ids, vec![campaign.clone()]);
        assert_eq!(first.percent, "5");
        let second = record(&w, "ANA-2");
        assert_eq!((second.cashback_amount.as_str(), second.campaign_amount.as_str()), ("6.00", "2.00"));
        assert_eq!(second.percent, "3");
        let w = wallet(server, &shop.service, &ben, &program).await.unwrap();
        let ben_record = record(&w, "BEN-1");
        assert_eq!((ben_record.cashback_amount.as_str(), ben_record.campaign_amount.as_str()), ("7.00", "3.00"));
        assert_eq!(ben_record.campaign_ids, vec![campaign.clone()]);

        // The budget is spent: a third bill earns its base percentage only.
        let third = earn(&mut shop, &ben, &program, "BEN-2", &[("", "100.00")]).await;
        assert_eq!(third.points_earned, "2.00");
        let w = wallet(server, &shop.service, &ben, &program).await.unwrap();
        assert!(record(&w, "BEN-2").campaign_ids.is_empty());
        no_violations(server);
    }
}
