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

pub mod auth;
pub mod config;
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
use std::sync::Arc;

/// The console's Content-Security-Policy: nothing but its own stylesheet; no script at all;
/// forms post to the console only; never framed.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The stylesheet, served at `/console/static/console.css`.
pub const STYLESHEET: &str = include_str!("../assets/console.css");

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "gardien_console";

/// The console's running state: the session sealer and the cookie rules.
#[derive(Debug)]
pub struct ConsoleState {
    /// Seals sessions and OIDC state; draws tokens.
    pub sealer: session::Sealer,
    /// Whether cookies carry `Secure`.
    pub secure: bool,
    /// The analyses of the policy set in force the policy pages show, once per version.
    pub analyses: tenant::Analyses,
}

impl ConsoleState {
    /// From the configuration (reads the session key's environment variable when named).
    pub fn new(config: &crate::config::ServerConfig) -> Result<ConsoleState, session::KeyError> {
        Ok(ConsoleState {
            sealer: session::Sealer::from_env(config.console.session_key_env.as_deref())?,
            secure: config.console.secure_cookies(config.listen),
            analyses: tenant::Analyses::default(),
        })
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

/// The session of a request, if any.
pub(crate) fn current(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    let value = session::cookie(headers, SESSION_COOKIE)?;
    state.console.sealer.open_session(value, now_s())
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

/// A POST is admitted when its form carries the session's CSRF token and, when the browser
/// sent an `Origin` (other than the opaque `null` of privacy modes), it is this server's
/// (`Host`). Otherwise a 403 page.
pub(crate) fn check_post(
    session: &Session,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Result<(), Box<Response>> {
    let lang = lang(headers);
    if let Some(origin) = headers
        .get(header::ORIGIN)
        .filter(|o| o.as_bytes() != b"null")
    {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let same = match (origin.to_str().ok(), host) {
            (Some(o), Some(h)) => {
                o.strip_prefix("https://")
                    .or_else(|| o.strip_prefix("http://"))
                    == Some(h)
            }
            _ => false,
        };
        if !same {
            tracing::warn!(actor = %session.actor, "console: cross-origin POST refused");
            return Err(Box::new(page::refusal(
                lang,
                Some(session),
                StatusCode::FORBIDDEN,
                "error-csrf",
            )));
        }
    }
    if !session::csrf_matches(&session.csrf, csrf) {
        tracing::warn!(actor = %session.actor, "console: POST without a valid CSRF token refused");
        return Err(Box::new(page::refusal(
            lang,
            Some(session),
            StatusCode::FORBIDDEN,
            "error-csrf",
        )));
    }
    Ok(())
}
