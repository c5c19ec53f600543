//! `GA201` policy-never-applies: an enabled or report-only policy can never apply to any
//! sign-in.
//!
//! Found by the per-family search ([`crate::lint::search::families`]): a condition family
//! that no probe satisfies, although the probes enumerate every value it distinguishes.

use gardien_core::model::policy::Policy;

use crate::lint::Context;
use crate::lint::registry::NEVER_APPLIES;
use crate::lint::search::families::{Families, Family};

pub(super) fn never_message(p: &Policy, family: Family) -> (&'static str, String) {
    let c = &p.conditions;
    match family {
        Family::Identity => match (&c.users, &c.client_applications) {
            (_, Some(_)) => (
                "/conditions/clientApplications",
                "no service principal it includes escapes its exclusions".to_owned(),
            ),
            (Some(u), None) if u.include.is_empty() => (
                "/conditions/users/includeUsers",
                "it includes no user, group, role or guest (`includeUsers` is `None`)".to_owned(),
            ),
            _ => (
                "/conditions/users",
                "every user it includes is also excluded".to_owned(),
            ),
        },
        Family::Target => {
            let a = &c.applications;
            let nothing = !a.include.all
                && !a.include.office365
                && !a.include.admin_portals
                && a.include.apps.is_empty()
                && a.user_actions.is_empty()
                && a.auth_contexts.is_empty()
                && a.filter.is_none();
            if nothing {
                (
                    "/conditions/applications/includeApplications",
                    "it targets no resource, user action or authentication context (`includeApplications` is `None`)".to_owned(),
                )
            } else {
                (
                    "/conditions/applications",
                    "every resource it includes is also excluded".to_owned(),
                )
            }
        }
        Family::PlatformClient => match (&c.platforms, c.client_app_types.is_empty()) {
            (Some(_), true) => (
                "/conditions/platforms",
                "every device platform it includes is also excluded".to_owned(),
            ),
            (None, false) => (
                "/conditions/clientAppTypes",
                "its client app types select no client".to_owned(),
            ),
            _ => (
                "/conditions",
                "no sign-in can match both its device platforms and its client app types"
                    .to_owned(),
            ),
        },
        Family::Location => (
            "/conditions/locations",
            "every location it includes is also excluded".to_owned(),
        ),
        Family::SignInRisk => (
            "/conditions/signInRiskLevels",
            "its sign-in risk levels select no level".to_owned(),
        ),
        Family::UserRisk => (
            "/conditions/userRiskLevels",
            "its user risk levels select no level".to_owned(),
        ),
        Family::ServicePrincipalRisk => (
            "/conditions/servicePrincipalRiskLevels",
            "its service principal risk levels select no level".to_owned(),
        ),
        Family::InsiderRisk => (
            "/conditions/insiderRiskLevels",
            "its insider risk levels select no level".to_owned(),
        ),
        Family::Flow => (
            "/conditions/authenticationFlows",
            "its authentication flows select no transfer method".to_owned(),
        ),
    }
}

pub(super) fn check(cx: &mut Context<'_>, search: &Families) {
    for &i in &search.live {
        let Some(family) = search.failing(cx, i) else {
            continue;
        };
        let Some(p) = cx.tenant.tenant.policies.get(i) else {
            continue;
        };
        let (pointer, why) = never_message(p, family);
        let name = cx.policy_name(i);
        cx.report(
            NEVER_APPLIES,
            Some(i),
            pointer,
            format!("policy {name} can never apply: {why}"),
            None,
        );
    }
}
