//! The dated-control search behind `GA306` retired control and `GA307` retiring control:
//! policies that rely on a grant control in the core's table of dated changes
//! ([`gardien_core::dated`]), judged at the lint's `now`: in force is GA306, announced or
//! still ahead is GA307.

use gardien_core::dated::{ChangeKind, DatedChange};
use gardien_core::model::policy::{Policy, PolicyState};

use crate::lint::Context;
use crate::lint::registry::{RETIRED_CONTROL, RETIRING_CONTROL};
use crate::lint::rules::raw_index;

/// The dated changes about a grant control, with what replaces the control.
const CONTROLS: &[(&[DatedChange], &str)] = &[
    (
        &[DatedChange::ApprovedClientAppReadOnly],
        "`compliantApplication` (require app protection policy)",
    ),
    (
        &[
            DatedChange::CustomControlsReadOnly,
            DatedChange::CustomControlsRetirement,
        ],
        "external MFA (an external authentication method) with `mfa`",
    ),
];

/// Where a control sits in a policy's JSON.
fn pointer(p: &Policy, control: &str) -> String {
    if control == "customAuthenticationFactors" {
        return "/grantControls/customAuthenticationFactors".to_owned();
    }
    match raw_index(&p.raw, &["grantControls", "builtInControls"], control) {
        Some(i) => format!("/grantControls/builtInControls/{i}"),
        None => "/grantControls".to_owned(),
    }
}

/// Reports the uses of dated controls that are rule `wanted`'s ([`RETIRED_CONTROL`] or
/// [`RETIRING_CONTROL`]).
pub(crate) fn report(cx: &mut Context<'_>, wanted: &'static str) {
    let now = cx.options.now;
    let policies = &cx.tenant.tenant.policies;
    let mut found = Vec::new();
    for (i, p) in policies.iter().enumerate() {
        if p.state == PolicyState::Disabled {
            continue;
        }
        for (changes, replacement) in CONTROLS {
            for change in changes.iter().filter(|c| c.uses_control(p)) {
                let info = change.info();
                let control = change.control().unwrap_or_default();
                let past = change.in_force(now);
                let code = if past {
                    RETIRED_CONTROL
                } else {
                    RETIRING_CONTROL
                };
                if code != wanted {
                    continue;
                }
                let verb = match (info.kind, past) {
                    (ChangeKind::Announced, _) => "is announced to retire",
                    (_, true) => "has been read-only",
                    (_, false) => "becomes read-only",
                };
                found.push((
                    code,
                    i,
                    pointer(p, control),
                    format!(
                        "`{control}` {verb} ({}): {}",
                        change.when_text(now),
                        info.summary
                    ),
                    format!(
                        "replace it with {replacement} in a new policy, check it in report-only \
                         mode, then disable or delete this one; see {}",
                        info.page
                    ),
                ));
            }
        }
    }
    for (code, i, pointer, message, help) in found {
        let name = cx.policy_name(i);
        cx.report(
            code,
            Some(i),
            &pointer,
            format!("policy {name}: {message}"),
            Some(help),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::{LintOptions, lint, parse_timestamp};
    use gardien_core::{CompiledTenant, SourceFile, Tenant, TenantSource};
    use serde_json::{Value, json};

    fn findings(grant: Value, now: &str) -> Vec<(&'static str, String, String)> {
        let tenant = json!({"policies": [{
            "id": "p1", "displayName": "Mobile apps", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"], "excludeGroups": ["g"]},
                           "applications": {"includeApplications": ["All"]},
                           "platforms": {"includePlatforms": ["android", "iOS"]}},
            "grantControls": grant}]});
        let source = TenantSource {
            combined: Some(SourceFile::new(
                "tenant.json",
                serde_json::to_vec(&tenant).unwrap_or_default(),
            )),
            ..Default::default()
        };
        let Ok(t) = Tenant::load(&source) else {
            return Vec::new();
        };
        let compiled = CompiledTenant::compile(t);
        let options = LintOptions {
            now: parse_timestamp(now),
            ..LintOptions::default()
        };
        lint(&compiled, &options)
            .findings
            .into_iter()
            .filter(|f| f.code == "GA306" || f.code == "GA307")
            .map(|f| (f.code, f.pointer, f.message))
            .collect()
    }

    #[test]
    fn approved_app_is_retiring_then_retired() {
        let grant = json!({"operator": "OR", "builtInControls": ["approvedApplication"]});
        let before = findings(grant.clone(), "2026-06-29T23:59:59Z");
        assert_eq!(before.len(), 1, "{before:?}");
        assert_eq!(before[0].0, "GA307");
        assert!(
            before[0].2.contains("becomes read-only (from 2026-06-30)"),
            "{}",
            before[0].2
        );
        let after = findings(grant, "2026-06-30T00:00:00Z");
        assert_eq!(after.len(), 1, "{after:?}");
        assert_eq!(after[0].0, "GA306");
        assert_eq!(after[0].1, "/policies/0/grantControls/builtInControls/0");
        assert!(
            after[0].2.contains("has been read-only (since 2026-06-30)"),
            "{}",
            after[0].2
        );
    }

    #[test]
    fn custom_controls_are_read_only_and_announced_to_retire() {
        let grant = json!({"operator": "OR", "builtInControls": [],
                           "customAuthenticationFactors": ["duo"]});
        let mut codes: Vec<_> = findings(grant, "2026-12-01")
            .into_iter()
            .map(|f| f.0)
            .collect();
        codes.sort_unstable();
        assert_eq!(codes, ["GA306", "GA307"]);
    }

    #[test]
    fn other_controls_are_not_reported() {
        let grant = json!({"operator": "OR", "builtInControls": ["compliantApplication", "mfa"]});
        assert!(findings(grant, "2026-12-01").is_empty());
    }
}
