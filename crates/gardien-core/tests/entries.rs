//! `CompiledTenant::decide_entries` (the sign-in log's per-policy results from the memo's
//! masks, no trace) against the traced evaluation: for every sign-in, the same verdict as
//! `decide` and `evaluate`, and each policy's entry key (index, result, `conditionsSatisfied`,
//! `conditionsNotSatisfied`) equal to the key of `evaluate`'s record of that policy.
//!
//! Over the 200-policy synthetic tenant's 500 sign-ins (both shapes: the default and the
//! varied device filters), the demo tenant's requests, every test vector (agents, workload
//! identities, guests, user actions, authentication contexts, flows, dated changes) and,
//! when the real policy corpus is present, sign-ins swept over its live-tenant exports.
#![allow(clippy::panic, reason = "test failures report through panics")]

#[path = "../benches/support/synthetic.rs"]
mod synthetic;

use gardien_core::report::AppliedEntryKey;
use gardien_core::{CompiledTenant, SignIn, SourceFile, Tenant, TenantSource};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Compares the two views on one sign-in; returns its decision's index (allow, challenge,
/// deny) for the caller's coverage counts.
fn agree(tenant: &CompiledTenant, signin: &SignIn, what: &str) -> usize {
    let mut entries = vec![AppliedEntryKey {
        index: 9999,
        result: gardien_core::eval::PolicyResult::Success,
        satisfied: Default::default(),
        not_satisfied: Default::default(),
    }];
    let verdict = tenant.decide_entries(signin, &mut entries);
    let evaluation = tenant.evaluate(signin);
    assert_eq!(verdict, evaluation.verdict, "{what}: verdict");
    assert_eq!(verdict, tenant.decide(signin), "{what}: decide's verdict");
    let expected: Vec<AppliedEntryKey> = evaluation
        .policies
        .iter()
        .map(AppliedEntryKey::of)
        .collect();
    assert_eq!(
        entries.len(),
        expected.len(),
        "{what}: one entry per policy"
    );
    for (got, want) in entries.iter().zip(&expected) {
        assert_eq!(
            got, want,
            "{what}: policy {} ({})",
            want.index, tenant.tenant.policies[want.index as usize].display_name
        );
    }
    verdict.decision as usize
}

#[test]
fn synthetic_tenants_entries_are_the_traced_evaluations() {
    for (name, generated) in [
        ("default", synthetic::generate(0x6a72_6469_656e, 500)),
        (
            "varied",
            synthetic::generate_sized(0x6a72_6469_656e, 200, 500),
        ),
    ] {
        let tenant = match Tenant::load(&generated.source) {
            Ok(t) => CompiledTenant::compile(t),
            Err(e) => panic!("{name}: generated tenant rejected: {e}"),
        };
        assert_eq!(tenant.tenant.policies.len(), 200);
        let mut seen = [0usize; 3];
        for (i, body) in generated.requests.iter().enumerate() {
            let signin = match SignIn::from_value("request.json", body) {
                Ok(s) => s,
                Err(e) => panic!("{name} {i}: {e}"),
            };
            seen[agree(&tenant, &signin, &format!("{name} sign-in {i}"))] += 1;
        }
        println!("{name}: {seen:?} (allow, challenge, deny)");
        assert!(
            seen.iter().all(|n| *n > 0),
            "{name}: mix too narrow {seen:?}"
        );
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    out.sort();
    out
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn demo_tenants_entries_are_the_traced_evaluations() {
    let demo = root().join("examples/demo");
    let tenant_dir = demo.join("tenant");
    let source = TenantSource {
        policy_files: files(&tenant_dir.join("policies"))
            .iter()
            .map(|p| {
                SourceFile::new(
                    p.display().to_string(),
                    std::fs::read(p).unwrap_or_default(),
                )
            })
            .collect(),
        location_files: vec![SourceFile::new(
            "namedLocations.json",
            std::fs::read(tenant_dir.join("namedLocations.json")).unwrap_or_default(),
        )],
        directory: Some(SourceFile::new(
            "directory.json",
            std::fs::read(tenant_dir.join("directory.json")).unwrap_or_default(),
        )),
        ..Default::default()
    };
    let tenant = match Tenant::load(&source) {
        Ok(t) => CompiledTenant::compile(t),
        Err(e) => panic!("demo tenant: {e}"),
    };
    let requests = files(&demo.join("requests"));
    assert_eq!(requests.len(), 5);
    let mut seen = [0usize; 3];
    for path in &requests {
        let body = read(path);
        let base = SignIn::from_value("request.json", &body)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        seen[agree(&tenant, &base, &path.display().to_string())] += 1;
        // The same request on every platform and client type, with and without MFA.
        for (n, variant) in sweep(&body, &[], &[], 48).into_iter().enumerate() {
            let signin = SignIn::from_value("request.json", &variant)
                .unwrap_or_else(|e| panic!("{} variant {n}: {e}", path.display()));
            seen[agree(
                &tenant,
                &signin,
                &format!("{} variant {n}: {variant}", path.display()),
            )] += 1;
        }
    }
    assert!(seen.iter().all(|n| *n > 0), "demo: mix too narrow {seen:?}");
}

#[test]
fn test_vectors_entries_are_the_traced_evaluations() {
    let mut checked = 0;
    for path in files(&root().join("testdata/vectors")) {
        let v = read(&path);
        if v["mode"] == "load" {
            continue;
        }
        let bytes = serde_json::to_vec(&v["tenant"]).unwrap_or_default();
        let source = TenantSource {
            combined: Some(SourceFile::new("tenant.json", bytes)),
            ..Default::default()
        };
        let tenant = match Tenant::load(&source) {
            Ok(t) => CompiledTenant::compile(t),
            Err(e) => panic!("{}: {e}", path.display()),
        };
        let mut signin = SignIn::from_value("request.json", &v["request"])
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Some(now) = v["now"].as_str() {
            signin.at = gardien_core::time::parse_rfc3339(now);
        }
        agree(&tenant, &signin, &path.display().to_string());
        checked += 1;
    }
    assert!(checked >= 100, "{checked} vectors");
}

/// A small deterministic generator (the sweep must be the same on every run).
struct Lcg(u64);
impl Lcg {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        &items[((self.0 >> 33) as usize) % items.len()]
    }
}

/// `count` variants of a request body: its users and applications replaced by picks among
/// `users` and `apps` (when given), and every condition input the checks read varied.
fn sweep(body: &Value, users: &[String], apps: &[String], count: usize) -> Vec<Value> {
    let mut rng = Lcg(count as u64 ^ 0x5eed);
    let platforms = [
        "windows",
        "macOS",
        "iOS",
        "android",
        "linux",
        "windowsPhone",
    ];
    let clients = [
        "browser",
        "mobileAppsAndDesktopClients",
        "exchangeActiveSync",
        "other",
    ];
    let levels = ["none", "low", "medium", "high"];
    let addresses = ["203.0.113.50", "198.51.100.7", "10.1.2.3", "2001:db8::1"];
    let countries = ["FR", "US", "BR", "CN", "RU"];
    let methods: [&[&str]; 3] = [
        &["password"],
        &["password", "microsoftAuthenticatorPush"],
        &["windowsHelloForBusiness"],
    ];
    (0..count)
        .map(|_| {
            let mut v = body.clone();
            if !users.is_empty() {
                v["signInIdentity"] = json!({
                    "@odata.type": "#microsoft.graph.userSignIn",
                    "userId": rng.pick(users),
                });
            }
            if !apps.is_empty() {
                v["signInContext"] = json!({
                    "@odata.type": "#microsoft.graph.applicationContext",
                    "includeApplications": [rng.pick(apps)],
                });
            }
            let c = &mut v["signInConditions"];
            if !c.is_object() {
                *c = json!({});
            }
            c["devicePlatform"] = json!(rng.pick(&platforms));
            c["clientAppType"] = json!(rng.pick(&clients));
            c["userRiskLevel"] = json!(rng.pick(&levels));
            c["signInRiskLevel"] = json!(rng.pick(&levels));
            c["ipAddress"] = json!(rng.pick(&addresses));
            c["country"] = json!(rng.pick(&countries));
            if *rng.pick(&[true, false]) {
                c["deviceInfo"] = json!({
                    "isCompliant": rng.pick(&[true, false]),
                    "trustType": rng.pick(&["AzureAD", "ServerAD", "Workplace"]),
                });
            }
            v["session"] = json!({"authenticationMethods": rng.pick(&methods)});
            v
        })
        .collect()
}

fn corpus() -> Option<PathBuf> {
    let dir = root().join("../shared/corpus/policies");
    dir.is_dir().then_some(dir)
}

fn corpus_tenant(root: &Path, policies: &str, locations: &str) -> Tenant {
    let sources = |dir: &str| -> Vec<SourceFile> {
        files(&root.join(dir))
            .iter()
            .filter(|p| {
                p.extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("json"))
            })
            .map(|p| {
                SourceFile::new(
                    p.display().to_string(),
                    std::fs::read(p).unwrap_or_default(),
                )
            })
            .collect()
    };
    let source = TenantSource {
        policy_files: sources(policies),
        location_files: sources(locations),
        ..Default::default()
    };
    Tenant::load(&source).unwrap_or_else(|e| panic!("{policies}: {e}"))
}

#[test]
fn corpus_exports_entries_are_the_traced_evaluations() {
    let Some(root) = corpus() else {
        println!("SKIPPED: ../shared/corpus/policies is absent; the corpus part did not run");
        return;
    };
    for (policies, locations) in [
        (
            "j0eyv__ConditionalAccessBaseline/ConditionalAccess",
            "j0eyv__ConditionalAccessBaseline/NamedLocations",
        ),
        (
            "Cloudshield-io__Conditional-Access-Framework/ConditionalAccess",
            "Cloudshield-io__Conditional-Access-Framework/NamedLocations",
        ),
    ] {
        let tenant = corpus_tenant(&root, policies, locations);
        // Every user and application a policy names, and one nobody names.
        let mut users = vec!["00000000-0000-4000-8000-00000000abcd".to_owned()];
        let mut apps = vec!["00000000-0000-4000-8000-00000000dcba".to_owned()];
        for p in &tenant.policies {
            if let Some(u) = &p.conditions.users {
                users.extend(
                    u.include
                        .users
                        .iter()
                        .chain(&u.exclude.users)
                        .map(|s| s.to_string()),
                );
            }
            let a = &p.conditions.applications;
            apps.extend(
                a.include
                    .apps
                    .iter()
                    .chain(&a.exclude.apps)
                    .map(|s| s.to_string()),
            );
        }
        users.retain(|u| u != "All" && u != "None" && u != "GuestsOrExternalUsers");
        apps.retain(|a| a != "All" && a != "None" && a != "Office365");
        users.dedup();
        apps.dedup();
        let tenant = CompiledTenant::compile(tenant);
        let base = json!({
            "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": users[0]},
            "signInContext": {"@odata.type": "#microsoft.graph.applicationContext",
                              "includeApplications": [apps[0]]},
        });
        let mut seen = [0usize; 3];
        for (n, body) in sweep(&base, &users, &apps, 400).into_iter().enumerate() {
            let signin = SignIn::from_value("request.json", &body)
                .unwrap_or_else(|e| panic!("{policies} {n}: {e}"));
            seen[agree(&tenant, &signin, &format!("{policies} {n}: {body}"))] += 1;
        }
        println!("{policies}: {seen:?} (allow, challenge, deny)");
    }
}
