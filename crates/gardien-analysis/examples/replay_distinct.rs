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

#[path = "../benches/support/gardien_records.rs"]
#[allow(dead_code, reason = "shared with the replay bench")]
mod gardien_records;
#[path = "../../gardien-core/benches/support/synthetic.rs"]
mod synthetic;

use gardien_analysis::replay::{Change, Element, Rebuilt, Replay, read_log, rebuild};
use gardien_core::{CompiledTenant, SignIn, Tenant};
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
        log.push_str(&gardien_records::gardien_record(
            i,
            request,
            &v,
            gardien_records::compact_applied(&tenant, &v),
        ));
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
