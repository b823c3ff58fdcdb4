//! Test helpers: a migrated store on SQLite or PostgreSQL, the app on it, and
//! a shell adapter whose output the test can read.

#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use huntbridge::app::App;
use huntbridge::chat::shell::ShellAdapter;
use huntbridge::config::{Config, Secret};
use huntbridge::store::Store;

/// PostgreSQL server for tests. `scripts/test.sh` makes sure one is running.
pub const POSTGRES_URL_ENV: &str = "HUNTBRIDGE_TEST_POSTGRES_URL";
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A migrated store and what keeps it alive.
pub struct TestStore {
    pub store: Store,
    pub url: String,
    /// For PostgreSQL: the server URL and the database to drop afterwards.
    postgres: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Drop for TestStore {
    /// Drops the PostgreSQL test database. Drop cannot await, so this runs on
    /// a thread with its own runtime.
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let Ok(runtime) = runtime else { return };
            runtime.block_on(async move {
                // The test's own pool lives on the test runtime, which this
                // thread blocks; WITH (FORCE) ends its connections instead.
                if let Ok(admin) = Store::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    if let Err(error) = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(admin.pool())
                        .await
                    {
                        eprintln!("failed to drop test database {name}: {error}");
                    }
                    admin.close().await;
                }
            });
        })
        .join();
    }
}

/// Creates an empty, migrated database: a temporary SQLite file, or a new
/// PostgreSQL database with a random name on the test server.
pub async fn test_store(db: Db) -> TestStore {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut postgres = None;
    let url = match db {
        Db::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()),
        Db::Postgres => {
            let admin_url =
                std::env::var(POSTGRES_URL_ENV).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
            let admin = Store::connect(&admin_url).await.unwrap_or_else(|error| {
                panic!(
                    "PostgreSQL is not reachable at {admin_url} ({error:#}); run scripts/test.sh, \
                     which starts it, or set {POSTGRES_URL_ENV}"
                )
            });
            let name = format!("hb_test_{}", uuid::Uuid::new_v4().simple());
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(admin.pool())
                .await
                .expect("create test database");
            admin.close().await;
            let base = admin_url
                .rsplit_once('/')
                .map(|(base, _)| base)
                .unwrap_or(&admin_url);
            let url = format!("{base}/{name}");
            postgres = Some((admin_url.clone(), name));
            url
        }
    };
    let store = Store::connect(&url).await.expect("connect test store");
    store.migrate().await.expect("migrate test store");
    TestStore {
        store,
        url,
        postgres,
        _dir: dir,
    }
}

/// A writer whose bytes the test can read back.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The app on a fresh store, with a shell adapter writing into a capture.
pub struct Harness {
    pub app: App,
    pub adapter: Arc<ShellAdapter>,
    pub output: Capture,
    pub out_dir: tempfile::TempDir,
    pub db: TestStore,
}

pub async fn harness(db: Db, config: Config) -> Harness {
    harness_with_prefix(db, config, "/").await
}

/// Like [`harness`], with replies that write commands with `prefix`, as on
/// Matrix.
pub async fn harness_with_prefix(db: Db, config: Config, prefix: &str) -> Harness {
    let db = test_store(db).await;
    let mut config = config;
    config.database.url = Secret::new(db.url.clone());
    let app = App::with_command_prefix(config, db.store.clone(), prefix).expect("app starts");
    let out_dir = tempfile::tempdir().expect("output folder");
    let output = Capture::default();
    let adapter =
        Arc::new(ShellAdapter::new(out_dir.path(), Box::new(output.clone())).expect("adapter"));
    Harness {
        app,
        adapter,
        output,
        out_dir,
        db,
    }
}

/// Returns a path inside the repository, for shipped files.
pub fn repo_path(relative: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Generates one `#[tokio::test]` per database for an async test body
/// `async fn(Db)`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::common::Db::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::common::Db::Postgres).await;
                }
            )*
        }
    };
}
