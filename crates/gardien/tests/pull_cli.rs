#![allow(clippy::panic, reason = "test failures report through panics")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

//! End-to-end tests of `gardien pull` through the binary, against the in-process fake Graph of
//! `tests/pull/fake_graph.rs`: every credential path, paging, throttling storms, 401, a failure
//! half-way (the previous folder stays), only the directory the policies need, deterministic
//! files; and the pulled tenant decides like the hand-built one (`gardien evaluate` on both).
//!
//! `pull_large_generated_tenant` (ignored) is the size run recorded in BENCHMARKS.md.

#[path = "pull/fake_graph.rs"]
mod fake_graph;
#[path = "pull/generate.rs"]
mod generate;
mod support;

use fake_graph::{Auth, FakeGraph, Faults, Model, Throttle};
use generate::Size;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{TempDir, repo_root};

/// `gardien pull` against `fake` with a clean environment plus `env`.
fn pull(fake: &FakeGraph, out: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let url = fake.url();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gardien"));
    cmd.arg("pull")
        .arg("--out")
        .arg(out)
        .args(["--graph-url", &url, "--login-url", &url])
        .args(args)
        .env_remove("GARDIEN_GRAPH_TOKEN")
        .env_remove("GARDIEN_CLIENT_SECRET");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: &Output) {
    assert!(o.status.success(), "pull failed: {}", stderr(o));
}

fn with_token() -> [(&'static str, &'static str); 1] {
    [("GARDIEN_GRAPH_TOKEN", "ready-token-from-az")]
}

/// Every file of a folder, by relative path.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Names in `dir` other than `keep` (leftover temporary folders).
fn leftovers(dir: &Path, keep: &[&str]) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect()
}

fn json_file(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `gardien evaluate --json`: exit code and the decision with the per-policy list sorted by id
/// (tenant order is file order, which differs between the two folders).
fn evaluate(tenant: &Path, request: &Path) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_gardien"))
        .args(["evaluate", "--json", "--tenant"])
        .arg(tenant)
        .arg("--request")
        .arg(request)
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code != 1,
        "evaluate failed on {}: {}",
        tenant.display(),
        stderr(&out)
    );
    let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
    if let Some(list) = v["appliedConditionalAccessPolicies"].as_array_mut() {
        list.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    }
    (code, v)
}

/// Both tenants decide every request the same; returns how many were not `allow`.
fn same_decisions(hand_built: &Path, pulled: &Path, requests: &[PathBuf]) -> usize {
    let mut not_allowed = 0;
    for r in requests {
        let expected = evaluate(hand_built, r);
        let got = evaluate(pulled, r);
        assert_eq!(got, expected, "request {}", r.display());
        not_allowed += usize::from(expected.0 != 0);
    }
    not_allowed
}

#[test]
fn demo_tenant_pulled_with_a_ready_token_decides_like_the_hand_built_one() {
    let root = repo_root();
    let fake = FakeGraph::start(generate::demo(&root), 2, Faults::default(), Auth::default());
    let tmp = TempDir::new("pull-demo");
    let out = tmp.path().join("tenant");
    let o = pull(&fake, &out, &[], &with_token());
    ok(&o);
    let err = stderr(&o);
    for line in [
        "pull: policies: 6 (3 pages",
        "pull: namedLocations:",
        "pull: groups: 2 referenced, 2 found",
        "pull: roleAssignments:",
        "pull: servicePrincipals: 1",
        "pull: crossTenantAccessPolicy: default + 0 partners",
        "pull: wrote",
    ] {
        assert!(err.contains(line), "no `{line}` in:\n{err}");
    }
    assert!(!err.contains("ready-token-from-az"), "{err}");
    // The layout, and only the users the policies need.
    assert_eq!(std::fs::read_dir(out.join("policies")).unwrap().count(), 6);
    for f in [
        "namedLocations.json",
        "directory.json",
        "crossTenantAccess.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let dir = json_file(&out.join("directory.json"));
    let users: Vec<&str> = dir["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        users,
        [
            "a1a1a1a1-0000-4000-8000-000000000001",
            "b2b2b2b2-0000-4000-8000-000000000002"
        ]
    );
    // Alice is in Finance (named by a policy); All staff, which no policy names, is left out.
    assert_eq!(
        dir["users"][0]["memberOf"],
        serde_json::json!(["9f000000-0000-4000-8000-000000000011"])
    );
    assert_eq!(
        dir["users"][1]["roles"],
        serde_json::json!(["62e90394-69f5-4237-9190-012177145e10"])
    );
    let validate = Command::new(env!("CARGO_BIN_EXE_gardien"))
        .args(["validate", "--tenant"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(validate.status.success(), "{}", stderr(&validate));

    let mut requests: Vec<PathBuf> = std::fs::read_dir(root.join("examples/demo/requests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    requests.sort();
    assert_eq!(requests.len(), 5);
    let not_allowed = same_decisions(&root.join("examples/demo/tenant"), &out, &requests);
    assert!(
        not_allowed >= 3,
        "the demo requests are mostly denials and challenges"
    );

    // A second pull replaces the first with byte-identical files.
    let first = snapshot(&out);
    ok(&pull(&fake, &out, &[], &with_token()));
    assert_eq!(snapshot(&out), first);
    assert_eq!(leftovers(tmp.path(), &["tenant"]), Vec::<String>::new());
}

/// A policy that targets guests makes the pull list every guest (`userType` `Guest`), so a
/// guest decides as a guest: before, a guest that no referenced group or role brought in was
/// missing from `directory.json`, decided as a member, and the guest block did not apply.
#[test]
fn guests_are_pulled_when_a_policy_targets_them_and_decide_like_the_hand_built_tenant() {
    let size = small();
    let mut model = generate::generated(size);
    model.policies.push(serde_json::json!({
        "id": "a0000000-0000-4000-8000-00000000beef",
        "displayName": "Block guests",
        "state": "enabled",
        "conditions": {
            "users": {"includeGuestsOrExternalUsers": {
                "guestOrExternalUserTypes": "b2bCollaborationGuest",
                "externalTenants": {"@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants", "membershipKind": "all"}}},
            "applications": {"includeApplications": ["All"]},
            "clientAppTypes": ["all"]
        },
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}
    }));
    let guests: Vec<String> = model
        .users
        .iter()
        .filter(|u| u.user_type == "Guest")
        .map(|u| u.id.clone())
        .collect();
    assert!(guests.len() > 10, "the generated tenant has guests");
    let tmp = TempDir::new("pull-guests");
    let hand = tmp.path().join("hand");
    generate::hand_built(&model, &hand);
    let fake = FakeGraph::start(model, 50, Faults::default(), Auth::default());
    let out = tmp.path().join("pulled");
    let o = pull(&fake, &out, &[], &with_token());
    ok(&o);
    assert!(stderr(&o).contains("guests"), "{}", stderr(&o));
    let dir = json_file(&out.join("directory.json"));
    let pulled_guests: Vec<&str> = dir["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["userType"] == "Guest")
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(pulled_guests.len(), guests.len(), "every guest, none else");
    let requests: Vec<PathBuf> = [
        guests[0].as_str(),
        guests[guests.len() - 1].as_str(),
        &generate::user_id(0),
    ]
    .iter()
    .enumerate()
    .map(|(i, user)| {
        let path = tmp.path().join(format!("request-{i}.json"));
        let body = generate::request(user, "All", "203.0.113.7", "windows", &["password"]);
        std::fs::write(&path, body.to_string()).unwrap();
        path
    })
    .collect();
    for r in &requests[..2] {
        let (code, v) = evaluate(&out, r);
        assert_eq!((code, v["decision"].as_str()), (2, Some("deny")), "{v}");
    }
    same_decisions(&hand, &out, &requests);
}

fn small() -> Size {
    Size {
        policies: 40,
        users: 3000,
        groups: 600,
        service_principals: 30,
    }
}

const CLIENT_ID: &str = "11111111-2222-4333-8444-555555555555";

fn secret_args() -> Vec<&'static str> {
    vec!["--tenant-id", "contoso.example", "--client-id", CLIENT_ID]
}

#[test]
fn generated_tenant_pulled_with_a_client_secret_holds_only_what_policies_need_and_decides_the_same()
{
    let size = small();
    let model = generate::generated(size);
    let model_policies = model.policies.clone();
    let tmp = TempDir::new("pull-generated");
    let hand = tmp.path().join("hand");
    generate::hand_built(&model, &hand);
    let fake = FakeGraph::start(model, 50, Faults::default(), Auth::default());
    let out = tmp.path().join("pulled");
    let o = pull(
        &fake,
        &out,
        &secret_args(),
        &[("GARDIEN_CLIENT_SECRET", "s3cr3t-value")],
    );
    ok(&o);
    assert!(!stderr(&o).contains("s3cr3t"), "{}", stderr(&o));
    assert_eq!(fake.issued_tokens().len(), 1);
    assert!(
        stderr(&o).contains(generate::DELETED_USER),
        "the deleted user is noted: {}",
        stderr(&o)
    );

    let log = fake.log();
    assert!(
        !log.iter()
            .any(|l| l.path_and_query.starts_with("/v1.0/users?")
                || l.path_and_query == "/v1.0/users"
                || l.path_and_query.starts_with("/v1.0/groups?")),
        "never lists users or groups (no policy targets guests)"
    );
    let dir = json_file(&out.join("directory.json"));
    let users = dir["users"].as_array().unwrap();
    assert!(
        users.len() < size.users / 2,
        "{} users pulled of {}",
        users.len(),
        size.users
    );
    // Every user in a referenced group, directly or through nesting, is there with exactly the
    // referenced groups it is in; nobody else is there through groups.
    let referenced: std::collections::BTreeSet<String> = model_policies
        .iter()
        .flat_map(|p| {
            ["includeGroups", "excludeGroups"]
                .into_iter()
                .flat_map(move |k| {
                    p["conditions"]["users"][k]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
        })
        .map(|g| g.as_str().unwrap().to_owned())
        .collect();
    let pulled: BTreeMap<&str, &Value> = users
        .iter()
        .map(|u| (u["id"].as_str().unwrap(), &u["memberOf"]))
        .collect();
    let mut with_groups = 0;
    for i in 0..size.users {
        let mut expected = std::collections::BTreeSet::new();
        for mut g in generate::user_groups(i, size.groups) {
            loop {
                if referenced.contains(&generate::group_id(g)) {
                    expected.insert(generate::group_id(g));
                }
                match generate::parent(g) {
                    Some(p) => g = p,
                    None => break,
                }
            }
        }
        if i == generate::admin_group_members().start {
            continue; // also in the admin group, which is not referenced
        }
        let id = generate::user_id(i);
        let got: Vec<String> = pulled
            .get(id.as_str())
            .and_then(|m| m.as_array())
            .map(|m| m.iter().map(|g| g.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        assert_eq!(
            got,
            expected.iter().cloned().collect::<Vec<_>>(),
            "user {i}"
        );
        with_groups += usize::from(!expected.is_empty());
    }
    assert!(with_groups > 100, "{with_groups}");
    let user = |i: usize| {
        let id = generate::user_id(i);
        users.iter().find(|u| u["id"] == id.as_str()).cloned()
    };
    // Security Administrator through the role-assignable group; the scoped Helpdesk
    // assignment does not count; a global admin holds its role directly.
    let in_admin_group = user(generate::admin_group_members().start).unwrap();
    assert_eq!(
        in_admin_group["roles"],
        serde_json::json!([generate::SECURITY_ADMIN])
    );
    assert!(user(generate::SCOPED_ADMIN).is_none_or(|u| u["roles"].is_null()));
    assert!(
        user(7).unwrap()["roles"]
            .as_array()
            .unwrap()
            .contains(&Value::from(generate::GLOBAL_ADMIN))
    );
    assert_eq!(
        dir["servicePrincipals"].as_array().unwrap().len(),
        size.service_principals
    );
    assert_eq!(
        dir["authenticationStrengthPolicies"],
        serde_json::json!([{"id": generate::CUSTOM_STRENGTH, "displayName": "FIDO2 only", "allowedCombinations": ["fido2"]}])
    );
    // Beta members v1.0 lacks are added; keys are sorted.
    let p0 =
        std::fs::read_to_string(out.join("policies/c0000000-0000-4000-8000-000000000000.json"))
            .unwrap();
    assert!(p0.contains("\"partialEnablementStrategy\": null"), "{p0}");
    assert!(
        p0.find("\"conditions\"") < p0.find("\"displayName\""),
        "{p0}"
    );
    let cross = json_file(&out.join("crossTenantAccess.json"));
    assert_eq!(cross["default"]["inboundTrust"]["isMfaAccepted"], true);
    assert!(cross["default"].get("@odata.context").is_none());
    assert_eq!(
        cross["partners"][0]["tenantId"],
        "f0000000-0000-4000-8000-000000000001"
    );

    // Decisions: admins, group members (nested and not), break-glass, guests, strangers.
    let reqs = tmp.path().join("requests");
    std::fs::create_dir_all(&reqs).unwrap();
    let cases = [
        (
            generate::user_id(7),
            "198.51.100.1",
            "windows",
            vec!["password"],
        ),
        (
            generate::user_id(100),
            "198.51.100.1",
            "windows",
            vec!["password"],
        ),
        (
            generate::user_id(104),
            "203.0.113.9",
            "iOS",
            vec!["password", "fido2"],
        ),
        (
            generate::user_id(generate::SCOPED_ADMIN),
            "198.51.100.1",
            "windows",
            vec!["password"],
        ),
        (
            generate::user_id(generate::BREAK_GLASS),
            "198.51.100.1",
            "windows",
            vec!["password"],
        ),
        (
            generate::user_id(1),
            "203.0.113.9",
            "android",
            vec!["password", "microsoftAuthenticatorPush"],
        ),
        (
            generate::user_id(49),
            "198.51.100.1",
            "macOS",
            vec!["password"],
        ),
        (
            generate::user_id(801),
            "198.51.100.1",
            "windows",
            vec!["password"],
        ),
        (
            generate::user_id(2999),
            "203.0.113.9",
            "windows",
            vec!["password"],
        ),
        (
            generate::user_id(999_999),
            "198.51.100.1",
            "linux",
            vec!["password"],
        ),
    ];
    let mut files = Vec::new();
    for (n, (user, ip, platform, methods)) in cases.iter().enumerate() {
        for app in [
            generate::app_id(1),
            generate::app_id(2),
            generate::app_id(25),
        ] {
            let f = reqs.join(format!("r{n}-{app}.json"));
            let mut body = generate::request(user, &app, ip, platform, methods);
            // Guests say so in the request, as a sign-in from an external identity does:
            // the pull keeps only the users the policies name, and an external user's
            // home-tenant claims count only with cross-tenant trust (docs/semantics.md).
            if [49, 2999].iter().any(|i| generate::user_id(*i) == *user) {
                body["signInIdentity"]["externalUserType"] = "b2bCollaborationGuest".into();
            }
            std::fs::write(&f, body.to_string()).unwrap();
            files.push(f);
        }
    }
    let not_allowed = same_decisions(&hand, &out, &files);
    assert!(
        (5..files.len()).contains(&not_allowed),
        "{not_allowed} of {} not allowed: the requests should mix outcomes",
        files.len()
    );
}

#[test]
fn throttling_storms_are_ridden_out_honouring_retry_after() {
    let faults = Faults {
        throttles: vec![
            Throttle {
                path_contains: "/identity/conditionalAccess/policies".into(),
                remaining: 3,
                status: 429,
                retry_after: Some(1),
            },
            Throttle {
                path_contains: "/transitiveMembers".into(),
                remaining: 3,
                status: 503,
                retry_after: None,
            },
        ],
        ..Faults::default()
    };
    let fake = FakeGraph::start(generate::demo(&repo_root()), 2, faults, Auth::default());
    let tmp = TempDir::new("pull-throttle");
    let out = tmp.path().join("tenant");
    let o = pull(&fake, &out, &["--max-wait", "1"], &with_token());
    ok(&o);
    let err = stderr(&o);
    assert_eq!(err.matches("429, retrying in 1.0 s").count(), 3, "{err}");
    assert_eq!(err.matches("503, retrying in 1.0 s").count(), 3, "{err}");
    // Each retry came at least Retry-After after the 429.
    let log = fake.log();
    for w in log.windows(2) {
        if w[0].status == 429 {
            let gap = w[1].at.duration_since(w[0].at);
            assert!(
                gap >= std::time::Duration::from_millis(990),
                "retried after {gap:?}"
            );
        }
    }
    assert_eq!(log.iter().filter(|l| l.status == 429).count(), 3);
    assert_eq!(std::fs::read_dir(out.join("policies")).unwrap().count(), 6);
}

/// A first good pull, then `faults` on a second one: it fails with `message` and leaves the
/// first pull as it was, with no temporary folder behind.
fn second_pull_fails_and_keeps_the_first(faults: Faults, args: &[&str], message: &str) {
    let model = generate::demo(&repo_root());
    let tmp = TempDir::new("pull-keep");
    let out = tmp.path().join("tenant");
    {
        let good = FakeGraph::start(model.clone(), 2, Faults::default(), Auth::default());
        ok(&pull(&good, &out, &[], &with_token()));
    }
    let before = snapshot(&out);
    // The tenant changed since (so that a partial write would show).
    let mut changed = model;
    changed.policies.truncate(2);
    changed.users.truncate(1);
    let bad = FakeGraph::start(changed, 2, faults, Auth::default());
    let o = pull(&bad, &out, args, &with_token());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(message), "no `{message}` in:\n{err}");
    assert!(err.contains("was left as it was"), "{err}");
    assert_eq!(snapshot(&out), before);
    assert_eq!(leftovers(tmp.path(), &["tenant"]), Vec::<String>::new());
}

#[test]
fn a_failure_half_way_leaves_the_previous_folder_intact() {
    second_pull_fails_and_keeps_the_first(
        Faults {
            fail_after: Some(8),
            ..Faults::default()
        },
        &[],
        "HTTP 500 from /v1.0/",
    );
}

#[test]
fn throttling_beyond_the_retry_budget_fails_and_keeps_the_previous_folder() {
    second_pull_fails_and_keeps_the_first(
        Faults {
            throttles: vec![Throttle {
                path_contains: "/servicePrincipals".into(),
                remaining: 100,
                status: 429,
                retry_after: Some(0),
            }],
            ..Faults::default()
        },
        &["--max-retries", "2"],
        "servicePrincipals: still throttled (429) after 2 retries",
    );
}

#[test]
fn a_missing_permission_is_named_and_keeps_the_previous_folder() {
    second_pull_fails_and_keeps_the_first(
        Faults {
            forbid: Some("/servicePrincipals".into()),
            ..Faults::default()
        },
        &[],
        "servicePrincipals: access denied (403): the application needs Application.Read.All (Authorization_RequestDenied: Insufficient privileges",
    );
}

#[test]
fn a_refused_token_fails_with_401_and_writes_nothing() {
    let fake = FakeGraph::start(
        generate::demo(&repo_root()),
        2,
        Faults {
            reject_tokens: true,
            ..Faults::default()
        },
        Auth::default(),
    );
    let tmp = TempDir::new("pull-401");
    let out = tmp.path().join("tenant");
    let o = pull(&fake, &out, &[], &with_token());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o)
            .contains("policies: Graph refused the access token (401): InvalidAuthenticationToken"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
    assert_eq!(leftovers(tmp.path(), &[]), Vec::<String>::new());
    // A ready token is not renewed: one request only, no token request.
    let log = fake.log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].method, "GET");
}

#[test]
fn an_expired_client_credentials_token_is_renewed_once() {
    let fake = FakeGraph::start(
        generate::demo(&repo_root()),
        2,
        Faults {
            expire_first_token: true,
            ..Faults::default()
        },
        Auth::default(),
    );
    let tmp = TempDir::new("pull-renew");
    let out = tmp.path().join("tenant");
    ok(&pull(
        &fake,
        &out,
        &secret_args(),
        &[("GARDIEN_CLIENT_SECRET", "s3cr3t-value")],
    ));
    assert_eq!(fake.issued_tokens().len(), 2);
}

#[test]
fn a_wrong_client_secret_is_reported_from_the_token_endpoint() {
    let fake = FakeGraph::start(
        generate::demo(&repo_root()),
        2,
        Faults::default(),
        Auth::default(),
    );
    let tmp = TempDir::new("pull-secret");
    let out = tmp.path().join("tenant");
    let o = pull(
        &fake,
        &out,
        &secret_args(),
        &[("GARDIEN_CLIENT_SECRET", "wrong")],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("token request refused (401): invalid_client: AADSTS7000215"),
        "{err}"
    );
    assert!(!err.contains("wrong"), "{err}");
    // No secret in the environment: a clear message, no request.
    let o = pull(&fake, &out, &secret_args(), &[]);
    assert!(
        stderr(&o).contains("no client secret: set the environment variable GARDIEN_CLIENT_SECRET"),
        "{}",
        stderr(&o)
    );
    let o = pull(&fake, &out, &[], &[]);
    assert!(stderr(&o).contains("no credential"), "{}", stderr(&o));
}

#[test]
fn a_certificate_signs_a_client_assertion_the_token_endpoint_verifies() {
    use base64::Engine;
    let pem_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pull/client-cert.pem");
    let pem = std::fs::read_to_string(&pem_path).unwrap();
    // The thumbprint, computed here from the certificate itself.
    let body: String = pem
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)
        .unwrap()
        .split("-----END CERTIFICATE-----")
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let x5t = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &der).as_ref());
    let public = gardien_graph::ClientCertificate::from_pem(&pem)
        .unwrap()
        .public_key_der()
        .to_vec();
    let auth = Auth {
        certificate: Some((public, x5t)),
        ..Auth::default()
    };
    let fake = FakeGraph::start(generate::demo(&repo_root()), 2, Faults::default(), auth);
    let tmp = TempDir::new("pull-cert");
    let out = tmp.path().join("tenant");
    let mut args = secret_args();
    let pem_arg = pem_path.display().to_string();
    args.extend(["--certificate", &pem_arg]);
    ok(&pull(&fake, &out, &args, &[]));
    assert_eq!(fake.issued_tokens().len(), 1);

    // Another tenant's endpoint refuses: the assertion names its audience.
    let o = pull(
        &fake,
        &out,
        &[
            "--tenant-id",
            "fabrikam.example",
            "--client-id",
            CLIENT_ID,
            "--certificate",
            &pem_arg,
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn a_next_link_to_another_host_is_not_followed() {
    let fake = FakeGraph::start(
        generate::demo(&repo_root()),
        2,
        Faults {
            foreign_next_link: true,
            ..Faults::default()
        },
        Auth::default(),
    );
    let tmp = TempDir::new("pull-nextlink");
    let o = pull(&fake, &tmp.path().join("t"), &[], &with_token());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(
            "`@odata.nextLink` `http://127.0.0.2:9/v1.0/identity/conditionalAccess/policies"
        ),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("the token is not sent there"));
}

#[test]
fn devices_and_sign_ins_on_request_and_replay_reads_the_sign_ins() {
    let root = repo_root();
    let mut model = generate::demo(&root);
    model.devices = generate::generated(Size {
        policies: 1,
        users: 1,
        groups: 2,
        service_principals: 1,
    })
    .devices;
    // Ten Entra sign-in records of the demo tenant, 08:01 to 08:10.
    model.signins = json_file(&root.join("testdata/signins/entra-export.json"))["value"]
        .as_array()
        .unwrap()
        .clone();
    let fake = FakeGraph::start(model, 3, Faults::default(), Auth::default());
    let tmp = TempDir::new("pull-extras");
    let out = tmp.path().join("tenant");
    let o = pull(
        &fake,
        &out,
        &["--devices", "--signins", "--since", "2026-11-20T08:03:00Z"],
        &with_token(),
    );
    ok(&o);
    assert!(
        stderr(&o).contains("pull: signIns: 8 since 2026-11-20T08:03:00Z (3 pages)"),
        "{}",
        stderr(&o)
    );
    let devices = json_file(&out.join("devices.json"));
    let ids: Vec<&str> = devices["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["deviceId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "d0000000-0000-4000-8000-000000000001",
            "d0000000-0000-4000-8000-000000000002"
        ]
    );
    gardien_signals::devices::DeviceRegistry::from_json(
        "devices.json",
        &std::fs::read(out.join("devices.json")).unwrap(),
    )
    .unwrap();
    let lines = std::fs::read_to_string(out.join("signIns.jsonl")).unwrap();
    let records: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 8);
    assert!(
        records
            .iter()
            .all(|r| r["createdDateTime"].as_str().unwrap() >= "2026-11-20T08:03:00Z")
    );
    // The file is replay input as it is.
    let replay = Command::new(env!("CARGO_BIN_EXE_gardien"))
        .args(["replay", "--json", "--tenant"])
        .arg(&out)
        .arg("--logs")
        .arg(out.join("signIns.jsonl"))
        .output()
        .unwrap();
    assert!(replay.status.success(), "{}", stderr(&replay));
    let report: Value = serde_json::from_slice(&replay.stdout).unwrap();
    assert_eq!(report["totals"]["records"], 8, "{report}");
    assert_eq!(report["totals"]["replayed"], 6, "{report}");
    // The pulled tenant reproduces every logged outcome.
    assert_eq!(report["changes"]["unchanged"], 6, "{report}");
    // Without the flags, neither file.
    ok(&pull(&fake, &out, &[], &with_token()));
    assert!(!out.join("devices.json").exists() && !out.join("signIns.jsonl").exists());
}

#[test]
fn a_folder_that_is_not_a_tenant_is_never_replaced() {
    let fake = FakeGraph::start(
        generate::demo(&repo_root()),
        2,
        Faults::default(),
        Auth::default(),
    );
    let tmp = TempDir::new("pull-refuse");
    let out = tmp.path().join("home");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("thesis.tex"), "precious").unwrap();
    let o = pull(&fake, &out, &[], &with_token());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("is not a tenant folder (no `policies/`); refusing to replace it"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(out.join("thesis.tex")).unwrap(),
        "precious"
    );
    assert!(fake.log().is_empty());
    // Plain http to a non-loopback host is refused before any request.
    let o = Command::new(env!("CARGO_BIN_EXE_gardien"))
        .args(["pull", "--out", "x", "--graph-url", "http://graph.example"])
        .env("GARDIEN_GRAPH_TOKEN", "t")
        .output()
        .unwrap();
    assert!(
        stderr(&o).contains("plain http is only accepted for loopback hosts"),
        "{}",
        stderr(&o)
    );
}

/// The size run of BENCHMARKS.md: 300 policies, 100k users, 20k groups, 5k service
/// principals, pages of 999, through the release binary under `/usr/bin/time -v`:
///
/// ```text
/// cargo build --release -p gardien
/// GARDIEN_BIN=target/release/gardien cargo test --release -p gardien --test pull_cli \
///   -- --ignored --nocapture pull_large_generated_tenant
/// ```
#[test]
#[ignore = "size run, recorded in BENCHMARKS.md"]
fn pull_large_generated_tenant() {
    let size = Size {
        policies: 300,
        users: 100_000,
        groups: 20_000,
        service_principals: 5_000,
    };
    let started = std::time::Instant::now();
    let model: Model = generate::generated(size);
    eprintln!("generated in {:?}", started.elapsed());
    eprintln!("== as generated: policies name 236 groups, 4 roles, 62 users");
    measure_pull(model.clone(), Faults::default());
    eprintln!("== the same, each Graph answer 50 ms late (a distant service)");
    measure_pull(
        model.clone(),
        Faults {
            latency: std::time::Duration::from_millis(50),
            ..Faults::default()
        },
    );
    // The worst case: one policy also names a group holding every user.
    let mut all = model;
    let everyone = generate::group_id(size.groups);
    all.groups.push(fake_graph::FakeGroup {
        id: everyone.clone(),
        display_name: "All staff".into(),
        members: (0..size.users).map(generate::user_id).collect(),
    });
    all.policies[0]["conditions"]["users"]["excludeGroups"]
        .as_array_mut()
        .unwrap()
        .push(Value::from(everyone));
    eprintln!("== worst case: a policy also names a group of all 100k users");
    measure_pull(all, Faults::default());
}

/// Pulls `model` with the binary in `GARDIEN_BIN` (default: this build's) under
/// `/usr/bin/time -v` when present, and prints time, memory and size.
fn measure_pull(model: Model, faults: Faults) {
    let fake = FakeGraph::start(model, 999, faults, Auth::default());
    let tmp = TempDir::new("pull-large");
    let out = tmp.path().join("tenant");
    let bin = std::env::var("GARDIEN_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_gardien").into());
    let timer = Path::new("/usr/bin/time");
    let mut cmd = if timer.exists() {
        let mut c = Command::new(timer);
        c.arg("-v").arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    let url = fake.url();
    let started = std::time::Instant::now();
    let o = cmd
        .arg("pull")
        .arg("--out")
        .arg(&out)
        .args(["--graph-url", &url, "--login-url", &url])
        .env("GARDIEN_GRAPH_TOKEN", "ready-token-from-az")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    ok(&o);
    let err = stderr(&o);
    for line in err.lines().filter(|l| {
        l.starts_with("pull:")
            || l.contains("Maximum resident set size")
            || l.contains("Elapsed (wall clock)")
            || l.contains("User time")
            || l.contains("System time")
    }) {
        eprintln!("{line}");
    }
    let size_on_disk: usize = snapshot(&out).values().map(Vec::len).sum();
    eprintln!(
        "pull took {elapsed:?} ({} Graph requests); tenant folder {} KiB",
        fake.log().len(),
        size_on_disk / 1024
    );
    // The pulled tenant loads.
    let validate = Command::new(&bin)
        .args(["validate", "--tenant"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(validate.status.success(), "{}", stderr(&validate));
}
