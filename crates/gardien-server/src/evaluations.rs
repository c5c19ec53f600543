//! Remembered `/v1/evaluate` work for requests that repeat (a client's session asks about
//! the same sign-in again and again): the sign-in read from a request body, and the report
//! text of an allowed sign-in. One per policy set ([`crate::state::Live`]).
//!
//! Both are pure functions of what they are keyed by, within one policy set:
//! - a request body's sign-in is a function of the body's bytes and the directory (the
//!   policy set's); only bodies that were read without error are remembered, so every error
//!   is still reported by the parser itself;
//! - a report is a function of the compiled tenant and the sign-in decided. The sign-in's
//!   instant (`at`) is read by the evaluator only through [`DatedChange::in_force`] (the
//!   baseline-scopes rollout, the read-only approved-client-app note), so the key holds
//!   which dated changes are in force instead of the instant. Only allowed sign-ins are
//!   remembered: a deny or challenge carries an explanation whose search may be cut short
//!   under load (`partial`), an allow carries none. A remembered report is used only when
//!   the fresh verdict of the same sign-in is the one it was built with.
//!
//! Direct-mapped slots (a collision replaces the slot), each entry compared whole.

use axum::body::Bytes;
use gardien_core::dated::DATED_CHANGES;
use gardien_core::{Decision, SignIn, Verdict};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

/// Slots for request bodies and for reports, each.
pub const EVALUATE_CACHE_SLOTS: usize = 256;

/// Largest request body remembered, in bytes (a slot holds at most this and its sign-in).
pub const MAX_REMEMBERED_BODY: usize = 8 << 10;

/// Largest report text remembered, in bytes (the demo tenant's is ~9 KB; a 200-policy
/// tenant's is far larger and is built each time).
pub const MAX_REMEMBERED_REPORT: usize = 64 << 10;

/// Remembered sign-ins of request bodies and report texts of allowed sign-ins.
pub struct EvaluateCache {
    requests: Box<[Mutex<Option<RememberedRequest>>]>,
    reports: Box<[Mutex<Option<RememberedReport>>]>,
}

impl Default for EvaluateCache {
    fn default() -> Self {
        EvaluateCache {
            requests: (0..EVALUATE_CACHE_SLOTS)
                .map(|_| Mutex::new(None))
                .collect(),
            reports: (0..EVALUATE_CACHE_SLOTS)
                .map(|_| Mutex::new(None))
                .collect(),
        }
    }
}

impl std::fmt::Debug for EvaluateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvaluateCache")
            .field("slots", &self.requests.len())
            .finish()
    }
}

/// A request body and the sign-in read from it.
struct RememberedRequest {
    body: Box<[u8]>,
    signin: SignIn,
}

/// A sign-in (its instant aside), the dated changes in force at its instant, its verdict
/// and the report text.
struct RememberedReport {
    signin: SignIn,
    dated: u64,
    verdict: Verdict,
    text: Bytes,
}

/// A cheap hash of bytes, for choosing a slot (entries are compared whole).
fn bytes_slot(bytes: &[u8]) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(word)).wrapping_mul(0x0000_0100_0000_01b3);
        h ^= h >> 29;
    }
    for &b in chunks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = h.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> 56) as usize % EVALUATE_CACHE_SLOTS
}

/// The slot of a sign-in: a hash of who, from where, for what.
fn signin_slot(signin: &SignIn) -> usize {
    let mut h = std::hash::DefaultHasher::new();
    match &signin.subject {
        gardien_core::signin::Subject::User { id, .. }
        | gardien_core::signin::Subject::ServicePrincipal { id }
        | gardien_core::signin::Subject::Agent { id } => id.hash(&mut h),
    }
    signin.ip_address.hash(&mut h);
    if let gardien_core::signin::Target::Applications(apps) = &signin.target {
        apps.first().hash(&mut h);
    }
    (h.finish() >> 56) as usize % EVALUATE_CACHE_SLOTS
}

/// Which dated changes are in force at `at`, a bit per [`DATED_CHANGES`] entry (`None`
/// when the table outgrows the bits: nothing is then remembered). Every kind of change
/// counts, unlike [`gardien_core::dated::regime`] (enforcement changes only, the key of the
/// verdict caches through [`gardien_core::signin_key::encode`]): a report also carries the
/// notes of changes that do not alter the verdict, so that key would not do here.
pub fn dated_in_force(at: Option<i64>) -> Option<u64> {
    if DATED_CHANGES.len() > 64 {
        return None;
    }
    Some(
        DATED_CHANGES
            .iter()
            .enumerate()
            .filter(|(_, i)| i.change.in_force(at))
            .fold(0u64, |bits, (n, _)| bits | (1u64 << n)),
    )
}

/// Whether two sign-ins are equal, their instants aside (destructured field by field, so
/// a new field cannot be forgotten).
fn same_but_instant(a: &SignIn, b: &SignIn) -> bool {
    let SignIn {
        subject,
        target,
        client_app_type,
        device_platform,
        ip_address,
        country,
        device,
        sign_in_risk,
        user_risk,
        service_principal_risk,
        insider_risk,
        agent_risk,
        transfer_method,
        applied_policies_only,
        session,
        at: _,
    } = a;
    *subject == b.subject
        && *target == b.target
        && *client_app_type == b.client_app_type
        && *device_platform == b.device_platform
        && *ip_address == b.ip_address
        && *country == b.country
        && *device == b.device
        && *sign_in_risk == b.sign_in_risk
        && *user_risk == b.user_risk
        && *service_principal_risk == b.service_principal_risk
        && *insider_risk == b.insider_risk
        && *agent_risk == b.agent_risk
        && *transfer_method == b.transfer_method
        && *applied_policies_only == b.applied_policies_only
        && *session == b.session
}

impl EvaluateCache {
    /// The sign-in read before from exactly these bytes, if remembered.
    pub fn request(&self, body: &[u8]) -> Option<SignIn> {
        if body.len() > MAX_REMEMBERED_BODY {
            return None;
        }
        let guard = self.requests.get(bytes_slot(body))?.lock().ok()?;
        let remembered = guard.as_ref()?;
        (*remembered.body == *body).then(|| remembered.signin.clone())
    }

    /// Remembers the sign-in read without error from `body`.
    pub fn remember_request(&self, body: &[u8], signin: &SignIn) {
        if body.len() > MAX_REMEMBERED_BODY {
            return;
        }
        if let Some(slot) = self.requests.get(bytes_slot(body))
            && let Ok(mut guard) = slot.lock()
        {
            *guard = Some(RememberedRequest {
                body: body.into(),
                signin: signin.clone(),
            });
        }
    }

    /// The report text of `signin` decided with `verdict`, if an equal sign-in (at an
    /// instant with the same dated changes in force) was allowed with the same verdict.
    pub fn report(&self, signin: &SignIn, verdict: &Verdict) -> Option<Bytes> {
        if verdict.decision != Decision::Allow {
            return None;
        }
        let dated = dated_in_force(signin.at)?;
        let guard = self.reports.get(signin_slot(signin))?.lock().ok()?;
        let remembered = guard.as_ref()?;
        (remembered.dated == dated
            && remembered.verdict == *verdict
            && same_but_instant(&remembered.signin, signin))
        .then(|| remembered.text.clone())
    }

    /// Remembers the report text of an allowed sign-in (the sign-in is kept: given owned).
    pub fn remember_report(&self, signin: SignIn, verdict: &Verdict, text: &Bytes) {
        if verdict.decision != Decision::Allow || text.len() > MAX_REMEMBERED_REPORT {
            return;
        }
        let Some(dated) = dated_in_force(signin.at) else {
            return;
        };
        if let Some(slot) = self.reports.get(signin_slot(&signin))
            && let Ok(mut guard) = slot.lock()
        {
            *guard = Some(RememberedReport {
                signin,
                dated,
                verdict: *verdict,
                text: text.clone(),
            });
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use super::*;
    use gardien_core::eval::grant::Controls;

    /// The verdict of a tenant without policies: an allow.
    fn allow() -> Verdict {
        let tenant = crate::snapshot::compile("t", &serde_json::json!({"policies": []}))
            .unwrap_or_else(|e| panic!("{e}"));
        let v = tenant.decide(&SignIn::user("u1", &["a1"]));
        assert_eq!(v.decision, Decision::Allow);
        v
    }

    #[test]
    fn requests_answer_only_the_same_bytes() {
        let cache = EvaluateCache::default();
        let signin = SignIn::user("u1", &["a1"]);
        cache.remember_request(b"{\"a\":1}", &signin);
        assert_eq!(cache.request(b"{\"a\":1}"), Some(signin.clone()));
        assert_eq!(cache.request(b"{\"a\":1} "), None);
        assert_eq!(cache.request(b"{\"a\":2}"), None);
        let big = vec![b' '; MAX_REMEMBERED_BODY + 1];
        cache.remember_request(&big, &signin);
        assert_eq!(cache.request(&big), None);
    }

    #[test]
    fn reports_answer_equal_allowed_sign_ins_with_the_same_dated_changes() {
        let cache = EvaluateCache::default();
        let v = allow();
        let text = Bytes::from_static(b"{\"decision\":\"allow\"}");
        let mut s = SignIn::user("u1", &["a1"]);
        s.at = Some(1_790_000_000);
        cache.remember_report(s.clone(), &v, &text);
        // Another instant with the same changes in force: the same report.
        let mut later = s.clone();
        later.at = Some(1_790_000_100);
        assert_eq!(cache.report(&later, &v), Some(text.clone()));
        // Before a dated change: not the same.
        let mut before = s.clone();
        before.at = Some(1_781_481_599);
        assert_ne!(dated_in_force(before.at), dated_in_force(s.at));
        assert_eq!(cache.report(&before, &v), None);
        // Another sign-in, another verdict: not the same.
        let mut other = s.clone();
        other.session.refresh = true;
        assert_eq!(cache.report(&other, &v), None);
        let mut required = v;
        required.required = Controls::default();
        required.error_code = Some(53003);
        assert_eq!(cache.report(&s, &required), None);
        // Deny and challenge are never remembered.
        let deny = Verdict {
            decision: Decision::Deny,
            ..v
        };
        let fresh = EvaluateCache::default();
        fresh.remember_report(s.clone(), &deny, &text);
        assert_eq!(fresh.report(&s, &deny), None);
    }
}
