//! The sign-in log: group-committed appends, filtered queries, JSON-lines export, retention.

use std::slice;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::sqlite::{Sqlite, SqliteConnection};
use sqlx::{Connection as _, QueryBuilder, Row as _};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};
use tokio::sync::{mpsc, oneshot, watch};

use crate::{Ctx, StoreError};

/// Default of [`SignInFilter::limit`] for [`SignInLog::query`].
pub const DEFAULT_QUERY_LIMIT: usize = 100;
/// Cap of [`SignInFilter::limit`] for [`SignInLog::query`].
pub const MAX_QUERY_LIMIT: usize = 10_000;
/// Records read per page by [`SignInLog::export_jsonl`].
const EXPORT_PAGE: usize = 1_000;
/// Records deleted per transaction by [`SignInLog::delete_before`], so that retention never
/// holds the write lock (and blocks the log writer) for long.
const DELETE_CHUNK: i64 = 10_000;
/// Largest number of rows of one multi-row INSERT (7 parameters each). Batches are split into
/// power-of-two chunks so that only log2(MAX_CHUNK)+1 distinct statements exist, all kept
/// prepared in the connection's statement cache.
const MAX_CHUNK: usize = 256;

/// One sign-in log record.
#[derive(Debug, Clone, PartialEq)]
pub struct SignInRecord {
    /// The correlation id; unique in the log.
    pub id: String,
    /// When the sign-in happened, in Unix milliseconds.
    pub created_ms: i64,
    /// Entra object id of the user.
    pub user_id: String,
    /// Application (client) id of the resource signed in to.
    pub app_id: String,
    /// `allow`, `challenge` or `deny`.
    pub decision: String,
    /// Entra error code (53003, ...), if any.
    pub error_code: Option<u32>,
    /// The full Graph `signIn` object.
    pub record: serde_json::Value,
}

/// Which records [`SignInLog::query`] and [`SignInLog::export_jsonl`] return. Every `Some`
/// member must match (exact comparison); `Default` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInFilter {
    /// User object id.
    pub user: Option<String>,
    /// Application id.
    pub app: Option<String>,
    /// `allow`, `challenge` or `deny`.
    pub decision: Option<String>,
    /// Entra error code.
    pub error_code: Option<u32>,
    /// Created at or after, in Unix milliseconds (inclusive).
    pub from_ms: Option<i64>,
    /// Created before, in Unix milliseconds (exclusive).
    pub to_ms: Option<i64>,
    /// Correlation id.
    pub correlation_id: Option<String>,
    /// Most records returned: `query` defaults to 100 and caps at 10 000; `export_jsonl`
    /// exports everything when `None` and is not capped.
    pub limit: Option<usize>,
}

/// Handle to the sign-in log; cheap to clone.
///
/// Appends go through a bounded queue to one writer task that group-commits them: it takes
/// everything queued (up to `max_batch` records), inserts it in one transaction with
/// multi-row INSERTs, commits, then wakes every waiter of that batch.
#[derive(Clone)]
pub struct SignInLog {
    ctx: Ctx,
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
    done: watch::Receiver<bool>,
}

/// Counters shared by the handles and the writer.
#[derive(Debug)]
struct Shared {
    committed: AtomicU64,
    batches: AtomicU64,
    failed: AtomicU64,
    capacity: usize,
}

/// A record ready for the writer: JSON already serialized by the caller's task, so the single
/// writer spends its time in SQLite only.
struct Row {
    id: String,
    created_ms: i64,
    user_id: String,
    app_id: String,
    decision: String,
    error_code: Option<i64>,
    json: String,
}

type Ack = oneshot::Sender<Result<(), StoreError>>;

enum Msg {
    /// A record, with the waiter to wake once its batch is committed (`None`: nowait).
    Record { row: Row, ack: Option<Ack> },
    /// Wake this waiter once everything queued before it is committed.
    Flush(Ack),
    /// Commit everything queued, then stop.
    Stop,
}

impl Row {
    fn new(record: SignInRecord) -> Result<Row, StoreError> {
        let json = serde_json::to_string(&record.record).map_err(|source| StoreError::Json {
            what: format!("sign-in record {}", record.id),
            source,
        })?;
        Ok(Row {
            id: record.id,
            created_ms: record.created_ms,
            user_id: record.user_id,
            app_id: record.app_id,
            decision: record.decision,
            error_code: record.error_code.map(i64::from),
            json,
        })
    }
}

impl SignInLog {
    /// Starts the writer task on `conn`.
    pub(crate) fn start(
        ctx: Ctx,
        conn: SqliteConnection,
        max_batch: usize,
        queue: usize,
    ) -> SignInLog {
        let (tx, rx) = mpsc::channel(queue);
        let (done_tx, done) = watch::channel(false);
        let shared = Arc::new(Shared {
            committed: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            capacity: queue,
        });
        let writer = Writer {
            ctx: ctx.clone(),
            conn,
            shared: Arc::clone(&shared),
            max_batch,
            statements: (0..=MAX_CHUNK.trailing_zeros())
                .map(|k| insert_sql(1 << k))
                .collect(),
        };
        tokio::spawn(writer.run(rx, done_tx));
        SignInLog {
            ctx,
            tx,
            shared,
            done,
        }
    }

    /// Queues the record and waits until the batch holding it is committed. `Ok` means the
    /// record is durable per the store's [`crate::Durability`]. Waits for room if the queue
    /// is full. If the future is dropped after the record was queued, the record is still
    /// committed.
    ///
    /// Errors: [`StoreError::Closed`], [`StoreError::LogBatch`] (the batch failed, the record
    /// is not stored), [`StoreError::LogRecord`] (this record was rejected, e.g. duplicate
    /// correlation id).
    pub async fn append(&self, record: SignInRecord) -> Result<(), StoreError> {
        let row = Row::new(record)?;
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Msg::Record {
                row,
                ack: Some(ack),
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        done.await.map_err(|_| StoreError::Closed)?
    }

    /// Queues the record without waiting; it is committed with the next batch. Failures to
    /// commit it are logged (`tracing`) and counted by [`SignInLog::failed`].
    ///
    /// Errors: [`StoreError::QueueFull`] if the queue is full (the record is not queued),
    /// [`StoreError::Closed`] if the writer is gone.
    pub fn append_nowait(&self, record: SignInRecord) -> Result<(), StoreError> {
        let row = Row::new(record)?;
        self.tx
            .try_send(Msg::Record { row, ack: None })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(Msg::Record { row, .. }) => StoreError::QueueFull {
                    capacity: self.shared.capacity,
                    id: row.id,
                },
                _ => StoreError::Closed,
            })
    }

    /// Waits until everything queued before the call is committed. Returns the error of the
    /// batch holding the flush if that batch failed to commit; records of earlier batches
    /// that failed were reported to their own waiters (or logged, for `append_nowait`).
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Msg::Flush(ack))
            .await
            .map_err(|_| StoreError::Closed)?;
        done.await.map_err(|_| StoreError::Closed)?
    }

    /// Records matching `filter`, newest first (by `created_ms`, then insertion order), at
    /// most `filter.limit` (default 100, capped at 10 000): the stored Graph `signIn` objects.
    pub async fn query(&self, filter: &SignInFilter) -> Result<Vec<serde_json::Value>, StoreError> {
        let limit = filter
            .limit
            .unwrap_or(DEFAULT_QUERY_LIMIT)
            .min(MAX_QUERY_LIMIT);
        let mut qb =
            QueryBuilder::<Sqlite>::new("SELECT correlation_id, record FROM sign_ins WHERE 1 = 1");
        push_filter(&mut qb, filter);
        qb.push(" ORDER BY created_ms DESC, seq DESC LIMIT ")
            .push_bind(to_i64(limit));
        let rows = qb
            .build()
            .fetch_all(&self.ctx.pool)
            .await
            .map_err(self.ctx.sql("query the sign-in log"))?;
        let decode = self.ctx.sql("decode sign-in records");
        rows.iter()
            .map(|row| {
                let id: &str = row.try_get(0).map_err(&decode)?;
                let json: &str = row.try_get(1).map_err(&decode)?;
                serde_json::from_str(json).map_err(|source| StoreError::Json {
                    what: format!("stored sign-in record {id}"),
                    source,
                })
            })
            .collect()
    }

    /// Streams every record matching `filter` (at most `filter.limit` if set), oldest first,
    /// as JSON lines — one compact object and `'\n'` per record — into `out`, reading pages
    /// of 1000 records so memory stays bounded. Flushes `out` and returns the count.
    pub async fn export_jsonl<W: AsyncWrite + Unpin + Send>(
        &self,
        filter: &SignInFilter,
        out: &mut W,
    ) -> Result<u64, StoreError> {
        let mut remaining = filter.limit.unwrap_or(usize::MAX);
        let mut cursor: Option<(i64, i64)> = None;
        let mut count: u64 = 0;
        let mut buf: Vec<u8> = Vec::new();
        let write_err = |source: std::io::Error| StoreError::Sql {
            op: "write the sign-in log export",
            path: self.ctx.path.to_path_buf(),
            source: sqlx::Error::Io(source),
        };
        while remaining > 0 {
            let page = remaining.min(EXPORT_PAGE);
            let mut qb = QueryBuilder::<Sqlite>::new(
                "SELECT seq, created_ms, record FROM sign_ins WHERE 1 = 1",
            );
            push_filter(&mut qb, filter);
            if let Some((created_ms, seq)) = cursor {
                qb.push(" AND created_ms >= ")
                    .push_bind(created_ms)
                    .push(" AND (created_ms > ")
                    .push_bind(created_ms)
                    .push(" OR seq > ")
                    .push_bind(seq)
                    .push(")");
            }
            qb.push(" ORDER BY created_ms, seq LIMIT ")
                .push_bind(to_i64(page));
            let rows = qb
                .build()
                .fetch_all(&self.ctx.pool)
                .await
                .map_err(self.ctx.sql("export the sign-in log"))?;
            let decode = self.ctx.sql("decode sign-in records for export");
            buf.clear();
            for row in &rows {
                let seq: i64 = row.try_get(0).map_err(&decode)?;
                let created_ms: i64 = row.try_get(1).map_err(&decode)?;
                let json: &str = row.try_get(2).map_err(&decode)?;
                // Stored by `append` with serde_json::to_string: compact, no raw newline.
                buf.extend_from_slice(json.as_bytes());
                buf.push(b'\n');
                cursor = Some((created_ms, seq));
            }
            out.write_all(&buf).await.map_err(write_err)?;
            count += rows.len() as u64;
            remaining -= rows.len();
            if rows.len() < page {
                break;
            }
        }
        out.flush().await.map_err(write_err)?;
        tracing::debug!(count, "sign-in log exported");
        Ok(count)
    }

    /// Deletes the records created before `before_ms`, in chunks of 10 000 per transaction;
    /// returns how many (retention).
    pub async fn delete_before(&self, before_ms: i64) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let deleted = sqlx::query(
                "DELETE FROM sign_ins WHERE seq IN \
                 (SELECT seq FROM sign_ins WHERE created_ms < ? ORDER BY created_ms LIMIT ?)",
            )
            .bind(before_ms)
            .bind(DELETE_CHUNK)
            .execute(&self.ctx.pool)
            .await
            .map_err(self.ctx.sql("delete old sign-in records"))?
            .rows_affected();
            total += deleted;
            if deleted < DELETE_CHUNK.unsigned_abs() {
                break;
            }
        }
        tracing::info!(before_ms, deleted = total, "sign-in log retention");
        Ok(total)
    }

    /// Records committed so far by this store's writer (monotonic; retention does not lower it).
    pub fn committed(&self) -> u64 {
        self.shared.committed.load(Ordering::Relaxed)
    }

    /// Transactions (batches) committed so far by the writer.
    pub fn batches(&self) -> u64 {
        self.shared.batches.load(Ordering::Relaxed)
    }

    /// Records accepted into the queue that could not be committed (failed batch or rejected
    /// record), whether or not a waiter was told.
    pub fn failed(&self) -> u64 {
        self.shared.failed.load(Ordering::Relaxed)
    }

    /// Asks the writer to commit everything queued and stop, and waits until it has.
    pub(crate) async fn stop(&self) {
        // Fails if the writer already closed the queue: then just wait for it to finish.
        if self.tx.send(Msg::Stop).await.is_err() {
            tracing::debug!("sign-in log writer already stopping");
        }
        let mut done = self.done.clone();
        // Err: the writer task is gone (its sender dropped), which is just as final.
        if done.wait_for(|done| *done).await.is_err() {
            tracing::debug!("sign-in log writer task ended without reporting");
        }
    }
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn push_filter<'a>(qb: &mut QueryBuilder<'a, Sqlite>, filter: &'a SignInFilter) {
    if let Some(user) = &filter.user {
        qb.push(" AND user_id = ").push_bind(user.as_str());
    }
    if let Some(app) = &filter.app {
        qb.push(" AND app_id = ").push_bind(app.as_str());
    }
    if let Some(decision) = &filter.decision {
        qb.push(" AND decision = ").push_bind(decision.as_str());
    }
    if let Some(code) = filter.error_code {
        qb.push(" AND error_code = ").push_bind(i64::from(code));
    }
    if let Some(from) = filter.from_ms {
        qb.push(" AND created_ms >= ").push_bind(from);
    }
    if let Some(to) = filter.to_ms {
        qb.push(" AND created_ms < ").push_bind(to);
    }
    if let Some(id) = &filter.correlation_id {
        qb.push(" AND correlation_id = ").push_bind(id.as_str());
    }
}

fn insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO sign_ins \
         (correlation_id, created_ms, user_id, app_id, decision, error_code, record) VALUES ",
    );
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?,?,?,?)");
    }
    sql
}

/// Largest power of two not above `remaining` nor [`MAX_CHUNK`] (`remaining` >= 1).
fn chunk_len(remaining: usize) -> usize {
    let n = remaining.clamp(1, MAX_CHUNK);
    1 << n.ilog2()
}

fn is_constraint(e: &sqlx::Error) -> bool {
    use sqlx::error::ErrorKind;
    e.as_database_error().is_some_and(|d| {
        matches!(
            d.kind(),
            ErrorKind::UniqueViolation
                | ErrorKind::NotNullViolation
                | ErrorKind::CheckViolation
                | ErrorKind::ForeignKeyViolation
        )
    })
}

/// The single task that writes the sign-in log.
struct Writer {
    ctx: Ctx,
    conn: SqliteConnection,
    shared: Arc<Shared>,
    max_batch: usize,
    /// `statements[k]`: INSERT of 2^k rows.
    statements: Vec<String>,
}

/// What became of a batch.
enum Outcome {
    /// Committed; the listed rows (index in the batch, ascending) were rejected.
    Committed(Vec<(usize, sqlx::Error)>),
    /// Nothing of the batch was committed.
    Failed(Arc<sqlx::Error>),
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Msg>, done: watch::Sender<bool>) {
        let mut msgs = Vec::with_capacity(self.max_batch);
        let mut rows = Vec::with_capacity(self.max_batch);
        let mut acks: Vec<Option<Ack>> = Vec::with_capacity(self.max_batch);
        let mut flushes = Vec::new();
        loop {
            // Waits for at least one message, then takes whatever else is already queued.
            if rx.recv_many(&mut msgs, self.max_batch).await == 0 {
                break; // every sender dropped, or Stop received and the queue drained
            }
            for msg in msgs.drain(..) {
                match msg {
                    Msg::Record { row, ack } => {
                        rows.push(row);
                        acks.push(ack);
                    }
                    Msg::Flush(ack) => flushes.push(ack),
                    Msg::Stop => rx.close(), // refuse new messages, keep draining buffered ones
                }
            }
            let batch_result = if rows.is_empty() {
                Ok(())
            } else {
                let outcome = self.write(&rows).await;
                self.deliver(&rows, &mut acks, outcome)
            };
            for ack in flushes.drain(..) {
                // The flusher may have given up waiting; nothing to do then.
                let _ = ack.send(
                    batch_result
                        .as_ref()
                        .map_err(|e| e.clone_for_waiter())
                        .copied(),
                );
            }
            rows.clear();
            acks.clear();
        }
        if let Err(e) = self.conn.close().await {
            tracing::warn!(path = %self.ctx.path.display(), error = %e, "closing the sign-in log writer connection");
        }
        tracing::debug!(path = %self.ctx.path.display(), "sign-in log writer stopped");
        done.send_replace(true);
    }

    /// Inserts `rows` in one transaction. A chunk that violates a constraint (duplicate
    /// correlation id) is retried row by row so that only the offending rows are rejected;
    /// any other error fails (rolls back) the whole batch.
    async fn write(&mut self, rows: &[Row]) -> Outcome {
        match self.try_write(rows).await {
            Ok(rejected) => Outcome::Committed(rejected),
            Err(e) => Outcome::Failed(Arc::new(e)),
        }
    }

    async fn try_write(&mut self, rows: &[Row]) -> Result<Vec<(usize, sqlx::Error)>, sqlx::Error> {
        let mut rejected = Vec::new();
        // Dropping `tx` on an early return rolls the transaction back.
        let mut tx = self.conn.begin().await?;
        let mut start = 0;
        let mut rest = rows;
        while !rest.is_empty() {
            let (chunk, tail) = rest.split_at(chunk_len(rest.len()));
            match insert(&mut tx, &self.statements, chunk).await {
                Ok(()) => {}
                // A failed statement is rolled back alone; the transaction goes on.
                Err(e) if is_constraint(&e) => {
                    for (i, row) in chunk.iter().enumerate() {
                        match insert(&mut tx, &self.statements, slice::from_ref(row)).await {
                            Ok(()) => {}
                            Err(e) if is_constraint(&e) => rejected.push((start + i, e)),
                            Err(e) => return Err(e),
                        }
                    }
                }
                Err(e) => return Err(e),
            }
            start += chunk.len();
            rest = tail;
        }
        tx.commit().await?;
        Ok(rejected)
    }

    /// Wakes the waiters of a batch and updates the counters; returns the batch's result.
    fn deliver(
        &self,
        rows: &[Row],
        acks: &mut [Option<Ack>],
        outcome: Outcome,
    ) -> Result<(), SharedError> {
        match outcome {
            Outcome::Committed(rejected) => {
                let failed = rejected.len();
                let committed = rows.len() - failed;
                self.shared
                    .committed
                    .fetch_add(committed as u64, Ordering::Relaxed);
                self.shared.batches.fetch_add(1, Ordering::Relaxed);
                self.shared
                    .failed
                    .fetch_add(failed as u64, Ordering::Relaxed);
                tracing::trace!(
                    records = committed,
                    rejected = failed,
                    "sign-in batch committed"
                );
                let mut rejected = rejected.into_iter().peekable();
                for (i, (row, ack)) in rows.iter().zip(acks.iter_mut()).enumerate() {
                    let result = match rejected.next_if(|(r, _)| *r == i) {
                        Some((_, source)) => {
                            tracing::warn!(id = %row.id, error = %source, "sign-in record rejected");
                            Err(StoreError::LogRecord {
                                id: row.id.clone(),
                                path: self.ctx.path.to_path_buf(),
                                source,
                            })
                        }
                        None => Ok(()),
                    };
                    if let Some(ack) = ack.take() {
                        // The waiter may have been dropped; the record is committed anyway.
                        let _ = ack.send(result);
                    }
                }
                Ok(())
            }
            Outcome::Failed(source) => {
                self.shared
                    .failed
                    .fetch_add(rows.len() as u64, Ordering::Relaxed);
                tracing::error!(
                    path = %self.ctx.path.display(),
                    records = rows.len(),
                    error = %source,
                    "sign-in log batch not committed"
                );
                let error = SharedError {
                    records: rows.len(),
                    path: self.ctx.path.to_path_buf(),
                    source,
                };
                for ack in acks.iter_mut().filter_map(Option::take) {
                    let _ = ack.send(Err(error.clone_for_waiter()));
                }
                Err(error)
            }
        }
    }
}

/// The failure of a batch, handed to each of its waiters as a [`StoreError::LogBatch`].
struct SharedError {
    records: usize,
    path: std::path::PathBuf,
    source: Arc<sqlx::Error>,
}

impl SharedError {
    fn clone_for_waiter(&self) -> StoreError {
        StoreError::LogBatch {
            records: self.records,
            path: self.path.clone(),
            source: Arc::clone(&self.source),
        }
    }
}

/// Executes the INSERT of `rows` (1..=MAX_CHUNK of them, a power of two).
async fn insert(
    conn: &mut SqliteConnection,
    statements: &[String],
    rows: &[Row],
) -> Result<(), sqlx::Error> {
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
            .bind(row.error_code)
            .bind(row.json.as_str());
    }
    query.execute(conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_powers_of_two_and_cover_the_batch() {
        for n in 1..=1100 {
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
            assert!(chunks <= n / MAX_CHUNK + 9, "{n}: {chunks} chunks");
        }
    }

    #[test]
    fn insert_sql_has_seven_parameters_per_row() {
        for rows in [1, 2, 256] {
            let sql = insert_sql(rows);
            assert_eq!(sql.matches('?').count(), 7 * rows);
        }
    }
}
