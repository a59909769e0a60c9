//! Balances as of any moment over gRPC: GetBalances and the program report with `as_of`, and
//! member statements whose opening balances plus their movements are their closing balances.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ledger_support;

use chrono::{DateTime, Duration, Utc};
use common::{TestServer, authed};
use ledger_support::{Shop, bill, code_of, dec, money, pts};
use loyalty_core::{
    ConversionRate, Currency, EarnRate, ExpiryPolicy, ProgramRules, RedemptionRules,
};
use loyalty_grpc::pb;
use loyalty_grpc::pb::member_service_client::MemberServiceClient;
use loyalty_grpc::pb::report_service_client::ReportServiceClient;
use rust_decimal::Decimal;
use tonic::Code;

/// One point per 10 INR, a point pays 1 INR, points expire after 12 months.
fn expiring_shop() -> ProgramRules {
    let inr = Currency::new("INR").unwrap();
    let mut rules = ProgramRules::new(inr);
    rules.base_rate = EarnRate::new(pts(1), dec("10")).unwrap();
    rules.expiry = ExpiryPolicy::AfterMonths(12);
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(pts(1), money("1.00", inr)).unwrap(),
        min_points: pts(1),
        max_bill_share: "100".parse().unwrap(),
        max_points_per_bill: None,
    });
    rules
}

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

/// (available, pending, held, debt, earned, redeemed, expired, reversed)
fn figures(b: &pb::Balances) -> [&str; 8] {
    [
        &b.available,
        &b.pending,
        &b.held,
        &b.debt,
        &b.earned,
        &b.redeemed,
        &b.expired,
        &b.reversed,
    ]
    .map(String::as_str)
}

const ZERO: [&str; 8] = ["0"; 8];

struct World {
    shop: Shop,
    program: String,
    ana: String,
    members: MemberServiceClient<tonic::transport::Channel>,
    reports: ReportServiceClient<tonic::transport::Channel>,
}

impl World {
    async fn balances_at(
        &mut self,
        key: &str,
        as_of: &str,
    ) -> Result<Vec<pb::Membership>, tonic::Status> {
        self.members
            .get_balances(authed(
                key,
                pb::GetBalancesRequest {
                    member_id: self.ana.clone(),
                    program_id: self.program.clone(),
                    as_of: as_of.into(),
                },
            ))
            .await
            .map(|r| r.into_inner().memberships)
    }

    async fn ana_at(&mut self, as_of: &str) -> pb::Balances {
        let admin = self.shop.admin.clone();
        let memberships = self.balances_at(&admin, as_of).await.unwrap();
        assert_eq!(memberships.len(), 1);
        memberships[0].balances.clone().unwrap()
    }

    async fn report_at(
        &mut self,
        as_of: &str,
    ) -> Result<pb::GetProgramReportResponse, tonic::Status> {
        self.reports
            .get_program_report(authed(
                &self.shop.admin,
                pb::GetProgramReportRequest {
                    program_id: self.program.clone(),
                    as_of: as_of.into(),
                },
            ))
            .await
            .map(tonic::Response::into_inner)
    }

    /// Every page of a statement: (opening, entries, closing), each page agreeing on opening
    /// and closing.
    async fn statement(
        &mut self,
        key: &str,
        from: &str,
        to: &str,
        page_size: u32,
    ) -> (pb::Balances, Vec<pb::LedgerEntry>, pb::Balances) {
        let mut entries = Vec::new();
        let mut token = String::new();
        let mut ends: Option<(pb::Balances, pb::Balances)> = None;
        loop {
            let page = self
                .shop
                .ledger
                .get_statement(authed(
                    key,
                    pb::GetStatementRequest {
                        member_id: self.ana.clone(),
                        program_id: self.program.clone(),
                        from: from.into(),
                        to: to.into(),
                        page_size,
                        page_token: token.clone(),
                    },
                ))
                .await
                .unwrap()
                .into_inner();
            assert!(page.entries.len() <= page_size as usize);
            let these = (page.opening.unwrap(), page.closing.unwrap());
            if let Some(first) = &ends {
                assert_eq!(
                    first, &these,
                    "every page repeats the same opening and closing"
                );
            }
            ends = Some(these);
            entries.extend(page.entries);
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        let (opening, closing) = ends.unwrap();
        (opening, entries, closing)
    }
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Opening + every entry's deltas = closing, bucket by bucket; and each entry's net balance
/// after it is the running net.
fn assert_adds_up(opening: &pb::Balances, entries: &[pb::LedgerEntry], closing: &pb::Balances) {
    let mut buckets = [
        d(&opening.available),
        d(&opening.pending),
        d(&opening.held),
        d(&opening.debt),
    ];
    for e in entries {
        for (bucket, delta) in buckets.iter_mut().zip([
            &e.available_delta,
            &e.pending_delta,
            &e.held_delta,
            &e.debt_delta,
        ]) {
            *bucket += d(delta);
        }
        assert_eq!(
            buckets[0] + buckets[1] + buckets[2] - buckets[3],
            d(&e.balance_after),
            "entry {}",
            e.id
        );
    }
    assert_eq!(
        buckets,
        [
            d(&closing.available),
            d(&closing.pending),
            d(&closing.held),
            d(&closing.debt)
        ],
        "opening + movements = closing"
    );
}

fn kinds(entries: &[pb::LedgerEntry]) -> Vec<pb::EntryKind> {
    entries.iter().map(|e| e.kind()).collect()
}

fn verified(server: &TestServer) {
    let violations = server.store.verify(None).unwrap();
    assert!(violations.is_empty(), "{violations:?}");
}

on_both_backends! {
    async fn balances_reports_and_statements_read_the_ledger_as_of_any_moment(server) {
        let shop = Shop::open(server, "As of").await;
        let program = shop.program(server, "Points", expiring_shop());
        let before_joining = server.store.now() - Duration::hours(1);
        let ana = shop.member(server, "CARD-ANA", None, &[&program]);
        let joined = server.store.now();
        let mut w = World {
            members: MemberServiceClient::new(server.channel().await),
            reports: ReportServiceClient::new(server.channel().await),
            shop,
            program: program.clone(),
            ana: ana.clone(),
        };
        let (svc, admin) = (w.shop.service.clone(), w.shop.admin.clone());

        // t1: Ana earns 100 on a 1000 bill; Ben joins and earns 50.
        server.clock.advance(Duration::days(1));
        let t1 = server.store.now();
        w.shop.ledger.earn(authed(&svc, pb::EarnRequest {
            idempotency_key: "A-1:earn".into(),
            member_id: ana.clone(),
            program_id: program.clone(),
            bill: Some(bill("A-1", &[("", "1000")])),
        })).await.unwrap();
        let ben = w.shop.member(server, "CARD-BEN", None, &[&program]);
        w.shop.ledger.earn(authed(&svc, pb::EarnRequest {
            idempotency_key: "B-1:earn".into(),
            member_id: ben.clone(),
            program_id: program.clone(),
            bill: Some(bill("B-1", &[("", "500")])),
        })).await.unwrap();
        verified(server);

        // t2: Ana redeems 30.
        server.clock.advance(Duration::days(1));
        let t2 = server.store.now();
        w.shop.ledger.redeem(authed(&svc, pb::RedeemRequest {
            idempotency_key: "A-2:redeem".into(),
            member_id: ana.clone(),
            program_id: program.clone(),
            bill: Some(bill("A-2", &[("", "100")])),
            points: "30".into(),
        })).await.unwrap();
        verified(server);

        // t3: a year later, the rest of both members' points expire.
        server.clock.advance(Duration::days(367));
        let t3 = server.store.now();
        w.shop.ledger.expire_points(authed(&admin, pb::ExpirePointsRequest { idempotency_key: "expire-1".into() })).await.unwrap();
        verified(server);
        server.clock.advance(Duration::hours(1));

        // Ana's balances: nothing before she joined or before her first entry, then each
        // moment's figures, entries made at the instant included.
        assert_eq!(figures(&w.ana_at(&at(before_joining)).await), ZERO);
        assert_eq!(figures(&w.ana_at(&at(joined)).await), ZERO);
        assert_eq!(figures(&w.ana_at(&at(t1 - Duration::microseconds(1))).await), ZERO);
        let after_earning = ["100", "0", "0", "0", "100", "0", "0", "0"];
        assert_eq!(figures(&w.ana_at(&at(t1)).await), after_earning);
        assert_eq!(figures(&w.ana_at(&at(t1 + Duration::hours(5))).await), after_earning);
        let after_redeeming = ["70", "0", "0", "0", "100", "30", "0", "0"];
        assert_eq!(figures(&w.ana_at(&at(t2)).await), after_redeeming);
        assert_eq!(figures(&w.ana_at(&at(t3 - Duration::seconds(1))).await), after_redeeming);
        let after_expiring = ["0", "0", "0", "0", "100", "30", "70", "0"];
        assert_eq!(figures(&w.ana_at(&at(t3)).await), after_expiring);

        // As of now is the current view, whole memberships alike.
        let now = w.balances_at(&admin, &at(server.store.now())).await.unwrap();
        let current = w.balances_at(&admin, "").await.unwrap();
        assert_eq!(now, current);
        assert_eq!(figures(current[0].balances.as_ref().unwrap()), after_expiring);
        // Every membership of the member when no program is named.
        let all = w.members.get_balances(authed(&admin, pb::GetBalancesRequest {
            member_id: ana.clone(),
            program_id: String::new(),
            as_of: at(t2),
        })).await.unwrap().into_inner().memberships;
        assert_eq!(all.len(), 1);
        assert_eq!(figures(all[0].balances.as_ref().unwrap()), after_redeeming);

        // The member reads its own past balances; not another member's.
        let ana_key = w.shop.member_key(server, &ana).await;
        assert_eq!(w.balances_at(&ana_key, &at(t2)).await.unwrap(), all);
        let ben_key = w.shop.member_key(server, &ben).await;
        assert_eq!(code_of(w.members.get_balances(authed(&ben_key, pb::GetBalancesRequest {
            member_id: ana.clone(), program_id: program.clone(), as_of: at(t2),
        })).await), Code::PermissionDenied);

        // A moment in the future, or not a time, is refused as such.
        let future = at(server.store.now() + Duration::seconds(1));
        assert_eq!(w.balances_at(&admin, &future).await.unwrap_err().code(), Code::InvalidArgument);
        assert_eq!(w.balances_at(&admin, "yesterday").await.unwrap_err().code(), Code::InvalidArgument);

        // The program report: members joined by then, their outstanding points and value, and
        // the flows recorded by then.
        let before = w.report_at(&at(before_joining)).await.unwrap();
        assert_eq!((before.members, before.points_outstanding.as_str(), before.earned.as_str()), (0, "0", "0"));
        let r0 = w.report_at(&at(joined)).await.unwrap();
        assert_eq!((r0.members, r0.points_outstanding.as_str()), (1, "0"));
        let r1 = w.report_at(&at(t1)).await.unwrap();
        assert_eq!((r1.members, r1.points_outstanding.as_str(), d(&r1.liability), r1.earned.as_str()), (2, "150", d("150"), "150"));
        let r2 = w.report_at(&at(t2)).await.unwrap();
        assert_eq!(
            (r2.points_outstanding.as_str(), d(&r2.liability), r2.redeemed.as_str(), r2.redemption_rate.as_str(), r2.expired.as_str()),
            ("120", d("120"), "30", "0.2", "0")
        );
        let r3 = w.report_at(&at(t3)).await.unwrap();
        assert_eq!((r3.points_outstanding.as_str(), r3.expired.as_str(), r3.earned.as_str()), ("0", "120", "150"));
        assert_eq!(w.report_at(&at(server.store.now())).await.unwrap(), w.report_at("").await.unwrap(), "as of now is the current report");
        assert_eq!(w.report_at(&future).await.unwrap_err().code(), Code::InvalidArgument);
        assert_eq!(code_of(w.reports.get_program_report(authed(&svc, pb::GetProgramReportRequest {
            program_id: program.clone(), as_of: at(t2),
        })).await), Code::PermissionDenied);

        // Statements: the whole history in pages of one, opening + movements = closing.
        let (opening, entries, closing) = w.statement(&ana_key, "", "", 1).await;
        assert_eq!(figures(&opening), ZERO);
        assert_eq!(kinds(&entries), [pb::EntryKind::Earned, pb::EntryKind::Redeemed, pb::EntryKind::Expired]);
        assert_eq!(figures(&closing), after_expiring);
        assert_adds_up(&opening, &entries, &closing);

        // A period starting at the redemption: what was recorded before it opens it.
        let (opening, entries, closing) = w.statement(&admin, &at(t2), &at(t3 + Duration::seconds(1)), 50).await;
        assert_eq!(figures(&opening), after_earning);
        assert_eq!(kinds(&entries), [pb::EntryKind::Redeemed, pb::EntryKind::Expired]);
        assert_eq!(figures(&closing), after_expiring);
        assert_adds_up(&opening, &entries, &closing);

        // A period ending at the expiry leaves it out (the end is exclusive).
        let (opening, entries, closing) = w.statement(&svc, &at(t1), &at(t3), 2).await;
        assert_eq!(figures(&opening), ZERO);
        assert_eq!(kinds(&entries), [pb::EntryKind::Earned, pb::EntryKind::Redeemed]);
        assert_eq!(figures(&closing), after_redeeming);
        assert_adds_up(&opening, &entries, &closing);

        // A quiet period: no entries, opening = closing.
        let (opening, entries, closing) = w.statement(&admin, &at(t2 + Duration::days(1)), &at(t2 + Duration::days(2)), 10).await;
        assert!(entries.is_empty());
        assert_eq!((figures(&opening), figures(&closing)), (after_redeeming, after_redeeming));

        // Bad statements are refused precisely.
        let statement = |key: &str, member: &str, program: &str, from: String, to: String, token: &str| authed(key, pb::GetStatementRequest {
            member_id: member.into(),
            program_id: program.into(),
            from,
            to,
            page_size: 10,
            page_token: token.into(),
        });
        let ledger = &mut w.shop.ledger;
        assert_eq!(code_of(ledger.get_statement(statement(&ben_key, &ana, &program, String::new(), String::new(), "")).await), Code::PermissionDenied);
        assert_eq!(code_of(ledger.get_statement(statement(&admin, &ana, &program, at(t2), at(t1), "")).await), Code::InvalidArgument);
        assert_eq!(code_of(ledger.get_statement(statement(&admin, &ana, &program, String::new(), future.clone(), "")).await), Code::InvalidArgument);
        assert_eq!(code_of(ledger.get_statement(statement(&admin, &ana, &program, future.clone(), String::new(), "")).await), Code::InvalidArgument);
        assert_eq!(code_of(ledger.get_statement(statement(&admin, &ana, &program, String::new(), String::new(), "page-2")).await), Code::InvalidArgument);
        let not_an_entry = "0190a000-0000-7000-8000-000000000001";
        assert_eq!(code_of(ledger.get_statement(statement(&admin, &ana, &program, String::new(), String::new(), not_an_entry)).await), Code::InvalidArgument);
        assert_eq!(code_of(ledger.get_statement(statement(&admin, &ana, "", String::new(), String::new(), "")).await), Code::InvalidArgument);
        let unknown = "0190a000-0000-7000-8000-000000000002";
        assert_eq!(code_of(ledger.get_statement(statement(&admin, &ana, unknown, String::new(), String::new(), "")).await), Code::NotFound);
        verified(server);
    }
}
