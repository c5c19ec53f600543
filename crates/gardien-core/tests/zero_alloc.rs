//! `CompiledTenant::decide` makes no heap allocation: a counting global allocator watches
//! every decision over the demo tenant and every spec vector that evaluates.

#[path = "../benches/support/counting_alloc.rs"]
mod counting_alloc;

use gardien_core::{CompiledTenant, SignIn, SourceFile, Tenant, TenantSource};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path) -> Vec<SourceFile> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    paths
        .iter()
        .filter(|p| p.is_file())
        .map(|p| {
            SourceFile::new(
                p.display().to_string(),
                std::fs::read(p).unwrap_or_default(),
            )
        })
        .collect()
}

/// Counts allocations made by `decide` over every request, after one warm-up call each.
fn allocations(tenant: &CompiledTenant, requests: &[SignIn]) -> usize {
    for r in requests {
        std::hint::black_box(tenant.decide(r));
    }
    counting_alloc::allocations_during(|| {
        for _ in 0..10 {
            for r in requests {
                std::hint::black_box(tenant.decide(std::hint::black_box(r)));
            }
        }
    })
}

#[test]
fn decide_does_not_allocate() {
    // The demo tenant with its requests.
    let demo = root().join("examples/demo");
    let source = TenantSource {
        policy_files: files(&demo.join("tenant/policies")),
        location_files: vec![SourceFile::new(
            "namedLocations.json",
            std::fs::read(demo.join("tenant/namedLocations.json")).unwrap_or_default(),
        )],
        directory: Some(SourceFile::new(
            "directory.json",
            std::fs::read(demo.join("tenant/directory.json")).unwrap_or_default(),
        )),
        ..Default::default()
    };
    let tenant = Tenant::load(&source)
        .map(CompiledTenant::compile)
        .map_err(|e| e.to_string());
    assert!(tenant.is_ok(), "demo tenant: {tenant:?}");
    let Ok(tenant) = tenant else { return };
    let requests: Vec<SignIn> = files(&demo.join("requests"))
        .iter()
        .filter_map(|f| SignIn::parse(&f.name, &f.bytes).ok())
        .collect();
    assert_eq!(requests.len(), 5);
    assert_eq!(allocations(&tenant, &requests), 0, "demo tenant");

    // Every spec vector that evaluates.
    let mut checked = 0;
    for f in files(&root().join("testdata/vectors")) {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&f.bytes) else {
            continue;
        };
        if v["mode"] != "evaluate" {
            continue;
        }
        let bytes = serde_json::to_vec(&v["tenant"]).unwrap_or_default();
        let Ok(t) = Tenant::load(&TenantSource {
            combined: Some(SourceFile::new("t.json", bytes)),
            ..Default::default()
        }) else {
            continue;
        };
        let t = CompiledTenant::compile(t);
        let Ok(r) = SignIn::from_value("r.json", &v["request"]) else {
            continue;
        };
        assert_eq!(allocations(&t, std::slice::from_ref(&r)), 0, "{}", f.name);
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} vectors checked");
}
