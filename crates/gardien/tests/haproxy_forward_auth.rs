#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! gardien behind a real HAProxy (Debian's `haproxy`, 2.6), with the sample users are given
//! (`examples/haproxy/haproxy.cfg` and `gardien.lua`: a Lua action asks gardien's
//! `/v1/forward-auth` through HAProxy's built-in HTTP client before the request is
//! forwarded), over real TCP on loopback: gardien (the demo tenant), a small upstream
//! application, and one HAProxy serving three copies of the sample's frontend (addresses
//! substituted): as shipped, behind an authenticating proxy (without the BEGIN/END block of
//! stripped headers) and in front of a recorder. The cases are those of every proxy
//! (`support/forward_auth.rs`): allow with gardien's identity copied to the application,
//! 401 step-up, 403 with the denial page (HTML and JSON, GET and POST), client-supplied
//! identity headers stripped, the client address of the trusted chain in the sign-in log,
//! and path variants answered as gardien answers them directly. Also: with gardien gone,
//! HAProxy answers 503 and the application is not reached (fail closed).
//!
//! Needs haproxy (Debian package `haproxy`, CI installs it); without it the test prints a
//! SKIP line on stderr and passes. Set `GARDIEN_KEEP_TMP=1` to keep the generated
//! configuration and the logs.

#[path = "support/mod.rs"]
mod support;

use std::time::Instant;
use support::forward_auth::{Bench, Listening, Variant};
use support::haproxy::{Haproxy, find_haproxy, globals, proxy};

#[test]
fn haproxy_lua_forward_auth_with_the_sample_config() {
    let Some(bin) = find_haproxy() else {
        eprintln!("SKIP: haproxy not installed (apt-get install haproxy)");
        return;
    };
    let started = Instant::now();
    let mut bench = Bench::start("haproxy");
    let sample = support::sample("haproxy", "haproxy.cfg");
    let (edge, sso, probe) = (
        support::free_addr(),
        support::free_addr(),
        support::free_addr(),
    );
    let gardien = bench.gardien_addr();
    let recorder = bench.recorder.addr;
    let proxies = [
        proxy(&sample, edge, &gardien, bench.app.addr, Variant::Edge),
        proxy(&sample, sso, &gardien, bench.app.addr, Variant::Sso),
        proxy(
            &sample,
            probe,
            &recorder.to_string(),
            recorder,
            Variant::Probe,
        ),
    ];
    let haproxy = Haproxy::start(
        &bin,
        bench.tmp.path(),
        &globals(&sample),
        &proxies,
        &[edge, sso, probe],
    );
    let front = Listening {
        name: "haproxy",
        edge,
        sso,
        probe,
        logs: Box::new(|| haproxy.logs()),
    };
    let decisions = support::forward_auth::run(&bench, &front);

    // gardien gone: HAProxy's HTTP client answers 503 itself, which the script passes on.
    support::forward_auth::gardien_down(&mut bench, &front, &[503, 500]);
    drop(front);

    drop(haproxy);
    eprintln!(
        "haproxy lua forward-auth: {decisions} decisions checked in {:?}",
        started.elapsed()
    );
}
