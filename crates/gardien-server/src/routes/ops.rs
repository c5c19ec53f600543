//! Operations: Prometheus metrics, liveness, readiness (with the policy version in force)
//! and the OpenAPI document.

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The OpenAPI 3.1 document of every route (kept in `openapi.json`, checked by a test).
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// `GET /metrics` (with `admin.metrics_token_sha256`, only with that bearer token or the
/// admin one).
pub async fn metrics(State(state): State<Arc<AppState>>, headers: http::HeaderMap) -> Response {
    if !state.metrics_allowed(crate::routes::bearer(&headers)) {
        return crate::problem::ApiError::unauthorized().into_response();
    }
    observe_queued_log(&state);
    let mut text = state.metrics.render(state.store.log().committed());
    let c = &state.connections;
    for (name, help, kind, value) in [
        (
            "gardien_connections_open",
            "Client connections open.",
            "gauge",
            c.open.load(Ordering::Relaxed) as u64,
        ),
        (
            "gardien_connection_header_timeouts_total",
            "Connections closed because a request head did not arrive in time.",
            "counter",
            c.header_timeouts.load(Ordering::Relaxed),
        ),
        (
            "gardien_signin_log_writable",
            "1 when the sign-in log can be written; 0 while it cannot (every decision is a deny).",
            "gauge",
            u64::from(!state.log_health.is_failing()),
        ),
        (
            "gardien_signin_log_failed_batches_total",
            "Sign-in log batches that could not be committed (with acknowledge = \"queued\", their records are lost).",
            "counter",
            state.store.log().failed_batches(),
        ),
        (
            "gardien_connection_idle_timeouts_total",
            "Keep-alive connections closed for idleness.",
            "counter",
            c.idle_timeouts.load(Ordering::Relaxed),
        ),
    ] {
        text.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        ));
    }
    let mut r = text.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}

/// With `acknowledge = "queued"`, the log's health comes from its writer's batches (with
/// `committed`, each decision sees its own append's result).
fn observe_queued_log(state: &AppState) {
    if state.config.log.acknowledge == crate::config::Acknowledge::Queued {
        state.log_health.observe_writer(state.store.log());
    }
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: a policy set is in force, the store answers and the sign-in log can be
/// written (every decision is a deny otherwise). Reports the version in force and the
/// store's newest (another replica's change reaches this one within a second); when not
/// ready, 503 with the reason.
pub async fn readyz(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Value>) {
    let live = state.live.load();
    let stored = state.store.current_version_number().await;
    observe_queued_log(&state);
    let log_problem = state.log_health.check(&state.store).await;
    let store_ok = stored.is_ok() && log_problem.is_none();
    let status = match (&stored, &log_problem) {
        (Err(_), _) => "store unavailable",
        (_, Some(_)) => "sign-in log not writable",
        _ => "ready",
    };
    let mut body = json!({
        "status": status,
        "policyVersion": live.version,
        "storeVersion": stored.ok().flatten(),
        "store": state.store.backend(),
        "policies": live.tenant.tenant.policies.len(),
        "devices": state.signals.load().devices.len(),
    });
    if let Some(reason) = log_problem {
        body["reason"] = Value::String(reason);
    }
    let status = if store_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// `GET /openapi.json`.
pub async fn openapi() -> Response {
    let mut r = OPENAPI.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
