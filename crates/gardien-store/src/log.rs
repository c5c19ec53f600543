//! The sign-in log: group-committed appends, filtered queries, JSON-lines export, retention.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use sqlx::QueryBuilder;
use tokio::io::{AsyncWrite, AsyncWriteExt as _};
use tokio::sync::{mpsc, oneshot, watch};

use crate::backend::Backend as _;
use crate::writer::{LogSink, Msg, Row, Shared};
use crate::{Db, StoreError, dispatch};

/// Default of [`SignInFilter::limit`] for [`SignInLog::query`].
pub const DEFAULT_QUERY_LIMIT: usize = 100;
/// Cap of [`SignInFilter::limit`] for [`SignInLog::query`].
pub const MAX_QUERY_LIMIT: usize = 10_000;
/// Most index entries one page of a bounded sign-in search reads
/// ([`SignInLog::search_bounded`]) in the server's sign-in queries (`GET /v1/signins`, the
/// console's search): about 70 M instructions (under 10 ms of one core) when several filters
/// each match many records but few together, whatever the log's size.
pub const SEARCH_READS: usize = 50_000;
/// Records read per page by [`SignInLog::export_jsonl`].
const EXPORT_PAGE: usize = 1_000;
/// Records deleted per transaction by [`SignInLog::delete_before`], so that retention never
/// holds a lock (SQLite: the write lock, blocking the log writer) for long.
const DELETE_CHUNK: i64 = 10_000;

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
    /// The full Graph `signIn` object as JSON text: the caller serializes it once (the
    /// server straight from typed structs), the store keeps it as is. It must be a JSON
    /// object; the store checks that much, not the contents. With [`SignInRecord::fragments`]
    /// it holds an empty array where the fragments go.
    pub record: String,
    /// The record's per-policy array by reference (compact record): stored once per
    /// distinct entry, spliced back into `record` by every reader. `None`: `record` is whole.
    pub fragments: Option<crate::Fragments>,
}

impl SignInRecord {
    /// The record's whole JSON text, as readers see it.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match &self.fragments {
            Some(f) => std::borrow::Cow::Owned(f.splice(&self.record)),
            None => std::borrow::Cow::Borrowed(&self.record),
        }
    }
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
    /// Only records older than this position in the newest-first order (keyset
    /// pagination: the [`SearchPage::next`] of the previous page). [`SignInLog::query`]
    /// and [`SignInLog::search`] only; the export ignores it.
    pub before: Option<LogPosition>,
    /// Most records returned: `query` defaults to 100 and caps at 10 000; `export_jsonl`
    /// exports everything when `None` and is not capped.
    pub limit: Option<usize>,
}

/// A record's place in the log order: `(created_ms, seq)`, `seq` being the insertion order
/// (ties of equal `created_ms`). Written `<created_ms>.<seq>` in URLs
/// ([`LogPosition::parse`], `Display`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogPosition {
    /// When the record's sign-in happened, in Unix milliseconds.
    pub created_ms: i64,
    /// Insertion order.
    pub seq: i64,
}

impl LogPosition {
    /// The place before every record created at `created_ms` (`seq` is never below it).
    pub fn before_millisecond(created_ms: i64) -> LogPosition {
        LogPosition {
            created_ms,
            seq: i64::MIN,
        }
    }

    /// Reads `<created_ms>.<seq>` or `<created_ms>` (decimal integers; the latter is
    /// [`LogPosition::before_millisecond`]); `None` for anything else.
    pub fn parse(text: &str) -> Option<LogPosition> {
        match text.split_once('.') {
            Some((created, seq)) => Some(LogPosition {
                created_ms: created.parse().ok()?,
                seq: seq.parse().ok()?,
            }),
            None => Some(LogPosition::before_millisecond(text.parse().ok()?)),
        }
    }
}

impl std::fmt::Display for LogPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.seq == i64::MIN {
            write!(f, "{}", self.created_ms)
        } else {
            write!(f, "{}.{}", self.created_ms, self.seq)
        }
    }
}

/// One page of [`SignInLog::search`].
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    /// The stored Graph `signIn` objects, newest first.
    pub records: Vec<serde_json::Value>,
    /// Where the next (older) page starts, when this page is full or the search stopped at
    /// its bound ([`SearchPage::searched_to`]): pass it as [`SignInFilter::before`].
    pub next: Option<LogPosition>,
    /// Set when a bounded search ([`SignInLog::search_bounded`]) stopped before filling the
    /// page: the time (Unix ms) back to which it searched. Every matching record created at
    /// or after it (and older than the filter's `before`) is in `records`, possibly none;
    /// the older ones were not searched yet, and `next` continues with them.
    pub searched_to: Option<i64>,
}

/// Handle to the sign-in log; cheap to clone.
///
/// Appends go through a bounded queue to one writer task, on a thread of its own, that
/// group-commits them: it takes everything queued (up to `max_batch` records), inserts it in
/// one transaction with multi-row INSERTs, commits, then wakes every waiter of that batch.
#[derive(Clone)]
pub struct SignInLog {
    db: Db,
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
    done: watch::Receiver<bool>,
}

impl SignInLog {
    /// Starts the writer thread, whose sink `make` builds on the writer's runtime.
    pub(crate) async fn start<S, F, Fut>(
        db: Db,
        location: PathBuf,
        make: F,
        max_batch: usize,
        queue: usize,
        commit_interval: std::time::Duration,
    ) -> Result<SignInLog, StoreError>
    where
        S: LogSink,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<S, StoreError>>,
    {
        let (tx, rx) = mpsc::channel(queue);
        let (done_tx, done) = watch::channel(false);
        let shared = Arc::new(Shared::new(queue));
        crate::writer::spawn(
            location,
            make,
            Arc::clone(&shared),
            crate::writer::Pace {
                max_batch,
                commit_interval,
            },
            rx,
            done_tx,
        )
        .await?;
        Ok(SignInLog {
            db,
            tx,
            shared,
            done,
        })
    }

    /// Queues the record and waits until the batch holding it is committed. `Ok` means the
    /// record is durable per the store's [`crate::Durability`]. Waits for room if the queue
    /// is full. If the future is dropped after the record was queued, the record is still
    /// committed.
    ///
    /// Errors: [`StoreError::Closed`], [`StoreError::LogBatch`] (the batch failed, the record
    /// is not stored), [`StoreError::DuplicateSignIn`] (a record with this correlation id is
    /// already stored; this one was not, the rest of its batch was).
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
        Ok(self.search(filter).await?.records)
    }

    /// As [`SignInLog::query`], with where the next page starts. Every combination of
    /// filters is answered from an index that the search follows newest first and that holds
    /// the other filters' columns: SQLite follows the index of the filter that matches the
    /// fewest records (probed up to a bound first), PostgreSQL's planner picks from its
    /// statistics; the records are read last, by position, for the page only.
    pub async fn search(&self, filter: &SignInFilter) -> Result<SearchPage, StoreError> {
        self.search_with(filter, None).await
    }

    /// As [`SignInLog::search`], reading about `reads` index entries at most (the
    /// millisecond at the boundary is read whole): when filters that each match many
    /// records match few together, the page may then stop before it is full, saying back to
    /// when it searched ([`SearchPage::searched_to`]) and where to go on
    /// ([`SearchPage::next`]). Following `next` to the end gives exactly the records of
    /// [`SignInLog::search`]. A page whose records are found early is not affected. Both
    /// backends walk the same way (`search.rs`).
    pub async fn search_bounded(
        &self,
        filter: &SignInFilter,
        reads: usize,
    ) -> Result<SearchPage, StoreError> {
        self.search_with(filter, Some(to_i64(reads.max(1)))).await
    }

    async fn search_with(
        &self,
        filter: &SignInFilter,
        reads: Option<i64>,
    ) -> Result<SearchPage, StoreError> {
        let limit = filter
            .limit
            .unwrap_or(DEFAULT_QUERY_LIMIT)
            .min(MAX_QUERY_LIMIT);
        let page = dispatch!(&self.db, b => b.query_log(filter, to_i64(limit), reads).await)?;
        let full = limit > 0 && page.records.len() == limit;
        let (next, searched_to) = match page.stopped_at {
            _ if full => (page.last, None),
            Some(at) => (Some(LogPosition::before_millisecond(at)), Some(at)),
            None => (None, None),
        };
        Ok(SearchPage {
            records: page.records,
            next,
            searched_to,
        })
    }

    /// Refreshes the planner statistics of the sign-in log (PostgreSQL: `ANALYZE`, as
    /// autovacuum does by itself after enough writes; SQLite: nothing, its search counts
    /// instead). For benchmarks and after bulk loads.
    pub async fn refresh_statistics(&self) -> Result<(), StoreError> {
        dispatch!(&self.db, b => b.refresh_statistics().await)
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
        let write_err = |source| StoreError::Export { source };
        while remaining > 0 {
            let page = remaining.min(EXPORT_PAGE);
            buf.clear();
            let (read, last) = dispatch!(
                &self.db,
                b => b.export_page(filter, cursor, to_i64(page), &mut buf).await
            )?;
            cursor = last;
            out.write_all(&buf).await.map_err(write_err)?;
            count += read as u64;
            remaining -= read;
            if read < page {
                break;
            }
        }
        out.flush().await.map_err(write_err)?;
        tracing::debug!(count, "sign-in log exported");
        Ok(count)
    }

    /// Deletes the records created before `before_ms`, in chunks of 10 000 per transaction
    /// (each a short one: no long lock); returns how many (retention).
    pub async fn delete_before(&self, before_ms: i64) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let deleted =
                dispatch!(&self.db, b => b.delete_log_chunk(before_ms, DELETE_CHUNK).await)?;
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

    /// Batches the writer could not commit so far (monotonic). With
    /// [`SignInLog::append_nowait`] nobody waits for a batch: this count (and
    /// [`SignInLog::last_batch_error`]) is how the caller learns that records were lost.
    pub fn failed_batches(&self) -> u64 {
        self.shared.failed_batches.load(Ordering::SeqCst)
    }

    /// Why the last batch that could not be committed failed (`None` if none ever did).
    pub fn last_batch_error(&self) -> Option<String> {
        self.shared.last_error.lock().ok().and_then(|e| e.clone())
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

pub(crate) fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The result that the result index (`sign_ins_decision`) leaves out: most of the log, and
/// the costliest part of the index to write (schema version 7 on SQLite, 6 on PostgreSQL).
pub(crate) const UNINDEXED_DECISION: &str = "allow";

/// The result index's condition, as its migration writes it, after ` AND `: SQLite uses a
/// partial index only for a statement that holds the very term (and PostgreSQL's generic
/// plans only when the term is a constant), so every statement filtering on another result
/// appends it.
pub(crate) const DECISION_INDEXED: &str = " AND decision <> 'allow'";

/// Appends ` AND column = value` for every member of `filter` but the limit (the statement
/// must already have a `WHERE`). `keyed`: the user and application ids are indexed by their
/// keys (SQLite, `sqlite/keys.rs`): each id's key is compared first, which the indexes
/// answer, then the id itself, which only the rows that pass are read for (a key may be
/// shared).
pub(crate) fn push_filter<'a, DB>(
    qb: &mut QueryBuilder<'a, DB>,
    filter: &'a SignInFilter,
    keyed: bool,
) where
    DB: sqlx::Database,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    if let Some(user) = &filter.user {
        if keyed {
            qb.push(" AND user_key = ")
                .push_bind(crate::sqlite::keys::id_key(user));
        }
        qb.push(" AND user_id = ").push_bind(user.as_str());
    }
    if let Some(app) = &filter.app {
        if keyed {
            qb.push(" AND app_key = ")
                .push_bind(crate::sqlite::keys::id_key(app));
        }
        qb.push(" AND app_id = ").push_bind(app.as_str());
    }
    if let Some(decision) = &filter.decision {
        qb.push(" AND decision = ").push_bind(decision.as_str());
        if decision != UNINDEXED_DECISION {
            // Implied by the equality; named so that the result index may be used.
            qb.push(DECISION_INDEXED);
        }
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

/// Appends the keyset condition of [`SignInFilter::before`]: a range on `created_ms` that
/// every search index can seek (its second column), then the tie on `seq`.
pub(crate) fn push_before<'a, DB>(qb: &mut QueryBuilder<'a, DB>, filter: &SignInFilter)
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    if let Some(p) = filter.before {
        qb.push(" AND created_ms <= ")
            .push_bind(p.created_ms)
            .push(" AND (created_ms < ")
            .push_bind(p.created_ms)
            .push(" OR seq < ")
            .push_bind(p.seq)
            .push(")");
    }
}

/// The end of a search statement: the positions of the page, newest first, then the
/// records of those positions (each read by its `seq`), in the same order. The caller
/// wrote `SELECT seq, created_ms FROM <source> WHERE ...` and the filters.
pub(crate) fn finish_search<'a, DB>(qb: &mut QueryBuilder<'a, DB>, limit: i64)
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    qb.push(" ORDER BY created_ms DESC, seq DESC LIMIT ")
        .push_bind(limit)
        .push(
            ") AS k JOIN sign_ins AS s ON s.seq = k.seq \
             ORDER BY k.created_ms DESC, k.seq DESC",
        );
}

/// The columns a search selects: `SELECT s.created_ms, s.seq, <stored columns> FROM (SELECT
/// seq, created_ms FROM ` — the caller goes on with the source of the positions (the table,
/// see `crate::search`); [`crate::backend::search_rows`] reads them.
pub(crate) const SEARCH_HEAD: &str = "SELECT s.created_ms, s.seq, s.correlation_id, s.record, s.applied_at, s.applied FROM (SELECT seq, created_ms FROM ";
