#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a bench aborts on setup failure"
)]

//! Load bench on loopback: `cargo bench -p gardien-server --bench load`.
//!
//! Starts `gardien serve` in process on 127.0.0.1 (demo tenant, real SQLite file, sign-in
//! log in group-commit mode: every answer waits for its record's commit) and drives it with
//! a keep-alive HTTP/1.1 client on the same machine: forward-auth allowed, a forward-auth
//! mix (allow, deny with the denial page, challenge) and `POST /v1/evaluate`. Reports
//! requests/s and latency percentiles per scenario. Client and server share the cores, as
//! they would on a 2-core box with the proxy in front.
//!
//! Environment: `LOAD_SECONDS` (default 5), `LOAD_CONNECTIONS` (default 64),
//! `LOAD_SERVER_THREADS` (default: number of cores), `LOAD_ACK` (`committed` or `queued`),
//! `LOAD_SERVE=axum` (serve with `axum::serve` instead of gardien's accept loop, which has
//! the header-read and idle timeouts and the connection cap: to measure what they cost),
//! `LOAD_SCENARIOS` (comma-separated words; only the scenarios whose name contains one of
//! them run, e.g. `healthz,mix`: for instruction counts under `valgrind --tool=callgrind`).
//!
//! Open loop (`LOAD_OPEN`, default `0.5`; `0` turns it off): after the closed-loop run of
//! forward-auth allow (and of every scenario with `LOAD_OPEN_ALL=1`), the same requests are
//! sent on a fixed schedule at that fraction of the requests/s just measured, spread evenly
//! over the connections (wrk2's method). Latency is measured from the **intended** send
//! time whenever the connection was still busy with an earlier request at that time
//! (coordinated omission corrected: a stall counts for every request it delayed); when the
//! connection was idle it is measured from the actual send (the client's own timer, tokio's
//! 1 ms wheel, is not the server's latency; the client's lateness is printed apart).
//!
//! The 200-policy synthetic tenant (`LOAD_TENANT=synthetic`): the core bench's generated
//! tenant (200 policies, 195 named locations with 390,000 IP ranges, 2000 users in 300
//! nested groups) instead of the demo tenant, with 500 distinct sign-ins of its request mix
//! sent as forward-auth requests (user, address, country, application by host, a
//! User-Agent per client type and platform, the session's methods as `Remote-Amr`; no
//! device); the scenarios are every sign-in of the mix
//! (allow, deny, challenge) and the sign-ins it allows (`POST /v1/evaluate` and `/healthz`
//! as with the demo tenant).
//!
//! Several replicas: `LOAD_DATABASE=postgres://postgres@127.0.0.1:5432/test LOAD_REPLICAS=3`
//! starts that many servers (each its own store handle, pool, log writer and listener, in
//! this process) on one PostgreSQL schema of their own (dropped at the end with `psql`);
//! connections are spread over the replicas. Afterwards it measures the fan-out: policy
//! writes through replica 1, timed until every replica has the new version in force.

#[path = "../tests/support/demo.rs"]
mod demo;
#[path = "../../gardien-core/benches/support/synthetic.rs"]
mod synthetic;
#[path = "support/synthetic_forward_auth.rs"]
mod synthetic_forward_auth;
use demo::{ALICE, BOB, CHROME_WIN, SAFARI_MAC, TOKEN, demo_options, root};
use gardien_server::{AppState, ServerConfig};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The `gardien` binary's allocator (`crates/gardien/src/main.rs`): the server runs in this
/// process, so it allocates as the binary does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn forward_auth(host: &str, user: &str, extra: &str) -> Vec<u8> {
    format!(
        "GET /v1/forward-auth HTTP/1.1\r\nHost: gardien\r\nX-Forwarded-Host: {host}\r\nX-Original-URI: /index\r\nRemote-User: {user}\r\n{extra}\r\n"
    )
    .into_bytes()
}

struct Scenario {
    name: &'static str,
    requests: Vec<Vec<u8>>,
    /// Also measured open loop by default.
    open_loop: bool,
}

/// The synthetic tenant's forward-auth sign-ins: the `[[apps]]` lines mapping one host per
/// application, and one request per sign-in of the mix.
struct SyntheticLoad {
    apps: String,
    requests: Vec<Vec<u8>>,
}

fn synthetic_load(generated: &synthetic::Synthetic) -> SyntheticLoad {
    let (apps, sign_ins) = synthetic_forward_auth::forward_auth_sign_ins(generated);
    let requests = sign_ins
        .iter()
        .map(|s| {
            forward_auth(
                &s.host,
                &s.user,
                &format!(
                    "X-Forwarded-For: {}\r\nCF-IPCountry: {}\r\nUser-Agent: {}\r\nRemote-Amr: {}\r\n",
                    s.address, s.country, s.user_agent, s.amr
                ),
            )
        })
        .collect();
    SyntheticLoad { apps, requests }
}

/// Requests of a scenario, one per sign-in.
type Requests = [Vec<u8>];

fn scenarios(synthetic: Option<(&Requests, &Requests)>) -> Vec<Scenario> {
    let allow = forward_auth(
        "payroll.contoso.example",
        ALICE,
        "X-Forwarded-For: 198.51.100.20\r\nX-Client-Cert-Sha256: 0A:0B:0C:0D\r\nUser-Agent: Outlook-Android/2.0\r\n",
    );
    let deny = forward_auth(
        "payroll.contoso.example",
        ALICE,
        &format!(
            "CF-IPCountry: BR\r\nX-Forwarded-For: 203.0.113.50\r\nUser-Agent: {CHROME_WIN}\r\nAccept: text/html\r\nAccept-Language: fr\r\n"
        ),
    );
    let challenge = forward_auth(
        "wiki.contoso.example",
        BOB,
        &format!("X-Forwarded-For: 198.51.100.20\r\nUser-Agent: {SAFARI_MAC}\r\n"),
    );
    let body =
        std::fs::read(root().join("examples/demo/requests/desktop-app-allowed.json")).unwrap();
    let mut evaluate = format!(
        "POST /v1/evaluate HTTP/1.1\r\nHost: gardien\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    evaluate.extend_from_slice(&body);
    let healthz = Scenario {
        name: "GET /healthz (baseline: HTTP stack and client, no decision)",
        requests: vec![b"GET /healthz HTTP/1.1\r\nHost: gardien\r\n\r\n".to_vec()],
        open_loop: false,
    };
    if let Some((all, allowed)) = synthetic {
        return vec![
            healthz,
            Scenario {
                name: "forward-auth, allow (200-policy tenant, distinct sign-ins)",
                requests: allowed.to_vec(),
                open_loop: true,
            },
            Scenario {
                name: "forward-auth, every sign-in of the mix (200-policy tenant)",
                requests: all.to_vec(),
                open_loop: false,
            },
        ];
    }
    vec![
        healthz,
        Scenario {
            name: "forward-auth, allow",
            requests: vec![allow.clone()],
            open_loop: true,
        },
        Scenario {
            name: "forward-auth, mix 8 allow : 1 deny (HTML page) : 1 challenge",
            requests: [vec![allow; 8], vec![deny], vec![challenge]].concat(),
            open_loop: false,
        },
        Scenario {
            name: "POST /v1/evaluate (full report)",
            requests: vec![evaluate],
            open_loop: false,
        },
    ]
}

/// Reads one HTTP/1.1 response (with Content-Length) and returns its status.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<u16> {
    buf.clear();
    // Read into the buffer's spare capacity (kept across responses): a zeroed chunk per
    // response was 1.8 % of the process's samples in the allow run, CPU the server shares.
    buf.reserve(16 * 1024);
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).unwrap_or("");
            let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                buf.reserve(end + 4 + length - buf.len());
                if stream.read_buf(buf).await? == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
            }
            return Ok(status);
        }
        buf.reserve(4096);
        if stream.read_buf(buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
}

struct Outcome {
    latencies_us: Vec<u32>,
    statuses: [u64; 6],
    errors: u64,
}

async fn connection(
    addr: std::net::SocketAddr,
    requests: Vec<Vec<u8>>,
    start: usize,
    until: Instant,
) -> Outcome {
    let mut out = Outcome {
        latencies_us: Vec::with_capacity(100_000),
        statuses: [0; 6],
        errors: 0,
    };
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut buf = Vec::with_capacity(32 * 1024);
    let mut i = start;
    while Instant::now() < until {
        let req = &requests[i % requests.len()];
        i += 1;
        let t = Instant::now();
        if stream.write_all(req).await.is_err() {
            out.errors += 1;
            break;
        }
        match read_response(&mut stream, &mut buf).await {
            Ok(status) => {
                out.latencies_us
                    .push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                out.statuses[usize::from(status / 100).min(5)] += 1;
                if !matches!(status, 200 | 401 | 403) {
                    out.errors += 1;
                }
            }
            Err(_) => {
                out.errors += 1;
                break;
            }
        }
    }
    out
}

/// What an open-loop connection measured.
struct OpenOutcome {
    latencies_us: Vec<u32>,
    /// How late the client sent, when the connection was idle at the intended time.
    lateness_us: Vec<u32>,
    errors: u64,
}

/// Sends `requests` on a fixed schedule: request `k` of connection `c` at
/// `start + (k * connections + c) / rate`, until `until`.
async fn open_connection(
    addr: std::net::SocketAddr,
    requests: Vec<Vec<u8>>,
    c: usize,
    connections: usize,
    rate: f64,
    start: Instant,
    until: Instant,
) -> OpenOutcome {
    let mut out = OpenOutcome {
        latencies_us: Vec::with_capacity(100_000),
        lateness_us: Vec::with_capacity(100_000),
        errors: 0,
    };
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut buf = Vec::with_capacity(32 * 1024);
    let us = |d: Duration| u32::try_from(d.as_micros()).unwrap_or(u32::MAX);
    for k in 0.. {
        let intended = start + Duration::from_secs_f64((k * connections + c) as f64 / rate);
        if intended >= until {
            break;
        }
        let idle = Instant::now() <= intended;
        if idle {
            tokio::time::sleep_until(intended.into()).await;
        }
        let sent = Instant::now();
        let from = if idle {
            out.lateness_us.push(us(sent - intended));
            sent
        } else {
            intended
        };
        let req = &requests[(k * connections + c) % requests.len()];
        if stream.write_all(req).await.is_err() {
            out.errors += 1;
            break;
        }
        match read_response(&mut stream, &mut buf).await {
            Ok(status) => {
                out.latencies_us.push(us(from.elapsed()));
                if !matches!(status, 200 | 401 | 403) {
                    out.errors += 1;
                }
            }
            Err(_) => {
                out.errors += 1;
                break;
            }
        }
    }
    out
}

/// The `p` percentile of sorted `values`.
fn percentile(sorted: &[u32], p: f64) -> u32 {
    let n = sorted.len().max(1);
    let i = ((n as f64 * p).ceil() as usize).clamp(1, n) - 1;
    sorted.get(i).copied().unwrap_or(0)
}

fn fmt_us(us: u32) -> String {
    if us >= 1000 {
        format!("{:.2} ms", f64::from(us) / 1000.0)
    } else {
        format!("{us} µs")
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists benches; nothing to list here.
    }
    let seconds: u64 = env_or("LOAD_SECONDS", 5);
    let connections: usize = env_or("LOAD_CONNECTIONS", 64);
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let server_threads: usize = env_or("LOAD_SERVER_THREADS", cores);
    let ack = std::env::var("LOAD_ACK").unwrap_or_else(|_| "committed".to_owned());

    let database = std::env::var("LOAD_DATABASE").ok();
    let replicas: usize = env_or("LOAD_REPLICAS", 1).max(1);
    let schema = format!("gardien_bench_{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let synthetic_tenant = std::env::var("LOAD_TENANT").is_ok_and(|v| v == "synthetic");
    let (tenant, synthetic) = if synthetic_tenant {
        let t = Instant::now();
        let generated = synthetic::generate(0x6a72_6469_656e, 500);
        let load = synthetic_load(&generated);
        let tenant = gardien_server::snapshot::from_source(&generated.source).unwrap();
        eprintln!(
            "synthetic tenant: 200 policies, 390,000 ranges, {} sign-ins over {} applications (generated in {:.1} s)",
            load.requests.len(),
            load.apps.matches("[[apps]]").count(),
            t.elapsed().as_secs_f64()
        );
        (Some(tenant), Some(load))
    } else {
        (None, None)
    };
    let options = || {
        let mut options = demo_options();
        if let Some(t) = &tenant {
            options.initial_tenant = Some(t.clone());
        }
        options
    };
    let store = match &database {
        Some(url) => format!("database = \"{url}\"\nschema = \"{schema}\""),
        None => format!("path = \"{}\"", dir.path().join("gardien.db").display()),
    };
    let text = format!(
        r#"
[store]
{store}
[log]
acknowledge = "{ack}"
[signals]
trusted_proxies = ["127.0.0.0/8"]
device_header = "x-client-cert-sha256"
country_header = "cf-ipcountry"
[identity.headers]
methods = "remote-amr"
{synthetic_apps}[[apps]]
host = "payroll.contoso.example"
app_id = "c0ffee00-0000-4000-8000-000000000100"
name = "Payroll"
[[apps]]
host = "*"
app_id = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
[admin]
token_sha256 = "{hash}"
# Not measured here; its policy analyses start with the server and would run beside the
# load (seconds of CPU on the synthetic tenant).
[console]
enabled = false
"#,
        hash = gardien_server::state::hash_token(TOKEN),
        synthetic_apps = synthetic.as_ref().map_or("", |s| s.apps.as_str()),
    );
    let config = ServerConfig::parse("bench.toml", &text).unwrap();
    if replicas > 1 && database.is_none() {
        panic!("LOAD_REPLICAS > 1 needs LOAD_DATABASE=postgres://...");
    }

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(server_threads)
        .enable_all()
        .build()
        .unwrap();
    let (addrs, states): (Vec<_>, Vec<_>) = server_rt.block_on(async {
        let mut started = Vec::new();
        for _ in 0..replicas {
            let state = AppState::start(config.clone(), options()).await.unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let s = state.clone();
            if std::env::var("LOAD_SERVE").is_ok_and(|v| v == "axum") {
                // The plain axum server (no header-read or idle timeout, no connection cap):
                // only to measure what gardien's own accept loop costs.
                let app = gardien_server::router(s)
                    .into_make_service_with_connect_info::<std::net::SocketAddr>();
                tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            } else {
                tokio::spawn(async move {
                    gardien_server::serve(s, listener, std::future::pending())
                        .await
                        .unwrap();
                });
            }
            started.push((addr, state));
        }
        started.into_iter().unzip()
    });
    let committed = || -> u64 { states.iter().map(|s| s.store.log().committed()).sum() };
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.max(2) / 2)
        .enable_all()
        .build()
        .unwrap();

    println!(
        "gardien load bench: {connections} keep-alive connections, {seconds} s per scenario, server {server_threads} threads, client {} threads, {cores} cores, log acknowledge = {ack}, {replicas} replica(s) on {}",
        cores.max(2) / 2,
        states[0].store.backend()
    );
    println!("| scenario | requests/s | p50 | p90 | p99 | p99.9 | 2xx / 4xx | errors |");
    println!("|---|---|---|---|---|---|---|---|");
    let only: Vec<String> = std::env::var("LOAD_SCENARIOS")
        .map(|v| v.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    // The synthetic mix's sign-ins, and those it allows (one probe each).
    let synthetic_requests = synthetic.as_ref().map(|load| {
        let allowed: Vec<Vec<u8>> = client_rt.block_on(async {
            let mut stream = TcpStream::connect(addrs[0]).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let mut buf = Vec::new();
            let mut allowed = Vec::new();
            let mut statuses = std::collections::BTreeMap::new();
            for r in &load.requests {
                stream.write_all(r).await.unwrap();
                let status = read_response(&mut stream, &mut buf).await.unwrap();
                *statuses.entry(status).or_insert(0) += 1;
                if status == 200 {
                    allowed.push(r.clone());
                }
            }
            eprintln!("synthetic mix: answers by status {statuses:?}");
            if allowed.is_empty() {
                eprintln!("first answer: {}", String::from_utf8_lossy(&buf));
            }
            allowed
        });
        eprintln!(
            "synthetic mix: {} of {} sign-ins allowed",
            allowed.len(),
            load.requests.len()
        );
        (load.requests.clone(), allowed)
    });
    let open_fraction: f64 = env_or("LOAD_OPEN", 0.5);
    let open_all = std::env::var("LOAD_OPEN_ALL").is_ok_and(|v| v == "1");
    let mut open_rows = Vec::new();
    for scenario in scenarios(
        synthetic_requests
            .as_ref()
            .map(|(a, b)| (a.as_slice(), b.as_slice())),
    )
    .into_iter()
    .filter(|s| only.is_empty() || only.iter().any(|w| s.name.contains(w.as_str())))
    {
        let committed_before = committed();
        let outcomes = client_rt.block_on(async {
            // Warm-up.
            let warm = Instant::now() + Duration::from_millis(500);
            let tasks: Vec<_> = (0..connections)
                .map(|c| {
                    let addr = addrs[c % addrs.len()];
                    tokio::spawn(connection(addr, scenario.requests.clone(), c, warm))
                })
                .collect();
            let mut warm_requests = 0;
            for t in tasks {
                if let Ok(o) = t.await {
                    warm_requests += o.latencies_us.len();
                }
            }
            eprintln!("  warm-up requests: {warm_requests}");
            let until = Instant::now() + Duration::from_secs(seconds);
            let tasks: Vec<_> = (0..connections)
                .map(|c| {
                    let addr = addrs[c % addrs.len()];
                    tokio::spawn(connection(addr, scenario.requests.clone(), c, until))
                })
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        });
        let mut all: Vec<u32> = outcomes
            .iter()
            .flat_map(|o| o.latencies_us.iter().copied())
            .collect();
        all.sort_unstable();
        let pct = |p: f64| percentile(&all, p);
        let statuses = outcomes.iter().fold([0u64; 6], |mut acc, o| {
            for (a, b) in acc.iter_mut().zip(o.statuses) {
                *a += b;
            }
            acc
        });
        let errors: u64 = outcomes.iter().map(|o| o.errors).sum();
        let fmt = fmt_us;
        println!(
            "| {} | {:.0} | {} | {} | {} | {} | {} / {} | {} |",
            scenario.name,
            all.len() as f64 / seconds as f64,
            fmt(pct(0.50)),
            fmt(pct(0.90)),
            fmt(pct(0.99)),
            fmt(pct(0.999)),
            statuses[2],
            statuses[4],
            errors
        );
        let logged = committed() - committed_before;
        let batches: u64 = states.iter().map(|s| s.store.log().batches()).sum();
        eprintln!(
            "  sign-in records committed during the scenario (warm-up included): {logged} ({:.0}/s); batches so far: {batches}",
            logged as f64 / (seconds as f64 + 0.5)
        );
        let closed_rate = all.len() as f64 / seconds as f64;
        if open_fraction > 0.0 && (scenario.open_loop || open_all) && closed_rate > 0.0 {
            let rate = closed_rate * open_fraction;
            let outcomes = client_rt.block_on(async {
                let start = Instant::now() + Duration::from_millis(100);
                let until = start + Duration::from_secs(seconds);
                let tasks: Vec<_> = (0..connections)
                    .map(|c| {
                        let addr = addrs[c % addrs.len()];
                        tokio::spawn(open_connection(
                            addr,
                            scenario.requests.clone(),
                            c,
                            connections,
                            rate,
                            start,
                            until,
                        ))
                    })
                    .collect();
                let mut out = Vec::new();
                for t in tasks {
                    out.push(t.await.unwrap());
                }
                out
            });
            let mut lat: Vec<u32> = outcomes
                .iter()
                .flat_map(|o| o.latencies_us.iter().copied())
                .collect();
            lat.sort_unstable();
            let mut late: Vec<u32> = outcomes
                .iter()
                .flat_map(|o| o.lateness_us.iter().copied())
                .collect();
            late.sort_unstable();
            let errors: u64 = outcomes.iter().map(|o| o.errors).sum();
            open_rows.push(format!(
                "| {} | {:.0} ({:.0} % of {:.0}) | {:.0} | {} | {} | {} | {} | {} | {} / {} | {} |",
                scenario.name,
                rate,
                open_fraction * 100.0,
                closed_rate,
                lat.len() as f64 / seconds as f64,
                fmt_us(percentile(&lat, 0.50)),
                fmt_us(percentile(&lat, 0.99)),
                fmt_us(percentile(&lat, 0.999)),
                fmt_us(lat.last().copied().unwrap_or(0)),
                errors,
                fmt_us(percentile(&late, 0.99)),
                fmt_us(late.last().copied().unwrap_or(0)),
                late.len(),
            ));
        }
    }
    if !open_rows.is_empty() {
        println!();
        println!(
            "Open loop (fixed schedule; latency from the intended send time when the connection was busy):"
        );
        println!(
            "| scenario | offered requests/s | served/s | p50 | p99 | p99.9 | max | errors | client lateness p99 / max | sends on time |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|");
        for row in &open_rows {
            println!("{row}");
        }
    }
    if replicas > 1 {
        server_rt.block_on(fan_out(&states));
    }
    server_rt.block_on(async {
        for state in &states {
            state.store.log().flush().await.unwrap();
        }
    });
    if database.is_some() {
        let url = database.unwrap_or_default();
        let dropped = std::process::Command::new("psql")
            .args([
                url.as_str(),
                "-q",
                "-c",
                &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
            ])
            .status();
        if !matches!(dropped, Ok(s) if s.success()) {
            eprintln!("note: schema {schema} left in place");
        }
    }
}

/// Policy writes through the first replica, each timed until every replica has it in
/// force (LISTEN/NOTIFY; the periodic check is 2 s, so anything faster is a notification).
async fn fan_out(states: &[std::sync::Arc<AppState>]) {
    let mut took = Vec::new();
    for i in 0..20 {
        let current = states[0].live.load().snapshot.clone();
        let mut next = current.clone();
        if let Some(policies) = next
            .get_mut("policies")
            .and_then(serde_json::Value::as_array_mut)
            && let Some(first) = policies.first_mut()
        {
            first["displayName"] = format!("CA01 renamed {i}").into();
        }
        let started = Instant::now();
        let version = states[0].apply("bench", None, next, None).await.unwrap();
        while states.iter().any(|s| s.live.load().version != version) {
            tokio::time::sleep(Duration::from_micros(200)).await;
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "fan-out stalled"
            );
        }
        took.push(started.elapsed());
    }
    took.sort();
    println!(
        "fan-out of a policy write to {} replicas (write included), 20 writes: p50 {:.1} ms, max {:.1} ms",
        states.len(),
        took[took.len() / 2].as_secs_f64() * 1000.0,
        took[took.len() - 1].as_secs_f64() * 1000.0
    );
}
