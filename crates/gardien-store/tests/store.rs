//! End-to-end tests of the store on both backends (a SQLite file; a fresh PostgreSQL
//! schema): opening, migrations, tenant versions, devices, the change feed; then what only
//! one backend has (SQLite files and WAL; PostgreSQL replicas sharing a schema).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::time::Duration;

use common::{TestDb, backend_tests};
use gardien_store::{
    AuditEntry, AuditFilter, Change, ChangeFeed, Durability, NewVersion, Store, StoreError,
    StoreOptions,
};
use serde_json::json;

fn change(author: &str, n: i64) -> NewVersion {
    NewVersion {
        author: author.to_owned(),
        summary: format!("change {n}"),
        created_ms: 1_700_000_000_000 + n,
        diff: json!({"added": [format!("policy-{n}")]}),
        snapshot: json!({"policies": [{"id": format!("policy-{n}"), "state": "enabled"}]}),
    }
}

/// The next change of `feed`, which must come within a second.
async fn next_change(feed: &mut ChangeFeed) -> Change {
    tokio::time::timeout(Duration::from_secs(1), feed.next())
        .await
        .expect("no change within 1 s")
        .unwrap()
}

/// Asserts that `feed` reports nothing for 200 ms.
async fn assert_quiet(feed: &mut ChangeFeed) {
    if let Ok(change) = tokio::time::timeout(Duration::from_millis(200), feed.next()).await {
        panic!("unexpected change: {change:?}");
    }
}

backend_tests!(
    reopening_is_idempotent,
    invalid_options_are_reported,
    versions_are_numbered_listed_newest_first_and_read_back,
    save_version_conflict_writes_nothing,
    concurrent_saves_on_the_same_version_accept_exactly_one,
    devices_put_delete_and_order,
    replace_devices_is_all_or_nothing,
    changes_feed_reports_this_stores_writes,
    devices_revision_counts_device_writes,
    two_handles_on_one_database_never_lose_a_version,
    closed_store_reports_closed,
    admin_audit_appends_filters_and_expires,
    revoked_sessions_are_kept_until_they_expire,
);

async fn reopening_is_idempotent(db: TestDb) {
    let store = db.open().await;
    assert_eq!(store.backend(), db.backend());
    store.save_version(None, change("alice", 1)).await.unwrap();
    store
        .put_device("d1", &json!({"deviceId": "d1"}))
        .await
        .unwrap();
    store.close().await.unwrap();

    for _ in 0..3 {
        let store = db.open().await;
        assert_eq!(store.current_version().await.unwrap().unwrap().version, 1);
        assert_eq!(store.devices().await.unwrap().len(), 1);
        store.close().await.unwrap();
    }
    // crates/gardien-store/migrations/<backend>/*.sql
    let migrations = match db.backend() {
        "sqlite" => 9,
        _ => 6,
    };
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
            .await,
        migrations
    );
}

async fn invalid_options_are_reported(db: TestDb) {
    for (options, member) in [
        (
            StoreOptions {
                max_batch: 0,
                ..StoreOptions::default()
            },
            "max_batch",
        ),
        (
            StoreOptions {
                queue: 0,
                ..StoreOptions::default()
            },
            "queue",
        ),
        (
            StoreOptions {
                pool_connections: 0,
                ..StoreOptions::default()
            },
            "pool_connections",
        ),
    ] {
        let err = db.try_open(options).await.err().unwrap();
        assert!(
            matches!(&err, StoreError::InvalidOptions { reason } if reason.contains(member)),
            "{err}"
        );
    }
}

async fn versions_are_numbered_listed_newest_first_and_read_back(db: TestDb) {
    let store = db.open().await;
    assert_eq!(store.current_version().await.unwrap(), None);
    assert_eq!(store.current_version_number().await.unwrap(), None);
    assert!(store.versions().await.unwrap().is_empty());

    assert_eq!(
        store.save_version(None, change("alice", 1)).await.unwrap(),
        1
    );
    assert_eq!(
        store.save_version(Some(1), change("bob", 2)).await.unwrap(),
        2
    );
    assert_eq!(
        store
            .save_version(Some(2), change("carol", 3))
            .await
            .unwrap(),
        3
    );

    let list = store.versions().await.unwrap();
    let numbers: Vec<i64> = list.iter().map(|v| v.version).collect();
    assert_eq!(numbers, [3, 2, 1]);
    assert_eq!(list[0].author, "carol");
    assert_eq!(list[2].summary, "change 1");
    assert_eq!(list[1].created_ms, 1_700_000_000_002);

    let v2 = store.version(2).await.unwrap().unwrap();
    let expected = change("bob", 2);
    assert_eq!(v2.version, 2);
    assert_eq!(v2.author, expected.author);
    assert_eq!(v2.diff, expected.diff);
    assert_eq!(v2.snapshot, expected.snapshot);
    assert_eq!(store.current_version().await.unwrap().unwrap().version, 3);
    assert_eq!(store.current_version_number().await.unwrap(), Some(3));
    assert_eq!(store.version(99).await.unwrap(), None);

    // camelCase on the wire.
    let wire = serde_json::to_value(&list[0]).unwrap();
    assert_eq!(wire["createdMs"], json!(1_700_000_000_003_i64));
    store.close().await.unwrap();
}

async fn save_version_conflict_writes_nothing(db: TestDb) {
    let store = db.open().await;
    assert_eq!(
        store.save_version(None, change("alice", 1)).await.unwrap(),
        1
    );
    let err = store
        .save_version(None, change("mallory", 2))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                expected: None,
                actual: Some(1)
            }
        ),
        "{err}"
    );
    assert_eq!(
        store.save_version(Some(1), change("bob", 2)).await.unwrap(),
        2
    );
    let err = store
        .save_version(Some(1), change("mallory", 3))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                expected: Some(1),
                actual: Some(2)
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("expected current version 1, found 2"),
        "{err}"
    );
    let list = store.versions().await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|v| v.author != "mallory"));
    store.close().await.unwrap();
}

async fn concurrent_saves_on_the_same_version_accept_exactly_one(db: TestDb) {
    let store = db.open().await;
    store.save_version(None, change("root", 0)).await.unwrap();
    let mut tasks = Vec::new();
    for i in 1..=16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .save_version(Some(1), change(&format!("writer-{i}"), i))
                .await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(v) => {
                assert_eq!(v, 2);
                ok += 1;
            }
            Err(StoreError::Conflict {
                expected: Some(1),
                actual: Some(2),
            }) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(store.versions().await.unwrap().len(), 2);
    store.close().await.unwrap();
}

async fn devices_put_delete_and_order(db: TestDb) {
    let store = db.open().await;
    assert!(store.devices().await.unwrap().is_empty());

    let b = json!({"deviceId": "b", "isCompliant": false});
    assert!(store.put_device("b", &b).await.unwrap());
    assert!(
        store
            .put_device("a", &json!({"deviceId": "a"}))
            .await
            .unwrap()
    );
    // Byte order: upper case before lower case, whatever the database's collation.
    assert!(
        store
            .put_device("Z", &json!({"deviceId": "Z"}))
            .await
            .unwrap()
    );
    let b2 = json!({"deviceId": "b", "isCompliant": true});
    assert!(!store.put_device("b", &b2).await.unwrap());
    // deviceId is added when missing.
    assert!(
        store
            .put_device("c", &json!({"displayName": "laptop"}))
            .await
            .unwrap()
    );

    let devices = store.devices().await.unwrap();
    assert_eq!(
        devices,
        [
            json!({"deviceId": "Z"}),
            json!({"deviceId": "a"}),
            b2,
            json!({"displayName": "laptop", "deviceId": "c"}),
        ]
    );

    // Mismatched id or not an object: rejected, nothing written.
    let err = store
        .put_device("d", &json!({"deviceId": "e"}))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::InvalidDevice { .. }), "{err}");
    assert!(err.to_string().contains("\"d\""), "{err}");
    let err = store.put_device("d", &json!([1])).await.err().unwrap();
    assert!(matches!(err, StoreError::InvalidDevice { .. }), "{err}");
    assert_eq!(store.devices().await.unwrap().len(), 4);

    assert!(store.delete_device("a").await.unwrap());
    assert!(!store.delete_device("a").await.unwrap());
    assert_eq!(store.devices().await.unwrap().len(), 3);
    store.close().await.unwrap();
}

async fn replace_devices_is_all_or_nothing(db: TestDb) {
    let store = db.open().await;
    store
        .put_device("old", &json!({"deviceId": "old"}))
        .await
        .unwrap();

    let bad = [
        json!({"deviceId": "x"}),
        json!({"deviceId": "y"}),
        json!({"displayName": "no id"}),
    ];
    let err = store.replace_devices(&bad).await.err().unwrap();
    assert!(matches!(err, StoreError::InvalidDevice { .. }), "{err}");
    assert!(err.to_string().contains("index 2"), "{err}");

    let err = store
        .replace_devices(&[json!({"deviceId": 7})])
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("index 0"), "{err}");

    let err = store
        .replace_devices(&[json!({"deviceId": "x"}), json!({"deviceId": "x"})])
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("index 1") && err.to_string().contains("index 0"),
        "{err}"
    );

    assert_eq!(store.devices().await.unwrap(), [json!({"deviceId": "old"})]);

    let many: Vec<_> = (0..500)
        .rev()
        .map(|i| json!({"deviceId": format!("dev-{i:04}"), "trustType": "AzureAd"}))
        .collect();
    store.replace_devices(&many).await.unwrap();
    let devices = store.devices().await.unwrap();
    assert_eq!(devices.len(), 500);
    assert_eq!(devices[0]["deviceId"], "dev-0000");
    assert_eq!(devices[499]["deviceId"], "dev-0499");
    store.close().await.unwrap();

    let store = db.open().await;
    assert_eq!(store.devices().await.unwrap().len(), 500);
    store.replace_devices(&[]).await.unwrap();
    assert!(store.devices().await.unwrap().is_empty());
    store.close().await.unwrap();
}

async fn changes_feed_reports_this_stores_writes(db: TestDb) {
    let store = db.open().await;
    let mut feed = store.changes().await.unwrap();
    let mut other_feed = store.clone().changes().await.unwrap();
    store.save_version(None, change("alice", 1)).await.unwrap();
    assert_eq!(next_change(&mut feed).await, Change::Version(1));
    store.save_version(Some(1), change("bob", 2)).await.unwrap();
    assert_eq!(next_change(&mut feed).await, Change::Version(2));
    store.put_device("d", &json!({})).await.unwrap();
    assert_eq!(next_change(&mut feed).await, Change::Devices);
    // A rejected write announces nothing.
    assert!(store.save_version(None, change("late", 3)).await.is_err());
    assert!(!store.delete_device("nope").await.unwrap());
    assert_quiet(&mut feed).await;
    store.replace_devices(&[]).await.unwrap();
    assert_eq!(next_change(&mut feed).await, Change::Devices);
    // Every feed sees every change.
    for expected in [
        Change::Version(1),
        Change::Version(2),
        Change::Devices,
        Change::Devices,
    ] {
        assert_eq!(next_change(&mut other_feed).await, expected);
    }
    // Cancelling `next` loses nothing.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), feed.next())
            .await
            .is_err()
    );
    store
        .save_version(Some(2), change("carol", 3))
        .await
        .unwrap();
    assert_eq!(next_change(&mut feed).await, Change::Version(3));

    store.close().await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(5), feed.next())
        .await
        .unwrap();
    assert!(matches!(end, Err(StoreError::Closed)), "{end:?}");
    assert!(matches!(store.changes().await, Err(StoreError::Closed)));
}

async fn devices_revision_counts_device_writes(db: TestDb) {
    let store = db.open().await;
    assert_eq!(store.devices_revision().await.unwrap(), 0);
    store.put_device("a", &json!({})).await.unwrap();
    store.put_device("a", &json!({"x": 1})).await.unwrap();
    assert_eq!(store.devices_revision().await.unwrap(), 2);
    assert!(store.delete_device("a").await.unwrap());
    assert!(!store.delete_device("a").await.unwrap());
    assert_eq!(store.devices_revision().await.unwrap(), 3);
    store
        .replace_devices(&[json!({"deviceId": "b"})])
        .await
        .unwrap();
    assert_eq!(store.devices_revision().await.unwrap(), 4);
    // Rejected writes change nothing.
    assert!(store.replace_devices(&[json!(1)]).await.is_err());
    assert_eq!(store.devices_revision().await.unwrap(), 4);
    store.close().await.unwrap();
    // Persistent, and seen by a new handle.
    let store = db.open().await;
    assert_eq!(store.devices_revision().await.unwrap(), 4);
    store.close().await.unwrap();
}

/// Two independent handles on one database (two processes sharing a file, two replicas
/// sharing a schema) saving on the same version, 20 rounds: exactly one wins each round.
async fn two_handles_on_one_database_never_lose_a_version(db: TestDb) {
    let a = db.open().await;
    let b = db.open().await;
    let mut current = None;
    for round in 0..20_i64 {
        let (ra, rb) = tokio::join!(
            a.save_version(current, change("a", round)),
            b.save_version(current, change("b", round)),
        );
        let next = round + 1;
        let (won, lost) = match (ra, rb) {
            (Ok(v), Err(e)) | (Err(e), Ok(v)) => (v, e),
            (ra, rb) => panic!("round {round}: {ra:?} / {rb:?}"),
        };
        assert_eq!(won, next, "round {round}");
        assert!(
            matches!(lost, StoreError::Conflict { expected, actual: Some(n) } if expected == current && n == next),
            "round {round}: {lost}"
        );
        current = Some(next);
        assert_eq!(a.current_version_number().await.unwrap(), current);
        assert_eq!(b.current_version_number().await.unwrap(), current);
    }
    let numbers: Vec<i64> = b
        .versions()
        .await
        .unwrap()
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(numbers, (1..=20).rev().collect::<Vec<_>>());
    a.close().await.unwrap();
    b.close().await.unwrap();
}

async fn closed_store_reports_closed(db: TestDb) {
    let store = db.open().await;
    store.close().await.unwrap();
    store.close().await.unwrap();
    assert!(matches!(
        store.current_version().await,
        Err(StoreError::Closed)
    ));
    assert!(matches!(
        store.current_version_number().await,
        Err(StoreError::Closed)
    ));
    assert!(matches!(store.devices().await, Err(StoreError::Closed)));
    assert!(matches!(
        store.devices_revision().await,
        Err(StoreError::Closed)
    ));
    assert!(matches!(
        store.save_version(None, change("late", 1)).await,
        Err(StoreError::Closed)
    ));
}

// ---- SQLite only ----

#[tokio::test]
async fn sqlite_open_creates_parent_directories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/gardien.db");
    let store = Store::open(&path, StoreOptions::default()).await.unwrap();
    assert_eq!(store.path(), path);
    assert_eq!(store.location(), path.display().to_string());
    assert_eq!(store.backend(), "sqlite");
    assert!(path.is_file());
    store.close().await.unwrap();
}

#[tokio::test]
async fn sqlite_connect_takes_a_path_or_a_sqlite_url() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    for database in [
        format!("sqlite://{}", path.display()),
        path.display().to_string(),
    ] {
        let store = Store::connect(&database, StoreOptions::default())
            .await
            .unwrap();
        assert_eq!(store.backend(), "sqlite");
        assert_eq!(store.path(), path);
        store.close().await.unwrap();
    }
}

#[tokio::test]
async fn sqlite_both_durability_modes_open_in_wal() {
    use sqlx::{ConnectOptions as _, Connection as _};
    let dir = tempfile::tempdir().unwrap();
    for (name, durability) in [("p.db", Durability::Process), ("f.db", Durability::Power)] {
        let path = dir.path().join(name);
        let store = Store::open(
            &path,
            StoreOptions {
                durability,
                ..StoreOptions::default()
            },
        )
        .await
        .unwrap();
        store.close().await.unwrap();
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .connect()
            .await
            .unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        conn.close().await.unwrap();
    }
}

#[tokio::test]
async fn sqlite_unopenable_path_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    // A directory is not a database file.
    let err = Store::open(dir.path(), StoreOptions::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    assert!(
        err.to_string().contains(&dir.path().display().to_string()),
        "{err}"
    );
}

/// A database created before the devices revision existed (schema version 1 only) gets it
/// on open, starting at 0, and keeps its data.
#[tokio::test]
async fn sqlite_version_1_files_are_migrated() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    store.save_version(None, change("alice", 1)).await.unwrap();
    store.close().await.unwrap();
    db.execute("DROP TABLE counters").await;
    db.execute("DELETE FROM _sqlx_migrations WHERE version = 2")
        .await;
    let store = db.open().await;
    assert_eq!(store.devices_revision().await.unwrap(), 0);
    assert_eq!(store.current_version_number().await.unwrap(), Some(1));
    store.close().await.unwrap();
}

#[test]
fn durability_deserializes_in_kebab_case() {
    let d: Durability = serde_json::from_str("\"power\"").unwrap();
    assert_eq!(d, Durability::Power);
    let d: Durability = serde_json::from_str("\"process\"").unwrap();
    assert_eq!(d, Durability::Process);
    assert_eq!(Durability::default(), Durability::Process);
    assert!(serde_json::from_str::<Durability>("\"Power\"").is_err());
}

// ---- PostgreSQL only ----

/// Needs no server: the schema is checked before connecting.
#[tokio::test]
async fn postgres_schema_must_be_a_plain_identifier() {
    for schema in ["Tenant", "a-b", "1x", "x;drop schema public", ""] {
        let err = Store::connect(
            "postgres://u:secret@127.0.0.1:1/x",
            StoreOptions {
                schema: Some(schema.to_owned()),
                ..StoreOptions::default()
            },
        )
        .await
        .err()
        .unwrap();
        assert!(
            matches!(&err, StoreError::InvalidOptions { reason } if reason.contains(&format!("`{schema}`"))),
            "{err}"
        );
    }
}

/// Needs no server: nothing listens on port 1.
#[tokio::test]
async fn postgres_unreachable_server_is_reported_without_the_password() {
    let err = Store::connect(
        "postgres://gardien:s3cret@127.0.0.1:1/gardien",
        StoreOptions {
            schema: Some("tenant_a".to_owned()),
            ..StoreOptions::default()
        },
    )
    .await
    .err()
    .unwrap();
    let message = err.to_string();
    assert!(matches!(err, StoreError::Open { .. }), "{message}");
    assert!(
        message.contains("postgres://gardien:***@127.0.0.1:1/gardien (schema tenant_a)"),
        "{message}"
    );
    assert!(!message.contains("s3cret"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_location_masks_the_password() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let url = match db.database.split_once("://") {
        Some((scheme, rest)) if !rest.contains('@') => {
            format!("{scheme}://postgres:not-checked@{rest}")
        }
        _ => db.database.clone(),
    };
    let store = Store::connect(&url, db.options()).await.unwrap();
    assert_eq!(store.backend(), "postgres");
    assert!(
        !store.location().contains("not-checked"),
        "{}",
        store.location()
    );
    assert_eq!(store.path(), std::path::Path::new(""));
    store.close().await.unwrap();
}

/// Replicas starting together against an empty database: schema creation and migrations
/// take turns (sqlx's advisory lock), none fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replicas_starting_together_all_migrate() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let opened = futures_join_all((0..4).map(|_| {
        let (database, options) = (db.database.clone(), db.options());
        async move { Store::connect(&database, options).await }
    }))
    .await;
    for store in opened {
        let store = store.unwrap();
        assert_eq!(store.current_version_number().await.unwrap(), None);
        store.close().await.unwrap();
    }
    // Every PostgreSQL migration applied once (crates/gardien-store/migrations/postgres).
    assert_eq!(db.scalar("SELECT COUNT(*) FROM _sqlx_migrations").await, 6);
}

/// Polls every future to completion concurrently (no extra dependency for `join_all`).
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for task in tasks {
        outputs.push(task.await.unwrap());
    }
    outputs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replicas_see_each_others_versions_and_devices() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let a = db.open().await;
    let b = db.open().await;
    let mut feed_b = b.changes().await.unwrap();
    let mut feed_a = a.changes().await.unwrap();

    a.save_version(None, change("alice", 1)).await.unwrap();
    assert_eq!(next_change(&mut feed_b).await, Change::Version(1));
    assert_eq!(next_change(&mut feed_a).await, Change::Version(1));
    assert_eq!(b.current_version_number().await.unwrap(), Some(1));
    assert_eq!(
        b.current_version().await.unwrap().unwrap().snapshot,
        change("alice", 1).snapshot
    );

    b.save_version(Some(1), change("bob", 2)).await.unwrap();
    assert_eq!(next_change(&mut feed_a).await, Change::Version(2));
    assert_eq!(next_change(&mut feed_b).await, Change::Version(2));
    assert_eq!(a.current_version_number().await.unwrap(), Some(2));

    let before = b.devices_revision().await.unwrap();
    a.put_device("d1", &json!({"isCompliant": true}))
        .await
        .unwrap();
    assert_eq!(next_change(&mut feed_b).await, Change::Devices);
    assert!(b.devices_revision().await.unwrap() > before);
    assert_eq!(
        b.devices().await.unwrap(),
        [json!({"isCompliant": true, "deviceId": "d1"})]
    );
    a.close().await.unwrap();
    b.close().await.unwrap();
}

/// Notifications are database-wide: a feed reports only its own schema's changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_feeds_ignore_other_schemas() {
    let (Some(db1), Some(db2)) = (TestDb::postgres().await, TestDb::postgres().await) else {
        return;
    };
    let s1 = db1.open().await;
    let s2 = db2.open().await;
    let mut feed2 = s2.changes().await.unwrap();
    s1.put_device("d", &json!({})).await.unwrap();
    s1.save_version(None, change("one", 1)).await.unwrap();
    s2.save_version(None, change("two", 1)).await.unwrap();
    assert_eq!(next_change(&mut feed2).await, Change::Version(1));
    assert_quiet(&mut feed2).await;
    s1.close().await.unwrap();
    s2.close().await.unwrap();
}

/// When the listening connection dies, the feed reconnects by itself and reports `Missed`;
/// later changes arrive again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_feed_reports_missed_after_losing_its_connection() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let store = db.open().await;
    let mut feed = store.changes().await.unwrap();
    let schema = db.schema.clone().unwrap();
    let terminated = db
        .scalar(&format!(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = 'gardien-changes {schema}'"
        ))
        .await;
    assert_eq!(terminated, 1);
    let change = tokio::time::timeout(Duration::from_secs(5), feed.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(change, Change::Missed);
    store
        .save_version(None, self::change("after", 1))
        .await
        .unwrap();
    assert_eq!(next_change(&mut feed).await, Change::Version(1));
    store.close().await.unwrap();
}

/// A writer that does not take gardien's table lock (a manual INSERT, still uncommitted)
/// cannot have its version overwritten or duplicated: `save_version` waits for it, then
/// reports the conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_save_version_waits_for_an_uncommitted_foreign_version() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let store = db.open().await;
    store.save_version(None, change("alice", 1)).await.unwrap();
    // Hold a version 2 in an open transaction: save_version(Some(1)) waits for the lock,
    // then finds version 2.
    let mut other = db.connect().await;
    other.execute("BEGIN").await;
    other
        .execute(
            "INSERT INTO tenant_versions (version, author, summary, created_ms, diff, snapshot) \
             VALUES (2, 'manual', 'manual', 0, '{}', '{}')",
        )
        .await;
    let saving = tokio::spawn({
        let store = store.clone();
        async move { store.save_version(Some(1), change("bob", 2)).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    other.execute("COMMIT").await;
    other.close().await;
    let err = saving.await.unwrap().err().unwrap();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                expected: Some(1),
                actual: Some(2)
            }
        ),
        "{err}"
    );
    assert_eq!(store.version(2).await.unwrap().unwrap().author, "manual");
    store.close().await.unwrap();
}

fn audit_entry(token: &str, created_ms: i64, status: u16) -> AuditEntry {
    AuditEntry {
        created_ms,
        token: token.to_owned(),
        role: if token == "helpdesk" {
            "reader"
        } else {
            "admin"
        }
        .to_owned(),
        method: "PATCH".to_owned(),
        path: "/v1.0/identity/conditionalAccess/policies/p1?x=1".to_owned(),
        status,
        version: (status == 200).then_some(7),
        author: (token == "ops").then(|| "alice@contoso.example".to_owned()),
    }
}

async fn admin_audit_appends_filters_and_expires(db: TestDb) {
    let store = db.open().await;
    let a = store
        .append_audit(&audit_entry("ops", 1_000, 200))
        .await
        .unwrap();
    let b = store
        .append_audit(&audit_entry("helpdesk", 2_000, 403))
        .await
        .unwrap();
    let c = store
        .append_audit(&audit_entry("ops", 3_000, 409))
        .await
        .unwrap();
    assert!(a < b && b < c, "{a} {b} {c}");
    let all = store.audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![c, b, a],
        "newest first"
    );
    let first = all.last().unwrap();
    assert_eq!(first.token, "ops");
    assert_eq!(first.role, "admin");
    assert_eq!(first.method, "PATCH");
    assert_eq!(
        first.path,
        "/v1.0/identity/conditionalAccess/policies/p1?x=1"
    );
    assert_eq!(first.status, 200);
    assert_eq!(first.version, Some(7));
    assert_eq!(first.author.as_deref(), Some("alice@contoso.example"));
    assert_eq!(first.created_ms, 1_000);
    let helpdesk = store
        .audit(&AuditFilter {
            token: Some("helpdesk".to_owned()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(helpdesk.len(), 1);
    assert_eq!(helpdesk[0].status, 403);
    assert_eq!(helpdesk[0].version, None);
    assert_eq!(helpdesk[0].author, None);
    let window = store
        .audit(&AuditFilter {
            from_ms: Some(2_000),
            to_ms: Some(3_000),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(window.iter().map(|e| e.id).collect::<Vec<_>>(), vec![b]);
    let one = store
        .audit(&AuditFilter {
            limit: Some(1),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(one.iter().map(|e| e.id).collect::<Vec<_>>(), vec![c]);
    assert_eq!(store.delete_audit_before(2_500).await.unwrap(), 2);
    let left = store.audit(&AuditFilter::default()).await.unwrap();
    assert_eq!(left.iter().map(|e| e.id).collect::<Vec<_>>(), vec![c]);
}

/// A revoked console session is listed until its expiry, on every handle and after a
/// reopen; revoking again keeps the later expiry; expired revocations are forgotten.
async fn revoked_sessions_are_kept_until_they_expire(db: TestDb) {
    let store = db.open().await;
    store.revoke_session("s-old", 1_000, 0).await.unwrap();
    store.revoke_session("s-new", 5_000, 0).await.unwrap();
    store.revoke_session("s-new", 4_000, 0).await.unwrap();
    let mut listed = store.revoked_sessions(2_000).await.unwrap();
    listed.sort();
    assert_eq!(listed, vec![("s-new".to_owned(), 5_000)]);
    assert!(matches!(
        store.revoke_session("", 9_000, 0).await,
        Err(StoreError::InvalidSessionId { len: 0 })
    ));
    assert!(
        store
            .revoke_session(&"x".repeat(129), 9_000, 0)
            .await
            .is_err()
    );
    // A later revocation forgets the expired ones.
    store.revoke_session("s-3", 9_000, 2_000).await.unwrap();
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM console_revoked_sessions")
            .await,
        2
    );
    store.close().await.unwrap();
    let store = db.open().await;
    let mut listed = store.revoked_sessions(0).await.unwrap();
    listed.sort();
    assert_eq!(
        listed,
        vec![("s-3".to_owned(), 9_000), ("s-new".to_owned(), 5_000)]
    );
    store.close().await.unwrap();
}
