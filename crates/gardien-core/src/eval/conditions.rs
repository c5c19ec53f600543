//! One module per condition family. Every view (enforcement, what-if, traces, explanations)
//! calls these functions; no condition is implemented anywhere else.
//!
//! Each family also answers "does condition A contain condition B" (every sign-in B selects,
//! A selects too), for analyses such as lint's shadowed-policy rule; [`conditions_contain`]
//! combines them for a whole condition set. Families with a finite domain (platforms, client
//! app types, risk levels, flows) decide containment exactly by enumeration through the same
//! rule as their check; the others compare structure and answer `false` when containment is
//! not obvious.

pub mod agents;
pub mod apps;
pub mod client_apps;
pub mod device;
pub mod flows;
pub mod locations;
pub mod platforms;
pub mod risk;
pub mod users;

use crate::model::policy::Conditions;

/// Whether every sign-in that the conditions `inner` select is selected by `outer` too, family
/// by family (the families read disjoint inputs, so containment of each is containment of
/// the whole; user and workload sign-ins read different conditions). Conservative: `false` may only mean "not obviously". `baseline_exemption`:
/// see [`apps::applications_contain`].
pub fn conditions_contain(
    outer: &Conditions,
    inner: &Conditions,
    baseline_exemption: bool,
) -> bool {
    let (q, p) = (outer, inner);
    users::users_contain(q.users.as_ref(), p.users.as_ref())
        && users::workload_identities_contain(
            q.client_applications.as_ref(),
            p.client_applications.as_ref(),
        )
        && agents::agent_identities_contain(
            q.agent_identities.as_ref(),
            p.agent_identities.as_ref(),
        )
        && agents::agent_risk_contains(q.agent_id_risk, p.agent_id_risk)
        && apps::applications_contain(&q.applications, &p.applications, baseline_exemption)
        && client_apps::client_apps_contain(&q.client_app_types, &p.client_app_types)
        && platforms::platforms_contain(q.platforms.as_ref(), p.platforms.as_ref())
        && locations::locations_contain(q.locations.as_ref(), p.locations.as_ref())
        && device::device_filters_contain(q.device_filter.as_ref(), p.device_filter.as_ref())
        && device::device_states_contain(q.device_states.as_ref(), p.device_states.as_ref())
        && risk::risk_levels_contain(q.sign_in_risk, p.sign_in_risk)
        && risk::risk_levels_contain(q.user_risk, p.user_risk)
        && risk::risk_levels_contain(q.service_principal_risk, p.service_principal_risk)
        && risk::insider_risk_contains(q.insider_risk, p.insider_risk)
        && flows::flows_contain(q.authentication_flows, p.authentication_flows)
}

#[cfg(test)]
mod tests {
    use super::conditions_contain;
    use serde_json::json;

    /// Containment of whole condition sets read from Graph JSON: every family must contain.
    #[test]
    fn whole_condition_sets() {
        let policy = |id: &str, conditions: serde_json::Value| {
            json!({"id": id, "displayName": id, "state": "enabled", "conditions": conditions,
                   "grantControls": {"operator": "OR", "builtInControls": ["block"]}})
        };
        let everyone = json!({"includeUsers": ["All"], "excludeGroups": ["bg"]});
        let tenant = json!({"policies": [
            policy("legacy", json!({"users": everyone, "applications": {"includeApplications": ["All"]},
                                    "clientAppTypes": ["exchangeActiveSync", "other"]})),
            policy("legacy-ios", json!({"users": everyone, "applications": {"includeApplications": ["All"]},
                                        "clientAppTypes": ["other"],
                                        "platforms": {"includePlatforms": ["iOS"]}})),
            policy("browser", json!({"users": everyone, "applications": {"includeApplications": ["All"]},
                                     "clientAppTypes": ["browser"]})),
            policy("workload", json!({"users": {"includeUsers": ["None"]},
                                      "applications": {"includeApplications": ["All"]},
                                      "clientApplications": {"includeServicePrincipals": ["ServicePrincipalsInMyTenant"]}})),
        ]});
        let tenant = crate::testing::compile(&tenant);
        assert!(tenant.is_some(), "the tenant does not load");
        let policies = tenant.map(|t| t.tenant.policies).unwrap_or_default();
        let contains = |q: usize, p: usize| match (policies.get(q), policies.get(p)) {
            (Some(q), Some(p)) => Some(conditions_contain(&q.conditions, &p.conditions, false)),
            _ => None,
        };
        assert_eq!(contains(0, 1), Some(true));
        assert_eq!(contains(1, 0), Some(false));
        assert_eq!(contains(0, 2), Some(false));
        // A user policy selects no service principal; a workload policy no user.
        assert_eq!(contains(0, 3), Some(false));
        assert_eq!(contains(3, 0), Some(false));
        assert_eq!(contains(3, 3), Some(true));
    }
}
