//! `decide` over many distinct sign-ins of the generated 200-policy / 390k-range tenant
//! (`benches/support/synthetic.rs`): the cold-memory case of replaying a log where nothing
//! repeats. Made to be profiled, so it prints nothing but a checksum and its timing:
//!
//! ```text
//! cargo build --release -p gardien-core --example decide_distinct
//! valgrind --tool=callgrind --toggle-collect='*CompiledTenant*decide*' \
//!     target/release/examples/decide_distinct 20000 1
//! perf record target/release/examples/decide_distinct 100000 30
//! ```
//!
//! Arguments: the number of distinct sign-ins (default 100,000) and of passes over them
//! (default 10). Callgrind's instruction counts are exact whatever the machine's load;
//! `--toggle-collect` keeps the tenant's generation and compilation out of them.

#![allow(clippy::expect_used, clippy::panic, reason = "example")]

#[path = "../benches/support/synthetic.rs"]
mod synthetic;

use gardien_core::{CompiledTenant, Decision, SignIn, Tenant};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args
        .next()
        .map_or(100_000, |a| a.parse().expect("a number of sign-ins"));
    let passes: usize = args
        .next()
        .map_or(10, |a| a.parse().expect("a number of passes"));
    let generated = synthetic::generate(0x7265_706c_6179, count);
    let tenant = CompiledTenant::compile(
        Tenant::load(&generated.source).expect("the generated tenant loads"),
    );
    let sign_ins: Vec<SignIn> = generated
        .requests
        .iter()
        .map(|r| SignIn::from_value("request.json", r).expect("generated requests parse"))
        .collect();
    drop(generated);
    // As in replay, each sign-in is decided right after it was built, while it is in the
    // CPU caches: chunks of 64 are cloned, then decided. The same loop without deciding is
    // timed too, and subtracted.
    let run = |decide: bool| {
        let (started, cpu) = (Instant::now(), thread_cpu_ns());
        let mut mix = [0usize; 3];
        for _ in 0..passes {
            for chunk in sign_ins.chunks(64) {
                let chunk = black_box(chunk.to_vec());
                if !decide {
                    continue;
                }
                for s in &chunk {
                    let v = tenant.decide(black_box(s));
                    mix[match v.decision {
                        Decision::Allow => 0,
                        Decision::Challenge => 1,
                        Decision::Deny => 2,
                    }] += 1;
                }
            }
        }
        let cpu = thread_cpu_ns().zip(cpu).map(|(b, a)| b.saturating_sub(a));
        (started.elapsed(), cpu, mix)
    };
    let _ = run(false);
    let (copy_wall, copy_cpu, _) = run(false);
    let (wall, cpu, mix) = run(true);
    eprintln!(
        "copies alone {:.0} ns, copies and decisions {:.0} ns per sign-in (CPU)",
        copy_cpu.unwrap_or(0) as f64 / (count * passes).max(1) as f64,
        cpu.unwrap_or(0) as f64 / (count * passes).max(1) as f64
    );
    let decisions = (count * passes).max(1) as f64;
    let per = |total: f64, copy: f64| (total - copy).max(0.0) / decisions;
    println!(
        "{count} sign-ins × {passes}: {mix:?} allow/challenge/deny, {:.0} ns per decision (wall clock), {} ns per CPU-second of this thread",
        per(wall.as_secs_f64() * 1e9, copy_wall.as_secs_f64() * 1e9),
        cpu.zip(copy_cpu).map_or("?".to_owned(), |(c, k)| format!(
            "{:.0}",
            per(c as f64, k as f64)
        )),
    );
}

/// CPU time this thread has run, in nanoseconds (Linux `schedstat`; `None` elsewhere):
/// unlike the wall clock, not inflated by other processes on a shared machine.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}
