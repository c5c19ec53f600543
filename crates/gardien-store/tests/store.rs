//! End-to-end tests of the store on real SQLite files: opening, migrations, tenant versions,
//! devices.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::path::Path;

use gardien_store::{Durability, NewVersion, Store, StoreError, StoreOptions};
use serde_json::json;
use sqlx::{ConnectOptions as _, Connection as _};

async fn open(path: &Path) -> Store {
    Store::open(path, StoreOptions::default()).await.unwrap()
}

fn change(author: &str, n: i64) -> NewVersion {
    NewVersion {
        author: author.to_owned(),
        summary: format!("change {n}"),
        created_ms: 1_700_000_000_000 + n,
        diff: json!({"added": [format!("policy-{n}")]}),
        snapshot: json!({"policies": [{"id": format!("policy-{n}"), "state": "enabled"}]}),
    }
}

/// Rows of `_sqlx_migrations`, read with a connection of our own.
async fn applied_migrations(path: &Path) -> i64 {
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .connect()
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    n
}

#[tokio::test]
async fn open_creates_parent_directories_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/gardien.db");
    let store = open(&path).await;
    assert_eq!(store.path(), path);
    assert!(path.is_file());
    store.save_version(None, change("alice", 1)).await.unwrap();
    store
        .put_device("d1", &json!({"deviceId": "d1"}))
        .await
        .unwrap();
    store.close().await.unwrap();

    for _ in 0..3 {
        let store = open(&path).await;
        assert_eq!(store.current_version().await.unwrap().unwrap().version, 1);
        assert_eq!(store.devices().await.unwrap().len(), 1);
        store.close().await.unwrap();
    }
    assert_eq!(applied_migrations(&path).await, 2);
}

#[tokio::test]
async fn both_durability_modes_open_in_wal() {
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

#[test]
fn durability_deserializes_in_kebab_case() {
    let d: Durability = serde_json::from_str("\"power\"").unwrap();
    assert_eq!(d, Durability::Power);
    let d: Durability = serde_json::from_str("\"process\"").unwrap();
    assert_eq!(d, Durability::Process);
    assert_eq!(Durability::default(), Durability::Process);
    assert!(serde_json::from_str::<Durability>("\"Power\"").is_err());
}

#[tokio::test]
async fn invalid_options_and_unopenable_paths_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.db");
    for options in [
        StoreOptions {
            max_batch: 0,
            ..StoreOptions::default()
        },
        StoreOptions {
            queue: 0,
            ..StoreOptions::default()
        },
    ] {
        let err = Store::open(&path, options).await.err().unwrap();
        assert!(matches!(err, StoreError::InvalidOptions { .. }), "{err}");
    }
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

#[tokio::test]
async fn versions_are_numbered_listed_newest_first_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("v.db")).await;
    assert_eq!(store.current_version().await.unwrap(), None);
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
    assert_eq!(store.version(99).await.unwrap(), None);

    // camelCase on the wire.
    let wire = serde_json::to_value(&list[0]).unwrap();
    assert_eq!(wire["createdMs"], json!(1_700_000_000_003_i64));
    store.close().await.unwrap();
}

#[tokio::test]
async fn save_version_conflict_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("c.db")).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_saves_on_the_same_version_accept_exactly_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("race.db")).await;
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

#[tokio::test]
async fn devices_put_delete_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("d.db")).await;
    assert!(store.devices().await.unwrap().is_empty());

    let b = json!({"deviceId": "b", "isCompliant": false});
    assert!(store.put_device("b", &b).await.unwrap());
    assert!(
        store
            .put_device("a", &json!({"deviceId": "a"}))
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
    assert_eq!(store.devices().await.unwrap().len(), 3);

    assert!(store.delete_device("a").await.unwrap());
    assert!(!store.delete_device("a").await.unwrap());
    assert_eq!(store.devices().await.unwrap().len(), 2);
    store.close().await.unwrap();
}

#[tokio::test]
async fn replace_devices_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let store = open(&path).await;
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

    let store = open(&path).await;
    assert_eq!(store.devices().await.unwrap().len(), 500);
    store.replace_devices(&[]).await.unwrap();
    assert!(store.devices().await.unwrap().is_empty());
    store.close().await.unwrap();
}

#[tokio::test]
async fn closed_store_reports_closed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("closed.db")).await;
    store.close().await.unwrap();
    store.close().await.unwrap();
    assert!(matches!(
        store.current_version().await,
        Err(StoreError::Closed)
    ));
    assert!(matches!(store.devices().await, Err(StoreError::Closed)));
    assert!(matches!(
        store.save_version(None, change("late", 1)).await,
        Err(StoreError::Closed)
    ));
}

#[tokio::test]
async fn connect_sqlite_feed_and_revisions() {
    use gardien_store::Change;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.db");
    let store = Store::connect(
        &format!("sqlite://{}", path.display()),
        StoreOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(store.backend(), "sqlite");
    assert_eq!(store.location(), path.display().to_string());
    assert_eq!(store.path(), path);
    assert_eq!(store.current_version_number().await.unwrap(), None);
    assert_eq!(store.devices_revision().await.unwrap(), 0);
    let mut feed = store.changes().await.unwrap();
    store.save_version(None, change("alice", 1)).await.unwrap();
    assert_eq!(feed.next().await.unwrap(), Change::Version(1));
    assert_eq!(store.current_version_number().await.unwrap(), Some(1));
    store.put_device("d", &json!({})).await.unwrap();
    assert_eq!(feed.next().await.unwrap(), Change::Devices);
    assert!(!store.delete_device("nope").await.unwrap());
    assert_eq!(store.devices_revision().await.unwrap(), 1);
    store.close().await.unwrap();
    assert!(matches!(feed.next().await, Err(StoreError::Closed)));
}
