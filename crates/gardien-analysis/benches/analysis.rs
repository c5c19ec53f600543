//! Analysis speed on the generated 200-policy / 195-location / 390k-range tenant of
//! `gardien-core/benches/support/synthetic.rs`:
//! * `diff` with attribution, a 200-policy tenant against a copy with 10 policies changed (4
//!   disabled, 3 switched to report-only, 3 given the next policy's grant controls) — target
//!   < 5 s. The generated tenant's 195 locations and 390k ranges make a partition larger than
//!   `diff` walks (2.3e11 combinations), so the 200 policies are the real baselines of the
//!   corpus (`../shared/corpus/policies`, every baseline, first policies copied up to 200, as
//!   `gardien/tests/gaps_cli.rs` builds it); the bench prints SKIP without the corpus.
//!
//! * `doc` (Markdown and HTML) on the 200-policy corpus tenant and on the generated tenant at
//!   300 policies (`synthetic::generate_sized`) — target < 1 s — with the default options
//!   (location classes bounded above 4096 range boundaries); with
//!   `GARDIEN_BENCH_DOC_EXACT=1` also with `exact_locations` (30-50 s per document on 2 vCPU).
//!   `GARDIEN_BENCH_DOC_ONLY=1` stops after `doc`.
//!
//! `cargo bench -p gardien-analysis --bench analysis` prints the best of 3 runs (wall clock,
//! and CPU time of the process, which a shared machine does not inflate), then runs the same
//! as a criterion group (10 samples).
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark over generated, known-good input: failing loudly is the point"
)]

#[path = "../../gardien-core/benches/support/synthetic.rs"]
mod synthetic;

use criterion::Criterion;
use gardien_analysis::doc::{DocOptions, Format, document_with};
use gardien_core::model::policy::PolicyState;
use gardien_core::{SourceFile, Tenant, TenantSource};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SEED: u64 = 0x6469_6666;

/// CPU time of the whole process (every thread): unlike the wall clock, it does not count the
/// time spent waiting while other processes run on a shared machine.
fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// The tenant with 10 enabled policies changed.
fn changed(t: &Tenant) -> Tenant {
    let mut c = t.clone();
    let n = c.policies.len();
    let enabled: Vec<usize> = (0..n)
        .filter(|i| {
            c.policies
                .get(*i)
                .is_some_and(|p| p.state == PolicyState::Enabled)
        })
        .collect();
    let step = (enabled.len() / 10).max(1);
    for (k, i) in enabled.iter().step_by(step).take(10).enumerate() {
        let other = t.policies.get((i + 1) % n).cloned();
        let Some(p) = c.policies.get_mut(*i) else {
            continue;
        };
        match (k % 3, other) {
            (0, _) | (_, None) => p.state = PolicyState::Disabled,
            (1, _) => p.state = PolicyState::ReportOnly,
            (_, Some(o)) => {
                // The next policy's grant and session controls.
                p.raw["grantControls"] = o.raw.get("grantControls").cloned().unwrap_or_default();
                p.raw["sessionControls"] =
                    o.raw.get("sessionControls").cloned().unwrap_or_default();
                p.grant = o.grant;
                p.session = o.session;
            }
        }
    }
    c
}

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/policies");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!(
            "SKIP: corpus folder {} is absent; no diff measurement",
            dir.display()
        );
        None
    }
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            json_files(&p, out);
        } else if p
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("json"))
        {
            out.push(p);
        }
    }
}

fn source(p: &Path, root: &Path) -> SourceFile {
    let name = p.strip_prefix(root).unwrap_or(p).display().to_string();
    SourceFile::new(name, std::fs::read(p).unwrap_or_default())
}

fn is_location_file(rel: &str) -> bool {
    rel.contains("NamedLocations/") || rel.contains("_Locations") || rel.contains("-Locations")
}

/// One tenant per source folder (per snapshot date for dated snapshots), made of every
/// policy file that loads with the folder's named locations.
fn baselines(root: &Path) -> Vec<(String, Tenant)> {
    let mut out = Vec::new();
    let mut folders: Vec<PathBuf> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("SOURCE.md").is_file())
        .collect();
    folders.sort();
    for folder in folders {
        let mut files = Vec::new();
        json_files(&folder, &mut files);
        let rel = |p: &PathBuf| p.strip_prefix(root).unwrap_or(p).display().to_string();
        let date = |p: &PathBuf| -> Option<String> {
            let name = p.file_name()?.to_string_lossy().into_owned();
            let d = name.get(..8)?;
            d.chars().all(|c| c.is_ascii_digit()).then(|| d.to_owned())
        };
        let mut dates: Vec<Option<String>> = files
            .iter()
            .filter(|p| !is_location_file(&rel(p)))
            .map(date)
            .collect();
        dates.sort();
        dates.dedup();
        for d in dates {
            let locations: Vec<SourceFile> = files
                .iter()
                .filter(|p| is_location_file(&rel(p)) && (d.is_none() || date(p) == d))
                .map(|p| source(p, root))
                .collect();
            let loadable: Vec<SourceFile> = files
                .iter()
                .filter(|p| !is_location_file(&rel(p)) && date(p) == d)
                .map(|p| source(p, root))
                .filter(|f| {
                    Tenant::load(&TenantSource {
                        policy_files: vec![f.clone()],
                        location_files: locations.clone(),
                        ..TenantSource::default()
                    })
                    .is_ok_and(|t| !t.policies.is_empty())
                })
                .collect();
            if loadable.is_empty() {
                continue;
            }
            let Ok(t) = Tenant::load(&TenantSource {
                policy_files: loadable,
                location_files: locations,
                ..TenantSource::default()
            }) else {
                continue;
            };
            let name = folder
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push((
                match d {
                    Some(d) => format!("{name} ({d})"),
                    None => name,
                },
                t,
            ));
        }
    }
    out
}

/// Every corpus baseline in one tenant, with copies of the first policies up to 200.
fn tenant_200() -> Option<Tenant> {
    let root = corpus()?;
    let mut all = Tenant::default();
    for (_, t) in baselines(&root) {
        for l in t.named_locations {
            if !all.named_locations.iter().any(|x| x.id == l.id) {
                all.named_locations.push(l);
            }
        }
        all.policies.extend(t.policies);
    }
    let base = all.policies.clone();
    let mut n = 0;
    while all.policies.len() < 200 && !base.is_empty() {
        if let Some(p) = base.get(n % base.len()) {
            let mut p = p.clone();
            p.id = format!("{}-copy{n}", p.id);
            all.policies.push(p);
        }
        n += 1;
    }
    (all.policies.len() == 200).then_some(())?;
    Some(all)
}

fn doc_bench() {
    if let Some(t) = tenant_200() {
        let started = Instant::now();
        let md =
            gardien_analysis::doc::document(&t, "corpus", gardien_analysis::doc::Format::Markdown);
        println!(
            "doc, corpus tenant of {} policies: {:.3} s ({} bytes)",
            t.policies.len(),
            started.elapsed().as_secs_f64(),
            md.len()
        );
    }
    let synthetic = synthetic::generate_sized(SEED, 300, 0);
    let tenant = Tenant::load(&synthetic.source).unwrap_or_else(|e| panic!("tenant: {e}"));
    let mut variants = vec![("default options", DocOptions::default())];
    variants.push((
        "--no-lint",
        DocOptions {
            no_lint: true,
            ..DocOptions::default()
        },
    ));
    if std::env::var_os("GARDIEN_BENCH_DOC_EXACT").is_some() {
        variants.push((
            "exact locations",
            DocOptions {
                exact_locations: true,
                ..DocOptions::default()
            },
        ));
    }
    for (label, options) in variants {
        let (mut best, mut best_cpu) = (f64::INFINITY, f64::INFINITY);
        let mut len = 0;
        for _ in 0..3 {
            let (t, cpu) = (Instant::now(), process_cpu());
            let md = document_with(&tenant, "synthetic", Format::Markdown, options);
            let html = document_with(&tenant, "synthetic", Format::Html, options);
            best = best.min(t.elapsed().as_secs_f64() / 2.0);
            best_cpu = best_cpu.min(process_cpu().saturating_sub(cpu).as_secs_f64() / 2.0);
            len = md.len() + html.len();
        }
        println!(
            "doc ({label}), {} policies, {} named locations: {:.3} s per document, {:.3} s CPU (best of 3, Markdown and HTML: {} bytes)",
            tenant.policies.len(),
            tenant.named_locations.len(),
            best,
            best_cpu,
            len
        );
    }
    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    c.bench_function("doc/300 policies, markdown", |b| {
        b.iter(|| {
            gardien_analysis::doc::document(
                black_box(&tenant),
                "synthetic",
                gardien_analysis::doc::Format::Markdown,
            )
        })
    });
    c.final_summary();
}

fn main() {
    let _ = synthetic::generate;
    doc_bench();
    if std::env::var_os("GARDIEN_BENCH_DOC_ONLY").is_some() {
        return;
    }
    let Some(tenant) = tenant_200() else {
        println!("SKIP: the 200-policy corpus tenant could not be built");
        return;
    };
    let proposed = changed(&tenant);
    let mut last = None;
    let (mut best, mut best_cpu) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..3 {
        let (t, cpu) = (Instant::now(), process_cpu());
        last = Some(
            gardien_analysis::diff::diff(&tenant, &proposed)
                .unwrap_or_else(|e| panic!("diff: {e}")),
        );
        best = best.min(t.elapsed().as_secs_f64());
        best_cpu = best_cpu.min(process_cpu().saturating_sub(cpu).as_secs_f64());
    }
    let d = last.expect("one run");
    println!(
        "diff with attribution, {} policies, {} changed: {:.2} s, {:.2} s CPU over every thread (best of 3); {} of {} classes change, {} groups, {} evaluations",
        tenant.policies.len(),
        d.summary.policy_changes.len(),
        best,
        best_cpu,
        d.summary.changed_classes,
        d.summary.total_classes,
        d.changes.len(),
        d.summary.evaluations
    );
    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    c.bench_function("diff/200 policies, 10 changed, with attribution", |b| {
        b.iter(|| gardien_analysis::diff::diff(black_box(&tenant), black_box(&proposed)))
    });
    c.final_summary();
}
