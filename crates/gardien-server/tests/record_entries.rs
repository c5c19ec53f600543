//! The sign-in record built the way the forward-auth path builds it for a sign-in seen the
//! first time (verdict and per-policy keys from `CompiledTenant::decide_entries`, the
//! entries as fragments of the policy set's `AppliedCache`, spliced into the compact
//! record) is byte for byte the record serialized from the traced evaluation
//! (`Applied::Records`), for every sign-in of the 200-policy synthetic tenant (both shapes)
//! and of the demo tenant.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

#[path = "../../gardien-core/benches/support/synthetic.rs"]
mod synthetic;

#[path = "support/demo.rs"]
#[allow(dead_code, reason = "shared with the API tests and the benches")]
mod demo;

use gardien_core::report::AppliedPoliciesJson;
use gardien_core::{CompiledTenant, SignIn, Tenant};
use gardien_server::signin_record::{
    Applied, AppliedCache, Fragments, RecordParts, applied_offset, build,
};

/// The record of `signin` both ways; panics where they differ.
fn same_record(tenant: &CompiledTenant, cache: &AppliedCache, signin: &SignIn, what: &str) {
    let derived = gardien_signals::Derived::given(signin);
    let parts = |verdict, applied| RecordParts {
        correlation_id: "00000000-0000-4000-8000-000000000001",
        created_ms: 1_765_000_000_000,
        user_principal_name: Some("someone@contoso.example"),
        user_display_name: None,
        app_display_name: "App",
        user_agent: Some("Mozilla/5.0"),
        verdict,
        applied,
        mfa_done: false,
        policy_version: 1,
        denial: None,
    };
    // The traced evaluation's record, as before.
    let evaluation = tenant.evaluate(signin);
    let whole = build(
        signin,
        &derived,
        &parts(
            &evaluation.verdict,
            Applied::Records(AppliedPoliciesJson {
                tenant,
                evaluation: &evaluation,
            }),
        ),
    );
    // The record from `decide_entries`' keys.
    let mut keys = Vec::new();
    let verdict = tenant.decide_entries(signin, &mut keys);
    let entries = cache
        .entry_fragments(tenant, &keys)
        .expect("entries serialize");
    let compact = build(signin, &derived, &parts(&verdict, Applied::Fragments));
    let at = applied_offset(&compact).expect("an empty per-policy array");
    let spliced = Fragments { at, entries }.splice(&compact);
    if spliced != whole {
        let first = spliced
            .bytes()
            .zip(whole.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(spliced.len().min(whole.len()));
        let from = first.saturating_sub(200);
        panic!(
            "{what}: records differ at byte {first}\n new: …{}\n old: …{}",
            spliced
                .get(from..(first + 200).min(spliced.len()))
                .unwrap_or(""),
            whole
                .get(from..(first + 200).min(whole.len()))
                .unwrap_or("")
        );
    }
}

#[test]
fn synthetic_records_from_entries_are_the_traced_evaluations() {
    for (name, generated) in [
        ("default", synthetic::generate(0x6a72_6469_656e, 500)),
        (
            "varied",
            synthetic::generate_sized(0x6a72_6469_656e, 200, 500),
        ),
    ] {
        let tenant = CompiledTenant::compile(Tenant::load(&generated.source).unwrap());
        let cache = AppliedCache::default();
        for (i, body) in generated.requests.iter().enumerate() {
            let signin = SignIn::from_value("request.json", body).unwrap();
            same_record(&tenant, &cache, &signin, &format!("{name} sign-in {i}"));
        }
        // The entries were shared: far fewer than 200 per sign-in.
        assert!(cache.len() < 200 * 50, "{name}: {} entries", cache.len());
    }
}

#[test]
fn demo_records_from_entries_are_the_traced_evaluations() {
    let tenant = CompiledTenant::compile(Tenant::load(&demo::demo_source()).unwrap());
    let cache = AppliedCache::default();
    let dir = demo::root().join("examples/demo/requests");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 5);
    let mut decisions = std::collections::HashSet::new();
    for path in paths {
        let body: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let signin = SignIn::from_value("request.json", &body).unwrap();
        decisions.insert(tenant.decide(&signin).decision);
        same_record(&tenant, &cache, &signin, &path.display().to_string());
    }
    assert_eq!(
        decisions.len(),
        3,
        "allow, challenge and deny: {decisions:?}"
    );
}
