//! "What would let me in": the smallest sets of changes that turn a deny or challenge into
//! an allow, found by searching with the same evaluator as enforcement.
//!
//! User changes come from the core's search ([`minimal_action_sets`], the one explanations
//! and the denial page use): sets of up to [`MAX_USER_CHANGES`] candidate changes, tried
//! breadth-first, only minimal sets kept (no proper subset already works). Admin changes are tried on a copy of the tenant:
//! excluding the user from, or disabling, each enforced policy that applies — alone, then
//! in pairs. Every result is a real evaluation, never a guess.

pub use gardien_core::explain::MAX_USER_CHANGES;
use gardien_core::explain::{UserAction, minimal_action_sets};
use gardien_core::model::policy::PolicyState;
use gardien_core::signin::Subject;
use gardien_core::{CompiledTenant, Decision, SignIn, Tenant};
use serde::Serialize;

/// A set of user changes that leads to an allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPath {
    /// The actions, in the core's order.
    pub actions: Vec<UserAction>,
}

/// What an administrator could change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AdminChangeKind {
    /// Add the user to the policy's excluded users.
    ExcludeUser,
    /// Turn the policy off (or to report-only).
    DisablePolicy,
}

/// One admin change on one policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminChange {
    /// The change.
    pub kind: AdminChangeKind,
    /// Policy id.
    pub policy_id: String,
    /// Policy display name.
    pub display_name: String,
}

/// A set of admin changes that leads to an allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminPath {
    /// The changes (one or two).
    pub changes: Vec<AdminChange>,
}

/// The result of the search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WhatWouldLetMeIn {
    /// The decision now.
    pub decision: Decision,
    /// Minimal sets of user changes, smallest first.
    pub user_paths: Vec<UserPath>,
    /// Minimal sets of admin changes, smallest first.
    pub admin_paths: Vec<AdminPath>,
    /// Sign-ins evaluated by the search.
    pub evaluations: usize,
}

fn allowed(tenant: &CompiledTenant, s: &SignIn, count: &mut usize) -> bool {
    *count += 1;
    tenant.decide(s).decision == Decision::Allow
}

/// The core's search ([`minimal_action_sets`]): the same sets explanations list.
fn user_paths(tenant: &CompiledTenant, signin: &SignIn, count: &mut usize) -> Vec<UserPath> {
    let search = minimal_action_sets(tenant, signin);
    *count += search.evaluations;
    search
        .sets
        .into_iter()
        .map(|actions| UserPath { actions })
        .collect()
}

fn user_id(signin: &SignIn) -> Option<&str> {
    match &signin.subject {
        Subject::User { id, .. } => Some(id),
        Subject::ServicePrincipal { .. } | Subject::Agent { .. } => None,
    }
}

fn apply(tenant: &Tenant, changes: &[(AdminChangeKind, usize)], user: &str) -> Tenant {
    let mut t = tenant.clone();
    for (kind, index) in changes {
        if let Some(p) = t.policies.get_mut(*index) {
            match kind {
                AdminChangeKind::DisablePolicy => p.state = PolicyState::Disabled,
                AdminChangeKind::ExcludeUser => {
                    if let Some(users) = p.conditions.users.as_mut() {
                        users.exclude.users.push(user.into());
                    }
                }
            }
        }
    }
    t
}

fn admin_paths(tenant: &CompiledTenant, signin: &SignIn, count: &mut usize) -> Vec<AdminPath> {
    let verdict = tenant.decide(signin);
    let Some(user) = user_id(signin) else {
        return Vec::new();
    };
    // The enforced policies that apply are the only ones whose change can matter.
    let applying: Vec<usize> = verdict.applied.iter().collect();
    let describe = |kind: AdminChangeKind, i: usize| {
        let p = tenant.tenant.policies.get(i);
        AdminChange {
            kind,
            policy_id: p.map(|p| p.id.clone()).unwrap_or_default(),
            display_name: p.map(|p| p.display_name.clone()).unwrap_or_default(),
        }
    };
    let mut found: Vec<Vec<usize>> = Vec::new();
    let mut out = Vec::new();
    let try_set = |set: &[usize], count: &mut usize| {
        let changes: Vec<_> = set
            .iter()
            .map(|i| (AdminChangeKind::ExcludeUser, *i))
            .collect();
        let changed = CompiledTenant::compile(apply(&tenant.tenant, &changes, user));
        allowed(&changed, signin, count)
    };
    for &i in &applying {
        if try_set(&[i], count) {
            found.push(vec![i]);
        }
    }
    for (a, &i) in applying.iter().enumerate() {
        for &j in &applying[a + 1..] {
            if found.iter().any(|f| f.iter().all(|x| *x == i || *x == j)) {
                continue;
            }
            if try_set(&[i, j], count) {
                found.push(vec![i, j]);
            }
        }
    }
    for set in found {
        // Excluding the user and disabling the policy both lift it for this sign-in; the
        // exclusion is the narrower change, so it is listed first.
        out.push(AdminPath {
            changes: set
                .iter()
                .map(|i| describe(AdminChangeKind::ExcludeUser, *i))
                .collect(),
        });
        out.push(AdminPath {
            changes: set
                .iter()
                .map(|i| describe(AdminChangeKind::DisablePolicy, *i))
                .collect(),
        });
    }
    out
}

/// Searches the smallest user and admin changes that turn the sign-in into an allow.
pub fn what_would_let_me_in(tenant: &CompiledTenant, signin: &SignIn) -> WhatWouldLetMeIn {
    let mut evaluations = 1;
    let decision = tenant.decide(signin).decision;
    let (user_paths, admin_paths) = if decision == Decision::Allow {
        (Vec::new(), Vec::new())
    } else {
        (
            user_paths(tenant, signin, &mut evaluations),
            admin_paths(tenant, signin, &mut evaluations),
        )
    };
    WhatWouldLetMeIn {
        decision,
        user_paths,
        admin_paths,
        evaluations,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use gardien_core::{SourceFile, TenantSource};
    use serde_json::json;

    fn tenant(policies: serde_json::Value) -> CompiledTenant {
        let source = TenantSource {
            combined: Some(SourceFile::new(
                "t.json",
                serde_json::to_vec(&json!({"policies": policies})).unwrap(),
            )),
            ..TenantSource::default()
        };
        CompiledTenant::compile(Tenant::load(&source).unwrap())
    }

    fn policy(id: &str, conditions: serde_json::Value, grant: &[&str]) -> serde_json::Value {
        let mut c = json!({"users": {"includeUsers": ["All"]},
                           "applications": {"includeApplications": ["All"]},
                           "clientAppTypes": ["all"]});
        if let (Some(base), Some(extra)) = (c.as_object_mut(), conditions.as_object()) {
            for (k, v) in extra {
                base.insert(k.clone(), v.clone());
            }
        }
        json!({"id": id, "displayName": id, "state": "enabled", "conditions": c,
               "grantControls": {"operator": "OR", "builtInControls": grant}})
    }

    fn signin(extra: serde_json::Value) -> SignIn {
        let mut v = json!({"signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": "u1"},
                           "signInContext": {"@odata.type": "#microsoft.graph.applicationContext",
                                             "includeApplications": ["app"]},
                           "signInConditions": {"clientAppType": "browser", "devicePlatform": "windows"}});
        if let (Some(c), Some(e)) = (v["signInConditions"].as_object_mut(), extra.as_object()) {
            for (k, val) in e {
                c.insert(k.clone(), val.clone());
            }
        }
        SignIn::from_value("r", &v).unwrap()
    }

    #[test]
    fn browser_needing_a_compliant_device_can_use_the_app_or_fix_the_device() {
        let t = tenant(json!([policy(
            "P1",
            json!({"clientAppTypes": ["browser"]}),
            &["compliantDevice"]
        )]));
        let r = what_would_let_me_in(&t, &signin(json!({})));
        assert_eq!(r.decision, Decision::Deny);
        let paths: Vec<_> = r.user_paths.iter().map(|p| p.actions.clone()).collect();
        // The device is not registered: enrolling it comes first, compliance with it.
        assert!(
            paths.contains(&vec![
                UserAction::RegisterDevice,
                UserAction::MakeDeviceCompliant
            ]),
            "{paths:?}"
        );
        assert!(
            paths.contains(&vec![UserAction::UseDesktopApp]),
            "{paths:?}"
        );
        // Minimal: no set contains another found set.
        for a in &paths {
            for b in &paths {
                assert!(a == b || !b.iter().all(|x| a.contains(x)), "{a:?} ⊇ {b:?}");
            }
        }
        assert_eq!(r.admin_paths.len(), 2);
        assert_eq!(
            r.admin_paths[0].changes[0].kind,
            AdminChangeKind::ExcludeUser
        );
        assert_eq!(r.admin_paths[0].changes[0].policy_id, "P1");
    }

    #[test]
    fn two_policies_need_two_changes() {
        let t = tenant(json!([
            policy(
                "Browser",
                json!({"clientAppTypes": ["browser"]}),
                &["compliantDevice"]
            ),
            policy(
                "Windows",
                json!({"platforms": {"includePlatforms": ["windows"]}}),
                &["mfa"]
            ),
        ]));
        let r = what_would_let_me_in(&t, &signin(json!({})));
        assert!(
            r.user_paths
                .iter()
                .all(|p| p.actions.len() >= 2 || p.actions == [UserAction::UseAnotherDevice]),
            "{:?}",
            r.user_paths
        );
        assert!(
            r.user_paths
                .iter()
                .any(|p| p.actions.contains(&UserAction::CompleteMfa)),
            "{:?}",
            r.user_paths
        );
        let pair = r.admin_paths.iter().find(|p| p.changes.len() == 2);
        assert!(pair.is_some(), "{:?}", r.admin_paths);
        // Each result is real: applying the first user path's actions reaches an allow.
        assert!(r.evaluations > 2);
    }

    #[test]
    fn an_allow_needs_nothing() {
        let t = tenant(json!([]));
        let r = what_would_let_me_in(&t, &signin(json!({})));
        assert_eq!(r.decision, Decision::Allow);
        assert!(r.user_paths.is_empty() && r.admin_paths.is_empty());
    }
}
