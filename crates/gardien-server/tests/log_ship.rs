#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! `[log.ship]` in process, on the demo tenant: every decision's record is also written as a
//! JSON line. Without masks the shipped file is byte for byte the store's export (one
//! record, two renderers); with masks each shipped line is its stored record with exactly
//! the masked members changed: the address truncated to its /24 at the top level and in the
//! replay request, the user id replaced by its HMAC-SHA256 under the configured key
//! (computed here independently), the User-Agent removed. A `[log.ship]` section that cannot
//! work stops the start.

#[allow(dead_code, reason = "shared support: not every test uses all of it")]
#[path = "support/demo.rs"]
mod demo;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use demo::{ALICE, BOB, CHROME_WIN, SAFARI_MAC, TOKEN, demo_options};
use gardien_server::{AppState, ServerConfig, router};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const KEY: &str = "a-shipping-secret-of-32-bytes-00";

fn config(dir: &Path, ship: &str) -> String {
    format!(
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
token_sha256 = "{hash}"
{ship}
"#,
        db = dir.join("gardien.db").display(),
        hash = gardien_server::state::hash_token(TOKEN),
    )
}

async fn start(dir: &Path, ship: &str) -> Result<Arc<AppState>, String> {
    let config = ServerConfig::parse("test.toml", &config(dir, ship)).map_err(|e| e.to_string())?;
    AppState::start(config, demo_options())
        .await
        .map_err(|e| e.to_string())
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let mut req = req;
    let peer: SocketAddr = "10.0.0.1:40000".parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body.to_vec())
}

/// Three decisions (allow, challenge, deny or whatever the demo tenant says) from
/// addresses that differ in their last octet.
async fn decide_three(app: &Router) {
    for (user, ua, ip) in [
        (ALICE, CHROME_WIN, "198.51.100.20"),
        (BOB, SAFARI_MAC, "198.51.100.21"),
        (ALICE, SAFARI_MAC, "203.0.113.50"),
    ] {
        let req = Request::get("/v1/forward-auth")
            .header("host", "gardien:8080")
            .header("x-forwarded-host", "wiki.contoso.example")
            .header("x-forwarded-for", ip)
            .header("remote-user", user)
            .header("user-agent", ua)
            .body(Body::empty())
            .unwrap();
        let (status, _) = send(app, req).await;
        assert!(
            [200, 401, 403].contains(&status.as_u16()),
            "forward-auth answered {status}"
        );
    }
}

/// The store's JSON-lines export, as `GET /v1/signins/export` gives it.
async fn export(app: &Router) -> Vec<u8> {
    let req = Request::get("/v1/signins/export")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let (status, body) = send(app, req).await;
    assert_eq!(status, StatusCode::OK);
    body
}

fn flush(state: &AppState) {
    assert!(
        state
            .shipper
            .as_ref()
            .unwrap()
            .flush(Duration::from_secs(10)),
        "shipper did not flush"
    );
}

#[tokio::test]
async fn unmasked_lines_are_the_stored_records_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ship/signins.jsonl");
    let ship = format!(
        "[log.ship]\noutput = \"file\"\npath = \"{}\"\n",
        file.display()
    );
    let state = start(dir.path(), &ship).await.unwrap();
    let app = router(state.clone());
    decide_three(&app).await;
    flush(&state);
    let shipped = std::fs::read(&file).unwrap();
    let stored = export(&app).await;
    assert_eq!(stored.iter().filter(|b| **b == b'\n').count(), 3);
    assert_eq!(
        String::from_utf8_lossy(&shipped),
        String::from_utf8_lossy(&stored)
    );
}

#[tokio::test]
async fn masked_lines_differ_from_the_stored_records_only_where_masked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("signins.jsonl");
    let key = dir.path().join("ship.key");
    std::fs::write(&key, format!("{KEY}\n")).unwrap();
    let ship = format!(
        "[log.ship]\noutput = \"file\"\npath = \"{}\"\nhash_key_file = \"{}\"\n[log.ship.mask]\nipAddress = \"truncate\"\nuserId = \"hash\"\nuserAgent = \"drop\"\n",
        file.display(),
        key.display()
    );
    let state = start(dir.path(), &ship).await.unwrap();
    let app = router(state.clone());
    decide_three(&app).await;
    flush(&state);
    let shipped: Vec<Value> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let stored: Vec<Value> = String::from_utf8(export(&app).await)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(shipped.len(), 3);
    let hmac = |text: &str| {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, KEY.as_bytes());
        let tag = ring::hmac::sign(&key, text.to_lowercase().as_bytes());
        tag.as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    for (line, record) in shipped.iter().zip(&stored) {
        assert_eq!(line["id"], record["id"], "same order, same records");
        // What each mask must have done.
        let ip = record["ipAddress"].as_str().unwrap();
        let (net, _) = ip.rsplit_once('.').unwrap();
        assert_eq!(line["ipAddress"], format!("{net}.0"));
        assert_eq!(
            line.pointer("/gardien/request/signInConditions/ipAddress")
                .unwrap(),
            &Value::String(format!("{net}.0")),
            "the replay request's copy is truncated too"
        );
        let user = record["userId"].as_str().unwrap();
        assert_eq!(line["userId"], hmac(user));
        assert_eq!(
            line.pointer("/gardien/request/signInIdentity/userId")
                .unwrap(),
            &Value::String(hmac(user))
        );
        assert!(record.get("userAgent").is_some());
        assert!(line.get("userAgent").is_none());
        // Everything else is the stored record.
        let mut expected = record.clone();
        expected["ipAddress"] = line["ipAddress"].clone();
        expected["userId"] = line["userId"].clone();
        expected["gardien"]["request"]["signInConditions"]["ipAddress"] = line["ipAddress"].clone();
        expected["gardien"]["request"]["signInIdentity"]["userId"] = line["userId"].clone();
        expected.as_object_mut().unwrap().remove("userAgent");
        assert_eq!(line, &expected);
    }
    let metrics = state.metrics.render(0);
    assert!(
        metrics.contains("gardien_signin_ship_lines_total 3"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_ship_section_that_cannot_work_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.key");
    std::fs::write(&short, "too-short\n").unwrap();
    for (ship, expected) in [
        (
            "[log.ship]\noutput = \"stdout\"\n[log.ship.mask]\nuserId = \"hash\"\n".to_owned(),
            "set hash_key_file or hash_key_env",
        ),
        (
            format!(
                "[log.ship]\noutput = \"stdout\"\nhash_key_file = \"{}\"\n[log.ship.mask]\nuserId = \"hash\"\n",
                short.display()
            ),
            "at least 16 are required",
        ),
        ("[log.ship]\noutput = \"file\"\n".to_owned(), "needs a path"),
        (
            "[log.ship]\noutput = \"stdout\"\nhash_key_env = \"GARDIEN_TEST_UNSET_VARIABLE_X\"\n"
                .to_owned(),
            "is not set",
        ),
        (
            "[log.ship]\noutput = \"stdout\"\n[log.ship.mask]\nuserAgent = \"truncate\"\n"
                .to_owned(),
            "cannot be masked with `truncate`",
        ),
        (
            "[log.ship]\noutput = \"stdout\"\n[log.ship.mask]\nipAdress = \"drop\"\n".to_owned(),
            "did you mean `ipAddress`?",
        ),
    ] {
        let e = start(dir.path(), &ship).await.unwrap_err();
        assert!(e.contains(expected), "{ship}\n→ {e}");
    }
}
