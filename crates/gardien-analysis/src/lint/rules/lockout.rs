//! GA0xx: lockout risks.
//!
//! The emergency-access account is modelled as a Global Administrator in no group who has
//! completed every authentication method (any MFA or strength is met) on an unmanaged,
//! unregistered device. For each enabled policy, gardien evaluates that account signing in to
//! the admin tools (Azure portal, Azure management, Microsoft Graph) from every favourable
//! platform, with a browser and with a modern app, from every named location; the policy
//! "denies" when it applies and blocks, or requires a control that cannot be met there.

use gardien_core::compile::CompiledTenant;
use gardien_core::signin::Target;

use super::super::Context;
use super::super::probe::{
    ADMIN_TARGETS, FAVOURABLE_PLATFORMS, MODERN_CLIENTS, Shape, applies, denies, enabled,
    strongest_session,
};
use super::super::registry::{
    ADMIN_PORTAL_LOCKOUT, INEFFECTIVE_EMERGENCY_EXCLUSION, LOCKOUT_ALL_USERS,
    NO_EMERGENCY_EXCLUSION,
};
use super::{denial, list};

/// What the probes found for one policy.
#[derive(Default, Clone)]
struct Tally {
    /// Per admin target: variants where the Global Administrator is denied.
    denied: [usize; 3],
    /// Variants tried per admin target.
    total: [usize; 3],
    /// The policy applies to a member with no group and no role somewhere.
    member_in_scope: bool,
    /// The first denial, in words.
    witness: Option<String>,
}

impl Tally {
    fn everywhere(&self, target: usize) -> bool {
        let (d, t) = (
            self.denied.get(target).copied().unwrap_or(0),
            self.total.get(target).copied().unwrap_or(0),
        );
        t > 0 && d == t
    }
}

pub(super) fn run(cx: &mut Context<'_>) {
    let policies = enabled(cx.tenant);
    if policies.is_empty() {
        return;
    }
    let probe = &cx.probe;
    let mut tallies = vec![Tally::default(); cx.tenant.tenant.policies.len()];
    for (t, (app, app_label)) in ADMIN_TARGETS.iter().enumerate() {
        for &platform in FAVOURABLE_PLATFORMS {
            for &client in MODERN_CLIENTS {
                let shape = Shape { platform, client };
                for place in &probe.reps {
                    let target = || Target::Applications(vec![(*app).into()]);
                    let admin = probe.user_signin(
                        &probe.global_admin,
                        target(),
                        shape,
                        place,
                        strongest_session(),
                    );
                    let eval = probe.evaluate(&admin);
                    let member = (t == 0).then(|| {
                        probe.evaluate(&probe.user_signin(
                            &probe.member,
                            target(),
                            shape,
                            place,
                            strongest_session(),
                        ))
                    });
                    for &i in &policies {
                        let Some(tally) = tallies.get_mut(i) else {
                            continue;
                        };
                        if let (Some(total), Some(denied)) =
                            (tally.total.get_mut(t), tally.denied.get_mut(t))
                        {
                            *total += 1;
                            if denies(&eval, i) {
                                *denied += 1;
                                if tally.witness.is_none() {
                                    tally.witness = Some(format!(
                                        "{} a Global Administrator with MFA signing in to {app_label} {}, {}",
                                        denial(&eval, i),
                                        shape.label(),
                                        place.label
                                    ));
                                }
                            }
                        }
                        if member.as_ref().is_some_and(|m| applies(m, i)) {
                            tally.member_in_scope = true;
                        }
                    }
                }
            }
        }
    }
    let has_directory = !cx.tenant.tenant.directory.users.is_empty();
    for &i in &policies {
        let Some(tally) = tallies.get(i).cloned() else {
            continue;
        };
        let Some(witness) = tally.witness.clone() else {
            continue;
        };
        let Some(policy) = cx.tenant.tenant.policies.get(i) else {
            continue;
        };
        let Some(users) = &policy.conditions.users else {
            continue;
        };
        let name = cx.policy_name(i);
        if users.exclude.users.is_empty() && users.exclude.groups.is_empty() {
            let all_targets = (0..ADMIN_TARGETS.len()).all(|t| tally.everywhere(t));
            if all_targets && tally.member_in_scope {
                cx.report(
                    LOCKOUT_ALL_USERS,
                    Some(i),
                    "/conditions/users",
                    format!(
                        "policy {name} denies every user, emergency-access accounts included, the Azure portal, Azure management and Microsoft Graph on every platform, client and location, and excludes no user or group (it {witness})"
                    ),
                    None,
                );
            } else if tally.everywhere(0) {
                cx.report(
                    ADMIN_PORTAL_LOCKOUT,
                    Some(i),
                    "/conditions/users",
                    format!(
                        "policy {name} denies every Global Administrator the Microsoft admin portals on every platform, client and location, and excludes no user or group (it {witness})"
                    ),
                    None,
                );
            } else {
                cx.report(
                    NO_EMERGENCY_EXCLUSION,
                    Some(i),
                    "/conditions/users",
                    format!("policy {name} excludes no user or group, yet it {witness}"),
                    None,
                );
            }
        } else if has_directory
            && let Some(why) =
                ineffective_exclusion(cx.tenant, &users.exclude.users, &users.exclude.groups)
        {
            let suffix = if users.exclude.groups.is_empty() {
                "/conditions/users/excludeUsers"
            } else {
                "/conditions/users/excludeGroups"
            };
            cx.report(
                INEFFECTIVE_EMERGENCY_EXCLUSION,
                Some(i),
                suffix,
                format!(
                    "policy {name} {witness}, and its exclusions match nobody in the directory: {why}"
                ),
                None,
            );
        }
    }
    if !has_directory {
        cx.skipped.push(crate::lint::Skipped {
            codes: vec![INEFFECTIVE_EMERGENCY_EXCLUSION],
            reason: "the tenant has no directory.json with users: whether exclusions match anyone is unknown".to_owned(),
        });
    }
}

/// Why the excluded users and groups match nobody in the directory, or `None` if some
/// excluded principal exists (with members, for a group).
fn ineffective_exclusion(
    tenant: &CompiledTenant,
    users: &[Box<str>],
    groups: &[Box<str>],
) -> Option<String> {
    if users.iter().any(|u| tenant.user_index.contains_key(u)) {
        return None;
    }
    let has_members = |g: &str| {
        tenant.group_index.get(g).is_some_and(|dense| {
            tenant
                .user_index
                .values()
                .any(|u| u.groups.binary_search(dense).is_ok())
        })
    };
    if groups.iter().any(|g| has_members(g)) {
        return None;
    }
    let group_name = |g: &str| {
        tenant
            .tenant
            .directory
            .groups
            .iter()
            .find(|x| &*x.id == g)
            .filter(|x| !x.display_name.is_empty())
            .map(|x| x.display_name.clone())
            .unwrap_or_else(|| g.to_owned())
    };
    let mut parts = Vec::new();
    if !users.is_empty() {
        parts.push(format!(
            "excluded user{} {} {} not in directory.json",
            if users.len() > 1 { "s" } else { "" },
            list(users),
            if users.len() > 1 { "are" } else { "is" }
        ));
    }
    if !groups.is_empty() {
        parts.push(format!(
            "excluded group{} {} {} no members",
            if groups.len() > 1 { "s" } else { "" },
            list(groups.iter().map(|g| group_name(g))),
            if groups.len() > 1 { "have" } else { "has" }
        ));
    }
    Some(parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::super::super::probe::testing::{grant, policy, tenant};
    use crate::lint::{LintOptions, lint};
    use serde_json::json;

    fn codes(t: &gardien_core::CompiledTenant) -> Vec<(&'static str, String)> {
        lint(t, &LintOptions::default())
            .findings
            .into_iter()
            .filter(|f| f.code.starts_with("GA0"))
            .map(|f| (f.code, f.policy.map(|p| p.id).unwrap_or_default()))
            .collect()
    }

    #[test]
    fn ga001_block_all_users_without_exclusion() {
        let t = tenant(
            vec![policy(
                "block-all",
                json!({"users": {"includeUsers": ["All"]}}),
                grant("block"),
            )],
            json!([]),
            None,
        );
        assert_eq!(codes(&t), vec![("GA001", "block-all".to_owned())]);
        // A compliant-device requirement is as bad for an emergency on an unmanaged device.
        let t = tenant(
            vec![policy(
                "compliant",
                json!({"users": {"includeUsers": ["All"]}}),
                grant("compliantDevice"),
            )],
            json!([]),
            None,
        );
        assert_eq!(codes(&t), vec![("GA001", "compliant".to_owned())]);
    }

    #[test]
    fn ga001_not_with_an_exclusion_or_mfa() {
        let excluded = policy(
            "block-all",
            json!({"users": {"includeUsers": ["All"], "excludeGroups": ["bg"]}}),
            grant("block"),
        );
        let mfa = policy(
            "mfa",
            json!({"users": {"includeUsers": ["All"]}}),
            grant("mfa"),
        );
        let either = policy(
            "mfa-or-device",
            json!({"users": {"includeUsers": ["All"]}}),
            json!({"operator": "OR", "builtInControls": ["mfa", "compliantDevice"]}),
        );
        let t = tenant(vec![excluded, mfa, either], json!([]), None);
        assert_eq!(codes(&t), vec![]);
    }

    #[test]
    fn ga002_admin_portals_blocked_for_admins() {
        let p = policy(
            "no-portals",
            json!({"users": {"includeRoles": ["62e90394-69f5-4237-9190-012177145e10"]},
                   "applications": {"includeApplications": ["MicrosoftAdminPortals"]}}),
            grant("block"),
        );
        let t = tenant(vec![p], json!([]), None);
        assert_eq!(codes(&t), vec![("GA002", "no-portals".to_owned())]);
        // Blocking all users from the portals, excluding the admin roles, is the safe recipe.
        let p = policy(
            "no-portals-for-users",
            json!({"users": {"includeUsers": ["All"],
                             "excludeRoles": ["62e90394-69f5-4237-9190-012177145e10"]},
                   "applications": {"includeApplications": ["MicrosoftAdminPortals"]}}),
            grant("block"),
        );
        let t = tenant(vec![p], json!([]), None);
        assert_eq!(codes(&t), vec![]);
    }

    #[test]
    fn ga003_partial_block_without_exclusion() {
        let locations = json!([{"@odata.type": "#microsoft.graph.countryNamedLocation",
            "id": "eu", "displayName": "EU", "countriesAndRegions": ["FR", "DE"],
            "includeUnknownCountriesAndRegions": true}]);
        let p = policy(
            "geo",
            json!({"users": {"includeUsers": ["All"]},
                   "locations": {"includeLocations": ["All"], "excludeLocations": ["eu"]}}),
            grant("block"),
        );
        let t = tenant(vec![p], locations.clone(), None);
        let found = lint(&t, &LintOptions::default());
        let f = found.findings.iter().find(|f| f.code == "GA003");
        assert!(
            f.is_some_and(|f| f.message.contains("no named location")
                && f.pointer == "/policies/0/conditions/users"),
            "{found:?}"
        );
        // Legacy-only blocks never stop a modern emergency sign-in.
        let p = policy(
            "legacy",
            json!({"users": {"includeUsers": ["All"]}, "clientAppTypes": ["exchangeActiveSync", "other"]}),
            grant("block"),
        );
        let t = tenant(vec![p], locations, None);
        assert_eq!(codes(&t), vec![]);
    }

    #[test]
    fn ga004_exclusion_of_an_empty_group() {
        let p = policy(
            "block-all",
            json!({"users": {"includeUsers": ["All"], "excludeGroups": ["bg"]}}),
            grant("block"),
        );
        let empty = json!({"users": [{"id": "alice"}], "groups": [{"id": "bg", "displayName": "Break glass"}]});
        let t = tenant(vec![p.clone()], json!([]), Some(empty));
        let r = lint(&t, &LintOptions::default());
        let f = r.findings.iter().find(|f| f.code == "GA004");
        assert!(
            f.is_some_and(|f| f.message.contains("`Break glass` has no members")),
            "{r:?}"
        );
        let filled =
            json!({"users": [{"id": "bg-1", "memberOf": ["bg"]}], "groups": [{"id": "bg"}]});
        let t = tenant(vec![p], json!([]), Some(filled));
        assert_eq!(codes(&t), vec![]);
    }
}
