#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! The sign-in log's acknowledgement contract, across a crash.
//!
//! `gardien serve --config` with the log on disk (`[store] path`) and
//! `[log] acknowledge = "committed"`: eight client threads fire forward-auth requests as
//! fast as they can over real TCP; every correlation id answered with
//! `gardien-log: committed` is written down; once hundreds have been, the server gets
//! SIGKILL in the middle of the load (no shutdown handler, no final flush; requests in
//! flight fail). A fresh server on the same configuration must then start on the same
//! SQLite file (so it is not corrupt: `/readyz` answers 200) and export (`GET
//! /v1/signins/export`, admin token) a log holding EVERY acknowledged correlation id, each
//! once. More than 50 acknowledgements before the kill are required, so the check cannot
//! pass on an empty run.
//!
//! A second test runs the same load with `acknowledge = "queued"`: it asserts that those
//! answers say `gardien-log: queued` and that the restarted server is sound, and prints how
//! many acknowledged records the crash lost (allowed in that mode: the last batch).

#[path = "support/mod.rs"]
mod support;

use serde_json::Value;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{Gardien, TempDir};

const TOKEN: &str = "durability-test-admin-token-0123456789";
const THREADS: usize = 8;
/// The server is killed once this many answers were acknowledged.
const KILL_AFTER: usize = 600;
/// Each thread stops after this many requests, whatever happens (a bound, never reached
/// when the kill happens).
const MAX_PER_THREAD: usize = 20_000;
const WIKI: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";
const USERS: [&str; 3] = [
    "a1a1a1a1-0000-4000-8000-000000000001",
    "b2b2b2b2-0000-4000-8000-000000000002",
    "c3c3c3c3-0000-4000-8000-000000000003",
];

fn toml_string(path: &Path) -> String {
    let text = path.display().to_string();
    assert!(
        !text.contains(['"', '\\']),
        "unexpected characters in {text}"
    );
    format!("\"{text}\"")
}

fn write_config(dir: &Path, listen: SocketAddr, acknowledge: &str) -> std::path::PathBuf {
    let tenant = support::repo_root().join("examples/demo/tenant");
    let config = format!(
        r#"listen = "{listen}"
tenant = {tenant}

[store]
path = {db}

[log]
acknowledge = "{acknowledge}"

[signals]
trusted_proxies = ["127.0.0.0/8"]

[identity.headers]

[[apps]]
host = "*"
app_id = "{WIKI}"
name = "Wiki"

[admin]
token_sha256 = "{hash}"
"#,
        tenant = toml_string(&tenant),
        db = toml_string(&dir.join("gardien.db")),
        hash = support::hash_token(TOKEN),
    );
    let path = dir.join("gardien.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// What the load saw.
#[derive(Debug, Default)]
struct Load {
    /// Correlation ids of answers that carried the expected `gardien-log` value.
    acknowledged: Vec<String>,
    /// Answers with another `gardien-log` value (or none).
    other: Vec<String>,
    /// Requests that got no complete answer.
    failed: usize,
    /// Acknowledged answers when the kill was sent.
    at_kill: usize,
    /// How long the load ran before the kill.
    elapsed: Duration,
}

/// Fires forward-auth requests from [`THREADS`] threads until the server is gone, and
/// SIGKILLs it after [`KILL_AFTER`] acknowledgements carrying `gardien-log: <expected>`.
fn load_then_kill(server: &mut Gardien, expected: &'static str) -> Load {
    let addr = server.addr;
    let acked = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let result = Arc::new(Mutex::new(Load::default()));
    let started = Instant::now();
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (acked, killed, result) = (acked.clone(), killed.clone(), result.clone());
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                let mut other = Vec::new();
                let mut failed = 0;
                for i in 0..MAX_PER_THREAD {
                    let user = USERS[(t + i) % USERS.len()];
                    let ip = format!("198.51.100.{}", 1 + (t * 31 + i) % 250);
                    let uri = format!("/page/{t}/{i}");
                    let headers = [
                        ("Remote-User", user),
                        ("X-Forwarded-For", ip.as_str()),
                        ("X-Original-URI", uri.as_str()),
                        ("X-Forwarded-Host", "wiki.contoso.example"),
                        ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
                    ];
                    match support::get(addr, "/v1/forward-auth", &headers) {
                        Ok(r) => {
                            let cid = r.header("x-gardien-correlation-id").unwrap_or("").to_owned();
                            if r.header("gardien-log") == Some(expected) && !cid.is_empty() {
                                mine.push(cid);
                                acked.fetch_add(1, Ordering::SeqCst);
                            } else {
                                other.push(format!("{} {:?}", r.status, r.header("gardien-log")));
                            }
                        }
                        Err(_) => {
                            failed += 1;
                            if killed.load(Ordering::SeqCst) {
                                break;
                            }
                            // Before the kill, failures are unexpected: stop early so the
                            // acknowledgement count, not a hang, reports it.
                            if failed > 20 {
                                break;
                            }
                        }
                    }
                }
                let mut r = result.lock().unwrap();
                r.acknowledged.extend(mine);
                r.other.extend(other);
                r.failed += failed;
            })
        })
        .collect();

    let deadline = Instant::now() + Duration::from_secs(120);
    while acked.load(Ordering::SeqCst) < KILL_AFTER && Instant::now() < deadline {
        if workers.iter().all(std::thread::JoinHandle::is_finished) {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let at_kill = acked.load(Ordering::SeqCst);
    let elapsed = started.elapsed();
    // The flag first: from now on a failed request ends its thread.
    killed.store(true, Ordering::SeqCst);
    server.kill();
    for w in workers {
        w.join().unwrap();
    }
    let mut load = std::mem::take(&mut *result.lock().unwrap());
    load.at_kill = at_kill;
    load.elapsed = elapsed;
    load
}

/// Restarts on the same configuration: ready, and the exported log's correlation ids.
fn restart_and_export(dir: &Path, config: &Path) -> (Gardien, Vec<String>) {
    let config = config.display().to_string();
    let server = Gardien::start(dir, "gardien-restarted", &["--config", &config]);
    let ready = support::get(server.addr, "/readyz", &[]).unwrap();
    assert_eq!(
        ready.status,
        200,
        "the restarted server is not ready: {ready:?}\n{}",
        server.output()
    );
    assert_eq!(ready.json()["status"], "ready", "{ready:?}");
    let closed = support::get(server.addr, "/v1/signins/export", &[]).unwrap();
    assert_eq!(
        closed.status, 401,
        "the admin API needs the token: {closed:?}"
    );
    let bearer = format!("Bearer {TOKEN}");
    let export = support::get(
        server.addr,
        "/v1/signins/export",
        &[("Authorization", bearer.as_str())],
    )
    .unwrap();
    assert_eq!(export.status, 200, "{export:?}");
    let ids = export
        .text()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let record: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("export line is not JSON ({e}): {line}"));
            record["correlationId"]
                .as_str()
                .unwrap_or_else(|| panic!("record without correlationId: {line}"))
                .to_owned()
        })
        .collect();
    (server, ids)
}

#[test]
fn committed_acknowledgements_survive_sigkill() {
    let tmp = TempDir::new("durability");
    let listen = support::free_addr();
    let config = write_config(tmp.path(), listen, "committed");
    let config_arg = config.display().to_string();
    let mut server = Gardien::start_at(tmp.path(), "gardien", &["--config", &config_arg], listen);

    let load = load_then_kill(&mut server, "committed");
    eprintln!(
        "committed: {} acknowledged ({} when SIGKILL was sent after {:?}), {} requests without a complete answer, {} other answers",
        load.acknowledged.len(),
        load.at_kill,
        load.elapsed,
        load.failed,
        load.other.len()
    );
    assert!(
        load.other.is_empty(),
        "answers not acknowledged as committed: {:?}\n{}",
        &load.other[..load.other.len().min(10)],
        server.output()
    );
    assert!(
        load.at_kill > 50,
        "only {} acknowledged answers before the kill: the check would be vacuous\n{}",
        load.at_kill,
        server.output()
    );

    let restart = Instant::now();
    let (restarted, exported) = restart_and_export(tmp.path(), &config);
    let unique: HashSet<&str> = exported.iter().map(String::as_str).collect();
    assert_eq!(
        unique.len(),
        exported.len(),
        "a correlation id is logged twice"
    );
    let lost: Vec<&String> = load
        .acknowledged
        .iter()
        .filter(|cid| !unique.contains(cid.as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged sign-ins are missing after kill -9, e.g. {:?}\n{}",
        lost.len(),
        load.acknowledged.len(),
        &lost[..lost.len().min(5)],
        restarted.output()
    );
    eprintln!(
        "committed: all {} acknowledged records found among {} exported ({} committed but unanswered); restart and export took {:?}",
        load.acknowledged.len(),
        exported.len(),
        exported.len().saturating_sub(load.acknowledged.len()),
        restart.elapsed()
    );
}

#[test]
fn queued_acknowledgements_may_lose_the_last_batch() {
    let tmp = TempDir::new("durability-queued");
    let listen = support::free_addr();
    let config = write_config(tmp.path(), listen, "queued");
    let config_arg = config.display().to_string();
    let mut server = Gardien::start_at(tmp.path(), "gardien", &["--config", &config_arg], listen);

    let load = load_then_kill(&mut server, "queued");
    assert!(
        load.other.is_empty(),
        "answers not marked `gardien-log: queued`: {:?}",
        &load.other[..load.other.len().min(10)]
    );
    assert!(
        load.at_kill > 50,
        "only {} answers before the kill\n{}",
        load.at_kill,
        server.output()
    );
    let (_restarted, exported) = restart_and_export(tmp.path(), &config);
    let unique: HashSet<&str> = exported.iter().map(String::as_str).collect();
    assert_eq!(
        unique.len(),
        exported.len(),
        "a correlation id is logged twice"
    );
    let lost = load
        .acknowledged
        .iter()
        .filter(|cid| !unique.contains(cid.as_str()))
        .count();
    eprintln!(
        "queued: {lost} of {} answered sign-ins lost by kill -9 (allowed with acknowledge = \"queued\"); {} exported",
        load.acknowledged.len(),
        exported.len()
    );
}
