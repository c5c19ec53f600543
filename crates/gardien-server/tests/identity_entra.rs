#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! Microsoft Entra ID as the identity provider: Entra-shaped v2 tokens (`iss`
//! `https://login.microsoftonline.com/{tid}/v2.0`, `aud` app id URI or client id, `tid`,
//! `oid`, `amr`, `acrs`, `roles`, `ver` 2.0) signed with keys generated here (and the fixed
//! RSA test key: Entra signs RS256), verified through the TOML configuration of
//! `docs/entra-idp.md`: other tenants refused, v1 tokens refused unless configured, several
//! issuers with their own keys and audiences, and `acrs` reaching the sign-in as an
//! authentication context.

#[allow(dead_code, reason = "shared support: not every test uses all of it")]
#[path = "support/demo.rs"]
mod demo;
#[allow(dead_code, reason = "shared support: not every test uses all of it")]
#[path = "support/harness.rs"]
mod harness;
use axum::body::Body;
use base64::Engine as _;
use demo::{ALICE, SAFARI_MAC, TOKEN, demo_options};
use gardien_core::model::enums::{AuthMethod, AuthMethods};
use gardien_server::identity::{IdentityConfig, IdentityError, IdentityResolver, TokenRejection};
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const TENANT_A: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const TENANT_B: &str = "0d5e3f42-1f3c-4c6f-9e4a-5a0c6b9d2e11";
/// The API's client id (`aud` of a v2 access token for it).
const CLIENT_ID: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
const APP_ID_URI: &str = "api://gardien";
const NOW: u64 = 1_750_000_000;

fn v2_issuer(tid: &str) -> String {
    format!("https://login.microsoftonline.com/{tid}/v2.0")
}

fn v1_issuer(tid: &str) -> String {
    format!("https://sts.windows.net/{tid}/")
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A signing key and its public JWK.
struct Key {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

impl Key {
    /// The crate's fixed RSA test key (ring cannot generate RSA keys), RS256 as Entra signs.
    fn rsa(kid: &str) -> Key {
        let text = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/identity/test_rsa_key.b64"),
        )
        .unwrap();
        let der = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .unwrap();
        let pair = RsaKeyPair::from_der(&der).unwrap();
        let components: ring::rsa::PublicKeyComponents<Vec<u8>> = pair.public().into();
        Key {
            kid: kid.into(),
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_der(&der),
            jwk: json!({"kty": "RSA", "use": "sig", "kid": kid, "x5t": kid,
                        "n": b64(&components.n), "e": b64(&components.e)}),
        }
    }

    /// A P-256 key generated now.
    fn p256(kid: &str) -> Key {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let point = pair.public_key().as_ref().to_vec();
        Key {
            kid: kid.into(),
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid,
                        "x": b64(&point[1..33]), "y": b64(&point[33..])}),
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

fn write_jwks(dir: &Path, name: &str, keys: &[&Key]) -> String {
    let path = dir.join(name);
    let jwks = json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()});
    std::fs::write(&path, jwks.to_string()).unwrap();
    path.display().to_string()
}

/// An Entra v2 access token's claims for Alice of `tid`.
fn v2_claims(tid: &str, now: u64) -> Value {
    json!({
        "aud": CLIENT_ID,
        "iss": v2_issuer(tid),
        "iat": now - 60, "nbf": now - 60, "exp": now + 3600,
        "aio": "AXQAi/8TAAAA",
        "amr": ["pwd", "mfa"],
        "azp": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        "azpacr": "0",
        "name": "Alice Martin",
        "oid": ALICE,
        "preferred_username": "alice@contoso.example",
        "rh": "0.AAAA",
        "roles": ["Console.Reader", "Console.Admin"],
        "scp": "access_as_user",
        "sub": "pairwise-sub-for-this-app-Wm9vYmFy",
        "tid": tid,
        "uti": "AbCdEf",
        "ver": "2.0",
    })
}

fn bearer(token: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    h
}

fn rejection(
    r: Result<Option<gardien_server::identity::Identity>, IdentityError>,
) -> TokenRejection {
    match r {
        Err(IdentityError::InvalidToken(reason)) => reason,
        other => panic!("expected an invalid token, got {other:?}"),
    }
}

fn resolver(toml_text: &str) -> IdentityResolver {
    let config: IdentityConfig = toml::from_str(toml_text).unwrap();
    IdentityResolver::new(&config).unwrap()
}

#[test]
fn entra_v2_tokens_of_the_tenant_give_oid_methods_contexts_and_roles() {
    let dir = tempfile::tempdir().unwrap();
    // Entra publishes one key set for every tenant.
    let microsoft = Key::rsa("nOo3ZDrODXEK1jKWhXslHR_KXEg");
    let jwks = write_jwks(dir.path(), "keys.json", &[&microsoft]);
    let r = resolver(&format!(
        r#"
        [[issuers]]
        issuer = "{issuer}"
        tenant_id = "{TENANT_A}"
        audiences = ["{APP_ID_URI}", "{CLIENT_ID}"]
        jwks_file = {jwks:?}
        "#,
        issuer = v2_issuer(TENANT_A)
    ));
    let mut claims = v2_claims(TENANT_A, NOW);
    claims["acrs"] = json!(["c1", "C3"]);
    let id = r
        .identify(&bearer(&microsoft.sign(&claims)), false, NOW)
        .unwrap()
        .unwrap();
    assert_eq!(id.user_id, ALICE, "oid, not the pairwise sub");
    assert_eq!(id.email.as_deref(), Some("alice@contoso.example"));
    assert_eq!(
        id.methods,
        AuthMethods::of(&[AuthMethod::Password, AuthMethod::FederatedMultiFactor])
    );
    assert_eq!(id.auth_contexts, ["c1", "c3"]);
    assert_eq!(id.roles, ["Console.Reader", "Console.Admin"]);
    assert_eq!(id.tenant_id.as_deref(), Some(TENANT_A));
    // The app id URI as audience (a v1-style API token requested with a scope on it).
    claims["aud"] = json!(APP_ID_URI);
    assert!(
        r.identify(&bearer(&microsoft.sign(&claims)), false, NOW)
            .is_ok()
    );
    // Another application's token: wrong audience.
    claims["aud"] = json!("00000003-0000-0000-c000-000000000000");
    assert_eq!(
        rejection(r.identify(&bearer(&microsoft.sign(&claims)), false, NOW)),
        TokenRejection::WrongAudience
    );

    // Another tenant's token verifies with the same Microsoft key: its issuer refuses it.
    let other = v2_claims(TENANT_B, NOW);
    assert_eq!(
        rejection(r.identify(&bearer(&microsoft.sign(&other)), false, NOW)),
        TokenRejection::WrongIssuer
    );
    // Our issuer but another `tid` (or none): the tenant check refuses it.
    let mut forged = v2_claims(TENANT_A, NOW);
    forged["tid"] = json!(TENANT_B);
    assert_eq!(
        rejection(r.identify(&bearer(&microsoft.sign(&forged)), false, NOW)),
        TokenRejection::WrongTenant
    );
    forged.as_object_mut().unwrap().remove("tid");
    assert_eq!(
        rejection(r.identify(&bearer(&microsoft.sign(&forged)), false, NOW)),
        TokenRejection::WrongTenant
    );
    // A v1 token (sts.windows.net issuer) of the same tenant: not configured, refused.
    let mut v1 = v2_claims(TENANT_A, NOW);
    v1["iss"] = json!(v1_issuer(TENANT_A));
    v1["ver"] = json!("1.0");
    v1["aud"] = json!(APP_ID_URI);
    assert_eq!(
        rejection(r.identify(&bearer(&microsoft.sign(&v1)), false, NOW)),
        TokenRejection::WrongIssuer
    );
}

#[test]
fn several_issuers_each_with_its_keys_and_audiences() {
    let dir = tempfile::tempdir().unwrap();
    let microsoft = Key::rsa("entra-key");
    let keycloak = Key::p256("kc-key");
    let entra_jwks = write_jwks(dir.path(), "entra.json", &[&microsoft]);
    let kc_jwks = write_jwks(dir.path(), "kc.json", &[&keycloak]);
    // The single [jwt] form and [[issuers]] together: three issuers.
    let r = resolver(&format!(
        r#"
        [jwt]
        issuer = "https://sso.example.org/realms/main"
        audiences = ["gardien"]
        jwks_file = {kc_jwks:?}

        [[issuers]]
        issuer = "{a}"
        tenant_id = "{TENANT_A}"
        audiences = ["{CLIENT_ID}"]
        jwks_file = {entra_jwks:?}

        [[issuers]]
        issuer = "{b}"
        tenant_id = "{TENANT_B}"
        audiences = ["{APP_ID_URI}"]
        jwks_file = {entra_jwks:?}
        "#,
        a = v2_issuer(TENANT_A),
        b = v2_issuer(TENANT_B),
    ));
    assert_eq!(r.key_count(), 3);
    let a = v2_claims(TENANT_A, NOW);
    let id = r
        .identify(&bearer(&microsoft.sign(&a)), false, NOW)
        .unwrap()
        .unwrap();
    assert_eq!(id.tenant_id.as_deref(), Some(TENANT_A));
    // Tenant B accepts only its own audience.
    let mut b = v2_claims(TENANT_B, NOW);
    assert_eq!(
        rejection(r.identify(&bearer(&microsoft.sign(&b)), false, NOW)),
        TokenRejection::WrongAudience
    );
    b["aud"] = json!(APP_ID_URI);
    let id = r
        .identify(&bearer(&microsoft.sign(&b)), false, NOW)
        .unwrap()
        .unwrap();
    assert_eq!(id.tenant_id.as_deref(), Some(TENANT_B));
    // The other IdP's token, with its own key.
    let kc = json!({"iss": "https://sso.example.org/realms/main", "aud": "gardien",
                    "sub": "u-7", "exp": NOW + 60});
    let id = r
        .identify(&bearer(&keycloak.sign(&kc)), false, NOW)
        .unwrap()
        .unwrap();
    assert_eq!(id.user_id, "u-7");
    assert_eq!(id.tenant_id, None);
    // Each issuer verifies with its own keys only: an "Entra" token signed with the other
    // IdP's key is refused, and so is the other IdP's token signed with the Entra key.
    assert_eq!(
        rejection(r.identify(&bearer(&keycloak.sign(&a)), false, NOW)),
        TokenRejection::UnknownKey
    );
    assert_eq!(
        rejection(r.identify(&bearer(&microsoft.sign(&kc)), false, NOW)),
        TokenRejection::UnknownKey
    );
    // A third tenant, and a v1 token of tenant A: no issuer of theirs is configured.
    let c = v2_claims("11111111-2222-3333-4444-555555555555", NOW);
    assert_eq!(
        rejection(r.identify(&bearer(&microsoft.sign(&c)), false, NOW)),
        TokenRejection::WrongIssuer
    );
    let mut v1 = a.clone();
    v1["iss"] = json!(v1_issuer(TENANT_A));
    v1["ver"] = json!("1.0");
    assert_eq!(
        rejection(r.identify(&bearer(&microsoft.sign(&v1)), false, NOW)),
        TokenRejection::WrongIssuer
    );
    // Configured, the v1 issuer is accepted (v1 tokens carry `tid` and `oid` too).
    let r = resolver(&format!(
        r#"
        [[issuers]]
        issuer = "{a}"
        tenant_id = "{TENANT_A}"
        audiences = ["{CLIENT_ID}"]
        jwks_file = {entra_jwks:?}

        [[issuers]]
        issuer = "{v1}"
        tenant_id = "{TENANT_A}"
        audiences = ["{CLIENT_ID}"]
        jwks_file = {entra_jwks:?}
        "#,
        a = v2_issuer(TENANT_A),
        v1 = v1_issuer(TENANT_A),
    ));
    let id = r
        .identify(&bearer(&microsoft.sign(&v1)), false, NOW)
        .unwrap()
        .unwrap();
    assert_eq!(id.user_id, ALICE);
    // A token naming no issuer at all.
    let mut none = a.clone();
    none.as_object_mut().unwrap().remove("iss");
    assert_eq!(
        rejection(r.identify(&bearer(&microsoft.sign(&none)), false, NOW)),
        TokenRejection::WrongIssuer
    );
}

#[test]
fn issuer_configuration_mistakes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let jwks = write_jwks(dir.path(), "k.json", &[&Key::rsa("k")]);
    let entry = |issuer: &str, extra: &str| {
        format!(
            "[[issuers]]\nissuer = \"{issuer}\"\naudiences = [\"a\"]\njwks_file = {jwks:?}\n{extra}\n"
        )
    };
    let bad = [
        entry("https://x", "") + &entry("https://x", ""),
        entry("https://x", "cookie = \"one\"") + &entry("https://y", "cookie = \"two\""),
        entry("https://x", "tenant_id = \" \""),
    ];
    for text in bad {
        let config: IdentityConfig = toml::from_str(&text).unwrap();
        let err = IdentityResolver::new(&config).unwrap_err();
        assert!(matches!(err, IdentityError::Config(_)), "{text}: {err}");
    }
    // The same cookie named by several issuers is fine.
    let text = entry("https://x", "cookie = \"s\"") + &entry("https://y", "cookie = \"s\"");
    let config: IdentityConfig = toml::from_str(&text).unwrap();
    assert!(IdentityResolver::new(&config).is_ok());
}

/// `acrs` reaches the sign-in: a token issued for authentication context `c1` is also
/// decided as a sign-in to `c1`, so a policy on `c1` applies to it.
#[tokio::test]
async fn acrs_reach_the_sign_in_as_authentication_contexts() {
    let dir = tempfile::tempdir().unwrap();
    let microsoft = Key::rsa("entra-key");
    let jwks = write_jwks(dir.path(), "entra.json", &[&microsoft]);
    let config = format!(
        r#"
[signals]
trusted_proxies = ["10.0.0.0/8"]
[[identity.issuers]]
issuer = "{issuer}"
tenant_id = "{TENANT_A}"
audiences = ["{CLIENT_ID}"]
jwks_file = {jwks:?}
[[apps]]
host = "*"
app_id = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
name = "Wiki"
[admin]
token_sha256 = "{hash}"
"#,
        issuer = v2_issuer(TENANT_A),
        hash = gardien_server::state::hash_token(TOKEN),
    );
    let server = harness::server(&config, demo_options()).await;
    let send = |req: Request<Body>| {
        let app = server.app.clone();
        async move {
            let r = harness::send(&app, "10.0.0.5", req).await;
            (r.status, r.headers, r.body)
        }
    };
    // A policy on authentication context c1 (sensitive operations): blocked.
    let policy = json!({"displayName": "C1 sensitive operations blocked", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]},
                       "applications": {"includeAuthenticationContextClassReferences": ["c1"]},
                       "clientAppTypes": ["all"]},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}});
    let (status, _, body) = send(
        Request::post("/v1.0/identity/conditionalAccess/policies")
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", "application/json")
            .body(Body::from(policy.to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );

    let now = gardien_server::clock::now_ms()
        .div_euclid(1000)
        .unsigned_abs();
    let ask = |acrs: Option<&[&str]>| {
        let mut claims = v2_claims(TENANT_A, now);
        if let Some(a) = acrs {
            claims["acrs"] = json!(a);
        }
        Request::get("/v1/forward-auth")
            .header("host", "gardien:8080")
            .header("x-forwarded-host", "wiki.contoso.example")
            .header("x-forwarded-for", "198.51.100.20")
            .header("user-agent", SAFARI_MAC)
            .header(
                "authorization",
                format!("Bearer {}", microsoft.sign(&claims)),
            )
            .body(Body::empty())
            .unwrap()
    };
    let (status, headers, _) = send(ask(None)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "no context: the application's policies allow"
    );
    assert_eq!(headers["remote-user"], ALICE);
    let (status, headers, _) = send(ask(Some(&["c2"]))).await;
    assert_eq!(status, StatusCode::OK, "no policy on c2");
    let _ = headers;
    let (status, headers, _) = send(ask(Some(&["c2", "c1"]))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the c1 policy blocks");
    let correlation = headers["x-gardien-correlation-id"]
        .to_str()
        .unwrap()
        .to_owned();
    // The logged sign-in is the one to authentication context c1.
    let (status, _, body) = send(
        Request::get(format!("/v1/signins?correlationId={correlation}"))
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    let record = &v["value"][0];
    assert_eq!(record["userId"], ALICE, "{v}");
    assert_eq!(record["appId"], "c1", "{v}");
    assert_eq!(
        record["gardien"]["request"]["signInContext"]["authenticationContextValue"], "c1",
        "{v}"
    );
}
