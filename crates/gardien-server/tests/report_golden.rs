#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! The answers of `POST /v1/evaluate` and the report `gardien evaluate --json` prints, byte
//! for byte, against golden digests (`testdata/render/evaluate-golden.tsv`): the demo
//! tenant's requests, every vector and explanation case of `testdata/` (each on both sides
//! of the dated changes), the 500 sign-ins of the 200-policy synthetic tenant, and bodies
//! broken on purpose (unknown and misspelt members, wrong types, cut text, bad names), so
//! that a faster way of reading a body or writing a report cannot change one byte of any
//! answer or error.
//!
//! Each line: case, status, decision (or status again), content type, body length, the first 16 hex digits of the body's SHA-256, and
//! for an answered sign-in the same of the CLI's `evaluate --json` text (the report of the
//! same sign-in, pretty-printed). `GOLDEN_WRITE=1` rewrites the file (from a commit whose
//! answers are right); `GOLDEN_DUMP=<dir>` writes each answer there, to compare two commits.

#[path = "../../gardien-core/benches/support/synthetic.rs"]
mod synthetic;

#[path = "support/demo.rs"]
#[allow(dead_code, reason = "shared with the API tests and the benches")]
mod demo;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use gardien_core::{SourceFile, TenantSource};
use gardien_server::{AppState, ServerConfig, StartOptions, router, snapshot};
use http::Request;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;

/// The instants every case is decided at: both sides of the dated changes' dates, and later.
const INSTANTS: [&str; 3] = [
    "2026-06-14T23:59:59Z",
    "2026-06-30T00:00:00Z",
    "2026-12-07T00:00:00Z",
];

fn golden_path() -> PathBuf {
    demo::root().join("testdata/render/evaluate-golden.tsv")
}

struct Server {
    state: Arc<AppState>,
    app: Router,
    _dir: tempfile::TempDir,
}

async fn server(options: StartOptions) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "listen = \"127.0.0.1:0\"\n[store]\npath = \"{}\"\n[admin]\ntoken_sha256 = \"{}\"\n[console]\nenabled = false\n",
        dir.path().join("gardien.db").display(),
        gardien_server::state::hash_token(demo::TOKEN),
    );
    let config = ServerConfig::parse("test.toml", &text).unwrap();
    let state = AppState::start(config, options).await.unwrap();
    Server {
        app: router(state.clone()),
        state,
        _dir: dir,
    }
}

/// The options of a server holding `tenant`; `None` for a tenant the server refuses (some
/// vectors hold one on purpose).
fn tenant_options(tenant: &Value) -> Option<StartOptions> {
    let source = TenantSource {
        combined: Some(SourceFile::new(
            "tenant.json",
            serde_json::to_vec(tenant).unwrap(),
        )),
        ..Default::default()
    };
    Some(StartOptions {
        demo: false,
        initial_tenant: Some(snapshot::from_source(&source).ok()?),
        initial_devices: None,
        compliance: None,
    })
}

fn digest(bytes: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    d.as_ref()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One request: its name in the golden file, its body, the instant it is decided at.
struct Case {
    name: String,
    body: Vec<u8>,
    at: &'static str,
}

/// The golden line of one case: the server's answer, and the CLI's report when answered.
async fn line(s: &Server, case: &Case) -> String {
    let uri = format!("/v1/evaluate?at={}", case.at.replace(':', "%3A"));
    let mut req = Request::builder()
        .method("POST")
        .uri(uri)
        .header("authorization", format!("Bearer {}", demo::TOKEN))
        .header("content-type", "application/json")
        .body(Body::from(case.body.clone()))
        .unwrap();
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    let response = s.app.clone().oneshot(req).await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    // What was answered: the decision, or the status of a refused body.
    let kind = if status == 200 {
        let v: Value = serde_json::from_slice(&body).unwrap();
        v["decision"].as_str().unwrap_or("?").to_owned()
    } else {
        status.to_string()
    };
    let cli = if status == 200 {
        // `gardien evaluate --json`: the same sign-in, its report pretty-printed.
        let live = s.state.live.load();
        let mut signin = gardien_core::SignIn::parse_in(
            "request body",
            &case.body,
            &live.tenant.tenant.directory,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        signin.at = gardien_core::time::parse_rfc3339(case.at);
        let evaluation = live.tenant.evaluate(&signin);
        let report = gardien_core::report::DecisionReport::new(&live.tenant, &signin, &evaluation);
        let text = format!("{}\n", serde_json::to_string_pretty(&report).unwrap());
        dump(&format!("{}.cli", case.name), text.as_bytes());
        format!("{}\t{}", text.len(), digest(text.as_bytes()))
    } else {
        "-\t-".to_owned()
    };
    dump(&case.name, &body);
    format!(
        "{}\t{status}\t{kind}\t{content_type}\t{}\t{}\t{cli}",
        case.name,
        body.len(),
        digest(&body)
    )
}

fn dump(name: &str, bytes: &[u8]) {
    if let Some(dir) = std::env::var_os("GOLDEN_DUMP") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name.replace(['/', ' '], "_")), bytes).unwrap();
    }
}

/// Bodies broken on purpose from a valid one: each gives an error the reader must keep.
fn broken(name: &str, request: &Value) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut put = |what: &str, v: &Value| {
        out.push((format!("{name}!{what}"), v.to_string().into_bytes()));
    };
    let mut v = request.clone();
    v["signInConditoins"] = json!({});
    put("misspelt-member", &v);
    let mut v = request.clone();
    v["signInConditions"] = json!(5);
    put("conditions-a-number", &v);
    let mut v = request.clone();
    v["signInConditions"] = json!({"ipAddress": "not an address", "clientAppType": "browser"});
    put("bad-address", &v);
    let mut v = request.clone();
    v["signInConditions"] = json!({"devicePlatform": 7});
    put("platform-a-number", &v);
    let mut v = request.clone();
    v["signInIdentity"] =
        json!({"@odata.type": "#microsoft.graph.userSignIn", "userId": "nobody@nowhere.example"});
    put("unknown-upn", &v);
    let mut v = request.clone();
    v["signInContext"] = json!({"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": ["No Such App"]});
    put("unknown-app-name", &v);
    let mut v = request.clone();
    v["session"] = json!({"authenticationMethods": ["password", "telepathy"]});
    put("unknown-method", &v);
    let mut v = request.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("signInIdentity");
    }
    put("no-identity", &v);
    put("an-array", &json!([request]));
    let pretty = serde_json::to_string_pretty(request).unwrap();
    let cut = pretty.len() / 2;
    let cut = (0..=cut)
        .rev()
        .find(|i| pretty.is_char_boundary(*i))
        .unwrap_or(0);
    out.push((
        format!("{name}!cut-in-half"),
        pretty.as_bytes()[..cut].to_vec(),
    ));
    out.push((format!("{name}!pretty"), pretty.into_bytes()));
    out.push((
        format!("{name}!trailing-comma"),
        format!("{},", request).into_bytes(),
    ));
    out
}

/// The cases of one tenant: each request at every instant, and its broken bodies once.
fn cases(name: &str, request: &Value) -> Vec<Case> {
    let body = request.to_string().into_bytes();
    let mut out: Vec<Case> = INSTANTS
        .iter()
        .map(|at| Case {
            name: format!("{name}@{at}"),
            body: body.clone(),
            at,
        })
        .collect();
    out.extend(broken(name, request).into_iter().map(|(name, body)| Case {
        name,
        body,
        at: INSTANTS[2],
    }));
    out
}

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = demo::root().join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

fn file_name(p: &std::path::Path) -> String {
    p.file_stem().and_then(|n| n.to_str()).unwrap().to_owned()
}

async fn golden_lines() -> Vec<String> {
    let mut lines = Vec::new();
    // The demo tenant and its requests.
    let s = server(demo::demo_options()).await;
    for p in files("examples/demo/requests") {
        let request: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        for case in cases(&format!("demo/{}", file_name(&p)), &request) {
            lines.push(line(&s, &case).await);
        }
    }
    // Every vector and explanation case, on its own tenant.
    for dir in ["testdata/vectors", "testdata/explanations"] {
        for p in files(dir) {
            let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            let id = v["id"]
                .as_str()
                .map_or_else(|| file_name(&p), str::to_owned);
            let Some(options) = tenant_options(&v["tenant"]) else {
                lines.push(format!("{id}\ttenant refused"));
                continue;
            };
            let s = server(options).await;
            for case in cases(&id, &v["request"]) {
                lines.push(line(&s, &case).await);
            }
        }
    }
    // The 200-policy synthetic tenant's 500 sign-ins.
    let generated = synthetic::generate(0x6a72_6469_656e, 500);
    let options = StartOptions {
        demo: false,
        initial_tenant: Some(snapshot::from_source(&generated.source).unwrap()),
        initial_devices: None,
        compliance: None,
    };
    let s = server(options).await;
    for (n, request) in generated.requests.iter().enumerate() {
        let case = Case {
            name: format!("synthetic/{n:03}"),
            body: request.to_string().into_bytes(),
            at: INSTANTS[2],
        };
        lines.push(line(&s, &case).await);
    }
    lines
}

/// Every answer and every CLI report is the one the golden file holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evaluate_answers_and_reports_match_the_golden_file() {
    let lines = golden_lines().await;
    let text = format!("{}\n", lines.join("\n"));
    if std::env::var_os("GOLDEN_WRITE").is_some() {
        std::fs::write(golden_path(), &text).unwrap();
        return;
    }
    let golden = std::fs::read_to_string(golden_path()).unwrap();
    let golden: Vec<&str> = golden.lines().collect();
    assert_eq!(golden.len(), lines.len(), "cases in the golden file");
    let differing: Vec<String> = golden
        .iter()
        .zip(&lines)
        .filter(|(g, l)| *g != l)
        .map(|(g, l)| format!("golden {g}\n   now {l}"))
        .collect();
    assert!(
        differing.is_empty(),
        "{} of {} answers differ:\n{}",
        differing.len(),
        lines.len(),
        differing
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The file holds every kind of answer: allowed, denied, challenged, refused bodies.
    let kinds: std::collections::BTreeSet<&str> =
        golden.iter().filter_map(|l| l.split('\t').nth(2)).collect();
    for kind in ["allow", "deny", "challenge", "400"] {
        assert!(kinds.contains(kind), "{kind}: {kinds:?}");
    }
}
