//! `gardien demo`: the bundled demo tenant and its classic cases, decided and explained.

use anyhow::{Result, anyhow};
use gardien_core::report::DecisionReport;
use gardien_core::{CompiledTenant, SignIn, SourceFile, Tenant, TenantSource};

use crate::{Exit, print_out, render};

macro_rules! demo_file {
    ($path:literal) => {
        (
            $path,
            include_bytes!(concat!("../../../../examples/demo/", $path)).as_slice(),
        )
    };
}

const POLICIES: &[(&str, &[u8])] = &[
    demo_file!("tenant/policies/ca01.json"),
    demo_file!("tenant/policies/ca02.json"),
    demo_file!("tenant/policies/ca03.json"),
    demo_file!("tenant/policies/ca04.json"),
    demo_file!("tenant/policies/ca05.json"),
    demo_file!("tenant/policies/ca06.json"),
];
const LOCATIONS: (&str, &[u8]) = demo_file!("tenant/namedLocations.json");
const DIRECTORY: (&str, &[u8]) = demo_file!("tenant/directory.json");
const REQUESTS: &[(&str, &[u8])] = &[
    demo_file!("requests/laptop-abroad.json"),
    demo_file!("requests/phone-not-compliant.json"),
    demo_file!("requests/old-windows.json"),
    demo_file!("requests/desktop-app-allowed.json"),
    demo_file!("requests/admin-needs-mfa.json"),
];

/// The files of the embedded demo tenant.
pub fn demo_source() -> TenantSource {
    let file = |(name, bytes): (&str, &[u8])| {
        SourceFile::new(format!("examples/demo/{name}"), bytes.to_vec())
    };
    TenantSource {
        policy_files: POLICIES.iter().copied().map(file).collect(),
        location_files: vec![file(LOCATIONS)],
        directory: Some(file(DIRECTORY)),
        ..TenantSource::default()
    }
}

/// The embedded demo tenant, compiled.
pub fn demo_tenant() -> Result<CompiledTenant> {
    let tenant = Tenant::load(&demo_source())
        .map_err(|e| anyhow!("the embedded demo tenant is invalid:\n{e}"))?;
    Ok(CompiledTenant::compile(tenant))
}

/// Decides every demo request and prints the decisions with their explanations.
pub fn run(json: bool) -> Result<Exit> {
    let tenant = demo_tenant()?;
    let mut reports = Vec::new();
    for (name, bytes) in REQUESTS {
        let signin = SignIn::parse(name, bytes)?;
        let evaluation = tenant.evaluate(&signin);
        reports.push((*name, DecisionReport::new(&tenant, &signin, &evaluation)));
    }
    if json {
        let all: serde_json::Map<String, serde_json::Value> = reports
            .iter()
            .map(|(n, r)| Ok(((*n).to_owned(), serde_json::to_value(r)?)))
            .collect::<Result<_>>()?;
        print_out(&format!("{}\n", serde_json::to_string_pretty(&all)?))?;
        return Ok(Exit::Ok);
    }
    let mut out =
        String::from("gardien demo: 6 policies, 2 named locations (examples/demo/tenant)\n");
    for (name, report) in &reports {
        out.push_str(&format!("\n=== {name}\n"));
        out.push_str(&render::decision_text(report));
    }
    out.push_str("\nTry one yourself:\n  gardien evaluate --tenant examples/demo/tenant --request examples/demo/requests/laptop-abroad.json --json\n");
    print_out(&out)?;
    Ok(Exit::Ok)
}
