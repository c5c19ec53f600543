//! The rule registry: one table of every lint rule with its stable code, kebab-case name,
//! default severity and documentation. Codes are never reused: a rule that goes away stays
//! here as [`RuleStatus::Removed`], so that CI configurations pinning a code keep working.
//!
//! Families: `GA0xx` lockout, `GA1xx` references, `GA2xx` dead or shadowed policies,
//! `GA3xx` coverage and hygiene.

use serde::Serialize;

/// How serious a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never a risk by itself.
    Info,
    /// Probably a mistake, or a gap in protection.
    Warning,
    /// A configuration that can lock the tenant out.
    Error,
}

impl Severity {
    /// Lower-case name (`error`, `warning`, `info`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// Parses `error`, `warning` or `info` (case-insensitive).
    pub fn parse(text: &str) -> Option<Severity> {
        [Severity::Error, Severity::Warning, Severity::Info]
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// Lifecycle of a rule code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleStatus {
    /// Runs by default.
    Stable,
    /// No longer runs; the code is kept so that it is never reused.
    Removed,
}

/// One lint rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// Stable code, `GA` and three digits.
    pub code: &'static str,
    /// Kebab-case name.
    pub name: &'static str,
    /// Severity of its findings.
    pub severity: Severity,
    /// What it detects, one line.
    pub summary: &'static str,
    /// Why it matters.
    pub rationale: &'static str,
    /// What to do about a finding.
    pub fix: &'static str,
    /// The rule needs `directory.json` and is skipped without one.
    pub needs_directory: bool,
    /// Lifecycle.
    pub status: RuleStatus,
    /// First gardien version with the rule.
    pub since: &'static str,
}

impl Rule {
    /// Anchor of the rule in `docs/lint.md` (`docs/lint.md#ga001`).
    pub fn url(&self) -> String {
        format!("docs/lint.md#{}", self.code.to_ascii_lowercase())
    }
}

/// `GA001`: blocks every user from the admin tools.
pub const LOCKOUT_ALL_USERS: &str = "GA001";
/// `GA002`: blocks every Global Administrator from the admin portals.
pub const ADMIN_PORTAL_LOCKOUT: &str = "GA002";
/// `GA003`: can block administrators and excludes no user or group.
pub const NO_EMERGENCY_EXCLUSION: &str = "GA003";
/// `GA004`: the exclusions of a blocking policy match nobody in the directory.
pub const INEFFECTIVE_EMERGENCY_EXCLUSION: &str = "GA004";
/// `GA101`: a user id absent from the directory.
pub const UNKNOWN_USER: &str = "GA101";
/// `GA102`: a group id absent from the directory.
pub const UNKNOWN_GROUP: &str = "GA102";
/// `GA103`: an application id no service principal of the directory has.
pub const UNKNOWN_APPLICATION: &str = "GA103";
/// `GA104`: a service principal id absent from the directory.
pub const UNKNOWN_SERVICE_PRINCIPAL: &str = "GA104";
/// `GA201`: a policy that can never apply.
pub const NEVER_APPLIES: &str = "GA201";
/// `GA202`: a policy fully shadowed by a blocking policy.
pub const SHADOWED: &str = "GA202";
/// `GA301`: legacy authentication is not blocked.
pub const LEGACY_AUTH_ALLOWED: &str = "GA301";
/// `GA302`: administrators can sign in with a password alone.
pub const ADMIN_WITHOUT_MFA: &str = "GA302";
/// `GA303`: a report-only policy left for long.
pub const STALE_REPORT_ONLY: &str = "GA303";
/// `GA304`: allowed-countries block that also blocks unknown countries.
pub const UNKNOWN_COUNTRY_BLOCKED: &str = "GA304";
/// `GA305`: blocked-countries policy that lets unknown countries through.
pub const UNKNOWN_COUNTRY_NOT_BLOCKED: &str = "GA305";
/// `GA306`: a policy relies on a control Microsoft has retired or made read-only.
pub const RETIRED_CONTROL: &str = "GA306";
/// `GA307`: a policy relies on a control whose retirement is announced.
pub const RETIRING_CONTROL: &str = "GA307";

const fn stable(
    code: &'static str,
    name: &'static str,
    severity: Severity,
    summary: &'static str,
    rationale: &'static str,
    fix: &'static str,
    needs_directory: bool,
) -> Rule {
    Rule {
        code,
        name,
        severity,
        summary,
        rationale,
        fix,
        needs_directory,
        status: RuleStatus::Stable,
        since: "0.1.0",
    }
}

/// Every rule, in code order.
pub const RULES: &[Rule] = &[
    stable(
        LOCKOUT_ALL_USERS,
        "lockout-all-users",
        Severity::Error,
        "an enabled policy blocks every user, emergency-access accounts included, from the admin tools, and excludes no user or group",
        "The policy applies to all users and denies a fully authenticated Global Administrator on an unmanaged device whatever the platform, client and location. Nobody, not even an emergency-access account, could sign in to the Azure portal, Azure management or Microsoft Graph to repair it.",
        "Exclude an emergency-access (break-glass) group from the policy, and keep at least one account in it.",
        false,
    ),
    stable(
        ADMIN_PORTAL_LOCKOUT,
        "admin-portal-lockout",
        Severity::Error,
        "an enabled policy blocks every Global Administrator from the Microsoft admin portals, and excludes no user or group",
        "Blocking `MicrosoftAdminPortals` (or all resources) for administrators without an exclusion leaves no way into the Azure portal or the Entra admin center, from any platform, client or location, to undo the policy.",
        "Exclude an emergency-access group, or scope the policy to non-administrators (exclude the administrator roles).",
        false,
    ),
    stable(
        NO_EMERGENCY_EXCLUSION,
        "no-emergency-access-exclusion",
        Severity::Warning,
        "an enabled policy can block administrators from the admin tools and excludes no user or group",
        "Microsoft recommends excluding emergency-access accounts from every Conditional Access policy that can deny access. This policy denies a fully authenticated Global Administrator in some circumstances (a platform, a client type, a location, an unmanaged device); in an emergency that circumstance may be the only one available.",
        "Exclude the emergency-access group from the policy.",
        false,
    ),
    stable(
        INEFFECTIVE_EMERGENCY_EXCLUSION,
        "ineffective-emergency-access-exclusion",
        Severity::Warning,
        "a policy that can block administrators excludes only users and groups that match nobody in the directory",
        "The exclusion looks like an emergency-access exclusion, but the excluded users are not in directory.json and the excluded groups have no members there: it protects nobody, and the policy can lock administrators out.",
        "Put the emergency-access accounts in the excluded group (or exclude them by id), and keep directory.json up to date.",
        true,
    ),
    stable(
        UNKNOWN_USER,
        "unknown-user",
        Severity::Warning,
        "a policy includes or excludes a user id that is not in the directory",
        "A deleted or mistyped user silently narrows the policy. In an exclusion it is worse: an emergency-access exclusion that names a deleted account protects nobody.",
        "Remove the id, or replace it with the right account (better: a group).",
        true,
    ),
    stable(
        UNKNOWN_GROUP,
        "unknown-group",
        Severity::Warning,
        "a policy includes or excludes a group id that is not in the directory",
        "A deleted group matches nobody: an inclusion covers fewer users than intended, an exclusion (often the emergency-access group) excludes nobody.",
        "Remove the id or point it at the existing group.",
        true,
    ),
    stable(
        UNKNOWN_APPLICATION,
        "unknown-application",
        Severity::Info,
        "a policy targets an application id that no service principal of the directory has and that gardien does not know as a Microsoft application",
        "An application that is not in the tenant is never requested, so the policy part that names it does nothing. It may also be a Microsoft application gardien does not list, hence only info.",
        "Check the application id (it is the appId of the resource, not the object id); remove it if the application is gone.",
        true,
    ),
    stable(
        UNKNOWN_SERVICE_PRINCIPAL,
        "unknown-service-principal",
        Severity::Warning,
        "a workload-identity policy names a service principal that is not in the directory",
        "Service principals are named by object id; a deleted or mistyped one makes the policy cover fewer workloads than intended, or exclude nothing.",
        "Use the enterprise application's object id, or remove the entry.",
        true,
    ),
    stable(
        NEVER_APPLIES,
        "policy-never-applies",
        Severity::Warning,
        "an enabled or report-only policy can never apply to any sign-in",
        "One of its conditions matches nothing: `includeUsers: [\"None\"]` with nothing else included, `includeApplications: [\"None\"]`, everything included also excluded, or platforms and client types that cannot occur together. The policy gives a false sense of protection. gardien proves it with the evaluator: it tries every value the condition distinguishes and none satisfies it.",
        "Fix the condition so that it targets what was meant, or delete the policy.",
        false,
    ),
    stable(
        SHADOWED,
        "shadowed-policy",
        Severity::Info,
        "every sign-in an enabled policy applies to is also blocked by another enabled policy",
        "The other policy blocks and its conditions contain this one's (a clear structural containment, confirmed with the evaluator), so this policy never changes a decision: it is redundant, or it was meant to be an exception that does not work because a block always wins.",
        "Delete the redundant policy, or narrow the blocking one (exclusions) if this one was meant to allow something.",
        false,
    ),
    stable(
        LEGACY_AUTH_ALLOWED,
        "legacy-authentication-allowed",
        Severity::Warning,
        "legacy authentication (Exchange ActiveSync or other legacy clients) is not blocked for all users",
        "Legacy protocols (IMAP, POP, SMTP AUTH, EAS with basic authentication) cannot do MFA and are the main path of password-spray attacks. gardien evaluates legacy sign-ins to Exchange Online for a member with no group or role and for a guest, on every platform and from every named location, and reports those that are allowed.",
        "Enable a policy that blocks the `exchangeActiveSync` and `other` client app types for all users (excluding only emergency-access and documented service accounts).",
        false,
    ),
    stable(
        ADMIN_WITHOUT_MFA,
        "admin-without-mfa",
        Severity::Warning,
        "administrators can sign in with a password alone",
        "Privileged roles must always require MFA or an authentication strength. gardien evaluates, for each administrator of the directory (or, without one, a user holding only that role), a modern sign-in with a password and no registered device to the admin portals, Azure management, Microsoft Graph, Exchange Online and an arbitrary application, from every named location; a sign-in that is allowed without MFA is reported.",
        "Enable a policy requiring MFA (better: phishing-resistant authentication strength) for all resources, for the privileged directory roles.",
        false,
    ),
    stable(
        STALE_REPORT_ONLY,
        "stale-report-only",
        Severity::Info,
        "a policy has been in report-only mode for longer than the allowed age (90 days by default)",
        "Report-only is for measuring impact before enforcing; a policy left there for months protects nothing and its report is no longer looked at. The age is taken from `modifiedDateTime` (else `createdDateTime`).",
        "Enable the policy, or delete it.",
        false,
    ),
    stable(
        UNKNOWN_COUNTRY_BLOCKED,
        "unknown-country-blocked",
        Severity::Info,
        "a block that excludes allowed countries also blocks addresses that map to no country",
        "The excluded country location has `includeUnknownCountriesAndRegions: false`, so sign-ins from addresses with no country mapping (some IPv6 ranges, satellite and new allocations) are not in an allowed country and are blocked. This is the default of the location, rarely a decision; it is reported as info because some tenants block unknown origins on purpose.",
        "Set `includeUnknownCountriesAndRegions: true` on the allowed-countries location, or accept it and document it.",
        false,
    ),
    stable(
        UNKNOWN_COUNTRY_NOT_BLOCKED,
        "unknown-country-not-blocked",
        Severity::Info,
        "a block of selected countries lets addresses that map to no country through",
        "The blocked country location has `includeUnknownCountriesAndRegions: false`, so sign-ins whose address maps to no country escape the block.",
        "Set `includeUnknownCountriesAndRegions: true` on the blocked-countries location if unknown origins should be blocked too.",
        false,
    ),
    stable(
        RETIRED_CONTROL,
        "retired-control",
        Severity::Warning,
        "an enabled or report-only policy relies on a grant control that Microsoft has retired or made read-only",
        "From the date in gardien's table of dated changes (`gardien changes`), Entra no longer lets administrators create or edit policies that use the control (`approvedApplication` since 2026-06-30, custom controls since September 2026): the policy can only be disabled or deleted, and the control is on its way out. Existing policies stay enforced for now.",
        "Create a replacement policy (`compliantApplication` for approved client apps, external MFA for custom controls), check it in report-only mode, then disable or delete this one.",
        false,
    ),
    stable(
        RETIRING_CONTROL,
        "retiring-control",
        Severity::Info,
        "an enabled or report-only policy relies on a grant control whose retirement is announced but not yet in force",
        "Microsoft has announced a date (or a period) after which the control becomes read-only or stops working; the policy needs a replacement before then.",
        "Plan the replacement now (`compliantApplication` for approved client apps, external MFA for custom controls).",
        false,
    ),
];

/// The rule with this code (case-insensitive).
pub fn rule(code: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.code.eq_ignore_ascii_case(code.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_well_formed_and_in_order() {
        let mut previous = "";
        for r in RULES {
            assert!(
                r.code.len() == 5
                    && r.code.starts_with("GA")
                    && r.code[2..].chars().all(|c| c.is_ascii_digit()),
                "{}",
                r.code
            );
            assert!(
                r.code > previous,
                "{} is out of order or duplicated",
                r.code
            );
            previous = r.code;
            assert!(
                r.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}",
                r.name
            );
            assert!(!r.summary.is_empty() && !r.rationale.is_empty() && !r.fix.is_empty());
            let family = &r.code[2..3];
            assert!(["0", "1", "2", "3"].contains(&family), "{}", r.code);
        }
        let names: std::collections::HashSet<_> = RULES.iter().map(|r| r.name).collect();
        assert_eq!(names.len(), RULES.len(), "names are unique");
    }

    #[test]
    fn lookup_and_severity_parsing() {
        assert_eq!(rule("ga201").map(|r| r.name), Some("policy-never-applies"));
        assert!(rule("GA999").is_none());
        assert_eq!(Severity::parse("Warning"), Some(Severity::Warning));
        assert_eq!(Severity::parse("fatal"), None);
        assert!(Severity::Error > Severity::Warning && Severity::Warning > Severity::Info);
    }

    /// `docs/lint.md` documents every registered code, and only registered codes.
    #[test]
    fn docs_list_every_rule() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/lint.md");
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        assert!(!doc.is_empty(), "cannot read {path}");
        for r in RULES {
            let heading = format!("### {} `{}`", r.code, r.name);
            assert!(doc.contains(&heading), "docs/lint.md lacks `{heading}`");
        }
        for line in doc.lines().filter(|l| l.starts_with("### GA")) {
            let code = line.trim_start_matches("### ").get(..5).unwrap_or("");
            assert!(
                rule(code).is_some(),
                "docs/lint.md documents unknown code {code}"
            );
        }
    }
}
