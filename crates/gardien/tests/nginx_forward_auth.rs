#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! gardien behind a real nginx, with the sample configuration users are given
//! (`examples/nginx/gardien.conf`, `auth_request` to `/v1/forward-auth`), over real TCP:
//! `gardien serve --demo`, a small upstream application, and nginx running that sample twice
//! (addresses substituted):
//!
//! * as shipped ("edge": nginx strips the client's identity and signal headers), where a
//!   client forging `Remote-User` is not signed in (401, no decision, nothing logged) and
//!   never reaches the application;
//! * without the sample's BEGIN/END block of stripped headers ("behind SSO": the client's
//!   headers stand for those an authenticating proxy in front of nginx would set), where the
//!   demo's cases give, as seen by a client of nginx: an allow that reaches the application
//!   with gardien's `Remote-User`; an MFA step-up challenge (401, one RFC 9470
//!   `WWW-Authenticate`), then an allow once MFA is done; denials with gardien's page and
//!   status 403 — the French HTML page with AADSTS53003 and the correlation id, and
//!   `application/problem+json` with 53000 and 53003 (the latter for a POST, so the page is
//!   fetched with GET whatever the client's method).
//!
//! A second test runs gardien from a configuration file where `/payroll` on any host is the
//! strict Payroll application and everything else the lax Wiki: spellings of `/payroll`
//! that nginx passes on verbatim in `X-Original-URI` (`//payroll`, `/%70ayroll`,
//! `/x/../payroll`, `/Payroll`, `/;/payroll`) are Payroll's and denied, ambiguous ones
//! (`%2F`) refused; none reaches the application.
//!
//! It also proves the sign-in log holds exactly one record per decision (none for the page
//! fetches, none for the refused forgery), each with the correlation id nginx passed on to the
//! client and the right `status.errorCode` (0, 50074, 53000, 53003), and that only allowed
//! requests reached the application.
//!
//! Needs nginx (Debian package `nginx`, CI installs it); without it the test prints a SKIP
//! line on stderr and passes. Set `GARDIEN_KEEP_TMP=1` to keep the generated configuration
//! and the logs.

#[path = "support/mod.rs"]
mod support;

use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;
use support::nginx::{Nginx, Upstream, find_nginx, nginx_conf, server_block};
use support::{Gardien, Response, TempDir};

const ALICE: &str = "a1a1a1a1-0000-4000-8000-000000000001";
const BOB: &str = "b2b2b2b2-0000-4000-8000-000000000002";
const HQ: &str = "198.51.100.20";
const CHROME_WIN: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const CHROME_ANDROID: &str = "Mozilla/5.0 (Linux; Android 12; Pixel 6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
const OUTLOOK_ANDROID: &str = "Outlook-Android/2.0";
const SAFARI_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";
const PAYROLL: &str = "payroll.contoso.example";
const WIKI: &str = "wiki.contoso.example";

/// A request to nginx (`Host` is the application's).
fn send(
    nginx: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    support::request_with_body(nginx, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} {path} through nginx on {nginx}: {e}"))
}

fn correlation_id(r: &Response, what: &str) -> String {
    let cid = r
        .header("x-gardien-correlation-id")
        .unwrap_or_else(|| panic!("{what}: no X-Gardien-Correlation-Id from nginx: {r:?}"));
    assert!(!cid.is_empty(), "{what}: empty correlation id");
    cid.to_owned()
}

#[test]
fn nginx_auth_request_with_the_sample_config() {
    let Some(nginx_bin) = find_nginx() else {
        eprintln!("SKIP: nginx not installed (apt-get install nginx)");
        return;
    };
    let started = Instant::now();
    let tmp = TempDir::new("nginx");
    let gardien = Gardien::start(tmp.path(), "gardien", &["--demo"]);
    let app = Upstream::start();
    let sample = support::nginx::sample("gardien.conf");
    let edge = support::free_addr();
    let sso = support::free_addr();
    let gardien_addr = gardien.addr.to_string();
    let conf = nginx_conf(
        tmp.path(),
        &[
            server_block(&sample, edge, &gardien_addr, app.addr, false),
            server_block(&sample, sso, &gardien_addr, app.addr, true),
        ],
    );
    let nginx = Nginx::start(&nginx_bin, tmp.path(), &conf, &[edge, sso]);
    let context = || format!("gardien:\n{}\nnginx:\n{}", gardien.output(), nginx.logs());

    // (cid, expected status.errorCode, user, application) of every decision made.
    let mut decisions: Vec<(String, u64, &str, &str)> = Vec::new();

    // Demo case 4: the phone, in the Outlook app → allowed; the application sees gardien's
    // Remote-User.
    let r = send(
        sso,
        "GET",
        "/payslips/2026-11",
        &[
            ("Host", PAYROLL),
            ("Remote-User", ALICE),
            ("X-Forwarded-For", HQ),
            ("X-Client-Cert-Sha256", "0A:0B:0C:0D"),
            ("User-Agent", OUTLOOK_ANDROID),
        ],
        b"",
    );
    assert_eq!(r.status, 200, "case 4: {r:?}\n{}", context());
    let text = r.text();
    assert!(
        text.starts_with("hello from upstream\n"),
        "case 4 body: {text}"
    );
    assert!(
        text.contains(&format!("remote-user: {ALICE}\n")),
        "case 4 body: {text}"
    );
    decisions.push((correlation_id(&r, "case 4"), 0, ALICE, "Payroll"));

    // Demo case 5, administrator without MFA → step-up challenge, gardien's 401 and its one
    // WWW-Authenticate.
    let bob_headers = [
        ("Host", WIKI),
        ("Remote-User", BOB),
        ("X-Forwarded-For", HQ),
        ("User-Agent", SAFARI_MAC),
    ];
    let r = send(sso, "GET", "/wiki/Main_Page", &bob_headers, b"");
    assert_eq!(r.status, 401, "case 5: {r:?}\n{}", context());
    let www = r.header_all("www-authenticate");
    assert_eq!(www.len(), 1, "case 5: one WWW-Authenticate: {www:?}");
    assert!(
        www[0].starts_with("Bearer ")
            && www[0].contains("error=\"insufficient_user_authentication\"")
            && www[0].contains("acr_values=\"mfa\""),
        "case 5: {}",
        www[0]
    );
    let page = r.json();
    assert_eq!(page["decision"], "challenge", "case 5: {page}");
    assert_eq!(page["status"], 401, "case 5: {page}");
    let cid = correlation_id(&r, "case 5");
    assert_eq!(page["correlationId"], cid.as_str(), "case 5: {page}");
    decisions.push((cid, 50074, BOB, "Wiki"));

    // Case 5 with MFA done → allowed.
    let mut with_mfa = bob_headers.to_vec();
    with_mfa.push(("Remote-Amr", "pwd,mfa"));
    let r = send(sso, "GET", "/wiki/Main_Page", &with_mfa, b"");
    assert_eq!(r.status, 200, "case 5 with MFA: {r:?}\n{}", context());
    assert!(
        r.text().contains(&format!("remote-user: {BOB}\n")),
        "{}",
        r.text()
    );
    decisions.push((correlation_id(&r, "case 5 with MFA"), 0, BOB, "Wiki"));

    // Demo case 1, in a French browser → 403 and gardien's French HTML page.
    let r = send(
        sso,
        "GET",
        "/payslips/2026-11",
        &[
            ("Host", PAYROLL),
            ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
            ("Accept-Language", "fr"),
            ("Remote-User", ALICE),
            ("CF-IPCountry", "BR"),
            ("X-Forwarded-For", "203.0.113.50"),
            ("User-Agent", CHROME_WIN),
        ],
        b"",
    );
    assert_eq!(r.status, 403, "case 1: {r:?}\n{}", context());
    let cid = correlation_id(&r, "case 1");
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "case 1: {r:?}"
    );
    assert_eq!(r.header("content-language"), Some("fr"), "case 1");
    let html = r.text();
    for needle in [
        "<html lang=\"fr\"",
        "Accès bloqué",
        "Identifiant de corrélation",
        "AADSTS53003",
        cid.as_str(),
    ] {
        assert!(
            html.contains(needle),
            "case 1: the page lacks `{needle}`:\n{html}"
        );
    }
    decisions.push((cid, 53003, ALICE, "Payroll"));

    // Demo case 2, non-compliant phone in a browser → 403, problem+json with 53000.
    let r = send(
        sso,
        "GET",
        "/payslips/2026-11",
        &[
            ("Host", PAYROLL),
            ("Remote-User", ALICE),
            ("X-Forwarded-For", HQ),
            ("X-Client-Cert-Sha256", "0A:0B:0C:0D"),
            ("User-Agent", CHROME_ANDROID),
        ],
        b"",
    );
    assert_eq!(r.status, 403, "case 2: {r:?}\n{}", context());
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "case 2"
    );
    let cid = correlation_id(&r, "case 2");
    let problem = r.json();
    assert_eq!(problem["errorCode"], 53000, "case 2: {problem}");
    assert_eq!(problem["correlationId"], cid.as_str(), "case 2: {problem}");
    decisions.push((cid, 53000, ALICE, "Payroll"));

    // Demo case 3 (old Windows), as a form POST: the page is still served (fetched with GET).
    let r = send(
        sso,
        "POST",
        "/payslips/upload",
        &[
            ("Host", PAYROLL),
            ("Accept", "application/json"),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Remote-User", ALICE),
            ("X-Forwarded-For", HQ),
            ("X-Client-Cert-Sha256", "AB:CD:EF:01"),
            ("User-Agent", CHROME_WIN),
        ],
        b"month=2026-11",
    );
    assert_eq!(r.status, 403, "case 3: {r:?}\n{}", context());
    let cid = correlation_id(&r, "case 3");
    let problem = r.json();
    assert_eq!(problem["errorCode"], 53003, "case 3: {problem}");
    assert_eq!(problem["correlationId"], cid.as_str(), "case 3: {problem}");
    decisions.push((cid, 53003, ALICE, "Payroll"));

    // The sample as shipped: a client's own Remote-User is removed, so nobody is signed in.
    let r = send(
        edge,
        "GET",
        "/payslips/2026-11",
        &[
            ("Host", PAYROLL),
            ("Remote-User", ALICE),
            ("Remote-Amr", "pwd,mfa"),
            ("X-Forwarded-For", HQ),
            ("X-Client-Cert-Sha256", "0A:0B:0C:0D"),
            ("User-Agent", OUTLOOK_ANDROID),
        ],
        b"",
    );
    assert_eq!(
        r.status,
        401,
        "forged Remote-User at the edge: {r:?}\n{}",
        context()
    );
    assert_eq!(
        r.header_all("www-authenticate"),
        vec!["Bearer realm=\"gardien\""],
        "forged Remote-User at the edge: {r:?}"
    );
    assert!(
        r.header("x-gardien-correlation-id")
            .is_none_or(str::is_empty),
        "no decision was made: {r:?}"
    );
    assert!(!r.text().contains("hello from upstream"), "{}", r.text());

    // The decision location is internal on both servers.
    for server in [edge, sso] {
        let r = send(server, "GET", "/_gardien", &[("Host", PAYROLL)], b"");
        assert_eq!(r.status, 404, "/_gardien from outside: {r:?}");
    }

    // Only the two allowed requests reached the application, with gardien's identity.
    assert_eq!(
        app.seen(),
        vec![
            ("/payslips/2026-11".to_owned(), ALICE.to_owned()),
            ("/wiki/Main_Page".to_owned(), BOB.to_owned()),
        ],
        "requests the application received"
    );

    // The sign-in log: one record per decision, under the ids the client was given.
    let r = support::get(gardien.addr, "/v1/signins?limit=50", &[]).unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    let log = r.json();
    let records = log["value"].as_array().cloned().unwrap_or_default();
    let by_cid: HashMap<&str, &Value> = records
        .iter()
        .filter_map(|rec| Some((rec["correlationId"].as_str()?, rec)))
        .collect();
    assert_eq!(
        records.len(),
        decisions.len(),
        "one record per decision, none for the pages or the refused forgery: {log:#}"
    );
    assert_eq!(
        by_cid.len(),
        decisions.len(),
        "distinct correlation ids: {log:#}"
    );
    for (cid, code, user, app_name) in &decisions {
        let rec = by_cid
            .get(cid.as_str())
            .unwrap_or_else(|| panic!("no sign-in record for {cid}: {log:#}"));
        assert_eq!(rec["status"]["errorCode"], *code, "{cid}: {rec:#}");
        assert_eq!(rec["userId"], *user, "{cid}: {rec:#}");
        assert_eq!(rec["appDisplayName"], *app_name, "{cid}: {rec:#}");
    }
    let ip_of = |i: usize| by_cid[decisions[i].0.as_str()]["ipAddress"].clone();
    assert_eq!(ip_of(0), HQ, "the client's X-Forwarded-For reached gardien");
    assert_eq!(
        ip_of(3),
        "203.0.113.50",
        "the client's X-Forwarded-For reached gardien"
    );

    drop(nginx);
    drop(gardien);
    eprintln!(
        "nginx forward-auth: {} decisions checked in {:?}",
        decisions.len(),
        started.elapsed()
    );
}

/// The real-nginx half of the path-canonicalisation attack (`crates/gardien-server/tests/
/// attacks.rs` has the in-process one): nginx sends `$request_uri` as written.
#[test]
fn nginx_path_spellings_route_like_the_backend() {
    let Some(nginx_bin) = find_nginx() else {
        eprintln!("SKIP: nginx not installed (apt-get install nginx)");
        return;
    };
    let tmp = TempDir::new("nginx-paths");
    let root = support::repo_root();
    let config = tmp.path().join("gardien.toml");
    std::fs::write(
        &config,
        format!(
            r#"tenant = "{root}/examples/demo/tenant"
[store]
path = "{db}"
[signals]
trusted_proxies = ["127.0.0.0/8"]
devices = "{root}/examples/demo/server/devices.json"
compliance = "{root}/examples/demo/signals/compliance.json"
[identity.headers]
[[apps]]
host = "*"
path_prefix = "/payroll"
app_id = "c0ffee00-0000-4000-8000-000000000100"
name = "Payroll"
[[apps]]
host = "*"
app_id = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
name = "Wiki"
"#,
            root = root.display(),
            db = tmp.path().join("gardien.db").display(),
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let gardien = Gardien::start(tmp.path(), "gardien", &["--config", &config]);
    let app = Upstream::start();
    let sample = support::nginx::sample("gardien.conf");
    let sso = support::free_addr();
    let conf = nginx_conf(
        tmp.path(),
        &[server_block(
            &sample,
            sso,
            &gardien.addr.to_string(),
            app.addr,
            true,
        )],
    );
    let nginx = Nginx::start(&nginx_bin, tmp.path(), &conf, &[sso]);
    let context = || format!("gardien:\n{}\nnginx:\n{}", gardien.output(), nginx.logs());
    // Alice in a browser at HQ, no registered device: the Wiki lets her in, Payroll (a
    // compliant device in a browser) does not.
    let get = |path: &str| {
        send(
            sso,
            "GET",
            path,
            &[
                ("Host", WIKI),
                ("Accept", "application/json"),
                ("Remote-User", ALICE),
                ("X-Forwarded-For", HQ),
                ("User-Agent", CHROME_WIN),
            ],
            b"",
        )
    };
    let r = get("/wiki/x");
    assert_eq!(r.status, 200, "/wiki/x: {r:?}\n{}", context());
    for path in [
        "/payroll/x",
        "//payroll/x",
        "/%70ayroll/x",
        "/x/../payroll/x",
        "/./payroll/x",
        "/Payroll/x",
        "/;/payroll/x",
    ] {
        let r = get(path);
        assert_eq!(r.status, 403, "{path}: {r:?}\n{}", context());
        assert_eq!(r.json()["errorCode"], 53000, "{path}: {}", r.text());
        assert_eq!(r.json()["application"], "Payroll", "{path}: {}", r.text());
    }
    // Ambiguous: gardien answers 400, nginx fails closed (500), the application never sees it.
    let r = get("/payroll%2fx");
    assert_ne!(r.status, 200, "{r:?}\n{}", context());
    assert!(!r.text().contains("hello from upstream"), "{}", r.text());
    assert_eq!(
        app.seen(),
        vec![("/wiki/x".to_owned(), ALICE.to_owned())],
        "requests the application received"
    );
}
