//! GA2xx: policies that can never apply, and policies fully shadowed by a block.
//!
//! # Never applies (GA201)
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
//! # Shadowed (GA202)
//!
//! Policy P is shadowed by an enabled blocking policy Q when Q's conditions contain P's by
//! a clear structural comparison (per family: Q does not configure it, or Q's include covers
//! P's and Q's exclusions are among P's), and the evaluator agrees on every probe sign-in
//! (P applies ⇒ Q applies).

use std::collections::HashSet;

use gardien_core::eval::input::Outcome;
use gardien_core::eval::input::{Baseline, baseline_handling};
use gardien_core::eval::{Condition, Evaluation};
use gardien_core::ids::{
    ADMIN_PORTAL_APPS, AZURE_AD_GRAPH_APP, MICROSOFT_GRAPH_APP, OFFICE365_APPS,
};
use gardien_core::model::enums::{
    ClientAppType, DevicePlatform, EnumSet, InsiderRiskLevel, RiskLevel, TransferMethod,
};
use gardien_core::model::policy::{
    ApplicationCondition, ClientAppTypeToken, FilterMode, GuestsOrExternalUsers, Policy,
    PolicyState, Principals, UserAction,
};
use gardien_core::signin::{SignIn, Target};

use super::super::Context;
use super::super::probe::{AZURE_MANAGEMENT, PROBE_APP, Probe, Shape};
use super::super::registry::{NEVER_APPLIES, SHADOWED};

/// The input a probe sign-in varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
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
    let shape = Shape {
        platform: DevicePlatform::Windows,
        client: ClientAppType::Browser,
    };
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

    // Location: every atom.
    for place in &probe.atoms {
        let s = probe.user_signin(
            &probe.member,
            app(PROBE_APP),
            shape,
            place,
            Default::default(),
        );
        out.push((Family::Location, s));
    }

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

fn never_message(p: &Policy, family: Family) -> (&'static str, String) {
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

pub(super) fn run(cx: &mut Context<'_>) {
    let tenant = cx.tenant;
    let policies = &tenant.tenant.policies;
    let live: Vec<usize> = policies
        .iter()
        .enumerate()
        .filter(|(_, p)| p.state != PolicyState::Disabled && !targets_agents(p))
        .map(|(i, _)| i)
        .collect();
    if live.is_empty() {
        return;
    }
    let signins = probes(&cx.probe);
    let mut holds = vec![[false; FAMILIES.len()]; policies.len()];
    // Per probe, which policies apply: the evidence GA202 checks its containment against.
    let mut applying: Vec<Vec<bool>> = Vec::with_capacity(signins.len());
    for (family, s) in &signins {
        let eval = cx.probe.evaluate(s);
        let slot = FAMILIES.iter().position(|f| f == family).unwrap_or(0);
        for &i in &live {
            if family_holds(&eval, i, *family)
                && let Some(h) = holds.get_mut(i).and_then(|h| h.get_mut(slot))
            {
                *h = true;
            }
        }
        applying.push(
            (0..policies.len())
                .map(|i| {
                    eval.policies
                        .get(i)
                        .is_some_and(|r| r.applies == Outcome::Satisfied)
                })
                .collect(),
        );
    }
    let mut dead = vec![false; policies.len()];
    for &i in &live {
        let Some(p) = policies.get(i) else { continue };
        let failing = FAMILIES.iter().enumerate().find(|(slot, family)| {
            !holds
                .get(i)
                .and_then(|h| h.get(*slot))
                .copied()
                .unwrap_or(true)
                && !unenumerable(p, &cx.probe, **family)
        });
        if let Some((_, family)) = failing {
            if let Some(d) = dead.get_mut(i) {
                *d = true;
            }
            let (pointer, why) = never_message(p, *family);
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

    // GA202.
    // Baseline-scope requests may be exempt from `All` policies with exclusions (legacy mode,
    // before the rollout date, or through a custom target resource): containment must hold
    // for them too.
    let legacy = baseline_handling(
        &tenant.tenant.directory.baseline_scopes_mode,
        cx.options.now,
    ) != Baseline::AzureAdGraph;
    let enabled: Vec<usize> = live
        .iter()
        .copied()
        .filter(|i| {
            !dead.get(*i).copied().unwrap_or(true)
                && policies
                    .get(*i)
                    .is_some_and(|p| p.state == PolicyState::Enabled)
        })
        .collect();
    for &i in &enabled {
        let Some(p) = policies.get(i) else { continue };
        let shadow = enabled.iter().copied().find(|&j| {
            let Some(q) = policies.get(j) else {
                return false;
            };
            if j == i || !q.grant.as_ref().is_some_and(|g| g.is_block()) {
                return false;
            }
            if !contains(q, p, legacy) {
                return false;
            }
            // Identical blocks: report only the later one.
            let p_blocks = p.grant.as_ref().is_some_and(|g| g.is_block());
            if p_blocks && contains(p, q, legacy) && j > i {
                return false;
            }
            applying.iter().all(|row| {
                !row.get(i).copied().unwrap_or(false) || row.get(j).copied().unwrap_or(false)
            })
        });
        if let Some(j) = shadow {
            let (name, other) = (cx.policy_name(i), cx.policy_name(j));
            let same = policies.get(j).is_some_and(|q| contains(p, q, legacy));
            let what = if p.grant.as_ref().is_some_and(|g| g.is_block()) {
                "is redundant"
            } else {
                "never takes effect"
            };
            cx.report(
                SHADOWED,
                Some(i),
                "/conditions",
                format!(
                    "policy {name} {what}: policy {other} blocks every sign-in it applies to{}",
                    if same { " (same conditions)" } else { "" }
                ),
                None,
            );
        }
    }
}

fn subset(small: &[Box<str>], big: &[Box<str>]) -> bool {
    small.iter().all(|x| big.contains(x))
}

fn bits_subset(small: EnumSet, big: EnumSet) -> bool {
    small.0 & !big.0 == 0
}

/// Every guest matched by `p` is matched by `q` (or by `q_any`, the legacy any-guest token).
fn guests_cover(
    q: Option<&GuestsOrExternalUsers>,
    q_any: bool,
    p: Option<&GuestsOrExternalUsers>,
) -> bool {
    let Some(p) = p else { return true };
    if q_any {
        return true;
    }
    let Some(q) = q else { return false };
    bits_subset(p.types, q.types)
        && match (&q.tenants, &p.tenants) {
            (None, _) => true,
            (Some(qt), Some(pt)) => subset(pt, qt),
            (Some(_), None) => false,
        }
}

/// Every user `p` lists is listed by `q` (one side of a user condition).
fn principals_cover(q: &Principals, p: &Principals) -> bool {
    if q.all {
        return true;
    }
    !p.all
        && subset(&p.users, &q.users)
        && subset(&p.groups, &q.groups)
        && subset(&p.roles, &q.roles)
        && (!p.guests_or_external || q.guests_or_external)
        && guests_cover(q.guests.as_ref(), q.guests_or_external, p.guests.as_ref())
}

fn has_app_exclusions(a: &ApplicationCondition) -> bool {
    !a.exclude.apps.is_empty()
        || a.exclude.office365
        || a.exclude.admin_portals
        || a.filter
            .as_ref()
            .is_some_and(|f| f.mode == FilterMode::Exclude)
}

fn apps_contain(q: &ApplicationCondition, p: &ApplicationCondition, legacy: bool) -> bool {
    if !q.unmodelled.is_empty() || !p.unmodelled.is_empty() || q.filter.is_some() {
        return false;
    }
    if p.filter
        .as_ref()
        .is_some_and(|f| f.mode == FilterMode::Include)
        && !q.include.all
    {
        return false;
    }
    let include = q.include.all
        || (!p.include.all
            && (!p.include.office365 || q.include.office365)
            && (!p.include.admin_portals || q.include.admin_portals)
            && subset(&p.include.apps, &q.include.apps));
    let exclude = (!q.exclude.office365 || p.exclude.office365)
        && (!q.exclude.admin_portals || p.exclude.admin_portals)
        && subset(&q.exclude.apps, &p.exclude.apps);
    // Legacy baseline-scope mode exempts some requests from `All` policies with exclusions.
    let baseline = !(legacy && q.include.all && has_app_exclusions(q))
        || (p.include.all && has_app_exclusions(p));
    include
        && exclude
        && baseline
        && p.user_actions.iter().all(|a| q.user_actions.contains(a))
        && subset(&p.auth_contexts, &q.auth_contexts)
}

/// Client app types as (types, `easSupported`), `None` for all.
fn clients(tokens: &[ClientAppTypeToken]) -> Option<(Vec<ClientAppType>, bool)> {
    if tokens.is_empty() || tokens.contains(&ClientAppTypeToken::All) {
        return None;
    }
    let types = tokens
        .iter()
        .filter_map(|t| match t {
            ClientAppTypeToken::Type(c) => Some(*c),
            _ => None,
        })
        .collect();
    Some((types, tokens.contains(&ClientAppTypeToken::EasSupported)))
}

fn risk_contains(q: EnumSet, p: EnumSet) -> bool {
    q.is_empty() || (!p.is_empty() && bits_subset(p, q))
}

fn flags_contain(q: Option<EnumSet>, p: Option<EnumSet>) -> bool {
    match (q, p) {
        (None, _) => true,
        (Some(q), Some(p)) => bits_subset(p, q),
        (Some(_), None) => false,
    }
}

/// Whether `q`'s conditions clearly contain `p`'s: every sign-in `p` applies to, `q` applies
/// to. Conservative: `false` whenever the comparison is not obvious.
fn contains(q: &Policy, p: &Policy, legacy: bool) -> bool {
    let (qc, pc) = (&q.conditions, &p.conditions);
    if qc.client_applications.is_some() || pc.client_applications.is_some() {
        return false;
    }
    let users = match (&qc.users, &pc.users) {
        (Some(qu), Some(pu)) => {
            principals_cover(&qu.include, &pu.include) && principals_cover(&pu.exclude, &qu.exclude)
        }
        _ => false,
    };
    let client = match (clients(&qc.client_app_types), clients(&pc.client_app_types)) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some((qt, qeas)), Some((pt, peas))) => {
            pt.iter().all(|t| qt.contains(t))
                && (!peas || qeas || qt.contains(&ClientAppType::ExchangeActiveSync))
        }
    };
    let platforms = match (&qc.platforms, &pc.platforms) {
        (None, _) => true,
        (Some(q), None) => q.include_all && q.exclude.is_empty(),
        (Some(q), Some(p)) if p.include_all => q.include_all && bits_subset(q.exclude, p.exclude),
        (Some(q), Some(p)) => DevicePlatform::ALL
            .iter()
            .filter(|x| **x != DevicePlatform::Unknown)
            .filter(|x| p.include.contains(x.index()) && !p.exclude.contains(x.index()))
            .all(|x| {
                (q.include_all || q.include.contains(x.index())) && !q.exclude.contains(x.index())
            }),
    };
    let anywhere = |l: &gardien_core::model::policy::LocationCondition| {
        l.include
            .contains(&gardien_core::model::policy::LocationToken::All)
            && l.exclude.is_empty()
    };
    let locations = match (&qc.locations, &pc.locations) {
        (None, _) => true,
        (Some(q), None) => anywhere(q),
        (Some(q), Some(p)) => {
            anywhere(q)
                || (q.include.iter().all(|t| p.include.contains(t))
                    && p.include.iter().all(|t| q.include.contains(t))
                    && q.exclude.iter().all(|t| p.exclude.contains(t))
                    && p.exclude.iter().all(|t| q.exclude.contains(t)))
        }
    };
    let raw = |x: &Policy, key: &str| x.raw.get("conditions").and_then(|c| c.get(key)).cloned();
    let devices = (qc.device_filter.is_none() && qc.device_states.is_none())
        || (raw(q, "devices") == raw(p, "devices")
            && raw(q, "deviceStates") == raw(p, "deviceStates"));
    users
        && apps_contain(&qc.applications, &pc.applications, legacy)
        && client
        && platforms
        && locations
        && devices
        && risk_contains(qc.sign_in_risk, pc.sign_in_risk)
        && risk_contains(qc.user_risk, pc.user_risk)
        && risk_contains(qc.service_principal_risk, pc.service_principal_risk)
        && flags_contain(qc.insider_risk, pc.insider_risk)
        && flags_contain(qc.authentication_flows, pc.authentication_flows)
}

#[cfg(test)]
mod tests {
    use super::super::super::probe::testing::{grant, policy, tenant};
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
