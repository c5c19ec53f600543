//! Credentials for Graph: a ready bearer token, or the OAuth 2.0 client-credentials grant with a
//! client secret or a certificate (a client assertion: a JWT signed RS256 with the certificate's
//! private key, its SHA-1 thumbprint in `x5t`, as the Microsoft identity platform expects).
//!
//! Secrets never travel in a URL or a log line: they go in the form body of the token request
//! and nowhere else.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use std::fmt;

/// How the pull authenticates to Graph.
pub enum Credential {
    /// A bearer token obtained elsewhere (e.g. `az account get-access-token`).
    Token(String),
    /// Client credentials with a client secret.
    ClientSecret {
        /// Directory (tenant) id or domain.
        tenant_id: String,
        /// Application (client) id.
        client_id: String,
        /// The secret.
        secret: String,
    },
    /// Client credentials with a certificate (signed client assertion).
    Certificate {
        /// Directory (tenant) id or domain.
        tenant_id: String,
        /// Application (client) id.
        client_id: String,
        /// The certificate and its private key.
        certificate: Box<ClientCertificate>,
    },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print a token, secret or key.
        match self {
            Credential::Token(_) => f.write_str("Token(..)"),
            Credential::ClientSecret {
                tenant_id,
                client_id,
                ..
            } => write!(f, "ClientSecret({tenant_id}, {client_id})"),
            Credential::Certificate {
                tenant_id,
                client_id,
                certificate,
            } => write!(
                f,
                "Certificate({tenant_id}, {client_id}, x5t {})",
                certificate.x5t
            ),
        }
    }
}

impl Credential {
    /// The tenant and client of a client-credentials grant; `None` for a ready token.
    pub(crate) fn client(&self) -> Option<(&str, &str)> {
        match self {
            Credential::Token(_) => None,
            Credential::ClientSecret {
                tenant_id,
                client_id,
                ..
            }
            | Credential::Certificate {
                tenant_id,
                client_id,
                ..
            } => Some((tenant_id, client_id)),
        }
    }
}

/// An RSA private key and the certificate Entra knows it by.
pub struct ClientCertificate {
    key: RsaKeyPair,
    x5t: String,
}

/// The body of each PEM block labelled `label`, decoded.
fn pem_blocks(text: &str, label: &str) -> Result<Vec<Vec<u8>>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let after = rest.get(start + begin.len()..).unwrap_or_default();
        let Some(stop) = after.find(&end) else {
            return Err(format!("unterminated `{begin}` block"));
        };
        let body: String = after
            .get(..stop)
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        out.push(
            STANDARD
                .decode(body)
                .map_err(|e| format!("`{label}` block is not base64: {e}"))?,
        );
        rest = after.get(stop + end.len()..).unwrap_or_default();
    }
    Ok(out)
}

impl ClientCertificate {
    /// Reads a PEM text holding the certificate (`CERTIFICATE`) and its unencrypted RSA private
    /// key (`PRIVATE KEY`, PKCS#8, or `RSA PRIVATE KEY`, PKCS#1), in either order.
    pub fn from_pem(text: &str) -> Result<Self, String> {
        if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            return Err("the private key is encrypted; decrypt it first (`openssl pkcs8 -in key.pem -nocrypt -out plain.pem`)".to_owned());
        }
        let cert = pem_blocks(text, "CERTIFICATE")?.into_iter().next().ok_or(
            "no `CERTIFICATE` block: the PEM file must hold the certificate and its private key",
        )?;
        let key = if let Some(der) = pem_blocks(text, "PRIVATE KEY")?.into_iter().next() {
            RsaKeyPair::from_pkcs8(&der).map_err(|e| format!("private key rejected: {e}"))?
        } else if let Some(der) = pem_blocks(text, "RSA PRIVATE KEY")?.into_iter().next() {
            RsaKeyPair::from_der(&der).map_err(|e| format!("private key rejected: {e}"))?
        } else {
            return Err("no `PRIVATE KEY` or `RSA PRIVATE KEY` block: the PEM file must hold the certificate and its private key".to_owned());
        };
        let thumbprint = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &cert);
        Ok(ClientCertificate {
            key,
            x5t: URL_SAFE_NO_PAD.encode(thumbprint.as_ref()),
        })
    }

    /// The certificate's SHA-1 thumbprint, base64url (the `x5t` header).
    pub fn x5t(&self) -> &str {
        &self.x5t
    }

    /// A client assertion for `audience` (the token endpoint), valid ten minutes from `now`
    /// (seconds since the epoch).
    pub fn assertion(&self, client_id: &str, audience: &str, now: u64) -> Result<String, String> {
        let rng = SystemRandom::new();
        let mut jti = [0u8; 16];
        rng.fill(&mut jti)
            .map_err(|_| "no random numbers for the assertion id".to_owned())?;
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": self.x5t});
        let claims = serde_json::json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": jti.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "nbf": now,
            "iat": now,
            "exp": now + 600,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &rng,
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "signing the client assertion failed".to_owned())?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }

    /// The public key (PKCS#1 `RSAPublicKey` DER), to verify assertions in tests.
    pub fn public_key_der(&self) -> &[u8] {
        self.key.public().as_ref()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn pem_without_key_or_certificate_is_refused() {
        let err = ClientCertificate::from_pem("nothing here").err().unwrap();
        assert!(err.contains("no `CERTIFICATE` block"), "{err}");
        let cert_only = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = ClientCertificate::from_pem(cert_only).err().unwrap();
        assert!(err.contains("no `PRIVATE KEY`"), "{err}");
        let encrypted =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let err = ClientCertificate::from_pem(encrypted).err().unwrap();
        assert!(err.contains("encrypted"), "{err}");
    }

    #[test]
    fn credential_debug_hides_secrets() {
        let c = Credential::ClientSecret {
            tenant_id: "t".into(),
            client_id: "c".into(),
            secret: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!format!("{:?}", Credential::Token("eyJ.secret".into())).contains("secret"));
    }
}
