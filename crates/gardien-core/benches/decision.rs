//! Speed targets of docs/design.md on the generated 200-policy / 195-location / 390k-range tenant
//! (`support/synthetic.rs`): tenant compile < 50 ms, decision p50 ≤ 1 µs on one core, zero
//! heap allocations per decision without trace.
//!
//! `cargo bench -p gardien-core --bench decision` first proves the zero-allocation claim with
//! a counting global allocator (the run aborts if `decide` allocates), prints per-decision
//! percentiles, then runs the criterion groups.
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark over generated, known-good input: failing loudly is the point"
)]

#[path = "support/synthetic.rs"]
mod synthetic;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use criterion::{BatchSize, Criterion, Throughput};
use gardien_core::model::location::LocationKind;
use gardien_core::network::{Cidr, IpIndexBuilder};
use gardien_core::{CompiledTenant, SignIn, Tenant};
use std::hint::black_box;
use std::net::IpAddr;
use std::time::Instant;

const SEED: u64 = 0x6a72_6469_656e;
const REQUESTS: usize = 500;

fn main() {
    let synthetic = synthetic::generate(SEED, REQUESTS);
    let started = Instant::now();
    let tenant = Tenant::load(&synthetic.source).expect("the generated tenant loads");
    let load = started.elapsed();
    let started = Instant::now();
    let compiled = CompiledTenant::compile(tenant.clone());
    let compile = started.elapsed();
    let requests: Vec<SignIn> = synthetic
        .requests
        .iter()
        .map(|r| SignIn::from_value("request.json", r).expect("generated requests parse"))
        .collect();
    assert!(
        tenant.warnings.is_empty(),
        "the generated tenant uses Graph's members only: {:?}",
        tenant.warnings.first()
    );
    println!(
        "synthetic tenant: {} policies, {} named locations, {} ranges, {} users, {} groups; load {:.1} ms, first compile {:.1} ms",
        tenant.policies.len(),
        synthetic::LOCATIONS,
        synthetic::LOCATIONS * synthetic::RANGES_PER_LOCATION,
        synthetic::USERS,
        synthetic::GROUPS,
        load.as_secs_f64() * 1e3,
        compile.as_secs_f64() * 1e3,
    );

    zero_allocations(&compiled, &requests);
    percentiles(&compiled, &requests);
    traced_percentiles(&compiled, &requests);
    parallel_throughput(&compiled, &requests);

    let mut c = Criterion::default().configure_from_args();
    c.bench_function("compile/synthetic-200p-390k", |b| {
        b.iter_batched(
            || tenant.clone(),
            |t| black_box(CompiledTenant::compile(t)),
            BatchSize::LargeInput,
        )
    });
    // Loading (decode, parse, read, validate, schema check) and, separately, the schema
    // check alone over the same parsed values: its share of the load time (target < 10 %).
    c.bench_function("load/synthetic-200p-390k", |b| {
        b.iter(|| black_box(Tenant::load(black_box(&synthetic.source))))
    });
    let checked = schema_inputs(&synthetic.source);
    c.bench_function("schema-check/synthetic-200p-390k", |b| {
        b.iter(|| {
            let mut unknown = 0;
            for (value, ty) in &checked {
                unknown += gardien_core::schema::unknown_members(black_box(value), ty).len();
            }
            black_box(unknown)
        })
    });
    let mut group = c.benchmark_group("mix-500");
    group.sample_size(20);
    group.throughput(Throughput::Elements(requests.len() as u64));
    group.bench_function("decide", |b| {
        b.iter(|| {
            for r in &requests {
                black_box(compiled.decide(black_box(r)));
            }
        })
    });
    // The sign-in log's per-policy results from the memo's masks (what the server's
    // forward-auth path runs for a sign-in seen the first time), into one reused buffer.
    let mut entries = Vec::new();
    group.bench_function("decide-entries", |b| {
        b.iter(|| {
            for r in &requests {
                black_box(compiled.decide_entries(black_box(r), &mut entries));
            }
        })
    });
    group.bench_function("evaluate-traced", |b| {
        b.iter(|| {
            for r in &requests {
                black_box(compiled.evaluate(black_box(r)));
            }
        })
    });
    group.bench_function("what-if", |b| {
        b.iter(|| {
            for r in &requests {
                black_box(compiled.what_if(black_box(r)));
            }
        })
    });
    group.finish();

    // The IP interval index alone, on the generated tenant's ranges and on a worst case where
    // broad ranges (/9..) overlap everywhere so nearly every interval has its own set.
    for (name, ranges) in [
        ("tenant-like", synthetic_ranges(&tenant)),
        (
            "uniform-worst-case",
            synthetic::uniform_ranges(0x9e37_79b9_7f4a_7c15),
        ),
    ] {
        c.bench_function(&format!("ip-index-build-390k/{name}"), |b| {
            b.iter(|| {
                let mut builder = IpIndexBuilder::with_capacity(ranges.len());
                for (cidr, location) in &ranges {
                    builder.add(cidr, *location);
                }
                black_box(builder.build())
            })
        });
        let mut builder = IpIndexBuilder::with_capacity(ranges.len());
        for (cidr, location) in &ranges {
            builder.add(cidr, *location);
        }
        let index = builder.build();
        let mut rng = synthetic::Rng::new(42);
        let addresses: Vec<IpAddr> = (0..4096)
            .map(|i| match i % 4 {
                0 | 1 => ranges[rng.below(ranges.len())].0.last_address(),
                2 => IpAddr::V4((rng.next() as u32).into()),
                _ => IpAddr::V6(((u128::from(rng.next()) << 64) | u128::from(rng.next())).into()),
            })
            .collect();
        let mut group = c.benchmark_group("ip-index-lookup");
        group.throughput(Throughput::Elements(addresses.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                for a in &addresses {
                    black_box(index.lookup(black_box(*a)));
                }
            })
        });
        println!(
            "ip-index {name}: {} ranges -> {} intervals, {} distinct location sets",
            ranges.len(),
            index.interval_count(),
            index.distinct_sets()
        );
        group.finish();
    }
    c.final_summary();
}

/// Every range of the tenant's IP named locations, with its location's position.
fn synthetic_ranges(tenant: &Tenant) -> Vec<(Cidr, u8)> {
    let mut out = Vec::new();
    for (i, location) in tenant.named_locations.iter().enumerate() {
        if let LocationKind::Ip { ranges, .. } = &location.kind {
            out.extend(ranges.iter().map(|c| (c.clone(), i as u8)));
        }
    }
    out
}

/// Aborts the bench if `decide` allocates on any request of the mix.
fn zero_allocations(tenant: &CompiledTenant, requests: &[SignIn]) {
    for r in requests {
        black_box(tenant.decide(r));
    }
    let n = counting_alloc::allocations_during(|| {
        for r in requests {
            black_box(tenant.decide(black_box(r)));
        }
    });
    assert_eq!(
        n,
        0,
        "decide allocated {n} times over {} requests",
        requests.len()
    );
    println!(
        "zero-allocation check: 0 heap allocations over {} decisions",
        requests.len()
    );
}

/// Decisions per second with one thread per core, each walking the whole mix (docs/design.md:
/// ≥ 1M decisions/s on 2 cores).
fn parallel_throughput(tenant: &CompiledTenant, requests: &[SignIn]) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rounds = 4000;
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..rounds {
                    for r in requests {
                        black_box(tenant.decide(black_box(r)));
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let decisions = (threads * rounds * requests.len()) as f64;
    println!(
        "decide on {threads} threads: {:.2} M decisions/s ({decisions} decisions in {elapsed:.2} s)",
        decisions / elapsed / 1e6
    );
}

/// Times every decision on its own and prints p50/p90/p99/max (criterion reports means).
fn percentiles(tenant: &CompiledTenant, requests: &[SignIn]) {
    let mut samples: Vec<u64> = Vec::with_capacity(requests.len() * 200);
    for _ in 0..200 {
        for r in requests {
            let t = Instant::now();
            black_box(tenant.decide(black_box(r)));
            samples.push(t.elapsed().as_nanos() as u64);
        }
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    let mut decisions = [0usize; 3];
    for r in requests {
        decisions[tenant.decide(r).decision as usize] += 1;
    }
    println!(
        "decide per request ({} timings): p50 {} ns, p90 {} ns, p99 {} ns, max {} ns; mix: {:?} allow/challenge/deny",
        samples.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0),
        decisions,
    );
}

/// The objects the loader checks against the schema: every policy and named location of the
/// tenant's files (collections walked), parsed once, with their types.
fn schema_inputs(
    source: &gardien_core::TenantSource,
) -> Vec<(serde_json::Value, &'static gardien_core::schema::Type)> {
    use gardien_core::schema::{DIRECTORY, NAMED_LOCATION, POLICY};
    let parse = |f: &gardien_core::SourceFile| -> serde_json::Value {
        serde_json::from_slice(&f.bytes).expect("generated files are JSON")
    };
    let items = |v: serde_json::Value| -> Vec<serde_json::Value> {
        match v {
            serde_json::Value::Array(a) => a,
            serde_json::Value::Object(mut o) if o.get("value").is_some_and(|v| v.is_array()) => {
                match o.remove("value") {
                    Some(serde_json::Value::Array(a)) => a,
                    _ => Vec::new(),
                }
            }
            other => vec![other],
        }
    };
    let mut out = Vec::new();
    for f in &source.policy_files {
        out.extend(items(parse(f)).into_iter().map(|v| (v, &POLICY)));
    }
    for f in &source.location_files {
        out.extend(items(parse(f)).into_iter().map(|v| (v, &NAMED_LOCATION)));
    }
    if let Some(f) = &source.directory {
        out.push((parse(f), &DIRECTORY));
    }
    out
}

/// Times every traced `evaluate` and `what_if` on its own and prints p50/p90/p99 (docs/design.md:
/// traced evaluation p50 <= 10 us; the words are built lazily, so this is the cost every deny,
/// what-if and explanation pays before showing anything).
fn traced_percentiles(tenant: &CompiledTenant, requests: &[SignIn]) {
    for (name, what_if) in [("evaluate (traced)", false), ("what_if", true)] {
        let mut samples: Vec<u64> = Vec::with_capacity(requests.len() * 40);
        for _ in 0..40 {
            for r in requests {
                let t = Instant::now();
                if what_if {
                    black_box(tenant.what_if(black_box(r)));
                } else {
                    black_box(tenant.evaluate(black_box(r)));
                }
                samples.push(t.elapsed().as_nanos() as u64);
            }
        }
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
        println!(
            "{name} per request ({} timings): p50 {} ns, p90 {} ns, p99 {} ns",
            samples.len(),
            at(0.5),
            at(0.9),
            at(0.99),
        );
    }
}
