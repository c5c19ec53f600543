#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! `[log.ship] output = "stdout"` on a real `gardien serve`: each decision's record comes
//! out on standard output as one JSON line (masked: the address truncated to its /24),
//! while the server's own log lines go to standard error.

#[path = "support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
[log.ship.mask]
ipAddress = "truncate"
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
    let out = std::fs::read_to_string(&stdout).unwrap();
    assert_eq!(
        out.lines().count(),
        1,
        "only the shipped line on stdout:\n{out}"
    );
    let err = std::fs::read_to_string(&stderr).unwrap();
    assert!(err.contains("sign-in lines shipped"), "{err}");
}
