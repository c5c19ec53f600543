#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! Graph's conventions on the Graph-compatible routes: every error of every route under
//! `/v1.0/`, `/beta/` and `/identity/conditionalAccess/` is Graph's error resource
//! `{"error":{"code","message","innerError":{"request-id","date"}}}` (with `details` for
//! validation errors), not a problem document; the gardien-native routes keep problem
//! documents; versions carry an RFC 3339 `createdDateTime`.

#[path = "support/demo.rs"]
#[allow(dead_code, reason = "the demo constants this file does not use")]
mod demo;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use demo::{TOKEN, demo_options};
use gardien_server::routes::ROUTES;
use gardien_server::routes::graph::is_graph_path;
use gardien_server::{AppState, ServerConfig, router};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn app(dir: &std::path::Path) -> (Router, Arc<AppState>) {
    let text = format!(
        "listen = \"127.0.0.1:0\"\n[store]\npath = \"{}\"\n[admin]\ntoken_sha256 = \"{}\"\n",
        dir.join("g.db").display(),
        gardien_server::state::hash_token(TOKEN)
    );
    let config = ServerConfig::parse("test.toml", &text).unwrap();
    let state = AppState::start(config, demo_options()).await.unwrap();
    (router(state.clone()), state)
}

async fn send(app: &Router, req: Request<Body>) -> Reply {
    let mut req = req;
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

fn request(method: &str, uri: &str, token: bool, body: Option<Value>) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if token {
        b = b.header("authorization", format!("Bearer {TOKEN}"));
    }
    b.body(body.map_or(Body::empty(), |v| Body::from(v.to_string())))
        .unwrap()
}

/// Asserts Graph's error shape; returns the `error` object.
fn graph_error<'r>(r: &'r Reply, what: &str) -> &'r Value {
    assert_eq!(
        r.header("content-type"),
        "application/json",
        "{what}: {:?}",
        r.body
    );
    let error = &r.body["error"];
    assert!(error.is_object(), "{what}: {}", r.body);
    assert_eq!(r.body.as_object().unwrap().len(), 1, "{what}: {}", r.body);
    for key in ["code", "message"] {
        assert!(
            error[key].as_str().is_some_and(|s| !s.is_empty()),
            "{what}: no {key}: {}",
            r.body
        );
    }
    let inner = &error["innerError"];
    let id = inner["request-id"].as_str().unwrap_or("");
    assert!(!id.is_empty(), "{what}: {}", r.body);
    assert_eq!(r.header("request-id"), id, "{what}: header and body agree");
    let date = inner["date"].as_str().unwrap_or("");
    assert!(
        gardien_core::time::parse_rfc3339(date).is_some() && date.ends_with('Z'),
        "{what}: date `{date}` is not RFC 3339 UTC"
    );
    error
}

/// Every Graph-compatible route the server answers: the documented ones and their `/beta/`
/// twins.
fn graph_routes() -> Vec<(String, String)> {
    let mut routes: Vec<(String, String)> = Vec::new();
    for (method, path) in ROUTES {
        if is_graph_path(path) {
            routes.push(((*method).to_owned(), (*path).to_owned()));
            if let Some(rest) = path.strip_prefix("/v1.0/") {
                routes.push(((*method).to_owned(), format!("/beta/{rest}")));
            }
        }
    }
    routes.sort();
    routes.dedup();
    routes
}

#[tokio::test]
async fn every_graph_route_answers_graph_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _state) = app(dir.path()).await;
    let routes = graph_routes();
    assert!(
        routes.len() >= 20,
        "the Graph routes were not all found: {routes:?}"
    );
    for (method, path) in &routes {
        let uri = path.replace("{id}", "no-such-id");
        let what = format!("{method} {uri} without a token");
        let body = (method != "get" && method != "delete").then(|| json!({}));
        let r = send(&app, request(&method.to_uppercase(), &uri, false, body)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {:?}", r.body);
        let error = graph_error(&r, &what);
        assert_eq!(error["code"], "unauthenticated", "{what}");
        assert!(
            r.header("www-authenticate").starts_with("Bearer"),
            "{what}: the challenge header is kept"
        );
        // With the token: a missing item or an invalid body, still in Graph's shape.
        if path.contains("{id}") || method != "get" {
            let body = match method.as_str() {
                "get" | "delete" => None,
                _ => Some(json!({"displayName": 5, "includeUser": []})),
            };
            let r = send(&app, request(&method.to_uppercase(), &uri, true, body)).await;
            let what = format!("{method} {uri} with the token");
            assert!(r.status.is_client_error(), "{what}: {}", r.status);
            graph_error(&r, &what);
        }
    }
}

#[tokio::test]
async fn graph_errors_carry_codes_details_and_the_client_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let (app, state) = app(dir.path()).await;
    let ca = "/v1.0/identity/conditionalAccess";
    // 404, with the client's request id echoed.
    let mut req = request("GET", &format!("{ca}/policies/nope"), true, None);
    req.headers_mut()
        .insert("client-request-id", "c0ffee-1".parse().unwrap());
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let e = graph_error(&r, "404");
    assert_eq!(e["code"], "itemNotFound");
    assert_eq!(e["message"], "no policy with id `nope`");
    assert_eq!(e["innerError"]["client-request-id"], "c0ffee-1");
    assert_eq!(r.header("client-request-id"), "c0ffee-1");
    // 400 from the core's validation: one `details` entry per problem, `target` the path.
    let bad = json!({"displayName": "x", "state": "sometimes",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}});
    let r = send(
        &app,
        request("POST", &format!("{ca}/policies"), true, Some(bad)),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let e = graph_error(&r, "400");
    assert_eq!(e["code"], "invalidRequest");
    let details = e["details"].as_array().expect("details");
    assert!(
        details
            .iter()
            .any(|d| d["target"] == "/state"
                && d["code"].as_str().is_some_and(|c| c.starts_with("GV"))),
        "{details:?}"
    );
    // An unknown member: 400 naming it.
    let r = send(
        &app,
        request(
            "POST",
            &format!("{ca}/namedLocations"),
            true,
            Some(json!({"displayNam": "x"})),
        ),
    )
    .await;
    let e = graph_error(&r, "unknown member");
    assert!(
        e["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("displayNam"),
        "{e}"
    );
    // 409 on a stale If-Match.
    let version = state.live.load().version;
    let mut req = request(
        "PATCH",
        &format!("{ca}/policies/ca01-0000-4000-8000-000000000000"),
        true,
        Some(json!({"displayName": "renamed"})),
    );
    req.headers_mut()
        .insert("if-match", format!("\"{}\"", version + 5).parse().unwrap());
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(graph_error(&r, "409")["code"], "resourceModified");
    // 415 without JSON.
    let req = Request::post(format!("{ca}/policies"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "text/plain")
        .body(Body::from("{}"))
        .unwrap();
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(graph_error(&r, "415")["code"], "notSupported");
    // 405 and an unknown Graph path are Graph errors too; `Allow` is kept.
    let r = send(
        &app,
        request("DELETE", &format!("{ca}/policies"), true, None),
    )
    .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(graph_error(&r, "405")["code"], "notAllowed");
    assert!(r.header("allow").contains("GET"), "{:?}", r.headers);
    let r = send(&app, request("GET", "/beta/identity/nothing", true, None)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    graph_error(&r, "unknown path");
    // The Graph what-if API: an invalid request body.
    let r = send(
        &app,
        request(
            "POST",
            "/v1.0/identity/conditionalAccess/evaluate",
            true,
            Some(json!({"x": 1})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    graph_error(&r, "evaluate");
}

#[tokio::test]
async fn native_routes_keep_problem_documents_and_versions_have_dates() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _state) = app(dir.path()).await;
    for (method, path) in [
        ("GET", "/v1/admin/versions"),
        ("PUT", "/v1/admin/tenant"),
        ("POST", "/v1/evaluate"),
        ("GET", "/v1/signins"),
    ] {
        let r = send(&app, request(method, path, false, None)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(
            r.header("content-type"),
            "application/problem+json",
            "{method} {path}"
        );
        assert_eq!(r.body["status"], 401, "{method} {path}");
        assert!(r.body.get("error").is_none());
    }
    let r = send(&app, request("GET", "/v1/admin/versions", true, None)).await;
    let v = &r.body["value"][0];
    let ms = v["createdMs"].as_i64().unwrap();
    let date = v["createdDateTime"].as_str().unwrap();
    assert_eq!(
        gardien_core::time::parse_rfc3339(date),
        Some(ms.div_euclid(1000)),
        "{v}"
    );
    assert!(date.ends_with('Z'), "{date}");
    let r = send(&app, request("GET", "/v1/admin/versions/1", true, None)).await;
    assert_eq!(r.body["createdDateTime"], date);
}
