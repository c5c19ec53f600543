#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod devices;
mod error;
mod log;
mod migrate;
mod versions;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions as _, Connection as _};

pub use crate::error::StoreError;
pub use crate::log::{SignInFilter, SignInLog, SignInRecord};
pub use crate::versions::{NewVersion, TenantVersion, VersionSummary};

/// How long a connection waits for another writer (another connection of this process or
/// another process) before reporting "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections of the read/admin pool (the sign-in log writer has its own connection).
const POOL_CONNECTIONS: u32 = 4;

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
    /// Most sign-in records written in one transaction by the log writer (default 512).
    pub max_batch: usize,
    /// Capacity of the sign-in log queue, in records (default 65 536). `append` waits for
    /// room when it is full, `append_nowait` returns [`StoreError::QueueFull`].
    pub queue: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            durability: Durability::Process,
            max_batch: 512,
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
/// handle (every `Store` and [`SignInLog`] clone) without `close` lets the writer commit what
/// is queued in the background, but only while the tokio runtime keeps running: records
/// queued with [`SignInLog::append_nowait`] and not yet committed are lost if the runtime
/// shuts down first. A record whose [`SignInLog::append`] returned `Ok` is always on disk.
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
    /// switches it to WAL, applies the schema migrations and starts the sign-in log writer.
    ///
    /// Must be called inside a tokio runtime.
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
        // the file.
        let mut writer: SqliteConnection = connect.connect().await.map_err(open_err)?;
        migrate::run(&mut writer)
            .await
            .map_err(|source| StoreError::Migrate {
                path: path.to_path_buf(),
                source,
            })?;
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_CONNECTIONS)
            .min_connections(1)
            .connect_with(connect)
            .await
            .map_err(open_err);
        let pool = match pool {
            Ok(pool) => pool,
            Err(e) => {
                if let Err(close) = writer.close().await {
                    tracing::warn!(path = %path.display(), error = %close, "closing writer connection after a failed open");
                }
                return Err(e);
            }
        };
        let ctx = Ctx {
            pool,
            path: Arc::from(path),
        };
        let log = SignInLog::start(ctx.clone(), writer, options.max_batch, options.queue);
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
    let o = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    let mut o = o;
    if let Ok(v) = std::env::var("XP_PRAGMAS") {
        for kv in v.split(',').filter(|s| !s.is_empty()) {
            if let Some((k, v)) = kv.split_once('=') {
                o = o.pragma(k.to_owned(), v.to_owned());
            }
        }
    }
    o
}
