//! The SQLite side of the sign-in log writer: a synchronous connection (`rusqlite`, on the
//! same `libsqlite3-sys` as sqlx) used on the writer's own thread, so a batch costs no
//! hand-off to a connection worker thread and back per statement (sqlx runs each SQLite
//! statement on a worker thread of its connection: measured, those hops and their wake-ups
//! were about a third of the writer's CPU per record). `BEGIN IMMEDIATE`, multi-row
//! `INSERT OR IGNORE` statements of up to [`CHUNK_ROWS`] records (see `insert_chunk`),
//! `COMMIT`, then a wake-up of the background checkpointer. `OR IGNORE` makes a duplicate
//! correlation id skip its row instead of aborting the statement (and spares SQLite a
//! statement journal). Each row carries its user's and application's search keys
//! (`keys.rs`), computed here.

use std::path::Path;
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags, params};

use super::checkpoint::Checkpointer;
use crate::Durability;
use crate::compact::Written;
use crate::writer::{LogSink, Row};

/// The head of the records' INSERT; [`insert_sql`] appends one `(?, …)` per row.
const INSERT_HEAD: &str = "INSERT OR IGNORE INTO sign_ins \
     (correlation_id, created_ms, user_id, app_id, decision, error_code, record, applied_at, \
     applied, user_key, app_key) VALUES ";

/// Values bound per row of the records' INSERT.
const COLUMNS: usize = 11;

/// Most rows per INSERT statement: a batch is written in statements of 64, 32, …, 2, 1 rows
/// (its size's binary digits), so seven prepared statements serve every batch size and a
/// statement's fixed cost (`sqlite3_step`'s set-up, the reset, opening the table's and the
/// indexes' cursors) is paid once per chunk instead of once per record. 64 × 11 values are
/// far below SQLite's limit on bound parameters (32,766).
const CHUNK_ROWS: usize = 64;

/// The records' INSERT of `rows` rows.
fn insert_sql(rows: usize) -> String {
    let mut sql = String::from(INSERT_HEAD);
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    }
    sql
}

/// The correlation ids of the `?1` newest rows: after a chunk's INSERT, the rows it stored.
/// SQLite gives a new row of a table without `AUTOINCREMENT` a `seq` one larger than the
/// largest stored before (it picks at random only once a `seq` reaches 2^63 − 1, which the
/// log never does), the INSERT stores its rows in order, and nothing else writes in the
/// writer's transaction: so the chunk's stored rows are exactly the newest ones.
const NEWEST: &str = "SELECT correlation_id FROM sign_ins ORDER BY seq DESC LIMIT ?1";

const INSERT_FRAGMENT: &str = "INSERT OR IGNORE INTO sign_in_fragments (id, text) VALUES (?1, ?2)";

/// Growth step of the database file on the writer's and the checkpointer's connections
/// (`SQLITE_FCNTL_CHUNK_SIZE`), in bytes: 1 MiB. The sign-in log only grows, so without it
/// nearly every checkpoint that backfills the whole WAL (the writer's restart) extends the
/// file with `ftruncate` and its sync must then commit the file system's journal (block
/// allocation, size): measured 16–39 ms of the writer's time per restart on the shared VM,
/// every request of the next batch waiting. With chunks, the file is extended (by writing
/// a byte in each new block, so the blocks are allocated and written, not reserved) once
/// per chunk, mostly by the background checkpointer, and a restart's sync writes only the
/// copied pages. A checkpoint's truncation rounds up to a whole chunk too, so the file is
/// at most one chunk longer than its pages (SQLite reads its size from its header).
///
/// Small on purpose: a chunk is allocated whole, so a disk with less free space than a
/// chunk refuses the growth ("database or disk is full") although the pages would fit, and
/// the log then fails closed (every decision denied). 64 MiB was measured first; it made
/// `attacks::readiness_follows_the_sign_in_log` (an 8 MiB disk) fail to recover once space
/// came back. The restart's measured gain came mostly from the background sync.
const CHUNK_BYTES: std::ffi::c_int = 1024 * 1024;

/// Sets the growth step of `conn`'s main database file to [`CHUNK_BYTES`].
fn grow_in_chunks(conn: &Connection) -> Result<(), rusqlite::Error> {
    let mut chunk = CHUNK_BYTES;
    // SAFETY: `conn.handle()` is the live `sqlite3*` of `conn`, borrowed for this call
    // (`Connection` is not `Sync`: no other thread uses it meanwhile); the database name is
    // a NUL-terminated literal; `SQLITE_FCNTL_CHUNK_SIZE` reads one `int` through the
    // pointer, which points to `chunk`, alive until the call returns, and keeps no copy of
    // the pointer. rusqlite has no safe `sqlite3_file_control`; sqlx's would be the same
    // call through its raw handle.
    #[allow(
        unsafe_code,
        reason = "sqlite3_file_control has no safe wrapper; see SAFETY"
    )]
    let rc = unsafe {
        rusqlite::ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            rusqlite::ffi::SQLITE_FCNTL_CHUNK_SIZE,
            std::ptr::from_mut(&mut chunk).cast(),
        )
    };
    if rc == rusqlite::ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rc),
            Some("setting the database file's chunk size".to_owned()),
        ))
    }
}

/// Size of each slot of the writer connection's lookaside memory (SQLite's per-connection
/// allocator, a free list of fixed slots): large enough for a record's text as bound
/// (`SQLITE_TRANSIENT`: SQLite copies it) and for the row SQLite builds from the values
/// (≈ 1.7–1.9 KB for the handler bench's records), which SQLite's default slots (1,200
/// bytes) send to `malloc`. Measured (BENCHMARKS.md, "The log writer: search indexes keyed
/// by 64-bit integers"): glibc's `malloc` and `free` were ≈ 1.9 k of the writer's ≈ 24 k
/// instructions per record. Larger allocations still go to `malloc`.
const LOOKASIDE_SLOT: std::ffi::c_int = 2048;

/// Slots of the writer connection's lookaside memory: 512 KiB in all, about two 64-row
/// statements' texts and rows; past them, allocations go to `malloc` as before.
const LOOKASIDE_SLOTS: std::ffi::c_int = 256;

/// Gives `conn` a lookaside allocator of [`LOOKASIDE_SLOTS`] slots of [`LOOKASIDE_SLOT`]
/// bytes, allocated by SQLite. Must run before the connection allocates any (right after it
/// is opened); a failure leaves SQLite's default and is only logged. Returns whether SQLite
/// took it.
fn use_large_lookaside(conn: &Connection) -> bool {
    // SAFETY: `conn.handle()` is the live `sqlite3*` of `conn`, borrowed for this call (no
    // other thread uses it: `Connection` is not `Sync`). `SQLITE_DBCONFIG_LOOKASIDE` takes
    // three variadic arguments, a `void*` buffer (NULL: SQLite allocates the memory itself
    // and frees it with the connection), the slot size and the slot count (`int`s), passed
    // with those C types. SQLite keeps no pointer of ours. It refuses (SQLITE_BUSY) while
    // lookaside memory is in use, which leaves the previous allocator in place.
    #[allow(
        unsafe_code,
        reason = "sqlite3_db_config has no safe wrapper for this option; see SAFETY"
    )]
    let rc = unsafe {
        rusqlite::ffi::sqlite3_db_config(
            conn.handle(),
            rusqlite::ffi::SQLITE_DBCONFIG_LOOKASIDE,
            std::ptr::null_mut::<std::ffi::c_void>(),
            LOOKASIDE_SLOT,
            LOOKASIDE_SLOTS,
        )
    };
    if rc != rusqlite::ffi::SQLITE_OK {
        tracing::debug!(rc, "sign-in log writer: lookaside memory not configured");
    }
    rc == rusqlite::ffi::SQLITE_OK
}

/// Opens a synchronous connection to the (already migrated, WAL-mode) database at `path`
/// with the store's settings: `synchronous` per `durability`, the busy timeout, a page
/// cache of `cache_kib`, no automatic checkpoint (see `checkpoint.rs`), the file grown in
/// chunks of [`CHUNK_BYTES`]; `large_lookaside`: see [`use_large_lookaside`] (the writer's).
pub(super) fn open(
    path: &Path,
    durability: Durability,
    cache_kib: i64,
    large_lookaside: bool,
) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    if large_lookaside {
        use_large_lookaside(&conn);
    }
    conn.busy_timeout(super::BUSY_TIMEOUT)?;
    let synchronous = match durability {
        Durability::Process => "NORMAL",
        Durability::Power => "FULL",
    };
    let limit = super::WAL_SIZE_LIMIT;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; \
         PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; \
         PRAGMA cache_size = -{cache_kib}; PRAGMA wal_autocheckpoint = 0; \
         PRAGMA journal_size_limit = {limit};"
    ))?;
    grow_in_chunks(&conn)?;
    Ok(conn)
}

/// The writer's connection and the checkpointer it wakes.
pub(super) struct SqliteSink {
    conn: Connection,
    checkpointer: Checkpointer,
    path: Arc<Path>,
    /// Fragments of compact records already stored.
    written: Written,
    /// `inserts[k]`: the records' INSERT of `2^k` rows, for `2^k` ≤ [`CHUNK_ROWS`].
    inserts: Vec<String>,
}

impl SqliteSink {
    pub(super) fn new(conn: Connection, checkpointer: Checkpointer, path: Arc<Path>) -> SqliteSink {
        // BEGIN, COMMIT, two fragment statements, NEWEST and the seven INSERTs.
        conn.set_prepared_statement_cache_capacity(24);
        let inserts = std::iter::successors(Some(1_usize), |n| Some(n * 2))
            .take_while(|n| *n <= CHUNK_ROWS)
            .map(insert_sql)
            .collect();
        SqliteSink {
            conn,
            checkpointer,
            path,
            written: Written::default(),
            inserts,
        }
    }

    /// Inserts `chunk` (at most [`CHUNK_ROWS`] rows, a power of two) with one statement;
    /// pushes `offset + i` to `skipped` for each row skipped as a duplicate.
    fn insert_chunk(
        &self,
        chunk: &[Row],
        offset: usize,
        skipped: &mut Vec<usize>,
    ) -> Result<(), rusqlite::Error> {
        let k = chunk.len().trailing_zeros() as usize;
        let Some(sql) = self.inserts.get(k) else {
            return Err(rusqlite::Error::InvalidParameterCount(
                chunk.len() * COLUMNS,
                CHUNK_ROWS * COLUMNS,
            ));
        };
        let mut insert = self.conn.prepare_cached(sql)?;
        for (i, row) in chunk.iter().enumerate() {
            let at = i * COLUMNS;
            insert.raw_bind_parameter(at + 1, &row.id)?;
            insert.raw_bind_parameter(at + 2, row.created_ms)?;
            insert.raw_bind_parameter(at + 3, &row.user_id)?;
            insert.raw_bind_parameter(at + 4, &row.app_id)?;
            insert.raw_bind_parameter(at + 5, &row.decision)?;
            insert.raw_bind_parameter(at + 6, row.error_code)?;
            if self.written.whole(row) {
                // Bound as a copy (SQLITE_TRANSIENT): the spliced text may go.
                insert.raw_bind_parameter(at + 7, row.whole())?;
                insert.raw_bind_parameter(at + 8, rusqlite::types::Null)?;
                insert.raw_bind_parameter(at + 9, rusqlite::types::Null)?;
            } else {
                insert.raw_bind_parameter(at + 7, &row.json)?;
                insert.raw_bind_parameter(at + 8, row.applied_at())?;
                insert.raw_bind_parameter(at + 9, row.applied())?;
            }
            insert.raw_bind_parameter(at + 10, super::keys::id_key(&row.user_id))?;
            insert.raw_bind_parameter(at + 11, super::keys::id_key(&row.app_id))?;
        }
        let inserted = insert.raw_execute()?;
        if inserted < chunk.len() {
            // A duplicate correlation id (rare): which rows were stored, from the newest.
            let stored = self
                .conn
                .prepare_cached(NEWEST)?
                .query_map([i64::try_from(inserted).unwrap_or(i64::MAX)], |r| {
                    r.get::<_, String>(0)
                })?
                .collect::<Result<Vec<String>, _>>()?;
            crate::writer::unmatched(chunk, stored, offset, skipped);
        }
        Ok(())
    }

    /// Between batches: backfills the frames the background checkpointer has not copied yet,
    /// so that the next write transaction starts the WAL over (see `checkpoint.rs`). A
    /// failure only delays the restart.
    fn restart_wal(&mut self) {
        let started = std::time::Instant::now();
        match super::checkpoint::passive(&self.conn) {
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

    fn run(&self, sql: &str) -> Result<(), rusqlite::Error> {
        self.conn.prepare_cached(sql)?.execute([])?;
        Ok(())
    }

    fn store_fragments(&mut self, rows: &[Row]) -> Result<(), rusqlite::Error> {
        let unstored: Vec<(i64, Arc<str>)> = self
            .written
            .unstored(rows)
            .into_iter()
            .map(|f| (f.id, Arc::clone(&f.text)))
            .collect();
        for (id, text) in unstored {
            let inserted = self
                .conn
                .prepare_cached(INSERT_FRAGMENT)?
                .execute(params![id, &*text])?;
            if inserted == 0 {
                let stored: String = self
                    .conn
                    .prepare_cached("SELECT text FROM sign_in_fragments WHERE id = ?1")?
                    .query_row([id], |r| r.get(0))?;
                if stored != *text {
                    self.written.collided(id);
                }
            }
        }
        Ok(())
    }
}

impl LogSink for SqliteSink {
    const NEEDS_IO: bool = false;
    type Error = rusqlite::Error;

    async fn begin(&mut self) -> Result<(), rusqlite::Error> {
        if self.checkpointer.restart_due() {
            self.restart_wal();
        }
        self.run("BEGIN IMMEDIATE")
    }

    async fn insert(
        &mut self,
        rows: &[Row],
        offset: usize,
        skipped: &mut Vec<usize>,
    ) -> Result<(), rusqlite::Error> {
        self.store_fragments(rows)?;
        // In chunks of the batch size's binary digits, largest first: ascending offsets.
        let mut start = 0;
        while start < rows.len() {
            let left = rows.len() - start;
            let n = if left >= CHUNK_ROWS {
                CHUNK_ROWS
            } else {
                1 << left.ilog2()
            };
            let chunk = rows.get(start..start + n).unwrap_or_default();
            self.insert_chunk(chunk, offset + start, skipped)?;
            start += n;
        }
        Ok(())
    }

    async fn commit(&mut self) -> Result<(), rusqlite::Error> {
        self.run("COMMIT")
    }

    async fn abort(&mut self) {
        // Fails harmlessly when no transaction is open (BEGIN failed, or SQLite already
        // rolled back).
        self.written.aborted();
        if self.conn.is_autocommit() {
            return;
        }
        if let Err(e) = self.conn.execute_batch("ROLLBACK") {
            tracing::debug!(path = %self.path.display(), error = %e, "sign-in log rollback");
        }
    }

    fn committed(&mut self) {
        self.written.committed();
        self.checkpointer.wake();
    }

    async fn close(self) {
        self.checkpointer.stop();
        if let Err((_, e)) = self.conn.close() {
            tracing::warn!(path = %self.path.display(), error = %e, "closing the sign-in log writer connection");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn the_writer_connection_takes_the_large_lookaside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lookaside.db");
        let conn = Connection::open(&path).unwrap();
        assert!(use_large_lookaside(&conn));
        conn.execute_batch(
            "CREATE TABLE t (x TEXT); INSERT INTO t VALUES (printf('%.1800c', 'x'));",
        )
        .unwrap();
        // While a statement holds lookaside memory, SQLite refuses a change (and says so).
        let mut stmt = conn.prepare("SELECT x FROM t").unwrap();
        let mut rows = stmt.query([]).unwrap();
        assert!(rows.next().unwrap().is_some());
        assert!(!use_large_lookaside(&conn));
        drop(rows);
        drop(stmt);
        drop(conn);
        // The writer's connection opens with it.
        let conn = open(&path, Durability::Process, 1024, true).unwrap();
        let n: i64 = conn
            .query_row("SELECT length(x) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1800);
    }

    #[test]
    fn the_database_file_grows_in_whole_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chunks.db");
        Connection::open(&path).unwrap().close().unwrap();
        let conn = open(&path, Durability::Process, 1024, false).unwrap();
        conn.execute_batch("CREATE TABLE t (x BLOB); INSERT INTO t VALUES (zeroblob(100000));")
            .unwrap();
        // A checkpoint that backfills the whole WAL sizes the file: one chunk, not the
        // ~110 KB of its pages.
        let (busy, log, copied) = super::super::checkpoint::passive(&conn).unwrap();
        assert_eq!((busy, log), (0, copied));
        assert!(copied > 0);
        let len = std::fs::metadata(&path).unwrap().len();
        assert_eq!(len, u64::try_from(CHUNK_BYTES).unwrap());
        // The data reads back (the file is longer than its pages).
        let size: i64 = conn
            .query_row("SELECT length(x) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(size, 100_000);
    }
}
