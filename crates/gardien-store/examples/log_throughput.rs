//! Sustained sign-in log throughput: concurrent tasks append ~1.7 KB Graph `signIn` records
//! through the group commit; prints the rate every 2 s and the total.
//!
//! `cargo run --release -p gardien-store --example log_throughput -- \
//!     [records=500000] [tasks=512] [process|power] [max_batch=4096] [wait|nowait]`
//!
//! `LOG_COMMIT_INTERVAL_US`: the store's `commit_interval` in µs (default 500; 0 commits as
//! soon as anything is queued).
//! `LOG_USERS` (default 1000) and `LOG_APPS` (default 20): distinct users and applications,
//! in turn. Also prints what the process wrote and read per record and each thread's CPU
//! time per record.
//!
//! `wait`: each task calls `append` and waits for the commit (tasks = requests in flight);
//! `nowait`: `append_nowait`, backing off 1 ms on `QueueFull`. The database goes in a
//! temporary directory (`$TMPDIR`, default /tmp); with `GARDIEN_BENCH_DATABASE_URL` set
//! (`postgres://...`), in a new schema of that PostgreSQL database, dropped at the end.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "example"
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use gardien_store::{Durability, StoreOptions};

fn main() {
    let mut args = std::env::args().skip(1);
    let records: u64 = args.next().map_or(500_000, |a| a.parse().unwrap());
    let tasks: u64 = args.next().map_or(512, |a| a.parse().unwrap());
    let durability = match args.next().as_deref() {
        None | Some("process") => Durability::Process,
        Some("power") => Durability::Power,
        Some(other) => panic!("durability must be process or power, not {other}"),
    };
    let max_batch: usize = args
        .next()
        .map_or(StoreOptions::default().max_batch, |a| a.parse().unwrap());
    let nowait = args.next().as_deref() == Some("nowait");
    let (users, apps): (u64, u64) = (
        common::env_or("LOG_USERS", 1000),
        common::env_or("LOG_APPS", 20),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = common::bench_db().await;
        let store = db
            .open_with(StoreOptions {
                durability,
                commit_interval: common::commit_interval_from_env(),
                max_batch,
                ..StoreOptions::default()
            })
            .await;
        let next = Arc::new(AtomicU64::new(0));
        let io_before = common::process_io();
        let cpu_before = common::thread_cpu();
        let start = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..tasks {
            let log = store.log().clone();
            let next = Arc::clone(&next);
            handles.push(tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= records {
                        break;
                    }
                    let record =
                        || common::nth_among(n, 1_700_000_000_000 + n as i64 / 50, users, apps);
                    if nowait {
                        // On a full queue, back off and build the record again.
                        while let Err(e) = log.append_nowait(record()) {
                            assert!(matches!(e, gardien_store::StoreError::QueueFull { .. }), "{e}");
                            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                        }
                    } else {
                        log.append(record()).await.unwrap();
                    }
                }
            }));
        }
        let reporter = {
            let log = store.log().clone();
            tokio::spawn(async move {
                let mut last = (Instant::now(), 0);
                let mut interval = tokio::time::interval(std::time::Duration::from_secs(2));
                interval.tick().await;
                loop {
                    interval.tick().await;
                    let (now, done) = (Instant::now(), log.committed());
                    eprintln!(
                        "{done} records, {:.0}/s over the last {:.1} s",
                        (done - last.1) as f64 / (now - last.0).as_secs_f64(),
                        (now - last.0).as_secs_f64()
                    );
                    last = (now, done);
                }
            })
        };
        for h in handles {
            h.await.unwrap();
        }
        store.log().flush().await.unwrap();
        let elapsed = start.elapsed();
        let io_after = common::process_io();
        let cpu_after = common::thread_cpu();
        reporter.abort();
        let log = store.log();
        println!(
            "{records} records ({}, {durability:?}, {tasks} tasks, {}, max_batch {max_batch}) in {:.2} s: {:.0} records/s, {} batches ({:.0} records per batch)",
            store.backend(),
            if nowait { "nowait" } else { "wait" },
            elapsed.as_secs_f64(),
            records as f64 / elapsed.as_secs_f64(),
            log.batches(),
            log.committed() as f64 / log.batches().max(1) as f64
        );
        let per = |i: usize| (io_after[i] - io_before[i]) as f64 / records as f64;
        println!(
            "per record: {:.0} bytes written in {:.2} write calls, {:.0} bytes read in {:.2} read calls (whole process)",
            per(0),
            per(1),
            per(2),
            per(3)
        );
        println!("CPU time per record by thread (schedstat; the tasks run on tokio-runtime-w):");
        common::print_thread_cpu(&cpu_before, &cpu_after, records);
        store.close().await.unwrap();
    });
}
