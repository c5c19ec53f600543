//! The SQLite backend: one file in WAL mode, a read/admin pool, the sign-in log writer's own
//! connection and a background checkpointer. Changes are announced to this process's feeds
//! through a tokio broadcast channel.

mod checkpoint;
pub(crate) mod keys;
mod sink;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool,
    SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{ConnectOptions as _, QueryBuilder, Row as _};
use tokio::sync::{broadcast, watch};

use crate::audit::{
    AUDIT_COLUMNS, AuditEntry, AuditFilter, AuditRecord, decode_audit, push_audit_filter,
};
use crate::backend::{
    Backend, LogCursor, LogPage, export_lines, search_page, search_rows, whole_texts,
};
use crate::changes::LOCAL_FEED_CAPACITY;
use crate::compact::FragmentCache;
use crate::versions::{
    EncodedVersion, LIST_VERSIONS, VERSION_COLUMNS, decode_documents, decode_summaries,
    decode_version,
};
use crate::{
    Change, ChangeFeed, Db, Durability, SignInFilter, SignInLog, StoreError, StoreOptions,
    TenantVersion, VersionSummary,
};

/// How long a connection waits for another writer (another connection of this process or
/// another process) before reporting "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Page cache of the sign-in log writer, in KiB: holds the hot tails of every index (one
/// per active user for the user index) so that commits never re-read them.
const WRITER_CACHE_KIB: i64 = 64 * 1024;

/// Page cache of the background checkpointer's connection, in KiB (it reads WAL frames
/// and writes database pages, it needs no cache of its own to speak of).
const CHECKPOINTER_CACHE_KIB: i64 = 2 * 1024;

/// Page cache of each pool connection, in KiB.
const POOL_CACHE_KIB: i64 = 16 * 1024;

/// WAL size, in pages, at which a committing connection other than the sign-in log writer
/// checkpoints by itself (SQLite's `wal_autocheckpoint`; the default is 1000; the writer's
/// connection has it off, see `checkpoint.rs`). Also the size past which a restarting WAL
/// file is truncated. A large WAL lets one checkpoint copy each hot index page once for many
/// commits: measured, 1000 pages cost about a third of the sign-in log throughput.
pub(crate) const WAL_AUTOCHECKPOINT_PAGES: u32 = 32_768;

/// Size past which a restarting WAL file is truncated (`journal_size_limit`): above the
/// largest WAL the log writer lets grow ([`checkpoint::FORCE_PAGES`] of 4 KiB, plus a
/// batch), so that a restart does not truncate. The WAL restarts at about 128 MiB and used
/// to be truncated back to that at the first commit after each restart: measured, that
/// `ftruncate` alone took 24 ms of the writer's time on the loaded VM, every request of
/// the batch waiting. The file keeps the size it grew to instead (at most about 400 MiB).
pub(crate) const WAL_SIZE_LIMIT: u64 = (checkpoint::FORCE_PAGES as u64 + 16_384) * 4096;

/// A SQLite store's shared state: the pool, the file path (for messages), the broadcast of
/// this process's changes and the closed flag of its feeds.
#[derive(Clone)]
pub(crate) struct SqliteDb {
    pool: SqlitePool,
    path: Arc<Path>,
    changes: broadcast::Sender<Change>,
    closed: Arc<watch::Sender<bool>>,
    fragments: Arc<FragmentCache>,
}

/// Opens the file at `path` (see [`crate::Store::open`]).
pub(crate) async fn open(
    path: &Path,
    options: &StoreOptions,
) -> Result<(SqliteDb, SignInLog), StoreError> {
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

    // Migrations run on a connection of their own before anything else touches the file;
    // on an error below, dropping the connections closes them.
    let mut migrating: SqliteConnection = connect.clone().connect().await.map_err(open_err)?;
    let migrate_err = |source| StoreError::Migrate {
        path: path.to_path_buf(),
        source,
    };
    // Up to the version that adds the ids' keys, then the keys of the rows written before
    // (on a connection of its own, off the runtime's threads), then the rest, which indexes
    // them.
    crate::migrate::run_up_to(
        &mut migrating,
        crate::migrate::SQLITE,
        crate::migrate::SQLITE_KEYS_ADDED,
    )
    .await
    .map_err(migrate_err)?;
    let fill_path = path.to_path_buf();
    let keys_err = |source| StoreError::SearchKeys {
        path: path.to_path_buf(),
        source,
    };
    let filled = tokio::task::spawn_blocking(move || keys::fill(&fill_path, BUSY_TIMEOUT))
        .await
        .map_err(|e| keys_err(Box::new(e)))?
        .map_err(|e| keys_err(Box::new(e)))?;
    if filled > 0 {
        tracing::info!(path = %path.display(), rows = filled, "sign-in log: search keys filled in");
    }
    crate::migrate::run(&mut migrating, crate::migrate::SQLITE)
        .await
        .map_err(migrate_err)?;
    sqlx::Connection::close(migrating).await.map_err(open_err)?;
    let pool = SqlitePoolOptions::new()
        .max_connections(options.pool_connections)
        .min_connections(1)
        .connect_with(connect.pragma("cache_size", format!("-{POOL_CACHE_KIB}")))
        .await
        .map_err(open_err)?;
    let db = SqliteDb {
        pool,
        path: Arc::from(path),
        changes: broadcast::channel(LOCAL_FEED_CAPACITY).0,
        closed: Arc::new(watch::channel(false).0),
        fragments: Arc::default(),
    };
    // The writer's own connection and its checkpointer's, synchronous (see `sink.rs`),
    // opened on the writer's thread. No automatic checkpoint inside the writer's commits (a
    // commit that crosses the threshold would copy the WAL while every request of its batch
    // waits): the background checkpointer copies, and the writer restarts the WAL between
    // batches (`checkpoint.rs`).
    let sink_path = Arc::clone(&db.path);
    let durability = options.durability;
    let log = SignInLog::start(
        Db::Sqlite(db.clone()),
        path.to_path_buf(),
        move || async move {
            let err =
                |source: Box<dyn std::error::Error + Send + Sync>| StoreError::WriterConnection {
                    path: sink_path.to_path_buf(),
                    source,
                };
            let writer = sink::open(&sink_path, durability, WRITER_CACHE_KIB, true)
                .map_err(|e| err(Box::new(e)))?;
            let checkpoint_conn = sink::open(&sink_path, durability, CHECKPOINTER_CACHE_KIB, false)
                .map_err(|e| err(Box::new(e)))?;
            let checkpointer =
                checkpoint::Checkpointer::start(checkpoint_conn, Arc::clone(&sink_path))
                    .map_err(|e| err(Box::new(e)))?;
            Ok(sink::SqliteSink::new(writer, checkpointer, sink_path))
        },
        options.max_batch,
        options.queue,
        options.commit_interval,
    )
    .await?;
    tracing::info!(
        backend = "sqlite",
        path = %path.display(),
        durability = ?options.durability,
        max_batch = options.max_batch,
        queue = options.queue,
        "store opened"
    );
    Ok((db, log))
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
        .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string())
}

impl SqliteDb {
    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Maps a sqlx error of operation `op` to a [`StoreError`].
    fn sql(&self, op: &'static str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
        move |source| match source {
            sqlx::Error::PoolClosed => StoreError::Closed,
            source => StoreError::Sql {
                op,
                path: self.path.to_path_buf(),
                source,
            },
        }
    }

    /// Tells this process's change feeds about a committed change (none may be listening).
    fn announce(&self, change: Change) {
        let _ = self.changes.send(change);
    }

    fn decode_version(&self, row: &SqliteRow) -> Result<TenantVersion, StoreError> {
        let decode = self.sql("decode a tenant version");
        decode_version(
            row.try_get(0).map_err(&decode)?,
            row.try_get(1).map_err(&decode)?,
            row.try_get(2).map_err(&decode)?,
            row.try_get(3).map_err(&decode)?,
            row.try_get(4).map_err(&decode)?,
            row.try_get(5).map_err(&decode)?,
        )
    }

    /// Bumps the devices revision inside `tx`.
    async fn bump_devices_revision(
        &self,
        tx: &mut SqliteConnection,
        op: &'static str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'devices'")
            .execute(tx)
            .await
            .map_err(self.sql(op))?;
        Ok(())
    }
}

impl Backend for SqliteDb {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    async fn current_version(&self) -> Result<Option<TenantVersion>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM tenant_versions ORDER BY version DESC LIMIT 1"
        ))
        .fetch_optional(&self.pool)
        .await
        .map_err(self.sql("read the current tenant version"))?;
        row.map(|row| self.decode_version(&row)).transpose()
    }

    async fn version(&self, version: i64) -> Result<Option<TenantVersion>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM tenant_versions WHERE version = ?"
        ))
        .bind(version)
        .fetch_optional(&self.pool)
        .await
        .map_err(self.sql("read a tenant version"))?;
        row.map(|row| self.decode_version(&row)).transpose()
    }

    async fn versions(&self) -> Result<Vec<VersionSummary>, StoreError> {
        let rows = sqlx::query(LIST_VERSIONS)
            .fetch_all(&self.pool)
            .await
            .map_err(self.sql("list tenant versions"))?;
        decode_summaries(&rows).map_err(self.sql("decode tenant versions"))
    }

    async fn current_version_number(&self) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar("SELECT MAX(version) FROM tenant_versions")
            .fetch_one(&self.pool)
            .await
            .map_err(self.sql("read the current tenant version number"))
    }

    async fn save_version(
        &self,
        expected: Option<i64>,
        change: &EncodedVersion,
    ) -> Result<i64, StoreError> {
        let err = self.sql("save tenant version");
        // IMMEDIATE takes the write lock now, so no other writer (of this or another process)
        // can slip a version in between the check and the insert.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(&err)?;
        let actual: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM tenant_versions")
            .fetch_one(&mut *tx)
            .await
            .map_err(&err)?;
        if actual != expected {
            // Dropping `tx` rolls back; nothing was written anyway.
            return Err(StoreError::Conflict { expected, actual });
        }
        let version = actual.map_or(1, |v| v + 1);
        sqlx::query(
            "INSERT INTO tenant_versions (version, author, summary, created_ms, diff, snapshot) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(version)
        .bind(&change.author)
        .bind(&change.summary)
        .bind(change.created_ms)
        .bind(&change.diff)
        .bind(&change.snapshot)
        .execute(&mut *tx)
        .await
        .map_err(&err)?;
        tx.commit().await.map_err(&err)?;
        self.announce(Change::Version(version));
        Ok(version)
    }

    async fn devices(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        let rows = sqlx::query("SELECT device_id, body FROM devices ORDER BY device_id")
            .fetch_all(&self.pool)
            .await
            .map_err(self.sql("list devices"))?;
        decode_documents(&rows, self.sql("decode devices"), |id| {
            format!("stored device {id:?}")
        })
    }

    async fn put_device(&self, device_id: &str, body: &str) -> Result<bool, StoreError> {
        let op = "put device";
        let err = self.sql(op);
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(&err)?;
        let updated = sqlx::query("UPDATE devices SET body = ? WHERE device_id = ?")
            .bind(body)
            .bind(device_id)
            .execute(&mut *tx)
            .await
            .map_err(&err)?
            .rows_affected();
        let created = updated == 0;
        if created {
            sqlx::query("INSERT INTO devices (device_id, body) VALUES (?, ?)")
                .bind(device_id)
                .bind(body)
                .execute(&mut *tx)
                .await
                .map_err(&err)?;
        }
        self.bump_devices_revision(&mut tx, op).await?;
        tx.commit().await.map_err(&err)?;
        self.announce(Change::Devices);
        Ok(created)
    }

    async fn delete_device(&self, device_id: &str) -> Result<bool, StoreError> {
        let op = "delete device";
        let err = self.sql(op);
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(&err)?;
        let deleted = sqlx::query("DELETE FROM devices WHERE device_id = ?")
            .bind(device_id)
            .execute(&mut *tx)
            .await
            .map_err(&err)?
            .rows_affected();
        if deleted > 0 {
            self.bump_devices_revision(&mut tx, op).await?;
        }
        tx.commit().await.map_err(&err)?;
        if deleted > 0 {
            self.announce(Change::Devices);
        }
        Ok(deleted > 0)
    }

    async fn replace_devices(&self, devices: &[(&str, String)]) -> Result<(), StoreError> {
        let op = "replace devices";
        let err = self.sql(op);
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(&err)?;
        sqlx::query("DELETE FROM devices")
            .execute(&mut *tx)
            .await
            .map_err(&err)?;
        for (id, body) in devices {
            sqlx::query("INSERT INTO devices (device_id, body) VALUES (?, ?)")
                .bind(*id)
                .bind(body.as_str())
                .execute(&mut *tx)
                .await
                .map_err(&err)?;
        }
        self.bump_devices_revision(&mut tx, op).await?;
        tx.commit().await.map_err(&err)?;
        self.announce(Change::Devices);
        Ok(())
    }

    async fn devices_revision(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT value FROM counters WHERE name = 'devices'")
            .fetch_one(&self.pool)
            .await
            .map_err(self.sql("read the devices revision"))
    }

    async fn changes(&self) -> Result<ChangeFeed, StoreError> {
        if *self.closed.borrow() {
            return Err(StoreError::Closed);
        }
        Ok(ChangeFeed::local(
            self.changes.subscribe(),
            self.closed.subscribe(),
        ))
    }

    async fn query_log(
        &self,
        filter: &SignInFilter,
        limit: i64,
        reads: Option<i64>,
    ) -> Result<LogPage, StoreError> {
        let found = crate::search::run(&self.pool, filter, limit, reads)
            .await
            .map_err(self.sql("query the sign-in log"))?;
        let (stored, last) = search_rows(&found.rows, &self.sql("decode sign-in records"))?;
        let (records, last) = search_page(self, stored, last).await?;
        Ok(LogPage {
            records,
            last,
            stopped_at: found.stopped_at,
        })
    }

    async fn refresh_statistics(&self) -> Result<(), StoreError> {
        // The search counts its candidates itself (`crate::search`): a full ANALYZE
        // would hold the write lock, hence the log writer, for seconds on a large log.
        Ok(())
    }

    async fn revoke_session(
        &self,
        session_id: &str,
        expires_ms: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let err = self.sql("revoke a console session");
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(&err)?;
        sqlx::query("DELETE FROM console_revoked_sessions WHERE expires_ms <= ?")
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(&err)?;
        sqlx::query(
            "INSERT INTO console_revoked_sessions (session_id, expires_ms) VALUES (?, ?) \
             ON CONFLICT (session_id) DO UPDATE SET expires_ms = MAX(expires_ms, excluded.expires_ms)",
        )
        .bind(session_id)
        .bind(expires_ms)
        .execute(&mut *tx)
        .await
        .map_err(&err)?;
        tx.commit().await.map_err(&err)
    }

    async fn revoked_sessions(&self, now_ms: i64) -> Result<Vec<(String, i64)>, StoreError> {
        sqlx::query_as(
            "SELECT session_id, expires_ms FROM console_revoked_sessions WHERE expires_ms > ?",
        )
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await
        .map_err(self.sql("read the revoked console sessions"))
    }

    async fn export_page(
        &self,
        filter: &SignInFilter,
        after: Option<LogCursor>,
        page: i64,
        out: &mut Vec<u8>,
    ) -> Result<(usize, Option<LogCursor>), StoreError> {
        let rows = crate::search::export_rows(&self.pool, filter, after, page)
            .await
            .map_err(self.sql("export the sign-in log"))?;
        let (stored, last) = search_rows(&rows, &self.sql("decode sign-in records for export"))?;
        let texts = whole_texts(self, stored).await?;
        export_lines(&texts, out);
        Ok((texts.len(), last.map(|p| (p.created_ms, p.seq))))
    }

    async fn fragment_texts(&self, ids: &[i64]) -> Result<Vec<(i64, Arc<str>)>, StoreError> {
        let mut qb =
            QueryBuilder::<Sqlite>::new("SELECT id, text FROM sign_in_fragments WHERE id IN (");
        let mut list = qb.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        qb.push(")");
        let rows: Vec<(i64, String)> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(self.sql("read sign-in record fragments"))?;
        Ok(rows.into_iter().map(|(id, t)| (id, Arc::from(t))).collect())
    }

    fn fragment_cache(&self) -> &FragmentCache {
        &self.fragments
    }

    async fn delete_log_chunk(&self, before_ms: i64, chunk: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "DELETE FROM sign_ins WHERE seq IN \
             (SELECT seq FROM sign_ins WHERE created_ms < ? ORDER BY created_ms LIMIT ?)",
        )
        .bind(before_ms)
        .bind(chunk)
        .execute(&self.pool)
        .await
        .map_err(self.sql("delete old sign-in records"))?
        .rows_affected())
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO admin_audit \
             (created_ms, token, role, method, path, status, version, author) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
        )
        .bind(entry.created_ms)
        .bind(&entry.token)
        .bind(&entry.role)
        .bind(&entry.method)
        .bind(&entry.path)
        .bind(i32::from(entry.status))
        .bind(entry.version)
        .bind(entry.author.as_deref())
        .fetch_one(&self.pool)
        .await
        .map_err(self.sql("append an admin audit entry"))
    }

    async fn query_audit(
        &self,
        filter: &AuditFilter,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut qb = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {AUDIT_COLUMNS} FROM admin_audit WHERE 1 = 1"
        ));
        push_audit_filter(&mut qb, filter);
        qb.push(" ORDER BY created_ms DESC, seq DESC LIMIT ")
            .push_bind(limit);
        let rows = qb
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(self.sql("query the admin audit"))?;
        decode_audit(&rows).map_err(self.sql("decode admin audit entries"))
    }

    async fn delete_audit_chunk(&self, before_ms: i64, chunk: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "DELETE FROM admin_audit WHERE seq IN \
             (SELECT seq FROM admin_audit WHERE created_ms < ? ORDER BY created_ms LIMIT ?)",
        )
        .bind(before_ms)
        .bind(chunk)
        .execute(&self.pool)
        .await
        .map_err(self.sql("delete old admin audit entries"))?
        .rows_affected())
    }

    async fn close(&self) {
        self.closed.send_replace(true);
        self.pool.close().await;
    }
}
