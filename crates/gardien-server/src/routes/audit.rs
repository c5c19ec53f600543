//! The admin audit trail: every admin API request made with a valid token is recorded with
//! the token's configured name and role, the method, path and query, the answer's status
//! and, for an accepted policy write, the version it created ([`record`], a layer over the
//! admin routes); `GET /v1/admin/audit` reads it back ([`list`], `admin` role).
//!
//! Each entry is also a `tracing` event (target `gardien::audit`), so a log pipeline gets it
//! even if the store cannot take it. A request without a valid token is not recorded (it did
//! nothing; `tracing` notes it at debug level); a reader's refused write is (403).

use crate::credentials::Role;
use crate::problem::ApiError;
use crate::routes::admin::{author, guard};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use gardien_store::{AuditEntry, AuditFilter};
use http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Most bytes of a request's path and query kept in an entry.
const MAX_PATH: usize = 1024;

/// Records an admin request in the audit trail once it is answered (the layer of every
/// admin route). The entry is committed before the answer leaves; if the store refuses it,
/// the `tracing` event stays and the failure is logged and counted
/// (`gardien_audit_errors_total`).
pub async fn record(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let caller = state.admin_caller(crate::routes::bearer(request.headers()));
    let Some(caller) = caller else {
        tracing::debug!(path = %request.uri().path(), "admin request without a valid token");
        return next.run(request).await;
    };
    let method = request.method().as_str().to_owned();
    let path = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    let path = crate::clean::truncate(&path, MAX_PATH).into_owned();
    let claimed = author(request.headers());
    let read = request.method() == http::Method::GET || request.method() == http::Method::HEAD;
    let response = next.run(request).await;
    let status = response.status();
    // An accepted write answers with the new policy version as its ETag.
    let version = (!read && status.is_success())
        .then(|| response.headers().get(http::header::ETAG))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.trim_start_matches("W/")
                .trim_matches('"')
                .parse::<i64>()
                .ok()
        });
    tracing::info!(
        target: "gardien::audit",
        token = %caller.name,
        role = caller.role.as_str(),
        method,
        path,
        status = status.as_u16(),
        version,
        author = claimed.as_deref(),
        "admin request"
    );
    let entry = AuditEntry {
        created_ms: crate::clock::now_ms(),
        token: caller.name.to_string(),
        role: caller.role.as_str().to_owned(),
        method,
        path,
        status: status.as_u16(),
        version,
        author: claimed,
    };
    if let Err(e) = state.store.append_audit(&entry).await {
        state.metrics.audit_errors.fetch_add(1, Ordering::Relaxed);
        tracing::error!(error = %e, token = %entry.token, path = %entry.path, "admin audit entry not stored");
    }
    response
}

/// Query parameters of `GET /v1/admin/audit`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    token: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
}

/// `GET /v1/admin/audit?token=&from=&to=&limit=`: audit entries, newest first (default 100,
/// at most 10 000), as `{"value":[{"id","createdDateTime","token","role","method","path",
/// "status","version","author"}]}`. Needs the `admin` role.
pub async fn list(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    params: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    guard(&state, &headers, Role::Admin)?;
    let Query(q) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let time = |name: &str, v: Option<String>| -> Result<Option<i64>, ApiError> {
        v.map(|t| {
            gardien_core::time::parse_instant_ms(&t).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{name}: `{}` is not an RFC 3339 time or Unix milliseconds",
                    crate::clean::escape(&t, 64)
                ))
            })
        })
        .transpose()
    };
    let filter = AuditFilter {
        token: q.token,
        from_ms: time("from", q.from)?,
        to_ms: time("to", q.to)?,
        limit: q.limit,
    };
    let entries = state
        .store
        .audit(&filter)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let value: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
            if let Value::Object(o) = &mut v {
                o.insert(
                    "createdDateTime".to_owned(),
                    Value::String(crate::clock::rfc3339(e.created_ms)),
                );
            }
            v
        })
        .collect();
    Ok(Json(json!({ "value": value })))
}
