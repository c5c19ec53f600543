//! The per-family search behind GA201 (never applies) and GA202 (shadowed).
//!
//! A policy applies when each of its condition families holds, and the families read
//! disjoint inputs: identity (user or workload), target (resources, user actions,
//! authentication contexts), platform with client app type (read together: `easSupported`
//! depends on the platform), location, each risk, authentication flow. So a policy can apply
//! iff every family can be satisfied on its own. For each family, gardien evaluates sign-ins
//! that vary only that family's input over every value the tenant's policies distinguish
//! (each included principal's least-excluded member, every named application and suite
//! member, every platform × client type, every location atom, every risk level, every flow);
//! a family that no such sign-in satisfies (according to the evaluator's per-condition
//! record) can never be satisfied. Families whose domain cannot be enumerated are never
//! reported: device filters, attribute filters in include mode, suites (`Office365`,
//! `MicrosoftAdminPortals`) that are included but only partly excluded, unmodelled agent
//! targets.
//!
//! The same probe sign-ins, evaluated once, record which policies apply to each: GA202
//! checks the core's structural containment against that evidence.

use std::collections::HashSet;

use gardien_core::eval::input::Outcome;
use gardien_core::eval::{Condition, Evaluation};
use gardien_core::ids::{
    ADMIN_PORTAL_APPS, AZURE_AD_GRAPH_APP, MICROSOFT_GRAPH_APP, OFFICE365_APPS,
};
use gardien_core::model::enums::{
    ClientAppType, DevicePlatform, InsiderRiskLevel, RiskLevel, TransferMethod,
};
use gardien_core::model::policy::{FilterMode, Policy, PolicyState, UserAction};
use gardien_core::signin::{SignIn, Target};

use crate::lint::Context;
use crate::lint::probe::{AZURE_MANAGEMENT, PROBE_APP, Place, Probe, Shape};

/// How the probes of every family but the platform sign in.
const LOCATION_SHAPE: Shape = Shape {
    platform: DevicePlatform::Windows,
    client: ClientAppType::Browser,
};

/// The input a probe sign-in varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Identity,
    Target,
    PlatformClient,
    Location,
    SignInRisk,
    UserRisk,
    ServicePrincipalRisk,
    InsiderRisk,
    Flow,
}

const FAMILIES: [Family; 9] = [
    Family::Identity,
    Family::Target,
    Family::PlatformClient,
    Family::Location,
    Family::SignInRisk,
    Family::UserRisk,
    Family::ServicePrincipalRisk,
    Family::InsiderRisk,
    Family::Flow,
];

impl Family {
    fn conditions(self) -> &'static [Condition] {
        match self {
            Family::Identity => &[Condition::Users, Condition::WorkloadIdentities],
            Family::Target => &[
                Condition::Application,
                Condition::UserActions,
                Condition::AuthenticationContext,
            ],
            Family::PlatformClient => &[Condition::DevicePlatform, Condition::ClientApps],
            Family::Location => &[Condition::Location],
            Family::SignInRisk => &[Condition::SignInRisk],
            Family::UserRisk => &[Condition::UserRisk],
            Family::ServicePrincipalRisk => &[Condition::ServicePrincipalRisk],
            Family::InsiderRisk => &[Condition::InsiderRisk],
            Family::Flow => &[Condition::AuthenticationFlow],
        }
    }
}

/// Whether the raw policy targets AI agents (beta members gardien does not model).
fn targets_agents(p: &Policy) -> bool {
    fn non_empty(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Null => false,
            serde_json::Value::Array(a) => !a.is_empty(),
            serde_json::Value::Object(o) => !o.is_empty(),
            serde_json::Value::String(s) => !s.is_empty(),
            _ => true,
        }
    }
    let agentish = |o: &serde_json::Map<String, serde_json::Value>| {
        o.iter()
            .any(|(k, v)| k.to_ascii_lowercase().contains("agent") && non_empty(v))
    };
    let Some(c) = p.raw.get("conditions").and_then(|c| c.as_object()) else {
        return false;
    };
    agentish(c)
        || ["clientApplications", "applications"]
            .iter()
            .any(|k| c.get(*k).and_then(|x| x.as_object()).is_some_and(&agentish))
        || !p.conditions.applications.unmodelled.is_empty()
}

/// The probe sign-ins, each with the family it varies.
fn probes(probe: &Probe<'_>) -> Vec<(Family, SignIn)> {
    let tenant = &probe.original.tenant;
    let base = &probe.base;
    let shape = LOCATION_SHAPE;
    let app = |a: &str| Target::Applications(vec![a.into()]);
    let user =
        |id: &str, target: Target| probe.user_signin(id, target, shape, base, Default::default());
    let mut out = Vec::new();

    // Identity: the least-excluded subject for every principal a policy includes.
    let mut subjects: Vec<Box<str>> = vec![probe.member.clone(), probe.global_admin.clone()];
    subjects.extend(probe.role_users.iter().map(|(_, u)| u.clone()));
    subjects.extend(probe.group_users.iter().cloned());
    subjects.extend(probe.guest_users.iter().cloned());
    let mut sps: Vec<Box<str>> = vec![probe.service_principal.clone()];
    for p in &tenant.policies {
        if let Some(u) = &p.conditions.users {
            subjects.extend(u.include.users.iter().cloned());
        }
        if let Some(c) = &p.conditions.client_applications {
            sps.extend(c.include.iter().cloned());
        }
    }
    for s in &subjects {
        out.push((Family::Identity, user(s, app(PROBE_APP))));
    }
    for s in &sps {
        out.push((
            Family::Identity,
            probe.workload_signin(s, app(PROBE_APP), base),
        ));
    }

    // Target: every application any policy names, the suites' known members, user actions,
    // authentication contexts.
    let mut apps: Vec<Box<str>> = [
        PROBE_APP,
        AZURE_AD_GRAPH_APP,
        MICROSOFT_GRAPH_APP,
        AZURE_MANAGEMENT,
    ]
    .iter()
    .chain(OFFICE365_APPS)
    .chain(ADMIN_PORTAL_APPS)
    .map(|a| Box::from(*a))
    .collect();
    apps.extend(probe.tenant.office365.iter().cloned());
    apps.extend(probe.tenant.admin_portals.iter().cloned());
    let mut contexts: Vec<Box<str>> = Vec::new();
    for p in &tenant.policies {
        let a = &p.conditions.applications;
        apps.extend(a.include.apps.iter().cloned());
        apps.extend(a.exclude.apps.iter().cloned());
        contexts.extend(a.auth_contexts.iter().cloned());
    }
    apps.extend(
        tenant
            .directory
            .service_principals
            .iter()
            .filter_map(|s| s.app_id.clone()),
    );
    let mut seen = HashSet::new();
    apps.retain(|a| seen.insert(a.clone()));
    for a in &apps {
        out.push((Family::Target, user(&probe.member, app(a))));
    }
    for action in [
        UserAction::RegisterSecurityInformation,
        UserAction::RegisterOrJoinDevices,
    ] {
        out.push((
            Family::Target,
            user(&probe.member, Target::UserAction(action)),
        ));
    }
    for c in contexts {
        out.push((Family::Target, user(&probe.member, Target::AuthContext(c))));
    }

    // Platform × client app type: the whole domain.
    for &platform in DevicePlatform::ALL {
        for &client in ClientAppType::ALL {
            let s = probe.user_signin(
                &probe.member,
                app(PROBE_APP),
                Shape { platform, client },
                base,
                Default::default(),
            );
            out.push((Family::PlatformClient, s));
        }
    }

    // Location: every atom, see `Families::search`.

    // Risks and flows: the whole domains.
    for &level in RiskLevel::ALL {
        let mut s = user(&probe.member, app(PROBE_APP));
        s.sign_in_risk = Some(level);
        out.push((Family::SignInRisk, s));
        let mut s = user(&probe.member, app(PROBE_APP));
        s.user_risk = Some(level);
        out.push((Family::UserRisk, s));
        let mut s = probe.workload_signin(&probe.service_principal, app(PROBE_APP), base);
        s.service_principal_risk = Some(level);
        out.push((Family::ServicePrincipalRisk, s));
    }
    for &level in InsiderRiskLevel::ALL {
        let mut s = user(&probe.member, app(PROBE_APP));
        s.insider_risk = Some(level);
        out.push((Family::InsiderRisk, s));
    }
    for &method in TransferMethod::ALL {
        let mut s = user(&probe.member, app(PROBE_APP));
        s.transfer_method = Some(method);
        out.push((Family::Flow, s));
    }
    out
}

/// Whether every record of `family`'s conditions for policy `index` is satisfied.
fn family_holds(eval: &Evaluation, index: usize, family: Family) -> bool {
    eval.policies.get(index).is_some_and(|r| {
        r.conditions
            .iter()
            .filter(|c| family.conditions().contains(&c.condition))
            .all(|c| c.outcome == Outcome::Satisfied)
    })
}

/// Families the probes cannot enumerate completely for this policy.
fn unenumerable(p: &Policy, probe: &Probe<'_>, family: Family) -> bool {
    let c = &p.conditions;
    match family {
        Family::Identity => c.client_applications.as_ref().is_some_and(|w| {
            w.filter
                .as_ref()
                .is_some_and(|f| f.mode == FilterMode::Include)
        }),
        Family::Target => {
            let a = &c.applications;
            a.filter
                .as_ref()
                .is_some_and(|f| f.mode == FilterMode::Include)
                || (a.include.office365 && !a.exclude.office365)
                || (a.include.admin_portals && !a.exclude.admin_portals)
                || !a.unmodelled.is_empty()
        }
        Family::Location => probe.base.country.is_none(),
        _ => false,
    }
}

/// Which policies apply to each probe sign-in: per policy, one bit per probe.
#[derive(Default)]
struct Applying {
    /// Per policy (tenant order), bit `k` of word `k / 64`: it applies to probe `k`.
    columns: Vec<Vec<u64>>,
    /// Probes recorded.
    rows: usize,
}

impl Applying {
    fn new(policies: usize) -> Applying {
        Applying {
            columns: vec![Vec::new(); policies],
            rows: 0,
        }
    }

    /// Records one probe: `applies(i)` for each policy `i`.
    fn push(&mut self, applies: impl Fn(usize) -> bool) {
        let (word, bit) = (self.rows / 64, self.rows % 64);
        for (i, column) in self.columns.iter_mut().enumerate() {
            if column.len() <= word {
                column.push(0);
            }
            if applies(i)
                && let Some(w) = column.get_mut(word)
            {
                *w |= 1 << bit;
            }
        }
        self.rows += 1;
    }

    /// Whether `j` applies to every probe `i` applies to.
    fn implies(&self, i: usize, j: usize) -> bool {
        let empty = Vec::new();
        let a = self.columns.get(i).unwrap_or(&empty);
        let b = self.columns.get(j).unwrap_or(&empty);
        a.iter()
            .enumerate()
            .all(|(k, w)| w & !b.get(k).copied().unwrap_or(0) == 0)
    }
}

/// What the probes found: per policy, which families some probe satisfies; per probe, which
/// policies apply.
pub(crate) struct Families {
    /// Policies the search is about: not disabled, not targeting agents (tenant order).
    pub live: Vec<usize>,
    /// Per policy (tenant order), per family in [`FAMILIES`] order.
    holds: Vec<[bool; FAMILIES.len()]>,
    /// Per probe sign-in, per policy: it applies.
    applying: Applying,
}

impl Families {
    /// Evaluates every probe sign-in once. Location atoms differ from one sign-in only by
    /// where it is: that sign-in is evaluated in full, each atom for the location
    /// conditions alone ([`Unplaced::location_outcomes`]); a policy applies at an atom when its
    /// other conditions hold for that sign-in and its location condition there.
    ///
    /// [`Unplaced::location_outcomes`]: gardien_core::eval::places::Unplaced::location_outcomes
    pub fn search(cx: &Context<'_>) -> Families {
        let policies = &cx.tenant.tenant.policies;
        let live: Vec<usize> = policies
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state != PolicyState::Disabled && !targets_agents(p))
            .map(|(i, _)| i)
            .collect();
        let mut holds = vec![[false; FAMILIES.len()]; policies.len()];
        let mut applying = Applying::new(policies.len());
        if live.is_empty() {
            return Families {
                live,
                holds,
                applying,
            };
        }
        let slot_of = |family: Family| FAMILIES.iter().position(|f| *f == family).unwrap_or(0);
        for (family, s) in &probes(&cx.probe) {
            let eval = cx.probe.evaluate(s);
            let slot = slot_of(*family);
            for &i in &live {
                if family_holds(&eval, i, *family)
                    && let Some(h) = holds.get_mut(i).and_then(|h| h.get_mut(slot))
                {
                    *h = true;
                }
            }
            applying.push(|i| {
                eval.policies
                    .get(i)
                    .is_some_and(|r| r.applies == Outcome::Satisfied)
            });
        }

        // Location atoms.
        let probe = &cx.probe;
        let at = |place: &Place| {
            probe.user_signin(
                &probe.member,
                Target::Applications(vec![PROBE_APP.into()]),
                LOCATION_SHAPE,
                place,
                Default::default(),
            )
        };
        let signin = at(&probe.base);
        let base = probe.evaluate(&signin);
        let unplaced = probe.tenant.unplaced(&signin);
        // Per policy: every condition but the location holds for the base sign-in.
        let rest: Vec<bool> = (0..policies.len())
            .map(|i| {
                base.policies.get(i).is_some_and(|r| {
                    policies
                        .get(i)
                        .is_some_and(|p| p.state != PolicyState::Disabled)
                        && r.conditions
                            .iter()
                            .filter(|c| c.condition != Condition::Location)
                            .all(|c| c.outcome == Outcome::Satisfied)
                })
            })
            .collect();
        let slot = slot_of(Family::Location);
        for place in &probe.atoms {
            let location = unplaced.location_outcomes(place.whereabouts());
            let holds_at = |i: usize| location.get(i) == Some(&Outcome::Satisfied);
            for &i in &live {
                if holds_at(i)
                    && let Some(h) = holds.get_mut(i).and_then(|h| h.get_mut(slot))
                {
                    *h = true;
                }
            }
            applying.push(|i| rest.get(i).copied().unwrap_or(false) && holds_at(i));
        }
        Families {
            live,
            holds,
            applying,
        }
    }

    /// The first family of live policy `index` that no probe satisfies although the probes
    /// enumerate its whole domain: the policy can never apply.
    pub fn failing(&self, cx: &Context<'_>, index: usize) -> Option<Family> {
        let p = cx.tenant.tenant.policies.get(index)?;
        FAMILIES
            .iter()
            .enumerate()
            .find(|(slot, family)| {
                !self
                    .holds
                    .get(index)
                    .and_then(|h| h.get(*slot))
                    .copied()
                    .unwrap_or(true)
                    && !unenumerable(p, &cx.probe, **family)
            })
            .map(|(_, f)| *f)
    }

    /// Whether policy `j` applies to every probe sign-in policy `i` applies to.
    pub fn agree(&self, i: usize, j: usize) -> bool {
        self.applying.implies(i, j)
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::probe::testing::{grant, policy, tenant};
    use crate::lint::{LintOptions, lint};
    use serde_json::{Value, json};

    fn found(policies: Vec<Value>, locations: Value) -> Vec<(&'static str, String, String)> {
        let t = tenant(policies, locations, None);
        lint(&t, &LintOptions::default())
            .findings
            .into_iter()
            .filter(|f| f.code.starts_with("GA2"))
            .map(|f| {
                (
                    f.code,
                    f.policy.map(|p| p.id).unwrap_or_default(),
                    f.pointer,
                )
            })
            .collect()
    }

    fn excluded(extra: Value) -> Value {
        let mut users = json!({"includeUsers": ["All"], "excludeGroups": ["bg"]});
        if let (Some(u), Some(e)) = (users.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                u.insert(k.clone(), v.clone());
            }
        }
        users
    }

    #[test]
    fn ga201_users_none_and_apps_none() {
        let none_users = policy(
            "none-users",
            json!({"users": {"includeUsers": ["None"]}}),
            grant("mfa"),
        );
        let none_apps = policy(
            "none-apps",
            json!({"users": excluded(json!({})), "applications": {"includeApplications": ["None"]}}),
            grant("mfa"),
        );
        assert_eq!(
            found(vec![none_users, none_apps], json!([])),
            vec![
                (
                    "GA201",
                    "none-users".to_owned(),
                    "/policies/0/conditions/users/includeUsers".to_owned()
                ),
                (
                    "GA201",
                    "none-apps".to_owned(),
                    "/policies/1/conditions/applications/includeApplications".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn ga201_include_cancelled_by_exclude() {
        let users = policy(
            "users",
            json!({"users": {"includeGroups": ["g"], "excludeGroups": ["g"]}}),
            grant("mfa"),
        );
        let platforms = policy(
            "platforms",
            json!({"users": excluded(json!({})),
                   "platforms": {"includePlatforms": ["android", "iOS"], "excludePlatforms": ["iOS", "android"]}}),
            grant("mfa"),
        );
        let eas = policy(
            "eas-on-mac",
            json!({"users": excluded(json!({})), "clientAppTypes": ["easSupported"],
                   "platforms": {"includePlatforms": ["macOS"]}}),
            grant("block"),
        );
        let locations = policy(
            "locations",
            json!({"users": excluded(json!({})),
                   "locations": {"includeLocations": ["hq"], "excludeLocations": ["AllTrusted"]}}),
            grant("mfa"),
        );
        let hq = json!([{"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "hq",
                         "displayName": "HQ", "isTrusted": true, "ipRanges": [{"cidrAddress": "198.51.100.0/24"}]}]);
        let got = found(vec![users, platforms, eas, locations], hq);
        let ids: Vec<_> = got.iter().map(|(c, id, _)| format!("{c} {id}")).collect();
        assert_eq!(
            ids,
            vec![
                "GA201 users",
                "GA201 platforms",
                "GA201 eas-on-mac",
                "GA201 locations"
            ]
        );
    }

    #[test]
    fn ga201_no_false_positive_on_partial_overlaps() {
        // Exclusion of a nested range: the rest of the included location still applies.
        let locations = json!([
            {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "big", "displayName": "Big",
             "ipRanges": [{"cidrAddress": "10.0.0.0/16"}]},
            {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "small", "displayName": "Small",
             "ipRanges": [{"cidrAddress": "10.0.0.0/24"}]}]);
        let p = policy(
            "partial",
            json!({"users": excluded(json!({})),
                   "locations": {"includeLocations": ["big"], "excludeLocations": ["small"]}}),
            grant("mfa"),
        );
        // Every platform excluded but `all` included: unknown platforms still match.
        let q = policy(
            "unknown-platforms",
            json!({"users": excluded(json!({})),
                   "platforms": {"includePlatforms": ["all"],
                                 "excludePlatforms": ["android", "iOS", "windows", "windowsPhone", "macOS", "linux"]}}),
            grant("block"),
        );
        // Office365 minus some known members: the suite has members gardien does not list.
        let r = policy(
            "o365-partly-excluded",
            json!({"users": excluded(json!({})),
                   "applications": {"includeApplications": ["Office365"],
                                    "excludeApplications": ["00000002-0000-0ff1-ce00-000000000000"]}}),
            grant("mfa"),
        );
        // Agent policies: gardien does not model their targets.
        let mut agent = policy(
            "agent",
            json!({"users": {"includeUsers": ["None"]}}),
            grant("block"),
        );
        agent["conditions"]["clientApplications"] =
            json!({"includeAgentIdServicePrincipals": ["All"]});
        // Workload policies cover the tenant's service principals.
        let workload = policy(
            "workload",
            json!({"users": {"includeUsers": ["None"]},
                   "clientApplications": {"includeServicePrincipals": ["ServicePrincipalsInMyTenant"]}}),
            grant("block"),
        );
        assert_eq!(found(vec![p, q, r, agent, workload], locations), vec![]);
    }

    #[test]
    fn ga202_block_shadows_narrower_policies() {
        let block_legacy = policy(
            "block-legacy",
            json!({"users": excluded(json!({})), "clientAppTypes": ["exchangeActiveSync", "other"]}),
            grant("block"),
        );
        let narrower = policy(
            "legacy-finance",
            json!({"users": {"includeGroups": ["finance"], "excludeGroups": ["bg"]},
                   "clientAppTypes": ["other"]}),
            grant("mfa"),
        );
        let duplicate = policy(
            "block-legacy-again",
            json!({"users": excluded(json!({})), "clientAppTypes": ["other", "exchangeActiveSync"]}),
            grant("block"),
        );
        // Not contained: it does not exclude the group the block excludes.
        let wider = policy(
            "legacy-everyone",
            json!({"users": {"includeUsers": ["All"]}, "clientAppTypes": ["other"]}),
            grant("mfa"),
        );
        let got = found(vec![block_legacy, narrower, duplicate, wider], json!([]));
        let ids: Vec<_> = got.iter().map(|(c, id, _)| format!("{c} {id}")).collect();
        assert_eq!(
            ids,
            vec!["GA202 legacy-finance", "GA202 block-legacy-again"]
        );
    }
}
