//! Test helpers: a store on a fresh real database per test, on SQLite and on PostgreSQL (see
//! `loyalty_store::testing`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use loyalty_store::testing::TestDatabase;
pub use loyalty_store::testing::{Kind, skip_postgres, start};
use loyalty_store::{ManualClock, Store};

/// A store on a fresh database with a manual clock (starting at [`start`]), removed on drop.
pub struct TestStore {
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub kind: Kind,
    pub url: String,
    /// Set by tests that corrupt the database on purpose (to prove the checker finds it).
    pub tampered: AtomicBool,
    // Dropped last: the store's connections close before the database goes.
    _db: TestDatabase,
}

impl TestStore {
    /// A fresh store of `kind` with `pool` connections.
    pub fn new(kind: Kind, pool: u32) -> TestStore {
        TestStore::with_timeout(kind, pool, loyalty_store::db::DEFAULT_TIMEOUT)
    }

    /// A fresh store of `kind` with `pool` connections, whose calls wait up to `timeout` for
    /// the database (a connection, SQLite's write lock) before they fail as unavailable.
    pub fn with_timeout(kind: Kind, pool: u32, timeout: std::time::Duration) -> TestStore {
        let db = TestDatabase::new(kind);
        let clock = Arc::new(ManualClock::new(start()));
        let options = loyalty_store::PoolOptions {
            max_connections: pool,
            timeout,
        };
        let store = Store::open_with(&db.url, options, clock.clone()).expect("open the test store");
        TestStore {
            store,
            clock,
            kind,
            url: db.url.clone(),
            tampered: AtomicBool::new(false),
            _db: db,
        }
    }
}

/// Runs after every scenario: the ledger invariant checker must find nothing wrong (unless the
/// test tampered with the database on purpose).
pub fn after_scenario(t: &TestStore) {
    if !t.tampered.load(Ordering::SeqCst) {
        let violations = t.store.verify(None).expect("run the invariant checker");
        assert!(
            violations.is_empty(),
            "the ledger invariant checker found: {violations:#?}"
        );
    }
}

/// Defines each test twice, as `<name>::sqlite` and `<name>::postgres`, each on a fresh
/// database: `on_both_backends! { fn a_thing_happens(t) { ... } }` where `t: &TestStore`.
/// After each scenario the ledger invariant checker runs ([`after_scenario`]).
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
                    let t = $crate::common::TestStore::new($crate::common::Kind::Sqlite, 4);
                    run(&t);
                    $crate::common::after_scenario(&t);
                }

                #[test]
                fn postgres() {
                    if $crate::common::skip_postgres() {
                        eprintln!("PostgreSQL test skipped: LOYALTY_TEST_SKIP_POSTGRES=1");
                        return;
                    }
                    let t = $crate::common::TestStore::new($crate::common::Kind::Postgres, 4);
                    run(&t);
                    $crate::common::after_scenario(&t);
                }
            }
        )*
    };
}
