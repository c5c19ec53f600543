#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! The web console end to end, in a real browser, against the real binary: `gardien serve
//! --config <tmp>/gardien.toml` on a free loopback port with its SQLite store file, the demo
//! tenant, devices and compliance rules copied into the same temporary folder, an in-process
//! fake OpenID Connect provider (authorization code with PKCE, RS256 ID tokens, a "cancel"
//! button that answers `access_denied`) named in that configuration, and Debian's headless
//! Chromium driven through ChromeDriver (WebDriver over HTTP). The server is killed when the
//! test ends, also when it fails.
//!
//! The story: a phone that is not compliant is denied (forward-auth, as nginx would ask);
//! the help desk reads the correlation id off its denial page, signs in to the console at
//! the identity provider, finds the sign-in by that id, opens its trace, runs "what if" with
//! a compliant device (allowed); an admin compares two policy versions and rolls back; a
//! reader sees no policy name at the `minimal` reader level and gets 403 on rollback; a POST
//! without or with a wrong CSRF token is refused; the decision token does not open the
//! console; a cancelled sign-in at the provider opens no session.
//!
//! Every page is checked for accessibility (axe-core's WCAG 2.1 A/AA rules, light and dark,
//! when `tests/console/node_modules/axe-core` is installed: `npm ci --prefix
//! crates/gardien/tests/console`; otherwise a documented subset of the same rules, and a
//! NOTE line says so), for horizontal overflow at 360 px, and screenshotted in light and
//! dark (the search and a sign-in's page also in French). Set
//! `GARDIEN_CONSOLE_SCREENSHOTS=$PWD/docs/console` to write the screenshots there, and
//! `GARDIEN_KEEP_TMP=1` to keep the temporary folder (configuration, store, server log).
//!
//! Needs `chromium` and `chromium-driver` (CI installs them); without them the test prints
//! a SKIP line on stderr and passes.

#[path = "support/mod.rs"]
mod support;

use axum::extract::{Form, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::RsaKeyPair;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{Gardien, TempDir, find_binary, free_addr, hash_token, repo_root};

/// Alice (Finance) in the demo directory.
const ALICE: &str = "a1a1a1a1-0000-4000-8000-000000000001";
/// The admin token of the test's server.
const TOKEN: &str = "console-test-admin-token-0123456789";
const CLIENT_ID: &str = "gardien-console";
const DECISION_TOKEN: &str = "test-decision-token-0123456789";
const CHROME_ANDROID: &str = "Mozilla/5.0 (Linux; Android 12; Pixel 6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

// ---------------------------------------------------------------------------------------
// The fake OpenID Connect provider.

/// A code the provider issued, waiting to be redeemed.
struct Grant {
    who: String,
    nonce: String,
    challenge: String,
    redirect_uri: String,
    client_id: String,
}

struct Idp {
    issuer: String,
    key: EncodingKey,
    codes: Mutex<HashMap<String, Grant>>,
    redeemed: Mutex<Vec<String>>,
}

fn rsa_key() -> (EncodingKey, Value) {
    let text = std::fs::read_to_string(
        repo_root().join("crates/gardien-server/src/identity/test_rsa_key.b64"),
    )
    .unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap();
    let pair = RsaKeyPair::from_der(&der).unwrap();
    let c: ring::rsa::PublicKeyComponents<Vec<u8>> = pair.public().into();
    let jwk = json!({"keys": [{"kty": "RSA", "use": "sig", "kid": "idp-1", "alg": "RS256",
                               "n": b64(&c.n), "e": b64(&c.e)}]});
    (EncodingKey::from_rsa_der(&der), jwk)
}

async fn authorize(Query(q): Query<HashMap<String, String>>) -> Response {
    let hidden: String = [
        "client_id",
        "redirect_uri",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "response_type",
    ]
    .iter()
    .map(|k| {
        format!(
            "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
            q.get(*k).cloned().unwrap_or_default()
        )
    })
    .collect();
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><title>Fake IdP</title></head><body><main><h1>Fake IdP</h1>\
<form method=\"post\" action=\"/decide\">{hidden}\
<button type=\"submit\" name=\"who\" value=\"reader\" id=\"as-reader\">Helen (help desk)</button>\
<button type=\"submit\" name=\"who\" value=\"admin\" id=\"as-admin\">Ada (admin)</button>\
<button type=\"submit\" name=\"who\" value=\"nobody\" id=\"as-nobody\">Nora (no role)</button>\
<button type=\"submit\" name=\"who\" value=\"cancel\" id=\"cancel\">Cancel</button></form></main></body></html>"
    ))
    .into_response()
}

async fn decide(State(idp): State<Arc<Idp>>, Form(f): Form<HashMap<String, String>>) -> Response {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let redirect = get("redirect_uri");
    let state = get("state");
    if get("who") == "cancel" {
        return Redirect::to(&format!(
            "{redirect}?error=access_denied&error_description=cancelled&state={state}"
        ))
        .into_response();
    }
    assert_eq!(get("code_challenge_method"), "S256");
    assert_eq!(get("response_type"), "code");
    let code = format!("code-{}", idp.codes.lock().unwrap().len() + 1);
    idp.codes.lock().unwrap().insert(
        code.clone(),
        Grant {
            who: get("who"),
            nonce: get("nonce"),
            challenge: get("code_challenge"),
            redirect_uri: redirect.clone(),
            client_id: get("client_id"),
        },
    );
    Redirect::to(&format!("{redirect}?code={code}&state={state}")).into_response()
}

async fn token(State(idp): State<Arc<Idp>>, Form(f): Form<HashMap<String, String>>) -> Response {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let refuse = |why: &str| {
        (
            http::StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_grant", "error_description": why})),
        )
            .into_response()
    };
    let Some(grant) = idp.codes.lock().unwrap().remove(&get("code")) else {
        return refuse("unknown or used code");
    };
    let verifier = get("code_verifier");
    let challenge = b64(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()).as_ref());
    if get("grant_type") != "authorization_code"
        || challenge != grant.challenge
        || get("redirect_uri") != grant.redirect_uri
        || get("client_id") != grant.client_id
    {
        return refuse("PKCE, redirect_uri or client_id mismatch");
    }
    idp.redeemed.lock().unwrap().push(grant.who.clone());
    let (sub, name, roles) = match grant.who.as_str() {
        "admin" => ("user-ada", "Ada Admin", json!(["Console.Admin"])),
        "reader" => ("user-helen", "Helen Helpdesk", json!(["Console.Reader"])),
        _ => ("user-nora", "Nora Norole", json!(["Payroll.User"])),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"iss": idp.issuer, "aud": CLIENT_ID, "sub": sub, "oid": sub,
        "name": name, "preferred_username": format!("{sub}@contoso.example"),
        "roles": roles, "nonce": grant.nonce, "iat": now, "nbf": now, "exp": now + 600});
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("idp-1".into());
    let id_token = jsonwebtoken::encode(&header, &claims, &idp.key).unwrap();
    axum::Json(json!({"access_token": "opaque", "token_type": "Bearer", "id_token": id_token}))
        .into_response()
}

// ---------------------------------------------------------------------------------------
// A small WebDriver client.

struct Driver {
    child: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self
            .agent
            .delete(&format!("{}/session/{}", self.base, self.session))
            .call();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

impl Driver {
    /// A browser whose language is `lang` (`en-US`, `fr-FR`): its `Accept-Language` and the
    /// locale of its date and time fields.
    fn start(driver: &Path, chromium: &Path, profile: &Path, lang: &str) -> Driver {
        let port = free_addr().port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            // Headless Chromium formats date and time fields in the locale of its
            // environment (with Debian's `chromium-l10n` installed), not of `--lang`.
            .env("LANGUAGE", lang.replace('-', "_"))
            .env("LC_ALL", format!("{}.UTF-8", lang.replace('-', "_")))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let agent = agent();
        let started = Instant::now();
        loop {
            if let Ok(mut r) = agent.get(&format!("{base}/status")).call()
                && r.body_mut()
                    .read_to_string()
                    .is_ok_and(|t| t.contains("\"ready\":true"))
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium.display().to_string(), "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-extensions", "--hide-scrollbars",
                "--force-color-profile=srgb", "--window-size=1280,1100", format!("--lang={lang}"),
                format!("--user-data-dir={}", profile.display())],
                "prefs": {"intl.accept_languages": format!("{lang},{}", &lang[..2])}}}}});
        let mut driver = Driver {
            child,
            base,
            session: String::new(),
            agent,
        };
        let v = driver.call("POST", "/session", Some(caps));
        driver.session = v["sessionId"].as_str().unwrap().to_owned();
        driver
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = if path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let mut r = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, b) => self
                .agent
                .post(&url)
                .header("content-type", "application/json")
                .send(b.unwrap_or_else(|| json!({})).to_string()),
        }
        .unwrap();
        let status = r.status();
        let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    fn url(&self) -> String {
        self.call("GET", "/url", None).as_str().unwrap().to_owned()
    }

    fn source(&self) -> String {
        self.call("GET", "/source", None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn find(&self, css: &str) -> String {
        self.find_by("css selector", css)
    }

    fn find_xpath(&self, xpath: &str) -> String {
        self.find_by("xpath", xpath)
    }

    fn find_by(&self, using: &str, value: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({"using": using, "value": value})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no `{value}` ({v}) at {}:\n{}", self.url(), self.source()))
            .to_owned()
    }

    fn click(&self, css: &str) {
        let el = self.find(css);
        self.call("POST", &format!("/element/{el}/click"), None);
    }

    fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css);
        self.call("POST", &format!("/element/{el}/clear"), None);
        self.call(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn text_of(&self, el: &str) -> String {
        self.call("GET", &format!("/element/{el}/text"), None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.call(
            "POST",
            "/goog/cdp/execute",
            Some(json!({"cmd": cmd, "params": params})),
        )
    }

    fn cookie(&self, name: &str) -> String {
        self.call("GET", &format!("/cookie/{name}"), None)["value"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn screenshot(&self) -> Vec<u8> {
        let v = self.call("GET", "/screenshot", None);
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap()
    }

    /// Waits until the page contains `needle`; the page's source.
    fn wait_text(&self, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let source = self.source();
            if source.contains(needle) {
                return source;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "`{needle}` not at {}:\n{source}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the page's URL ends with `suffix` (a navigation may still be under way).
    fn wait_url(&self, suffix: &str) {
        let started = Instant::now();
        loop {
            let url = self.url();
            if url.ends_with(suffix) || url.contains(&format!("{suffix}?")) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "still at {url}, waiting for …{suffix}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Accessibility, layout and screenshots of one page.

struct Checks {
    axe: Option<String>,
    shots: PathBuf,
    pages: Vec<String>,
}

/// The subset of WCAG rules checked without axe-core: every form control has a label, the
/// document has a language and a title, one `h1`, a `main` landmark, named buttons and
/// links, unique ids.
const BUILT_IN_CHECKS: &str = r#"
const problems = [];
if (!document.documentElement.lang) problems.push('html-has-lang');
if (!document.title.trim()) problems.push('document-title');
if (document.querySelectorAll('h1').length !== 1) problems.push('page-has-heading-one');
if (!document.querySelector('main')) problems.push('landmark-one-main');
for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
  const labelled = (el.id && document.querySelector('label[for="' + el.id + '"]')) || el.getAttribute('aria-label') || el.closest('label');
  if (!labelled) problems.push('label: ' + (el.id || el.name));
}
for (const el of document.querySelectorAll('button, a')) {
  if (!el.textContent.trim() && !el.getAttribute('aria-label')) problems.push('name: ' + el.outerHTML.slice(0, 80));
}
const ids = new Set();
for (const el of document.querySelectorAll('[id]')) { if (ids.has(el.id)) problems.push('duplicate-id: ' + el.id); ids.add(el.id); }
return problems;
"#;

impl Checks {
    /// Checks the page in light and dark, keeps both screenshots.
    fn page(&mut self, d: &Driver, name: &str) {
        self.check(d, name, true);
    }

    /// Checks the page in light and dark; `dark_shot`: keeps the dark screenshot too.
    fn check(&mut self, d: &Driver, name: &str, dark_shot: bool) {
        self.pages.push(name.to_owned());
        let mut pngs = Vec::new();
        for scheme in ["light", "dark"] {
            d.cdp(
                "Emulation.setEmulatedMedia",
                json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
            );
            let violations = match &self.axe {
                Some(source) => {
                    d.script(&format!("{source}\nreturn typeof axe;"));
                    d.call(
                        "POST",
                        "/execute/async",
                        Some(json!({"script": "const done = arguments[arguments.length - 1];
                            axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
                              .then(r => done(r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(' | '))),
                                    e => done(['axe failed: ' + e]));", "args": []})),
                    )
                }
                None => d.script(BUILT_IN_CHECKS),
            };
            assert_eq!(
                violations,
                json!([]),
                "{name} ({scheme}): accessibility violations"
            );
            let png = d.screenshot();
            assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}: not a PNG");
            if scheme == "light" || dark_shot {
                std::fs::write(self.shots.join(format!("{name}-{scheme}.png")), &png).unwrap();
            }
            pngs.push(png);
        }
        assert_ne!(pngs[0], pngs[1], "{name}: dark mode changes nothing");
        d.cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": "light"}]}),
        );
        // Usable at 360 px: nothing wider than the viewport.
        d.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 360, "height": 780, "deviceScaleFactor": 1, "mobile": true}),
        );
        let fits = d.script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
        );
        d.cdp("Emulation.clearDeviceMetricsOverride", json!({}));
        let (scroll, client) = (fits[0].as_u64().unwrap(), fits[1].as_u64().unwrap());
        assert!(
            scroll <= client,
            "{name}: {scroll} px wide at a 360 px viewport ({client})"
        );
    }
}

// ---------------------------------------------------------------------------------------

/// Prints the server's output when the test fails (dropped while panicking).
struct LogOnFailure<'a>(&'a Gardien);

impl Drop for LogOnFailure<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("gardien serve's output:\n{}", self.0.output());
        }
    }
}

/// Copies `source` (a folder) to `to`, recursively.
fn copy_dir(source: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(source).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The demo tenant folder, device registry and compliance rules, copied into `dir`: their
/// paths there.
fn demo_files(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let demo = repo_root().join("examples/demo");
    let tenant = dir.join("tenant");
    copy_dir(&demo.join("tenant"), &tenant);
    let devices = dir.join("devices.json");
    std::fs::copy(demo.join("server/devices.json"), &devices).unwrap();
    let compliance = dir.join("compliance.json");
    std::fs::copy(demo.join("signals/compliance.json"), &compliance).unwrap();
    (tenant, devices, compliance)
}

/// Every policy and named-location name and id of the demo tenant.
fn secret_names() -> Vec<String> {
    let dir = repo_root().join("examples/demo/tenant");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir.join("policies")).unwrap() {
        let v: Value =
            serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
        out.push(v["displayName"].as_str().unwrap().to_owned());
        out.push(v["id"].as_str().unwrap().to_owned());
    }
    out
}

fn policy_id(name_prefix: &str) -> String {
    let dir = repo_root().join("examples/demo/tenant/policies");
    for entry in std::fs::read_dir(dir).unwrap() {
        let v: Value =
            serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
        if v["displayName"].as_str().unwrap().starts_with(name_prefix) {
            return v["id"].as_str().unwrap().to_owned();
        }
    }
    panic!("no policy {name_prefix}");
}

/// A POST of a console form outside the browser, with the browser's session cookie and the
/// `Origin` a browser would send.
fn post_form(base: &str, path: &str, cookie: &str, form: &[(&str, &str)]) -> (u16, String) {
    let mut r = agent()
        .post(&format!("{base}{path}"))
        .header("cookie", &format!("gardien_console={cookie}"))
        .header("origin", base)
        .send_form(form.iter().copied())
        .unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

fn csrf_of(source: &str) -> String {
    let at = source.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    source[at..].split('"').next().unwrap().to_owned()
}

fn current_version(base: &str) -> Value {
    let mut r = agent()
        .get(&format!("{base}/v1/admin/versions"))
        .header("authorization", &format!("Bearer {TOKEN}"))
        .call()
        .unwrap();
    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
}

/// The admin audit trail's entry of a console rollback by `token`.
fn audited(base: &str, token: &str) -> Value {
    let mut r = agent()
        .get(&format!("{base}/v1/admin/audit"))
        .header("authorization", &format!("Bearer {TOKEN}"))
        .call()
        .unwrap();
    let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    v["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["token"] == token)
        .unwrap_or_else(|| panic!("no audit entry of `{token}`: {v}"))
        .clone()
}

/// The policy pages: path, screenshot name, a text the page shows.
const POLICY_PAGES: [(&str, &str, &str); 6] = [
    (
        "/console/policies",
        "policies",
        "CA04 Payroll in a browser needs a compliant device",
    ),
    ("/console/coverage", "coverage", "report-only:"),
    ("/console/lint", "lint", "errors,"),
    ("/console/gaps", "gaps", "reachable by an attacker"),
    ("/console/locations", "locations", "HQ egress"),
    ("/console/devices", "devices", "LAPTOP-ALICE"),
];

#[test]
fn console_end_to_end_in_chromium() {
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(find_binary)
    else {
        eprintln!("SKIP: chromium not installed (apt-get install chromium chromium-driver)");
        return;
    };
    let Some(chromedriver) = find_binary("chromedriver") else {
        eprintln!("SKIP: chromedriver not installed (apt-get install chromium-driver)");
        return;
    };
    let work = TempDir::new("console-chromium");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // The identity provider.
    let idp_listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let issuer = format!("http://{}", idp_listener.local_addr().unwrap());
    let (key, jwks) = rsa_key();
    let jwks_path = work.path().join("idp-jwks.json");
    std::fs::write(&jwks_path, jwks.to_string()).unwrap();
    let idp = Arc::new(Idp {
        issuer: issuer.clone(),
        key,
        codes: Mutex::new(HashMap::new()),
        redeemed: Mutex::new(Vec::new()),
    });
    let idp_app = axum::Router::new()
        .route("/authorize", axum::routing::get(authorize))
        .route("/decide", axum::routing::post(decide))
        .route("/token", axum::routing::post(token))
        .with_state(idp.clone());
    rt.spawn(async move { axum::serve(idp_listener, idp_app).await });

    // gardien: the binary, its configuration and store file and the demo tenant in `work`.
    let addr = free_addr();
    let base = format!("http://{addr}");
    let (tenant, devices, compliance) = demo_files(work.path());
    let config = format!(
        r#"tenant = "{tenant}"
[store]
path = "{db}"
[signals]
trusted_proxies = ["127.0.0.1/32"]
device_header = "x-client-cert-sha256"
devices = "{devices}"
compliance = "{compliance}"
[identity.jwt]
issuer = "{issuer}"
audiences = ["{CLIENT_ID}"]
jwks_file = "{jwks}"
[identity.headers]
user = "remote-user"
[[apps]]
host = "payroll.contoso.example"
app_id = "c0ffee00-0000-4000-8000-000000000100"
name = "Payroll"
[page]
disclosure = "minimal"
[admin]
token_sha256 = "{admin}"
decision_token_sha256 = "{decision}"
[console]
public_url = "{base}"
reader_disclosure = "minimal"
[console.oidc]
issuer = "{issuer}"
client_id = "{CLIENT_ID}"
authorization_endpoint = "{issuer}/authorize"
token_endpoint = "{issuer}/token"
reader_roles = ["Console.Reader"]
admin_roles = ["Console.Admin"]
label = "Fake IdP"
"#,
        tenant = tenant.display(),
        db = work.path().join("gardien.db").display(),
        devices = devices.display(),
        compliance = compliance.display(),
        jwks = jwks_path.display(),
        admin = hash_token(TOKEN),
        decision = hash_token(DECISION_TOKEN),
    );
    let config_path = work.path().join("gardien.toml");
    std::fs::write(&config_path, config).unwrap();
    let server = Gardien::start_at(
        work.path(),
        "gardien",
        &["--config", &config_path.display().to_string()],
        addr,
    );
    let _log = LogOnFailure(&server);
    assert!(
        work.path().join("gardien.db").is_file(),
        "no SQLite store file:\n{}",
        server.output()
    );

    // A denied sign-in, as nginx's auth_request would ask: Alice's phone, not compliant.
    let http = agent();
    let mut denied = http
        .get(&format!("{base}/v1/forward-auth"))
        .header("x-forwarded-host", "payroll.contoso.example")
        .header("remote-user", ALICE)
        .header("x-forwarded-for", "198.51.100.20")
        .header("x-client-cert-sha256", "0A:0B:0C:0D")
        .header("user-agent", CHROME_ANDROID)
        .header("accept", "text/html")
        .call()
        .unwrap();
    assert_eq!(denied.status().as_u16(), 403);
    assert_eq!(denied.headers()["x-gardien-error-code"], "53000");
    let key = denied.headers()["x-gardien-denial"]
        .to_str()
        .unwrap()
        .to_owned();
    let _ = denied.body_mut().read_to_string();
    // A change to the policies, through the admin API: version 2 (CA04 report-only).
    let ca04 = policy_id("CA04");
    let r = http
        .patch(&format!(
            "{base}/v1.0/identity/conditionalAccess/policies/{ca04}"
        ))
        .header("authorization", &format!("Bearer {TOKEN}"))
        .header("x-gardien-author", "alice-admin")
        .header("content-type", "application/json")
        .send(json!({"state": "enabledForReportingButNotEnforced"}).to_string())
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(current_version(&base)["current"], 2);

    let shots = std::env::var_os("GARDIEN_CONSOLE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| work.path().join("shots"));
    std::fs::create_dir_all(&shots).unwrap();
    let axe_path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/console/node_modules/axe-core/axe.min.js");
    let axe = std::fs::read_to_string(&axe_path).ok();
    if axe.is_none() {
        eprintln!(
            "NOTE: axe-core not installed ({}): ran the built-in subset of its rules (npm ci --prefix crates/gardien/tests/console)",
            axe_path.display()
        );
    }
    let mut checks = Checks {
        axe,
        shots,
        pages: Vec::new(),
    };
    let d = Driver::start(
        &chromedriver,
        &chromium,
        &work.path().join("profile"),
        "en-US",
    );

    // The user's denial page: the correlation id to give the help desk.
    d.goto(&format!("{base}/v1/denial/{key}"));
    let dd = d.find_xpath("//dt[normalize-space()='Correlation ID']/following-sibling::dd[1]");
    let correlation = d.text_of(&dd).trim().to_owned();
    assert_eq!(correlation.len(), 36, "{correlation}");

    // Not signed in: the console sends to its login page.
    d.goto(&format!("{base}/console/signins"));
    d.wait_url("/console/login");
    checks.page(&d, "login");
    // The decision token does not open the console; a cancelled sign-in at the provider
    // opens no session.
    d.type_into("#token", DECISION_TOKEN);
    d.click("form[action='/console/login'] button[type=submit]");
    d.wait_text("This token does not open the console");
    d.click("a[href='/console/oidc/start']");
    d.wait_url("/authorize");
    d.click("#cancel");
    d.wait_url("/console/oidc/callback");
    d.wait_text("The identity provider did not sign you in");
    d.goto(&format!("{base}/console/signins"));
    d.wait_url("/console/login");
    // An account without a console role gets none.
    d.click("a[href='/console/oidc/start']");
    d.wait_url("/authorize");
    d.click("#as-nobody");
    d.wait_url("/console/oidc/callback");
    d.wait_text("Your account has no role");

    // The admin signs in at the provider.
    d.goto(&format!("{base}/console/login"));
    d.click("a[href='/console/oidc/start']");
    d.wait_url("/authorize");
    d.click("#as-admin");
    d.wait_url("/console/signins");
    d.wait_text("Ada Admin");

    // Finds the sign-in by its correlation id.
    d.type_into("#correlationId", &correlation);
    d.click("form.search button[type=submit]");
    d.wait_url("/console/signins");
    let page = d.source();
    assert!(
        page.contains(&correlation) && page.contains("Denied"),
        "{page}"
    );
    checks.page(&d, "signins");

    // Its trace: the decision, the policy that failed and why, what the user saw.
    d.click(&format!("a[href='/console/signins/{correlation}']"));
    d.wait_url(&format!("/console/signins/{correlation}"));
    let page = d.source();
    for expected in [
        "AADSTS53000",
        "CA04 Payroll in a browser needs a compliant device",
        "Device does not meet the security requirements",
        "data-action=\"makeDeviceCompliant\"",
        "compliantDevice",
        "Every policy of the set in force, in plain words",
    ] {
        assert!(page.contains(expected), "trace page lacks `{expected}`");
    }
    checks.page(&d, "signin");

    // The same two pages in a French browser, signed in with the same session.
    {
        let fr = Driver::start(
            &chromedriver,
            &chromium,
            &work.path().join("profile-fr"),
            "fr-FR",
        );
        fr.goto(&format!("{base}/console/login"));
        fr.call(
            "POST",
            "/cookie",
            Some(
                json!({"cookie": {"name": "gardien_console", "value": d.cookie("gardien_console"),
                "path": "/console", "httpOnly": true, "sameSite": "Strict"}}),
            ),
        );
        fr.goto(&format!(
            "{base}/console/signins?correlationId={correlation}"
        ));
        let page = fr.wait_text("<html lang=\"fr\">");
        assert!(
            page.contains("Refusée") && page.contains(&correlation),
            "{page}"
        );
        checks.check(&fr, "signins-fr", false);
        fr.goto(&format!("{base}/console/signins/{correlation}"));
        let page = fr.wait_text("<html lang=\"fr\">");
        assert!(page.contains("AADSTS53000"), "{page}");
        checks.check(&fr, "signin-fr", false);
    }

    // What if the device were compliant: allowed, by the same evaluator.
    d.click("#device option[value=compliant]");
    d.click("form[action$='/whatif'] button[type=submit]");
    d.wait_url("/whatif");
    d.wait_text("outcome-line");
    let outcome = d.text_of(&d.find(".outcome-line"));
    assert!(
        outcome.contains("Denied") && outcome.ends_with("Allowed"),
        "{outcome}"
    );
    checks.page(&d, "whatif");

    // Versions: the diff between 1 and 2 names CA04 and the decisions that change.
    d.goto(&format!("{base}/console/versions"));
    checks.page(&d, "versions");
    d.click("form[action='/console/versions/diff'] button[type=submit]");
    d.wait_url("/console/versions/diff");
    let page = d.source();
    assert!(
        page.contains("CA04 Payroll in a browser needs a compliant device (modified: state"),
        "{page}"
    );
    assert!(
        page.contains("deny 53000 (compliantDevice) → allow"),
        "{page}"
    );
    checks.page(&d, "diff");

    // The policy pages, on version 2 (CA04 report-only): every policy in plain words, the
    // coverage matrix (the Payroll cells CA04 would apply to marked), the lint findings, the
    // coverage gaps, the named locations, the device registry.
    for (path, name, expected) in POLICY_PAGES {
        d.goto(&format!("{base}{path}"));
        d.wait_text(expected);
        checks.page(&d, name);
    }
    d.goto(&format!("{base}/console/coverage"));
    let page = d.source();
    assert!(page.contains("Policy set in force: version 2"), "{page}");
    assert!(
        page.contains("report-only:</span> <a href=\"/console/policies#p-3\">CA04"),
        "{page}"
    );
    // Keyboard: from the skip link, Tab reaches the matrix's scrolling region (it scrolls
    // sideways at 360 px) and the links inside it.
    let focusable = d.script(
        "return Array.from(document.querySelectorAll('a[href], button, input, select, [tabindex]')).filter(e => e.tabIndex >= 0).map(e => e.className || e.tagName);",
    );
    assert!(
        focusable.as_array().unwrap().iter().any(|c| c == "table"),
        "{focusable}"
    );

    // A POST without the CSRF token, or with another one, is refused and changes nothing.
    let admin_cookie = d.cookie("gardien_console");
    let (status, body) = post_form(&base, "/console/versions/1/rollback", &admin_cookie, &[]);
    assert_eq!(status, 403);
    assert!(body.contains("security token"), "{body}");
    let (status, _) = post_form(
        &base,
        "/console/versions/1/rollback",
        &admin_cookie,
        &[("csrf", "forged-token-forged-token-forged-token-0123")],
    );
    assert_eq!(status, 403);
    assert_eq!(current_version(&base)["current"], 2);

    // Rollback to version 1: version 3, audited with the actor.
    d.goto(&format!("{base}/console/versions"));
    d.click("form[action='/console/versions/1/rollback'] button[type=submit]");
    d.wait_url("/console/versions/1/rollback");
    d.wait_text("Version 1 is in force again, as version 3");
    let versions = current_version(&base);
    assert_eq!(versions["current"], 3);
    let v3 = versions["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["version"] == 3)
        .unwrap();
    assert_eq!(v3["author"], "console:user-ada");
    assert!(
        v3["summary"]
            .as_str()
            .unwrap()
            .starts_with("rollback to version 1")
    );
    let entry = audited(&base, "console:user-ada");
    assert_eq!(
        (
            &entry["role"],
            &entry["path"],
            &entry["status"],
            &entry["version"]
        ),
        (
            &json!("admin"),
            &json!("/console/versions/1/rollback"),
            &json!(200),
            &json!(3)
        )
    );

    // Sign out; the help desk signs in.
    d.click("form[action='/console/logout'] button[type=submit]");
    d.wait_url("/console/login");
    d.click("a[href='/console/oidc/start']");
    d.wait_url("/authorize");
    d.click("#as-reader");
    d.wait_url("/console/signins");
    assert!(
        !d.source().contains("/console/versions"),
        "readers have no versions link"
    );
    d.goto(&format!("{base}/console/signins/{correlation}"));
    let page = d.source();
    assert!(page.contains("AADSTS53000") && page.contains("Policy 1"));
    assert!(
        !page.contains("in plain words"),
        "no link to the policy pages at minimal"
    );
    for secret in secret_names() {
        assert!(
            !page.contains(&secret),
            "a reader at the minimal level sees `{secret}`"
        );
    }
    checks.page(&d, "signin-reader");
    // At `minimal`, no policy page for the help desk, and no link to one.
    assert!(!d.source().contains("/console/policies"));
    for (path, ..) in POLICY_PAGES {
        d.goto(&format!("{base}{path}"));
        d.wait_text("This page is for administrators");
        let page = d.source();
        for secret in secret_names() {
            assert!(
                !page.contains(&secret),
                "{path} shows `{secret}` to a reader"
            );
        }
    }
    d.goto(&format!("{base}/console/versions"));
    d.wait_text("This page is for administrators");
    let reader_cookie = d.cookie("gardien_console");
    let csrf = csrf_of(&d.source());
    let (status, body) = post_form(
        &base,
        "/console/versions/2/rollback",
        &reader_cookie,
        &[("csrf", &csrf)],
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("This page is for administrators"));
    assert_eq!(current_version(&base)["current"], 3);
    let entry = audited(&base, "console:user-helen");
    assert_eq!(
        (&entry["role"], &entry["status"]),
        (&json!("reader"), &json!(403))
    );

    // The admin token also signs in (role admin).
    d.click("form[action='/console/logout'] button[type=submit]");
    d.wait_url("/console/login");
    d.type_into("#token", TOKEN);
    d.click("form[action='/console/login'] button[type=submit]");
    d.wait_url("/console/signins");
    d.wait_text("/console/versions");

    assert_eq!(
        *idp.redeemed.lock().unwrap(),
        ["nobody", "admin", "reader"],
        "every code redeemed once, with PKCE"
    );
    eprintln!(
        "console pages checked ({}): {}",
        if checks.axe.is_some() {
            "axe-core WCAG 2.1 AA"
        } else {
            "built-in checks"
        },
        checks.pages.join(", ")
    );
    drop(d);
    drop(_log);
    drop(server);
    rt.shutdown_timeout(Duration::from_secs(1));
}
