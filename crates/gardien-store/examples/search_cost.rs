//! The cost of one sign-in search on a large SQLite log, for instruction counts
//! (`valgrind --tool=callgrind`) and CPU time, without the server around it.
//!
//! `cargo run --release -p gardien-store --example search_cost -- <file> fill [records=1000000]`
//! writes a log of the console bench's shape into a new SQLite file (3 users, 2 applications,
//! 60 % allow / 10 % challenge / 30 % deny, codes 53003 20 % and 53000 10 %, one sign-in
//! every 500 ms); then
//! `... -- <file> <plain|bounded=READS|all=READS|none> [user=..] [app=..] [result=..] [code=..]`
//! opens it and runs one search page of 100 (`SignInLog::search`, or `search_bounded` with
//! that many index entries; `all`: the same, following `next` while pages stop early), and
//! prints the pages, rows and CPU time. `none` opens the store only: subtract its count.
//! Users: `u0`..`u2` (`u9` matches nothing); applications `a0`, `a1`. A `postgres://` URL
//! instead of the file uses PostgreSQL, in the schema `SEARCH_COST_SCHEMA` (default
//! `search_cost`; `VACUUM (ANALYZE)` after the fill).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "example"
)]

use std::path::Path;
use std::time::Instant;

use gardien_store::{SignInFilter, SignInRecord, Store, StoreOptions};

const USERS: [&str; 3] = [
    "a1a1a1a1-0000-4000-8000-000000000001",
    "b2b2b2b2-0000-4000-8000-000000000002",
    "c3c3c3c3-0000-4000-8000-000000000003",
];
const APPS: [&str; 2] = [
    "c0ffee00-0000-4000-8000-000000000100",
    "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
];

fn cpu_ms() -> f64 {
    // Process CPU time (user + system), from /proc: no unsafe, no extra crate.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) * 10.0
}

async fn fill(store: &Store, n: usize) {
    let outcomes = [
        ("allow", None),
        ("allow", None),
        ("allow", None),
        ("allow", None),
        ("allow", None),
        ("allow", None),
        ("challenge", None),
        ("deny", Some(53003u32)),
        ("deny", Some(53000)),
        ("deny", Some(53003)),
    ];
    let log = store.log();
    let mut pending = Vec::with_capacity(4096);
    for i in 0..n {
        let id = format!("{:08x}-0000-4000-8000-{:012x}", i / 65536, i);
        let (decision, code) = outcomes[(i * 7) % outcomes.len()];
        let record = serde_json::json!({
            "id": id, "correlationId": id, "userId": USERS[i % 3],
            "appId": APPS[(i / 3) % 2], "status": {"errorCode": code.unwrap_or(0)},
            "gardien": {"decision": decision}
        })
        .to_string();
        let r = SignInRecord {
            id,
            created_ms: 1_790_000_000_000 + i as i64 * 500,
            user_id: USERS[i % 3].to_owned(),
            app_id: APPS[(i / 3) % 2].to_owned(),
            decision: decision.to_owned(),
            error_code: code,
            record,
            fragments: None,
        };
        let log = log.clone();
        pending.push(tokio::spawn(async move { log.append(r).await }));
        if pending.len() == 4096 {
            for p in pending.drain(..) {
                p.await.unwrap().unwrap();
            }
        }
    }
    for p in pending.drain(..) {
        p.await.unwrap().unwrap();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let location = args.first().expect("the SQLite file or a postgres:// URL");
    let path = Path::new(location);
    let mode = args.get(1).map_or("none", String::as_str);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = if location.starts_with("postgres://") {
            let options = StoreOptions {
                schema: Some(
                    std::env::var("SEARCH_COST_SCHEMA").unwrap_or_else(|_| "search_cost".into()),
                ),
                ..StoreOptions::default()
            };
            Store::connect(location, options).await.unwrap()
        } else {
            Store::open(path, StoreOptions::default()).await.unwrap()
        };
        if mode == "fill" {
            let n = args.get(2).map_or(1_000_000, |a| a.parse().unwrap());
            let started = Instant::now();
            fill(&store, n).await;
            store.log().refresh_statistics().await.unwrap();
            println!("{n} records in {:.1} s", started.elapsed().as_secs_f64());
            store.close().await.unwrap();
            return;
        }
        let mut filter = SignInFilter {
            limit: Some(100),
            ..SignInFilter::default()
        };
        for arg in args.iter().skip(2) {
            let (k, v) = arg.split_once('=').expect("name=value");
            let pick = |list: &[&str], v: &str| {
                v.strip_prefix(['u', 'a'])
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| list.get(i).map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| format!("absent-{v}"))
            };
            match k {
                "user" => filter.user = Some(pick(&USERS, v)),
                "app" => filter.app = Some(pick(&APPS, v)),
                "result" => filter.decision = Some(v.to_owned()),
                "code" => filter.error_code = Some(v.parse().unwrap()),
                other => panic!("unknown filter {other}"),
            }
        }
        let follow = mode.starts_with("all=");
        let reads = mode
            .strip_prefix("bounded=")
            .or_else(|| mode.strip_prefix("all="))
            .map(|r| r.parse::<usize>().unwrap());
        if mode == "none" {
            store.close().await.unwrap();
            return;
        }
        let cpu = cpu_ms();
        let started = Instant::now();
        let mut pages = 0;
        let mut rows = 0;
        loop {
            let page = match reads {
                Some(reads) => store.log().search_bounded(&filter, reads).await.unwrap(),
                None => store.log().search(&filter).await.unwrap(),
            };
            pages += 1;
            rows += page.records.len();
            if pages == 1 {
                println!(
                    "first page: {} rows in {:.2} ms, CPU {:.0} ms{}",
                    page.records.len(),
                    started.elapsed().as_secs_f64() * 1e3,
                    cpu_ms() - cpu,
                    page.searched_to
                        .map(|t| format!(", searched back to {t}"))
                        .unwrap_or_default()
                );
            }
            match (page.searched_to, page.next) {
                (Some(_), Some(next)) if follow => filter.before = Some(next),
                _ => break,
            }
        }
        println!(
            "{pages} pages to a full page or the end, {rows} rows, {:.2} ms, CPU {:.0} ms",
            started.elapsed().as_secs_f64() * 1e3,
            cpu_ms() - cpu
        );
        store.close().await.unwrap();
    });
}
