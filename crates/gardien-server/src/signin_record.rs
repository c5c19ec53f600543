//! The Graph-shaped `signIn` record written for every decision (spec §5.1, §5.2).
//!
//! Field names are Graph's, so the same records feed `GET /v1/signins`, the JSON-lines export
//! and `gardien replay`. gardien adds one member, `gardien`, holding the decision, the pending
//! controls and the exact evaluate request (`SignIn::to_request_json`), so a replay rebuilds the
//! very sign-in that was decided instead of guessing it back from display strings.

use gardien_core::model::enums::{ClientAppType, RiskLevel};
use gardien_core::report::AppliedPolicy;
use gardien_core::{Decision, SignIn, Verdict};
use gardien_signals::Derived;
use gardien_signals::risk::Detection;
use serde_json::{Map, Value, json};

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
}

/// Graph's `clientAppUsed` string for a client app type.
pub fn client_app_used(t: Option<ClientAppType>) -> &'static str {
    match t {
        Some(ClientAppType::Browser) => "Browser",
        Some(ClientAppType::MobileAppsAndDesktopClients) => "Mobile Apps and Desktop clients",
        Some(ClientAppType::ExchangeActiveSync) => "Exchange ActiveSync",
        _ => "Other clients",
    }
}

/// `status.errorCode` of a decision: the AADSTS code of a deny, 50074 for a pending MFA or
/// other interactive control (Entra's "strong authentication required" interrupt), 0 allowed.
pub fn status_code(verdict: &Verdict) -> u32 {
    match verdict.decision {
        Decision::Allow => 0,
        Decision::Deny => verdict.error_code.unwrap_or(53003),
        Decision::Challenge => 50074,
    }
}

fn failure_reason(verdict: &Verdict) -> &'static str {
    match (verdict.decision, verdict.error_code) {
        (Decision::Allow, _) => "Other.",
        (Decision::Challenge, _) => {
            "Strong authentication is required and the user did not pass the challenge yet."
        }
        (Decision::Deny, Some(53000)) => {
            "Device is not in required device state: compliant. Conditional Access policy requires a compliant device, and the device is not compliant."
        }
        (Decision::Deny, Some(53001)) => "Device is not in required device state: domain joined.",
        (Decision::Deny, Some(53002)) => "Application used is not an approved application.",
        (Decision::Deny, Some(53009)) => {
            "Application used is not an approved application or has no app protection policy."
        }
        (Decision::Deny, _) => "Access has been blocked by Conditional Access policies.",
    }
}

fn risk_event(d: &Detection) -> &'static str {
    match d {
        Detection::AnonymousNetwork(_) => "anonymizedIPAddress",
        Detection::ImpossibleTravel { .. } => "unlikelyTravel",
        Detection::UnfamiliarCountry(_) => "unfamiliarFeatures",
    }
}

fn country(c: Option<[u8; 2]>) -> Value {
    c.map_or(Value::Null, |c| {
        Value::String(String::from_utf8_lossy(&c).into_owned())
    })
}

/// Builds the `signIn` record.
pub fn build(signin: &SignIn, derived: &Derived, parts: &RecordParts<'_>) -> Value {
    let v = parts.verdict;
    let (user_id, app_id) = ids(signin);
    let device = signin.device.as_ref();
    let text = |s: Option<&Box<str>>| s.map_or(Value::Null, |s| Value::String(s.to_string()));
    let operating_system = match (derived.platform.as_str(), &derived.os_version) {
        (p, Some(version)) => format!("{p} {version}"),
        (p, None) => p.to_owned(),
    };
    let mut device_detail = json!({
        "deviceId": device.map_or(Value::from(""), |d| text(d.device_id.as_ref())),
        "displayName": device.map_or(Value::from(""), |d| text(d.display_name.as_ref())),
        "operatingSystem": operating_system,
        "browser": "",
        "isCompliant": device.and_then(|d| d.is_compliant).unwrap_or(false),
        "isManaged": device.is_some_and(|d| d.trust_type.is_some()),
        "trustType": device.map_or(Value::from(""), |d| text(d.trust_type.as_ref())),
    });
    if let Some(id) = &derived.device_identifier {
        device_detail["gardienIdentifier"] = json!(id);
    }
    let location = json!({
        "city": null,
        "state": null,
        "countryOrRegion": country(signin.country),
        "geoCoordinates": derived.place.and_then(|p| p.coordinates).map_or(Value::Null,
            |(lat, lon)| json!({"latitude": lat, "longitude": lon, "altitude": null})),
    });
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
    let mfa = parts.mfa_done;
    let status = match v.decision {
        Decision::Deny | Decision::Challenge => "failure",
        Decision::Allow if !v.applied.is_empty() => "success",
        Decision::Allow => "notApplied",
    };
    let mut gardien = Map::new();
    gardien.insert("decision".into(), json!(v.decision.as_str()));
    gardien.insert(
        "requiredControls".into(),
        json!(v.required.iter().map(|c| c.as_str()).collect::<Vec<_>>()),
    );
    gardien.insert("request".into(), signin.to_request_json());
    let code = status_code(v);
    json!({
        "id": parts.correlation_id,
        "createdDateTime": crate::clock::rfc3339(parts.created_ms),
        "userId": user_id,
        "userPrincipalName": parts.user_principal_name,
        "userDisplayName": parts.user_display_name,
        "appId": app_id,
        "appDisplayName": parts.app_display_name,
        "ipAddress": derived.client_ip.address.map(|a| a.to_string()),
        "clientAppUsed": client_app_used(signin.client_app_type),
        "userAgent": parts.user_agent,
        "correlationId": parts.correlation_id,
        "isInteractive": true,
        "status": {
            "errorCode": code,
            "failureReason": failure_reason(v),
            "additionalDetails": if code == 0 { Value::Null } else { json!(format!("AADSTS{code}")) },
        },
        "deviceDetail": device_detail,
        "location": location,
        "riskLevelDuringSignIn": risk_level,
        "riskEventTypes_v2": risk_events,
        "conditionalAccessStatus": status,
        "authenticationRequirement": if mfa { "multiFactorAuthentication" } else { "singleFactorAuthentication" },
        "appliedConditionalAccessPolicies": parts.applied,
        "gardien": Value::Object(gardien),
    })
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
