//! Sign-in log queries: `GET /v1/signins` (Graph collection, newest first) and
//! `GET /v1/signins/export` (JSON lines, oldest first, streamed; what `gardien replay` reads).
//!
//! Filters: `user`, `app`, `status` (`success` = allowed, `failure` = denied, `interrupted`
//! = challenged) or `decision`, `errorCode`, `from` / `to` (RFC 3339 or Unix milliseconds;
//! `from` inclusive, `to` exclusive), `correlationId`, `limit`; `before` (the query only):
//! the position a page continues from, as `@odata.nextLink` gives it.
//!
//! A query page reads at most `[log] search_reads` index entries: when filters
//! that each match many sign-ins match few together, the page stops there, says back to when
//! it searched (`@gardien.searchedTo`) and links on (`@odata.nextLink`); see
//! `docs/signins.md`.

use crate::credentials::Role;
use crate::problem::ApiError;
use crate::routes::admin::guard;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use gardien_store::{LogPosition, SignInFilter};
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
    before: Option<String>,
}

impl SignInQuery {
    /// The `/v1/signins` link of this query continued from `before` (every other parameter
    /// as given).
    fn next_link(&self, before: LogPosition) -> String {
        use std::fmt::Write as _;
        let code = self.error_code.map(|c| c.to_string());
        let limit = self.limit.map(|l| l.to_string());
        let mut out = String::from("/v1/signins?");
        for (k, v) in [
            ("user", self.user.as_deref()),
            ("app", self.app.as_deref()),
            ("status", self.status.as_deref()),
            ("decision", self.decision.as_deref()),
            ("errorCode", code.as_deref()),
            ("from", self.from.as_deref()),
            ("to", self.to.as_deref()),
            ("correlationId", self.correlation_id.as_deref()),
            ("limit", limit.as_deref()),
        ] {
            if let Some(v) = v {
                let _ = write!(out, "{k}={}&", crate::console::page::url(v));
            }
        }
        let _ = write!(out, "before={before}");
        out
    }
}

fn filter(q: &SignInQuery) -> Result<SignInFilter, ApiError> {
    let before = q
        .before
        .as_deref()
        .map(|b| {
            LogPosition::parse(b).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "before: `{b}` is not a log position (`<ms>.<seq>` or `<ms>`, as \
                     `@odata.nextLink` gives it)"
                ))
            })
        })
        .transpose()?;
    let decision = match (q.status.as_deref(), q.decision.clone()) {
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
        user: q.user.clone(),
        app: q.app.clone(),
        decision,
        error_code: q.error_code,
        from_ms: time("from", q.from.clone())?,
        to_ms: time("to", q.to.clone())?,
        correlation_id: q.correlation_id.clone(),
        before,
        limit: q.limit,
    })
}

/// `GET /v1/signins`: a Graph collection, newest first, with `@odata.nextLink` when older
/// sign-ins may match and `@gardien.searchedTo` when the page stopped at its bound of index
/// entries before it was full.
pub async fn query(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    params: Result<Query<SignInQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    guard(&state, &headers, Role::Reader)?;
    let Query(q) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let f = filter(&q)?;
    let page = state
        .store
        .log()
        .search_bounded(&f, state.config.log.search_reads)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let mut body = json!({ "value": page.records });
    if let Some(to) = page.searched_to {
        body["@gardien.searchedTo"] = json!(crate::clock::rfc3339(to));
    }
    if let Some(next) = page.next {
        body["@odata.nextLink"] = json!(q.next_link(next));
    }
    Ok(Json(body))
}

/// `GET /v1/signins/export`: JSON lines, streamed with bounded memory.
pub async fn export(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    params: Result<Query<SignInQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    guard(&state, &headers, Role::Reader)?;
    let Query(q) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if q.before.is_some() {
        return Err(ApiError::bad_request(
            "before: the export streams every matching sign-in, oldest first; `before` pages \
             `/v1/signins`",
        ));
    }
    let f = filter(&q)?;
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
