//! Tests of the semantic diff: identical tenants, a disabled policy, a stronger control, and
//! the exhaustive cross-check of the walk over two tenants.

#![allow(clippy::panic, reason = "test failures report through panics")]

use super::*;
use crate::gaps::partition::enumerate::walk;
use crate::gaps::tests::{policy, tenant};
use gardien_core::SignIn;
use rustc_hash::FxHashMap;
use serde_json::{Value, json};

fn report(a: &Tenant, b: &Tenant) -> DiffReport {
    diff(a, b).unwrap_or_else(|e| panic!("diff failed: {e}"))
}

fn demo(disable: Option<&str>) -> Tenant {
    demo_disabling(disable.as_slice())
}

fn demo_disabling(disable: &[&str]) -> Tenant {
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo/tenant");
    let read = |name: &str| {
        gardien_core::SourceFile::new(
            name.to_owned(),
            std::fs::read(dir.join(name)).unwrap_or_default(),
        )
    };
    let mut names: Vec<String> = std::fs::read_dir(dir.join("policies"))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    let policy_files = names
        .iter()
        .map(|n| {
            let mut f = read(&format!("policies/{n}"));
            if disable.contains(&n.as_str()) {
                let mut v: Value = serde_json::from_slice(&f.bytes).unwrap_or(Value::Null);
                v["state"] = json!("disabled");
                f.bytes = serde_json::to_vec(&v).unwrap_or_default();
            }
            f
        })
        .collect();
    let source = gardien_core::TenantSource {
        policy_files,
        location_files: vec![read("namedLocations.json")],
        directory: Some(read("directory.json")),
        ..Default::default()
    };
    Tenant::load(&source).unwrap_or_else(|e| panic!("demo tenant: {e}"))
}

/// Every combination of classes, decided directly in both tenants, agrees with the walk.
fn check_exhaustively(a: &Tenant, b: &Tenant) {
    let u = Universe::build(&[a, b], true, None);
    let walked = walk(&u, classify).unwrap_or_else(|e| panic!("walk failed: {e:?}"));
    let mut labelled: FxHashMap<(u32, u32, u32), (OutcomeKey, OutcomeKey)> = FxHashMap::default();
    for f in &walked.found {
        for (user, target) in &f.pairs {
            for t in &f.tuples {
                labelled.insert((*user, *target, *t), f.label);
            }
        }
    }
    let radix = u.radix();
    let (Some(ta), Some(tb)) = (u.tenants.first(), u.tenants.get(1)) else {
        panic!("two tenants expected");
    };
    for user in 0..u.users.len() {
        for target in 0..u.targets.len() {
            for i in 0..radix.total() {
                let t = radix.decode(i);
                let s = u
                    .signin(user, target, &t)
                    .unwrap_or_else(|| panic!("no sign-in"));
                let direct = classify(&[ta.decide(&s), tb.decide(&s)]);
                assert_eq!(
                    labelled
                        .get(&(user as u32, target as u32, i as u32))
                        .copied(),
                    direct,
                    "walk and direct decisions disagree for {user}/{target}/{t:?}"
                );
            }
        }
    }
}

/// Every representative, re-read from its request JSON, changes as reported.
fn check_representatives(a: &Tenant, b: &Tenant, r: &DiffReport) {
    let add_users = |t: &Tenant| {
        let mut t = t.clone();
        for c in &r.dimensions.users {
            if let Some(e) = &c.directory_user {
                let wrapped = json!({"policies": [], "directory": {"users": [e]}});
                t.directory.users.extend(tenant(&wrapped).directory.users);
            }
        }
        gardien_core::CompiledTenant::compile(t)
    };
    let (ca, cb) = (add_users(a), add_users(b));
    for c in &r.changes {
        let s = SignIn::from_value("request.json", &c.representative.request)
            .unwrap_or_else(|e| panic!("request: {e}"));
        for (compiled, expected) in [(&ca, &c.from), (&cb, &c.to)] {
            let v = compiled.decide(&s);
            assert_eq!(v.decision.as_str(), expected.decision);
            assert_eq!(v.error_code, expected.error_code);
            let required: Vec<&str> = v.required.iter().map(|x| x.as_str()).collect();
            assert_eq!(required, expected.required_controls);
        }
        assert_ne!(c.from, c.to);
    }
}

#[test]
fn identical_tenants_do_not_change() {
    let t = demo(None);
    let r = report(&t, &t.clone());
    assert!(!r.has_changes());
    assert_eq!(r.summary.changed_classes, 0);
}

#[test]
fn disabling_a_policy_changes_exactly_the_classes_it_covered() {
    let (a, b) = (demo(None), demo(Some("ca02.json")));
    let r = report(&a, &b);
    assert!(r.has_changes(), "{}", shown(&r));
    for c in &r.changes {
        assert!(
            c.from
                .applied_policies
                .iter()
                .any(|p| p.contains("Block legacy authentication")),
            "a change outside the disabled policy: {}",
            c.summary
        );
        assert_eq!(c.from.decision, "deny");
    }
    // Somewhere (at the trusted HQ, where no MFA is asked) legacy clients now get in.
    assert!(r.changes.iter().any(|c| c.to.decision == "allow"));
    check_representatives(&a, &b, &r);
    check_exhaustively(&a, &b);
}

#[test]
fn a_stronger_control_changes_only_mfa_sessions_of_its_users() {
    let users = json!({"includeUsers": ["All"], "excludeGroups": ["g-bg"]});
    let conditions = json!({"users": users, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]});
    let a = tenant(&json!({"policies": [policy(
        "MFA", conditions.clone(), json!({"operator": "OR", "builtInControls": ["mfa"]}))]}));
    let b = tenant(&json!({"policies": [policy(
        "MFA",
        conditions,
        json!({"operator": "OR", "builtInControls": [],
               "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004"}}),
    )]}));
    let r = report(&a, &b);
    assert!(r.has_changes());
    let ids = |list: &[crate::gaps::ClassInfo], f: &dyn Fn(&crate::gaps::ClassInfo) -> bool| {
        list.iter()
            .filter(|c| f(c))
            .map(|c| c.id.clone())
            .collect::<Vec<_>>()
    };
    let fido = ids(&r.dimensions.sessions, &|c| {
        c.label.starts_with("phishing-resistant")
    });
    let break_glass = ids(&r.dimensions.users, &|c| {
        c.members.iter().all(|m| m.contains("`g-bg`"))
    });
    assert_eq!((fido.len(), break_glass.len()), (1, 1));
    for c in &r.changes {
        // A FIDO2 session satisfies both for members. External users without cross-tenant
        // MFA trust do MFA here, where FIDO2 is not offered to them (Learn's Table 1): the
        // phishing-resistant strength cannot be met (docs/semantics.md).
        if !c.summary.contains("guest or external user") {
            assert!(
                !c.scope.sessions.iter().any(|s| fido.contains(s)),
                "{}",
                c.summary
            );
        }
        // Break-glass members are excluded from both.
        assert!(
            !c.scope.users.iter().any(|u| break_glass.contains(u)),
            "{}",
            c.summary
        );
    }
    assert!(
        r.changes
            .iter()
            .any(|c| c.from.decision == "allow"
                && c.to.required_controls == ["authenticationStrength"]),
        "{}",
        shown(&r)
    );
    check_representatives(&a, &b, &r);
    check_exhaustively(&a, &b);
}

#[test]
fn a_new_block_for_guests_is_found_with_its_location() {
    let a = tenant(&json!({"policies": []}));
    let b = tenant(&json!({
        "policies": [policy(
            "Block guests outside FR",
            json!({
                "users": {"includeGuestsOrExternalUsers": {
                    "guestOrExternalUserTypes": "b2bCollaborationGuest",
                    "externalTenants": {"membershipKind": "all"}}},
                "applications": {"includeApplications": ["All"]},
                "clientAppTypes": ["all"],
                "locations": {"includeLocations": ["All"], "excludeLocations": ["loc-fr"]},
            }),
            json!({"operator": "OR", "builtInControls": ["block"]}),
        )],
        "namedLocations": [{"@odata.type": "#microsoft.graph.countryNamedLocation", "id": "loc-fr",
            "displayName": "France", "countriesAndRegions": ["FR"]}]
    }));
    let r = report(&a, &b);
    assert_eq!(r.summary.transitions.len(), 1, "{}", shown(&r));
    assert_eq!(
        r.summary.transitions.first().map(|t| t.transition.as_str()),
        Some("allow → deny 53003 (block)")
    );
    for c in &r.changes {
        assert!(
            c.representative
                .description
                .contains("b2bCollaborationGuest")
        );
        assert!(!c.representative.description.contains("country FR"));
    }
    check_representatives(&a, &b, &r);
    check_exhaustively(&a, &b);
}

/// Every changed class, decided directly by each single-revert variant, carries the
/// attribution the walk gave it.
fn check_attribution_exhaustively(a: &Tenant, b: &Tenant) {
    let u = Universe::build(&[a, b], true, None);
    let variants = Variants::new(&u, b, &changed_policies(a, b));
    let walked = walk_signin(
        &u,
        |v: &[Verdict], s: &SignIn| attribute(&variants, v, s),
        None,
    )
    .unwrap_or_else(|e| panic!("walk failed: {e:?}"));
    let mut labelled: FxHashMap<(u32, u32, u32), Label> = FxHashMap::default();
    for f in &walked.found {
        for (user, target) in &f.pairs {
            for t in &f.tuples {
                labelled.insert((*user, *target, *t), f.label.clone());
            }
        }
    }
    let radix = u.radix();
    let (Some(ta), Some(tb)) = (u.tenants.first(), u.tenants.get(1)) else {
        panic!("two tenants expected");
    };
    for user in 0..u.users.len() {
        for target in 0..u.targets.len() {
            for i in 0..radix.total() {
                let t = radix.decode(i);
                let s = u
                    .signin(user, target, &t)
                    .unwrap_or_else(|| panic!("no sign-in"));
                let direct = attribute(&variants, &[ta.decide(&s), tb.decide(&s)], &s);
                // The shortcut (variants not decided when the policy applies in neither
                // version) changes nothing: every variant decided.
                if let Some((from, to)) = classify(&[ta.decide(&s), tb.decide(&s)]) {
                    let (mut causes, mut contributing) = (Vec::new(), Vec::new());
                    for (i, t) in variants.tenants.iter().enumerate() {
                        let k = OutcomeKey::of(&t.decide(&s));
                        if k == from {
                            causes.push(i as u16);
                        } else if k != to {
                            contributing.push(i as u16);
                        }
                    }
                    if !causes.is_empty() {
                        contributing.clear();
                    }
                    let full = Label {
                        from,
                        to,
                        causes,
                        contributing,
                    };
                    assert_eq!(direct.as_ref(), Some(&full), "{user}/{target}/{t:?}");
                }
                assert_eq!(
                    labelled.get(&(user as u32, target as u32, i as u32)),
                    direct.as_ref(),
                    "walk and direct attribution disagree for {user}/{target}/{t:?}"
                );
            }
        }
    }
}

#[test]
fn each_transition_names_the_policy_change_that_causes_it() {
    let (a, b) = (demo(None), demo_disabling(&["ca02.json", "ca06.json"]));
    let r = report(&a, &b);
    let changed: Vec<&str> = r
        .summary
        .policy_changes
        .iter()
        .map(|c| c.display_name.as_str())
        .collect();
    assert_eq!(
        changed,
        [
            "CA02 Block legacy authentication",
            "CA06 Require MFA outside trusted networks"
        ]
    );
    assert!(
        r.summary
            .policy_changes
            .iter()
            .all(|c| c.what == ["state enabled → disabled"])
    );
    let mut seen = (false, false);
    for c in &r.changes {
        // Legacy clients were blocked by CA02 alone; browsers outside trusted networks were
        // challenged by CA06 alone (or by CA03 too, for administrators).
        match (c.from.decision.as_str(), c.to.decision.as_str()) {
            // B2B direct connect users cannot do MFA here without cross-tenant MFA trust:
            // CA06 denied them (docs/semantics.md).
            ("deny", _) if c.caused_by.first().is_some_and(|p| p.starts_with("CA06")) => {
                assert!(c.summary.contains("b2bDirectConnectUser"), "{}", c.summary);
            }
            ("deny", _) => {
                assert_eq!(c.caused_by.len(), 1, "{}", shown(&r));
                assert!(c.caused_by[0].starts_with("CA02"), "{:?}", c.caused_by);
                seen.0 = true;
            }
            ("challenge", "allow") => {
                assert_eq!(c.caused_by.len(), 1, "{}", shown(&r));
                assert!(c.caused_by[0].starts_with("CA06"), "{:?}", c.caused_by);
                seen.1 = true;
            }
            _ => {}
        }
        assert!(
            !c.caused_by.is_empty() || !c.contributing.is_empty(),
            "an unattributed transition: {}",
            c.summary
        );
    }
    assert_eq!(seen, (true, true), "{}", shown(&r));
    assert!(
        r.changes.iter().any(|c| c
            .caused_by
            .iter()
            .any(|x| x == "CA02 Block legacy authentication (modified: state enabled → disabled)")),
        "{}",
        shown(&r)
    );
    let total: u64 = r
        .summary
        .by_policy
        .iter()
        .map(|p| p.causes + p.contributes)
        .sum();
    assert!(total >= r.summary.changed_classes);
    check_attribution_exhaustively(&a, &b);
}

#[test]
fn changes_acting_together_are_reported_as_contributing() {
    let all = || {
        json!({"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
               "clientAppTypes": ["all"]})
    };
    let block = || json!({"operator": "OR", "builtInControls": ["block"]});
    // MFA replaced by a block: reverting either change alone does not give back the
    // challenge (MFA back: the block still denies; block gone: nothing applies), so there is
    // no single cause; removing the block alone alters the outcome, so it contributes.
    let a = tenant(
        &json!({"policies": [policy("MFA", all(), json!({"operator": "OR", "builtInControls": ["mfa"]}))]}),
    );
    let b = tenant(&json!({"policies": [policy("Block", all(), block())]}));
    let r = report(&a, &b);
    assert!(r.has_changes());
    for c in &r.changes {
        if c.from.decision != "allow" {
            assert!(c.caused_by.is_empty(), "{:?}", c.caused_by);
            assert_eq!(c.contributing, ["Block (added)"]);
        } else {
            // MFA already done: allowed before, so the block alone explains the deny.
            assert_eq!(c.caused_by, ["Block (added)"], "{}", shown(&r));
        }
    }
    assert!(
        r.changes
            .iter()
            .any(|c| c.caused_by.is_empty() && !c.contributing.is_empty())
    );
    check_attribution_exhaustively(&a, &b);
    // Two identical blocks removed: either one back denies again, so each is a cause.
    let a = tenant(
        &json!({"policies": [policy("Block 1", all(), block()), policy("Block 2", all(), block())]}),
    );
    let b = tenant(&json!({"policies": []}));
    let r = report(&a, &b);
    assert!(r.has_changes());
    for c in &r.changes {
        assert_eq!(c.caused_by, ["Block 1 (removed)", "Block 2 (removed)"]);
    }
    check_attribution_exhaustively(&a, &b);
}

/// The report in a failure message.
fn shown<T: serde::Serialize>(r: &T) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default()
}
