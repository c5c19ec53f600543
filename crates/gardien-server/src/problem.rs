//! API errors as RFC 9457 `application/problem+json`. Each says what is wrong with the
//! client's input (with the JSON path when there is one) and nothing about gardien's
//! internals: an internal failure is logged in full and answered with a generic message.

use axum::Json;
use axum::response::{IntoResponse, Response};
use gardien_core::LoadErrors;
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    title: &'static str,
    detail: String,
    errors: Vec<Value>,
    www_authenticate: Option<&'static str>,
}

impl ApiError {
    /// 400 with a message.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "Invalid request", detail)
    }

    /// 400 from the core's validation errors: one entry per problem with its diagnostic code
    /// (`GV…`, docs/diagnostics.md), file, JSON path (`pointer`), reason and help.
    pub fn invalid(errors: &LoadErrors) -> Self {
        let list = errors
            .errors
            .iter()
            .map(|e| {
                json!({"code": e.code.as_str(), "severity": e.severity.as_str(),
                       "file": e.file, "pointer": e.pointer, "reason": e.reason,
                       "help": e.help,
                       "policy": e.policy.as_ref().map(|p| json!({"id": p.0, "displayName": p.1}))})
            })
            .collect();
        ApiError {
            errors: list,
            ..ApiError::new(
                StatusCode::BAD_REQUEST,
                "Invalid policy set",
                format!("{} problem(s); nothing was changed", errors.errors.len()),
            )
        }
    }

    /// 400 listing problems of the request body, each with its JSON pointer and reason.
    pub fn invalid_body(detail: impl Into<String>, problems: &[(String, String)]) -> Self {
        let errors = problems
            .iter()
            .map(|(pointer, reason)| {
                json!({"file": "request body", "pointer": pointer, "reason": reason})
            })
            .collect();
        ApiError {
            errors,
            ..ApiError::new(StatusCode::BAD_REQUEST, "Invalid request", detail)
        }
    }

    /// 401 for the admin or decision API.
    pub fn unauthorized() -> Self {
        ApiError {
            www_authenticate: Some("Bearer realm=\"gardien-admin\""),
            ..ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "a valid bearer token is required",
            )
        }
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "Not found", detail)
    }

    /// 409 on a version conflict.
    pub fn conflict(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, "Version conflict", detail)
    }

    /// 500 with a generic message; the cause is logged, not disclosed.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            "gardien could not complete the request; the server log has the cause",
        )
    }

    /// Any status, title and detail.
    pub fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            www_authenticate: None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": "about:blank",
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if !self.errors.is_empty() {
            body["errors"] = Value::Array(self.errors);
        }
        let mut response = (self.status, Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(w) = self.www_authenticate {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(w));
        }
        response
    }
}
