//! End-to-end tests of the sign-in log on real SQLite files.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::collections::HashSet;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use common::{nth, sign_in};
use gardien_store::{SignInFilter, SignInRecord, Store, StoreError, StoreOptions};
use sqlx::{ConnectOptions as _, Connection as _};

async fn open(path: &Path) -> Store {
    Store::open(path, StoreOptions::default()).await.unwrap()
}

fn ids(records: &[serde_json::Value]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r["correlationId"].as_str().unwrap())
        .collect()
}

/// A small record (for tests that need many).
fn small(id: &str, created_ms: i64) -> SignInRecord {
    SignInRecord {
        id: id.to_owned(),
        created_ms,
        user_id: "u".to_owned(),
        app_id: "a".to_owned(),
        decision: "allow".to_owned(),
        error_code: None,
        record: serde_json::json!({"correlationId": id, "createdMs": created_ms}).to_string(),
    }
}

#[tokio::test]
async fn append_then_query_with_each_filter() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("q.db")).await;
    let log = store.log();
    let rows = [
        ("r1", 1000, "alice", "mail", "allow", None),
        ("r2", 2000, "alice", "crm", "deny", Some(53003)),
        ("r3", 3000, "bob", "mail", "challenge", None),
        ("r4", 3000, "bob", "crm", "deny", Some(53000)),
        ("r5", 5000, "carol", "mail", "deny", Some(53003)),
    ];
    for (id, t, user, app, decision, code) in rows {
        log.append(sign_in(id, t, user, app, decision, code))
            .await
            .unwrap();
    }
    assert_eq!(log.committed(), 5);

    let q = |filter: SignInFilter| {
        let log = log.clone();
        async move { log.query(&filter).await.unwrap() }
    };
    // Newest first; equal times in reverse insertion order.
    assert_eq!(
        ids(&q(SignInFilter::default()).await),
        ["r5", "r4", "r3", "r2", "r1"]
    );
    let all = q(SignInFilter::default()).await;
    assert_eq!(
        all[4],
        serde_json::from_str::<serde_json::Value>(
            &sign_in("r1", 1000, "alice", "mail", "allow", None).record
        )
        .unwrap()
    );

    let by = |f: fn(&mut SignInFilter)| {
        let mut filter = SignInFilter::default();
        f(&mut filter);
        filter
    };
    assert_eq!(
        ids(&q(by(|f| f.user = Some("alice".into()))).await),
        ["r2", "r1"]
    );
    assert_eq!(
        ids(&q(by(|f| f.app = Some("mail".into()))).await),
        ["r5", "r3", "r1"]
    );
    assert_eq!(
        ids(&q(by(|f| f.decision = Some("deny".into()))).await),
        ["r5", "r4", "r2"]
    );
    assert_eq!(
        ids(&q(by(|f| f.error_code = Some(53003))).await),
        ["r5", "r2"]
    );
    assert_eq!(
        ids(&q(by(|f| f.from_ms = Some(3000))).await),
        ["r5", "r4", "r3"]
    );
    assert_eq!(ids(&q(by(|f| f.to_ms = Some(3000))).await), ["r2", "r1"]);
    assert_eq!(
        ids(&q(by(|f| {
            f.from_ms = Some(2000);
            f.to_ms = Some(5000);
        }))
        .await),
        ["r4", "r3", "r2"]
    );
    assert_eq!(
        ids(&q(by(|f| f.correlation_id = Some("r3".into()))).await),
        ["r3"]
    );
    assert!(
        q(by(|f| f.correlation_id = Some("nope".into())))
            .await
            .is_empty()
    );
    assert_eq!(ids(&q(by(|f| f.limit = Some(2))).await), ["r5", "r4"]);
    assert!(q(by(|f| f.limit = Some(0))).await.is_empty());
    assert_eq!(
        ids(&q(by(|f| {
            f.user = Some("bob".into());
            f.decision = Some("deny".into());
            f.app = Some("crm".into());
        }))
        .await),
        ["r4"]
    );
    store.close().await.unwrap();
}

#[tokio::test]
async fn query_limit_defaults_to_100_and_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("limit.db")).await;
    let log = store.log();
    for i in 0..10_050 {
        log.append_nowait(small(&format!("s{i}"), i)).unwrap();
    }
    log.flush().await.unwrap();
    assert_eq!(log.committed(), 10_050);
    let default = log.query(&SignInFilter::default()).await.unwrap();
    assert_eq!(default.len(), 100);
    assert_eq!(default[0]["correlationId"], "s10049");
    let capped = log
        .query(&SignInFilter {
            limit: Some(50_000),
            ..SignInFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(capped.len(), 10_000);
    store.close().await.unwrap();
}

#[tokio::test]
async fn export_jsonl_round_trip_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("export.db")).await;
    let log = store.log();
    // 2500 records, 3 per millisecond so that page boundaries fall inside equal timestamps.
    for n in 0..2500_u64 {
        log.append_nowait(nth(n, 1_700_000_000_000 + (n / 3) as i64))
            .unwrap();
    }
    log.flush().await.unwrap();

    let mut out: Vec<u8> = Vec::new();
    let count = log
        .export_jsonl(&SignInFilter::default(), &mut out)
        .await
        .unwrap();
    assert_eq!(count, 2500);
    let text = String::from_utf8(out).unwrap();
    assert!(text.ends_with('\n'));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2500);
    for (n, line) in lines.iter().enumerate() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        // Oldest first, insertion order within a millisecond: exactly the append order.
        assert_eq!(
            value,
            serde_json::from_str::<serde_json::Value>(
                &nth(n as u64, 1_700_000_000_000 + (n / 3) as i64).record
            )
            .unwrap()
        );
    }

    // With a filter and a limit.
    let filter = SignInFilter {
        decision: Some("deny".into()),
        limit: Some(700),
        ..SignInFilter::default()
    };
    let mut out = Vec::new();
    assert_eq!(log.export_jsonl(&filter, &mut out).await.unwrap(), 700);
    let text = String::from_utf8(out).unwrap();
    let values: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(values.len(), 700);
    assert!(values.iter().all(|v| v["status"]["errorCode"] == 53003));
    let filter = SignInFilter {
        decision: Some("deny".into()),
        ..SignInFilter::default()
    };
    let mut out = Vec::new();
    assert_eq!(log.export_jsonl(&filter, &mut out).await.unwrap(), 833);

    // Nothing matches: nothing written.
    let filter = SignInFilter {
        user: Some("nobody".into()),
        ..SignInFilter::default()
    };
    let mut out = Vec::new();
    assert_eq!(log.export_jsonl(&filter, &mut out).await.unwrap(), 0);
    assert!(out.is_empty());
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_batches_concurrent_appends() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("group.db")).await;
    let mut tasks = Vec::new();
    for n in 0..2000_u64 {
        let log = store.log().clone();
        tasks.push(tokio::spawn(
            async move { log.append(nth(n, n as i64)).await },
        ));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let log = store.log();
    assert_eq!(log.committed(), 2000);
    assert!(log.batches() < 2000, "{} batches", log.batches());
    assert_eq!(log.failed(), 0);
    let all = log
        .query(&SignInFilter {
            limit: Some(10_000),
            ..SignInFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 2000);
    let unique: HashSet<&str> = ids(&all).into_iter().collect();
    assert_eq!(unique.len(), 2000);
    store.close().await.unwrap();
}

#[tokio::test]
async fn max_batch_bounds_the_transaction_size() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        &dir.path().join("max.db"),
        StoreOptions {
            max_batch: 10,
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap();
    let log = store.log();
    for i in 0..95 {
        log.append_nowait(small(&format!("m{i}"), i)).unwrap();
    }
    log.flush().await.unwrap();
    assert_eq!(log.committed(), 95);
    // 95 records (+ the flush marker) in batches of at most 10 messages.
    assert!(log.batches() >= 10, "{} batches", log.batches());
    store.close().await.unwrap();
}

/// A connection of our own on `path`.
async fn connect(path: &Path) -> sqlx::SqliteConnection {
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .connect()
        .await
        .unwrap()
}

/// Holds the database's write lock until dropped or committed: the log writer then waits
/// (busy timeout) inside its first INSERT, and messages pile up in the queue.
async fn hold_write_lock(conn: &mut sqlx::SqliteConnection) -> sqlx::Transaction<'_, sqlx::Sqlite> {
    conn.begin_with("BEGIN IMMEDIATE").await.unwrap()
}

#[tokio::test]
async fn duplicate_correlation_id_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dup.db");
    let store = open(&path).await;
    let log = store.log();
    log.append(small("x", 1)).await.unwrap();

    // Separate appends: the duplicate is rejected, its neighbours are stored.
    let (a, x, b) = tokio::join!(
        log.append(small("a", 2)),
        log.append(small("x", 3)),
        log.append(small("b", 4)),
    );
    a.unwrap();
    b.unwrap();
    let err = x.err().unwrap();
    assert!(
        matches!(&err, StoreError::DuplicateSignIn { id, .. } if id == "x"),
        "{err}"
    );
    assert!(err.to_string().contains("dup.db"), "{err}");
    assert_eq!(log.committed(), 3);
    assert_eq!(log.failed(), 1);

    // Duplicates inside one multi-row INSERT: with the writer held, they are queued together
    // and written in the same chunk.
    let mut other = connect(&path).await;
    let lock = hold_write_lock(&mut other).await;
    let log2 = log.clone();
    let waiters = tokio::spawn(async move {
        tokio::join!(
            log2.append(small("c", 5)),
            log2.append(small("y", 6)),
            log2.append(small("y", 7)),
            log2.append(small("a", 8)),
            log2.append(small("d", 9)),
        )
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    lock.commit().await.unwrap();
    let (c, y1, y2, a2, d) = waiters.await.unwrap();
    c.unwrap();
    y1.unwrap();
    d.unwrap();
    for (result, id) in [(y2, "y"), (a2, "a")] {
        let err = result.err().unwrap();
        assert!(
            matches!(&err, StoreError::DuplicateSignIn { id: i, .. } if i == id),
            "{err}"
        );
    }
    assert_eq!(log.committed(), 6);
    assert_eq!(log.failed(), 3);
    let stored = log.query(&SignInFilter::default()).await.unwrap();
    assert_eq!(ids(&stored), ["d", "y", "c", "b", "a", "x"]);
    assert_eq!(stored[1]["createdMs"], 6); // the first "y" won
    assert_eq!(
        stored[5],
        serde_json::from_str::<serde_json::Value>(&small("x", 1).record).unwrap()
    );
    other.close().await.unwrap();
    store.close().await.unwrap();
}

#[tokio::test]
async fn failed_batch_reports_to_every_waiter_and_the_writer_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fail.db");
    let store = open(&path).await;
    let log = store.log();
    log.append(small("before", 1)).await.unwrap();

    let mut other = connect(&path).await;
    sqlx::query("ALTER TABLE sign_ins RENAME TO sign_ins_away")
        .execute(&mut other)
        .await
        .unwrap();
    let (a, b) = tokio::join!(log.append(small("a", 2)), log.append(small("b", 3)));
    for result in [a, b] {
        let err = result.err().unwrap();
        assert!(matches!(&err, StoreError::LogBatch { .. }), "{err}");
        assert!(err.to_string().contains("fail.db"), "{err}");
    }
    log.append_nowait(small("c", 4)).unwrap();
    // The batch holding the flush may be the failed one or the next, empty, one.
    let _ = log.flush().await;
    assert_eq!(log.failed(), 3);
    sqlx::query("ALTER TABLE sign_ins_away RENAME TO sign_ins")
        .execute(&mut other)
        .await
        .unwrap();
    other.close().await.unwrap();

    log.append(small("after", 5)).await.unwrap();
    let all = log.query(&SignInFilter::default()).await.unwrap();
    assert_eq!(ids(&all), ["after", "before"]);
    assert_eq!(log.committed(), 2);
    store.close().await.unwrap();
}

#[tokio::test]
async fn append_nowait_reports_a_full_queue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full.db");
    let store = Store::open(
        &path,
        StoreOptions {
            queue: 4,
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap();
    let log = store.log();
    let mut other = connect(&path).await;
    let lock = hold_write_lock(&mut other).await;
    // The writer takes at most one batch, then waits for the lock: the queue fills up.
    let mut queued = 0;
    let err = loop {
        match log.append_nowait(small(&format!("q{queued}"), queued)) {
            Ok(()) => queued += 1,
            Err(e) => break e,
        }
        assert!(queued <= 8, "the queue never filled up");
    };
    let expected = format!("q{queued}");
    assert!(
        matches!(&err, StoreError::QueueFull { capacity: 4, id } if *id == expected),
        "{err}"
    );
    assert!(err.to_string().contains(&expected), "{err}");
    lock.commit().await.unwrap();
    other.close().await.unwrap();
    log.flush().await.unwrap();
    assert_eq!(log.committed(), queued as u64);
    log.append_nowait(small("last", 100)).unwrap();
    store.close().await.unwrap();
    // close() committed the record queued just before it.
    let store = open(&path).await;
    let stored = store.log().query(&SignInFilter::default()).await.unwrap();
    assert_eq!(stored.len(), queued as usize + 1);
    assert_eq!(stored[0]["correlationId"], "last");
    store.close().await.unwrap();
}

#[tokio::test]
async fn close_commits_the_queue_then_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("close.db");
    let store = open(&path).await;
    let log = store.log().clone();
    for i in 0..1000 {
        log.append_nowait(small(&format!("c{i}"), i)).unwrap();
    }
    store.close().await.unwrap();
    assert_eq!(log.committed(), 1000);
    assert!(matches!(
        log.append(small("late", 1)).await,
        Err(StoreError::Closed)
    ));
    assert!(matches!(
        log.append_nowait(small("late", 1)),
        Err(StoreError::Closed)
    ));
    assert!(matches!(log.flush().await, Err(StoreError::Closed)));
    assert!(matches!(
        log.query(&SignInFilter::default()).await,
        Err(StoreError::Closed)
    ));

    let store = open(&path).await;
    let mut out = Vec::new();
    let count = store
        .log()
        .export_jsonl(&SignInFilter::default(), &mut out)
        .await
        .unwrap();
    assert_eq!(count, 1000);
    store.close().await.unwrap();
}

#[tokio::test]
async fn delete_before_removes_old_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("ret.db")).await;
    let log = store.log();
    for i in 0..25_000 {
        log.append_nowait(small(&format!("d{i}"), i)).unwrap();
    }
    log.flush().await.unwrap();
    assert_eq!(log.delete_before(0).await.unwrap(), 0);
    assert_eq!(log.delete_before(20_500).await.unwrap(), 20_500);
    assert_eq!(log.delete_before(20_500).await.unwrap(), 0);
    let mut out = Vec::new();
    assert_eq!(
        log.export_jsonl(&SignInFilter::default(), &mut out)
            .await
            .unwrap(),
        4_500
    );
    let first: serde_json::Value =
        serde_json::from_slice(out.split(|&b| b == b'\n').next().unwrap()).unwrap();
    assert_eq!(first["correlationId"], "d20500");
    store.close().await.unwrap();
}

#[tokio::test]
async fn acked_records_survive_reopen_without_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reopen.db");
    let store = open(&path).await;
    for n in 0..300 {
        store.log().append(nth(n, n as i64)).await.unwrap();
    }
    // A second, independent store on the same file sees every acked record while the first
    // is still open (nothing acked lives only in memory).
    let other = open(&path).await;
    let mut out = Vec::new();
    assert_eq!(
        other
            .log()
            .export_jsonl(&SignInFilter::default(), &mut out)
            .await
            .unwrap(),
        300
    );
    other.close().await.unwrap();
    store.close().await.unwrap();
}

/// Environment variable telling `crash_child` which database to write to.
const CRASH_DB: &str = "GARDIEN_STORE_CRASH_DB";

/// Child half of `acked_records_survive_kill_9`: appends forever, printing each acked id.
/// Does nothing when run as an ordinary test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child() {
    let Some(path) = std::env::var_os(CRASH_DB) else {
        return;
    };
    let store = open(Path::new(&path)).await;
    let mut tasks = Vec::new();
    for t in 0..64_u64 {
        let log = store.log().clone();
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let n = t * 1_000_000 + i;
                log.append(nth(n, n as i64)).await.unwrap();
                println!("ACK {}", common::correlation_id(n));
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test]
async fn acked_records_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CRASH_DB, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked = HashSet::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(id) = line.strip_prefix("ACK ") {
            acked.insert(id.to_owned());
            if acked.len() >= 3000 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no checkpoint, no close
    child.wait().unwrap();
    assert!(acked.len() >= 3000, "child acked only {}", acked.len());

    let store = open(&path).await;
    let mut out = Vec::new();
    let count = store
        .log()
        .export_jsonl(&SignInFilter::default(), &mut out)
        .await
        .unwrap();
    let stored: HashSet<String> = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_slice(l).unwrap();
            v["correlationId"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(stored.len() as u64, count);
    let missing: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} acked records lost, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    store.close().await.unwrap();
}

#[tokio::test]
async fn a_record_that_is_not_a_json_object_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("g.db")).await;
    let mut bad = small("bad", 1);
    bad.record = "[1, 2]".to_owned();
    let err = store.log().append(bad).await.unwrap_err();
    assert!(
        matches!(err, StoreError::InvalidRecord { ref id, .. } if id == "bad"),
        "{err}"
    );
    store.log().append(small("good", 2)).await.unwrap();
    assert_eq!(
        ids(&store.log().query(&SignInFilter::default()).await.unwrap()),
        ["good"]
    );
    store.close().await.unwrap();
}
