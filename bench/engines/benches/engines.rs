//! gardien, Cedar and regorus side by side, in one run, on the same generated tenant at 50 and
//! 200 policies and the same 500 sign-ins (DESIGN.md: gardien ≥ 50× faster than both).
//!
//! Run with `cargo bench --manifest-path bench/engines/Cargo.toml` (defaults: 20 samples,
//! 5 s measurement, 1 s warm-up per function; criterion flags after `--` override them).
//!
//! Timed, per request, on prepared inputs:
//! * gardien: `CompiledTenant::decide(&SignIn)` (the IP lookup and the user's group lookup
//!   happen inside, so they are timed for gardien only);
//! * Cedar: `Authorizer::is_authorized(&Request, &PolicySet, &Entities)`, the allow / not-allow
//!   policy set (one `forbid` per policy) and the deny / challenge one (two);
//! * regorus interpreter: `Engine::set_input` + `Engine::eval_rule("data.ca.allow")` and
//!   `"data.ca.decision"`;
//! * regorus RVM: `RegoVM::set_input` + `execute_entry_point_by_name`, same entry points.
//!
//! Not timed for Cedar and regorus (the host does it before calling them, see
//! `src/host.rs`): IP → named locations, the user's transitive groups, case normalisation,
//! and building the Cedar `Request` / Rego input document; their cost is printed apart.
//!
//! Two measures: (1) every decision timed on its own with `Instant` (p50 / p90 / p99), which
//! the summary table uses; (2) criterion's median time for the whole 500-request batch,
//! divided by 500, printed next to it.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::unwrap_used,
    reason = "a benchmark over generated, known-good input: failing loudly is the point"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use gardien_bench_engines::fixture::Fixture;
use gardien_bench_engines::rego::{self, ALLOW, DECISION};

const REQUESTS: usize = 500;
const SIZES: [usize; 2] = [50, 200];
/// Time spent on individually timed decisions, per engine and size.
const PER_REQUEST_BUDGET: Duration = Duration::from_secs(3);

/// The engines, in table order.
const ENGINES: [&str; 7] = [
    "gardien-decide",
    "cedar-allow",
    "cedar-full",
    "regorus-allow",
    "regorus-decision",
    "rvm-allow",
    "rvm-decision",
];

fn decide_once(f: &mut Fixture, engine: &str, i: usize) {
    match engine {
        "gardien-decide" => {
            black_box(f.gardien.decide(black_box(&f.signins[i])));
        }
        "cedar-allow" => {
            black_box(f.cedar_allow.is_authorized(black_box(&f.cedar_requests[i])));
        }
        "cedar-full" => {
            black_box(
                f.cedar_full
                    .is_authorized(black_box(&f.cedar_full_requests[i])),
            );
        }
        "regorus-allow" => {
            black_box(f.rego.eval(black_box(&f.rego_inputs[i]), ALLOW).unwrap());
        }
        "regorus-decision" => {
            black_box(f.rego.eval(black_box(&f.rego_inputs[i]), DECISION).unwrap());
        }
        "rvm-allow" => {
            black_box(f.rvm.eval(black_box(&f.rego_inputs[i]), ALLOW).unwrap());
        }
        "rvm-decision" => {
            black_box(f.rvm.eval(black_box(&f.rego_inputs[i]), DECISION).unwrap());
        }
        other => panic!("unknown engine {other}"),
    }
}

/// Per-decision timings: p50, p90, p99 in nanoseconds, and the number of samples.
#[derive(Clone, Copy, Default)]
struct Percentiles {
    p50: f64,
    p90: f64,
    p99: f64,
    samples: usize,
}

fn percentiles(f: &mut Fixture, engine: &str) -> Percentiles {
    let n = f.len();
    // One warm pass, which also sizes the number of rounds to the budget.
    let started = Instant::now();
    for i in 0..n {
        decide_once(f, engine, i);
    }
    let pass = started.elapsed();
    let rounds = (PER_REQUEST_BUDGET.as_secs_f64() / pass.as_secs_f64().max(1e-9)).clamp(1.0, 400.0)
        as usize;
    let mut samples: Vec<u64> = Vec::with_capacity(rounds * n);
    for _ in 0..rounds {
        for i in 0..n {
            let t = Instant::now();
            decide_once(f, engine, i);
            samples.push(t.elapsed().as_nanos() as u64);
        }
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize] as f64;
    Percentiles {
        p50: at(0.5),
        p90: at(0.9),
        p99: at(0.99),
        samples: samples.len(),
    }
}

/// Host-side preparation per request (not in any engine's timed region), in nanoseconds:
/// resolve the request body, build the Cedar request, build the Rego input.
fn host_costs(f: &Fixture) -> (f64, f64, f64) {
    let n = f.len() as f64;
    let started = Instant::now();
    for b in &f.bodies {
        black_box(f.host.resolve(black_box(b)).unwrap());
    }
    let resolve = started.elapsed().as_nanos() as f64 / n;
    let started = Instant::now();
    for r in &f.resolved {
        black_box(f.cedar_allow.request(black_box(r)).unwrap());
    }
    let cedar = started.elapsed().as_nanos() as f64 / n;
    let started = Instant::now();
    for r in &f.resolved {
        black_box(regorus::Value::from(rego::input(black_box(r))));
    }
    let rego = started.elapsed().as_nanos() as f64 / n;
    (resolve, cedar, rego)
}

/// Criterion's median for one function (ns per iteration), read back from its report.
fn criterion_median(group: &str, function: &str) -> Option<f64> {
    let dir = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let path = dir
        .join("criterion")
        .join(group)
        .join(function)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.pointer("/median/point_estimate")?.as_f64()
}

fn show(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    let mut table: Vec<(usize, Vec<Percentiles>)> = Vec::new();
    for size in SIZES {
        let started = Instant::now();
        let mut f = Fixture::build(size, REQUESTS).expect("fixture builds");
        println!(
            "tenant {size}p: {} policies enforced and translated ({} report-only or disabled), {} Cedar policies (allow-or-not) / {} (deny/challenge), {} RVM instructions; {REQUESTS} requests; set-up {:.1} s",
            f.model.policies.len(),
            f.model.skipped,
            f.cedar_allow.policy_count(),
            f.cedar_full.policy_count(),
            f.rvm.instruction_count(),
            started.elapsed().as_secs_f64()
        );
        // The engines must agree on the batch before their speed means anything.
        let mut mix = [0usize; 3];
        for i in 0..f.len() {
            let a = f.answers(i).expect("every engine answers");
            assert!(
                a.allow_agrees() && a.decision_agrees(),
                "engines disagree on request {i}: {a:?}"
            );
            mix[a.gardien as usize] += 1;
        }
        println!(
            "  all engines agree on the {REQUESTS} requests: {} allow, {} challenge, {} deny",
            mix[0], mix[1], mix[2]
        );
        let (resolve, cedar_req, rego_in) = host_costs(&f);
        println!(
            "  host side, per request, not timed for any engine: resolve {} (IP lookup, group closure, normalisation, from the JSON body), Cedar request {}, Rego input {}",
            show(resolve),
            show(cedar_req),
            show(rego_in)
        );
        let mut row = Vec::new();
        for engine in ENGINES {
            let p = percentiles(&mut f, engine);
            println!(
                "  {engine:<17} per decision: p50 {:>9}, p90 {:>9}, p99 {:>9} ({} timings)",
                show(p.p50),
                show(p.p90),
                show(p.p99),
                p.samples
            );
            row.push(p);
        }
        table.push((size, row));

        let group_name = format!("engines-{size}p");
        let mut group = c.benchmark_group(&group_name);
        group.throughput(Throughput::Elements(REQUESTS as u64));
        for engine in ENGINES {
            group.bench_function(engine, |b| {
                b.iter(|| {
                    for i in 0..REQUESTS {
                        decide_once(&mut f, engine, i);
                    }
                })
            });
        }
        group.finish();
    }
    c.final_summary();

    println!(
        "\nSummary: p50 per decision (individually timed), criterion median ÷ {REQUESTS} in its own column"
    );
    println!(
        "\n| policies | engine | p50 | p90 | p99 | criterion median / request | slower than gardien (p50) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (size, row) in &table {
        let gardien = row[0].p50.max(1.0);
        for (engine, p) in ENGINES.iter().zip(row) {
            let median = criterion_median(&format!("engines-{size}p"), engine)
                .map(|m| show(m / REQUESTS as f64))
                .unwrap_or_else(|| "—".to_owned());
            let ratio = if *engine == "gardien-decide" {
                "1×".to_owned()
            } else {
                format!("{:.0}×", p.p50 / gardien)
            };
            println!(
                "| {size} | {engine} | {} | {} | {} | {median} | {ratio} |",
                show(p.p50),
                show(p.p90),
                show(p.p99)
            );
        }
    }
    for (size, row) in &table {
        let gardien = row[0].p50.max(1.0);
        let fastest_other = row[1..].iter().map(|p| p.p50).fold(f64::INFINITY, f64::min);
        let ratio = fastest_other / gardien;
        println!(
            "\n{size} policies: the fastest other engine is {ratio:.0}× slower than gardien at p50 — goal ≥ 50×: {}",
            if ratio >= 50.0 { "met" } else { "NOT met" }
        );
    }
}
