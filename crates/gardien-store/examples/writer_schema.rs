//! The log writer's SQLite work per record under variants of the sign-in log's schema: the
//! writer's statements (`BEGIN IMMEDIATE`, multi-row `INSERT OR IGNORE` of 64, 32, …, 1
//! rows, `COMMIT`) on a connection with the writer's settings, records like the handler
//! bench's (≈ 1.7 KB text), without the store around it. For callgrind:
//!
//! `valgrind --tool=callgrind --toggle-collect='writer_schema::measured'
//!   target/release/examples/writer_schema VARIANT RECORDS BATCH`
//!
//! counts the records after the first 600 (instructions / (RECORDS − 600)). Variants:
//! `base` (the current schema), `hash` (user and application indexes keyed by 64-bit
//! integers), `notime`, `narrow`, `small` (200-byte texts), `nocorr`.
//! `LOG_USERS`, `LOG_APPS` (default 1): distinct users and applications, in turn.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "example"
)]

use rusqlite::Connection;

const BASE: &str = "CREATE TABLE sign_ins (
    seq            INTEGER PRIMARY KEY,
    correlation_id TEXT    NOT NULL UNIQUE,
    created_ms     INTEGER NOT NULL,
    user_id        TEXT    NOT NULL,
    app_id         TEXT    NOT NULL,
    decision       TEXT    NOT NULL,
    error_code     INTEGER,
    record         TEXT    NOT NULL,
    applied_at INTEGER, applied BLOB, user_key INTEGER, app_key INTEGER
);
CREATE INDEX sign_ins_created ON sign_ins (created_ms);
";

fn schema(variant: &str) -> String {
    let idx = match () {
        () if variant.contains("hash") => {
            "CREATE INDEX sign_ins_user ON sign_ins (user_key, created_ms, seq, app_key, decision, error_code);
CREATE INDEX sign_ins_app ON sign_ins (app_key, created_ms, seq, user_key, decision, error_code);
CREATE INDEX sign_ins_decision ON sign_ins (decision, created_ms, seq, user_key, app_key, error_code) WHERE decision <> 'allow';
CREATE INDEX sign_ins_error_code ON sign_ins (error_code, created_ms, seq, user_key, app_key, decision) WHERE error_code IS NOT NULL;"
        }
        () if variant.contains("narrow") => {
            "CREATE INDEX sign_ins_user ON sign_ins (user_id, created_ms);
CREATE INDEX sign_ins_app ON sign_ins (app_id, created_ms);"
        }
        _ => {
            "CREATE INDEX sign_ins_user ON sign_ins (user_id, created_ms, seq, app_id, decision, error_code);
CREATE INDEX sign_ins_app ON sign_ins (app_id, created_ms, seq, user_id, decision, error_code);
CREATE INDEX sign_ins_decision ON sign_ins (decision, created_ms, seq, user_id, app_id, error_code) WHERE decision <> 'allow';
CREATE INDEX sign_ins_error_code ON sign_ins (error_code, created_ms, seq, user_id, app_id, decision) WHERE error_code IS NOT NULL;"
        }
    };
    let mut s = format!("{BASE}{idx}");
    if variant.contains("notime") {
        s = s.replace(
            "CREATE INDEX sign_ins_created ON sign_ins (created_ms);",
            "",
        );
    }
    if variant.contains("nocorr") {
        s = s.replace("NOT NULL UNIQUE", "NOT NULL");
    }
    s
}

struct Rec {
    id: String,
    created_ms: i64,
    user: String,
    app: String,
    user_key: i64,
    app_key: i64,
    text: String,
    applied: Vec<u8>,
}

fn guid(n: u64) -> String {
    format!(
        "{:08x}-0000-4000-8000-{:012x}",
        n.wrapping_mul(0x9e37_79b9) >> 8,
        n
    )
}

fn make(i: u64, users: u64, apps: u64, len: usize) -> Rec {
    let id = format!("5f3a9c21-7be4-4d10-8000-{i:012x}");
    let mut text = format!("{{\"id\":\"{id}\",\"createdDateTime\":\"2026-12-07T20:00:00.000Z\",");
    while text.len() < len - 1 {
        text.push_str("\"k\":\"abcdefghijklmnopqrstuvwxyz0123456789\",");
    }
    text.truncate(len - 1);
    text.push('}');
    let u = i % users;
    let a = i % apps;
    Rec {
        id,
        created_ms: 1_796_000_000_000 + i64::try_from(i / 4).unwrap(),
        user: guid(u + 1000),
        app: guid(a + 7000),
        user_key: i64::try_from(u)
            .unwrap()
            .wrapping_mul(0x1234_5678_9abc_def1),
        app_key: i64::try_from(a)
            .unwrap()
            .wrapping_mul(0x0fed_cba9_8765_4321),
        text,
        applied: vec![7u8; 48],
    }
}

fn insert_sql(variant: &str, rows: usize) -> String {
    let hash = variant.contains("hash");
    let mut sql = String::from(
        "INSERT OR IGNORE INTO sign_ins (correlation_id, created_ms, user_id, app_id, decision, \
         error_code, record, applied_at, applied",
    );
    sql.push_str(if hash {
        ", user_key, app_key) VALUES "
    } else {
        ") VALUES "
    });
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(if hash {
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        } else {
            "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
        });
    }
    sql
}

fn write(conn: &Connection, variant: &str, recs: &[Rec], batch: usize) {
    let cols = if variant.contains("hash") { 11 } else { 9 };
    for b in recs.chunks(batch) {
        conn.prepare_cached("BEGIN IMMEDIATE")
            .unwrap()
            .execute([])
            .unwrap();
        let mut start = 0;
        while start < b.len() {
            let left = b.len() - start;
            let n = if left >= 64 { 64 } else { 1 << left.ilog2() };
            let chunk = &b[start..start + n];
            let mut st = conn.prepare_cached(&insert_sql(variant, n)).unwrap();
            for (i, r) in chunk.iter().enumerate() {
                let at = i * cols;
                st.raw_bind_parameter(at + 1, &r.id).unwrap();
                st.raw_bind_parameter(at + 2, r.created_ms).unwrap();
                st.raw_bind_parameter(at + 3, &r.user).unwrap();
                st.raw_bind_parameter(at + 4, &r.app).unwrap();
                st.raw_bind_parameter(at + 5, "allow").unwrap();
                st.raw_bind_parameter(at + 6, rusqlite::types::Null)
                    .unwrap();
                st.raw_bind_parameter(at + 7, &r.text).unwrap();
                st.raw_bind_parameter(at + 8, 300_i64).unwrap();
                st.raw_bind_parameter(at + 9, &r.applied).unwrap();
                if cols == 11 {
                    st.raw_bind_parameter(at + 10, r.user_key).unwrap();
                    st.raw_bind_parameter(at + 11, r.app_key).unwrap();
                }
            }
            assert_eq!(st.raw_execute().unwrap(), n);
            start += n;
        }
        conn.prepare_cached("COMMIT").unwrap().execute([]).unwrap();
    }
}

#[inline(never)]
fn measured(conn: &Connection, variant: &str, recs: &[Rec], batch: usize) {
    write(conn, variant, recs, batch);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let variant = args.next().unwrap_or_else(|| "base".to_owned());
    let records: u64 = args.next().map_or(1800, |a| a.parse().unwrap());
    let batch: usize = args.next().map_or(33, |a| a.parse().unwrap());
    let env = |k: &str, d: u64| std::env::var(k).map_or(d, |v| v.parse().unwrap());
    let (users, apps) = (env("LOG_USERS", 1), env("LOG_APPS", 1));
    let len = if variant.contains("small") {
        200
    } else {
        usize::try_from(env("LOG_TEXT", 1700)).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let conn = Connection::open(&path).unwrap();
    if variant.contains("look") {
        // SAFETY: the live handle of `conn`; no lookaside memory is outstanding yet; the
        // buffer is SQLite's own (NULL).
        #[allow(unsafe_code, reason = "measurement")]
        let rc = unsafe {
            rusqlite::ffi::sqlite3_db_config(
                conn.handle(),
                rusqlite::ffi::SQLITE_DBCONFIG_LOOKASIDE,
                std::ptr::null_mut::<std::ffi::c_void>(),
                2048_i32,
                256_i32,
            )
        };
        assert_eq!(rc, 0);
    }
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; \
         PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 0;",
    )
    .unwrap();
    conn.execute_batch(&schema(&variant)).unwrap();
    conn.set_prepared_statement_cache_capacity(24);
    let recs: Vec<Rec> = (0..records).map(|i| make(i, users, apps, len)).collect();
    let (first, rest) = recs.split_at(600.min(recs.len()));
    write(&conn, &variant, first, batch);
    measured(&conn, &variant, rest, batch);
    let frames: i64 = conn
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
        .unwrap();
    println!(
        "{variant}: {records} records, WAL frames {frames}, {:.2} per record",
        frames as f64 / records as f64
    );
}
