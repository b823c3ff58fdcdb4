//! Storage behind sqlx: one set of repositories that runs on SQLite (the
//! embedded default) and on PostgreSQL, through sqlx's `Any` driver.
//!
//! Repository functions take `&mut AnyConnection`, so the same function works
//! on a pooled connection and inside a transaction (`&mut *tx`). Times are UTC
//! milliseconds since the Unix epoch; structured values are JSON text.

pub mod audit;
pub mod claim;
pub mod counters;
pub mod files;
pub mod findings;
pub mod hunts;
pub mod inbound;
pub mod incidents;
pub mod iocs;
pub mod outbox;
pub mod proposals;
pub mod rooms;
pub mod tasks;
pub mod timeline;

use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, TimeZone, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

pub use sqlx::AnyConnection;

/// How long a SQLite writer waits for the lock before failing.
const SQLITE_BUSY_TIMEOUT_MS: u64 = 5_000;

/// The database behind a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Maximum wait for a database connection, at start and from the pool.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Opens and closes one PostgreSQL connection. The pool retries a failing
/// connection until its timeout and then reports only "pool timed out",
/// while this attempt returns the cause (connection refused, authentication
/// failed, database does not exist) at once.
async fn check_first_connection(options: &AnyConnectOptions, url: &str) -> anyhow::Result<()> {
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Ok(Ok(connection)) => {
            // The server ends the session itself if the close fails.
            let _ = connection.close().await;
            Ok(())
        }
        // sqlx's message already contains its source error, so the error is
        // formatted once instead of being chained.
        Ok(Err(error)) => bail!(
            "failed to connect to {}: {error}. Check that PostgreSQL runs there and that database.url names the right host, port, user and database",
            redact_url(url)
        ),
        Err(_) => bail!(
            "connecting to {} timed out after {} s: check the host and port in database.url",
            redact_url(url),
            CONNECT_TIMEOUT.as_secs()
        ),
    }
}

/// A connection pool plus the backend it talks to.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The database file of a SQLite store.
    sqlite_file: Option<std::path::PathBuf>,
}

/// An open transaction; handlers write state, timeline and outbox rows in one.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`). SQLite
    /// connections get WAL, a busy timeout and foreign keys.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            bail!(
                "unsupported database URL scheme in {:?}: use sqlite:// or postgres://",
                redact_url(url)
            );
        };
        let sqlite_file = sqlite_path(url);
        if let Some(path) = &sqlite_file {
            let parent = path
                .parent()
                .filter(|parent| !parent.as_os_str().is_empty());
            if let Some(parent) = parent.filter(|parent| !parent.is_dir()) {
                bail!(
                    "the folder {} of the SQLite database does not exist: create it or change database.url",
                    parent.display()
                );
            }
        }
        let options = AnyConnectOptions::from_str(url)
            .with_context(|| format!("invalid database URL {}", redact_url(url)))?
            .disable_statement_logging();
        if backend == Backend::Postgres {
            check_first_connection(&options, url).await?;
        }
        let mut pool_options = AnyPoolOptions::new().acquire_timeout(CONNECT_TIMEOUT);
        if backend == Backend::Sqlite {
            pool_options = pool_options
                .max_connections(4)
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute(sqlx::AssertSqlSafe(format!(
                            "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}"
                        )))
                        .await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        Ok(())
                    })
                });
        } else {
            pool_options = pool_options.max_connections(8);
        }
        let pool = pool_options
            .connect_with(options)
            .await
            .with_context(|| format!("failed to connect to {}", redact_url(url)))?;
        Ok(Self {
            pool,
            backend,
            sqlite_file,
        })
    }

    /// Applies the migrations for this backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        migrator
            .run(&self.pool)
            .await
            .context("failed to apply database migrations")?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Returns the database file of a SQLite store, or `None` for PostgreSQL
    /// and for an in-memory database.
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        self.sqlite_file.as_deref()
    }

    /// Starts a transaction.
    pub async fn begin(&self) -> anyhow::Result<Tx> {
        self.pool
            .begin()
            .await
            .context("failed to start a database transaction")
    }

    /// Borrows a pooled connection.
    pub async fn conn(&self) -> anyhow::Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        self.pool
            .acquire()
            .await
            .context("failed to get a database connection")
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Hides the passwords in a URL before it reaches a log or an error: the
/// one after the user name (`user:***@host`) and any `password=` query
/// value (`?password=***`). A URL with a mistyped scheme is hidden the same
/// way.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut redacted = match (base.find("://").or_else(|| base.find(':')), base.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let start = if base[scheme_end..].starts_with("://") {
                scheme_end + 3
            } else {
                scheme_end + 1
            };
            let credentials = &base[start..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &base[..start],
                    &credentials[..colon],
                    &base[at..]
                ),
                None => base.to_string(),
            }
        }
        _ => base.to_string(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if name.eq_ignore_ascii_case("password") => format!("{name}=***"),
                _ => pair.to_string(),
            })
            .collect();
        redacted.push('?');
        redacted.push_str(&pairs.join("&"));
    }
    redacted
}

/// Returns the file of a `sqlite://` URL without its query, or `None` for
/// other URLs and in-memory databases.
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

/// Converts a timestamp to the stored form.
pub fn to_millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// Converts a stored timestamp back. Out-of-range values map to the epoch.
pub fn from_millis(millis: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(millis)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_path_strips_scheme_and_query() {
        assert_eq!(
            sqlite_path("sqlite://data/hb.db?mode=rwc"),
            Some("data/hb.db".into())
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x/y"), None);
    }

    #[tokio::test]
    async fn missing_sqlite_folder_is_named() {
        let error = Store::connect("sqlite:///nonexistent-hb-folder/hb.db?mode=rwc")
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent-hb-folder"),
            "{error:#}"
        );
    }

    #[test]
    fn redact_url_hides_password() {
        assert_eq!(
            redact_url("postgres://bot:s3cret@db:5432/hb"),
            "postgres://bot:***@db:5432/hb"
        );
        assert_eq!(
            redact_url("sqlite://hb.db?mode=rwc"),
            "sqlite://hb.db?mode=rwc"
        );
        assert_eq!(
            redact_url("postgres://db/hb?user=bot&password=s3cret&sslmode=require"),
            "postgres://db/hb?user=bot&password=***&sslmode=require"
        );
        assert_eq!(
            redact_url("postgress://hb:S3cretPW@127.0.0.1:1/hb"),
            "postgress://hb:***@127.0.0.1:1/hb"
        );
        assert_eq!(redact_url("pg:hb:S3cretPW@db/hb"), "pg:hb:***@db/hb");
    }

    #[tokio::test]
    async fn mistyped_scheme_error_hides_the_password() {
        let error = Store::connect("postgress://hb:S3cretPW@127.0.0.1:1/hb")
            .await
            .unwrap_err();
        let text = format!("{error:#}");
        assert!(text.contains("postgress://hb:***@127.0.0.1:1/hb"), "{text}");
        assert!(!text.contains("S3cretPW"), "{text}");
    }
}
