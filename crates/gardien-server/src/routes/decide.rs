//! Decision endpoints: forward-auth (nginx, Traefik, Caddy), Envoy `ext_authz`,
//! `/v1/evaluate`, Graph's what-if `evaluate`, and the denial page.
//!
//! Answers: 2xx allow with identity headers out; 401 challenge with an RFC 9470 step-up
//! `WWW-Authenticate`; 403 deny. Deny and challenge carry the denial page (browsers) or
//! `application/problem+json`. Anything that goes wrong inside is a 403 (fail closed).

use crate::decision::{
    self, DecideParts, Decided, Incoming, Logged, Original, Refusal, RequestHeaders, route_app,
};
use crate::denial::{Lang, prefers_html, problem_json, render_html};
use crate::denials::DenialRecord;
use crate::identity::Identity;
use crate::metrics::Endpoint;
use crate::problem::ApiError;
use crate::routes::bearer;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use gardien_core::report::WhatIfReport;
use gardien_core::{Decision, SignIn};
use gardien_signals::{Derived, Signals};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    // Values that cannot be a header (control characters) are left out, never half-sent.
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

/// The names every decision answer carries, built at compile time (not parsed per answer).
const REMOTE_USER: HeaderName = HeaderName::from_static("remote-user");
const GARDIEN_USER: HeaderName = HeaderName::from_static("x-gardien-user");
const CORRELATION_ID: HeaderName = HeaderName::from_static("x-gardien-correlation-id");
const DECISION: HeaderName = HeaderName::from_static("x-gardien-decision");
const LOG: HeaderName = HeaderName::from_static("gardien-log");

/// `X-Gardien-Decision` of a decision (a constant value, not copied per answer).
fn decision_value(d: Decision) -> HeaderValue {
    HeaderValue::from_static(d.as_str())
}

/// The page or problem document of a deny/challenge, in the client's language.
fn denial_body(state: &AppState, record: &DenialRecord, request: &HeaderMap) -> Response {
    let text = |name: header::HeaderName| request.get(name).and_then(|v| v.to_str().ok());
    let lang = Lang::negotiate(text(header::ACCEPT_LANGUAGE));
    let ctx = record.context(&state.config.page);
    let status = StatusCode::from_u16(record.status).unwrap_or(StatusCode::FORBIDDEN);
    let mut response = if prefers_html(text(header::ACCEPT)) {
        (status, axum::response::Html(render_html(&ctx, lang))).into_response()
    } else {
        let mut r = (status, Json(problem_json(&ctx, lang))).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        r
    };
    let h = response.headers_mut();
    set(h, "content-language", lang.code());
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::VARY,
        HeaderValue::from_static("accept, accept-language"),
    );
    response
}

/// RFC 9470 step-up challenge: which controls are pending, as `acr_values`.
fn step_up(decided: &Decided) -> String {
    let controls: Vec<&str> = decided
        .verdict
        .required
        .iter()
        .map(|c| c.as_str())
        .collect();
    format!(
        "Bearer error=\"insufficient_user_authentication\", error_description=\"Conditional Access requires more: {}\", acr_values=\"{}\"",
        controls.join(", "),
        controls.join(" ")
    )
}

/// The headers of an allow whose user id and correlation id can be sent, in this order
/// ([`allow_headers`] writes the values in place). Content-Length is there already, as
/// axum would add it for the empty body.
static ALLOW_HEADERS: std::sync::LazyLock<HeaderMap> = std::sync::LazyLock::new(|| {
    let mut h = HeaderMap::with_capacity(8);
    let empty = HeaderValue::from_static("");
    h.insert(REMOTE_USER, empty.clone());
    h.insert(GARDIEN_USER, empty.clone());
    h.insert(CORRELATION_ID, empty.clone());
    h.insert(DECISION, decision_value(Decision::Allow));
    h.insert(LOG, empty);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    h
});

/// The headers of an allow: a copy of [`ALLOW_HEADERS`] with its values written in place
/// (no header name hashed or inserted per answer).
fn allow_headers(user: HeaderValue, correlation_id: HeaderValue, logged: Logged) -> HeaderMap {
    let mut h = ALLOW_HEADERS.clone();
    let values = [
        user.clone(),
        user,
        correlation_id,
        decision_value(Decision::Allow),
        HeaderValue::from_static(logged.as_str()),
    ];
    for (slot, value) in h.values_mut().zip(values) {
        *slot = value;
    }
    h
}

/// The identity headers of an allow beyond the user id, each echoed only up to a bound (a
/// token's claims are not capped on the way in): an oversized one is left out, never cut.
fn echo_identity(h: &mut HeaderMap, identity: &Identity) {
    let max = crate::clean::MAX_IDENTITY_VALUE;
    let mut echo = |name: &'static str, value: &str, max: usize| {
        if value.len() <= max {
            set(h, name, value);
        }
    };
    if let Some(e) = &identity.email {
        echo("remote-email", e, max);
    }
    if let Some(n) = &identity.name {
        echo("remote-name", n, max);
    }
    if !identity.groups.is_empty() {
        echo("remote-groups", &identity.groups.join(","), 8 * max);
    }
}

/// A header value holding `text` itself (no copy); `None` when it cannot be a header value
/// (the same check as `HeaderValue::from_str`).
fn owned_value(text: String) -> Option<HeaderValue> {
    HeaderValue::from_maybe_shared(axum::body::Bytes::from(text)).ok()
}

/// The answer to an allow: the identity headers, the correlation id, the log's state. The
/// user id and the correlation id become header values as they are (moved, not copied).
fn allow_answer(decided: Decided) -> Response {
    let Decided {
        correlation_id,
        mut identity,
        logged,
        ..
    } = decided;
    let max = crate::clean::MAX_IDENTITY_VALUE;
    // One copy of the user id for both headers; an oversized one is left out.
    let user = identity
        .as_mut()
        .filter(|i| i.user_id.len() <= max)
        .and_then(|i| owned_value(std::mem::take(&mut i.user_id)));
    let id = owned_value(correlation_id);
    match (identity, user, id) {
        (Some(identity), Some(user), Some(id)) => {
            let mut r = Response::new(Body::empty());
            *r.headers_mut() = allow_headers(user, id, logged);
            echo_identity(r.headers_mut(), &identity);
            r
        }
        (identity, user, id) => {
            let mut r = StatusCode::OK.into_response();
            let h = r.headers_mut();
            if let Some(identity) = &identity {
                if let Some(user) = user {
                    h.insert(REMOTE_USER, user.clone());
                    h.insert(GARDIEN_USER, user);
                }
                echo_identity(h, identity);
            }
            if let Some(id) = id {
                h.insert(CORRELATION_ID, id);
            }
            h.insert(DECISION, decision_value(Decision::Allow));
            h.insert(LOG, HeaderValue::from_static(logged.as_str()));
            r
        }
    }
}

/// The answer to a forward-auth style decision.
fn answer(state: &AppState, decided: Decided, request: &HeaderMap) -> Response {
    if decided.verdict.decision == Decision::Allow {
        return allow_answer(decided);
    }
    let mut response = match &decided.denial {
        Some((key, record)) => {
            let mut r = denial_body(state, record, request);
            set(r.headers_mut(), "x-gardien-denial", key);
            r
        }
        // A problem document like every 4xx (these routes are outside `problem_for_errors`).
        None => ApiError::new(StatusCode::FORBIDDEN, "Forbidden", "Forbidden").into_response(),
    };
    let h = response.headers_mut();
    if let Ok(id) = HeaderValue::from_str(&decided.correlation_id) {
        h.insert(CORRELATION_ID, id);
    }
    h.insert(DECISION, decision_value(decided.verdict.decision));
    h.insert(LOG, HeaderValue::from_static(decided.logged.as_str()));
    if let Some(code) = decided
        .verdict
        .error_code
        .filter(|_| decided.verdict.decision == Decision::Deny)
    {
        set(h, "x-gardien-error-code", &code.to_string());
    }
    if decided.verdict.decision == Decision::Challenge {
        set(h, "www-authenticate", &step_up(&decided));
    }
    response
}

/// The answer when no decision could be made.
fn refused(state: &AppState, refusal: &Refusal) -> Response {
    match refusal {
        Refusal::Unauthenticated => {
            state
                .metrics
                .unauthenticated
                .fetch_add(1, Ordering::Relaxed);
            let mut r = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Sign-in required",
                "sign in first",
            )
            .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"gardien\""),
            );
            r
        }
        Refusal::InvalidToken(reason) => {
            state
                .metrics
                .unauthenticated
                .fetch_add(1, Ordering::Relaxed);
            let mut r =
                ApiError::new(StatusCode::UNAUTHORIZED, "Invalid token", *reason).into_response();
            set(
                r.headers_mut(),
                "www-authenticate",
                &format!(
                    "Bearer realm=\"gardien\", error=\"invalid_token\", error_description=\"{reason}\""
                ),
            );
            r
        }
        Refusal::NoApplication => {
            state.metrics.unmapped.fetch_add(1, Ordering::Relaxed);
            ApiError::new(
                StatusCode::FORBIDDEN,
                "Access denied",
                "no application is configured for this address",
            )
            .into_response()
        }
        Refusal::Internal(cause) => {
            state
                .metrics
                .internal_errors
                .fetch_add(1, Ordering::Relaxed);
            tracing::error!(%cause, "decision failed; denying (fail closed)");
            ApiError::new(
                StatusCode::FORBIDDEN,
                "Access denied",
                "gardien could not decide; access is denied",
            )
            .into_response()
        }
    }
}

async fn proxy_decision(
    state: &AppState,
    signals: &Signals,
    peer: SocketAddr,
    headers: &RequestHeaders<'_>,
    original: Original<'_>,
    endpoint: Endpoint,
) -> Response {
    let started = Instant::now();
    // Every spelling of a path routes like the backend will serve it; an ambiguous one is
    // refused, never sent to whichever application covers `/`.
    let path = match gardien_signals::path::canonical_path(&original.uri) {
        Ok(path) => path,
        Err(e) => {
            state.metrics.rejected_paths.fetch_add(1, Ordering::Relaxed);
            if let Some(held) = state
                .metrics
                .rejected_path_warnings
                .pass(crate::clock::now_ms())
            {
                tracing::warn!(
                    path = %crate::clean::escape(&original.uri, 512),
                    reason = %e,
                    not_shown_since_last = held,
                    "request path refused (one warning a minute at most; gardien_rejected_paths_total counts them all)"
                );
            }
            return ApiError::bad_request(format!("request path: {e}")).into_response();
        }
    };
    let Some(app) = route_app(&state.config.apps, &original.host, &path) else {
        return refused(state, &Refusal::NoApplication);
    };
    let incoming = Incoming {
        peer: Some(peer.ip()),
        headers,
        signals,
        app,
        want_report: false,
    };
    match decision::decide_request(state, incoming).await {
        Ok(decided) => {
            let (decision, code) = (decided.verdict.decision, decided.verdict.error_code);
            let response = answer(state, decided, headers.map);
            state.metrics.decision(
                endpoint,
                decision.as_str(),
                code.unwrap_or(0),
                started.elapsed(),
            );
            response
        }
        Err(refusal) => refused(state, &refusal),
    }
}

/// `GET /v1/forward-auth`: nginx `auth_request`, Traefik ForwardAuth, Caddy `forward_auth`.
///
/// The request is taken whole and its headers read in place (the `HeaderMap`, `Method` and
/// `Uri` extractors each copy theirs: ~15 allocations per request).
pub async fn forward_auth(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    // The signal sources of this request (a reload swaps them for the next ones): the
    // headers are scanned once for their names, the identity's and the original request's.
    let signals = state.signals.load_full();
    let trusted = signals.config.trusted_proxies.contains(peer.ip());
    let (parts, _) = request.into_parts();
    let headers = RequestHeaders::scan(&parts.headers, &state, &signals);
    let original =
        Original::from_found(&headers.original(), trusted, parts.method.as_str(), || {
            parts.uri.to_string()
        });
    proxy_decision(
        &state,
        &signals,
        peer,
        &headers,
        original,
        Endpoint::ForwardAuth,
    )
    .await
}

/// Envoy `ext_authz` (HTTP mode): the check request is the original request, with the
/// original path after the configured `path_prefix` (`/v1/ext-authz`).
pub async fn ext_authz(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let signals = state.signals.load_full();
    let (parts, _) = request.into_parts();
    let (method, uri, headers) = (&parts.method, &parts.uri, &parts.headers);
    let path = uri.path().strip_prefix("/v1/ext-authz").unwrap_or("/");
    let path = if path.is_empty() { "/" } else { path };
    let full = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let original = Original {
        method: method.as_str().into(),
        host: crate::decision::bare_host(host).into(),
        uri: full.into(),
    };
    let headers = RequestHeaders::scan(headers, &state, &signals);
    proxy_decision(
        &state,
        &signals,
        peer,
        &headers,
        original,
        Endpoint::ExtAuthz,
    )
    .await
}

/// `GET /v1/denial/{key}`: the denial page of a decision (nginx `error_page`): from this
/// replica's recent denials, or rebuilt from the sign-in log when another replica decided.
pub async fn denial_page(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let record = match state.denials.get(&key) {
        Some(record) => Some(record),
        // Decided by another replica, or forgotten here: rebuilt from the shared log.
        None => crate::decision::denial_from_log(&state, &key).await,
    };
    match record {
        Some(record) => denial_body(&state, &record, &headers),
        None => ApiError::not_found(
            "this denial is no longer available; sign in again to see the details",
        )
        .into_response(),
    }
}

/// The sign-in of a decision API request, read after the token check: streamed against
/// `[http] decision_body_bytes`, its JSON values counted before parsing; user principal names
/// and service principal display names resolve through the live tenant's directory; decided
/// at the request time (Entra's dated changes).
async fn read_request(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<SignIn, ApiError> {
    let http = &state.config.http;
    let patience = std::time::Duration::from_millis(http.header_read_timeout_ms);
    let bytes = crate::body::read(headers, body, http.decision_body_bytes, patience).await?;
    let live = state.live.load();
    // The same bytes read before against this directory (and the same fixed bounds): the
    // same sign-in (only bodies read without error are remembered).
    if let Some(mut signin) = live.evaluations.request(&bytes) {
        signin.at = Some(crate::clock::now_ms().div_euclid(1000));
        return Ok(signin);
    }
    if crate::body::json_value_bound(&bytes) > http.max_json_values {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Payload too large",
            format!(
                "request body: more than {} JSON values",
                http.max_json_values
            ),
        ));
    }
    let mut signin = SignIn::parse_in("request body", &bytes, &live.tenant.tenant.directory)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    live.evaluations.remember_request(&bytes, &signin);
    signin.at = Some(crate::clock::now_ms().div_euclid(1000));
    Ok(signin)
}

/// The `at` parameter of `/v1/evaluate` (`?at=2026-06-14T12:00:00Z`, a date or epoch
/// seconds; `%XX` escapes decoded): decide as of that instant instead of the request time.
/// Any other parameter, a repeated `at` or an unreadable time is a 400.
fn evaluation_instant(query: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    let mut at = None;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "at" || at.is_some() {
            return Err(ApiError::bad_request(
                "query: the only parameter is `at` (once): the evaluation time",
            ));
        }
        let value = percent_decode(value)
            .ok_or_else(|| ApiError::bad_request("query: `at` is not valid percent-encoding"))?;
        at = Some(gardien_core::time::parse_instant(&value).ok_or_else(|| {
            ApiError::bad_request(format!(
                "query: {}",
                gardien_core::time::instant_help(&value)
            ))
        })?);
    }
    Ok(at)
}

/// `%XX` escapes decoded (UTF-8); `None` for a broken escape or invalid UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `POST /v1/evaluate`: the decision output of docs/design.md for a Graph evaluate request body,
/// decided at the request time or as of `?at=`. The decision is logged like any other (with
/// `gardien.evaluatedAt` when decided as of another time).
pub async fn evaluate(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if !state.decision_allowed(bearer(&headers)) {
        return Err(ApiError::unauthorized());
    }
    let started = Instant::now();
    let at = evaluation_instant(query.as_deref())?;
    let mut signin = read_request(&state, &headers, body).await?;
    if at.is_some() {
        signin.at = at;
    }
    let derived = Derived::given(&signin);
    let (_, app_id) = crate::signin_record::ids(&signin);
    let decided = decision::decide_and_log(
        &state,
        &signin,
        &derived,
        None,
        DecideParts {
            created_ms: crate::clock::now_ms(),
            user_agent: None,
            app_name: &app_id,
            want_report: true,
        },
    )
    .await
    .map_err(|r| ApiError::internal(&r))?;
    state.metrics.decision(
        Endpoint::Evaluate,
        decided.verdict.decision.as_str(),
        decided.verdict.error_code.unwrap_or(0),
        started.elapsed(),
    );
    let Some(body) = decided.report_json else {
        return Err(ApiError::internal(&"no report"));
    };
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    let h = response.headers_mut();
    if let Ok(id) = HeaderValue::from_str(&decided.correlation_id) {
        h.insert(CORRELATION_ID, id);
    }
    h.insert(LOG, HeaderValue::from_static(decided.logged.as_str()));
    Ok(response)
}

/// `POST /identity/conditionalAccess/evaluate` (also `/v1.0/…`, `/beta/…`): Graph's what-if
/// response `{"value":[whatIfAnalysisResult…]}`. Analysis only: not logged.
pub async fn graph_evaluate(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    if !state.decision_allowed(bearer(&headers)) {
        return Err(ApiError::unauthorized());
    }
    let signin = read_request(&state, &headers, body).await?;
    let live = state.live.load();
    let report = WhatIfReport::new(&live.tenant, &signin);
    Ok(Json(report.to_graph_json(&live.tenant)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_headers_are_the_headers_inserted_one_by_one() {
        let user = HeaderValue::from_static("a@contoso.example");
        let id = HeaderValue::from_static("00000000-0000-4000-8000-000000000001");
        for logged in [Logged::Committed, Logged::Queued] {
            let mut expected = HeaderMap::new();
            expected.insert(REMOTE_USER, user.clone());
            expected.insert(GARDIEN_USER, user.clone());
            expected.insert(CORRELATION_ID, id.clone());
            expected.insert(DECISION, HeaderValue::from_static("allow"));
            expected.insert(LOG, HeaderValue::from_static(logged.as_str()));
            expected.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
            let h = allow_headers(user.clone(), id.clone(), logged);
            assert_eq!(h, expected);
            // In the same order too (what a proxy sees on the wire).
            let names = |m: &HeaderMap| {
                m.iter()
                    .map(|(n, v)| (n.clone(), v.clone()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(names(&h), names(&expected));
        }
    }
}
