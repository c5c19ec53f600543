//! Tests of the gap analysis: hand-written tenants whose gaps are known, the exhaustive
//! cross-check of the walk against direct `decide` calls, and the reproduction of every
//! reported representative from its request JSON.

#![allow(clippy::panic, reason = "test failures report through panics")]

use super::partition::INNER;
use super::partition::enumerate::{groups, walk, walk_partial_within, walk_threads};
use super::partition::{Radix, Universe};
use super::*;
use gardien_core::{SignIn, SourceFile, TenantSource};
use proptest::prelude::*;
use rustc_hash::FxHashMap;
use serde_json::{Value, json};

pub(crate) fn tenant(v: &Value) -> Tenant {
    let source = TenantSource {
        combined: Some(SourceFile::new(
            "tenant.json",
            serde_json::to_vec(v).unwrap_or_default(),
        )),
        ..TenantSource::default()
    };
    Tenant::load(&source).unwrap_or_else(|e| panic!("tenant does not load: {e}"))
}

pub(crate) fn policy(name: &str, conditions: Value, grant: Value) -> Value {
    json!({
        "id": format!("id-{name}"),
        "displayName": name,
        "state": "enabled",
        "conditions": conditions,
        "grantControls": grant,
    })
}

fn mfa() -> Value {
    json!({"operator": "OR", "builtInControls": ["mfa"]})
}

fn block() -> Value {
    json!({"operator": "OR", "builtInControls": ["block"]})
}

fn all_apps(users: Value, clients: &[&str]) -> Value {
    json!({
        "users": users,
        "applications": {"includeApplications": ["All"]},
        "clientAppTypes": clients,
    })
}

/// Every gap whose users and targets include these class labels' prefixes.
fn gaps_for<'a>(r: &'a GapsReport, user: &str, target: &str) -> Vec<&'a Gap> {
    let label = |list: &[ClassInfo], id: &str| -> String {
        list.iter()
            .find(|c| c.id == id)
            .map(|c| c.members.join(" | "))
            .unwrap_or_default()
    };
    r.gaps
        .iter()
        .filter(|g| {
            g.scope
                .users
                .iter()
                .any(|u| label(&r.dimensions.users, u).contains(user))
                && g.scope
                    .applications
                    .iter()
                    .any(|a| label(&r.dimensions.applications, a).contains(target))
        })
        .collect()
}

fn report(t: &Tenant) -> GapsReport {
    find_gaps(t).unwrap_or_else(|e| panic!("gaps failed: {e}"))
}

/// Re-evaluates every representative from its request JSON (plus its hypothetical directory
/// entry) on a freshly loaded tenant, and checks the report's decision and kind.
pub(crate) fn check_representatives(t: &Tenant, r: &GapsReport) {
    let mut entries: Vec<Value> = r
        .dimensions
        .users
        .iter()
        .filter_map(|c| c.directory_user.clone())
        .collect();
    entries.extend(
        r.gaps
            .iter()
            .filter_map(|g| g.representative.directory_user.clone()),
    );
    let mut with_users = t.clone();
    for e in entries {
        let wrapped = json!({"policies": [], "directory": {"users": [e]}});
        for u in tenant(&wrapped).directory.users {
            if !with_users.directory.users.iter().any(|x| x.id == u.id) {
                with_users.directory.users.push(u);
            }
        }
    }
    let compiled = CompiledTenant::compile(with_users);
    for g in &r.gaps {
        let signin = SignIn::from_value("request.json", &g.representative.request);
        assert!(signin.is_ok(), "{signin:?}");
        let Ok(signin) = signin else { return };
        let v = compiled.decide(&signin);
        assert_eq!(v.decision.as_str(), g.outcome.decision, "gap #{}", g.rank);
        assert_eq!(v.error_code, g.outcome.error_code, "gap #{}", g.rank);
        let required: Vec<&str> = v.required.iter().map(|c| c.as_str()).collect();
        assert_eq!(required, g.outcome.required_controls, "gap #{}", g.rank);
        assert_eq!(classify(&compiled, &v), Some(g.kind), "gap #{}", g.rank);
        assert!(g.classes > 0);
    }
}

/// Decides every combination of classes directly and compares with the walk, for a labelling
/// of verdicts.
fn check_walk<L, F>(u: &Universe, label: F)
where
    L: Clone + Eq + std::hash::Hash + std::fmt::Debug + Send,
    F: Fn(&CompiledTenant, &Verdict) -> Option<L> + Sync,
{
    let Some(compiled) = u.tenants.first() else {
        return;
    };
    let classify = |v: &[Verdict]| v.first().and_then(|v| label(compiled, v));
    let walked = walk(u, classify).unwrap_or_else(|e| panic!("walk failed: {e:?}"));
    let flatten = |walked: &super::partition::enumerate::Walked<L>| {
        let mut labelled: FxHashMap<(u32, u32, u32), L> = FxHashMap::default();
        for f in &walked.found {
            for (user, target) in &f.pairs {
                for t in &f.tuples {
                    let previous = labelled.insert((*user, *target, *t), f.label.clone());
                    assert!(previous.is_none(), "a class is labelled twice");
                }
            }
        }
        labelled
    };
    let labelled = flatten(&walked);
    // Cut into several threads' chunks, the walk finds the same.
    for threads in [2, 3] {
        let parallel = walk_threads(u, classify, Some(threads))
            .unwrap_or_else(|e| panic!("walk failed: {e:?}"));
        assert_eq!(flatten(&parallel), labelled, "{threads} threads");
    }
    // A partial walk bounded to k outer keys' worth of combinations walks k outer keys, the
    // broadest users × targets first, each wholly: what it finds is exactly what the whole walk
    // finds for the pairs it walked.
    let inner = walked.inner_keys as u128;
    for k in (1..walked.outer_keys.min(4)).filter(|_| inner > 0) {
        let part = walk_partial_within(u, classify, inner * k as u128)
            .unwrap_or_else(|e| panic!("partial walk failed: {e:?}"));
        let truncated = part
            .truncated
            .unwrap_or_else(|| panic!("not truncated at {k}"));
        assert_eq!(truncated.outer_walked, k);
        assert_eq!(truncated.outer_total, walked.outer_keys);
        assert_eq!(truncated.combinations, walked.outer_keys as u128 * inner);
        assert!(truncated.pairs_walked < truncated.pairs_total);
        let found = flatten(&part);
        for (key, label) in &found {
            assert_eq!(labelled.get(key), Some(label), "partial walk: {key:?}");
        }
        let pairs: std::collections::HashSet<(u32, u32)> = found
            .keys()
            .map(|(user, target, _)| (*user, *target))
            .collect();
        assert!(pairs.len() <= truncated.pairs_walked);
        for (key, label) in &labelled {
            if pairs.contains(&(key.0, key.1)) {
                assert_eq!(found.get(key), Some(label), "walked pairs wholly: {key:?}");
            }
        }
    }
    if walked.outer_keys > 0 && inner > 0 {
        let whole = walk_partial_within(u, classify, walked.outer_keys as u128 * inner)
            .unwrap_or_else(|e| panic!("partial walk failed: {e:?}"));
        assert!(whole.truncated.is_none(), "it fits: not partial");
        assert_eq!(flatten(&whole), labelled);
    }
    let radix: Radix = u.radix();
    // The reported groups cover exactly what was found, each class once.
    let mut grouped: FxHashMap<(u32, u32, u32), L> = FxHashMap::default();
    for g in groups(&radix, &walked.found) {
        for i in 0..radix.total() {
            let t = radix.decode(i);
            if !(0..INNER).all(|d| g.scope[d].contains(&t[d])) {
                continue;
            }
            for user in &g.users {
                for target in &g.targets {
                    let previous = grouped.insert((*user, *target, i as u32), g.label.clone());
                    assert!(previous.is_none(), "groups overlap");
                }
            }
        }
    }
    assert_eq!(
        grouped, labelled,
        "groups cover exactly the labelled classes"
    );
    for user in 0..u.users.len() {
        for target in 0..u.targets.len() {
            for i in 0..radix.total() {
                let t = radix.decode(i);
                let s = u
                    .signin(user, target, &t)
                    .unwrap_or_else(|| panic!("no sign-in for {user}/{target}/{t:?}"));
                let direct = label(compiled, &compiled.decide(&s));
                let key = (user as u32, target as u32, i as u32);
                assert_eq!(
                    labelled.get(&key).cloned(),
                    direct,
                    "walk and direct decision disagree for {user}/{target}/{t:?}"
                );
            }
        }
    }
}

/// The walk agrees with direct decisions: on gap kinds, and on full outcomes (decision,
/// error code, required controls) of every class.
pub(crate) fn check_exhaustively(u: &Universe) {
    check_walk(u, classify);
    check_walk(u, |_, v| Some((v.decision, v.error_code, v.required)));
}

#[test]
fn guests_excluded_from_mfa_are_a_gap() {
    let t = tenant(&json!({"policies": [policy(
        "MFA for everyone but guests",
        all_apps(json!({
            "includeUsers": ["All"],
            "excludeGuestsOrExternalUsers": {
                "guestOrExternalUserTypes": "internalGuest,b2bCollaborationGuest,b2bCollaborationMember,b2bDirectConnectUser,otherExternalUser,serviceProvider",
                "externalTenants": {"membershipKind": "all"}
            }
        }), &["all"]),
        mfa(),
    )]}));
    let r = report(&t);
    let guests = gaps_for(
        &r,
        "b2bCollaborationGuest",
        "any application no policy names",
    );
    assert!(!guests.is_empty(), "{}", shown(&r));
    assert!(guests.iter().all(|g| g.kind == GapKind::NoControl));
    assert!(guests.iter().any(|g| g.attacker_reachable));
    // Members are asked for MFA for every application (user actions are another matter).
    assert!(
        gaps_for(
            &r,
            "a member user no policy names",
            "any application no policy names"
        )
        .is_empty(),
        "{}",
        shown(&r)
    );
    check_representatives(&t, &r);
    check_exhaustively(&Universe::build(&[&t], false, None));
}

#[test]
fn missing_legacy_block_leaves_legacy_clients_open() {
    let modern_mfa = policy(
        "MFA for modern clients",
        all_apps(
            json!({"includeUsers": ["All"]}),
            &["browser", "mobileAppsAndDesktopClients"],
        ),
        mfa(),
    );
    let t = tenant(&json!({"policies": [modern_mfa.clone()]}));
    let r = report(&t);
    let member = gaps_for(
        &r,
        "a member user no policy names",
        "any application no policy names",
    );
    assert!(!member.is_empty(), "{}", shown(&r));
    let legacy: Vec<String> = r
        .dimensions
        .client_app_types
        .iter()
        .filter(|c| c.label.contains("exchangeActiveSync") || c.label.contains("other"))
        .map(|c| c.id.clone())
        .collect();
    for g in &member {
        assert_eq!(g.kind, GapKind::NoControl);
        assert!(
            g.scope.client_app_types.iter().all(|c| legacy.contains(c)),
            "only legacy clients are open: {}",
            g.summary
        );
    }
    check_representatives(&t, &r);
    check_exhaustively(&Universe::build(&[&t], false, None));

    // With legacy authentication blocked, the gap closes.
    let closed = tenant(&json!({"policies": [modern_mfa, policy(
        "Block legacy authentication",
        all_apps(json!({"includeUsers": ["All"]}), &["exchangeActiveSync", "other"]),
        block(),
    )]}));
    let r = report(&closed);
    assert!(
        gaps_for(
            &r,
            "a member user no policy names",
            "any application no policy names"
        )
        .is_empty(),
        "{}",
        shown(&r)
    );
}

#[test]
fn terms_of_use_alone_is_no_strong_control() {
    let t = tenant(&json!({"policies": [policy(
        "Terms of use",
        all_apps(json!({"includeUsers": ["All"]}), &["all"]),
        json!({"operator": "OR", "builtInControls": [], "termsOfUse": ["tou-1"]}),
    )]}));
    let r = report(&t);
    let member = gaps_for(
        &r,
        "a member user no policy names",
        "any application no policy names",
    );
    assert!(!member.is_empty());
    // Modern clients are asked for terms of use (weak); legacy ones cannot accept them (deny).
    assert!(
        member.iter().all(|g| g.kind == GapKind::NoStrongControl),
        "{}",
        shown(&r)
    );
    assert!(member.iter().any(|g| g.outcome.decision == "challenge"));
    check_representatives(&t, &r);
    check_exhaustively(&Universe::build(&[&t], false, None));
}

#[test]
fn a_compliant_device_is_a_strong_control() {
    let t = tenant(&json!({"policies": [
        policy(
            "MFA or compliant device",
            all_apps(json!({"includeUsers": ["All"]}), &["all"]),
            json!({"operator": "OR", "builtInControls": ["mfa", "compliantDevice"]}),
        ),
    ]}));
    let r = report(&t);
    assert!(
        gaps_for(
            &r,
            "a member user no policy names",
            "any application no policy names"
        )
        .is_empty(),
        "{}",
        shown(&r)
    );
    // Compliant devices are a class of their own (the grant reads compliance).
    assert!(r.dimensions.devices.len() >= 2);
    check_exhaustively(&Universe::build(&[&t], false, None));
}

#[test]
fn break_glass_exclusion_and_nested_groups() {
    let t = tenant(&json!({
        "policies": [
            policy(
                "MFA for all but break-glass",
                all_apps(json!({"includeUsers": ["All"], "excludeGroups": ["g-bg"]}), &["all"]),
                mfa(),
            ),
            policy(
                "Block admins' break-glass from outside HQ",
                json!({
                    "users": {"includeRoles": ["62e90394-69f5-4237-9190-012177145e10"]},
                    "applications": {"includeApplications": ["All"]},
                    "clientAppTypes": ["all"],
                    "locations": {"includeLocations": ["All"], "excludeLocations": ["loc-hq"]},
                }),
                block(),
            ),
        ],
        "namedLocations": [{
            "@odata.type": "#microsoft.graph.ipNamedLocation", "id": "loc-hq",
            "displayName": "HQ", "isTrusted": true,
            "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "198.51.100.0/24"}]
        }],
        "directory": {
            "users": [{"id": "u-eve", "userPrincipalName": "eve@example.com", "memberOf": ["g-child"]}],
            "groups": [
                {"id": "g-bg", "displayName": "Break glass"},
                {"id": "g-child", "displayName": "Nested in break glass", "memberOf": ["g-bg"]}
            ]
        }
    }));
    let r = report(&t);
    // The directory user in a nested group of the excluded group is a gap.
    let eve = gaps_for(&r, "eve@example.com", "any application no policy names");
    assert!(!eve.is_empty(), "{}", shown(&r));
    // A global admin in break glass is blocked outside HQ, open at HQ only (not reachable).
    let admin_bg = gaps_for(
        &r,
        "Global Administrator",
        "any application no policy names",
    );
    for g in admin_bg.iter().filter(|g| {
        g.representative.description.contains("Break glass")
            && g.representative
                .description
                .contains("Global Administrator")
    }) {
        assert!(!g.attacker_reachable, "{}", g.summary);
        assert!(g.representative.description.contains("HQ"), "{}", g.summary);
    }
    check_representatives(&t, &r);
    check_exhaustively(&Universe::build(&[&t], false, None));
}

#[test]
fn no_policy_means_everything_is_open() {
    let t = tenant(&json!({"policies": []}));
    let r = report(&t);
    assert_eq!(r.summary.total_classes, r.summary.no_control_classes);
    assert_eq!(r.summary.no_strong_control_classes, 0);
    assert!(r.gaps.iter().all(|g| g.kind == GapKind::NoControl));
    check_representatives(&t, &r);
}

#[test]
fn the_demo_tenant_has_the_expected_gaps() {
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo/tenant");
    let read = |name: &str| {
        SourceFile::new(
            name.to_owned(),
            std::fs::read(dir.join(name)).unwrap_or_default(),
        )
    };
    let mut policies: Vec<SourceFile> = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(dir.join("policies"))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    for n in names {
        policies.push(read(&format!("policies/{n}")));
    }
    let source = TenantSource {
        policy_files: policies,
        location_files: vec![read("namedLocations.json")],
        directory: Some(read("directory.json")),
        ..Default::default()
    };
    let t = Tenant::load(&source);
    assert!(t.is_ok());
    let Ok(t) = t else { return };
    let r = report(&t);
    // Break-glass members: no control anywhere.
    let bg = gaps_for(
        &r,
        "Break-glass accounts",
        "any application no policy names",
    );
    assert!(
        bg.iter()
            .any(|g| g.attacker_reachable && g.kind == GapKind::NoControl)
    );
    // Everyone at HQ (trusted, in the EU) skips MFA: open, but not to an attacker.
    let hq = gaps_for(
        &r,
        "a member user no policy names",
        "any application no policy names",
    );
    assert!(!hq.is_empty());
    assert!(hq.iter().all(|g| !g.attacker_reachable), "{}", shown(&r));
    check_representatives(&t, &r);
    check_exhaustively(&Universe::build(&[&t], false, None));
}

// Random small tenants: the walk agrees with a direct decision of every class, and every
// representative reproduces.
fn arb_policy() -> impl Strategy<Value = Value> {
    let users = prop_oneof![
        Just(json!({"includeUsers": ["All"]})),
        Just(json!({"includeUsers": ["All"], "excludeGroups": ["g1"]})),
        Just(json!({"includeGroups": ["g1", "g2"], "excludeUsers": ["u-named"]})),
        Just(
            json!({"includeRoles": ["62e90394-69f5-4237-9190-012177145e10"], "excludeGroups": ["g2"]})
        ),
        Just(
            json!({"includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "b2bCollaborationGuest", "externalTenants": {"membershipKind": "all"}}})
        ),
    ];
    let apps = prop_oneof![
        Just(json!({"includeApplications": ["All"]})),
        Just(json!({"includeApplications": ["All"], "excludeApplications": ["app-1"]})),
        Just(json!({"includeApplications": ["Office365"]})),
        Just(json!({"includeApplications": ["app-1"]})),
        Just(json!({"includeUserActions": ["urn:user:registersecurityinfo"]})),
    ];
    let clients = prop_oneof![
        Just(json!(["all"])),
        Just(json!(["browser", "mobileAppsAndDesktopClients"])),
        Just(json!(["exchangeActiveSync", "other"])),
    ];
    let extra = prop_oneof![
        Just(json!({})),
        Just(
            json!({"platforms": {"includePlatforms": ["all"], "excludePlatforms": ["iOS", "android"]}})
        ),
        Just(
            json!({"locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}})
        ),
        Just(json!({"locations": {"includeLocations": ["loc-c"]}})),
        Just(json!({"signInRiskLevels": ["high", "medium"]})),
        Just(
            json!({"devices": {"deviceFilter": {"mode": "exclude", "rule": "device.trustType -eq \"ServerAD\" -or device.isCompliant -eq True"}}})
        ),
    ];
    let grant = prop_oneof![
        Just(json!({"operator": "OR", "builtInControls": ["block"]})),
        Just(json!({"operator": "OR", "builtInControls": ["mfa"]})),
        Just(json!({"operator": "OR", "builtInControls": ["mfa", "compliantDevice"]})),
        Just(json!({"operator": "AND", "builtInControls": ["compliantDevice"]})),
        Just(json!({"operator": "OR", "builtInControls": [], "termsOfUse": ["tou"]})),
        Just(
            json!({"operator": "AND", "builtInControls": ["compliantDevice"], "termsOfUse": ["tou"]})
        ),
        Just(
            json!({"operator": "OR", "builtInControls": ["domainJoinedDevice", "approvedApplication"]})
        ),
    ];
    let state = prop_oneof![
        Just("enabled"),
        Just("enabled"),
        Just("enabledForReportingButNotEnforced")
    ];
    (users, apps, clients, extra, grant, state).prop_map(|(users, apps, clients, extra, grant, state)| {
        let mut conditions = json!({"users": users, "applications": apps, "clientAppTypes": clients});
        if let (Some(c), Some(e)) = (conditions.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                c.insert(k.clone(), v.clone());
            }
        }
        // Policies on user actions cannot be report-only and only require MFA.
        let action = conditions["applications"].get("includeUserActions").is_some();
        let (state, grant) = if action { ("enabled", json!({"operator": "OR", "builtInControls": ["mfa"]})) } else { (state, grant) };
        json!({"displayName": "p", "state": state, "conditions": conditions, "grantControls": grant})
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn walk_agrees_with_direct_decisions(policies in proptest::collection::vec(arb_policy(), 1..4)) {
        let mut policies = policies;
        for (i, p) in policies.iter_mut().enumerate() {
            p["id"] = json!(format!("p{i}"));
            p["displayName"] = json!(format!("P{i}"));
        }
        let t = tenant(&json!({
            "policies": policies,
            "namedLocations": [
                {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "loc-t", "displayName": "T",
                 "isTrusted": true, "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "198.51.100.0/24"}]},
                {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": "loc-c", "displayName": "C",
                 "countriesAndRegions": ["FR"], "includeUnknownCountriesAndRegions": false}
            ],
            "directory": {"users": [{"id": "u-1", "memberOf": ["g1"]}]}
        }));
        let u = Universe::build(&[&t], false, None);
        check_exhaustively(&u);
        let r = report(&t);
        check_representatives(&t, &r);
    }
}

/// The report in a failure message.
fn shown<T: serde::Serialize>(r: &T) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default()
}
