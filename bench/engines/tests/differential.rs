//! Differential test: on 5000 generated sign-ins, for the 50- and the 200-policy tenant,
//! gardien `decide`, Cedar (both policy sets), the regorus interpreter and the regorus RVM
//! give the same allow / not-allow answer, and the engines that tell deny from challenge give
//! gardien's decision. A mismatch prints the request and every engine's answer.
//!
//! Sign-ins of guests and external users are compared too: their grant rules for a tenant
//! without cross-tenant trust (`docs/semantics.md`, "External users": only the methods this
//! tenant offers external users count, device, app and password-change controls cannot be
//! met, a strength no such method meets denies) are translated; trust settings
//! (`crossTenantAccess`) are not, and the model refuses a tenant that has them. The
//! core's reference-evaluator differential (`crates/gardien-core/tests/reference.rs`)
//! covers trust.
//!
//! `broken_translations_are_caught` keeps the test honest: deliberately wrong translations
//! (excluded groups or locations dropped, device filter modes swapped, `AND` read as `OR`, a
//! password alone passing MFA) must disagree with gardien on some requests.
//!
//! Run with `cargo test --manifest-path bench/engines/Cargo.toml --release`.
#![allow(
    clippy::panic,
    clippy::expect_used,
    reason = "test failures report through panics"
)]

use gardien_bench_engines::fixture::{Fixture, SEED};
use gardien_bench_engines::model::Model;
use gardien_bench_engines::synthetic;

const REQUESTS: usize = 5000;

/// Requests where some engine disagrees, with a printable description of each; the
/// decisions gardien gave; and how many external users' sign-ins were compared.
fn mismatches(f: &mut Fixture) -> (Vec<String>, [usize; 3], usize) {
    let mut out = Vec::new();
    let mut seen = [0usize; 3];
    let mut external = 0;
    for i in 0..f.len() {
        let a = match f.answers(i) {
            Ok(a) => a,
            Err(e) => panic!("request {i}: {e}\n{}", f.bodies[i]),
        };
        seen[a.gardien as usize] += 1;
        if f.resolved[i].external {
            external += 1;
        }
        if !a.allow_agrees() || !a.decision_agrees() {
            out.push(format!(
                "request {i}: gardien {} | cedar allow-or-not {} | cedar {} | rego allow {} | rego {} | rvm allow {} | rvm {}\n  request: {}\n  resolved: {:?}",
                a.gardien.as_str(),
                a.cedar_allow,
                a.cedar.as_str(),
                a.rego_allow,
                a.rego.as_str(),
                a.rvm_allow,
                a.rvm.as_str(),
                f.bodies[i],
                f.resolved[i],
            ));
        }
    }
    (out, seen, external)
}

fn all_engines_agree(policies: usize) {
    let mut f = Fixture::build(policies, REQUESTS).expect("fixture builds");
    let (bad, [allow, challenge, deny], external) = mismatches(&mut f);
    println!(
        "{policies} policies ({} enforced and translated, {} report-only or disabled), {} requests: {allow} allow, {challenge} challenge, {deny} deny; {external} of external users (all compared); {} mismatches",
        f.model.policies.len(),
        f.model.skipped,
        f.len(),
        bad.len()
    );
    assert!(
        external > 0,
        "the mix must hold external users' sign-ins (the generated directory has 5 % guests)"
    );
    for m in bad.iter().take(10) {
        println!("{m}");
    }
    assert!(
        bad.is_empty(),
        "{} of {} requests disagree",
        bad.len(),
        f.len()
    );
    assert!(
        allow > 0 && challenge > 0 && deny > 0,
        "the mix must reach every decision: {allow} allow, {challenge} challenge, {deny} deny"
    );
}

#[test]
fn all_engines_agree_on_50_policies() {
    all_engines_agree(50);
}

#[test]
fn all_engines_agree_on_200_policies() {
    all_engines_agree(200);
}

/// A named way of breaking the translated model.
type Breakage = (&'static str, fn(&mut Model));

#[test]
fn broken_translations_are_caught() {
    let generated = synthetic::generate_sized(SEED, 200, 1000);
    let good = Model::load(&generated.source).expect("model loads");
    let breakages: [Breakage; 5] = [
        ("excluded groups dropped", |m| {
            m.policies.iter_mut().for_each(|p| p.exclude.groups.clear())
        }),
        ("device filter modes swapped", |m| {
            for f in m
                .policies
                .iter_mut()
                .filter_map(|p| p.device_filter.as_mut())
            {
                f.include = !f.include;
            }
        }),
        ("AND grants read as OR", |m| {
            m.policies.iter_mut().for_each(|p| p.grant.and = false)
        }),
        ("excluded locations dropped", |m| {
            for l in m.policies.iter_mut().filter_map(|p| p.locations.as_mut()) {
                l.exclude.clear();
            }
        }),
        ("a password alone passes MFA", |m| {
            for s in &mut m.strengths {
                s.combinations.push(vec!["password".to_owned()]);
            }
        }),
    ];
    for (what, breakage) in breakages {
        let mut broken = good.clone();
        breakage(&mut broken);
        let f = Fixture::from_parts(
            200,
            &generated.source,
            generated.requests.clone(),
            Some(broken),
        )
        .expect("fixture builds");
        // gardien against one translation is enough here: the breakage is in the model that
        // every translation is generated from.
        let bad = (0..f.len())
            .filter(|i| match f.gardien_and_cedar(*i) {
                Ok((gardien, cedar)) => gardien != cedar,
                Err(e) => panic!("request {i}: {e}"),
            })
            .count();
        println!("{what}: {bad} of {} requests disagree", f.len());
        assert!(bad > 0, "a broken translation ({what}) went unnoticed");
    }
}
