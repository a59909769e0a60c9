//! Every statement of the hot path finds its rows through an index (SQLite).
//!
//! The statements are not copied here: a Diesel instrumentation records, for one test
//! database, the SQL of every statement its connections run while the test drives earn,
//! redeem, reserve/capture/release, quote, reverse and the balance reads of a member with a
//! history. Each recorded shape is then given to `EXPLAIN QUERY PLAN`, and every table access
//! must be a `SEARCH` through an index that does not walk a member's history: never a `SCAN`,
//! and never an index whose only constraint is `membership_id`, unless the index is one of
//! the partial indexes of open lots (it then holds the lots with points left, not history).
//! A query added to the hot path later is checked the same way without touching this file.

use std::sync::{Mutex, Once, PoisonError};

use chrono::Duration;
use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::sqlite::SqliteConnection;
use loyalty_core::{CampaignEffect, CampaignSpec, CardNumber, ExpiryPolicy, Points, ReturnPolicy};
use loyalty_store::{
    CaptureRequest, EarnRequest, QuoteRequest, RedeemRequest, ReleaseRequest, ReserveRequest,
};

use crate::common::{Kind, TestStore};
use crate::scenario::*;

/// The statements recorded so far, while a test database (its path) is being recorded.
static RECORDING: Mutex<Option<(String, Vec<String>)>> = Mutex::new(None);

/// Sees every connection the test binary opens; records the statements of the one database
/// being recorded.
struct Recorder {
    url: Option<String>,
}

impl Instrumentation for Recorder {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartEstablishConnection { url, .. } => {
                self.url = Some(url.to_owned());
            }
            InstrumentationEvent::StartQuery { query, .. } => {
                let mut recording = RECORDING.lock().unwrap_or_else(PoisonError::into_inner);
                if let (Some((path, seen)), Some(url)) = (recording.as_mut(), &self.url)
                    && url.contains(path.as_str())
                {
                    let text = query.to_string();
                    let sql = text.split(" -- binds: ").next().unwrap_or_default().trim();
                    if !seen.iter().any(|s| s == sql) {
                        seen.push(sql.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
}

fn recorder() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(Recorder { url: None }))
}

/// Installs the recorder for every connection opened from now on.
fn install_recorder() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| set_default_instrumentation(recorder).unwrap());
}

fn record(path: Option<&str>) -> Vec<String> {
    let mut recording = RECORDING.lock().unwrap_or_else(PoisonError::into_inner);
    let done = recording.take().map(|(_, seen)| seen).unwrap_or_default();
    *recording = path.map(|p| (p.to_owned(), Vec::new()));
    done
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text)]
    detail: String,
}

/// `EXPLAIN QUERY PLAN` of `sql`, one line per step.
fn plan(conn: &mut SqliteConnection, sql: &str) -> Vec<String> {
    diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
        .load::<PlanLine>(conn)
        .unwrap_or_else(|e| panic!("cannot explain {sql}: {e}"))
        .into_iter()
        .map(|l| l.detail)
        .collect()
}

/// Tables that grow with a member's history.
const HISTORY: [&str; 9] = [
    "ledger_entries",
    "point_lots",
    "lot_allocations",
    "bills",
    "holds",
    "redemption_attempts",
    "reward_redemptions",
    "qualifying_spend_days",
    "memberships",
];

/// Partial indexes that hold only a membership's open lots (and active holds), so
/// `membership_id=?` alone is not a walk through its history.
const OPEN_LOTS: [&str; 3] = [
    "point_lots_open",
    "point_lots_maturing",
    "holds_active_membership",
];

/// What is wrong with one line of a plan, if anything.
fn problem(line: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["SCAN", "CONSTANT", "ROW", ..] => None,
        ["SCAN", table, ..] => Some(format!("scans {table}")),
        ["SEARCH", table, ..] if HISTORY.contains(table) => {
            let index = line
                .split(" INDEX ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next());
            let constraint = line.split_once(" (").map(|(_, c)| c.trim_end_matches(')'));
            match (index, constraint) {
                (Some(index), _) if OPEN_LOTS.contains(&index) => None,
                (_, Some("membership_id=?")) => Some(format!("walks {table} by membership alone")),
                (_, None) => Some(format!("searches {table} without a constraint")),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A member with a history: many bills over many days, redemptions, a resolved hold.
fn history(t: &TestStore, shop: &Shop, member: &str) {
    let now = t.store.now();
    for n in 0..120 {
        t.store
            .earn(
                &shop.tenant,
                EarnRequest {
                    idempotency_key: key(),
                    member_id: member.to_owned(),
                    program_id: shop.program.clone(),
                    reference: format!("OLD-{n}"),
                    lines: vec![line(None, "250")],
                    at: Some(now - Duration::hours(5 * n)),
                    actor: "till-1".into(),
                },
            )
            .unwrap();
    }
    // The lots mature (the pending period counts from when they were credited).
    t.clock.advance(Duration::days(2));
    for n in (0..120).step_by(10) {
        shop.redeem(t, member, &format!("PAID-{n}"), "100", "8");
    }
    shop.reverse(t, member, "OLD-3", None);
}

#[test]
fn every_hot_path_statement_finds_its_rows_through_an_index() {
    install_recorder();
    let t = TestStore::new(Kind::Sqlite, 4);
    let t = &t;
    let mut rules = super::tiered_shop(365);
    rules.redemptions_per_minute = Some(100);
    rules.expiry = ExpiryPolicy::AfterMonths(12);
    rules.pending_days = 1;
    rules.return_policy = ReturnPolicy::CapAtAvailable;
    let shop = open_shop(t, "Cathay Shop", rules);
    let now = t.store.now();
    t.store
        .create_campaign(
            &shop.tenant,
            None,
            &shop.program,
            CampaignSpec {
                id: uuid::Uuid::nil(),
                name: "Double points".into(),
                starts_at: now - Duration::days(400),
                ends_at: now + Duration::days(400),
                weekdays: vec![],
                categories: vec![],
                min_bill: None,
                effect: CampaignEffect::Multiplier("2".parse().unwrap()),
                priority: 0,
                member_cap: Some(Points::whole(100_000).unwrap()),
                budget: Some(Points::whole(1_000_000).unwrap()),
                active: true,
            },
        )
        .unwrap();
    let ana = shop.member(t, "CARD-1", None);
    let ben = shop.member(t, "CARD-2", Some(&ana));
    history(t, &shop, &ben);

    record(Some(&t.url));
    hot_path(t, &shop, &ben);
    let statements = record(None);

    let mut conn = SqliteConnection::establish(&t.url).unwrap();
    let mut found = Vec::new();
    let mut report = String::new();
    for sql in &statements {
        let verb = sql
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_uppercase();
        if !["SELECT", "UPDATE", "DELETE", "INSERT", "WITH"].contains(&verb.as_str()) {
            continue;
        }
        let lines = plan(&mut conn, sql);
        report.push_str(&format!("{sql}\n    {}\n", lines.join("\n    ")));
        for line in &lines {
            if let Some(p) = problem(line) {
                found.push(format!("{p}: {line}\n    in {sql}"));
            }
        }
    }
    eprintln!("{report}");
    assert!(
        found.is_empty(),
        "history scans on the hot path:\n{}",
        found.join("\n")
    );

    // The recording saw the statements that matter, each through the index meant for it.
    for (what, expected) in [
        (
            "the bill lookup",
            "bills USING INDEX sqlite_autoindex_bills_2 (membership_id=? AND reference=?)",
        ),
        (
            "the measure's whole days",
            "qualifying_spend_days USING INDEX sqlite_autoindex_qualifying_spend_days_1 (membership_id=? AND day>?)",
        ),
        (
            "the measure's first day",
            "bills USING INDEX bills_membership_earned_at (membership_id=? AND earned_at>? AND earned_at<?)",
        ),
        (
            "a day's bucket",
            "qualifying_spend_days USING INDEX sqlite_autoindex_qualifying_spend_days_1 (membership_id=? AND day=?)",
        ),
        (
            "expiring lots",
            "point_lots USING INDEX point_lots_open (membership_id=? AND expires_at<?)",
        ),
        (
            "maturing lots",
            "point_lots USING INDEX point_lots_maturing (membership_id=? AND spendable_from<?)",
        ),
        (
            "the next active hold to run out",
            "holds USING COVERING INDEX holds_active_membership (membership_id=?)",
        ),
        (
            "a bill's own lots",
            "point_lots USING INDEX point_lots_reference (membership_id=? AND reference=?)",
        ),
        (
            "campaign usage",
            "campaign_usage USING INDEX sqlite_autoindex_campaign_usage_1 (campaign_id=? AND membership_id=?)",
        ),
        (
            "the membership",
            "memberships USING INDEX sqlite_autoindex_memberships_2 (member_id=? AND program_id=?)",
        ),
    ] {
        assert!(
            report.contains(expected),
            "{what}: no plan line `{expected}` in\n{report}"
        );
    }
}

/// One of every hot-path call: GetBalances (now and as of a moment), the card lookup, a quote, an earn (with a
/// campaign, a referrer and a tier), a redemption, a reservation captured and one released,
/// and a return.
fn hot_path(t: &TestStore, shop: &Shop, member: &str) {
    let store = &t.store;
    let card = CardNumber::new("CARD-2").unwrap();
    store.find_member_by_card(&shop.tenant, &card).unwrap();
    store
        .get_membership(&shop.tenant, member, &shop.program)
        .unwrap();
    store.list_memberships(&shop.tenant, member).unwrap();
    // Balances as of a moment: one seek for the last entry by then, not a walk.
    let yesterday = store.now() - Duration::days(1);
    store
        .memberships_as_of(&shop.tenant, member, Some(&shop.program), yesterday)
        .unwrap();
    store
        .memberships_as_of(&shop.tenant, member, None, store.now())
        .unwrap();
    let quote = QuoteRequest {
        member_id: member.to_owned(),
        program_id: shop.program.clone(),
        reference: Some("PAID-0".into()),
        lines: vec![line(None, "300")],
        at: None,
        requested_points: Some(pts("20")),
    };
    store.quote(&shop.tenant, quote).unwrap();
    store
        .earn(
            &shop.tenant,
            EarnRequest {
                idempotency_key: key(),
                member_id: member.to_owned(),
                program_id: shop.program.clone(),
                reference: "NEW-1".into(),
                lines: vec![line(None, "300")],
                at: None,
                actor: "till-1".into(),
            },
        )
        .unwrap();
    store
        .redeem(
            &shop.tenant,
            RedeemRequest {
                idempotency_key: key(),
                member_id: member.to_owned(),
                program_id: shop.program.clone(),
                reference: "NEW-2".into(),
                lines: vec![line(None, "100")],
                at: None,
                points: pts("8"),
                actor: "till-1".into(),
            },
        )
        .unwrap();
    let reserve = |reference: &str| ReserveRequest {
        idempotency_key: key(),
        member_id: member.to_owned(),
        program_id: shop.program.clone(),
        reference: reference.into(),
        lines: vec![line(None, "100")],
        at: None,
        points: pts("8"),
        ttl_seconds: 600,
        actor: "till-1".into(),
    };
    let hold = store.reserve(&shop.tenant, reserve("NEW-3")).unwrap();
    let captured = CaptureRequest {
        idempotency_key: key(),
        hold_id: hold.id,
        points: Some(pts("5")),
        actor: "till-1".into(),
    };
    store.capture(&shop.tenant, captured).unwrap();
    let hold = store.reserve(&shop.tenant, reserve("NEW-4")).unwrap();
    let released = ReleaseRequest {
        idempotency_key: key(),
        hold_id: hold.id,
        actor: "till-1".into(),
    };
    store.release(&shop.tenant, released).unwrap();
    shop.reverse(t, member, "NEW-1", Some("100"));
    // Earning on a bill that points paid first (its `bills` row exists).
    store
        .earn(
            &shop.tenant,
            EarnRequest {
                idempotency_key: key(),
                member_id: member.to_owned(),
                program_id: shop.program.clone(),
                reference: "NEW-2".into(),
                lines: vec![line(None, "100")],
                at: None,
                actor: "till-1".into(),
            },
        )
        .unwrap();
}
