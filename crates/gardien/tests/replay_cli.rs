#![allow(clippy::panic, reason = "test failures report through panics")]

//! End-to-end tests of `gardien replay` on the sample logs of `testdata/signins/`: gardien's
//! own log (`gardien.jsonl`, 12 records written by `gardien serve --demo`) and an Entra
//! export (`entra-export.json`, a Graph collection of 10 records, two of which cannot be
//! replayed against a logged outcome), against the demo tenant and modified copies of it.
//! Output is read with `serde_json::Value`, never the producing types.

mod support;

use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;
use support::{TempDir, cli::gardien_in, repo_root};

const GARDIEN_LOG: &str = "testdata/signins/gardien.jsonl";
const ENTRA_LOG: &str = "testdata/signins/entra-export.json";
const CA04: &str = "ca04-0000-4000-8000-000000000000";
const ALICE: &str = "a1a1a1a1-0000-4000-8000-000000000001";
const PAYROLL: &str = "c0ffee00-0000-4000-8000-000000000100";

/// Runs gardien from the repository root.
fn gardien(args: &[&str]) -> (i32, String, String) {
    gardien_in(&repo_root(), args)
}

/// `gardien replay --json`, parsed; panics unless it exits 0 with one JSON document.
fn replay_json(tenant: &str, logs: &[&str], baseline: Option<&str>) -> Value {
    let mut args = vec!["replay", "--tenant", tenant, "--json", "--logs"];
    args.extend_from_slice(logs);
    if let Some(b) = baseline {
        args.extend_from_slice(&["--baseline", b]);
    }
    let (code, out, err) = gardien(&args);
    assert_eq!(code, 0, "replay failed: {err}");
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document: {e}\n{out}"))
}

/// A copy of the demo tenant, changed by `edit` (file name → policy JSON, or a new file).
fn demo_copy(dir: &TempDir, name: &str, edit: impl Fn(&mut Vec<(String, Value)>)) -> String {
    let src = repo_root().join("examples/demo/tenant");
    let dst = dir.path().join(name);
    std::fs::create_dir_all(dst.join("policies")).unwrap_or_else(|e| panic!("{e}"));
    for f in ["namedLocations.json", "directory.json"] {
        std::fs::copy(src.join(f), dst.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    let mut policies: Vec<(String, Value)> = std::fs::read_dir(src.join("policies"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .map(|p| {
            let v = serde_json::from_slice(&std::fs::read(&p).unwrap_or_default())
                .unwrap_or(Value::Null);
            (
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                v,
            )
        })
        .collect();
    edit(&mut policies);
    for (file, v) in policies {
        std::fs::write(dst.join("policies").join(file), v.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    dst.display().to_string()
}

fn disable(policies: &mut [(String, Value)], file: &str) {
    for (f, v) in policies.iter_mut() {
        if f == file {
            v["state"] = json!("disabled");
        }
    }
}

/// `{change: count}` for every category.
fn changes(report: &Value) -> Vec<(String, u64)> {
    let c = &report["changes"];
    [
        "newlyBlocked",
        "newlyChallenged",
        "noLongerBlocked",
        "noLongerChallenged",
        "noLongerCovered",
        "errorCodeChanged",
        "decidingPolicyMoved",
    ]
    .iter()
    .map(|k| ((*k).to_owned(), c[*k]["count"].as_u64().unwrap_or(u64::MAX)))
    .chain(std::iter::once((
        "unchanged".to_owned(),
        c["unchanged"].as_u64().unwrap_or(u64::MAX),
    )))
    .filter(|(_, n)| *n != 0)
    .collect()
}

fn expect_changes(report: &Value, want: &[(&str, u64)]) {
    let want: Vec<(String, u64)> = want.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect();
    assert_eq!(changes(report), want, "{}", report["changes"]);
}

/// `(source, change)` of the listed sign-ins whose change is not `unchanged`.
fn changed(report: &Value) -> Vec<(String, String)> {
    report["signIns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["change"].is_string() && e["change"] != "unchanged")
        .map(|e| {
            (
                e["source"].as_str().unwrap_or_default().to_owned(),
                e["change"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn counts(list: &Value) -> Vec<(String, u64)> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or_default().to_owned(),
                c["count"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn the_same_tenant_changes_nothing() {
    let r = replay_json("examples/demo/tenant", &[GARDIEN_LOG, ENTRA_LOG], None);
    assert_eq!(r["comparedWith"], "loggedOutcome");
    assert_eq!(
        r["totals"],
        json!({"records": 22, "replayed": 20, "exact": 12, "withAssumptions": 8, "skipped": 2})
    );
    expect_changes(&r, &[("unchanged", 20)]);
    let skipped: Vec<(String, u64)> = r["skipped"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["reason"].as_str().unwrap_or_default().to_owned(),
                s["count"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        vec![
            ("noUser".to_owned(), 1),
            ("notConditionalAccess".to_owned(), 1)
        ]
    );
    assert_eq!(
        r["skipped"][1]["examples"][0],
        "testdata/signins/entra-export.json: /value/6: `status.errorCode` 50126 is not a Conditional Access outcome"
    );
    let assumptions: Vec<(String, u64)> = r["assumptions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            (
                a["assumption"].as_str().unwrap_or_default().to_owned(),
                a["count"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    let want: Vec<(String, u64)> = [
        ("applications", 8),
        ("devicePlatform", 1),
        ("deviceProperties", 1),
        ("identityRisk", 8),
        ("authenticationMethods", 1),
        ("authenticationFlow", 8),
        ("grantFacts", 8),
    ]
    .iter()
    .map(|(k, n)| ((*k).to_owned(), *n))
    .collect();
    assert_eq!(assumptions, want);
    // The listing has every record, in file order, gardien's first.
    let list = r["signIns"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 22);
    assert_eq!(list[0]["source"], "testdata/signins/gardien.jsonl:1");
    assert_eq!(list[0]["rebuilt"], "exact");
    assert_eq!(list[0]["before"]["errorCode"], 53003);
    assert_eq!(list[0]["after"]["errorCode"], 53003);
    assert_eq!(
        list[0]["after"]["decidingPolicy"]["displayName"],
        "CA01 Block sign-ins from outside the EU"
    );
    assert_eq!(
        list[19]["source"],
        "testdata/signins/entra-export.json: /value/7"
    );
    assert_eq!(list[19]["skipped"], "noUser");
    assert_eq!(list[12]["rebuilt"], "withAssumptions");
    assert_eq!(
        list[12]["correlationId"],
        "c0a1e000-0000-4000-8000-000000000001"
    );
}

#[test]
fn a_disabled_policy_no_longer_blocks() {
    let tmp = TempDir::new("replay-ca04");
    let tenant = demo_copy(&tmp, "proposed", |p| disable(p, "ca04.json"));
    let r = replay_json(&tenant, &[GARDIEN_LOG, ENTRA_LOG], None);
    // One sign-in CA04 and CA05 both denied is still denied, by CA05 now.
    expect_changes(
        &r,
        &[
            ("noLongerBlocked", 3),
            ("decidingPolicyMoved", 1),
            ("unchanged", 16),
        ],
    );
    assert_eq!(
        counts(&r["changes"]["decidingPolicyMoved"]["byPolicy"]),
        vec![("ca05-0000-4000-8000-000000000000".to_owned(), 1)]
    );
    let g = &r["changes"]["noLongerBlocked"];
    assert_eq!(counts(&g["byPolicy"]), vec![(CA04.to_owned(), 3)]);
    assert_eq!(counts(&g["byUser"]), vec![(ALICE.to_owned(), 3)]);
    assert_eq!(counts(&g["byApp"]), vec![(PAYROLL.to_owned(), 3)]);
    assert_eq!(g["byApp"][0]["displayName"], "Payroll");
    assert_eq!(g["byUser"][0]["displayName"], "alice@contoso.example");
    assert_eq!(
        changed(&r),
        vec![
            (
                "testdata/signins/gardien.jsonl:2".to_owned(),
                "noLongerBlocked".to_owned()
            ),
            (
                "testdata/signins/gardien.jsonl:3".to_owned(),
                "decidingPolicyMoved".to_owned()
            ),
            (
                "testdata/signins/gardien.jsonl:12".to_owned(),
                "noLongerBlocked".to_owned()
            ),
            (
                "testdata/signins/entra-export.json: /value/1".to_owned(),
                "noLongerBlocked".to_owned()
            ),
        ]
    );
    let entry = r["signIns"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["source"] == "testdata/signins/entra-export.json: /value/1")
        .cloned()
        .unwrap_or_default();
    assert_eq!(entry["before"]["decision"], "deny");
    assert_eq!(entry["before"]["errorCode"], 53000);
    assert_eq!(entry["before"]["decidingPolicy"]["id"], CA04);
    assert_eq!(
        entry["after"],
        json!({"decision": "allow", "errorCode": null, "decidingPolicy": null, "policies": []})
    );

    // The same, for people.
    let (code, out, _) = gardien(&[
        "replay",
        "--tenant",
        &tenant,
        "--logs",
        GARDIEN_LOG,
        ENTRA_LOG,
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("exact from gardien's request: 12, rebuilt with assumptions: 8"),
        "{out}"
    );
    assert!(out.contains("no longer blocked: 3\n"), "{out}");
    assert!(
        out.contains("  by policy         3  CA04 Payroll in a browser needs a compliant device (ca04-0000-4000-8000-000000000000)"),
        "{out}"
    );
}

#[test]
fn a_new_block_policy_newly_blocks_and_changes_codes() {
    let tmp = TempDir::new("replay-ca07");
    let tenant = demo_copy(&tmp, "proposed", |p| {
        p.push((
            "ca07.json".to_owned(),
            json!({
                "id": "ca07-0000-4000-8000-000000000000",
                "displayName": "CA07 Block Android",
                "state": "enabled",
                "conditions": {
                    "users": {"includeUsers": ["All"]},
                    "applications": {"includeApplications": ["All"]},
                    "clientAppTypes": ["all"],
                    "platforms": {"includePlatforms": ["android"]}
                },
                "grantControls": {"operator": "OR", "builtInControls": ["block"]}
            }),
        ));
    });
    let r = replay_json(&tenant, &[GARDIEN_LOG, ENTRA_LOG], None);
    expect_changes(
        &r,
        &[
            ("newlyBlocked", 3),
            ("errorCodeChanged", 3),
            ("unchanged", 14),
        ],
    );
    assert_eq!(
        counts(&r["changes"]["newlyBlocked"]["byPolicy"]),
        vec![("ca07-0000-4000-8000-000000000000".to_owned(), 3)]
    );
    assert_eq!(
        changed(&r),
        vec![
            (
                "testdata/signins/gardien.jsonl:2".to_owned(),
                "errorCodeChanged".to_owned()
            ),
            (
                "testdata/signins/gardien.jsonl:4".to_owned(),
                "newlyBlocked".to_owned()
            ),
            (
                "testdata/signins/gardien.jsonl:9".to_owned(),
                "newlyBlocked".to_owned()
            ),
            (
                "testdata/signins/gardien.jsonl:12".to_owned(),
                "errorCodeChanged".to_owned()
            ),
            (
                "testdata/signins/entra-export.json: /value/1".to_owned(),
                "errorCodeChanged".to_owned()
            ),
            (
                "testdata/signins/entra-export.json: /value/9".to_owned(),
                "newlyBlocked".to_owned()
            ),
        ]
    );
}

#[test]
fn a_disabled_mfa_policy_leaves_a_sign_in_uncovered() {
    let tmp = TempDir::new("replay-ca06");
    let tenant = demo_copy(&tmp, "proposed", |p| disable(p, "ca06.json"));
    let r = replay_json(&tenant, &[GARDIEN_LOG, ENTRA_LOG], None);
    expect_changes(&r, &[("noLongerCovered", 1), ("unchanged", 19)]);
    let g = &r["changes"]["noLongerCovered"];
    assert_eq!(
        counts(&g["byPolicy"]),
        vec![("ca06-0000-4000-8000-000000000000".to_owned(), 1)]
    );
    assert_eq!(g["byUser"][0]["displayName"], "carol@contoso.example");
    assert_eq!(g["byApp"][0]["displayName"], "Microsoft Teams");
}

#[test]
fn a_baseline_tenant_replaces_the_logged_outcome() {
    let tmp = TempDir::new("replay-baseline");
    let tenant = demo_copy(&tmp, "proposed", |p| disable(p, "ca04.json"));
    let r = replay_json(&tenant, &[ENTRA_LOG], Some("examples/demo/tenant"));
    assert_eq!(r["comparedWith"], "baseline");
    assert_eq!(r["baseline"], "examples/demo/tenant");
    // The wrong-password sign-in has no CA outcome in the log, but both tenants decide it.
    assert_eq!(
        r["totals"],
        json!({"records": 10, "replayed": 9, "exact": 0, "withAssumptions": 9, "skipped": 1})
    );
    expect_changes(&r, &[("noLongerBlocked", 2), ("unchanged", 7)]);
    assert_eq!(
        changed(&r),
        vec![
            (
                "testdata/signins/entra-export.json: /value/1".to_owned(),
                "noLongerBlocked".to_owned()
            ),
            (
                "testdata/signins/entra-export.json: /value/6".to_owned(),
                "noLongerBlocked".to_owned()
            ),
        ]
    );
    assert_eq!(
        counts(&r["changes"]["noLongerBlocked"]["byPolicy"]),
        vec![(CA04.to_owned(), 2)]
    );
}

#[test]
fn a_json_array_export_reads_like_a_collection() {
    let tmp = TempDir::new("replay-array");
    let doc: Value =
        serde_json::from_slice(&std::fs::read(repo_root().join(ENTRA_LOG)).unwrap_or_default())
            .unwrap_or(Value::Null);
    let path: PathBuf = tmp.path().join("portal.json");
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(&doc["value"]).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let path = path.display().to_string();
    let r = replay_json("examples/demo/tenant", &[&path], None);
    assert_eq!(r["totals"]["records"], 10);
    assert_eq!(r["totals"]["replayed"], 8);
    assert_eq!(
        r["signIns"][7]["source"],
        Value::String(format!("{path}: /7"))
    );
}

#[test]
fn a_malformed_line_stops_with_file_and_line() {
    let (code, out, err) = gardien(&[
        "replay",
        "--tenant",
        "examples/demo/tenant",
        "--logs",
        "testdata/signins/malformed.jsonl",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty(), "nothing on stdout: {out}");
    assert!(
        err.contains("testdata/signins/malformed.jsonl:3:")
            && err.contains("EOF while parsing an object"),
        "{err}"
    );
    assert!(
        err.contains("help: JSON lines hold one whole record per line"),
        "{err}"
    );

    // With --json the listing streams: what was written before the error is not a valid
    // document, so it cannot be mistaken for a complete report.
    let (code, out, _) = gardien(&[
        "replay",
        "--tenant",
        "examples/demo/tenant",
        "--json",
        "--logs",
        "testdata/signins/malformed.jsonl",
    ]);
    assert_eq!(code, 1);
    assert!(serde_json::from_str::<Value>(&out).is_err(), "{out}");
}

#[test]
fn unusable_records_are_skipped_and_counted() {
    let tmp = TempDir::new("replay-odd");
    let path = tmp.path().join("odd.jsonl");
    let good = std::fs::read_to_string(repo_root().join(GARDIEN_LOG))
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    // (A first line that is an array would make the file a JSON array document.)
    let text = format!(
        "{good}\n[1, 2]\n{}\n\n{}\n",
        json!({"userId": ALICE, "appId": PAYROLL, "ipAddress": "not-an-ip", "status": {"errorCode": 0}}),
        json!({"userId": ALICE, "appId": PAYROLL, "status": {"errorCode": 0}, "gardien": {"decision": "maybe"}}),
    );
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    let file = path.display().to_string();
    let r = replay_json("examples/demo/tenant", &[&file], None);
    assert_eq!(
        r["totals"],
        json!({"records": 4, "replayed": 1, "exact": 1, "withAssumptions": 0, "skipped": 3})
    );
    let skipped = r["skipped"].as_array().cloned().unwrap_or_default();
    let reasons: Vec<&str> = skipped
        .iter()
        .filter_map(|s| s["reason"].as_str())
        .collect();
    assert_eq!(reasons, vec!["notAnObject", "invalidField"]);
    assert_eq!(
        skipped[0]["examples"][0],
        Value::String(format!(
            "{file}:2: the element is an array, not a sign-in record"
        ))
    );
    let invalid: Vec<&str> = skipped[1]["examples"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(invalid.len(), 2);
    assert!(
        invalid[0].starts_with(&format!("{file}:3: `ipAddress` `not-an-ip`")),
        "{invalid:?}"
    );
    assert_eq!(
        invalid[1],
        format!("{file}:5: `gardien.decision` is `maybe`, expected allow, challenge or deny")
    );
}

#[test]
fn missing_inputs_fail_before_any_output() {
    let (code, out, err) = gardien(&[
        "replay",
        "--tenant",
        "examples/demo/tenant",
        "--json",
        "--logs",
        GARDIEN_LOG,
        "testdata/signins/no-such-file.json",
    ]);
    assert_eq!(code, 1);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("testdata/signins/no-such-file.json"), "{err}");
    let (code, out, err) = gardien(&[
        "replay",
        "--tenant",
        "examples/demo/no-such-tenant",
        "--logs",
        GARDIEN_LOG,
    ]);
    assert_eq!(code, 1);
    assert!(out.is_empty() && err.contains("no-such-tenant"), "{err}");
}

#[test]
fn a_log_can_come_from_stdin() {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_gardien"))
        .current_dir(repo_root())
        .args([
            "replay",
            "--tenant",
            "examples/demo/tenant",
            "--json",
            "--logs",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run gardien: {e}"));
    let log = std::fs::read(repo_root().join(ENTRA_LOG)).unwrap_or_default();
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&log).unwrap_or_else(|e| panic!("{e}"));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(0));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(
        r["totals"],
        json!({"records": 10, "replayed": 8, "exact": 0, "withAssumptions": 8, "skipped": 2})
    );
    assert_eq!(r["signIns"][7]["source"], "-: /value/7");
}

/// Entra's dated changes are read as of each record's time: the same baseline-scope request,
/// logged allowed before the 2026-06-15 rollout and challenged after it (or decided as of an
/// earlier instant, `gardien.evaluatedAt`), replays unchanged against the same tenant.
#[test]
fn records_are_replayed_as_of_their_own_time() {
    let vector: Value = serde_json::from_slice(
        &std::fs::read(
            repo_root()
                .join("testdata/vectors/D01-baseline-scopes-before-the-rollout-date-exempt.json"),
        )
        .unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = TempDir::new("replay-dated");
    let tenant = dir.path().join("tenant.json");
    std::fs::write(&tenant, vector["tenant"].to_string()).unwrap_or_else(|e| panic!("{e}"));
    let record = |id: &str, created: &str, evaluated: Option<&str>, decision: &str, code: u32| {
        let mut r = json!({"id": id, "createdDateTime": created, "status": {"errorCode": code},
            "gardien": {"decision": decision, "request": vector["request"]}});
        if let Some(at) = evaluated {
            r["gardien"]["evaluatedAt"] = json!(at);
        }
        r.to_string()
    };
    let lines = [
        record("before", "2026-06-01T08:00:00Z", None, "allow", 0),
        record("after", "2026-07-01T08:00:00Z", None, "challenge", 50074),
        record(
            "as-of",
            "2026-07-01T08:00:00Z",
            Some("2026-06-01T08:00:00Z"),
            "allow",
            0,
        ),
    ];
    let log = dir.path().join("dated.jsonl");
    std::fs::write(&log, lines.join("\n")).unwrap_or_else(|e| panic!("{e}"));
    let (tenant, log) = (tenant.display().to_string(), log.display().to_string());
    let r = replay_json(&tenant, &[&log], None);
    expect_changes(&r, &[("unchanged", 3)]);
    // Replayed at one instant instead, the record from before the rollout would change.
    let shifted = record("before", "2026-07-02T08:00:00Z", None, "allow", 0);
    std::fs::write(dir.path().join("shifted.jsonl"), shifted).unwrap_or_else(|e| panic!("{e}"));
    let shifted = dir.path().join("shifted.jsonl").display().to_string();
    let r = replay_json(&tenant, &[&shifted], None);
    expect_changes(&r, &[("newlyChallenged", 1)]);
}

#[test]
fn fail_on_makes_named_categories_exit_2() {
    let tmp = TempDir::new("replay-fail-on");
    let tenant = demo_copy(&tmp, "proposed", |p| disable(p, "ca04.json"));
    let run = |fail_on: &str| {
        let (code, _, err) = gardien(&[
            "replay",
            "--tenant",
            &tenant,
            "--logs",
            GARDIEN_LOG,
            ENTRA_LOG,
            "--fail-on",
            fail_on,
        ]);
        (code, err)
    };
    // CA04 disabled: sign-ins are no longer blocked, none newly blocked or challenged.
    assert_eq!(run("newlyBlocked,newlyChallenged").0, 0);
    assert_eq!(run("noLongerBlocked").0, 2);
    assert_eq!(run("any").0, 2);
    let (code, err) = run("newlyBlok");
    assert_eq!(code, 1);
    assert!(err.contains("unknown change category `newlyBlok`"), "{err}");
    // Without --fail-on the report is informational.
    let (code, out, _) = gardien(&["replay", "--tenant", &tenant, "--logs", GARDIEN_LOG]);
    assert_eq!(code, 0);
    assert!(out.contains("deciding policy moved"), "{out}");
}
