#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! `[tenant] watch = true`: a real `gardien serve` following a tenant folder.
//!
//! - a good edit becomes a new version, in force (the tenant the server answers changes);
//! - a bad edit (invalid JSON, an invalid value) is logged and ignored: the version in force
//!   stays, and the next good edit is taken;
//! - a burst of edits becomes one version holding the last edit.

#[path = "support/mod.rs"]
mod support;

use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use support::{Gardien, TempDir};

const TOKEN: &str = "watch-test-admin-token-0123456789";
const CA02: &str = "ca02-0000-4000-8000-000000000000";
/// The watch interval the tests configure.
const INTERVAL_MS: u64 = 150;
/// The burst test's interval. Its edits come 40 ms apart for longer than one interval, so
/// at least one reading falls inside the burst (a watcher that applied every change it saw
/// would take a half-written state), while two readings in a row never see the same
/// intermediate state unless the test thread stalls for most of an interval.
const BURST_INTERVAL_MS: u64 = 400;
/// How long a change may take to be seen (generous: the machine may be loaded).
const PATIENCE: Duration = Duration::from_secs(30);

fn toml_path(path: &Path) -> String {
    let text = path.display().to_string();
    assert!(
        !text.contains(['"', '\\']),
        "unexpected characters in {text}"
    );
    format!("\"{text}\"")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

/// A copy of the demo tenant, followed by `gardien serve` every `interval_ms`.
fn serve(dir: &Path, interval_ms: u64) -> (Gardien, std::path::PathBuf) {
    let tenant = dir.join("tenant");
    copy_dir(&support::repo_root().join("examples/demo/tenant"), &tenant);
    let config = dir.join("gardien.toml");
    let text = format!(
        "[tenant]\npath = {}\nwatch = true\nwatch_interval_ms = {interval_ms}\n[store]\npath = {}\n[admin]\ntoken_sha256 = \"{}\"\n",
        toml_path(&tenant),
        toml_path(&dir.join("gardien.db")),
        support::hash_token(TOKEN)
    );
    std::fs::write(&config, text).unwrap();
    let server = Gardien::start(dir, "serve", &["--config", config.to_str().unwrap()]);
    (server, tenant)
}

fn admin_get(server: &Gardien, path: &str) -> Value {
    let auth = format!("Bearer {TOKEN}");
    let r = support::get(server.addr, path, &[("authorization", &auth)]).unwrap();
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

fn current(server: &Gardien) -> i64 {
    admin_get(server, "/v1/admin/versions")["current"]
        .as_i64()
        .unwrap()
}

fn policy(server: &Gardien, id: &str) -> Value {
    let tenant = admin_get(server, "/v1/admin/tenant");
    tenant["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .cloned()
        .unwrap()
}

/// Waits until `done` holds, or fails with the server's output.
fn wait_for(server: &Gardien, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {PATIENCE:?}\n{}",
            server.output()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn edit_policy(tenant: &Path, edit: impl FnOnce(&mut Value)) {
    let path = find_policy_file(tenant, CA02);
    let mut v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

/// The file of the demo tenant that holds the policy `id`.
fn find_policy_file(tenant: &Path, id: &str) -> std::path::PathBuf {
    for entry in std::fs::read_dir(tenant.join("policies")).unwrap() {
        let p = entry.unwrap().path();
        let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap_or(Value::Null);
        if v["id"] == id {
            return p;
        }
    }
    panic!("no file holds policy {id}");
}

/// How many times the server logged that it rejected the folder.
fn rejections(server: &Gardien) -> usize {
    server.output().matches("tenant folder rejected").count()
}

#[test]
fn a_good_edit_becomes_a_version_in_force() {
    let dir = TempDir::new("watch-good");
    let (server, tenant) = serve(dir.path(), INTERVAL_MS);
    assert_eq!(current(&server), 1);
    assert_eq!(policy(&server, CA02)["state"], "enabled");
    edit_policy(&tenant, |p| p["state"] = json!("disabled"));
    wait_for(&server, "the edit in force", || current(&server) == 2);
    assert_eq!(policy(&server, CA02)["state"], "disabled");
    let v = admin_get(&server, "/v1/admin/versions/2");
    assert_eq!(v["author"], "watch");
    assert!(
        v["summary"].as_str().unwrap().contains("1 policy modified"),
        "{v}"
    );
    // Nothing else changes while the folder stays the same.
    std::thread::sleep(Duration::from_millis(INTERVAL_MS * 5));
    assert_eq!(current(&server), 2);
}

#[test]
fn a_bad_edit_is_logged_and_the_last_good_version_stays() {
    let dir = TempDir::new("watch-bad");
    let (server, tenant) = serve(dir.path(), INTERVAL_MS);
    let file = find_policy_file(&tenant, CA02);
    let good = std::fs::read(&file).unwrap();
    // Invalid JSON (an editor saved half a file).
    std::fs::write(&file, &good[..good.len() / 2]).unwrap();
    wait_for(&server, "the rejection logged", || rejections(&server) >= 1);
    let log = server.output();
    assert!(
        log.contains(&file.display().to_string()),
        "the file is named:\n{log}"
    );
    assert_eq!(current(&server), 1, "the version in force stays");
    // A value the core refuses: the file and JSON path are logged, nothing changes.
    let mut v: Value = serde_json::from_slice(&good).unwrap();
    v["state"] = json!("sometimes");
    std::fs::write(&file, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    wait_for(&server, "the second rejection logged", || {
        rejections(&server) >= 2
    });
    assert!(server.output().contains("/state"), "{}", server.output());
    assert_eq!(current(&server), 1);
    assert_eq!(policy(&server, CA02)["state"], "enabled");
    // Decisions still come from version 1.
    let r = support::get(server.addr, "/readyz", &[]).unwrap();
    assert_eq!(r.json()["policyVersion"], 1, "{}", r.text());
    // Both rejections are counted, for alerting.
    let auth = format!("Bearer {TOKEN}");
    let metrics = support::get(server.addr, "/metrics", &[("authorization", &auth)])
        .unwrap()
        .text();
    assert!(
        metrics.contains("gardien_admin_rejected_writes_total 2"),
        "{metrics}"
    );
    // The fix is taken.
    v["state"] = json!("disabled");
    std::fs::write(&file, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    wait_for(&server, "the fixed edit in force", || current(&server) == 2);
    assert_eq!(policy(&server, CA02)["state"], "disabled");
}

#[test]
fn a_burst_of_edits_becomes_one_version() {
    let dir = TempDir::new("watch-burst");
    let (server, tenant) = serve(dir.path(), BURST_INTERVAL_MS);
    let file = find_policy_file(&tenant, CA02);
    let mut v: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    // Twelve saves 40 ms apart (480 ms in all, more than an interval), every other one a
    // half-written file, the last one whole: only the last state counts.
    for i in 1..=12 {
        v["displayName"] = json!(format!("CA02 edit {i}"));
        let text = serde_json::to_string_pretty(&v).unwrap();
        if i % 2 == 1 {
            std::fs::write(&file, &text[..text.len() / 3]).unwrap();
        } else {
            std::fs::write(&file, &text).unwrap();
        }
        std::thread::sleep(Duration::from_millis(40));
    }
    wait_for(&server, "the burst in force", || current(&server) >= 2);
    // Several more intervals: no second version, no rejection of a half-written state.
    std::thread::sleep(Duration::from_millis(BURST_INTERVAL_MS * 4));
    assert_eq!(current(&server), 2, "{}", server.output());
    assert_eq!(policy(&server, CA02)["displayName"], "CA02 edit 12");
    assert_eq!(rejections(&server), 0, "{}", server.output());
    let list = admin_get(&server, "/v1/admin/versions");
    assert_eq!(list["value"].as_array().unwrap().len(), 2, "{list}");
}
