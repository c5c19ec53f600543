//! `[console]` and `[console.oidc]`: how the console is reached and who may sign in.

use crate::denial::Disclosure;
use crate::identity::IdentityConfig;
use serde::Deserialize;

/// `[console]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Serve the console under `/console/` (default `true`). Nobody can sign in until an
    /// admin token (`[admin] token_sha256`) or `[console.oidc]` is configured.
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// The console's external base URL (`https://gardien.example.com`): the OIDC redirect
    /// URI is built from it, and an `https://` URL marks the cookies `Secure`. Without it the
    /// cookies are `Secure` unless gardien listens on a loopback address.
    #[serde(default)]
    pub public_url: Option<String>,
    /// How long a console session lasts, in minutes (default 480).
    #[serde(default = "default_session_minutes")]
    pub session_minutes: u64,
    /// Name of an environment variable holding the session key (64 hex digits), so that
    /// sessions survive a restart and work on every replica. Without it a random key is drawn
    /// at start.
    #[serde(default)]
    pub session_key_env: Option<String>,
    /// What a `reader` sees of the policy internals on a sign-in's trace: `minimal` (the
    /// default: no policy name, id or condition detail), `detailed` (conditions in words,
    /// without policy names or ids) or `full`. Admins always see everything.
    #[serde(default)]
    pub reader_disclosure: Disclosure,
    /// Sign-in attempts (token logins and OpenID Connect callbacks) allowed per client
    /// address and minute (default 10; IPv6 addresses count per /64). Further attempts get a
    /// 429 page until the next minute.
    #[serde(default = "default_login_attempts")]
    pub login_attempts_per_minute: u32,
    /// Sign-in through an OpenID Connect provider (authorization code with PKCE).
    #[serde(default)]
    pub oidc: Option<OidcConfig>,
}

fn default_login_attempts() -> u32 {
    10
}

fn default_enabled() -> bool {
    true
}

fn default_session_minutes() -> u64 {
    480
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            enabled: default_enabled(),
            public_url: None,
            session_minutes: default_session_minutes(),
            session_key_env: None,
            reader_disclosure: Disclosure::default(),
            login_attempts_per_minute: default_login_attempts(),
            oidc: None,
        }
    }
}

/// `[console.oidc]`: the console signs people in at this provider (authorization code flow
/// with PKCE); the ID token is verified by the `[identity]` issuer of the same name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// Issuer, exactly as an `[identity.jwt]` or `[[identity.issuers]]` entry names it; that
    /// entry's keys verify the ID token, and its audiences must list `client_id`.
    pub issuer: String,
    /// The console's client id at the provider.
    pub client_id: String,
    /// Name of an environment variable holding the client secret (confidential clients);
    /// without it the console is a public client (PKCE only).
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// The provider's authorization endpoint. Without it and `token_endpoint`, both are
    /// read from `<issuer>/.well-known/openid-configuration` (OpenID Connect discovery).
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// The provider's token endpoint (see `authorization_endpoint`).
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// Scopes asked for (default `openid profile email`).
    #[serde(default = "default_scopes")]
    pub scopes: String,
    /// The ID token claim holding the user's roles (default `roles`, as Entra app roles).
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
    /// Claim values that make a `reader` (default `["gardien.reader"]`).
    #[serde(default = "default_reader_roles")]
    pub reader_roles: Vec<String>,
    /// Claim values that make an `admin` (default `["gardien.admin"]`).
    #[serde(default = "default_admin_roles")]
    pub admin_roles: Vec<String>,
    /// The provider's name on the sign-in button (default `your organization`).
    #[serde(default)]
    pub label: Option<String>,
}

fn default_scopes() -> String {
    "openid profile email".to_owned()
}

fn default_roles_claim() -> String {
    "roles".to_owned()
}

fn default_reader_roles() -> Vec<String> {
    vec!["gardien.reader".to_owned()]
}

fn default_admin_roles() -> Vec<String> {
    vec!["gardien.admin".to_owned()]
}

fn http_url(text: &str) -> bool {
    (text.starts_with("https://") || text.starts_with("http://"))
        && text
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.host().map(|h| !h.is_empty()))
            .unwrap_or(false)
}

impl ConsoleConfig {
    /// Checks the section against the `[identity]` one: every problem is named by its key.
    pub fn check(&self, identity: &IdentityConfig) -> Result<(), String> {
        if let Some(url) = &self.public_url
            && (!http_url(url) || url.contains(['?', '#']))
        {
            return Err(format!(
                "[console] public_url must be an http:// or https:// URL without query or fragment, not `{url}`"
            ));
        }
        if self.session_minutes == 0 || self.session_minutes > 7 * 24 * 60 {
            return Err("[console] session_minutes must be between 1 and 10080".to_owned());
        }
        if self.login_attempts_per_minute == 0 {
            return Err(
                "[console] login_attempts_per_minute must be at least 1 (nobody could sign in)"
                    .to_owned(),
            );
        }
        let Some(oidc) = &self.oidc else {
            return Ok(());
        };
        if self.public_url.is_none() {
            return Err(
                "[console.oidc] needs [console] public_url (the redirect URI is built from it)"
                    .to_owned(),
            );
        }
        match (&oidc.authorization_endpoint, &oidc.token_endpoint) {
            (Some(_), Some(_)) => {}
            (None, None) => {
                if !http_url(&oidc.issuer) {
                    return Err(format!(
                        "[console.oidc] issuer must be an http:// or https:// URL to discover its endpoints (or set authorization_endpoint and token_endpoint), not `{}`",
                        oidc.issuer
                    ));
                }
            }
            _ => {
                return Err("[console.oidc] set both authorization_endpoint and token_endpoint, or neither (then they are discovered from the issuer)".to_owned());
            }
        }
        for (key, url) in [
            ("authorization_endpoint", &oidc.authorization_endpoint),
            ("token_endpoint", &oidc.token_endpoint),
        ] {
            let Some(url) = url else { continue };
            if !http_url(url) {
                return Err(format!(
                    "[console.oidc] {key} must be an http:// or https:// URL, not `{url}`"
                ));
            }
        }
        if oidc.client_id.trim().is_empty() || oidc.roles_claim.trim().is_empty() {
            return Err("[console.oidc] client_id and roles_claim must not be empty".to_owned());
        }
        let issuer = identity
            .jwt
            .iter()
            .chain(&identity.issuers)
            .find(|j| j.issuer == oidc.issuer)
            .ok_or_else(|| {
                format!(
                    "[console.oidc] issuer `{}` is not configured in [identity.jwt] or [[identity.issuers]] (its keys verify the ID token)",
                    oidc.issuer
                )
            })?;
        if !issuer.audiences.contains(&oidc.client_id) {
            return Err(format!(
                "[console.oidc] client_id `{}` must be one of the audiences of the [identity] issuer `{}`",
                oidc.client_id, oidc.issuer
            ));
        }
        Ok(())
    }

    /// Whether the console's cookies carry `Secure`: an `https://` public URL, else any
    /// listening address but loopback.
    pub fn secure_cookies(&self, listen: std::net::SocketAddr) -> bool {
        match &self.public_url {
            Some(url) => url.starts_with("https://"),
            None => !listen.ip().is_loopback(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::identity::JwtConfig;

    fn oidc() -> OidcConfig {
        toml::from_str(
            "issuer = \"https://idp.example\"\nclient_id = \"console\"\nauthorization_endpoint = \"https://idp.example/authorize\"\ntoken_endpoint = \"https://idp.example/token\"\n",
        )
        .unwrap()
    }

    fn identity(audiences: &[&str]) -> IdentityConfig {
        IdentityConfig {
            jwt: Some(JwtConfig {
                issuer: "https://idp.example".into(),
                audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
                jwks_file: Some("k.json".into()),
                jwks_url: None,
                cookie: None,
                user_claim: None,
                leeway_seconds: 60,
                tenant_id: None,
            }),
            ..IdentityConfig::default()
        }
    }

    #[test]
    fn oidc_needs_its_issuer_its_audience_and_a_public_url() {
        let mut c = ConsoleConfig {
            oidc: Some(oidc()),
            ..ConsoleConfig::default()
        };
        assert!(
            c.check(&identity(&["console"]))
                .unwrap_err()
                .contains("public_url")
        );
        c.public_url = Some("https://gardien.example".into());
        assert!(c.check(&identity(&["console"])).is_ok());
        assert!(
            c.check(&identity(&["api"]))
                .unwrap_err()
                .contains("audiences")
        );
        assert!(
            c.check(&IdentityConfig::default())
                .unwrap_err()
                .contains("is not configured")
        );
        c.public_url = Some("javascript:alert(1)".into());
        assert!(c.check(&identity(&["console"])).is_err());
        c.public_url = Some("https://gardien.example".into());
        let mut o = oidc();
        o.token_endpoint = None;
        c.oidc = Some(o.clone());
        assert!(
            c.check(&identity(&["console"]))
                .unwrap_err()
                .contains("or neither")
        );
        o.authorization_endpoint = None;
        c.oidc = Some(o);
        assert!(c.check(&identity(&["console"])).is_ok(), "discovered");
        c.login_attempts_per_minute = 0;
        assert!(
            c.check(&identity(&["console"]))
                .unwrap_err()
                .contains("login_attempts_per_minute")
        );
    }

    #[test]
    fn cookies_are_secure_unless_plain_http_on_loopback() {
        let loopback = "127.0.0.1:8080".parse().unwrap();
        let any = "0.0.0.0:8080".parse().unwrap();
        let mut c = ConsoleConfig::default();
        assert!(!c.secure_cookies(loopback));
        assert!(c.secure_cookies(any));
        c.public_url = Some("https://g.example".into());
        assert!(c.secure_cookies(loopback));
        c.public_url = Some("http://g.example".into());
        assert!(!c.secure_cookies(any));
    }
}
