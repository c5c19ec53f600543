//! The Graph-shaped `signIn` record written for every decision (docs/reference/entra-semantics.md
//! §5.1, §5.2).
//!
//! Field names are Graph's, so the same records feed `GET /v1/signins`, the JSON-lines export
//! and `gardien replay`. gardien adds one member, `gardien`, holding the decision, the pending
//! controls and the exact evaluate request (`SignIn::to_request_json`), so a replay rebuilds the
//! very sign-in that was decided instead of guessing it back from display strings.

use crate::clean::{MAX_LOGGED_FIELD, truncate};
use gardien_core::model::enums::RiskLevel;
use gardien_core::report::AppliedPolicy;
pub use gardien_core::signin_log::{client_app_used, status_code};
use gardien_core::signin_log::{failure_reason, operating_system};
use gardien_core::{Decision, SignIn, Verdict};
use gardien_signals::Derived;
use gardien_signals::risk::Detection;
use serde::Serialize;
use serde_json::Value;

/// What a record is made of, besides the sign-in and its derivation.
#[derive(Debug)]
pub struct RecordParts<'a> {
    /// Correlation id (also the record id).
    pub correlation_id: &'a str,
    /// When, in milliseconds since the epoch.
    pub created_ms: i64,
    /// The user's principal name / email, when the identity gave one.
    pub user_principal_name: Option<&'a str>,
    /// The user's display name, when known.
    pub user_display_name: Option<&'a str>,
    /// Display name of the application.
    pub app_display_name: &'a str,
    /// The User-Agent, as sent.
    pub user_agent: Option<&'a str>,
    /// The decision.
    pub verdict: &'a Verdict,
    /// Per-policy results.
    pub applied: &'a [AppliedPolicy],
    /// The session's methods satisfy multifactor authentication.
    pub mfa_done: bool,
    /// Version of the policy set that decided.
    pub policy_version: i64,
    /// For a deny or challenge: what another replica needs to show its page.
    pub denial: Option<DenialParts<'a>>,
}

/// The denial page's part of a record: the SHA-256 of the page key's secret (the key itself
/// never reaches the log) and the device as the page shows it. With the exact request and
/// the policy version, any replica sharing the log can show the page again.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DenialParts<'a> {
    /// Hex SHA-256 of the secret half of the page key.
    pub key_sha256: &'a str,
    /// The device line of the page.
    pub device: &'a crate::denial::DeviceSummary,
}

fn risk_event(d: &Detection) -> &'static str {
    match d {
        Detection::AnonymousNetwork(_) => "anonymizedIPAddress",
        Detection::ImpossibleTravel { .. } => "unlikelyTravel",
        Detection::UnfamiliarCountry(_) => "unfamiliarFeatures",
    }
}

fn country(c: Option<[u8; 2]>) -> Option<String> {
    c.map(|c| String::from_utf8_lossy(&c).into_owned())
}

/// `status` of a record.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    error_code: u32,
    failure_reason: &'static str,
    additional_details: Option<String>,
}

/// `deviceDetail` of a record.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeviceDetail<'a> {
    device_id: &'a str,
    display_name: &'a str,
    operating_system: String,
    browser: &'static str,
    is_compliant: bool,
    is_managed: bool,
    trust_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    gardien_identifier: Option<&'a str>,
}

/// `geoCoordinates` of a record.
#[derive(Serialize)]
struct Coordinates {
    latitude: f64,
    longitude: f64,
    altitude: Option<f64>,
}

/// `location` of a record.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    city: Option<&'static str>,
    state: Option<&'static str>,
    country_or_region: Option<String>,
    geo_coordinates: Option<Coordinates>,
}

/// gardien's own member: the decision and the exact request, for replay.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GardienMember<'a> {
    decision: &'static str,
    required_controls: Vec<&'static str>,
    policy_version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    denial: Option<DenialParts<'a>>,
    request: Value,
    /// The instant the sign-in was decided as of, when it is not `createdDateTime` (an
    /// evaluation "as of" another time): replay and the denial page read it back.
    #[serde(skip_serializing_if = "Option::is_none")]
    evaluated_at: Option<String>,
}

/// The whole record, serialized straight to text (no intermediate JSON tree: this runs
/// for every decision).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    id: &'a str,
    created_date_time: String,
    user_id: &'a str,
    user_principal_name: Option<&'a str>,
    user_display_name: Option<&'a str>,
    app_id: &'a str,
    app_display_name: &'a str,
    ip_address: Option<String>,
    client_app_used: &'static str,
    user_agent: Option<&'a str>,
    correlation_id: &'a str,
    is_interactive: bool,
    status: Status,
    device_detail: DeviceDetail<'a>,
    location: Location,
    risk_level_during_sign_in: &'static str,
    #[serde(rename = "riskEventTypes_v2")]
    risk_event_types_v2: Vec<&'static str>,
    conditional_access_status: &'static str,
    authentication_requirement: &'static str,
    applied_conditional_access_policies: &'a [AppliedPolicy],
    gardien: GardienMember<'a>,
}

/// Builds the `signIn` record as JSON text. Every string that comes from the request is cut
/// to [`MAX_LOGGED_FIELD`] bytes (marked with [`crate::clean::TRUNCATED`]): a record costs
/// the log a few KiB, whatever the client sends.
pub fn build(signin: &SignIn, derived: &Derived, parts: &RecordParts<'_>) -> String {
    let v = parts.verdict;
    let (user_id, app_id) = ids(signin);
    let user_id = truncate(&user_id, MAX_LOGGED_FIELD);
    let app_id = truncate(&app_id, MAX_LOGGED_FIELD);
    let user_principal_name = parts
        .user_principal_name
        .map(|s| truncate(s, MAX_LOGGED_FIELD));
    let user_display_name = parts
        .user_display_name
        .map(|s| truncate(s, MAX_LOGGED_FIELD));
    let app_display_name = truncate(parts.app_display_name, MAX_LOGGED_FIELD);
    let user_agent = parts.user_agent.map(|s| truncate(s, MAX_LOGGED_FIELD));
    let device_identifier = derived
        .device_identifier
        .as_deref()
        .map(|s| truncate(s, MAX_LOGGED_FIELD));
    let device = signin.device.as_ref();
    let text = |f: fn(&gardien_core::device::DeviceInfo) -> Option<&Box<str>>| {
        device.and_then(|d| f(d).map(|s| &**s)).unwrap_or("")
    };
    let operating_system = operating_system(
        derived.platform,
        derived.os_version.map(|v| v.to_string()).as_deref(),
    );
    let (risk_level, risk_events) = match &derived.risk {
        Some(r) => (
            r.level.as_str(),
            r.detections.iter().map(risk_event).collect::<Vec<_>>(),
        ),
        None => (
            signin.sign_in_risk.unwrap_or(RiskLevel::None).as_str(),
            Vec::new(),
        ),
    };
    let code = status_code(v);
    let record = Record {
        id: parts.correlation_id,
        created_date_time: crate::clock::rfc3339(parts.created_ms),
        user_id: &user_id,
        user_principal_name: user_principal_name.as_deref(),
        user_display_name: user_display_name.as_deref(),
        app_id: &app_id,
        app_display_name: &app_display_name,
        ip_address: derived.client_ip.address.map(|a| a.to_string()),
        client_app_used: client_app_used(signin.client_app_type),
        user_agent: user_agent.as_deref(),
        correlation_id: parts.correlation_id,
        is_interactive: true,
        status: Status {
            error_code: code,
            failure_reason: failure_reason(v),
            additional_details: (code != 0).then(|| format!("AADSTS{code}")),
        },
        device_detail: DeviceDetail {
            device_id: text(|d| d.device_id.as_ref()),
            display_name: text(|d| d.display_name.as_ref()),
            operating_system,
            browser: "",
            is_compliant: device.and_then(|d| d.is_compliant).unwrap_or(false),
            is_managed: device.is_some_and(|d| d.trust_type.is_some()),
            trust_type: text(|d| d.trust_type.as_ref()),
            gardien_identifier: device_identifier.as_deref(),
        },
        location: Location {
            city: None,
            state: None,
            country_or_region: country(signin.country),
            geo_coordinates: derived.place.and_then(|p| p.coordinates).map(
                |(latitude, longitude)| Coordinates {
                    latitude,
                    longitude,
                    altitude: None,
                },
            ),
        },
        risk_level_during_sign_in: risk_level,
        risk_event_types_v2: risk_events,
        conditional_access_status: match v.decision {
            Decision::Deny | Decision::Challenge => "failure",
            Decision::Allow if !v.applied.is_empty() => "success",
            Decision::Allow => "notApplied",
        },
        authentication_requirement: if parts.mfa_done {
            "multiFactorAuthentication"
        } else {
            "singleFactorAuthentication"
        },
        applied_conditional_access_policies: parts.applied,
        gardien: GardienMember {
            decision: v.decision.as_str(),
            required_controls: v.required.iter().map(|c| c.as_str()).collect(),
            policy_version: parts.policy_version,
            denial: parts.denial,
            request: signin.to_request_json(),
            evaluated_at: signin
                .at
                .filter(|at| *at != parts.created_ms.div_euclid(1000))
                .map(gardien_core::time::format_rfc3339),
        },
    };
    // Serializing plain structs of strings, numbers and a `Value` cannot fail.
    serde_json::to_string(&record).unwrap_or_default()
}

/// The user id and first application id of a sign-in (empty when absent).
pub fn ids(signin: &SignIn) -> (String, String) {
    let user = match &signin.subject {
        gardien_core::signin::Subject::User { id, .. } => id.to_string(),
        gardien_core::signin::Subject::ServicePrincipal { id } => id.to_string(),
    };
    let app = match &signin.target {
        gardien_core::signin::Target::Applications(apps) => {
            apps.first().map(|a| a.to_string()).unwrap_or_default()
        }
        gardien_core::signin::Target::UserAction(a) => a.urn().to_owned(),
        gardien_core::signin::Target::AuthContext(c) => c.to_string(),
    };
    (user, app)
}
