//! Dated bills: a till that uploads offline bills late. The bill's time, not the upload's,
//! starts the points' pending period and expiry; a program limits how old a bill may be; a
//! bill whose points would already have expired is refused; a bill from the future is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ledger_support;

use chrono::{DateTime, Duration, Months, SecondsFormat, Utc};
use common::authed;
use ledger_support::{Shop, available, bill, dec, status_of};
use loyalty_core::{Currency, EarnRate, ExpiryPolicy, Points, ProgramRules};
use loyalty_grpc::pb;
use loyalty_grpc::pb::program_service_client::ProgramServiceClient;
use tonic::Code;

/// 1 point per 10 spent, points expire after 12 months.
fn twelve_month_points() -> ProgramRules {
    let mut rules = ProgramRules::new(Currency::new("INR").unwrap());
    rules.base_rate = EarnRate::new(Points::whole(1).unwrap(), dec("10")).unwrap();
    rules.expiry = ExpiryPolicy::AfterMonths(12);
    rules
}

fn dated(reference: &str, amount: &str, at: DateTime<Utc>) -> pb::Bill {
    pb::Bill {
        at: at.to_rfc3339_opts(SecondsFormat::Micros, true),
        ..bill(reference, &[("", amount)])
    }
}

fn earn(key: &str, member: &str, program: &str, bill: pb::Bill) -> tonic::Request<pb::EarnRequest> {
    authed(
        key,
        pb::EarnRequest {
            idempotency_key: format!("{}:earn", bill.reference),
            member_id: member.into(),
            program_id: program.into(),
            bill: Some(bill),
        },
    )
}

on_both_backends! {
    async fn a_late_bill_expires_twelve_months_after_its_date_not_after_its_upload(server) {
        let mut shop = Shop::open(server, "Offline Till").await;
        let program = shop.program(server, "Shop points", twelve_month_points());
        let member = shop.member(server, "CARD-1", None, &[&program]);
        let now = server.store.now();
        let eleven_months_ago = now.checked_sub_months(Months::new(11)).unwrap();

        let earned = shop
            .ledger
            .earn(earn(&shop.service, &member, &program, dated("OFFLINE-1", "500", eleven_months_ago)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(earned.points_earned, "50");
        assert_eq!(available(&earned.balances), "50");

        // One month later the bill is twelve months old: still there a second before...
        let expires_at = eleven_months_ago.checked_add_months(Months::new(12)).unwrap();
        server.clock.set(expires_at - Duration::seconds(1));
        server.store.expire_due(Some(&shop.tenant), 100).unwrap();
        assert_eq!(shop.balances(server, &member, &program).available, Points::whole(50).unwrap());

        // ...and expired a second after (1 month + 1 s after the upload).
        server.clock.set(now.checked_add_months(Months::new(1)).unwrap() + Duration::seconds(1));
        server.store.expire_due(Some(&shop.tenant), 100).unwrap();
        let balances = shop.balances(server, &member, &program);
        assert_eq!(balances.available, Points::ZERO);
        assert_eq!(balances.expired, Points::whole(50).unwrap());
        assert!(server.store.verify(None).unwrap().is_empty());
    }

    async fn a_bill_whose_points_would_already_have_expired_is_refused(server) {
        let mut shop = Shop::open(server, "Offline Till").await;
        let program = shop.program(server, "Shop points", twelve_month_points());
        let member = shop.member(server, "CARD-1", None, &[&program]);
        let thirteen_months_ago = server.store.now().checked_sub_months(Months::new(13)).unwrap();

        let refused = status_of(
            shop.ledger
                .earn(earn(&shop.service, &member, &program, dated("OLD-1", "500", thirteen_months_ago)))
                .await,
        );
        assert_eq!(refused.code(), Code::FailedPrecondition);
        assert!(
            refused.message().contains("points of a bill dated") && refused.message().contains("would have expired on"),
            "{}",
            refused.message()
        );
        // A quote of the same bill says so too, instead of promising points Earn refuses.
        let quote = pb::QuoteRequest {
            member_id: member.clone(),
            program_id: program.clone(),
            bill: Some(dated("OLD-1", "500", thirteen_months_ago)),
            points_to_redeem: String::new(),
        };
        let quoted = status_of(shop.ledger.quote(authed(&shop.service, quote)).await);
        assert_eq!((quoted.code(), quoted.message()), (refused.code(), refused.message()));
        let balances = shop.balances(server, &member, &program);
        assert_eq!(balances.available, Points::ZERO);
        assert_eq!(balances.earned, Points::ZERO);

        // The refusal is the request's answer: a retry gets it again.
        let again = status_of(
            shop.ledger
                .earn(earn(&shop.service, &member, &program, dated("OLD-1", "500", thirteen_months_ago)))
                .await,
        );
        assert_eq!(again.code(), Code::FailedPrecondition);
        assert!(server.store.verify(None).unwrap().is_empty());
    }

    async fn a_bill_older_than_the_programs_limit_is_refused_and_a_younger_one_is_already_matured(server) {
        let mut shop = Shop::open(server, "Offline Till").await;
        let mut programs = ProgramServiceClient::new(server.channel().await);
        let rules = pb::ProgramRules {
            currency: "INR".into(),
            base_points: "1".into(),
            base_per: "10".into(),
            expiry_months: 12,
            pending_days: 14,
            max_bill_age_days: 30,
            ..Default::default()
        };
        let program = programs
            .create_program(authed(&shop.admin, pb::CreateProgramRequest {
                idempotency_key: "setup:points".into(),
                name: "Shop points".into(),
                rules: Some(rules),
            }))
            .await
            .unwrap()
            .into_inner()
            .program
            .unwrap();
        assert_eq!(program.rules.as_ref().unwrap().max_bill_age_days, 30);
        let fetched = programs
            .get_program(authed(&shop.admin, pb::GetProgramRequest { program_id: program.id.clone() }))
            .await
            .unwrap()
            .into_inner()
            .program
            .unwrap();
        assert_eq!(fetched.rules.unwrap().max_bill_age_days, 30);
        let program = program.id;
        let member = shop.member(server, "CARD-1", None, &[&program]);
        let now = server.store.now();

        // 31 days old: beyond the program's 30 days.
        let refused = status_of(
            shop.ledger
                .earn(earn(&shop.service, &member, &program, dated("LATE-31", "500", now - Duration::days(31))))
                .await,
        );
        assert_eq!(refused.code(), Code::FailedPrecondition);
        assert!(refused.message().contains("at most 30 days old"), "{}", refused.message());

        // 20 days old: accepted, and its 14 pending days are over, so it is spendable at once.
        let earned = shop
            .ledger
            .earn(earn(&shop.service, &member, &program, dated("LATE-20", "500", now - Duration::days(20))))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(available(&earned.balances), "50");
        assert_eq!(earned.balances.as_ref().unwrap().pending, "0");

        // 10 days old: pending for the 4 days left of its period, then spendable.
        let earned = shop
            .ledger
            .earn(earn(&shop.service, &member, &program, dated("LATE-10", "300", now - Duration::days(10))))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(available(&earned.balances), "50");
        assert_eq!(earned.balances.as_ref().unwrap().pending, "30");
        server.clock.advance(Duration::days(4) - Duration::seconds(1));
        let today = shop
            .ledger
            .earn(earn(&shop.service, &member, &program, bill("TODAY-1", &[("", "100")])))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(available(&today.balances), "50");
        assert_eq!(today.balances.as_ref().unwrap().pending, "40");
        server.clock.advance(Duration::seconds(2));
        let later = shop
            .ledger
            .earn(earn(&shop.service, &member, &program, bill("TODAY-2", &[("", "100")])))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(available(&later.balances), "80");
        assert_eq!(later.balances.as_ref().unwrap().pending, "20");
        assert!(server.store.verify(None).unwrap().is_empty());
    }

    async fn a_bill_from_beyond_five_minutes_in_the_future_is_invalid(server) {
        let mut shop = Shop::open(server, "Offline Till").await;
        let program = shop.program(server, "Shop points", twelve_month_points());
        let member = shop.member(server, "CARD-1", None, &[&program]);
        let now = server.store.now();

        let refused = status_of(
            shop.ledger
                .earn(earn(&shop.service, &member, &program, dated("FUTURE-1", "500", now + Duration::minutes(6))))
                .await,
        );
        assert_eq!(refused.code(), Code::InvalidArgument);
        // Within the clock-skew allowance, accepted.
        let earned = shop
            .ledger
            .earn(earn(&shop.service, &member, &program, dated("SKEW-1", "500", now + Duration::minutes(4))))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(earned.points_earned, "50");
        assert!(server.store.verify(None).unwrap().is_empty());
    }
}
