//! End-to-end tests of the sign-in log on both backends (a SQLite file; a fresh PostgreSQL
//! schema), then what only PostgreSQL replicas have.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::collections::HashSet;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use common::{TestDb, backend_tests, nth, sign_in};
use std::sync::Arc;

use gardien_store::{
    Fragment, Fragments, LogPosition, SignInFilter, SignInRecord, Store, StoreError, StoreOptions,
};

backend_tests!(
    append_then_query_with_each_filter,
    query_limit_defaults_to_100_and_is_capped,
    export_jsonl_round_trip_in_pages,
    group_commit_batches_concurrent_appends,
    max_batch_bounds_the_transaction_size,
    commit_interval_groups_records_that_keep_coming,
    duplicate_correlation_id_fails_alone,
    duplicates_across_insert_chunks_fail_alone,
    failed_batch_reports_to_every_waiter_and_the_writer_goes_on,
    append_nowait_reports_a_full_queue,
    close_commits_the_queue_then_refuses,
    delete_before_removes_old_records,
    acked_records_survive_reopen_without_close,
    acked_records_survive_kill_9,
    a_record_that_is_not_a_json_object_is_refused,
    both_durability_modes_commit,
    search_answers_every_filter_combination_in_pages,
    bounded_search_reaches_every_match,
    the_search_migration_keeps_the_log,
    the_partial_decision_index_migration_keeps_the_log,
    the_search_keys_migration_keeps_the_log,
    ids_sharing_a_search_key_are_told_apart,
    compact_records_read_back_whole,
    rows_without_fragments_are_read_as_stored,
    a_fragment_id_stored_with_another_text_stores_the_record_whole,
    a_misplaced_fragment_offset_is_refused,
);

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
        fragments: None,
    }
}

async fn append_then_query_with_each_filter(db: TestDb) {
    let store = db.open().await;
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

async fn query_limit_defaults_to_100_and_is_capped(db: TestDb) {
    let store = db.open().await;
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

async fn export_jsonl_round_trip_in_pages(db: TestDb) {
    let store = db.open().await;
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

async fn group_commit_batches_concurrent_appends(db: TestDb) {
    let store = db.open().await;
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

async fn max_batch_bounds_the_transaction_size(db: TestDb) {
    let store = db
        .open_with(StoreOptions {
            max_batch: 10,
            ..StoreOptions::default()
        })
        .await;
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

async fn commit_interval_groups_records_that_keep_coming(db: TestDb) {
    let store = db
        .open_with(StoreOptions {
            commit_interval: std::time::Duration::from_millis(400),
            ..StoreOptions::default()
        })
        .await;
    let log = store.log().clone();
    // The first record after a quiet spell is committed at once (nothing started lately).
    log.append(small("p0", 0)).await.unwrap();
    assert_eq!(log.batches(), 1);
    // Ten records arriving 5 ms apart, each waiting for its commit: committed as they came
    // they would be about ten batches; paced, the writer waits until 400 ms after the
    // previous batch started and commits them together.
    let mut tasks = Vec::new();
    for i in 1..=10 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            log.append(small(&format!("p{i}"), i)).await
        }));
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(log.committed(), 11);
    assert!(log.batches() <= 3, "{} batches", log.batches());
    store.close().await.unwrap();
}

async fn duplicate_correlation_id_fails_alone(db: TestDb) {
    let store = db.open().await;
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
    assert!(err.to_string().contains(db.name()), "{err}");
    assert_eq!(log.committed(), 3);
    assert_eq!(log.failed(), 1);

    // Duplicates inside one multi-row INSERT: with the writer held, they are queued together
    // and written in the same chunk.
    let mut lock = db.hold_log_lock().await;
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
    lock.execute("COMMIT").await;
    lock.close().await;
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
    store.close().await.unwrap();
}

/// Awaits `futures` together, polling them in order (so that appends are queued in order),
/// and returns their outputs in order.
async fn in_order<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none()
                && let std::task::Poll::Ready(out) = future.as_mut().poll(cx)
            {
                *output = Some(out);
            }
        }
        if outputs.iter().all(Option::is_some) {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

async fn duplicates_across_insert_chunks_fail_alone(db: TestDb) {
    // The SQLite writer inserts a batch in statements of 64, 32, …, 1 rows: duplicates of
    // stored ids and of ids earlier in the batch, in the first, last and middle rows of
    // several statements, each fail alone; the first occurrence is stored.
    let store = db.open().await;
    let log = store.log();
    for i in 0..4 {
        log.append(small(&format!("old{i}"), i)).await.unwrap();
    }
    let mut ids: Vec<String> = (0..103).map(|i| format!("n{i}")).collect();
    let duplicates = [
        (0, "old0"),
        (63, "old1"),
        (64, "n10"),
        (70, "n66"),
        (96, "n95"),
        (99, "old2"),
        (101, "n100"),
        (102, "old3"),
    ];
    for (at, id) in duplicates {
        ids[at] = id.to_owned();
    }
    let lock = db.hold_log_lock().await;
    let log2 = log.clone();
    let appends = ids.clone();
    let waiters = tokio::spawn(async move {
        let appends = appends
            .iter()
            .enumerate()
            .map(|(i, id)| log2.append(small(id, 1000 + i as i64)))
            .collect();
        in_order(appends).await
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut lock = lock;
    lock.execute("COMMIT").await;
    lock.close().await;
    let results = waiters.await.unwrap();
    for (i, result) in results.iter().enumerate() {
        if duplicates.iter().any(|(at, _)| *at == i) {
            let err = result.as_ref().err().unwrap();
            assert!(
                matches!(err, StoreError::DuplicateSignIn { id, .. } if *id == ids[i]),
                "{i}: {err}"
            );
        } else {
            assert!(result.is_ok(), "{i}: {result:?}");
        }
    }
    assert_eq!(log.committed(), 4 + 103 - 8);
    assert_eq!(log.failed(), 8);
    let stored = log
        .query(&SignInFilter {
            limit: Some(1000),
            ..SignInFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 4 + 103 - 8);
    for (id, created_ms) in [("old0", 0), ("n10", 1010), ("n66", 1066), ("n100", 1100)] {
        let record = stored.iter().find(|r| r["correlationId"] == id).unwrap();
        assert_eq!(record["createdMs"], created_ms, "{id}");
    }
    store.close().await.unwrap();
}

async fn failed_batch_reports_to_every_waiter_and_the_writer_goes_on(db: TestDb) {
    let store = db.open().await;
    let log = store.log();
    log.append(small("before", 1)).await.unwrap();

    db.execute("ALTER TABLE sign_ins RENAME TO sign_ins_away")
        .await;
    let (a, b) = tokio::join!(log.append(small("a", 2)), log.append(small("b", 3)));
    for result in [a, b] {
        let err = result.err().unwrap();
        assert!(matches!(&err, StoreError::LogBatch { .. }), "{err}");
        assert!(err.to_string().contains(db.name()), "{err}");
    }
    log.append_nowait(small("c", 4)).unwrap();
    // The batch holding the flush may be the failed one or the next, empty, one.
    let _ = log.flush().await;
    assert_eq!(log.failed(), 3);
    db.execute("ALTER TABLE sign_ins_away RENAME TO sign_ins")
        .await;

    log.append(small("after", 5)).await.unwrap();
    let all = log.query(&SignInFilter::default()).await.unwrap();
    assert_eq!(ids(&all), ["after", "before"]);
    assert_eq!(log.committed(), 2);
    store.close().await.unwrap();
}

async fn append_nowait_reports_a_full_queue(db: TestDb) {
    let store = db
        .open_with(StoreOptions {
            queue: 4,
            ..StoreOptions::default()
        })
        .await;
    let log = store.log();
    let mut lock = db.hold_log_lock().await;
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
    lock.execute("COMMIT").await;
    lock.close().await;
    log.flush().await.unwrap();
    assert_eq!(log.committed(), queued as u64);
    log.append_nowait(small("last", 100)).unwrap();
    store.close().await.unwrap();
    // close() committed the record queued just before it.
    let store = db.open().await;
    let stored = store.log().query(&SignInFilter::default()).await.unwrap();
    assert_eq!(stored.len(), queued as usize + 1);
    assert_eq!(stored[0]["correlationId"], "last");
    store.close().await.unwrap();
}

async fn close_commits_the_queue_then_refuses(db: TestDb) {
    let store = db.open().await;
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

    let store = db.open().await;
    let mut out = Vec::new();
    let count = store
        .log()
        .export_jsonl(&SignInFilter::default(), &mut out)
        .await
        .unwrap();
    assert_eq!(count, 1000);
    store.close().await.unwrap();
}

async fn delete_before_removes_old_records(db: TestDb) {
    let store = db.open().await;
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

async fn acked_records_survive_reopen_without_close(db: TestDb) {
    let store = db.open().await;
    for n in 0..300 {
        store.log().append(nth(n, n as i64)).await.unwrap();
    }
    // A second, independent store on the same file sees every acked record while the first
    // is still open (nothing acked lives only in memory).
    let other = db.open().await;
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

/// Environment variables telling `crash_child` which database (and schema) to write to.
const CRASH_DB: &str = "GARDIEN_STORE_CRASH_DB";
const CRASH_SCHEMA: &str = "GARDIEN_STORE_CRASH_SCHEMA";

/// Child half of `acked_records_survive_kill_9`: appends forever, printing each acked id.
/// Does nothing when run as an ordinary test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child() {
    let Ok(database) = std::env::var(CRASH_DB) else {
        return;
    };
    let options = StoreOptions {
        schema: std::env::var(CRASH_SCHEMA).ok(),
        ..StoreOptions::default()
    };
    let store = Store::connect(&database, options).await.unwrap();
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

async fn acked_records_survive_kill_9(db: TestDb) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CRASH_DB, &db.database);
    if let Some(schema) = &db.schema {
        command.env(CRASH_SCHEMA, schema);
    }
    let mut child = command
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

    let store = db.open().await;
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

async fn a_record_that_is_not_a_json_object_is_refused(db: TestDb) {
    let store = db.open().await;
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

/// Both durability settings open and commit (SQLite: `synchronous`; PostgreSQL: the log
/// writer's `synchronous_commit`).
async fn both_durability_modes_commit(db: TestDb) {
    for (i, durability) in [
        gardien_store::Durability::Process,
        gardien_store::Durability::Power,
    ]
    .into_iter()
    .enumerate()
    {
        let store = db
            .open_with(StoreOptions {
                durability,
                ..StoreOptions::default()
            })
            .await;
        for n in 0..100 {
            let id = (i as u64) * 1000 + n;
            store.log().append(nth(id, id as i64)).await.unwrap();
        }
        store.close().await.unwrap();
    }
    let store = db.open().await;
    let all = store
        .log()
        .query(&SignInFilter {
            limit: Some(1000),
            ..SignInFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 200);
    store.close().await.unwrap();
}

// ---- PostgreSQL only ----

/// Two replicas append to one schema (each with its own correlation id prefix, plus one id
/// both try): every record is stored once and queryable through either, the shared id
/// exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replicas_share_the_sign_in_log() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let a = db.open().await;
    let b = db.open().await;
    let append_all = |store: &Store, prefix: &'static str| {
        let mut tasks = Vec::new();
        for i in 0..500_i64 {
            let log = store.log().clone();
            tasks.push(tokio::spawn(async move {
                log.append(small(&format!("{prefix}-{i}"), i)).await
            }));
        }
        tasks
    };
    let mut tasks = append_all(&a, "a");
    tasks.extend(append_all(&b, "b"));
    let (shared_a, shared_b) = tokio::join!(
        a.log().append(small("shared", 1000)),
        b.log().append(small("shared", 1001)),
    );
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    match (shared_a, shared_b) {
        (Ok(()), Err(StoreError::DuplicateSignIn { id, .. }))
        | (Err(StoreError::DuplicateSignIn { id, .. }), Ok(())) => assert_eq!(id, "shared"),
        other => panic!("{other:?}"),
    }
    assert_eq!(a.log().committed() + b.log().committed(), 1001);
    for store in [&a, &b] {
        let all = store
            .log()
            .query(&SignInFilter {
                limit: Some(5000),
                ..SignInFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(all.len(), 1001);
        let unique: HashSet<&str> = ids(&all).into_iter().collect();
        assert_eq!(unique.len(), 1001);
        assert!(unique.contains("a-499") && unique.contains("b-0") && unique.contains("shared"));
    }
    a.close().await.unwrap();
    b.close().await.unwrap();
}

/// The sign-in log writer reconnects after losing its connection: the batch that hit the
/// dead connection fails (reported to its waiters), the next ones are committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_log_writer_reconnects() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let store = db.open().await;
    let log = store.log();
    log.append(small("before", 1)).await.unwrap();
    let schema = db.schema.clone().unwrap();
    let terminated = db
        .scalar(&format!(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = 'gardien-signins {schema}'"
        ))
        .await;
    assert_eq!(terminated, 1);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let err = log.append(small("lost", 2)).await.err().unwrap();
    assert!(
        matches!(err, StoreError::LogBatch { records: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains(&schema), "{err}");
    log.append(small("after", 3)).await.unwrap();
    assert_eq!(
        ids(&log.query(&SignInFilter::default()).await.unwrap()),
        ["after", "before"]
    );
    assert_eq!(log.failed(), 1);
    store.close().await.unwrap();
}

/// Records of `search_answers_every_filter_combination_in_pages`: three users, two apps, the
/// decisions and codes spread so that some combinations match nothing, equal `created_ms`
/// in pairs (the keyset tie on `seq`).
fn mixed(n: usize) -> Vec<SignInRecord> {
    let outcomes = [
        ("allow", None),
        ("allow", None),
        ("challenge", None),
        ("deny", Some(53003)),
        ("deny", Some(53000)),
    ];
    (0..n)
        .map(|i| {
            let (decision, code) = outcomes[(i * 3) % outcomes.len()];
            SignInRecord {
                id: format!("c{i:05}"),
                created_ms: 1_000_000 + (i as i64 / 2) * 1000,
                user_id: format!("u{}", i % 3),
                app_id: format!("a{}", (i / 3) % 2),
                decision: decision.to_owned(),
                error_code: code,
                record: serde_json::json!({"correlationId": format!("c{i:05}")}).to_string(),
                fragments: None,
            }
        })
        .collect()
}

/// Every combination of the search's filters (user, app, result, error code, time range,
/// correlation id), with values that match and values that match nothing, against the same
/// filter applied to the records in memory: the same records, newest first (ties by
/// insertion order), through every page of 7.
async fn search_answers_every_filter_combination_in_pages(db: TestDb) {
    let store = db.open().await;
    let log = store.log();
    let records = mixed(300);
    for r in &records {
        log.append(r.clone()).await.unwrap();
    }
    store.log().refresh_statistics().await.unwrap();
    let users = [None, Some("u1"), Some("u9")];
    let apps = [None, Some("a0")];
    let decisions = [None, Some("allow"), Some("deny"), Some("challenge")];
    let codes = [None, Some(53003u32), Some(53001)];
    let ranges = [None, Some((1_020_000i64, 1_100_000i64))];
    let correlations = [None, Some("c00042")];
    let mut combos = 0;
    for user in users {
        for app in apps {
            for decision in decisions {
                for code in codes {
                    for range in ranges {
                        for corr in correlations {
                            combos += 1;
                            let mut expected: Vec<&SignInRecord> = records
                                .iter()
                                .filter(|r| user.is_none_or(|u| r.user_id == u))
                                .filter(|r| app.is_none_or(|a| r.app_id == a))
                                .filter(|r| decision.is_none_or(|d| r.decision == d))
                                .filter(|r| code.is_none_or(|c| r.error_code == Some(c)))
                                .filter(|r| {
                                    range.is_none_or(|(f, t)| r.created_ms >= f && r.created_ms < t)
                                })
                                .filter(|r| corr.is_none_or(|c| r.id == c))
                                .collect();
                            // Newest first; equal times: the later insertion first.
                            expected.reverse();
                            let expected: Vec<&str> =
                                expected.iter().map(|r| r.id.as_str()).collect();
                            let mut filter = SignInFilter {
                                user: user.map(str::to_owned),
                                app: app.map(str::to_owned),
                                decision: decision.map(str::to_owned),
                                error_code: code,
                                from_ms: range.map(|r| r.0),
                                to_ms: range.map(|r| r.1),
                                correlation_id: corr.map(str::to_owned),
                                before: None,
                                limit: Some(7),
                            };
                            let mut got: Vec<String> = Vec::new();
                            loop {
                                let page = log.search(&filter).await.unwrap();
                                assert!(page.records.len() <= 7);
                                got.extend(ids(&page.records).iter().map(|s| (*s).to_owned()));
                                match page.next {
                                    Some(next) => filter.before = Some(next),
                                    None => break,
                                }
                            }
                            assert_eq!(got, expected, "{filter:?}");
                        }
                    }
                }
            }
        }
    }
    assert_eq!(combos, 3 * 2 * 4 * 3 * 2 * 2);
    assert_eq!(
        LogPosition::parse("17.4"),
        Some(LogPosition {
            created_ms: 17,
            seq: 4
        })
    );
    assert_eq!(
        LogPosition::parse("17"),
        Some(LogPosition::before_millisecond(17))
    );
    assert_eq!(LogPosition::before_millisecond(17).to_string(), "17");
    assert_eq!(LogPosition::parse("17."), None);
    assert_eq!(LogPosition::parse("x"), None);
    assert_eq!(
        LogPosition {
            created_ms: -3,
            seq: 9
        }
        .to_string(),
        "-3.9"
    );
    store.close().await.unwrap();
}

/// The records of `records` that `filter` selects (every member but `before` and `limit`),
/// newest first (ties: the later insertion first): what a search must return in total.
fn brute_force<'a>(records: &'a [SignInRecord], filter: &SignInFilter) -> Vec<&'a str> {
    records
        .iter()
        .rev()
        .filter(|r| filter.user.as_ref().is_none_or(|u| &r.user_id == u))
        .filter(|r| filter.app.as_ref().is_none_or(|a| &r.app_id == a))
        .filter(|r| filter.decision.as_ref().is_none_or(|d| &r.decision == d))
        .filter(|r| filter.error_code.is_none_or(|c| r.error_code == Some(c)))
        .filter(|r| filter.from_ms.is_none_or(|f| r.created_ms >= f))
        .filter(|r| filter.to_ms.is_none_or(|t| r.created_ms < t))
        .filter(|r| filter.correlation_id.as_ref().is_none_or(|c| &r.id == c))
        .map(|r| r.id.as_str())
        .collect()
}

/// A search bounded to a few index entries per page, followed page after page (full pages
/// and pages that stopped at the bound alike), returns exactly the records of a brute-force
/// filter over the same rows, for every combination of filters, including dense filters
/// that never match together (a challenge with error 53003). On both backends pages do
/// stop, and a page that stops searched no more than the bound of the shortest filter's
/// records (plus the records of its boundary milliseconds).
async fn bounded_search_reaches_every_match(db: TestDb) {
    let store = db.open().await;
    let log = store.log();
    let records = mixed(300);
    for r in &records {
        log.append(r.clone()).await.unwrap();
    }
    store.log().refresh_statistics().await.unwrap();
    let created: std::collections::HashMap<&str, i64> = records
        .iter()
        .map(|r| (r.id.as_str(), r.created_ms))
        .collect();
    let mut stops = 0;
    // Pages that stopped at the bound of searches for allowed sign-ins with fewer than two
    // other filters (the result is checked along one index or the time index, never led).
    let mut allowed_stops = 0;
    for user in [None, Some("u1"), Some("u9")] {
        for app in [None, Some("a0")] {
            for decision in [None, Some("allow"), Some("deny"), Some("challenge")] {
                for code in [None, Some(53003u32), Some(53001)] {
                    for range in [None, Some((1_020_000i64, 1_100_000i64))] {
                        for reads in [2usize, 16, 40] {
                            let mut filter = SignInFilter {
                                user: user.map(str::to_owned),
                                app: app.map(str::to_owned),
                                decision: decision.map(str::to_owned),
                                error_code: code,
                                from_ms: range.map(|r| r.0),
                                to_ms: range.map(|r| r.1),
                                correlation_id: None,
                                before: None,
                                limit: Some(7),
                            };
                            let expected = brute_force(&records, &filter);
                            let mut got: Vec<String> = Vec::new();
                            loop {
                                let page = log.search_bounded(&filter, reads).await.unwrap();
                                assert!(page.records.len() <= 7);
                                let page_ids = ids(&page.records);
                                if let Some(to) = page.searched_to {
                                    stops += 1;
                                    let led = [user.is_some(), app.is_some(), code.is_some()];
                                    if decision == Some("allow")
                                        && led.iter().filter(|l| **l).count() < 2
                                    {
                                        allowed_stops += 1;
                                    }
                                    assert!(page.records.len() < 7, "{filter:?}");
                                    assert_eq!(
                                        page.next.map(|n| n.created_ms),
                                        Some(to),
                                        "{filter:?}"
                                    );
                                    assert!(page_ids.iter().all(|id| created[id] >= to));
                                    // The records the shortest leading filter has in the
                                    // window searched (whole milliseconds at both ends).
                                    let upto = filter.before.map_or(i64::MAX, |b| b.created_ms);
                                    let in_window = |keep: &dyn Fn(&SignInRecord) -> bool| {
                                        records
                                            .iter()
                                            .filter(|r| r.created_ms >= to && r.created_ms <= upto)
                                            .filter(|r| {
                                                range.is_none_or(|(f, t)| {
                                                    r.created_ms >= f && r.created_ms < t
                                                })
                                            })
                                            .filter(|r| keep(r))
                                            .count()
                                    };
                                    let mut leads: Vec<usize> = Vec::new();
                                    if let Some(u) = user {
                                        leads.push(in_window(&|r| r.user_id == u));
                                    }
                                    if let Some(a) = app {
                                        leads.push(in_window(&|r| r.app_id == a));
                                    }
                                    // Allowed sign-ins lead no index (migration 7).
                                    if let Some(d) = decision.filter(|d| *d != "allow") {
                                        leads.push(in_window(&|r| r.decision == d));
                                    }
                                    if let Some(c) = code {
                                        leads.push(in_window(&|r| r.error_code == Some(c)));
                                    }
                                    // An allowed result is checked, not led: one index,
                                    // or the time index, is walked with a bound too.
                                    if leads.is_empty() {
                                        leads.push(in_window(&|_| true));
                                    }
                                    assert!(
                                        leads.len() >= 2 || decision == Some("allow"),
                                        "{filter:?}"
                                    );
                                    let shortest = leads.iter().min().copied().unwrap_or(0);
                                    assert!(shortest <= reads + 4, "{shortest} read, {filter:?}");
                                }
                                got.extend(page_ids.iter().map(|s| (*s).to_owned()));
                                match page.next {
                                    Some(next) => {
                                        assert!(filter.before.is_none_or(|b| next < b));
                                        filter.before = Some(next);
                                    }
                                    None => break,
                                }
                            }
                            assert_eq!(got, expected, "{filter:?}, {reads} reads");
                        }
                    }
                }
            }
        }
    }
    assert!(
        stops > 0,
        "no bounded page stopped early ({})",
        db.backend()
    );
    assert!(
        allowed_stops > 0,
        "no search for allowed sign-ins stopped at its bound ({})",
        db.backend()
    );
    store.close().await.unwrap();
}

/// A log written under the previous schema (the indexes of schema version 3 on SQLite, 2 on
/// PostgreSQL, rebuilt by hand after a first open) gets the search indexes on the next open
/// and keeps every record; searches answer from the new indexes.
async fn the_search_migration_keeps_the_log(db: TestDb) {
    let store = db.open().await;
    let records = mixed(60);
    for r in &records {
        store.log().append(r.clone()).await.unwrap();
    }
    store.close().await.unwrap();
    let (previous, indexes) = match db.backend() {
        "sqlite" => (
            3,
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sign_ins' \
             AND name IN ('sign_ins_decision', 'sign_ins_error_code')",
        ),
        _ => (
            2,
            "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() \
             AND indexname IN ('sign_ins_decision', 'sign_ins_error_code')",
        ),
    };
    back_to_schema_7(&db).await;
    // Back to the previous schema: its two indexes, no search indexes, no session table,
    // no compact-record columns (the later migration, applied again on open).
    for sql in [
        "DROP TABLE sign_in_fragments",
        "ALTER TABLE sign_ins DROP COLUMN applied_at",
        "ALTER TABLE sign_ins DROP COLUMN applied",
        "DROP INDEX sign_ins_user",
        "DROP INDEX sign_ins_app",
        "DROP INDEX sign_ins_decision",
        "DROP INDEX sign_ins_error_code",
        "CREATE INDEX sign_ins_user ON sign_ins (user_id, created_ms)",
        "CREATE INDEX sign_ins_app ON sign_ins (app_id, created_ms)",
        "DROP TABLE console_revoked_sessions",
    ] {
        db.execute(sql).await;
    }
    if db.backend() == "postgres" {
        db.execute("DROP INDEX sign_ins_seq").await;
    }
    db.execute(&format!(
        "DELETE FROM _sqlx_migrations WHERE version > {previous}"
    ))
    .await;
    assert_eq!(db.scalar(indexes).await, 0);

    let store = db.open().await;
    assert_eq!(db.scalar(indexes).await, 2);
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM sign_ins").await,
        records.len() as i64
    );
    let page = store
        .log()
        .search(&SignInFilter {
            user: Some("u1".into()),
            decision: Some("deny".into()),
            error_code: Some(53003),
            ..SignInFilter::default()
        })
        .await
        .unwrap();
    let expected: Vec<&str> = records
        .iter()
        .rev()
        .filter(|r| r.user_id == "u1" && r.error_code == Some(53003))
        .map(|r| r.id.as_str())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(ids(&page.records), expected);
    store.revoke_session("s1", i64::MAX / 2, 0).await.unwrap();
    store.close().await.unwrap();
}

/// A log written under schema version 6 on SQLite (5 on PostgreSQL), whose result index held
/// every sign-in, gets the partial one on the next open (allowed sign-ins left out) and keeps
/// every record; searches by each result still answer exactly, paged.
async fn the_partial_decision_index_migration_keeps_the_log(db: TestDb) {
    let store = db.open().await;
    let records = mixed(90);
    for r in &records {
        store.log().append(r.clone()).await.unwrap();
    }
    store.close().await.unwrap();
    let (previous, whole, partial) = match db.backend() {
        "sqlite" => (
            6,
            "CREATE INDEX sign_ins_decision ON sign_ins \
             (decision, created_ms, seq, user_id, app_id, error_code)",
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' \
             AND name = 'sign_ins_decision' AND sql LIKE '%WHERE decision <> ''allow''%'",
        ),
        _ => (
            5,
            "CREATE INDEX sign_ins_decision ON sign_ins (decision, created_ms, seq) \
             INCLUDE (user_id, app_id, error_code)",
            "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() \
             AND indexname = 'sign_ins_decision' \
             AND indexdef LIKE '%WHERE (decision <> ''allow''::text)%'",
        ),
    };
    assert_eq!(db.scalar(partial).await, 1);
    back_to_schema_7(&db).await;
    db.execute("DROP INDEX sign_ins_decision").await;
    db.execute(whole).await;
    db.execute(&format!(
        "DELETE FROM _sqlx_migrations WHERE version > {previous}"
    ))
    .await;
    assert_eq!(db.scalar(partial).await, 0);

    let store = db.open().await;
    assert_eq!(db.scalar(partial).await, 1);
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM sign_ins").await,
        records.len() as i64
    );
    for decision in ["allow", "deny", "challenge"] {
        let mut filter = SignInFilter {
            decision: Some(decision.to_owned()),
            limit: Some(7),
            ..SignInFilter::default()
        };
        let expected = brute_force(&records, &filter);
        assert!(!expected.is_empty(), "{decision}");
        let mut got: Vec<String> = Vec::new();
        loop {
            let page = store.log().search(&filter).await.unwrap();
            got.extend(ids(&page.records).iter().map(|s| (*s).to_owned()));
            match page.next {
                Some(next) => filter.before = Some(next),
                None => break,
            }
        }
        assert_eq!(got, expected, "{decision}");
    }
    store.close().await.unwrap();
}

/// SQLite: back to schema version 7, as a log written before the search keys has it (the
/// ids' text in the search indexes, no key columns); nothing on PostgreSQL, whose schema has
/// no keys.
async fn back_to_schema_7(db: &TestDb) {
    if db.backend() != "sqlite" {
        return;
    }
    for sql in [
        "DROP INDEX sign_ins_user",
        "DROP INDEX sign_ins_app",
        "DROP INDEX sign_ins_decision",
        "DROP INDEX sign_ins_error_code",
        "ALTER TABLE sign_ins DROP COLUMN user_key",
        "ALTER TABLE sign_ins DROP COLUMN app_key",
        "CREATE INDEX sign_ins_user ON sign_ins \
         (user_id, created_ms, seq, app_id, decision, error_code)",
        "CREATE INDEX sign_ins_app ON sign_ins \
         (app_id, created_ms, seq, user_id, decision, error_code)",
        "CREATE INDEX sign_ins_decision ON sign_ins \
         (decision, created_ms, seq, user_id, app_id, error_code) WHERE decision <> 'allow'",
        "CREATE INDEX sign_ins_error_code ON sign_ins \
         (error_code, created_ms, seq, user_id, app_id, decision) WHERE error_code IS NOT NULL",
        "DELETE FROM _sqlx_migrations WHERE version > 7",
    ] {
        db.execute(sql).await;
    }
}

/// Every search of `filters`, followed page by page (pages of 7), equals the brute force
/// over `records`.
async fn searches_match_brute_force(
    log: &gardien_store::SignInLog,
    records: &[SignInRecord],
    filters: &[SignInFilter],
) {
    for filter in filters {
        let expected = brute_force(records, filter);
        let mut filter = SignInFilter {
            limit: Some(7),
            ..filter.clone()
        };
        let mut got: Vec<String> = Vec::new();
        loop {
            let page = log.search(&filter).await.unwrap();
            got.extend(ids(&page.records).iter().map(|s| (*s).to_owned()));
            match page.next {
                Some(next) => filter.before = Some(next),
                None => break,
            }
        }
        assert_eq!(got, expected, "{filter:?}");
        // The export (oldest first, the planner's index) selects the same records.
        filter.before = None;
        filter.limit = None;
        let mut out = Vec::new();
        log.export_jsonl(&filter, &mut out).await.unwrap();
        let exported: Vec<String> = out
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| {
                let v: serde_json::Value = serde_json::from_slice(l).unwrap();
                v["correlationId"].as_str().unwrap().to_owned()
            })
            .rev()
            .collect();
        assert_eq!(exported, expected, "export {filter:?}");
    }
}

/// The user and application filters, alone, together and with the others.
fn id_filters() -> Vec<SignInFilter> {
    let mut filters = Vec::new();
    for user in [None, Some("u0"), Some("u1"), Some("u9")] {
        for app in [None, Some("a0"), Some("a1")] {
            for decision in [None, Some("allow"), Some("deny")] {
                filters.push(SignInFilter {
                    user: user.map(str::to_owned),
                    app: app.map(str::to_owned),
                    decision: decision.map(str::to_owned),
                    ..SignInFilter::default()
                });
            }
        }
    }
    filters.push(SignInFilter {
        user: Some("u2".into()),
        error_code: Some(53003),
        from_ms: Some(1_020_000),
        ..SignInFilter::default()
    });
    filters
}

/// A log written under SQLite schema version 7 (the ids' text in the search indexes) gets
/// the ids' keys on the next open: every row's keys filled in, the indexes keyed, every
/// record kept, and every search by user and application (alone, together, with the other
/// filters) equals the brute force, paged, and so does the export; records appended after
/// the upgrade are found with the old ones. PostgreSQL keeps its schema: the same searches.
async fn the_search_keys_migration_keeps_the_log(db: TestDb) {
    let store = db.open().await;
    let records = mixed(150);
    let (old, new) = records.split_at(120);
    for r in old {
        store.log().append(r.clone()).await.unwrap();
    }
    store.close().await.unwrap();
    let keyed = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' \
                 AND name IN ('sign_ins_user', 'sign_ins_app', 'sign_ins_decision', \
                 'sign_ins_error_code') AND sql LIKE '%user_key%' AND sql LIKE '%app_key%'";
    if db.backend() == "sqlite" {
        assert_eq!(db.scalar(keyed).await, 4);
        back_to_schema_7(&db).await;
        assert_eq!(db.scalar(keyed).await, 0);
    }
    let store = db.open().await;
    if db.backend() == "sqlite" {
        assert_eq!(db.scalar(keyed).await, 4);
        assert_eq!(
            db.scalar("SELECT COUNT(*) FROM sign_ins WHERE user_key IS NULL OR app_key IS NULL")
                .await,
            0
        );
        // The keys filled in are the writer's: the rows of one user share one key.
        assert_eq!(
            db.scalar("SELECT COUNT(DISTINCT user_key) FROM sign_ins")
                .await,
            3
        );
        assert_eq!(
            db.scalar("SELECT COUNT(DISTINCT app_key) FROM sign_ins")
                .await,
            2
        );
    }
    assert_eq!(db.scalar("SELECT COUNT(*) FROM sign_ins").await, 120);
    for r in new {
        store.log().append(r.clone()).await.unwrap();
    }
    if db.backend() == "sqlite" {
        assert_eq!(
            db.scalar("SELECT COUNT(DISTINCT user_key) FROM sign_ins")
                .await,
            3
        );
    }
    searches_match_brute_force(store.log(), &records, &id_filters()).await;
    store.close().await.unwrap();
}

/// Two ids may share a search key (SQLite): a search for one returns its own records only,
/// paged and bounded, and the export too. The shared key is made by hand (no two known ids
/// share one): the rows of user `u1` get `u0`'s key and those of application `a1` get
/// `a0`'s, as if `u1` and `a1` hashed to them, so the searches for `u0` and `a0` walk those
/// rows too and must leave them out (a search for `u1` or `a1` would look for their own keys,
/// which no row has any more: those searches are not made).
async fn ids_sharing_a_search_key_are_told_apart(db: TestDb) {
    let store = db.open().await;
    let records = mixed(150);
    for r in &records {
        store.log().append(r.clone()).await.unwrap();
    }
    if db.backend() == "sqlite" {
        for sql in [
            "UPDATE sign_ins SET user_key = (SELECT user_key FROM sign_ins WHERE user_id = 'u0' \
             LIMIT 1) WHERE user_id = 'u1'",
            "UPDATE sign_ins SET app_key = (SELECT app_key FROM sign_ins WHERE app_id = 'a0' \
             LIMIT 1) WHERE app_id = 'a1'",
        ] {
            db.execute(sql).await;
        }
        assert_eq!(
            db.scalar("SELECT COUNT(DISTINCT user_key) FROM sign_ins")
                .await,
            2
        );
        assert_eq!(
            db.scalar("SELECT COUNT(DISTINCT app_key) FROM sign_ins")
                .await,
            1
        );
    }
    let filters: Vec<SignInFilter> = id_filters()
        .into_iter()
        .filter(|f| f.user.as_deref() != Some("u1") && f.app.as_deref() != Some("a1"))
        .collect();
    searches_match_brute_force(store.log(), &records, &filters).await;
    // Bounded searches, page after page, reach exactly the same records.
    for filter in filters {
        let expected = brute_force(&records, &filter);
        let mut filter = SignInFilter {
            limit: Some(5),
            ..filter
        };
        let mut got: Vec<String> = Vec::new();
        loop {
            let page = store.log().search_bounded(&filter, 12).await.unwrap();
            got.extend(ids(&page.records).iter().map(|s| (*s).to_owned()));
            match page.next {
                Some(next) => filter.before = Some(next),
                None => break,
            }
        }
        assert_eq!(got, expected, "bounded {filter:?}");
    }
    store.close().await.unwrap();
}

fn fragment(id: i64, text: &str) -> Fragment {
    Fragment {
        id,
        text: Arc::from(text),
    }
}

/// A compact record: its text with an empty per-policy array, and the entries by reference.
fn compact(id: &str, created_ms: i64, entries: Vec<Fragment>) -> SignInRecord {
    let record = format!(
        r#"{{"id":"{id}","correlationId":"{id}","appliedConditionalAccessPolicies":[],"gardien":{{"decision":"allow"}}}}"#
    );
    let at = record.find("[]").unwrap() + 1;
    SignInRecord {
        id: id.to_owned(),
        created_ms,
        user_id: "u".to_owned(),
        app_id: "a".to_owned(),
        decision: "allow".to_owned(),
        error_code: None,
        record,
        fragments: Some(Fragments { at, entries }),
    }
}

async fn compact_records_read_back_whole(db: TestDb) {
    let store = db.open().await;
    let log = store.log();
    let a = fragment(11, r#"{"id":"p1","result":"success"}"#);
    let b = fragment(
        -22,
        r#"{"id":"p2","result":"notApplied","displayName":"Ünïcode \"q\""}"#,
    );
    let c = fragment(33, r#"{"id":"p2","result":"failure"}"#);
    let records = vec![
        compact("c1", 1_000, vec![a.clone(), b.clone()]),
        compact("c2", 1_001, vec![a.clone(), c.clone()]),
        compact("c3", 1_002, Vec::new()),
        small("c4", 1_003),
    ];
    let expected: Vec<serde_json::Value> = records
        .iter()
        .map(|r| serde_json::from_str(&r.text()).unwrap())
        .collect();
    for r in records.iter().take(2) {
        log.append(r.clone()).await.unwrap();
    }
    // In one batch, sharing fragments already stored and new ones.
    for r in records.iter().skip(2) {
        log.append_nowait(r.clone()).unwrap();
    }
    log.append_nowait(compact("c5", 1_004, vec![c.clone(), b.clone(), a.clone()]))
        .unwrap();
    log.flush().await.unwrap();
    // Each fragment stored once; the records keep 8 bytes per entry.
    assert_eq!(db.scalar("SELECT COUNT(*) FROM sign_in_fragments").await, 3);
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM sign_ins WHERE applied IS NOT NULL")
            .await,
        4
    );
    let mut read = log.query(&SignInFilter::default()).await.unwrap();
    read.reverse();
    assert_eq!(read[..4], expected[..]);
    assert_eq!(
        read[4]["appliedConditionalAccessPolicies"],
        serde_json::json!([
            {"id":"p2","result":"failure"},
            {"id":"p2","result":"notApplied","displayName":"Ünïcode \"q\""},
            {"id":"p1","result":"success"}
        ])
    );
    // The export writes the same text the caller would have stored whole.
    let mut out: Vec<u8> = Vec::new();
    assert_eq!(
        log.export_jsonl(&SignInFilter::default(), &mut out)
            .await
            .unwrap(),
        5
    );
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for (line, record) in lines.iter().zip(&records) {
        assert_eq!(*line, record.text());
    }
    store.close().await.unwrap();
    // Another process (no cache) reads the same.
    let store = db.open().await;
    let again = store.log().query(&SignInFilter::default()).await.unwrap();
    assert_eq!(again.len(), 5);
    assert_eq!(again[4], expected[0]);
    store.close().await.unwrap();
}

async fn rows_without_fragments_are_read_as_stored(db: TestDb) {
    let store = db.open().await;
    // A row as written before the compact records (both new columns NULL).
    db.execute(
        r#"INSERT INTO sign_ins (correlation_id, created_ms, user_id, app_id, decision, error_code, record)
           VALUES ('old-1', 5, 'u', 'a', 'deny', 53003, '{"id":"old-1","appliedConditionalAccessPolicies":[{"id":"p9"}]}')"#,
    )
    .await;
    store
        .log()
        .append(compact("new-1", 6, vec![fragment(9, r#"{"id":"p9"}"#)]))
        .await
        .unwrap();
    let read = store.log().query(&SignInFilter::default()).await.unwrap();
    assert_eq!(
        read,
        [
            serde_json::json!({"id":"new-1","correlationId":"new-1","appliedConditionalAccessPolicies":[{"id":"p9"}],"gardien":{"decision":"allow"}}),
            serde_json::json!({"id":"old-1","appliedConditionalAccessPolicies":[{"id":"p9"}]}),
        ]
    );
    // A row whose fragment is gone (never happens: fragments are never deleted) is an error
    // naming the record, not a record without its policies.
    db.execute("DELETE FROM sign_in_fragments").await;
    let store2 = db.open().await;
    match store2.log().query(&SignInFilter::default()).await {
        Err(StoreError::CorruptRecord { id, .. }) => assert_eq!(id, "new-1"),
        other => panic!("{other:?}"),
    }
    store2.close().await.unwrap();
    store.close().await.unwrap();
}

async fn a_fragment_id_stored_with_another_text_stores_the_record_whole(db: TestDb) {
    let store = db.open().await;
    let log = store.log();
    let first = compact("k1", 1, vec![fragment(7, r#"{"id":"first"}"#)]);
    log.append(first.clone()).await.unwrap();
    // Another process, same id, another text (a collision of content ids).
    let store2 = db.open().await;
    let second = compact("k2", 2, vec![fragment(7, r#"{"id":"second"}"#)]);
    store2.log().append(second.clone()).await.unwrap();
    store2.close().await.unwrap();
    let read = log.query(&SignInFilter::default()).await.unwrap();
    assert_eq!(
        read[0],
        serde_json::from_str::<serde_json::Value>(&second.text()).unwrap()
    );
    assert_eq!(
        read[1],
        serde_json::from_str::<serde_json::Value>(&first.text()).unwrap()
    );
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM sign_ins WHERE applied IS NULL")
            .await,
        1
    );
    store.close().await.unwrap();
}

async fn a_misplaced_fragment_offset_is_refused(db: TestDb) {
    let store = db.open().await;
    let mut record = compact("m1", 1, vec![fragment(1, "{}")]);
    if let Some(f) = record.fragments.as_mut() {
        f.at -= 1;
    }
    match store.log().append(record).await {
        Err(StoreError::InvalidRecord { id, .. }) => assert_eq!(id, "m1"),
        other => panic!("{other:?}"),
    }
    let not_object = compact("m2", 1, vec![fragment(1, "[1]")]);
    assert!(matches!(
        store.log().append(not_object).await,
        Err(StoreError::InvalidRecord { .. })
    ));
    store.close().await.unwrap();
}
