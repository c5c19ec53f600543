#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! Named admin tokens with roles, in process (axum router + tower `oneshot`) on the demo
//! tenant: a `reader` reads the admin API and is refused every write (403, nothing
//! changed); an `admin` writes; the unnamed `token_sha256` is the `admin` admin; every
//! request made with a valid token is in the audit trail under the token's name; new
//! credentials put in force at run time replace the old ones whole, and invalid ones
//! change nothing. (`SIGHUP` on a real `gardien serve` is tested in
//! `crates/gardien/tests/admin_reload_cli.rs`.)

#[allow(dead_code, reason = "shared support: not every test uses all of it")]
#[path = "support/demo.rs"]
mod demo;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use demo::{TOKEN, demo_options};
use gardien_server::config::AdminConfig;
use gardien_server::{AppState, ServerConfig, router};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;

const READER: &str = "helpdesk-reader-token-0123456789";
const OPS: &str = "ops-admin-token-0123456789";
const CA01: &str = "/v1.0/identity/conditionalAccess/policies/ca01-0000-4000-8000-000000000000";

fn hash(token: &str) -> String {
    gardien_server::state::hash_token(token)
}

async fn start(dir: &std::path::Path) -> Arc<AppState> {
    let text = format!(
        r#"
listen = "127.0.0.1:0"
[store]
path = "{db}"
[signals]
trusted_proxies = ["10.0.0.0/8"]
[identity.headers]
[[apps]]
host = "*"
app_id = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
name = "Wiki"
[admin]
token_sha256 = "{legacy}"
[[admin.tokens]]
name = "helpdesk"
sha256 = "{reader}"
role = "reader"
[[admin.tokens]]
name = "ops"
sha256 = "{ops}"
role = "admin"
"#,
        db = dir.join("gardien.db").display(),
        legacy = hash(TOKEN),
        reader = hash(READER),
        ops = hash(OPS),
    );
    let config = ServerConfig::parse("test.toml", &text).unwrap();
    AppState::start(config, demo_options()).await.unwrap()
}

struct Reply {
    status: StatusCode,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn send(app: &Router, token: &str, method: &str, uri: &str, body: Option<Value>) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body.map_or(Body::empty(), |v| Body::from(v.to_string())))
        .unwrap();
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply { status, body }
}

/// Every write route of the admin API, with a body it would accept from an admin.
fn writes() -> Vec<(&'static str, String, Option<Value>)> {
    let policy = json!({"displayName": "New", "state": "disabled",
        "conditions": {"users": {"includeUsers": ["All"]},
                       "applications": {"includeApplications": ["All"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}});
    let location = json!({"@odata.type": "#microsoft.graph.ipNamedLocation",
        "displayName": "Lab", "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange",
        "cidrAddress": "192.0.2.0/24"}]});
    let locations = "/v1.0/identity/conditionalAccess/namedLocations";
    vec![
        (
            "POST",
            "/v1.0/identity/conditionalAccess/policies".to_owned(),
            Some(policy),
        ),
        ("PATCH", CA01.to_owned(), Some(json!({"state": "disabled"}))),
        ("PUT", CA01.to_owned(), Some(json!({"state": "disabled"}))),
        ("DELETE", CA01.to_owned(), None),
        ("POST", locations.to_owned(), Some(location)),
        ("PUT", "/v1/admin/directory".to_owned(), Some(json!({}))),
        (
            "PUT",
            "/v1/admin/devices".to_owned(),
            Some(json!({"value": []})),
        ),
        (
            "PUT",
            "/v1/admin/devices/d1".to_owned(),
            Some(json!({"deviceId": "d1"})),
        ),
        ("DELETE", "/v1/admin/devices/d1".to_owned(), None),
        ("POST", "/v1/admin/versions/1/rollback".to_owned(), None),
    ]
}

/// Every read route a reader may use.
const READS: &[&str] = &[
    "/v1.0/identity/conditionalAccess/policies",
    CA01,
    "/beta/identity/conditionalAccess/namedLocations",
    "/v1/admin/directory",
    "/v1/admin/devices",
    "/v1/admin/versions",
    "/v1/admin/versions/1",
    "/v1/signins?limit=5",
    "/v1/signins/export?limit=5",
];

#[tokio::test]
async fn a_reader_reads_and_is_refused_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let state = start(dir.path()).await;
    let app = router(state.clone());
    let devices = state.store.devices().await.unwrap();
    for uri in READS {
        let r = send(&app, READER, "GET", uri, None).await;
        assert_eq!(r.status, StatusCode::OK, "reader GET {uri}: {}", r.text());
    }
    for (method, uri, body) in writes() {
        let r = send(&app, READER, method, &uri, body).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "reader {method} {uri}: {}",
            r.text()
        );
        // A problem document on gardien's routes, Graph's error resource on Graph's.
        let problem = r.json();
        let detail = problem["detail"]
            .as_str()
            .or_else(|| problem["error"]["message"].as_str())
            .unwrap_or_default();
        assert!(
            detail.contains("`helpdesk`") && detail.contains("reader role"),
            "{problem}"
        );
    }
    assert_eq!(state.live.load().version, 1, "no reader write was applied");
    assert_eq!(
        state.store.devices().await.unwrap(),
        devices,
        "no device write either"
    );
    // The audit trail is the admins' (it names every token and what it did).
    let r = send(&app, READER, "GET", "/v1/admin/audit", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    // A reader does not open the decision API (a decision writes to the sign-in log).
    let r = send(&app, READER, "POST", "/v1/evaluate", Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    // A wrong token is a 401, not a 403.
    let r = send(&app, "not-a-token-0123456789", "GET", CA01, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());

    // An admin named `ops` writes; the unnamed token_sha256 does too.
    let r = send(&app, OPS, "PATCH", CA01, Some(json!({"state": "disabled"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = send(
        &app,
        TOKEN,
        "PATCH",
        CA01,
        Some(json!({"state": "enabled"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(state.live.load().version, 3);
    // Without X-Gardien-Author, a version's author is the token's name.
    let r = send(&app, OPS, "GET", "/v1/admin/versions", None).await;
    let versions = r.json();
    assert_eq!(versions["value"][0]["author"], "admin", "{versions}");
    assert_eq!(versions["value"][1]["author"], "ops", "{versions}");
}

#[tokio::test]
async fn every_admin_request_is_audited_under_the_tokens_name() {
    let dir = tempfile::tempdir().unwrap();
    let state = start(dir.path()).await;
    let app = router(state.clone());
    let r = send(&app, READER, "GET", "/v1/signins?limit=1", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = send(
        &app,
        READER,
        "PATCH",
        CA01,
        Some(json!({"state": "disabled"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(&app, OPS, "PATCH", CA01, Some(json!({"state": "disabled"}))).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = send(&app, OPS, "PATCH", CA01, Some(json!({"stat": "x"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Not audited: no valid token.
    let r = send(&app, "wrong-token-0123456789", "GET", CA01, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let r = send(&app, TOKEN, "GET", "/v1/admin/audit", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let entries = r.json()["value"].as_array().unwrap().clone();
    let seen: Vec<(String, String, String, u64)> = entries
        .iter()
        .map(|e| {
            (
                e["token"].as_str().unwrap().to_owned(),
                e["method"].as_str().unwrap().to_owned(),
                e["path"].as_str().unwrap().to_owned(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    // Newest first; the audit read itself is recorded after it is answered.
    assert_eq!(
        seen,
        vec![
            ("ops".into(), "PATCH".into(), CA01.into(), 400),
            ("ops".into(), "PATCH".into(), CA01.into(), 200),
            ("helpdesk".into(), "PATCH".into(), CA01.into(), 403),
            (
                "helpdesk".into(),
                "GET".into(),
                "/v1/signins?limit=1".into(),
                200
            ),
        ],
        "{entries:?}"
    );
    let write = &entries[1];
    assert_eq!(write["role"], "admin");
    assert_eq!(write["version"], 2, "the version the write created");
    assert!(write["createdDateTime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(entries[2]["role"], "reader");
    assert_eq!(entries[2]["version"], Value::Null);

    // Filter by token; the previous audit read is now recorded too, under `admin`.
    let r = send(&app, TOKEN, "GET", "/v1/admin/audit?token=admin", None).await;
    let mine = r.json()["value"].as_array().unwrap().clone();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["path"], "/v1/admin/audit");
    let r = send(&app, TOKEN, "GET", "/v1/admin/audit?from=yesterday", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
}

#[tokio::test]
async fn credentials_are_replaced_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let state = start(dir.path()).await;
    let app = router(state.clone());
    let rotated = "helpdesk-rotated-token-0123456789";
    let text = format!(
        "[admin]\n[[admin.tokens]]\nname = \"helpdesk\"\nsha256 = \"{}\"\nrole = \"admin\"\n",
        hash(rotated)
    );
    let admin: AdminConfig = ServerConfig::parse("new.toml", &text).unwrap().admin;
    let names = state.reload_credentials(&admin).unwrap();
    assert_eq!(
        names,
        vec![(
            "helpdesk".to_owned(),
            gardien_server::credentials::Role::Admin
        )]
    );
    for old in [READER, OPS, TOKEN] {
        let r = send(&app, old, "GET", CA01, None).await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "{old} still opens the API"
        );
    }
    let r = send(
        &app,
        rotated,
        "PATCH",
        CA01,
        Some(json!({"state": "disabled"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // Two tokens with one name: refused, the credentials in force stay.
    let bad = format!(
        "[admin]\n[[admin.tokens]]\nname = \"a\"\nsha256 = \"{h}\"\nrole = \"admin\"\n[[admin.tokens]]\nname = \"A\"\nsha256 = \"{h2}\"\nrole = \"reader\"\n",
        h = hash(READER),
        h2 = hash(OPS)
    );
    let admin = ServerConfig::parse("bad.toml", &bad).unwrap().admin;
    let e = state.reload_credentials(&admin).unwrap_err().to_string();
    assert!(e.contains("used by two tokens"), "{e}");
    let r = send(&app, rotated, "GET", CA01, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = send(&app, READER, "GET", CA01, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
