//! Sustained sign-in log throughput: `TASKS` concurrent appenders (in-flight requests) each
//! append ~1.7 KB Graph signIn records and wait for the group commit.
//!
//! `cargo run --release -p gardien-store --example log_throughput -- [records] [tasks] [durability]`

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

use gardien_store::{Durability, Store, StoreOptions};

fn main() {
    let mut args = std::env::args().skip(1);
    let records: u64 = args.next().map_or(500_000, |a| a.parse().unwrap());
    let tasks: u64 = args.next().map_or(512, |a| a.parse().unwrap());
    let durability = match args.next().as_deref() {
        None | Some("process") => Durability::Process,
        Some("power") => Durability::Power,
        Some(other) => panic!("durability must be process or power, not {other}"),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir =
        tempfile::tempdir_in(std::env::var_os("TMPDIR").unwrap_or_else(|| ".".into())).unwrap();
    rt.block_on(async {
        let store = Store::open(
            &dir.path().join("log.db"),
            StoreOptions {
                durability,
                ..StoreOptions::default()
            },
        )
        .await
        .unwrap();
        let next = Arc::new(AtomicU64::new(0));
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
                    log.append(common::nth(n, 1_700_000_000_000 + n as i64 / 50))
                        .await
                        .unwrap();
                }
            }));
        }
        let mut last = (Instant::now(), 0);
        let mut interval = tokio::time::interval(std::time::Duration::from_secs(2));
        interval.tick().await;
        while !handles.iter().all(|h| h.is_finished()) {
            interval.tick().await;
            let (now, done) = (Instant::now(), store.log().committed());
            eprintln!(
                "{done} records, {:.0}/s over the last {:.1} s",
                (done - last.1) as f64 / (now - last.0).as_secs_f64(),
                (now - last.0).as_secs_f64()
            );
            last = (now, done);
        }
        for h in handles {
            h.await.unwrap();
        }
        let elapsed = start.elapsed();
        let log = store.log();
        println!(
            "{records} records ({durability:?}, {tasks} tasks) in {:.2} s: {:.0} records/s, {} batches ({:.0} records per batch)",
            elapsed.as_secs_f64(),
            records as f64 / elapsed.as_secs_f64(),
            log.batches(),
            log.committed() as f64 / log.batches().max(1) as f64
        );
        store.close().await.unwrap();
    });
}
