#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! `[log.ship] output = "stdout"` on a real `gardien serve`: each decision's record comes
//! out on standard output as one JSON line (masked: the address truncated to its /24, the
//! UPN hashed with a key from the environment), while the server's own log lines go to
//! standard error.

#[path = "support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The HMAC key, given through the environment (`hash_key_env`).
const KEY: &str = "an-environment-key-of-32-bytes-0";

#[test]
fn records_are_shipped_to_stdout_masked_and_apart_from_the_logs() {
    let dir = support::TempDir::new("ship-stdout");
    let tenant = support::repo_root().join("examples/demo/tenant");
    let addr = support::free_addr();
    let config = format!(
        r#"listen = "{addr}"
tenant = "{tenant}"
[store]
path = "{db}"
[signals]
trusted_proxies = ["127.0.0.0/8"]
[identity.headers]
[[apps]]
host = "*"
app_id = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
name = "Wiki"
[log.ship]
output = "stdout"
hash_key_env = "GARDIEN_TEST_LOG_HASH_KEY"
[log.ship.mask]
ipAddress = "truncate"
userPrincipalName = "hash"
"#,
        tenant = tenant.display(),
        db = dir.path().join("gardien.db").display(),
    );
    let path = dir.path().join("gardien.toml");
    std::fs::write(&path, config).unwrap();
    let stdout = dir.path().join("stdout");
    let stderr = dir.path().join("stderr");
    let mut child = Command::new(support::gardien_bin())
        .args(["serve", "--config"])
        .arg(&path)
        .env("GARDIEN_TEST_LOG_HASH_KEY", KEY)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + support::STARTUP;
    while support::get(addr, "/healthz", &[]).map(|r| r.status).ok() != Some(200) {
        assert!(
            Instant::now() < deadline && child.try_wait().unwrap().is_none(),
            "{}",
            std::fs::read_to_string(&stderr).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let r = support::get(
        addr,
        "/v1/forward-auth",
        &[
            ("X-Forwarded-Host", "wiki.contoso.example"),
            ("X-Forwarded-For", "198.51.100.77"),
            ("Remote-User", "a1a1a1a1-0000-4000-8000-000000000001"),
            ("Remote-Email", "Alice@Contoso.example"),
        ],
    )
    .unwrap();
    let correlation = r
        .headers
        .iter()
        .find(|(n, _)| n == "x-gardien-correlation-id")
        .map(|(_, v)| v.clone())
        .expect("a decision has a correlation id");
    let deadline = Instant::now() + Duration::from_secs(10);
    let line = loop {
        let text = std::fs::read_to_string(&stdout).unwrap_or_default();
        if let Some(l) = text.lines().next() {
            break l.to_owned();
        }
        assert!(Instant::now() < deadline, "nothing shipped to stdout");
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    let record: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(record["ipAddress"], "198.51.100.0", "{line}");
    assert_eq!(
        record["userId"], "a1a1a1a1-0000-4000-8000-000000000001",
        "{line}"
    );
    assert_eq!(record["correlationId"], correlation.as_str());
    // The key came from the environment: HMAC-SHA256 of the lowercased UPN.
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, KEY.as_bytes());
    let tag = ring::hmac::sign(&key, b"alice@contoso.example");
    let expected: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(record["userPrincipalName"], expected.as_str(), "{line}");
    let out = std::fs::read_to_string(&stdout).unwrap();
    assert_eq!(
        out.lines().count(),
        1,
        "only the shipped line on stdout:\n{out}"
    );
    let err = std::fs::read_to_string(&stderr).unwrap();
    assert!(err.contains("sign-in lines shipped"), "{err}");
}

/// `output = "file"`: after an external rotation (the file moved away), `SIGHUP` makes the
/// server write to a new file at the configured path.
#[test]
fn sighup_reopens_the_shipped_file_after_an_external_rotation() {
    let dir = support::TempDir::new("ship-file");
    let tenant = support::repo_root().join("examples/demo/tenant");
    let file = dir.path().join("signins.jsonl");
    let config = format!(
        r#"tenant = "{tenant}"
[store]
path = "{db}"
[signals]
trusted_proxies = ["127.0.0.0/8"]
[identity.headers]
[[apps]]
host = "*"
app_id = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
name = "Wiki"
[log.ship]
output = "file"
path = "{file}"
"#,
        tenant = tenant.display(),
        db = dir.path().join("gardien.db").display(),
        file = file.display(),
    );
    let path = dir.path().join("gardien.toml");
    std::fs::write(&path, config).unwrap();
    let path_arg = path.display().to_string();
    let server = support::Gardien::start(dir.path(), "gardien", &["--config", &path_arg]);
    let decide = |user: &str| {
        let r = support::get(
            server.addr,
            "/v1/forward-auth",
            &[
                ("X-Forwarded-Host", "wiki.contoso.example"),
                ("X-Forwarded-For", "198.51.100.77"),
                ("Remote-User", user),
            ],
        )
        .unwrap();
        assert!([200, 401, 403].contains(&r.status), "{}", r.status);
    };
    let wait_lines = |p: &std::path::Path, n: usize| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let count = std::fs::read_to_string(p)
                .unwrap_or_default()
                .lines()
                .count();
            if count == n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: {count} lines, expected {n}\n{}",
                p.display(),
                server.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    decide("a1a1a1a1-0000-4000-8000-000000000001");
    wait_lines(&file, 1);
    let moved = dir.path().join("signins.jsonl.old");
    std::fs::rename(&file, &moved).unwrap();
    server.signal("HUP");
    // The reopen is asynchronous: wait until the new file exists.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !file.exists() {
        assert!(
            Instant::now() < deadline,
            "no new file after SIGHUP\n{}",
            server.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    decide("b2b2b2b2-0000-4000-8000-000000000002");
    wait_lines(&file, 1);
    wait_lines(&moved, 1);
    let line = std::fs::read_to_string(&file).unwrap();
    assert!(
        line.contains("b2b2b2b2-0000-4000-8000-000000000002"),
        "{line}"
    );
}
