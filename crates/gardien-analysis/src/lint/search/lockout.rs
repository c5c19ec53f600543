//! The emergency-access search behind GA001–GA004.
//!
//! The emergency-access account is modelled as a Global Administrator in no group who has
//! completed every authentication method (any MFA or strength is met) on an unmanaged,
//! unregistered device. For each enabled policy, gardien evaluates that account signing in to
//! the admin tools (Azure portal, Azure management, Microsoft Graph) from every favourable
//! platform, with a browser and with a modern app, from every named location; the policy
//! "denies" when it applies and blocks, or requires a control that cannot be met there. The
//! rules read the tally of each policy: GA001, GA002 and GA003 are tiers of one finding (a
//! policy gets the most severe that holds), GA004 is about policies with exclusions.

use gardien_core::compile::CompiledTenant;
use gardien_core::eval::grant::GrantState;
use gardien_core::model::policy::UserCondition;
use gardien_core::signin::Target;

use crate::lint::Context;
use crate::lint::probe::{
    ADMIN_TARGETS, FAVOURABLE_PLATFORMS, MODERN_CLIENTS, Shape, enabled, strongest_session,
};
use crate::lint::rules::{denial, list};

/// What the probes found for one policy.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tally {
    /// Per admin target: variants where the Global Administrator is denied.
    denied: [usize; 3],
    /// Variants tried per admin target.
    total: [usize; 3],
    /// The policy applies to a member with no group and no role somewhere.
    pub member_in_scope: bool,
    /// The first denial, in words.
    pub witness: Option<String>,
}

impl Tally {
    /// Whether the Global Administrator is denied admin target `target` (index in
    /// [`ADMIN_TARGETS`], 0 is the admin portals) in every variant tried.
    pub fn everywhere(&self, target: usize) -> bool {
        let (d, t) = (
            self.denied.get(target).copied().unwrap_or(0),
            self.total.get(target).copied().unwrap_or(0),
        );
        t > 0 && d == t
    }

    /// Whether every admin target is denied everywhere.
    pub fn all_targets_everywhere(&self) -> bool {
        (0..ADMIN_TARGETS.len()).all(|t| self.everywhere(t))
    }
}

/// The tallies of every enabled policy.
pub(crate) struct Lockout {
    /// Enabled policies, tenant order.
    pub policies: Vec<usize>,
    /// Per policy (tenant order).
    tallies: Vec<Tally>,
    /// The tenant has a directory with users.
    pub has_directory: bool,
}

/// A policy that denies the emergency-access account somewhere, with its user condition.
pub(crate) struct Denying<'a> {
    /// Tenant order.
    pub index: usize,
    /// What the probes found.
    pub tally: &'a Tally,
    /// The first denial, in words.
    pub witness: &'a str,
    /// The policy's user condition.
    pub users: &'a UserCondition,
}

impl Denying<'_> {
    /// The policy excludes no user and no group.
    pub fn excludes_nobody(&self) -> bool {
        self.users.exclude.users.is_empty() && self.users.exclude.groups.is_empty()
    }
}

impl Lockout {
    /// Runs the probes.
    pub fn search(cx: &Context<'_>) -> Lockout {
        let policies = enabled(cx.tenant);
        let has_directory = !cx.tenant.tenant.directory.users.is_empty();
        let mut tallies = vec![Tally::default(); cx.tenant.tenant.policies.len()];
        if policies.is_empty() {
            return Lockout {
                policies,
                tallies,
                has_directory,
            };
        }
        let probe = &cx.probe;
        for (t, (app, app_label)) in ADMIN_TARGETS.iter().enumerate() {
            for &platform in FAVOURABLE_PLATFORMS {
                for &client in MODERN_CLIENTS {
                    let shape = Shape { platform, client };
                    let target = || Target::Applications(vec![(*app).into()]);
                    // Decided once but for the place; each place runs its location conditions.
                    let signin = |user: &str| {
                        probe.user_signin(user, target(), shape, &probe.base, strongest_session())
                    };
                    let (admin, member) = (signin(&probe.global_admin), signin(&probe.member));
                    let admin = probe.tenant.unplaced(&admin);
                    let member = (t == 0).then(|| probe.tenant.unplaced(&member));
                    for place in &probe.reps {
                        let applying = admin.applying(place.whereabouts());
                        let member_applying: Vec<usize> = member
                            .as_ref()
                            .map(|m| {
                                m.applying(place.whereabouts())
                                    .into_iter()
                                    .map(|(i, _)| i)
                                    .collect()
                            })
                            .unwrap_or_default();
                        for &i in &policies {
                            let Some(tally) = tallies.get_mut(i) else {
                                continue;
                            };
                            if let (Some(total), Some(denied)) =
                                (tally.total.get_mut(t), tally.denied.get_mut(t))
                            {
                                *total += 1;
                                let grant = applying.iter().find(|(j, _)| *j == i).map(|(_, g)| *g);
                                if let Some(g @ (GrantState::Block | GrantState::Fail(_))) = grant {
                                    *denied += 1;
                                    if tally.witness.is_none() {
                                        tally.witness = Some(format!(
                                            "{} a Global Administrator with MFA signing in to {app_label} {}, {}",
                                            denial(g),
                                            shape.label(),
                                            place.label
                                        ));
                                    }
                                }
                            }
                            if member_applying.contains(&i) {
                                tally.member_in_scope = true;
                            }
                        }
                    }
                }
            }
        }
        Lockout {
            policies,
            tallies,
            has_directory,
        }
    }

    /// The enabled policies that deny the emergency-access account somewhere, tenant order.
    pub fn denying<'a>(&'a self, tenant: &'a CompiledTenant) -> Vec<Denying<'a>> {
        self.policies
            .iter()
            .filter_map(|&i| {
                let tally = self.tallies.get(i)?;
                let witness = tally.witness.as_deref()?;
                let users = tenant.tenant.policies.get(i)?.conditions.users.as_ref()?;
                Some(Denying {
                    index: i,
                    tally,
                    witness,
                    users,
                })
            })
            .collect()
    }
}

/// Why the excluded users and groups match nobody in the directory, or `None` if some
/// excluded principal exists (with members, for a group).
pub(crate) fn ineffective_exclusion(
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
    use crate::lint::probe::testing::{grant, policy, tenant};
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
