//! Sign-in log latency under a fixed offered load (open loop): appends ~1.7 KB Graph
//! `signIn` records at a fixed rate, each from a task of its own, and measures every
//! append's latency from its **intended** start (so a stall counts for every record it
//! delays). Prints the percentiles, the stalls (runs of appends slower than a threshold)
//! with their time since start, and what the process wrote and read per record
//! (`/proc/self/io`: bytes and system calls, every thread).
//!
//! `cargo run --release -p gardien-store --example log_open_loop -- \
//!     [rate=14000] [seconds=20] [process|power] [stall_ms=5]`
//!
//! `LOG_COMMIT_INTERVAL_US`: the store's `commit_interval` in µs (default 500; 0 commits as
//! soon as anything is queued).
//! `LOG_USERS` (default 1000) and `LOG_APPS` (default 20): distinct users and applications,
//! in turn (each leads an index of the log, so their number sets how many index pages a
//! batch touches). With `RUST_LOG_WRITER=1` the store's debug events (the writer's WAL restarts, slow
//! batches) are printed with the time since start, to match them with the stalls. The
//! database goes in a temporary directory (`$TMPDIR`, default /tmp); with
//! `GARDIEN_BENCH_DATABASE_URL` set (`postgres://...`), in a new schema of that PostgreSQL
//! database, dropped at the end.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "example"
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use gardien_store::{Durability, StoreOptions};

fn main() {
    let epoch = Instant::now();
    if std::env::var("RUST_LOG_WRITER").is_ok_and(|v| v == "1") {
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;
        // The store's events only, not every SQL statement of sqlx.
        let targets = tracing_subscriber::filter::Targets::new()
            .with_target("gardien_store", tracing::Level::DEBUG);
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_timer(tracing_subscriber::fmt::time::Uptime::from(epoch))
                    .with_writer(std::io::stderr),
            )
            .with(targets)
            .init();
    }
    let mut args = std::env::args().skip(1);
    let rate: f64 = args.next().map_or(14_000.0, |a| a.parse().unwrap());
    let seconds: f64 = args.next().map_or(20.0, |a| a.parse().unwrap());
    let durability = match args.next().as_deref() {
        None | Some("process") => Durability::Process,
        Some("power") => Durability::Power,
        Some(other) => panic!("durability must be process or power, not {other}"),
    };
    let users: u64 = common::env_or("LOG_USERS", 1000);
    let apps: u64 = common::env_or("LOG_APPS", 20);
    let stall = Duration::from_millis(args.next().map_or(5, |a| a.parse().unwrap()));
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
                ..StoreOptions::default()
            })
            .await;
        let total = (rate * seconds) as u64;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Duration, Duration)>();
        let io_before = common::process_io();
        let cpu_before = common::thread_cpu();
        let start = Instant::now() + Duration::from_millis(50);
        // The schedule runs on a thread of its own with the OS's sleep (tokio's timer has
        // millisecond steps, which would send the records in bursts); each record is
        // appended from a task of the runtime.
        let handle = tokio::runtime::Handle::current();
        let log = store.log().clone();
        let scheduler = std::thread::spawn(move || {
            let mut late = Duration::ZERO;
            for k in 0..total {
                let intended = start + Duration::from_secs_f64(k as f64 / rate);
                let now = Instant::now();
                if now < intended {
                    std::thread::sleep(intended - now);
                } else {
                    late = late.max(now - intended);
                }
                let log = log.clone();
                let tx = tx.clone();
                handle.spawn(async move {
                    let created = 1_700_000_000_000 + (intended - start).as_millis() as i64;
                    log.append(common::nth_among(k, created, users, apps)).await.unwrap();
                    let _ = tx.send((intended - epoch, intended.elapsed()));
                });
            }
            late
        });
        let mut done = Vec::with_capacity(total as usize);
        while let Some(d) = rx.recv().await {
            done.push(d);
        }
        let late_spawns = scheduler.join().unwrap();
        let elapsed = start.elapsed();
        let io_after = common::process_io();
        let cpu_after = common::thread_cpu();
        done.sort_unstable_by_key(|d| d.0);
        let mut lat: Vec<Duration> = done.iter().map(|d| d.1).collect();
        lat.sort_unstable();
        let pct = |p: f64| {
            let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len().max(1)) - 1;
            lat.get(i).copied().unwrap_or_default()
        };
        let log = store.log();
        println!(
            "{total} records offered at {rate:.0}/s ({}, {durability:?}) in {:.2} s; {} batches ({:.1} records per batch)",
            store.backend(),
            elapsed.as_secs_f64(),
            log.batches(),
            log.committed() as f64 / log.batches().max(1) as f64
        );
        println!(
            "latency from the intended start: p50 {:?}, p99 {:?}, p99.9 {:?}, max {:?} (scheduler's own lateness up to {:?})",
            pct(0.50),
            pct(0.99),
            pct(0.999),
            pct(1.0),
            late_spawns
        );
        let per = |i: usize| (io_after[i] - io_before[i]) as f64 / total as f64;
        println!(
            "per record: {:.0} bytes written in {:.2} write calls, {:.0} bytes read in {:.2} read calls (whole process)",
            per(0),
            per(1),
            per(2),
            per(3)
        );
        println!("CPU time per record by thread (schedstat):");
        common::print_thread_cpu(&cpu_before, &cpu_after, total);
        // Runs of appends slower than `stall`, by intended start.
        let mut runs: Vec<(Duration, Duration, Duration, usize)> = Vec::new();
        for &(at, l) in &done {
            if l < stall {
                continue;
            }
            match runs.last_mut() {
                Some(run) if at <= run.1 + Duration::from_millis(2) => {
                    run.1 = at;
                    run.2 = run.2.max(l);
                    run.3 += 1;
                }
                _ => runs.push((at, at, l, 1)),
            }
        }
        println!("{} stalls (appends slower than {stall:?}):", runs.len());
        for (from, to, worst, count) in runs {
            println!(
                "  at {:.3} s (+{:.1} ms): {count} appends, worst {:.1} ms",
                from.as_secs_f64(),
                (to - from).as_secs_f64() * 1e3,
                worst.as_secs_f64() * 1e3
            );
        }
        store.close().await.unwrap();
    });
}
