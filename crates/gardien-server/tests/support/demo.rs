//! The bundled demo tenant, devices and compliance rules, read from `examples/demo/`:
//! shared by the API tests and the load bench (`#[path]`-included).

use gardien_core::{SourceFile, TenantSource};
use gardien_server::{StartOptions, snapshot};
use serde_json::Value;
use std::path::PathBuf;

/// Alice (Finance) in the demo directory.
pub const ALICE: &str = "a1a1a1a1-0000-4000-8000-000000000001";
/// Bob (Global Administrator) in the demo directory.
pub const BOB: &str = "b2b2b2b2-0000-4000-8000-000000000002";
/// Chrome on Windows.
pub const CHROME_WIN: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
/// Safari on macOS.
pub const SAFARI_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";
/// The admin token the tests and bench configure (its SHA-256 goes in the config).
pub const TOKEN: &str = "test-admin-token-0123456789";

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
        ..TenantSource::default()
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
