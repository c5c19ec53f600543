//! GA1xx: references to objects absent from the directory.
//!
//! Named locations are not here: a policy naming a location that does not exist is a load
//! error (`gardien validate`). Directory roles are not checked either: role template ids are
//! fixed by Microsoft, which keeps adding roles, so a list in gardien would go stale and report
//! valid roles.

use std::collections::HashSet;

use gardien_core::ids::{
    ADMIN_PORTAL_APPS, AZURE_AD_GRAPH_APP, MICROSOFT_GRAPH_APP, OFFICE365_APPS,
};

use super::super::Context;
use super::super::Skipped;
use super::super::registry::{
    UNKNOWN_APPLICATION, UNKNOWN_GROUP, UNKNOWN_SERVICE_PRINCIPAL, UNKNOWN_USER,
};
use super::raw_index;

/// Microsoft applications policies commonly name that a tenant's directory export may lack.
const MICROSOFT_APPS: &[&str] = &[
    "797f4846-ba00-4fd7-ba43-dac1f8f63013", // Windows Azure Service Management API
    "0000000a-0000-0000-c000-000000000000", // Microsoft Intune
    "d4ebce55-015a-49b5-a083-c84d1797ae8c", // Microsoft Intune Enrollment
    "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9", // Device Registration Service
    "0000000c-0000-0000-c000-000000000000", // Microsoft App Access Panel
    "04b07795-8ddb-461a-bbee-02f9e1bf7b46", // Azure CLI
    "1950a258-227b-4e31-a9cf-717495945fc2", // Microsoft Azure PowerShell
    "14d82eec-204b-4c2f-b7e8-296a70dab67e", // Microsoft Graph Command Line Tools
    "de8bc8b5-d9f9-48b1-a8ad-b748da725064", // Graph Explorer
    "2793995e-0a7d-40d7-bd35-6968ba142197", // My Apps
];

pub(super) fn run(cx: &mut Context<'_>) {
    let tenant = cx.tenant;
    let dir = &tenant.tenant.directory;
    let has_users = !dir.users.is_empty();
    let mut known_groups: HashSet<&str> = dir.groups.iter().map(|g| &*g.id).collect();
    for u in &dir.users {
        known_groups.extend(u.member_of.iter().map(|g| &**g));
    }
    for g in &dir.groups {
        known_groups.extend(g.member_of.iter().map(|p| &**p));
    }
    let has_groups = !known_groups.is_empty();
    let has_sps = !dir.service_principals.is_empty();
    let known_sps: HashSet<&str> = dir.service_principals.iter().map(|s| &*s.id).collect();
    let mut known_apps: HashSet<&str> = dir
        .service_principals
        .iter()
        .filter_map(|s| s.app_id.as_deref())
        .collect();
    known_apps.extend(OFFICE365_APPS.iter().copied());
    known_apps.extend(ADMIN_PORTAL_APPS.iter().copied());
    known_apps.extend(MICROSOFT_APPS.iter().copied());
    known_apps.extend([AZURE_AD_GRAPH_APP, MICROSOFT_GRAPH_APP]);
    known_apps.extend(dir.office365_app_ids.iter().map(|a| &**a));
    known_apps.extend(dir.admin_portal_app_ids.iter().map(|a| &**a));

    let mut found: Vec<(&'static str, usize, String, String, Option<String>)> = Vec::new();
    for (i, p) in tenant.tenant.policies.iter().enumerate() {
        let raw = &p.raw;
        let mut check = |code: &'static str,
                         key: &str,
                         path: [&str; 3],
                         ids: &[Box<str>],
                         known: &dyn Fn(&str) -> bool,
                         what: &str,
                         help: Option<&str>| {
            for id in ids.iter().filter(|id| !known(id)) {
                let index = raw_index(raw, &path, id)
                    .map(|n| format!("/{n}"))
                    .unwrap_or_default();
                let side = if key.starts_with("exclude") {
                    "excludes"
                } else {
                    "includes"
                };
                found.push((
                    code,
                    i,
                    format!("/{}/{}/{}{index}", path[0], path[1], path[2]),
                    format!("{side} {what} `{id}`, which is not in directory.json"),
                    help.map(str::to_owned),
                ));
            }
        };
        if let Some(u) = &p.conditions.users {
            if has_users {
                let known = |id: &str| tenant.user_index.contains_key(id);
                check(
                    UNKNOWN_USER,
                    "includeUsers",
                    ["conditions", "users", "includeUsers"],
                    &u.include.users,
                    &known,
                    "user",
                    None,
                );
                check(
                    UNKNOWN_USER,
                    "excludeUsers",
                    ["conditions", "users", "excludeUsers"],
                    &u.exclude.users,
                    &known,
                    "user",
                    Some(
                        "an excluded account that does not exist protects nobody: if it is an emergency-access account, exclude the account that exists (better: a group)",
                    ),
                );
            }
            if has_groups {
                let known = |id: &str| known_groups.contains(id);
                check(
                    UNKNOWN_GROUP,
                    "includeGroups",
                    ["conditions", "users", "includeGroups"],
                    &u.include.groups,
                    &known,
                    "group",
                    None,
                );
                check(
                    UNKNOWN_GROUP,
                    "excludeGroups",
                    ["conditions", "users", "excludeGroups"],
                    &u.exclude.groups,
                    &known,
                    "group",
                    Some(
                        "an excluded group that does not exist excludes nobody: if it is the emergency-access group, point the exclusion at the existing group",
                    ),
                );
            }
        }
        if has_sps {
            let a = &p.conditions.applications;
            let known = |id: &str| known_apps.contains(id);
            check(
                UNKNOWN_APPLICATION,
                "includeApplications",
                ["conditions", "applications", "includeApplications"],
                &a.include.apps,
                &known,
                "application",
                None,
            );
            check(
                UNKNOWN_APPLICATION,
                "excludeApplications",
                ["conditions", "applications", "excludeApplications"],
                &a.exclude.apps,
                &known,
                "application",
                None,
            );
            if let Some(c) = &p.conditions.client_applications {
                let known = |id: &str| known_sps.contains(id);
                check(
                    UNKNOWN_SERVICE_PRINCIPAL,
                    "includeServicePrincipals",
                    [
                        "conditions",
                        "clientApplications",
                        "includeServicePrincipals",
                    ],
                    &c.include,
                    &known,
                    "service principal",
                    None,
                );
                check(
                    UNKNOWN_SERVICE_PRINCIPAL,
                    "excludeServicePrincipals",
                    [
                        "conditions",
                        "clientApplications",
                        "excludeServicePrincipals",
                    ],
                    &c.exclude,
                    &known,
                    "service principal",
                    None,
                );
            }
        }
    }
    for (code, i, pointer, what, help) in found {
        let name = cx.policy_name(i);
        cx.report(
            code,
            Some(i),
            &pointer,
            format!("policy {name} {what}"),
            help,
        );
    }
    let mut skipped = Vec::new();
    if !has_users {
        skipped.push(UNKNOWN_USER);
    }
    if !has_groups {
        skipped.push(UNKNOWN_GROUP);
    }
    if !has_sps {
        skipped.extend([UNKNOWN_APPLICATION, UNKNOWN_SERVICE_PRINCIPAL]);
    }
    if !skipped.is_empty() {
        cx.skipped.push(Skipped {
            codes: skipped,
            reason: "the tenant's directory.json does not list these objects (users, groups or service principals), so references to them cannot be checked".to_owned(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::probe::testing::{grant, policy, tenant};
    use crate::lint::{LintOptions, lint};
    use serde_json::json;

    fn findings(t: &gardien_core::CompiledTenant) -> Vec<(&'static str, String)> {
        lint(t, &LintOptions::default())
            .findings
            .into_iter()
            .filter(|f| f.code.starts_with("GA1"))
            .map(|f| (f.code, f.pointer))
            .collect()
    }

    #[test]
    fn dangling_users_groups_apps_and_service_principals() {
        let p = policy(
            "p",
            json!({"users": {"includeUsers": ["alice", "ghost"], "includeGroups": ["staff"],
                             "excludeGroups": ["Old-BG"]},
                   "applications": {"includeApplications": ["payroll-app", "lost-app",
                                                            "00000002-0000-0ff1-ce00-000000000000"]}}),
            grant("mfa"),
        );
        let w = policy(
            "w",
            json!({"users": {"includeUsers": ["None"]},
                   "clientApplications": {"includeServicePrincipals": ["sp-1", "sp-gone"]}}),
            grant("block"),
        );
        let dir = json!({"users": [{"id": "alice", "memberOf": ["staff"]}],
                         "groups": [{"id": "bg"}],
                         "servicePrincipals": [{"id": "sp-1", "appId": "payroll-app"}]});
        let t = tenant(vec![p, w], json!([]), Some(dir));
        assert_eq!(
            findings(&t),
            vec![
                (
                    "GA101",
                    "/policies/0/conditions/users/includeUsers/1".to_owned()
                ),
                (
                    "GA102",
                    "/policies/0/conditions/users/excludeGroups/0".to_owned()
                ),
                (
                    "GA104",
                    "/policies/1/conditions/clientApplications/includeServicePrincipals/1"
                        .to_owned()
                ),
                // Info last: findings are sorted by severity.
                (
                    "GA103",
                    "/policies/0/conditions/applications/includeApplications/1".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn skipped_without_a_directory() {
        let p = policy(
            "p",
            json!({"users": {"includeUsers": ["ghost"]}}),
            grant("mfa"),
        );
        let t = tenant(vec![p], json!([]), None);
        let r = lint(&t, &LintOptions::default());
        assert!(r.findings.iter().all(|f| !f.code.starts_with("GA1")));
        assert!(
            r.summary
                .skipped
                .iter()
                .any(|s| s.codes.contains(&"GA101") && s.codes.contains(&"GA104")),
            "{:?}",
            r.summary.skipped
        );
    }
}
