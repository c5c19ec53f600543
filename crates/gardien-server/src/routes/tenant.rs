//! The whole policy set at once, for policy as code (`gardien apply`, `gardien export`,
//! docs/policy-as-code.md).
//!
//! - `GET /v1/admin/tenant`: the snapshot in force, `{"policies", "namedLocations",
//!   "directory", "crossTenantAccess"}` (the single-file tenant format), `ETag` = version.
//! - `PUT /v1/admin/tenant`: replaces policies, named locations, directory and cross-tenant
//!   settings as **one** new version, after the core validated the whole tenant (what
//!   `gardien validate` accepts, plus Entra's dated write refusals). `If-Match: "<version>"`
//!   makes it conditional (409 when the version moved). A body equal to the version in force
//!   makes no new version (`"changed": false`), so applying the same folder twice is a no-op.
//!
//! As every admin write: the token is checked before a byte of the body is read,
//! `Content-Type: application/json` is required, and the body is streamed against `[http]
//! admin_body_bytes` and counted against `max_json_values` before it is parsed.

use crate::credentials::Role;
use crate::problem::ApiError;
use crate::routes::admin::{
    WRITE_RETRIES, expected_version, guard, with_etag, write_body, write_error,
};
use crate::state::{AppState, WriteError};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use gardien_core::{LoadError, LoadErrors};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// `GET /v1/admin/tenant`.
pub async fn get_tenant(
    State(state): State<Arc<AppState>>,
    headers: http::HeaderMap,
) -> Result<Response, ApiError> {
    guard(&state, &headers, Role::Reader)?;
    let live = state.live.load();
    Ok(with_etag(
        Json(live.snapshot.clone()).into_response(),
        live.version,
    ))
}

/// The snapshot a `PUT` body stands for: `policies` (required), `namedLocations` (default
/// none), `directory` (default empty) and `crossTenantAccess` (optional); any other member
/// (annotations aside) is refused, as in every hand-written body.
fn snapshot_of(body: Map<String, Value>) -> Result<Value, ApiError> {
    let value = Value::Object(body);
    let unknown: Vec<LoadError> =
        gardien_core::schema::unknown_members(&value, &gardien_core::schema::COMBINED_TENANT)
            .into_iter()
            .map(|u| {
                LoadError::new("request body", u.pointer.clone(), u.reason())
                    .with_code(gardien_core::error::UNKNOWN_MEMBER)
                    .with_help(u.help(true))
            })
            .collect();
    if !unknown.is_empty() {
        return Err(ApiError::invalid(&LoadErrors::capped(unknown)));
    }
    let mut problems = Vec::new();
    let mut member = |key: &str, default: Option<Value>, object: bool| -> Value {
        match (value.get(key), default) {
            (Some(v @ Value::Array(_)), _) if !object => v.clone(),
            (Some(v @ Value::Object(_)), _) if object => v.clone(),
            (None | Some(Value::Null), Some(d)) => d,
            (None, None) => {
                problems.push((format!("/{key}"), "missing".to_owned()));
                Value::Null
            }
            (Some(_), _) => {
                let kind = if object { "an object" } else { "an array" };
                problems.push((format!("/{key}"), format!("expected {kind}")));
                Value::Null
            }
        }
    };
    let policies = member("policies", None, false);
    let locations = member("namedLocations", Some(json!([])), false);
    let directory = member("directory", Some(json!({})), true);
    let cross = member("crossTenantAccess", Some(Value::Null), true);
    if !problems.is_empty() {
        return Err(ApiError::invalid_body(
            format!("{} problem(s); nothing was changed", problems.len()),
            &problems,
        ));
    }
    let mut snapshot = json!({
        "policies": policies,
        "namedLocations": locations,
        "directory": directory,
    });
    if !cross.is_null() {
        snapshot["crossTenantAccess"] = cross;
    }
    Ok(snapshot)
}

/// `PUT /v1/admin/tenant`: `200 {"version", "changed", "summary"}` with `ETag`.
pub async fn put_tenant(
    State(state): State<Arc<AppState>>,
    headers: http::HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (author, body, _permit) = write_body(&state, &headers, body).await?;
    let expected = expected_version(&headers)?;
    let new = snapshot_of(body)?;
    let _order = state.admin_edits.lock().await;
    let mut attempt = 0;
    loop {
        let live = state.live_for_write(expected).await;
        if let Some(e) = expected
            && e != live.version
        {
            return Err(write_error(
                WriteError::Conflict {
                    expected: Some(e),
                    actual: Some(live.version),
                },
                "",
                None,
            ));
        }
        if new == live.snapshot {
            let unchanged =
                json!({"version": live.version, "changed": false, "summary": "no change"});
            return Ok(with_etag(Json(unchanged).into_response(), live.version));
        }
        // Entra refuses some writes from a date (a control that became read-only).
        let refused = gardien_core::dated::refused_policy_writes(
            crate::snapshot::list(&live.snapshot, "policies"),
            crate::snapshot::list(&new, "policies"),
            crate::clock::now_ms().div_euclid(1000),
            "request body",
        );
        if !refused.is_empty() {
            state
                .metrics
                .rejected_writes
                .fetch_add(1, Ordering::Relaxed);
            return Err(ApiError::invalid(&LoadErrors::capped(refused)));
        }
        let summary = crate::snapshot::summary(&crate::snapshot::diff(&live.snapshot, &new));
        match state
            .apply(&author, Some(live.version), new.clone(), Some("apply"))
            .await
        {
            Ok(version) => {
                let done = json!({"version": version, "changed": true, "summary": summary});
                return Ok(with_etag(Json(done).into_response(), version));
            }
            Err(WriteError::Conflict { .. }) if expected.is_none() && attempt < WRITE_RETRIES => {
                attempt += 1;
                if let Err(e) = state.sync_policy().await {
                    tracing::warn!(error = %e, "could not catch up with the store before a retry");
                }
            }
            Err(e) => return Err(write_error(e, "", None)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn object(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(o) => o,
            _ => unreachable!("an object literal"),
        }
    }

    #[test]
    fn bodies_become_snapshots_with_defaults() {
        let s = snapshot_of(object(json!({"policies": []}))).unwrap();
        assert_eq!(
            s,
            json!({"policies": [], "namedLocations": [], "directory": {}})
        );
        let s = snapshot_of(object(
            json!({"policies": [], "crossTenantAccess": {"default": {}}}),
        ))
        .unwrap();
        assert_eq!(s["crossTenantAccess"], json!({"default": {}}));
    }

    #[test]
    fn bad_bodies_are_refused_with_pointers() {
        let e = snapshot_of(object(json!({"namedLocations": {}}))).unwrap_err();
        assert_eq!(e.status(), http::StatusCode::BAD_REQUEST);
        let e = snapshot_of(object(json!({"policies": [], "policy": []}))).unwrap_err();
        assert_eq!(e.status(), http::StatusCode::BAD_REQUEST);
    }
}
