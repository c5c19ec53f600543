//! Replay throughput (docs/design.md: replay ≥ 2M sign-ins/s per core) on the generated
//! 200-policy / 195-location / 390k-range tenant of `gardien-core/benches/support/synthetic.rs`
//! and 100,000 generated sign-ins, logged twice: as `gardien serve` writes them (JSON lines
//! with the exact request) and as an Entra export (a Graph collection of Graph members only).
//!
//! Two logs of 100,000 sign-ins are generated: one where every sign-in is distinct (the worst
//! case: nothing repeats, every decision walks cold memory of the 390k-range index), and one
//! drawn from 10,000 distinct sign-ins (each user, device, place and application about ten
//! times, as in a day of real logs with token refreshes), where replay's verdict cache
//! answers repeats.
//!
//! `cargo bench -p gardien-analysis --bench replay` prints, separately:
//! * evaluation: rebuilt sign-ins decided by the proposed tenant, compared and counted
//!   (`Replay::compare`), against the logged outcome and against a baseline tenant, with and
//!   without the verdict cache;
//! * parsing: log bytes to rebuilt sign-ins (`read_log` + `rebuild`), per layout, in records/s
//!   and MB/s, including records that list every one of the 200 policies as Entra and
//!   gardien do;
//! * the whole pipeline on one thread.
//!
//! (each the best of several runs: the figure least disturbed by other processes), then runs
//! the same as criterion groups.
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark over generated, known-good input: failing loudly is the point"
)]

#[path = "support/gardien_records.rs"]
mod gardien_records;
#[path = "../../gardien-core/benches/support/synthetic.rs"]
mod synthetic;
use gardien_records::{compact_applied, gardien_record, status_code};

use criterion::{Criterion, Throughput};
use gardien_analysis::replay::cache::DEFAULT_CAPACITY;
use gardien_analysis::replay::{
    Change, Element, Outcome, Rebuilt, Replay, ReplayReport, read_log, rebuild,
};
use gardien_core::report::applied_policies;
use gardien_core::{CompiledTenant, Decision, SignIn, Tenant, TenantSource, Verdict};
use serde_json::{Value, json};
use std::hint::black_box;
use std::time::{Duration, Instant};

const SEED: u64 = 0x7265_706c_6179;
/// Sign-ins in the generated logs.
const RECORDS: usize = 100_000;
/// Distinct sign-ins the repeating log is drawn from.
const DISTINCT: usize = 10_000;
/// Records that list every policy (about 45 KB each on this tenant).
const FULL_RECORDS: usize = 2_000;

/// An Entra-shaped record of sign-in `i` (request `k`: the device is the request's).
fn entra_record(
    i: usize,
    k: usize,
    tenant: &CompiledTenant,
    request: &Value,
    v: &Verdict,
) -> Value {
    let c = &request["signInConditions"];
    let client = match c["clientAppType"].as_str() {
        Some("browser") => "Browser",
        Some("mobileAppsAndDesktopClients") => "Mobile Apps and Desktop clients",
        Some("exchangeActiveSync") => "Exchange ActiveSync",
        _ => "IMAP4",
    };
    let os = match c["devicePlatform"].as_str() {
        Some("windows") => "Windows 10",
        Some("iOS") => "Ios 17.5.1",
        Some("android") => "Android 14",
        Some("macOS") => "MacOs",
        Some("linux") => "Linux",
        _ => "Windows Phone",
    };
    let device = &c["deviceInfo"];
    let methods: Vec<Value> = request["session"]["authenticationMethods"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|m| {
            let name = match m {
                "password" => "Password",
                "microsoftAuthenticatorPush" => "Mobile app notification",
                "sms" => "Text message",
                "windowsHelloForBusiness" => "Windows Hello for Business",
                _ => "FIDO2 security key",
            };
            json!({"authenticationMethod": name, "succeeded": true, "authenticationStepRequirement": "Primary authentication"})
        })
        .collect();
    let app = &request["signInContext"]["includeApplications"][0];
    json!({
        "id": format!("{i:08x}-0000-4000-8000-000000000000"),
        "createdDateTime": "2026-11-20T08:00:00Z",
        "userId": request["signInIdentity"]["userId"],
        "userPrincipalName": "user@contoso.example",
        "appId": app, "appDisplayName": "App", "resourceId": app, "resourceDisplayName": "App",
        "ipAddress": c["ipAddress"],
        "clientAppUsed": client,
        "correlationId": format!("{i:08x}-0000-4000-8000-000000000000"),
        "isInteractive": true,
        "status": {"errorCode": status_code(v), "failureReason": "Other.", "additionalDetails": null},
        "deviceDetail": {
            "deviceId": if device.is_object() { json!(format!("d{k:07x}-0000-4000-8000-000000000000")) } else { json!("") },
            "displayName": "", "operatingSystem": os, "browser": "Edge 131.0.0",
            "isCompliant": device["isCompliant"].as_bool().unwrap_or(false),
            "isManaged": false, "trustType": device["trustType"].as_str().unwrap_or(""),
        },
        "location": {"city": null, "state": null, "countryOrRegion": c["country"], "geoCoordinates": null},
        "riskDetail": "none", "riskLevelAggregated": "none", "riskLevelDuringSignIn": c["signInRiskLevel"],
        "riskState": "none", "riskEventTypes_v2": [],
        "conditionalAccessStatus": if v.decision != Decision::Allow { "failure" } else if v.applied.is_empty() { "notApplied" } else { "success" },
        "authenticationRequirement": if methods.len() > 1 { "multiFactorAuthentication" } else { "singleFactorAuthentication" },
        "authenticationDetails": methods,
        "appliedConditionalAccessPolicies": compact_applied(tenant, v),
    })
}

/// Parses and rebuilds every record of a log; returns the number of sign-ins rebuilt.
fn parse(bytes: &[u8]) -> usize {
    let mut n = 0;
    read_log("bench.log", bytes, |_, e: Element<'_>| {
        if black_box(rebuild(&e)).is_ok() {
            n += 1;
        }
        Ok::<(), std::convert::Infallible>(())
    })
    .expect("the generated log reads");
    n
}

/// CPU time this thread has used: unlike the wall clock, it does not count the time the
/// thread waits while other processes run on a shared machine ("per core" figures).
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// A wall-clock and a CPU-time measurement.
#[derive(Debug, Clone, Copy, Default)]
struct Timing {
    wall: Duration,
    cpu: Duration,
}

impl Timing {
    fn start() -> (Instant, Duration) {
        (Instant::now(), thread_cpu())
    }
    fn add(&mut self, (wall, cpu): (Instant, Duration)) {
        self.cpu += thread_cpu().saturating_sub(cpu);
        self.wall += wall.elapsed();
    }
}

/// The best of `runs` timings of `f`, in seconds: (wall clock, CPU time), each the least of
/// its runs.
fn best(runs: usize, mut f: impl FnMut()) -> (f64, f64) {
    (0..runs)
        .map(|_| {
            let t = Timing::start();
            f();
            let mut timing = Timing::default();
            timing.add(t);
            (timing.wall.as_secs_f64(), timing.cpu.as_secs_f64())
        })
        .fold((f64::INFINITY, f64::INFINITY), |(w, c), (a, b)| {
            (w.min(a), c.min(b))
        })
}

/// The logs of a list of generated requests, in the order of `order`.
struct Logs {
    gardien: String,
    entra: String,
    mix: [usize; 3],
}

fn logs(tenant: &CompiledTenant, requests: &[Value], order: &[usize]) -> Logs {
    let mut gardien = String::new();
    let mut entra = Vec::with_capacity(order.len());
    let mut mix = [0usize; 3];
    let verdicts: Vec<Verdict> = requests
        .iter()
        .map(|r| {
            tenant.decide(&SignIn::from_value("request.json", r).expect("generated requests parse"))
        })
        .collect();
    for (i, &k) in order.iter().enumerate() {
        let (request, v) = (&requests[k], &verdicts[k]);
        mix[v.decision as usize] += 1;
        gardien.push_str(&gardien_record(i, request, v, compact_applied(tenant, v)));
        entra.push(entra_record(i, k, tenant, request, v));
    }
    let entra = json!({"@odata.context": "https://graph.microsoft.com/beta/$metadata#auditLogs/signIns", "value": entra}).to_string();
    Logs {
        gardien,
        entra,
        mix,
    }
}

/// Rebuilt sign-ins, kept in memory: the input of the evaluation part.
fn rebuilt_of(bytes: &[u8]) -> Vec<Rebuilt> {
    let mut out: Vec<Rebuilt> = Vec::with_capacity(RECORDS);
    read_log("bench.log", bytes, |_, e: Element<'_>| {
        out.push(rebuild(&e).expect("generated records rebuild"));
        Ok::<(), std::convert::Infallible>(())
    })
    .expect("the generated log reads");
    out
}

/// Replays rebuilt sign-ins (decide, compare, count). In the pipeline a sign-in is compared
/// right after it was rebuilt, while it is still in the CPU caches: with `hot`, each chunk of
/// 64 is copied first (untimed) and only the comparisons are timed; without, the sign-ins are
/// read where they lie in the 100k-element array. Returns the time (the CPU time includes
/// two clock reads per chunk of 64), the cache hit rate and the report.
fn evaluate(
    tenant: &CompiledTenant,
    sign_ins: &[Rebuilt],
    baseline: Option<&CompiledTenant>,
    cache: usize,
    hot: bool,
) -> (Timing, f64, ReplayReport) {
    let mut replay = Replay::new(tenant, baseline).with_cache_capacity(cache);
    let mut timed = Timing::default();
    if hot {
        for chunk in sign_ins.chunks(64) {
            let chunk = chunk.to_vec();
            let t = Timing::start();
            for r in &chunk {
                black_box(replay.compare(black_box(r), String::new));
            }
            timed.add(t);
        }
    } else {
        let t = Timing::start();
        for r in sign_ins {
            black_box(replay.compare(black_box(r), String::new));
        }
        timed.add(t);
    }
    let report = black_box(replay.report());
    let (hits, lookups) = replay.cache_hits();
    (timed, hits as f64 / lookups.max(1) as f64, report)
}

/// `decide` alone on the same sign-ins, chunked as [`evaluate`] does with `hot`: what replay
/// adds to the decision is the difference.
fn decide_only(tenant: &CompiledTenant, sign_ins: &[Rebuilt]) -> Timing {
    let mut timed = Timing::default();
    for chunk in sign_ins.chunks(64) {
        let chunk = chunk.to_vec();
        let t = Timing::start();
        for r in &chunk {
            black_box(tenant.decide(black_box(&r.signin)));
        }
        timed.add(t);
    }
    timed
}

/// The tenant with its `n` policies that decide the most sign-ins of `requests` disabled:
/// a proposal whose replay moves, unblocks and re-attributes many sign-ins.
fn without_top_deciders(
    source: &TenantSource,
    tenant: &CompiledTenant,
    requests: &[Value],
    n: usize,
) -> (CompiledTenant, Vec<usize>) {
    let mut deciding = vec![0usize; tenant.tenant.policies.len()];
    for r in requests {
        let signin = SignIn::from_value("request.json", r).expect("generated requests parse");
        if let Some(i) = tenant.decide(&signin).deciding_policy {
            deciding[i] += 1;
        }
    }
    let mut top: Vec<usize> = (0..deciding.len()).collect();
    top.sort_by_key(|i| std::cmp::Reverse(deciding[*i]));
    top.truncate(n);
    let mut source = source.clone();
    for i in &top {
        let file = &mut source.policy_files[*i];
        let text = String::from_utf8_lossy(&file.bytes)
            .replace("\"state\":\"enabled\"", "\"state\":\"disabled\"");
        file.bytes = text.into_bytes();
    }
    let proposed = CompiledTenant::compile(Tenant::load(&source).expect("the proposal loads"));
    (proposed, top)
}

fn main() {
    let started = Instant::now();
    let synthetic = synthetic::generate(SEED, RECORDS);
    let tenant = CompiledTenant::compile(
        Tenant::load(&synthetic.source).expect("the generated tenant loads"),
    );
    let requests = &synthetic.requests;
    let distinct_order: Vec<usize> = (0..RECORDS).collect();
    let mut rng = synthetic::Rng::new(SEED ^ 0x5eed);
    let repeated_order: Vec<usize> = (0..RECORDS).map(|_| rng.below(DISTINCT)).collect();
    let distinct = logs(&tenant, requests, &distinct_order);
    let repeated = logs(&tenant, requests, &repeated_order);
    let mut full_log = String::new();
    for (i, request) in requests.iter().take(FULL_RECORDS).enumerate() {
        let signin = SignIn::from_value("request.json", request).expect("generated requests parse");
        let v = tenant.decide(&signin);
        let all = serde_json::to_value(applied_policies(
            &tenant,
            &tenant.evaluate_outcomes(&signin),
        ))
        .expect("serialisable");
        full_log.push_str(&gardien_record(i, request, &v, all));
    }
    let (proposed, disabled) = without_top_deciders(&synthetic.source, &tenant, requests, 10);
    drop(synthetic);
    println!(
        "generated in {:.1} s: {RECORDS} distinct sign-ins ({:?} allow/challenge/deny), {RECORDS} drawn from {DISTINCT} ({:?}); gardien JSON lines {:.1} MB ({} B/record), Entra collection {:.1} MB ({} B/record), JSON lines listing all policies {:.1} MB for {FULL_RECORDS} records ({} B/record)",
        started.elapsed().as_secs_f64(),
        distinct.mix,
        repeated.mix,
        distinct.gardien.len() as f64 / 1e6,
        distinct.gardien.len() / RECORDS,
        distinct.entra.len() as f64 / 1e6,
        distinct.entra.len() / RECORDS,
        full_log.len() as f64 / 1e6,
        full_log.len() / FULL_RECORDS,
    );

    let exact_distinct = rebuilt_of(distinct.gardien.as_bytes());
    let exact_repeated = rebuilt_of(repeated.gardien.as_bytes());
    let entra_repeated = rebuilt_of(repeated.entra.as_bytes());
    assert_eq!(
        (
            exact_distinct.len(),
            exact_repeated.len(),
            entra_repeated.len()
        ),
        (RECORDS, RECORDS, RECORDS)
    );

    // Replaying gardien's own log against the tenant that decided it changes nothing, with
    // or without the cache: the evaluation below measures the real path, not a shortcut.
    for cache in [0, DEFAULT_CAPACITY] {
        let mut check = Replay::new(&tenant, None).with_cache_capacity(cache);
        for r in exact_distinct.iter().chain(&exact_repeated) {
            let c = check.compare(r, String::new).expect("logged outcome");
            assert_eq!(c.change, Change::Unchanged, "{:?}", r.signin);
        }
    }

    // `REPLAY_BENCH_ONLY=attribution` runs only the lines whose name contains the text (to
    // profile one of them).
    let only = std::env::var("REPLAY_BENCH_ONLY").unwrap_or_default();
    // `REPLAY_BENCH_RUNS=200`: more runs per line than the default 11 (a longer profile).
    let runs: usize = std::env::var("REPLAY_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(11)
        .max(1);
    let wanted = |what: &str| what.contains(only.as_str());
    let per_s = |n: usize, s: f64| n as f64 / s / 1e6;
    let line = |what: &str,
                tenant: &CompiledTenant,
                sign_ins: &[Rebuilt],
                baseline: Option<&CompiledTenant>,
                cache: usize,
                hot: bool| {
        if !wanted(what) {
            return;
        }
        let runs: Vec<(Timing, f64, ReplayReport)> = (0..runs)
            .map(|_| evaluate(tenant, sign_ins, baseline, cache, hot))
            .collect();
        let wall = runs.iter().map(|r| r.0.wall).min().unwrap_or_default();
        let cpu = runs.iter().map(|r| r.0.cpu).min().unwrap_or_default();
        let (rate, report) = runs
            .into_iter()
            .next()
            .map(|r| (r.1, r.2))
            .expect("at least one run");
        let changed = report.totals.replayed - report.changes.unchanged;
        println!(
            "evaluate, {what}: {:.2} M sign-ins/s per CPU-second ({:.0} ns each), {:.2} M/s wall clock; cache hits {:.0} %; {changed} changed ({} moved)",
            per_s(RECORDS, cpu.as_secs_f64()),
            cpu.as_secs_f64() * 1e9 / RECORDS as f64,
            per_s(RECORDS, wall.as_secs_f64()),
            rate * 100.0,
            report.changes.deciding_policy_moved.count,
        );
    };
    let cache = DEFAULT_CAPACITY;
    for (name, sign_ins) in [
        ("all distinct", &exact_distinct),
        ("10 per distinct sign-in", &exact_repeated),
    ] {
        if !wanted(&format!("decide alone, {name}")) {
            continue;
        }
        let (wall, cpu) = (0..runs)
            .map(|_| decide_only(&tenant, sign_ins))
            .fold((Duration::MAX, Duration::MAX), |(w, c), t| {
                (w.min(t.wall), c.min(t.cpu))
            });
        println!(
            "decide alone, {name}: {:.2} M sign-ins/s per CPU-second ({:.0} ns each), {:.2} M/s wall clock",
            per_s(RECORDS, cpu.as_secs_f64()),
            cpu.as_secs_f64() * 1e9 / RECORDS as f64,
            per_s(RECORDS, wall.as_secs_f64()),
        );
    }
    println!("attribution: the proposal disables policies {disabled:?} (the ten that decide most)");
    for (what, sign_ins, baseline) in [
        (
            "with attribution (10 deciding policies disabled), all distinct, vs logged outcome",
            &exact_distinct,
            None,
        ),
        (
            "with attribution (10 deciding policies disabled), all distinct, vs a baseline tenant",
            &exact_distinct,
            Some(&tenant),
        ),
        (
            "with attribution (10 deciding policies disabled), 10 per distinct, vs logged outcome",
            &exact_repeated,
            None,
        ),
        (
            "with attribution (10 deciding policies disabled), 10 per distinct, Entra records vs logged outcome",
            &entra_repeated,
            None,
        ),
    ] {
        line(what, &proposed, sign_ins, baseline, cache, true);
    }
    line(
        "10 per distinct sign-in, gardien records vs logged outcome",
        &tenant,
        &exact_repeated,
        None,
        cache,
        true,
    );
    line(
        "10 per distinct sign-in, Entra records vs logged outcome",
        &tenant,
        &entra_repeated,
        None,
        cache,
        true,
    );
    line(
        "10 per distinct sign-in, vs a baseline tenant",
        &tenant,
        &exact_repeated,
        Some(&tenant),
        cache,
        true,
    );
    line(
        "10 per distinct sign-in, no cache",
        &tenant,
        &exact_repeated,
        None,
        0,
        true,
    );
    line(
        "all distinct, vs logged outcome",
        &tenant,
        &exact_distinct,
        None,
        cache,
        true,
    );
    line(
        "all distinct, no cache",
        &tenant,
        &exact_distinct,
        None,
        0,
        true,
    );
    line(
        "all distinct, vs a baseline tenant",
        &tenant,
        &exact_distinct,
        Some(&tenant),
        cache,
        true,
    );
    line(
        "10 per distinct sign-in, cold input (read from the 100k array)",
        &tenant,
        &exact_repeated,
        None,
        cache,
        false,
    );
    line(
        "all distinct, cold input",
        &tenant,
        &exact_distinct,
        None,
        cache,
        false,
    );

    for (name, bytes, n) in [
        ("gardien JSON lines", distinct.gardien.as_bytes(), RECORDS),
        (
            "Entra {\"value\":[...]} (streamed)",
            distinct.entra.as_bytes(),
            RECORDS,
        ),
        (
            "gardien JSON lines listing all 200 policies",
            full_log.as_bytes(),
            FULL_RECORDS,
        ),
    ] {
        if !wanted(&format!("parse + rebuild, {name}")) {
            continue;
        }
        let (wall, cpu) = best(3, || assert_eq!(parse(bytes), n));
        println!(
            "parse + rebuild, {name}: {:.3} M records/s, {:.0} MB/s per CPU-second ({:.3} M/s wall clock)",
            per_s(n, cpu),
            bytes.len() as f64 / cpu / 1e6,
            per_s(n, wall),
        );
    }
    for (name, bytes) in [
        ("distinct", &distinct.gardien),
        ("10 per distinct", &repeated.gardien),
    ] {
        if !wanted(&format!("whole pipeline, {name}")) {
            continue;
        }
        let (wall, cpu) = best(3, || {
            let mut replay = Replay::new(&tenant, None);
            read_log("bench.log", bytes.as_bytes(), |_, e: Element<'_>| {
                if let Outcome::Replayed(r) = replay.replay(&e, String::new) {
                    black_box(r);
                }
                Ok::<(), std::convert::Infallible>(())
            })
            .expect("reads");
            black_box(replay.report());
        });
        println!(
            "whole pipeline (parse, rebuild, evaluate, count), gardien JSON lines, {name}: {:.3} M sign-ins/s per CPU-second ({:.3} M/s wall clock)",
            per_s(RECORDS, cpu),
            per_s(RECORDS, wall),
        );
    }

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("replay-evaluate-100k");
    group.sample_size(10);
    group.throughput(Throughput::Elements(RECORDS as u64));
    for (name, sign_ins, baseline, cache) in [
        (
            "repeated/vs-logged-outcome",
            &exact_repeated,
            None,
            DEFAULT_CAPACITY,
        ),
        (
            "repeated/vs-baseline-tenant",
            &exact_repeated,
            Some(&tenant),
            DEFAULT_CAPACITY,
        ),
        (
            "distinct/vs-logged-outcome",
            &exact_distinct,
            None,
            DEFAULT_CAPACITY,
        ),
        (
            "distinct/vs-logged-outcome-no-cache",
            &exact_distinct,
            None,
            0,
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| evaluate(&tenant, sign_ins, baseline, cache, true).0.wall)
                    .sum()
            })
        });
    }
    group.finish();
    let mut group = c.benchmark_group("replay-parse");
    group.sample_size(10);
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.bench_function("gardien-jsonl-100k", |b| {
        b.iter(|| parse(distinct.gardien.as_bytes()))
    });
    group.bench_function("entra-collection-100k", |b| {
        b.iter(|| parse(distinct.entra.as_bytes()))
    });
    group.throughput(Throughput::Elements(FULL_RECORDS as u64));
    group.bench_function("gardien-jsonl-all-policies-2k", |b| {
        b.iter(|| parse(full_log.as_bytes()))
    });
    group.finish();
    c.final_summary();
}
