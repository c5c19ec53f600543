//! One pipeline from an HTTP request to a logged decision, shared by forward-auth, Envoy
//! `ext_authz` and `/v1/evaluate`: identity → signals → `decide` → (trace only for a deny or
//! challenge) → sign-in record → log. The views (status codes, pages, JSON) read its result.

use crate::clock::{now_ms, rfc3339};
use crate::config::{Acknowledge, AppRoute};
use crate::denial::DeviceSummary;
use crate::denials::DenialRecord;
use crate::identity::{IDENTITY_HEADERS, Identity, IdentityError};
use crate::metrics::Metrics;
use crate::signin_record::{self, Applied, DenialParts, Fragments, RecordParts};
use crate::state::AppState;
use gardien_core::eval::input::Outcome;
use gardien_core::eval::{PolicyRecord, PolicyResult};
use gardien_core::report::{AppliedPoliciesJson, DecisionReport};
use gardien_core::signin::Subject;
use gardien_core::signin_log::Element;
use gardien_core::signin_log::record::{integer, text};
use gardien_core::{CompiledTenant, Decision, SignIn, UserLookup, Verdict};
use gardien_signals::Derived;
use gardien_signals::Signals;
use gardien_signals::headers::Found;
use gardien_signals::path::prefix_matches;
use gardien_signals::risk::PastSignIn;
use gardien_signals::signals::{RequestContext, SIGNAL_HEADERS};
use gardien_store::{SignInFilter, SignInRecord};
use http::{HeaderMap, HeaderName};
use serde::Deserialize;
use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The request a proxy asks about: original method, host and path (borrowed from the
/// request's headers when they give them as they are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original<'a> {
    /// HTTP method, upper case.
    pub method: Cow<'a, str>,
    /// Host, lower case, without port.
    pub host: Cow<'a, str>,
    /// Path and query.
    pub uri: Cow<'a, str>,
}

/// A Host header value without port or brackets, lower case.
pub fn bare_host(host: &str) -> String {
    bare_host_in(host).into_owned()
}

/// As [`bare_host`], borrowed when the host is lower case already.
fn bare_host_in(host: &str) -> Cow<'_, str> {
    // The common case, a lower-case name: nothing to split, trim, strip or lower-case.
    if host
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return Cow::Borrowed(host);
    }
    bare_host_by_parts(host)
}

/// [`bare_host_in`] step by step: the first of a list, trimmed, without port or brackets,
/// lower case.
fn bare_host_by_parts(host: &str) -> Cow<'_, str> {
    let host = host.split(',').next().unwrap_or("").trim();
    let without_port = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(h, _)| h)
    };
    if without_port.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(without_port.to_ascii_lowercase())
    } else {
        Cow::Borrowed(without_port)
    }
}

impl<'a> Original<'a> {
    /// The original request of a forward-auth subrequest. `X-Original-*` (nginx) and
    /// `X-Forwarded-*` (Traefik, Caddy) are read only from a trusted proxy; otherwise the
    /// request is taken for itself (and will match no application unless one is mapped).
    pub fn from_forward_auth(
        headers: &'a HeaderMap,
        trusted: bool,
        method: &'a str,
        uri: &'a str,
    ) -> Self {
        Original::from_forward_auth_with(headers, trusted, method, || uri.to_owned())
    }

    /// As [`Original::from_forward_auth`], with the request's own URI made only when no
    /// trusted header gives the original one.
    pub fn from_forward_auth_with(
        headers: &'a HeaderMap,
        trusted: bool,
        method: &'a str,
        uri: impl FnOnce() -> String,
    ) -> Self {
        let found = gardien_signals::headers::scan(headers, ORIGINAL_NAMES.each_ref().map(Some));
        Original::from_found(&found, trusted, method, uri)
    }

    /// As [`Original::from_forward_auth_with`], from the values of [`ORIGINAL_NAMES`] found
    /// in the request's headers (same order; [`RequestHeaders`]).
    pub fn from_found(
        found: &[Found<'a>; ORIGINAL_HEADERS],
        trusted: bool,
        method: &'a str,
        uri: impl FnOnce() -> String,
    ) -> Self {
        let [
            original_method,
            forwarded_method,
            original_uri,
            forwarded_uri,
            forwarded_host,
            original_host,
            host,
        ] = *found;
        let pick = |names: [Found<'a>; 2]| {
            if trusted {
                names.iter().find_map(Found::text)
            } else {
                None
            }
        };
        let method = pick([original_method, forwarded_method]).unwrap_or(method);
        let uri = match pick([original_uri, forwarded_uri]) {
            Some(u) => Cow::Borrowed(u),
            None => Cow::Owned(uri()),
        };
        let host = pick([forwarded_host, original_host])
            .or_else(|| host.text())
            .unwrap_or("");
        let method = if method.bytes().any(|b| b.is_ascii_lowercase()) {
            Cow::Owned(method.to_ascii_uppercase())
        } else {
            Cow::Borrowed(method)
        };
        Original {
            method,
            host: bare_host_in(host),
            uri,
        }
    }
}

/// How many headers [`ORIGINAL_NAMES`] lists.
pub const ORIGINAL_HEADERS: usize = 7;

/// The headers [`Original::from_found`] reads: `X-Original-Method`, `X-Forwarded-Method`,
/// `X-Original-URI`, `X-Forwarded-Uri`, `X-Forwarded-Host`, `X-Original-Host` (nginx;
/// Traefik and Caddy), then `Host`.
pub static ORIGINAL_NAMES: [HeaderName; ORIGINAL_HEADERS] = [
    HeaderName::from_static("x-original-method"),
    HeaderName::from_static("x-forwarded-method"),
    HeaderName::from_static("x-original-uri"),
    HeaderName::from_static("x-forwarded-uri"),
    HeaderName::from_static("x-forwarded-host"),
    HeaderName::from_static("x-original-host"),
    http::header::HOST,
];

/// Every header a forward-auth or `ext_authz` decision reads, found in one pass over the
/// request's headers ([`gardien_signals::headers::scan`]): the original request's
/// ([`ORIGINAL_NAMES`]), the identity's ([`crate::identity::IdentityResolver::header_names`])
/// and the signals' ([`gardien_signals::Signals::header_names`]).
#[derive(Debug, Clone, Copy)]
pub struct RequestHeaders<'a> {
    /// The request's headers.
    pub map: &'a HeaderMap,
    /// The values of the original request's, the identity's and the signals' names, in
    /// this order.
    found: [Found<'a>; ALL_HEADERS],
}

/// How many names [`RequestHeaders`] looks for.
const ALL_HEADERS: usize = ORIGINAL_HEADERS + IDENTITY_HEADERS + SIGNAL_HEADERS;

/// `COUNT` values from `at` of `found` (nothing found out of range, which the constants
/// above rule out).
fn part<'a, const COUNT: usize>(found: &[Found<'a>], at: usize) -> [Found<'a>; COUNT] {
    found
        .get(at..at + COUNT)
        .and_then(|part| part.try_into().ok())
        .unwrap_or([Found::default(); COUNT])
}

impl<'a> RequestHeaders<'a> {
    /// The headers `state`'s identity and `signals` read, and the original request's.
    pub fn scan(map: &'a HeaderMap, state: &AppState, signals: &Signals) -> Self {
        Self::scan_names(map, state.identity.header_names(), signals.header_names())
    }

    /// The headers of [`ORIGINAL_NAMES`], `identity` and `signals`, in one pass.
    fn scan_names(
        map: &'a HeaderMap,
        identity: [Option<&HeaderName>; IDENTITY_HEADERS],
        signals: [Option<&HeaderName>; SIGNAL_HEADERS],
    ) -> Self {
        let [o0, o1, o2, o3, o4, o5, o6] = &ORIGINAL_NAMES;
        let [i0, i1, i2, i3, i4] = identity;
        let [s0, s1, s2, s3, s4] = signals;
        let names = [
            Some(o0),
            Some(o1),
            Some(o2),
            Some(o3),
            Some(o4),
            Some(o5),
            Some(o6),
            i0,
            i1,
            i2,
            i3,
            i4,
            s0,
            s1,
            s2,
            s3,
            s4,
        ];
        RequestHeaders {
            map,
            found: gardien_signals::headers::scan(map, names),
        }
    }

    /// The values of [`ORIGINAL_NAMES`].
    pub fn original(&self) -> [Found<'a>; ORIGINAL_HEADERS] {
        part(&self.found, 0)
    }

    /// The values of the identity headers.
    pub fn identity(&self) -> [Found<'a>; IDENTITY_HEADERS] {
        part(&self.found, ORIGINAL_HEADERS)
    }

    /// The values of the signals' headers.
    pub fn signals(&self) -> [Found<'a>; SIGNAL_HEADERS] {
        part(&self.found, ORIGINAL_HEADERS + IDENTITY_HEADERS)
    }
}

/// Finds the application of a host and a canonical path
/// ([`gardien_signals::path::canonical_path`]; the routes' prefixes are canonical too, see
/// [`crate::state::AppState::start`]): exact host before `*`, longest prefix wins.
pub fn route_app<'a>(routes: &'a [AppRoute], host: &str, path: &str) -> Option<&'a AppRoute> {
    routes
        .iter()
        .filter(|r| r.host == "*" || r.host.eq_ignore_ascii_case(host))
        .filter(|r| prefix_matches(path, &r.path_prefix, r.case_sensitive))
        .max_by_key(|r| (r.host != "*", r.path_prefix.len()))
}

/// Why no decision was made (each is answered as a refusal, never as an allow).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// No `[[apps]]` entry covers the host and path.
    #[error("no application is configured for this host and path")]
    NoApplication,
    /// No identity: not signed in.
    #[error("not signed in")]
    Unauthenticated,
    /// A token was presented and rejected.
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    /// Something failed inside gardien (the answer is a deny: fail closed).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Whether the sign-in record is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logged {
    /// Committed to the store before the answer.
    Committed,
    /// Queued; committed with the next batch.
    Queued,
}

impl Logged {
    /// Header value (`Gardien-Log`).
    pub fn as_str(self) -> &'static str {
        match self {
            Logged::Committed => "committed",
            Logged::Queued => "queued",
        }
    }
}

/// A decided request.
#[derive(Debug)]
pub struct Decided {
    /// Correlation id (also the sign-in record id).
    pub correlation_id: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The user.
    pub identity: Option<Identity>,
    /// Denial page data and its unguessable key, for a deny or challenge.
    pub denial: Option<(String, Arc<DenialRecord>)>,
    /// The full report's JSON, when asked for (`/v1/evaluate`): the text `Json(&report)`
    /// gives, remembered per policy set for allowed sign-ins that repeat.
    pub report_json: Option<axum::body::Bytes>,
    /// Durability of the sign-in record.
    pub logged: Logged,
}

fn unguessable_key() -> Result<String, Refusal> {
    crate::clock::random_bytes::<16>()
        .map(|b| crate::clock::hex(&b))
        .ok_or_else(|| Refusal::Internal("no randomness".to_owned()))
}

/// The HTTP status of a decision's page: 401 for a challenge, 403 otherwise.
fn page_status(decision: Decision) -> u16 {
    if decision == Decision::Challenge {
        401
    } else {
        403
    }
}

/// The denial page of a decision another replica made (or this one forgot), rebuilt from
/// its sign-in record: the key names the record (`<correlation id>.<secret>`), the record
/// holds the secret's hash, the exact request and the policy version; the same evaluator
/// then gives the same report. `None` when the key is malformed, unknown, or does not match.
pub async fn denial_from_log(state: &AppState, key: &str) -> Option<Arc<DenialRecord>> {
    let (correlation_id, secret) = key.split_once('.')?;
    if correlation_id.len() != 36 || secret.len() != 32 {
        return None;
    }
    let filter = SignInFilter {
        correlation_id: Some(correlation_id.to_owned()),
        limit: Some(1),
        ..SignInFilter::default()
    };
    let record = match state.store.log().query(&filter).await {
        Ok(records) => records.into_iter().next()?,
        Err(e) => {
            tracing::warn!(error = %e, "denial page: sign-in log unavailable");
            return None;
        }
    };
    let record = match Element::deserialize(&record).ok()? {
        Element::Record(r) => r,
        Element::NotAnObject(_) => return None,
    };
    let gardien = record.gardien.get()?;
    let denial = gardien.denial.get()?;
    let stored = text(&denial.key_sha256)?;
    if !crate::state::hash_matches(stored, secret) {
        return None;
    }
    let device = DeviceSummary::from_record(denial.device.get()?)?;
    let request = gardien.request.as_ref()?.value()?;
    let mut signin = SignIn::from_value("", request).ok()?;
    // Decided again as of its own time, so the page explains what was decided then.
    signin.at = text(&gardien.evaluated_at)
        .or_else(|| text(&record.created_date_time))
        .and_then(gardien_core::time::parse_rfc3339);
    let version = integer(&gardien.policy_version)?;
    let live = state.live.load_full();
    let older;
    let tenant: &CompiledTenant = if live.version == version {
        &live.tenant
    } else {
        let stored = state.store.version(version).await.ok()??;
        older =
            crate::snapshot::compile(&format!("store:version {version}"), &stored.snapshot).ok()?;
        &older
    };
    let evaluation = tenant.evaluate(&signin);
    let decision = evaluation.verdict.decision;
    if decision == Decision::Allow {
        return None;
    }
    let report = DecisionReport::with_trace(tenant, &signin, &evaluation, shown_on_page);
    let page = Arc::new(DenialRecord {
        report: page_report(report),
        correlation_id: correlation_id.to_owned(),
        timestamp: text(&record.created_date_time)
            .unwrap_or_default()
            .to_owned(),
        client_ip: text(&record.ip_address).and_then(|ip| ip.parse().ok()),
        application: text(&record.app_display_name)
            .unwrap_or_default()
            .to_owned(),
        device,
        status: page_status(decision),
    });
    state.denials.insert(key.to_owned(), page.clone());
    Some(page)
}

/// The policies whose trace the denial page can show: those that applied (a 200-policy
/// trace kept for each of thousands of recent denials would cost megabytes for nothing,
/// and its words are never built).
fn shown_on_page(record: &PolicyRecord) -> bool {
    record.applies == Outcome::Satisfied
}

/// The part of a report the denial page can show: the policies that applied.
fn page_report(mut r: DecisionReport) -> DecisionReport {
    r.trace.retain(|t| t.applies);
    r.applied_conditional_access_policies.retain(|p| {
        !matches!(
            p.result,
            PolicyResult::NotApplied
                | PolicyResult::NotEnabled
                | PolicyResult::ReportOnlyNotApplied
        )
    });
    r
}

/// Builds the device line of the denial page.
pub fn device_summary(signin: &SignIn, derived: &Derived) -> DeviceSummary {
    let device = signin.device.as_ref();
    DeviceSummary {
        registered: device.is_some(),
        compliant: device.and_then(|d| d.is_compliant),
        trust_type: device.and_then(|d| d.trust_type.as_ref().map(|t| t.to_string())),
        platform: derived.platform.as_str().to_owned(),
        os_version: derived.os_version.map(|v| v.to_string()),
        client_app: derived.client_app_type.as_str().to_owned(),
    }
}

fn mfa_done(tenant: &CompiledTenant, signin: &SignIn) -> bool {
    tenant
        .strengths
        .first()
        .is_some_and(|m| m.satisfied_by(signin.session.methods))
}

/// Everything a caller knows about the request besides its headers.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// TCP peer.
    pub peer: Option<IpAddr>,
    /// Headers of the request gardien received, and the values the decision reads.
    pub headers: &'a RequestHeaders<'a>,
    /// The signal sources the headers were scanned for ([`RequestHeaders::scan`]).
    pub signals: &'a Signals,
    /// The application.
    pub app: &'a AppRoute,
    /// Keep the full report even for an allow.
    pub want_report: bool,
}

/// Decides a forward-auth / ext_authz request: identity, signals, decision, log.
pub async fn decide_request(state: &AppState, req: Incoming<'_>) -> Result<Decided, Refusal> {
    // Decided first, then logged: only the record and what the answer reads wait for the
    // log (the sign-in and its signals are dropped before, unless the token names
    // authentication contexts, decided after).
    let (first, past, steps) = prepare_request(state, req)?;
    let mut decided = first.log(state).await?;
    if let Some(steps) = steps {
        decided = Box::pin(steps.decide(state, decided)).await?;
    }
    if let (Some(history), Decision::Allow) = (&state.history, decided.verdict.decision) {
        let user = decided.identity.as_ref().map_or("", |i| i.user_id.as_str());
        history.record(user, past);
    }
    Ok(decided)
}

/// The authentication contexts a token names (`acrs`), decided once the application's
/// sign-in is logged, with the same signals.
struct ContextSteps<'a> {
    signin: SignIn,
    derived: Derived,
    contexts: Vec<String>,
    parts: DecideParts<'a>,
}

impl ContextSteps<'_> {
    /// Entra authentication contexts the token was issued for (`acrs`): each is also
    /// decided as the sign-in to that context, with the same signals; the first that is not
    /// an allow answers. A token can only add checks this way, never skip the
    /// application's.
    async fn decide(self: Box<Self>, state: &AppState, first: Decided) -> Result<Decided, Refusal> {
        let ContextSteps {
            signin,
            derived,
            contexts,
            parts,
        } = *self;
        let mut decided = first;
        for context in contexts {
            if decided.verdict.decision != Decision::Allow {
                break;
            }
            let mut step = signin.clone();
            step.target = gardien_core::signin::Target::AuthContext(context.into_boxed_str());
            decided =
                decide_and_log(state, &step, &derived, decided.identity.take(), parts).await?;
        }
        Ok(decided)
    }
}

/// The synchronous part of [`decide_request`]: identity, signals and the application's
/// decision with its record; what the history keeps of an allowed sign-in; the token's
/// authentication contexts, when it names any.
#[allow(
    clippy::type_complexity,
    reason = "one private call site, destructured at once"
)]
fn prepare_request<'a>(
    state: &AppState,
    req: Incoming<'a>,
) -> Result<(Prepared, PastSignIn, Option<Box<ContextSteps<'a>>>), Refusal> {
    let created_ms = now_ms();
    let now = u64::try_from(created_ms / 1000).unwrap_or(0);
    let signals = req.signals;
    let trusted = req
        .peer
        .is_some_and(|p| signals.config.trusted_proxies.contains(p));
    let identity =
        match state
            .identity
            .identify_found(req.headers.map, &req.headers.identity(), trusted, now)
        {
            Ok(Some(i)) => i,
            Ok(None) => return Err(Refusal::Unauthenticated),
            Err(e @ IdentityError::InvalidToken(_)) => {
                return Err(Refusal::InvalidToken(e.token_reason().unwrap_or("invalid")));
            }
            Err(e) => return Err(Refusal::Internal(e.to_string())),
        };
    let ctx = RequestContext {
        peer: req.peer,
        headers: req.headers.map,
        user: Some(&identity.user_id),
        application: Some(&req.app.app_id),
        methods: identity.methods,
        now,
    };
    let (signin, derived) = signals
        .sign_in_found(&ctx, &req.headers.signals())
        .map_err(|e| Refusal::Internal(e.to_string()))?;
    // `User-Agent`'s first value, as `HeaderMap::get` gives it.
    let [.., user_agent] = req.headers.signals();
    let user_agent = user_agent.first().and_then(|v| v.to_str().ok());
    let app_name = req.app.name.as_deref().unwrap_or(&req.app.app_id);
    let parts = DecideParts {
        created_ms,
        user_agent,
        app_name,
        want_report: req.want_report,
    };
    let contexts = identity.auth_contexts.clone();
    let first = decide(state, &signin, &derived, Some(identity), parts)?;
    let past = PastSignIn {
        at: now,
        country: signin.country,
        coordinates: derived.place.and_then(|p| p.coordinates),
    };
    // Boxed only when there are contexts (a closure would copy the sign-in either way).
    let steps = if contexts.is_empty() {
        None
    } else {
        Some(Box::new(ContextSteps {
            signin,
            derived,
            contexts,
            parts,
        }))
    };
    Ok((first, past, steps))
}

/// Bytes reserved for a `/v1/evaluate` report (the demo tenant's is ~9 KB).
const REPORT_CAPACITY: usize = 16 << 10;

/// The parts of [`decide_and_log`] that are not the sign-in.
#[derive(Debug, Clone, Copy)]
pub struct DecideParts<'a> {
    /// When.
    pub created_ms: i64,
    /// User-Agent as sent.
    pub user_agent: Option<&'a str>,
    /// Application display name.
    pub app_name: &'a str,
    /// Keep the full report even for an allow.
    pub want_report: bool,
}

/// The sign-in with its user as the directory knows it, when the identity source named the
/// user by `userPrincipalName` (a token's `upn` claim as `user_claim`, a proxy's user header
/// carrying an e-mail address): policies target object ids, and group, role and user
/// conditions would otherwise miss the user — a group-targeted block would not apply.
/// `None`: evaluate the sign-in as it is. A principal name shared by several directory users
/// is refused (fail closed); a user the directory does not list is evaluated as a user
/// without group or role membership, counted in `metrics` and warned about at most once a
/// minute (the directory is stale, or a client tries names: either must not flood the log).
fn user_in_directory(
    tenant: &CompiledTenant,
    signin: &SignIn,
    metrics: &Metrics,
) -> Result<Option<SignIn>, Refusal> {
    let Subject::User { id, .. } = &signin.subject else {
        return Ok(None);
    };
    match tenant.lookup_user(id) {
        UserLookup::Id => Ok(None),
        UserLookup::PrincipalName(object_id) => {
            let mut resolved = signin.clone();
            if let Subject::User { id, .. } = &mut resolved.subject {
                *id = object_id.into();
            }
            Ok(Some(resolved))
        }
        UserLookup::Ambiguous => Err(Refusal::Internal(format!(
            "user `{id}` is the userPrincipalName of several directory users"
        ))),
        UserLookup::Unknown => {
            metrics.unknown_users.fetch_add(1, Ordering::Relaxed);
            if let Some(held) = metrics.unknown_user_warnings.pass(now_ms()) {
                tracing::warn!(
                    user = %id,
                    not_shown_since_last = held,
                    "user not in the directory: evaluated without group or role membership; refresh directory.json (`gardien pull`) (one warning a minute at most; gardien_unknown_users_total counts them all)"
                );
            }
            Ok(None)
        }
    }
}

/// Decides a built sign-in with the policy set in force and logs it ([`decide`], then
/// [`Prepared::log`]).
pub async fn decide_and_log(
    state: &AppState,
    signin: &SignIn,
    derived: &Derived,
    identity: Option<Identity>,
    parts: DecideParts<'_>,
) -> Result<Decided, Refusal> {
    decide(state, signin, derived, identity, parts)?
        .log(state)
        .await
}

/// A decision made and its record built, not logged yet: all that [`Prepared::log`] holds
/// while the store acknowledges the record. Kept small (the future of the log step is
/// moved and allocated with every request): the record, the verdict and the identity; the
/// parts of a deny, a challenge or a report are boxed ([`Pending`]).
#[derive(Debug)]
pub struct Prepared {
    /// The record to append.
    entry: SignInRecord,
    /// The same record, shipped once the store has it (`[log.ship]`).
    shipped: Option<String>,
    /// The answer's parts, built in place (its `logged` is set once the store answers).
    decided: Decided,
    /// A deny's or challenge's page, a report: built once the record is logged.
    pending: Option<Box<Pending>>,
}

/// What a deny, a challenge or a `/v1/evaluate` report adds to a [`Prepared`] decision.
struct Pending {
    /// The policy set decided with (its report cache).
    live: Arc<crate::state::Live>,
    report: Option<DecisionReport>,
    /// An allowed sign-in's report text, remembered from an earlier request.
    remembered_report: Option<axum::body::Bytes>,
    /// The sign-in whose report text is remembered once written (an allow, asked for its
    /// report, not remembered yet).
    remember_for: Option<SignIn>,
    want_report: bool,
    /// The page's secret and device line (a deny or challenge).
    denial: Option<(String, DeviceSummary)>,
    created_ms: i64,
    client_ip: Option<IpAddr>,
    application: String,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("report", &self.report.is_some())
            .field("remembered_report", &self.remembered_report.is_some())
            .field("want_report", &self.want_report)
            .field("denial", &self.denial.is_some())
            .finish_non_exhaustive()
    }
}

impl Prepared {
    /// Logs the record (acknowledged as `[log] acknowledge` says), then builds the answer's
    /// parts: the page of a deny or challenge, the report's text. A record that is not
    /// logged is a refusal (fail closed).
    pub async fn log(self, state: &AppState) -> Result<Decided, Refusal> {
        // Fields are used in place (each move of the verdict or the identity is a copy).
        let mut prepared = self;
        let logged = match state.config.log.acknowledge {
            Acknowledge::Committed => state
                .store
                .log()
                .append(prepared.entry)
                .await
                .map(|()| Logged::Committed),
            Acknowledge::Queued => state
                .store
                .log()
                .append_nowait(prepared.entry)
                .map(|()| Logged::Queued),
        };
        match logged {
            Ok(l) => {
                match l {
                    Logged::Committed => state.log_health.succeeded(),
                    // Queued is not written: only the writer's batches tell (a failed batch
                    // of queued records makes `/readyz` 503 until a batch commits or a probe
                    // succeeds).
                    Logged::Queued => state.log_health.observe_writer(state.store.log()),
                }
                if let (Some(shipper), Some(line)) = (&state.shipper, prepared.shipped) {
                    shipper.ship(line);
                }
                prepared.decided.logged = l;
            }
            Err(e) => {
                state.metrics.log_errors.fetch_add(1, Ordering::Relaxed);
                state.log_health.failed(&e.to_string());
                let correlation_id = &prepared.decided.correlation_id;
                tracing::error!(error = %e, correlation_id, "sign-in record not logged; denying");
                return Err(Refusal::Internal(format!("sign-in log: {e}")));
            }
        }
        if let Some(pending) = prepared.pending {
            pending.finish(state, &mut prepared.decided)?;
        }
        Ok(prepared.decided)
    }
}

impl Pending {
    /// The report's text and the denial page of a logged decision.
    fn finish(self, state: &AppState, decided: &mut Decided) -> Result<(), Refusal> {
        let Pending {
            live,
            report,
            remembered_report,
            remember_for,
            want_report,
            denial,
            created_ms,
            client_ip,
            application,
        } = self;
        let verdict = &decided.verdict;
        // The text `Json(&report)` gives, written by the record's writer (serde_json's string
        // escaping was a third of `/v1/evaluate`'s instructions).
        decided.report_json = match (remembered_report, &report) {
            (Some(text), _) => Some(text),
            (None, Some(r)) if want_report => {
                let text = crate::json_text::to_string(r, REPORT_CAPACITY)
                    .map(axum::body::Bytes::from)
                    .map_err(|e| Refusal::Internal(format!("report: {e}")))?;
                if let Some(signin) = remember_for {
                    live.evaluations.remember_report(signin, verdict, &text);
                }
                Some(text)
            }
            _ => None,
        };
        // The page keeps the report.
        let page = report.filter(|_| denial.is_some());
        decided.denial = match (page, denial) {
            (Some(page), Some((secret, device))) => {
                let correlation_id = &decided.correlation_id;
                let key = format!("{correlation_id}.{secret}");
                let record = Arc::new(DenialRecord {
                    report: page_report(page),
                    correlation_id: correlation_id.clone(),
                    timestamp: rfc3339(created_ms),
                    client_ip,
                    application,
                    device,
                    status: page_status(verdict.decision),
                });
                state.denials.insert(key.clone(), record.clone());
                Some((key, record))
            }
            _ => None,
        };
        Ok(())
    }
}

/// Decides a built sign-in with the policy set in force and builds its record, to be
/// logged by [`Prepared::log`]. Synchronous: nothing it holds lives across the log's
/// acknowledgement but what [`Prepared`] keeps.
pub fn decide(
    state: &AppState,
    signin: &SignIn,
    derived: &Derived,
    identity: Option<Identity>,
    parts: DecideParts<'_>,
) -> Result<Prepared, Refusal> {
    let live = state.live.load_full();
    let tenant = &live.tenant;
    let resolved;
    let signin = match user_in_directory(tenant, signin, &state.metrics)? {
        Some(s) => {
            resolved = s;
            &resolved
        }
        None => signin,
    };
    // An allowed sign-in of this policy set seen before: its verdict and its record's
    // per-policy fragments are remembered (no evaluation).
    let mut memo_key = signin_record::MemoKey::default();
    let remembered = if parts.want_report {
        None
    } else {
        live.applied.allowed.get(signin, &mut memo_key)
    };
    // The verdict and the log's per-policy results from one pass without trace
    // (`decide_entries`: the memo's masks, the per-policy checks only where the masks do
    // not say); a deny or challenge is also evaluated with its records, for its page, and
    // `/v1/evaluate` for its report (its per-policy results are then the records').
    let (verdict, evaluation, keys) = match &remembered {
        Some((v, _)) => (*v, None, None),
        None if parts.want_report => {
            let e = tenant.evaluate(signin);
            (e.verdict, Some(e), None)
        }
        None => {
            let mut keys = Vec::new();
            let v = tenant.decide_entries(signin, &mut keys);
            let e = (v.decision != Decision::Allow).then(|| tenant.evaluate(signin));
            (v, e, Some(keys))
        }
    };
    let correlation_id = state.ids.next();
    // An allowed sign-in asked about before: its report text, remembered.
    let remembered_report = if parts.want_report {
        live.evaluations.report(signin, &verdict)
    } else {
        None
    };
    let report = match &evaluation {
        Some(_) if remembered_report.is_some() => None,
        Some(e) if parts.want_report => Some(DecisionReport::new(tenant, signin, e)),
        Some(e) if verdict.decision != Decision::Allow => {
            Some(DecisionReport::with_trace(tenant, signin, e, shown_on_page))
        }
        _ => None,
    };
    // A deny or challenge gets a page key `<correlation id>.<secret>`: this replica keeps
    // the page in memory, and the record keeps the secret's hash so that any replica
    // sharing the log can show it (nginx may fetch the page from another replica).
    let denial = match verdict.decision {
        Decision::Allow => None,
        Decision::Deny | Decision::Challenge => {
            let secret = unguessable_key()?;
            let key_sha256 = crate::state::hash_token(&secret);
            Some((secret, key_sha256, device_summary(signin, derived)))
        }
    };
    // The per-policy results go to the store as fragments (each entry stored once); the
    // record's text keeps an empty array where they go.
    let fragments = match (remembered, &keys, &evaluation) {
        (Some((_, f)), _, _) => Some(f),
        (None, keys, evaluation) => {
            let fragments = match (keys, evaluation) {
                (Some(keys), _) => live.applied.entry_fragments(tenant, keys),
                (None, Some(e)) => live.applied.fragments(tenant, e),
                (None, None) => None,
            };
            if let Some(f) = &fragments
                && verdict.decision == Decision::Allow
            {
                live.applied.allowed.remember(&memo_key, &verdict, f);
            }
            fragments
        }
    };
    // The memo's encoding of the sign-in, when it wrote one: the record cache compares it
    // instead of the sign-in's fields.
    let signin_key = memo_key.encoded();
    let build = |applied: Applied<'_>| {
        live.records.build_noting_applied(
            signin,
            signin_key,
            derived,
            &RecordParts {
                correlation_id: &correlation_id,
                created_ms: parts.created_ms,
                user_principal_name: identity.as_ref().and_then(|i| i.email.as_deref()),
                user_display_name: identity.as_ref().and_then(|i| i.name.as_deref()),
                app_display_name: parts.app_name,
                user_agent: parts.user_agent,
                verdict: &verdict,
                applied,
                mfa_done: mfa_done(tenant, signin),
                policy_version: live.version,
                denial: denial
                    .as_ref()
                    .map(|(_, key_sha256, device)| DenialParts { key_sha256, device }),
            },
        )
    };
    let whole = || {
        let evaluated;
        let evaluation = match &evaluation {
            Some(e) => e,
            None => {
                evaluated = tenant.evaluate(signin);
                &evaluated
            }
        };
        build(Applied::Records(AppliedPoliciesJson { tenant, evaluation })).0
    };
    let (record, fragments) = match fragments {
        Some(entries) => match build(Applied::Fragments) {
            (compact, Some(at)) => (compact, Some(Fragments { at, entries })),
            (_, None) => (whole(), None),
        },
        None => (whole(), None),
    };
    let (user_id, app_id) = signin_record::ids(signin);
    let code = signin_record::status_code(&verdict);
    // The same record, shipped once the store has it (`[log.ship]`).
    let shipped = state.shipper.as_ref().map(|_| match &fragments {
        Some(f) => f.splice(&record),
        None => record.clone(),
    });
    let entry = SignInRecord {
        id: correlation_id.clone(),
        created_ms: parts.created_ms,
        user_id,
        app_id,
        decision: verdict.decision.as_str().to_owned(),
        error_code: (code != 0).then_some(code),
        record,
        fragments,
    };
    // Built only when there is a page or a report (a closure would copy them either way).
    let pending = if report.is_some() || remembered_report.is_some() || denial.is_some() {
        // Remembered once its text is written: an allow asked for its report.
        let remember_for = (parts.want_report
            && remembered_report.is_none()
            && report.is_some()
            && verdict.decision == Decision::Allow)
            .then(|| signin.clone());
        Some(Box::new(Pending {
            report,
            remembered_report,
            remember_for,
            want_report: parts.want_report,
            denial: denial.map(|(secret, _, device)| (secret, device)),
            created_ms: parts.created_ms,
            client_ip: derived.client_ip.address,
            application: parts.app_name.to_owned(),
            live,
        }))
    } else {
        None
    };
    Ok(Prepared {
        entry,
        shipped,
        decided: Decided {
            correlation_id,
            verdict,
            identity,
            denial: None,
            report_json: None,
            // Set by `Prepared::log` once the store answers.
            logged: Logged::Queued,
        },
        pending,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(host: &str, prefix: &str, id: &str) -> AppRoute {
        AppRoute {
            host: host.to_owned(),
            path_prefix: prefix.to_owned(),
            case_sensitive: false,
            app_id: id.to_owned(),
            name: None,
        }
    }

    #[test]
    fn routes_pick_exact_host_then_longest_prefix() {
        let routes = [
            route("*", "/", "any"),
            route("wiki.example.com", "/", "wiki"),
            route("wiki.example.com", "/admin", "wiki-admin"),
        ];
        let id = |h: &str, p: &str| route_app(&routes, h, p).map(|r| r.app_id.as_str());
        assert_eq!(id("wiki.example.com", "/admin/x"), Some("wiki-admin"));
        assert_eq!(id("wiki.example.com", "/Admin/x"), Some("wiki-admin"));
        assert_eq!(id("wiki.example.com", "/page"), Some("wiki"));
        assert_eq!(id("other.example.com", "/admin"), Some("any"));
        assert!(route_app(&routes[1..], "other", "/").is_none());
    }

    #[test]
    fn forwarded_request_is_read_only_from_trusted_proxies() {
        let mut h = HeaderMap::new();
        h.insert("host", http::HeaderValue::from_static("gardien:8080"));
        h.insert(
            "x-forwarded-host",
            http::HeaderValue::from_static("Wiki.Example.com:443"),
        );
        h.insert(
            "x-original-uri",
            http::HeaderValue::from_static("/admin?x=1"),
        );
        h.insert("x-original-method", http::HeaderValue::from_static("post"));
        let o = Original::from_forward_auth(&h, true, "GET", "/v1/forward-auth");
        assert_eq!(
            o,
            Original {
                method: "POST".into(),
                host: "wiki.example.com".into(),
                uri: "/admin?x=1".into()
            }
        );
        let o = Original::from_forward_auth(&h, false, "GET", "/v1/forward-auth");
        assert_eq!(
            o,
            Original {
                method: "GET".into(),
                host: "gardien".into(),
                uri: "/v1/forward-auth".into()
            }
        );
    }

    /// Each value found by one pass is what a look-up of its name gives: repeated headers
    /// (together and apart), non-UTF-8 and empty values, names wanted by two readers, names
    /// not configured.
    #[test]
    fn request_headers_are_the_headers_looked_up() {
        let name = |n: &str| HeaderName::from_bytes(n.as_bytes()).ok();
        let identity = [
            name("remote-user"),
            name("remote-groups"),
            name("remote-email"),
            name("remote-name"),
            None,
        ];
        let signals = [
            name("x-forwarded-for"),
            name("remote-user"),
            name("x-client-cert-sha256"),
            None,
            Some(http::header::USER_AGENT),
        ];
        let mut h = HeaderMap::new();
        let mut add = |n: &str, v: &[u8]| {
            if let (Some(n), Ok(v)) = (name(n), http::HeaderValue::from_bytes(v)) {
                h.append(n, v);
            }
        };
        add("host", b"gardien:8080");
        add("X-Forwarded-Host", b"wiki.example");
        add("x-forwarded-for", b"203.0.113.9");
        add("remote-user", b"alice");
        add("x-original-uri", b"/a");
        add("X-Forwarded-For", b"198.51.100.7, 10.0.0.1");
        add("remote-name", b"\xff\xfeBob");
        add("remote-email", b"  ");
        add("x-original-uri", b"/b");
        add("user-agent", b"ua/1");
        add("x-client-cert-sha256", b"0A:0B");
        let r = RequestHeaders::scan_names(
            &h,
            identity.each_ref().map(Option::as_ref),
            signals.each_ref().map(Option::as_ref),
        );
        let expect = |names: &[Option<HeaderName>], found: &[Found<'_>]| {
            assert_eq!(names.len(), found.len());
            for (n, f) in names.iter().zip(found) {
                let looked_up = n.as_ref().map(|n| Found::lookup(&h, n)).unwrap_or_default();
                assert_eq!(*f, looked_up, "{n:?}");
            }
        };
        let original: Vec<Option<HeaderName>> = ORIGINAL_NAMES.iter().cloned().map(Some).collect();
        expect(&original, &r.original());
        expect(&identity, &r.identity());
        expect(&signals, &r.signals());
        assert_eq!(r.signals()[0].count(), 2, "both forwarding lines");
        assert_eq!(r.original()[2].text(), None, "repeated: ambiguous");
        assert_eq!(r.identity()[0].text(), Some("alice"));
        assert_eq!(r.signals()[1].text(), Some("alice"));
        let o = Original::from_found(&r.original(), true, "GET", || "/v1/forward-auth".into());
        assert_eq!(o.host, "wiki.example");
        assert_eq!(o.uri, "/v1/forward-auth", "the original URI is repeated");
    }

    #[test]
    fn lower_case_hosts_are_taken_as_they_are() {
        for host in [
            "",
            "wiki.example",
            "payroll.contoso.example",
            "a-b.c0",
            "10.0.0.1",
            "Wiki.example",
            "wiki.example:443",
            "wiki.example.",
            " wiki.example ",
            "a.example, b.example",
            "[::1]:8080",
            "::1",
            "wiki_example",
            "ÉCOLE.example",
        ] {
            assert_eq!(bare_host_in(host), bare_host_by_parts(host), "{host:?}");
        }
    }

    #[test]
    fn hosts_lose_ports_and_brackets() {
        assert_eq!(bare_host("[::1]:8080"), "::1");
        assert_eq!(bare_host("Example.com"), "example.com");
        assert_eq!(bare_host("a.example, b.example"), "a.example");
        // Borrowed when nothing changes but the port.
        assert!(matches!(
            bare_host_in("wiki.example:443"),
            Cow::Borrowed("wiki.example")
        ));
        assert!(matches!(bare_host_in("Wiki.example"), Cow::Owned(h) if h == "wiki.example"));
    }

    #[test]
    fn original_methods_are_upper_case() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-method",
            http::HeaderValue::from_static("Patch"),
        );
        let o = Original::from_forward_auth(&h, true, "get", "/");
        assert_eq!(o.method, "PATCH");
        let o = Original::from_forward_auth(&h, false, "get", "/");
        assert_eq!(o.method, "GET");
        let none = HeaderMap::new();
        let o = Original::from_forward_auth(&none, true, "DELETE", "/");
        assert!(matches!(o.method, Cow::Borrowed("DELETE")));
    }
}
