//! The bundled demo tenant, devices and compliance rules, read from `examples/demo/`:
//! shared by the API tests and the load bench (`#[path]`-included).

use gardien_core::{SourceFile, TenantSource};
use gardien_server::{StartOptions, snapshot};
use serde_json::Value;
use std::path::PathBuf;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(p: PathBuf) -> SourceFile {
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    SourceFile::new(p.display().to_string(), bytes)
}

/// The demo tenant's files.
pub fn demo_source() -> TenantSource {
    let dir = root().join("examples/demo/tenant");
    let mut policies: Vec<_> = std::fs::read_dir(dir.join("policies"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    policies.sort();
    TenantSource {
        policy_files: policies.into_iter().map(read).collect(),
        location_files: vec![read(dir.join("namedLocations.json"))],
        directory: Some(read(dir.join("directory.json"))),
        combined: None,
    }
}

/// Start options importing the demo tenant, the server demo devices and compliance rules.
pub fn demo_options() -> StartOptions {
    let devices: Value =
        serde_json::from_slice(&read(root().join("examples/demo/server/devices.json")).bytes)
            .unwrap_or_else(|e| panic!("{e}"));
    let compliance = read(root().join("examples/demo/signals/compliance.json")).bytes;
    StartOptions {
        demo: false,
        initial_tenant: Some(
            snapshot::from_source(&demo_source()).unwrap_or_else(|e| panic!("{e}")),
        ),
        initial_devices: devices["value"].as_array().cloned(),
        compliance: Some(("compliance.json".into(), compliance)),
    }
}
