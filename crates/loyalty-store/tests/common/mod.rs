//! Test helpers: a fresh real database per test, on SQLite and on PostgreSQL.
//!
//! SQLite tests get a new file in a temporary directory. PostgreSQL tests get a new database
//! on the server named by `LOYALTY_TEST_DATABASE_URL` (scripts/test.sh starts a throwaway
//! one), dropped when the test ends. Without that variable the PostgreSQL tests fail loudly
//! rather than being skipped, unless `LOYALTY_TEST_SKIP_POSTGRES=1` says so explicitly.
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use diesel::{Connection, RunQueryDsl, pg::PgConnection};
use loyalty_store::{ManualClock, Store};

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A store on a fresh database with a manual clock, removed on drop.
pub struct TestStore {
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub kind: Kind,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(tempfile::TempDir),
    Database { admin_url: String, name: String },
}

/// The instant every test clock starts at: Saturday 2026-11-21 10:00 UTC.
pub fn start() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0)
        .single()
        .expect("valid date")
}

fn admin_url() -> Option<String> {
    std::env::var("LOYALTY_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Whether PostgreSQL tests should be skipped (only when explicitly asked).
pub fn skip_postgres() -> bool {
    admin_url().is_none() && std::env::var("LOYALTY_TEST_SKIP_POSTGRES").is_ok_and(|v| v == "1")
}

impl TestStore {
    /// A fresh store of `kind` with `pool` connections.
    pub fn new(kind: Kind, pool: u32) -> TestStore {
        let clock = Arc::new(ManualClock::new(start()));
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = dir.path().join("loyalty.db").display().to_string();
                let store =
                    Store::open_with_clock(&url, pool, clock.clone()).expect("open sqlite store");
                TestStore {
                    store,
                    clock,
                    kind,
                    url,
                    cleanup: Cleanup::Dir(dir),
                }
            }
            Kind::Postgres => {
                let admin = admin_url().expect(
                    "LOYALTY_TEST_DATABASE_URL is not set: run the tests with scripts/test.sh (it starts a \
                     throwaway PostgreSQL), or set LOYALTY_TEST_SKIP_POSTGRES=1 to skip them explicitly",
                );
                let name = format!("loyalty_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn =
                    PgConnection::establish(&admin).expect("connect to the test PostgreSQL");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .expect("create database");
                let url = match admin.rfind('/') {
                    Some(slash) => format!("{}/{name}", &admin[..slash]),
                    None => panic!("LOYALTY_TEST_DATABASE_URL has no database part: {admin}"),
                };
                let store =
                    Store::open_with_clock(&url, pool, clock.clone()).expect("open postgres store");
                TestStore {
                    store,
                    clock,
                    kind,
                    url,
                    cleanup: Cleanup::Database {
                        admin_url: admin,
                        name,
                    },
                }
            }
        }
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        if let Cleanup::Database { admin_url, name } = &self.cleanup
            && let Ok(mut conn) = PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn);
        }
    }
}

/// Defines each test twice, as `<name>::sqlite` and `<name>::postgres`, each on a fresh
/// database: `on_both_backends! { fn a_thing_happens(t) { ... } }` where `t: &TestStore`.
#[macro_export]
macro_rules! on_both_backends {
    ($(fn $name:ident($t:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                fn run($t: &$crate::common::TestStore) $body

                #[test]
                fn sqlite() {
                    run(&$crate::common::TestStore::new($crate::common::Kind::Sqlite, 4));
                }

                #[test]
                fn postgres() {
                    if $crate::common::skip_postgres() {
                        eprintln!("PostgreSQL test skipped: LOYALTY_TEST_SKIP_POSTGRES=1");
                        return;
                    }
                    run(&$crate::common::TestStore::new($crate::common::Kind::Postgres, 4));
                }
            }
        )*
    };
}
