//! JSON Web Key Sets: parsing, key selection, loading from a file or a URL.
//!
//! Only asymmetric signature keys are kept: RSA (at least 2048 bits), EC P-256 and P-384,
//! and Ed25519. Symmetric (`oct`) keys, encryption keys (`use` other than `sig`) and keys
//! whose `alg` is not an allowed signature algorithm are skipped.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use super::IdentityError;

/// Largest JWKS document accepted from a URL.
const MAX_JWKS_BYTES: u64 = 1024 * 1024;
/// Time allowed for fetching a JWKS URL, connection included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);
/// Smallest accepted RSA modulus, in bits.
const MIN_RSA_BITS: usize = 2048;

/// Decodes base64url, with or without padding.
pub(super) fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .ok()
}

/// The signature algorithms accepted in tokens: never `none`, never HMAC (a verifier that
/// only knows public keys must not accept symmetric signatures).
pub(super) fn allowed_algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

/// Where the key set comes from.
#[derive(Debug, Clone)]
pub(super) enum JwksSource {
    /// A local file, read at start-up and on refresh.
    File(PathBuf),
    /// An HTTP(S) URL, fetched on refresh.
    Url(String),
}

impl JwksSource {
    /// Human-readable origin for error messages.
    pub(super) fn origin(&self) -> String {
        match self {
            JwksSource::File(path) => format!("file `{}`", path.display()),
            JwksSource::Url(url) => format!("URL `{url}`"),
        }
    }

    /// Loads the key set (blocking I/O).
    pub(super) fn load(&self) -> Result<KeySet, IdentityError> {
        match self {
            JwksSource::File(path) => load_file(path),
            JwksSource::Url(url) => {
                let text = fetch(url).map_err(|reason| IdentityError::Jwks {
                    origin: self.origin(),
                    reason,
                })?;
                KeySet::parse(&text).map_err(|reason| IdentityError::Jwks {
                    origin: self.origin(),
                    reason,
                })
            }
        }
    }
}

/// Reads and parses a JWKS file.
pub(super) fn load_file(path: &std::path::Path) -> Result<KeySet, IdentityError> {
    let error = |reason: String| IdentityError::Jwks {
        origin: JwksSource::File(path.to_path_buf()).origin(),
        reason,
    };
    let text = crate::files::read_text(path, 1024 * 1024).map_err(|e| error(e.to_string()))?;
    KeySet::parse(&text).map_err(error)
}

/// Fetches a JWKS document over HTTP(S).
fn fetch(url: &str) -> Result<String, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(FETCH_TIMEOUT))
        .max_redirects(3)
        .build()
        .into();
    let mut response = agent
        .get(url)
        .header("accept", "application/json, application/jwk-set+json")
        .call()
        .map_err(|e| e.to_string())?;
    response
        .body_mut()
        .with_config()
        .limit(MAX_JWKS_BYTES)
        .read_to_string()
        .map_err(|e| e.to_string())
}

/// Kind of public key, which decides the algorithms it can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

impl KeyKind {
    fn accepts(self, alg: Algorithm) -> bool {
        matches!(
            (self, alg),
            (
                KeyKind::Rsa,
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
            ) | (KeyKind::P256, Algorithm::ES256)
                | (KeyKind::P384, Algorithm::ES384)
                | (KeyKind::Ed25519, Algorithm::EdDSA)
        )
    }
}

/// One usable verification key.
struct VerifyKey {
    kid: Option<String>,
    kind: KeyKind,
    alg: Option<Algorithm>,
    key: DecodingKey,
}

impl VerifyKey {
    fn accepts(&self, alg: Algorithm) -> bool {
        self.kind.accepts(alg) && self.alg.is_none_or(|a| a == alg)
    }
}

/// A parsed key set, swapped whole on refresh.
#[derive(Default)]
pub(super) struct KeySet {
    keys: Vec<VerifyKey>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|k| (k.kid.as_deref(), k.kind, k.alg)))
            .finish()
    }
}

/// The members of a JWK that matter here; everything else is ignored.
#[derive(Deserialize)]
struct RawKey {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    key_ops: Option<Vec<String>>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

impl KeySet {
    /// Parses a JWKS document (`{"keys": [...]}`, or a single JWK). Unusable keys are
    /// skipped; a document without any usable key is an error.
    pub(super) fn parse(text: &str) -> Result<KeySet, String> {
        let doc: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        let raw: Vec<serde_json::Value> = match doc {
            serde_json::Value::Object(mut map) => match map.remove("keys") {
                Some(serde_json::Value::Array(keys)) => keys,
                Some(_) => return Err("`keys` is not an array".into()),
                None if map.contains_key("kty") => vec![serde_json::Value::Object(map)],
                None => return Err("not a JWK set: no `keys` member".into()),
            },
            _ => return Err("not a JWK set: expected a JSON object".into()),
        };
        let total = raw.len();
        let mut keys = Vec::new();
        for (index, value) in raw.into_iter().enumerate() {
            match serde_json::from_value::<RawKey>(value)
                .map_err(|e| e.to_string())
                .and_then(convert)
            {
                Ok(Some(key)) => keys.push(key),
                Ok(None) => {}
                Err(reason) => tracing::warn!(index, %reason, "JWKS key skipped"),
            }
        }
        if keys.is_empty() {
            return Err(format!(
                "no usable signature key among {total} (expected RSA >= {MIN_RSA_BITS} bits, \
                 EC P-256/P-384 or Ed25519 keys for signatures)"
            ));
        }
        Ok(KeySet { keys })
    }

    /// Number of usable keys.
    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The key that verifies a token signed with `alg`: by `kid` when the token has one,
    /// otherwise the only key that accepts `alg` (none when several do).
    pub(super) fn select(&self, kid: Option<&str>, alg: Algorithm) -> Option<&DecodingKey> {
        let mut candidates = self.keys.iter().filter(|k| k.accepts(alg));
        let found = match kid {
            Some(kid) => candidates.find(|k| k.kid.as_deref() == Some(kid)),
            None => {
                let first = candidates.next();
                if candidates.next().is_some() {
                    None
                } else {
                    first
                }
            }
        };
        found.map(|k| &k.key)
    }
}

/// Turns a raw JWK into a verification key: `Ok(None)` for keys that are not meant for
/// signatures here (silently skipped), `Err` for broken ones (skipped with a warning).
fn convert(raw: RawKey) -> Result<Option<VerifyKey>, String> {
    if raw.usage.as_deref().is_some_and(|u| u != "sig") {
        return Ok(None);
    }
    if raw
        .key_ops
        .as_ref()
        .is_some_and(|ops| !ops.iter().any(|op| op == "verify"))
    {
        return Ok(None);
    }
    let alg = match raw.alg.as_deref() {
        None => None,
        Some(name) => match allowed_algorithm(name) {
            Some(alg) => Some(alg),
            None => return Ok(None),
        },
    };
    let part = |name: &str, value: &Option<String>| -> Result<Vec<u8>, String> {
        let text = value
            .as_deref()
            .ok_or_else(|| format!("missing `{name}`"))?;
        b64url_decode(text).ok_or_else(|| format!("`{name}` is not base64url"))
    };
    let (kind, key) = match (raw.kty.as_str(), raw.crv.as_deref()) {
        ("RSA", _) => {
            let n = part("n", &raw.n)?;
            let e = part("e", &raw.e)?;
            let n_trimmed = n.iter().position(|&b| b != 0).map_or(&[][..], |i| &n[i..]);
            let bits = n_trimmed.len() * 8
                - n_trimmed
                    .first()
                    .map_or(0, |b| usize::try_from(b.leading_zeros()).unwrap_or(0));
            if bits < MIN_RSA_BITS {
                return Err(format!("RSA key of {bits} bits is too small"));
            }
            if e.is_empty() || e.len() > 8 {
                return Err("bad RSA exponent".into());
            }
            (KeyKind::Rsa, DecodingKey::from_rsa_raw_components(&n, &e))
        }
        ("EC", Some(crv @ ("P-256" | "P-384"))) => {
            let (kind, len) = if crv == "P-256" {
                (KeyKind::P256, 32)
            } else {
                (KeyKind::P384, 48)
            };
            let x = part("x", &raw.x)?;
            let y = part("y", &raw.y)?;
            if x.len() != len || y.len() != len {
                return Err(format!("bad {crv} coordinates"));
            }
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            // An uncompressed SEC1 point, which is what ring verifies against.
            (kind, DecodingKey::from_ec_der(&point))
        }
        ("OKP", Some("Ed25519")) => {
            let x = part("x", &raw.x)?;
            if x.len() != 32 {
                return Err("bad Ed25519 public key".into());
            }
            (KeyKind::Ed25519, DecodingKey::from_ed_der(&x))
        }
        _ => return Ok(None),
    };
    if let Some(alg) = alg
        && !kind.accepts(alg)
    {
        return Err(format!("`alg` {alg:?} does not fit the key type"));
    }
    Ok(Some(VerifyKey {
        kid: raw.kid,
        kind,
        alg,
        key,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]
mod tests {
    use super::super::test_support::{TestKey, jwks_json};
    use super::*;

    #[test]
    fn selection_by_kid_alg_and_use() {
        let ec = TestKey::p256("ec");
        let ed = TestKey::ed25519("ed");
        let rsa = TestKey::rsa("rsa");
        let mut doc: serde_json::Value =
            serde_json::from_str(&jwks_json(&[&ec, &ed, &rsa])).unwrap();
        let keys = doc["keys"].as_array_mut().unwrap();
        keys.push(serde_json::json!({"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}));
        let mut enc = rsa.jwk.clone();
        enc["kid"] = "enc".into();
        enc["use"] = "enc".into();
        keys.push(enc);
        let mut oaep = rsa.jwk.clone();
        oaep["kid"] = "oaep".into();
        oaep["alg"] = "RSA-OAEP".into();
        keys.push(oaep);
        let mut pinned = rsa.jwk.clone();
        pinned["kid"] = "pinned".into();
        pinned["alg"] = "PS256".into();
        keys.push(pinned);
        keys.push(serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}));
        keys.push(serde_json::json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "small"}));
        let set = KeySet::parse(&doc.to_string()).unwrap();
        assert_eq!(set.len(), 4);

        assert!(set.select(Some("ec"), Algorithm::ES256).is_some());
        assert!(set.select(Some("ec"), Algorithm::ES384).is_none());
        assert!(set.select(Some("ec"), Algorithm::RS256).is_none());
        assert!(set.select(Some("ed"), Algorithm::EdDSA).is_some());
        assert!(set.select(Some("rsa"), Algorithm::RS512).is_some());
        assert!(set.select(Some("hmac"), Algorithm::HS256).is_none());
        assert!(set.select(Some("enc"), Algorithm::RS256).is_none());
        assert!(set.select(Some("oaep"), Algorithm::RS256).is_none());
        assert!(set.select(Some("pinned"), Algorithm::PS256).is_some());
        assert!(set.select(Some("pinned"), Algorithm::RS256).is_none());
        assert!(set.select(Some("small"), Algorithm::RS256).is_none());
        // Without kid: unique per algorithm or nothing.
        assert!(set.select(None, Algorithm::ES256).is_some());
        assert!(set.select(None, Algorithm::EdDSA).is_some());
        assert!(set.select(None, Algorithm::PS256).is_none());
    }

    #[test]
    fn document_shapes() {
        let ec = TestKey::p256("ec");
        let single = KeySet::parse(&ec.jwk.to_string()).unwrap();
        assert_eq!(single.len(), 1);
        assert!(KeySet::parse("[]").unwrap_err().contains("JSON object"));
        assert!(KeySet::parse("{}").unwrap_err().contains("keys"));
        assert!(
            KeySet::parse(r#"{"keys":{}}"#)
                .unwrap_err()
                .contains("array")
        );
        assert!(
            KeySet::parse(r#"{"keys":[]}"#)
                .unwrap_err()
                .contains("no usable")
        );
        assert!(KeySet::parse("{").unwrap_err().contains("invalid JSON"));
        let mismatched = serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-256", "alg": "ES384",
            "x": ec.jwk["x"], "y": ec.jwk["y"],
        }]});
        assert!(KeySet::parse(&mismatched.to_string()).is_err());
    }

    #[test]
    fn base64url_with_or_without_padding() {
        assert_eq!(b64url_decode("AQAB").unwrap(), vec![1, 0, 1]);
        assert_eq!(b64url_decode("-_8").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(b64url_decode("-_8=").unwrap(), vec![0xfb, 0xff]);
        assert!(b64url_decode("+/8").is_none());
    }
}
