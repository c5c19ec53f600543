//! The PostgreSQL side of the sign-in log writer: `BEGIN`, one multi-row INSERT per group of
//! queued records — the columns passed as seven arrays and expanded by `UNNEST`, so the
//! statement is the same whatever the batch size and stays prepared — `COMMIT`.
//!
//! `ON CONFLICT (correlation_id) DO NOTHING` skips a correlation id already stored (by any
//! replica: two transactions inserting the same id wait for each other and the second
//! skips it) or repeated within the batch; `RETURNING` lists the ids stored, so the skipped
//! rows are known without another round trip.
//!
//! The connection is opened again when it was lost: a batch that fails is reported to its
//! waiters, the next one reconnects.

use std::path::PathBuf;

use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use crate::StoreError;
use crate::compact::Written;
use crate::writer::{LogSink, Row, unmatched};

/// The batch INSERT. The element types are spelled out: the arrays are bound as text[] and
/// int8[], whatever the column types.
const INSERT: &str = "INSERT INTO sign_ins \
     (correlation_id, created_ms, user_id, app_id, decision, error_code, record, applied_at, \
     applied) \
     SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], \
     $6::int8[], $7::text[], $8::int8[], $9::bytea[]) \
     ON CONFLICT (correlation_id) DO NOTHING \
     RETURNING correlation_id";

/// The fragments of compact records not yet stored (by any replica: the same text has the
/// same id); `RETURNING` lists the ones this statement stored.
const INSERT_FRAGMENTS: &str = "INSERT INTO sign_in_fragments (id, text) \
     SELECT * FROM UNNEST($1::int8[], $2::text[]) \
     ON CONFLICT (id) DO NOTHING \
     RETURNING id";

/// The writer's connection, and how to open it again.
pub(super) struct PgSink {
    options: PgConnectOptions,
    conn: Option<PgConnection>,
    path: PathBuf,
    /// Fragments of compact records already stored.
    written: Written,
}

impl PgSink {
    /// Opens the writer's connection (on the writer's runtime, which drives it).
    pub(super) async fn connect(
        options: PgConnectOptions,
        path: PathBuf,
    ) -> Result<PgSink, StoreError> {
        let conn = super::open_connection(&options)
            .await
            .map_err(|source| StoreError::Open {
                path: path.clone(),
                source,
            })?;
        Ok(PgSink {
            options,
            conn: Some(conn),
            path,
            written: Written::default(),
        })
    }

    /// The connection, opened again if it was dropped after an error.
    async fn conn(&mut self) -> Result<&mut PgConnection, sqlx::Error> {
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => {
                let conn = super::open_connection(&self.options).await?;
                tracing::info!(path = %self.path.display(), "sign-in log writer reconnected");
                conn
            }
        };
        Ok(self.conn.insert(conn))
    }
}

impl LogSink for PgSink {
    const NEEDS_IO: bool = true;
    type Error = sqlx::Error;

    async fn begin(&mut self) -> Result<(), sqlx::Error> {
        sqlx::query("BEGIN").execute(self.conn().await?).await?;
        Ok(())
    }

    async fn insert(
        &mut self,
        rows: &[Row],
        offset: usize,
        skipped: &mut Vec<usize>,
    ) -> Result<(), sqlx::Error> {
        let fragments = self.written.unstored(rows);
        if !fragments.is_empty() {
            let ids: Vec<i64> = fragments.iter().map(|f| f.id).collect();
            let texts: Vec<&str> = fragments.iter().map(|f| &*f.text).collect();
            let stored: Vec<i64> = sqlx::query_scalar(INSERT_FRAGMENTS)
                .bind(&ids)
                .bind(&texts)
                .fetch_all(self.conn().await?)
                .await?;
            if stored.len() < ids.len() {
                let stored: std::collections::HashSet<i64> = stored.into_iter().collect();
                let others: Vec<i64> = ids.into_iter().filter(|id| !stored.contains(id)).collect();
                let found: Vec<(i64, String)> =
                    sqlx::query_as("SELECT id, text FROM sign_in_fragments WHERE id = ANY($1)")
                        .bind(&others)
                        .fetch_all(self.conn().await?)
                        .await?;
                let found: std::collections::HashMap<i64, String> = found.into_iter().collect();
                for f in fragments {
                    if found.get(&f.id).is_some_and(|t| *t != *f.text) {
                        self.written.collided(f.id);
                    }
                }
            }
        }
        let n = rows.len();
        let mut ids = Vec::with_capacity(n);
        let mut created = Vec::with_capacity(n);
        let mut users = Vec::with_capacity(n);
        let mut apps = Vec::with_capacity(n);
        let mut decisions = Vec::with_capacity(n);
        let mut codes = Vec::with_capacity(n);
        let mut records = Vec::with_capacity(n);
        let mut applied_at = Vec::with_capacity(n);
        let mut applied = Vec::with_capacity(n);
        let mut whole = Vec::new();
        for row in rows {
            ids.push(row.id.as_str());
            created.push(row.created_ms);
            users.push(row.user_id.as_str());
            apps.push(row.app_id.as_str());
            decisions.push(row.decision.as_str());
            codes.push(row.error_code);
            if self.written.whole(row) {
                whole.push((records.len(), row.whole()));
                records.push("");
                applied_at.push(None);
                applied.push(None);
            } else {
                records.push(row.json.as_str());
                applied_at.push(row.applied_at());
                applied.push(row.applied());
            }
        }
        for (i, text) in &whole {
            if let Some(slot) = records.get_mut(*i) {
                *slot = text.as_str();
            }
        }
        let stored: Vec<String> = sqlx::query_scalar(INSERT)
            .bind(&ids)
            .bind(&created)
            .bind(&users)
            .bind(&apps)
            .bind(&decisions)
            .bind(&codes)
            .bind(&records)
            .bind(&applied_at)
            .bind(&applied)
            .fetch_all(self.conn().await?)
            .await?;
        if stored.len() < n {
            unmatched(rows, stored, offset, skipped);
        }
        Ok(())
    }

    async fn commit(&mut self) -> Result<(), sqlx::Error> {
        sqlx::query("COMMIT").execute(self.conn().await?).await?;
        Ok(())
    }

    async fn abort(&mut self) {
        self.written.aborted();
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        // Fails when the connection is gone (or no transaction is open): then drop it, the
        // next batch reconnects.
        if let Err(e) = sqlx::query("ROLLBACK").execute(conn).await {
            tracing::warn!(path = %self.path.display(), error = %e, "sign-in log writer connection dropped after a failed batch");
            self.conn = None;
        }
    }

    fn committed(&mut self) {
        self.written.committed();
    }

    async fn close(self) {
        if let Some(conn) = self.conn
            && let Err(e) = conn.close().await
        {
            tracing::warn!(path = %self.path.display(), error = %e, "closing the sign-in log writer connection");
        }
    }
}
