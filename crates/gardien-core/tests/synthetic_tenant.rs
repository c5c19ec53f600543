//! Keeps the benchmark's generated tenant honest: it must load at full size (so the bench
//! measures what docs/design.md names), every request must parse, the mix must reach all three
//! decisions, and the hot path must agree with the traced evaluation on every request.
#![allow(clippy::panic, reason = "test failures report through panics")]

#[path = "../benches/support/synthetic.rs"]
mod synthetic;

use gardien_core::eval::input::Outcome;
use gardien_core::model::location::LocationKind;
use gardien_core::{CompiledTenant, SignIn, Tenant};

#[test]
fn generated_tenant_loads_at_full_size_and_hot_path_agrees_with_trace() {
    let generated = synthetic::generate(0x6a72_6469_656e, 300);
    let tenant = match Tenant::load(&generated.source) {
        Ok(t) => t,
        Err(e) => panic!("generated tenant rejected: {e}"),
    };
    assert_eq!(tenant.policies.len(), synthetic::POLICIES);
    assert_eq!(tenant.named_locations.len(), synthetic::LOCATIONS);
    let ranges: usize = tenant
        .named_locations
        .iter()
        .map(|l| match &l.kind {
            LocationKind::Ip { ranges, .. } => ranges.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(ranges, 390_000);
    let compiled = CompiledTenant::compile(tenant);
    let mut seen = [0usize; 3];
    for (i, body) in generated.requests.iter().enumerate() {
        let request = match SignIn::from_value("request.json", body) {
            Ok(r) => r,
            Err(e) => panic!("request {i}: {e}"),
        };
        let fast = compiled.decide(&request);
        let traced = compiled.evaluate(&request);
        assert_eq!(fast, traced.verdict, "request {i}: {body}");
        let applying = traced
            .policies
            .iter()
            .filter(|p| p.applies == Outcome::Satisfied)
            .count();
        assert_eq!(
            applying,
            fast.applied.len() + fast.report_only_applied.len(),
            "request {i}"
        );
        seen[fast.decision as usize] += 1;
    }
    let [allow, challenge, deny] = seen;
    println!("synthetic mix: {allow} allow, {challenge} challenge, {deny} deny");
    assert!(
        allow > 0 && challenge > 0 && deny > 0,
        "mix too narrow: {seen:?}"
    );
}
