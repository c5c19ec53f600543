//! The end-user denial page: what a user sees when gardien denies (403) or challenges (401)
//! a request, as an HTML page for browsers or an RFC 9457 `application/problem+json` body
//! for API clients, in English or French.
//!
//! Everything shown comes from the decision report's explanation (category, temporary,
//! user actions: derived from the evaluation trace, never written per policy) and from the
//! request context (correlation id, time, IP, app, device). How much of the policy internals
//! is shown is the administrator's [`Disclosure`] setting:
//!
//! - [`Disclosure::Minimal`] (default): no policy name, id, condition or control; only the
//!   cause category in plain words, the actions and the troubleshooting details.
//! - [`Disclosure::Detailed`]: also what the deciding policy checked, in generic words
//!   (`Location: not in an allowed or trusted location`, `Grant: compliant device required`),
//!   still without any policy name, id or named-location name.
//! - [`Disclosure::Full`]: also the display names and ids of the policies that failed and
//!   the explanation's `adminDetails`.
//!
//! Messages live in `locales/en.ftl` and `locales/fr.ftl` (format in their header).

mod html;
pub(crate) mod messages;
mod negotiate;
mod problem;

use gardien_core::Decision;
use gardien_core::eval::PolicyResult;
use gardien_core::eval::input::Outcome;
use gardien_core::explain::{Category, UserAction};
use gardien_core::report::{AppliedPolicy, DecisionReport, TracePolicy};

pub use negotiate::prefers_html;

use messages::msg;

/// How much of the policy internals the denial page discloses (admin setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Disclosure {
    /// Neither policy names nor failing conditions (the default).
    #[default]
    Minimal,
    /// Also the failing conditions and missing controls, in generic terms, without names.
    Detailed,
    /// Also policy display names and ids, and the explanation's admin details.
    Full,
}

/// Language of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English (the default).
    En,
    /// French.
    Fr,
}

/// The device as the page shows it (also kept in the sign-in record of a deny or challenge,
/// so that another replica can show the page).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSummary {
    /// Whether the device is registered (known to the directory).
    pub registered: bool,
    /// Whether it is compliant (`None` when unknown).
    pub compliant: Option<bool>,
    /// Join type: `AzureAD`, `ServerAD` (hybrid), `Workplace` (registered).
    pub trust_type: Option<String>,
    /// Graph `devicePlatform` (`windows`, `macOS`, `iOS`, `android`, `linux`, ...).
    pub platform: String,
    /// Operating system version, when known.
    pub os_version: Option<String>,
    /// Graph `clientAppType`: `browser`, `mobileAppsAndDesktopClients`,
    /// `exchangeActiveSync`, `other`.
    pub client_app: String,
}

impl DeviceSummary {
    /// The device line kept in a sign-in record (`gardien.denial.device`); `None` when the
    /// record lacks its platform or client app (not a record gardien wrote).
    pub fn from_record(d: &gardien_core::signin_log::record::DenialDevice<'_>) -> Option<Self> {
        use gardien_core::signin_log::record::{flag, text};
        Some(DeviceSummary {
            registered: flag(&d.registered).unwrap_or(false),
            compliant: flag(&d.compliant),
            trust_type: text(&d.trust_type).map(str::to_owned),
            platform: text(&d.platform)?.to_owned(),
            os_version: text(&d.os_version).map(str::to_owned),
            client_app: text(&d.client_app)?.to_owned(),
        })
    }
}

/// Everything the denial page shows about one denied or challenged request.
#[derive(Debug, Clone, Copy)]
pub struct DenialContext<'a> {
    /// The decision (deny or challenge) with its explanation and trace.
    pub report: &'a DecisionReport,
    /// Correlation id of the request (also in the sign-in log).
    pub correlation_id: &'a str,
    /// Time of the decision, RFC 3339 UTC.
    pub timestamp: &'a str,
    /// Client IP address as gardien resolved it.
    pub client_ip: Option<std::net::IpAddr>,
    /// Display name or id of the application.
    pub application: &'a str,
    /// The device as seen by gardien.
    pub device: &'a DeviceSummary,
    /// How much policy detail to show.
    pub disclosure: Disclosure,
    /// Admin-configured support contact (`https://` URL, `mailto:` address or text).
    pub support: Option<&'a str>,
    /// The HTTP status sent: 401 for a challenge, 403 for a deny.
    pub status: u16,
}

/// Renders the denial page: a complete HTML5 document with inline CSS, no external
/// resource and no JavaScript, `<html lang="en|fr">`; every dynamic value is escaped.
pub fn render_html(ctx: &DenialContext<'_>, lang: Lang) -> String {
    html::render(ctx, &Facts::of(ctx), lang)
}

/// The RFC 9457 `application/problem+json` body for API clients.
///
/// `type` is [`PROBLEM_TYPE_BASE`] followed by the category in lower case (for example
/// `...#devicenotcompliant`); `title` is the category's short title (localized), `detail`
/// says what was blocked and why, `status` is the HTTP status. Extension members:
/// `decision`, `errorCode` (AADSTS number, `null` for a challenge), `category`,
/// `temporary`, `userActions` (the explanation vocabulary), `userActionSets` (the minimal
/// sets of actions that together let the sign-in through), `correlationId`, `timestamp`,
/// `clientIp`, `application`, `device` {`registered`, `compliant`, `trustType`,
/// `platform`, `osVersion`, `clientApp`}, `support` (when configured); at `detailed`
/// `failingConditions` [{`kind`: `condition`|`control`, `name`, `text`}]; at `full` also
/// `policies` [{`id`, `displayName`, `result`}] and `adminDetails`.
pub fn problem_json(ctx: &DenialContext<'_>, lang: Lang) -> serde_json::Value {
    problem::render(ctx, &Facts::of(ctx), lang)
}

/// Prefix of the problem `type` URIs: the project's documentation of the problem types,
/// one anchor per explanation category (category name in lower case).
pub const PROBLEM_TYPE_BASE: &str =
    "https://github.com/gardien-ca/gardien/blob/main/docs/problems.md#";

/// The explanation vocabulary name of a category (its serde name), exhaustive on purpose:
/// a new category does not compile until it is named here and translated.
pub(crate) fn category_name(c: Category) -> &'static str {
    match c {
        Category::DeviceNotRegistered => "deviceNotRegistered",
        Category::DeviceNotCompliant => "deviceNotCompliant",
        Category::DeviceNotHybridJoined => "deviceNotHybridJoined",
        Category::OsVersionTooLow => "osVersionTooLow",
        Category::Device => "device",
        Category::Location => "location",
        Category::AnonymousNetwork => "anonymousNetwork",
        Category::Platform => "platform",
        Category::ClientApp => "clientApp",
        Category::ApprovedApp => "approvedApp",
        Category::AppProtection => "appProtection",
        Category::Risk => "risk",
        Category::AuthenticationFlow => "authenticationFlow",
        Category::Blocked => "blocked",
        Category::MfaRequired => "mfaRequired",
        Category::AuthenticationStrength => "authenticationStrength",
        Category::TermsOfUse => "termsOfUse",
        Category::PasswordChange => "passwordChange",
    }
}

/// The explanation vocabulary name of a user action (its serde name), exhaustive on purpose.
pub(crate) fn action_name(a: UserAction) -> &'static str {
    match a {
        UserAction::RegisterDevice => "registerDevice",
        UserAction::MakeDeviceCompliant => "makeDeviceCompliant",
        UserAction::UpdateOs => "updateOs",
        UserAction::UseAnotherDevice => "useAnotherDevice",
        UserAction::DisconnectVpn => "disconnectVpn",
        UserAction::SignInFromAllowedLocation => "signInFromAllowedLocation",
        UserAction::UseDesktopApp => "useDesktopApp",
        UserAction::UseBrowser => "useBrowser",
        UserAction::UseApprovedApp => "useApprovedApp",
        UserAction::UseModernClient => "useModernClient",
        UserAction::CompleteMfa => "completeMfa",
        UserAction::CompleteMfaInHomeOrganization => "completeMfaInHomeOrganization",
        UserAction::UseStrongerMethod => "useStrongerMethod",
        UserAction::ChangePassword => "changePassword",
        UserAction::AcceptTermsOfUse => "acceptTermsOfUse",
        UserAction::WaitAndRetry => "waitAndRetry",
        UserAction::ContactSupport => "contactSupport",
    }
}

/// The conditions a user can relate to, shown at `detailed` when the deciding policy's
/// condition is met (users and target resources are left out: they only scope the policy).
pub(crate) const SHOWN_CONDITIONS: [&str; 8] = [
    "location",
    "devicePlatform",
    "devices",
    "clientApps",
    "signInRisk",
    "userRisk",
    "insiderRisk",
    "authenticationFlow",
];

/// One generic line of "what was checked" (`detailed` and `full`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failing {
    /// `condition` or `control`.
    pub kind: &'static str,
    /// What-if condition name or control name.
    pub name: String,
    /// Message key.
    pub key: String,
}

/// What the page and the problem body say, computed once from the context.
#[derive(Debug)]
pub(crate) struct Facts<'a> {
    /// Deny (else challenge).
    pub deny: bool,
    /// The cause category.
    pub category: Category,
    /// Whether it is likely to pass.
    pub temporary: bool,
    /// Actions in the explanation's order (at least `contactSupport`).
    pub actions: Vec<UserAction>,
    /// The steps the page lists: each minimal set of actions as one step (a combined change
    /// such as "leave the VPN and use the desktop app" is one step), then any action no set
    /// holds (each on its own), `contactSupport` last.
    pub steps: Vec<Vec<UserAction>>,
    /// Generic failing conditions and controls (empty at `minimal`).
    pub failing: Vec<Failing>,
    /// Policies that failed (empty below `full`).
    pub policies: Vec<&'a AppliedPolicy>,
    /// The explanation's admin details (`None` below `full`).
    pub admin_details: Option<&'a str>,
}

/// The policy that decided, as the verdict named it ([`Verdict::deciding_policy`], kept
/// in the report), when the report still holds its trace.
///
/// [`Verdict::deciding_policy`]: gardien_core::Verdict::deciding_policy
fn deciding_policy(report: &DecisionReport) -> Option<&TracePolicy> {
    report.deciding_trace()
}

fn failing_lines(report: &DecisionReport) -> Vec<Failing> {
    let mut out = Vec::new();
    if let Some(policy) = deciding_policy(report) {
        for c in &policy.conditions {
            let name = c.condition.what_if_reason().0;
            if c.result == Outcome::Satisfied && SHOWN_CONDITIONS.contains(&name) {
                out.push(Failing {
                    kind: "condition",
                    name: name.to_owned(),
                    key: format!("condition-{name}"),
                });
            }
        }
    }
    for c in report.required_controls.iter() {
        out.push(Failing {
            kind: "control",
            name: c.as_str().to_owned(),
            key: format!("control-{}", c.as_str()),
        });
    }
    out
}

impl<'a> Facts<'a> {
    fn of(ctx: &DenialContext<'a>) -> Facts<'a> {
        let report = ctx.report;
        let deny = report.decision != Decision::Challenge;
        let (category, temporary, mut actions, mut steps) = match &report.explanation {
            Some(e) => (
                e.category,
                e.temporary,
                e.user_actions.clone(),
                e.user_action_sets.clone(),
            ),
            None => (Category::Blocked, false, Vec::new(), Vec::new()),
        };
        if actions.is_empty() {
            actions.push(UserAction::ContactSupport);
        }
        for a in &actions {
            if !steps.iter().flatten().any(|x| x == a) {
                steps.push(vec![*a]);
            }
        }
        let detailed = ctx.disclosure != Disclosure::Minimal;
        let full = ctx.disclosure == Disclosure::Full;
        Facts {
            deny,
            category,
            temporary,
            actions,
            steps,
            failing: if detailed {
                failing_lines(report)
            } else {
                Vec::new()
            },
            policies: if full {
                report
                    .applied_conditional_access_policies
                    .iter()
                    .filter(|p| p.result == PolicyResult::Failure)
                    .collect()
            } else {
                Vec::new()
            },
            admin_details: if full {
                report
                    .explanation
                    .as_ref()
                    .map(|e| e.admin_details.as_str())
                    .filter(|d| !d.is_empty())
            } else {
                None
            },
        }
    }

    /// The code line: `AADSTS53003`, or "MFA required" / "Verification required".
    fn code_label(&self, report: &DecisionReport, lang: Lang) -> String {
        match (self.deny, report.error_code) {
            (true, Some(code)) => format!("AADSTS{code}"),
            (true, None) => msg(lang, "value-unknown").to_owned(),
            (false, _) if self.category == Category::MfaRequired => {
                msg(lang, "code-challenge-mfa").to_owned()
            }
            (false, _) => msg(lang, "code-challenge").to_owned(),
        }
    }

    /// The page title (deny or challenge).
    fn title(&self, lang: Lang) -> &'static str {
        msg(
            lang,
            if self.deny {
                "page-title-deny"
            } else {
                "page-title-challenge"
            },
        )
    }

    /// The lead sentence template (with `{ $app }`).
    fn lead(&self, lang: Lang) -> &'static str {
        msg(
            lang,
            if self.deny {
                "lead-deny"
            } else {
                "lead-challenge"
            },
        )
    }
}

/// A category's short title.
fn category_title(c: Category, lang: Lang) -> String {
    msg(lang, &format!("category-{}-title", category_name(c))).to_owned()
}

/// A category's sentence.
fn category_text(c: Category, lang: Lang) -> String {
    msg(lang, &format!("category-{}-text", category_name(c))).to_owned()
}

/// "Yes" / "No" / "Unknown".
fn yes_no(v: Option<bool>, lang: Lang) -> &'static str {
    msg(
        lang,
        match v {
            Some(true) => "value-yes",
            Some(false) => "value-no",
            None => "value-unknown",
        },
    )
}

/// The device platform as people name it.
fn platform_label(platform: &str, lang: Lang) -> String {
    let known = [
        ("windows", "Windows"),
        ("macos", "macOS"),
        ("ios", "iOS"),
        ("android", "Android"),
        ("linux", "Linux"),
        ("windowsphone", "Windows Phone"),
    ];
    let p = platform.trim();
    if p.is_empty() || p.eq_ignore_ascii_case("unknown") || p.eq_ignore_ascii_case("all") {
        return msg(lang, "value-unknown").to_owned();
    }
    known
        .iter()
        .find(|(k, _)| p.eq_ignore_ascii_case(k))
        .map_or_else(|| p.to_owned(), |(_, name)| (*name).to_owned())
}

/// The client app type in words.
fn client_app_label(client_app: &str, lang: Lang) -> String {
    let known = [
        "browser",
        "mobileAppsAndDesktopClients",
        "exchangeActiveSync",
        "other",
    ];
    match known.iter().find(|k| client_app.eq_ignore_ascii_case(k)) {
        Some(k) => msg(lang, &format!("client-{k}")).to_owned(),
        None if client_app.trim().is_empty() => msg(lang, "value-unknown").to_owned(),
        None => client_app.to_owned(),
    }
}

/// The join type in words.
fn trust_label(trust: Option<&str>, lang: Lang) -> String {
    match trust.map(str::trim) {
        None | Some("") => msg(lang, "value-none").to_owned(),
        Some(t) => ["AzureAD", "ServerAD", "Workplace"]
            .iter()
            .find(|k| t.eq_ignore_ascii_case(k))
            .map_or_else(
                || t.to_owned(),
                |k| msg(lang, &format!("trust-{k}")).to_owned(),
            ),
    }
}

/// `2025-03-01T10:20:30.123Z` as `2025-03-01 10:20:30 UTC`; anything else as given.
fn display_time(ts: &str) -> String {
    let ts = ts.trim();
    let bytes = ts.as_bytes();
    let utc = ts.ends_with('Z') || ts.ends_with("+00:00");
    match (ts.get(..10), ts.get(11..19)) {
        (Some(date), Some(time)) if utc && bytes.get(10) == Some(&b'T') => {
            format!("{date} {time} UTC")
        }
        _ => ts.to_owned(),
    }
}

/// The separator between a label and its value (French puts a space before the colon).
pub(crate) fn colon(lang: Lang) -> &'static str {
    match lang {
        Lang::En => ": ",
        Lang::Fr => "\u{a0}: ",
    }
}

/// The troubleshooting rows, as (label, value) pairs, shared by the page and the copy block.
fn detail_rows(ctx: &DenialContext<'_>, facts: &Facts<'_>, lang: Lang) -> Vec<(String, String)> {
    let d = ctx.device;
    let label = |k: &str| msg(lang, k).to_owned();
    vec![
        (
            label("label-error-code"),
            facts.code_label(ctx.report, lang),
        ),
        (label("label-application"), ctx.application.to_owned()),
        (
            label("label-category"),
            format!(
                "{} ({})",
                category_title(facts.category, lang),
                category_name(facts.category)
            ),
        ),
        (label("label-correlation"), ctx.correlation_id.to_owned()),
        (label("label-time"), display_time(ctx.timestamp)),
        (
            label("label-client-ip"),
            ctx.client_ip
                .map_or_else(|| label("value-unknown"), |ip| ip.to_string()),
        ),
        (
            label("label-registered"),
            yes_no(Some(d.registered), lang).to_owned(),
        ),
        (
            label("label-compliant"),
            yes_no(d.compliant, lang).to_owned(),
        ),
        (
            label("label-trust-type"),
            trust_label(d.trust_type.as_deref(), lang),
        ),
        (label("label-platform"), platform_label(&d.platform, lang)),
        (
            label("label-os-version"),
            d.os_version
                .as_deref()
                .filter(|v| !v.trim().is_empty())
                .map_or_else(|| label("value-unknown"), str::to_owned),
        ),
        (
            label("label-client-app"),
            client_app_label(&d.client_app, lang),
        ),
    ]
}

/// The plain-text block users copy into a support request.
fn copy_text(ctx: &DenialContext<'_>, facts: &Facts<'_>, lang: Lang) -> String {
    let mut out = format!("{}\n", facts.title(lang));
    for (label, value) in detail_rows(ctx, facts, lang) {
        out.push_str(&format!("{label}{}{value}\n", colon(lang)));
    }
    out.push_str(&format!(
        "{}\n",
        msg(
            lang,
            if facts.temporary {
                "temporary-true-label"
            } else {
                "temporary-false-label"
            }
        )
    ));
    if !facts.failing.is_empty() {
        out.push_str(&format!(
            "{}{}\n",
            msg(lang, "heading-conditions"),
            colon(lang).trim_end()
        ));
        for f in &facts.failing {
            out.push_str(&format!("- {}\n", msg(lang, &f.key)));
        }
    }
    if !facts.policies.is_empty() {
        out.push_str(&format!(
            "{}{}\n",
            msg(lang, "label-policies"),
            colon(lang).trim_end()
        ));
        for p in &facts.policies {
            out.push_str(&format!("- {} ({})\n", p.display_name, p.id));
        }
    }
    if let Some(details) = facts.admin_details {
        out.push_str(&format!(
            "{}{}{details}\n",
            msg(lang, "label-admin-details"),
            colon(lang)
        ));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
pub(crate) mod tests {
    use super::*;
    use gardien_core::eval::Condition;
    use gardien_core::eval::grant::{Control, Controls, GrantState};
    use gardien_core::explain::Explanation;
    use gardien_core::model::policy::PolicyState;
    use gardien_core::report::{CaStatus, Grant, LogFlags, TraceCondition, TracePolicy};

    /// Every category, by following an exhaustive successor function: adding a variant
    /// to the core does not compile until it is placed here (and then must be translated).
    pub(crate) fn all_categories() -> Vec<Category> {
        fn next(c: Category) -> Option<Category> {
            use Category::*;
            match c {
                DeviceNotRegistered => Some(DeviceNotCompliant),
                DeviceNotCompliant => Some(DeviceNotHybridJoined),
                DeviceNotHybridJoined => Some(OsVersionTooLow),
                OsVersionTooLow => Some(Device),
                Device => Some(Location),
                Location => Some(AnonymousNetwork),
                AnonymousNetwork => Some(Platform),
                Platform => Some(ClientApp),
                ClientApp => Some(ApprovedApp),
                ApprovedApp => Some(AppProtection),
                AppProtection => Some(Risk),
                Risk => Some(AuthenticationFlow),
                AuthenticationFlow => Some(Blocked),
                Blocked => Some(MfaRequired),
                MfaRequired => Some(AuthenticationStrength),
                AuthenticationStrength => Some(TermsOfUse),
                TermsOfUse => Some(PasswordChange),
                PasswordChange => None,
            }
        }
        std::iter::successors(Some(Category::DeviceNotRegistered), |c| next(*c)).collect()
    }

    #[test]
    fn every_problem_type_has_its_heading_in_docs_problems_md() {
        let doc = include_str!("../../../docs/problems.md");
        for c in all_categories() {
            let heading = format!("\n## {}\n", category_name(c));
            assert!(
                doc.contains(&heading),
                "docs/problems.md lacks `{}`",
                heading.trim()
            );
        }
    }

    /// Every user action, the same way.
    pub(crate) fn all_actions() -> Vec<UserAction> {
        fn next(a: UserAction) -> Option<UserAction> {
            use UserAction::*;
            match a {
                RegisterDevice => Some(MakeDeviceCompliant),
                MakeDeviceCompliant => Some(UpdateOs),
                UpdateOs => Some(UseAnotherDevice),
                UseAnotherDevice => Some(DisconnectVpn),
                DisconnectVpn => Some(SignInFromAllowedLocation),
                SignInFromAllowedLocation => Some(UseDesktopApp),
                UseDesktopApp => Some(UseBrowser),
                UseBrowser => Some(UseApprovedApp),
                UseApprovedApp => Some(UseModernClient),
                UseModernClient => Some(CompleteMfa),
                CompleteMfa => Some(CompleteMfaInHomeOrganization),
                CompleteMfaInHomeOrganization => Some(UseStrongerMethod),
                UseStrongerMethod => Some(ChangePassword),
                ChangePassword => Some(AcceptTermsOfUse),
                AcceptTermsOfUse => Some(WaitAndRetry),
                WaitAndRetry => Some(ContactSupport),
                ContactSupport => None,
            }
        }
        std::iter::successors(Some(UserAction::RegisterDevice), |a| next(*a)).collect()
    }

    #[test]
    fn every_category_action_condition_and_control_is_translated() {
        let en = messages::parse(messages::EN_SOURCE).unwrap();
        let fr = messages::parse(messages::FR_SOURCE).unwrap();
        let mut keys = Vec::new();
        let categories = all_categories();
        assert_eq!(categories.len(), 18);
        for c in categories {
            assert_eq!(
                serde_json::to_value(c).unwrap(),
                serde_json::Value::String(category_name(c).to_owned())
            );
            keys.push(format!("category-{}-title", category_name(c)));
            keys.push(format!("category-{}-text", category_name(c)));
        }
        let actions = all_actions();
        assert_eq!(actions.len(), 17);
        for a in actions {
            assert_eq!(
                serde_json::to_value(a).unwrap(),
                serde_json::Value::String(action_name(a).to_owned())
            );
            keys.push(format!("action-{}", action_name(a)));
        }
        keys.push("action-contactSupport-with".to_owned());
        keys.push("actions-together".to_owned());
        for c in SHOWN_CONDITIONS {
            keys.push(format!("condition-{c}"));
        }
        for c in Control::ALL {
            keys.push(format!("control-{}", c.as_str()));
        }
        for key in keys {
            assert!(en.contains_key(key.as_str()), "en.ftl lacks `{key}`");
            assert!(fr.contains_key(key.as_str()), "fr.ftl lacks `{key}`");
        }
    }

    #[test]
    fn time_and_labels() {
        assert_eq!(
            display_time("2025-03-01T10:20:30.123Z"),
            "2025-03-01 10:20:30 UTC"
        );
        assert_eq!(
            display_time("2025-03-01T10:20:30+00:00"),
            "2025-03-01 10:20:30 UTC"
        );
        assert_eq!(display_time("yesterday"), "yesterday");
        assert_eq!(
            display_time("2025-03-01T10:20:30+02:00"),
            "2025-03-01T10:20:30+02:00"
        );
        assert_eq!(platform_label("iOS", Lang::En), "iOS");
        assert_eq!(platform_label("", Lang::Fr), "Inconnu");
        assert_eq!(platform_label("tvOS", Lang::En), "tvOS");
        assert_eq!(client_app_label("browser", Lang::Fr), "Navigateur web");
        assert_eq!(
            trust_label(Some("ServerAD"), Lang::En),
            "Hybrid joined (company domain)"
        );
        assert_eq!(trust_label(None, Lang::Fr), "Aucun");
    }

    /// A hand-made report: `decision` (`deny`/`challenge`) with one enforced policy
    /// deciding; `grant` is `block`, `fail: c,..` or `interrupt: c,..` (control names).
    pub(crate) fn report(
        decision: &str,
        grant: &str,
        required: &[&str],
        category: Category,
        actions: &[UserAction],
    ) -> DecisionReport {
        let controls = |names: &[&str]| {
            let mut set = Controls::default();
            for n in names {
                let c = Control::ALL
                    .iter()
                    .find(|c| c.as_str() == n.trim())
                    .unwrap();
                set.insert(*c);
            }
            set
        };
        let grant = match grant.split_once(':') {
            None => GrantState::Block,
            Some(("fail", rest)) => {
                GrantState::Fail(controls(&rest.split(',').collect::<Vec<_>>()))
            }
            Some((_, rest)) => {
                GrantState::Interrupt(controls(&rest.split(',').collect::<Vec<_>>()))
            }
        };
        let condition = |condition: Condition| TraceCondition {
            condition,
            result: Outcome::Satisfied,
            detail: format!("{condition} detail from `Secret Named Location`"),
        };
        let mut satisfied = LogFlags::default();
        for c in [
            Condition::Application,
            Condition::Users,
            Condition::Location,
        ] {
            satisfied.insert(c);
        }
        let deny = decision == "deny";
        DecisionReport {
            decision: if deny {
                Decision::Deny
            } else {
                Decision::Challenge
            },
            error_code: deny.then_some(53003),
            conditional_access_status: CaStatus::Failure,
            required_controls: controls(required),
            applied_conditional_access_policies: vec![AppliedPolicy {
                id: "pol-secret-id".to_owned(),
                display_name: "Secret Policy Name".to_owned(),
                result: PolicyResult::Failure,
                enforced_grant_controls: vec!["Block".to_owned()],
                enforced_session_controls: Vec::new(),
                conditions_satisfied: satisfied,
                conditions_not_satisfied: LogFlags::default(),
            }],
            session_controls: serde_json::json!({}),
            explanation: Some(Explanation {
                category,
                temporary: category.is_temporary(),
                user_actions: actions.to_vec(),
                user_action_sets: actions
                    .iter()
                    .filter(|a| **a != UserAction::ContactSupport)
                    .map(|a| vec![*a])
                    .collect(),
                partial: false,
                admin_details: "policy `Secret Policy Name` (pol-secret-id); location: in `Secret Named Location`".to_owned(),
            }),
            trace: vec![TracePolicy {
                index: 0,
                policy_id: "pol-secret-id".to_owned(),
                display_name: "Secret Policy Name".to_owned(),
                state: PolicyState::Enabled,
                applies: true,
                conditions: vec![
                    condition(Condition::Users),
                    condition(Condition::Application),
                    condition(Condition::Location),
                    condition(Condition::ClientApps),
                ],
                grant: Grant(Some(grant)),
                grant_detail: "the policy blocks access".to_owned(),
            }],
            deciding_policy: Some(0),
        }
    }

    #[test]
    fn failing_lines_come_from_the_deciding_policy_and_controls() {
        let r = report("deny", "block", &["block"], Category::Location, &[]);
        let lines: Vec<_> = failing_lines(&r).into_iter().map(|f| f.key).collect();
        assert_eq!(
            lines,
            [
                "condition-location",
                "condition-clientApps",
                "control-block"
            ]
        );
        let r = report(
            "challenge",
            "interrupt: mfa",
            &["mfa"],
            Category::MfaRequired,
            &[],
        );
        let lines: Vec<_> = failing_lines(&r).into_iter().map(|f| f.key).collect();
        assert_eq!(
            lines,
            ["condition-location", "condition-clientApps", "control-mfa"]
        );
        // The deciding policy is the verdict's, whatever its grant says; without its trace
        // only the controls are listed.
        let r = report(
            "deny",
            "fail: mfa",
            &["compliantDevice"],
            Category::DeviceNotCompliant,
            &[],
        );
        assert_eq!(
            deciding_policy(&r).map(|p| p.policy_id.as_str()),
            Some("pol-secret-id")
        );
        let mut r = r;
        r.trace.clear();
        let lines: Vec<_> = failing_lines(&r).into_iter().map(|f| f.key).collect();
        assert_eq!(lines, ["control-compliantDevice"]);
    }

    /// W13: two blocks, P1 (desktop apps) first and P2 (device-code flow) second; the verdict
    /// is decided by P2 (its specialised code 530036 wins). The page used to re-derive the
    /// deciding policy from the report's strings (the first blocking policy) and showed
    /// P1's conditions under P2's error code; it now reads the verdict's deciding policy.
    #[test]
    fn w13_the_page_shows_the_conditions_of_the_policy_that_decided() {
        let vector: serde_json::Value = serde_json::from_str(include_str!(
            "../../../testdata/vectors/W13-tracked-refresh-blocked-by-a-flow-policy-and-a-gen.json"
        ))
        .unwrap();
        let source = gardien_core::TenantSource {
            combined: Some(gardien_core::SourceFile::new(
                "tenant.json",
                serde_json::to_vec(&vector["tenant"]).unwrap(),
            )),
            ..Default::default()
        };
        let tenant =
            gardien_core::CompiledTenant::compile(gardien_core::Tenant::load(&source).unwrap());
        let signin = gardien_core::SignIn::from_value("request.json", &vector["request"]).unwrap();
        let evaluation = tenant.evaluate(&signin);
        let report = DecisionReport::new(&tenant, &signin, &evaluation);
        assert_eq!(report.error_code, Some(530036));
        assert_eq!(
            deciding_policy(&report).map(|p| p.policy_id.as_str()),
            Some("P2")
        );
        let device = DeviceSummary::default();
        let ctx = DenialContext {
            report: &report,
            correlation_id: "c",
            timestamp: "2025-03-01T10:20:30Z",
            client_ip: None,
            application: "app",
            device: &device,
            disclosure: Disclosure::Detailed,
            support: None,
            status: 403,
        };
        for lang in [Lang::En, Lang::Fr] {
            let v = problem_json(&ctx, lang);
            assert_eq!(v["errorCode"], 530036);
            let names: Vec<&str> = v["failingConditions"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|f| f["name"].as_str())
                .collect();
            assert_eq!(names, ["authenticationFlow", "block"], "{lang:?}");
            let page = render_html(&ctx, lang);
            let flow = msg(lang, "condition-authenticationFlow");
            let client = msg(lang, "condition-clientApps");
            assert!(page.contains(&super::html::escape(flow)), "{lang:?}");
            assert!(!page.contains(&super::html::escape(client)), "{lang:?}");
        }
    }

    /// Every explanation vector (`testdata/explanations/`, sorted by file name): the file, its
    /// compiled tenant and its sign-in.
    fn explanation_vectors() -> Vec<(
        serde_json::Value,
        gardien_core::CompiledTenant,
        gardien_core::SignIn,
    )> {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/explanations");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| {
                let v: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
                let source = gardien_core::TenantSource {
                    combined: Some(gardien_core::SourceFile::new(
                        "tenant.json",
                        serde_json::to_vec(&v["tenant"]).unwrap(),
                    )),
                    ..Default::default()
                };
                let tenant = gardien_core::CompiledTenant::compile(
                    gardien_core::Tenant::load(&source).unwrap(),
                );
                let signin =
                    gardien_core::SignIn::from_value("request.json", &v["request"]).unwrap();
                (v, tenant, signin)
            })
            .collect()
    }

    /// The explanation vectors (`testdata/explanations/`) through the denial page, in
    /// English and French: the page offers the same actions as `gardien evaluate --json`.
    #[test]
    fn explanation_vectors_through_the_denial_page() {
        let vectors = explanation_vectors();
        assert!(vectors.len() >= 40);
        for (v, tenant, signin) in vectors {
            let id = v["id"].as_str().unwrap();
            let report = DecisionReport::new(&tenant, &signin, &tenant.evaluate(&signin));
            let device = DeviceSummary::default();
            let ctx = DenialContext {
                report: &report,
                correlation_id: "c",
                timestamp: "2025-03-01T10:20:30Z",
                client_ip: None,
                application: "app",
                device: &device,
                disclosure: Disclosure::Minimal,
                support: None,
                status: 403,
            };
            let want = &v["expect"];
            for lang in [Lang::En, Lang::Fr] {
                let problem = problem_json(&ctx, lang);
                assert_eq!(problem["category"], want["category"], "{id} {lang:?}");
                assert_eq!(problem["temporary"], want["temporary"], "{id} {lang:?}");
                assert_eq!(problem["userActions"], want["userActions"], "{id} {lang:?}");
                if let Some(sets) = want.get("userActionSets") {
                    assert_eq!(&problem["userActionSets"], sets, "{id} {lang:?}");
                }
                let page = render_html(&ctx, lang);
                // A combined change is one step of the list.
                for set in problem["userActionSets"].as_array().unwrap() {
                    let names: Vec<&str> = set
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter_map(|a| a.as_str())
                        .collect();
                    let step = format!("<li data-action=\"{}\">", names.join(" "));
                    assert!(page.contains(&step), "{id} {lang:?}: no step `{step}`");
                }
                for a in want["userActions"].as_array().unwrap() {
                    let key = format!("action-{}", a.as_str().unwrap());
                    let text = super::html::escape(msg(lang, &key));
                    assert!(
                        page.contains(&text),
                        "{id} {lang:?}: the page lacks `{text}`"
                    );
                }
            }
        }
    }

    /// What the search tries for each action (docs/explanations.md).
    fn candidate_change(a: UserAction) -> &'static str {
        use UserAction::*;
        match a {
            RegisterDevice => {
                "the device becomes registered (`trustType` `Workplace`, not compliant); offered for an unregistered device"
            }
            MakeDeviceCompliant => {
                "the (registered) device becomes compliant; an unregistered device needs `registerDevice` first"
            }
            UpdateOs => {
                "the device's OS version becomes each version the policies' device filters name, or the newest"
            }
            UseAnotherDevice => {
                "a company-owned, compliant, Entra-joined device on Windows (also hybrid joined), macOS, iOS, Android, Linux; and the devices each policy's device filter describes"
            }
            DisconnectVpn => {
                "off the anonymous network (and its sign-in risk), from the same address or any allowed place; offered behind a VPN/proxy"
            }
            SignInFromAllowedLocation => {
                "an address of each IP named location (trusted first) and each country location, and a country no country location names; for applications and user actions alike"
            }
            UseDesktopApp => {
                "the client becomes `mobileAppsAndDesktopClients`; offered to a browser"
            }
            UseBrowser => "the client becomes `browser`; offered to a desktop or mobile app",
            UseApprovedApp => "the session has an approved client app and an app protection policy",
            UseModernClient => "a legacy client (Exchange ActiveSync, other) becomes a modern app",
            CompleteMfa => {
                "password + Authenticator push, just now; not offered to a legacy client nor to an external user whose home tenant's MFA is trusted"
            }
            CompleteMfaInHomeOrganization => {
                "password + Authenticator push in the home tenant, just now; offered instead of completeMfa to an external user whose home tenant's MFA this tenant trusts"
            }
            UseStrongerMethod => {
                "a FIDO2 security key, just now (in the home tenant for an external user whose home tenant's MFA is trusted); not offered to a legacy client"
            }
            ChangePassword => "the password was changed in the session",
            AcceptTermsOfUse => "every terms of use the tenant's policies name are accepted",
            WaitAndRetry => "sign-in, user and insider risk back to none",
            ContactSupport => "always listed, last",
        }
    }

    /// docs/explanations.md, generated from the vocabulary, the EN/FR messages and the
    /// explanation vectors (the test below keeps the file current).
    fn explanations_doc() -> String {
        use std::fmt::Write as _;
        let mut d = String::new();
        d.push_str(include_str!("../../../docs/explanations.head.md"));
        d.push_str(
            "\n## Categories\n\n| Category | Temporary | English | French |\n|---|---|---|---|\n",
        );
        for c in all_categories() {
            let name = category_name(c);
            let _ = writeln!(
                d,
                "| `{name}` | {} | **{}** — {} | **{}** — {} |",
                if c.is_temporary() { "yes" } else { "no" },
                category_title(c, Lang::En),
                category_text(c, Lang::En),
                category_title(c, Lang::Fr),
                category_text(c, Lang::Fr),
            );
        }
        d.push_str("\n## Actions, in effort order\n\n| # | Action | Change tried (verified by re-evaluation) | English | French |\n|---|---|---|---|---|\n");
        for (i, a) in all_actions().into_iter().enumerate() {
            let key = format!("action-{}", action_name(a));
            let _ = writeln!(
                d,
                "| {} | `{}` | {} | {} | {} |",
                i + 1,
                action_name(a),
                candidate_change(a),
                msg(Lang::En, &key),
                msg(Lang::Fr, &key),
            );
        }
        d.push_str("\n## Examples\n\nGenerated from `testdata/explanations/` (each file also holds the tenant and the request).\n\n| Vector | Sign-in | Decision | Category | Temporary | `userActions` | `userActionSets` |\n|---|---|---|---|---|---|---|\n");
        for (v, tenant, signin) in explanation_vectors() {
            let report = DecisionReport::new(&tenant, &signin, &tenant.evaluate(&signin));
            let e = report.explanation.unwrap();
            let names = |a: &[UserAction]| {
                a.iter()
                    .map(|a| action_name(*a))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let sets: Vec<String> = e
                .user_action_sets
                .iter()
                .map(|s| format!("[{}]", names(s)))
                .collect();
            let _ = writeln!(
                d,
                "| {} | {} | {} | `{}` | {} | {} | {} |",
                v["id"].as_str().unwrap(),
                v["title"].as_str().unwrap(),
                report.decision,
                category_name(e.category),
                e.temporary,
                names(&e.user_actions),
                if sets.is_empty() {
                    "—".to_owned()
                } else {
                    sets.join(" ")
                },
            );
        }
        d
    }

    #[test]
    fn docs_explanations_md_is_current() {
        let want = explanations_doc();
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/explanations.md");
        if std::env::var_os("GARDIEN_UPDATE_DOCS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/explanations.md is out of date: run `GARDIEN_UPDATE_DOCS=1 cargo test -p gardien-server --lib docs_explanations_md_is_current`"
        );
    }

    #[test]
    fn disclosure_deserializes_lowercase() {
        let d: Disclosure = serde_json::from_str("\"detailed\"").unwrap();
        assert_eq!(d, Disclosure::Detailed);
        let d: Disclosure = serde_json::from_str("\"full\"").unwrap();
        assert_eq!(d, Disclosure::Full);
        assert!(serde_json::from_str::<Disclosure>("\"Full\"").is_err());
        assert_eq!(Disclosure::default(), Disclosure::Minimal);
    }
}
