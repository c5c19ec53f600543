#![allow(clippy::panic, reason = "test failures report through panics")]

//! Snapshots of the text renderers (`crates/gardien/src/render/`) that no other test pins
//! down byte for byte: `gaps`, `diff`, `changes`, `test` and `validate` on the demo tenant.
//! Timings (`in 12.3 ms`) are masked. `GARDIEN_BLESS=1 cargo test -p gardien --test
//! render_cli` rewrites `testdata/render/*.snap`, to be read in review like any other change.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs gardien from the repository root: exit code, stdout, stderr.
fn gardien(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gardien"))
        .current_dir(root())
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run gardien: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// ` in 12.3 ms` → ` in <elapsed> ms`.
fn mask_timings(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(" in ") {
        let (before, after) = rest.split_at(at + 4);
        out.push_str(before);
        let digits = after
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(after.len());
        if digits > 0 && after[digits..].starts_with(" ms") {
            out.push_str("<elapsed>");
            rest = &after[digits..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// A copy of the demo tenant with `ca02.json` disabled, or without `directory.json`.
fn variant(name: &str, change: impl Fn(&Path)) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gardien-render-{}-{name}", std::process::id()));
    let demo = root().join("examples/demo/tenant");
    std::fs::create_dir_all(dir.join("policies")).unwrap_or_else(|e| panic!("{e}"));
    for file in ["directory.json", "namedLocations.json"] {
        std::fs::copy(demo.join(file), dir.join(file)).unwrap_or_else(|e| panic!("{e}"));
    }
    for entry in std::fs::read_dir(demo.join("policies")).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let name = path.file_name().unwrap_or_default();
        std::fs::copy(&path, dir.join("policies").join(name)).unwrap_or_else(|e| panic!("{e}"));
    }
    change(&dir);
    dir
}

fn disable_ca02(dir: &Path) {
    let path = dir.join("policies/ca02.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut policy: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    policy["state"] = "disabled".into();
    std::fs::write(&path, policy.to_string()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn text_renderers_match_their_snapshots() {
    let changed = variant("changed", disable_ca02);
    let no_directory = variant("no-directory", |dir| {
        std::fs::remove_file(dir.join("directory.json")).unwrap_or_else(|e| panic!("{e}"));
    });
    let (changed, no_directory) = (
        changed.display().to_string(),
        no_directory.display().to_string(),
    );
    let demo = "examples/demo/tenant";
    let suites = ["examples/suites/demo.toml", "testdata/suites/failing.toml"];
    let cases: Vec<(&str, Vec<&str>, i32)> = vec![
        ("gaps", vec!["gaps", "--tenant", demo], 0),
        ("diff", vec!["diff", "--from", demo, "--to", &changed], 2),
        ("diff-none", vec!["diff", "--from", demo, "--to", demo], 0),
        (
            "changes",
            vec!["changes", "--tenant", demo, "--now", "2026-12-07"],
            0,
        ),
        ("test", vec!["test", suites[0], suites[1]], 2),
        ("validate", vec!["validate", "--tenant", demo], 0),
        (
            "validate-missing-directory",
            vec!["validate", "--tenant", &no_directory, "--strict"],
            1,
        ),
    ];
    let dir = root().join("testdata/render");
    let bless = std::env::var_os("GARDIEN_BLESS").is_some();
    let mut failures = Vec::new();
    for (name, args, code) in cases {
        let (got_code, out, err) = gardien(&args);
        assert_eq!(got_code, code, "{name}: {err}");
        let got = mask_timings(&out);
        let snap = dir.join(format!("{name}.snap"));
        if bless {
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(&snap, &got).unwrap_or_else(|e| panic!("{e}"));
            continue;
        }
        let want = std::fs::read_to_string(&snap).unwrap_or_default();
        if got != want {
            failures.push(format!(
                "{name}: output differs from {}\n--- want\n{want}--- got\n{got}",
                snap.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn timings_are_masked_and_nothing_else() {
    assert_eq!(
        mask_timings("walked in 12.5 ms, in 3 suites, in 7 ms"),
        "walked in <elapsed> ms, in 3 suites, in <elapsed> ms"
    );
}

/// A tenant file in the temporary directory.
fn tenant_file(name: &str, policies: serde_json::Value) -> String {
    let path =
        std::env::temp_dir().join(format!("gardien-render-{}-{name}.json", std::process::id()));
    std::fs::write(&path, serde_json::json!({"policies": policies}).to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    path.display().to_string()
}

/// Human output of a decision: the grant operator, session controls under the same names
/// in every place, long names wrapped and never cut, and no colour codes when stdout is not a
/// terminal (even without `NO_COLOR`).
#[test]
fn decisions_for_people_show_operators_session_controls_and_whole_names() {
    let all = serde_json::json!({"users": {"includeUsers": ["All"]},
        "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]});
    let long = "CA100 Require multifactor authentication and a compliant device for every member of the organisation";
    let both = tenant_file(
        "and",
        serde_json::json!([{"id": "p1", "displayName": long, "state": "enabled", "conditions": all,
            "grantControls": {"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]},
            "sessionControls": {"signInFrequency": {"value": 4, "type": "hours", "isEnabled": true}}}]),
    );
    let session = tenant_file(
        "session",
        serde_json::json!([{"id": "p2", "displayName": "Session only", "state": "enabled",
            "conditions": all,
            "sessionControls": {"persistentBrowser": {"mode": "never", "isEnabled": true}}}]),
    );
    let request = "examples/demo/requests/admin-needs-mfa.json";
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_gardien"))
            .current_dir(root())
            .env_remove("NO_COLOR")
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run gardien: {e}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };

    let out = run(&["evaluate", "--tenant", &both, "--request", request]);
    assert!(
        out.contains("      requires: mfa AND compliantDevice\n"),
        "{out}"
    );
    assert!(out.contains("      session: signInFrequency\n"), "{out}");
    assert!(out.contains(long), "{out}");
    assert!(!out.contains('\x1b'), "no colour in a pipe: {out}");

    let out = run(&["evaluate", "--tenant", &session, "--request", request]);
    assert!(out.starts_with("decision: allow\n"), "{out}");
    assert!(
        out.contains("session controls: persistentBrowser "),
        "{out}"
    );
    assert!(out.contains("      session: persistentBrowser\n"), "{out}");
    assert!(
        !out.contains("PersistentBrowserSessionMode")
            && !out.contains("persistentBrowserSessionMode"),
        "{out}"
    );

    let out = run(&["whatif", "--tenant", &both, "--request", request]);
    assert!(out.contains("grant: mfa AND compliantDevice"), "{out}");
    assert!(out.contains("session: signInFrequency"), "{out}");
    // The name over several lines, every word kept.
    let words: Vec<&str> = out
        .lines()
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with("grant:"))
        .flat_map(|l| l.get(..48).unwrap_or(l).split_whitespace())
        .collect();
    assert_eq!(words.join(" "), long, "{out}");
}
