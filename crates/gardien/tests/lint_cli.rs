#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests report failures through panics"
)]

//! End-to-end tests of `gardien lint`: the demo tenant (findings, exit codes, every format),
//! SARIF 2.1.0 shape, load failures, and the real policy sets of `../shared/corpus/policies`
//! (skipped, saying so, when the corpus is absent). Output is parsed with `serde_json::Value`,
//! never with the producing types.

mod support;

use support::{cli::gardien_in, repo_root};

use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const NOW: &str = "2026-11-25T00:00:00Z";

fn gardien(args: &[&str]) -> (i32, String, String) {
    gardien_in(&repo_root(), args)
}

fn lint_json(tenant: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["lint", "--tenant", tenant, "--format", "json", "--now", NOW];
    args.extend_from_slice(extra);
    let (code, out, err) = gardien(&args);
    let report: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("{tenant}: bad JSON ({e}): {out}\nstderr: {err}"));
    (code, report)
}

/// `(code, policy id)` of every finding.
fn codes(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["code"].as_str().unwrap_or("").to_owned(),
                f["policy"]["id"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// A directory under the system temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("gardien-lint-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(p.join("policies")).unwrap();
        TempDir(p)
    }
    fn path(&self) -> String {
        self.0.display().to_string()
    }
    fn write(&self, name: &str, v: &Value) {
        std::fs::write(self.0.join(name), serde_json::to_vec_pretty(v).unwrap()).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn demo_tenant_findings_and_exit_codes() {
    let (code, report) = lint_json("examples/demo/tenant", &[]);
    assert_eq!(
        code, 2,
        "a warning fails with the default --fail-on: {report}"
    );
    assert_eq!(
        codes(&report),
        vec![
            (
                "GA004".to_owned(),
                "ca01-0000-4000-8000-000000000000".to_owned()
            ),
            (
                "GA304".to_owned(),
                "ca01-0000-4000-8000-000000000000".to_owned()
            ),
        ],
        "{report:#}"
    );
    let ga004 = &report["findings"][0];
    assert_eq!(ga004["severity"], "warning");
    assert_eq!(ga004["name"], "ineffective-emergency-access-exclusion");
    assert_eq!(ga004["pointer"], "/conditions/users/excludeGroups");
    assert_eq!(ga004["url"], "docs/lint.md#ga004");
    assert!(
        ga004["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("policies/ca01.json")),
        "{ga004}"
    );
    assert!(
        ga004["message"]
            .as_str()
            .is_some_and(|m| m.contains("`Break-glass accounts` has no members")),
        "{ga004}"
    );
    assert_eq!(
        report["summary"],
        json!({"errors": 0, "warnings": 1, "infos": 1, "total": 2, "policies": 6,
               "skipped": []})
    );

    let (code, _) = lint_json("examples/demo/tenant", &["--fail-on", "error"]);
    assert_eq!(code, 0, "no error-level finding");
    let (code, _) = lint_json("examples/demo/tenant", &["--fail-on", "none"]);
    assert_eq!(code, 0);

    let (code, out, err) = gardien(&["lint", "--tenant", "examples/demo/tenant", "--now", NOW]);
    assert_eq!(code, 2, "{err}");
    assert!(err.is_empty(), "nothing on stderr: {err}");
    let warnings = out.find("── warnings (1) ──").expect("warnings group");
    let info = out.find("── info (1) ──").expect("info group");
    assert!(
        warnings < info,
        "grouped by severity, most severe first:\n{out}"
    );
    assert!(
        out.contains(
            "warning[GA004] examples/demo/tenant/policies/ca01.json:10: /conditions/users/excludeGroups: policy `CA01 Block sign-ins from outside the EU`"
        ),
        "{out}"
    );
    assert!(
        out.contains("2 findings in 6 policies: 0 errors, 1 warning, 1 info"),
        "{out}"
    );
}

#[test]
fn demo_tenant_as_sarif() {
    let (code, out, err) = gardien(&[
        "lint",
        "--tenant",
        "examples/demo/tenant",
        "--format",
        "sarif",
        "--now",
        NOW,
    ]);
    assert_eq!(code, 2, "{err}");
    let sarif: Value = serde_json::from_str(&out).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    assert!(
        sarif["$schema"]
            .as_str()
            .is_some_and(|s| s.contains("sarif-2.1.0"))
    );
    let runs = sarif["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "gardien");
    let rules = driver["rules"].as_array().expect("rules");
    let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
    for code in [
        "GA001", "GA002", "GA004", "GA101", "GA201", "GA301", "GA304",
    ] {
        assert!(ids.contains(&code), "{code} in the driver's rules");
    }
    for r in rules {
        assert!(r["shortDescription"]["text"].is_string(), "{r}");
        assert!(
            ["error", "warning", "note"]
                .contains(&r["defaultConfiguration"]["level"].as_str().unwrap_or("")),
            "{r}"
        );
    }
    let results = runs[0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    let levels: Vec<&str> = results.iter().filter_map(|r| r["level"].as_str()).collect();
    assert_eq!(levels, vec!["warning", "note"]);
    for r in results {
        let id = r["ruleId"].as_str().unwrap_or("");
        let index = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], id, "ruleIndex points at the rule");
        assert!(r["message"]["text"].as_str().is_some_and(|t| !t.is_empty()));
        let location = &r["locations"][0];
        let physical = &location["physicalLocation"];
        assert_eq!(
            physical["artifactLocation"]["uri"],
            "examples/demo/tenant/policies/ca01.json"
        );
        assert!(
            physical["region"]["startLine"]
                .as_u64()
                .is_some_and(|l| l > 1)
        );
        assert_eq!(
            location["logicalLocations"][0]["name"],
            "CA01 Block sign-ins from outside the EU"
        );
        assert_eq!(
            location["logicalLocations"][0]["fullyQualifiedName"],
            "conditionalAccessPolicy/ca01-0000-4000-8000-000000000000"
        );
    }
}

#[test]
fn a_tenant_that_cannot_load_exits_1_with_nothing_on_stdout() {
    let tmp = TempDir::new("broken");
    std::fs::write(tmp.0.join("policies/p.json"), b"{\"displayName\": ").unwrap();
    let (code, out, err) = gardien(&["lint", "--tenant", &tmp.path()]);
    assert_eq!(code, 1);
    assert!(out.is_empty(), "nothing on stdout: {out}");
    assert!(err.contains("p.json"), "the file is named: {err}");

    for bad in [
        vec!["--format", "xml"],
        vec!["--fail-on", "fatal"],
        vec!["--now", "yesterday"],
    ] {
        let mut args = vec!["lint", "--tenant", "examples/demo/tenant"];
        args.extend(bad.iter());
        let (code, out, err) = gardien(&args);
        assert_eq!(code, 1, "{bad:?}");
        assert!(out.is_empty() && err.contains(bad[1]), "{bad:?}: {err}");
    }
}

#[test]
fn a_clean_tenant_exits_0() {
    let tmp = TempDir::new("clean");
    let users = json!({"includeUsers": ["All"], "excludeGroups": ["bg"]});
    let policy = |id: &str, extra: Value, control: &str| {
        let mut conditions = json!({"users": users, "applications": {"includeApplications": ["All"]},
                                    "clientAppTypes": ["all"]});
        for (k, v) in extra.as_object().into_iter().flatten() {
            conditions[k] = v.clone();
        }
        json!({"id": id, "displayName": id, "state": "enabled", "conditions": conditions,
               "grantControls": {"operator": "OR", "builtInControls": [control]}})
    };
    tmp.write(
        "policies/mfa.json",
        &policy("mfa-everyone", json!({}), "mfa"),
    );
    tmp.write(
        "policies/legacy.json",
        &policy(
            "block-legacy",
            json!({"clientAppTypes": ["exchangeActiveSync", "other"]}),
            "block",
        ),
    );
    tmp.write(
        "directory.json",
        &json!({"users": [{"id": "bg-1", "memberOf": ["bg"],
                           "roles": ["62e90394-69f5-4237-9190-012177145e10"]}],
                "groups": [{"id": "bg", "displayName": "Emergency access"}]}),
    );
    let (code, out, err) = gardien(&["lint", "--tenant", &tmp.path(), "--now", NOW]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("no findings in 2 policies"), "{out}");
}

// ---------------------------------------------------------------------------------------
// The real policy sets.

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/policies");
    dir.is_dir().then_some(dir)
}

fn copy_json(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("json"))
        {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// A tenant directory from a corpus folder: `policies/` from `policies`, named locations
/// from `locations` (a folder or one file).
fn corpus_tenant(name: &str, policies: &Path, locations: Option<&Path>) -> TempDir {
    let tmp = TempDir::new(name);
    if policies.is_dir() {
        copy_json(policies, &tmp.0.join("policies"));
    } else {
        std::fs::copy(policies, tmp.0.join("policies").join("policies.json")).unwrap();
    }
    match locations {
        Some(l) if l.is_dir() => copy_json(l, &tmp.0.join("namedLocations")),
        Some(l) => {
            std::fs::copy(l, tmp.0.join("namedLocations.json")).unwrap();
        }
        None => {}
    }
    tmp
}

fn names(report: &Value, code: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["code"] == code)
        .map(|f| f["policy"]["displayName"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn corpus_j0eyv_baseline_is_nearly_clean() {
    let Some(c) = corpus() else {
        println!("SKIP: ../shared/corpus/policies is absent; the j0eyv lint test did not run");
        return;
    };
    let base = c.join("j0eyv__ConditionalAccessBaseline");
    let t = corpus_tenant(
        "j0eyv",
        &base.join("ConditionalAccess"),
        Some(&base.join("NamedLocations")),
    );
    let (code, report) = lint_json(&t.path(), &[]);
    assert_eq!(report["summary"]["policies"], 36);
    assert_eq!(report["summary"]["errors"], 0, "{report:#}");
    // The one real defect: CA104 targets `includeApplications: ["None"]`.
    assert_eq!(
        names(&report, "GA201"),
        vec!["CA104-Admins-IdentityProtection-AllApps-AnyPlatform-ContinuousAccessEvaluation"]
    );
    assert_eq!(report["summary"]["warnings"], 1, "{report:#}");
    assert_eq!(code, 2);
    // Both allowed-country blocks leave unknown countries out (info).
    assert_eq!(names(&report, "GA304").len(), 2);
    // Every lockout, legacy and admin-MFA rule is satisfied by this baseline.
    for quiet in ["GA001", "GA002", "GA003", "GA202", "GA301", "GA302"] {
        assert!(names(&report, quiet).is_empty(), "{quiet}: {report:#}");
    }
}

#[test]
fn corpus_other_sets() {
    let Some(c) = corpus() else {
        println!("SKIP: ../shared/corpus/policies is absent; the corpus lint test did not run");
        return;
    };
    // Cloudshield: 40 of 42 policies disabled, legacy authentication among them.
    let base = c.join("Cloudshield-io__Conditional-Access-Framework");
    let t = corpus_tenant(
        "cloudshield",
        &base.join("ConditionalAccess"),
        Some(&base.join("NamedLocations")),
    );
    let (code, report) = lint_json(&t.path(), &[]);
    let found: Vec<String> = codes(&report).into_iter().map(|(c, _)| c).collect();
    assert_eq!(found, vec!["GA301"], "{report:#}");
    assert_eq!(code, 2);
    assert!(
        report["findings"][0]["help"]
            .as_str()
            .is_some_and(|h| h.contains("CA030-CSB-L1-Global-AttackSurfaceReduction")),
        "the disabled legacy block is named: {report:#}"
    );

    // denis-beuermann 2022: a live tenant with real defects.
    let archive = c.join("denis-beuermann__ConditionalAccess/archive");
    let t = corpus_tenant(
        "denis2022",
        &archive.join("20220427-Policies.json"),
        Some(&archive.join("20220427-Locations.json")),
    );
    let (code, report) = lint_json(&t.path(), &[]);
    assert_eq!(code, 2);
    assert_eq!(names(&report, "GA201"), vec!["CA.LegacyAuthBlock"]);
    assert_eq!(names(&report, "GA302").len(), 1, "{report:#}");
    assert_eq!(names(&report, "GA303").len(), 10);
    assert_eq!(report["summary"]["errors"], 0);

    // AlexFilipin: only the three templates without placeholders load; 600's "Specific apps"
    // slot is `includeApplications: ["None"]`, and nothing is enabled.
    let alex = c.join("AlexFilipin__ConditionalAccess");
    let t = TempDir::new("alex");
    for f in [
        "Compliance/600 - RING - Compliance - Specific apps Block access.json",
        "Workload Protection/700 - RING - Workload Protection - All Apps Block Access from untrusted Location.json",
        "Workload Protection/701 - RING - Workload Protection - All apps Block Access When risk Level detected.json",
    ] {
        let name = Path::new(f).file_name().unwrap();
        std::fs::copy(alex.join(f), t.0.join("policies").join(name)).unwrap();
    }
    let (code, report) = lint_json(&t.path(), &[]);
    assert_eq!(code, 2);
    let found: Vec<String> = codes(&report).into_iter().map(|(c, _)| c).collect();
    assert_eq!(found, vec!["GA201", "GA301", "GA302"], "{report:#}");

    // Sets a loader must refuse: exit 1, nothing on stdout.
    for (set, folder) in [
        (
            "Clutch2View__nis2-conditional-access-policies",
            "ConditionalAccess",
        ),
        ("DataGuys__ConditionalAccessAnalyzer", "Templates"),
        ("cisagov__ScubaGear", ""),
    ] {
        let t = corpus_tenant(set, &c.join(set).join(folder), None);
        let (code, out, err) = gardien(&["lint", "--tenant", &t.path()]);
        assert_eq!(code, 1, "{set}: {out}");
        assert!(
            out.is_empty() && err.contains("invalid tenant"),
            "{set}: {err}"
        );
    }

    // The 2021 snapshot does not load: exit 1, the missing location named on stderr.
    let t = corpus_tenant(
        "denis2021",
        &archive.join("20210511-Policies.json"),
        Some(&archive.join("20210511_Locations.json")),
    );
    let (code, out, err) = gardien(&["lint", "--tenant", &t.path()]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("named location `10dea6b9-"), "{err}");
}

#[test]
fn waivers_set_findings_aside_in_every_format_and_expire() {
    let demo = repo_root()
        .join("examples/demo/tenant")
        .display()
        .to_string();
    let (code, base) = lint_json(&demo, &["--fail-on", "info"]);
    let first = base["findings"][0].clone();
    let rule = first["code"].as_str().unwrap_or_default().to_owned();
    assert!(!rule.is_empty(), "the demo tenant has no finding: {base}");
    let same_rule = base["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["code"] == rule.as_str())
        .count();
    let total = base["summary"]["total"].as_u64().unwrap_or(0) as usize;
    let dir = std::env::temp_dir().join(format!("gardien-waivers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("waivers.toml");
    std::fs::write(
        &file,
        format!("[[waiver]]\nrule = \"{rule}\"\nreason = \"accepted by the change board\"\nexpires = \"2027-01-31\"\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let w = file.display().to_string();
    // JSON: the waived findings apart, the summary without them.
    let (_, r) = lint_json(&demo, &["--waivers", &w]);
    assert_eq!(r["waived"].as_array().map(Vec::len), Some(same_rule), "{r}");
    assert_eq!(r["waived"][0]["reason"], "accepted by the change board");
    assert_eq!(
        r["summary"]["total"].as_u64(),
        Some((total - same_rule) as u64)
    );
    assert!(
        r["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|f| f["code"] != rule.as_str())
    );
    // Text: a "waived" section.
    let (_, out, _) = gardien(&[
        "lint",
        "--tenant",
        &demo,
        "--waivers",
        &w,
        "--now",
        "2026-12-01",
    ]);
    assert!(
        out.contains("── waived (")
            && out.contains("waived until 2027-01-31: accepted by the change board"),
        "{out}"
    );
    // SARIF: suppressed results.
    let (_, out, _) = gardien(&[
        "lint",
        "--tenant",
        &demo,
        "--format",
        "sarif",
        "--waivers",
        &w,
        "--now",
        "2026-12-01",
    ]);
    let sarif: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}"));
    let suppressed: Vec<&Value> = sarif["runs"][0]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["suppressions"][0]["status"] == "accepted")
        .collect();
    assert_eq!(suppressed.len(), same_rule);
    assert!(suppressed.iter().all(|r| r["ruleId"] == rule.as_str()));
    assert_eq!(suppressed[0]["suppressions"][0]["kind"], "external");
    // Expired: nothing waived, and the run fails even if nothing else would.
    let (code_expired, out, _) = gardien(&[
        "lint",
        "--tenant",
        &demo,
        "--waivers",
        &w,
        "--now",
        "2027-02-01",
        "--fail-on",
        "error",
    ]);
    assert_eq!(code_expired, 2, "{out}");
    assert!(out.contains("expired on 2027-01-31"), "{out}");
    // A bad waiver file: exit 1 with the member named.
    std::fs::write(&file, "[[waiver]]\nrule = \"GA302\"\nreason = \"r\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let (code_bad, _, err) = gardien(&["lint", "--tenant", &demo, "--waivers", &w]);
    assert_eq!(code_bad, 1);
    assert!(err.contains("/waiver/0/expires: missing"), "{err}");
    let _ = code;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The findings of rule `code` in `gardien lint` text output: each block from its
/// `severity[code]` line to the blank line that ends it.
fn rule_blocks(text: &str, code: &str) -> String {
    let head = format!("[{code}] ");
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        if !line.starts_with(' ') {
            inside = line.contains(&head) && !line.starts_with("──");
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Every rule's fixture (`testdata/lint/<code>.json`) gives the findings of its snapshot
/// (`<code>.snap`); each finding is about an `error-…` policy or the tenant, and there is at
/// least one. `GARDIEN_BLESS=1` rewrites the snapshots (see `testdata/lint/README.md`).
#[test]
fn every_rule_fixture_matches_its_snapshot() {
    let dir = repo_root().join("testdata/lint");
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 17, "{fixtures:?}");
    let bless = std::env::var_os("GARDIEN_BLESS").is_some();
    let mut failures = Vec::new();
    for fixture in &fixtures {
        let code = fixture.file_stem().unwrap().to_str().unwrap().to_owned();
        let tenant = format!("testdata/lint/{code}.json");
        let (_, report) = lint_json(&tenant, &["--fail-on", "none"]);
        let mine: Vec<&Value> = report["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["code"] == code.as_str())
            .collect();
        assert!(!mine.is_empty(), "{code}: the fixture gives no finding");
        for f in &mine {
            let id = f["policy"]["id"].as_str();
            assert!(
                id.is_none_or(|id| !id.starts_with("ok-")),
                "{code}: false positive on {id:?}: {f}"
            );
        }
        let (_, text, err) = gardien(&[
            "lint",
            "--tenant",
            &tenant,
            "--now",
            NOW,
            "--fail-on",
            "none",
        ]);
        assert!(err.is_empty(), "{code}: {err}");
        let got = rule_blocks(&text, &code);
        let snap = dir.join(format!("{code}.snap"));
        if bless {
            std::fs::write(&snap, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&snap).unwrap_or_default();
        if got != want {
            failures.push(format!(
                "{code}: output differs from {}\n--- want\n{want}--- got\n{got}",
                snap.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
