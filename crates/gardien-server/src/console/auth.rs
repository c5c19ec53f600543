//! Signing in to the console, and out.
//!
//! - **Admin token**: the login form takes an `[admin]` token (`token_sha256`, or a named
//!   `[[admin.tokens]]` entry) and gives its role (`reader` or `admin`); the session's actor
//!   is `token:<name>`. The decision and metrics tokens do not open the console, and
//!   neither does demo mode. The form itself is protected by a sealed anti-forgery cookie
//!   (double submit: the cookie's token must be the form's).
//! - **OpenID Connect** (`[console.oidc]`): authorization code with PKCE (`S256`), `state`
//!   and `nonce`, kept in a sealed, short-lived cookie (`SameSite=Lax`: it must come back on
//!   the provider's redirect). The ID token from the token endpoint is verified by the
//!   `[identity]` issuer of the same name (signature, `iss`, `aud` = client id, expiry), its
//!   `nonce` must be ours, and the configured roles claim gives the role (admin values win;
//!   no known value, no session). Every failure is a page saying what went wrong, and no
//!   session.
//!
//! After the provider's redirect the session cookie is set on a page that moves on to the
//! console by itself (`<meta http-equiv="refresh">`, no script): a `SameSite=Strict` cookie
//! set on a cross-site redirect chain would not be sent on the next request of that chain.

use super::page::{e, html, layout, refusal, t, te, url};
use super::session::{CookieRules, Purpose, b64, cookie, set_cookie};
use super::{ConsoleRole, CsrfForm, SESSION_COOKIE, Session, lang, now_s};
use crate::state::AppState;
use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;

const LOGIN_COOKIE: &str = "gardien_console_login";
const OIDC_COOKIE: &str = "gardien_console_oidc";
/// How long a sign-in at the provider may take.
const OIDC_STATE_SECONDS: u64 = 600;

fn login_rules(secure: bool) -> CookieRules {
    CookieRules {
        path: "/console/login",
        strict: true,
        secure,
    }
}

fn oidc_rules(secure: bool) -> CookieRules {
    CookieRules {
        path: "/console/oidc",
        strict: false,
        secure,
    }
}

fn with_cookie(mut response: Response, value: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// `GET /console/login`: the sign-in choices that are configured.
pub async fn login_page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    login_form(&state, &headers, StatusCode::OK, None)
}

fn login_form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    notice: Option<&str>,
) -> Response {
    let lang = lang(headers);
    let mut body = String::new();
    if let Some(key) = notice {
        body.push_str(&format!(
            "<p class=\"notice error\" role=\"alert\">{}</p>",
            te(lang, key)
        ));
    }
    let console = &state.console;
    let mut anti_forgery = None;
    if let Some(oidc) = &state.config.console.oidc {
        let label = oidc
            .label
            .clone()
            .unwrap_or_else(|| t(lang, "oidc-default-label").to_owned());
        body.push_str(&format!(
            "<p><a class=\"button\" href=\"/console/oidc/start\">{} {}</a></p>",
            te(lang, "oidc-sign-in"),
            e(&label)
        ));
    }
    if state.has_admin_tokens() {
        let token = console.sealer.token();
        let sealed = console.sealer.seal(Purpose::Login, token.as_bytes());
        body.push_str(&format!(
            "<form class=\"card\" method=\"post\" action=\"/console/login\">\
<h2>{heading}</h2><p class=\"muted\">{hint}</p>\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<div class=\"field\"><label for=\"token\">{label}</label>\
<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required></div>\
<button type=\"submit\">{submit}</button></form>",
            heading = te(lang, "login-token-heading"),
            hint = te(lang, "login-token-hint"),
            csrf = e(&token),
            label = te(lang, "login-token-label"),
            submit = te(lang, "login-submit"),
        ));
        anti_forgery = sealed;
    }
    if state.config.console.oidc.is_none() && !state.has_admin_tokens() {
        body.push_str(&format!(
            "<p class=\"notice\">{}</p>",
            te(lang, "login-none-configured")
        ));
    }
    let response = html(status, layout(lang, None, t(lang, "login-title"), &body));
    match anti_forgery {
        Some(v) => with_cookie(
            response,
            &set_cookie(LOGIN_COOKIE, &v, login_rules(console.secure), 900),
        ),
        None => response,
    }
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    csrf: Option<String>,
    token: Option<String>,
}

/// `POST /console/login`: an admin API token opens a session with its role.
pub async fn login(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    if let Err(r) = rate_limit(&state, peer, &headers) {
        return *r;
    }
    if !super::same_origin(state.config.console.public_url.as_deref(), &headers) {
        tracing::warn!("console: login from another origin (or none named) refused");
        return login_form(&state, &headers, StatusCode::FORBIDDEN, Some("error-csrf"));
    }
    let Ok(Form(form)) = form else {
        return login_form(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            Some("error-csrf"),
        );
    };
    let expected = cookie(&headers, LOGIN_COOKIE)
        .and_then(|c| state.console.sealer.open(Purpose::Login, c))
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    if !super::session::csrf_matches(&expected, form.csrf.as_deref()) {
        tracing::warn!("console: login without a valid anti-forgery token refused");
        return login_form(&state, &headers, StatusCode::FORBIDDEN, Some("error-csrf"));
    }
    let token = form.token.unwrap_or_default();
    let Some(caller) = state.console_token(&token) else {
        tracing::warn!("console: login with a token that is not an admin token refused");
        return login_form(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            Some("error-bad-token"),
        );
    };
    let actor = format!("token:{}", caller.name);
    let role = ConsoleRole::from(caller.role);
    start_session(&state, actor.clone(), None, role)
        .map(|cookie_value| {
            tracing::info!(%actor, role = role.as_str(), "console: signed in");
            let r = super::redirect("/console/signins");
            let r = with_cookie(r, &cookie_value);
            with_cookie(
                r,
                &set_cookie(LOGIN_COOKIE, "", login_rules(state.console.secure), 0),
            )
        })
        .unwrap_or_else(|| {
            refusal(
                lang(&headers),
                None,
                StatusCode::INTERNAL_SERVER_ERROR,
                "error-internal",
            )
        })
}

/// A new session's `Set-Cookie` value.
fn start_session(
    state: &AppState,
    actor: String,
    name: Option<String>,
    role: ConsoleRole,
) -> Option<String> {
    let console = &state.console;
    let minutes = state.config.console.session_minutes;
    let session = Session {
        actor,
        name,
        role,
        csrf: console.sealer.token(),
        exp: now_s() + minutes * 60,
        sid: console.sealer.token(),
    };
    if session.sid.is_empty() {
        return None;
    }
    let sealed = console.sealer.seal_session(&session)?;
    Some(set_cookie(
        SESSION_COOKIE,
        &sealed,
        console.session_rules(),
        minutes * 60,
    ))
}

/// `POST /console/logout`.
pub async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let session = match super::signed_in_post(&state, &headers, CsrfForm::token(&form)) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if let Err(err) = state.console.revoke(&state.store, &session).await {
        tracing::error!(actor = %session.actor, error = %err, "console: sign-out could not revoke the session");
        return refusal(
            lang(&headers),
            Some(&session),
            StatusCode::SERVICE_UNAVAILABLE,
            "error-signout",
        );
    }
    tracing::info!(actor = %session.actor, "console: signed out (session revoked)");
    with_cookie(
        super::redirect("/console/login"),
        &set_cookie(SESSION_COOKIE, "", state.console.session_rules(), 0),
    )
}

/// What the OIDC state cookie holds.
#[derive(Debug, Serialize, Deserialize)]
struct OidcState {
    state: String,
    verifier: String,
    nonce: String,
    exp: u64,
}

fn redirect_uri(state: &AppState) -> String {
    let base = state
        .config
        .console
        .public_url
        .as_deref()
        .unwrap_or("")
        .trim_end_matches('/');
    format!("{base}/console/oidc/callback")
}

/// `GET /console/oidc/start`: off to the provider, with PKCE, state and nonce.
pub async fn oidc_start(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let lang = lang(&headers);
    let Some(oidc) = &state.config.console.oidc else {
        return refusal(lang, None, StatusCode::NOT_FOUND, "error-no-oidc");
    };
    let sealer = &state.console.sealer;
    let pending = OidcState {
        state: sealer.token(),
        verifier: sealer.token(),
        nonce: sealer.token(),
        exp: now_s() + OIDC_STATE_SECONDS,
    };
    let challenge =
        b64(ring::digest::digest(&ring::digest::SHA256, pending.verifier.as_bytes()).as_ref());
    let Some(sealed) = serde_json::to_vec(&pending)
        .ok()
        .and_then(|b| sealer.seal(Purpose::OidcState, &b))
        .filter(|_| !pending.state.is_empty())
    else {
        return refusal(
            lang,
            None,
            StatusCode::INTERNAL_SERVER_ERROR,
            "error-internal",
        );
    };
    let endpoints = match state.console.discovery.endpoints(oidc).await {
        Ok(e) => e,
        Err(err) => {
            tracing::error!(error = %err, "console: the identity provider's endpoints are unknown");
            return refusal(lang, None, StatusCode::BAD_GATEWAY, "error-oidc-discovery");
        }
    };
    let sep = if endpoints.authorization.contains('?') {
        '&'
    } else {
        '?'
    };
    let location = format!(
        "{endpoint}{sep}response_type=code&client_id={client}&redirect_uri={redirect}&scope={scope}&state={st}&nonce={nonce}&code_challenge={challenge}&code_challenge_method=S256",
        endpoint = endpoints.authorization,
        client = url(&oidc.client_id),
        redirect = url(&redirect_uri(&state)),
        scope = url(&oidc.scopes),
        st = url(&pending.state),
        nonce = url(&pending.nonce),
    );
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    with_cookie(
        response,
        &set_cookie(
            OIDC_COOKIE,
            &sealed,
            oidc_rules(state.console.secure),
            OIDC_STATE_SECONDS,
        ),
    )
}

/// The provider's redirect.
#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /console/oidc/callback`: checks the state, redeems the code with the PKCE verifier,
/// verifies the ID token, maps the roles claim, opens the session.
pub async fn oidc_callback(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<Callback>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(r) = rate_limit(&state, peer, &headers) {
        return *r;
    }
    let lang = lang(&headers);
    let clear = set_cookie(OIDC_COOKIE, "", oidc_rules(state.console.secure), 0);
    let fail =
        |status: StatusCode, key: &str| with_cookie(refusal(lang, None, status, key), &clear);
    let Some(oidc) = state.config.console.oidc.clone() else {
        return fail(StatusCode::NOT_FOUND, "error-no-oidc");
    };
    let Ok(Query(cb)) = query else {
        return fail(StatusCode::BAD_REQUEST, "error-oidc-state");
    };
    if let Some(error) = &cb.error {
        tracing::warn!(error = %crate::clean::escape(error, 200), "console: the identity provider refused the sign-in");
        return fail(StatusCode::UNAUTHORIZED, "error-oidc-refused");
    }
    let pending: Option<OidcState> = cookie(&headers, OIDC_COOKIE)
        .and_then(|c| state.console.sealer.open(Purpose::OidcState, c))
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|p: &OidcState| p.exp > now_s());
    let (Some(pending), Some(code)) = (pending, cb.code) else {
        return fail(StatusCode::BAD_REQUEST, "error-oidc-state");
    };
    if !super::session::csrf_matches(&pending.state, cb.state.as_deref()) {
        tracing::warn!("console: OIDC callback with a state that is not ours refused");
        return fail(StatusCode::BAD_REQUEST, "error-oidc-state");
    }
    let secret = match &oidc.client_secret_env {
        Some(name) => match std::env::var(name) {
            Ok(v) => Some(v),
            Err(_) => {
                tracing::error!(env = %name, "console: the OIDC client secret's environment variable is not set");
                return fail(StatusCode::INTERNAL_SERVER_ERROR, "error-internal");
            }
        },
        None => None,
    };
    let form = vec![
        ("grant_type".to_owned(), "authorization_code".to_owned()),
        ("code".to_owned(), code),
        ("redirect_uri".to_owned(), redirect_uri(&state)),
        ("client_id".to_owned(), oidc.client_id.clone()),
        ("code_verifier".to_owned(), pending.verifier.clone()),
    ]
    .into_iter()
    .chain(secret.map(|s| ("client_secret".to_owned(), s)))
    .collect::<Vec<_>>();
    let endpoint = match state.console.discovery.endpoints(&oidc).await {
        Ok(e) => e.token,
        Err(err) => {
            tracing::error!(error = %err, "console: the identity provider's endpoints are unknown");
            return fail(StatusCode::BAD_GATEWAY, "error-oidc-discovery");
        }
    };
    let redeemed = tokio::task::spawn_blocking(move || redeem(&endpoint, &form)).await;
    let id_token = match redeemed {
        Ok(Ok(t)) => t,
        Ok(Err(reason)) => {
            tracing::warn!(%reason, "console: the OIDC token endpoint did not give an ID token");
            return fail(StatusCode::BAD_GATEWAY, "error-oidc-token");
        }
        Err(_) => return fail(StatusCode::INTERNAL_SERVER_ERROR, "error-internal"),
    };
    let mut auth = HeaderMap::new();
    let Ok(bearer) = HeaderValue::from_str(&format!("Bearer {id_token}")) else {
        return fail(StatusCode::BAD_GATEWAY, "error-oidc-token");
    };
    auth.insert(header::AUTHORIZATION, bearer);
    let identity = match state.identity.identify(&auth, false, now_s()) {
        Ok(Some(i)) => i,
        Ok(None) => return fail(StatusCode::BAD_GATEWAY, "error-oidc-token"),
        Err(err) => {
            tracing::warn!(error = %err, "console: the ID token was refused");
            return fail(StatusCode::UNAUTHORIZED, "error-oidc-token");
        }
    };
    // The token is verified: its claims can be read.
    let claims = payload(&id_token).unwrap_or_default();
    if claims.get("iss").and_then(Value::as_str) != Some(oidc.issuer.as_str())
        || claims.get("nonce").and_then(Value::as_str) != Some(pending.nonce.as_str())
    {
        tracing::warn!("console: ID token from another issuer or with another nonce refused");
        return fail(StatusCode::UNAUTHORIZED, "error-oidc-token");
    }
    let Some(role) = role_of(&oidc, claims.get(&oidc.roles_claim)) else {
        tracing::warn!(user = %identity.user_id, claim = %oidc.roles_claim, "console: no console role in the ID token");
        return fail(StatusCode::FORBIDDEN, "error-no-role");
    };
    let name = identity.name.clone().or_else(|| identity.email.clone());
    let Some(session_cookie) = start_session(&state, identity.user_id.clone(), name, role) else {
        return fail(StatusCode::INTERNAL_SERVER_ERROR, "error-internal");
    };
    tracing::info!(actor = %identity.user_id, role = role.as_str(), "console: signed in with OIDC");
    let body = format!(
        "<p>{}</p><p><a class=\"button\" href=\"/console/signins\">{}</a></p>",
        te(lang, "oidc-signed-in"),
        te(lang, "continue")
    );
    let mut page = layout(lang, None, t(lang, "login-title"), &body);
    // Moves on without script (the CSP allows none).
    page = page.replacen(
        "<meta charset=\"utf-8\">",
        "<meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url=/console/signins\">",
        1,
    );
    with_cookie(
        with_cookie(html(StatusCode::OK, page), &session_cookie),
        &clear,
    )
}

/// Counts a sign-in attempt from the request's client address (behind a trusted proxy, the
/// address the proxy forwarded, as for decisions); a 429 page with `Retry-After` past the
/// limit ([`super::limit`]).
fn rate_limit(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<(), Box<Response>> {
    let signals = state.signals.load();
    let client = gardien_signals::client_ip::client_ip(
        Some(peer.ip()),
        headers,
        &signals.config.trusted_proxies,
        signals.config.forwarded_header,
    )
    .address
    .unwrap_or(peer.ip());
    state
        .console
        .limiter
        .attempt(client, now_s())
        .map_err(|retry_after| {
            let metrics = &state.metrics;
            metrics
                .console_logins_rate_limited
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Some(held) = metrics
                .console_rate_limit_warnings
                .pass(crate::clock::now_ms())
            {
                tracing::warn!(
                    %client,
                    not_shown_since_last = held,
                    "console: sign-in attempts over the limit refused (one warning a minute at most; gardien_console_logins_rate_limited_total counts them all)"
                );
            }
            let mut r = refusal(
                lang(headers),
                None,
                StatusCode::TOO_MANY_REQUESTS,
                "error-rate-limited",
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Box::new(r)
        })
}

/// The role the roles claim gives: any admin value makes an admin, else any reader value a
/// reader. The claim may be a string or an array of strings.
pub fn role_of(oidc: &super::OidcConfig, claim: Option<&Value>) -> Option<ConsoleRole> {
    let values: Vec<&str> = match claim {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let has = |wanted: &[String]| values.iter().any(|v| wanted.iter().any(|w| w == v));
    if has(&oidc.admin_roles) {
        Some(ConsoleRole::Admin)
    } else if has(&oidc.reader_roles) {
        Some(ConsoleRole::Reader)
    } else {
        None
    }
}

/// The claims of a JWT (not verified here: the caller verified it).
fn payload(token: &str) -> Option<serde_json::Map<String, Value>> {
    let part = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Redeems the code at the token endpoint: the `id_token` of its JSON answer.
fn redeem(endpoint: &str, form: &[(String, String)]) -> Result<String, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut response = agent
        .post(endpoint)
        .header("accept", "application/json")
        .send_form(pairs)
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let text = response
        .body_mut()
        .with_config()
        .limit(256 * 1024)
        .read_to_string()
        .map_err(|e| e.to_string())?;
    if !status.is_success() {
        let error: Value = serde_json::from_str(&text).unwrap_or_default();
        return Err(format!(
            "status {status}: {}",
            crate::clean::escape(
                error.get("error").and_then(Value::as_str).unwrap_or(""),
                200
            )
        ));
    }
    let answer: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    answer
        .get("id_token")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| "no id_token in the answer".to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roles_map_admin_first_and_nothing_for_unknown_values() {
        let oidc: super::super::OidcConfig = toml::from_str(
            "issuer = \"i\"\nclient_id = \"c\"\nauthorization_endpoint = \"https://a\"\ntoken_endpoint = \"https://t\"\nreader_roles = [\"HelpDesk\"]\nadmin_roles = [\"CA.Admin\"]\n",
        )
        .unwrap();
        assert_eq!(
            role_of(&oidc, Some(&json!(["HelpDesk", "CA.Admin"]))),
            Some(ConsoleRole::Admin)
        );
        assert_eq!(
            role_of(&oidc, Some(&json!("HelpDesk"))),
            Some(ConsoleRole::Reader)
        );
        assert_eq!(role_of(&oidc, Some(&json!(["helpdesk"]))), None);
        assert_eq!(role_of(&oidc, None), None);
    }
}
