#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! The HTTP surface in process (axum router + tower `oneshot`), on the demo tenant with a
//! real SQLite file: forward-auth answers, trusted-proxy rules, the decision and what-if
//! APIs, admin writes (validation, versions, conflicts, rollback), devices, the sign-in log,
//! metrics and the OpenAPI document.

#[path = "support/demo.rs"]
mod demo;
#[allow(dead_code, reason = "shared support: not every test uses all of it")]
#[path = "support/harness.rs"]
mod harness;
use axum::Router;
use axum::body::Body;
use demo::{ALICE, BOB, CHROME_WIN, SAFARI_MAC, TOKEN, demo_options, root};
use gardien_server::{AppState, ServerConfig, StartOptions, router};
use harness::{Reply, Server, send};
use http::{Request, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;

const CHROME_ANDROID: &str = "Mozilla/5.0 (Linux; Android 12; Pixel 6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";

async fn server(extra: &str) -> Server {
    harness::server(&config(extra), demo_options()).await
}

/// A server state on the store at `db` (two on one file share the store, as replicas do).
async fn start(extra: &str, db: &std::path::Path) -> Arc<AppState> {
    harness::state_on(db, &config(extra), demo_options()).await
}

/// The configuration after `[store]`: the demo apps behind a trusted proxy at 10.0.0.0/8.
fn config(extra: &str) -> String {
    format!(
        r#"
[signals]
trusted_proxies = ["10.0.0.0/8"]
device_header = "x-client-cert-sha256"
country_header = "cf-ipcountry"
[identity.headers]
methods = "remote-amr"
[[apps]]
host = "payroll.contoso.example"
app_id = "c0ffee00-0000-4000-8000-000000000100"
name = "Payroll"
[[apps]]
host = "*"
app_id = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
name = "Wiki"
[admin]
token_sha256 = "{hash}"
{extra}
"#,
        hash = gardien_server::state::hash_token(TOKEN),
    )
}

fn forward_auth(host: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut b = Request::get("/v1/forward-auth")
        .header("host", "gardien:8080")
        .header("x-forwarded-host", host);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Body::empty()).unwrap()
}

fn admin(method: &str, uri: &str, body: Option<Value>) -> Request<Body> {
    let b = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .header("x-gardien-author", "test");
    b.body(body.map_or(Body::empty(), |v| Body::from(v.to_string())))
        .unwrap()
}

const PROXY: &str = "10.0.0.5";

async fn laptop_abroad(app: &Router) -> Reply {
    send(
        app,
        PROXY,
        forward_auth(
            "payroll.contoso.example",
            &[
                ("remote-user", ALICE),
                ("cf-ipcountry", "BR"),
                ("x-forwarded-for", "203.0.113.50"),
                ("user-agent", CHROME_WIN),
            ],
        ),
    )
    .await
}

#[tokio::test]
async fn forward_auth_decides_the_classic_cases() {
    let s = server("").await;
    let r = laptop_abroad(&s.app).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.header("x-gardien-error-code"), "53003");
    assert_eq!(r.header("x-gardien-decision"), "deny");
    assert_eq!(r.header("gardien-log"), "committed");
    assert!(!r.header("x-gardien-correlation-id").is_empty());

    let phone = [
        ("remote-user", ALICE),
        ("x-forwarded-for", "198.51.100.20"),
        ("x-client-cert-sha256", "0A:0B:0C:0D"),
    ];
    let mut browser = phone.to_vec();
    browser.push(("user-agent", CHROME_ANDROID));
    let r = send(
        &s.app,
        PROXY,
        forward_auth("payroll.contoso.example", &browser),
    )
    .await;
    assert_eq!(
        (r.status, r.header("x-gardien-error-code")),
        (StatusCode::FORBIDDEN, "53000")
    );

    let mut app = phone.to_vec();
    app.push(("user-agent", "Outlook-Android/2.0"));
    let r = send(&s.app, PROXY, forward_auth("payroll.contoso.example", &app)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("remote-user"), ALICE);

    let admin_headers = [
        ("remote-user", BOB),
        ("x-forwarded-for", "198.51.100.20"),
        ("user-agent", SAFARI_MAC),
    ];
    let r = send(
        &s.app,
        PROXY,
        forward_auth("wiki.contoso.example", &admin_headers),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.header("www-authenticate")
            .contains("insufficient_user_authentication"),
        "{:?}",
        r.headers
    );
    assert!(
        r.header("www-authenticate").contains("acr_values=\"mfa\""),
        "{:?}",
        r.headers
    );
    let mut with_mfa = admin_headers.to_vec();
    with_mfa.push(("remote-amr", "pwd,mfa"));
    let r = send(
        &s.app,
        PROXY,
        forward_auth("wiki.contoso.example", &with_mfa),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn headers_from_an_untrusted_peer_are_ignored() {
    let s = server("").await;
    // Same request as the allowed app case, but straight from a client: no identity.
    let r = send(
        &s.app,
        "203.0.113.9",
        forward_auth(
            "payroll.contoso.example",
            &[
                ("remote-user", ALICE),
                ("user-agent", "Outlook-Android/2.0"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.header("www-authenticate").starts_with("Bearer realm="));
    // A trusted peer without an identity: also 401, never an allow.
    let r = send(&s.app, PROXY, forward_auth("payroll.contoso.example", &[])).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unmapped_application_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[store]\npath = \"{}\"\n[signals]\ntrusted_proxies = [\"10.0.0.0/8\"]\n[identity.headers]\n[[apps]]\nhost = \"only.example\"\napp_id = \"x\"\n",
        dir.path().join("g.db").display()
    );
    let state = AppState::start(
        ServerConfig::parse("t", &text).unwrap(),
        StartOptions::default(),
    )
    .await
    .unwrap();
    let app = router(state.clone());
    let r = send(
        &app,
        PROXY,
        forward_auth("other.example", &[("remote-user", ALICE)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Counted as unmapped, not as a missing identity.
    let metrics = state.metrics.render(0);
    assert!(
        metrics.contains("gardien_unmapped_requests_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("gardien_unauthenticated_total 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn denial_page_follows_language_and_discloses_no_policy_at_minimal() {
    let s = server("").await;
    let mut req = forward_auth(
        "payroll.contoso.example",
        &[
            ("remote-user", ALICE),
            ("cf-ipcountry", "BR"),
            ("user-agent", CHROME_WIN),
            ("accept", "text/html,application/xhtml+xml"),
            ("accept-language", "fr-FR,fr;q=0.9,en;q=0.5"),
        ],
    );
    req.headers_mut()
        .insert("x-unused", http::HeaderValue::from_static("1"));
    let r = send(&s.app, PROXY, req).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.header("content-type").starts_with("text/html"),
        "{:?}",
        r.headers
    );
    let html = r.text();
    assert!(html.contains("lang=\"fr\""), "{html}");
    assert!(html.contains("53003"));
    assert!(html.contains(r.header("x-gardien-correlation-id")));
    for name in [
        "CA01",
        "Block sign-ins from outside the EU",
        "e0000000-0000-4000-8000-000000000001",
    ] {
        assert!(!html.contains(name), "minimal disclosure leaked `{name}`");
    }
    // The same page by key (what nginx's error_page fetches), as JSON for an API client.
    let key = r.header("x-gardien-denial").to_owned();
    // `<correlation id>.<128-bit secret>`.
    assert_eq!(key.len(), 36 + 1 + 32, "{key}");
    assert!(key.starts_with(r.header("x-gardien-correlation-id")));
    let page = send(
        &s.app,
        "198.18.0.1",
        Request::get(format!("/v1/denial/{key}"))
            .header("accept", "application/json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(page.header("content-type"), "application/problem+json");
    let problem = page.json();
    assert_eq!(problem["status"], 403);
    assert_eq!(problem["errorCode"], 53003);
    assert_eq!(problem["category"], "location");
    assert!(!page.text().contains("CA01"));
    let missing = send(
        &s.app,
        PROXY,
        Request::get("/v1/denial/0123").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn full_disclosure_names_the_policy() {
    let s = server("[page]\ndisclosure = \"full\"").await;
    let r = send(
        &s.app,
        PROXY,
        forward_auth(
            "payroll.contoso.example",
            &[
                ("remote-user", ALICE),
                ("cf-ipcountry", "BR"),
                ("user-agent", CHROME_WIN),
                ("accept", "text/html"),
            ],
        ),
    )
    .await;
    assert!(
        r.text().contains("CA01 Block sign-ins from outside the EU"),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn decision_api_needs_a_token_and_returns_the_design_output() {
    let s = server("").await;
    let body = std::fs::read(root().join("examples/demo/requests/laptop-abroad.json")).unwrap();
    let unauth = send(
        &s.app,
        "127.0.0.1",
        Request::post("/v1/evaluate")
            .body(Body::from(body.clone()))
            .unwrap(),
    )
    .await;
    assert_eq!(unauth.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unauth.header("content-type"), "application/problem+json");
    let mut req = admin("POST", "/v1/evaluate", None);
    *req.body_mut() = Body::from(body.clone());
    let r = send(&s.app, "127.0.0.1", req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["decision"], "deny");
    assert_eq!(v["errorCode"], 53003);
    assert_eq!(
        v["explanation"]["category"], "anonymousNetwork",
        "the request says VPN"
    );
    assert_eq!(
        v["appliedConditionalAccessPolicies"]
            .as_array()
            .unwrap()
            .len(),
        6
    );

    for path in [
        "/identity/conditionalAccess/evaluate",
        "/v1.0/identity/conditionalAccess/evaluate",
        "/beta/identity/conditionalAccess/evaluate",
    ] {
        let mut req = admin("POST", path, None);
        *req.body_mut() = Body::from(body.clone());
        let r = send(&s.app, "127.0.0.1", req).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(r.json()["value"].as_array().unwrap().len(), 6, "{path}");
    }
    let mut bad = admin("POST", "/v1/evaluate", None);
    *bad.body_mut() = Body::from(r#"{"signInIdentity": 3}"#);
    let r = send(&s.app, "127.0.0.1", bad).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("signInIdentity"),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn admin_writes_are_validated_versioned_and_atomic() {
    let s = server("").await;
    let base = "/v1.0/identity/conditionalAccess/policies";
    // No token: refused.
    let r = send(
        &s.app,
        "127.0.0.1",
        Request::get(base).body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = send(&s.app, "127.0.0.1", admin("GET", base, None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["value"].as_array().unwrap().len(), 6);
    assert_eq!(r.header("etag"), "\"1\"");

    // An invalid policy: 400 naming the JSON path in the body, nothing changes.
    let bad = json!({"displayName": "bad", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
                       "clientAppTypes": ["sometimes"]},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}});
    let r = send(&s.app, "127.0.0.1", admin("POST", base, Some(bad))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    // A Graph route: Graph's error shape, each problem in `details` with its JSON path
    // (in the request body) as `target`.
    let problem = r.json();
    let err = &problem["error"]["details"][0];
    assert_eq!(problem["error"]["code"], "invalidRequest", "{problem}");
    assert!(
        err["target"]
            .as_str()
            .unwrap()
            .starts_with("/conditions/clientAppTypes"),
        "{problem}"
    );
    assert_eq!(s.state.live.load().version, 1);
    assert_eq!(laptop_abroad(&s.app).await.status, StatusCode::FORBIDDEN);

    // A member Graph does not define: 400 naming it with the nearest known name, as Graph
    // does; nothing changes.
    let typo = json!({"displayName": "typo", "state": "enabled",
        "conditions": {"users": {"includeUser": ["All"]}, "applications": {"includeApplications": ["All"]},
                       "clientAppTypes": ["all"]},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}});
    let r = send(&s.app, "127.0.0.1", admin("POST", base, Some(typo))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let problem = r.json();
    let detail = &problem["error"]["details"][0];
    assert_eq!(
        detail["target"], "/conditions/users/includeUser",
        "{problem}"
    );
    assert!(
        detail["message"]
            .as_str()
            .unwrap()
            .ends_with("(did you mean `includeUsers`?)"),
        "{problem}"
    );
    assert_eq!(detail["code"], "GV004", "{problem}");
    assert_eq!(s.state.live.load().version, 1);

    // Disable CA01 (location block): accepted, version 2, enforcement changes at once.
    let ca01 = "/v1.0/identity/conditionalAccess/policies/ca01-0000-4000-8000-000000000000";
    let current = send(&s.app, "127.0.0.1", admin("GET", ca01, None)).await;
    assert_eq!(current.status, StatusCode::OK, "{}", current.text());
    let r = send(
        &s.app,
        "127.0.0.1",
        admin("PATCH", ca01, Some(json!({"state": "disabled"}))),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("etag"), "\"2\"");
    assert_eq!(r.json()["state"], "disabled");
    let after = laptop_abroad(&s.app).await;
    assert_ne!(
        after.header("x-gardien-error-code"),
        "53003",
        "CA01 no longer blocks"
    );

    // A write based on version 1 is now a conflict.
    let mut stale = admin("PATCH", ca01, Some(json!({"state": "enabled"})));
    stale
        .headers_mut()
        .insert("if-match", http::HeaderValue::from_static("\"1\""));
    let r = send(&s.app, "127.0.0.1", stale).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(s.state.live.load().version, 2);

    // History and rollback.
    let r = send(
        &s.app,
        "127.0.0.1",
        admin("GET", "/v1/admin/versions", None),
    )
    .await;
    let versions = r.json();
    assert_eq!(versions["current"], 2);
    assert_eq!(versions["value"][0]["author"], "test");
    assert_eq!(versions["value"][0]["summary"], "1 policy modified");
    let r = send(
        &s.app,
        "127.0.0.1",
        admin("GET", "/v1/admin/versions/2", None),
    )
    .await;
    assert_eq!(
        r.json()["diff"]["changes"][0]["id"],
        "ca01-0000-4000-8000-000000000000"
    );
    let r = send(
        &s.app,
        "127.0.0.1",
        admin("POST", "/v1/admin/versions/1/rollback", None),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["version"], 3);
    assert_eq!(
        laptop_abroad(&s.app).await.header("x-gardien-error-code"),
        "53003"
    );

    // Deleting a named location still referenced by a policy is rejected with the reason.
    let loc =
        "/v1.0/identity/conditionalAccess/namedLocations/e0000000-0000-4000-8000-000000000001";
    let r = send(&s.app, "127.0.0.1", admin("DELETE", loc, None)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(s.state.live.load().version, 3);
    let r = send(
        &s.app,
        "127.0.0.1",
        admin(
            "DELETE",
            "/v1.0/identity/conditionalAccess/policies/nope",
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn device_changes_take_effect_and_bad_devices_are_rejected() {
    let s = server("").await;
    let phone_browser = || {
        forward_auth(
            "payroll.contoso.example",
            &[
                ("remote-user", ALICE),
                ("x-forwarded-for", "198.51.100.20"),
                ("x-client-cert-sha256", "0A:0B:0C:0D"),
                ("user-agent", CHROME_ANDROID),
            ],
        )
    };
    assert_eq!(
        send(&s.app, PROXY, phone_browser())
            .await
            .header("x-gardien-error-code"),
        "53000"
    );
    let phone = |device: Value| {
        admin(
            "PUT",
            "/v1/admin/devices/d0000000-0000-4000-8000-000000000003",
            Some(device),
        )
    };
    let updated = json!({"displayName": "PHONE-ALICE", "operatingSystem": "Android",
        "operatingSystemVersion": "14", "trustType": "Workplace", "identifiers": ["sha256:0A:0B:0C:0D"]});
    let r = send(&s.app, "127.0.0.1", phone(updated)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        send(&s.app, PROXY, phone_browser()).await.status,
        StatusCode::OK,
        "OS updated: compliant"
    );
    let bad = json!({"displayName": 7});
    let r = send(
        &s.app,
        "127.0.0.1",
        admin("PUT", "/v1/admin/devices/x", Some(bad)),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    // An unknown property is refused with a did-you-mean, as Graph does; nothing changes.
    let typo = json!({"operatingSystem": "Android", "operatingSystemVersion": "9",
        "trustTyp": "Workplace", "identifiers": ["sha256:0A:0B:0C:0D"]});
    let r = send(&s.app, "127.0.0.1", phone(typo)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(
        r.text().contains("did you mean `trustType`?"),
        "{}",
        r.text()
    );
    assert_eq!(
        send(&s.app, PROXY, phone_browser()).await.status,
        StatusCode::OK,
        "the refused write changed nothing"
    );
    let r = send(
        &s.app,
        "127.0.0.1",
        admin(
            "DELETE",
            "/v1/admin/devices/d0000000-0000-4000-8000-000000000003",
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // Unknown device now: unregistered, so the browser needs a compliant device again.
    assert_eq!(
        send(&s.app, PROXY, phone_browser())
            .await
            .header("x-gardien-error-code"),
        "53000"
    );
}

#[tokio::test]
async fn every_decision_is_logged_and_queryable() {
    let s = server("").await;
    let denied = laptop_abroad(&s.app).await;
    let id = denied.header("x-gardien-correlation-id").to_owned();
    let allowed = send(
        &s.app,
        PROXY,
        forward_auth(
            "payroll.contoso.example",
            &[
                ("remote-user", ALICE),
                ("x-forwarded-for", "198.51.100.20"),
                ("user-agent", "Outlook-Android/2.0"),
            ],
        ),
    )
    .await;
    assert_eq!(allowed.status, StatusCode::OK);
    let r = send(
        &s.app,
        "127.0.0.1",
        admin("GET", &format!("/v1/signins?correlationId={id}"), None),
    )
    .await;
    let records = r.json()["value"].as_array().unwrap().clone();
    assert_eq!(records.len(), 1);
    let rec = &records[0];
    assert_eq!(rec["status"]["errorCode"], 53003);
    assert_eq!(rec["conditionalAccessStatus"], "failure");
    assert_eq!(rec["clientAppUsed"], "Browser");
    assert_eq!(rec["ipAddress"], "203.0.113.50");
    assert_eq!(rec["location"]["countryOrRegion"], "BR");
    assert_eq!(rec["userId"], ALICE);
    assert_eq!(rec["appDisplayName"], "Payroll");
    let ca01 = rec["appliedConditionalAccessPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "ca01-0000-4000-8000-000000000000")
        .unwrap();
    assert_eq!(ca01["result"], "failure");
    assert_eq!(ca01["enforcedGrantControls"], json!(["Block"]));
    // The stored request rebuilds the very sign-in that was decided (what replay reads).
    let again = gardien_core::SignIn::from_value("record", &rec["gardien"]["request"]).unwrap();
    assert_eq!(again.country, Some(*b"BR"));
    // The per-policy results are stored by reference (compact record) and read back as the
    // whole serialization of the evaluation, every policy in tenant order.
    let live = s.state.live.load_full();
    let evaluation = live.tenant.evaluate(&again);
    let whole = serde_json::to_value(gardien_core::report::AppliedPoliciesJson {
        tenant: &live.tenant,
        evaluation: &evaluation,
    })
    .unwrap();
    assert_eq!(whole.as_array().unwrap().len(), 6);
    assert_eq!(rec["appliedConditionalAccessPolicies"], whole);

    let r = send(
        &s.app,
        "127.0.0.1",
        admin("GET", "/v1/signins?status=success", None),
    )
    .await;
    assert_eq!(r.json()["value"].as_array().unwrap().len(), 1);
    let r = send(
        &s.app,
        "127.0.0.1",
        admin("GET", "/v1/signins?status=bogus", None),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = send(
        &s.app,
        "127.0.0.1",
        admin(
            "GET",
            "/v1/signins?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z",
            None,
        ),
    )
    .await;
    assert_eq!(r.json()["value"].as_array().unwrap().len(), 0);
    let r = send(
        &s.app,
        "127.0.0.1",
        admin("GET", "/v1/signins/export", None),
    )
    .await;
    assert_eq!(r.header("content-type"), "application/x-ndjson");
    let lines: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["correlationId"], id.as_str(), "oldest first");
    assert_eq!(
        lines[0], *rec,
        "the export and the query read the same record"
    );
}

/// `GET /v1/signins` reads at most `[log] search_reads` index entries a page: when the
/// filters each match many sign-ins and few together, a page stops before it is full, says
/// back to when it searched (`@gardien.searchedTo`) and links on (`@odata.nextLink`, every
/// other parameter kept); following the links to the end gives exactly the matches, newest
/// first, each once. A bad `before` is refused, and so is `before` on the export (which
/// streams everything).
#[tokio::test]
async fn a_sign_in_query_stops_at_its_bound_and_links_on() {
    let s = server("[log]\nsearch_reads = 4").await;
    // 200 sign-ins, one a second: users u0/u1 and apps a0/a1 alternate so that u0 never uses
    // a0, except at t = 10 s and t = 20 s.
    for i in 0..200i64 {
        let (user, app) = match i {
            10 | 20 => ("u0", "a0"),
            _ if i % 2 == 0 => ("u0", "a1"),
            _ => ("u1", "a0"),
        };
        s.state
            .store
            .log()
            .append(gardien_store::SignInRecord {
                id: format!("c{i:03}"),
                created_ms: 1_700_000_000_000 + i * 1000,
                user_id: user.to_owned(),
                app_id: app.to_owned(),
                decision: "allow".to_owned(),
                error_code: None,
                record: json!({"correlationId": format!("c{i:03}")}).to_string(),
                fragments: None,
            })
            .await
            .unwrap();
    }
    let mut uri = "/v1/signins?user=u0&app=a0&limit=5".to_owned();
    let mut got = Vec::new();
    let mut stopped = 0;
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages < 200, "the links do not end");
        let r = send(&s.app, "127.0.0.1", admin("GET", &uri, None)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let body = r.json();
        let value = body["value"].as_array().unwrap();
        got.extend(
            value
                .iter()
                .map(|v| v["correlationId"].as_str().unwrap().to_owned()),
        );
        if let Some(to) = body.get("@gardien.searchedTo") {
            stopped += 1;
            assert!(value.len() < 5, "a full page does not stop: {body}");
            let to = gardien_core::time::parse_rfc3339_ms(to.as_str().unwrap()).unwrap();
            assert!(to >= 1_700_000_000_000, "{body}");
        }
        match body.get("@odata.nextLink") {
            Some(next) => {
                let next = next.as_str().unwrap();
                assert!(
                    next.starts_with("/v1/signins?user=u0&app=a0&limit=5&before="),
                    "{next}"
                );
                uri = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(got, ["c020", "c010"]);
    assert!(stopped > 10, "{stopped} pages stopped early");
    // Unbounded, the same query is one page.
    let unbounded = s
        .state
        .store
        .log()
        .search(&gardien_store::SignInFilter {
            user: Some("u0".to_owned()),
            app: Some("a0".to_owned()),
            limit: Some(5),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(unbounded.records.len(), 2);
    assert_eq!(unbounded.searched_to, None);

    let r = send(
        &s.app,
        "127.0.0.1",
        admin("GET", "/v1/signins?before=yesterday", None),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("before: `yesterday`"), "{}", r.text());
    let r = send(
        &s.app,
        "127.0.0.1",
        admin("GET", "/v1/signins/export?before=17", None),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // A page that fills never says it stopped.
    let r = send(
        &s.app,
        "127.0.0.1",
        admin("GET", "/v1/signins?user=u1&limit=3", None),
    )
    .await;
    let body = r.json();
    assert_eq!(body["value"].as_array().unwrap().len(), 3);
    assert!(body.get("@gardien.searchedTo").is_none(), "{body}");
    assert!(
        body["@odata.nextLink"]
            .as_str()
            .unwrap()
            .contains("before=")
    );
}

#[tokio::test]
async fn metrics_health_readiness_and_openapi() {
    let s = server("").await;
    laptop_abroad(&s.app).await;
    let m = send(
        &s.app,
        "127.0.0.1",
        Request::get("/metrics").body(Body::empty()).unwrap(),
    )
    .await;
    let text = m.text();
    assert!(
        text.contains(
            "gardien_decisions_total{endpoint=\"forward_auth\",decision=\"deny\",code=\"53003\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("gardien_policy_version 1"), "{text}");
    assert!(
        text.contains("gardien_signin_log_committed_total 1"),
        "{text}"
    );
    let r = send(
        &s.app,
        "127.0.0.1",
        Request::get("/healthz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = send(
        &s.app,
        "127.0.0.1",
        Request::get("/readyz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.json()["policyVersion"], 1);
    assert_eq!(r.json()["devices"], 3);
    let r = send(
        &s.app,
        "127.0.0.1",
        Request::get("/openapi.json").body(Body::empty()).unwrap(),
    )
    .await;
    let doc = r.json();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    let mut routes: Vec<(String, String)> = gardien_server::routes::ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    documented.sort();
    routes.sort();
    assert_eq!(documented, routes, "openapi.json and routes::ROUTES differ");
    // Every listed route is served (no 404/405 from the router).
    for (method, path) in gardien_server::routes::ROUTES {
        let uri = path
            .replace("{id}", "x")
            .replace("{key}", "x")
            .replace("{deviceId}", "x")
            .replace("{version}", "1");
        let r = send(
            &s.app,
            "127.0.0.1",
            Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&uri)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        if !path.contains('{') {
            assert_ne!(r.status, StatusCode::NOT_FOUND, "{method} {path}");
        }
    }
}

#[tokio::test]
async fn envoy_ext_authz_reads_the_original_path_and_host() {
    let s = server("").await;
    let req = Request::post("/v1/ext-authz/reports/q3?x=1")
        .header("host", "payroll.contoso.example:443")
        .header("remote-user", ALICE)
        .header("cf-ipcountry", "BR")
        .header("user-agent", CHROME_WIN)
        .body(Body::empty())
        .unwrap();
    let r = send(&s.app, PROXY, req).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.header("x-gardien-error-code"), "53003");
    let id = r.header("x-gardien-correlation-id").to_owned();
    let rec = send(
        &s.app,
        "127.0.0.1",
        admin("GET", &format!("/v1/signins?correlationId={id}"), None),
    )
    .await;
    assert_eq!(
        rec.json()["value"][0]["appDisplayName"],
        "Payroll",
        "host mapped to the app"
    );
}

#[tokio::test]
async fn bearer_tokens_carry_identity_and_methods() {
    use base64::Engine as _;
    use ring::signature::KeyPair as _;
    let pkcs8 =
        ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
    let keys = tempfile::tempdir().unwrap();
    let jwks = keys.path().join("jwks.json");
    std::fs::write(
        &jwks,
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k1", "x": x}]}).to_string(),
    )
    .unwrap();
    let s = server(&format!(
        "[identity.jwt]\nissuer = \"https://idp.example\"\naudiences = [\"gardien\"]\njwks_file = {:?}\n",
        jwks.display().to_string()
    ))
    .await;
    let now = gardien_server::clock::now_ms() / 1000;
    let token = |amr: &[&str], exp: i64| {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some("k1".into());
        let claims = json!({"iss": "https://idp.example", "aud": "gardien", "sub": BOB,
                            "email": "bob@contoso.example", "amr": amr, "exp": exp});
        jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_ed_der(pkcs8.as_ref()),
        )
        .unwrap()
    };
    let ask = |t: String| {
        let auth = format!("Bearer {t}");
        forward_auth(
            "wiki.contoso.example",
            &[
                ("authorization", auth.as_str()),
                ("x-forwarded-for", "198.51.100.20"),
                ("user-agent", SAFARI_MAC),
            ],
        )
    };
    let r = send(&s.app, PROXY, ask(token(&["pwd"], now + 300))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "admin without MFA");
    assert!(
        r.header("www-authenticate")
            .contains("insufficient_user_authentication")
    );
    let r = send(&s.app, PROXY, ask(token(&["pwd", "mfa"], now + 300))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("remote-email"), "bob@contoso.example");
    let r = send(&s.app, PROXY, ask(token(&["pwd", "mfa"], now - 3600))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.header("www-authenticate").contains("invalid_token"),
        "{:?}",
        r.headers
    );
    // A token is verified whoever sends it: straight from a client the identity holds, but
    // the forwarding headers do not, so the client's own address (unknown country) decides.
    let r = send(
        &s.app,
        "203.0.113.9",
        ask(token(&["pwd", "mfa"], now + 300)),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.header("x-gardien-error-code"), "53003");
}

#[tokio::test]
async fn a_replica_shows_the_page_and_follows_the_policy_of_another() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gardien.db");
    // Two servers on one store: what replicas are (the store is shared, memory is not).
    let a = start("", &db).await;
    let b = start("", &db).await;
    let (app_a, app_b) = (router(a.clone()), router(b.clone()));

    // A denies; B has never seen the decision but shows the same page, rebuilt from the log.
    let headers = [
        ("remote-user", ALICE),
        ("cf-ipcountry", "BR"),
        ("user-agent", CHROME_WIN),
    ];
    let r = send(
        &app_a,
        PROXY,
        forward_auth("payroll.contoso.example", &headers),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let key = r.header("x-gardien-denial").to_owned();
    let page = |app: &Router, key: String| {
        let app = app.clone();
        async move {
            send(
                &app,
                PROXY,
                Request::get(format!("/v1/denial/{key}"))
                    .header("accept", "application/json")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
        }
    };
    let from_a = page(&app_a, key.clone()).await;
    let from_b = page(&app_b, key.clone()).await;
    assert_eq!(from_b.status, StatusCode::FORBIDDEN, "{}", from_b.text());
    assert_eq!(from_b.json(), from_a.json());
    assert_eq!(from_b.json()["errorCode"], 53003);
    assert_eq!(
        from_b.json()["correlationId"],
        r.header("x-gardien-correlation-id")
    );
    // The secret half is checked: the correlation id alone (which the page shows) opens
    // nothing.
    let (cid, secret) = key.split_once('.').unwrap();
    let forged = format!("{cid}.{}", "0".repeat(secret.len()));
    assert_eq!(page(&app_b, forged).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        page(&app_b, cid.to_owned()).await.status,
        StatusCode::NOT_FOUND
    );

    // A policy change written through A is put in force by B (here by the periodic check;
    // PostgreSQL also notifies), and B's readiness reports it.
    let r = send(
        &app_a,
        "127.0.0.1",
        admin(
            "DELETE",
            "/v1.0/identity/conditionalAccess/policies/ca01-0000-4000-8000-000000000000",
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert_eq!(b.live.load().version, 1);
    let ready = send(
        &app_b,
        PROXY,
        Request::get("/readyz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(ready.json()["policyVersion"], 1);
    assert_eq!(ready.json()["storeVersion"], 2);
    // A stale-version write through B is refused (409), never applied over version 2.
    let mut stale = admin(
        "DELETE",
        "/v1.0/identity/conditionalAccess/policies/ca02-0000-4000-8000-000000000000",
        None,
    );
    stale
        .headers_mut()
        .insert("if-match", http::HeaderValue::from_static("\"1\""));
    let r = send(&app_b, "127.0.0.1", stale).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    // A write naming the store's version through B, before B has put it in force (no
    // notification between two stores on one SQLite file): B catches up, then applies.
    let mut current = admin(
        "DELETE",
        "/v1.0/identity/conditionalAccess/policies/ca02-0000-4000-8000-000000000000",
        None,
    );
    current
        .headers_mut()
        .insert("if-match", http::HeaderValue::from_static("\"2\""));
    let r = send(&app_b, "127.0.0.1", current).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert_eq!(r.header("etag"), "\"3\"");
    assert_eq!(b.sync_policy().await.unwrap(), 3);
    assert_eq!(a.sync_policy().await.unwrap(), 3);
    let r = send(
        &app_b,
        PROXY,
        forward_auth("payroll.contoso.example", &headers),
    )
    .await;
    assert_ne!(r.header("x-gardien-error-code"), "53003", "{}", r.text());
    // A replica started after the change still shows the earlier denial's page: it is
    // rebuilt with the version that decided, not the one in force.
    let c = start("", &db).await;
    assert_eq!(c.live.load().version, 3);
    let again = page(&router(c), key.clone()).await;
    assert_eq!(again.status, StatusCode::FORBIDDEN, "{}", again.text());
    assert_eq!(again.json(), from_a.json());
}

#[tokio::test]
async fn decision_bodies_are_small_admin_bodies_may_be_a_whole_directory() {
    let s = server("").await;
    // A decision body over the 256 KiB limit is refused before it is read whole.
    let mut req = admin("POST", "/v1/evaluate", None);
    *req.body_mut() = Body::from(vec![b' '; gardien_server::routes::DECISION_BODY_BYTES + 1]);
    let r = send(&s.app, "127.0.0.1", req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert_eq!(r.header("content-type"), "application/problem+json");
    assert_eq!(r.json()["status"], 413);
    // An admin body of 3 MiB is read and judged on its content (here: not JSON → 400,
    // nothing changes), not refused for its size.
    let mut req = admin("PUT", "/v1/admin/directory", None);
    *req.body_mut() = Body::from(vec![b'x'; 3 * 1024 * 1024]);
    let r = send(&s.app, "127.0.0.1", req).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(s.state.live.load().version, 1);
}

/// A proxy's user header (or a token's `upn` as `user_claim`) naming the user by principal
/// name: the user's groups and roles still apply. Before, Bob's admin role was looked up
/// under `bob@contoso.example`, found nothing, and the role-targeted MFA policy did not ask.
#[tokio::test]
async fn users_named_by_principal_name_keep_their_roles_and_groups() {
    let s = server("").await;
    let bob = |user: &'static str| {
        forward_auth(
            "wiki.contoso.example",
            &[
                ("remote-user", user),
                ("x-forwarded-for", "198.51.100.20"),
                ("user-agent", SAFARI_MAC),
            ],
        )
    };
    for user in [BOB, "bob@contoso.example", " Bob@Contoso.Example"] {
        let r = send(&s.app, PROXY, bob(user)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{user}: {}", r.text());
    }
    // The sign-in log keeps the object id, so search by user finds it.
    let r = send(
        &s.app,
        "127.0.0.1",
        admin("GET", &format!("/v1/signins?user={BOB}"), None),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let count = r.json()["value"].as_array().map_or(0, Vec::len);
    assert_eq!(count, 3, "{}", r.text());
    // A user the directory does not list is still decided (as a user without groups), and
    // counted: the warning is written once a minute at most (a client can send any name).
    assert!(
        s.state
            .metrics
            .render(0)
            .contains("gardien_unknown_users_total 0"),
        "known users are not counted"
    );
    for user in [
        "eve@contoso.example",
        "mallory@contoso.example",
        "eve@contoso.example",
    ] {
        let r = send(&s.app, PROXY, bob(user)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let metrics = s.state.metrics.render(0);
    assert!(
        metrics.contains("gardien_unknown_users_total 3"),
        "{metrics}"
    );
}
