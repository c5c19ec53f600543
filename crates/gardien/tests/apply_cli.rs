#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! Policy as code end to end: a real `gardien serve` (SQLite store, admin token) and the
//! `gardien apply` / `gardien export` commands over TCP.
//!
//! - `export` then `apply` of the same folder is a no-op (no new version); an edited folder
//!   becomes exactly one new version; exporting it again gives the edited folder byte for
//!   byte (policies, named locations, directory, cross-tenant access).
//! - `--dry-run` prints the semantic diff and the lint findings and changes nothing.
//! - an invalid folder is refused before anything is sent (file and JSON path named); a
//!   stale `--if-match` is a 409; no token is a 401.

#[path = "support/mod.rs"]
mod support;

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{Gardien, TempDir};

const TOKEN: &str = "apply-test-admin-token-0123456789";
const CA02: &str = "ca02-0000-4000-8000-000000000000";

fn toml_path(path: &Path) -> String {
    let text = path.display().to_string();
    assert!(
        !text.contains(['"', '\\']),
        "unexpected characters in {text}"
    );
    format!("\"{text}\"")
}

/// `gardien serve` on the demo tenant with a SQLite store and the admin token.
fn serve(dir: &Path) -> Gardien {
    let config = dir.join("gardien.toml");
    let text = format!(
        "tenant = {}\n[store]\npath = {}\n[admin]\ntoken_sha256 = \"{}\"\n",
        toml_path(&support::repo_root().join("examples/demo/tenant")),
        toml_path(&dir.join("gardien.db")),
        support::hash_token(TOKEN)
    );
    std::fs::write(&config, text).unwrap();
    Gardien::start(dir, "serve", &["--config", config.to_str().unwrap()])
}

fn gardien(args: &[&str]) -> Output {
    Command::new(support::gardien_bin())
        .args(args)
        .env("GARDIEN_ADMIN_TOKEN", TOKEN)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn url(server: &Gardien) -> String {
    format!("http://{}", server.addr)
}

/// Every file under `dir`, relative path → bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn versions(server: &Gardien) -> Value {
    let auth = format!("Bearer {TOKEN}");
    let r = support::get(
        server.addr,
        "/v1/admin/versions",
        &[("authorization", &auth)],
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut v);
    let mut text = serde_json::to_string_pretty(&v).unwrap();
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

/// The edits the tests make: CA02 disabled, a named location added, cross-tenant access set.
fn edit_tenant(dir: &Path) {
    edit_json(&dir.join(format!("policies/{CA02}.json")), |p| {
        p["state"] = json!("disabled");
    });
    edit_json(&dir.join("namedLocations.json"), |l| {
        l["value"].as_array_mut().unwrap().push(json!({
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "id": "ffff0000-0000-4000-8000-000000000009",
            "displayName": "Branch office",
            "isTrusted": false,
            "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "192.0.2.0/24"}]
        }));
    });
    let cross = json!({"default": {"inboundTrust": {"isMfaAccepted": true,
        "isCompliantDeviceAccepted": false, "isHybridAzureADJoinedDeviceAccepted": false}},
        "partners": []});
    let mut text = serde_json::to_string_pretty(&cross).unwrap();
    text.push('\n');
    std::fs::write(dir.join("crossTenantAccess.json"), text).unwrap();
}

#[test]
fn apply_and_export_round_trip() {
    let dir = TempDir::new("apply-roundtrip");
    let server = serve(dir.path());
    let first = dir.path().join("first");
    let o = gardien(&["export", "--server", &url(&server), first.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("exported version 1: 6 policies, 2 named locations"),
        "{}",
        stderr(&o)
    );
    for f in [
        "namedLocations.json",
        "directory.json",
        &format!("policies/{CA02}.json"),
    ] {
        assert!(first.join(f).is_file(), "{f} missing");
    }
    // The same folder back: no new version.
    let o = gardien(&["apply", first.to_str().unwrap(), "--server", &url(&server)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("no change: version 1"),
        "{}",
        stdout(&o)
    );
    assert_eq!(versions(&server)["current"], 1);

    // An edited folder: one new version with every change in it.
    edit_tenant(&first);
    let o = gardien(&[
        "apply",
        first.to_str().unwrap(),
        "--server",
        &url(&server),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let done: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(done["version"], 2, "{done}");
    assert_eq!(done["changed"], true);
    let summary = done["summary"].as_str().unwrap();
    assert!(
        summary.contains("1 policy modified") && summary.contains("1 named location added"),
        "{summary}"
    );
    let v = versions(&server);
    assert_eq!(v["current"], 2, "one version for the whole folder: {v}");
    assert_eq!(v["value"][0]["author"], "gardien apply");
    assert!(
        v["value"][0]["createdDateTime"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    // Exported again: the edited folder, byte for byte.
    let second = dir.path().join("second");
    let o = gardien(&[
        "export",
        "--server",
        &url(&server),
        second.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("cross-tenant access"), "{}", stderr(&o));
    let (a, b) = (files(&first), files(&second));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(
            b[name] == *bytes,
            "{} differs:\n{}\n---\n{}",
            name.display(),
            String::from_utf8_lossy(bytes),
            String::from_utf8_lossy(&b[name])
        );
    }
    // And the decisions follow the new version: CA02 (legacy authentication) is off.
    let auth = format!("Bearer {TOKEN}");
    let r = support::get(server.addr, "/v1/admin/tenant", &[("authorization", &auth)]).unwrap();
    assert_eq!(r.header("etag"), Some("\"2\""));
    let tenant = r.json();
    let ca02 = tenant["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == CA02)
        .unwrap();
    assert_eq!(ca02["state"], "disabled");
    assert_eq!(
        tenant["crossTenantAccess"]["default"]["inboundTrust"]["isMfaAccepted"],
        true
    );
}

#[test]
fn dry_run_prints_the_semantic_diff_and_lint_and_changes_nothing() {
    let dir = TempDir::new("apply-dry");
    let server = serve(dir.path());
    let folder = dir.path().join("tenant");
    let o = gardien(&[
        "export",
        "--server",
        &url(&server),
        folder.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    edit_tenant(&folder);
    let o = gardien(&[
        "apply",
        folder.to_str().unwrap(),
        "--server",
        &url(&server),
        "--dry-run",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("dry run: version 1 in force"), "{text}");
    assert!(
        text.contains("make version 2 (1 policy modified, 1 named location added"),
        "{text}"
    );
    assert!(
        text.contains("CA02 Block legacy authentication (modified: state enabled → disabled)"),
        "{text}"
    );
    assert!(text.contains("deny 53003 (block) → allow"), "{text}");
    assert!(text.contains("Lint of the new tenant"), "{text}");
    assert!(text.contains("--if-match 1"), "{text}");
    assert_eq!(versions(&server)["current"], 1, "a dry run changes nothing");

    let o = gardien(&[
        "apply",
        folder.to_str().unwrap(),
        "--server",
        &url(&server),
        "--dry-run",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(report["version"], 1);
    assert_eq!(report["changed"], true);
    let changes = report["diff"]["changes"].as_array().unwrap();
    assert!(!changes.is_empty(), "{report}");
    assert!(report["lint"]["findings"].is_array(), "{report}");
    assert_eq!(versions(&server)["current"], 1);

    // `--if-match` with the version the dry run showed applies; a stale one is refused.
    let o = gardien(&[
        "apply",
        folder.to_str().unwrap(),
        "--server",
        &url(&server),
        "--if-match",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("applied: version 2"), "{}", stdout(&o));
    edit_json(&folder.join(format!("policies/{CA02}.json")), |p| {
        p["state"] = json!("enabled");
    });
    let o = gardien(&[
        "apply",
        folder.to_str().unwrap(),
        "--server",
        &url(&server),
        "--if-match",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("HTTP 409") && stderr(&o).contains("at version 2, not 1"),
        "{}",
        stderr(&o)
    );
    assert_eq!(versions(&server)["current"], 2);
}

#[test]
fn invalid_folders_and_missing_tokens_change_nothing() {
    let dir = TempDir::new("apply-bad");
    let server = serve(dir.path());
    let folder = dir.path().join("tenant");
    let o = gardien(&[
        "export",
        "--server",
        &url(&server),
        folder.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let policy = folder.join(format!("policies/{CA02}.json"));
    edit_json(&policy, |p| {
        p["state"] = json!("sometimes");
    });
    let o = gardien(&["apply", folder.to_str().unwrap(), "--server", &url(&server)]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{CA02}.json")) && err.contains("/state"),
        "{err}"
    );
    assert_eq!(versions(&server)["current"], 1);

    edit_json(&policy, |p| {
        p["state"] = json!("disabled");
    });
    let o = Command::new(support::gardien_bin())
        .args(["apply", folder.to_str().unwrap(), "--server", &url(&server)])
        .env_remove("GARDIEN_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("HTTP 401"), "{}", stderr(&o));
    assert_eq!(versions(&server)["current"], 1);

    // The endpoint checks like every admin write: JSON only, known members only.
    let auth = format!("Bearer {TOKEN}");
    let r = support::request_with_body(
        server.addr,
        "PUT",
        "/v1/admin/tenant",
        &[("authorization", &auth), ("content-type", "text/plain")],
        b"{}",
    )
    .unwrap();
    assert_eq!(r.status, 415, "{}", r.text());
    let r = support::request_with_body(
        server.addr,
        "PUT",
        "/v1/admin/tenant",
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        br#"{"policies": [], "policys": []}"#,
    )
    .unwrap();
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("policys"), "{}", r.text());
    // The server validates the whole tenant itself too (a client that skipped `validate`).
    let bad = json!({"policies": [{"id": "p1", "displayName": "x", "state": "sometimes",
        "conditions": {"users": {"includeUsers": ["All"]},
                       "applications": {"includeApplications": ["All"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}}]});
    let r = support::request_with_body(
        server.addr,
        "PUT",
        "/v1/admin/tenant",
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        bad.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(r.status, 400, "{}", r.text());
    let problem = r.json();
    assert!(
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["pointer"] == "/policies/0/state" && e["file"] == "request body"),
        "{problem}"
    );
    assert_eq!(versions(&server)["current"], 1);
}

#[test]
fn a_ca_file_without_certificates_is_refused() {
    let dir = TempDir::new("apply-ca");
    let pem = dir.path().join("ca.pem");
    std::fs::write(&pem, "not a certificate\n").unwrap();
    let out = dir.path().join("out");
    let o = gardien(&[
        "export",
        "--server",
        "https://127.0.0.1:9",
        "--ca-file",
        pem.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no certificate in the PEM file"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
    let o = gardien(&["export", "--server", "ftp://x", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("expected an http:// or https:// URL"),
        "{}",
        stderr(&o)
    );
}
