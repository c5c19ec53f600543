//! The Graph-shaped `signIn` record written for every decision (docs/reference/entra-semantics.md
//! §5.1, §5.2).
//!
//! The record type is the core's ([`gardien_core::signin_log::Record`]): field names are
//! Graph's, so the same records feed `GET /v1/signins`, the JSON-lines export and
//! `gardien replay`. gardien adds one member, `gardien`, holding the decision, the pending
//! controls and the exact evaluate request (`SignIn::to_request_json`), so a replay rebuilds the
//! very sign-in that was decided instead of guessing it back from display strings.

use crate::clean::{MAX_LOGGED_FIELD, truncate};
use gardien_core::model::enums::RiskLevel;
use gardien_core::report::AppliedPoliciesJson;
use gardien_core::signin_log::record::{
    Coordinates, Denial, DenialDevice, DeviceDetail, GardienMember, List, Location, Member,
    Policies, Record, RequestMember, Scalar, Status,
};
pub use gardien_core::signin_log::{client_app_used, status_code};
use gardien_core::signin_log::{failure_reason, operating_system};
use gardien_core::{CompiledTenant, Evaluation};
use gardien_core::{Decision, SignIn, Verdict};
use gardien_signals::Derived;
use gardien_signals::risk::Detection;
use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::value::RawValue;
use std::sync::{Arc, Mutex};

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
    pub applied: Applied<'a>,
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

/// The per-policy results of a record (`appliedConditionalAccessPolicies`): serialized from
/// the evaluation's records, or the same text already serialized ([`AppliedCache`]).
#[derive(Debug, Clone, Copy)]
pub enum Applied<'a> {
    /// Serialized from the records.
    Records(AppliedPoliciesJson<'a>),
    /// The text of an earlier evaluation with the same per-policy outcomes.
    Text(&'a RawValue),
}

impl Serialize for Applied<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Applied::Records(records) => records.serialize(s),
            Applied::Text(text) => text.serialize(s),
        }
    }
}

/// Evaluations whose text [`AppliedCache`] keeps before it starts again from empty.
pub const APPLIED_CACHE_CAPACITY: usize = 4096;

/// Bytes of keys and texts [`AppliedCache`] keeps before it starts again from empty (a
/// 200-policy set writes about 50 KB per text).
pub const APPLIED_CACHE_BYTES: usize = 16 << 20;

/// `appliedConditionalAccessPolicies` texts of recent evaluations of one policy set, by
/// per-policy outcome.
///
/// The text is a function of the policy set and of each policy's result and condition
/// outcomes, and repeated sign-ins share it (forward-auth asks for every request of a page,
/// with the same user, device, address and application): serializing every policy's names
/// and flags for every record cost about 4.7 k instructions per policy (on a 200-policy set,
/// most of a decision's cost). The key is every record's index, result and condition
/// outcomes, so equal keys give equal texts. One cache per policy set
/// ([`crate::state::Live`]); at most [`APPLIED_CACHE_CAPACITY`] keys and
/// [`APPLIED_CACHE_BYTES`] bytes, emptied when full.
#[derive(Default)]
pub struct AppliedCache {
    entries: Mutex<AppliedTexts>,
}

/// Texts by key, and the bytes of keys and texts held.
type AppliedTexts = (FxHashMap<Box<[u8]>, Arc<RawValue>>, usize);

impl std::fmt::Debug for AppliedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppliedCache")
            .field("entries", &self.len())
            .finish()
    }
}

impl AppliedCache {
    /// The text of `evaluation`'s per-policy results with `tenant` (the policy set this
    /// cache belongs to); `None` only if it cannot be serialized.
    pub fn text(&self, tenant: &CompiledTenant, evaluation: &Evaluation) -> Option<Arc<RawValue>> {
        let mut key = Vec::with_capacity(evaluation.policies.len() * 8);
        for r in &evaluation.policies {
            key.extend_from_slice(&u32::try_from(r.index).unwrap_or(u32::MAX).to_le_bytes());
            key.push(r.result as u8);
            key.push(r.conditions.len() as u8);
            for c in r.conditions.iter() {
                key.push(c.condition as u8);
                key.push(c.outcome as u8);
            }
        }
        if let Some(found) = self
            .entries
            .lock()
            .ok()
            .and_then(|m| m.0.get(key.as_slice()).cloned())
        {
            return Some(found);
        }
        // Serialized once (not parsed back): a miss costs what the records cost without
        // the cache, plus the key.
        let text: Arc<RawValue> = Arc::from(
            serde_json::value::to_raw_value(&AppliedPoliciesJson { tenant, evaluation }).ok()?,
        );
        let size = key.len() + text.get().len();
        if let Ok(mut guard) = self.entries.lock() {
            let (map, bytes) = &mut *guard;
            if map.len() >= APPLIED_CACHE_CAPACITY || *bytes + size > APPLIED_CACHE_BYTES {
                map.clear();
                *bytes = 0;
            }
            if map.insert(key.into_boxed_slice(), text.clone()).is_none() {
                *bytes += size;
            }
        }
        Some(text)
    }

    /// Keys remembered now.
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |m| m.0.len())
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<'a> From<&'a crate::denial::DeviceSummary> for DenialDevice<'a> {
    fn from(d: &'a crate::denial::DeviceSummary) -> Self {
        DenialDevice {
            registered: Some(Scalar::Bool(d.registered)),
            compliant: Some(d.compliant.map_or(Scalar::Null, Scalar::Bool)),
            trust_type: Some(Scalar::or_null(d.trust_type.as_deref())),
            platform: Some(Scalar::from(d.platform.as_str())),
            os_version: Some(Scalar::or_null(d.os_version.as_deref())),
            client_app: Some(Scalar::from(d.client_app.as_str())),
        }
    }
}

fn risk_event(d: &Detection) -> &'static str {
    match d {
        Detection::AnonymousNetwork(_) => "anonymizedIPAddress",
        Detection::ImpossibleTravel { .. } => "unlikelyTravel",
        Detection::UnfamiliarCountry(_) => "unfamiliarFeatures",
    }
}

/// Builds the `signIn` record as JSON text: the core's [`Record`] (the one sign-in record
/// type, also what replay reads), serialized straight to text (no intermediate JSON tree:
/// this runs for every decision). Every string that comes from the request is cut to
/// [`MAX_LOGGED_FIELD`] bytes (marked with [`crate::clean::TRUNCATED`]): a record costs the
/// log a few KiB, whatever the client sends.
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
        Scalar::from(device.and_then(|d| f(d).map(|s| &**s)).unwrap_or(""))
    };
    let operating_system = operating_system(
        derived.platform,
        derived.os_version.map(|v| v.to_string()).as_deref(),
    );
    let (risk_level, risk_events) = match &derived.risk {
        Some(r) => (
            r.level.as_str(),
            List::names(r.detections.iter().map(risk_event)),
        ),
        None => (
            signin.sign_in_risk.unwrap_or(RiskLevel::None).as_str(),
            List::Value(Vec::new()),
        ),
    };
    let code = status_code(v);
    let country = signin
        .country
        .map(|c| String::from_utf8_lossy(&c).into_owned());
    let denial = match &parts.denial {
        None => Member::Absent,
        Some(d) => Member::Value(Denial {
            key_sha256: Some(Scalar::from(d.key_sha256)),
            device: Member::Value(DenialDevice::from(d.device)),
        }),
    };
    let record = Record {
        id: Some(Scalar::from(parts.correlation_id)),
        created_date_time: Some(Scalar::from(crate::clock::rfc3339(parts.created_ms))),
        user_id: Some(Scalar::from(&*user_id)),
        user_principal_name: Some(Scalar::or_null(user_principal_name.as_deref())),
        user_display_name: Some(Scalar::or_null(user_display_name.as_deref())),
        app_id: Some(Scalar::from(&*app_id)),
        app_display_name: Some(Scalar::from(&*app_display_name)),
        ip_address: Some(
            derived
                .client_ip
                .address
                .map_or(Scalar::Null, |a| Scalar::from(a.to_string())),
        ),
        client_app_used: Some(Scalar::from(client_app_used(signin.client_app_type))),
        user_agent: Some(Scalar::or_null(user_agent.as_deref())),
        correlation_id: Some(Scalar::from(parts.correlation_id)),
        is_interactive: Some(Scalar::Bool(true)),
        status: Member::Value(Status {
            error_code: Some(Scalar::Int(i64::from(code))),
            failure_reason: Some(Scalar::from(failure_reason(v))),
            additional_details: Some(if code == 0 {
                Scalar::Null
            } else {
                Scalar::from(format!("AADSTS{code}"))
            }),
        }),
        device_detail: Member::Value(DeviceDetail {
            device_id: Some(text(|d| d.device_id.as_ref())),
            display_name: Some(text(|d| d.display_name.as_ref())),
            operating_system: Some(Scalar::from(operating_system)),
            browser: Some(Scalar::from("")),
            is_compliant: Some(Scalar::Bool(
                device.and_then(|d| d.is_compliant).unwrap_or(false),
            )),
            is_managed: Some(Scalar::Bool(device.is_some_and(|d| d.trust_type.is_some()))),
            trust_type: Some(text(|d| d.trust_type.as_ref())),
            gardien_identifier: device_identifier.as_deref().map(Scalar::from),
        }),
        location: Member::Value(Location {
            city: Some(Scalar::Null),
            state: Some(Scalar::Null),
            country_or_region: Some(country.map_or(Scalar::Null, Scalar::from)),
            geo_coordinates: match derived.place.and_then(|p| p.coordinates) {
                Some((latitude, longitude)) => Member::Value(Coordinates {
                    latitude: Some(Scalar::Number(latitude)),
                    longitude: Some(Scalar::Number(longitude)),
                    altitude: Some(Scalar::Null),
                }),
                None => Member::Null,
            },
        }),
        risk_level_during_sign_in: Some(Scalar::from(risk_level)),
        risk_event_types_v2: risk_events,
        conditional_access_status: Some(Scalar::from(match v.decision {
            Decision::Deny | Decision::Challenge => "failure",
            Decision::Allow if !v.applied.is_empty() => "success",
            Decision::Allow => "notApplied",
        })),
        authentication_requirement: Some(Scalar::from(if parts.mfa_done {
            "multiFactorAuthentication"
        } else {
            "singleFactorAuthentication"
        })),
        applied_policies: match parts.applied {
            Applied::Records(records) => Policies::Evaluation(records),
            Applied::Text(text) => Policies::Text(text),
        },
        gardien: Member::Value(GardienMember {
            decision: Some(Scalar::from(v.decision.as_str())),
            required_controls: List::names(v.required.iter().map(|c| c.as_str())),
            policy_version: Some(Scalar::Int(parts.policy_version)),
            denial,
            request: Some(RequestMember::Written(signin)),
            evaluated_at: signin
                .at
                .filter(|at| *at != parts.created_ms.div_euclid(1000))
                .map(|at| Scalar::from(gardien_core::time::format_rfc3339(at))),
        }),
        ..Record::default()
    };
    // Serializing strings, numbers and JSON values cannot fail.
    serde_json::to_string(&record).unwrap_or_default()
}

/// The user id and first application id of a sign-in (empty when absent).
pub fn ids(signin: &SignIn) -> (String, String) {
    let user = match &signin.subject {
        gardien_core::signin::Subject::User { id, .. } => id.to_string(),
        gardien_core::signin::Subject::ServicePrincipal { id }
        | gardien_core::signin::Subject::Agent { id } => id.to_string(),
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

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test setup")]
mod tests {
    use super::*;

    #[test]
    fn cached_applied_text_is_the_serialized_one_per_outcome_pattern() {
        let source = gardien_core::TenantSource {
            combined: Some(gardien_core::SourceFile::new(
                "tenant.json",
                serde_json::json!({"policies": [
                    {"id": "p1", "displayName": "Block \"legacy\"", "state": "enabled",
                     "conditions": {"users": {"includeUsers": ["All"]},
                                    "applications": {"includeApplications": ["All"]},
                                    "clientAppTypes": ["exchangeActiveSync", "other"]},
                     "grantControls": {"operator": "OR", "builtInControls": ["block"]}},
                    {"id": "p2", "displayName": "MFA", "state": "enabledForReportingButNotEnforced",
                     "conditions": {"users": {"includeUsers": ["All"]},
                                    "applications": {"includeApplications": ["All"]}},
                     "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}},
                    {"id": "p3", "displayName": "Off", "state": "disabled",
                     "conditions": {"users": {"includeUsers": ["All"]},
                                    "applications": {"includeApplications": ["All"]}},
                     "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}
                ]})
                .to_string(),
            )),
            ..Default::default()
        };
        let tenant =
            gardien_core::CompiledTenant::compile(gardien_core::Tenant::load(&source).unwrap());
        let cache = AppliedCache::default();
        let browser = {
            let mut s = SignIn::user("u1", &["a1"]);
            s.client_app_type = Some(gardien_core::model::enums::ClientAppType::Browser);
            s
        };
        let mut legacy = browser.clone();
        legacy.client_app_type = Some(gardien_core::model::enums::ClientAppType::Other);
        let mut other_user = browser.clone();
        other_user.subject = SignIn::user("u2", &[]).subject;
        for (s, entries) in [(&browser, 1), (&legacy, 2), (&browser, 2), (&other_user, 2)] {
            let evaluation = tenant.evaluate(s);
            let direct = serde_json::to_string(&AppliedPoliciesJson {
                tenant: &tenant,
                evaluation: &evaluation,
            })
            .unwrap();
            let text = cache.text(&tenant, &evaluation).unwrap();
            assert_eq!(text.get(), direct);
            // Same outcomes (another user the policies treat alike): the same entry.
            assert_eq!(cache.len(), entries);
        }
    }
}
