#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! gardien behind a real Caddy (Debian's `caddy`, 2.6), with the sample users are given
//! (`examples/caddy/Caddyfile`, `forward_auth` to `/v1/forward-auth`), over real TCP on
//! loopback: gardien (the demo tenant), a small upstream application, and one Caddy serving
//! three copies of the sample (addresses and site address substituted): as shipped, behind
//! an authenticating proxy (without the BEGIN/END block of stripped headers, with the
//! sample's `trusted_proxies` line enabled) and in front of a recorder. The cases are those
//! of every proxy (`support/forward_auth.rs`): allow with gardien's identity copied to the
//! application, 401 step-up, 403 with the denial page (HTML and JSON, GET and POST),
//! client-supplied identity headers stripped, the client address of the trusted chain in
//! the sign-in log, and path variants answered as gardien answers them directly. Also: with
//! gardien gone, Caddy answers 502 and the application is not reached (fail closed).
//!
//! Needs caddy (Debian package `caddy`, CI installs it); without it the test prints a SKIP
//! line on stderr and passes. Set `GARDIEN_KEEP_TMP=1` to keep the generated configuration
//! and the logs.

#[path = "support/mod.rs"]
mod support;

use std::time::Instant;
use support::caddy::{Caddy, find_caddy, site};
use support::forward_auth::{Bench, Listening, Variant};

#[test]
fn caddy_forward_auth_with_the_sample_caddyfile() {
    let Some(bin) = find_caddy() else {
        eprintln!("SKIP: caddy not installed (apt-get install caddy)");
        return;
    };
    let started = Instant::now();
    let mut bench = Bench::start("caddy");
    let sample = support::sample("caddy", "Caddyfile");
    let (edge, sso, probe) = (
        support::free_addr(),
        support::free_addr(),
        support::free_addr(),
    );
    let gardien = bench.gardien_addr();
    let recorder = bench.recorder.addr;
    let sites = [
        site(&sample, edge, &gardien, bench.app.addr, Variant::Edge),
        site(&sample, sso, &gardien, bench.app.addr, Variant::Sso),
        site(
            &sample,
            probe,
            &recorder.to_string(),
            recorder,
            Variant::Probe,
        ),
    ];
    let caddy = Caddy::start(&bin, bench.tmp.path(), &sites, &[edge, sso, probe]);
    let front = Listening {
        name: "caddy",
        edge,
        sso,
        probe,
        logs: Box::new(|| caddy.logs()),
    };
    let decisions = support::forward_auth::run(&bench, &front);
    // gardien gone: Caddy's 502.
    support::forward_auth::gardien_down(&mut bench, &front, &[502]);
    drop(front);
    drop(caddy);
    eprintln!(
        "caddy forward_auth: {decisions} decisions checked in {:?}",
        started.elapsed()
    );
}
