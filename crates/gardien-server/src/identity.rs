//! Who is signing in, from a request: a verified OIDC/JWT bearer token, or identity headers
//! set by a trusted authenticating proxy (Authelia, oauth2-proxy, ...).
//!
//! Precedence (fail closed):
//!
//! 1. When JWT verification is configured and the request carries a token (in
//!    `Authorization: Bearer` or in the configured cookie), the token is verified and wins.
//!    An invalid token is an error ([`IdentityError::InvalidToken`]); the resolver never
//!    falls back to proxy headers in that case.
//! 2. Otherwise, when proxy headers are configured and the caller says the peer is a trusted
//!    proxy, the identity comes from those headers.
//! 3. Otherwise the request is anonymous (`Ok(None)`).
//!
//! The module reads no clock: the caller passes `now` (Unix seconds), so expiry checks are
//! deterministic.

mod amr;
mod jwks;
mod proxy;
#[cfg(test)]
mod test_support;
mod token;

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use gardien_core::model::enums::AuthMethods;
use serde::Deserialize;

pub use amr::methods_from_amr;
use gardien_signals::headers::Found;
use jwks::{JwksSource, KeySet};
use proxy::ProxyHeaders;
pub use token::TokenRejection;

/// How many identity headers [`IdentityResolver::header_names`] lists.
pub const IDENTITY_HEADERS: usize = proxy::PROXY_HEADERS;

/// The `[identity]` section of the server configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct IdentityConfig {
    /// OIDC/JWT bearer token verification (`[identity.jwt]`); off when absent.
    pub jwt: Option<JwtConfig>,
    /// More token issuers (`[[identity.issuers]]`, same keys as `[identity.jwt]`), each with
    /// its own key set and audiences: several Entra tenants, or an Entra tenant and another
    /// IdP. A token is verified by the issuer its `iss` names exactly; `[identity.jwt]`,
    /// when set, is one more issuer.
    pub issuers: Vec<JwtConfig>,
    /// Identity headers from a trusted proxy (`[identity.headers]`); off when absent.
    pub headers: Option<HeaderIdentityConfig>,
}

/// How bearer tokens are verified (`[identity.jwt]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct JwtConfig {
    /// Expected `iss`, compared exactly.
    pub issuer: String,
    /// Accepted audiences: the token's `aud` must contain at least one of them.
    pub audiences: Vec<String>,
    /// JWKS read from this file (exactly one of `jwks_file` and `jwks_url`).
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// JWKS fetched from this URL by [`IdentityResolver::refresh`].
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// Also look for the token in this cookie when there is no `Authorization: Bearer`.
    #[serde(default)]
    pub cookie: Option<String>,
    /// Claim holding the user id; by default `oid`, falling back to `sub`.
    #[serde(default)]
    pub user_claim: Option<String>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds (default 60).
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
    /// Microsoft Entra tenant id: when set, the token's `tid` must be this tenant (compared
    /// case-insensitively). Entra signs every tenant's tokens with the same keys, so the
    /// issuer and this check are what keep other tenants out (`docs/entra-idp.md`).
    #[serde(default)]
    pub tenant_id: Option<String>,
}

fn default_leeway() -> u64 {
    60
}

/// Names of the identity headers set by a trusted proxy (`[identity.headers]`).
///
/// The proxy must strip these headers from the requests it receives, otherwise a client
/// could set them itself; they are only read when the peer is a trusted proxy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", default)]
pub struct HeaderIdentityConfig {
    /// User id header (default `Remote-User`).
    pub user: String,
    /// Comma-separated groups header (default `Remote-Groups`).
    pub groups: String,
    /// Email header (default `Remote-Email`).
    pub email: String,
    /// Display name header (default `Remote-Name`).
    pub name: String,
    /// Optional header with comma-separated RFC 8176 `amr` values (e.g. `Remote-Amr`);
    /// off by default, in which case proxy identities carry no authentication method.
    pub methods: Option<String>,
}

impl Default for HeaderIdentityConfig {
    fn default() -> Self {
        HeaderIdentityConfig {
            user: "remote-user".into(),
            groups: "remote-groups".into(),
            email: "remote-email".into(),
            name: "remote-name".into(),
            methods: None,
        }
    }
}

/// Where an [`Identity`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentitySource {
    /// A verified bearer token (header or cookie).
    Token,
    /// Identity headers from a trusted proxy.
    ProxyHeaders,
}

impl IdentitySource {
    /// Short name for logs and output headers: `token` or `proxyHeaders`.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentitySource::Token => "token",
            IdentitySource::ProxyHeaders => "proxyHeaders",
        }
    }
}

/// The user signing in, as asserted by a token or a trusted proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// User id (token claim `oid`/`sub` or the configured one, or the user header).
    pub user_id: String,
    /// Email or user principal name, when known.
    pub email: Option<String>,
    /// Display name, when known.
    pub name: Option<String>,
    /// Groups as asserted by the token or proxy. Carried for output headers and the sign-in
    /// log only: policy evaluation takes group membership from the tenant's directory, never
    /// from here.
    pub groups: Vec<String>,
    /// Authentication methods performed, mapped from `amr` (see [`methods_from_amr`]).
    pub methods: AuthMethods,
    /// Entra authentication contexts the token was issued for (`acrs`: `c1`…`c99`, lower
    /// case); each is also decided as a sign-in to that context (`docs/entra-idp.md`).
    pub auth_contexts: Vec<String>,
    /// App roles (`roles` claim) assigned to the user for the audience application, for
    /// role-based access to gardien's own console. Not used by policy evaluation.
    pub roles: Vec<String>,
    /// Entra tenant of the token (`tid`), when it has one.
    pub tenant_id: Option<String>,
    /// Where the identity came from.
    pub source: IdentitySource,
}

/// Why the identity of a request could not be established.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The `[identity]` configuration is unusable.
    #[error("invalid [identity] configuration: {0}")]
    Config(String),
    /// The key set could not be read, fetched or parsed.
    #[error("cannot load JWKS from {origin}: {reason}")]
    Jwks {
        /// The file path or URL.
        origin: String,
        /// What went wrong.
        reason: String,
    },
    /// The client presented a token that is not acceptable (answer 401 `invalid_token`).
    #[error("invalid token: {0}")]
    InvalidToken(TokenRejection),
}

impl IdentityError {
    /// True when the client should get 401 `invalid_token` (vs a server-side error).
    pub fn is_invalid_token(&self) -> bool {
        matches!(self, IdentityError::InvalidToken(_))
    }

    /// The short, non-sensitive reason of an invalid token, suitable for a
    /// `WWW-Authenticate` `error_description`; `None` for other errors.
    pub fn token_reason(&self) -> Option<&'static str> {
        match self {
            IdentityError::InvalidToken(r) => Some(r.as_str()),
            _ => None,
        }
    }
}

/// Verifier state for bearer tokens.
struct JwtVerifier {
    config: JwtConfig,
    source: JwksSource,
    keys: ArcSwap<KeySet>,
}

/// Resolves the identity of requests; cheap to share between tasks (`Send + Sync`).
pub struct IdentityResolver {
    /// One verifier per accepted issuer (`[identity.jwt]` first, then `[[identity.issuers]]`).
    jwt: Vec<JwtVerifier>,
    /// The cookie that may carry the token (the issuers name at most one).
    cookie: Option<String>,
    headers: Option<ProxyHeaders>,
}

impl std::fmt::Debug for IdentityResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityResolver")
            .field(
                "jwt",
                &self.jwt.iter().map(|j| &j.config).collect::<Vec<_>>(),
            )
            .field("keys", &self.key_count())
            .field("headers", &self.headers)
            .finish()
    }
}

impl IdentityResolver {
    /// Builds a resolver, checking the configuration. With `jwks_file` the key set is read
    /// now. With `jwks_url` the key set is empty until [`IdentityResolver::refresh`]
    /// succeeds: until then every token fails as "unknown key" (fail closed).
    pub fn new(config: &IdentityConfig) -> Result<Self, IdentityError> {
        let mut jwt: Vec<JwtVerifier> = Vec::new();
        let mut cookie: Option<String> = None;
        for c in config.jwt.iter().chain(&config.issuers) {
            let source = check_jwt_config(c)?;
            if jwt.iter().any(|v| v.config.issuer == c.issuer) {
                return Err(IdentityError::Config(format!(
                    "issuer `{}` is configured twice: one entry per issuer",
                    c.issuer
                )));
            }
            if let Some(name) = &c.cookie {
                match &cookie {
                    Some(other) if other != name => {
                        return Err(IdentityError::Config(format!(
                            "the issuers name two token cookies (`{other}`, `{name}`): use one"
                        )));
                    }
                    _ => cookie = Some(name.clone()),
                }
            }
            let keys = match &source {
                JwksSource::File(path) => jwks::load_file(path)?,
                JwksSource::Url(_) => KeySet::default(),
            };
            jwt.push(JwtVerifier {
                config: c.clone(),
                source,
                keys: ArcSwap::from_pointee(keys),
            });
        }
        let headers = match &config.headers {
            None => None,
            Some(h) => Some(ProxyHeaders::new(h)?),
        };
        Ok(IdentityResolver {
            jwt,
            cookie,
            headers,
        })
    }

    /// Reloads the key set from its file or URL (the fetch runs on a blocking thread) and
    /// swaps it in atomically. On error the previous keys stay in use. Without JWT
    /// verification configured this does nothing.
    pub async fn refresh(&self) -> Result<(), IdentityError> {
        let mut first_error = None;
        for jwt in &self.jwt {
            let source = jwt.source.clone();
            let origin = source.origin();
            let loaded = tokio::task::spawn_blocking(move || source.load())
                .await
                .map_err(|e| IdentityError::Jwks {
                    origin,
                    reason: format!("loading task failed: {e}"),
                })
                .and_then(|r| r);
            match loaded {
                Ok(keys) => {
                    tracing::debug!(issuer = %jwt.config.issuer, keys = keys.len(), "JWKS refreshed");
                    jwt.keys.store(Arc::new(keys));
                }
                // One issuer's failure leaves the others refreshed; its old keys stay.
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Number of usable verification keys currently loaded, over every issuer (0 without
    /// JWT verification).
    pub fn key_count(&self) -> usize {
        self.jwt.iter().map(|j| j.keys.load().len()).sum()
    }

    /// Establishes who is signing in. `peer_trusted` says whether the direct peer is a
    /// trusted proxy (only then are identity headers read); `now` is the current time in
    /// Unix seconds. `Ok(None)` means anonymous.
    pub fn identify(
        &self,
        headers: &http::HeaderMap,
        peer_trusted: bool,
        now: u64,
    ) -> Result<Option<Identity>, IdentityError> {
        let found = gardien_signals::headers::scan(headers, self.header_names());
        self.identify_found(headers, &found, peer_trusted, now)
    }

    /// The identity headers [`IdentityResolver::identify_found`] reads (`[identity.headers]`:
    /// user, groups, email, name, methods; none without them), for
    /// [`gardien_signals::headers::scan`].
    pub fn header_names(&self) -> [Option<&http::HeaderName>; IDENTITY_HEADERS] {
        self.headers
            .as_ref()
            .map_or([None; IDENTITY_HEADERS], ProxyHeaders::names)
    }

    /// As [`IdentityResolver::identify`], with the values of
    /// [`IdentityResolver::header_names`] found already in `headers` (same order).
    pub fn identify_found(
        &self,
        headers: &http::HeaderMap,
        found: &[Found<'_>; IDENTITY_HEADERS],
        peer_trusted: bool,
        now: u64,
    ) -> Result<Option<Identity>, IdentityError> {
        if !self.jwt.is_empty()
            && let Some(raw) = token::extract(headers, self.cookie.as_deref())
                .map_err(IdentityError::InvalidToken)?
        {
            // The issuer the token names picks the key set and the rules; with one issuer
            // configured, that one (its `iss` check refuses any other).
            let jwt = match self.jwt.as_slice() {
                [only] => only,
                many => {
                    let iss = token::unverified_issuer(raw).map_err(IdentityError::InvalidToken)?;
                    many.iter()
                        .find(|j| j.config.issuer == iss)
                        .ok_or(IdentityError::InvalidToken(TokenRejection::WrongIssuer))?
                }
            };
            let keys = jwt.keys.load();
            return token::verify(raw, &jwt.config, &keys, now)
                .map(Some)
                .map_err(IdentityError::InvalidToken);
        }
        match &self.headers {
            Some(proxy) if peer_trusted => Ok(proxy.read_found(found)),
            Some(_) => {
                if found[0].count() > 0 {
                    tracing::debug!("identity headers from an untrusted peer ignored");
                }
                Ok(None)
            }
            None => Ok(None),
        }
    }
}

/// Validates `[identity.jwt]` and returns where the keys come from.
fn check_jwt_config(c: &JwtConfig) -> Result<JwksSource, IdentityError> {
    let bad = |reason: &str| Err(IdentityError::Config(reason.to_string()));
    if c.issuer.trim().is_empty() {
        return bad("jwt.issuer must not be empty");
    }
    if c.audiences.is_empty() || c.audiences.iter().any(|a| a.trim().is_empty()) {
        return bad("jwt.audiences must list at least one non-empty audience");
    }
    if let Some(cookie) = &c.cookie
        && (cookie.is_empty()
            || !cookie
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b)))
    {
        return bad("jwt.cookie is not a valid cookie name");
    }
    if let Some(claim) = &c.user_claim
        && claim.trim().is_empty()
    {
        return bad("jwt.user_claim must not be empty");
    }
    if let Some(tenant) = &c.tenant_id
        && tenant.trim().is_empty()
    {
        return bad("jwt.tenant_id must not be empty (leave it out to accept any `tid`)");
    }
    match (&c.jwks_file, &c.jwks_url) {
        (Some(path), None) => Ok(JwksSource::File(path.clone())),
        (None, Some(url)) => {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return bad("jwt.jwks_url must be an http:// or https:// URL");
            }
            Ok(JwksSource::Url(url.clone()))
        }
        (Some(_), Some(_)) => bad("set only one of jwt.jwks_file and jwt.jwks_url"),
        (None, None) => bad("jwt needs jwt.jwks_file or jwt.jwks_url"),
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]
mod tests {
    use super::test_support::{TestKey, claims, jwks_json, jwt_config, write_jwks};
    use super::*;
    use gardien_core::model::enums::AuthMethod;
    use http::{HeaderMap, HeaderValue};

    const NOW: u64 = 1_700_000_000;

    fn resolver(keys: &[&TestKey], headers: Option<HeaderIdentityConfig>) -> IdentityResolver {
        let (_dir, path) = write_jwks(&jwks_json(keys));
        let config = IdentityConfig {
            jwt: Some(jwt_config(path)),
            issuers: vec![],
            headers,
        };
        // The key set is read by `new`; the temp dir may go afterwards.
        IdentityResolver::new(&config).unwrap()
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        h
    }

    fn rejection(r: Result<Option<Identity>, IdentityError>) -> TokenRejection {
        match r {
            Err(IdentityError::InvalidToken(reason)) => reason,
            other => panic!("expected an invalid token, got {other:?}"),
        }
    }

    #[test]
    fn valid_es256_token_gives_identity_with_methods() {
        let key = TestKey::p256("k1");
        let r = resolver(&[&key], None);
        let mut c = claims(NOW);
        c["amr"] = serde_json::json!(["pwd", "mfa", "whatever"]);
        c["groups"] = serde_json::json!(["g1", "g2", 3]);
        c["email"] = serde_json::json!("alice@example.com");
        c["name"] = serde_json::json!("Alice");
        let id = r
            .identify(&bearer(&key.sign(&c)), false, NOW)
            .unwrap()
            .unwrap();
        assert_eq!(
            id,
            Identity {
                user_id: "oid-alice".into(),
                email: Some("alice@example.com".into()),
                name: Some("Alice".into()),
                groups: vec!["g1".into(), "g2".into()],
                methods: AuthMethods::of(&[AuthMethod::Password, AuthMethod::FederatedMultiFactor]),
                auth_contexts: vec![],
                roles: vec![],
                tenant_id: None,
                source: IdentitySource::Token,
            }
        );
    }

    #[test]
    fn eddsa_and_rsa_tokens_verify() {
        let ed = TestKey::ed25519("ed");
        let rsa = TestKey::rsa("rsa");
        let r = resolver(&[&ed, &rsa], None);
        for key in [&ed, &rsa] {
            let id = r.identify(&bearer(&key.sign(&claims(NOW))), false, NOW);
            assert_eq!(id.unwrap().unwrap().user_id, "oid-alice");
        }
        // PS256 with the same RSA key is accepted too.
        let token = rsa.sign_with(jsonwebtoken::Algorithm::PS256, Some("rsa"), &claims(NOW));
        assert!(r.identify(&bearer(&token), false, NOW).unwrap().is_some());
    }

    #[test]
    fn user_claim_fallback_and_override() {
        let key = TestKey::p256("k1");
        let r = resolver(&[&key], None);
        let mut c = claims(NOW);
        c.as_object_mut().unwrap().remove("oid");
        let id = r
            .identify(&bearer(&key.sign(&c)), false, NOW)
            .unwrap()
            .unwrap();
        assert_eq!(id.user_id, "sub-alice");
        c.as_object_mut().unwrap().remove("sub");
        c["preferred_username"] = serde_json::json!("alice@contoso.com");
        let err = r.identify(&bearer(&key.sign(&c)), false, NOW);
        assert_eq!(rejection(err), TokenRejection::MissingUser);

        let (_dir, path) = write_jwks(&jwks_json(&[&key]));
        let mut jwt = jwt_config(path);
        jwt.user_claim = Some("upn".into());
        let r = IdentityResolver::new(&IdentityConfig {
            jwt: Some(jwt),
            issuers: vec![],
            headers: None,
        })
        .unwrap();
        let mut c = claims(NOW);
        c["upn"] = serde_json::json!("alice@contoso.com");
        let id = r
            .identify(&bearer(&key.sign(&c)), false, NOW)
            .unwrap()
            .unwrap();
        assert_eq!(id.user_id, "alice@contoso.com");
        assert_eq!(id.email.as_deref(), Some("alice@contoso.com"));
    }

    #[test]
    fn expiry_and_not_before_with_leeway() {
        let key = TestKey::p256("k1");
        let r = resolver(&[&key], None);
        let with = |exp: Option<u64>, nbf: Option<u64>| {
            let mut c = claims(NOW);
            match exp {
                Some(e) => c["exp"] = serde_json::json!(e),
                None => {
                    c.as_object_mut().unwrap().remove("exp");
                }
            }
            if let Some(n) = nbf {
                c["nbf"] = serde_json::json!(n);
            }
            r.identify(&bearer(&key.sign(&c)), false, NOW)
        };
        // Leeway is 60 s: a token that expired 59 s ago is still accepted, 60 s ago is not.
        assert!(with(Some(NOW - 59), None).is_ok());
        assert_eq!(
            rejection(with(Some(NOW - 60), None)),
            TokenRejection::Expired
        );
        assert_eq!(
            rejection(with(Some(NOW - 3600), None)),
            TokenRejection::Expired
        );
        assert_eq!(rejection(with(None, None)), TokenRejection::MissingExpiry);
        // Not before: accepted up to 60 s in the future, rejected at 61 s.
        assert!(with(Some(NOW + 600), Some(NOW + 60)).is_ok());
        assert_eq!(
            rejection(with(Some(NOW + 600), Some(NOW + 61))),
            TokenRejection::NotYetValid
        );
        // Fractional and non-numeric dates.
        let mut c = claims(NOW);
        c["exp"] = serde_json::json!((NOW - 60) as f64 - 0.5);
        assert_eq!(
            rejection(r.identify(&bearer(&key.sign(&c)), false, NOW)),
            TokenRejection::Expired
        );
        c["exp"] = serde_json::json!("tomorrow");
        assert_eq!(
            rejection(r.identify(&bearer(&key.sign(&c)), false, NOW)),
            TokenRejection::Malformed
        );
    }

    #[test]
    fn zero_leeway_is_exact() {
        let key = TestKey::p256("k1");
        let (_dir, path) = write_jwks(&jwks_json(&[&key]));
        let mut jwt = jwt_config(path);
        jwt.leeway_seconds = 0;
        let r = IdentityResolver::new(&IdentityConfig {
            jwt: Some(jwt),
            issuers: vec![],
            headers: None,
        })
        .unwrap();
        let mut c = claims(NOW);
        c["exp"] = serde_json::json!(NOW + 1);
        assert!(r.identify(&bearer(&key.sign(&c)), false, NOW).is_ok());
        c["exp"] = serde_json::json!(NOW);
        assert_eq!(
            rejection(r.identify(&bearer(&key.sign(&c)), false, NOW)),
            TokenRejection::Expired
        );
        c["exp"] = serde_json::json!(NOW + 100);
        c["nbf"] = serde_json::json!(NOW);
        assert!(r.identify(&bearer(&key.sign(&c)), false, NOW).is_ok());
        c["nbf"] = serde_json::json!(NOW + 1);
        assert_eq!(
            rejection(r.identify(&bearer(&key.sign(&c)), false, NOW)),
            TokenRejection::NotYetValid
        );
    }

    #[test]
    fn issuer_and_audience() {
        let key = TestKey::p256("k1");
        let r = resolver(&[&key], None);
        let check = |field: &str, value: serde_json::Value| {
            let mut c = claims(NOW);
            if value.is_null() {
                c.as_object_mut().unwrap().remove(field);
            } else {
                c[field] = value;
            }
            r.identify(&bearer(&key.sign(&c)), false, NOW)
        };
        use serde_json::json;
        assert_eq!(
            rejection(check("iss", json!("https://evil.example/"))),
            TokenRejection::WrongIssuer
        );
        // Exact match: no trailing-slash or case tolerance.
        assert_eq!(
            rejection(check("iss", json!("https://login.example.com/tenant"))),
            TokenRejection::WrongIssuer
        );
        assert_eq!(
            rejection(check("iss", json!(null))),
            TokenRejection::WrongIssuer
        );
        assert_eq!(
            rejection(check("aud", json!("api://other"))),
            TokenRejection::WrongAudience
        );
        assert_eq!(
            rejection(check("aud", json!(["api://other", "x"]))),
            TokenRejection::WrongAudience
        );
        assert_eq!(
            rejection(check("aud", json!(null))),
            TokenRejection::WrongAudience
        );
        assert!(check("aud", json!(["api://other", "api://gardien"])).is_ok());
        assert!(check("aud", json!("gardien-client")).is_ok());
    }

    #[test]
    fn bad_signature_unknown_key_and_kid_less_tokens() {
        let key = TestKey::p256("k1");
        let other = TestKey::p256("k1");
        let r = resolver(&[&key], None);
        // Same kid, different key.
        assert_eq!(
            rejection(r.identify(&bearer(&other.sign(&claims(NOW))), false, NOW)),
            TokenRejection::BadSignature
        );
        // Unknown kid.
        let stranger = TestKey::p256("k9");
        assert_eq!(
            rejection(r.identify(&bearer(&stranger.sign(&claims(NOW))), false, NOW)),
            TokenRejection::UnknownKey
        );
        // No kid: the only key of the algorithm is used.
        let token = key.sign_with(jsonwebtoken::Algorithm::ES256, None, &claims(NOW));
        assert!(r.identify(&bearer(&token), false, NOW).is_ok());
        // No kid and two candidate keys: ambiguous, rejected.
        let second = TestKey::p256("k2");
        let r2 = resolver(&[&key, &second], None);
        assert_eq!(
            rejection(r2.identify(&bearer(&token), false, NOW)),
            TokenRejection::UnknownKey
        );
        // Tampered payload.
        let token = key.sign(&claims(NOW));
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = TestKey::b64(br#"{"iss":"x"}"#);
        parts[1] = &forged;
        assert_eq!(
            rejection(r.identify(&bearer(&parts.join(".")), false, NOW)),
            TokenRejection::BadSignature
        );
    }

    #[test]
    fn algorithm_must_match_key() {
        let ec = TestKey::p256("k1");
        let rsa = TestKey::rsa("k1-rsa");
        let r = resolver(&[&ec, &rsa], None);
        // An RSA signature presented under the EC key's kid.
        let token = rsa.sign_with(jsonwebtoken::Algorithm::RS256, Some("k1"), &claims(NOW));
        assert_eq!(
            rejection(r.identify(&bearer(&token), false, NOW)),
            TokenRejection::UnknownKey
        );
    }

    #[test]
    fn none_and_hmac_tokens_rejected() {
        let key = TestKey::p256("k1");
        let r = resolver(&[&key], None);
        let payload = TestKey::b64(serde_json::to_string(&claims(NOW)).unwrap().as_bytes());
        for header in [
            r#"{"alg":"none","typ":"JWT"}"#,
            r#"{"alg":"none","kid":"k1"}"#,
            r#"{"alg":"HS256","kid":"k1"}"#,
        ] {
            let token = format!("{}.{payload}.", TestKey::b64(header.as_bytes()));
            assert_eq!(
                rejection(r.identify(&bearer(&token), false, NOW)),
                TokenRejection::UnsupportedAlgorithm,
                "{header}"
            );
        }
        // A real HS256 token signed with the public key as the secret.
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some("k1".into());
        let token = jsonwebtoken::encode(
            &header,
            &claims(NOW),
            &jsonwebtoken::EncodingKey::from_secret(&key.public),
        )
        .unwrap();
        assert_eq!(
            rejection(r.identify(&bearer(&token), false, NOW)),
            TokenRejection::UnsupportedAlgorithm
        );
        // A critical header extension is not understood: rejected even with a valid signature.
        let crit = TestKey::b64(br#"{"alg":"ES256","kid":"k1","crit":["exp"],"exp":1}"#);
        let message = format!("{crit}.{payload}");
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &key.encoding, key.alg).unwrap();
        let forged = format!("{message}.{signature}");
        assert_eq!(
            rejection(r.identify(&bearer(&forged), false, NOW)),
            TokenRejection::Malformed
        );
        for junk in ["", "a.b", "a.b.c", "a.b.c.d.e", "Zm9v.Zm9v.Zm9v"] {
            assert_eq!(
                rejection(r.identify(&bearer(junk), false, NOW)),
                TokenRejection::Malformed,
                "{junk:?}"
            );
        }
    }

    #[test]
    fn token_from_cookie() {
        let key = TestKey::p256("k1");
        let (_dir, path) = write_jwks(&jwks_json(&[&key]));
        let mut jwt = jwt_config(path);
        jwt.cookie = Some("id_token".into());
        let r = IdentityResolver::new(&IdentityConfig {
            jwt: Some(jwt),
            issuers: vec![],
            headers: None,
        })
        .unwrap();
        let token = key.sign(&claims(NOW));
        let mut h = HeaderMap::new();
        h.append(
            http::header::COOKIE,
            HeaderValue::from_static("a=b; other=1"),
        );
        h.append(
            http::header::COOKIE,
            HeaderValue::from_str(&format!("theme=dark; id_token={token}")).unwrap(),
        );
        let id = r.identify(&h, false, NOW).unwrap().unwrap();
        assert_eq!(id.source, IdentitySource::Token);
        // Two different values of the cookie: ambiguous, rejected.
        h.append(
            http::header::COOKIE,
            HeaderValue::from_static("id_token=something-else"),
        );
        assert_eq!(
            rejection(r.identify(&h, false, NOW)),
            TokenRejection::Malformed
        );
        // No cookie, no bearer: anonymous.
        assert_eq!(r.identify(&HeaderMap::new(), false, NOW).unwrap(), None);
    }

    fn proxy_headers(user: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("remote-user", HeaderValue::from_str(user).unwrap());
        h.insert("remote-groups", HeaderValue::from_static("admins, devs,,"));
        h.insert("remote-email", HeaderValue::from_static("bob@example.com"));
        h
    }

    #[test]
    fn bearer_wins_over_headers_and_invalid_bearer_fails_closed() {
        let key = TestKey::p256("k1");
        let r = resolver(&[&key], Some(HeaderIdentityConfig::default()));
        let mut h = proxy_headers("bob");
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {}", key.sign(&claims(NOW)))).unwrap(),
        );
        let id = r.identify(&h, true, NOW).unwrap().unwrap();
        assert_eq!(id.user_id, "oid-alice");
        assert_eq!(id.source, IdentitySource::Token);

        let mut c = claims(NOW);
        c["exp"] = serde_json::json!(NOW - 3600);
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(&format!("bearer {}", key.sign(&c))).unwrap(),
        );
        let err = r.identify(&h, true, NOW).unwrap_err();
        assert!(err.is_invalid_token());
        assert_eq!(err.token_reason(), Some("expired"));

        // Not a bearer scheme: not ours, the headers are used.
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static("Basic Ym9iOnB3"),
        );
        let id = r.identify(&h, true, NOW).unwrap().unwrap();
        assert_eq!(id.source, IdentitySource::ProxyHeaders);
        // Two Authorization headers: ambiguous, rejected.
        h.append(
            http::header::AUTHORIZATION,
            HeaderValue::from_static("Bearer x.y.z"),
        );
        assert_eq!(
            rejection(r.identify(&h, true, NOW)),
            TokenRejection::Malformed
        );
    }

    #[test]
    fn proxy_headers_only_from_trusted_peers() {
        let r = IdentityResolver::new(&IdentityConfig {
            jwt: None,
            issuers: vec![],
            headers: Some(HeaderIdentityConfig {
                methods: Some("Remote-Amr".into()),
                ..HeaderIdentityConfig::default()
            }),
        })
        .unwrap();
        let mut h = proxy_headers("bob");
        h.insert("remote-amr", HeaderValue::from_static("pwd, otp"));
        h.insert(
            "remote-name",
            HeaderValue::from_bytes("Bob Léger".as_bytes()).unwrap(),
        );
        // Bearer tokens are not looked at without JWT configuration.
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static("Bearer x.y.z"),
        );
        assert_eq!(r.identify(&h, false, NOW).unwrap(), None);
        let id = r.identify(&h, true, NOW).unwrap().unwrap();
        assert_eq!(
            id,
            Identity {
                user_id: "bob".into(),
                email: Some("bob@example.com".into()),
                name: Some("Bob Léger".into()),
                groups: vec!["admins".into(), "devs".into()],
                methods: AuthMethods::of(&[AuthMethod::Password, AuthMethod::SoftwareOath]),
                auth_contexts: vec![],
                roles: vec![],
                tenant_id: None,
                source: IdentitySource::ProxyHeaders,
            }
        );
        // A repeated user header is treated as absent: anonymous.
        h.append("remote-user", HeaderValue::from_static("mallory"));
        assert_eq!(r.identify(&h, true, NOW).unwrap(), None);
        // A non-UTF-8 user header too.
        let mut h = proxy_headers("bob");
        h.insert("remote-user", HeaderValue::from_bytes(b"b\xffb").unwrap());
        assert_eq!(r.identify(&h, true, NOW).unwrap(), None);
        // A repeated optional header is dropped, the rest is kept.
        let mut h = proxy_headers("bob");
        h.append("remote-email", HeaderValue::from_static("x@example.com"));
        let id = r.identify(&h, true, NOW).unwrap().unwrap();
        assert_eq!(id.email, None);
        assert_eq!(id.methods, AuthMethods::default());
        // Without methods header configured, an amr header is ignored.
        let r = IdentityResolver::new(&IdentityConfig {
            jwt: None,
            issuers: vec![],
            headers: Some(HeaderIdentityConfig::default()),
        })
        .unwrap();
        let mut h = proxy_headers("bob");
        h.insert("remote-amr", HeaderValue::from_static("pwd, otp"));
        let id = r.identify(&h, true, NOW).unwrap().unwrap();
        assert_eq!(id.methods, AuthMethods::default());
        assert_eq!(r.identify(&HeaderMap::new(), true, NOW).unwrap(), None);
    }

    #[test]
    fn config_errors() {
        let key = TestKey::p256("k1");
        let (dir, path) = write_jwks(&jwks_json(&[&key]));
        let build = |f: &dyn Fn(&mut JwtConfig)| {
            let mut jwt = jwt_config(path.clone());
            f(&mut jwt);
            IdentityResolver::new(&IdentityConfig {
                jwt: Some(jwt),
                issuers: vec![],
                headers: None,
            })
        };
        let is_config =
            |r: Result<IdentityResolver, IdentityError>| matches!(r, Err(IdentityError::Config(_)));
        assert!(build(&|_| {}).is_ok());
        assert!(is_config(build(&|j| j.issuer = " ".into())));
        assert!(is_config(build(&|j| j.audiences.clear())));
        assert!(is_config(
            build(&|j| j.jwks_url = Some("https://x/".into()))
        ));
        assert!(is_config(build(&|j| j.jwks_file = None)));
        assert!(is_config(build(&|j| {
            j.jwks_file = None;
            j.jwks_url = Some("ftp://x/".into());
        })));
        assert!(is_config(build(&|j| j.cookie = Some("a b".into()))));
        assert!(is_config(build(&|j| j.user_claim = Some(String::new()))));
        let bad_header = IdentityResolver::new(&IdentityConfig {
            jwt: None,
            issuers: vec![],
            headers: Some(HeaderIdentityConfig {
                user: "remote user".into(),
                ..HeaderIdentityConfig::default()
            }),
        });
        assert!(is_config(bad_header));

        // Malformed and missing JWKS files: the error names the file.
        let broken = dir.path().join("broken.json");
        std::fs::write(&broken, "{\"keys\": [").unwrap();
        let err = build(&|j| j.jwks_file = Some(broken.clone())).unwrap_err();
        assert!(matches!(err, IdentityError::Jwks { .. }), "{err:?}");
        assert!(err.to_string().contains("broken.json"), "{err}");
        assert!(!err.is_invalid_token());
        let missing = dir.path().join("missing.json");
        let err = build(&|j| j.jwks_file = Some(missing.clone())).unwrap_err();
        assert!(err.to_string().contains("missing.json"), "{err}");
        // A key set without any usable key (symmetric keys are never used).
        let oct = dir.path().join("oct.json");
        std::fs::write(&oct, r#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"h"}]}"#).unwrap();
        let err = build(&|j| j.jwks_file = Some(oct.clone())).unwrap_err();
        assert!(err.to_string().contains("oct.json"), "{err}");
    }

    #[test]
    fn toml_section_parses_with_defaults() {
        let config: IdentityConfig = toml::from_str(
            r#"
            [jwt]
            issuer = "https://idp/"
            audiences = ["a"]
            jwks_url = "https://idp/jwks"

            [headers]
            "#,
        )
        .unwrap();
        let jwt = config.jwt.unwrap();
        assert_eq!(jwt.leeway_seconds, 60);
        assert_eq!(jwt.cookie, None);
        let headers = config.headers.unwrap();
        assert_eq!(headers.user, "remote-user");
        assert_eq!(headers.methods, None);
        let unknown = toml::from_str::<IdentityConfig>(
            "[jwt]\nissuer = \"i\"\naudiences = [\"a\"]\njwks_url = \"u\"\nalgs = []\n",
        );
        assert!(unknown.is_err());
        let missing_audiences =
            toml::from_str::<IdentityConfig>("[jwt]\nissuer = \"i\"\njwks_url = \"u\"\n");
        assert!(missing_audiences.is_err());
        let empty: IdentityConfig = toml::from_str("").unwrap();
        assert!(empty.jwt.is_none() && empty.headers.is_none());
    }

    #[tokio::test]
    async fn url_keys_empty_until_refresh_then_kept_on_failure() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let key = TestKey::p256("k1");
        let body = jwks_json(&[&key]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // First request: the key set. Every later one: 500.
        tokio::spawn(async move {
            let mut served = 0;
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = vec![0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let response = if served == 0 {
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                } else {
                    "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_string()
                };
                served += 1;
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });

        let mut jwt = jwt_config(PathBuf::new());
        jwt.jwks_file = None;
        jwt.jwks_url = Some(format!("http://{addr}/jwks.json"));
        let r = IdentityResolver::new(&IdentityConfig {
            jwt: Some(jwt),
            issuers: vec![],
            headers: Some(HeaderIdentityConfig::default()),
        })
        .unwrap();
        let token = key.sign(&claims(NOW));
        // Before the first refresh: fail closed, even with trusted headers present.
        let mut h = proxy_headers("bob");
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        assert_eq!(
            rejection(r.identify(&h, true, NOW)),
            TokenRejection::UnknownKey
        );

        r.refresh().await.unwrap();
        assert_eq!(r.key_count(), 1);
        assert_eq!(
            r.identify(&h, true, NOW).unwrap().unwrap().user_id,
            "oid-alice"
        );

        let err = r.refresh().await.unwrap_err();
        assert!(matches!(err, IdentityError::Jwks { .. }), "{err:?}");
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
        assert_eq!(r.key_count(), 1);
        assert!(r.identify(&h, true, NOW).unwrap().is_some());
    }

    #[test]
    fn resolver_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<IdentityResolver>();
        check::<IdentityError>();
    }
}
