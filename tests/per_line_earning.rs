//! Per-line earning: the earn and quote answers, the bill and the history show, per bill line,
//! the category, the rule it earned by and its points, and the lines add up to the bill's
//! points exactly, rounding and the bill cap included.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ledger_support;

use common::authed;
use ledger_support::{Shop, bill, dec};
use loyalty_core::{
    Category, CategoryRule, Currency, EarnRate, Percent, PointPrecision, Points, ProgramRules,
    Rounding,
};
use loyalty_grpc::pb;

fn pharmacy() -> ProgramRules {
    let mut rules = ProgramRules::new(Currency::new("INR").unwrap());
    rules.precision = PointPrecision::new(2, Rounding::Down).unwrap();
    let category = |name: &str, percent: &str| CategoryRule {
        category: Category::new(name).unwrap(),
        earn_percent: Percent::new(dec(percent)).unwrap(),
    };
    rules.categories = vec![category("Medicines", "1"), category("General", "3")];
    rules
}

/// (category, rule, rate, amount, points) of each line.
fn summary(lines: &[pb::EarnLine]) -> Vec<(String, String, String, String, String)> {
    lines
        .iter()
        .map(|l| {
            (
                l.category.clone(),
                l.rule.clone(),
                l.rate.clone(),
                l.amount.clone(),
                l.points.clone(),
            )
        })
        .collect()
}

fn line(
    category: &str,
    rule: &str,
    rate: &str,
    amount: &str,
    points: &str,
) -> (String, String, String, String, String) {
    (
        category.into(),
        rule.into(),
        rate.into(),
        amount.into(),
        points.into(),
    )
}

fn total(lines: &[pb::EarnLine]) -> rust_decimal::Decimal {
    lines.iter().map(|l| dec(&l.points)).sum()
}

on_both_backends! {
    async fn the_pharmacy_bill_shows_what_each_category_earned_everywhere(server) {
        let mut shop = Shop::open(server, "City Pharmacy").await;
        let program = shop.program(server, "Care Card", pharmacy());
        let member = shop.member(server, "PH-0001", None, &[&program]);
        let svc = shop.service.clone();
        let lines = [("Medicines", "500"), ("General", "500"), ("", "10")];
        let expected = vec![
            line("Medicines", "category_percent", "1", "500.00", "5.00"),
            line("General", "category_percent", "3", "500.00", "15.00"),
            // No category: the base rate, which earns nothing in this program.
            line("", "base_rate", "0/1", "10.00", "0.00"),
        ];

        let quote = shop
            .ledger
            .quote(authed(&svc, pb::QuoteRequest {
                member_id: member.clone(),
                program_id: program.clone(),
                bill: Some(bill("BILL-1", &lines)),
                points_to_redeem: String::new(),
            }))
            .await
            .unwrap()
            .into_inner();
        let quoted = quote.earning.unwrap();
        assert_eq!(summary(&quoted.lines), expected);

        let request = || authed(&svc, pb::EarnRequest {
            idempotency_key: "bill-1:earn".into(),
            member_id: member.clone(),
            program_id: program.clone(),
            bill: Some(bill("BILL-1", &lines)),
        });
        let earned = shop.ledger.earn(request()).await.unwrap().into_inner();
        assert_eq!(earned.points_earned, "20.00");
        let breakdown = earned.breakdown.clone().unwrap();
        assert_eq!(summary(&breakdown.lines), expected);
        assert_eq!(breakdown.lines[1].base, "15.00");
        assert_eq!(breakdown.lines[1].tier_bonus, "0.00");
        assert_eq!(breakdown.lines[1].campaign_bonus, "0.00");
        assert_eq!(breakdown.lines.iter().map(|l| l.line).collect::<Vec<_>>(), [0, 1, 2]);

        // A retry answers the same lines.
        let replay = shop.ledger.earn(request()).await.unwrap().into_inner();
        assert_eq!(replay.breakdown.unwrap().lines, breakdown.lines);

        // The bill and the history show them.
        let bills = shop
            .ledger
            .get_bill(authed(&shop.admin, pb::GetBillRequest { reference: "BILL-1".into() }))
            .await
            .unwrap()
            .into_inner()
            .bills;
        assert_eq!(bills.len(), 1);
        assert_eq!(bills[0].lines, breakdown.lines);
        let history = shop
            .ledger
            .list_transactions(authed(&shop.admin, pb::ListTransactionsRequest {
                member_id: member.clone(),
                reference: "BILL-1".into(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
            .entries;
        let entry = history.iter().find(|e| e.kind == pb::EntryKind::Earned as i32).unwrap();
        assert_eq!(summary(&entry.lines), expected);
        assert!(server.store.verify(None).unwrap().is_empty());
    }

    async fn rounding_and_the_bill_cap_are_attributed_so_the_lines_add_up(server) {
        let shop = Shop::open(server, "Corner Shop").await;
        let mut rules = ProgramRules::new(Currency::new("INR").unwrap());
        rules.base_rate = EarnRate::new(Points::whole(1).unwrap(), dec("10")).unwrap();
        rules.earn_cap_per_bill = Some(Points::whole(5).unwrap());
        let program = shop.program(server, "Points", rules);
        let member = shop.member(server, "CARD-1", None, &[&program]);
        let earn = |key: &str, reference: &str, lines: &[(&str, &str)]| {
            authed(&shop.service, pb::EarnRequest {
                idempotency_key: key.into(),
                member_id: member.clone(),
                program_id: program.clone(),
                bill: Some(bill(reference, lines)),
            })
        };

        // Three lines of 0.5 exact points earn 1 (rounded down): the first of the equal lines
        // takes it.
        let earned = shop
            .ledger
            .clone()
            .earn(earn("small", "SMALL-1", &[("", "5"), ("", "5"), ("", "5")]))
            .await
            .unwrap()
            .into_inner();
        let lines = earned.breakdown.unwrap().lines;
        assert_eq!(lines.iter().map(|l| l.points.as_str()).collect::<Vec<_>>(), ["1", "0", "0"]);
        assert_eq!(total(&lines), dec(&earned.points_earned));

        // 3 + 7 points, capped at 5: 1.5 -> 1 and 3.5 -> 3, the remainder to the larger line.
        let earned = shop
            .ledger
            .clone()
            .earn(earn("capped", "CAPPED-1", &[("", "30"), ("", "70")]))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(earned.points_earned, "5");
        let lines = earned.breakdown.unwrap().lines;
        assert_eq!(lines.iter().map(|l| l.points.as_str()).collect::<Vec<_>>(), ["1", "4"]);
        assert_eq!(lines[0].rule, "base_rate");
        assert_eq!(lines[0].rate, "1/10");
        assert!(server.store.verify(None).unwrap().is_empty());
    }
}
