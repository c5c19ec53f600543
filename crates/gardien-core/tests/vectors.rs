//! The spec's test vectors T1–T24 (`testdata/vectors/*.json`), run through the library.
//! The same files are run through the CLI by `crates/gardien/tests/cli.rs`.

use gardien_core::report::{DecisionReport, WhatIfReport, applied_policies};
use gardien_core::{CompiledTenant, SignIn, SourceFile, Tenant, TenantSource};
use serde_json::Value;
use std::path::PathBuf;

fn vectors() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            Some((
                p.file_name()?.to_string_lossy().into_owned(),
                serde_json::from_str(&text).ok()?,
            ))
        })
        .collect()
}

fn load(v: &Value) -> Result<CompiledTenant, String> {
    let bytes = serde_json::to_vec(&v["tenant"]).map_err(|e| e.to_string())?;
    let source = TenantSource {
        combined: Some(SourceFile::new("tenant.json", bytes)),
        ..Default::default()
    };
    Tenant::load(&source)
        .map(CompiledTenant::compile)
        .map_err(|e| e.to_string())
}

fn check(name: &str, v: &Value) -> Result<(), String> {
    let expect = &v["expect"];
    let mode = v["mode"].as_str().unwrap_or("evaluate");
    if mode == "load" {
        let want = expect["loadError"].as_str().unwrap_or_default();
        return match load(v) {
            Ok(_) => Err(format!(
                "{name}: tenant loaded, expected an error containing `{want}`"
            )),
            Err(e) if e.contains(want) => Ok(()),
            Err(e) => Err(format!("{name}: error `{e}` does not contain `{want}`")),
        };
    }
    let tenant = load(v).map_err(|e| format!("{name}: tenant rejected: {e}"))?;
    let mut signin =
        SignIn::from_value("request.json", &v["request"]).map_err(|e| format!("{name}: {e}"))?;
    // Dated vectors are decided as of their `now` (Entra's dated changes).
    if let Some(now) = v["now"].as_str() {
        signin.at = Some(
            gardien_core::time::parse_rfc3339(now)
                .ok_or_else(|| format!("{name}: `now` is not RFC 3339"))?,
        );
    }
    if mode == "whatif" {
        let report = WhatIfReport::new(&tenant, &signin).to_graph_json(&tenant);
        let entries = report["value"].as_array().cloned().unwrap_or_default();
        for (id, want) in expect.as_object().into_iter().flatten() {
            let got = entries
                .iter()
                .find(|e| e["id"] == Value::String(id.clone()))
                .ok_or(format!("{name}: no entry for {id}"))?;
            for key in ["policyApplies", "analysisReasons"] {
                if got[key] != want[key] {
                    return Err(format!(
                        "{name}: {id}.{key} = {}, expected {}",
                        got[key], want[key]
                    ));
                }
            }
        }
        return Ok(());
    }
    let evaluation = tenant.evaluate(&signin);
    // The hot path must agree with the traced path.
    let verdict = tenant.decide(&signin);
    if verdict != evaluation.verdict {
        return Err(format!(
            "{name}: decide() and evaluate() disagree: {verdict:?} vs {:?}",
            evaluation.verdict
        ));
    }
    // The sign-in log's untraced evaluation must log exactly what the traced one does.
    let outcomes = tenant.evaluate_outcomes(&signin);
    if outcomes.verdict != verdict
        || applied_policies(&tenant, &outcomes) != applied_policies(&tenant, &evaluation)
    {
        return Err(format!(
            "{name}: evaluate_outcomes() and evaluate() log different policies"
        ));
    }
    let report = serde_json::to_value(DecisionReport::new(&tenant, &signin, &evaluation))
        .map_err(|e| e.to_string())?;
    for key in [
        "decision",
        "errorCode",
        "conditionalAccessStatus",
        "requiredControls",
    ] {
        if let Some(want) = expect.get(key)
            && &report[key] != want
        {
            return Err(format!(
                "{name}: {key} = {}, expected {want}\ntrace: {:#}",
                report[key], report["trace"]
            ));
        }
    }
    for (id, want) in expect["policies"].as_object().into_iter().flatten() {
        let got = report["appliedConditionalAccessPolicies"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["id"] == Value::String(id.clone())))
            .map(|p| p["result"].clone())
            .unwrap_or(Value::Null);
        if &got != want {
            return Err(format!(
                "{name}: policy {id} result = {got}, expected {want}\ntrace: {:#}",
                report["trace"]
            ));
        }
    }
    Ok(())
}

#[test]
fn t01_to_t24_vectors() {
    let vectors = vectors();
    assert!(
        vectors.len() >= 24,
        "testdata/vectors holds {} vectors",
        vectors.len()
    );
    let failures: Vec<String> = vectors
        .iter()
        .filter_map(|(n, v)| check(n, v).err())
        .collect();
    println!("{} vectors, {} failed", vectors.len(), failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `SignIn::to_request_json` writes what `SignIn::from_value` reads back to an equal sign-in,
/// for every vector request and every demo request.
#[test]
fn request_json_round_trips() {
    let mut requests: Vec<(String, Value)> = vectors()
        .into_iter()
        .map(|(name, v)| (name, v["request"].clone()))
        .collect();
    let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo/requests");
    for entry in std::fs::read_dir(&demo).into_iter().flatten().flatten() {
        if let Ok(text) = std::fs::read_to_string(entry.path())
            && let Ok(v) = serde_json::from_str(&text)
        {
            requests.push((entry.path().display().to_string(), v));
        }
    }
    let mut checked = 0;
    for (name, body) in &requests {
        let Ok(first) = SignIn::from_value(name, body) else {
            continue; // vectors of invalid requests
        };
        let written = first.to_request_json();
        let again = SignIn::from_value(name, &written);
        assert_eq!(again.as_ref().ok(), Some(&first), "{name}: {written}");
        checked += 1;
    }
    assert!(checked >= 45, "only {checked} requests round-tripped");
}
