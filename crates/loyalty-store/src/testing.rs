//! Test support (feature `testing`): a fresh, real database per test, on SQLite or on
//! PostgreSQL, removed when dropped. Used by this crate's tests and by the end-to-end tests of
//! the server.
//!
//! SQLite databases are new files in a temporary directory. PostgreSQL databases are created
//! on the server named by `LOYALTY_TEST_DATABASE_URL` (`scripts/test.sh` starts a throwaway
//! one) and dropped afterwards. Without that variable PostgreSQL tests fail loudly instead of
//! being skipped, unless `LOYALTY_TEST_SKIP_POSTGRES=1` says so explicitly.
#![allow(clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use diesel::{Connection, RunQueryDsl, pg::PgConnection};

use crate::{ManualClock, Store};

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A new SQLite file.
    Sqlite,
    /// A new PostgreSQL database.
    Postgres,
}

/// A fresh database; dropping it removes it.
#[derive(Debug)]
pub struct TestDatabase {
    /// The backend.
    pub kind: Kind,
    /// Its URL (a file path for SQLite).
    pub url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    // Held only so the directory is removed on drop.
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Database { admin_url: String, name: String },
}

/// The instant test clocks start at: Saturday 2026-11-21 10:00 UTC.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0)
        .single()
        .expect("valid date")
}

fn admin_url() -> Option<String> {
    std::env::var("LOYALTY_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Whether PostgreSQL tests are explicitly skipped.
pub fn skip_postgres() -> bool {
    admin_url().is_none() && std::env::var("LOYALTY_TEST_SKIP_POSTGRES").is_ok_and(|v| v == "1")
}

impl TestDatabase {
    /// Creates a fresh database of `kind`.
    pub fn new(kind: Kind) -> TestDatabase {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = dir.path().join("loyalty.db").display().to_string();
                TestDatabase {
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
                let Some(slash) = admin.rfind('/') else {
                    panic!("LOYALTY_TEST_DATABASE_URL has no database part: {admin}");
                };
                let url = format!("{}/{name}", &admin[..slash]);
                TestDatabase {
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

    /// Opens (and migrates) a store on this database with `pool` connections and `clock`.
    pub fn store(&self, pool: u32, clock: Arc<ManualClock>) -> Store {
        Store::open_with_clock(&self.url, pool, clock).expect("open the test store")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::Database { admin_url, name } = &self.cleanup
            && let Ok(mut conn) = PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn);
        }
    }
}
