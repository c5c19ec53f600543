#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! The Traefik and Envoy samples against the proxies' documented contracts. Neither proxy is
//! in the package registries CI can use, so neither runs here: the test reads the shipped
//! samples (`examples/traefik/dynamic.yml`, `examples/envoy/ext_authz.yaml`), and a small
//! emulation of each proxy — what its documentation (and source) says it sends to the
//! authorization server and does with the answer, driven by the values of the sample —
//! stands in front of a real `gardien serve` and the test application, over loopback. The
//! cases are those of the real proxies (`support/forward_auth.rs`): allow with the identity
//! copied to the application, 401 step-up, 403 with the denial page, client identity headers
//! stripped, the client address of the trusted chain, path variants answered as gardien
//! answers them directly.
//!
//! Traefik ForwardAuth (v2.3+, `pkg/middlewares/auth/forward.go`): a GET to `address`, no
//! body; the client's headers, without hop-by-hop ones, filtered by `authRequestHeaders`;
//! `X-Forwarded-For` = the peer address (prefixed by the client's chain only with
//! `trustForwardHeader`); `X-Forwarded-Method`, `-Proto`, `-Host`, `-Uri` from the request
//! (the client's own only with `trustForwardHeader`); a 2xx answer: every
//! `authResponseHeaders` name is deleted from the request then copied from the answer, and the
//! request goes on; any other answer goes to the client as it is (status, headers without
//! hop-by-hop ones, body). At an entry point that does not trust the client, Traefik first
//! removes the client's `X-Forwarded-*` and `X-Real-Ip`. A `headers` middleware's
//! `customRequestHeaders` with an empty value removes that header.
//!
//! Envoy ext_authz, HTTP service: the check request has the original method, `path_prefix`
//! followed by the original path and query, the original `Host`, `Content-Length: 0` (no
//! body without `with_request_body`), `Authorization` and the client headers matching
//! `allowed_headers`; answer 200: headers matching `allowed_upstream_headers` replace the
//! request's, those matching `allowed_client_headers_on_success` are added to the client's
//! response; 5xx or no answer: an error, 403 to the client with `failure_mode_allow: false`;
//! any other status: sent to the client with gardien's body and the headers matching
//! `allowed_client_headers` (plus `WWW-Authenticate`, `Location`, `Content-Length`). The
//! connection manager (`use_remote_address: true`) appends the client address to
//! `X-Forwarded-For`; the `header_mutation` filter removes the headers it names.
//!
//! What this does not prove: that Traefik or Envoy accept the files (no binary here), nor
//! their behaviour beyond these contracts (path sanitisation at Traefik's entry point,
//! HTTP/2, retries, timeouts).

#[path = "support/mod.rs"]
mod support;

use std::net::SocketAddr;
use support::forward_auth::{Bench, Front, Variant};
use support::{Response, request_with_body};
use yaml_rust2::{Yaml, YamlLoader};

/// The peer address every emulated proxy sees (the test client is on loopback).
const PEER: &str = "127.0.0.1";

/// Hop-by-hop fields (`oxy`'s `HopHeaders`), never passed on by Traefik.
const HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
];

type Headers = Vec<(String, String)>;

/// A client request as an emulated proxy receives it (`Host` among `headers`).
struct Client<'a> {
    method: &'a str,
    target: &'a str,
    headers: &'a [(&'a str, &'a str)],
    body: &'a [u8],
}

/// An emulated proxy: one copy of the sample, its authorization server and application.
type Handler<'a> = Box<dyn Fn(Variant, SocketAddr, SocketAddr, &Client<'_>) -> Response + 'a>;

fn owned(headers: &[(&str, &str)]) -> Headers {
    headers
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

fn get<'a>(headers: &'a Headers, name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

fn remove(headers: &mut Headers, name: &str) {
    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
}

fn set(headers: &mut Headers, name: &str, value: &str) {
    remove(headers, name);
    headers.push((name.to_owned(), value.to_owned()));
}

fn send(addr: SocketAddr, method: &str, target: &str, headers: &Headers, body: &[u8]) -> Response {
    let borrowed: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    request_with_body(addr, method, target, &borrowed, body)
        .unwrap_or_else(|e| panic!("{method} {target} on {addr}: {e}"))
}

fn yaml(dir: &str, name: &str, text: &str) -> Yaml {
    let mut docs = YamlLoader::load_from_str(text)
        .unwrap_or_else(|e| panic!("examples/{dir}/{name} is not YAML: {e}"));
    assert_eq!(docs.len(), 1, "examples/{dir}/{name}: one document");
    docs.remove(0)
}

fn string(y: &Yaml, what: &str) -> String {
    y.as_str()
        .unwrap_or_else(|| panic!("{what}: a string expected, got {y:?}"))
        .to_owned()
}

fn strings(y: &Yaml, what: &str) -> Vec<String> {
    y.as_vec()
        .unwrap_or_else(|| panic!("{what}: a list expected, got {y:?}"))
        .iter()
        .map(|s| string(s, what))
        .collect()
}

/// `http://host:port/path` → `/path`.
fn url_path(url: &str) -> String {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("`{url}`: http:// expected"));
    rest.find('/')
        .map_or("/".to_owned(), |i| rest[i..].to_owned())
}

// ---------------------------------------------------------------------------------------
// Traefik

/// The sample's ForwardAuth middleware and the router's chain.
struct Traefik {
    /// Path of `address` (its host is replaced by gardien's).
    path: String,
    trust_forward_header: bool,
    auth_request_headers: Vec<String>,
    auth_response_headers: Vec<String>,
    /// `customRequestHeaders` of the `headers` middlewares in the chain, in order.
    custom_request_headers: Vec<(String, String)>,
}

impl Traefik {
    /// The sample as shipped, or behind an authenticating proxy: `gardien-strip` left out of
    /// the chain and `trustForwardHeader: true` (as the sample says).
    fn from_sample(variant: Variant) -> Traefik {
        let text = support::sample("traefik", "dynamic.yml");
        let doc = yaml("traefik", "dynamic.yml", &text);
        let middlewares = &doc["http"]["middlewares"];
        let mut chain = strings(
            &doc["http"]["routers"]["wiki"]["middlewares"],
            "routers.wiki.middlewares",
        );
        assert_eq!(
            chain,
            ["gardien-strip", "gardien"],
            "examples/traefik/dynamic.yml: the chain changed: update the test"
        );
        if variant == Variant::Sso {
            chain.retain(|m| m != "gardien-strip");
        }
        let fa = &middlewares["gardien"]["forwardAuth"];
        let address = string(&fa["address"], "forwardAuth.address");
        assert!(
            address.starts_with("http://127.0.0.1:8080/"),
            "forwardAuth.address `{address}`: update the test"
        );
        let mut custom = Vec::new();
        for name in &chain {
            let m = &middlewares[name.as_str()];
            if let Some(h) = m["headers"]["customRequestHeaders"].as_hash() {
                for (k, v) in h {
                    custom.push((
                        string(k, "customRequestHeaders"),
                        string(v, "customRequestHeaders"),
                    ));
                }
            } else {
                assert!(
                    !m["forwardAuth"].is_badvalue(),
                    "middleware `{name}`: neither headers nor forwardAuth"
                );
            }
        }
        let sample_trust = fa["trustForwardHeader"]
            .as_bool()
            .unwrap_or_else(|| panic!("forwardAuth.trustForwardHeader: a boolean"));
        assert!(
            !sample_trust,
            "the sample must not trust the client's X-Forwarded-*"
        );
        Traefik {
            path: url_path(&address),
            trust_forward_header: variant == Variant::Sso,
            auth_request_headers: strings(&fa["authRequestHeaders"], "authRequestHeaders"),
            auth_response_headers: strings(&fa["authResponseHeaders"], "authResponseHeaders"),
            custom_request_headers: custom,
        }
    }

    /// One client request through Traefik in front of `gardien` and `app`.
    fn handle(
        &self,
        gardien: SocketAddr,
        app: SocketAddr,
        client: &Client<'_>,
        trusted_entry_point: bool,
    ) -> Response {
        let (method, target, body) = (client.method, client.target, client.body);
        let client = client.headers;
        let mut req = owned(client);
        let host = get(&req, "host")
            .first()
            .map(|h| (*h).to_owned())
            .unwrap_or_default();
        // Entry point: the forwarded headers of an untrusted client are removed.
        if !trusted_entry_point {
            req.retain(|(n, _)| {
                let n = n.to_ascii_lowercase();
                !n.starts_with("x-forwarded-") && n != "x-real-ip"
            });
        }
        if get(&req, "x-real-ip").is_empty() {
            req.push(("X-Real-Ip".to_owned(), PEER.to_owned()));
        }
        for (name, value) in &self.custom_request_headers {
            if value.is_empty() {
                remove(&mut req, name);
            } else {
                set(&mut req, name, value);
            }
        }
        // The authorization request.
        let mut check: Headers = req
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("host"))
            .filter(|(n, _)| !HOP.contains(&n.to_ascii_lowercase().as_str()))
            .cloned()
            .collect();
        if !self.auth_request_headers.is_empty() {
            check.retain(|(n, _)| {
                self.auth_request_headers
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(n))
            });
        }
        let trust = self.trust_forward_header;
        let prior = get(&req, "x-forwarded-for").join(", ");
        let xff = if trust && !prior.is_empty() {
            format!("{prior}, {PEER}")
        } else {
            PEER.to_owned()
        };
        set(&mut check, "X-Forwarded-For", &xff);
        let from_client = |name: &str| {
            get(&req, name)
                .first()
                .map(|v| (*v).to_owned())
                .filter(|_| trust)
        };
        let m = from_client("x-forwarded-method").unwrap_or_else(|| method.to_owned());
        set(&mut check, "X-Forwarded-Method", &m);
        let p = from_client("x-forwarded-proto").unwrap_or_else(|| "http".to_owned());
        set(&mut check, "X-Forwarded-Proto", &p);
        match from_client("x-forwarded-port") {
            Some(port) => set(&mut check, "X-Forwarded-Port", &port),
            None => remove(&mut check, "X-Forwarded-Port"),
        }
        let h = from_client("x-forwarded-host").unwrap_or_else(|| host.clone());
        set(&mut check, "X-Forwarded-Host", &h);
        let u = from_client("x-forwarded-uri").unwrap_or_else(|| target.to_owned());
        set(&mut check, "X-Forwarded-Uri", &u);
        let answer = send(gardien, "GET", &self.path, &check, b"");
        if !(200..300).contains(&answer.status) {
            let mut r = answer;
            r.headers.retain(|(n, _)| !HOP.contains(&n.as_str()));
            return r;
        }
        for name in &self.auth_response_headers {
            remove(&mut req, name);
            for (n, v) in &answer.headers {
                if n.eq_ignore_ascii_case(name) {
                    req.push((name.clone(), v.clone()));
                }
            }
        }
        // The service (Go's reverse proxy appends the peer to X-Forwarded-For).
        let xff = match get(&req, "x-forwarded-for").join(", ") {
            p if p.is_empty() => PEER.to_owned(),
            p => format!("{p}, {PEER}"),
        };
        set(&mut req, "X-Forwarded-For", &xff);
        send(app, method, target, &req, body)
    }
}

// ---------------------------------------------------------------------------------------
// Envoy

/// A `ListStringMatcher` of the sample (only `exact` and `prefix` are used).
#[derive(Debug, Default)]
struct Patterns(Vec<(String, String)>);

impl Patterns {
    fn from(y: &Yaml, what: &str) -> Patterns {
        if y.is_badvalue() {
            return Patterns::default();
        }
        let list = y["patterns"]
            .as_vec()
            .unwrap_or_else(|| panic!("{what}.patterns: a list"));
        Patterns(
            list.iter()
                .map(|p| {
                    let h = p
                        .as_hash()
                        .unwrap_or_else(|| panic!("{what}: a matcher, got {p:?}"));
                    assert_eq!(h.len(), 1, "{what}: one matcher per entry: {p:?}");
                    let (k, v) = h.iter().next().unwrap();
                    let kind = string(k, what);
                    assert!(
                        kind == "exact" || kind == "prefix",
                        "{what}: `{kind}` matchers are not emulated: update the test"
                    );
                    (kind, string(v, what).to_ascii_lowercase())
                })
                .collect(),
        )
    }

    fn matches(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        self.0.iter().any(|(kind, v)| match kind.as_str() {
            "exact" => name == *v,
            _ => name.starts_with(v.as_str()),
        })
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The sample's filters.
struct Envoy {
    /// Headers removed by `header_mutation` before ext_authz.
    removed: Vec<String>,
    path_prefix: String,
    allowed_headers: Patterns,
    upstream: Patterns,
    client: Patterns,
    client_on_success: Patterns,
    /// `with_request_body.max_request_bytes`, when set.
    max_request_bytes: Option<i64>,
}

impl Envoy {
    /// The sample as shipped, or without its BEGIN/END block (behind an authenticating
    /// proxy).
    fn from_sample(variant: Variant) -> Envoy {
        let mut text = support::sample("envoy", "ext_authz.yaml");
        if variant == Variant::Sso {
            text = support::without_stripped_headers(&text);
        }
        let doc = yaml("envoy", "ext_authz.yaml", &text);
        let filters = doc["http_filters"]
            .as_vec()
            .unwrap_or_else(|| panic!("http_filters: a list"));
        let names: Vec<String> = filters
            .iter()
            .map(|f| string(&f["name"], "filter name"))
            .collect();
        let authz_at = names
            .iter()
            .position(|n| n == "envoy.filters.http.ext_authz")
            .unwrap_or_else(|| panic!("no ext_authz filter: {names:?}"));
        assert_eq!(
            names.last().map(String::as_str),
            Some("envoy.filters.http.router"),
            "the router comes last"
        );
        let mut removed = Vec::new();
        for f in &filters[..authz_at] {
            assert_eq!(
                string(&f["name"], "filter name"),
                "envoy.filters.http.header_mutation",
                "only header_mutation is emulated before ext_authz"
            );
            for m in f["typed_config"]["mutations"]["request_mutations"]
                .as_vec()
                .unwrap_or_else(|| panic!("request_mutations: a list"))
            {
                removed.push(string(&m["remove"], "request_mutations[].remove"));
            }
        }
        let cfg = &filters[authz_at]["typed_config"];
        assert_eq!(
            cfg["failure_mode_allow"].as_bool(),
            Some(false),
            "ext_authz must fail closed"
        );
        let http = &cfg["http_service"];
        let uri = string(&http["server_uri"]["uri"], "server_uri.uri");
        assert!(
            uri.starts_with("http://127.0.0.1:8080"),
            "server_uri.uri `{uri}`: update the test"
        );
        let response = &http["authorization_response"];
        let body = &cfg["with_request_body"];
        Envoy {
            removed,
            path_prefix: string(&http["path_prefix"], "path_prefix"),
            allowed_headers: Patterns::from(
                &http["authorization_request"]["allowed_headers"],
                "allowed_headers",
            ),
            upstream: Patterns::from(
                &response["allowed_upstream_headers"],
                "allowed_upstream_headers",
            ),
            client: Patterns::from(
                &response["allowed_client_headers"],
                "allowed_client_headers",
            ),
            client_on_success: Patterns::from(
                &response["allowed_client_headers_on_success"],
                "allowed_client_headers_on_success",
            ),
            max_request_bytes: (!body.is_badvalue()).then(|| {
                body["max_request_bytes"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("with_request_body.max_request_bytes: a number"))
            }),
        }
    }

    /// The check request of a client request (after the connection manager and the filters
    /// before ext_authz): method, target and headers.
    fn check_request(
        &self,
        method: &str,
        target: &str,
        req: &Headers,
    ) -> (String, String, Headers) {
        let mut check: Headers = Vec::new();
        for (n, v) in req {
            let lower = n.to_ascii_lowercase();
            if lower == "host" || lower == "authorization" || self.allowed_headers.matches(&lower) {
                check.push((n.clone(), v.clone()));
            }
        }
        check.push(("Content-Length".to_owned(), "0".to_owned()));
        (
            method.to_owned(),
            format!("{}{target}", self.path_prefix),
            check,
        )
    }

    fn handle(&self, gardien: SocketAddr, app: SocketAddr, client: &Client<'_>) -> Response {
        let (method, target, body) = (client.method, client.target, client.body);
        let client = client.headers;
        let mut req = owned(client);
        // use_remote_address: the client address is appended.
        let xff = match get(&req, "x-forwarded-for").join(", ") {
            p if p.is_empty() => PEER.to_owned(),
            p => format!("{p}, {PEER}"),
        };
        set(&mut req, "X-Forwarded-For", &xff);
        for name in &self.removed {
            remove(&mut req, name);
        }
        let (m, t, check) = self.check_request(method, target, &req);
        let answer = send(gardien, &m, &t, &check, b"");
        if answer.status >= 500 {
            return Response {
                status: 403,
                headers: Vec::new(),
                body: Vec::new(),
            };
        }
        if answer.status != 200 {
            let mut r = answer;
            r.headers.retain(|(n, _)| {
                self.client.is_empty()
                    || self.client.matches(n)
                    || ["www-authenticate", "location", "content-length"].contains(&n.as_str())
            });
            return r;
        }
        for (n, v) in &answer.headers {
            if self.upstream.matches(n) {
                set(&mut req, n, v);
            }
        }
        let mut r = send(app, method, target, &req, body);
        for (n, v) in &answer.headers {
            if self.client_on_success.matches(n) {
                r.headers.push((n.clone(), v.clone()));
            }
        }
        r
    }
}

// ---------------------------------------------------------------------------------------

/// An emulated proxy: the three copies of its sample in front of the bench.
struct Emulated<'a> {
    name: &'static str,
    bench: &'a Bench,
    handle: Handler<'a>,
}

impl Front for Emulated<'_> {
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
        let (gardien, app) = match variant {
            Variant::Probe => (self.bench.recorder.addr, self.bench.recorder.addr),
            _ => (self.bench.gardien.addr, self.bench.app.addr),
        };
        let client = Client {
            method,
            target: path,
            headers,
            body,
        };
        (self.handle)(variant, gardien, app, &client)
    }

    fn logs(&self) -> String {
        format!("(emulated {})", self.name)
    }

    fn edge_keeps_client_forwarded_for(&self) -> bool {
        // Envoy appends the client address to the client's chain; gardien stops at it
        // (the first address it does not trust, from the right).
        self.name == "envoy"
    }
}

#[test]
fn traefik_forward_auth_contract_with_the_sample() {
    let bench = Bench::start("traefik");
    let edge = Traefik::from_sample(Variant::Edge);
    let sso = Traefik::from_sample(Variant::Sso);
    let front = Emulated {
        name: "traefik",
        bench: &bench,
        handle: Box::new(|variant, gardien, app, client| {
            let t = if variant == Variant::Sso { &sso } else { &edge };
            t.handle(gardien, app, client, variant == Variant::Sso)
        }),
    };
    let decisions = support::forward_auth::run(&bench, &front);
    eprintln!("traefik (emulated): {decisions} decisions checked");
}

#[test]
fn envoy_ext_authz_contract_with_the_sample() {
    let bench = Bench::start("envoy");
    let edge = Envoy::from_sample(Variant::Edge);
    let sso = Envoy::from_sample(Variant::Sso);
    assert!(
        sso.removed.is_empty(),
        "behind SSO, nothing is removed before ext_authz"
    );
    let front = Emulated {
        name: "envoy",
        bench: &bench,
        handle: Box::new(|variant, gardien, app, client| {
            let e = if variant == Variant::Sso { &sso } else { &edge };
            e.handle(gardien, app, client)
        }),
    };
    let decisions = support::forward_auth::run(&bench, &front);

    // Body size: the sample sends no body (Content-Length: 0), and gardien does not read
    // the body of a check request: a deployment that turns on with_request_body (whatever its
    // max_request_bytes) gets the same decision, only paying for the buffering.
    assert!(
        edge.max_request_bytes.is_none(),
        "the sample turns on with_request_body, which gardien does not read"
    );
    let client = [
        ("Host", support::forward_auth::PAYROLL),
        ("Remote-User", support::forward_auth::ALICE),
        ("X-Forwarded-For", support::forward_auth::HQ),
        ("X-Client-Cert-Sha256", "0A:0B:0C:0D"),
        (
            "User-Agent",
            "Mozilla/5.0 (Linux; Android 12; Pixel 6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        ),
    ];
    let (m, t, check) = sso.check_request("POST", "/payslips/upload", &owned(&client));
    let without = send(bench.gardien.addr, &m, &t, &check, b"");
    assert_eq!(without.status, 403, "{without:?}");
    assert_eq!(
        without.header("x-gardien-error-code"),
        Some("53000"),
        "{without:?}"
    );
    for size in [8 * 1024, 1024 * 1024, 1024 * 1024 + 1] {
        let mut with_body = check.clone();
        remove(&mut with_body, "Content-Length");
        let r = send(bench.gardien.addr, &m, &t, &with_body, &vec![b'x'; size]);
        assert_eq!(r.status, without.status, "a {size}-byte body: {r:?}");
        assert_eq!(
            r.header("x-gardien-error-code"),
            without.header("x-gardien-error-code"),
            "a {size}-byte body"
        );
    }
    eprintln!("envoy (emulated): {decisions} decisions checked");
}
