#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

//! Explanation vectors (`testdata/explanations/`, written by `testdata/gen_explanations.py`)
//! through the CLI: `gardien evaluate --json` gives each vector's category, temporary flag,
//! user actions and (when the vector says) the minimal sets of actions.

mod support;

use serde_json::Value;
use support::{cli::gardien, cli::write_json, repo_root};

#[test]
fn explanation_vectors_through_the_cli() {
    let dir = repo_root().join("testdata/explanations");
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
        let tenant = write_json(&tmp, &format!("{id}-tenant.json"), &v["tenant"]);
        let request = write_json(&tmp, &format!("{id}-request.json"), &v["request"]);
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
