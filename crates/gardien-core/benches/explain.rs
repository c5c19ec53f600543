//! The explanation search (`gardien_core::explain::minimal_action_sets`) on the demo tenant
//! (`examples/demo/`): the cost of the first explanation of a denied or challenged sign-in,
//! paid on the enforcement path (the denial page, the problem document).
//!
//! `cargo bench -p gardien-core --bench explain` runs the criterion group. With
//! `EXPLAIN_ONCE=1` the binary runs each search once and prints its decisions instead (for
//! `valgrind --tool=callgrind`, whose instruction counts do not depend on the machine's load;
//! see BENCHMARKS.md "The enforcement path (issue 21)").
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark over the repository's own demo files: failing loudly is the point"
)]

use criterion::Criterion;
use gardien_core::explain::minimal_action_sets;
use gardien_core::{CompiledTenant, Decision, SignIn, SourceFile, Tenant, TenantSource};
use std::hint::black_box;
use std::path::{Path, PathBuf};

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo")
}

fn file(path: &Path) -> SourceFile {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    SourceFile::new(path.display().to_string(), bytes)
}

fn tenant() -> CompiledTenant {
    let dir = demo().join("tenant");
    let mut policies: Vec<PathBuf> = std::fs::read_dir(dir.join("policies"))
        .expect("examples/demo/tenant/policies")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    policies.sort();
    let source = TenantSource {
        policy_files: policies.iter().map(|p| file(p)).collect(),
        location_files: vec![file(&dir.join("namedLocations.json"))],
        directory: Some(file(&dir.join("directory.json"))),
        ..TenantSource::default()
    };
    CompiledTenant::compile(Tenant::load(&source).expect("the demo tenant loads"))
}

/// The demo requests the demo tenant denies or challenges, by file name.
fn denied(tenant: &CompiledTenant) -> Vec<(String, SignIn)> {
    let dir = demo().join("requests");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/demo/requests")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| {
            let bytes = std::fs::read(p).expect("a demo request");
            let signin =
                SignIn::parse_in(&p.display().to_string(), &bytes, &tenant.tenant.directory)
                    .expect("a sign-in");
            let name = p.file_stem()?.to_string_lossy().into_owned();
            (tenant.decide(&signin).decision != Decision::Allow).then_some((name, signin))
        })
        .collect()
}

fn main() {
    let tenant = tenant();
    let denied = denied(&tenant);
    assert!(!denied.is_empty(), "no denied demo request");
    if std::env::var_os("EXPLAIN_ONCE").is_some() {
        for (name, signin) in &denied {
            let search = minimal_action_sets(&tenant, signin);
            println!(
                "{name}: {} decisions, sets {:?}",
                search.evaluations, search.sets
            );
        }
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("explain");
    for (name, signin) in &denied {
        group.bench_function(name.as_str(), |b| {
            b.iter(|| minimal_action_sets(black_box(&tenant), black_box(signin)))
        });
    }
    group.finish();
    c.final_summary();
}
