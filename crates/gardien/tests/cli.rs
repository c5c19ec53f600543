#![allow(clippy::panic, reason = "test failures report through panics")]

//! End-to-end tests of the `gardien` binary: the CLI contract (flags, JSON fields, exit
//! codes) on the spec vectors and the demo tenant. Parses output with its own model
//! (`serde_json::Value`), never the producing types.

mod support;

use support::{cli::gardien, cli::write_json, repo_root};

use serde_json::Value;

#[test]
fn vectors_through_the_cli() {
    let dir = repo_root().join("testdata/vectors");
    let tmp = std::env::temp_dir().join(format!("gardien-cli-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{e}"));
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    assert!(files.len() >= 24);
    for f in files {
        let v: Value =
            serde_json::from_slice(&std::fs::read(&f).unwrap_or_default()).unwrap_or(Value::Null);
        let id = v["id"].as_str().unwrap_or("?").to_owned();
        let tenant = write_json(&tmp, &format!("{id}-tenant.json"), &v["tenant"]);
        let request = write_json(&tmp, &format!("{id}-request.json"), &v["request"]);
        let expect = &v["expect"];
        match v["mode"].as_str() {
            Some("load") => {
                let (code, out, err) = gardien(&[
                    "evaluate",
                    "--tenant",
                    &tenant,
                    "--request",
                    &request,
                    "--json",
                ]);
                assert_eq!(code, 1, "{id}: a rejected tenant exits 1");
                assert!(out.is_empty(), "{id}: nothing on stdout");
                let want = expect["loadError"].as_str().unwrap_or_default();
                assert!(err.contains(want), "{id}: stderr `{err}` lacks `{want}`");
                let (code, _, err) = gardien(&["validate", "--tenant", &tenant]);
                assert_eq!(code, 1, "{id}: validate exits 1");
                assert!(
                    err.contains(want)
                        && err.contains(&format!("{id}-tenant.json:"))
                        && err.contains("(/policies/0"),
                    "{id}: validate names file and pointer: {err}"
                );
            }
            Some("whatif") => {
                let (code, out, err) = gardien(&[
                    "whatif",
                    "--tenant",
                    &tenant,
                    "--request",
                    &request,
                    "--json",
                ]);
                assert_eq!(code, 0, "{id}: {err}");
                let report: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
                assert_eq!(
                    report.as_object().map(|o| o.len()),
                    Some(1),
                    "{id}: only `value` at the top level"
                );
                for (pid, want) in expect.as_object().into_iter().flatten() {
                    let got = report["value"]
                        .as_array()
                        .and_then(|a| a.iter().find(|e| e["id"] == Value::String(pid.clone())))
                        .cloned()
                        .unwrap_or(Value::Null);
                    assert_eq!(got["policyApplies"], want["policyApplies"], "{id}");
                    assert_eq!(got["analysisReasons"], want["analysisReasons"], "{id}");
                    assert!(
                        got.get("conditions").is_some() && got.get("state").is_some(),
                        "{id}: the policy itself is echoed"
                    );
                }
            }
            _ => {
                // Dated vectors are decided as of their `now` (Entra's dated changes).
                let mut args = vec!["evaluate", "--tenant", &tenant, "--request", &request];
                args.push("--json");
                if let Some(now) = v["now"].as_str() {
                    args.extend(["--now", now]);
                }
                let (code, out, err) = gardien(&args);
                let d: Value = serde_json::from_str(&out)
                    .unwrap_or_else(|e| panic!("{id}: bad JSON ({e}): {out}{err}"));
                let want_code = match expect["decision"].as_str() {
                    Some("allow") => 0,
                    Some("deny") => 2,
                    Some("challenge") => 3,
                    other => panic!("{id}: bad expectation {other:?}"),
                };
                assert_eq!(code, want_code, "{id}: exit code");
                assert_eq!(d["decision"], expect["decision"], "{id}");
                for key in ["errorCode", "requiredControls", "conditionalAccessStatus"] {
                    if let Some(w) = expect.get(key) {
                        assert_eq!(&d[key], w, "{id}: {key}");
                    }
                }
                if d["decision"] != "deny" {
                    assert_eq!(
                        d["errorCode"],
                        Value::Null,
                        "{id}: errorCode is null unless denied"
                    );
                }
                assert_eq!(
                    d["explanation"].is_object(),
                    d["decision"] != "allow",
                    "{id}: explanation for deny and challenge only"
                );
                for p in d["appliedConditionalAccessPolicies"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    for key in [
                        "id",
                        "displayName",
                        "result",
                        "enforcedGrantControls",
                        "enforcedSessionControls",
                        "conditionsSatisfied",
                        "conditionsNotSatisfied",
                    ] {
                        assert!(
                            p.get(key).is_some(),
                            "{id}: appliedConditionalAccessPolicies[].{key}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn demo_tenant_classic_cases() {
    let tenant = repo_root()
        .join("examples/demo/tenant")
        .display()
        .to_string();
    let req = |n: &str| {
        repo_root()
            .join(format!("examples/demo/requests/{n}.json"))
            .display()
            .to_string()
    };
    let run = |n: &str| {
        let (code, out, err) = gardien(&[
            "evaluate",
            "--tenant",
            &tenant,
            "--request",
            &req(n),
            "--json",
        ]);
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{n}: {e}: {err}"));
        (code, v)
    };
    let (code, v) = run("laptop-abroad");
    assert_eq!((code, v["errorCode"].clone()), (2, Value::from(53003)));
    assert_eq!(v["explanation"]["category"], "anonymousNetwork");
    assert_eq!(v["explanation"]["temporary"], true);
    // Leaving the VPN alone is not enough (the browser on an unmanaged laptop is blocked
    // too): the actions are the members of the minimal sets `gardien explain` finds.
    assert_eq!(
        v["explanation"]["userActions"],
        serde_json::json!([
            "registerDevice",
            "makeDeviceCompliant",
            "useAnotherDevice",
            "disconnectVpn",
            "signInFromAllowedLocation",
            "useDesktopApp",
            "contactSupport"
        ])
    );
    let sets = v["explanation"]["userActionSets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(sets.contains(&serde_json::json!(["disconnectVpn", "useDesktopApp"])));
    assert!(
        sets.iter()
            .all(|s| s.as_array().is_some_and(|s| s.len() >= 2))
    );
    let (code, v) = run("phone-not-compliant");
    assert_eq!((code, v["errorCode"].clone()), (2, Value::from(53000)));
    assert_eq!(v["explanation"]["category"], "deviceNotCompliant");
    assert!(
        v["explanation"]["userActions"]
            .as_array()
            .is_some_and(|a| a.contains(&Value::from("useDesktopApp")))
    );
    let (code, _) = run("desktop-app-allowed");
    assert_eq!(code, 0);
    let (code, v) = run("old-windows");
    assert_eq!(code, 2);
    assert_eq!(v["explanation"]["category"], "osVersionTooLow");
    assert_eq!(v["explanation"]["userActions"][0], "updateOs");
    let (code, v) = run("admin-needs-mfa");
    assert_eq!(code, 3);
    assert_eq!(v["requiredControls"], serde_json::json!(["mfa"]));
    assert_eq!(v["explanation"]["category"], "mfaRequired");
    // The trace names the path: nested group, named location and range.
    let (_, v) = run("old-windows");
    let trace = v["trace"].to_string();
    assert!(trace.contains("through group `Finance`"), "{trace}");
    assert!(
        trace.contains("matched `HQ egress` via 198.51.100.0/24"),
        "{trace}"
    );
}

#[test]
fn demo_command_runs_on_the_embedded_tenant() {
    let (code, out, err) = gardien(&["demo"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("decision: deny (AADSTS53003)")
            && out.contains("decision: deny (AADSTS53000)"),
        "{out}"
    );
    let (code, out, _) = gardien(&["demo", "--json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
    assert_eq!(v["requests/admin-needs-mfa.json"]["decision"], "challenge");
}

#[test]
fn human_output_and_bad_input() {
    let tenant = repo_root()
        .join("examples/demo/tenant")
        .display()
        .to_string();
    let req = repo_root()
        .join("examples/demo/requests/laptop-abroad.json")
        .display()
        .to_string();
    let (code, out, _) = gardien(&["whatif", "--tenant", &tenant, "--request", &req]);
    assert_eq!(code, 0);
    assert!(
        out.contains("CA01 Block sign-ins from outside the EU") && out.contains("grant: block"),
        "{out}"
    );
    let (code, out, _) = gardien(&["evaluate", "--tenant", &tenant, "--request", &req]);
    assert_eq!(code, 2);
    // Not a terminal: no colour codes.
    assert!(out.starts_with("decision: deny (AADSTS53003)"), "{out}");
    assert!(out.contains("      requires: block"), "{out}");
    let (code, out, _) = gardien(&["validate", "--tenant", &tenant]);
    assert_eq!(
        (code, out.trim()),
        (0, "ok: 6 policies, 2 named locations, 2 users, 3 groups")
    );
    // A malformed request: exit 1, message names file and pointer, nothing on stdout.
    let tmp = std::env::temp_dir().join(format!("gardien-bad-{}.json", std::process::id()));
    std::fs::write(&tmp, br##"{"signInIdentity":{"@odata.type":"#microsoft.graph.userSignIn","userId":"u"},"signInContext":{"includeApplications":["a"]},"signInConditions":{"devicePlatform":"amiga"}}"##)
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, out, err) = gardien(&[
        "evaluate",
        "--tenant",
        &tenant,
        "--request",
        &tmp.display().to_string(),
        "--json",
    ]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("/signInConditions/devicePlatform") && err.contains("`amiga`"),
        "{err}"
    );
    let (code, _, err) = gardien(&["whatif", "--tenant", "/nonexistent", "--request", &req]);
    assert_eq!(code, 1);
    assert!(err.contains("does not exist"), "{err}");
    // A tenant file over the size limit is refused by its size, before it is read (sparse
    // file: nothing is written).
    let big = std::env::temp_dir().join(format!("gardien-big-{}.json", std::process::id()));
    std::fs::File::create(&big)
        .and_then(|f| f.set_len(64 * 1024 * 1024 + 1))
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, out, err) = gardien(&["validate", "--tenant", &big.display().to_string()]);
    let _ = std::fs::remove_file(&big);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("67108865 bytes; the limit is 67108864 bytes (64 MiB)"),
        "{err}"
    );
}

fn dated_vector(id: &str) -> Value {
    let dir = repo_root().join("testdata/vectors");
    std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| serde_json::from_slice::<Value>(&std::fs::read(p).ok()?).ok())
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("no vector {id}"))
}

/// `--now` takes one format everywhere: RFC 3339, a date or epoch seconds; anything else is
/// exit 1 naming the accepted forms.
#[test]
fn now_is_one_format_on_every_command() {
    let tmp = std::env::temp_dir().join(format!("gardien-now-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{e}"));
    let v = dated_vector("D01");
    let tenant = write_json(&tmp, "tenant.json", &v["tenant"]);
    let request = write_json(&tmp, "request.json", &v["request"]);
    for (now, want) in [
        ("2026-06-14T23:59:59Z", 0),
        ("2026-06-14", 0),
        ("1781481599", 0),
        ("2026-06-15T00:00:00Z", 3),
        ("2026-06-15T02:00:00+02:00", 3),
        ("1781481600", 3),
    ] {
        let (code, _, err) = gardien(&[
            "evaluate",
            "--tenant",
            &tenant,
            "--request",
            &request,
            "--now",
            now,
        ]);
        assert_eq!(code, want, "--now {now}: {err}");
    }
    for bad in [
        "yesterday",
        "2026-6-14",
        "+026-+1-+1T+0:+0:+0Z",
        "2026-06-14T25:00:00Z",
    ] {
        for cmd in ["evaluate", "whatif", "explain"] {
            let (code, out, err) = gardien(&[
                cmd,
                "--tenant",
                &tenant,
                "--request",
                &request,
                "--now",
                bad,
            ]);
            assert_eq!((code, out.as_str()), (1, ""), "{cmd} --now {bad}");
            assert!(err.contains("RFC 3339") && err.contains("epoch"), "{err}");
        }
        let (code, _, err) = gardien(&["lint", "--tenant", &tenant, "--now", bad]);
        assert_eq!(code, 1, "lint --now {bad}: {err}");
    }
    let (code, _, err) = gardien(&["lint", "--tenant", &tenant, "--now", "1781481600"]);
    assert!(code == 0 || code == 2, "lint takes epoch seconds: {err}");
    // What-if and evaluate say what the dated changes mean for the policy, as of `--now`.
    let v = dated_vector("D08");
    let tenant = write_json(&tmp, "approved.json", &v["tenant"]);
    let request = write_json(&tmp, "approved-request.json", &v["request"]);
    let run = |cmd: &str, now: &str| {
        gardien(&[
            cmd,
            "--tenant",
            &tenant,
            "--request",
            &request,
            "--now",
            now,
        ])
        .1
    };
    let before = run("whatif", "2026-06-29");
    assert!(
        before.contains("note: `approvedApplication`: becomes read-only from 2026-06-30"),
        "{before}"
    );
    let after = run("whatif", "2026-06-30");
    assert!(
        after.contains("note: `approvedApplication`: read-only since 2026-06-30, still enforced"),
        "{after}"
    );
    let evaluated = run("evaluate", "2026-07-01");
    assert!(
        evaluated.contains("decision: deny (AADSTS53002)"),
        "{evaluated}"
    );
    assert!(
        evaluated.contains("approved client app: read-only since 2026-06-30, still enforced"),
        "{evaluated}"
    );
    assert!(!run("evaluate", "2026-06-01").contains("read-only"));
}

/// `gardien changes`: the policies that decide differently across each dated change, found
/// by the evaluator, with an example; a policy using a read-only control is listed.
#[test]
fn changes_lists_the_policies_each_dated_change_concerns() {
    let tmp = std::env::temp_dir().join(format!("gardien-changes-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{e}"));
    let mut tenant = dated_vector("D01")["tenant"].clone();
    let approved = dated_vector("D07")["tenant"]["policies"][0].clone();
    let mut approved = approved;
    approved["id"] = Value::from("P2");
    approved["displayName"] = Value::from("Approved apps on phones");
    tenant["policies"]
        .as_array_mut()
        .unwrap_or_else(|| panic!("policies"))
        .push(approved);
    let tenant = write_json(&tmp, "tenant.json", &tenant);
    let (code, out, err) = gardien(&[
        "changes",
        "--tenant",
        &tenant,
        "--json",
        "--now",
        "2026-06-01",
    ]);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(r["now"], "2026-06-01");
    let change = |id: &str| -> Value {
        r["changes"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["id"] == id))
            .cloned()
            .unwrap_or_else(|| panic!("no change {id}: {out}"))
    };
    let baseline = change("baselineScopesEnforcement");
    assert_eq!(baseline["status"], "upcoming");
    assert_eq!(baseline["since"], "2026-06-15");
    assert_eq!(baseline["policies"][0]["id"], "P1", "{baseline}");
    assert_eq!(baseline["policies"][0]["example"]["before"], "allow");
    assert_eq!(baseline["policies"][0]["example"]["after"], "challenge mfa");
    let approved = change("approvedClientAppReadOnly");
    assert_eq!(approved["policies"][0]["id"], "P2", "{approved}");
    assert!(
        approved["page"]
            .as_str()
            .unwrap_or("")
            .contains("migrate-approved-client-app")
    );
    // Text, as of today's clock.
    let (code, out, _) = gardien(&["changes", "--tenant", &tenant]);
    assert_eq!(code, 0);
    assert!(
        out.contains("baselineScopesEnforcement — in force since 2026-06-15"),
        "{out}"
    );
    assert!(out.contains("Approved apps on phones"), "{out}");
    assert!(out.contains("e.g. "), "{out}");
}

#[test]
fn doc_writes_markdown_and_one_html_file_deterministically() {
    let tenant = repo_root()
        .join("examples/demo/tenant")
        .display()
        .to_string();
    let (code, md, err) = gardien(&["doc", "--tenant", &tenant, "--title", "Demo"]);
    assert_eq!(code, 0, "{err}");
    assert!(md.starts_with("# Conditional Access: Demo"), "{md}");
    for want in [
        "## Overview",
        "## Persona × application",
        "## Policies",
        "### CA03 Require MFA for administrators",
        "- requires: mfa",
        "## Named locations",
        "## Lint",
    ] {
        assert!(md.contains(want), "missing `{want}`:\n{md}");
    }
    let (_, again, _) = gardien(&["doc", "--tenant", &tenant, "--title", "Demo"]);
    assert_eq!(md, again, "the document is deterministic");
    let (code, html, _) = gardien(&["doc", "--tenant", &tenant, "--format", "html"]);
    assert_eq!(code, 0);
    assert!(
        html.starts_with("<!DOCTYPE html>")
            && html.contains("<svg")
            && html.trim_end().ends_with("</html>")
    );
    let (code, _, err) = gardien(&["doc", "--tenant", &tenant, "--format", "pdf"]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown format `pdf`"), "{err}");
}

/// A tenant folder's `crossTenantAccess.json` is read (the layout `gardien pull` writes): the
/// same guest with home-tenant MFA is challenged without it, allowed with MFA trust, and the
/// explanation of a trusted guest without home MFA says to complete MFA in their own
/// organisation; a broken file is an error naming it.
#[test]
fn cross_tenant_access_json_in_a_tenant_folder() {
    let tmp = std::env::temp_dir().join(format!("gardien-cross-{}", std::process::id()));
    let policies = tmp.join("policies");
    std::fs::create_dir_all(&policies).unwrap_or_else(|e| panic!("{e}"));
    let v = dated_vector("X02");
    for (i, p) in v["tenant"]["policies"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        write_json(&policies, &format!("p{i}.json"), p);
    }
    write_json(&tmp, "directory.json", &v["tenant"]["directory"]);
    let tenant = tmp.display().to_string();
    let request = write_json(&tmp, "request.json", &v["request"]);
    let decide = |request: &str| {
        let (code, out, err) = gardien(&[
            "evaluate",
            "--tenant",
            &tenant,
            "--request",
            request,
            "--json",
        ]);
        let d: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
        (code, d, err)
    };
    let (code, d, err) = decide(&request);
    assert_eq!(
        (code, &d["decision"]),
        (3, &Value::from("challenge")),
        "{err}"
    );
    write_json(
        &tmp,
        "crossTenantAccess.json",
        &v["tenant"]["crossTenantAccess"],
    );
    let (code, _, err) = decide(&request);
    assert_eq!(code, 0, "MFA trusted: {err}");
    let mut no_home_mfa = v["request"].clone();
    no_home_mfa["session"] = serde_json::json!({});
    let request = write_json(&tmp, "no-home-mfa.json", &no_home_mfa);
    let (code, d, err) = decide(&request);
    assert_eq!(code, 3, "{err}");
    let actions = d["explanation"]["userActions"].clone();
    assert!(
        actions.as_array().is_some_and(|a| a
            .contains(&Value::from("completeMfaInHomeOrganization"))
            && !a.contains(&Value::from("completeMfa"))),
        "{d}"
    );
    std::fs::write(tmp.join("crossTenantAccess.json"), "{\"partners\": [{}]}")
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = decide(&request);
    assert_eq!(code, 1);
    assert!(
        err.contains("crossTenantAccess.json") && err.contains("/partners/0"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
