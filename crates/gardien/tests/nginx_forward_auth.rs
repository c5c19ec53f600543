#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! gardien behind a real nginx, with the sample configuration users are given
//! (`examples/nginx/gardien.conf`, `auth_request` to `/v1/forward-auth`), over real TCP:
//! gardien (the demo tenant), a small upstream application, and nginx running that sample
//! three times (addresses substituted): as shipped ("edge": nginx strips the client's
//! identity and signal headers); without the sample's BEGIN/END block of stripped headers
//! ("behind SSO": the client's headers stand for those an authenticating proxy in front of
//! nginx would set); and as shipped in front of a recorder that shows what nginx sends to
//! gardien and to the application.
//!
//! The cases are those of every proxy (`support/forward_auth.rs`): an allow that reaches
//! the application with gardien's `Remote-User`; an MFA step-up challenge (401, one RFC 9470
//! `WWW-Authenticate`), then an allow once MFA is done; denials with gardien's page and
//! status 403 — the French HTML page with AADSTS53003 and the correlation id, and
//! `application/problem+json` with 53000 and 53003 (the latter for a POST, so the page is
//! fetched with GET whatever the client's method); a client forging `Remote-User` at the
//! edge is not signed in (401, no decision, nothing logged) and never reaches the
//! application; one sign-in record per decision (none for the page fetches, none for the
//! refused forgery) with the correlation id nginx passed on to the client; path variants
//! answered as gardien answers them directly. Here also: the decision location is internal,
//! and with gardien gone nginx answers 500 and the application is not reached.
//!
//! Needs nginx (Debian package `nginx`, CI installs it); without it the test prints a SKIP
//! line on stderr and passes. Set `GARDIEN_KEEP_TMP=1` to keep the generated configuration
//! and the logs.

#[path = "support/mod.rs"]
mod support;

use std::time::Instant;
use support::forward_auth::{Bench, Listening, PAYROLL};
use support::nginx::{Nginx, find_nginx, nginx_conf, server_block};

#[test]
fn nginx_auth_request_with_the_sample_config() {
    let Some(nginx_bin) = find_nginx() else {
        eprintln!("SKIP: nginx not installed (apt-get install nginx)");
        return;
    };
    let started = Instant::now();
    let mut bench = Bench::start("nginx");
    let sample = support::nginx::sample("gardien.conf");
    let (edge, sso, probe) = (
        support::free_addr(),
        support::free_addr(),
        support::free_addr(),
    );
    let gardien = bench.gardien_addr();
    let recorder = bench.recorder.addr;
    let conf = nginx_conf(
        bench.tmp.path(),
        &[
            server_block(&sample, edge, &gardien, bench.app.addr, false),
            server_block(&sample, sso, &gardien, bench.app.addr, true),
            server_block(&sample, probe, &recorder.to_string(), recorder, false),
        ],
    );
    let nginx = Nginx::start(&nginx_bin, bench.tmp.path(), &conf, &[edge, sso, probe]);
    let front = Listening {
        name: "nginx",
        edge,
        sso,
        probe,
        logs: Box::new(|| nginx.logs()),
    };
    let decisions = support::forward_auth::run(&bench, &front);

    // The decision location is internal on every server.
    for server in [edge, sso, probe] {
        let r = support::get(server, "/_gardien", &[("Host", PAYROLL)]).unwrap();
        assert_eq!(r.status, 404, "/_gardien from outside: {r:?}");
    }

    // gardien gone: nginx's 500 (auth_request failed).
    support::forward_auth::gardien_down(&mut bench, &front, &[500]);
    drop(front);
    drop(nginx);
    eprintln!(
        "nginx forward-auth: {decisions} decisions checked in {:?}",
        started.elapsed()
    );
}
