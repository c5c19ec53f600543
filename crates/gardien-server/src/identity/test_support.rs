//! Test keys generated at run time, tokens signed with them, and JWKS documents.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test support")]

use std::path::PathBuf;

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair,
};

use super::JwtConfig;

/// A 2048-bit RSA private key (PKCS#1 DER, base64), for tests only: ring cannot generate
/// RSA keys.
const RSA_TEST_KEY: &str = include_str!("test_rsa_key.b64");

/// A signing key with its public JWK.
pub(super) struct TestKey {
    pub(super) kid: String,
    pub(super) alg: Algorithm,
    pub(super) encoding: EncodingKey,
    /// Raw public key bytes (SEC1 point, Ed25519 key or RSA modulus).
    pub(super) public: Vec<u8>,
    pub(super) jwk: serde_json::Value,
}

impl TestKey {
    /// Base64url without padding.
    pub(super) fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A fresh P-256 key (ES256).
    pub(super) fn p256(kid: &str) -> TestKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let point = pair.public_key().as_ref().to_vec();
        assert_eq!(point.len(), 65);
        let jwk = serde_json::json!({
            "kty": "EC",
            "crv": "P-256",
            "kid": kid,
            "use": "sig",
            "x": Self::b64(&point[1..33]),
            "y": Self::b64(&point[33..]),
        });
        TestKey {
            kid: kid.into(),
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            public: point,
            jwk,
        }
    }

    /// A fresh Ed25519 key (EdDSA).
    pub(super) fn ed25519(kid: &str) -> TestKey {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let public = pair.public_key().as_ref().to_vec();
        let jwk = serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "kid": kid,
            "alg": "EdDSA",
            "x": Self::b64(&public),
        });
        TestKey {
            kid: kid.into(),
            alg: Algorithm::EdDSA,
            encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
            public,
            jwk,
        }
    }

    /// The fixed RSA test key (RS256 by default).
    pub(super) fn rsa(kid: &str) -> TestKey {
        let der = base64::engine::general_purpose::STANDARD
            .decode(RSA_TEST_KEY.trim())
            .unwrap();
        let pair = RsaKeyPair::from_der(&der).unwrap();
        let components: ring::rsa::PublicKeyComponents<Vec<u8>> = pair.public().into();
        let jwk = serde_json::json!({
            "kty": "RSA",
            "kid": kid,
            "n": Self::b64(&components.n),
            "e": Self::b64(&components.e),
        });
        TestKey {
            kid: kid.into(),
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_der(&der),
            public: components.n,
            jwk,
        }
    }

    /// Signs claims with the key's algorithm and kid.
    pub(super) fn sign(&self, claims: &serde_json::Value) -> String {
        self.sign_with(self.alg, Some(&self.kid), claims)
    }

    /// Signs claims with an explicit algorithm and kid.
    pub(super) fn sign_with(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
        claims: &serde_json::Value,
    ) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_string);
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// A JWKS document with the public keys.
pub(super) fn jwks_json(keys: &[&TestKey]) -> String {
    serde_json::json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
        .to_string()
}

/// Writes a JWKS document to a temporary file.
pub(super) fn write_jwks(json: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, json).unwrap();
    (dir, path)
}

/// The JWT configuration the test tokens are made for.
pub(super) fn jwt_config(jwks_file: PathBuf) -> JwtConfig {
    JwtConfig {
        issuer: "https://login.example.com/tenant/".into(),
        audiences: vec!["api://gardien".into(), "gardien-client".into()],
        jwks_file: Some(jwks_file),
        jwks_url: None,
        cookie: None,
        user_claim: None,
        leeway_seconds: 60,
        tenant_id: None,
    }
}

/// Claims accepted by [`jwt_config`] at `now`: valid for ten minutes, user `oid-alice`.
pub(super) fn claims(now: u64) -> serde_json::Value {
    serde_json::json!({
        "iss": "https://login.example.com/tenant/",
        "aud": "api://gardien",
        "sub": "sub-alice",
        "oid": "oid-alice",
        "iat": now,
        "exp": now + 600,
    })
}
