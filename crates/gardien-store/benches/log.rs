//! Sustained sign-in log append throughput (group commit), records of ~1.5 KB.
//!
//! `cargo bench -p gardien-store --bench log`

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

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gardien_store::{Durability, Store, StoreOptions};

/// Concurrent appenders (in-flight requests of the server).
const TASKS: u64 = 512;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let serialized = serde_json::to_string(&common::nth(1, 0).record)
        .unwrap()
        .len();
    eprintln!("record size: {serialized} bytes of JSON");

    let mut group = c.benchmark_group("sign_in_log");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    for (name, durability) in [
        ("process", Durability::Process),
        ("power", Durability::Power),
    ] {
        let store = rt
            .block_on(Store::open(
                &dir.path().join(format!("{name}.db")),
                StoreOptions {
                    durability,
                    ..StoreOptions::default()
                },
            ))
            .unwrap();
        let next = Arc::new(AtomicU64::new(0));
        group.bench_function(format!("append_{name}_{TASKS}_tasks"), |b| {
            b.iter_custom(|iters| {
                let store = store.clone();
                let next = Arc::clone(&next);
                rt.block_on(async move {
                    let start = Instant::now();
                    let mut tasks = Vec::new();
                    for t in 0..TASKS {
                        let log = store.log().clone();
                        let next = Arc::clone(&next);
                        let count = iters / TASKS + u64::from(t < iters % TASKS);
                        tasks.push(tokio::spawn(async move {
                            for _ in 0..count {
                                let n = next.fetch_add(1, Ordering::Relaxed);
                                log.append(common::nth(n, 1_700_000_000_000 + n as i64))
                                    .await
                                    .unwrap();
                            }
                        }));
                    }
                    for task in tasks {
                        task.await.unwrap();
                    }
                    start.elapsed()
                })
            });
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
