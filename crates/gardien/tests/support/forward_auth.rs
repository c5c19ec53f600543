//! The cases every proxy in front of gardien is tested with, whatever the proxy: real nginx,
//! Caddy and HAProxy running the shipped samples, and the Traefik and Envoy contracts
//! emulated from their documentation. A proxy runs three copies of its sample:
//!
//! * [`Variant::Edge`], as shipped: the proxy strips the client's identity and signal
//!   headers (users reach it directly);
//! * [`Variant::Sso`], without the sample's BEGIN/END block (and with its documented
//!   trusted-proxy line enabled, when it has one): the client's identity headers and
//!   `X-Forwarded-For` stand for those of an authenticating proxy in front;
//! * [`Variant::Probe`], as shipped, with a recorder ([`Upstream`]) in place of both gardien
//!   and the application: what the proxy sends to its authorization server, and to the
//!   application after an allow, is seen exactly.
//!
//! [`run`] then proves, as seen by a client of the proxy: an allow reaches the application
//! with gardien's `Remote-User`; an MFA step-up is a 401 with one RFC 9470
//! `WWW-Authenticate` and gardien's page, then an allow once MFA is done; denials are 403
//! with gardien's page (French HTML with AADSTS53003, `application/problem+json` with 53000
//! and 53003, the latter for a POST); a client forging `Remote-User` at the edge is not
//! signed in and never reaches the application; the forged identity, signal and
//! original-request headers never reach the authorization server, which gets the client
//! address as the proxy saw it and the original method, host and URI; the sign-in log holds
//! one record per decision with the correlation id the client was given and the client
//! address of the trusted chain; and the path variants of [`PATH_VARIANTS`] get the same
//! decision through the proxy as when gardien is asked about them directly.

use super::upstream::{Seen, Upstream};
use super::{Gardien, Response, TempDir};
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Alice (demo tenant).
pub const ALICE: &str = "a1a1a1a1-0000-4000-8000-000000000001";
/// Bob, an administrator (demo tenant).
pub const BOB: &str = "b2b2b2b2-0000-4000-8000-000000000002";
/// Headquarters, a trusted named location of the demo tenant.
pub const HQ: &str = "198.51.100.20";
/// The Payroll application's host (every path).
pub const PAYROLL: &str = "payroll.contoso.example";
/// A host of the Wiki (the `*` application).
pub const WIKI: &str = "wiki.contoso.example";
/// A host where only `/payroll/` is the Payroll application, the rest the Wiki: where a
/// path spelled differently could be mapped to another application.
pub const INTRANET: &str = "intranet.contoso.example";
/// The admin token of the test's gardien.
pub const TOKEN: &str = "forward-auth-test-admin-token-0123456789";
/// What the recorder answers as the user when it stands for gardien.
pub const PROBE_USER: &str = "probe-user-from-the-authorization-server";
const CHROME_WIN: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const CHROME_ANDROID: &str = "Mozilla/5.0 (Linux; Android 12; Pixel 6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
const OUTLOOK_ANDROID: &str = "Outlook-Android/2.0";
const SAFARI_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";

/// Spellings of `/payroll/x` that a server may or may not read as that path. gardien reads
/// them all as `/payroll/x` (its one path canonicalisation, `docs/security.md`), and the proxy
/// must give the answer gardien gives directly.
pub const PATH_VARIANTS: &[&str] = &[
    "/payroll/x",
    "//payroll/x",
    "/./payroll/x",
    "/x/../payroll/x",
    "/%70ayroll/x",
    "/Payroll/x",
    "/;/payroll/x",
];

/// Which copy of a proxy's sample a request goes to (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// As shipped.
    Edge,
    /// Behind an authenticating proxy.
    Sso,
    /// As shipped, the recorder standing for gardien and the application.
    Probe,
}

/// A proxy in front of gardien, as [`run`] sees it.
pub trait Front {
    /// Its name, for messages.
    fn name(&self) -> &str;
    /// Sends a client request to one copy of the sample (`Host` among `headers`).
    fn send(
        &self,
        variant: Variant,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response;
    /// The proxy's logs, for failure messages.
    fn logs(&self) -> String;
    /// Whether the as-shipped copy keeps the client's `X-Forwarded-For` and appends the
    /// address it sees (Envoy), instead of replacing it with that address.
    fn edge_keeps_client_forwarded_for(&self) -> bool {
        false
    }
}

/// A proxy listening on loopback: one address per [`Variant`].
pub struct Listening<'a> {
    /// Its name.
    pub name: &'a str,
    /// The as-shipped copy.
    pub edge: SocketAddr,
    /// The behind-SSO copy.
    pub sso: SocketAddr,
    /// The copy in front of the recorder.
    pub probe: SocketAddr,
    /// Its logs.
    pub logs: Box<dyn Fn() -> String + 'a>,
}

impl Front for Listening<'_> {
    fn name(&self) -> &str {
        self.name
    }

    fn send(
        &self,
        variant: Variant,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let addr = match variant {
            Variant::Edge => self.edge,
            Variant::Sso => self.sso,
            Variant::Probe => self.probe,
        };
        super::request_with_body(addr, method, path, headers, body).unwrap_or_else(|e| {
            panic!(
                "{method} {path} through {} ({variant:?}) on {addr}: {e}\n{}",
                self.name,
                (self.logs)()
            )
        })
    }

    fn logs(&self) -> String {
        (self.logs)()
    }
}

/// gardien, the application and the recorder, on loopback.
pub struct Bench {
    /// gardien, with [`write_config`]'s configuration.
    pub gardien: Gardien,
    /// The application behind the proxy.
    pub app: Upstream,
    /// The recorder (authorization server and application of [`Variant::Probe`]).
    pub recorder: Upstream,
    /// Their directory (configurations and logs of the proxy go there too).
    pub tmp: TempDir,
}

impl Bench {
    /// Starts them, in a fresh directory named after `tag`.
    pub fn start(tag: &str) -> Bench {
        let tmp = TempDir::new(tag);
        let config = write_config(&tmp);
        let config = config.display().to_string();
        let gardien = Gardien::start(tmp.path(), "gardien", &["--config", &config]);
        Bench {
            gardien,
            app: Upstream::start(),
            recorder: Upstream::answering(&[
                ("Remote-User", PROBE_USER),
                ("X-Gardien-Correlation-Id", "probe-correlation-id"),
            ]),
            tmp,
        }
    }

    /// gardien's address, `host:port`.
    pub fn gardien_addr(&self) -> String {
        self.gardien.addr.to_string()
    }
}

/// Writes `<dir>/gardien.toml`: the demo tenant, devices and compliance, loopback trusted as
/// the proxy, identity (with `Remote-Amr`) and country from its headers, the Payroll
/// application on [`PAYROLL`] and on [`INTRANET`]`/payroll/`, the Wiki everywhere else, the
/// log acknowledged after commit, and the admin token [`TOKEN`].
pub fn write_config(dir: &TempDir) -> PathBuf {
    let root = super::repo_root();
    let demo = |p: &str| root.join("examples/demo").join(p).display().to_string();
    let config = format!(
        r#"tenant = "{tenant}"

[store]
path = "{store}"

[log]
acknowledge = "committed"

[signals]
trusted_proxies = ["127.0.0.0/8"]
device_header = "x-client-cert-sha256"
country_header = "cf-ipcountry"
devices = "{devices}"
compliance = "{compliance}"

[identity.headers]
methods = "remote-amr"

[[apps]]
host = "{PAYROLL}"
app_id = "c0ffee00-0000-4000-8000-000000000100"
name = "Payroll"

[[apps]]
host = "{INTRANET}"
path_prefix = "/payroll/"
app_id = "c0ffee00-0000-4000-8000-000000000100"
name = "Payroll"

[[apps]]
host = "*"
app_id = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
name = "Wiki"

[page]
support = "helpdesk@contoso.example"

[admin]
token_sha256 = "{hash}"
"#,
        tenant = demo("tenant"),
        store = dir.path().join("gardien.db").display(),
        devices = demo("server/devices.json"),
        compliance = demo("signals/compliance.json"),
        hash = super::hash_token(TOKEN),
    );
    let path = dir.path().join("gardien.toml");
    std::fs::write(&path, config)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

fn correlation_id(front: &dyn Front, r: &Response, what: &str) -> String {
    let cid = r.header("x-gardien-correlation-id").unwrap_or_else(|| {
        panic!(
            "{what}: no X-Gardien-Correlation-Id from {}: {r:?}",
            front.name()
        )
    });
    assert!(!cid.is_empty(), "{what}: empty correlation id");
    cid.to_owned()
}

/// The method, host and URI gardien reads from an authorization request (its precedence:
/// `X-Original-*` before `X-Forwarded-*`, `X-Forwarded-Host` before `X-Original-Host` and
/// `Host`; for Envoy's `/v1/ext-authz` the method, `Host` and the path after the prefix).
pub fn as_gardien_reads(check: &Seen) -> (String, String, String) {
    if let Some(path) = check.target.strip_prefix("/v1/ext-authz") {
        let path = if path.is_empty() { "/" } else { path };
        return (
            check.method.clone(),
            check.header("host").unwrap_or("").to_owned(),
            path.to_owned(),
        );
    }
    let first = |names: &[&str]| names.iter().find_map(|n| check.header(n)).unwrap_or("");
    (
        first(&["x-original-method", "x-forwarded-method"]).to_owned(),
        first(&["x-forwarded-host", "x-original-host", "host"]).to_owned(),
        first(&["x-original-uri", "x-forwarded-uri"]).to_owned(),
    )
}

/// The decision as a client can tell it: status, and for a 401/403 the `decision` and
/// `errorCode` of gardien's problem document (a 200 is the application's answer).
fn outcome(r: &Response) -> (u16, String, String) {
    if r.status == 401 || r.status == 403 {
        let doc: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        (
            r.status,
            doc["decision"].to_string(),
            doc["errorCode"].to_string(),
        )
    } else {
        (r.status, String::new(), String::new())
    }
}

/// Runs every case through `front` (see the module documentation). Returns the number of
/// decisions checked in the sign-in log.
pub fn run(bench: &Bench, front: &dyn Front) -> usize {
    let gardien = &bench.gardien;
    let app = &bench.app;
    let context = || {
        format!(
            "gardien:\n{}\n{}:\n{}",
            gardien.output(),
            front.name(),
            front.logs()
        )
    };
    let send = |variant, method, path, headers: &[(&str, &str)], body: &[u8]| {
        front.send(variant, method, path, headers, body)
    };
    // The correlation id of an allow: the client's copy, or the application's.
    let allowed_cid = |r: &Response, what: &str| -> String {
        match r.header("x-gardien-correlation-id") {
            Some(cid) if !cid.is_empty() => cid.to_owned(),
            _ => app
                .requests()
                .last()
                .and_then(|s| s.header("x-gardien-correlation-id").map(str::to_owned))
                .unwrap_or_else(|| {
                    panic!("{what}: no correlation id for the client nor the application")
                }),
        }
    };

    // (cid, expected status.errorCode, user, application) of every decision made.
    let mut decisions: Vec<(String, u64, &str, &str)> = Vec::new();

    // Demo case 4: the phone, in the Outlook app → allowed; the application sees gardien's
    // Remote-User.
    let r = send(
        Variant::Sso,
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
    decisions.push((allowed_cid(&r, "case 4"), 0, ALICE, "Payroll"));

    // Demo case 5, administrator without MFA → step-up challenge, gardien's 401 and its one
    // WWW-Authenticate.
    let bob_headers = [
        ("Host", WIKI),
        ("Remote-User", BOB),
        ("X-Forwarded-For", HQ),
        ("User-Agent", SAFARI_MAC),
    ];
    let r = send(Variant::Sso, "GET", "/wiki/Main_Page", &bob_headers, b"");
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
    let cid = correlation_id(front, &r, "case 5");
    assert_eq!(page["correlationId"], cid.as_str(), "case 5: {page}");
    decisions.push((cid, 50074, BOB, "Wiki"));

    // Case 5 with MFA done → allowed.
    let mut with_mfa = bob_headers.to_vec();
    with_mfa.push(("Remote-Amr", "pwd,mfa"));
    let r = send(Variant::Sso, "GET", "/wiki/Main_Page", &with_mfa, b"");
    assert_eq!(r.status, 200, "case 5 with MFA: {r:?}\n{}", context());
    assert!(
        r.text().contains(&format!("remote-user: {BOB}\n")),
        "{}",
        r.text()
    );
    decisions.push((allowed_cid(&r, "case 5 with MFA"), 0, BOB, "Wiki"));

    // Demo case 1, in a French browser → 403 and gardien's French HTML page.
    let r = send(
        Variant::Sso,
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
    let cid = correlation_id(front, &r, "case 1");
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
    let phone_in_browser = [
        ("Remote-User", ALICE),
        ("X-Forwarded-For", HQ),
        ("X-Client-Cert-Sha256", "0A:0B:0C:0D"),
        ("User-Agent", CHROME_ANDROID),
    ];
    let mut headers = vec![("Host", PAYROLL)];
    headers.extend(phone_in_browser);
    let r = send(Variant::Sso, "GET", "/payslips/2026-11", &headers, b"");
    assert_eq!(r.status, 403, "case 2: {r:?}\n{}", context());
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "case 2"
    );
    let cid = correlation_id(front, &r, "case 2");
    let problem = r.json();
    assert_eq!(problem["errorCode"], 53000, "case 2: {problem}");
    assert_eq!(problem["correlationId"], cid.as_str(), "case 2: {problem}");
    decisions.push((cid, 53000, ALICE, "Payroll"));

    // Demo case 3 (old Windows), as a form POST: the page is still served.
    let r = send(
        Variant::Sso,
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
    let cid = correlation_id(front, &r, "case 3");
    let problem = r.json();
    assert_eq!(problem["errorCode"], 53003, "case 3: {problem}");
    assert_eq!(problem["correlationId"], cid.as_str(), "case 3: {problem}");
    decisions.push((cid, 53003, ALICE, "Payroll"));

    // The sample as shipped: a client's own Remote-User is removed, so nobody is signed in.
    let forged = [
        ("Host", PAYROLL),
        ("Remote-User", ALICE),
        ("Remote-Amr", "pwd,mfa"),
        ("X-Forwarded-For", HQ),
        ("X-Client-Cert-Sha256", "0A:0B:0C:0D"),
        ("User-Agent", OUTLOOK_ANDROID),
    ];
    let r = send(Variant::Edge, "GET", "/payslips/2026-11", &forged, b"");
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

    // Only the allowed requests reached the application, with gardien's identity.
    assert_eq!(
        app.seen(),
        vec![
            ("/payslips/2026-11".to_owned(), ALICE.to_owned()),
            ("/wiki/Main_Page".to_owned(), BOB.to_owned()),
        ],
        "requests the application received"
    );

    // The sign-in log: one record per decision, under the ids the client was given, with
    // the client address of the trusted chain.
    let auth = format!("Bearer {TOKEN}");
    let r = super::get(
        gardien.addr,
        "/v1/signins?limit=50",
        &[("Authorization", &auth)],
    )
    .unwrap_or_else(|e| panic!("sign-in log: {e}"));
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
        "one record per decision, none for the refused forgery: {log:#}"
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
    assert_eq!(
        ip_of(0),
        HQ,
        "the trusted chain's client address reached gardien"
    );
    assert_eq!(
        ip_of(3),
        "203.0.113.50",
        "the trusted chain's client address reached gardien"
    );

    probe(bench, front);
    path_variants(bench, front);
    decisions.len()
}

/// Kills gardien, then asks for a page through the behind-SSO copy: the proxy answers one of
/// `statuses` (its own errors) and the application is not reached (fail closed).
pub fn gardien_down(bench: &mut Bench, front: &dyn Front, statuses: &[u16]) {
    bench.gardien.kill();
    let before = bench.app.requests().len();
    let r = front.send(
        Variant::Sso,
        "GET",
        "/payslips/2026-11",
        &[
            ("Host", PAYROLL),
            ("Remote-User", ALICE),
            ("X-Forwarded-For", HQ),
            ("User-Agent", OUTLOOK_ANDROID),
        ],
        b"",
    );
    assert!(
        statuses.contains(&r.status),
        "gardien down, through {}: expected one of {statuses:?}: {r:?}\n{}",
        front.name(),
        front.logs()
    );
    assert_eq!(
        bench.app.requests().len(),
        before,
        "gardien down: the application was reached through {}",
        front.name()
    );
}

/// The as-shipped sample in front of the recorder: what a client forges never reaches the
/// authorization server or the application; the original request and the client address
/// do.
fn probe(bench: &Bench, front: &dyn Front) {
    let recorder = &bench.recorder;
    let before = recorder.requests().len();
    let forged = [
        ("Host", PAYROLL),
        ("Remote-User", "mallory"),
        ("Remote-Email", "mallory@evil.example"),
        ("Remote-Name", "Mallory"),
        ("Remote-Groups", "admins"),
        ("Remote-Amr", "pwd,mfa"),
        ("X-Client-Cert-Sha256", "0A:0B:0C:0D"),
        ("CF-IPCountry", "FR"),
        ("X-Forwarded-For", HQ),
        ("Forwarded", "for=198.51.100.20"),
        ("X-Real-IP", HQ),
        ("X-Original-URI", "/elsewhere"),
        ("X-Original-Method", "OPTIONS"),
        ("X-Original-Host", "evil.example"),
        ("X-Forwarded-Uri", "/elsewhere"),
        ("X-Forwarded-Method", "OPTIONS"),
        ("X-Forwarded-Host", "evil.example"),
        ("User-Agent", OUTLOOK_ANDROID),
    ];
    let r = front.send(
        Variant::Probe,
        "GET",
        "/payslips/2026-11?view=pdf",
        &forged,
        b"",
    );
    let seen: Vec<Seen> = recorder.requests().split_off(before);
    let context = || format!("{r:?}\nrecorded: {seen:#?}\n{}", front.logs());
    assert_eq!(r.status, 200, "probe: {}", context());
    assert_eq!(
        seen.len(),
        2,
        "probe: one check, one proxied request: {}",
        context()
    );
    let (check, proxied) = (&seen[0], &seen[1]);
    for name in [
        "remote-user",
        "remote-email",
        "remote-name",
        "remote-groups",
        "remote-amr",
        "x-client-cert-sha256",
        "cf-ipcountry",
        "forwarded",
        "x-real-ip",
    ] {
        assert!(
            check.header_all(name).iter().all(|v| v.is_empty()),
            "probe: the client's {name} reached the authorization server: {}",
            context()
        );
    }
    let chain = check.header_all("x-forwarded-for").join(",");
    let hops: Vec<&str> = chain.split(',').map(str::trim).collect();
    let client_hops = if front.edge_keeps_client_forwarded_for() {
        // Only the last hop, appended by the proxy, counts: gardien walks the chain from the
        // right and stops at the first address it does not trust (a real client's).
        &hops[hops.len() - 1..]
    } else {
        &hops[..]
    };
    assert!(
        client_hops.iter().all(|h| *h == "127.0.0.1"),
        "probe: X-Forwarded-For must be the client's address as the proxy saw it, got `{chain}`: {}",
        context()
    );
    assert_eq!(
        as_gardien_reads(check),
        (
            "GET".to_owned(),
            PAYROLL.to_owned(),
            "/payslips/2026-11?view=pdf".to_owned()
        ),
        "probe: the original request as gardien reads it: {}",
        context()
    );
    assert_eq!(
        proxied.target,
        "/payslips/2026-11?view=pdf",
        "probe: {}",
        context()
    );
    assert_eq!(
        proxied.header_all("remote-user"),
        vec![PROBE_USER],
        "probe: the application gets the authorization server's Remote-User, not the client's: {}",
        context()
    );
    for name in ["remote-email", "remote-name", "remote-groups", "remote-amr"] {
        assert!(
            proxied
                .header_all(name)
                .iter()
                .all(|v| !v.to_ascii_lowercase().contains("mallory")
                    && !v.contains("admins")
                    && !v.contains("mfa")),
            "probe: the client's {name} reached the application: {}",
            context()
        );
    }
}

/// Each of [`PATH_VARIANTS`] on [`INTRANET`], through the behind-SSO copy and directly to
/// gardien: the same answer (status, decision, error code), and the application is reached
/// exactly when the answer is an allow. Also: a client's own `X-Original-URI` does not
/// change what gardien decides about.
fn path_variants(bench: &Bench, front: &dyn Front) {
    let phone_in_browser = [
        ("Host", INTRANET),
        ("Accept", "application/json"),
        ("Remote-User", ALICE),
        ("X-Forwarded-For", HQ),
        ("X-Client-Cert-Sha256", "0A:0B:0C:0D"),
        ("User-Agent", CHROME_ANDROID),
    ];
    let direct = |path: &str| {
        let mut headers = phone_in_browser.to_vec();
        headers[0] = ("X-Forwarded-Host", INTRANET);
        headers.push(("X-Original-URI", path));
        headers.push(("X-Original-Method", "GET"));
        let r = super::get(bench.gardien.addr, "/v1/forward-auth", &headers)
            .unwrap_or_else(|e| panic!("{path} directly: {e}"));
        outcome(&r)
    };
    let mut summary = Vec::new();
    let canonical = direct("/payroll/x");
    assert_eq!(
        canonical.0, 403,
        "/payroll/x directly: the phone in a browser is denied"
    );
    for path in PATH_VARIANTS {
        let expected = direct(path);
        // gardien reads every spelling as `/payroll/x` (one canonical path before routing):
        // none reaches the laxer Wiki.
        assert_eq!(
            expected, canonical,
            "{path} directly: not decided as /payroll/x"
        );
        let before = bench.app.requests().len();
        let r = front.send(Variant::Sso, "GET", path, &phone_in_browser, b"");
        let reached = bench.app.requests().len() > before;
        let got = outcome(&r);
        assert_eq!(
            got,
            expected,
            "{path} through {}: not the answer gardien gives directly: {r:?}\n{}",
            front.name(),
            front.logs()
        );
        assert_eq!(
            reached,
            expected.0 == 200,
            "{path} through {}: the application was reached: {reached}: {r:?}",
            front.name()
        );
        summary.push(format!("{path} {}", expected.0));
    }
    // An ambiguous spelling (an encoded `/`) is refused by gardien (400): the proxy fails
    // closed and the application never sees it.
    let before = bench.app.requests().len();
    let r = front.send(Variant::Sso, "GET", "/payroll%2fx", &phone_in_browser, b"");
    assert_ne!(
        r.status,
        200,
        "/payroll%2fx through {}: {r:?}",
        front.name()
    );
    assert_eq!(
        bench.app.requests().len(),
        before,
        "/payroll%2fx through {} reached the application",
        front.name()
    );
    // A client's X-Original-URI (which gardien reads before X-Forwarded-Uri) is the proxy's
    // to set, never the client's, even behind an authenticating proxy (the client's
    // X-Forwarded-* are checked at the edge, by the probe: behind a trusted proxy, Traefik's
    // `trustForwardHeader` passes that proxy's on).
    let mut lying = phone_in_browser.to_vec();
    lying.push(("X-Original-URI", "/wiki/x"));
    lying.push(("X-Original-Method", "OPTIONS"));
    let r = front.send(Variant::Sso, "GET", "/payroll/x", &lying, b"");
    assert_eq!(
        outcome(&r),
        direct("/payroll/x"),
        "a client's X-Original-URI through {}: {r:?}\n{}",
        front.name(),
        front.logs()
    );
    eprintln!(
        "{}: path variants (status): {}",
        front.name(),
        summary.join(", ")
    );
}
