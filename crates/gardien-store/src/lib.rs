#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod checkpoint;
mod devices;
mod error;
mod log;
mod migrate;
mod versions;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::ConnectOptions as _;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};

pub use crate::error::StoreError;
pub use crate::log::{DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT, SignInFilter, SignInLog, SignInRecord};
pub use crate::versions::{NewVersion, TenantVersion, VersionSummary};

/// How long a connection waits for another writer (another connection of this process or
/// another process) before reporting "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections of the read/admin pool (the sign-in log writer and the checkpointer have
/// their own).
const POOL_CONNECTIONS: u32 = 4;

/// Page cache of the sign-in log writer, in KiB: holds the hot tails of every index (one
/// per active user for the user index) so that commits never re-read them.
const WRITER_CACHE_KIB: i64 = 64 * 1024;

/// Page cache of each pool connection, in KiB.
const POOL_CACHE_KIB: i64 = 16 * 1024;

/// WAL size, in pages, at which a committing connection checkpoints by itself (SQLite's
/// `wal_autocheckpoint`; the default is 1000). Checkpoints normally run in the background
/// (see `checkpoint.rs`); this bounds the WAL (128 MiB with 4 KiB pages) under sustained
/// load. A large WAL lets one checkpoint copy each hot index page once for many commits:
/// measured, 1000 pages cost about a third of the sign-in log throughput.
pub(crate) const WAL_AUTOCHECKPOINT_PAGES: u32 = 32_768;

/// How a commit is made durable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Durability {
    /// WAL + `synchronous=NORMAL`: a committed record survives a crash or `kill -9` of the
    /// process (it is in the WAL file, in the OS page cache) but not a power loss or kernel
    /// crash. Default.
    #[default]
    Process,
    /// WAL + `synchronous=FULL`: the WAL is fsynced at every commit; a committed record
    /// survives power loss.
    Power,
}

/// Options of [`Store::open`].
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// What a commit survives.
    pub durability: Durability,
    /// Most sign-in records written in one transaction by the log writer (default 4096:
    /// the index pages a commit rewrites are shared by more records in a larger batch;
    /// measured, 512 gives about two thirds of the `append_nowait` throughput of 4096).
    pub max_batch: usize,
    /// Capacity of the sign-in log queue, in records (default 65 536). `append` waits for
    /// room when it is full, `append_nowait` returns [`StoreError::QueueFull`].
    pub queue: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            durability: Durability::Process,
            max_batch: 4096,
            queue: 65_536,
        }
    }
}

/// SQLite store: policy versions with audit, devices, sign-in log.
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
/// returned `Ok` is on disk.
#[derive(Clone)]
pub struct Store {
    ctx: Ctx,
    log: SignInLog,
}

/// What every part of the store shares: the pool and the file path (for error messages).
#[derive(Clone)]
pub(crate) struct Ctx {
    pub(crate) pool: SqlitePool,
    pub(crate) path: Arc<Path>,
}

impl Ctx {
    /// Maps a sqlx error of operation `op` to a [`StoreError`].
    pub(crate) fn sql(&self, op: &'static str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
        move |source| match source {
            sqlx::Error::PoolClosed => StoreError::Closed,
            source => StoreError::Sql {
                op,
                path: self.path.to_path_buf(),
                source,
            },
        }
    }
}

impl Store {
    /// Opens (creating the file and its parent directory if missing) the database at `path`,
    /// switches it to WAL, applies the schema migrations and starts the sign-in log writer
    /// thread (`gardien-signins`).
    ///
    /// Must be called inside a tokio runtime (the connection pool lives on it).
    pub async fn open(path: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        if options.max_batch == 0 {
            return Err(StoreError::InvalidOptions {
                reason: "max_batch must be at least 1".to_owned(),
            });
        }
        if options.queue == 0 {
            return Err(StoreError::InvalidOptions {
                reason: "queue must be at least 1".to_owned(),
            });
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let connect = connect_options(path, options.durability);

        // The writer's own connection; migrations run on it before anything else touches
        // the file. On an error below, dropping the connections closes them.
        let mut writer: SqliteConnection = connect
            .clone()
            .pragma("cache_size", format!("-{WRITER_CACHE_KIB}"))
            .connect()
            .await
            .map_err(open_err)?;
        migrate::run(&mut writer)
            .await
            .map_err(|source| StoreError::Migrate {
                path: path.to_path_buf(),
                source,
            })?;
        let checkpointer: SqliteConnection = connect.clone().connect().await.map_err(open_err)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_CONNECTIONS)
            .min_connections(1)
            .connect_with(connect.pragma("cache_size", format!("-{POOL_CACHE_KIB}")))
            .await
            .map_err(open_err)?;
        let ctx = Ctx {
            pool,
            path: Arc::from(path),
        };
        let log = SignInLog::start(
            ctx.clone(),
            writer,
            checkpointer,
            options.max_batch,
            options.queue,
        )
        .await?;
        tracing::info!(
            path = %path.display(),
            durability = ?options.durability,
            max_batch = options.max_batch,
            queue = options.queue,
            "store opened"
        );
        Ok(Store { ctx, log })
    }

    /// The sign-in log.
    pub fn log(&self) -> &SignInLog {
        &self.log
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.ctx.path
    }

    /// Stops the writer after committing everything queued, then closes every connection
    /// (SQLite checkpoints the WAL when the last one closes). Idempotent; afterwards every
    /// method of this store and of its [`SignInLog`] returns [`StoreError::Closed`].
    pub async fn close(&self) -> Result<(), StoreError> {
        self.log.stop().await;
        self.ctx.pool.close().await;
        tracing::info!(path = %self.ctx.path.display(), "store closed");
        Ok(())
    }
}

fn connect_options(path: &Path, durability: Durability) -> SqliteConnectOptions {
    let synchronous = match durability {
        Durability::Process => SqliteSynchronous::Normal,
        Durability::Power => SqliteSynchronous::Full,
    };
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
        // Temporary tables and statement journals in memory, not in temporary files.
        .pragma("temp_store", "memory")
        .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES.to_string())
        // When the WAL restarts, truncate a WAL file that grew past this (4 KiB pages).
        .pragma(
            "journal_size_limit",
            (u64::from(WAL_AUTOCHECKPOINT_PAGES) * 4096).to_string(),
        )
}
