//! Replay of distinct sign-ins against the logged outcome, on the generated 200-policy /
//! 390k-range tenant (`gardien-core/benches/support/synthetic.rs`), logged as `gardien serve`
//! writes them: the "evaluate, all distinct, vs logged outcome" line of the replay bench,
//! small enough to run under callgrind. Made to be profiled, so it prints only its counts:
//!
//! ```text
//! cargo build --release -p gardien-analysis --example replay_distinct
//! valgrind --tool=callgrind --toggle-collect='*Replay*compare*' \
//!     target/release/examples/replay_distinct 20000
//! valgrind --tool=callgrind --toggle-collect='*replay*rebuild*rebuild*' \
//!     target/release/examples/replay_distinct 20000
//! ```
//!
//! Argument: the number of distinct sign-ins (default 20,000). Each sign-in is read from its
//! record (`read_log` + `rebuild`), then chunks of 64 are copied and compared, as the bench
//! does. Callgrind's instruction counts are exact whatever the machine's load;
//! `--toggle-collect` keeps the tenant's generation and compilation out of them.

#![allow(clippy::expect_used, clippy::panic, reason = "example")]

#[path = "../../gardien-core/benches/support/synthetic.rs"]
mod synthetic;

use gardien_analysis::replay::{Change, Element, Rebuilt, Replay, read_log, rebuild};
use gardien_core::{CompiledTenant, Decision, SignIn, Tenant, Verdict};
use serde_json::{Value, json};
use std::hint::black_box;

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .map_or(20_000, |a| a.parse().expect("a number of sign-ins"));
    let generated = synthetic::generate(0x7265_706c_6179, count);
    let tenant = CompiledTenant::compile(
        Tenant::load(&generated.source).expect("the generated tenant loads"),
    );
    let mut log = String::new();
    for (i, request) in generated.requests.iter().enumerate() {
        let signin = SignIn::from_value("request.json", request).expect("generated requests parse");
        let v = tenant.decide(&signin);
        log.push_str(&record(&tenant, i, request, &v));
    }
    drop(generated);
    let mut sign_ins: Vec<Rebuilt> = Vec::with_capacity(count);
    read_log("example.log", log.as_bytes(), |_, e: Element<'_>| {
        sign_ins.push(rebuild(&e).expect("generated records rebuild"));
        Ok::<(), std::convert::Infallible>(())
    })
    .expect("the generated log reads");
    let mut replay = Replay::new(&tenant, None);
    let mut unchanged = 0usize;
    for chunk in sign_ins.chunks(64) {
        let chunk = black_box(chunk.to_vec());
        for r in &chunk {
            let c = replay.compare(black_box(r), String::new);
            unchanged += usize::from(c.is_some_and(|c| c.change == Change::Unchanged));
        }
    }
    let report = black_box(replay.report());
    println!(
        "{} sign-ins replayed, {unchanged} unchanged",
        report.totals.replayed
    );
}

/// A record as `gardien serve` logs it (the replay bench's gardien log).
fn record(tenant: &CompiledTenant, i: usize, request: &Value, v: &Verdict) -> String {
    let applied: Vec<Value> = v
        .applied
        .iter()
        .filter_map(|p| tenant.tenant.policies.get(p).map(|policy| (p, policy)))
        .map(|(p, policy)| {
            json!({"id": policy.id, "displayName": policy.display_name,
                   "result": if Some(p) == v.deciding_policy { "failure" } else { "success" },
                   "enforcedGrantControls": [], "enforcedSessionControls": []})
        })
        .collect();
    let code = match v.decision {
        Decision::Allow => 0,
        Decision::Challenge => 50074,
        Decision::Deny => v.error_code.unwrap_or(53003),
    };
    json!({
        "id": format!("{i:08x}-0000-4000-8000-000000000000"),
        "createdDateTime": "2026-11-20T08:00:00.000Z",
        "userId": request["signInIdentity"]["userId"],
        "appId": request["signInContext"]["includeApplications"][0],
        "appDisplayName": "App",
        "correlationId": format!("{i:08x}-0000-4000-8000-000000000000"),
        "status": {"errorCode": code},
        "conditionalAccessStatus": if v.decision != Decision::Allow { "failure" } else if v.applied.is_empty() { "notApplied" } else { "success" },
        "appliedConditionalAccessPolicies": applied,
        "gardien": {"decision": v.decision.as_str(), "requiredControls": [], "request": request},
    })
    .to_string()
        + "\n"
}
