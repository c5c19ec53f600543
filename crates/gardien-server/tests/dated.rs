#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! Entra's dated changes through the HTTP surface, in process: the dated vectors
//! (`testdata/vectors/D*.json`) decided by `POST /v1/evaluate?at=` on both sides of each
//! date and logged with `gardien.evaluatedAt`; a bad `at` refused; the approved-client-app
//! policies read-only through the admin API (created or edited: 400; disabled or deleted:
//! fine).

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use gardien_core::{SourceFile, TenantSource};
use gardien_server::{AppState, ServerConfig, StartOptions, router, snapshot};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;

const TOKEN: &str = "test-admin-token-0123456789";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Server {
    _state: Arc<AppState>,
    app: Router,
    _dir: tempfile::TempDir,
}

/// A server whose store starts with `tenant` (a combined tenant document).
async fn server(tenant: &Value) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "listen = \"127.0.0.1:0\"\n[store]\npath = \"{}\"\n[admin]\ntoken_sha256 = \"{}\"\n",
        dir.path().join("gardien.db").display(),
        gardien_server::state::hash_token(TOKEN),
    );
    let config = ServerConfig::parse("test.toml", &text).unwrap();
    let source = TenantSource {
        combined: Some(SourceFile::new(
            "tenant.json",
            serde_json::to_vec(tenant).unwrap(),
        )),
        ..Default::default()
    };
    let options = StartOptions {
        demo: false,
        initial_tenant: Some(snapshot::from_source(&source).unwrap()),
        initial_devices: None,
        compliance: None,
    };
    let state = AppState::start(config, options).await.unwrap();
    Server {
        app: router(state.clone()),
        _state: state,
        _dir: dir,
    }
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let mut req = req;
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&body)))
    };
    (status, value)
}

fn request(method: &str, uri: &str, body: Option<&Value>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(body.map_or(Body::empty(), |v| Body::from(v.to_string())))
        .unwrap()
}

fn dated_vectors() -> Vec<(String, Value)> {
    let dir = root().join("testdata/vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('D'))
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (p.display().to_string(), v)
        })
        .collect()
}

#[tokio::test]
async fn dated_vectors_through_the_server_on_both_sides_of_each_date() {
    let vectors = dated_vectors();
    assert!(vectors.len() >= 8, "{} dated vectors", vectors.len());
    for (name, v) in vectors {
        let s = server(&v["tenant"]).await;
        let now = v["now"].as_str().unwrap();
        let uri = format!("/v1/evaluate?at={}", now.replace(':', "%3A"));
        let (status, d) = send(&s.app, request("POST", &uri, Some(&v["request"]))).await;
        assert_eq!(status, StatusCode::OK, "{name}: {d}");
        for key in ["decision", "errorCode", "requiredControls"] {
            if let Some(want) = v["expect"].get(key) {
                assert_eq!(&d[key], want, "{name}: {key}");
            }
        }
        // The log keeps the instant it was decided as of, for replay and the denial page.
        let (status, log) = send(&s.app, request("GET", "/v1/signins", None)).await;
        assert_eq!(status, StatusCode::OK);
        let record = log["value"].as_array().and_then(|a| a.first()).cloned();
        let record = record.unwrap_or_else(|| panic!("{name}: nothing logged: {log}"));
        let logged = record["gardien"]["evaluatedAt"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(
            gardien_core::time::parse_rfc3339(logged),
            gardien_core::time::parse_rfc3339(now),
            "{name}: {record}"
        );
    }
}

#[tokio::test]
async fn the_request_time_decides_without_at_and_a_bad_at_is_refused() {
    let v = dated_vectors()
        .into_iter()
        .find(|(_, v)| v["id"] == "D01")
        .map(|(_, v)| v)
        .unwrap();
    let s = server(&v["tenant"]).await;
    // Today is after the baseline-scopes rollout: enforced.
    let (status, d) = send(&s.app, request("POST", "/v1/evaluate", Some(&v["request"]))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(d["decision"], "challenge", "{d}");
    for bad in [
        "at=yesterday",
        "at=2026-13-01",
        "when=2026-06-01",
        "at=1&at=2",
        "at=%zz",
    ] {
        let uri = format!("/v1/evaluate?{bad}");
        let (status, d) = send(&s.app, request("POST", &uri, Some(&v["request"]))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {d}");
        assert!(
            d["detail"].as_str().unwrap_or("").contains("query"),
            "{bad}: {d}"
        );
    }
    // Epoch seconds are accepted too (2026-06-14T00:00:00Z: before the rollout).
    let uri = "/v1/evaluate?at=1781395200";
    let (status, d) = send(&s.app, request("POST", uri, Some(&v["request"]))).await;
    assert_eq!(
        (status, d["decision"].as_str()),
        (StatusCode::OK, Some("allow"))
    );
}

fn approved_policy(id: &str) -> Value {
    json!({"id": id, "displayName": format!("Approved apps {id}"), "state": "enabled",
           "conditions": {"users": {"includeUsers": ["All"]},
                          "applications": {"includeApplications": ["All"]},
                          "platforms": {"includePlatforms": ["android", "iOS"]}},
           "grantControls": {"operator": "OR", "builtInControls": ["approvedApplication"]}})
}

/// Microsoft Learn, "Migrate approved client app to application protection policy" (updated
/// 2026-05-29): from June 30, 2026, policies that use the control can no longer be created or
/// edited, only disabled or deleted. The server's clock is past that date.
#[tokio::test]
async fn approved_client_app_policies_are_read_only_through_the_admin_api() {
    let s = server(&json!({"policies": [approved_policy("old")]})).await;
    let base = "/v1.0/identity/conditionalAccess/policies";
    // Creating one: refused, with the pointer, the date and the way out.
    let (status, p) = send(&s.app, request("POST", base, Some(&approved_policy("new")))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{p}");
    let text = p.to_string();
    assert!(text.contains("read-only since 2026-06-30"), "{text}");
    assert!(text.contains("/grantControls/builtInControls"), "{text}");
    assert!(text.contains("compliantApplication"), "{text}");
    // Editing it, even to migrate it in place: refused.
    let edit =
        json!({"grantControls": {"operator": "OR", "builtInControls": ["compliantApplication"]}});
    let (status, p) = send(
        &s.app,
        request("PATCH", &format!("{base}/old"), Some(&edit)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{p}");
    assert!(p.to_string().contains("cannot be edited"), "{p}");
    // The policy in force did not change.
    let (_, current) = send(&s.app, request("GET", &format!("{base}/old"), None)).await;
    assert_eq!(
        current["grantControls"]["builtInControls"],
        json!(["approvedApplication"])
    );
    // Disabling it is allowed, and so is deleting it.
    let disable = json!({"state": "disabled"});
    let (status, p) = send(
        &s.app,
        request("PATCH", &format!("{base}/old"), Some(&disable)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    let (status, _) = send(&s.app, request("DELETE", &format!("{base}/old"), None)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // The replacement with app protection is welcome.
    let mut replacement = approved_policy("new");
    replacement["grantControls"]["builtInControls"] = json!(["compliantApplication"]);
    let (status, p) = send(&s.app, request("POST", base, Some(&replacement))).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
}

/// `/v1/evaluate`'s body, as text.
async fn evaluate_text(app: &Router, uri: &str, body: &Value) -> (StatusCode, String) {
    let mut req = request("POST", uri, Some(body));
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// Repeated requests are answered from remembered work (the request's sign-in, an allowed
/// report's text): every answer, first or repeated, on either side of each date and in any
/// order, is the text serde_json writes for the report built anew.
#[tokio::test]
async fn repeated_evaluations_answer_the_report_built_anew() {
    let instants = [
        "2026-06-14T23:59:59Z",
        "2026-06-15T00:00:00Z",
        "2026-06-29T23:59:59Z",
        "2026-06-30T00:00:00Z",
        "2026-12-07T00:00:00Z",
    ];
    let mut order: Vec<&str> = instants
        .iter()
        .chain(instants.iter().rev())
        .copied()
        .collect();
    order.extend(instants);
    let mut allowed = 0;
    for (name, v) in dated_vectors() {
        let s = server(&v["tenant"]).await;
        for now in &order {
            let at = gardien_core::time::parse_rfc3339(now).unwrap();
            let live = s._state.live.load();
            let mut signin = gardien_core::SignIn::parse_in(
                "request body",
                v["request"].to_string().as_bytes(),
                &live.tenant.tenant.directory,
            )
            .unwrap();
            signin.at = Some(at);
            let evaluation = live.tenant.evaluate(&signin);
            let report =
                gardien_core::report::DecisionReport::new(&live.tenant, &signin, &evaluation);
            let want = serde_json::to_string(&report).unwrap();
            if report.decision == gardien_core::Decision::Allow {
                allowed += 1;
            }
            for _ in 0..2 {
                let uri = format!("/v1/evaluate?at={}", now.replace(':', "%3A"));
                let (status, text) = evaluate_text(&s.app, &uri, &v["request"]).await;
                assert_eq!(status, StatusCode::OK, "{name} at {now}: {text}");
                assert_eq!(text, want, "{name} at {now}");
            }
        }
    }
    // Allowed sign-ins (the remembered reports) on both sides of the dates.
    assert!(allowed >= 20, "{allowed}");
}
