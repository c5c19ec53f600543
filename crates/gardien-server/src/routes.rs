//! The HTTP surface: one router, endpoints grouped by job.

pub mod admin;
pub mod audit;
pub mod authzen;
pub mod decide;
pub mod graph;
pub mod ops;
pub mod signins;
pub mod tenant;

use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};
use http::HeaderMap;
use std::sync::Arc;

/// The bearer token of a request, if any. A repeated `Authorization` header is ambiguous and
/// gives none (as for the identity headers).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = gardien_signals::signals::header_text(headers, http::header::AUTHORIZATION)?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Every route (method, path) the server answers, as the OpenAPI document lists them.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/forward-auth"),
    ("get", "/v1/ext-authz"),
    ("get", "/v1/denial/{key}"),
    ("post", "/v1/evaluate"),
    ("post", "/access/v1/evaluation"),
    ("post", "/access/v1/evaluations"),
    ("get", "/.well-known/authzen-configuration"),
    ("post", "/identity/conditionalAccess/evaluate"),
    ("post", "/v1.0/identity/conditionalAccess/evaluate"),
    ("post", "/beta/identity/conditionalAccess/evaluate"),
    ("get", "/v1.0/identity/conditionalAccess/policies"),
    ("post", "/v1.0/identity/conditionalAccess/policies"),
    ("get", "/v1.0/identity/conditionalAccess/policies/{id}"),
    ("patch", "/v1.0/identity/conditionalAccess/policies/{id}"),
    ("put", "/v1.0/identity/conditionalAccess/policies/{id}"),
    ("delete", "/v1.0/identity/conditionalAccess/policies/{id}"),
    ("get", "/v1.0/identity/conditionalAccess/namedLocations"),
    ("post", "/v1.0/identity/conditionalAccess/namedLocations"),
    (
        "get",
        "/v1.0/identity/conditionalAccess/namedLocations/{id}",
    ),
    (
        "patch",
        "/v1.0/identity/conditionalAccess/namedLocations/{id}",
    ),
    (
        "put",
        "/v1.0/identity/conditionalAccess/namedLocations/{id}",
    ),
    (
        "delete",
        "/v1.0/identity/conditionalAccess/namedLocations/{id}",
    ),
    ("get", "/v1/admin/directory"),
    ("put", "/v1/admin/directory"),
    ("get", "/v1/admin/devices"),
    ("put", "/v1/admin/devices"),
    ("get", "/v1/admin/devices/{deviceId}"),
    ("put", "/v1/admin/devices/{deviceId}"),
    ("delete", "/v1/admin/devices/{deviceId}"),
    ("get", "/v1/admin/tenant"),
    ("put", "/v1/admin/tenant"),
    ("get", "/v1/admin/versions"),
    ("get", "/v1/admin/versions/{version}"),
    ("post", "/v1/admin/versions/{version}/rollback"),
    ("get", "/v1/admin/audit"),
    ("get", "/v1/signins"),
    ("get", "/v1/signins/export"),
    ("get", "/metrics"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/openapi.json"),
];

/// Builds the router. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`:
/// forward-auth needs the peer address to decide which headers to trust.
pub fn router(state: Arc<AppState>) -> Router {
    let ca = |kind: &str| format!("/v1.0/identity/conditionalAccess/{kind}");
    let ca_beta = |kind: &str| format!("/beta/identity/conditionalAccess/{kind}");
    // Bodies are read by the handlers after the token check, against the `[http]` limits
    // (`crate::body`); the default limit below only bounds an extractor that would buffer.
    let decisions = Router::new()
        .route("/v1/denial/{key}", get(decide::denial_page))
        .route("/v1/evaluate", post(decide::evaluate))
        // AuthZEN reads its body itself, after the token check, within the same limit.
        .route("/access/v1/evaluation", post(authzen::evaluation))
        .route("/access/v1/evaluations", post(authzen::evaluations))
        .route("/.well-known/authzen-configuration", get(authzen::metadata));
    // The Graph-compatible routes, unknown paths under their prefixes included: their errors
    // are Graph's error resource (`graph`); the layer is theirs alone.
    let mut router = Router::new()
        .route(
            "/identity/conditionalAccess/evaluate",
            post(decide::graph_evaluate),
        )
        .route(
            "/v1.0/identity/conditionalAccess/evaluate",
            post(decide::graph_evaluate),
        )
        .route(
            "/beta/identity/conditionalAccess/evaluate",
            post(decide::graph_evaluate),
        );
    for prefix in ["/v1.0", "/beta", "/identity/conditionalAccess"] {
        router = router.route(&format!("{prefix}/{{*rest}}"), any(graph::unknown));
    }
    // Graph's policy and named-location routes are admin API too: audited like the rest.
    let mut admin = Router::new();
    for path in [ca("policies"), ca_beta("policies")] {
        admin = admin
            .route(&path, get(admin::list_policies).post(admin::create_policy))
            .route(
                &format!("{path}/{{id}}"),
                get(admin::get_policy)
                    .patch(admin::patch_policy)
                    .put(admin::put_policy)
                    .delete(admin::delete_policy),
            );
    }
    for path in [ca("namedLocations"), ca_beta("namedLocations")] {
        admin = admin
            .route(
                &path,
                get(admin::list_locations).post(admin::create_location),
            )
            .route(
                &format!("{path}/{{id}}"),
                get(admin::get_location)
                    .patch(admin::patch_location)
                    .put(admin::put_location)
                    .delete(admin::delete_location),
            );
    }
    let router = router.merge(admin.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        audit::record,
    )));
    let graph = router.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        graph::graph_errors,
    ));
    Router::new()
        .route(
            "/v1/admin/directory",
            get(admin::get_directory).put(admin::put_directory),
        )
        .route(
            "/v1/admin/devices",
            get(admin::list_devices).put(admin::replace_devices),
        )
        .route(
            "/v1/admin/devices/{device_id}",
            get(admin::get_device)
                .put(admin::put_device)
                .delete(admin::delete_device),
        )
        .route(
            "/v1/admin/tenant",
            get(tenant::get_tenant).put(tenant::put_tenant),
        )
        .route("/v1/admin/versions", get(admin::list_versions))
        .route("/v1/admin/versions/{version}", get(admin::get_version))
        .route(
            "/v1/admin/versions/{version}/rollback",
            post(admin::rollback),
        )
        .route("/v1/admin/audit", get(audit::list))
        .route("/v1/signins", get(signins::query))
        .route("/v1/signins/export", get(signins::export))
        // Every route above is the admin API: each request with a valid token is audited.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::record,
        ))
        // The console's pages: sessions, not bearer tokens; its rollbacks audit themselves.
        .merge(crate::console::routes(&state))
        .route("/metrics", get(ops::metrics))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/openapi.json", get(ops::openapi))
        .merge(decisions)
        .merge(graph)
        .layer(DefaultBodyLimit::max(DECISION_BODY_BYTES))
        .layer(axum::middleware::map_response(problem_for_errors))
        // The proxies' decision endpoints, added after the layers (axum wraps only the routes
        // present): they read no body, and every 4xx they answer is already a problem document
        // or a denial page, so neither layer has anything to do there, and each cost a boxed
        // service clone and future per request.
        .route("/v1/forward-auth", any(decide::forward_auth))
        .route("/v1/ext-authz", any(decide::ext_authz))
        .route("/v1/ext-authz/{*rest}", any(decide::ext_authz))
        .with_state(state)
}

/// Marks an error whose plain-text body is the protocol's own (AuthZEN answers a 400 with an
/// error message string): [`problem_for_errors`] leaves it as it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlainError;

/// Every 4xx of this API is a problem document (except a [`PlainError`]): axum's own answers (a path or query
/// parameter that does not parse, an unknown route, a method not allowed, an oversized
/// body) are plain text or empty, so they are rewritten, keeping their status and headers
/// (`Allow`, the `X-Gardien-*` of a decision). Pages and JSON answers are left alone.
pub(crate) async fn problem_for_errors(
    response: axum::response::Response,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let status = response.status();
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .map(|t| t.as_bytes().to_ascii_lowercase());
    let plain = match &content_type {
        None => true,
        Some(t) => t.starts_with(b"text/plain"),
    };
    if !status.is_client_error() || !plain || response.extensions().get::<PlainError>().is_some() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .unwrap_or_default();
    let detail = if text.is_empty() {
        match status {
            http::StatusCode::NOT_FOUND => "no such endpoint (see /openapi.json)".to_owned(),
            http::StatusCode::METHOD_NOT_ALLOWED => {
                "this endpoint does not take this method (see the Allow header)".to_owned()
            }
            http::StatusCode::PAYLOAD_TOO_LARGE => {
                "the request body is larger than this endpoint accepts (see docs/limits.md)"
                    .to_owned()
            }
            _ => status.canonical_reason().unwrap_or("error").to_owned(),
        }
    } else {
        crate::clean::escape(&String::from_utf8_lossy(&text), 1024)
    };
    let title = status.canonical_reason().unwrap_or("Error");
    let mut problem = crate::problem::ApiError::new(status, title, detail).into_response();
    for (name, value) in &parts.headers {
        if name != http::header::CONTENT_TYPE && name != http::header::CONTENT_LENGTH {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    problem
}

/// Largest body any extractor may buffer (256 KiB); the endpoints that take a body read it
/// themselves against the configured `[http]` limits.
pub const DECISION_BODY_BYTES: usize = 256 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_strictly() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(
            "authorization",
            http::HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(bearer(&h), Some("abc"));
        h.insert("authorization", http::HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
        h.insert("authorization", http::HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&h), None);
        // Two tokens: which one would a proxy have checked? Neither is used.
        h.insert(
            "authorization",
            http::HeaderValue::from_static("Bearer abc"),
        );
        h.append(
            "authorization",
            http::HeaderValue::from_static("Bearer def"),
        );
        assert_eq!(bearer(&h), None);
    }
}
