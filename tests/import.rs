//! Import (issue 10): a shop replacing another loyalty system brings in its members, cards,
//! referrers, memberships with tiers and opening balances as dated lots, over gRPC
//! (`ImportService/Import`, a real `loyalty serve` process) and with `loyalty import` on the
//! database, on SQLite and PostgreSQL. Imports are idempotent and resumable by natural keys,
//! bad lines are rejected by line number while the others are imported, imported lots expire
//! at their own dates, and `loyalty verify` passes after every scenario.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/process.rs"]
mod process;
#[path = "common/seeded.rs"]
mod seeded;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use loyalty_core::{
    Currency, EntryKind, ExpiryPolicy, Multiplier, Points, ProgramRules, Tier, TierBasis, TierRules,
};
use loyalty_grpc::pb;
use loyalty_store::testing::{Kind, TestDatabase, skip_postgres};
use loyalty_store::{HistoryFilter, Role, Store};
use process::ServerProcess;
use seeded::verify;
use tonic::Code;

/// A tenant set up in the database: an admin and a service key, and the program "Shop points"
/// (points expire 12 months after they are earned; Silver and Gold tiers).
struct Shop {
    store: Store,
    tenant: String,
    admin: String,
    service: String,
    program: String,
}

impl Shop {
    fn new(url: &str) -> Shop {
        let store = Store::open(url, 2).unwrap();
        let tenant = store.create_tenant(None, "Import Shop").unwrap().id;
        let key = |role| {
            store
                .issue_api_key(None, Some(&tenant), role, None, "import tests")
                .unwrap()
                .key
        };
        let (admin, service) = (key(Role::Admin), key(Role::Service));
        let mut rules = ProgramRules::new(Currency::new("INR").unwrap());
        rules.expiry = ExpiryPolicy::AfterMonths(12);
        let tier = |name: &str, threshold: i64| Tier {
            name: name.into(),
            threshold: threshold.into(),
            multiplier: Multiplier::new("1.5".parse().unwrap()).unwrap(),
            upgrade_bonus: Points::ZERO,
        };
        rules.tiers = TierRules {
            basis: TierBasis::LifetimePoints,
            tiers: vec![tier("Silver", 1000), tier("Gold", 5000)],
        };
        let program = store
            .create_program(&tenant, None, "Shop points", rules)
            .unwrap()
            .id;
        Shop {
            store,
            tenant,
            admin,
            service,
            program,
        }
    }

    fn member(&self, customer_id: &str) -> loyalty_store::Member {
        self.store
            .find_member_by_customer(&self.tenant, customer_id)
            .unwrap()
    }

    fn balances(&self, customer_id: &str) -> loyalty_core::Balances {
        let member = self.member(customer_id);
        self.store
            .get_membership(&self.tenant, &member.id, &self.program)
            .unwrap()
            .balances
    }

    /// The tenant's `imported` entries.
    fn imported_entries(&self) -> usize {
        let mut count = 0;
        let mut cursor = None;
        loop {
            let filter = HistoryFilter {
                kinds: vec![EntryKind::Imported],
                ..HistoryFilter::default()
            };
            let page = self
                .store
                .history(&self.tenant, filter, cursor.as_deref(), 500)
                .unwrap();
            count += page.items.len();
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return count,
            }
        }
    }
}

fn points(n: u64) -> Points {
    Points::whole(n).unwrap()
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The `loyalty` binary with `args` on `url`, no configuration leaking in from the environment.
fn loyalty(url: &str, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_loyalty"));
    for (var, _) in std::env::vars() {
        if var.starts_with("LOYALTY_") || var == "RUST_LOG" {
            command.env_remove(var);
        }
    }
    command
        .args(["--database-url", url])
        .args(args)
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap()
}

fn authed<T>(key: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {key}").parse().unwrap());
    request
}

/// The walk-through file: two members (the second referred by the first), their memberships
/// (one with a tier, one program named by id), three good lots and four bad lines.
fn shop_file(program_id: &str, now: DateTime<Utc>, soon: DateTime<Utc>) -> String {
    let lines = [
        r#"{"type": "member", "customer_id": "C-1", "card_number": "card-0001", "name": "Asha", "email": "asha@example.com"}"#.to_owned(),
        r#"{"type": "member", "customer_id": "C-2", "card_number": "CARD-0002", "name": "Ravi", "phone": "+91 98450 00000", "referrer": "C-1"}"#.to_owned(),
        r#"{"type": "membership", "customer_id": "C-1", "program": "Shop points", "tier": "Gold"}"#.to_owned(),
        format!(r#"{{"type": "membership", "customer_id": "C-2", "program": "{program_id}"}}"#),
        // Earned 300 days ago in the old system, expiring in 60 days.
        format!(
            r#"{{"type": "lot", "customer_id": "C-1", "program": "Shop points", "points": "150", "earned_at": "{}", "expires_at": "{}", "reference": "OLD-1"}}"#,
            time(now - TimeDelta::days(300)),
            time(now + TimeDelta::days(60))
        ),
        // Earned two years ago (the program's 12 months would be over) but expiring `soon`.
        format!(
            r#"{{"type": "lot", "customer_id": "C-1", "program": "Shop points", "points": 50, "earned_at": "{}", "expires_at": "{}", "reference": "OLD-2"}}"#,
            time(now - TimeDelta::days(730)),
            time(soon)
        ),
        // No expiry given: the program's 12 months from the earn date (a plain date).
        format!(
            r#"{{"type": "lot", "customer_id": "C-2", "program": "Shop points", "points": "20", "earned_at": "{}", "reference": "OLD-3"}}"#,
            (now - TimeDelta::days(100)).format("%Y-%m-%d")
        ),
        // Line 8: already expired in the old system.
        format!(
            r#"{{"type": "lot", "customer_id": "C-2", "program": "Shop points", "points": "30", "earned_at": "{}", "expires_at": "{}", "reference": "OLD-4"}}"#,
            time(now - TimeDelta::days(400)),
            time(now - TimeDelta::days(35))
        ),
        // Line 9: nobody has this customer id.
        format!(
            r#"{{"type": "lot", "customer_id": "C-404", "program": "Shop points", "points": "5", "earned_at": "{}", "reference": "OLD-5"}}"#,
            time(now - TimeDelta::days(1))
        ),
        // Line 10: not JSON.
        "C-3;CARD-0003;Meera".to_owned(),
        // Line 11: C-1's card.
        r#"{"type": "member", "customer_id": "C-3", "card_number": "CARD-0001", "name": "Meera"}"#.to_owned(),
        String::new(),
    ];
    lines.join("\n") + "\n"
}

fn rejected_lines(response: &pb::ImportResponse) -> Vec<u64> {
    response.rejected.iter().map(|r| r.line).collect()
}

/// Runs `loyalty expire` on `url`.
fn expire(url: &str) {
    let out = loyalty(url, &["expire"]);
    assert!(out.status.success(), "{out:?}");
}

fn members_memberships_and_dated_lots_are_imported_over_grpc_and_a_second_import_changes_nothing(
    kind: Kind,
) {
    let db = TestDatabase::new(kind);
    let shop = Shop::new(&db.url);
    let server = ServerProcess::start(&db.url, &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let now = Utc::now();
    let soon = now + TimeDelta::seconds(8);
    let file = shop_file(&shop.program, now, soon);
    let import = |key: &str| {
        let request = authed(
            key,
            pb::ImportRequest {
                lines: file.clone().into_bytes(),
                first_line: 1,
            },
        );
        runtime.block_on(async {
            pb::import_service_client::ImportServiceClient::new(server.channel())
                .import(request)
                .await
        })
    };

    // Only an admin may import.
    let refused = import(&shop.service).unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    let first = import(&shop.admin).unwrap().into_inner();
    assert_eq!(
        (first.read, first.imported, first.already_present),
        (11, 7, 0),
        "{first:?}"
    );
    assert_eq!(rejected_lines(&first), [8, 9, 10, 11], "{first:?}");
    let reasons: Vec<&str> = first.rejected.iter().map(|r| r.reason.as_str()).collect();
    assert!(reasons[0].contains("expired"), "{reasons:?}");
    assert!(reasons[1].contains("C-404"), "{reasons:?}");
    assert!(reasons[2].starts_with("not a record"), "{reasons:?}");
    assert!(reasons[3].contains("CARD-0001"), "{reasons:?}");

    let (asha, ravi) = (shop.member("C-1"), shop.member("C-2"));
    assert_eq!(asha.card_number.as_str(), "CARD-0001");
    assert_eq!(asha.email.as_deref(), Some("asha@example.com"));
    assert_eq!(ravi.referrer_id.as_deref(), Some(asha.id.as_str()));
    let membership = shop
        .store
        .get_membership(&shop.tenant, &asha.id, &shop.program)
        .unwrap();
    assert_eq!(membership.tier.as_deref(), Some("Gold"));
    let asha_balances = shop.balances("C-1");
    assert_eq!(
        (asha_balances.available, asha_balances.earned),
        (points(200), points(200))
    );
    assert_eq!(shop.balances("C-2").available, points(20));
    assert_eq!(shop.imported_entries(), 3);
    verify(&db.url);

    // The same file again: every good line is already there, nothing changes.
    let second = import(&shop.admin).unwrap().into_inner();
    assert_eq!(
        (second.read, second.imported, second.already_present),
        (11, 0, 7),
        "{second:?}"
    );
    assert_eq!(rejected_lines(&second), [8, 9, 10, 11]);
    assert_eq!(shop.balances("C-1"), asha_balances);
    assert_eq!(shop.balances("C-2").available, points(20));
    assert_eq!(shop.imported_entries(), 3);
    verify(&db.url);

    // The two-year-old lot lives until its own expiry, not the program's 12 months...
    expire(&db.url);
    assert_eq!(shop.balances("C-1").available, points(200));
    // ... and expires then.
    let wait = (soon - Utc::now()).to_std().unwrap_or_default();
    std::thread::sleep(wait + Duration::from_millis(200));
    expire(&db.url);
    let after = shop.balances("C-1");
    assert_eq!(
        (after.available, after.expired, after.earned),
        (points(150), points(50), points(200))
    );
    verify(&db.url);

    // A file larger than a batch, sent in two chunks cut at a line end: lines are numbered
    // in the file, and every good line of both chunks is imported once.
    let (large, bad_line) = large_file(300, Utc::now());
    let lines: Vec<&str> = large.lines().collect();
    let (head, tail) = lines.split_at(700);
    let mut chunks = Vec::new();
    for (chunk, first_line) in [(head, 1), (tail, 701)] {
        let request = authed(
            &shop.admin,
            pb::ImportRequest {
                lines: (chunk.join("\n") + "\n").into_bytes(),
                first_line,
            },
        );
        let answer = runtime.block_on(async {
            pb::import_service_client::ImportServiceClient::new(server.channel())
                .import(request)
                .await
        });
        chunks.push(answer.unwrap().into_inner());
    }
    let imported: u64 = chunks.iter().map(|c| c.imported).sum();
    assert_eq!(imported, 1200, "{chunks:?}");
    let rejected: Vec<u64> = chunks.iter().flat_map(rejected_lines).collect();
    assert_eq!(rejected, [bad_line]);
    assert!(
        chunks[0].rejected[0].reason.contains("points"),
        "{chunks:?}"
    );
    assert_eq!(shop.imported_entries(), 3 + 600);
    assert_eq!(shop.balances("M-299").available, points(10));
    verify(&db.url);
    server.stop();
}

#[test]
fn members_memberships_and_dated_lots_are_imported_over_grpc_and_a_second_import_changes_nothing_on_sqlite()
 {
    members_memberships_and_dated_lots_are_imported_over_grpc_and_a_second_import_changes_nothing(
        Kind::Sqlite,
    );
}

#[test]
fn members_memberships_and_dated_lots_are_imported_over_grpc_and_a_second_import_changes_nothing_on_postgres()
 {
    if skip_postgres() {
        return;
    }
    members_memberships_and_dated_lots_are_imported_over_grpc_and_a_second_import_changes_nothing(
        Kind::Postgres,
    );
}

/// A file of `members` members, each with a membership and two lots (3 + 7 points), and one
/// bad lot (negative points) in the first quarter; returns it with the bad line's number.
fn large_file(members: usize, now: DateTime<Utc>) -> (String, u64) {
    let earned = time(now - TimeDelta::days(30));
    let mut lines = Vec::new();
    for n in 0..members {
        lines.push(format!(
            r#"{{"type": "member", "customer_id": "M-{n}", "card_number": "CARD-{n:06}", "name": "Member {n}"}}"#
        ));
        lines.push(format!(
            r#"{{"type": "membership", "customer_id": "M-{n}", "program": "Shop points"}}"#
        ));
        for (lot, points) in [(1, 3), (2, 7)] {
            lines.push(format!(
                r#"{{"type": "lot", "customer_id": "M-{n}", "program": "Shop points", "points": "{points}", "earned_at": "{earned}", "reference": "L-{n}-{lot}"}}"#
            ));
        }
        if n == members / 4 {
            lines.push(format!(
                r#"{{"type": "lot", "customer_id": "M-{n}", "program": "Shop points", "points": "-5", "earned_at": "{earned}", "reference": "L-{n}-bad"}}"#
            ));
        }
    }
    let bad = 4 * (members / 4) + 5;
    (lines.join("\n") + "\n", u64::try_from(bad).unwrap())
}

fn summary(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn an_interrupted_command_line_import_finishes_on_a_second_run_without_duplicates(kind: Kind) {
    let db = TestDatabase::new(kind);
    let shop = Shop::new(&db.url);
    let dir = tempfile::tempdir().unwrap();
    let members = 400;
    let (full, bad_line) = large_file(members, Utc::now());
    let (full_path, half_path) = (dir.path().join("full.jsonl"), dir.path().join("half.jsonl"));
    std::fs::write(&full_path, &full).unwrap();
    // Cut in the middle of a line, as a copy interrupted half-way leaves it.
    let cut = full.len() / 2 + full[full.len() / 2..].find('\n').unwrap() + 10;
    std::fs::write(&half_path, &full[..cut]).unwrap();
    let run = |path: &Path, rejects: &Path| {
        loyalty(
            &db.url,
            &[
                "import",
                path.to_str().unwrap(),
                "--tenant",
                &shop.tenant,
                "--rejects",
                rejects.to_str().unwrap(),
            ],
        )
    };

    let half = run(&half_path, &dir.path().join("half.rejects"));
    // Rejected lines (the bad lot, the cut line) make the exit status 3.
    assert_eq!(half.status.code(), Some(3), "{half:?}");
    let stderr = String::from_utf8_lossy(&half.stderr);
    assert!(stderr.contains("rows/s"), "no progress on stderr: {stderr}");
    let half_rejects = std::fs::read_to_string(dir.path().join("half.rejects")).unwrap();
    assert!(
        half_rejects.starts_with(&format!("{bad_line}\t")),
        "{half_rejects}"
    );
    assert_eq!(half_rejects.lines().count(), 2, "{half_rejects}");
    verify(&db.url);

    let rest = run(&full_path, &dir.path().join("full.rejects"));
    assert_eq!(rest.status.code(), Some(3), "{rest:?}");
    let good = u64::try_from(4 * members).unwrap();
    let line = summary(&rest);
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 4, "{line}");
    let (read, imported, present, rejected) = (numbers[0], numbers[1], numbers[2], numbers[3]);
    assert_eq!((read, rejected), (good + 1, 1), "{line}");
    assert_eq!(imported + present, good, "{line}");
    assert!(present > 0 && imported > 0, "{line}");
    let full_rejects = std::fs::read_to_string(dir.path().join("full.rejects")).unwrap();
    assert_eq!(full_rejects.lines().count(), 1, "{full_rejects}");
    assert!(
        full_rejects.starts_with(&format!("{bad_line}\t")),
        "{full_rejects}"
    );

    // Every member once, every lot once.
    assert_eq!(shop.imported_entries(), 2 * members);
    for n in [0, members / 2, members - 1] {
        assert_eq!(shop.balances(&format!("M-{n}")).available, points(10));
    }
    verify(&db.url);

    // A third run finds everything there.
    let again = run(&full_path, &dir.path().join("again.rejects"));
    assert_eq!(
        summary(&again),
        format!(
            "read {} lines: 0 imported, {good} already present, 1 rejected",
            good + 1
        )
    );
    assert_eq!(shop.imported_entries(), 2 * members);
    verify(&db.url);
}

#[test]
fn an_interrupted_command_line_import_finishes_on_a_second_run_without_duplicates_on_sqlite() {
    an_interrupted_command_line_import_finishes_on_a_second_run_without_duplicates(Kind::Sqlite);
}

#[test]
fn an_interrupted_command_line_import_finishes_on_a_second_run_without_duplicates_on_postgres() {
    if skip_postgres() {
        return;
    }
    an_interrupted_command_line_import_finishes_on_a_second_run_without_duplicates(Kind::Postgres);
}

/// Two `loyalty import` runs of one file at the same time on one PostgreSQL database (two
/// operators, or a retry started before the first run ended): every member, membership and
/// lot exists once, and a third run finds everything present. (SQLite serializes writers:
/// one run would wait for the other's whole transactions, which the busy timeout bounds.)
#[test]
fn two_imports_of_one_file_at_the_same_time_import_every_line_once_on_postgres() {
    if skip_postgres() {
        return;
    }
    let db = TestDatabase::new(Kind::Postgres);
    let shop = Shop::new(&db.url);
    let dir = tempfile::tempdir().unwrap();
    let members = 300;
    let (file, _) = large_file(members, Utc::now());
    let path = dir.path().join("file.jsonl");
    std::fs::write(&path, &file).unwrap();
    let start = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_loyalty"));
        for (var, _) in std::env::vars() {
            if var.starts_with("LOYALTY_") || var == "RUST_LOG" {
                command.env_remove(var);
            }
        }
        command
            .args(["--database-url", &db.url, "import"])
            .arg(&path)
            .args(["--tenant", &shop.tenant])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (start(), start());
    for run in [first, second] {
        let out = run.wait_with_output().unwrap();
        // 3: the file's bad line, and lines the other run wrote first.
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        eprintln!("{}", summary(&out));
    }
    assert_eq!(shop.imported_entries(), 2 * members);
    for n in [0, members / 2, members - 1] {
        assert_eq!(shop.balances(&format!("M-{n}")).available, points(10));
    }
    verify(&db.url);
    let good = 4 * members;
    let again = loyalty(
        &db.url,
        &["import", path.to_str().unwrap(), "--tenant", &shop.tenant],
    );
    assert_eq!(
        summary(&again),
        format!(
            "read {} lines: 0 imported, {good} already present, 1 rejected",
            good + 1
        )
    );
}
