//! What the reference rules (GA101–GA104) compare policies against: the objects the
//! tenant's `directory.json` lists, and the Microsoft applications gardien knows.
//!
//! Named locations are not here: a policy naming a location that does not exist is a load
//! error (`gardien validate`). Directory roles are not checked either: role template ids are
//! fixed by Microsoft, which keeps adding roles, so a list in gardien would go stale and report
//! valid roles.

use std::collections::HashSet;

use gardien_core::CompiledTenant;
use gardien_core::ids::{
    ADMIN_PORTAL_APPS, AZURE_AD_GRAPH_APP, MICROSOFT_GRAPH_APP, OFFICE365_APPS,
};
use gardien_core::model::policy::Principals;

use crate::lint::rules::raw_index;
use crate::lint::{Context, Skipped};

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

/// Why reference rules are skipped.
const SKIP_REASON: &str = "the tenant's directory.json does not list these objects (users, groups or service principals), so references to them cannot be checked";

/// The objects a reference may name.
pub(crate) struct Known<'t> {
    tenant: &'t CompiledTenant,
    /// `directory.json` lists users.
    pub has_users: bool,
    /// `directory.json` names groups (listed, or as someone's parent).
    pub has_groups: bool,
    /// `directory.json` lists service principals.
    pub has_service_principals: bool,
    groups: HashSet<&'t str>,
    service_principals: HashSet<&'t str>,
    apps: HashSet<&'t str>,
}

impl<'t> Known<'t> {
    /// Reads the directory.
    pub fn new(tenant: &'t CompiledTenant) -> Known<'t> {
        let dir = &tenant.tenant.directory;
        let mut groups: HashSet<&str> = dir.groups.iter().map(|g| &*g.id).collect();
        for u in &dir.users {
            groups.extend(u.member_of.iter().map(|g| &**g));
        }
        for g in &dir.groups {
            groups.extend(g.member_of.iter().map(|p| &**p));
        }
        let mut apps: HashSet<&str> = dir
            .service_principals
            .iter()
            .filter_map(|s| s.app_id.as_deref())
            .collect();
        apps.extend(OFFICE365_APPS.iter().copied());
        apps.extend(ADMIN_PORTAL_APPS.iter().copied());
        apps.extend(MICROSOFT_APPS.iter().copied());
        apps.extend([AZURE_AD_GRAPH_APP, MICROSOFT_GRAPH_APP]);
        apps.extend(dir.office365_app_ids.iter().map(|a| &**a));
        apps.extend(dir.admin_portal_app_ids.iter().map(|a| &**a));
        Known {
            tenant,
            has_users: !dir.users.is_empty(),
            has_groups: !groups.is_empty(),
            has_service_principals: !dir.service_principals.is_empty(),
            groups,
            service_principals: dir.service_principals.iter().map(|s| &*s.id).collect(),
            apps,
        }
    }

    /// A user of the directory.
    pub fn user(&self, id: &str) -> bool {
        self.tenant.user_index.contains_key(id)
    }

    /// A group the directory names.
    pub fn group(&self, id: &str) -> bool {
        self.groups.contains(id)
    }

    /// An application of a service principal, or a Microsoft application gardien knows.
    pub fn app(&self, id: &str) -> bool {
        self.apps.contains(id)
    }

    /// A service principal of the directory.
    pub fn service_principal(&self, id: &str) -> bool {
        self.service_principals.contains(id)
    }
}

/// One list of ids of a policy a reference rule checks.
pub(crate) struct IdList<'a> {
    /// Member path in the policy JSON (`["conditions", "users", "excludeUsers"]`).
    pub path: [&'static str; 3],
    /// The ids.
    pub ids: &'a [Box<str>],
    /// What they are, for messages (`user`).
    pub what: &'static str,
    /// Help for a finding, when the rule's fix is not enough.
    pub help: Option<&'static str>,
}

/// Reports every id of `list` in policy `index` that `known` does not know, as rule `code`.
pub(crate) fn report_unknown(
    cx: &mut Context<'_>,
    code: &'static str,
    index: usize,
    list: &IdList<'_>,
    known: &dyn Fn(&str) -> bool,
) {
    let Some(policy) = cx.tenant.tenant.policies.get(index) else {
        return;
    };
    let [a, b, key] = list.path;
    let side = if key.starts_with("exclude") {
        "excludes"
    } else {
        "includes"
    };
    for id in list.ids.iter().filter(|id| !known(id)) {
        let at = raw_index(&policy.raw, &list.path, id)
            .map(|n| format!("/{n}"))
            .unwrap_or_default();
        let name = cx.policy_name(index);
        cx.report(
            code,
            Some(index),
            &format!("/{a}/{b}/{key}{at}"),
            format!(
                "policy {name} {side} {} `{id}`, which is not in directory.json",
                list.what
            ),
            list.help.map(str::to_owned),
        );
    }
}

/// One kind of member of a policy's `conditions.users` (`includeGroups` / `excludeGroups`)
/// that a reference rule checks against the directory.
pub(crate) struct UsersMember {
    /// The include member's name (`includeGroups`).
    pub include: &'static str,
    /// The exclude member's name (`excludeGroups`).
    pub exclude: &'static str,
    /// What the ids are, for messages (`group`).
    pub what: &'static str,
    /// Help for an unknown id in the exclude list: an exclusion of nobody is the risky one.
    pub exclude_help: &'static str,
    /// The ids of that kind in an include or exclude side.
    pub ids: fn(&Principals) -> &[Box<str>],
}

/// Reports, as rule `code`, every id of `member` in every policy's include and exclude lists
/// that `known` does not know.
pub(crate) fn report_unknown_users_member(
    cx: &mut Context<'_>,
    code: &'static str,
    member: &UsersMember,
    known: &dyn Fn(&str) -> bool,
) {
    let tenant = cx.tenant;
    for (i, p) in tenant.tenant.policies.iter().enumerate() {
        let Some(u) = &p.conditions.users else {
            continue;
        };
        let lists = [
            IdList {
                path: ["conditions", "users", member.include],
                ids: (member.ids)(&u.include),
                what: member.what,
                help: None,
            },
            IdList {
                path: ["conditions", "users", member.exclude],
                ids: (member.ids)(&u.exclude),
                what: member.what,
                help: Some(member.exclude_help),
            },
        ];
        for list in &lists {
            report_unknown(cx, code, i, list, known);
        }
    }
}

/// Records that rule `code` did not run: the directory lacks what it compares against.
pub(crate) fn skip(cx: &mut Context<'_>, code: &'static str) {
    cx.skipped.push(Skipped {
        codes: vec![code],
        reason: SKIP_REASON.to_owned(),
    });
}

#[cfg(test)]
mod tests {
    use crate::lint::probe::testing::{grant, policy, tenant};
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
