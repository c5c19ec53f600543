//! The 64-bit keys of the user and application ids in SQLite's search indexes (schema
//! versions 8 and 9), and filling them in for the rows written before.
//!
//! An index entry holding two 36-byte GUID texts was about 100 bytes; with the keys, about
//! 45. The keys are a hash of the id: two ids may share one, so every search compares the
//! keys inside the index (cheap, no record read) and then the ids themselves in the rows
//! that pass (`log::push_filter`): a shared key costs a search the other id's entries, never
//! a wrong answer.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

/// The key of a user or application id in the search indexes.
///
/// **Stored in every row: never change this function** (a changed key would make the rows
/// written before unfindable by their id). 8 bytes at a time (little-endian, the last word
/// zero-padded, the length mixed in first), each word mixed in by an xor and a multiply,
/// then MurmurHash3's 64-bit finalizer: a few dozen instructions for a GUID.
pub(crate) fn id_key(id: &str) -> i64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes = id.as_bytes();
    let mut h = K ^ (bytes.len() as u64);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let w = <[u8; 8]>::try_from(word).map_or(0, u64::from_le_bytes);
        h = (h.rotate_left(23) ^ w).wrapping_mul(K);
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last.iter_mut().zip(rest).for_each(|(d, s)| *d = *s);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(last)).wrapping_mul(K);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    i64::from_ne_bytes(h.to_ne_bytes())
}

/// Rows whose keys are filled per transaction.
const FILL_CHUNK: usize = 10_000;

/// Rows between two progress lines of [`fill`] (a log of millions of records takes minutes:
/// the operator sees it advance, not a silent start).
const FILL_PROGRESS_EVERY: u64 = 200_000;

/// Whether the keyed search indexes (schema version 9) exist.
fn keyed(conn: &Connection) -> Result<bool, rusqlite::Error> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'sign_ins_user' \
         AND sql LIKE '%user_key%'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// Between schema versions 8 and 9: fills `user_key` and `app_key` of every row that has
/// none (the rows written before version 8), in transactions of [`FILL_CHUNK`] rows, in
/// `seq` order. Does nothing once the keyed indexes exist. Returns the rows filled.
/// Idempotent: a start interrupted here goes on where it stopped.
pub(super) fn fill(path: &Path, busy_timeout: std::time::Duration) -> Result<u64, rusqlite::Error> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    if keyed(&conn)? {
        return Ok(0);
    }
    let mut filled = 0_u64;
    let mut after = i64::MIN;
    loop {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let rows: Vec<(i64, String, String)> = conn
            .prepare_cached(
                "SELECT seq, user_id, app_id FROM sign_ins \
                 WHERE seq > ?1 AND (user_key IS NULL OR app_key IS NULL) ORDER BY seq LIMIT ?2",
            )?
            .query_map(
                rusqlite::params![after, i64::try_from(FILL_CHUNK).unwrap_or(i64::MAX)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?
            .collect::<Result<_, _>>()?;
        let mut update =
            conn.prepare_cached("UPDATE sign_ins SET user_key = ?1, app_key = ?2 WHERE seq = ?3")?;
        for (seq, user, app) in &rows {
            update.execute(rusqlite::params![id_key(user), id_key(app), seq])?;
        }
        drop(update);
        conn.execute_batch("COMMIT")?;
        if filled == 0 && !rows.is_empty() {
            tracing::info!(
                path = %path.display(),
                "sign-in log: filling in the search keys of the records written before this \
                 version (once, after the upgrade; the store opens when it is done)"
            );
        }
        filled += rows.len() as u64;
        if filled.is_multiple_of(FILL_PROGRESS_EVERY) && rows.len() == FILL_CHUNK {
            tracing::info!(rows = filled, "sign-in log: search keys filled so far");
        }
        match rows.last() {
            Some((seq, _, _)) if rows.len() == FILL_CHUNK => after = *seq,
            _ => break,
        }
    }
    if let Err((_, e)) = conn.close() {
        return Err(e);
    }
    Ok(filled)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use super::*;

    /// The keys are stored: these values must never change.
    #[test]
    fn keys_are_as_first_stored() {
        let keys: Vec<i64> = [
            "",
            "u1",
            "c0ffee00-0000-4000-8000-000000000100",
            "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        ]
        .into_iter()
        .map(id_key)
        .collect();
        let expected = [
            0x9ca0_66f1_a4ab_2eea_u64,
            0xcb02_3ed2_afd5_5e1d,
            0x3698_9482_b40a_e789,
            0xd076_efac_360b_ff4e,
        ]
        .map(|k| i64::from_ne_bytes(k.to_ne_bytes()));
        assert_eq!(keys, expected, "{keys:#x?}");
    }

    /// What a `tracing` subscriber writes, kept for the test to read.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The rows written before the keys get theirs, and the operator is told that the
    /// start fills them (once: a second start finds nothing to fill and says nothing).
    #[test]
    fn rows_without_keys_are_filled_and_the_start_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE sign_ins (seq INTEGER PRIMARY KEY, user_id TEXT NOT NULL, \
             app_id TEXT NOT NULL, user_key INTEGER, app_key INTEGER); \
             INSERT INTO sign_ins (user_id, app_id) VALUES ('u1', 'a1'), ('u2', 'a1'), ('u1', 'a2');",
        )
        .unwrap();
        drop(conn);
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let (first, second) = tracing::subscriber::with_default(subscriber, || {
            let first = fill(&path, std::time::Duration::from_secs(1)).unwrap();
            (
                first,
                fill(&path, std::time::Duration::from_secs(1)).unwrap(),
            )
        });
        assert_eq!((first, second), (3, 0));
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            log.matches("filling in the search keys").count(),
            1,
            "{log}"
        );
        let conn = Connection::open(&path).unwrap();
        let mut rows = conn
            .prepare("SELECT user_id, app_id, user_key, app_key FROM sign_ins ORDER BY seq")
            .unwrap();
        let rows: Vec<(String, String, i64, i64)> = rows
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for (user, app, user_key, app_key) in rows {
            assert_eq!((user_key, app_key), (id_key(&user), id_key(&app)));
        }
    }

    #[test]
    fn ids_differing_anywhere_get_different_keys() {
        let id = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";
        let mut seen = std::collections::HashSet::new();
        assert!(seen.insert(id_key(id)));
        for i in 0..id.len() {
            let mut other = id.as_bytes().to_vec();
            other[i] ^= 1;
            assert!(
                seen.insert(id_key(std::str::from_utf8(&other).unwrap())),
                "{i}"
            );
        }
        // The length counts: a zero-padded tail differs from one with NULs.
        assert_ne!(id_key("ab"), id_key("ab\0"));
    }
}
