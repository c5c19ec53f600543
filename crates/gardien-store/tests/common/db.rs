//! A fresh database per test, on either backend: a SQLite file in a temporary directory, or
//! a new schema (random name, dropped afterwards) in the PostgreSQL database at
//! `GARDIEN_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`). When
//! PostgreSQL is unreachable, [`TestDb::postgres`] prints why to stderr and the test skips.

use std::str::FromStr as _;
use std::time::Duration;

use gardien_store::{Store, StoreOptions};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions as _, Connection as _};

/// Environment variable overriding the PostgreSQL URL of the tests.
pub const TEST_URL_VAR: &str = "GARDIEN_TEST_DATABASE_URL";
/// Default PostgreSQL URL of the tests.
pub const DEFAULT_TEST_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// One test's database.
pub struct TestDb {
    /// What `Store::connect` takes: the file path or the URL.
    pub database: String,
    /// The PostgreSQL schema (`None` for SQLite).
    pub schema: Option<String>,
    /// Keeps the SQLite file's directory alive.
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A SQLite file in a new temporary directory.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        TestDb {
            database: dir.path().join("test.db").display().to_string(),
            schema: None,
            _dir: Some(dir),
        }
    }

    /// A new schema in the test PostgreSQL database, or `None` (after saying so on stderr)
    /// if it is unreachable.
    pub async fn postgres() -> Option<TestDb> {
        let url = std::env::var(TEST_URL_VAR).unwrap_or_else(|_| DEFAULT_TEST_URL.to_owned());
        TestDb::postgres_at(&url).await
    }

    /// A new schema in the PostgreSQL database at `url`, or `None` (after saying so on
    /// stderr) if it is unreachable.
    pub async fn postgres_at(url: &str) -> Option<TestDb> {
        let reachable = async {
            let options = PgConnectOptions::from_str(url).map_err(|e| e.to_string())?;
            let conn = tokio::time::timeout(Duration::from_secs(5), options.connect())
                .await
                .map_err(|_| "no connection within 5 s".to_owned())?
                .map_err(|e| e.to_string())?;
            conn.close().await.map_err(|e| e.to_string())
        };
        if let Err(reason) = reachable.await {
            // Written to the process's stderr, not through `eprintln!`, which the test
            // harness captures and hides for a passing test.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "SKIP: PostgreSQL unreachable at {}: {reason} (set {TEST_URL_VAR} to test another server)",
                without_password(url)
            );
            return None;
        }
        Some(TestDb {
            database: url.to_owned(),
            schema: Some(random_schema()),
            _dir: None,
        })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        if self.schema.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// What error messages about this database contain: the file name or the schema.
    pub fn name(&self) -> &str {
        match &self.schema {
            Some(schema) => schema,
            None => "test.db",
        }
    }

    /// Default options with this database's schema.
    pub fn options(&self) -> StoreOptions {
        StoreOptions {
            schema: self.schema.clone(),
            ..StoreOptions::default()
        }
    }

    /// Opens a store with default options.
    pub async fn open(&self) -> Store {
        self.open_with(self.options()).await
    }

    /// Opens a store with `options` (this database's schema is set).
    pub async fn open_with(&self, options: StoreOptions) -> Store {
        self.try_open(options).await.unwrap()
    }

    /// Opens a store with `options` (this database's schema is set), returning the error.
    pub async fn try_open(
        &self,
        options: StoreOptions,
    ) -> Result<Store, gardien_store::StoreError> {
        Store::connect(
            &self.database,
            StoreOptions {
                schema: self.schema.clone(),
                ..options
            },
        )
        .await
    }

    /// A connection of our own, with the schema on its search_path.
    pub async fn connect(&self) -> Conn {
        match &self.schema {
            Some(schema) => Conn::Postgres(
                PgConnectOptions::from_str(&self.database)
                    .unwrap()
                    .options([("search_path", schema)])
                    .connect()
                    .await
                    .unwrap(),
            ),
            None => Conn::Sqlite(
                SqliteConnectOptions::new()
                    .filename(&self.database)
                    .connect()
                    .await
                    .unwrap(),
            ),
        }
    }

    /// Runs `sql` on a connection of our own.
    pub async fn execute(&self, sql: &str) {
        let mut conn = self.connect().await;
        conn.execute(sql).await;
        conn.close().await;
    }

    /// The integer `sql` returns, read on a connection of our own.
    pub async fn scalar(&self, sql: &str) -> i64 {
        let mut conn = self.connect().await;
        let value = match &mut conn {
            Conn::Sqlite(c) => sqlx::query_scalar(sql).fetch_one(c).await.unwrap(),
            Conn::Postgres(c) => sqlx::query_scalar(sql).fetch_one(c).await.unwrap(),
        };
        conn.close().await;
        value
    }

    /// Holds a lock that makes the sign-in log writer wait inside its first INSERT (messages
    /// then pile up in the queue) until [`Conn::execute`]`("COMMIT")`.
    pub async fn hold_log_lock(&self) -> Conn {
        let mut conn = self.connect().await;
        match &conn {
            Conn::Sqlite(_) => conn.execute("BEGIN IMMEDIATE").await,
            Conn::Postgres(_) => {
                conn.execute("BEGIN").await;
                conn.execute("LOCK TABLE sign_ins IN EXCLUSIVE MODE").await;
            }
        }
        conn
    }
}

impl Drop for TestDb {
    /// Drops the PostgreSQL schema, on a runtime of its own (this may run outside of one).
    fn drop(&mut self) {
        let Some(schema) = self.schema.clone() else {
            return;
        };
        let url = self.database.clone();
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = PgConnectOptions::from_str(&url)
                    .ok()?
                    .connect()
                    .await
                    .ok()?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .execute(&mut conn)
                    .await
                    .ok()?;
                conn.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: test schema not dropped");
        }
    }
}

/// A connection of a test's own.
pub enum Conn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl Conn {
    /// Runs one statement.
    pub async fn execute(&mut self, sql: &str) {
        match self {
            Conn::Sqlite(c) => sqlx::query(sql).execute(c).await.map(drop),
            Conn::Postgres(c) => sqlx::query(sql).execute(c).await.map(drop),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Closes the connection.
    pub async fn close(self) {
        match self {
            Conn::Sqlite(c) => c.close().await,
            Conn::Postgres(c) => c.close().await,
        }
        .unwrap();
    }
}

/// `url` without the password of its user info, for messages.
fn without_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if scheme < at => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// `gardien_t_` and 16 random hex digits.
fn random_schema() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    format!("gardien_t_{:016x}", hasher.finish())
}

/// Generates, for each listed `async fn name(db: TestDb)`, the tests `sqlite::name` and
/// `postgres::name` (the latter skips, saying why, when PostgreSQL is unreachable).
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::common::TestDb::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = crate::common::TestDb::postgres().await else {
                        return;
                    };
                    super::$name(db).await;
                }
            )*
        }
    };
}
pub(crate) use backend_tests;
