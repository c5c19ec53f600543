//! Bearer tokens: extraction from a request and verification against the key set.

use gardien_core::model::enums::AuthMethods;
use http::HeaderMap;
use jsonwebtoken::Validation;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::jwks::{KeySet, allowed_algorithm, b64url_decode};
use super::{Identity, IdentitySource, JwtConfig, amr};

/// Longest token accepted, in bytes.
const MAX_TOKEN_LEN: usize = 32 * 1024;

/// Why a token was rejected. The text ([`TokenRejection::as_str`]) is short and reveals
/// nothing about the configuration, so it can go into a `WWW-Authenticate` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRejection {
    /// Not a well-formed JWS compact token, or an ambiguous one (several tokens).
    Malformed,
    /// `alg` is not an accepted asymmetric signature algorithm (`none`, HS256, ...).
    UnsupportedAlgorithm,
    /// No key for the token's `kid` and algorithm.
    UnknownKey,
    /// The signature does not verify.
    BadSignature,
    /// `exp` is in the past (leeway included).
    Expired,
    /// `exp` is missing.
    MissingExpiry,
    /// `nbf` is in the future (leeway included).
    NotYetValid,
    /// `iss` is missing or not the configured issuer.
    WrongIssuer,
    /// `aud` is missing or contains none of the configured audiences.
    WrongAudience,
    /// The user id claim is missing or empty.
    MissingUser,
    /// `tid` is missing or not the configured Entra tenant.
    WrongTenant,
}

impl TokenRejection {
    /// The short reason, for a `WWW-Authenticate` `error_description`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenRejection::Malformed => "malformed",
            TokenRejection::UnsupportedAlgorithm => "unsupported algorithm",
            TokenRejection::UnknownKey => "unknown key",
            TokenRejection::BadSignature => "bad signature",
            TokenRejection::Expired => "expired",
            TokenRejection::MissingExpiry => "missing expiry",
            TokenRejection::NotYetValid => "not yet valid",
            TokenRejection::WrongIssuer => "wrong issuer",
            TokenRejection::WrongAudience => "wrong audience",
            TokenRejection::MissingUser => "missing user claim",
            TokenRejection::WrongTenant => "wrong tenant",
        }
    }
}

impl std::fmt::Display for TokenRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for TokenRejection {}

/// Finds the token of a request: `Authorization: Bearer` first, then the cookie.
/// `Ok(None)` when there is none; an error when what is there is ambiguous (several
/// `Authorization` headers, or the cookie repeated with different values) or unreadable.
/// An `Authorization` header with another scheme (Basic, ...) is not ours and is ignored.
pub(super) fn extract<'a>(
    headers: &'a HeaderMap,
    cookie: Option<&str>,
) -> Result<Option<&'a str>, TokenRejection> {
    let mut auth = headers.get_all(http::header::AUTHORIZATION).iter();
    if let Some(value) = auth.next() {
        let bytes = value.as_bytes();
        let is_bearer = bytes
            .get(..6)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"bearer"))
            && bytes.get(6).is_none_or(|b| *b == b' ' || *b == b'\t');
        if auth.next().is_some() {
            return Err(TokenRejection::Malformed);
        }
        if is_bearer {
            let text = value.to_str().map_err(|_| TokenRejection::Malformed)?;
            return Ok(Some(text.get(6..).unwrap_or("").trim()));
        }
    }
    let Some(name) = cookie else {
        return Ok(None);
    };
    let mut found: Option<&str> = None;
    for header in headers.get_all(http::header::COOKIE) {
        // Cookies that are not visible ASCII cannot be ours; skip the whole header.
        let Ok(text) = header.to_str() else {
            continue;
        };
        for pair in text.split(';') {
            let Some((key, value)) = pair.trim().split_once('=') else {
                continue;
            };
            if key.trim() != name {
                continue;
            }
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            match found {
                Some(previous) if previous != value => return Err(TokenRejection::Malformed),
                _ => found = Some(value),
            }
        }
    }
    Ok(found)
}

/// The JOSE header members used to pick the key.
#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    kid: Option<String>,
    /// Critical extensions (RFC 7515 §4.1.11): none is understood, so any is rejected.
    crit: Option<Value>,
}

/// The `iss` of a token, read before verification only to pick the issuer whose keys and
/// rules then verify it (the verification checks `iss` again).
pub(super) fn unverified_issuer(token: &str) -> Result<String, TokenRejection> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(TokenRejection::Malformed);
    }
    let payload = token.split('.').nth(1).ok_or(TokenRejection::Malformed)?;
    let claims: Map<String, Value> = b64url_decode(payload)
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(TokenRejection::Malformed)?;
    match claims.get("iss") {
        Some(Value::String(iss)) => Ok(iss.clone()),
        _ => Err(TokenRejection::WrongIssuer),
    }
}

/// Verifies a token (signature, `iss`, `aud`, `exp`, `nbf` against `now`) and reads the
/// identity from its claims.
pub(super) fn verify(
    token: &str,
    config: &JwtConfig,
    keys: &KeySet,
    now: u64,
) -> Result<Identity, TokenRejection> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(TokenRejection::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenRejection::Malformed);
    };
    let header: JoseHeader = b64url_decode(header)
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(TokenRejection::Malformed)?;
    if header.crit.is_some() {
        return Err(TokenRejection::Malformed);
    }
    let alg = allowed_algorithm(&header.alg).ok_or(TokenRejection::UnsupportedAlgorithm)?;
    let key = keys
        .select(header.kid.as_deref(), alg)
        .ok_or(TokenRejection::UnknownKey)?;

    // Signature only: the claims are checked below against `now`, not the system clock.
    let mut validation = Validation::new(alg);
    validation.algorithms = vec![alg];
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let data =
        jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation).map_err(|e| match e
            .kind()
        {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenRejection::BadSignature,
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => {
                TokenRejection::UnsupportedAlgorithm
            }
            _ => TokenRejection::Malformed,
        })?;
    let claims = data.claims;
    check_claims(&claims, config, now)?;
    identity_from_claims(&claims, config)
}

/// A NumericDate claim as whole seconds, rounded up (a fractional `exp` or `nbf` never
/// extends validity). `Ok(None)` when absent, an error when not a non-negative number.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, TokenRejection> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(v) = n.as_u64() {
                return Ok(Some(v));
            }
            match n.as_f64() {
                // `as` saturates on out-of-range values, which is what is wanted here.
                Some(f) if f.is_finite() && f >= 0.0 => Ok(Some(f.ceil() as u64)),
                _ => Err(TokenRejection::Malformed),
            }
        }
        Some(_) => Err(TokenRejection::Malformed),
    }
}

fn check_claims(
    claims: &Map<String, Value>,
    config: &JwtConfig,
    now: u64,
) -> Result<(), TokenRejection> {
    let leeway = config.leeway_seconds;
    let exp = numeric_date(claims, "exp")?.ok_or(TokenRejection::MissingExpiry)?;
    if now >= exp.saturating_add(leeway) {
        return Err(TokenRejection::Expired);
    }
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && nbf > now.saturating_add(leeway)
    {
        return Err(TokenRejection::NotYetValid);
    }
    match claims.get("iss") {
        Some(Value::String(iss)) if *iss == config.issuer => {}
        _ => return Err(TokenRejection::WrongIssuer),
    }
    let accepted = |aud: &str| config.audiences.iter().any(|a| a == aud);
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => accepted(aud),
        Some(Value::Array(list)) => list.iter().any(|v| v.as_str().is_some_and(accepted)),
        _ => false,
    };
    if !audience_ok {
        return Err(TokenRejection::WrongAudience);
    }
    if let Some(tenant) = &config.tenant_id {
        match claims.get("tid") {
            Some(Value::String(tid)) if tid.trim().eq_ignore_ascii_case(tenant.trim()) => {}
            _ => return Err(TokenRejection::WrongTenant),
        }
    }
    Ok(())
}

/// A non-empty string claim.
fn string_claim(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Most app roles kept from a token.
const MAX_ROLES: usize = 64;
/// Most authentication contexts kept from a token (Entra defines `c1`…`c99`).
const MAX_AUTH_CONTEXTS: usize = 16;

/// The non-empty strings of an array claim, at most `max`.
fn strings(claims: &Map<String, Value>, name: &str, max: usize) -> Vec<String> {
    match claims.get(name) {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .take(max)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// Entra's `acrs`: authentication context ids `c1`…`c99` (lower case, each once); other
/// values are not contexts gardien policies can name and are ignored.
fn auth_contexts(claims: &Map<String, Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for value in strings(claims, "acrs", MAX_AUTH_CONTEXTS) {
        let id = value.to_ascii_lowercase();
        let valid = id
            .strip_prefix('c')
            .and_then(|n| n.parse::<u8>().ok())
            .is_some_and(|n| (1..=99).contains(&n) && !id.starts_with("c0"));
        if valid && !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

fn identity_from_claims(
    claims: &Map<String, Value>,
    config: &JwtConfig,
) -> Result<Identity, TokenRejection> {
    let user_id = match &config.user_claim {
        Some(claim) => string_claim(claims, claim),
        None => string_claim(claims, "oid").or_else(|| string_claim(claims, "sub")),
    }
    .ok_or(TokenRejection::MissingUser)?;
    let email = ["email", "preferred_username", "upn"]
        .iter()
        .find_map(|c| string_claim(claims, c));
    let groups = match claims.get("groups") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    let methods = match claims.get("amr") {
        Some(Value::Array(list)) => amr::methods_from_amr(list.iter().filter_map(Value::as_str)),
        _ => AuthMethods::default(),
    };
    Ok(Identity {
        user_id,
        email,
        name: string_claim(claims, "name"),
        groups,
        methods,
        auth_contexts: auth_contexts(claims),
        roles: strings(claims, "roles", MAX_ROLES),
        tenant_id: string_claim(claims, "tid"),
        source: IdentitySource::Token,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn extraction() {
        let mut h = HeaderMap::new();
        assert_eq!(extract(&h, Some("t")), Ok(None));
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static("BEARER   abc.def.ghi "),
        );
        assert_eq!(extract(&h, None), Ok(Some("abc.def.ghi")));
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static("Bearer"),
        );
        assert_eq!(extract(&h, None), Ok(Some("")));
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static("Bearerx"),
        );
        assert_eq!(extract(&h, None), Ok(None));
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static("Bearer "),
        );
        assert_eq!(extract(&h, None), Ok(Some("")));
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xe9").unwrap(),
        );
        assert_eq!(extract(&h, None), Err(TokenRejection::Malformed));
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static("Basic x"),
        );
        h.insert(
            http::header::COOKIE,
            HeaderValue::from_static("tok=\"q.r.s\"; tok2=no"),
        );
        assert_eq!(extract(&h, Some("tok")), Ok(Some("q.r.s")));
        assert_eq!(extract(&h, Some("tok3")), Ok(None));
        assert_eq!(extract(&h, None), Ok(None));
        h.append(http::header::COOKIE, HeaderValue::from_static("tok=q.r.s"));
        assert_eq!(extract(&h, Some("tok")), Ok(Some("q.r.s")));
    }

    #[test]
    fn acrs_are_entra_context_ids() {
        let claims =
            serde_json::json!({"acrs": ["c1", "C2", "c1", "c0", "c07", "c100", "urn:x", 3, "c99"]});
        assert_eq!(
            auth_contexts(claims.as_object().unwrap()),
            ["c1", "c2", "c99"]
        );
        let claims = serde_json::json!({"roles": ["Console.Admin", " ", "Reader"]});
        assert_eq!(
            strings(claims.as_object().unwrap(), "roles", 8),
            ["Console.Admin", "Reader"]
        );
    }

    #[test]
    fn reasons_are_stable() {
        assert_eq!(TokenRejection::Expired.to_string(), "expired");
        assert_eq!(TokenRejection::Expired.as_str(), "expired");
        assert_eq!(TokenRejection::UnknownKey.as_str(), "unknown key");
    }
}
