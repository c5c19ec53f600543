//! Replay of distinct sign-ins against the logged outcome, on the generated 200-policy /
//! 390k-range tenant (`gardien-core/benches/support/synthetic.rs`), logged as `gardien serve`
//! writes them: the "evaluate, all distinct, vs logged outcome" line of the replay bench,
//! small enough to run under callgrind. Made to be profiled, so it prints only its counts and
//! the time of its comparison loop:
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
//! does, and the time of that loop is printed (sign-ins per second, wall clock and CPU time
//! of the thread). Callgrind's instruction counts are exact whatever the machine's load;
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
use std::time::Instant;

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
    let (started, cpu) = (Instant::now(), thread_cpu_ns());
    for chunk in sign_ins.chunks(64) {
        let chunk = black_box(chunk.to_vec());
        for r in &chunk {
            let c = replay.compare(black_box(r), String::new);
            unchanged += usize::from(c.is_some_and(|c| c.change == Change::Unchanged));
        }
    }
    let (wall, cpu) = (
        started.elapsed(),
        thread_cpu_ns().zip(cpu).map(|(b, a)| b.saturating_sub(a)),
    );
    let report = black_box(replay.report());
    let per_second = |ns: f64| count as f64 / (ns / 1e9);
    println!(
        "{} sign-ins replayed, {unchanged} unchanged; copies and comparisons: {:.0} sign-ins/s (wall clock), {} per CPU-second of this thread",
        report.totals.replayed,
        per_second(wall.as_secs_f64() * 1e9),
        cpu.map_or("?".to_owned(), |c| format!("{:.0}", per_second(c as f64))),
    );
}

/// CPU time this thread has run, in nanoseconds (Linux `schedstat`; `None` elsewhere):
/// unlike the wall clock, not inflated by other processes on a shared machine.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}
