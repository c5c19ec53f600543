//! OpenID Connect discovery: when `[console.oidc]` names no `authorization_endpoint` and
//! `token_endpoint`, the console reads them from the issuer's
//! `<issuer>/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4) on the
//! first sign-in, and again an hour later. The document must name exactly the configured
//! issuer (§4.3) and both endpoints as `https://` URLs (`http://` only on a loopback
//! host); anything else — provider unreachable, an error status, a redirect, a body over
//! 64 KiB, not JSON — is an error page and no sign-in, and is tried again at the next one.

use super::OidcConfig;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long discovered endpoints are used before being read again.
pub const CACHE: Duration = Duration::from_secs(3600);
/// Longest discovery document read.
const MAX_BYTES: u64 = 64 * 1024;
/// Longest wait for the provider.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The provider's endpoints the console uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Where the browser is sent to sign in.
    pub authorization: String,
    /// Where the code is redeemed.
    pub token: String,
}

/// Why discovery failed; each names the document's URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    /// No answer, or its body could not be read.
    #[error("OpenID Connect discovery at {url}: {reason}")]
    Fetch {
        /// The document's URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The provider answered with another status than 200.
    #[error("OpenID Connect discovery at {url}: status {status}")]
    Status {
        /// The document's URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The body is not a JSON object.
    #[error("OpenID Connect discovery at {url}: not a JSON object: {reason}")]
    Json {
        /// The document's URL.
        url: String,
        /// The parser's message.
        reason: String,
    },
    /// The document names another issuer.
    #[error(
        "OpenID Connect discovery at {url}: /issuer is `{found}`, not the configured `{expected}`"
    )]
    Issuer {
        /// The document's URL.
        url: String,
        /// `[console.oidc] issuer`.
        expected: String,
        /// What the document says.
        found: String,
    },
    /// An endpoint is missing or not an acceptable URL.
    #[error("OpenID Connect discovery at {url}: /{member} {reason}")]
    Endpoint {
        /// The document's URL.
        url: String,
        /// `authorization_endpoint` or `token_endpoint`.
        member: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// The discovery document's URL for an issuer.
pub fn document_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Whether a URL is `https://`, or `http://` to a loopback host (a provider on the same
/// machine, as in tests).
fn acceptable(url: &str) -> bool {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return false;
    };
    let Some(host) = uri.host().filter(|h| !h.is_empty()) else {
        return false;
    };
    match uri.scheme_str() {
        Some("https") => true,
        Some("http") => {
            host.eq_ignore_ascii_case("localhost")
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        _ => false,
    }
}

/// Reads the endpoints of a discovery document fetched from `url`.
pub fn parse(url: &str, issuer: &str, text: &str) -> Result<Endpoints, DiscoveryError> {
    let doc: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|e| DiscoveryError::Json {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
    let found = doc.get("issuer").and_then(|v| v.as_str()).unwrap_or("");
    if found != issuer {
        return Err(DiscoveryError::Issuer {
            url: url.to_owned(),
            expected: issuer.to_owned(),
            found: crate::clean::escape(found, 200),
        });
    }
    let endpoint = |member: &'static str| {
        let value =
            doc.get(member)
                .and_then(|v| v.as_str())
                .ok_or_else(|| DiscoveryError::Endpoint {
                    url: url.to_owned(),
                    member,
                    reason: "is missing or not a string".to_owned(),
                })?;
        if !acceptable(value) || value.contains('#') {
            return Err(DiscoveryError::Endpoint {
                url: url.to_owned(),
                member,
                reason: format!(
                    "`{}` is not an https:// URL (http:// only on a loopback host) without fragment",
                    crate::clean::escape(value, 200)
                ),
            });
        }
        Ok(value.to_owned())
    };
    Ok(Endpoints {
        authorization: endpoint("authorization_endpoint")?,
        token: endpoint("token_endpoint")?,
    })
}

fn fetch(url: &str) -> Result<String, DiscoveryError> {
    let fail = |reason: String| DiscoveryError::Fetch {
        url: url.to_owned(),
        reason,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .get(url)
        .header("accept", "application/json")
        .call()
        .map_err(|e| fail(e.to_string()))?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(DiscoveryError::Status {
            url: url.to_owned(),
            status,
        });
    }
    response
        .body_mut()
        .with_config()
        .limit(MAX_BYTES)
        .read_to_string()
        .map_err(|e| fail(e.to_string()))
}

/// The endpoints in use: configured, or discovered and kept for [`CACHE`].
#[derive(Debug, Default)]
pub struct Discovery {
    cached: Mutex<Option<(Endpoints, Instant)>>,
}

impl Discovery {
    /// The provider's endpoints: the configured ones, else the discovered ones (read now if
    /// never read or older than [`CACHE`]). A failure is not kept: the next call tries again.
    pub async fn endpoints(&self, oidc: &OidcConfig) -> Result<Endpoints, DiscoveryError> {
        if let (Some(authorization), Some(token)) =
            (&oidc.authorization_endpoint, &oidc.token_endpoint)
        {
            return Ok(Endpoints {
                authorization: authorization.clone(),
                token: token.clone(),
            });
        }
        if let Ok(cached) = self.cached.lock()
            && let Some((endpoints, at)) = cached.as_ref()
            && at.elapsed() < CACHE
        {
            return Ok(endpoints.clone());
        }
        let url = document_url(&oidc.issuer);
        let issuer = oidc.issuer.clone();
        let fetched = {
            let url = url.clone();
            tokio::task::spawn_blocking(move || {
                fetch(&url).and_then(|text| parse(&url, &issuer, &text))
            })
            .await
        };
        let endpoints = fetched.map_err(|e| DiscoveryError::Fetch {
            url,
            reason: e.to_string(),
        })??;
        if let Ok(mut cached) = self.cached.lock() {
            *cached = Some((endpoints.clone(), Instant::now()));
        }
        tracing::info!(authorization = %endpoints.authorization, token = %endpoints.token, "console: OpenID Connect endpoints discovered");
        Ok(endpoints)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use super::*;

    const URL: &str = "https://idp.example/.well-known/openid-configuration";

    #[test]
    fn the_document_must_name_the_issuer_and_usable_endpoints() {
        let good = r#"{"issuer":"https://idp.example","authorization_endpoint":"https://idp.example/a","token_endpoint":"https://idp.example/t"}"#;
        assert_eq!(
            parse(URL, "https://idp.example", good).unwrap(),
            Endpoints {
                authorization: "https://idp.example/a".into(),
                token: "https://idp.example/t".into()
            }
        );
        let err = parse(URL, "https://idp.example/v2", good).unwrap_err();
        assert!(
            matches!(err, DiscoveryError::Issuer { .. }),
            "another issuer: {err}"
        );
        for (doc, member) in [
            (
                r#"{"issuer":"https://idp.example","token_endpoint":"https://idp.example/t"}"#,
                "authorization_endpoint",
            ),
            (
                r#"{"issuer":"https://idp.example","authorization_endpoint":"https://idp.example/a","token_endpoint":"http://idp.example/t"}"#,
                "token_endpoint",
            ),
            (
                r#"{"issuer":"https://idp.example","authorization_endpoint":"javascript:alert(1)","token_endpoint":"https://idp.example/t"}"#,
                "authorization_endpoint",
            ),
        ] {
            match parse(URL, "https://idp.example", doc) {
                Err(DiscoveryError::Endpoint { member: m, .. }) => assert_eq!(m, member),
                other => panic!("{doc}: {other:?}"),
            }
        }
        assert!(matches!(
            parse(URL, "https://idp.example", "[1]"),
            Err(DiscoveryError::Json { .. })
        ));
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(acceptable("http://127.0.0.1:8080/token"));
        assert!(acceptable("http://[::1]:8080/token"));
        assert!(acceptable("http://localhost/token"));
        assert!(!acceptable("http://idp.example/token"));
        assert!(acceptable("https://idp.example/token"));
        assert_eq!(
            document_url("https://idp.example/v2/"),
            "https://idp.example/v2/.well-known/openid-configuration"
        );
    }
}
