#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! A real nginx in front of three `gardien serve` replicas sharing one PostgreSQL, with the
//! samples users are given: `examples/nginx/replicas.conf` (the `upstream gardien` block, its
//! three addresses replaced by the replicas') and `examples/nginx/gardien.conf` with
//! `127.0.0.1:8080` replaced by `gardien` (as the sample says), the application's address and
//! `listen` replaced, and without its BEGIN/END block of stripped client headers (the
//! "behind SSO" variant of `nginx_forward_auth.rs`: the client's `Remote-User`,
//! `Remote-Amr`, `CF-IPCountry` and `X-Forwarded-For` stand for an authenticating proxy's).
//!
//! nginx round-robins both the `auth_request` decision and the denial-page fetch of
//! `error_page` over the replicas, so the page of a decision is usually served by another
//! replica than the one that decided (rebuilt from the shared sign-in log). The test proves:
//!
//! * allowed requests reach the application with gardien's `Remote-User`;
//! * a denied request (Alice abroad, 53003) gets gardien's page with 403 through nginx every
//!   time over 12 attempts — HTML in the client's language with 53003 and the correlation
//!   id, or JSON with `errorCode` 53003 — while the decisions were spread over at least two
//!   replicas (their `/metrics`) and at least one page came from another replica than the
//!   one that decided (nginx's access log, which names the upstream of the `/_gardien`
//!   subrequest and of the page fetch); one sign-in record per decision, none per page;
//! * a block policy written through one replica's admin API (not through nginx) is enforced
//!   through nginx within a bounded wait, then by every replica;
//! * after one replica is killed (SIGKILL), 12 more requests through nginx all get the
//!   expected answer (nginx retries the next replica on a refused connection — the access
//!   log shows it did), their records are in the shared log, and only the allowed ones
//!   reached the application.
//!
//! Needs nginx (without it: a SKIP line on stderr) and PostgreSQL at
//! `GARDIEN_TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test` (without
//! it: SKIP); each run uses a schema of its own, dropped at the end. `GARDIEN_KEEP_TMP=1`
//! keeps the generated configurations and the logs.

#[path = "support/mod.rs"]
mod support;

use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::nginx::{Nginx, find_nginx, nginx_conf, server_block, upstream_block};
use support::postgres::{Schema, database_url, unreachable};
use support::upstream::Upstream;
use support::{Gardien, Response, TempDir};

const TOKEN: &str = "nginx-replicas-test-admin-token-0123456789";
const WIKI_ID: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";
const ALICE: &str = "a1a1a1a1-0000-4000-8000-000000000001";
const BOB: &str = "b2b2b2b2-0000-4000-8000-000000000002";
const HQ: &str = "198.51.100.20";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const CHROME_WIN: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const SAFARI_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";
const PAYROLL: &str = "payroll.contoso.example";
const WIKI: &str = "wiki.contoso.example";
const POLICIES: &str = "/v1.0/identity/conditionalAccess/policies";
const HTML: &str = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8";
/// Bound on waits for a correctness condition (a policy change reaching every replica); a
/// loaded CI machine may be slow, the test does not measure speed.
const BOUND: Duration = Duration::from_secs(10);

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

/// Demo case 1 (personal laptop, in a browser, from abroad): denied, 53003 (location).
fn alice_abroad(accept: &str, language: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Host", PAYROLL.into()),
        ("Accept", accept.into()),
        ("Accept-Language", language.into()),
        ("Remote-User", ALICE.into()),
        ("CF-IPCountry", "BR".into()),
        ("X-Forwarded-For", "203.0.113.50".into()),
        ("User-Agent", CHROME_WIN.into()),
    ]
}

/// Alice on the wiki from headquarters: allowed, until the test's block policy.
fn alice_wiki() -> Vec<(&'static str, String)> {
    vec![
        ("Host", WIKI.into()),
        ("Accept", "application/json".into()),
        ("Remote-User", ALICE.into()),
        ("X-Forwarded-For", HQ.into()),
        ("User-Agent", FIREFOX.into()),
    ]
}

/// Demo case 5 with MFA done: Bob, an administrator, on the wiki: allowed.
fn bob_wiki() -> Vec<(&'static str, String)> {
    vec![
        ("Host", WIKI.into()),
        ("Remote-User", BOB.into()),
        ("Remote-Amr", "pwd,mfa".into()),
        ("X-Forwarded-For", HQ.into()),
        ("User-Agent", SAFARI_MAC.into()),
    ]
}

/// nginx, the replicas behind it and the application behind nginx.
struct Stack {
    nginx: Nginx,
    listen: SocketAddr,
    replicas: Vec<Gardien>,
    app: Upstream,
}

impl Stack {
    /// Every log, for assertion messages.
    fn context(&self) -> String {
        let mut text = format!("--- nginx\n{}", self.nginx.logs());
        for (i, r) in self.replicas.iter().enumerate() {
            text.push_str(&format!(
                "--- gardien replica {} ({})\n{}",
                i + 1,
                r.addr,
                r.output()
            ));
        }
        text
    }

    /// A request through nginx.
    fn send(&self, path: &str, headers: &[(&'static str, String)]) -> Response {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        support::get(self.listen, path, &headers).unwrap_or_else(|e| {
            panic!(
                "GET {path} through nginx on {}: {e}\n{}",
                self.listen,
                self.context()
            )
        })
    }

    /// The correlation id nginx passed on to the client.
    fn cid(&self, r: &Response, what: &str) -> String {
        let cid = r.header("x-gardien-correlation-id").unwrap_or("");
        assert!(
            !cid.is_empty(),
            "{what}: no X-Gardien-Correlation-Id from nginx: {r:?}\n{}",
            self.context()
        );
        cid.to_owned()
    }

    /// An allowed request: 200 from the application, which saw gardien's `Remote-User`.
    fn expect_allowed(&self, headers: &[(&'static str, String)], user: &str, what: &str) -> String {
        let r = self.send("/wiki/Main_Page", headers);
        assert_eq!(r.status, 200, "{what}: {r:?}\n{}", self.context());
        let text = r.text();
        assert!(
            text.starts_with("hello from upstream\n")
                && text.contains(&format!("remote-user: {user}\n")),
            "{what}: the application did not see gardien's Remote-User {user}: {text}\n{}",
            self.context()
        );
        self.cid(&r, what)
    }

    /// A denied request: 403 and gardien's page with `code`, HTML (`language`) or JSON.
    fn expect_denied(
        &self,
        path: &str,
        headers: &[(&'static str, String)],
        code: u64,
        what: &str,
    ) -> String {
        let r = self.send(path, headers);
        assert_eq!(r.status, 403, "{what}: {r:?}\n{}", self.context());
        let cid = self.cid(&r, what);
        let accept = headers
            .iter()
            .find(|(n, _)| *n == "Accept")
            .map_or("", |(_, v)| v.as_str());
        if accept.starts_with("text/html") {
            let language = headers
                .iter()
                .find(|(n, _)| *n == "Accept-Language")
                .map_or("en", |(_, v)| v.as_str());
            assert!(
                r.header("content-type")
                    .is_some_and(|t| t.starts_with("text/html")),
                "{what}: not gardien's HTML page: {r:?}\n{}",
                self.context()
            );
            let html = r.text();
            for needle in [
                format!("<html lang=\"{language}\""),
                format!("AADSTS{code}"),
                cid.clone(),
            ] {
                assert!(
                    html.contains(&needle),
                    "{what}: the page lacks `{needle}`:\n{html}\n{}",
                    self.context()
                );
            }
        } else {
            let problem: Value = serde_json::from_slice(&r.body).unwrap_or_else(|e| {
                panic!("{what}: page is not JSON ({e}): {r:?}\n{}", self.context())
            });
            assert_eq!(
                problem["errorCode"],
                code,
                "{what}: {problem}\n{}",
                self.context()
            );
            assert_eq!(
                problem["correlationId"],
                cid.as_str(),
                "{what}: {problem}\n{}",
                self.context()
            );
        }
        cid
    }

    /// `gardien_decisions_total{endpoint="forward_auth",decision=..,code=..}` of a replica.
    fn decisions(&self, replica: usize, decision: &str, code: u64) -> u64 {
        let addr = self.replicas[replica].addr;
        let text = support::get(addr, "/metrics", &[])
            .unwrap_or_else(|e| panic!("/metrics of {addr}: {e}\n{}", self.context()))
            .text();
        let series = format!(
            "gardien_decisions_total{{endpoint=\"forward_auth\",decision=\"{decision}\",code=\"{code}\"}} "
        );
        text.lines()
            .find_map(|l| l.strip_prefix(series.as_str())?.trim().parse().ok())
            .unwrap_or(0)
    }

    /// `policyVersion` in `/readyz` of a replica.
    fn policy_version(&self, replica: usize) -> Value {
        let addr = self.replicas[replica].addr;
        let r = support::get(addr, "/readyz", &[])
            .unwrap_or_else(|e| panic!("/readyz of {addr}: {e}\n{}", self.context()));
        assert_eq!(r.status, 200, "{r:?}\n{}", self.context());
        r.json()["policyVersion"].clone()
    }

    /// The shared sign-in log, exported through a replica: correlation id → record.
    fn signins(&self, replica: usize) -> HashMap<String, Value> {
        let addr = self.replicas[replica].addr;
        let r = support::get(addr, "/v1/signins/export", &[("Authorization", &bearer())])
            .unwrap_or_else(|e| panic!("sign-in export of {addr}: {e}\n{}", self.context()));
        assert_eq!(r.status, 200, "{r:?}\n{}", self.context());
        r.text()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| Some((v["correlationId"].as_str()?.to_owned(), v)))
            .collect()
    }

    /// Checks the record of every `(cid, errorCode, user, application)`.
    fn expect_logged(&self, replica: usize, expected: &[(String, u64, &str, &str)]) {
        let log = self.signins(replica);
        for (cid, code, user, app) in expected {
            let rec = log.get(cid).unwrap_or_else(|| {
                panic!(
                    "no sign-in record for {cid} in the log read through replica {}\n{}",
                    replica + 1,
                    self.context()
                )
            });
            assert!(
                rec["status"]["errorCode"] == *code
                    && rec["userId"] == *user
                    && rec["appDisplayName"] == *app,
                "{cid}: expected errorCode {code}, user {user}, application {app}: {rec:#}\n{}",
                self.context()
            );
        }
    }
}

/// One line of the test's access log (`support::nginx`): connection, uri, status, upstreams.
struct Access {
    connection: u64,
    uri: String,
    status: u16,
    upstreams: Vec<String>,
}

fn parse_access(log: &str) -> Vec<Access> {
    log.lines()
        .filter_map(|line| {
            let (head, upstream) = line.split_once(" upstream=")?;
            let mut f = head.split(' ');
            let connection = f.next()?.parse().ok()?;
            let _method = f.next()?;
            let uri = f.next()?.to_owned();
            let status = f.next()?.parse().ok()?;
            // `a, b` when nginx tried `a` then `b`; ` : ` separates upstream groups.
            let upstreams = upstream
                .split([',', ' '])
                .map(str::trim)
                .filter(|u| !u.is_empty() && *u != "-" && *u != ":")
                .map(str::to_owned)
                .collect();
            Some(Access {
                connection,
                uri,
                status,
                upstreams,
            })
        })
        .collect()
}

#[test]
fn nginx_in_front_of_three_replicas_on_postgres() {
    let Some(nginx_bin) = find_nginx() else {
        eprintln!("SKIP: nginx not installed (apt-get install nginx)");
        return;
    };
    let url = database_url();
    if let Some(why) = unreachable(&url) {
        eprintln!(
            "SKIP nginx_in_front_of_three_replicas_on_postgres: PostgreSQL unreachable ({why}); set GARDIEN_TEST_DATABASE_URL"
        );
        return;
    }
    let started = Instant::now();
    let tmp = TempDir::new("nginx-replicas");
    // Dropped after the stack (declared later, dropped first).
    let schema = Schema::fresh(&url, "gardien_nginx");
    let config = support::postgres::write_replica_config(tmp.path(), &schema.name, TOKEN);
    let config = config.display().to_string();
    let replicas: Vec<Gardien> = (1..=3)
        .map(|i| {
            Gardien::start(
                tmp.path(),
                &format!("replica-{i}"),
                &["--config", &config, "--database", &url],
            )
        })
        .collect();
    let addrs: Vec<SocketAddr> = replicas.iter().map(|r| r.addr).collect();
    let app = Upstream::start();
    let listen = support::free_addr();
    let conf = nginx_conf(
        tmp.path(),
        &[
            upstream_block(&support::nginx::sample("replicas.conf"), &addrs),
            server_block(
                &support::nginx::sample("gardien.conf"),
                listen,
                "gardien",
                app.addr,
                true,
            ),
        ],
    );
    assert!(
        !conf.contains("127.0.0.1:8080"),
        "generated configuration still points at one gardien:\n{conf}"
    );
    let nginx = Nginx::start(&nginx_bin, tmp.path(), &conf, &[listen]);
    let mut stack = Stack {
        nginx,
        listen,
        replicas,
        app,
    };
    for i in 0..3 {
        assert_eq!(
            stack.policy_version(i),
            1,
            "replica {} did not load the demo tenant as version 1\n{}",
            i + 1,
            stack.context()
        );
    }
    // (cid, errorCode, user, application) of every decision made through nginx.
    let mut decided: Vec<(String, u64, &str, &str)> = Vec::new();

    // Allowed requests reach the application with gardien's Remote-User (3 of each: every
    // replica decides some).
    for i in 0..3 {
        let cid = stack.expect_allowed(&alice_wiki(), ALICE, &format!("Alice on the wiki #{i}"));
        decided.push((cid, 0, ALICE, "Wiki"));
        let cid = stack.expect_allowed(&bob_wiki(), BOB, &format!("Bob with MFA #{i}"));
        decided.push((cid, 0, BOB, "Wiki"));
    }

    // A denied request, 12 times: gardien's page with 403 every time, HTML (French, English)
    // or JSON, whichever replica decided and whichever fetched the page.
    let access_before = stack.nginx.access_log().len();
    let attempts = 12;
    for i in 0..attempts {
        let (accept, language) = match i % 3 {
            0 => (HTML, "fr"),
            1 => (HTML, "en"),
            _ => ("application/json", "en"),
        };
        let cid = stack.expect_denied(
            "/payslips/2026-11",
            &alice_abroad(accept, language),
            53003,
            &format!("Alice abroad #{i} ({accept}, {language})"),
        );
        decided.push((cid, 53003, ALICE, "Payroll"));
    }

    // Decisions were spread over the replicas (each counts its own), none counted twice and
    // none for the page fetches.
    let denials: Vec<u64> = (0..3).map(|i| stack.decisions(i, "deny", 53003)).collect();
    let allows: Vec<u64> = (0..3).map(|i| stack.decisions(i, "allow", 0)).collect();
    eprintln!("decisions per replica: deny 53003 {denials:?}, allow {allows:?}");
    assert_eq!(
        denials.iter().sum::<u64>(),
        attempts,
        "one denial per attempt over the replicas: {denials:?}\n{}",
        stack.context()
    );
    assert_eq!(
        allows.iter().sum::<u64>(),
        6,
        "one allow per allowed request: {allows:?}\n{}",
        stack.context()
    );
    assert!(
        denials.iter().filter(|n| **n > 0).count() >= 2,
        "decisions not spread over the replicas: {denials:?}\n{}",
        stack.context()
    );

    // Which replica decided (the /_gardien subrequest) and which served the page (the
    // client's request), by connection.
    let access = parse_access(&stack.nginx.access_log()[access_before..]);
    let mut decider: HashMap<u64, String> = HashMap::new();
    let mut server: HashMap<u64, String> = HashMap::new();
    for a in &access {
        let Some(last) = a.upstreams.last() else {
            continue;
        };
        if a.uri == "/_gardien" {
            decider.insert(a.connection, last.clone());
        } else if a.status == 403 {
            server.insert(a.connection, last.clone());
        }
    }
    let pairs: Vec<(&String, &String)> = server
        .iter()
        .filter_map(|(c, page)| Some((decider.get(c)?, page)))
        .collect();
    assert_eq!(
        pairs.len() as u64,
        attempts,
        "the access log does not show a decision and a page for every attempt\n{}",
        stack.context()
    );
    let crossed = pairs.iter().filter(|(d, p)| d != p).count();
    eprintln!("pages served by another replica than the one that decided: {crossed} of {attempts}");
    assert!(
        crossed >= 1,
        "no page was fetched from another replica than the deciding one: {pairs:?}\n{}",
        stack.context()
    );
    for (d, p) in &pairs {
        for addr in [d, p] {
            assert!(
                addrs.iter().any(|a| a.to_string() == **addr),
                "upstream {addr} is not a replica\n{}",
                stack.context()
            );
        }
    }

    // One record per decision in the shared log (read through replica 3), none per page.
    stack.expect_logged(2, &decided);
    let log = stack.signins(0);
    assert_eq!(
        log.len(),
        decided.len(),
        "one sign-in record per decision, none for the pages\n{}",
        stack.context()
    );

    // A policy written through replica 2's admin API, not through nginx, is enforced through
    // nginx right after, then by every replica.
    let auth = bearer();
    let body = serde_json::to_vec(&json!({
        "displayName": "Block Alice on the wiki",
        "state": "enabled",
        "conditions": {
            "users": {"includeUsers": [ALICE]},
            "applications": {"includeApplications": [WIKI_ID]},
            "clientAppTypes": ["all"]
        },
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}
    }))
    .unwrap();
    let written = support::request_with_body(
        stack.replicas[1].addr,
        "POST",
        POLICIES,
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ],
        &body,
    )
    .unwrap_or_else(|e| panic!("POST {POLICIES} on replica 2: {e}\n{}", stack.context()));
    assert_eq!(written.status, 201, "{written:?}\n{}", stack.context());
    let written_at = Instant::now();
    loop {
        let r = stack.send("/wiki/Main_Page", &alice_wiki());
        if r.status == 403 {
            break;
        }
        assert_eq!(r.status, 200, "{r:?}\n{}", stack.context());
        assert!(
            written_at.elapsed() < BOUND,
            "the block policy is not enforced through nginx {BOUND:?} after the write\n{}",
            stack.context()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "block policy enforced through nginx {:?} after the write",
        written_at.elapsed()
    );
    for i in 0..3 {
        while stack.policy_version(i) != 2 {
            assert!(
                written_at.elapsed() < BOUND,
                "replica {} not at version 2 {BOUND:?} after the write\n{}",
                i + 1,
                stack.context()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    for i in 0..6 {
        stack.expect_denied(
            "/wiki/Main_Page",
            &alice_wiki(),
            53003,
            &format!("Alice on the wiki, blocked, #{i}"),
        );
    }

    // SIGKILL one replica: nginx retries the next one when the connection is refused, and
    // every request is still answered as it should be.
    let seen_before = stack.app.seen().len();
    let access_before = stack.nginx.access_log().len();
    let dead = stack.replicas[0].addr;
    stack.replicas[0].kill();
    assert!(
        support::get(dead, "/healthz", &[]).is_err(),
        "replica 1 still answers after SIGKILL\n{}",
        stack.context()
    );
    let mut after_kill: Vec<(String, u64, &str, &str)> = Vec::new();
    for i in 0..12 {
        let what = format!("after the kill #{i}");
        match i % 3 {
            0 => {
                let cid = stack.expect_denied("/wiki/Main_Page", &alice_wiki(), 53003, &what);
                after_kill.push((cid, 53003, ALICE, "Wiki"));
            }
            1 => {
                let cid = stack.expect_allowed(&bob_wiki(), BOB, &what);
                after_kill.push((cid, 0, BOB, "Wiki"));
            }
            _ => {
                let cid = stack.expect_denied(
                    "/payslips/2026-11",
                    &alice_abroad(HTML, "fr"),
                    53003,
                    &what,
                );
                after_kill.push((cid, 53003, ALICE, "Payroll"));
            }
        }
    }
    let access = parse_access(&stack.nginx.access_log()[access_before..]);
    let retried = access
        .iter()
        .filter(|a| a.upstreams.len() >= 2 && a.upstreams[0] == dead.to_string())
        .count();
    eprintln!("after the kill: {retried} upstream requests retried past the dead replica");
    assert!(
        retried >= 1,
        "nginx never tried the killed replica {dead} (so its retry was not exercised)\n{}",
        stack.context()
    );
    assert!(
        access
            .iter()
            .all(|a| a.upstreams.last() != Some(&dead.to_string())),
        "an answer came from the killed replica {dead}\n{}",
        stack.context()
    );
    stack.expect_logged(2, &after_kill);
    let reached: Vec<(String, String)> = stack.app.seen()[seen_before..].to_vec();
    assert_eq!(
        reached,
        vec![("/wiki/Main_Page".to_owned(), BOB.to_owned()); 4],
        "after the kill only Bob's allowed requests reached the application\n{}",
        stack.context()
    );
    let seen = stack.app.seen();
    assert!(
        seen.iter().all(|(_, u)| u == ALICE || u == BOB),
        "the application saw another identity than gardien's: {seen:?}\n{}",
        stack.context()
    );

    drop(stack);
    drop(schema);
    eprintln!(
        "nginx + 3 replicas: {} decisions through nginx checked in {:?}",
        decided.len() + 6 + after_kill.len(),
        started.elapsed()
    );
}
