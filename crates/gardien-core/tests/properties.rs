//! Properties of the evaluator over generated tenants and requests (proptest), all through
//! the public interface: Graph JSON in, `Tenant::load`, `CompiledTenant::{decide, evaluate,
//! what_if}` out.
//!
//! * excluding the user (directly, or through a group it is a transitive member of) never
//!   makes a policy apply;
//! * adding an enabled policy never relaxes a decision (allow < challenge < deny), and adding
//!   an enabled block policy that applies always denies with 53003;
//! * the decision does not depend on policy file order (only the output order does);
//! * what-if and evaluate agree on which policies apply when the request is complete;
//! * the hot path (`decide`) and the traced evaluation agree on every request;
//! * loading arbitrary JSON as a policy never panics.
#![allow(clippy::panic, reason = "test failures report through panics")]

use gardien_core::eval::Decision;
use gardien_core::eval::input::Outcome;
use gardien_core::{CompiledTenant, SignIn, SourceFile, Tenant, TenantSource};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const EXCHANGE_ONLINE: &str = "00000002-0000-0ff1-ce00-000000000000";

fn user(i: usize) -> String {
    format!("0000aaaa-0000-4000-8000-{i:012}")
}
fn group(i: usize) -> String {
    format!("0000bbbb-0000-4000-8000-{i:012}")
}
fn app(i: usize) -> String {
    format!("0000cccc-0000-4000-8000-{i:012}")
}
fn location(i: usize) -> String {
    format!("0000dddd-0000-4000-8000-{i:012}")
}

/// Six users; groups nest g1 ⊂ g0 and g3 ⊂ g2; user 4 is a global admin, user 5 a guest.
fn directory() -> Value {
    json!({
        "users": [
            {"id": user(0), "userType": "Member", "memberOf": [group(1)]},
            {"id": user(1), "userType": "Member", "memberOf": [group(0)]},
            {"id": user(2), "userType": "Member", "memberOf": [group(3)]},
            {"id": user(3), "userType": "Member", "memberOf": [group(2), group(1)]},
            {"id": user(4), "userType": "Member", "memberOf": [], "roles": [GLOBAL_ADMIN]},
            {"id": user(5), "userType": "Guest", "memberOf": [group(3)]},
        ],
        "groups": [
            {"id": group(0), "displayName": "Staff"},
            {"id": group(1), "displayName": "Finance", "memberOf": [group(0)]},
            {"id": group(2), "displayName": "Contractors"},
            {"id": group(3), "displayName": "Vendors", "memberOf": [group(2)]},
        ],
        "servicePrincipals": (0..4).map(|i| json!({"id": format!("0000eeee-0000-4000-8000-{i:012}"), "appId": app(i)})).collect::<Vec<_>>(),
    })
}

/// Every group a user is in, nesting included (what the directory above says).
fn groups_of(u: usize) -> Vec<usize> {
    match u {
        0 => vec![1, 0],
        1 => vec![0],
        2 | 5 => vec![3, 2],
        3 => vec![2, 1, 0],
        _ => vec![],
    }
}

fn named_locations() -> Value {
    json!([
        {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": location(0), "displayName": "HQ",
         "isTrusted": true, "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "10.1.0.0/16"}]},
        {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": location(1), "displayName": "VPN v6",
         "isTrusted": false, "ipRanges": [{"@odata.type": "#microsoft.graph.iPv6CidrRange", "cidrAddress": "2001:db8::/32"}]},
        {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": location(2), "displayName": "EU",
         "countriesAndRegions": ["FR", "DE"], "includeUnknownCountriesAndRegions": false},
        {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": location(3), "displayName": "US or unknown",
         "countriesAndRegions": ["US"], "includeUnknownCountriesAndRegions": true},
    ])
}

fn ids(items: &[usize], f: fn(usize) -> String) -> Vec<String> {
    items.iter().map(|i| f(*i)).collect()
}

fn users_condition() -> impl Strategy<Value = Value> {
    let include = prop_oneof![
        Just(json!({"includeUsers": ["All"]})),
        prop::collection::vec(0..6usize, 1..3).prop_map(|u| json!({"includeUsers": ids(&u, user)})),
        prop::collection::vec(0..4usize, 1..3)
            .prop_map(|g| json!({"includeGroups": ids(&g, group)})),
        Just(json!({"includeRoles": [GLOBAL_ADMIN]})),
        Just(json!({"includeGuestsOrExternalUsers": {
            "guestOrExternalUserTypes": "b2bCollaborationGuest",
            "externalTenants": {"membershipKind": "all"}
        }})),
    ];
    (
        include,
        prop::option::of(0..6usize),
        prop::option::of(0..4usize),
    )
        .prop_map(|(mut users, exclude_user, exclude_group)| {
            if let Some(u) = exclude_user {
                users["excludeUsers"] = json!([user(u)]);
            }
            if let Some(g) = exclude_group {
                users["excludeGroups"] = json!([group(g)]);
            }
            users
        })
}

fn applications_condition() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"includeApplications": ["All"]})),
        Just(json!({"includeApplications": ["Office365"]})),
        prop::collection::vec(0..4usize, 1..3)
            .prop_map(|a| json!({"includeApplications": ids(&a, app)})),
        (0..4usize)
            .prop_map(|a| json!({"includeApplications": ["All"], "excludeApplications": [app(a)]})),
    ]
}

fn locations_condition() -> impl Strategy<Value = Option<Value>> {
    prop::option::of(prop_oneof![
        Just(json!({"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]})),
        prop::collection::vec(0..4usize, 1..3).prop_map(
            |l| json!({"includeLocations": ["All"], "excludeLocations": ids(&l, location)})
        ),
        prop::collection::vec(0..4usize, 1..3)
            .prop_map(|l| json!({"includeLocations": ids(&l, location)})),
    ])
}

const FILTERS: &[&str] = &[
    "device.isCompliant -eq True",
    "device.trustType -eq \"ServerAD\" -or device.operatingSystem -startsWith \"Win\"",
    "device.trustType -ne \"AzureAD\"",
    "device.isCompliant -ne True -and device.operatingSystem -in [\"Windows\", \"iOS\"]",
];

fn grant_controls() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"operator": "OR", "builtInControls": ["block"]})),
        Just(json!({"operator": "OR", "builtInControls": ["mfa"]})),
        Just(json!({"operator": "OR", "builtInControls": ["compliantDevice"]})),
        Just(json!({"operator": "OR", "builtInControls": ["domainJoinedDevice"]})),
        Just(
            json!({"operator": "OR", "builtInControls": ["compliantDevice", "domainJoinedDevice"]})
        ),
        Just(json!({"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]})),
        Just(
            json!({"operator": "OR", "builtInControls": ["approvedApplication", "compliantApplication"]})
        ),
        Just(json!({"operator": "OR", "builtInControls": [],
                    "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004"}})),
    ]
}

/// One policy (valid by construction), id `p{n}`.
fn policy(n: usize) -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            6 => Just("enabled"),
            2 => Just("enabledForReportingButNotEnforced"),
            1 => Just("disabled"),
        ],
        users_condition(),
        applications_condition(),
        prop_oneof![
            Just(json!(["all"])),
            Just(json!(["browser", "mobileAppsAndDesktopClients"])),
            Just(json!(["exchangeActiveSync", "other"])),
        ],
        prop::option::of(prop_oneof![
            Just(json!({"includePlatforms": ["android", "iOS"]})),
            Just(json!({"includePlatforms": ["all"], "excludePlatforms": ["windows"]})),
        ]),
        locations_condition(),
        prop::option::of((0..FILTERS.len(), any::<bool>())),
        prop::option::of(Just(json!(["high", "medium"]))),
        grant_controls(),
        prop::option::of(1..24u32),
    )
        .prop_map(
            move |(state, users, apps, clients, platforms, locations, filter, risk, grant, sif)| {
                let mut conditions =
                    json!({"users": users, "applications": apps, "clientAppTypes": clients});
                if let Some(p) = platforms {
                    conditions["platforms"] = p;
                }
                if let Some(l) = locations {
                    conditions["locations"] = l;
                }
                if let Some((f, include)) = filter {
                    conditions["devices"] = json!({"deviceFilter": {
                        "mode": if include { "include" } else { "exclude" }, "rule": FILTERS[f]}});
                }
                if let Some(r) = risk {
                    conditions["signInRiskLevels"] = r;
                }
                let mut p = json!({
                    "id": format!("p{n}"),
                    "displayName": format!("Policy {n}"),
                    "state": state,
                    "conditions": conditions,
                    "grantControls": grant,
                });
                if let Some(hours) = sif {
                    p["sessionControls"] = json!({"signInFrequency": {
                        "isEnabled": true, "type": "hours", "value": hours, "frequencyInterval": "timeBased"}});
                }
                p
            },
        )
}

fn policies(max: usize) -> impl Strategy<Value = Vec<Value>> {
    (1..=max).prop_flat_map(|n| (0..n).map(policy).collect::<Vec<_>>())
}

/// A request with every input given (user, app, client, platform, IP, country, risks,
/// device), so that what-if has nothing to call unknown.
fn request() -> impl Strategy<Value = Value> {
    (
        0..6usize,
        prop_oneof![
            (0..4usize).prop_map(app),
            Just(EXCHANGE_ONLINE.to_owned())
        ],
        prop::sample::select(vec![
            "browser",
            "mobileAppsAndDesktopClients",
            "exchangeActiveSync",
            "other",
        ]),
        prop::sample::select(vec!["android", "iOS", "windows", "macOS", "linux"]),
        prop::sample::select(vec![
            "10.1.2.3",
            "::ffff:10.1.0.9",
            "2001:db8::5",
            "192.0.2.1",
            "198.51.100.7",
        ]),
        prop::sample::select(vec!["FR", "US", "BR"]),
        prop::sample::select(vec!["none", "low", "medium", "high"]),
        any::<bool>(),
        prop::sample::select(vec!["AzureAD", "ServerAD", "Workplace"]),
        prop::sample::select(vec!["Windows", "iOS", "Android"]),
        prop::sample::select(vec![
            vec!["password"],
            vec!["password", "microsoftAuthenticatorPush"],
            vec!["fido2"],
        ]),
    )
        .prop_map(
            |(u, app, client, platform, ip, country, risk, compliant, trust, os, methods)| {
                json!({
                    "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": user(u)},
                    "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [app]},
                    "signInConditions": {
                        "clientAppType": client,
                        "devicePlatform": platform,
                        "ipAddress": ip,
                        "country": country,
                        "signInRiskLevel": risk,
                        "userRiskLevel": "none",
                        "insiderRiskLevel": "minor",
                        "deviceInfo": {"isCompliant": compliant, "trustType": trust, "operatingSystem": os},
                    },
                    "session": {"authenticationMethods": methods},
                })
            },
        )
}

/// Loads policies (one file each) with the fixed directory and locations.
fn load(policies: &[Value]) -> Result<CompiledTenant, TestCaseError> {
    let source = TenantSource {
        policy_files: policies
            .iter()
            .enumerate()
            .map(|(i, p)| {
                SourceFile::new(
                    format!("policies/{i:02}.json"),
                    serde_json::to_vec(p).unwrap_or_default(),
                )
            })
            .collect(),
        location_files: vec![SourceFile::new(
            "namedLocations.json",
            serde_json::to_vec(&json!({"value": named_locations()})).unwrap_or_default(),
        )],
        directory: Some(SourceFile::new(
            "directory.json",
            serde_json::to_vec(&directory()).unwrap_or_default(),
        )),
        ..TenantSource::default()
    };
    match Tenant::load(&source) {
        Ok(t) => Ok(CompiledTenant::compile(t)),
        Err(e) => Err(TestCaseError::fail(format!(
            "generated tenant rejected: {e}"
        ))),
    }
}

fn sign_in(body: &Value) -> Result<SignIn, TestCaseError> {
    SignIn::from_value("request.json", body)
        .map_err(|e| TestCaseError::fail(format!("generated request rejected: {e}")))
}

/// Ids of the policies whose conditions are met, by evaluate and by what-if.
fn applying(tenant: &CompiledTenant, request: &SignIn) -> (BTreeSet<String>, BTreeSet<String>) {
    let id = |i: usize| {
        tenant
            .tenant
            .policies
            .get(i)
            .map(|p| p.id.clone())
            .unwrap_or_default()
    };
    let evaluated = tenant
        .evaluate(request)
        .policies
        .iter()
        .filter(|r| r.applies == Outcome::Satisfied)
        .map(|r| id(r.index))
        .collect();
    let what_if = tenant
        .what_if(request)
        .iter()
        .filter(|r| r.applies == Outcome::Satisfied)
        .map(|r| id(r.index))
        .collect();
    (evaluated, what_if)
}

fn severity(d: Decision) -> u8 {
    match d {
        Decision::Allow => 0,
        Decision::Challenge => 1,
        Decision::Deny => 2,
    }
}

/// The order-independent part of a verdict: decision, code, controls, applying policy ids,
/// session controls.
fn summary(tenant: &CompiledTenant, request: &SignIn) -> String {
    let v = tenant.decide(request);
    let names = |set: &gardien_core::eval::PolicySet| {
        set.iter()
            .filter_map(|i| tenant.tenant.policies.get(i).map(|p| p.id.clone()))
            .collect::<BTreeSet<_>>()
    };
    format!(
        "{:?} {:?} {:?} applied={:?} report-only={:?} session={:?}",
        v.decision,
        v.error_code,
        v.required,
        names(&v.applied),
        names(&v.report_only_applied),
        v.session
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn excluding_the_user_never_makes_a_policy_apply(
        p in policy(0),
        body in request(),
        through_group in any::<bool>(),
        pick in any::<prop::sample::Index>(),
    ) {
        let u = body["signInIdentity"]["userId"].as_str().and_then(|s| s.rsplit('-').next()).and_then(|s| s.parse::<usize>().ok()).unwrap_or(0);
        let mut excluded = p.clone();
        let groups = groups_of(u);
        if through_group && !groups.is_empty() {
            excluded["conditions"]["users"]["excludeGroups"] = json!([group(groups[pick.index(groups.len())])]);
        } else {
            excluded["conditions"]["users"]["excludeUsers"] = json!([user(u)]);
        }
        let tenant = load(&[excluded])?;
        let request = sign_in(&body)?;
        let (evaluated, what_if) = applying(&tenant, &request);
        prop_assert!(evaluated.is_empty(), "evaluate: {evaluated:?}");
        prop_assert!(what_if.is_empty(), "what-if: {what_if:?}");
        prop_assert!(tenant.decide(&request).applied.is_empty());
    }

    #[test]
    fn adding_a_policy_never_relaxes_the_decision(
        base in policies(6),
        extra in policy(99),
        body in request(),
    ) {
        let request = sign_in(&body)?;
        let before = load(&base)?.decide(&request);
        let mut more = base.clone();
        more.push(extra);
        let after = load(&more)?.decide(&request);
        prop_assert!(
            severity(after.decision) >= severity(before.decision),
            "{:?} became {:?}", before.decision, after.decision
        );
        if before.decision == Decision::Deny {
            prop_assert_eq!(after.decision, Decision::Deny);
        }
    }

    #[test]
    fn an_applying_block_policy_always_denies_with_53003(
        base in policies(6),
        body in request(),
        position in any::<prop::sample::Index>(),
    ) {
        let block = json!({
            "id": "block-all", "displayName": "Block everyone", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]},
                           "applications": {"includeApplications": ["All"]},
                           "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "builtInControls": ["block"]},
        });
        let mut with_block = base.clone();
        with_block.insert(position.index(base.len() + 1), block);
        let request = sign_in(&body)?;
        let v = load(&with_block)?.decide(&request);
        prop_assert_eq!(v.decision, Decision::Deny);
        prop_assert_eq!(v.error_code, Some(53003));
    }

    #[test]
    fn decision_does_not_depend_on_policy_order(
        base in policies(8),
        body in request(),
        seed in any::<u64>(),
    ) {
        let request = sign_in(&body)?;
        let mut shuffled = base.clone();
        // Fisher-Yates with a small LCG so the permutation is part of the shrinkable input.
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        let a = load(&base)?;
        let b = load(&shuffled)?;
        prop_assert_eq!(summary(&a, &request), summary(&b, &request));
    }

    #[test]
    fn what_if_and_evaluate_agree_and_decide_matches_the_trace(
        base in policies(8),
        body in request(),
    ) {
        let tenant = load(&base)?;
        let request = sign_in(&body)?;
        let (evaluated, what_if) = applying(&tenant, &request);
        prop_assert_eq!(&evaluated, &what_if);
        let traced = tenant.evaluate(&request);
        prop_assert_eq!(tenant.decide(&request), traced.verdict);
        let applied = traced.verdict.applied.len() + traced.verdict.report_only_applied.len();
        prop_assert_eq!(applied, evaluated.len());
    }

    #[test]
    fn loading_arbitrary_json_never_panics(value in arbitrary_json(), policy in policy(0), path in 0..6usize) {
        // Whole documents of random JSON, and a valid policy with one member replaced.
        let _ = load_raw(&value);
        let mut broken = policy;
        let slot = ["/conditions/users", "/conditions/applications", "/conditions/locations",
                    "/grantControls", "/conditions/devices", "/state"][path];
        if let Some(target) = broken.pointer_mut(slot) {
            *target = value;
        }
        let _ = load_raw(&broken);
    }
}

fn load_raw(policy: &Value) -> Result<Tenant, gardien_core::LoadErrors> {
    Tenant::load(&TenantSource {
        policy_files: vec![SourceFile::new(
            "p.json",
            serde_json::to_vec(policy).unwrap_or_default(),
        )],
        ..Default::default()
    })
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop::sample::select(vec![
            "All",
            "None",
            "enabled",
            "block",
            "mfa",
            "OR",
            "AND",
            "device.isCompliant -eq True",
            "10.0.0.0/8",
            "AllTrusted",
            "",
            "\u{0}",
            "ÿ",
        ])
        .prop_map(|s| json!(s)),
        "[a-zA-Z0-9 .\\-/]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "id",
                    "state",
                    "conditions",
                    "users",
                    "includeUsers",
                    "applications",
                    "includeApplications",
                    "grantControls",
                    "builtInControls",
                    "operator",
                    "locations",
                    "includeLocations",
                    "devices",
                    "deviceFilter",
                    "rule",
                    "mode",
                    "value",
                    "clientAppTypes",
                ]),
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}
