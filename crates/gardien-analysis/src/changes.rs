//! `gardien changes`: for a tenant, which policies behave differently before and after each
//! dated change of Entra ([`gardien_core::dated::DATED_CHANGES`]).
//!
//! Enforcement changes are found with the evaluator itself: the same probe sign-ins are
//! decided one second before the change and at its first second, and every policy whose
//! result differs is reported with one such sign-in and both decisions. Changes that only
//! touch what administrators may write (a control becoming read-only) or that are announced
//! without a date list the policies that use the control.

use gardien_core::compile::CompiledTenant;
use gardien_core::dated::{ChangeKind, DATED_CHANGES, DatedChange, DatedChangeInfo};
use gardien_core::eval::PolicyResult;
use gardien_core::model::enums::ClientAppType;
use gardien_core::model::policy::PolicyState;
use gardien_core::signin::SignIn;
use gardien_core::time::format_date;
use gardien_core::{Decision, Verdict};
use serde::Serialize;

use crate::lint::probe::{PROBE_APP, Probe};

/// Where a dated change stands at the report's instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ChangeStatus {
    /// Its date is past.
    InForce,
    /// Its date is to come.
    Upcoming,
    /// Announced without a date.
    Announced,
}

/// A sign-in whose outcome differs across the date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Example {
    /// The sign-in in words.
    pub description: String,
    /// The Graph evaluate body of the sign-in (input for `gardien evaluate --request`).
    pub request: serde_json::Value,
    /// The decision just before the date (`allow`, `challenge mfa`, `deny 53003`).
    pub before: String,
    /// The decision from the date.
    pub after: String,
}

/// A policy the change concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AffectedPolicy {
    /// Policy id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// `enabled`, `disabled` or `enabledForReportingButNotEnforced`.
    pub state: &'static str,
    /// What changes for it, in words.
    pub effect: String,
    /// A sign-in it decides differently across the date (enforcement changes).
    pub example: Option<Example>,
}

/// One dated change and the policies it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeReport {
    /// Stable identifier (`approvedClientAppReadOnly`).
    pub id: &'static str,
    /// `enforcement`, `administration` or `announced`.
    pub kind: &'static str,
    /// The first day it is in force (`2026-06-30`), when known.
    pub since: Option<String>,
    /// When, as Microsoft words it.
    pub when: &'static str,
    /// Past, to come, or announced.
    pub status: ChangeStatus,
    /// What changes.
    pub summary: &'static str,
    /// The Microsoft Learn page.
    pub page: &'static str,
    /// Probe sign-ins decided on both sides of the date (enforcement changes).
    pub probes: usize,
    /// Probe sign-ins whose overall decision differs across the date.
    pub changed_signins: usize,
    /// The policies concerned.
    pub policies: Vec<AffectedPolicy>,
}

/// The result of `gardien changes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangesReport {
    /// The instant changes are judged at (`2026-12-07`).
    pub now: String,
    /// Every dated change, oldest first.
    pub changes: Vec<ChangeReport>,
}

fn state_name(s: PolicyState) -> &'static str {
    match s {
        PolicyState::Enabled => "enabled",
        PolicyState::Disabled => "disabled",
        PolicyState::ReportOnly => "enabledForReportingButNotEnforced",
    }
}

/// `allow`, `challenge mfa`, `deny 53003`.
fn short(v: &Verdict) -> String {
    match v.decision {
        Decision::Allow => "allow".to_owned(),
        Decision::Challenge => {
            let controls: Vec<&str> = v.required.iter().map(|c| c.as_str()).collect();
            format!("challenge {}", controls.join(", "))
        }
        Decision::Deny => format!("deny {}", v.error_code.unwrap_or(53003)),
    }
}

fn result_words(r: PolicyResult) -> &'static str {
    match r {
        PolicyResult::Success | PolicyResult::ReportOnlySuccess => "applies and is satisfied",
        PolicyResult::Failure => "applies and is not satisfied",
        PolicyResult::ReportOnlyFailure => "applies and fails",
        PolicyResult::ReportOnlyInterrupted => "applies and interrupts",
        PolicyResult::NotApplied | PolicyResult::ReportOnlyNotApplied => "does not apply",
        PolicyResult::NotEnabled => "is disabled",
    }
}

/// The probe sign-ins an enforcement change is about, with their descriptions.
fn probes(change: DatedChange, probe: &Probe<'_>) -> Vec<(String, SignIn)> {
    match change {
        DatedChange::BaselineScopesEnforcement => baseline_probes(probe),
        _ => Vec::new(),
    }
}

/// Requests for only baseline scopes, by every probe subject, to every application a policy
/// names and one no policy names, from a browser and from an app.
fn baseline_probes(probe: &Probe<'_>) -> Vec<(String, SignIn)> {
    let mut apps: Vec<Box<str>> = vec![Box::from(PROBE_APP)];
    for p in &probe.original.tenant.policies {
        let a = &p.conditions.applications;
        for app in a.include.apps.iter().chain(a.exclude.apps.iter()) {
            if !apps.contains(app) {
                apps.push(app.clone());
            }
        }
    }
    let mut subjects: Vec<Box<str>> = vec![probe.member.clone(), probe.global_admin.clone()];
    subjects.extend(probe.role_users.iter().map(|(u, _)| u.clone()));
    subjects.extend(probe.group_users.iter().cloned());
    subjects.extend(probe.guest_users.iter().cloned());
    let scope_sets: [&[&str]; 2] = [&["openid", "profile"], &["User.Read"]];
    let mut out = Vec::new();
    for user in &subjects {
        for app in &apps {
            for client in [
                ClientAppType::Browser,
                ClientAppType::MobileAppsAndDesktopClients,
            ] {
                for scopes in scope_sets {
                    let mut s = SignIn::user(user, &[app]);
                    s.client_app_type = Some(client);
                    s.ip_address = probe.base.ip;
                    s.country = probe.base.country;
                    s.session.requested_scopes = scopes.iter().map(|x| Box::from(*x)).collect();
                    let how = match client {
                        ClientAppType::Browser => "in a browser",
                        _ => "with a desktop or mobile app",
                    };
                    out.push((
                        format!(
                            "`{user}` signs in to `{app}` {how}, asking only for scopes {}",
                            scopes.join(" ")
                        ),
                        s,
                    ));
                }
            }
        }
    }
    out
}

/// Decides the probes one second before `since` and at `since`; per policy, the first probe
/// whose result differs.
fn enforcement(info: &DatedChangeInfo, since: i64, probe: &Probe<'_>, report: &mut ChangeReport) {
    let tenant: &CompiledTenant = &probe.tenant;
    let policies = &tenant.tenant.policies;
    let mut examples: Vec<Option<(PolicyResult, PolicyResult, Example)>> =
        vec![None; policies.len()];
    let signins = probes(info.change, probe);
    report.probes = signins.len();
    for (description, mut s) in signins {
        s.at = Some(since - 1);
        let before = tenant.evaluate_outcomes(&s);
        s.at = Some(since);
        let after = tenant.evaluate_outcomes(&s);
        if before.verdict.decision != after.verdict.decision
            || before.verdict.required != after.verdict.required
        {
            report.changed_signins += 1;
        }
        let (was, is) = (short(&before.verdict), short(&after.verdict));
        for (b, a) in before.policies.iter().zip(after.policies.iter()) {
            let Some(slot) = examples.get_mut(b.index) else {
                continue;
            };
            // The first sign-in the policy decides differently; one whose overall decision
            // changes too is preferred.
            let better = match slot {
                None => true,
                Some((_, _, e)) => e.before == e.after && was != is,
            };
            if b.result != a.result && better {
                s.at = None;
                *slot = Some((
                    b.result,
                    a.result,
                    Example {
                        description: description.clone(),
                        request: s.to_request_json(),
                        before: was.clone(),
                        after: is.clone(),
                    },
                ));
            }
        }
    }
    for (i, found) in examples.into_iter().enumerate() {
        let (Some((b, a, example)), Some(p)) = (found, policies.get(i)) else {
            continue;
        };
        report.policies.push(AffectedPolicy {
            id: p.id.to_string(),
            display_name: p.display_name.clone(),
            state: state_name(p.state),
            effect: format!(
                "{} before {}, {} from then",
                result_words(b),
                format_date(since),
                result_words(a)
            ),
            example: Some(example),
        });
    }
}

/// Which policies behave differently before and after each dated change, judged at `now`
/// (Unix seconds).
pub fn changes(tenant: &CompiledTenant, now: i64) -> ChangesReport {
    let probe = Probe::new(tenant);
    let mut out = Vec::new();
    for info in DATED_CHANGES {
        let status = match info.since {
            None => ChangeStatus::Announced,
            Some(s) if now >= s => ChangeStatus::InForce,
            Some(_) => ChangeStatus::Upcoming,
        };
        let mut report = ChangeReport {
            id: info.id,
            kind: info.kind.as_str(),
            since: info.since.map(format_date),
            when: info.when,
            status,
            summary: info.summary,
            page: info.page,
            probes: 0,
            changed_signins: 0,
            policies: Vec::new(),
        };
        match (info.kind, info.since) {
            (ChangeKind::Enforcement, Some(since)) => {
                enforcement(info, since, &probe, &mut report);
            }
            _ => {
                for p in &tenant.tenant.policies {
                    if !info.change.uses_control(p) {
                        continue;
                    }
                    let control = info.change.control().unwrap_or_default();
                    let effect = match (info.kind, p.state) {
                        (ChangeKind::Announced, _) => format!(
                            "uses `{control}`, announced to retire ({}): it needs a replacement",
                            info.when
                        ),
                        (_, PolicyState::Disabled) => format!(
                            "uses `{control}` and is disabled: it can only be deleted from {}",
                            info.when
                        ),
                        _ => format!(
                            "uses `{control}`: still enforced, but it can only be disabled or \
                             deleted from {}",
                            info.when
                        ),
                    };
                    report.policies.push(AffectedPolicy {
                        id: p.id.to_string(),
                        display_name: p.display_name.clone(),
                        state: state_name(p.state),
                        effect,
                        example: None,
                    });
                }
            }
        }
        out.push(report);
    }
    ChangesReport {
        now: format_date(now),
        changes: out,
    }
}

impl ChangesReport {
    /// Whether any change concerns any policy.
    pub fn any(&self) -> bool {
        self.changes.iter().any(|c| !c.policies.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gardien_core::signin::Target;
    use gardien_core::time::parse_rfc3339;
    use gardien_core::{SourceFile, Tenant, TenantSource};
    use serde_json::json;

    const EXO: &str = "00000002-0000-0ff1-ce00-000000000000";
    const SPO: &str = "00000003-0000-0ff1-ce00-000000000000";

    fn compile(v: serde_json::Value) -> Option<CompiledTenant> {
        let source = TenantSource {
            combined: Some(SourceFile::new("tenant.json", serde_json::to_vec(&v).ok()?)),
            ..Default::default()
        };
        Tenant::load(&source).ok().map(CompiledTenant::compile)
    }

    fn tenant(directory: serde_json::Value) -> Option<CompiledTenant> {
        compile(json!({"policies": [
            {"id": "p-mfa", "displayName": "MFA everywhere but Exchange", "state": "enabled",
             "conditions": {"users": {"includeUsers": ["All"]},
                            "applications": {"includeApplications": ["All"],
                                             "excludeApplications": [EXO]}},
             "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}},
            {"id": "p-app", "displayName": "Approved apps on phones", "state": "enabled",
             "conditions": {"users": {"includeUsers": ["All"]},
                            "applications": {"includeApplications": [EXO]},
                            "platforms": {"includePlatforms": ["android"]}},
             "grantControls": {"operator": "OR", "builtInControls": ["approvedApplication"]}},
            {"id": "p-spo", "displayName": "MFA for SharePoint", "state": "enabled",
             "conditions": {"users": {"includeUsers": ["All"]},
                            "applications": {"includeApplications": [SPO]}},
             "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}
        ], "directory": directory}))
    }

    fn find<'r>(r: &'r ChangesReport, id: &str) -> Option<&'r ChangeReport> {
        r.changes.iter().find(|c| c.id == id)
    }

    #[test]
    fn baseline_scopes_rollout_changes_the_all_resources_policy_with_exclusions() {
        let Some(t) = tenant(json!({})) else {
            unreachable!("the tenant loads")
        };
        let now = parse_rfc3339("2026-12-07").unwrap_or_default();
        let r = changes(&t, now);
        let Some(b) = find(&r, "baselineScopesEnforcement") else {
            unreachable!("the change is listed")
        };
        assert_eq!(b.status, ChangeStatus::InForce);
        let ids: Vec<&str> = b.policies.iter().map(|p| p.id.as_str()).collect();
        // The `All`-resources policy with an exclusion starts applying; the SharePoint policy
        // stops applying to such requests, whose audience becomes Windows Azure AD.
        assert_eq!(ids, ["p-mfa", "p-spo"], "{r:?}");
        assert!(
            b.policies[1].effect.starts_with("applies"),
            "{}",
            b.policies[1].effect
        );
        let p = &b.policies[0];
        assert_eq!(
            p.effect,
            "does not apply before 2026-06-15, applies and is not satisfied from then"
        );
        let e = p
            .example
            .as_ref()
            .map(|e| (e.before.as_str(), e.after.as_str()));
        assert_eq!(e, Some(("allow", "challenge mfa")));
        assert!(b.changed_signins > 0 && b.probes >= b.changed_signins);
        // The approved-app policy is listed as read-only, still enforced.
        let Some(a) = find(&r, "approvedClientAppReadOnly") else {
            unreachable!("the change is listed")
        };
        assert_eq!(a.policies.len(), 1);
        assert!(
            a.policies[0].effect.contains("still enforced"),
            "{}",
            a.policies[0].effect
        );
        assert_eq!(b.policies[0].display_name, "MFA everywhere but Exchange");
    }

    #[test]
    fn a_tenant_that_chose_its_mode_does_not_change_on_the_date() {
        for mode in ["enforced", "legacy"] {
            let Some(t) = tenant(json!({"baselineScopesMode": mode})) else {
                unreachable!("the tenant loads")
            };
            let r = changes(&t, 0);
            let b = find(&r, "baselineScopesEnforcement").map(|b| b.policies.len());
            assert_eq!(b, Some(0), "{mode}");
            assert_eq!(
                find(&r, "baselineScopesEnforcement").map(|b| b.status),
                Some(ChangeStatus::Upcoming)
            );
        }
    }

    #[test]
    fn the_probe_example_reproduces_with_the_evaluator() {
        let Some(t) = tenant(json!({})) else {
            unreachable!("the tenant loads")
        };
        let r = changes(&t, 0);
        let example = find(&r, "baselineScopesEnforcement")
            .and_then(|b| b.policies.first())
            .and_then(|p| p.example.clone());
        let Some(example) = example else {
            unreachable!("an example is given")
        };
        let Ok(mut s) = SignIn::from_value("example", &example.request) else {
            unreachable!("the example request reads back")
        };
        s.at = parse_rfc3339("2026-06-14T12:00:00Z");
        assert_eq!(t.decide(&s).decision, Decision::Allow);
        s.at = parse_rfc3339("2026-06-15T00:00:00Z");
        assert_eq!(t.decide(&s).decision, Decision::Challenge);
        assert!(matches!(s.target, Target::Applications(_)));
    }
}
