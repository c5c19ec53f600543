//! The PostgreSQL backend, for several replicas sharing one database: a pool for queries,
//! versions and devices; the sign-in log writer's own connection; one listening connection
//! per change feed. Every write that replicas must see NOTIFYs in its own transaction.

mod listen;
mod sink;

use std::path::PathBuf;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow, Postgres};
use sqlx::{ConnectOptions as _, Connection as _, QueryBuilder, Row as _};
use tokio::sync::watch;

pub(crate) use self::listen::PgFeed;
use crate::audit::{
    AUDIT_COLUMNS, AuditEntry, AuditFilter, AuditRecord, decode_audit, push_audit_filter,
};
use crate::backend::{
    Backend, LogCursor, LogPage, export_lines, search_page, search_rows, whole_texts,
};
use crate::compact::FragmentCache;
use crate::location::{mask_password, validate_schema};
use crate::versions::{
    EncodedVersion, LIST_VERSIONS, VERSION_COLUMNS, decode_documents, decode_summaries,
    decode_version,
};
use crate::{
    ChangeFeed, Db, Durability, SignInFilter, SignInLog, StoreError, StoreOptions, TenantVersion,
    VersionSummary,
};

/// The NOTIFY channel of every change. Channels are database-wide, so each payload starts
/// with the schema it concerns: `<schema>:version:<n>` or `<schema>:devices`.
const CHANNEL: &str = "gardien_changes";

/// How long opening a connection may take before it is reported as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a version or device write waits for another writer's lock (PostgreSQL's
/// `lock_timeout`) before failing, like SQLite's busy timeout.
const LOCK_TIMEOUT: &str = "10s";

/// A PostgreSQL store's shared state.
#[derive(Clone)]
pub(crate) struct PgDb {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    /// Options every connection starts from (URL, search_path).
    connect: PgConnectOptions,
    /// The URL, password masked.
    location: String,
    /// What errors name: the location, and the schema if one is set.
    err_path: PathBuf,
    /// The schema the tables are in (`current_schema()`), which prefixes the payloads.
    schema: String,
    /// Set by `close`: ends the change feeds.
    closed: watch::Sender<bool>,
    /// Sign-in record fragments read so far.
    fragments: FragmentCache,
}

/// Connects to the database at `url` (see [`crate::Store::connect`]).
pub(crate) async fn connect(
    url: &str,
    options: &StoreOptions,
) -> Result<(PgDb, SignInLog), StoreError> {
    let location = mask_password(url);
    let err_path = PathBuf::from(match &options.schema {
        Some(schema) => format!("{location} (schema {schema})"),
        None => location.clone(),
    });
    if let Some(schema) = &options.schema {
        validate_schema(schema)?;
    }
    let open_err = |source| StoreError::Open {
        path: err_path.clone(),
        source,
    };
    let mut connect = PgConnectOptions::from_str(url).map_err(open_err)?;
    if let Some(schema) = &options.schema {
        connect = connect.options([("search_path", schema)]);
    }

    // A connection of its own for the migrations, closed afterwards: sqlx holds its
    // advisory lock for the session while it migrates.
    let mut conn = open_connection(&connect.clone().application_name("gardien"))
        .await
        .map_err(open_err)?;
    if let Some(schema) = &options.schema {
        create_schema(&mut conn, schema).await.map_err(open_err)?;
    }
    crate::migrate::run(&mut conn, crate::migrate::POSTGRES)
        .await
        .map_err(|source| StoreError::Migrate {
            path: err_path.clone(),
            source,
        })?;
    let schema: Option<String> = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(&mut conn)
        .await
        .map_err(open_err)?;
    let schema = schema.ok_or_else(|| {
        open_err(sqlx::Error::Configuration(
            "no schema of the search_path exists".into(),
        ))
    })?;
    if let Err(e) = conn.close().await {
        tracing::debug!(location = %location, error = %e, "closing the migration connection");
    }

    let pool = PgPoolOptions::new()
        .max_connections(options.pool_connections)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_with(
            connect
                .clone()
                .application_name(&application_name("gardien", &schema)),
        )
        .await
        .map_err(open_err)?;
    let db = PgDb {
        inner: Arc::new(Inner {
            pool,
            connect: connect.clone(),
            location: location.clone(),
            err_path: err_path.clone(),
            schema: schema.clone(),
            closed: watch::channel(false).0,
            fragments: FragmentCache::default(),
        }),
    };
    let mut writer_connect =
        connect.application_name(&application_name("gardien-signins", &schema));
    if options.durability == Durability::Process {
        writer_connect = writer_connect.options([("synchronous_commit", "off")]);
    }
    let sink_path = err_path.clone();
    let log = SignInLog::start(
        Db::Postgres(db.clone()),
        err_path,
        move || sink::PgSink::connect(writer_connect, sink_path),
        options.max_batch,
        options.queue,
        options.commit_interval,
    )
    .await?;
    tracing::info!(
        backend = "postgres",
        location = %location,
        schema = %schema,
        durability = ?options.durability,
        max_batch = options.max_batch,
        queue = options.queue,
        "store opened"
    );
    Ok((db, log))
}

/// `application_name` of a connection: its role (`gardien`: the pool; `gardien-signins`:
/// the log writer; `gardien-changes`: a change feed) and the schema, so that an operator
/// sees in `pg_stat_activity` what each connection is for. PostgreSQL keeps 63 bytes.
fn application_name(role: &str, schema: &str) -> String {
    let mut name = format!("{role} {schema}");
    let mut end = name.len().min(63);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name.truncate(end);
    name
}

/// Opens one connection, giving up after [`CONNECT_TIMEOUT`].
pub(crate) async fn open_connection(
    options: &PgConnectOptions,
) -> Result<PgConnection, sqlx::Error> {
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Ok(connected) => connected,
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no connection within {} s", CONNECT_TIMEOUT.as_secs_f32()),
        ))),
    }
}

/// Creates `schema` (a checked plain identifier) if it does not exist. The existence check
/// comes first so that a role without the CREATE privilege can use an existing schema; a
/// concurrent creation by another replica is not an error.
async fn create_schema(conn: &mut PgConnection, schema: &str) -> Result<(), sqlx::Error> {
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
            .bind(schema)
            .fetch_one(&mut *conn)
            .await?;
    if exists {
        return Ok(());
    }
    match sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .execute(&mut *conn)
        .await
    {
        Ok(_) => {
            tracing::info!(schema, "schema created");
            Ok(())
        }
        // unique_violation, duplicate_schema: created meanwhile by another process.
        Err(sqlx::Error::Database(e)) if matches!(e.code().as_deref(), Some("23505" | "42P06")) => {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Whether `e` is PostgreSQL's unique_violation.
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(e) if e.code().as_deref() == Some("23505"))
}

impl PgDb {
    /// Maps a sqlx error of operation `op` to a [`StoreError`].
    fn sql(&self, op: &'static str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
        move |source| match source {
            sqlx::Error::PoolClosed => StoreError::Closed,
            source => StoreError::Sql {
                op,
                path: self.inner.err_path.clone(),
                source,
            },
        }
    }

    fn decode_version(&self, row: &PgRow) -> Result<TenantVersion, StoreError> {
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

    /// Starts a transaction with a bounded lock wait.
    async fn begin(&self) -> Result<sqlx::Transaction<'static, Postgres>, sqlx::Error> {
        let mut tx = self.inner.pool.begin().await?;
        sqlx::query(&format!("SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Queues `payload` (after the schema prefix) for the listeners; delivered on commit.
    async fn notify(&self, tx: &mut PgConnection, payload: &str) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(format!("{}:{payload}", self.inner.schema))
            .execute(tx)
            .await?;
        Ok(())
    }

    /// Bumps the devices revision, which also locks its row: device writers of every
    /// process take turns from here to their commit.
    async fn lock_and_bump_devices(&self, tx: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'devices'")
            .execute(tx)
            .await?;
        Ok(())
    }
}

impl Backend for PgDb {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn location(&self) -> String {
        self.inner.location.clone()
    }

    async fn current_version(&self) -> Result<Option<TenantVersion>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM tenant_versions ORDER BY version DESC LIMIT 1"
        ))
        .fetch_optional(&self.inner.pool)
        .await
        .map_err(self.sql("read the current tenant version"))?;
        row.map(|row| self.decode_version(&row)).transpose()
    }

    async fn version(&self, version: i64) -> Result<Option<TenantVersion>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM tenant_versions WHERE version = $1"
        ))
        .bind(version)
        .fetch_optional(&self.inner.pool)
        .await
        .map_err(self.sql("read a tenant version"))?;
        row.map(|row| self.decode_version(&row)).transpose()
    }

    async fn versions(&self) -> Result<Vec<VersionSummary>, StoreError> {
        let rows = sqlx::query(LIST_VERSIONS)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(self.sql("list tenant versions"))?;
        decode_summaries(&rows).map_err(self.sql("decode tenant versions"))
    }

    async fn current_version_number(&self) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar("SELECT MAX(version) FROM tenant_versions")
            .fetch_one(&self.inner.pool)
            .await
            .map_err(self.sql("read the current tenant version number"))
    }

    async fn save_version(
        &self,
        expected: Option<i64>,
        change: &EncodedVersion,
    ) -> Result<i64, StoreError> {
        let err = self.sql("save tenant version");
        let mut tx = self.begin().await.map_err(&err)?;
        // SHARE ROW EXCLUSIVE conflicts with itself (and with writes), not with reads: version
        // writers of every process take turns from here to their commit, so the maximum
        // read below is still the maximum when the insert commits.
        sqlx::query("LOCK TABLE tenant_versions IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
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
        let inserted = sqlx::query(
            "INSERT INTO tenant_versions (version, author, summary, created_ms, diff, snapshot) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(version)
        .bind(&change.author)
        .bind(&change.summary)
        .bind(change.created_ms)
        .bind(&change.diff)
        .bind(&change.snapshot)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            // The primary key, second guard: a writer that did not take the lock got there
            // first.
            Err(e) if is_unique_violation(&e) => {
                drop(tx);
                let actual = self.current_version_number().await?;
                return Err(StoreError::Conflict { expected, actual });
            }
            Err(e) => return Err(err(e)),
        }
        self.notify(&mut tx, &format!("version:{version}"))
            .await
            .map_err(&err)?;
        tx.commit().await.map_err(&err)?;
        Ok(version)
    }

    async fn devices(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        let rows = sqlx::query("SELECT device_id, body FROM devices ORDER BY device_id")
            .fetch_all(&self.inner.pool)
            .await
            .map_err(self.sql("list devices"))?;
        decode_documents(&rows, self.sql("decode devices"), |id| {
            format!("stored device {id:?}")
        })
    }

    async fn put_device(&self, device_id: &str, body: &str) -> Result<bool, StoreError> {
        let err = self.sql("put device");
        let mut tx = self.begin().await.map_err(&err)?;
        self.lock_and_bump_devices(&mut tx).await.map_err(&err)?;
        // xmax is 0 on a freshly inserted row, the locking transaction's id on an updated one.
        let created: bool = sqlx::query_scalar(
            "INSERT INTO devices (device_id, body) VALUES ($1, $2) \
             ON CONFLICT (device_id) DO UPDATE SET body = excluded.body \
             RETURNING xmax = 0",
        )
        .bind(device_id)
        .bind(body)
        .fetch_one(&mut *tx)
        .await
        .map_err(&err)?;
        self.notify(&mut tx, "devices").await.map_err(&err)?;
        tx.commit().await.map_err(&err)?;
        Ok(created)
    }

    async fn delete_device(&self, device_id: &str) -> Result<bool, StoreError> {
        let err = self.sql("delete device");
        let mut tx = self.begin().await.map_err(&err)?;
        self.lock_and_bump_devices(&mut tx).await.map_err(&err)?;
        let deleted = sqlx::query("DELETE FROM devices WHERE device_id = $1")
            .bind(device_id)
            .execute(&mut *tx)
            .await
            .map_err(&err)?
            .rows_affected();
        if deleted == 0 {
            // Nothing changed: roll the revision bump back.
            tx.rollback().await.map_err(&err)?;
            return Ok(false);
        }
        self.notify(&mut tx, "devices").await.map_err(&err)?;
        tx.commit().await.map_err(&err)?;
        Ok(true)
    }

    async fn replace_devices(&self, devices: &[(&str, String)]) -> Result<(), StoreError> {
        let err = self.sql("replace devices");
        let ids: Vec<&str> = devices.iter().map(|(id, _)| *id).collect();
        let bodies: Vec<&str> = devices.iter().map(|(_, body)| body.as_str()).collect();
        let mut tx = self.begin().await.map_err(&err)?;
        // Taking the revision's row lock first makes the DELETE below, in a statement
        // snapshot taken after the lock, see the rows of a replacement committed meanwhile.
        self.lock_and_bump_devices(&mut tx).await.map_err(&err)?;
        sqlx::query("DELETE FROM devices")
            .execute(&mut *tx)
            .await
            .map_err(&err)?;
        sqlx::query(
            "INSERT INTO devices (device_id, body) \
             SELECT * FROM UNNEST($1::text[], $2::text[])",
        )
        .bind(&ids)
        .bind(&bodies)
        .execute(&mut *tx)
        .await
        .map_err(&err)?;
        self.notify(&mut tx, "devices").await.map_err(&err)?;
        tx.commit().await.map_err(&err)?;
        Ok(())
    }

    async fn devices_revision(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT value FROM counters WHERE name = 'devices'")
            .fetch_one(&self.inner.pool)
            .await
            .map_err(self.sql("read the devices revision"))
    }

    async fn changes(&self) -> Result<ChangeFeed, StoreError> {
        if *self.inner.closed.borrow() {
            return Err(StoreError::Closed);
        }
        let feed = PgFeed::start(
            self.inner
                .connect
                .clone()
                .application_name(&application_name("gardien-changes", &self.inner.schema)),
            CHANNEL,
            &self.inner.schema,
            self.inner.closed.subscribe(),
            self.inner.err_path.clone(),
        )
        .await?;
        Ok(ChangeFeed::postgres(feed))
    }

    async fn query_log(
        &self,
        filter: &SignInFilter,
        limit: i64,
        reads: Option<i64>,
    ) -> Result<LogPage, StoreError> {
        // Unbounded, the planner picks the index from its statistics (autovacuum keeps them):
        // each filter leads one that INCLUDEs the others, so an index-only scan checks them
        // all. Bounded, the walk is `crate::search`'s, as on SQLite.
        let found = crate::search::run(&self.inner.pool, filter, limit, reads)
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
        // VACUUM also marks the pages all-visible, which index-only scans need.
        sqlx::query("VACUUM (ANALYZE) sign_ins")
            .execute(&self.inner.pool)
            .await
            .map_err(self.sql("refresh the sign-in log statistics"))?;
        Ok(())
    }

    async fn revoke_session(
        &self,
        session_id: &str,
        expires_ms: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let err = self.sql("revoke a console session");
        let mut tx = self.inner.pool.begin().await.map_err(&err)?;
        sqlx::query("DELETE FROM console_revoked_sessions WHERE expires_ms <= $1")
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(&err)?;
        sqlx::query(
            "INSERT INTO console_revoked_sessions (session_id, expires_ms) VALUES ($1, $2) \
             ON CONFLICT (session_id) DO UPDATE \
             SET expires_ms = GREATEST(console_revoked_sessions.expires_ms, excluded.expires_ms)",
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
            "SELECT session_id, expires_ms FROM console_revoked_sessions WHERE expires_ms > $1",
        )
        .bind(now_ms)
        .fetch_all(&self.inner.pool)
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
        let rows = crate::search::export_rows(&self.inner.pool, filter, after, page)
            .await
            .map_err(self.sql("export the sign-in log"))?;
        let (stored, last) = search_rows(&rows, &self.sql("decode sign-in records for export"))?;
        let texts = whole_texts(self, stored).await?;
        export_lines(&texts, out);
        Ok((texts.len(), last.map(|p| (p.created_ms, p.seq))))
    }

    async fn fragment_texts(&self, ids: &[i64]) -> Result<Vec<(i64, Arc<str>)>, StoreError> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, text FROM sign_in_fragments WHERE id = ANY($1)")
                .bind(ids)
                .fetch_all(&self.inner.pool)
                .await
                .map_err(self.sql("read sign-in record fragments"))?;
        Ok(rows.into_iter().map(|(id, t)| (id, Arc::from(t))).collect())
    }

    fn fragment_cache(&self) -> &FragmentCache {
        &self.inner.fragments
    }

    async fn delete_log_chunk(&self, before_ms: i64, chunk: i64) -> Result<u64, StoreError> {
        // The oldest `chunk` rows, found on the created_ms index and deleted by their
        // physical address (a TID scan): one short transaction per chunk.
        Ok(sqlx::query(
            "DELETE FROM sign_ins WHERE ctid = ANY(ARRAY(\
             SELECT ctid FROM sign_ins WHERE created_ms < $1 ORDER BY created_ms LIMIT $2))",
        )
        .bind(before_ms)
        .bind(chunk)
        .execute(&self.inner.pool)
        .await
        .map_err(self.sql("delete old sign-in records"))?
        .rows_affected())
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO admin_audit \
             (created_ms, token, role, method, path, status, version, author) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING seq",
        )
        .bind(entry.created_ms)
        .bind(&entry.token)
        .bind(&entry.role)
        .bind(&entry.method)
        .bind(&entry.path)
        .bind(i32::from(entry.status))
        .bind(entry.version)
        .bind(entry.author.as_deref())
        .fetch_one(&self.inner.pool)
        .await
        .map_err(self.sql("append an admin audit entry"))
    }

    async fn query_audit(
        &self,
        filter: &AuditFilter,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut qb = QueryBuilder::<Postgres>::new(format!(
            "SELECT {AUDIT_COLUMNS} FROM admin_audit WHERE TRUE"
        ));
        push_audit_filter(&mut qb, filter);
        qb.push(" ORDER BY created_ms DESC, seq DESC LIMIT ")
            .push_bind(limit);
        let rows = qb
            .build()
            .fetch_all(&self.inner.pool)
            .await
            .map_err(self.sql("query the admin audit"))?;
        decode_audit(&rows).map_err(self.sql("decode admin audit entries"))
    }

    async fn delete_audit_chunk(&self, before_ms: i64, chunk: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "DELETE FROM admin_audit WHERE seq IN \
             (SELECT seq FROM admin_audit WHERE created_ms < $1 ORDER BY created_ms LIMIT $2)",
        )
        .bind(before_ms)
        .bind(chunk)
        .execute(&self.inner.pool)
        .await
        .map_err(self.sql("delete old admin audit entries"))?
        .rows_affected())
    }

    async fn close(&self) {
        self.inner.closed.send_replace(true);
        self.inner.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_names_fit() {
        assert_eq!(
            application_name("gardien-changes", "s"),
            "gardien-changes s"
        );
        assert_eq!(application_name("gardien", &"a".repeat(63)).len(), 63);
        assert_eq!(application_name("gardien", &"é".repeat(40)).len(), 62);
    }
}
