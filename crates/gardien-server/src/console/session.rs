//! Console sessions: who is signed in, with which role, sealed in a cookie.
//!
//! A session is a small JSON object (actor, display name, role, CSRF token, expiry) sealed
//! with AES-256-GCM under the console's session key (`[console] session_key_env`, else a
//! random key drawn at start); the cookie is `HttpOnly`, `SameSite=Strict`, `Path=/console`
//! and `Secure` when [`super::ConsoleConfig::secure_cookies`] says so. The associated data
//! names the cookie's purpose, so a sealed OIDC state can never be replayed as a session.
//! A tampered, expired or foreign cookie is no session. Every POST carries the session's
//! CSRF token in a form field ([`csrf_matches`]).

use base64::Engine as _;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// What a signed-in person may do in the console.
///
/// An `[admin]` token signs in with its role ([`From<Role>`]): a `reader` token as
/// [`ConsoleRole::Reader`], an `admin` token as [`ConsoleRole::Admin`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsoleRole {
    /// Help desk: searches sign-ins, reads traces (at the reader disclosure level), runs
    /// what-if.
    Reader,
    /// Everything a reader does, plus policy versions, diffs and rollback.
    Admin,
}

impl From<crate::credentials::Role> for ConsoleRole {
    fn from(role: crate::credentials::Role) -> ConsoleRole {
        match role {
            crate::credentials::Role::Reader => ConsoleRole::Reader,
            crate::credentials::Role::Admin => ConsoleRole::Admin,
        }
    }
}

impl ConsoleRole {
    /// `reader` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsoleRole::Reader => "reader",
            ConsoleRole::Admin => "admin",
        }
    }
}

/// A signed-in person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Who: `token:<name>` for an admin token (`token:admin` for `token_sha256`), else the
    /// user id the ID token gave.
    pub actor: String,
    /// Display name or email, when known.
    pub name: Option<String>,
    /// The role.
    pub role: ConsoleRole,
    /// The CSRF token every POST of this session must carry.
    pub csrf: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// The session's own random id: signing out revokes it in the store
    /// ([`super::ConsoleState::revoke`]). A cookie sealed before sessions had one opens no
    /// session.
    pub sid: String,
}

/// Names the purpose of a sealed value (the AEAD's associated data).
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    /// The session cookie.
    Session,
    /// The OIDC state cookie (state, PKCE verifier, nonce).
    OidcState,
    /// The login form's anti-forgery cookie.
    Login,
}

impl Purpose {
    fn aad(self) -> &'static [u8] {
        match self {
            Purpose::Session => b"gardien-console-session",
            Purpose::OidcState => b"gardien-console-oidc",
            Purpose::Login => b"gardien-console-login",
        }
    }
}

/// Seals and opens cookie values; also the console's source of random tokens.
pub struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer { .. }")
    }
}

/// The session key could not be made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The environment variable is missing or not 64 hex digits.
    #[error("{0}")]
    Invalid(String),
    /// The system random generator failed.
    #[error("no randomness available for the console session key")]
    Random,
}

impl Sealer {
    /// A sealer with this key.
    pub fn new(key: &[u8; 32]) -> Result<Sealer, KeyError> {
        let unbound = UnboundKey::new(&AES_256_GCM, key).map_err(|_| KeyError::Random)?;
        Ok(Sealer {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
        })
    }

    /// The key from the environment variable `env` (64 hex digits), else a random one.
    pub fn from_env(env: Option<&str>) -> Result<Sealer, KeyError> {
        let mut key = [0u8; 32];
        match env {
            Some(name) => {
                let text = std::env::var(name).map_err(|_| {
                    KeyError::Invalid(format!(
                        "[console] session_key_env: environment variable `{name}` is not set"
                    ))
                })?;
                let text = text.trim();
                let bad = || {
                    KeyError::Invalid(format!(
                        "[console] session_key_env: `{name}` must hold 64 hex digits (32 bytes)"
                    ))
                };
                if text.len() != 64 {
                    return Err(bad());
                }
                for (i, byte) in key.iter_mut().enumerate() {
                    let pair = text.get(2 * i..2 * i + 2).ok_or_else(bad)?;
                    *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
                }
            }
            None => SystemRandom::new()
                .fill(&mut key)
                .map_err(|_| KeyError::Random)?,
        }
        Sealer::new(&key)
    }

    /// A random token: 32 bytes, base64url (43 characters).
    pub fn token(&self) -> String {
        let mut bytes = [0u8; 32];
        // A failing system RNG gives an empty token, which matches nothing (see
        // `csrf_matches`) and seals nothing (`seal` fails the same way).
        if self.rng.fill(&mut bytes).is_err() {
            return String::new();
        }
        b64(&bytes)
    }

    /// `plain` sealed for `purpose`: base64url of nonce, ciphertext and tag.
    pub fn seal(&self, purpose: Purpose, plain: &[u8]) -> Option<String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).ok()?;
        let mut data = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose.aad()),
                &mut data,
            )
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Some(b64(&out))
    }

    /// The plain text of a value [`Sealer::seal`] made for `purpose`; `None` for anything
    /// else (tampered, sealed under another key or for another purpose, not base64url).
    pub fn open(&self, purpose: Purpose, text: &str) -> Option<Vec<u8>> {
        if text.len() > 8 * 1024 {
            return None;
        }
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        let (nonce, sealed) = raw.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut data = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(purpose.aad()), &mut data)
            .ok()?;
        Some(plain.to_vec())
    }

    /// A session sealed for its cookie.
    pub fn seal_session(&self, session: &Session) -> Option<String> {
        self.seal(Purpose::Session, &serde_json::to_vec(session).ok()?)
    }

    /// The session of a cookie value, if it opens and has not expired at `now` (Unix
    /// seconds).
    pub fn open_session(&self, text: &str, now: u64) -> Option<Session> {
        let plain = self.open(Purpose::Session, text)?;
        let session: Session = serde_json::from_slice(&plain).ok()?;
        (session.exp > now && !session.csrf.is_empty() && !session.sid.is_empty())
            .then_some(session)
    }
}

/// Base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether the token a form carried is the session's, in constant time over equal lengths.
/// An empty expected token matches nothing.
pub fn csrf_matches(expected: &str, presented: Option<&str>) -> bool {
    let Some(presented) = presented else {
        return false;
    };
    !expected.is_empty()
        && expected.len() == presented.len()
        && expected
            .bytes()
            .zip(presented.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The value of cookie `name` in the request's `Cookie` headers; `None` when absent or
/// given twice (which one would be meant?).
pub fn cookie<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    let mut found = None;
    for header in headers.get_all(http::header::COOKIE) {
        let Ok(text) = header.to_str() else { continue };
        for pair in text.split(';') {
            let Some((k, v)) = pair.trim().split_once('=') else {
                continue;
            };
            if k == name {
                if found.is_some() {
                    return None;
                }
                found = Some(v.trim_matches('"'));
            }
        }
    }
    found
}

/// How a cookie is sent.
#[derive(Debug, Clone, Copy)]
pub struct CookieRules {
    /// `Path`.
    pub path: &'static str,
    /// `SameSite=Strict` (else `Lax`: the OIDC state cookie must come back on the
    /// provider's cross-site redirect).
    pub strict: bool,
    /// `Secure`.
    pub secure: bool,
}

/// A `Set-Cookie` value; `max_age` 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, rules: CookieRules, max_age: u64) -> String {
    format!(
        "{name}={value}; Path={}; Max-Age={max_age}; HttpOnly; SameSite={}{}",
        rules.path,
        if rules.strict { "Strict" } else { "Lax" },
        if rules.secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn session(exp: u64) -> Session {
        Session {
            actor: "token:admin".into(),
            name: None,
            role: ConsoleRole::Admin,
            csrf: "c".repeat(43),
            exp,
            sid: "s".repeat(43),
        }
    }

    #[test]
    fn sealed_sessions_open_only_intact_unexpired_and_for_their_purpose() {
        let s = Sealer::new(&[7; 32]).unwrap();
        let sealed = s.seal_session(&session(100)).unwrap();
        assert_eq!(s.open_session(&sealed, 99), Some(session(100)));
        assert_eq!(s.open_session(&sealed, 100), None, "expired");
        // Another key, another purpose, a flipped character: nothing.
        let other = Sealer::new(&[8; 32]).unwrap();
        assert_eq!(other.open_session(&sealed, 1), None);
        assert_eq!(s.open(Purpose::OidcState, &sealed), None);
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(s.open_session(&String::from_utf8(bytes).unwrap(), 1), None);
        assert_eq!(s.open_session("not base64!", 1), None);
    }

    #[test]
    fn csrf_tokens_compare_exactly() {
        assert!(csrf_matches("abc", Some("abc")));
        assert!(!csrf_matches("abc", Some("abd")));
        assert!(!csrf_matches("abc", Some("ab")));
        assert!(!csrf_matches("abc", None));
        assert!(!csrf_matches("", Some("")));
    }

    #[test]
    fn cookies_are_read_strictly() {
        let mut h = http::HeaderMap::new();
        h.insert("cookie", "a=1; gardien_console=xyz; b=2".parse().unwrap());
        assert_eq!(cookie(&h, "gardien_console"), Some("xyz"));
        assert_eq!(cookie(&h, "missing"), None);
        h.append("cookie", "gardien_console=other".parse().unwrap());
        assert_eq!(cookie(&h, "gardien_console"), None, "given twice");
    }

    #[test]
    fn random_tokens_differ_and_keys_from_env_are_checked() {
        let s = Sealer::new(&[1; 32]).unwrap();
        assert_eq!(s.token().len(), 43);
        assert_ne!(s.token(), s.token());
        assert!(Sealer::from_env(Some("GARDIEN_TEST_SURELY_UNSET_KEY")).is_err());
        assert!(Sealer::from_env(None).is_ok());
    }
}
