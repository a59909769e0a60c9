//! What an operator meets in the first hour, with the real `loyalty` binary: start-up failures
//! that are fast and say what to do, databases created only where they should be, the server
//! naming its database, host names in `--listen`, the key and tenant commands, and online
//! backups of a server under write load.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/process.rs"]
mod process;
#[path = "common/seeded.rs"]
mod seeded;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::{Connection, RunQueryDsl};
use loyalty_grpc::pb;
use loyalty_store::testing::{Kind, TestDatabase, skip_postgres};
use loyalty_store::{Role, Store};
use process::ServerProcess;
use seeded::Seeded;

/// A permanently bad database must be reported within this.
const FAST: Duration = Duration::from_secs(2);

/// The `loyalty` binary with `args`, no configuration leaking in from the environment, run in
/// `dir`.
fn loyalty_in(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_loyalty"));
    for (var, _) in std::env::vars() {
        if var.starts_with("LOYALTY_") || var == "RUST_LOG" {
            command.env_remove(var);
        }
    }
    command
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run loyalty")
}

fn loyalty(args: &[&str]) -> Output {
    loyalty_in(&std::env::temp_dir(), args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// Runs a command that must succeed; returns its standard output.
fn ok(args: &[&str]) -> String {
    let out = loyalty(args);
    assert!(
        out.status.success(),
        "`loyalty {}` failed:\n{}\n{}",
        args.join(" "),
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// Runs a command that must fail within [`FAST`]; returns its standard error.
fn fails_fast(args: &[&str]) -> String {
    let started = Instant::now();
    let out = loyalty(args);
    let took = started.elapsed();
    assert!(
        !out.status.success(),
        "`loyalty {}` succeeded:\n{}",
        args.join(" "),
        stdout(&out)
    );
    assert!(
        took < FAST,
        "`loyalty {}` took {took:?} to fail (at most {FAST:?}):\n{}",
        args.join(" "),
        stderr(&out)
    );
    stderr(&out)
}

/// The test PostgreSQL server's URL with another database name, or `None` when PostgreSQL tests
/// are explicitly skipped.
fn postgres_url(database: &str) -> Option<String> {
    if skip_postgres() {
        eprintln!("PostgreSQL test skipped: LOYALTY_TEST_SKIP_POSTGRES=1");
        return None;
    }
    let admin = std::env::var("LOYALTY_TEST_DATABASE_URL")
        .expect("LOYALTY_TEST_DATABASE_URL is not set: run the tests with scripts/test.sh");
    let slash = admin.rfind('/').expect("a database part");
    Some(format!("{}/{database}", &admin[..slash]))
}

fn admin_connection() -> diesel::PgConnection {
    let admin = std::env::var("LOYALTY_TEST_DATABASE_URL").unwrap();
    diesel::PgConnection::establish(&admin).unwrap()
}

fn drop_database(name: &str) {
    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin_connection());
}

fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{nanos}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

#[test]
fn an_unknown_database_scheme_fails_at_once_naming_the_url_with_its_password_masked() {
    for url in [
        "postgress://app:s3cret@localhost/loyalty",
        "mysql://app:s3cret@localhost/loyalty",
    ] {
        for command in [&["serve", "--listen", "127.0.0.1:0"][..], &["verify"][..]] {
            let mut args = vec!["--database-url", url];
            args.extend_from_slice(command);
            let err = fails_fast(&args);
            assert!(err.contains("unknown database URL scheme"), "{err}");
            assert!(err.contains("app:***@localhost/loyalty"), "{err}");
            assert!(err.contains("postgres://user@host/dbname"), "{err}");
            assert!(!err.contains("s3cret"), "the password leaked: {err}");
            assert!(
                err.lines().count() <= 2,
                "one clear line, not a retry log: {err}"
            );
        }
    }
}

#[test]
fn a_postgresql_server_that_refuses_connections_fails_serve_in_under_two_seconds() {
    // Port 1 on the loopback: nothing listens there.
    let url = "postgres://app:s3cret@127.0.0.1:1/loyalty";
    let err = fails_fast(&["--database-url", url, "serve", "--listen", "127.0.0.1:0"]);
    assert!(
        err.contains("cannot connect to postgres://app:***@127.0.0.1:1/loyalty"),
        "{err}"
    );
    assert!(err.contains("is PostgreSQL running"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
}

#[test]
fn serve_and_migrate_create_a_missing_postgresql_database_and_operator_commands_do_not() {
    let name = unique("loyalty_created");
    let Some(url) = postgres_url(&name) else {
        return;
    };
    // An operator command refuses, says what to run, and creates nothing.
    for _ in 0..2 {
        let err = fails_fast(&["--database-url", &url, "verify"]);
        assert!(
            err.contains(&format!("the database \"{name}\" does not exist")),
            "{err}"
        );
        assert!(err.contains("loyalty migrate"), "{err}");
    }
    let created = ok(&["--database-url", &url, "migrate"]);
    assert!(created.contains("migration(s) applied"), "{created}");
    assert!(!created.starts_with("0 "), "{created}");
    assert!(ok(&["--database-url", &url, "verify"]).starts_with("ledger consistent"));
    drop_database(&name);

    // serve creates it too.
    let name = unique("loyalty_served");
    let url = postgres_url(&name).unwrap();
    let server = ServerProcess::start(&url, &[]);
    let log = server.stop();
    assert!(log.contains("postgresql database"), "{log}");
    assert!(ok(&["--database-url", &url, "verify"]).starts_with("ledger consistent"));
    drop_database(&name);
}

#[test]
fn a_role_that_may_not_create_the_missing_database_is_told_what_to_run() {
    let role = unique("loyalty_nocreate");
    let Some(url) = postgres_url(&unique("loyalty_never")) else {
        return;
    };
    diesel::sql_query(format!("CREATE ROLE {role} LOGIN NOCREATEDB"))
        .execute(&mut admin_connection())
        .unwrap();
    let url = url.replacen("://postgres@", &format!("://{role}@"), 1);
    assert!(
        url.contains(&role),
        "the test URL names the postgres user: {url}"
    );
    let err = fails_fast(&["--database-url", &url, "serve", "--listen", "127.0.0.1:0"]);
    let _ = diesel::sql_query(format!("DROP ROLE {role}")).execute(&mut admin_connection());
    assert!(err.contains("may not create it"), "{err}");
    assert!(err.contains("createdb loyalty_never_"), "{err}");
}

#[test]
fn operator_commands_refuse_to_create_a_new_sqlite_database_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    for command in [
        &["verify"][..],
        &["create-tenant", "Typo Shop"][..],
        &["issue-key", "--role", "operator"][..],
        &["keys", "list"][..],
        &["tenants", "list"][..],
        &["expire"][..],
    ] {
        let started = Instant::now();
        let mut args = vec!["--database-url", "mistyped.db"];
        args.extend_from_slice(command);
        let out = loyalty_in(dir.path(), &args);
        assert!(!out.status.success(), "{command:?} succeeded");
        assert!(started.elapsed() < FAST);
        let err = stderr(&out);
        let absolute = dir.path().join("mistyped.db");
        assert!(
            err.contains(&format!("no database at {}", absolute.display())),
            "{command:?}: {err}"
        );
        assert!(err.contains("--create-database"), "{err}");
        assert!(
            !absolute.exists(),
            "{command:?} created {}",
            absolute.display()
        );
    }
    let out = loyalty_in(
        dir.path(),
        &[
            "--database-url",
            "mistyped.db",
            "--create-database",
            "verify",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.path().join("mistyped.db").is_file());
}

#[test]
fn the_server_accepts_a_host_name_and_logs_its_backend_and_absolute_database_path() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_loyalty"))
        .args(["--database-url", "relative.db", "serve", "--listen"])
        .arg(format!("localhost:{port}"))
        .env_remove("LOYALTY_DATABASE_URL")
        .env_remove("LOYALTY_LISTEN")
        .env("RUST_LOG", "info")
        .current_dir(dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server never listened");
        assert!(child.try_wait().unwrap().is_none(), "the server exited");
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    let log = stderr(&out);
    let absolute = dir.path().join("relative.db");
    assert!(log.contains("sqlite database"), "{log}");
    assert!(
        log.contains(&absolute.display().to_string()),
        "the log does not name {}: {log}",
        absolute.display()
    );
    assert!(absolute.is_file());
}

/// The key and tenant commands on `db`.
fn keys_and_tenants_are_listed_and_revoked_from_the_command_line(kind: Kind) {
    if kind == Kind::Postgres && skip_postgres() {
        return;
    }
    let db = TestDatabase::new(kind);
    let url = db.url.as_str();
    ok(&["--database-url", url, "migrate"]);
    let tenant = ok(&["--database-url", url, "create-tenant", "Cathay Shop"]);
    let other = ok(&["--database-url", url, "create-tenant", "Other Shop"]);
    let tenants = ok(&["--database-url", url, "tenants", "list"]);
    assert_eq!(tenants.lines().count(), 2, "{tenants}");
    assert!(
        tenants.contains(&format!("{tenant}\tactive\t")),
        "{tenants}"
    );
    assert!(tenants.contains("Cathay Shop") && tenants.contains("Other Shop"));

    let issue = |tenant: &str, label: &str| {
        let out = loyalty(&[
            "--database-url",
            url,
            "issue-key",
            "--role",
            "service",
            "--tenant",
            tenant,
            "--label",
            label,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let id = stderr(&out)
            .strip_prefix("key id ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap()
            .to_owned();
        (id, stdout(&out))
    };
    let (billing_id, billing_key) = issue(&tenant, "billing");
    let (orders_id, orders_key) = issue(&tenant, "orders");
    let (_other_id, _) = issue(&other, "elsewhere");

    let listed = ok(&["--database-url", url, "keys", "list", "--tenant", &tenant]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    for (id, label) in [(&billing_id, "billing"), (&orders_id, "orders")] {
        let line = listed.lines().find(|l| l.starts_with(id.as_str())).unwrap();
        assert!(
            line.contains(&format!("\tservice\t{tenant}\t-\t")),
            "{line}"
        );
        assert!(line.ends_with(&format!("\tactive\t{label}")), "{line}");
    }
    assert!(!listed.contains(&billing_key), "a secret was listed");
    assert_eq!(
        ok(&["--database-url", url, "keys", "list"]).lines().count(),
        3
    );

    let revoked = ok(&["--database-url", url, "keys", "revoke", &billing_id]);
    assert!(revoked.contains(&billing_id), "{revoked}");
    let listed = ok(&["--database-url", url, "keys", "list", "--tenant", &tenant]);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(listed.starts_with(&orders_id), "{listed}");
    let all = ok(&[
        "--database-url",
        url,
        "keys",
        "list",
        "--tenant",
        &tenant,
        "--all",
    ]);
    let line = all.lines().find(|l| l.starts_with(&billing_id)).unwrap();
    assert!(line.contains("\trevoked 20"), "{line}");

    // The revoked key authenticates no more; the other does.
    let store = Store::open(url, 1).unwrap();
    assert_eq!(store.authenticate(&billing_key).unwrap(), None);
    assert_eq!(
        store.authenticate(&orders_key).unwrap().map(|p| p.role),
        Some(Role::Service)
    );
    let err = stderr(&loyalty(&[
        "--database-url",
        url,
        "keys",
        "revoke",
        "no-such-key",
    ]));
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn keys_and_tenants_are_listed_and_revoked_from_the_command_line_on_sqlite() {
    keys_and_tenants_are_listed_and_revoked_from_the_command_line(Kind::Sqlite);
}

#[test]
fn keys_and_tenants_are_listed_and_revoked_from_the_command_line_on_postgres() {
    keys_and_tenants_are_listed_and_revoked_from_the_command_line(Kind::Postgres);
}

#[test]
fn a_backup_taken_while_the_server_writes_is_a_consistent_database() {
    let db = TestDatabase::new(Kind::Sqlite);
    let seeded = Seeded::new(&db.url, "Backup Shop", 8);
    let (key, program, members) = (
        seeded.service.clone(),
        seeded.program.clone(),
        seeded.members.clone(),
    );
    let server = ServerProcess::start(&db.url, &[]);

    // Earn calls without pause while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let earned = Arc::new(AtomicU64::new(0));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let load = {
        let channel = {
            let _entered = runtime.enter();
            server.channel()
        };
        let (stop, earned) = (stop.clone(), earned.clone());
        runtime.spawn(async move {
            let mut client = pb::ledger_service_client::LedgerServiceClient::new(channel);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let mut request = tonic::Request::new(pb::EarnRequest {
                    idempotency_key: format!("load-{n}"),
                    program_id: program.clone(),
                    member_id: members[usize::try_from(n % 8).unwrap()].clone(),
                    bill: Some(pb::Bill {
                        reference: format!("B{n}"),
                        lines: vec![pb::BillLine {
                            amount: "100".into(),
                            ..pb::BillLine::default()
                        }],
                        ..pb::Bill::default()
                    }),
                });
                request
                    .metadata_mut()
                    .insert("authorization", format!("Bearer {key}").parse().unwrap());
                client.earn(request).await.unwrap();
                earned.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while earned.load(Ordering::Relaxed) < 50 {
        assert!(Instant::now() < deadline, "no earn load");
        std::thread::sleep(Duration::from_millis(10));
    }
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("copy.db");
    let dest_text = dest.display().to_string();
    let before = earned.load(Ordering::Relaxed);
    let out = ok(&["--database-url", &db.url, "backup", &dest_text]);
    let during = earned.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    runtime.block_on(load).unwrap();
    server.stop();
    assert!(out.contains("integrity ok, ledger consistent"), "{out}");
    assert!(during > 0, "the server wrote nothing while the backup ran");

    // The copy is a database of its own, as of one commit: consistent, and holding the
    // earns committed before the backup began.
    assert!(ok(&["--database-url", &dest_text, "verify"]).starts_with("ledger consistent"));
    let copy = Store::open(&dest_text, 1).unwrap();
    let entries: i64 = match &mut *copy.database().conn().unwrap() {
        loyalty_store::DbConnection::Sqlite(conn) => {
            #[derive(diesel::QueryableByName)]
            struct Count {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            diesel::sql_query("SELECT COUNT(*) AS n FROM ledger_entries")
                .get_result::<Count>(conn)
                .unwrap()
                .n
        }
        loyalty_store::DbConnection::Postgres(_) => unreachable!(),
    };
    assert!(
        entries >= i64::try_from(before).unwrap(),
        "the copy holds {entries} entries, {before} earns had committed"
    );

    // A backup never overwrites.
    let err = stderr(&loyalty(&["--database-url", &db.url, "backup", &dest_text]));
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn a_postgresql_backup_is_refused_with_what_to_use_instead() {
    if skip_postgres() {
        return;
    }
    let db = TestDatabase::new(Kind::Postgres);
    ok(&["--database-url", &db.url, "migrate"]);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("copy.db");
    let err = stderr(&loyalty(&[
        "--database-url",
        &db.url,
        "backup",
        &dest.display().to_string(),
    ]));
    assert!(err.contains("pg_dump"), "{err}");
    assert!(!dest.exists());
}
