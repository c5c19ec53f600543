//! The SQLite side of the sign-in log writer: `BEGIN IMMEDIATE`, multi-row
//! `INSERT OR IGNORE`s in power-of-two chunks (a handful of statements, all kept prepared),
//! `COMMIT`, and a wake-up of the background checkpointer after each commit. `OR IGNORE`
//! makes a duplicate correlation id skip its row instead of aborting the statement (and
//! spares SQLite a statement journal); the skipped rows are then identified and reported.

use std::path::Path;
use std::sync::Arc;

use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnection, SqliteQueryResult};

use super::checkpoint::Checkpointer;
use crate::compact::Written;
use crate::writer::{LogSink, Row, unmatched};

/// Largest number of rows of one multi-row INSERT (9 parameters each, far below SQLite's
/// limit of 32 766). Batches are split into power-of-two chunks so that only
/// log2(MAX_CHUNK)+1 distinct statements exist, all kept in the statement cache.
const MAX_CHUNK: usize = 512;

/// The writer's connection and the checkpointer it wakes.
pub(super) struct SqliteSink {
    conn: SqliteConnection,
    checkpointer: Checkpointer,
    path: Arc<Path>,
    /// `statements[k]`: INSERT of 2^k rows.
    statements: Vec<String>,
    /// Fragments of compact records already stored.
    written: Written,
}

impl SqliteSink {
    /// Must be called on the writer's runtime (it starts the checkpointer task there).
    pub(super) fn new(
        conn: SqliteConnection,
        checkpoint_conn: SqliteConnection,
        path: Arc<Path>,
    ) -> SqliteSink {
        SqliteSink {
            conn,
            checkpointer: Checkpointer::start(checkpoint_conn, Arc::clone(&path)),
            path,
            statements: (0..=MAX_CHUNK.trailing_zeros())
                .map(|k| insert_sql(1 << k))
                .collect(),
            written: Written::default(),
        }
    }
}

impl SqliteSink {
    /// Between batches: backfills the frames the background checkpointer has not copied yet,
    /// so that the next write transaction starts the WAL over (see `checkpoint.rs`). A
    /// failure only delays the restart.
    async fn restart_wal(&mut self) {
        let started = std::time::Instant::now();
        match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&mut self.conn)
            .await
        {
            Ok((busy, log, copied)) => {
                self.checkpointer.restarted(busy != 0, log, copied);
                tracing::debug!(
                    busy,
                    log,
                    copied,
                    micros = started.elapsed().as_micros(),
                    "WAL checkpoint between batches"
                );
            }
            Err(e) => {
                self.checkpointer.restarted(true, -1, 0);
                tracing::warn!(path = %self.path.display(), error = %e, "WAL checkpoint between batches failed");
            }
        }
    }
}

impl LogSink for SqliteSink {
    const NEEDS_IO: bool = false;

    async fn begin(&mut self) -> Result<(), sqlx::Error> {
        if self.checkpointer.restart_due() {
            self.restart_wal().await;
        }
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut self.conn)
            .await
            .map(|_| ())
    }

    async fn insert(
        &mut self,
        rows: &[Row],
        offset: usize,
        skipped: &mut Vec<usize>,
    ) -> Result<(), sqlx::Error> {
        for fragment in self.written.unstored(rows) {
            let inserted =
                sqlx::query("INSERT OR IGNORE INTO sign_in_fragments (id, text) VALUES (?, ?)")
                    .bind(fragment.id)
                    .bind(&*fragment.text)
                    .execute(&mut self.conn)
                    .await?;
            if inserted.rows_affected() == 0 {
                let stored: String =
                    sqlx::query_scalar("SELECT text FROM sign_in_fragments WHERE id = ?")
                        .bind(fragment.id)
                        .fetch_one(&mut self.conn)
                        .await?;
                if stored != *fragment.text {
                    self.written.collided(fragment.id);
                }
            }
        }
        let mut start = offset;
        let mut rest = rows;
        while !rest.is_empty() {
            let (chunk, tail) = rest.split_at(chunk_len(rest.len()));
            let result = insert(&mut self.conn, &self.statements, &self.written, chunk).await?;
            if result.rows_affected() < chunk.len() as u64 {
                find_skipped(&mut self.conn, chunk, &result, start, skipped).await?;
            }
            start += chunk.len();
            rest = tail;
        }
        Ok(())
    }

    async fn commit(&mut self) -> Result<(), sqlx::Error> {
        sqlx::query("COMMIT")
            .execute(&mut self.conn)
            .await
            .map(|_| ())
    }

    async fn abort(&mut self) {
        // Fails harmlessly when no transaction is open (BEGIN failed, or SQLite already
        // rolled back).
        self.written.aborted();
        if let Err(e) = sqlx::query("ROLLBACK").execute(&mut self.conn).await {
            tracing::debug!(path = %self.path.display(), error = %e, "sign-in log rollback");
        }
    }

    fn committed(&mut self) {
        self.written.committed();
        self.checkpointer.wake();
    }

    async fn close(self) {
        self.checkpointer.stop().await;
        if let Err(e) = self.conn.close().await {
            tracing::warn!(path = %self.path.display(), error = %e, "closing the sign-in log writer connection");
        }
    }
}

fn insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT OR IGNORE INTO sign_ins \
         (correlation_id, created_ms, user_id, app_id, decision, error_code, record, \
         applied_at, applied) VALUES ",
    );
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?,?,?,?,?,?)");
    }
    sql
}

/// Largest power of two not above `remaining` nor [`MAX_CHUNK`] (`remaining` >= 1).
fn chunk_len(remaining: usize) -> usize {
    let n = remaining.clamp(1, MAX_CHUNK);
    1 << n.ilog2()
}

/// Executes the INSERT of `rows` (1..=MAX_CHUNK of them, a power of two).
async fn insert(
    conn: &mut SqliteConnection,
    statements: &[String],
    written: &Written,
    rows: &[Row],
) -> Result<SqliteQueryResult, sqlx::Error> {
    let sql = statements
        .get(rows.len().trailing_zeros() as usize)
        .filter(|_| rows.len().is_power_of_two())
        .ok_or_else(|| {
            sqlx::Error::Protocol(format!("no INSERT statement for {} rows", rows.len()))
        })?;
    let mut query = sqlx::query(sql);
    for row in rows {
        query = query
            .bind(row.id.as_str())
            .bind(row.created_ms)
            .bind(row.user_id.as_str())
            .bind(row.app_id.as_str())
            .bind(row.decision.as_str())
            .bind(row.error_code);
        query = if written.whole(row) {
            query
                .bind(row.whole())
                .bind(None::<i64>)
                .bind(None::<&[u8]>)
        } else {
            query
                .bind(row.json.as_str())
                .bind(row.applied_at())
                .bind(row.applied())
        };
    }
    query.execute(conn).await
}

/// Finds the rows of `chunk` that its INSERT OR IGNORE skipped (correlation id already
/// stored, or repeated within the chunk) and appends their batch indexes to `skipped`.
///
/// The rows one INSERT stores get consecutive rowids ending at its `last_insert_rowid`
/// (rowids are max+1 and this connection holds the write lock), so the stored ones are read
/// back by rowid and matched to the chunk in order.
async fn find_skipped(
    conn: &mut SqliteConnection,
    chunk: &[Row],
    result: &SqliteQueryResult,
    offset: usize,
    skipped: &mut Vec<usize>,
) -> Result<(), sqlx::Error> {
    let stored_count = i64::try_from(result.rows_affected()).unwrap_or(i64::MAX);
    let stored: Vec<String> = if stored_count > 0 {
        let last = result.last_insert_rowid();
        sqlx::query_scalar("SELECT correlation_id FROM sign_ins WHERE seq > ? AND seq <= ?")
            .bind(last - stored_count)
            .bind(last)
            .fetch_all(&mut *conn)
            .await?
    } else {
        Vec::new()
    };
    unmatched(chunk, stored, offset, skipped);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_powers_of_two_and_cover_the_batch() {
        for n in 1..=2100 {
            let mut rest = n;
            let mut chunks = 0;
            while rest > 0 {
                let c = chunk_len(rest);
                assert!(
                    c.is_power_of_two() && c <= MAX_CHUNK && c <= rest,
                    "{n}: {c}"
                );
                rest -= c;
                chunks += 1;
            }
            assert!(chunks <= n / MAX_CHUNK + 10, "{n}: {chunks} chunks");
        }
    }

    #[test]
    fn insert_sql_has_nine_parameters_per_row() {
        for rows in [1, 2, MAX_CHUNK] {
            let sql = insert_sql(rows);
            assert_eq!(sql.matches('?').count(), 9 * rows);
        }
    }
}
