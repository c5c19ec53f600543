#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! The console over HTTP, without a browser (runs everywhere; the browser test is
//! `crates/gardien/tests/console_chromium.rs`): headers and cookies, the token login (the
//! decision token refused, login CSRF), sessions that are tampered with, and every way an
//! OpenID Connect sign-in can fail (provider error, unknown state, missing state cookie,
//! code refused by the token endpoint, wrong nonce, wrong audience, another key, no role),
//! against an in-process fake token endpoint that checks PKCE. The policy pages (policies,
//! coverage, lint, gaps, named locations, devices) for each role and disclosure level.

#[allow(dead_code, reason = "shared support: not every test uses all of it")]
#[path = "support/demo.rs"]
mod demo;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Form, State};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use demo::{TOKEN, demo_options};
use gardien_server::{AppState, ServerConfig, StartOptions, router};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::RsaKeyPair;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

const CLIENT_ID: &str = "gardien-console";
const DECISION_TOKEN: &str = "test-decision-token-0123456789";
const READER_TOKEN: &str = "test-reader-token-0123456789";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the fake token endpoint answers for a code, and what it checks.
#[derive(Default)]
struct Provider {
    issuer: String,
    /// What `/.well-known/openid-configuration` answers: `good`, `other-issuer`, `missing`
    /// (404), `http-endpoint` (a token endpoint on plain HTTP to another host).
    discovery: String,
    /// Discovery documents served.
    discovered: usize,
    /// The PKCE challenge and nonce of the pending sign-in (the test copies them from the
    /// authorization redirect, as a provider would keep them).
    challenge: String,
    nonce: String,
    /// Codes redeemed with a verifier that matched the challenge.
    pkce_ok: Vec<String>,
}

struct Keys {
    good: EncodingKey,
    other: EncodingKey,
    jwks: Value,
}

fn keys() -> Keys {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/identity/test_rsa_key.b64"),
    )
    .unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap();
    let pair = RsaKeyPair::from_der(&der).unwrap();
    let c: ring::rsa::PublicKeyComponents<Vec<u8>> = pair.public().into();
    // "Another key": an HMAC secret under the same kid, which the RSA JWKS cannot verify.
    Keys {
        good: EncodingKey::from_rsa_der(&der),
        other: EncodingKey::from_secret(b"not the provider's key"),
        jwks: json!({"keys": [{"kty": "RSA", "use": "sig", "kid": "k1", "alg": "RS256",
                               "n": b64(&c.n), "e": b64(&c.e)}]}),
    }
}

type Shared = Arc<(Mutex<Provider>, Keys)>;

async fn token_endpoint(
    State(shared): State<Shared>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let (provider, keys) = &*shared;
    let mut p = provider.lock().unwrap();
    let code = f.get("code").cloned().unwrap_or_default();
    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
    let challenge = b64(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()).as_ref());
    if challenge != p.challenge || code == "refused" {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    }
    p.pkce_ok.push(code.clone());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut claims = json!({"iss": p.issuer, "aud": CLIENT_ID, "sub": "u1", "oid": "u1",
        "name": "Una", "nonce": p.nonce, "exp": now + 600, "iat": now,
        "groups": ["Console.Admin"], "roles": ["Console.Reader"]});
    let mut alg = Algorithm::RS256;
    match code.as_str() {
        "wrong-nonce" => claims["nonce"] = json!("someone else's"),
        "wrong-audience" => claims["aud"] = json!("another-app"),
        "no-role" => claims["roles"] = json!(["Payroll.User"]),
        "other-key" => alg = Algorithm::HS256,
        _ => {}
    }
    let mut header = Header::new(alg);
    header.kid = Some("k1".into());
    let key = if alg == Algorithm::HS256 {
        &keys.other
    } else {
        &keys.good
    };
    let id_token = jsonwebtoken::encode(&header, &claims, key).unwrap();
    axum::Json(json!({"id_token": id_token, "token_type": "Bearer"})).into_response()
}

/// The fake provider's discovery document.
async fn discovery(State(shared): State<Shared>) -> Response {
    let (provider, _) = &*shared;
    let mut p = provider.lock().unwrap();
    p.discovered += 1;
    let issuer = p.issuer.clone();
    let mut doc = json!({"issuer": issuer, "authorization_endpoint": "https://idp.test/authorize?tenant=t1",
        "token_endpoint": format!("{issuer}/token"), "jwks_uri": format!("{issuer}/keys"),
        "response_types_supported": ["code"]});
    match p.discovery.as_str() {
        "missing" => return StatusCode::NOT_FOUND.into_response(),
        "other-issuer" => doc["issuer"] = json!("https://login.example/other/v2.0"),
        "http-endpoint" => doc["token_endpoint"] = json!("http://idp.test/token"),
        _ => {}
    }
    axum::Json(doc).into_response()
}

struct Console {
    app: Router,
    shared: Shared,
    state: Arc<AppState>,
    _dir: tempfile::TempDir,
}

async fn console(roles_claim: &str) -> Console {
    console_with(
        roles_claim,
        "login_attempts_per_minute = 100",
        true,
        demo_options(),
    )
    .await
}

/// A console whose `[console]` section has `extra` too, whose `[console.oidc]` names its
/// endpoints or (`endpoints` false) discovers them, started with `options`.
async fn console_with(
    roles_claim: &str,
    extra: &str,
    endpoints: bool,
    options: StartOptions,
) -> Console {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, keys.jwks.to_string()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let shared: Shared = Arc::new((
        Mutex::new(Provider {
            issuer: issuer.clone(),
            ..Provider::default()
        }),
        keys,
    ));
    let idp = Router::new()
        .route("/token", axum::routing::post(token_endpoint))
        .route(
            "/.well-known/openid-configuration",
            axum::routing::get(discovery),
        )
        .with_state(shared.clone());
    tokio::spawn(async move { axum::serve(listener, idp).await });
    let config = format!(
        r#"
[store]
path = "{db}"
[identity.jwt]
issuer = "{issuer}"
audiences = ["{CLIENT_ID}"]
jwks_file = "{jwks}"
[admin]
token_sha256 = "{admin}"
decision_token_sha256 = "{decision}"
[[admin.tokens]]
name = "helpdesk"
sha256 = "{reader}"
role = "reader"
[console]
public_url = "http://gardien.test"
{extra}
[console.oidc]
issuer = "{issuer}"
client_id = "{CLIENT_ID}"
{endpoints}
roles_claim = "{roles_claim}"
reader_roles = ["Console.Reader"]
admin_roles = ["Console.Admin"]
"#,
        db = dir.path().join("g.db").display(),
        jwks = jwks.display(),
        admin = gardien_server::state::hash_token(TOKEN),
        decision = gardien_server::state::hash_token(DECISION_TOKEN),
        reader = gardien_server::state::hash_token(READER_TOKEN),
        endpoints = if endpoints {
            format!(
                "authorization_endpoint = \"https://idp.test/authorize?tenant=t1\"\ntoken_endpoint = \"{issuer}/token\""
            )
        } else {
            String::new()
        },
    );
    let config = ServerConfig::parse("t.toml", &config).unwrap();
    let state = AppState::start(config, options).await.unwrap();
    Console {
        app: router(state.clone()),
        shared,
        state,
        _dir: dir,
    }
}

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `Set-Cookie` of cookie `name`.
    fn set_cookie(&self, name: &str) -> String {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .unwrap_or_default()
            .to_owned()
    }

    /// The value of cookie `name` as set.
    fn cookie(&self, name: &str) -> String {
        let c = self.set_cookie(name);
        c.split(';')
            .next()
            .unwrap_or("")
            .split_once('=')
            .map(|(_, v)| v.to_owned())
            .unwrap_or_default()
    }
}

async fn send(app: &Router, req: Request<Body>) -> Reply {
    send_from(app, req, [127, 0, 0, 1]).await
}

/// Sends from client address `ip`.
async fn send_from(app: &Router, mut req: Request<Body>, ip: [u8; 4]) -> Reply {
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
    let r = app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn get(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header("host", "gardien.test")
        .header("cookie", cookie)
        .body(Body::empty())
        .unwrap()
}

/// A form POST as the browser sends it from a console page (with the console's `Origin`).
fn post(uri: &str, cookie: &str, form: &str) -> Request<Body> {
    post_with(uri, cookie, form, &[("origin", "http://gardien.test")])
}

/// A form POST with these extra headers (`origin`, `referer`).
fn post_with(uri: &str, cookie: &str, form: &str, extra: &[(&str, &str)]) -> Request<Body> {
    let mut r = Request::post(uri)
        .header("host", "gardien.test")
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in extra {
        r = r.header(*k, *v);
    }
    r.body(Body::from(form.to_owned())).unwrap()
}

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

fn query_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn pages_need_a_session_and_every_answer_carries_the_headers() {
    let c = console("roles").await;
    let r = send(&c.app, get("/console/signins", "")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), "/console/login");
    assert_eq!(
        r.header("content-security-policy"),
        gardien_server::console::CSP
    );
    let r = send(&c.app, get("/console/login", "")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("content-security-policy"),
        gardien_server::console::CSP
    );
    assert_eq!(r.header("x-frame-options"), "DENY");
    assert_eq!(r.header("cache-control"), "no-store");
    assert!(!r.body.contains("<script"), "no script at all");
    assert!(!r.body.contains("style="), "no inline style");
    assert!(r.body.contains("href=\"/console/oidc/start\""));
    let login = r.set_cookie("gardien_console_login");
    assert!(
        login.contains("HttpOnly") && login.contains("SameSite=Strict"),
        "{login}"
    );
    // http:// public URL: no Secure (an https:// one sets it: unit test of the config).
    assert!(!login.contains("Secure"), "{login}");
    let css = send(&c.app, get("/console/static/console.css", "")).await;
    assert_eq!(css.header("content-type"), "text/css; charset=utf-8");
    assert!(css.body.contains("prefers-color-scheme: dark"));
    // French.
    let fr = Request::get("/console/login")
        .header("accept-language", "fr-CA,fr;q=0.9")
        .body(Body::empty())
        .unwrap();
    let r = send(&c.app, fr).await;
    assert!(r.body.contains("<html lang=\"fr\"") && r.body.contains("Connexion à la console"));
}

#[tokio::test]
async fn only_the_admin_token_logs_in_and_only_with_the_login_form_token() {
    let c = console("roles").await;
    let page = send(&c.app, get("/console/login", "")).await;
    let cookie = format!(
        "gardien_console_login={}",
        page.cookie("gardien_console_login")
    );
    let csrf = csrf_of(&page.body);
    // The decision token does not open the console.
    let r = send(
        &c.app,
        post(
            "/console/login",
            &cookie,
            &format!("csrf={csrf}&token={DECISION_TOKEN}"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("This token does not open the console"));
    assert!(r.set_cookie("gardien_console").is_empty());
    // Without the login cookie (a forged cross-site form), even the admin token is refused.
    let r = send(
        &c.app,
        post("/console/login", "", &format!("csrf={csrf}&token={TOKEN}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The admin token: an admin session.
    let r = send(
        &c.app,
        post(
            "/console/login",
            &cookie,
            &format!("csrf={csrf}&token={TOKEN}"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let session = r.set_cookie("gardien_console");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(session.contains(flag), "{session}");
    }
    let cookie = format!("gardien_console={}", r.cookie("gardien_console"));
    let r = send(&c.app, get("/console/versions", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("token:admin"));
    // A session cookie changed by one character is no session.
    let mut tampered = cookie.clone().into_bytes();
    let i = tampered.len() - 5;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let r = send(
        &c.app,
        get("/console/versions", &String::from_utf8(tampered).unwrap()),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // Sign-out without the CSRF token is refused; with it, the cookie is cleared.
    let page = send(&c.app, get("/console/signins", &cookie)).await;
    let r = send(&c.app, post("/console/logout", &cookie, "")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        &c.app,
        post(
            "/console/logout",
            &cookie,
            &format!("csrf={}", csrf_of(&page.body)),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.set_cookie("gardien_console").contains("Max-Age=0"));
}

#[tokio::test]
async fn a_named_reader_token_opens_a_reader_session() {
    let c = console("roles").await;
    let page = send(&c.app, get("/console/login", "")).await;
    let cookie = format!(
        "gardien_console_login={}",
        page.cookie("gardien_console_login")
    );
    let r = send(
        &c.app,
        post(
            "/console/login",
            &cookie,
            &format!("csrf={}&token={READER_TOKEN}", csrf_of(&page.body)),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let cookie = format!("gardien_console={}", r.cookie("gardien_console"));
    let r = send(&c.app, get("/console/signins", &cookie)).await;
    assert!(r.body.contains("token:helpdesk") && r.body.contains(">reader<"));
    assert!(!r.body.contains("/console/versions"));
    let r = send(&c.app, get("/console/versions", &cookie)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

/// Starts an OIDC sign-in: the state cookie, and the provider's copy of the challenge and
/// nonce.
async fn start(c: &Console) -> (String, String) {
    let r = send(&c.app, get("/console/oidc/start", "")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let location = r.header("location").to_owned();
    assert!(
        location.starts_with("https://idp.test/authorize?tenant=t1&response_type=code&client_id=gardien-console&redirect_uri=http%3A%2F%2Fgardien.test%2Fconsole%2Foidc%2Fcallback"),
        "{location}"
    );
    assert_eq!(query_param(&location, "code_challenge_method"), "S256");
    {
        let mut p = c.shared.0.lock().unwrap();
        p.challenge = query_param(&location, "code_challenge");
        p.nonce = query_param(&location, "nonce");
    }
    let cookie = r.set_cookie("gardien_console_oidc");
    assert!(
        cookie.contains("SameSite=Lax") && cookie.contains("Path=/console/oidc"),
        "{cookie}"
    );
    (
        format!("gardien_console_oidc={}", r.cookie("gardien_console_oidc")),
        query_param(&location, "state"),
    )
}

async fn callback(c: &Console, code: &str) -> Reply {
    let (cookie, state) = start(c).await;
    send(
        &c.app,
        get(
            &format!("/console/oidc/callback?code={code}&state={state}"),
            &cookie,
        ),
    )
    .await
}

#[tokio::test]
async fn oidc_sign_in_fails_closed_and_succeeds_only_when_everything_checks() {
    let c = console("roles").await;
    // The provider refused.
    let (cookie, state) = start(&c).await;
    let r = send(
        &c.app,
        get(
            &format!("/console/oidc/callback?error=access_denied&state={state}"),
            &cookie,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("did not sign you in"));
    // Another state, or no state cookie (a callback the browser did not start).
    let r = send(
        &c.app,
        get("/console/oidc/callback?code=ok&state=forged", &cookie),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("unknown or has expired"));
    let r = send(
        &c.app,
        get(&format!("/console/oidc/callback?code=ok&state={state}"), ""),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // The token endpoint refuses the code; the ID token has another nonce, another audience,
    // another key; the user has no console role.
    for (code, status, text) in [
        ("refused", StatusCode::BAD_GATEWAY, "could not be verified"),
        (
            "wrong-nonce",
            StatusCode::UNAUTHORIZED,
            "could not be verified",
        ),
        (
            "wrong-audience",
            StatusCode::UNAUTHORIZED,
            "could not be verified",
        ),
        (
            "other-key",
            StatusCode::UNAUTHORIZED,
            "could not be verified",
        ),
        ("no-role", StatusCode::FORBIDDEN, "no role"),
    ] {
        let r = callback(&c, code).await;
        assert_eq!(r.status, status, "{code}: {}", r.body);
        assert!(r.body.contains(text), "{code}: {}", r.body);
        assert!(r.set_cookie("gardien_console").is_empty(), "{code}");
        assert!(
            r.set_cookie("gardien_console_oidc").contains("Max-Age=0"),
            "{code}: the state cookie is spent"
        );
    }
    // Everything checks: a reader session, PKCE verified by the provider.
    let r = callback(&c, "ok").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("http-equiv=\"refresh\""));
    let cookie = format!("gardien_console={}", r.cookie("gardien_console"));
    let page = send(&c.app, get("/console/signins", &cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Una") && page.body.contains(">reader<"));
    let r = send(&c.app, get("/console/versions", &cookie)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        c.shared
            .0
            .lock()
            .unwrap()
            .pkce_ok
            .contains(&"ok".to_owned())
    );
}

#[tokio::test]
async fn the_roles_claim_is_configurable() {
    // Roles read from `groups`, where the token says Console.Admin.
    let c = console("groups").await;
    let r = callback(&c, "ok").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let cookie = format!("gardien_console={}", r.cookie("gardien_console"));
    let r = send(&c.app, get("/console/versions", &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Opens a session with an admin API token (admin or the named reader): its cookie.
async fn token_session(c: &Console, token: &str) -> String {
    token_session_on(&c.app, token).await
}

/// The session cookie of a token login on `app`.
async fn token_session_on(app: &Router, token: &str) -> String {
    let page = send(app, get("/console/login", "")).await;
    let cookie = format!(
        "gardien_console_login={}",
        page.cookie("gardien_console_login")
    );
    let r = send(
        app,
        post(
            "/console/login",
            &cookie,
            &format!("csrf={}&token={token}", csrf_of(&page.body)),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    format!("gardien_console={}", r.cookie("gardien_console"))
}

#[tokio::test]
async fn sign_out_revokes_the_session_in_the_store() {
    let c = console("roles").await;
    let cookie = token_session(&c, TOKEN).await;
    let other = token_session(&c, TOKEN).await;
    let page = send(&c.app, get("/console/signins", &cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    let r = send(
        &c.app,
        post(
            "/console/logout",
            &cookie,
            &format!("csrf={}", csrf_of(&page.body)),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // The cookie, kept by the browser or copied by someone, no longer opens a session.
    let r = send(&c.app, get("/console/signins", &cookie)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), "/console/login");
    // Another session of the same token stays open.
    let r = send(&c.app, get("/console/signins", &other)).await;
    assert_eq!(r.status, StatusCode::OK);
    // The revocation is in the store: a server started on it (a restart, another replica)
    // refuses the session too.
    let value = cookie.split_once('=').unwrap().1;
    let session = c.state.console.sealer.open_session(value, now()).unwrap();
    let restarted = AppState::start(c.state.config.clone(), demo_options())
        .await
        .unwrap();
    assert!(restarted.console.is_revoked(&session.sid));
    let kept = c
        .state
        .console
        .sealer
        .open_session(other.split_once('=').unwrap().1, now());
    assert!(!restarted.console.is_revoked(&kept.unwrap().sid));
}

#[tokio::test]
async fn expired_or_overlong_sessions_open_nothing() {
    use gardien_server::console::{ConsoleRole, Session};
    let c = console("roles").await;
    let seal = |exp: u64| {
        let s = Session {
            actor: "token:admin".into(),
            name: None,
            role: ConsoleRole::Admin,
            csrf: "c".repeat(43),
            exp,
            sid: "s".repeat(43),
        };
        format!(
            "gardien_console={}",
            c.state.console.sealer.seal_session(&s).unwrap()
        )
    };
    let status = |cookie: String| {
        let app = c.app.clone();
        async move { send(&app, get("/console/versions", &cookie)).await.status }
    };
    assert_eq!(status(seal(now() + 60)).await, StatusCode::OK);
    assert_eq!(
        status(seal(now() - 1)).await,
        StatusCode::SEE_OTHER,
        "expired"
    );
    // Longer than `session_minutes` (480) from now: not a session this configuration
    // gives (a lowered setting shortens the sessions already open).
    assert_eq!(
        status(seal(now() + 480 * 60 + 3600)).await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_client_address() {
    let c = console_with(
        "roles",
        "login_attempts_per_minute = 3",
        true,
        demo_options(),
    )
    .await;
    // The count is per minute: start well inside one.
    if now() % 60 > 50 {
        tokio::time::sleep(std::time::Duration::from_secs(61 - now() % 60)).await;
    }
    let page = send(&c.app, get("/console/login", "")).await;
    let cookie = format!(
        "gardien_console_login={}",
        page.cookie("gardien_console_login")
    );
    let csrf = csrf_of(&page.body);
    let attempt = |token: &str| {
        post(
            "/console/login",
            &cookie,
            &format!("csrf={csrf}&token={token}"),
        )
    };
    for _ in 0..3 {
        let r = send(&c.app, attempt("wrong-token-0123456789")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = send(&c.app, attempt("wrong-token-0123456789")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("Too many sign-in attempts"));
    let retry: u64 = r.header("retry-after").parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // The right token waits too: attempts are counted, not failures.
    let r = send(&c.app, attempt(TOKEN)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.set_cookie("gardien_console").is_empty());
    // The provider's callback counts as a sign-in attempt.
    let r = send(&c.app, get("/console/oidc/callback?code=x&state=y", "")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Each refusal is counted (the server's log gets one warning a minute about them, not a
    // line per attempt).
    let metrics = Request::get("/metrics")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let metrics = send(&c.app, metrics).await;
    assert!(
        metrics
            .body
            .lines()
            .any(|l| l == "gardien_console_logins_rate_limited_total 3"),
        "{}",
        metrics.body
    );
    // Another address signs in (two tried: a shared counter slot is possible, 1 in 4096).
    let mut others = Vec::new();
    for ip in [[192, 0, 2, 9], [198, 51, 100, 77]] {
        others.push(send_from(&c.app, attempt(TOKEN), ip).await.status);
    }
    assert!(others.contains(&StatusCode::SEE_OTHER), "{others:?}");
}

#[tokio::test]
async fn oidc_endpoints_are_discovered_from_the_issuer_and_checked() {
    let c = console_with("roles", "", false, demo_options()).await;
    for mode in ["missing", "other-issuer", "http-endpoint"] {
        c.shared.0.lock().unwrap().discovery = mode.into();
        let r = send(&c.app, get("/console/oidc/start", "")).await;
        assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{mode}");
        assert!(
            r.body.contains("configuration could not be read"),
            "{mode}: {}",
            r.body
        );
        assert!(r.set_cookie("gardien_console_oidc").is_empty(), "{mode}");
    }
    // Failures are not kept: with a good document the sign-in goes through the discovered
    // endpoints (`start` checks the authorization endpoint, the callback redeems the code
    // at the token endpoint), and the document is read once for both sign-ins.
    let read_before = {
        let mut p = c.shared.0.lock().unwrap();
        p.discovery = "good".into();
        p.discovered
    };
    for _ in 0..2 {
        let r = callback(&c, "ok").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(!r.cookie("gardien_console").is_empty());
    }
    assert_eq!(c.shared.0.lock().unwrap().discovered, read_before + 1);
}

#[tokio::test]
async fn writes_must_come_from_the_public_url() {
    let c = console("roles").await;
    let cookie = token_session(&c, TOKEN).await;
    let page = send(&c.app, get("/console/signins", &cookie)).await;
    let form = format!("csrf={}", csrf_of(&page.body));
    for headers in [
        vec![],
        vec![("origin", "https://evil.test")],
        vec![("origin", "null")],
        vec![("origin", "https://gardien.test")],
        vec![("referer", "https://evil.test/console/signins")],
        vec![
            ("origin", "null"),
            ("referer", "http://gardien.test.evil.test/"),
        ],
    ] {
        let r = send(
            &c.app,
            post_with("/console/logout", &cookie, &form, &headers),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(r.body.contains("security token"), "{headers:?}");
    }
    let r = send(&c.app, get("/console/signins", &cookie)).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "still signed in: nothing was done"
    );
    // No `Origin` (or `null`) but the `Referer` of a console page: accepted.
    let r = send(
        &c.app,
        post_with(
            "/console/logout",
            &cookie,
            &form,
            &[
                ("origin", "null"),
                ("referer", "http://gardien.test/console/signins"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // The login form too: a cross-site login is refused even with its cookie and token.
    let page = send(&c.app, get("/console/login", "")).await;
    let login = format!(
        "gardien_console_login={}",
        page.cookie("gardien_console_login")
    );
    let r = send(
        &c.app,
        post_with(
            "/console/login",
            &login,
            &format!("csrf={}&token={TOKEN}", csrf_of(&page.body)),
            &[("origin", "https://evil.test")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.set_cookie("gardien_console").is_empty());
}

const POLICY_PAGES: [&str; 6] = [
    "/console/policies",
    "/console/coverage",
    "/console/lint",
    "/console/gaps",
    "/console/locations",
    "/console/devices",
];

/// Marks the page of a policy page whose analysis is still being computed.
const COMPUTING: &str = "id=\"analysis-computing\"";

/// A policy page once the analysis of the version in force is ready: until then the page
/// says it is being computed, for that version, and links to itself and to its
/// self-reloading form (`?auto=1`); it never reloads itself unasked.
async fn ready(app: &Router, path: &str, cookie: &str) -> Reply {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let r = send(app, get(path, cookie)).await;
        if !r.body.contains(COMPUTING) {
            return r;
        }
        assert_computing(path, &r);
        assert!(
            std::time::Instant::now() < deadline,
            "{path}: not ready within 120 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The "being computed" page of `path` (with `auto=1` or not).
fn assert_computing(path: &str, r: &Reply) {
    assert_eq!(r.status, StatusCode::OK, "{path}");
    let plain = path.replace("?auto=1", "").replace("&auto=1", "");
    let auto = if plain.contains('?') {
        format!("{plain}&amp;auto=1")
    } else {
        format!("{plain}?auto=1")
    };
    let refresh = "<head><meta http-equiv=\"refresh\" content=\"5\">";
    if path.contains("auto=1") {
        assert!(r.body.contains(refresh), "{path}: {}", r.body);
        assert!(
            r.body
                .contains(&format!("<a href=\"{auto}\">Check again</a>"))
        );
        assert!(
            r.body
                .contains(&format!("<a href=\"{plain}\">Stop reloading</a>"))
        );
    } else {
        assert!(!r.body.contains("http-equiv"), "{path}: reloads unasked");
        assert!(
            r.body
                .contains(&format!("<a href=\"{plain}\">Check again</a>"))
        );
        assert!(r.body.contains(&format!(
            "<a href=\"{auto}\">Check again automatically every 5 seconds</a>"
        )));
    }
}

/// The demo tenant with CA06 in report-only.
fn ca06_report_only() -> StartOptions {
    let mut options = demo_options();
    let snapshot = options.initial_tenant.as_mut().unwrap();
    let ca06 = snapshot["policies"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["displayName"].as_str().unwrap().starts_with("CA06"))
        .unwrap();
    ca06["state"] = json!("enabledForReportingButNotEnforced");
    options
}

#[tokio::test]
async fn the_policy_pages_show_the_analysis_reports_to_admins() {
    let options = ca06_report_only();
    let tenant =
        gardien_server::snapshot::compile("t", options.initial_tenant.as_ref().unwrap()).unwrap();
    let c = console_with("roles", "", true, options).await;
    let admin = token_session(&c, TOKEN).await;
    let mut pages = HashMap::new();
    for path in POLICY_PAGES {
        let r = ready(&c.app, path, &admin).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        assert_eq!(
            r.header("content-security-policy"),
            gardien_server::console::CSP
        );
        assert!(
            !r.body.contains("<script") && !r.body.contains("style="),
            "{path}"
        );
        // Every page links to every other one.
        for other in POLICY_PAGES {
            assert!(
                r.body.contains(&format!("href=\"{other}\"")),
                "{path} → {other}"
            );
        }
        pages.insert(path, r.body);
    }
    // Policies: `gardien doc`'s words, report-only marked.
    let doc = gardien_analysis::doc::describe(
        &tenant.tenant,
        gardien_analysis::doc::DocOptions::default(),
    );
    let policies = &pages["/console/policies"];
    assert!(policies.contains("6 policies: 5 enabled, 1 report-only, 0 disabled"));
    assert!(policies.contains("CA06 Require MFA outside trusted networks <span class=\"badge challenge\">report-only</span>"));
    for p in &doc.policies {
        assert!(
            policies.contains(&format!("<code>{}</code>", p.grant)),
            "{}",
            p.grant
        );
        for (dimension, words) in &p.scope {
            let words = words
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('\'', "&#39;")
                .replace('"', "&quot;");
            assert!(
                policies.contains(&format!(
                    "<span class=\"cond\">{dimension}</span>: {words}</li>"
                )),
                "{dimension}: {words}"
            );
        }
    }
    // Coverage: the first location class's matrix, and the cells CA06 would apply to.
    let coverage = &pages["/console/coverage"];
    assert!(coverage.contains("<table class=\"matrix\">"));
    assert!(
        coverage.contains("<td class=\"cell k-block\">block"),
        "{coverage}"
    );
    assert!(coverage.contains("report-only:</span> <a href=\"/console/policies#p-5\">CA06"));
    assert!(coverage.contains("aria-current=\"page\""));
    let second = ready(&c.app, "/console/coverage?place=1", &admin).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_ne!(second.body, *coverage);
    let none = send(&c.app, get("/console/coverage?place=99", &admin)).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    let bad = send(&c.app, get("/console/coverage?place=x", &admin)).await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
    // Lint: `gardien lint`'s findings, with codes and policies.
    let report =
        gardien_analysis::lint::lint(&tenant, &gardien_analysis::lint::LintOptions::default());
    let lint = &pages["/console/lint"];
    for f in &report.findings {
        assert!(
            lint.contains(&format!("<code>{}</code></a> {}", f.code, f.name)),
            "{}",
            f.code
        );
    }
    assert!(lint.contains(&format!(
        "{} errors, {} warnings",
        report.summary.errors, report.summary.warnings
    )));
    // Gaps: `gardien gaps`'s report.
    let gaps = gardien_analysis::gaps::find_gaps(&tenant.tenant).unwrap();
    let page = &pages["/console/gaps"];
    assert!(
        page.contains(&format!(
            "{} gaps, {} of them reachable",
            gaps.summary.gaps, gaps.summary.attacker_reachable_gaps
        )),
        "{page}"
    );
    // Locations: the doc's words and who names them.
    let locations = &pages["/console/locations"];
    assert!(locations.contains("HQ egress") && locations.contains("EU countries"));
    assert!(
        locations.contains(
            "CA01 Block sign-ins from outside the EU</a> <span class=\"muted\">(excluded)</span>"
        ),
        "{locations}"
    );
    // Devices: compliance computed by the rules, with the reasons.
    let devices = &pages["/console/devices"];
    assert!(devices.contains("3 registered devices."));
    assert!(devices.contains("LAPTOP-ALICE") && devices.contains("PHONE-ALICE"));
    assert!(
        devices.contains("badge allow") && devices.contains("badge deny"),
        "{devices}"
    );
    // French.
    let fr = Request::get("/console/policies")
        .header("host", "gardien.test")
        .header("cookie", &admin)
        .header("accept-language", "fr")
        .body(Body::empty())
        .unwrap();
    let r = send(&c.app, fr).await;
    assert!(
        r.body.contains("Les stratégies en clair") && r.body.contains("rapport seul"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn readers_see_the_policy_pages_only_at_full_disclosure() {
    let c = console("roles").await;
    let reader = token_session(&c, READER_TOKEN).await;
    let r = send(&c.app, get("/console/signins", &reader)).await;
    assert!(!r.body.contains("/console/policies"), "no link either");
    for path in POLICY_PAGES {
        let r = send(&c.app, get(path, &reader)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert!(
            !r.body.contains("CA0") && !r.body.contains("LAPTOP"),
            "{path}"
        );
        let r = send(&c.app, get(path, "")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
    }
    let c = console_with(
        "roles",
        "reader_disclosure = \"detailed\"",
        true,
        demo_options(),
    )
    .await;
    let reader = token_session(&c, READER_TOKEN).await;
    for path in POLICY_PAGES {
        let r = send(&c.app, get(path, &reader)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
    let c = console_with(
        "roles",
        "reader_disclosure = \"full\"",
        true,
        demo_options(),
    )
    .await;
    let reader = token_session(&c, READER_TOKEN).await;
    let r = send(&c.app, get("/console/signins", &reader)).await;
    assert!(
        r.body.contains("href=\"/console/policies\""),
        "the links, at full"
    );
    assert!(!r.body.contains("/console/versions"));
    for path in POLICY_PAGES {
        let r = ready(&c.app, path, &reader).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(r.body.contains(">reader<"), "{path}");
    }
    // Still no version history or rollback.
    let r = send(&c.app, get("/console/versions", &reader)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_policy_pages_escape_every_name() {
    let mut options = demo_options();
    let snapshot = options.initial_tenant.as_mut().unwrap();
    for p in snapshot["policies"].as_array_mut().unwrap() {
        let name = p["displayName"].as_str().unwrap().to_owned();
        p["displayName"] = json!(format!("{name} <script>alert(1)</script>"));
    }
    for l in snapshot["namedLocations"].as_array_mut().unwrap() {
        l["displayName"] = json!("<img src=x onerror=alert(2)>");
    }
    for d in options.initial_devices.as_mut().unwrap() {
        d["displayName"] = json!("<iframe src=//evil>");
    }
    let c = console_with("roles", "", true, options).await;
    let admin = token_session(&c, TOKEN).await;
    for path in POLICY_PAGES
        .into_iter()
        .chain(["/console/coverage?place=1"])
    {
        let r = ready(&c.app, path, &admin).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        for raw in ["<script", "<img", "<iframe"] {
            assert!(!r.body.contains(raw), "{path} has a raw `{raw}`");
        }
    }
    let r = send(&c.app, get("/console/devices", &admin)).await;
    assert!(r.body.contains("&lt;iframe src=//evil&gt;"));
    let r = send(&c.app, get("/console/policies", &admin)).await;
    assert!(
        r.body
            .contains("CA01 Block sign-ins from outside the EU &lt;script&gt;")
    );
}

/// Waits until every analysis of the version in force is computed, without any page asking
/// for it (they are computed when the version comes into force).
async fn computed_ahead(state: &AppState) {
    let live = state.live.load_full();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !state
        .console
        .analyses
        .results(&live)
        .is_some_and(|r| r.complete())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "version {} not computed ahead",
            live.version
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Every policy page's analysis page of `version`: the page for that version (being computed,
/// or ready), never another version's.
async fn analysis_pages(app: &Router, cookie: &str, version: i64) -> HashMap<&'static str, String> {
    let line = format!("Policy set in force: version {version}.");
    let mut pages = HashMap::new();
    for path in [
        "/console/policies",
        "/console/coverage",
        "/console/lint",
        "/console/gaps",
    ] {
        // At once (being computed or ready), then ready: always this version's.
        let first = send(app, get(&format!("{path}?auto=1"), cookie)).await;
        assert!(first.body.contains(&line), "{path}: {}", first.body);
        if first.body.contains(COMPUTING) {
            assert_computing(&format!("{path}?auto=1"), &first);
        }
        let r = ready(app, path, cookie).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(r.body.contains(&line), "{path}: {}", r.body);
        pages.insert(path, r.body);
    }
    pages
}

#[tokio::test]
async fn the_policy_pages_show_the_analyses_of_each_version_as_it_comes_into_force() {
    let options = demo_options();
    let snapshot = options.initial_tenant.clone().unwrap();
    let ca06 = snapshot["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["displayName"].as_str().unwrap().starts_with("CA06"))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = console_with("roles", "", true, options).await;
    let admin = token_session(&c, TOKEN).await;
    let marked = "CA06 Require MFA outside trusted networks <span class=\"badge challenge\">report-only</span>";
    let counts = |report_only: usize| {
        format!(
            "6 policies: {} enabled, {report_only} report-only, 0 disabled.",
            6 - report_only
        )
    };
    // Version 1, computed at start.
    computed_ahead(&c.state).await;
    let v1 = analysis_pages(&c.app, &admin, 1).await;
    assert!(v1["/console/policies"].contains(&counts(0)));
    assert!(!v1["/console/policies"].contains(marked));
    assert!(!v1["/console/coverage"].contains("report-only:</span> <a"));

    // Version 2 through the admin API (CA06 report-only): the pages show its analyses, the
    // first request after the change included.
    let r = send(
        &c.app,
        Request::patch(format!("/v1.0/identity/conditionalAccess/policies/{ca06}"))
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("x-gardien-author", "alice-admin")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"state": "enabledForReportingButNotEnforced"}).to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert!(r.status.is_success(), "{}: {}", r.status, r.body);
    assert_eq!(c.state.live.load().version, 2);
    computed_ahead(&c.state).await;
    let v2 = analysis_pages(&c.app, &admin, 2).await;
    assert!(v2["/console/policies"].contains(&counts(1)));
    assert!(v2["/console/policies"].contains(marked));
    assert!(
        v2["/console/coverage"]
            .contains("report-only:</span> <a href=\"/console/policies#p-5\">CA06"),
        "{}",
        v2["/console/coverage"]
    );
    let tenant = gardien_server::snapshot::compile("t", &c.state.live.load().snapshot).unwrap();
    let gaps = gardien_analysis::gaps::find_gaps(&tenant.tenant).unwrap();
    assert!(v2["/console/gaps"].contains(&format!(
        "{} gaps, {} of them reachable",
        gaps.summary.gaps, gaps.summary.attacker_reachable_gaps
    )));

    // Version 3, a rollback to version 1 from the console: version 1's words again, under
    // version 3.
    let page = send(&c.app, get("/console/versions", &admin)).await;
    let r = send(
        &c.app,
        post(
            "/console/versions/1/rollback",
            &admin,
            &format!("csrf={}", csrf_of(&page.body)),
        ),
    )
    .await;
    assert!(
        r.status.is_success() || r.status.is_redirection(),
        "{}",
        r.body
    );
    assert_eq!(c.state.live.load().version, 3);
    computed_ahead(&c.state).await;
    let v3 = analysis_pages(&c.app, &admin, 3).await;
    assert!(v3["/console/policies"].contains(&counts(0)));
    assert!(!v3["/console/policies"].contains(marked));
    for path in ["/console/policies", "/console/coverage"] {
        assert_eq!(
            v3[path].replace("version 3.", "version 1."),
            v1[path].as_str(),
            "{path}: version 1's description again"
        );
    }
}

#[tokio::test]
async fn without_the_console_no_analysis_is_computed() {
    let c = console_with("roles", "enabled = false", true, demo_options()).await;
    let r = send(&c.app, get("/console/policies", "")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A console that is served computes the demo's analyses in milliseconds; this one never
    // starts.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let live = c.state.live.load_full();
    assert!(c.state.console.analyses.results(&live).is_none());
}

#[tokio::test]
async fn a_replica_shows_the_analyses_of_a_version_another_replica_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let config = || {
        ServerConfig::parse(
            "t.toml",
            &format!(
                "[store]\npath = \"{}\"\n[admin]\ntoken_sha256 = \"{}\"\n[console]\npublic_url = \"http://gardien.test\"\n",
                dir.path().join("g.db").display(),
                gardien_server::state::hash_token(TOKEN)
            ),
        )
        .unwrap()
    };
    let options = demo_options();
    let ca06 = options.initial_tenant.as_ref().unwrap()["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["displayName"].as_str().unwrap().starts_with("CA06"))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = AppState::start(config(), options).await.unwrap();
    let b = AppState::start(config(), demo_options()).await.unwrap();
    let (app_a, app_b) = (router(a.clone()), router(b.clone()));
    let admin = token_session_on(&app_b, TOKEN).await;
    let marked = "CA06 Require MFA outside trusted networks <span class=\"badge challenge\">report-only</span>";
    let v1 = ready(&app_b, "/console/policies", &admin).await;
    assert!(v1.body.contains("Policy set in force: version 1."));
    assert!(!v1.body.contains(marked));
    // Written through A; B puts it in force (the periodic check, or a notification).
    let r = send(
        &app_a,
        Request::patch(format!("/v1.0/identity/conditionalAccess/policies/{ca06}"))
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"state": "enabledForReportingButNotEnforced"}).to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert!(r.status.is_success(), "{}: {}", r.status, r.body);
    assert_eq!(b.sync_policy().await.unwrap(), 2);
    computed_ahead(&b).await;
    let v2 = analysis_pages(&app_b, &admin, 2).await;
    assert!(v2["/console/policies"].contains(marked));
    assert!(
        v2["/console/coverage"]
            .contains("report-only:</span> <a href=\"/console/policies#p-5\">CA06")
    );
}
