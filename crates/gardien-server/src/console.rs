//! The web console (`/console/`) for the help desk (`reader`) and the admins (`admin`):
//! sign-in search, a sign-in's decision and trace, "what if", policy versions with their
//! semantic diff, and rollback; the policies in plain words, the coverage matrix, lint
//! findings, coverage gaps, named locations and the device registry ([`tenant`]).
//!
//! Server-rendered HTML from Rust (no template engine, no script): every dynamic value goes
//! through [`page::e`], the one escaping function. The stylesheet is a static asset compiled
//! into the binary, so the Content-Security-Policy allows no inline script or style
//! ([`CSP`]). English and French (from `Accept-Language`), dark mode by
//! `prefers-color-scheme`, usable at 360 px.
//!
//! What a page says about a decision comes from the core's typed report
//! ([`gardien_core::report::DecisionReport`]: the same trace `gardien explain` prints and the
//! same explanation the denial page shows), computed by the core's evaluator over the exact
//! request the sign-in log kept, against the policy version that decided it.
//!
//! Sign-in: the admin token (role `admin`; the decision and metrics tokens do not open the
//! console), or OpenID Connect (authorization code with PKCE) at `[console.oidc]`, roles
//! from a configurable ID token claim ([`auth`]). Sessions and CSRF: [`session`].
//! `docs/console.md` describes the whole.

pub mod analyses;
pub mod auth;
pub mod config;
pub mod discovery;
pub mod limit;
pub mod page;
pub mod session;
pub mod signins;
pub mod tenant;
pub mod versions;

pub use config::{ConsoleConfig, OidcConfig};
pub use session::{ConsoleRole, Session};

use crate::denial::Lang;
use crate::state::AppState;
use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use std::sync::Arc;

/// The console's Content-Security-Policy: nothing but its own stylesheet; no script at all;
/// forms post to the console only; never framed.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The stylesheet, served at `/console/static/console.css`.
pub const STYLESHEET: &str = include_str!("../assets/console.css");

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "gardien_console";

/// The console's running state: the session sealer, the cookie rules, the revoked
/// sessions, the sign-in rate limit and the identity provider's discovered endpoints.
#[derive(Debug)]
pub struct ConsoleState {
    /// Seals sessions and OIDC state; draws tokens.
    pub sealer: session::Sealer,
    /// Whether cookies carry `Secure`.
    pub secure: bool,
    /// Sessions signed out before their expiry: session id → expiry (Unix seconds). A copy
    /// of the store's list ([`gardien_store::Store::revoked_sessions`]), read at start and
    /// every [`REVOKED_REFRESH`] (other replicas' sign-outs), and added to at once by this
    /// replica's sign-outs.
    revoked: std::sync::RwLock<std::collections::HashMap<String, u64>>,
    /// Sign-in attempts per client address ([`limit::LoginLimiter`]).
    pub limiter: limit::LoginLimiter,
    /// The provider's endpoints found by OpenID Connect discovery, when not configured.
    pub discovery: discovery::Discovery,
    /// The analyses of the policy set in force the policy pages show, computed ahead once
    /// per version ([`analyses`]).
    pub analyses: analyses::Analyses,
}

/// How often a replica reads the revoked sessions from the store.
pub const REVOKED_REFRESH: std::time::Duration = std::time::Duration::from_secs(10);

impl ConsoleState {
    /// From the configuration (reads the session key's environment variable when named) and
    /// the sessions already revoked in the store: `(session id, expiry in Unix ms)`.
    pub fn new(
        config: &crate::config::ServerConfig,
        revoked: Vec<(String, i64)>,
    ) -> Result<ConsoleState, session::KeyError> {
        let state = ConsoleState {
            sealer: session::Sealer::from_env(config.console.session_key_env.as_deref())?,
            secure: config.console.secure_cookies(config.listen),
            revoked: std::sync::RwLock::default(),
            limiter: limit::LoginLimiter::new(config.console.login_attempts_per_minute),
            discovery: discovery::Discovery::default(),
            analyses: analyses::Analyses::default(),
        };
        state.set_revoked(revoked);
        Ok(state)
    }

    /// Replaces the copy of the revoked sessions with the store's list `(id, expiry ms)`,
    /// keeping this replica's own revocations the store did not return (they are in it).
    pub fn set_revoked(&self, revoked: Vec<(String, i64)>) {
        let now = now_s();
        if let Ok(mut map) = self.revoked.write() {
            map.retain(|_, exp| *exp > now);
            for (id, exp_ms) in revoked {
                let exp = u64::try_from(exp_ms.div_euclid(1000)).unwrap_or(0) + 1;
                map.insert(id, exp);
            }
        }
    }

    /// Revokes a session: in the store (every replica, after a restart), then in this
    /// replica's copy. The session stays revoked until it would have expired.
    pub async fn revoke(
        &self,
        store: &gardien_store::Store,
        session: &Session,
    ) -> Result<(), gardien_store::StoreError> {
        let exp_ms = i64::try_from(session.exp)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000);
        store
            .revoke_session(&session.sid, exp_ms, crate::clock::now_ms())
            .await?;
        if let Ok(mut map) = self.revoked.write() {
            map.insert(session.sid.clone(), session.exp);
        }
        Ok(())
    }

    /// Whether a session was signed out. Fails closed: a poisoned lock revokes everything.
    pub fn is_revoked(&self, sid: &str) -> bool {
        self.revoked.read().map_or(true, |m| m.contains_key(sid))
    }

    /// The rules of the session cookie.
    pub fn session_rules(&self) -> session::CookieRules {
        session::CookieRules {
            path: "/console",
            strict: true,
            secure: self.secure,
        }
    }
}

/// The console's routes (empty when `[console] enabled = false`).
pub fn routes(state: &AppState) -> Router<Arc<AppState>> {
    if !state.config.console.enabled {
        return Router::new();
    }
    Router::new()
        .route("/console", get(home))
        .route("/console/", get(home))
        .route("/console/static/console.css", get(stylesheet))
        .route("/console/login", get(auth::login_page).post(auth::login))
        .route("/console/logout", post(auth::logout))
        .route("/console/oidc/start", get(auth::oidc_start))
        .route("/console/oidc/callback", get(auth::oidc_callback))
        .route("/console/signins", get(signins::search))
        .route("/console/signins/{id}", get(signins::detail))
        .route("/console/signins/{id}/whatif", post(signins::what_if))
        .route("/console/versions", get(versions::list))
        .route("/console/versions/diff", get(versions::diff))
        .route(
            "/console/versions/{version}/rollback",
            post(versions::rollback),
        )
        .route("/console/policies", get(tenant::policies))
        .route("/console/coverage", get(tenant::coverage))
        .route("/console/lint", get(tenant::lint_page))
        .route("/console/gaps", get(tenant::gaps))
        .route("/console/locations", get(tenant::locations))
        .route("/console/devices", get(tenant::devices))
        .layer(axum::middleware::map_response(security_headers))
}

/// Every console answer: CSP, no sniffing, no referrer outside the console's origin, never
/// cached, never framed.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // `same-origin`, not `no-referrer`: with the latter browsers send `Origin: null` on the
    // console's own form posts, and the origin check below could not tell them apart.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

async fn home(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    match current(&state, &headers) {
        Some(_) => redirect("/console/signins"),
        None => redirect("/console/login"),
    }
}

/// A 303 to a console path.
pub(crate) fn redirect(to: &'static str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

/// The language of a request.
pub(crate) fn lang(headers: &HeaderMap) -> Lang {
    Lang::negotiate(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// Now, in Unix seconds.
pub(crate) fn now_s() -> u64 {
    u64::try_from(crate::clock::now_ms().div_euclid(1000)).unwrap_or(0)
}

/// The session of a request, if any: a cookie that opens, has not expired, was not signed
/// out, and does not outlast `session_minutes` from now (a lowered setting shortens the
/// sessions already open).
pub(crate) fn current(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    let value = session::cookie(headers, SESSION_COOKIE)?;
    let now = now_s();
    let session = state.console.sealer.open_session(value, now)?;
    let longest = now.saturating_add(state.config.console.session_minutes.saturating_mul(60));
    (session.exp <= longest && !state.console.is_revoked(&session.sid)).then_some(session)
}

/// The session of a request, or the answer to give instead: a redirect to the login page.
pub(crate) fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<Session, Box<Response>> {
    current(state, headers).ok_or_else(|| Box::new(redirect("/console/login")))
}

/// The session of an admin, or a 403 page for a reader.
pub(crate) fn admin(state: &AppState, headers: &HeaderMap) -> Result<Session, Box<Response>> {
    let s = signed_in(state, headers)?;
    if s.role == ConsoleRole::Admin {
        Ok(s)
    } else {
        Err(Box::new(page::refusal(
            lang(headers),
            Some(&s),
            StatusCode::FORBIDDEN,
            "error-admin-only",
        )))
    }
}

/// A form that carries nothing but the CSRF token (sign-out, rollback).
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

impl CsrfForm {
    /// The token a posted form carries, if it parsed and has one.
    pub(crate) fn token(
        form: &Result<axum::Form<CsrfForm>, axum::extract::rejection::FormRejection>,
    ) -> Option<&str> {
        form.as_ref().ok().and_then(|f| f.csrf.as_deref())
    }
}

/// The session of a POST, or the answer to give instead: the login redirect, or a 403 page
/// unless the POST comes from the console's own origin ([`same_origin`]) and its form
/// carries the session's CSRF token (`csrf`).
pub(crate) fn signed_in_post(
    state: &AppState,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Result<Session, Box<Response>> {
    let session = signed_in(state, headers)?;
    let refused = |why: &str| {
        tracing::warn!(actor = %session.actor, "console: {why} refused");
        Err(Box::new(page::refusal(
            lang(headers),
            Some(&session),
            StatusCode::FORBIDDEN,
            "error-csrf",
        )))
    };
    if !same_origin(state.config.console.public_url.as_deref(), headers) {
        return refused("POST from another origin (or none named)");
    }
    if !session::csrf_matches(&session.csrf, csrf) {
        return refused("POST without a valid CSRF token");
    }
    Ok(session)
}

/// The origin (`scheme://host[:port]`) a URL starts with, lower-cased, default ports
/// dropped.
fn origin_of(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let authority = uri.authority()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let host = authority.host().to_ascii_lowercase();
    let port = match (scheme.as_str(), authority.port_u16()) {
        ("https", Some(443)) | ("http", Some(80)) | (_, None) => String::new(),
        (_, Some(p)) => format!(":{p}"),
    };
    Some(format!("{scheme}://{host}{port}"))
}

/// Whether a write comes from the console's own pages: the browser's `Origin` (or, when it
/// sends none or the opaque `null`, the `Referer`'s origin) must be the origin of
/// `[console] public_url`; without `public_url`, `http://` or `https://` and the `Host`
/// header. A write naming neither is refused: every browser names one on a form POST (the
/// console's `Referrer-Policy: same-origin` keeps the `Referer` on its own posts).
pub(crate) fn same_origin(public_url: Option<&str>, headers: &HeaderMap) -> bool {
    let named = headers
        .get(header::ORIGIN)
        .filter(|o| o.as_bytes() != b"null")
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .and_then(origin_of);
    let Some(named) = named else {
        return false;
    };
    match public_url {
        Some(public) => origin_of(public).is_some_and(|p| p == named),
        None => headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|host| {
                ["http", "https"]
                    .iter()
                    .any(|scheme| origin_of(&format!("{scheme}://{host}/")) == Some(named.clone()))
            }),
    }
}
