//! Explanation vectors (`testdata/explanations/`, written by `testdata/gen_explanations.py`)
//! through the CLI: `gardien evaluate --json` gives each vector's category, temporary flag,
//! user actions and (when the vector says) the minimal sets of actions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn gardien(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gardien"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run gardien: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, v: &Value) -> String {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap_or_default())
        .unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    p.display().to_string()
}

#[test]
fn explanation_vectors_through_the_cli() {
    let dir = root().join("testdata/explanations");
    let tmp = std::env::temp_dir().join(format!("gardien-explain-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "{} explanation vectors", files.len());
    let mut categories = std::collections::BTreeSet::new();
    let mut combined = 0;
    for f in files {
        let v: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        let id = v["id"].as_str().unwrap().to_owned();
        let tenant = write(&tmp, &format!("{id}-tenant.json"), &v["tenant"]);
        let request = write(&tmp, &format!("{id}-request.json"), &v["request"]);
        let (code, out, err) = gardien(&[
            "evaluate",
            "--tenant",
            &tenant,
            "--request",
            &request,
            "--json",
        ]);
        assert!(
            code == 2 || code == 3,
            "{id}: not a deny or challenge ({code}): {err}"
        );
        let d: Value = serde_json::from_str(&out).unwrap();
        let e = &d["explanation"];
        let want = &v["expect"];
        for key in ["category", "temporary", "userActions", "userActionSets"] {
            if let Some(w) = want.get(key) {
                assert_eq!(&e[key], w, "{id}: {key}");
            }
        }
        assert_eq!(
            e["userActions"].as_array().and_then(|a| a.last()),
            Some(&Value::from("contactSupport")),
            "{id}: contactSupport last"
        );
        categories.insert(e["category"].as_str().unwrap().to_owned());
        if e["userActionSets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_array().is_some_and(|s| s.len() > 1))
        {
            combined += 1;
        }
    }
    assert_eq!(categories.len(), 18, "every category: {categories:?}");
    assert!(combined >= 3, "combined changes: {combined}");
}
