#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! `SIGHUP` reloads the admin credentials of a running `gardien serve --config` without a
//! restart: a token added to the file opens the API, a removed one no longer does; a file
//! made invalid is logged and changes nothing (the credentials in force stay); the server
//! keeps running and deciding throughout, and the audit trail records each reload.

#[path = "support/mod.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::{Gardien, TempDir};

const FIRST: &str = "first-admin-token-0123456789";
const SECOND: &str = "second-reader-token-0123456789";
const CA01: &str = "/v1.0/identity/conditionalAccess/policies/ca01-0000-4000-8000-000000000000";

fn write_config(dir: &Path, admin: &str) -> std::path::PathBuf {
    let tenant = support::repo_root().join("examples/demo/tenant");
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

[admin]
{admin}
"#,
        tenant = tenant.display(),
        db = dir.join("gardien.db").display(),
    );
    let path = dir.join("gardien.toml");
    std::fs::write(&path, config).unwrap();
    path
}

fn status(server: &Gardien, token: &str, uri: &str) -> u16 {
    let auth = format!("Bearer {token}");
    support::get(server.addr, uri, &[("Authorization", &auth)])
        .unwrap()
        .status
}

/// Waits (at most 10 s) until `token` gets `expected` on `uri`: the signal is handled
/// asynchronously.
fn wait_for(server: &Gardien, token: &str, uri: &str, expected: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = status(server, token, uri);
        if got == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{uri} with {token}: {got}, expected {expected}\n{}",
            server.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits (at most 10 s) until the server has logged `count` refused configurations.
fn wait_for_refusals(server: &Gardien, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.output().matches("configuration refused").count() < count {
        assert!(
            Instant::now() < deadline,
            "fewer than {count} refusals logged:\n{}",
            server.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sighup_reloads_admin_credentials_and_keeps_them_on_a_bad_file() {
    let dir = TempDir::new("admin-reload");
    let first = support::hash_token(FIRST);
    let second = support::hash_token(SECOND);
    let config = write_config(
        dir.path(),
        &format!("[[admin.tokens]]\nname = \"first\"\nsha256 = \"{first}\"\nrole = \"admin\"\n"),
    );
    let config_arg = config.display().to_string();
    let server = Gardien::start(dir.path(), "gardien", &["--config", &config_arg]);
    assert_eq!(status(&server, FIRST, CA01), 200);
    assert_eq!(status(&server, SECOND, CA01), 401);

    // Rotate: `second` (a reader) replaces `first`.
    write_config(
        dir.path(),
        &format!("[[admin.tokens]]\nname = \"second\"\nsha256 = \"{second}\"\nrole = \"reader\"\n"),
    );
    server.signal("HUP");
    wait_for(&server, SECOND, CA01, 200);
    assert_eq!(
        status(&server, FIRST, CA01),
        401,
        "the removed token is refused"
    );
    assert_eq!(
        status(&server, SECOND, "/v1/admin/audit"),
        403,
        "a reader may not read the audit trail"
    );

    // A broken file (invalid TOML, then a bad digest): logged, nothing changes. Each file is
    // written only once the previous signal's refusal is logged: the signal is handled
    // asynchronously, and a reload reading a file half rewritten would test the writer.
    std::fs::write(&config, "[admin\n").unwrap();
    server.signal("HUP");
    wait_for_refusals(&server, 1);
    write_config(
        dir.path(),
        "[[admin.tokens]]\nname = \"x\"\nsha256 = \"not-hex\"\nrole = \"admin\"\n",
    );
    server.signal("HUP");
    wait_for_refusals(&server, 2);
    assert_eq!(status(&server, SECOND, CA01), 200, "still in force");
    assert_eq!(status(&server, FIRST, CA01), 401);
    let out = server.output();
    assert!(
        out.contains("tokens[0].sha256: expected 64 hex digits"),
        "{out}"
    );
    assert!(out.contains("the admin credentials in force stay"), "{out}");

    // An empty file (an editor's non-atomic save caught half way) parses as a configuration
    // without tokens: refused, since it would lock every administrator out.
    std::fs::write(&config, "").unwrap();
    server.signal("HUP");
    wait_for_refusals(&server, 3);
    assert_eq!(status(&server, SECOND, CA01), 200, "still in force");
    assert!(
        server
            .output()
            .contains("would remove every token in force"),
        "{}",
        server.output()
    );

    // Back to an admin that reads the audit trail: four reloads, the first applied.
    write_config(
        dir.path(),
        &format!(
            "token_sha256 = \"{first}\"\n[[admin.tokens]]\nname = \"second\"\nsha256 = \"{second}\"\nrole = \"reader\"\n"
        ),
    );
    server.signal("HUP");
    wait_for(&server, FIRST, CA01, 200);
    let auth = format!("Bearer {FIRST}");
    let r = support::get(
        server.addr,
        "/v1/admin/audit?token=sighup",
        &[("Authorization", &auth)],
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let statuses: Vec<u64> = r.json()["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![200, 400, 400, 400, 200], "newest first");
    // The reader's reads are audited under its name.
    let r = support::get(
        server.addr,
        "/v1/admin/audit?token=second",
        &[("Authorization", &auth)],
    )
    .unwrap();
    let second_entries = r.json()["value"].as_array().unwrap().len();
    assert!(second_entries >= 3, "{}", r.text());
    // Still deciding: the process was never restarted.
    let r = support::get(server.addr, "/healthz", &[]).unwrap();
    assert_eq!(r.status, 200);
}
