//! The body of Graph `POST /identity/conditionalAccess/evaluate` (what `--request` and the
//! server's evaluate and what-if endpoints read), decided against two fixed tenants: the demo
//! tenant and every loadable tenant of `testdata/vectors` merged (`fixtures/`).
//!
//! Checks: parsing never panics. An error names the file, says why, and its JSON pointer
//! resolves in the document whenever the document is JSON. A request that parses writes back
//! (`to_request_json`) to JSON that parses to an equal request; on both tenants the fast
//! decision (`decide`) equals the recorded evaluation's verdict (`evaluate`,
//! `evaluate_outcomes`), what-if lists every policy, and the explanation and reports build.
#![no_main]

use std::sync::OnceLock;

use gardien_core::explain::explain;
use gardien_core::json::{decode_text, parse_value};
use gardien_core::report::{WhatIfReport, applied_policies};
use gardien_core::{CompiledTenant, SignIn, SourceFile, Tenant, TenantSource};
use libfuzzer_sys::fuzz_target;

const FILE: &str = "request.json";

fn tenants() -> &'static [CompiledTenant] {
    static TENANTS: OnceLock<Vec<CompiledTenant>> = OnceLock::new();
    TENANTS.get_or_init(|| {
        let demo = TenantSource {
            policy_files: [
                &include_bytes!("../../examples/demo/tenant/policies/ca01.json")[..],
                include_bytes!("../../examples/demo/tenant/policies/ca02.json"),
                include_bytes!("../../examples/demo/tenant/policies/ca03.json"),
                include_bytes!("../../examples/demo/tenant/policies/ca04.json"),
                include_bytes!("../../examples/demo/tenant/policies/ca05.json"),
                include_bytes!("../../examples/demo/tenant/policies/ca06.json"),
            ]
            .iter()
            .enumerate()
            .map(|(i, b)| SourceFile::new(format!("policies/ca0{}.json", i + 1), *b))
            .collect(),
            location_files: vec![SourceFile::new(
                "namedLocations.json",
                &include_bytes!("../../examples/demo/tenant/namedLocations.json")[..],
            )],
            directory: Some(SourceFile::new(
                "directory.json",
                &include_bytes!("../../examples/demo/tenant/directory.json")[..],
            )),
            ..Default::default()
        };
        let vectors = TenantSource {
            combined: Some(SourceFile::new(
                "vectors-tenant.json",
                &include_bytes!("../fixtures/vectors-tenant.json")[..],
            )),
            ..Default::default()
        };
        [demo, vectors]
            .iter()
            .map(|s| match Tenant::load(s) {
                Ok(t) => CompiledTenant::compile(t),
                Err(e) => panic!("fuzz fixture tenant does not load: {e}"),
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let signin = match SignIn::parse(FILE, data) {
        Ok(s) => s,
        Err(e) => {
            assert_eq!(e.file, FILE);
            assert!(!e.reason.is_empty(), "error without a reason: {e:?}");
            assert!(e.pointer.is_empty() || e.pointer.starts_with('/'), "{e:?}");
            let document = decode_text(FILE, data).and_then(|t| parse_value(FILE, &t));
            if let Ok(document) = document {
                assert!(
                    document.pointer(&e.pointer).is_some(),
                    "error pointer `{}` is not in the document: {e}",
                    e.pointer
                );
            }
            return;
        }
    };
    let written = signin.to_request_json();
    match SignIn::from_value(FILE, &written) {
        Ok(again) => assert_eq!(
            again, signin,
            "request does not round-trip through {written}"
        ),
        Err(e) => panic!("written request {written} does not parse: {e}"),
    }
    for tenant in tenants() {
        let evaluation = tenant.evaluate(&signin);
        assert_eq!(
            tenant.decide(&signin),
            evaluation.verdict,
            "decide and evaluate disagree"
        );
        assert_eq!(
            tenant.evaluate_outcomes(&signin).verdict,
            evaluation.verdict
        );
        assert_eq!(evaluation.policies.len(), tenant.tenant.policies.len());
        assert_eq!(tenant.what_if(&signin).len(), tenant.tenant.policies.len());
        let _ = applied_policies(tenant, &evaluation);
        let _ = explain(tenant, &signin, &evaluation);
        let _ = WhatIfReport::new(tenant, &signin).to_graph_json(tenant);
    }
});
