#![allow(clippy::panic, reason = "test failures report through panics")]

//! `gardien diff`: exit codes (0 no change, 2 changes, 1 error), text and `--json` on the
//! demo tenant and on a corpus baseline against itself with one policy disabled. Parses
//! output with `serde_json::Value`, never the producing types.

mod support;

use support::{cli::gardien, repo_root};

use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn demo() -> PathBuf {
    repo_root().join("examples/demo/tenant")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gardien-diff-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The demo tenant as one file, with a function applied to its policies.
fn demo_variant(dir: &Path, name: &str, change: impl Fn(&mut Vec<Value>)) -> PathBuf {
    let mut names: Vec<PathBuf> = std::fs::read_dir(demo().join("policies"))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    names.sort();
    let mut policies: Vec<Value> = names.iter().map(|p| read_json(p)).collect();
    change(&mut policies);
    let tenant = json!({
        "policies": policies,
        "namedLocations": read_json(&demo().join("namedLocations.json"))["value"],
        "directory": read_json(&demo().join("directory.json")),
    });
    let path = dir.join(name);
    std::fs::write(&path, tenant.to_string()).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// UTF-8 (with or without BOM) or UTF-16 LE with BOM, as the corpus files are.
fn decode(bytes: &[u8]) -> String {
    match bytes {
        [0xff, 0xfe, rest @ ..] => {
            let units: Vec<u16> = rest
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        [0xef, 0xbb, 0xbf, rest @ ..] => String::from_utf8_lossy(rest).into_owned(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[test]
fn identical_tenants_exit_0() {
    let d = demo().display().to_string();
    let (code, out, err) = gardien(&["diff", "--from", &d, "--to", &d]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("No change"), "{out}");
    let (code, out, _) = gardien(&["diff", "--from", &d, "--to", &d, "--json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["summary"]["changedClasses"], 0);
    assert_eq!(v["changes"], json!([]));
    // The same policies in another layout (one file) are the same tenant.
    let dir = tmp("same");
    let single = demo_variant(&dir, "tenant.json", |_| {})
        .display()
        .to_string();
    let (code, _, err) = gardien(&["diff", "--from", &d, "--to", &single]);
    assert_eq!(code, 0, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn disabling_a_policy_exits_2_and_names_the_changed_classes() {
    let dir = tmp("disable");
    let from = demo().display().to_string();
    let to = demo_variant(&dir, "no-ca02.json", |ps| {
        for p in ps.iter_mut() {
            if p["displayName"]
                .as_str()
                .is_some_and(|n| n.starts_with("CA02"))
            {
                p["state"] = json!("disabled");
            }
        }
    })
    .display()
    .to_string();
    let (code, out, err) = gardien(&["diff", "--from", &from, "--to", &to]);
    assert_eq!(code, 2, "{err}");
    assert!(out.contains("classes change outcome"), "{out}");
    assert!(out.contains("Block legacy authentication"), "{out}");
    let (code, out, _) = gardien(&["diff", "--from", &from, "--to", &to, "--json"]);
    assert_eq!(code, 2);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}"));
    let changes = v["changes"].as_array().cloned().unwrap_or_default();
    assert!(!changes.is_empty());
    let legacy: Vec<String> = v["dimensions"]["clientAppTypes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            let l = c["label"].as_str().unwrap_or("");
            l.contains("exchangeActiveSync") || l.contains("other")
        })
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    for c in &changes {
        // Only legacy clients were covered by the disabled policy.
        for client in c["scope"]["clientAppTypes"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert!(legacy.iter().any(|l| client == l), "{c}");
        }
        assert_eq!(c["from"]["decision"], "deny");
        assert_ne!(c["from"], c["to"]);
        assert!(c["representative"]["request"]["signInIdentity"].is_object());
    }
    let total: u64 = changes.iter().filter_map(|c| c["classes"].as_u64()).sum();
    assert_eq!(v["summary"]["changedClasses"].as_u64(), Some(total));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_tenant_exits_1() {
    let d = demo().display().to_string();
    let (code, out, err) = gardien(&["diff", "--from", &d, "--to", "/nonexistent/tenant"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn a_corpus_baseline_against_itself_with_one_policy_off() {
    let corpus = repo_root().join("../shared/corpus/policies/j0eyv__ConditionalAccessBaseline");
    if !corpus.is_dir() {
        println!(
            "SKIP: corpus folder {} is absent; the corpus diff did not run",
            corpus.display()
        );
        return;
    }
    let dir = tmp("corpus");
    let mut disabled = 0;
    for side in ["from", "to"] {
        let policies = dir.join(side).join("policies");
        std::fs::create_dir_all(&policies).unwrap_or_else(|e| panic!("{e}"));
        let locations = dir.join(side).join("namedLocations");
        std::fs::create_dir_all(&locations).unwrap_or_else(|e| panic!("{e}"));
        for l in std::fs::read_dir(corpus.join("NamedLocations"))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
        {
            if let Some(name) = l.file_name() {
                std::fs::copy(&l, locations.join(name)).unwrap_or_else(|e| panic!("{e}"));
            }
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(corpus.join("ConditionalAccess"))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for f in &files {
            let name = f.file_name().map(|n| n.to_owned()).unwrap_or_default();
            let bytes = std::fs::read(f).unwrap_or_default();
            // In `to`, turn the first "block legacy authentication" policy off.
            let target = policies.join(&name);
            if side == "to"
                && name
                    .to_string_lossy()
                    .contains("Block-LegacyAuthentication")
            {
                let mut v: Value = serde_json::from_str(&decode(&bytes))
                    .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
                v["state"] = json!("disabled");
                std::fs::write(&target, v.to_string()).unwrap_or_else(|e| panic!("{e}"));
                disabled += 1;
                continue;
            }
            std::fs::write(&target, bytes).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    assert_eq!(
        disabled, 1,
        "the baseline's legacy-authentication block was found"
    );
    let from = dir.join("from").display().to_string();
    let to = dir.join("to").display().to_string();
    let (code, out, err) = gardien(&["diff", "--from", &from, "--to", &from]);
    assert_eq!(code, 0, "{err}\n{out}");
    let (code, out, err) = gardien(&["diff", "--from", &from, "--to", &to, "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
    println!(
        "j0eyv baseline, legacy-authentication block disabled: {} changed classes of {} in {} ms",
        v["summary"]["changedClasses"], v["summary"]["totalClasses"], v["summary"]["elapsedMs"]
    );
    // Legacy clients were blocked; now they fail MFA (or get in where nothing else applies).
    assert_eq!(code, 2, "{err}");
    let changes = v["changes"].as_array().cloned().unwrap_or_default();
    assert!(!changes.is_empty());
    for c in &changes {
        assert_eq!(c["from"]["decision"], "deny", "{c}");
        assert_eq!(c["from"]["requiredControls"], json!(["block"]), "{c}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fail_on_selects_the_changes_that_fail_and_names_causes() {
    let dir = tmp("fail-on");
    let from = demo_variant(&dir, "from.json", |_| {});
    // CA02 (legacy authentication block) disabled: only "no longer blocked" changes.
    let to = demo_variant(&dir, "to.json", |p| {
        for v in p.iter_mut() {
            if v["displayName"]
                .as_str()
                .is_some_and(|n| n.starts_with("CA02"))
            {
                v["state"] = json!("disabled");
            }
        }
    });
    let (f, t) = (from.display().to_string(), to.display().to_string());
    let run = |extra: &[&str]| {
        let mut args = vec!["diff", "--from", &f, "--to", &t];
        args.extend_from_slice(extra);
        gardien(&args)
    };
    let (code, out, _) = run(&[]);
    assert_eq!(code, 2);
    assert!(
        out.contains(
            "caused by: CA02 Block legacy authentication (modified: state enabled → disabled)"
        ),
        "{out}"
    );
    assert_eq!(run(&["--fail-on", "newlyBlocked,newlyChallenged"]).0, 0);
    assert_eq!(run(&["--fail-on", "noLongerBlocked"]).0, 2);
    assert_eq!(run(&["--fail-on", "none"]).0, 0);
    let (code, _, err) = run(&["--fail-on", "sometimes"]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown change kind `sometimes`"), "{err}");
    let (_, out, _) = run(&["--json"]);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["summary"]["policyChanges"][0]["kind"], "modified");
    assert!(v["changes"].as_array().into_iter().flatten().all(|c| {
        c["causedBy"][0]
            .as_str()
            .is_some_and(|s| s.starts_with("CA02"))
    }));
}
