//! Differential test: the compiled evaluator against a plain reference evaluator written
//! straight from the spec (`tests/reference/evaluator.rs`), on random tenants and requests.
//!
//! For every generated (tenant, request) pair, both sides compute, and must agree on:
//!
//! * enforcement (`CompiledTenant::evaluate`, and `decide` on the hot path): the decision,
//!   the error code, the required controls, the deciding policy, `conditionalAccessStatus`,
//!   the merged session controls, and per policy its sign-in log result, its grant state,
//!   `conditionsSatisfied` / `conditionsNotSatisfied` and each condition's outcome;
//! * what-if (`CompiledTenant::what_if` through `WhatIfReport`): per policy `policyApplies`,
//!   `analysisReasons` and each condition's outcome (`notEnoughInformation` included).
//!
//! A disagreement prints the tenant JSON, the request and both results. The reference is
//! also checked against the spec's test vectors (`testdata/vectors`), independently of the
//! core. Case count: `PROPTEST_CASES` (default 2000).
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: failures report through panics"
)]

#[path = "reference/evaluator.rs"]
mod evaluator;
#[path = "reference/filter.rs"]
mod filter;
#[path = "reference/generate.rs"]
mod generate;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;

use gardien_core::eval::Decision;
use gardien_core::report::{DecisionReport, WhatIfReport};
use gardien_core::{CompiledTenant, SignIn, SourceFile, Tenant, TenantSource};
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use serde_json::{Value, json};

use evaluator::{Cond, Frequency, Session, Tri};

fn load(tenant: &Value) -> Result<CompiledTenant, String> {
    let source = TenantSource {
        combined: Some(SourceFile::new(
            "tenant.json",
            serde_json::to_vec(tenant).map_err(|e| e.to_string())?,
        )),
        ..Default::default()
    };
    Tenant::load(&source)
        .map(CompiledTenant::compile)
        .map_err(|e| e.to_string())
}

fn tri_name(t: Tri) -> &'static str {
    match t {
        Tri::Yes => "satisfied",
        Tri::No => "notSatisfied",
        Tri::Unknown => "notEnoughInformation",
    }
}

/// Conditions as sorted `"name=result"` strings (order of evaluation is not compared).
fn reference_conditions(conditions: &[(Cond, Tri)]) -> Vec<String> {
    let mut v: Vec<String> = conditions
        .iter()
        .map(|(c, t)| format!("{}={}", c.what_if().0, tri_name(*t)))
        .collect();
    v.sort();
    v
}

fn session_json(s: &Session) -> Value {
    let mut o = serde_json::Map::new();
    if s.app_enforced {
        o.insert("applicationEnforcedRestrictions".into(), json!(true));
    }
    if let Some(t) = &s.cloud_app_security {
        o.insert("cloudAppSecurity".into(), json!(t));
    }
    match s.frequency {
        Some(Frequency::EveryTime) => {
            o.insert("signInFrequency".into(), json!("everyTime"));
        }
        Some(Frequency::Hours(h, secondary)) => {
            let text = format!("{h}h{}", if secondary { " secondary" } else { "" });
            o.insert("signInFrequency".into(), json!(text));
        }
        None => {}
    }
    if let Some(m) = &s.persistent_browser {
        o.insert("persistentBrowser".into(), json!(m));
    }
    if s.disable_resilience_defaults {
        o.insert("disableResilienceDefaults".into(), json!(true));
    }
    if s.secure_sign_in_session {
        o.insert("secureSignInSession".into(), json!(true));
    }
    if let Some(m) = &s.cae {
        o.insert("continuousAccessEvaluation".into(), json!(m));
    }
    Value::Object(o)
}

/// The core's Graph `sessionControls` output in the same normalised shape.
fn normalise_core_session(v: &Value) -> Value {
    let mut o = serde_json::Map::new();
    if v.get("applicationEnforcedRestrictions").is_some() {
        o.insert("applicationEnforcedRestrictions".into(), json!(true));
    }
    if let Some(c) = v.get("cloudAppSecurity") {
        o.insert("cloudAppSecurity".into(), c["cloudAppSecurityType"].clone());
    }
    if let Some(f) = v.get("signInFrequency") {
        let text = if f["frequencyInterval"] == "everyTime" {
            "everyTime".to_owned()
        } else {
            let value = f["value"].as_u64().unwrap_or(0);
            let hours = if f["type"] == "days" {
                value * 24
            } else {
                value
            };
            let secondary = f["authenticationType"] == "secondaryAuthentication";
            format!("{hours}h{}", if secondary { " secondary" } else { "" })
        };
        o.insert("signInFrequency".into(), json!(text));
    }
    if let Some(p) = v.get("persistentBrowser") {
        o.insert("persistentBrowser".into(), p["mode"].clone());
    }
    if v.get("disableResilienceDefaults").is_some() {
        o.insert("disableResilienceDefaults".into(), json!(true));
    }
    if v.get("secureSignInSession").is_some() {
        o.insert("secureSignInSession".into(), json!(true));
    }
    if let Some(c) = v.get("continuousAccessEvaluation") {
        o.insert("continuousAccessEvaluation".into(), c["mode"].clone());
    }
    Value::Object(o)
}

/// What the reference says, in a shape both sides can be compared in.
fn reference_result(tenant: &Value, request: &Value, now: Option<i64>) -> Value {
    let d = evaluator::evaluate(tenant, request, now);
    let policies: Vec<Value> = d
        .policies
        .iter()
        .map(|p| {
            let flags = |want: &dyn Fn(Tri) -> bool| {
                evaluator::join_flags(
                    p.conditions
                        .iter()
                        .filter(|(_, t)| want(*t))
                        .map(|(c, _)| c.log())
                        .collect(),
                    "none",
                )
            };
            json!({
                "id": p.id,
                "result": p.result,
                "grant": p.grant.as_ref().map(|g| g.describe()).unwrap_or_default(),
                "conditionsSatisfied": flags(&|t| t == Tri::Yes),
                "conditionsNotSatisfied": flags(&|t| t != Tri::Yes),
                "conditions": reference_conditions(&p.conditions),
            })
        })
        .collect();
    let what_if: Vec<Value> = evaluator::what_if(tenant, request, now)
        .iter()
        .map(|e| {
            json!({"id": e.id, "policyApplies": e.applies, "analysisReasons": e.reasons,
                   "conditions": reference_conditions(&e.conditions)})
        })
        .collect();
    json!({
        "decision": d.decision,
        "errorCode": if d.decision == "deny" { json!(d.error_code) } else { Value::Null },
        "conditionalAccessStatus": d.status,
        "requiredControls": d.required.iter().map(|c| c.name()).collect::<Vec<_>>(),
        "decidingPolicy": d.deciding,
        "sessionControls": session_json(&d.session),
        "policies": policies,
        "whatIf": what_if,
    })
}

fn core_conditions(trace: &Value) -> Vec<String> {
    let mut v: Vec<String> = trace["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            format!(
                "{}={}",
                c["condition"].as_str().unwrap_or(""),
                c["result"].as_str().unwrap_or("")
            )
        })
        .collect();
    v.sort();
    v
}

/// What the core says, through its public interface.
fn core_result(tenant: &CompiledTenant, signin: &SignIn) -> Result<Value, String> {
    let evaluation = tenant.evaluate(signin);
    let verdict = tenant.decide(signin);
    if verdict != evaluation.verdict {
        return Err(format!(
            "decide() and evaluate() disagree: {verdict:?} vs {:?}",
            evaluation.verdict
        ));
    }
    let report = serde_json::to_value(DecisionReport::new(tenant, signin, &evaluation))
        .map_err(|e| e.to_string())?;
    let id = |i: usize| tenant.tenant.policies.get(i).map(|p| p.id.clone());
    let policies: Vec<Value> = report["appliedConditionalAccessPolicies"]
        .as_array()
        .into_iter()
        .flatten()
        .zip(report["trace"].as_array().into_iter().flatten())
        .map(|(p, trace)| {
            json!({
                "id": p["id"],
                "result": p["result"],
                "grant": trace["grant"],
                "conditionsSatisfied": p["conditionsSatisfied"],
                "conditionsNotSatisfied": p["conditionsNotSatisfied"],
                "conditions": core_conditions(trace),
            })
        })
        .collect();
    let what_if_report = WhatIfReport::new(tenant, signin);
    let what_if: Vec<Value> = what_if_report
        .entries
        .iter()
        .zip(what_if_report.traces(tenant, signin))
        .map(|(e, trace)| {
            json!({"id": id(e.index), "policyApplies": e.policy_applies,
                   "analysisReasons": e.analysis_reasons,
                   "conditions": core_conditions(&serde_json::to_value(&trace).unwrap_or_default())})
        })
        .collect();
    let deciding = match verdict.decision {
        Decision::Allow => None,
        _ => verdict.deciding_policy.and_then(id),
    };
    Ok(json!({
        "decision": report["decision"],
        "errorCode": report["errorCode"],
        "conditionalAccessStatus": report["conditionalAccessStatus"],
        "requiredControls": report["requiredControls"],
        "decidingPolicy": deciding,
        "sessionControls": normalise_core_session(&report["sessionControls"]),
        "policies": policies,
        "whatIf": what_if,
    }))
}

/// The top-level members (and policies) on which the two results differ.
fn differences(core: &Value, reference: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (key, want) in reference.as_object().into_iter().flatten() {
        let got = &core[key];
        if got == want {
            continue;
        }
        match (got.as_array(), want.as_array()) {
            (Some(a), Some(b)) if a.len() == b.len() => {
                for (x, y) in a.iter().zip(b) {
                    if x != y {
                        out.push(format!("{key}: core {x}\n      reference {y}"));
                    }
                }
            }
            _ => out.push(format!("{key}: core {got}\n      reference {want}")),
        }
    }
    out
}

/// Counts of what the generated cases exercised, so that a generator that stopped
/// producing interesting cases is noticed.
#[derive(Default, Debug)]
struct Coverage {
    decisions: BTreeMap<String, usize>,
    results: BTreeMap<String, usize>,
    conditions: BTreeMap<String, usize>,
    reasons: BTreeMap<String, usize>,
}

impl Coverage {
    fn add(&mut self, reference: &Value) {
        let decision = format!(
            "{} {}",
            reference["decision"].as_str().unwrap_or(""),
            reference["errorCode"]
        );
        *self.decisions.entry(decision).or_default() += 1;
        for p in reference["policies"].as_array().into_iter().flatten() {
            *self
                .results
                .entry(p["result"].as_str().unwrap_or("").to_owned())
                .or_default() += 1;
            for c in p["conditions"].as_array().into_iter().flatten() {
                *self
                    .conditions
                    .entry(c.as_str().unwrap_or("").to_owned())
                    .or_default() += 1;
            }
        }
        for e in reference["whatIf"].as_array().into_iter().flatten() {
            for c in e["conditions"].as_array().into_iter().flatten() {
                *self
                    .conditions
                    .entry(format!("what-if {}", c.as_str().unwrap_or("")))
                    .or_default() += 1;
            }
            for r in e["analysisReasons"].as_str().unwrap_or("").split(',') {
                *self.reasons.entry(r.to_owned()).or_default() += 1;
            }
        }
    }
}

fn check(
    tenant: &Value,
    request: &Value,
    now: Option<i64>,
    coverage: &mut Coverage,
) -> Result<(), TestCaseError> {
    let compiled =
        load(tenant).map_err(|e| TestCaseError::fail(format!("generated tenant rejected: {e}")))?;
    let mut signin = SignIn::from_value("request.json", request)
        .map_err(|e| TestCaseError::fail(format!("generated request rejected: {e}")))?;
    signin.at = now;
    let core = core_result(&compiled, &signin).map_err(TestCaseError::fail)?;
    let reference = reference_result(tenant, request, now);

    coverage.add(&reference);
    if core != reference {
        let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
        return Err(TestCaseError::fail(format!(
            "the compiled evaluator and the reference disagree\n\ndifferences:\n  {}\n\ntenant:\n{}\n\nrequest (evaluated at {now:?}):\n{}\n\ncore:\n{}\n\nreference:\n{}",
            differences(&core, &reference).join("\n  "),
            pretty(tenant),
            pretty(request),
            pretty(&core),
            pretty(&reference),
        )));
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000)
}

#[test]
fn compiled_evaluator_agrees_with_the_reference() {
    // Generated values nest deeply; debug builds need more than the default 2 MiB stack.
    let run = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(differential)
        .unwrap();
    if let Err(panic) = run.join() {
        std::panic::resume_unwind(panic);
    }
}

fn differential() {
    let config = Config {
        cases: cases(),
        max_shrink_iters: 2000,
        source_file: Some(file!()),
        // Seeds of failing cases go to `tests/reference.proptest-regressions`.
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let coverage = RefCell::new(Coverage::default());
    let result = runner.run(
        &(generate::tenant(), generate::request(), generate::instant()),
        |(tenant, request, now)| check(&tenant, &request, now, &mut coverage.borrow_mut()),
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    let coverage = coverage.into_inner();
    println!("{coverage:#?}");
    // The generators must keep reaching every outcome (a vacuous comparison passes anything);
    // at 2000 cases the rarest of these is expected about ten times.
    if cases() >= 2000 {
        for decision in [
            "allow null",
            "challenge null",
            "deny 53003",
            "deny 53000",
            "deny 53001",
        ] {
            assert!(
                coverage.decisions.contains_key(decision),
                "no case decided `{decision}`: {coverage:#?}"
            );
        }
        for result in [
            "success",
            "failure",
            "notApplied",
            "notEnabled",
            "reportOnlySuccess",
            "reportOnlyFailure",
            "reportOnlyInterrupted",
            "reportOnlyNotApplied",
        ] {
            assert!(
                coverage.results.contains_key(result),
                "no policy logged `{result}`: {coverage:#?}"
            );
        }
        for condition in [
            "users",
            "workloadIdentities",
            "application",
            "userActions",
            "authenticationContext",
            "devicePlatform",
            "devices",
            "clientApps",
            "location",
            "signInRisk",
            "userRisk",
            "insiderRisk",
            "authenticationFlow",
        ] {
            for outcome in ["satisfied", "notSatisfied"] {
                let key = format!("{condition}={outcome}");
                assert!(
                    coverage.conditions.contains_key(&key),
                    "no condition `{key}`: {coverage:#?}"
                );
            }
        }
        assert!(coverage.reasons.contains_key("notEnoughInformation"));
    }
}

// ---------------------------------------------------------------------------------------
// The reference on the spec's test vectors, independently of the core.
// ---------------------------------------------------------------------------------------

fn vectors() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let v = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), v)
        })
        .collect()
}

#[test]
fn the_reference_reproduces_the_spec_vectors() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for (name, v) in vectors() {
        let expect = &v["expect"];
        let now = v["now"]
            .as_str()
            .map(|t| gardien_core::time::parse_rfc3339(t).expect("vector `now` is RFC 3339"));
        let result = reference_result(&v["tenant"], &v["request"], now);
        match v["mode"].as_str().unwrap_or("evaluate") {
            "load" => continue,
            "whatif" => {
                for (id, want) in expect.as_object().into_iter().flatten() {
                    let got = result["whatIf"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|e| e["id"] == json!(id));
                    for key in ["policyApplies", "analysisReasons"] {
                        let got = got.map(|g| g[key].clone()).unwrap_or_default();
                        if got != want[key] {
                            failures.push(format!(
                                "{name}: {id}.{key} = {got}, expected {}",
                                want[key]
                            ));
                        }
                    }
                }
            }
            _ => {
                for key in [
                    "decision",
                    "errorCode",
                    "conditionalAccessStatus",
                    "requiredControls",
                ] {
                    if let Some(want) = expect.get(key)
                        && &result[key] != want
                    {
                        failures.push(format!("{name}: {key} = {}, expected {want}", result[key]));
                    }
                }
                for (id, want) in expect["policies"].as_object().into_iter().flatten() {
                    let got = result["policies"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|p| p["id"] == json!(id))
                        .map(|p| p["result"].clone())
                        .unwrap_or_default();
                    if &got != want {
                        failures.push(format!("{name}: policy {id} = {got}, expected {want}"));
                    }
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} vectors checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
