//! A fresh database per run: a new SQLite file in a temporary directory, or a throwaway
//! database created on a PostgreSQL server (and dropped afterwards unless kept). The
//! temporary directory also holds the servers' logs.

use std::path::{Path, PathBuf};

use anyhow::Context;
use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl};

/// Where a run's databases come from.
#[derive(Debug, Clone, Default)]
pub struct DatabaseSource {
    /// A PostgreSQL URL the bench may create and drop databases on; `None` for SQLite.
    pub postgres_admin: Option<String>,
    /// The directory for SQLite files and logs; `None` for the system's temporary directory.
    pub data_dir: Option<PathBuf>,
    /// Keep the databases and logs after the run (and print where they are).
    pub keep: bool,
}

impl DatabaseSource {
    /// "sqlite" or "postgres".
    pub fn engine(&self) -> &'static str {
        if self.postgres_admin.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }
}

/// A database created for one run; dropping it removes it (unless kept).
#[derive(Debug)]
pub struct FreshDatabase {
    url: String,
    dir: Option<tempfile::TempDir>,
    dir_path: PathBuf,
    postgres: Option<(String, String)>,
    keep: bool,
}

impl FreshDatabase {
    /// Creates a fresh, empty database (not yet migrated: the first store or server to open it
    /// does that).
    pub fn create(source: &DatabaseSource) -> anyhow::Result<FreshDatabase> {
        let mut builder = tempfile::Builder::new();
        builder.prefix("loyalty-bench-");
        let dir = match &source.data_dir {
            Some(parent) => builder.tempdir_in(parent),
            None => builder.tempdir(),
        }
        .context("creating a temporary directory")?;
        let dir_path = dir.path().to_owned();
        let (url, postgres) = match &source.postgres_admin {
            None => (dir.path().join("loyalty.db").display().to_string(), None),
            Some(admin) => {
                let name = format!("loyalty_bench_{}", uuid::Uuid::new_v4().simple());
                let mut conn = PgConnection::establish(admin)
                    .with_context(|| format!("connecting to {admin}"))?;
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .with_context(|| format!("creating the database {name}"))?;
                let slash = admin
                    .rfind('/')
                    .filter(|&i| i > "postgres://".len())
                    .with_context(|| format!("{admin} names no database"))?;
                (
                    format!("{}/{name}", &admin[..slash]),
                    Some((admin.clone(), name)),
                )
            }
        };
        Ok(FreshDatabase {
            url,
            dir: Some(dir),
            dir_path,
            postgres,
            keep: source.keep,
        })
    }

    /// Its URL (a file path for SQLite).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The run's temporary directory (SQLite file, server logs).
    pub fn dir(&self) -> &Path {
        &self.dir_path
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        if self.keep {
            if let Some(dir) = self.dir.take() {
                let kept = dir.keep();
                eprintln!(
                    "kept {} (database {}, server logs)",
                    kept.display(),
                    self.url
                );
            }
            return;
        }
        if let Some((admin, name)) = &self.postgres
            && let Ok(mut conn) = PgConnection::establish(admin)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn);
        }
    }
}
