//! Target candidates: an application no policy names, every application id a policy names,
//! the members of the `Office365` and `MicrosoftAdminPortals` groupings, the directory's
//! service principals (for application filters), both user actions and every authentication
//! context a policy names.

use std::collections::BTreeSet;

use gardien_core::compile::CompiledTenant;
use gardien_core::ids::{AZURE_AD_GRAPH_APP, normalize_id};
use gardien_core::model::policy::UserAction;
use gardien_core::model::tenant::Tenant;
use gardien_core::signin::Target;

use super::Candidate;

/// What kind of target a class is: the core's error codes depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TargetKind {
    /// A token request for an application.
    App,
    /// Registering security information.
    RegisterSecurityInfo,
    /// Registering or joining a device.
    RegisterDevice,
    /// An authentication context.
    AuthContext,
}

impl TargetKind {
    /// The kind of a target.
    pub(crate) fn of(t: &Target) -> TargetKind {
        match t {
            Target::Applications(_) => TargetKind::App,
            Target::UserAction(UserAction::RegisterSecurityInformation) => {
                TargetKind::RegisterSecurityInfo
            }
            Target::UserAction(UserAction::RegisterOrJoinDevices) => TargetKind::RegisterDevice,
            Target::AuthContext(_) => TargetKind::AuthContext,
        }
    }
}

fn app_name(id: &str, tenants: &[CompiledTenant]) -> String {
    if let Some((_, n)) = gardien_core::ids::WELL_KNOWN_APPS
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(id))
    {
        return format!("{n} (`{id}`)");
    }
    tenants
        .iter()
        .flat_map(|t| t.tenant.directory.service_principals.iter())
        .find(|s| s.app_id.as_deref() == Some(id) && !s.display_name.is_empty())
        .map(|s| format!("{} (`{id}`)", s.display_name))
        .unwrap_or_else(|| format!("application `{id}`"))
}

/// An application id no policy, grouping or directory names.
pub(crate) fn other_app(sources: &[&Tenant]) -> Box<str> {
    let named: BTreeSet<&str> = sources
        .iter()
        .flat_map(|t| t.policies.iter())
        .flat_map(|p| {
            let a = &p.conditions.applications;
            a.include.apps.iter().chain(a.exclude.apps.iter())
        })
        .map(AsRef::as_ref)
        .collect();
    (1u32..)
        .map(|n| normalize_id(&format!("a0a0a0a0-6761-7073-8000-{n:012x}")))
        .find(|id| !named.contains(id.as_ref()))
        .unwrap_or_else(|| normalize_id("a0a0a0a0-6761-7073-8000-000000000000"))
}

/// Every target candidate, the application no policy names first.
pub(crate) fn candidates(
    sources: &[&Tenant],
    tenants: &[CompiledTenant],
    other: &str,
) -> Vec<Candidate<Target>> {
    let app = |id: &str| Target::Applications(vec![id.into()]);
    let mut out = vec![Candidate::new(
        app(other),
        format!("any application no policy names (e.g. `{other}`)"),
        true,
        100,
    )];
    let mut seen: BTreeSet<Box<str>> = BTreeSet::new();
    seen.insert(other.into());
    let mut push = |id: &str, label: String, weight: u32, out: &mut Vec<Candidate<Target>>| {
        if seen.insert(id.into()) {
            out.push(Candidate::new(app(id), label, true, weight));
        }
    };
    let policies = || sources.iter().flat_map(|t| t.policies.iter());
    for p in policies() {
        let a = &p.conditions.applications;
        for id in a.include.apps.iter().chain(a.exclude.apps.iter()) {
            push(id, app_name(id, tenants), 20, &mut out);
        }
    }
    for t in tenants {
        let mut o365: Vec<&Box<str>> = t.office365.iter().collect();
        o365.sort();
        for id in o365 {
            push(
                id,
                format!("{}, part of Office 365", app_name(id, tenants)),
                50,
                &mut out,
            );
        }
        let mut portals: Vec<&Box<str>> = t.admin_portals.iter().collect();
        portals.sort();
        for id in portals {
            push(
                id,
                format!("{}, a Microsoft admin portal", app_name(id, tenants)),
                50,
                &mut out,
            );
        }
    }
    push(
        &normalize_id(AZURE_AD_GRAPH_APP),
        app_name(AZURE_AD_GRAPH_APP, tenants),
        20,
        &mut out,
    );
    for t in tenants {
        for s in &t.tenant.directory.service_principals {
            if let Some(id) = &s.app_id {
                push(id, app_name(id, tenants), 20, &mut out);
            }
        }
    }
    out.push(Candidate::new(
        Target::UserAction(UserAction::RegisterSecurityInformation),
        "user action: register security information",
        true,
        60,
    ));
    out.push(Candidate::new(
        Target::UserAction(UserAction::RegisterOrJoinDevices),
        "user action: register or join a device",
        true,
        40,
    ));
    let contexts: BTreeSet<Box<str>> = policies()
        .flat_map(|p| p.conditions.applications.auth_contexts.iter().cloned())
        .collect();
    for c in contexts {
        out.push(Candidate::new(
            Target::AuthContext(c.clone()),
            format!("authentication context `{c}`"),
            false,
            5,
        ));
    }
    out
}
