//! End-to-end use of the identity module through its public API: a TOML `[identity]`
//! section, a JWKS file, a token signed with a key generated at run time.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use base64::Engine as _;
use gardien_core::model::enums::{AuthMethod, AuthMethods};
use gardien_server::identity::{
    IdentityConfig, IdentityError, IdentityResolver, IdentitySource, TokenRejection,
};
use http::{HeaderMap, HeaderValue};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair as _};

const NOW: u64 = 1_750_000_000;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn toml_config_jwks_file_and_eddsa_token() {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let jwks = serde_json::json!({"keys": [{
        "kty": "OKP", "crv": "Ed25519", "kid": "2025", "x": b64(pair.public_key().as_ref()),
    }]});
    let dir = tempfile::tempdir().unwrap();
    let jwks_path = dir.path().join("jwks.json");
    std::fs::write(&jwks_path, jwks.to_string()).unwrap();

    let toml_text = format!(
        r#"
        [jwt]
        issuer = "https://auth.example.org"
        audiences = ["gardien"]
        jwks_file = {path:?}
        cookie = "session"
        leeway_seconds = 30

        [headers]
        user = "X-Forwarded-User"
        methods = "Remote-Amr"
        "#,
        path = jwks_path.display().to_string()
    );
    let config: IdentityConfig = toml::from_str(&toml_text).unwrap();
    let resolver = IdentityResolver::new(&config).unwrap();

    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some("2025".into());
    let claims = serde_json::json!({
        "iss": "https://auth.example.org",
        "aud": ["gardien", "other"],
        "sub": "u-42",
        "preferred_username": "carol@example.org",
        "groups": ["staff"],
        "amr": ["hwk", "fpt"],
        "exp": NOW + 300,
    });
    let key = jsonwebtoken::EncodingKey::from_ed_der(pkcs8.as_ref());
    let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();

    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::COOKIE,
        HeaderValue::from_str(&format!("session={token}")).unwrap(),
    );
    headers.insert("x-forwarded-user", HeaderValue::from_static("mallory"));
    let identity = resolver.identify(&headers, true, NOW).unwrap().unwrap();
    assert_eq!(identity.user_id, "u-42");
    assert_eq!(identity.email.as_deref(), Some("carol@example.org"));
    assert_eq!(identity.groups, ["staff"]);
    assert_eq!(
        identity.methods,
        AuthMethods::of(&[AuthMethod::WindowsHelloForBusiness])
    );
    assert_eq!(identity.source, IdentitySource::Token);

    // 30 s of leeway: expired at exp + 30.
    let err = resolver.identify(&headers, true, NOW + 330).unwrap_err();
    assert!(err.is_invalid_token());
    assert!(matches!(
        err,
        IdentityError::InvalidToken(TokenRejection::Expired)
    ));
    assert_eq!(err.token_reason(), Some("expired"));

    // Without the cookie the trusted proxy's headers are used.
    headers.remove(http::header::COOKIE);
    let identity = resolver.identify(&headers, true, NOW).unwrap().unwrap();
    assert_eq!(identity.user_id, "mallory");
    assert_eq!(identity.source, IdentitySource::ProxyHeaders);
    assert_eq!(resolver.identify(&headers, false, NOW).unwrap(), None);
}
