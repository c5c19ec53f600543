//! Sign-in log queries: `GET /v1/signins` (Graph collection, newest first) and
//! `GET /v1/signins/export` (JSON lines, oldest first, streamed; what `gardien replay` reads).
//!
//! Filters: `user`, `app`, `status` (`success` = allowed, `failure` = denied, `interrupted`
//! = challenged) or `decision`, `errorCode`, `from` / `to` (RFC 3339 or Unix milliseconds;
//! `from` inclusive, `to` exclusive), `correlationId`, `limit`.

use crate::credentials::Role;
use crate::problem::ApiError;
use crate::routes::admin::guard;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use gardien_store::SignInFilter;
use http::{HeaderMap, HeaderValue, header};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::io::AsyncReadExt;

/// Query parameters.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInQuery {
    user: Option<String>,
    app: Option<String>,
    status: Option<String>,
    decision: Option<String>,
    error_code: Option<u32>,
    from: Option<String>,
    to: Option<String>,
    correlation_id: Option<String>,
    limit: Option<usize>,
}

fn filter(q: SignInQuery) -> Result<SignInFilter, ApiError> {
    let decision = match (q.status.as_deref(), q.decision) {
        (Some("success"), None) => Some("allow".to_owned()),
        (Some("failure"), None) => Some("deny".to_owned()),
        (Some("interrupted"), None) => Some("challenge".to_owned()),
        (Some(other), None) => {
            return Err(ApiError::bad_request(format!(
                "status: `{other}` is not success, failure or interrupted"
            )));
        }
        (None, d) => d,
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("give status or decision, not both"));
        }
    };
    if let Some(d) = &decision
        && !["allow", "challenge", "deny"].contains(&d.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "decision: `{d}` is not allow, challenge or deny"
        )));
    }
    let time = |name: &str, v: Option<String>| -> Result<Option<i64>, ApiError> {
        v.map(|t| {
            gardien_core::time::parse_instant_ms(&t).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{name}: `{t}` is not an RFC 3339 time or Unix milliseconds"
                ))
            })
        })
        .transpose()
    };
    Ok(SignInFilter {
        user: q.user,
        app: q.app,
        decision,
        error_code: q.error_code,
        from_ms: time("from", q.from)?,
        to_ms: time("to", q.to)?,
        correlation_id: q.correlation_id,
        before: None,
        limit: q.limit,
    })
}

/// `GET /v1/signins`.
pub async fn query(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    params: Result<Query<SignInQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    guard(&state, &headers, Role::Reader)?;
    let Query(q) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let f = filter(q)?;
    let records = state
        .store
        .log()
        .query(&f)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(json!({ "value": records })))
}

/// `GET /v1/signins/export`: JSON lines, streamed with bounded memory.
pub async fn export(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    params: Result<Query<SignInQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    guard(&state, &headers, Role::Reader)?;
    let Query(q) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let f = filter(q)?;
    let (mut writer, reader) = tokio::io::duplex(64 * 1024);
    let log = state.store.log().clone();
    tokio::spawn(async move {
        if let Err(e) = log.export_jsonl(&f, &mut writer).await {
            tracing::error!(error = %e, "sign-in export failed");
        }
    });
    let stream = futures_util::stream::unfold(reader, |mut r| async move {
        let mut buf = vec![0u8; 32 * 1024];
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(buf), r))
            }
        }
    });
    let mut response = Body::from_stream(stream).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(response)
}
