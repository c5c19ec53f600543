#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a bench aborts on setup failure"
)]

//! Console server times: `cargo bench -p gardien-server --bench console`.
//!
//! 1. A sign-in's trace page (`GET /console/signins/{id}`, admin: every policy's trace with
//!    its words) on the synthetic 200-policy / 390k-range tenant: 500 sign-ins decided and
//!    logged through `POST /v1/evaluate`, each page fetched in process (router, no socket:
//!    the server's own time, store query included). Target: < 50 ms.
//! 2. The search page over a large log (`CONSOLE_SIGNINS`, default 1,000,000 records of the
//!    demo tenant's shape, in a real SQLite file), once per filter combination the page
//!    offers, `CONSOLE_ROUNDS` times each (default 20). Target: p95 < 200 ms.

#[path = "../tests/support/demo.rs"]
#[allow(dead_code, reason = "shared support")]
mod demo;
#[path = "../../gardien-core/benches/support/synthetic.rs"]
mod synthetic;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use demo::{TOKEN, demo_options};
use gardien_server::{AppState, ServerConfig, StartOptions, router, snapshot};
use gardien_store::SignInRecord;
use http::Request;
use http_body_util::BodyExt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tower::ServiceExt;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn send(app: &Router, mut req: Request<Body>) -> (http::StatusCode, http::HeaderMap, String) {
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    let r = app.clone().oneshot(req).await.unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    let body = r.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn set_cookie(headers: &http::HeaderMap, name: &str) -> String {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned()
}

/// Signs in with the admin token; the session cookie.
async fn admin_cookie(app: &Router) -> String {
    let (_, h, page) = send(
        app,
        Request::get("/console/login").body(Body::empty()).unwrap(),
    )
    .await;
    let login = set_cookie(&h, "gardien_console_login");
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = page[at..].split('"').next().unwrap();
    let req = Request::post("/console/login")
        .header("cookie", login)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("csrf={csrf}&token={TOKEN}")))
        .unwrap();
    let (status, h, _) = send(app, req).await;
    assert_eq!(status, 303);
    set_cookie(&h, "gardien_console")
}

fn percentiles(mut t: Vec<Duration>) -> String {
    t.sort();
    let at = |q: f64| t[((t.len() as f64 * q) as usize).min(t.len() - 1)];
    format!(
        "p50 {:.2} ms  p95 {:.2} ms  max {:.2} ms  (n = {})",
        at(0.5).as_secs_f64() * 1e3,
        at(0.95).as_secs_f64() * 1e3,
        t[t.len() - 1].as_secs_f64() * 1e3,
        t.len()
    )
}

async fn config(dir: &std::path::Path) -> ServerConfig {
    ServerConfig::parse(
        "bench.toml",
        &format!(
            "[store]\npath = \"{}\"\n[admin]\ntoken_sha256 = \"{}\"\n",
            dir.join("g.db").display(),
            gardien_server::state::hash_token(TOKEN)
        ),
    )
    .unwrap()
}

async fn trace_pages() {
    let dir = tempfile::tempdir().unwrap();
    let data = synthetic::generate(7, 500);
    let options = StartOptions {
        initial_tenant: Some(snapshot::from_source(&data.source).unwrap()),
        ..StartOptions::default()
    };
    let state = AppState::start(config(dir.path()).await, options)
        .await
        .unwrap();
    let app = router(state);
    let mut ids = Vec::new();
    for request in &data.requests {
        let req = Request::post("/v1/evaluate")
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", "application/json")
            .body(Body::from(request.to_string()))
            .unwrap();
        let (_, h, _) = send(&app, req).await;
        ids.push(h["x-gardien-correlation-id"].to_str().unwrap().to_owned());
    }
    let cookie = admin_cookie(&app).await;
    let mut times = Vec::new();
    let mut bytes = 0;
    for round in 0..3 {
        for id in &ids {
            let req = Request::get(format!("/console/signins/{id}"))
                .header("cookie", &cookie)
                .body(Body::empty())
                .unwrap();
            let started = Instant::now();
            let (status, _, page) = send(&app, req).await;
            let took = started.elapsed();
            assert_eq!(status, 200, "{page}");
            if round > 0 {
                times.push(took);
                bytes = bytes.max(page.len());
            }
        }
    }
    println!(
        "trace page, 200-policy tenant, admin (all words): {}; largest page {} KiB",
        percentiles(times),
        bytes / 1024
    );
}

async fn search() {
    let n: usize = env_or("CONSOLE_SIGNINS", 1_000_000);
    let rounds: usize = env_or("CONSOLE_ROUNDS", 20);
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::start(config(dir.path()).await, demo_options())
        .await
        .unwrap();
    let log = state.store.log().clone();
    let users = [
        demo::ALICE,
        demo::BOB,
        "c3c3c3c3-0000-4000-8000-000000000003",
    ];
    let apps = [
        "c0ffee00-0000-4000-8000-000000000100",
        "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
    ];
    let outcomes = [
        ("allow", None),
        ("allow", None),
        ("allow", None),
        ("allow", None),
        ("allow", None),
        ("allow", None),
        ("challenge", None),
        ("deny", Some(53003u32)),
        ("deny", Some(53000)),
        ("deny", Some(53003)),
    ];
    let start_ms: i64 = 1_790_000_000_000;
    let started = Instant::now();
    let mut last_id = String::new();
    let mut pending = Vec::with_capacity(4096);
    for i in 0..n {
        let id = format!("{:08x}-0000-4000-8000-{:012x}", i / 65536, i);
        let user = users[i % users.len()];
        let app = apps[(i / 3) % apps.len()];
        let (decision, code) = outcomes[(i * 7) % outcomes.len()];
        let created_ms = start_ms + i as i64 * 500;
        let record = serde_json::json!({
            "id": id, "createdDateTime": gardien_server::clock::rfc3339(created_ms),
            "userId": user, "userPrincipalName": "", "appId": app, "appDisplayName": "Payroll",
            "correlationId": id, "ipAddress": "198.51.100.20", "clientAppUsed": "Browser",
            "status": {"errorCode": code.unwrap_or(0)},
            "gardien": {"decision": decision, "policyVersion": 1}
        })
        .to_string();
        last_id.clone_from(&id);
        let r = SignInRecord {
            id,
            created_ms,
            user_id: user.to_owned(),
            app_id: app.to_owned(),
            decision: decision.to_owned(),
            error_code: code,
            record,
            fragments: None,
        };
        let log = log.clone();
        pending.push(tokio::spawn(async move { log.append(r).await }));
        if pending.len() == 4096 {
            for p in pending.drain(..) {
                p.await.unwrap().unwrap();
            }
        }
    }
    for p in pending.drain(..) {
        p.await.unwrap().unwrap();
    }
    println!(
        "log filled: {n} records in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let app = router(state);
    let cookie = admin_cookie(&app).await;
    let mid = |frac: f64| {
        gardien_server::clock::rfc3339(start_ms + (n as f64 * frac) as i64 * 500)
            .get(..16)
            .unwrap()
            .to_owned()
    };
    let (from, to) = (mid(0.4), mid(0.41));
    let filters: Vec<(&str, String)> = vec![
        ("none (newest 100)", String::new()),
        ("correlation id", format!("correlationId={last_id}")),
        ("user", format!("user={}", demo::ALICE)),
        ("app", format!("app={}", apps[0])),
        ("result deny", "result=deny".into()),
        ("error code 53000", "errorCode=53000".into()),
        ("time range (1 %)", format!("from={from}&to={to}")),
        ("user + result", format!("user={}&result=deny", demo::BOB)),
        (
            "user + time range",
            format!("user={}&from={from}&to={to}", demo::ALICE),
        ),
        (
            "app + error code",
            format!("app={}&errorCode=53003", apps[1]),
        ),
        (
            "user + app + result + code + range",
            format!(
                "user={}&app={}&result=deny&errorCode=53003&from={from}&to={to}",
                demo::ALICE,
                apps[0]
            ),
        ),
        (
            "result + old time range",
            format!("result=challenge&from={}&to={}", mid(0.01), mid(0.02)),
        ),
        // Nothing matches: the whole log is walked (no index on decision or error code).
        ("error code absent (worst case)", "errorCode=53001".into()),
        (
            "result + code absent (worst case)",
            "result=challenge&errorCode=53003".into(),
        ),
        (
            "user absent",
            "user=d4d4d4d4-0000-4000-8000-000000000004".into(),
        ),
    ];
    for (name, query) in filters {
        let mut times = Vec::new();
        let mut rows = 0;
        for _ in 0..rounds {
            let req = Request::get(format!("/console/signins?{query}"))
                .header("cookie", &cookie)
                .body(Body::empty())
                .unwrap();
            let started = Instant::now();
            let (status, _, page) = send(&app, req).await;
            times.push(started.elapsed());
            assert_eq!(status, 200, "{name}: {page}");
            rows = page.matches("<tr>").count().saturating_sub(1);
        }
        println!("search {name:<36} {rows:>3} rows  {}", percentiles(times));
    }
}

fn main() {
    let threads = env_or("CONSOLE_THREADS", 2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        trace_pages().await;
        search().await;
    });
}
