//! Microsoft Graph's conventions on the Graph-compatible routes (`/v1.0/…`, `/beta/…` and
//! `/identity/conditionalAccess/…`): an error is Graph's error resource, not a problem
//! document, so that Graph SDKs and scripts read it as they read Graph's own:
//!
//! ```json
//! {"error": {"code": "invalidRequest", "message": "…",
//!            "innerError": {"request-id": "…", "date": "2026-12-07T03:20:16Z"},
//!            "details": [{"code": "GV0101", "message": "…", "target": "/conditions/users"}]}}
//! ```
//!
//! `code` follows the status (docs/graph-conventions.md lists the mapping), `message` is the
//! problem's `detail`, `details` carries each validation error with its JSON path as
//! `target`, `innerError.date` is RFC 3339 (UTC) and `request-id` is also sent as the
//! `request-id` header; a `client-request-id` the client sent (a short token) is echoed in
//! both places.
//! Every other route keeps RFC 9457 problem documents.

use crate::problem::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Whether `path` is one of the Graph-compatible routes.
pub fn is_graph_path(path: &str) -> bool {
    ["/v1.0", "/beta", "/identity/conditionalAccess"]
        .iter()
        .any(|p| path == *p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
}

/// Graph's error `code` for a status (the codes of Graph's error resource).
pub fn graph_code(status: StatusCode, detail: &str) -> &'static str {
    match status.as_u16() {
        401 => "unauthenticated",
        403 => "accessDenied",
        404 => "itemNotFound",
        405 => "notAllowed",
        406 | 415 | 501 => "notSupported",
        409 if detail.contains("exists") => "nameAlreadyExists",
        409 | 412 => "resourceModified",
        429 => "activityLimitReached",
        503 => "serviceNotAvailable",
        400..=499 => "invalidRequest",
        _ => "generalException",
    }
}

/// A `client-request-id` worth echoing: 1 to 64 letters, digits, `-`, `_` or `.`.
fn client_request_id(headers: &http::HeaderMap) -> Option<String> {
    let id = headers.get("client-request-id")?.to_str().ok()?.trim();
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    ok.then(|| id.to_owned())
}

/// Graph's error resource from a problem document.
pub fn graph_error(
    status: StatusCode,
    problem: &Value,
    request_id: &str,
    client_request_id: Option<&str>,
    now_ms: i64,
) -> Value {
    let detail = problem
        .get("detail")
        .and_then(Value::as_str)
        .or_else(|| problem.get("title").and_then(Value::as_str))
        .or(status.canonical_reason())
        .unwrap_or("error");
    let mut inner = Map::new();
    inner.insert("request-id".into(), json!(request_id));
    if let Some(c) = client_request_id {
        inner.insert("client-request-id".into(), json!(c));
    }
    inner.insert(
        "date".into(),
        json!(gardien_core::time::format_rfc3339(now_ms.div_euclid(1000))),
    );
    let mut error = Map::new();
    error.insert("code".into(), json!(graph_code(status, detail)));
    error.insert("message".into(), json!(detail));
    error.insert("innerError".into(), Value::Object(inner));
    let details: Vec<Value> = problem
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| {
            let text = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("");
            let mut message = text("reason").to_owned();
            if !text("help").is_empty() {
                message = format!("{message} ({})", text("help"));
            }
            json!({
                "code": if text("code").is_empty() { "invalidValue" } else { text("code") },
                "message": message,
                "target": text("pointer"),
            })
        })
        .collect();
    if !details.is_empty() {
        error.insert("details".into(), Value::Array(details));
    }
    json!({ "error": error })
}

/// An unknown path under a Graph prefix: 404 (in Graph's shape, through [`graph_errors`]).
pub async fn unknown() -> ApiError {
    ApiError::not_found("no such endpoint (see /openapi.json)")
}

/// Rewrites the errors of the Graph-compatible routes as Graph errors, keeping status and
/// headers (`WWW-Authenticate`, `Allow`, `ETag`). The layer wraps these routes only, inside
/// the router's problem layer: axum's own plain-text or empty errors (405, a path parameter
/// that does not parse) are made problem documents first, then Graph errors.
pub(crate) async fn graph_errors(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let client_id = client_request_id(request.headers());
    let response = crate::routes::problem_for_errors(next.run(request).await).await;
    let status = response.status();
    let problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| {
            t.as_bytes()
                .eq_ignore_ascii_case(b"application/problem+json")
        });
    if !problem || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1024 * 1024)
        .await
        .unwrap_or_default();
    let problem: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let request_id = state.ids.next();
    let error = graph_error(
        status,
        &problem,
        &request_id,
        client_id.as_deref(),
        crate::clock::now_ms(),
    );
    let mut out = (status, axum::Json(error)).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    for (name, value) in [
        ("request-id", Some(request_id)),
        ("client-request-id", client_id),
    ] {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            out.headers_mut().insert(name, v);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn graph_paths() {
        for p in [
            "/v1.0/identity/conditionalAccess/policies",
            "/beta/identity/conditionalAccess/namedLocations/x",
            "/identity/conditionalAccess/evaluate",
            "/v1.0/nothing",
        ] {
            assert!(is_graph_path(p), "{p}");
        }
        for p in [
            "/v1/admin/versions",
            "/v1/evaluate",
            "/v1.00/x",
            "/betax",
            "/healthz",
        ] {
            assert!(!is_graph_path(p), "{p}");
        }
    }

    #[test]
    fn problems_become_graph_errors() {
        let problem = json!({"type": "about:blank", "title": "Invalid policy set", "status": 400,
            "detail": "1 problem(s); nothing was changed",
            "errors": [{"code": "GV0001", "pointer": "/state", "reason": "bad", "help": "fix it"}]});
        let e = graph_error(
            StatusCode::BAD_REQUEST,
            &problem,
            "rid",
            Some("cid"),
            1_782_863_999_000,
        );
        assert_eq!(
            e,
            json!({"error": {"code": "invalidRequest", "message": "1 problem(s); nothing was changed",
                "innerError": {"request-id": "rid", "client-request-id": "cid", "date": "2026-06-30T23:59:59Z"},
                "details": [{"code": "GV0001", "message": "bad (fix it)", "target": "/state"}]}})
        );
        let e = graph_error(
            StatusCode::CONFLICT,
            &json!({"detail": "a policy with id `x` exists"}),
            "r",
            None,
            0,
        );
        assert_eq!(e["error"]["code"], "nameAlreadyExists");
        assert!(e["error"]["innerError"].get("client-request-id").is_none());
        assert_eq!(
            graph_code(StatusCode::CONFLICT, "version 3, not 2"),
            "resourceModified"
        );
        assert_eq!(graph_code(StatusCode::UNAUTHORIZED, ""), "unauthenticated");
        assert_eq!(
            graph_code(StatusCode::INTERNAL_SERVER_ERROR, ""),
            "generalException"
        );
    }

    #[test]
    fn client_request_ids_are_echoed_only_when_tame() {
        let mut h = http::HeaderMap::new();
        h.insert("client-request-id", HeaderValue::from_static("abc-123"));
        assert_eq!(client_request_id(&h).as_deref(), Some("abc-123"));
        h.insert("client-request-id", HeaderValue::from_static("a b"));
        assert_eq!(client_request_id(&h), None);
    }
}
