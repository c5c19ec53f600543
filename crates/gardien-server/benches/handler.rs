#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a bench aborts on setup failure"
)]

//! CPU per request of the decision handlers, without HTTP: `cargo bench -p gardien-server --bench handler`.
//!
//! The router is called directly (`tower::ServiceExt::oneshot`, no socket, no HTTP parsing)
//! on a single-threaded runtime, 64 requests in flight, with the demo tenant, a real SQLite
//! file and the sign-in log on (`acknowledge = "committed"`: every answer waits for its
//! record's group commit, on the log writer's own thread). The measured figure is **CPU
//! time, not wall time** (criterion's `iter_custom`):
//!
//! - `handler/*`: CPU time of the thread running the handlers (axum's routing, identity,
//!   signals, `decide`, the record, the answer and its page, dropping the request and reading
//!   the answer's body), per request. The requests are **built beforehand, outside the timed
//!   region** (batches of 1,024 built with `http::Request::builder`, then sent): building a
//!   request stands in for hyper's parsing, which is HTTP, not the handler (and which the
//!   `/healthz` baseline of the load bench pays too);
//! - `log-writer/*`: CPU time of every other thread of the process (the log writer and
//!   SQLite) over the same requests, per record;
//! - `handler-and-request/*`: as `handler/*`, with each request built by the handler thread
//!   as it is sent, inside the timed region (the figure of the earlier tables; about 11.5 k
//!   instructions more per forward-auth request).
//!
//! CPU time is what a loaded machine disturbs least; wall time is in the load bench.
//! Scenarios: forward-auth `allow`, `deny-page`, `challenge`, the `mix-8-1-1`, and
//! `evaluate` (`POST /v1/evaluate` with the load bench's body).
//!
//! `HANDLER_ONCE=<scenario>:<requests>` sends that many requests of one scenario and exits
//! (no criterion, no CPU clocks): for callgrind, run two counts and subtract
//! (BENCHMARKS.md, "Handler CPU per allowed request"). Each request is built as it is sent,
//! unless `HANDLER_BUILT=1`: all are built first, then sent by `send_built` (callgrind's
//! `--toggle-collect=handler::send_built` then counts the handler without the building).
//! `HANDLER_SHOW=1` then prints the last record as the log reads it back.
//!
//! `record-200p/*` (wall time): the sign-in record's per-policy results on the 200-policy
//! synthetic tenant of the core bench (500 sign-ins of its mix, decided once beforehand):
//! serialized from the records every time, or as fragments through the per-policy-set
//! entry cache (`AppliedCache`), and the compact record (text without the entries, and the
//! fragments' offset) with the cache.

#[path = "../../gardien-core/benches/support/synthetic.rs"]
mod synthetic;

#[path = "../tests/support/demo.rs"]
#[allow(dead_code, reason = "shared with the API tests and the load bench")]
mod demo;

#[path = "support/synthetic_forward_auth.rs"]
mod synthetic_forward_auth;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use demo::{ALICE, BOB, CHROME_WIN, SAFARI_MAC, TOKEN, demo_options, root};
use gardien_server::{AppState, ServerConfig};
use http::Request;
use http_body_util::BodyExt;
use rustix::time::{ClockId, clock_gettime};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

/// The `gardien` binary's allocator (`crates/gardien/src/main.rs`): the server runs in this
/// process, so it allocates as the binary does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Requests in flight at once (as many as the load bench's connections).
const IN_FLIGHT: usize = 64;

fn cpu(clock: ClockId) -> Duration {
    let t = clock_gettime(clock);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// One request of a scenario, as the load bench sends it: a forward-auth request, or a
/// `POST /v1/evaluate` with `body`.
#[derive(Clone)]
struct Spec {
    user: &'static str,
    host: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    body: Option<Arc<[u8]>>,
}

fn allow() -> Spec {
    Spec {
        user: ALICE,
        host: "payroll.contoso.example",
        headers: vec![
            ("x-forwarded-for", "198.51.100.20"),
            ("x-client-cert-sha256", "0A:0B:0C:0D"),
            ("user-agent", "Outlook-Android/2.0"),
        ],
        body: None,
    }
}

fn deny() -> Spec {
    Spec {
        user: ALICE,
        host: "payroll.contoso.example",
        headers: vec![
            ("cf-ipcountry", "BR"),
            ("x-forwarded-for", "203.0.113.50"),
            ("user-agent", CHROME_WIN),
            ("accept", "text/html"),
            ("accept-language", "fr"),
        ],
        body: None,
    }
}

fn challenge() -> Spec {
    Spec {
        user: BOB,
        host: "wiki.contoso.example",
        headers: vec![
            ("x-forwarded-for", "198.51.100.20"),
            ("user-agent", SAFARI_MAC),
        ],
        body: None,
    }
}

/// `POST /v1/evaluate` with the load bench's body (an allowed sign-in, full report).
fn evaluate() -> Spec {
    let body =
        std::fs::read(root().join("examples/demo/requests/desktop-app-allowed.json")).unwrap();
    Spec {
        user: "",
        host: "",
        headers: Vec::new(),
        body: Some(body.into()),
    }
}

/// The synthetic mix's sign-ins as forward-auth requests (as the load bench sends them),
/// and the `[[apps]]` lines mapping one host per application.
fn synthetic_specs(generated: &synthetic::Synthetic) -> (String, Vec<Spec>) {
    let leak = |s: String| -> &'static str { s.leak() };
    let (apps, sign_ins) = synthetic_forward_auth::forward_auth_sign_ins(generated);
    let specs = sign_ins
        .into_iter()
        .map(|s| Spec {
            user: leak(s.user),
            host: leak(s.host),
            headers: vec![
                ("x-forwarded-for", leak(s.address)),
                ("cf-ipcountry", leak(s.country)),
                ("user-agent", s.user_agent),
                ("remote-amr", s.amr),
            ],
            body: None,
        })
        .collect();
    (apps, specs)
}

fn request(spec: &Spec) -> Request<Body> {
    if let Some(body) = &spec.body {
        let mut r = Request::builder()
            .method("POST")
            .uri("/v1/evaluate")
            .header("host", "gardien")
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", "application/json")
            .header("content-length", body.len())
            .body(Body::from(body.to_vec()))
            .unwrap();
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        r.extensions_mut().insert(ConnectInfo(peer));
        return r;
    }
    let mut r = Request::builder()
        .method("GET")
        .uri("/v1/forward-auth")
        .header("host", "gardien")
        .header("x-forwarded-host", spec.host)
        .header("x-original-uri", "/index")
        .header("remote-user", spec.user);
    for (name, value) in &spec.headers {
        r = r.header(*name, *value);
    }
    let mut r = r.body(Body::empty()).unwrap();
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    r.extensions_mut().insert(ConnectInfo(peer));
    r
}

/// Requests built ahead, untimed, per batch: the handler's CPU time is measured over
/// requests already in memory, as hyper hands them over once parsed.
const BATCH: u64 = 1024;

/// The requests `from..from + count` of the mix, built with `http::Request::builder`, in
/// `IN_FLIGHT` shares: share `t` holds requests `t`, `t + IN_FLIGHT`, …
fn build(mix: &[Spec], from: u64, count: u64) -> Vec<Vec<Request<Body>>> {
    let per_share = usize::try_from(count).unwrap_or(0) / IN_FLIGHT + 1;
    let mut shares: Vec<Vec<Request<Body>>> = (0..IN_FLIGHT)
        .map(|_| Vec::with_capacity(per_share))
        .collect();
    for i in from..from + count {
        let at = usize::try_from(i).unwrap_or(0);
        shares[at % IN_FLIGHT].push(request(&mix[at % mix.len()]));
    }
    shares
}

/// Sends `count` requests of the mix, `IN_FLIGHT` at a time; returns the handler thread's
/// CPU time and the other threads' CPU time. With `prebuilt`, each batch of requests is built
/// before the clocks run (the handler alone); otherwise the thread also builds each request
/// as it sends it (the figure of the earlier tables, with the bench's own request building).
fn run(
    rt: &tokio::runtime::Runtime,
    app: &Router,
    mix: &[Spec],
    count: u64,
    prebuilt: bool,
) -> (Duration, Duration) {
    if !prebuilt {
        let process_before = cpu(ClockId::ProcessCPUTime);
        let thread_before = cpu(ClockId::ThreadCPUTime);
        send(rt, app, mix, count);
        let thread = cpu(ClockId::ThreadCPUTime).saturating_sub(thread_before);
        let process = cpu(ClockId::ProcessCPUTime).saturating_sub(process_before);
        return (thread, process.saturating_sub(thread));
    }
    let (mut thread, mut others) = (Duration::ZERO, Duration::ZERO);
    let mut done = 0;
    while done < count {
        let n = BATCH.min(count - done);
        let requests = build(mix, done, n);
        let process_before = cpu(ClockId::ProcessCPUTime);
        let thread_before = cpu(ClockId::ThreadCPUTime);
        send_built(rt, app, requests);
        let t = cpu(ClockId::ThreadCPUTime).saturating_sub(thread_before);
        let p = cpu(ClockId::ProcessCPUTime).saturating_sub(process_before);
        thread += t;
        others += p.saturating_sub(t);
        done += n;
    }
    (thread, others)
}

/// Sends `count` requests of the mix, `IN_FLIGHT` at a time, building each as it goes, and
/// checks each status.
fn send(rt: &tokio::runtime::Runtime, app: &Router, mix: &[Spec], count: u64) {
    rt.block_on(async {
        let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut tasks = Vec::with_capacity(IN_FLIGHT);
        for _ in 0..IN_FLIGHT {
            let app = app.clone();
            let next = next.clone();
            let mix = mix.to_vec();
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let spec = &mix[usize::try_from(i).unwrap_or(0) % mix.len()];
                    answered(app.clone().oneshot(request(spec)).await.unwrap()).await;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

/// Sends requests built beforehand ([`build`]), one task per share, and checks each status.
/// Not inlined: callgrind's `--toggle-collect=handler::send_built` counts this function alone.
#[inline(never)]
fn send_built(rt: &tokio::runtime::Runtime, app: &Router, shares: Vec<Vec<Request<Body>>>) {
    rt.block_on(async {
        let mut tasks = Vec::with_capacity(IN_FLIGHT);
        for share in shares {
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                for r in share {
                    answered(app.clone().oneshot(r).await.unwrap()).await;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

/// Checks an answer's status and reads its body.
async fn answered(response: axum::response::Response) {
    let status = response.status().as_u16();
    assert!(matches!(status, 200 | 401 | 403), "status {status}");
    let _ = response.into_body().collect().await.unwrap();
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let synthetic_tenant = std::env::var("HANDLER_TENANT").is_ok_and(|v| v == "synthetic");
    let mut options = demo_options();
    let (synthetic_apps, synthetic_specs) = if synthetic_tenant {
        let generated = synthetic::generate(0x6a72_6469_656e, 500);
        options.initial_tenant =
            Some(gardien_server::snapshot::from_source(&generated.source).unwrap());
        let (apps, specs) = synthetic_specs(&generated);
        (format!("methods = \"remote-amr\"\n{apps}"), specs)
    } else {
        (String::new(), Vec::new())
    };
    let text = format!(
        r#"
[store]
path = "{db}"
[log]
acknowledge = "committed"
[signals]
trusted_proxies = ["127.0.0.0/8"]
device_header = "x-client-cert-sha256"
country_header = "cf-ipcountry"
[identity.headers]
{synthetic_apps}[[apps]]
host = "payroll.contoso.example"
app_id = "c0ffee00-0000-4000-8000-000000000100"
name = "Payroll"
[[apps]]
host = "*"
app_id = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
[admin]
token_sha256 = "{hash}"
{console}"#,
        db = dir.path().join("gardien.db").display(),
        hash = gardien_server::state::hash_token(TOKEN),
        // The console's policy analyses would run beside the measurement (seconds of CPU on
        // the synthetic tenant).
        console = if synthetic_tenant {
            "[console]\nenabled = false\n"
        } else {
            ""
        },
    );
    let config = ServerConfig::parse("bench.toml", &text).unwrap();
    let state = rt.block_on(AppState::start(config, options)).unwrap();
    let app = gardien_server::router(state.clone());
    let scenarios: Vec<(&str, Vec<Spec>)> = if synthetic_tenant {
        // Each sign-in once (denials explained then), keeping those allowed.
        let allowed: Vec<Spec> = synthetic_specs
            .iter()
            .filter(|spec| {
                rt.block_on(async {
                    let response = app.clone().oneshot(request(spec)).await.unwrap();
                    response.status() == http::StatusCode::OK
                })
            })
            .cloned()
            .collect();
        eprintln!(
            "synthetic tenant: {} of {} sign-ins allowed",
            allowed.len(),
            synthetic_specs.len()
        );
        vec![("allow", allowed), ("all", synthetic_specs)]
    } else {
        vec![
            ("allow", vec![allow()]),
            ("deny-page", vec![deny()]),
            ("challenge", vec![challenge()]),
            (
                "mix-8-1-1",
                [vec![allow(); 8], vec![deny()], vec![challenge()]].concat(),
            ),
            ("evaluate", vec![evaluate()]),
        ]
    };
    // `HANDLER_ONCE=<scenario>:<requests>`: that many requests of one scenario, once, no
    // criterion and no CPU clocks (rustix's vDSO set-up does not run under valgrind). For
    // callgrind: run two counts and subtract, the difference per request is exact whatever
    // the load.
    if let Ok(once) = std::env::var("HANDLER_ONCE") {
        let (name, count) = once
            .split_once(':')
            .expect("HANDLER_ONCE=<scenario>:<requests>");
        let count: u64 = count.parse().expect("a request count");
        let (_, mix) = scenarios.iter().find(|(n, _)| *n == name).expect(
            "a scenario: allow, deny-page, challenge, mix-8-1-1, evaluate (synthetic: allow, all)",
        );
        // `HANDLER_BUILT=1`: every request built first, then sent (`send_built`).
        if std::env::var_os("HANDLER_BUILT").is_some() {
            send_built(&rt, &app, build(mix, 0, count));
        } else {
            send(&rt, &app, mix, count);
        }
        rt.block_on(state.store.log().flush()).unwrap();
        eprintln!("{name}: {count} requests");
        if std::env::var_os("HANDLER_SHOW").is_some() {
            // The last record as the log reads it back (whole, fragments spliced).
            let filter = gardien_store::SignInFilter {
                limit: Some(1),
                ..Default::default()
            };
            let last = rt.block_on(state.store.log().query(&filter)).unwrap();
            let text = serde_json::to_string(&last[0]).unwrap();
            eprintln!("last record, {} bytes: {text}", text.len());
        }
        std::process::exit(0);
    }
    for (thread_group, pick, prebuilt) in [
        ("handler", 0usize, true),
        ("log-writer", 1, true),
        ("handler-and-request", 0, false),
    ] {
        let mut group = c.benchmark_group(if synthetic_tenant {
            format!("{thread_group}-200p")
        } else {
            thread_group.to_owned()
        });
        group.throughput(Throughput::Elements(1));
        for (name, mix) in &scenarios {
            group.bench_function(*name, |b| {
                b.iter_custom(|iters| {
                    let (handler, others) = run(&rt, &app, mix, iters, prebuilt);
                    if pick == 0 { handler } else { others }
                });
            });
        }
        group.finish();
    }
    rt.block_on(state.store.log().flush()).unwrap();
}

fn records_200p(c: &mut Criterion) {
    use gardien_core::report::AppliedPoliciesJson;
    use gardien_server::signin_record::{self, Applied, AppliedCache};
    let generated = synthetic::generate(0x6a72_6469_656e, 500);
    let tenant = gardien_core::CompiledTenant::compile(
        gardien_core::Tenant::load(&generated.source).unwrap(),
    );
    let decided: Vec<_> = generated
        .requests
        .iter()
        .map(|body| {
            let signin = gardien_core::SignIn::from_value("request.json", body).unwrap();
            let evaluation = tenant.evaluate(&signin);
            let derived = gardien_signals::Derived::given(&signin);
            (signin, evaluation, derived)
        })
        .collect();
    let cache = AppliedCache::default();
    let mut stored = 0usize;
    let mut whole = 0usize;
    for (signin, e, derived) in &decided {
        let f = cache.fragments(&tenant, e).unwrap();
        stored += f.len() * 8 + record(signin, derived, e, Applied::Fragments).len();
        whole += record(
            signin,
            derived,
            e,
            Applied::Records(AppliedPoliciesJson {
                tenant: &tenant,
                evaluation: e,
            }),
        )
        .len();
    }
    eprintln!(
        "record-200p: {} sign-ins, {} distinct per-policy entries; bytes per record: {} whole, {} compact (text + 8 per fragment id)",
        decided.len(),
        cache.len(),
        whole / decided.len(),
        stored / decided.len(),
    );
    let mut group = c.benchmark_group("record-200p");
    group.throughput(Throughput::Elements(decided.len() as u64));
    group.bench_function("applied-serialized", |b| {
        b.iter(|| {
            for (_, e, _) in &decided {
                let text = serde_json::to_string(&AppliedPoliciesJson {
                    tenant: &tenant,
                    evaluation: e,
                });
                std::hint::black_box(text.unwrap().len());
            }
        });
    });
    group.bench_function("applied-fragments", |b| {
        b.iter(|| {
            for (_, e, _) in &decided {
                std::hint::black_box(cache.fragments(&tenant, e));
            }
        });
    });
    group.bench_function("record-compact", |b| {
        b.iter(|| {
            for (signin, e, derived) in &decided {
                let fragments = cache.fragments(&tenant, e).unwrap();
                let text = record(signin, derived, e, Applied::Fragments);
                let at = signin_record::applied_offset(&text).unwrap();
                std::hint::black_box((text.len(), at, fragments.len()));
            }
        });
    });
    group.finish();
}

/// The sign-in record of a decided sign-in of the 200-policy mix.
fn record(
    signin: &gardien_core::SignIn,
    derived: &gardien_signals::Derived,
    e: &gardien_core::Evaluation,
    applied: gardien_server::signin_record::Applied<'_>,
) -> String {
    gardien_server::signin_record::build(
        signin,
        derived,
        &gardien_server::signin_record::RecordParts {
            correlation_id: "00000000-0000-4000-8000-000000000001",
            created_ms: 1_765_000_000_000,
            user_principal_name: None,
            user_display_name: None,
            app_display_name: "App",
            user_agent: None,
            verdict: &e.verdict,
            applied,
            mfa_done: false,
            policy_version: 1,
            denial: None,
        },
    )
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = bench, records_200p
}
criterion_main!(benches);
