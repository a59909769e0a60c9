//! What a process checks about its database URL before it opens a pool: that the URL names a
//! backend this build knows, that the database is there (or may be created), and how to name it
//! in logs and errors without its password.
//!
//! Every failure here is permanent (a typo, a missing database, a refused password, an unknown
//! host): it is reported once, at once, with what to do, instead of being retried by the pool
//! until a timeout. The pool keeps its retries for the outages that come and go (see
//! [`crate::db`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;

use crate::db::Backend;

/// A database URL, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// An SQLite file (its path as given, and made absolute).
    Sqlite {
        /// The path as given (relative to the working directory, or absolute).
        path: PathBuf,
        /// The path made absolute, for logs and messages.
        absolute: PathBuf,
    },
    /// A PostgreSQL database.
    Postgres {
        /// The URL as given.
        url: String,
    },
}

/// Why a database URL cannot be used. Each message names the URL (password masked) and says
/// what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartupError {
    /// The URL has a scheme this build does not know.
    #[error(
        "unknown database URL scheme {scheme:?} in {url}: use a file path (SQLite, for example \
         loyalty.db or sqlite:///var/lib/loyalty/loyalty.db) or postgres://user@host/dbname"
    )]
    UnknownScheme {
        /// The scheme found.
        scheme: String,
        /// The URL, password masked.
        url: String,
    },
    /// The database does not exist and this command does not create databases.
    #[error("{0}")]
    Missing(String),
    /// The database cannot be reached or refuses the connection.
    #[error("{0}")]
    Unreachable(String),
}

/// Whether a command may create the database it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Create it when it does not exist (`serve`, `migrate`, or an operator command given
    /// `--create-database`).
    IfMissing,
    /// Refuse: a command that only reads or adds to an existing database would otherwise make a
    /// new empty one at a mistyped path.
    Never,
}

/// `url` with the password of a `scheme://user:password@host` URL replaced by `***`.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let masked = match userinfo.split_once(':') {
        Some((user, _password)) => format!("{user}:***"),
        None => userinfo.to_owned(),
    };
    let mut tail = tail.to_owned();
    // A password may also be given as a query parameter.
    if let Some(start) = tail.find("password=") {
        let value_start = start + "password=".len();
        let value_end = tail[value_start..]
            .find('&')
            .map_or(tail.len(), |end| value_start + end);
        tail.replace_range(value_start..value_end, "***");
    }
    format!("{scheme}://{masked}@{host}{tail}")
}

impl DatabaseTarget {
    /// Understands `url`: `postgres://` or `postgresql://` is PostgreSQL; `sqlite://PATH`,
    /// `file:PATH` or a plain path is an SQLite file; any other `scheme://` is refused.
    pub fn parse(url: &str) -> Result<DatabaseTarget, StartupError> {
        if let Some((scheme, _)) = url.split_once("://") {
            let plausible_scheme = !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            match scheme {
                "postgres" | "postgresql" => {
                    return Ok(DatabaseTarget::Postgres {
                        url: url.to_owned(),
                    });
                }
                "sqlite" => {}
                _ if plausible_scheme => {
                    return Err(StartupError::UnknownScheme {
                        scheme: scheme.to_owned(),
                        url: mask_url(url),
                    });
                }
                _ => {}
            }
        }
        let path = Path::new(sqlite_path(url));
        if path.as_os_str().is_empty() {
            return Err(StartupError::Missing(
                "the database URL is empty: give a file path (SQLite) or postgres://user@host/dbname"
                    .into(),
            ));
        }
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        Ok(DatabaseTarget::Sqlite {
            path: path.to_path_buf(),
            absolute,
        })
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        match self {
            DatabaseTarget::Sqlite { .. } => Backend::Sqlite,
            DatabaseTarget::Postgres { .. } => Backend::Postgres,
        }
    }

    /// How to name the database in logs: the absolute path of an SQLite file, the URL of a
    /// PostgreSQL database with its password masked.
    pub fn display(&self) -> String {
        match self {
            DatabaseTarget::Sqlite { absolute, .. } => absolute.display().to_string(),
            DatabaseTarget::Postgres { url } => mask_url(url),
        }
    }

    /// Checks the database is there, creating it when `create` allows. Returns whether it was
    /// created. Fails at once (within `timeout` for a host that does not answer) with a message
    /// naming the database and the fix; never retries.
    pub fn prepare(&self, create: Create, timeout: Duration) -> Result<bool, StartupError> {
        match self {
            DatabaseTarget::Sqlite { absolute, .. } => prepare_sqlite(absolute, create),
            DatabaseTarget::Postgres { url } => prepare_postgres(url, create, timeout),
        }
    }
}

/// The file path of an SQLite URL.
pub(crate) fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("file:"))
        .map(|path| path.split_once('?').map_or(path, |(path, _)| path))
        .unwrap_or(url)
}

fn prepare_sqlite(path: &Path, create: Create) -> Result<bool, StartupError> {
    if path.is_file() {
        return Ok(false);
    }
    if path.exists() {
        return Err(StartupError::Unreachable(format!(
            "{} is not a file: give the path of an SQLite database file",
            path.display()
        )));
    }
    if create == Create::Never {
        return Err(StartupError::Missing(format!(
            "no database at {}: give the right one with --database-url (or LOYALTY_DATABASE_URL), \
             or create it with `loyalty migrate` (or pass --create-database)",
            path.display()
        )));
    }
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
            Err(StartupError::Missing(format!(
                "cannot create the database {}: the directory {} does not exist (create it first)",
                path.display(),
                dir.display()
            )))
        }
        _ => Ok(true),
    }
}

/// libpq's `connect_timeout` for a start-up check: whole seconds, at least 2 (libpq's floor).
fn with_connect_timeout(url: &str, timeout: Duration) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{separator}connect_timeout={}",
        timeout.as_secs().max(2)
    )
}

/// The database name of a PostgreSQL URL and the same URL naming another database.
fn split_database(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let query_start = rest.find('?').unwrap_or(rest.len());
    let (before_query, query) = rest.split_at(query_start);
    let (authority, path) = before_query.split_once('/')?;
    if path.is_empty() {
        return None;
    }
    let name = percent_decode(path);
    let maintenance = format!("{scheme}://{authority}/postgres{query}");
    Some((name, maintenance))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn prepare_postgres(url: &str, create: Create, timeout: Duration) -> Result<bool, StartupError> {
    let masked = mask_url(url);
    let error = match PgConnection::establish(&with_connect_timeout(url, timeout)) {
        Ok(_) => return Ok(false),
        Err(error) => error.to_string(),
    };
    let error = error.trim().to_owned();
    if !error.contains("does not exist") || !error.contains("database") {
        return Err(StartupError::Unreachable(format!(
            "cannot connect to {masked}: {error}{}",
            hint_for(&error)
        )));
    }
    let Some((name, maintenance)) = split_database(url) else {
        return Err(StartupError::Missing(format!(
            "cannot connect to {masked}: {error}"
        )));
    };
    if create == Create::Never {
        return Err(StartupError::Missing(format!(
            "the database {name:?} does not exist on {masked}: create it with `loyalty migrate` \
             (or `createdb {name}`), or pass --create-database"
        )));
    }
    let mut admin =
        PgConnection::establish(&with_connect_timeout(&maintenance, timeout)).map_err(|e| {
            StartupError::Missing(format!(
                "the database {name:?} does not exist on {masked}, and creating it needs a \
                 connection to the \"postgres\" database, which failed ({}): run \
                 `createdb {name}` (or CREATE DATABASE) as a role that may, then start again",
                e.to_string().trim()
            ))
        })?;
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    match admin.batch_execute(&format!("CREATE DATABASE {quoted}")) {
        Ok(()) => Ok(true),
        // Another replica created it first.
        Err(e) if e.to_string().contains("already exists") => Ok(false),
        Err(e) => Err(StartupError::Missing(format!(
            "the database {name:?} does not exist on {masked}, and this role may not create it \
             ({}): run `createdb {name}` (or CREATE DATABASE {quoted}) as a role that may, and \
             grant this role its use, then start again",
            e.to_string().trim()
        ))),
    }
}

/// What to check, for the connection errors an operator meets most.
fn hint_for(error: &str) -> &'static str {
    if error.contains("password authentication failed") || error.contains("no password supplied") {
        " (check the user name and password in the URL)"
    } else if error.contains("translate host name") || error.contains("Name or service not known") {
        " (check the host name in the URL)"
    } else if error.contains("Connection refused") {
        " (is PostgreSQL running and listening on that host and port?)"
    } else if error.contains("timeout expired") {
        " (the host did not answer: check the host, port and firewall)"
    } else if error.contains("SSL") || error.contains("ssl") {
        " (check sslmode and sslrootcert in the URL)"
    } else if error.contains("invalid") {
        " (check the URL's syntax: postgres://user:password@host:port/dbname?param=value)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_a_url_is_masked() {
        assert_eq!(
            mask_url("postgres://app:s3cret@db.example:5432/loyalty?sslmode=require"),
            "postgres://app:***@db.example:5432/loyalty?sslmode=require"
        );
        assert_eq!(
            mask_url("postgres://app@db/loyalty?password=s3cret&sslmode=require"),
            "postgres://app@db/loyalty?password=***&sslmode=require"
        );
        assert_eq!(mask_url("loyalty.db"), "loyalty.db");
        assert_eq!(mask_url("postgres://db/loyalty"), "postgres://db/loyalty");
    }

    #[test]
    fn unknown_schemes_are_refused_and_paths_are_sqlite() {
        for url in ["mysql://u@h/db", "postgress://u:pw@h/db", "http://x"] {
            let err = DatabaseTarget::parse(url).unwrap_err();
            assert!(
                matches!(err, StartupError::UnknownScheme { .. }),
                "{url}: {err}"
            );
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
        for url in [
            "loyalty.db",
            "sqlite://loyalty.db",
            "/tmp/x.db",
            "file:x.db?mode=rwc",
        ] {
            let target = DatabaseTarget::parse(url).unwrap();
            assert_eq!(target.backend(), Backend::Sqlite, "{url}");
            assert!(Path::new(&target.display()).is_absolute(), "{url}");
        }
        for url in ["postgres://u@h/db", "postgresql://h/db"] {
            assert_eq!(
                DatabaseTarget::parse(url).unwrap().backend(),
                Backend::Postgres
            );
        }
    }

    #[test]
    fn a_missing_sqlite_file_is_created_only_when_allowed() {
        let dir = tempfile_dir();
        let path = dir.join("new.db");
        let target = DatabaseTarget::parse(path.to_str().unwrap()).unwrap();
        let err = target
            .prepare(Create::Never, Duration::from_secs(2))
            .unwrap_err();
        assert!(err.to_string().contains("no database at"), "{err}");
        assert!(err.to_string().contains("new.db"), "{err}");
        assert!(
            target
                .prepare(Create::IfMissing, Duration::from_secs(2))
                .unwrap()
        );
        let nested = DatabaseTarget::parse(dir.join("no/such/dir/x.db").to_str().unwrap()).unwrap();
        let err = nested
            .prepare(Create::IfMissing, Duration::from_secs(2))
            .unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("loyalty-startup-{}", crate::store::new_id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_database_name_is_split_from_a_postgresql_url() {
        assert_eq!(
            split_database("postgres://u:p@h:5/my%20db?sslmode=require"),
            Some((
                "my db".to_owned(),
                "postgres://u:p@h:5/postgres?sslmode=require".to_owned()
            ))
        );
        assert_eq!(split_database("postgres://u@h"), None);
    }
}
