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
//!    demo tenant's shape), on SQLite (a real file) and on PostgreSQL
//!    (`CONSOLE_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test`, in a new
//!    schema dropped afterwards; SKIP when unreachable): every combination of the page's six
//!    filters (user, application, result, error code, time range, correlation id), each
//!    with values that match and values whose conjunction matches nothing, plus the user
//!    found by a partial name, and older pages; `CONSOLE_ROUNDS` times each (default 10).
//!    Target: p95 < 200 ms for every combination. A SQLite page that stops at its bound of
//!    index entries (fewer rows, a link on) is also followed once to the end, pages counted.
//!    `CONSOLE_BACKENDS=sqlite` (or `postgres`) runs one backend only.
//! 3. The policy pages (policies in plain words, coverage matrix, lint, gaps, named
//!    locations, devices) on the same 200-policy tenant, as admin (run before 1, right after
//!    the start): while their analyses are computed in the background, the "being computed"
//!    page's time (it never waits); when each page became ready after the start, and each
//!    analysis's own time on the background thread; then `CONSOLE_ROUNDS` requests of each
//!    page once computed (default 20 here). Analyses not ready `CONSOLE_COLD_LIMIT_S`
//!    seconds after the start (default 300) are reported as such.
//!
//! `CONSOLE_ONLY=pages` runs 1 and 3 only (no 1M-record log); `CONSOLE_SKIP_TRACE` skips 1 and 3.

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
        .header("host", "gardien.bench")
        .header("origin", "http://gardien.bench")
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
    // 10,000 registered devices (a tenth of them below the Windows minimum), for the device
    // page, with the demo's compliance rules.
    let devices = (0..10_000)
        .map(|i| {
            serde_json::json!({
                "deviceId": format!("d{i:07}-0000-4000-8000-000000000000"),
                "displayName": format!("LAPTOP-{i:05}"),
                "operatingSystem": "Windows",
                "operatingSystemVersion": if i % 10 == 0 { "10.0.19044" } else { "10.0.22631" },
                "trustType": "AzureAD",
            })
        })
        .collect();
    let options = StartOptions {
        initial_tenant: Some(snapshot::from_source(&data.source).unwrap()),
        initial_devices: Some(devices),
        compliance: demo_options().compliance,
        ..StartOptions::default()
    };
    let started = Instant::now();
    let state = AppState::start(config(dir.path()).await, options)
        .await
        .unwrap();
    let app = router(state.clone());
    // The policy pages first: their analyses start with the server, in the background, and
    // would otherwise run beside the trace pages.
    let cookie = admin_cookie(&app).await;
    policy_pages(&app, &cookie, &state, started).await;
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

/// Marks a policy page whose analysis is still being computed.
const COMPUTING: &str = "id=\"analysis-computing\"";

/// The policy pages: while their analyses are computed in the background (each answer is the
/// "being computed" page, timed: it must never wait for the analysis), when each became
/// ready after the start, the analyses' own times, then every page once computed.
async fn policy_pages(app: &Router, cookie: &str, state: &AppState, started: Instant) {
    let rounds: usize = env_or("CONSOLE_ROUNDS", 20);
    let limit = Duration::from_secs(env_or("CONSOLE_COLD_LIMIT_S", 300));
    let get = |path: &str| {
        Request::get(path)
            .header("cookie", cookie)
            .body(Body::empty())
            .unwrap()
    };
    let analysed = ["/console/policies", "/console/lint", "/console/gaps"];
    let mut ready = [None; 3];
    let mut waiting = Vec::new();
    while ready.iter().any(Option::is_none) && started.elapsed() < limit {
        for (i, path) in analysed.iter().enumerate() {
            if ready[i].is_some() {
                continue;
            }
            let at = Instant::now();
            let (status, _, page) = send(app, get(path)).await;
            let took = at.elapsed();
            assert_eq!(status, 200, "{path}: {page}");
            if page.contains(COMPUTING) {
                waiting.push(took);
            } else {
                ready[i] = Some(started.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if !waiting.is_empty() {
        println!(
            "\"being computed\" page while the analyses run: {}",
            percentiles(waiting)
        );
    }
    for (path, at) in analysed.iter().zip(ready) {
        match at {
            Some(at) => println!(
                "{path:<20} ready {:.2} s after the start began",
                at.as_secs_f64()
            ),
            None => println!(
                "{path:<20} not ready {:.0} s after the start",
                limit.as_secs_f64()
            ),
        }
    }
    let live = state.live.load_full();
    if let Some(r) = state.console.analyses.results(&live) {
        let s =
            |d: Option<Duration>| d.map_or("-".to_owned(), |d| format!("{:.2} s", d.as_secs_f64()));
        println!(
            "background analyses of version {}: doc {}, lint {}, gaps {}",
            r.version,
            s(r.elapsed[0]),
            s(r.elapsed[1]),
            s(r.elapsed[2])
        );
        if let gardien_server::console::analyses::Outcome::Ready(g) = &r.gaps
            && let Ok(report) = &g.report
        {
            println!(
                "gaps: exact analysis {}; the report shown took {:.2} s{}",
                if g.exact_refused.is_some() {
                    "refused"
                } else {
                    "shown"
                },
                report.summary.elapsed_ms / 1e3,
                if report.summary.partial.is_some() {
                    " (partial)"
                } else {
                    ""
                }
            );
        }
    }
    for path in [
        "/console/locations",
        "/console/devices",
        "/console/policies",
        "/console/coverage",
        "/console/lint",
        "/console/gaps",
    ] {
        let (status, _, page) = send(app, get(path)).await;
        assert_eq!(status, 200, "{path}: {page}");
        if page.contains(COMPUTING) {
            println!("{path:<20} still being computed: not measured");
            continue;
        }
        for marker in [
            "notice error\" role=\"status\">",
            "notice\" role=\"status\">",
        ] {
            if let Some(at) = page.find(marker) {
                println!(
                    "{path:<20} says: {}",
                    page[at + marker.len()..].split('<').next().unwrap_or("")
                );
            }
        }
        let mut times = Vec::new();
        for _ in 0..rounds {
            let at = Instant::now();
            let (status, _, _) = send(app, get(path)).await;
            times.push(at.elapsed());
            assert_eq!(status, 200);
        }
        println!(
            "{path:<20} computed: {}; page {} KiB",
            percentiles(times),
            page.len() / 1024
        );
    }
}

/// Where the bench's log lives.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Fills the log with `n` records: three users, two applications, outcomes spread so that
/// some conjunctions (Alice on the first application with a 53003 denial, a challenge with
/// an error code...) match nothing.
async fn fill(log: &gardien_store::SignInLog, n: usize, start_ms: i64, apps: &[&str; 2]) -> String {
    let users = [
        demo::ALICE,
        demo::BOB,
        "c3c3c3c3-0000-4000-8000-000000000003",
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
    last_id
}

async fn search(backend: Backend) {
    let n: usize = env_or("CONSOLE_SIGNINS", 1_000_000);
    let rounds: usize = env_or("CONSOLE_ROUNDS", 10);
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path()).await;
    let mut schema = None;
    let url = std::env::var("CONSOLE_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG.to_owned());
    if backend == Backend::Postgres {
        use sqlx::Connection as _;
        match sqlx::PgConnection::connect(&url).await {
            Ok(c) => drop(c.close().await),
            Err(e) => {
                println!("SKIP: PostgreSQL search bench: {url} unreachable: {e}");
                return;
            }
        }
        let name = format!("gardien_console_bench_{}", std::process::id());
        config.store.database = Some(url.clone());
        config.store.schema = Some(name.clone());
        schema = Some(name);
    }
    let label = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let state = AppState::start(config, demo_options()).await.unwrap();
    let apps = [
        "c0ffee00-0000-4000-8000-000000000100",
        "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
    ];
    let start_ms: i64 = 1_790_000_000_000;
    let last_id = fill(state.store.log(), n, start_ms, &apps).await;
    // PostgreSQL: the statistics and visibility map autovacuum keeps in steady state.
    let started = Instant::now();
    state.store.log().refresh_statistics().await.unwrap();
    println!(
        "{label}: statistics refreshed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let store = state.store.clone();
    let app = router(state);
    let cookie = admin_cookie(&app).await;
    let mid = |frac: f64| {
        gardien_server::clock::rfc3339(start_ms + (n as f64 * frac) as i64 * 500)
            .get(..16)
            .unwrap()
            .to_owned()
    };
    // Two value sets per filter: the first matches (alone and mostly together), the
    // second's conjunctions match nothing (an absent user, a challenge with error 53003,
    // an absent error code, an old 1 % range).
    let values: [[(&str, String); 6]; 2] = [
        [
            ("user", demo::ALICE.to_owned()),
            ("app", apps[0].to_owned()),
            ("result", "deny".to_owned()),
            ("errorCode", "53003".to_owned()),
            ("range", format!("from={}&to={}", mid(0.4), mid(0.41))),
            ("correlationId", last_id.clone()),
        ],
        [
            ("user", "d4d4d4d4-0000-4000-8000-000000000004".to_owned()),
            ("app", apps[1].to_owned()),
            ("result", "challenge".to_owned()),
            ("errorCode", "53001".to_owned()),
            ("range", format!("from={}&to={}", mid(0.01), mid(0.02))),
            (
                "correlationId",
                "ffffffff-0000-4000-8000-000000000000".to_owned(),
            ),
        ],
    ];
    let mut cases: Vec<(String, String)> = Vec::new();
    for (set, set_values) in values.iter().enumerate() {
        for mask in 0u32..64 {
            if set == 1 && mask == 0 {
                continue;
            }
            let mut names = Vec::new();
            let mut query = Vec::new();
            for (bit, (name, value)) in set_values.iter().enumerate() {
                if mask & (1 << bit) != 0 {
                    names.push(*name);
                    query.push(if *name == "range" {
                        value.clone()
                    } else {
                        format!("{name}={value}")
                    });
                }
            }
            let name = if names.is_empty() {
                "none".to_owned()
            } else {
                names.join("+")
            };
            cases.push((
                format!("{}{name}", if set == 1 { "no match: " } else { "" }),
                query.join("&"),
            ));
        }
    }
    // The user by a partial, differently written UPN (through the directory in force).
    cases.push(("user by partial UPN".into(), "user=ALICE%40".into()));
    let mut results = Vec::new();
    let mut stopped = Vec::new();
    for (name, query) in &cases {
        let mut times = Vec::new();
        let mut rows = 0;
        let mut next = None;
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
            next = page
                .split("rel=\"next\"")
                .next()
                .and_then(|head| head.rsplit("href=\"").next())
                .filter(|_| page.contains("rel=\"next\""))
                .map(|href| href.split('"').next().unwrap().replace("&amp;", "&"));
        }
        results.push((name.clone(), rows, times.clone()));
        // A page that stopped at its bound of index entries (a link on, fewer rows than a
        // page): follow the links once to a full page or the end, as an agent who wants
        // every match would.
        if rows < 100
            && let Some(first) = &next
        {
            let mut href = first.clone();
            let mut pages = 1;
            let mut found = rows;
            let started = Instant::now();
            loop {
                let req = Request::get(&href)
                    .header("cookie", &cookie)
                    .body(Body::empty())
                    .unwrap();
                let (status, _, page) = send(&app, req).await;
                assert_eq!(status, 200, "{name} continued: {page}");
                pages += 1;
                let shown = page.matches("<tr>").count().saturating_sub(1);
                found += shown;
                match page.split("rel=\"next\"").next() {
                    Some(head) if shown < 100 && page.contains("rel=\"next\"") => {
                        let at = head.rsplit("href=\"").next().unwrap();
                        href = at.split('"').next().unwrap().replace("&amp;", "&");
                    }
                    _ => break,
                }
            }
            stopped.push(format!(
                "{label} search {name:<58} stopped early: {pages} pages to a full page or the end, \
                 {found} rows, {:.1} ms for the pages after the first",
                started.elapsed().as_secs_f64() * 1e3
            ));
        }
        // The page after this one, when there is one (keyset: `before`).
        if let Some(href) = next {
            let mut times = Vec::new();
            let mut rows = 0;
            for _ in 0..rounds {
                let req = Request::get(&href)
                    .header("cookie", &cookie)
                    .body(Body::empty())
                    .unwrap();
                let started = Instant::now();
                let (status, _, page) = send(&app, req).await;
                times.push(started.elapsed());
                assert_eq!(status, 200, "{name} page 2: {page}");
                rows = page.matches("<tr>").count().saturating_sub(1);
            }
            results.push((format!("{name} (page 2)"), rows, times));
        }
    }
    let mut worst = (String::new(), Duration::ZERO);
    let mut over = 0;
    for (name, rows, times) in &results {
        let mut sorted = times.clone();
        sorted.sort();
        let p95 = sorted[((sorted.len() as f64 * 0.95) as usize).min(sorted.len() - 1)];
        if p95 > worst.1 {
            worst = (name.clone(), p95);
        }
        if p95 > Duration::from_millis(200) {
            over += 1;
        }
        println!(
            "{label} search {name:<58} {rows:>3} rows  {}",
            percentiles(times.clone())
        );
    }
    for line in &stopped {
        println!("{line}");
    }
    let all: Vec<Duration> = results.iter().flat_map(|r| r.2.iter().copied()).collect();
    println!(
        "{label} search, all {} cases: {}; worst p95 {:.1} ms ({}); {over} cases over 200 ms",
        results.len(),
        percentiles(all),
        worst.1.as_secs_f64() * 1e3,
        worst.0
    );
    store.close().await.unwrap();
    if let Some(schema) = schema {
        use sqlx::Connection as _;
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&mut c)
            .await
            .unwrap();
        drop(c.close().await);
    }
}

fn main() {
    let threads = env_or("CONSOLE_THREADS", 2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .unwrap();
    let backends = std::env::var("CONSOLE_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    rt.block_on(async {
        if std::env::var("CONSOLE_SKIP_TRACE").is_err() {
            trace_pages().await;
        }
        if std::env::var("CONSOLE_ONLY").as_deref() != Ok("pages") {
            for b in backends.split(',') {
                match b.trim() {
                    "sqlite" => search(Backend::Sqlite).await,
                    "postgres" => search(Backend::Postgres).await,
                    other => panic!("CONSOLE_BACKENDS: unknown backend `{other}`"),
                }
            }
        }
    });
}
