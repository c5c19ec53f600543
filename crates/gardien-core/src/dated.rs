//! Dated behaviour changes of Entra Conditional Access: one table of what Microsoft changes,
//! from which instant, with the Microsoft Learn page that says so.
//!
//! The evaluator consults it with the evaluation instant ([`crate::SignIn::at`]: `--now` or
//! the clock in the CLI, the request time in the server, `createdDateTime` in replay), so a
//! sign-in from May 2026 is decided as Entra decided it then. An instant of `None` means "the
//! latest behaviour": every change whose date is known is taken as in force.
//!
//! `docs/semantics.md` ("Dated changes") records each entry, the page history behind its date
//! and what gardien does before and after it.

use serde_json::Value;

use crate::LoadError;
use crate::model::enums::BuiltInControl;
use crate::model::policy::Policy;
use crate::time::format_date;

/// A dated change, by what it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DatedChange {
    /// Requests for only baseline scopes are enforced as Windows Azure Active Directory by
    /// `All`-resources policies with exclusions (unless the tenant chose otherwise).
    BaselineScopesEnforcement,
    /// "Require approved client app" becomes read-only: policies using it can no longer be
    /// created or edited (only disabled or deleted); existing ones stay enforced.
    ApprovedClientAppReadOnly,
    /// Custom controls can no longer be added or edited.
    CustomControlsReadOnly,
    /// Custom controls are retired (announced for "early 2027", no day published yet).
    CustomControlsRetirement,
}

/// What a dated change touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// Decisions change from the date.
    Enforcement,
    /// What an administrator may write changes from the date; decisions do not.
    Administration,
    /// Announced without a date: linted, never applied.
    Announced,
}

impl ChangeKind {
    /// Lower-case name for reports (`enforcement`, `administration`, `announced`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Enforcement => "enforcement",
            ChangeKind::Administration => "administration",
            ChangeKind::Announced => "announced",
        }
    }
}

/// One entry of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatedChangeInfo {
    /// Which change.
    pub change: DatedChange,
    /// Stable identifier (camelCase), used in reports and `gardien changes --json`.
    pub id: &'static str,
    /// What it touches.
    pub kind: ChangeKind,
    /// First instant (Unix seconds, UTC) at which it is in force; `None` when announced
    /// without a day.
    pub since: Option<i64>,
    /// When, as Microsoft words it (`June 30, 2026`, `early 2027`).
    pub when: &'static str,
    /// What changes, one line.
    pub summary: &'static str,
    /// The Microsoft Learn page that says so.
    pub page: &'static str,
}

/// 2026-06-15T00:00:00Z.
const JUNE_15_2026: i64 = 1_781_481_600;
/// 2026-06-30T00:00:00Z.
const JUNE_30_2026: i64 = 1_782_777_600;
/// 2026-09-01T00:00:00Z.
const SEPTEMBER_1_2026: i64 = 1_788_220_800;

/// Every dated change gardien knows, oldest first.
pub const DATED_CHANGES: &[DatedChangeInfo] = &[
    DatedChangeInfo {
        change: DatedChange::BaselineScopesEnforcement,
        id: "baselineScopesEnforcement",
        kind: ChangeKind::Enforcement,
        since: Some(JUNE_15_2026),
        when: "June 15, 2026 (progressive rollout)",
        summary: "requests for only baseline scopes (OIDC scopes, User.Read and the other \
                  baseline directory scopes) are evaluated as Windows Azure Active Directory, so \
                  `All`-resources policies with resource exclusions apply to them",
        page: "https://learn.microsoft.com/entra/identity/conditional-access/concept-enforcement-resource-exclusions",
    },
    DatedChangeInfo {
        change: DatedChange::ApprovedClientAppReadOnly,
        id: "approvedClientAppReadOnly",
        kind: ChangeKind::Administration,
        since: Some(JUNE_30_2026),
        when: "June 30, 2026",
        summary: "`approvedApplication` (require approved client app) is read-only: policies \
                  that use it can no longer be created or edited, only disabled or deleted; \
                  existing enabled policies stay enforced",
        page: "https://learn.microsoft.com/entra/identity/conditional-access/migrate-approved-client-app",
    },
    DatedChangeInfo {
        change: DatedChange::CustomControlsReadOnly,
        id: "customControlsReadOnly",
        kind: ChangeKind::Administration,
        since: Some(SEPTEMBER_1_2026),
        when: "September 2026",
        summary: "custom controls can no longer be added or edited; existing ones keep \
                  working until their retirement",
        page: "https://learn.microsoft.com/entra/identity/conditional-access/controls",
    },
    DatedChangeInfo {
        change: DatedChange::CustomControlsRetirement,
        id: "customControlsRetirement",
        kind: ChangeKind::Announced,
        since: None,
        when: "early 2027",
        summary: "custom controls are retired; external MFA replaces them",
        page: "https://learn.microsoft.com/entra/identity/conditional-access/controls",
    },
];

impl DatedChange {
    /// Its entry in [`DATED_CHANGES`].
    pub fn info(self) -> &'static DatedChangeInfo {
        let found = DATED_CHANGES.iter().find(|i| i.change == self);
        // Every variant has an entry (tested); the first entry is a harmless fallback.
        found.unwrap_or(&DATED_CHANGES[0])
    }

    /// Whether the change is in force at `at` (Unix seconds; `None`: the latest behaviour).
    /// A change announced without a date is never in force.
    pub fn in_force(self, at: Option<i64>) -> bool {
        match self.info().since {
            None => false,
            Some(since) => at.is_none_or(|t| t >= since),
        }
    }

    /// The grant control (Graph name) the change is about, when it is about one.
    pub fn control(self) -> Option<&'static str> {
        match self {
            DatedChange::BaselineScopesEnforcement => None,
            DatedChange::ApprovedClientAppReadOnly => Some("approvedApplication"),
            DatedChange::CustomControlsReadOnly | DatedChange::CustomControlsRetirement => {
                Some("customAuthenticationFactors")
            }
        }
    }

    /// Whether a policy's grant uses the control the change is about.
    pub fn uses_control(self, policy: &Policy) -> bool {
        let Some(g) = &policy.grant else {
            return false;
        };
        match self {
            DatedChange::BaselineScopesEnforcement => false,
            DatedChange::ApprovedClientAppReadOnly => {
                g.built_in.contains(&BuiltInControl::ApprovedApplication)
            }
            DatedChange::CustomControlsReadOnly | DatedChange::CustomControlsRetirement => {
                !g.custom_factors.is_empty()
            }
        }
    }

    /// `since 2026-06-30` / `from 2026-06-30` / `announced for early 2027`, relative to `at`.
    pub fn when_text(self, at: Option<i64>) -> String {
        let info = self.info();
        match info.since {
            None => format!("announced for {}", info.when),
            Some(s) if self.in_force(at) => format!("since {}", format_date(s)),
            Some(s) => format!("from {}", format_date(s)),
        }
    }
}

/// The enforcement changes in force at `at`, as a bit per [`DATED_CHANGES`] entry: two
/// instants with the same regime are decided alike (caches key on it, not on the instant).
pub fn regime(at: Option<i64>) -> u8 {
    DATED_CHANGES
        .iter()
        .enumerate()
        .filter(|(_, i)| i.kind == ChangeKind::Enforcement && i.change.in_force(at))
        .fold(0u8, |bits, (n, _)| bits | (1u8 << (n % 8)))
}

/// What the dated changes say about a policy's controls at `at`, one line each
/// (`` `approvedApplication`: read-only since 2026-06-30, still enforced ``): shown beside
/// the policy in what-if and evaluation output.
pub fn control_notes(policy: &Policy, at: Option<i64>) -> Vec<String> {
    DATED_CHANGES
        .iter()
        .filter(|i| i.change.uses_control(policy))
        .map(|i| {
            let control = i.change.control().unwrap_or_default();
            let when = i.change.when_text(at);
            match (i.kind, i.change.in_force(at)) {
                (ChangeKind::Announced, _) => format!("`{control}`: retirement {when}"),
                (_, true) => format!("`{control}`: read-only {when}, still enforced"),
                (_, false) => format!("`{control}`: becomes read-only {when}"),
            }
        })
        .collect()
}

fn grant_uses(policy: &Value, control: &str) -> bool {
    policy
        .pointer("/grantControls/builtInControls")
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter()
                .any(|c| c.as_str().is_some_and(|c| c.eq_ignore_ascii_case(control)))
        })
}

fn same_id(a: &Value, b: &Value) -> bool {
    match (
        a.get("id").and_then(Value::as_str),
        b.get("id").and_then(Value::as_str),
    ) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        _ => false,
    }
}

/// A policy with the members a disable-only edit may change removed (`state`,
/// `modifiedDateTime`, annotations).
fn without_state(policy: &Value) -> Value {
    match policy {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| {
                    k.as_str() != "state" && k.as_str() != "modifiedDateTime" && !k.contains('@')
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The policy writes Entra refuses at `at` because of a dated change: creating a policy that
/// uses `approvedApplication` after it became read-only, or editing one in any way other than
/// disabling it. Deleting is allowed. `old` and `new` are the policy arrays before and after
/// the write; `file` names the write in the errors (pointers are into `new`, as
/// `/policies/{index}/grantControls/builtInControls`).
pub fn refused_policy_writes(old: &[Value], new: &[Value], at: i64, file: &str) -> Vec<LoadError> {
    let change = DatedChange::ApprovedClientAppReadOnly;
    if !change.in_force(Some(at)) {
        return Vec::new();
    }
    let info = change.info();
    let mut errors = Vec::new();
    for (index, policy) in new.iter().enumerate() {
        let before = old.iter().find(|p| same_id(p, policy));
        let uses = grant_uses(policy, "approvedApplication");
        let used = before.is_some_and(|p| grant_uses(p, "approvedApplication"));
        let refused = match before {
            None => uses,
            Some(prev) if prev == policy => false,
            Some(prev) if uses || used => {
                let disabling = without_state(prev) == without_state(policy)
                    && policy
                        .get("state")
                        .and_then(Value::as_str)
                        .is_some_and(|s| s.eq_ignore_ascii_case("disabled"));
                !disabling
            }
            Some(_) => false,
        };
        if refused {
            let id = policy.get("id").and_then(Value::as_str).unwrap_or("");
            let name = policy
                .get("displayName")
                .and_then(Value::as_str)
                .unwrap_or("");
            let what = if before.is_some() {
                "edited (only disabled or deleted)"
            } else {
                "created"
            };
            errors.push(
                LoadError::new(
                    file,
                    format!("/policies/{index}/grantControls/builtInControls"),
                    format!(
                        "`approvedApplication` is read-only since {}: a policy that uses it \
                         cannot be {what}",
                        format_date(info.since.unwrap_or_default())
                    ),
                )
                .with_help(format!(
                    "require `compliantApplication` (app protection policy) in a new policy, \
                     then disable or delete this one; see {}",
                    info.page
                ))
                .in_policy(id, name),
            );
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_rfc3339;
    use serde_json::json;

    #[test]
    fn every_change_has_one_entry_and_the_dates_are_the_published_ones() {
        for c in [
            DatedChange::BaselineScopesEnforcement,
            DatedChange::ApprovedClientAppReadOnly,
            DatedChange::CustomControlsReadOnly,
            DatedChange::CustomControlsRetirement,
        ] {
            assert_eq!(DATED_CHANGES.iter().filter(|i| i.change == c).count(), 1);
            assert_eq!(c.info().change, c);
        }
        assert_eq!(parse_rfc3339("2026-06-15"), Some(JUNE_15_2026));
        assert_eq!(parse_rfc3339("2026-06-30"), Some(JUNE_30_2026));
        assert_eq!(parse_rfc3339("2026-09-01"), Some(SEPTEMBER_1_2026));
        assert!(
            DATED_CHANGES.len() <= 8,
            "regime() keeps one bit per entry in a u8"
        );
        let mut ids: Vec<&str> = DATED_CHANGES.iter().map(|i| i.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), DATED_CHANGES.len());
    }

    #[test]
    fn in_force_from_the_first_second_of_the_date() {
        let c = DatedChange::ApprovedClientAppReadOnly;
        assert!(!c.in_force(Some(JUNE_30_2026 - 1)));
        assert!(c.in_force(Some(JUNE_30_2026)));
        assert!(c.in_force(None), "no instant: the latest behaviour");
        assert_eq!(c.when_text(Some(JUNE_30_2026)), "since 2026-06-30");
        assert_eq!(c.when_text(Some(0)), "from 2026-06-30");
        let announced = DatedChange::CustomControlsRetirement;
        assert!(!announced.in_force(None) && !announced.in_force(Some(i64::MAX)));
        assert_eq!(announced.when_text(None), "announced for early 2027");
    }

    fn policy(id: &str, state: &str, controls: &[&str]) -> Value {
        json!({"id": id, "displayName": id, "state": state,
               "conditions": {"users": {"includeUsers": ["All"]}},
               "grantControls": {"operator": "OR", "builtInControls": controls}})
    }

    #[test]
    fn approved_app_policies_are_read_only_after_the_date() {
        let after = JUNE_30_2026 + 10;
        let before = JUNE_30_2026 - 10;
        let old = vec![policy("a", "enabled", &["approvedApplication"])];
        // Creating one.
        let created = vec![
            old[0].clone(),
            policy(
                "b",
                "enabled",
                &["approvedApplication", "compliantApplication"],
            ),
        ];
        let e = refused_policy_writes(&old, &created, after, "request body");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].pointer, "/policies/1/grantControls/builtInControls");
        assert!(e[0].reason.contains("cannot be created"), "{}", e[0]);
        assert!(refused_policy_writes(&old, &created, before, "x").is_empty());
        // Editing one, even to remove the control.
        let edited = vec![policy("a", "enabled", &["compliantApplication"])];
        let e = refused_policy_writes(&old, &edited, after, "x");
        assert!(e[0].reason.contains("cannot be edited"), "{}", e[0]);
        // Disabling it, deleting it, or leaving it alone is fine.
        let disabled = vec![policy("a", "disabled", &["approvedApplication"])];
        assert!(refused_policy_writes(&old, &disabled, after, "x").is_empty());
        assert!(refused_policy_writes(&old, &[], after, "x").is_empty());
        assert!(refused_policy_writes(&old, &old, after, "x").is_empty());
        // Switching it to report-only is an edit.
        let report_only = vec![policy(
            "a",
            "enabledForReportingButNotEnforced",
            &["approvedApplication"],
        )];
        assert_eq!(
            refused_policy_writes(&old, &report_only, after, "x").len(),
            1
        );
        // Policies without the control are not concerned.
        let other = vec![old[0].clone(), policy("c", "enabled", &["mfa"])];
        assert!(refused_policy_writes(&old, &other, after, "x").is_empty());
    }

    #[test]
    fn regimes_change_only_at_enforcement_dates() {
        assert_eq!(regime(Some(JUNE_15_2026 - 1)), regime(Some(0)));
        assert_ne!(regime(Some(JUNE_15_2026 - 1)), regime(Some(JUNE_15_2026)));
        // An administration-only change does not change decisions.
        assert_eq!(regime(Some(JUNE_30_2026 - 1)), regime(Some(JUNE_30_2026)));
        assert_eq!(regime(None), regime(Some(i64::MAX)));
    }
}
