#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod audit;
mod backend;
mod changes;
mod compact;
mod devices;
mod error;
mod location;
mod log;
mod migrate;
mod postgres;
mod search;
mod sessions;
mod sqlite;
mod versions;
mod writer;

use std::path::Path;

pub use crate::audit::{
    AuditEntry, AuditFilter, AuditRecord, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT,
};
pub use crate::changes::{Change, ChangeFeed};
pub use crate::compact::{Fragment, Fragments};
pub use crate::error::StoreError;
pub use crate::log::{
    DEFAULT_QUERY_LIMIT, LogPosition, MAX_QUERY_LIMIT, SEARCH_READS, SearchPage, SignInFilter,
    SignInLog, SignInRecord,
};
pub use crate::versions::{NewVersion, TenantVersion, VersionSummary};

use crate::backend::Backend as _;

/// How a commit is made durable.
///
/// SQLite: the `synchronous` setting of every connection. PostgreSQL: the
/// `synchronous_commit` setting of the sign-in log writer's connection only (tenant versions
/// and devices always use the server's setting, normally `on`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Durability {
    /// A committed record survives a crash or `kill -9` of the process, not a power loss or
    /// kernel crash of the database host, which may lose the last commits (never corrupts
    /// anything). SQLite: WAL + `synchronous=NORMAL` (the commit is in the WAL file, in the
    /// OS page cache). PostgreSQL: the sign-in log writer commits with
    /// `synchronous_commit=off` (the commit is in the server's memory; a crash of the
    /// PostgreSQL host may lose the last few hundred milliseconds of sign-in records).
    /// Default.
    #[default]
    Process,
    /// A committed record survives power loss. SQLite: WAL + `synchronous=FULL` (the WAL is
    /// synced, `fdatasync`, at every commit). PostgreSQL: the server's `synchronous_commit` (normally
    /// `on`: the WAL is flushed before the commit returns).
    Power,
}

/// Options of [`Store::open`] and [`Store::connect`].
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// What a commit survives.
    pub durability: Durability,
    /// Most sign-in records written in one transaction by the log writer (default 4096:
    /// the index pages a commit rewrites are shared by more records in a larger batch;
    /// measured on SQLite, 512 gives about two thirds of the `append_nowait` throughput of
    /// 4096).
    pub max_batch: usize,
    /// Capacity of the sign-in log queue, in records (default 65 536). `append` waits for
    /// room when it is full, `append_nowait` returns [`StoreError::QueueFull`].
    pub queue: usize,
    /// PostgreSQL only (SQLite ignores it): the schema holding gardien's tables. Every
    /// connection sets its `search_path` to it, and it is created (`CREATE SCHEMA IF NOT
    /// EXISTS`) before the migrations run. Must be a plain lowercase identifier
    /// (`[a-z_][a-z0-9_]{0,62}`). `None` (default): the server's default `search_path`
    /// (normally `public`).
    pub schema: Option<String>,
    /// Connections of the pool serving queries, tenant versions and devices (default 4; at
    /// least 1). The sign-in log writer, the SQLite checkpointer and each PostgreSQL change
    /// feed have a connection of their own, not counted here.
    pub pool_connections: u32,
    /// Least time between the starts of two sign-in log batches while records keep coming
    /// (default 500 µs; zero: commit as soon as anything is queued). A commit costs a fixed
    /// amount of work whatever its size (each index's last page, the database header, their
    /// WAL frames: measured on SQLite, about 65 µs of CPU against 6 µs per record), so a
    /// writer committing every record as soon as it arrives spends a core on those at a few
    /// thousand records/s; waiting this long for more records first (only when the previous
    /// batch started less than this long ago, and never once 64 records wait) bounds that
    /// cost to a few batches per millisecond, for at most this much more latency.
    pub commit_interval: std::time::Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            durability: Durability::Process,
            max_batch: 4096,
            queue: 65_536,
            schema: None,
            pool_connections: 4,
            commit_interval: std::time::Duration::from_micros(500),
        }
    }
}

impl StoreOptions {
    /// Checks the options shared by both backends.
    fn validate(&self) -> Result<(), StoreError> {
        let invalid = |reason: &str| {
            Err(StoreError::InvalidOptions {
                reason: reason.to_owned(),
            })
        };
        if self.max_batch == 0 {
            return invalid("max_batch must be at least 1");
        }
        if self.queue == 0 {
            return invalid("queue must be at least 1");
        }
        if self.pool_connections == 0 {
            return invalid("pool_connections must be at least 1");
        }
        Ok(())
    }
}

/// The store: policy versions with audit, the admin audit trail, devices, sign-in log; in a SQLite file
/// ([`Store::open`]) or a PostgreSQL database ([`Store::connect`]), with the same behaviour.
///
/// Cheap to clone: clones share the connection pool and the sign-in log writer.
///
/// # Closing and dropping
///
/// [`Store::close`] commits everything queued in the sign-in log, stops the writer and closes
/// the connections; afterwards every method returns [`StoreError::Closed`]. Dropping the last
/// handle (every `Store` and [`SignInLog`] clone) without `close` makes the writer, which runs
/// on a thread of its own, commit what is queued and stop, even if the application's tokio
/// runtime has shut down; but records queued with [`SignInLog::append_nowait`] and not yet
/// committed are lost if the process exits first. A record whose [`SignInLog::append`]
/// returned `Ok` is committed.
#[derive(Clone)]
pub struct Store {
    db: Db,
    log: SignInLog,
}

/// One of the two backends; every operation of [`Store`] and [`SignInLog`] but the sign-in
/// log appends (which go through the writer's queue) dispatches on it.
#[derive(Clone)]
pub(crate) enum Db {
    /// A SQLite file.
    Sqlite(sqlite::SqliteDb),
    /// A PostgreSQL database.
    Postgres(postgres::PgDb),
}

/// Evaluates `$body` with `$b` bound to the backend of `$db`, whichever it is.
macro_rules! dispatch {
    ($db:expr, $b:ident => $body:expr) => {
        match $db {
            $crate::Db::Sqlite($b) => $body,
            $crate::Db::Postgres($b) => $body,
        }
    };
}
pub(crate) use dispatch;

impl Store {
    /// Opens (creating the file and its parent directory if missing) the SQLite database at
    /// `path`, switches it to WAL, applies the schema migrations and starts the sign-in log
    /// writer thread (`gardien-signins`). `options.schema` is ignored.
    ///
    /// Must be called inside a tokio runtime (the connection pool lives on it).
    pub async fn open(path: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        options.validate()?;
        let (db, log) = sqlite::open(path, &options).await?;
        Ok(Store {
            db: Db::Sqlite(db),
            log,
        })
    }

    /// Opens the store named by `database`: a `postgres://` or `postgresql://` URL is a
    /// PostgreSQL database (see [`StoreOptions::schema`]); `sqlite://PATH`, or anything else
    /// taken as a path, is a SQLite file opened as by [`Store::open`].
    ///
    /// PostgreSQL: connects (failing with [`StoreError::Open`] naming the URL, password
    /// masked, if the server is unreachable), creates the schema if needed, applies the
    /// migrations (under sqlx's advisory lock, so replicas starting together against an
    /// empty database take turns) and starts the sign-in log writer thread.
    ///
    /// Must be called inside a tokio runtime.
    pub async fn connect(database: &str, options: StoreOptions) -> Result<Store, StoreError> {
        if location::is_postgres_url(database) {
            options.validate()?;
            let (db, log) = postgres::connect(database, &options).await?;
            Ok(Store {
                db: Db::Postgres(db),
                log,
            })
        } else {
            let path = database.strip_prefix("sqlite://").unwrap_or(database);
            Store::open(Path::new(path), options).await
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        dispatch!(&self.db, b => b.backend())
    }

    /// Where the data is, for messages: the SQLite file path, or the PostgreSQL URL with its
    /// password replaced by `***`.
    pub fn location(&self) -> String {
        dispatch!(&self.db, b => b.location())
    }

    /// The sign-in log.
    pub fn log(&self) -> &SignInLog {
        &self.log
    }

    /// The SQLite database file; an empty path for PostgreSQL (see [`Store::location`]).
    pub fn path(&self) -> &Path {
        match &self.db {
            Db::Sqlite(db) => db.path(),
            Db::Postgres(_) => Path::new(""),
        }
    }

    /// The number of the newest tenant version, if any, without reading it (cheap: for
    /// readiness probes and periodic checks).
    pub async fn current_version_number(&self) -> Result<Option<i64>, StoreError> {
        dispatch!(&self.db, b => b.current_version_number().await)
    }

    /// A counter bumped by every device write that changes something ([`Store::put_device`],
    /// [`Store::delete_device`] of an existing device, [`Store::replace_devices`]), by any
    /// process sharing the database: a replica whose last seen revision differs reloads
    /// the devices. Starts at 0.
    pub async fn devices_revision(&self) -> Result<i64, StoreError> {
        dispatch!(&self.db, b => b.devices_revision().await)
    }

    /// A feed of the changes to tenant versions and devices.
    ///
    /// PostgreSQL: every process sharing the database (and schema) sees every change: the
    /// feed LISTENs on its own connection and each write NOTIFYs in its transaction, so a
    /// notification arrives once the change is committed. SQLite: only the changes made
    /// through this store (and its clones) are seen; another process writing the same file
    /// is not (compare [`Store::current_version_number`] and [`Store::devices_revision`]
    /// periodically).
    ///
    /// Changes committed before the feed was created are not reported: create the feed,
    /// then read the current state.
    pub async fn changes(&self) -> Result<ChangeFeed, StoreError> {
        dispatch!(&self.db, b => b.changes().await)
    }

    /// Stops the writer after committing everything queued, then closes every connection
    /// (SQLite checkpoints the WAL when the last one closes). Idempotent; afterwards every
    /// method of this store, of its [`SignInLog`] and of its [`ChangeFeed`]s returns
    /// [`StoreError::Closed`].
    pub async fn close(&self) -> Result<(), StoreError> {
        self.log.stop().await;
        dispatch!(&self.db, b => b.close().await);
        tracing::info!(
            backend = self.backend(),
            location = %self.location(),
            "store closed"
        );
        Ok(())
    }
}
