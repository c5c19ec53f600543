//! Sustained sign-in log append throughput (group commit) with ~1.7 KB Graph `signIn`
//! records, on a 2-worker tokio runtime:
//!
//! - `wait/512`: 512 concurrent `append` calls (in-flight requests waiting for the commit);
//! - `nowait`: `append_nowait` from 64 tasks (backing off on `QueueFull`), then `flush`;
//! - `wait_power/512`: as `wait/512` with `Durability::Power` (fsync per commit).
//!
//! With `GARDIEN_BENCH_DATABASE_URL=postgres://...` set, the same against PostgreSQL, each
//! in a new schema dropped afterwards: `pg_wait/64` (64 concurrent `append`), `pg_nowait`,
//! `pg_wait_power/64` (the server's `synchronous_commit`).
//!
//! `cargo bench -p gardien-store --bench log`. For a longer run printing the rate as it
//! goes, see `examples/log_throughput.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "benchmark"
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::TestDb;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gardien_store::{Durability, SignInLog, StoreError, StoreOptions};

/// Appends `count` records numbered from `next`, from `tasks` tasks; returns the time taken
/// until all are committed.
async fn run(
    log: &SignInLog,
    next: &Arc<AtomicU64>,
    count: u64,
    tasks: u64,
    wait: bool,
) -> Duration {
    let start = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let log = log.clone();
        let next = Arc::clone(next);
        let mine = count / tasks + u64::from(t < count % tasks);
        handles.push(tokio::spawn(async move {
            for _ in 0..mine {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let record = || common::nth(n, 1_700_000_000_000 + n as i64 / 50);
                if wait {
                    log.append(record()).await.unwrap();
                } else {
                    while let Err(e) = log.append_nowait(record()) {
                        assert!(matches!(e, StoreError::QueueFull { .. }), "{e}");
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    log.flush().await.unwrap();
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let size = common::nth(1, 0).record.len();
    eprintln!("record: {size} bytes of JSON");

    let mut group = c.benchmark_group("sign_in_log");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    let mut cases = vec![
        ("wait/512", false, Durability::Process, 512, true),
        ("nowait", false, Durability::Process, 64, false),
        ("wait_power/512", false, Durability::Power, 512, true),
    ];
    let pg_url = std::env::var("GARDIEN_BENCH_DATABASE_URL").ok();
    if pg_url.is_some() {
        cases.extend([
            ("pg_wait/64", true, Durability::Process, 64, true),
            ("pg_nowait", true, Durability::Process, 64, false),
            ("pg_wait_power/64", true, Durability::Power, 64, true),
        ]);
    }
    for (name, postgres, durability, tasks, wait) in cases {
        let db = match (&pg_url, postgres) {
            (Some(url), true) => rt
                .block_on(TestDb::postgres_at(url))
                .expect("PostgreSQL unreachable"),
            _ => TestDb::sqlite(),
        };
        let store = rt.block_on(db.open_with(StoreOptions {
            durability,
            ..StoreOptions::default()
        }));
        let next = Arc::new(AtomicU64::new(0));
        group.bench_function(name, |b| {
            b.iter_custom(|iters| rt.block_on(run(store.log(), &next, iters, tasks, wait)));
        });
        let log = store.log();
        eprintln!(
            "{name}: {} records in {} batches ({:.0} records per batch)",
            log.committed(),
            log.batches(),
            log.committed() as f64 / log.batches().max(1) as f64
        );
        rt.block_on(store.close()).unwrap();
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
