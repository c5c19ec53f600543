//! A small blocking Graph client: bearer tokens (fetched and renewed for client credentials),
//! `@odata.nextLink` paging, and throttling.
//!
//! Rules:
//! - 429, 503 and 504 are retried after `Retry-After` seconds (or an exponential back-off
//!   when the header is absent), at most [`RetryPolicy::max_retries`] times per request, each
//!   wait capped at [`RetryPolicy::max_wait`]. Connection errors are retried the same way.
//! - 401 renews a client-credentials token once and retries; a second 401, or a 401 on a ready
//!   token, fails. 403 fails naming the permission the collection needs.
//! - A `@odata.nextLink` must point under the Graph URL given: the bearer token is never sent
//!   to another host.
//! - Plain `http://` is accepted only for loopback hosts (tests, local proxies).

use crate::auth::Credential;
use crate::error::PullError;
use serde_json::Value;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Largest response body read (one Graph page is far smaller).
const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;
/// Pages followed for one collection before giving up (a server looping on nextLink).
const MAX_PAGES: usize = 1_000_000;
/// A token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(300);

/// How throttled or failed requests are retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries per request (after the first attempt).
    pub max_retries: u32,
    /// Longest single wait, whatever `Retry-After` says.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 6,
            max_wait: Duration::from_secs(120),
        }
    }
}

/// What the pull tells its caller while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A collection was read completely.
    Collection {
        /// Its name (`policies`, `groups`, ...).
        name: String,
        /// A short summary (`300 (12 pages)`).
        summary: String,
    },
    /// A request is retried after a wait.
    Retry {
        /// The collection being read.
        name: String,
        /// Why (`429`, `503`, a connection error).
        reason: String,
        /// How long the pull waits.
        wait: Duration,
    },
    /// Something worth knowing that does not stop the pull.
    Note(String),
}

/// Checks a base URL and returns it without a trailing slash.
pub(crate) fn check_base_url(option: &'static str, url: &str) -> Result<String, PullError> {
    let bad = |reason: &str| PullError::BadUrl {
        option,
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let trimmed = url.trim_end_matches('/');
    let (scheme, rest) = trimmed
        .split_once("://")
        .ok_or_else(|| bad("expected an absolute URL such as `https://graph.microsoft.com`"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err(bad("no host"));
    }
    if authority.contains('@') {
        return Err(bad("credentials in the URL are not accepted"));
    }
    if rest.contains(['?', '#']) {
        return Err(bad("a base URL has no query or fragment"));
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(trimmed.to_owned()),
        "http" if is_loopback(host) => Ok(trimmed.to_owned()),
        "http" => Err(bad(
            "plain http is only accepted for loopback hosts; use https",
        )),
        _ => Err(bad("the scheme must be https")),
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Graph's `{"error": {"code", "message"}}` (or the token endpoint's `error`,
/// `error_description`) as one line.
fn error_message(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        let first = body.lines().next().unwrap_or_default();
        return first.chars().take(200).collect();
    };
    if let Some(e) = v.get("error").filter(|e| e.is_object()) {
        let code = e.get("code").and_then(Value::as_str).unwrap_or("error");
        let message = e.get("message").and_then(Value::as_str).unwrap_or_default();
        return format!("{code}: {message}");
    }
    let code = v.get("error").and_then(Value::as_str).unwrap_or("error");
    let description = v
        .get("error_description")
        .and_then(Value::as_str)
        .and_then(|d| d.lines().next())
        .unwrap_or_default();
    format!("{code}: {description}")
}

struct Token {
    value: String,
    renew_at: Option<Instant>,
}

/// One response: status, `Retry-After` seconds, body.
struct Reply {
    status: u16,
    retry_after: Option<u64>,
    body: String,
}

/// A Graph client for one pull.
pub struct GraphClient<'p> {
    agent: ureq::Agent,
    graph: String,
    login: String,
    credential: Credential,
    token: Mutex<Option<Token>>,
    retry: RetryPolicy,
    progress: &'p (dyn Fn(&Progress) + Sync),
}

impl<'p> GraphClient<'p> {
    /// A client for `graph_url` (e.g. `https://graph.microsoft.com`), authenticating at
    /// `login_url` (e.g. `https://login.microsoftonline.com`) when the credential needs it.
    pub fn new(
        graph_url: &str,
        login_url: &str,
        credential: Credential,
        retry: RetryPolicy,
        progress: &'p (dyn Fn(&Progress) + Sync),
    ) -> Result<Self, PullError> {
        let graph = check_base_url("--graph-url", graph_url)?;
        let lower = graph.to_ascii_lowercase();
        if lower.ends_with("/v1.0") || lower.ends_with("/beta") {
            return Err(PullError::BadUrl {
                option: "--graph-url",
                url: graph_url.to_owned(),
                reason:
                    "give the Graph root without the version, e.g. `https://graph.microsoft.com`"
                        .to_owned(),
            });
        }
        let login = check_base_url("--login-url", login_url)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_global(Some(Duration::from_secs(300)))
            .user_agent(concat!("gardien/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(GraphClient {
            agent,
            graph,
            login,
            credential,
            token: Mutex::new(None),
            retry,
            progress,
        })
    }

    /// Reports progress.
    pub fn report(&self, p: Progress) {
        (self.progress)(&p);
    }

    fn wait(&self, name: &str, reason: String, attempt: u32, retry_after: Option<u64>) {
        let backoff = Duration::from_secs(1u64 << attempt.min(10));
        let wait = retry_after
            .map(Duration::from_secs)
            .unwrap_or(backoff)
            .min(self.retry.max_wait);
        self.report(Progress::Retry {
            name: name.to_owned(),
            reason,
            wait,
        });
        std::thread::sleep(wait);
    }

    /// The current bearer token, fetched or renewed when needed.
    fn bearer(&self, renew: bool) -> Result<String, PullError> {
        let mut slot = self
            .token
            .lock()
            .map_err(|_| PullError::Credential("token cache poisoned".to_owned()))?;
        if let Credential::Token(t) = &self.credential {
            return Ok(t.trim().to_owned());
        }
        if let Some(t) = slot.as_ref()
            && !renew
            && t.renew_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok(t.value.clone());
        }
        let token = self.fetch_token()?;
        let value = token.value.clone();
        *slot = Some(token);
        Ok(value)
    }

    /// The client-credentials grant (`/{tenant}/oauth2/v2.0/token`).
    fn fetch_token(&self) -> Result<Token, PullError> {
        let Some((tenant, client_id)) = self.credential.client() else {
            return Err(PullError::Credential("no token".to_owned()));
        };
        if tenant.is_empty()
            || !tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(PullError::Credential(format!(
                "tenant id `{tenant}` is not a directory id or domain"
            )));
        }
        let endpoint = format!("{}/{tenant}/oauth2/v2.0/token", self.login);
        let scope = format!("{}/.default", self.graph);
        let mut form: Vec<(&str, String)> = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", client_id.to_owned()),
            ("scope", scope),
        ];
        match &self.credential {
            Credential::ClientSecret { secret, .. } => {
                form.push(("client_secret", secret.clone()));
            }
            Credential::Certificate { certificate, .. } => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let assertion = certificate
                    .assertion(client_id, &endpoint, now)
                    .map_err(PullError::Credential)?;
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
                ));
                form.push(("client_assertion", assertion));
            }
            Credential::Token(_) => {}
        }
        let what = "token";
        let mut attempt = 0;
        let reply = loop {
            let sent = self
                .agent
                .post(&endpoint)
                .header("accept", "application/json")
                .send_form(form.iter().map(|(k, v)| (*k, v.as_str())));
            match read_reply(sent) {
                Ok(r)
                    if matches!(r.status, 429 | 503 | 504) && attempt < self.retry.max_retries =>
                {
                    attempt += 1;
                    self.wait(what, r.status.to_string(), attempt, r.retry_after);
                }
                Ok(r) => break r,
                Err(e) if attempt < self.retry.max_retries => {
                    attempt += 1;
                    self.wait(what, e, attempt, None);
                }
                Err(message) => {
                    return Err(PullError::Transport {
                        what: format!("token endpoint {endpoint}"),
                        message,
                    });
                }
            }
        };
        if reply.status != 200 {
            return Err(PullError::Token {
                status: reply.status,
                message: error_message(&reply.body),
            });
        }
        let v: Value = serde_json::from_str(&reply.body).map_err(|e| PullError::Response {
            what: what.to_owned(),
            reason: e.to_string(),
        })?;
        let value = v
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| PullError::Response {
                what: what.to_owned(),
                reason: "no `access_token`".to_owned(),
            })?;
        let lifetime = v.get("expires_in").and_then(|e| {
            e.as_u64()
                .or_else(|| e.as_str().and_then(|s| s.parse().ok()))
        });
        Ok(Token {
            value: value.to_owned(),
            renew_at: lifetime
                .map(|s| Instant::now() + Duration::from_secs(s).saturating_sub(RENEW_BEFORE)),
        })
    }

    /// The Graph URL of `path` (which starts with `/v1.0/` or `/beta/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.graph)
    }

    /// GET one URL under the Graph URL: `Ok(None)` on 404.
    pub fn get(
        &self,
        what: &str,
        permission: &'static str,
        url: &str,
    ) -> Result<Option<Value>, PullError> {
        let path = url.strip_prefix(&self.graph).unwrap_or(url).to_owned();
        let mut attempt = 0;
        let mut renewed = false;
        loop {
            let bearer = self.bearer(false)?;
            let sent = self
                .agent
                .get(url)
                .header("authorization", &format!("Bearer {bearer}"))
                .header("accept", "application/json")
                .call();
            let reply = match read_reply(sent) {
                Ok(r) => r,
                Err(e) if attempt < self.retry.max_retries => {
                    attempt += 1;
                    self.wait(what, e, attempt, None);
                    continue;
                }
                Err(message) => {
                    return Err(PullError::Transport {
                        what: what.to_owned(),
                        message,
                    });
                }
            };
            match reply.status {
                200 => {
                    return serde_json::from_str(&reply.body).map(Some).map_err(|e| {
                        PullError::Response {
                            what: what.to_owned(),
                            reason: format!("{path}: {e}"),
                        }
                    });
                }
                404 => return Ok(None),
                429 | 503 | 504 if attempt < self.retry.max_retries => {
                    attempt += 1;
                    self.wait(what, reply.status.to_string(), attempt, reply.retry_after);
                }
                429 | 503 | 504 => {
                    return Err(PullError::Throttled {
                        what: what.to_owned(),
                        status: reply.status,
                        retries: attempt,
                    });
                }
                401 if !renewed && self.credential.client().is_some() => {
                    renewed = true;
                    self.bearer(true)?;
                }
                401 => {
                    return Err(PullError::Unauthorized {
                        what: what.to_owned(),
                        message: error_message(&reply.body),
                    });
                }
                403 => {
                    return Err(PullError::Forbidden {
                        what: what.to_owned(),
                        permission,
                        message: error_message(&reply.body),
                    });
                }
                status => {
                    return Err(PullError::Status {
                        what: what.to_owned(),
                        status,
                        path,
                        message: error_message(&reply.body),
                    });
                }
            }
        }
    }

    /// Reads a collection page by page, handing each page's `value` to `each`; returns the
    /// number of items and pages. A 404 on the first page is an error.
    pub fn each_page(
        &self,
        what: &str,
        permission: &'static str,
        path: &str,
        mut each: impl FnMut(Vec<Value>) -> Result<(), PullError>,
    ) -> Result<(usize, usize), PullError> {
        let mut url = self.url(path);
        let (mut items, mut pages) = (0, 0);
        loop {
            let page = self
                .get(what, permission, &url)?
                .ok_or_else(|| PullError::Status {
                    what: what.to_owned(),
                    status: 404,
                    path: url.strip_prefix(&self.graph).unwrap_or(&url).to_owned(),
                    message: "not found".to_owned(),
                })?;
            pages += 1;
            let Value::Object(mut page) = page else {
                return Err(PullError::Response {
                    what: what.to_owned(),
                    reason: "a collection page is not a JSON object".to_owned(),
                });
            };
            let next = match page.remove("@odata.nextLink") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s),
                Some(_) => {
                    return Err(PullError::Response {
                        what: what.to_owned(),
                        reason: "`@odata.nextLink` is not a string".to_owned(),
                    });
                }
            };
            let Some(Value::Array(values)) = page.remove("value") else {
                return Err(PullError::Response {
                    what: what.to_owned(),
                    reason: "a collection page has no `value` array".to_owned(),
                });
            };
            items += values.len();
            each(values)?;
            match next {
                None => return Ok((items, pages)),
                Some(next) => {
                    if !next.starts_with(&format!("{}/", self.graph)) {
                        return Err(PullError::Response {
                            what: what.to_owned(),
                            reason: format!(
                                "`@odata.nextLink` `{next}` leaves {}; the token is not sent there",
                                self.graph
                            ),
                        });
                    }
                    if next == url || pages >= MAX_PAGES {
                        return Err(PullError::Response {
                            what: what.to_owned(),
                            reason: "`@odata.nextLink` does not advance".to_owned(),
                        });
                    }
                    url = next;
                }
            }
        }
    }

    /// Reads a whole collection.
    pub fn collection(
        &self,
        what: &str,
        permission: &'static str,
        path: &str,
    ) -> Result<(Vec<Value>, usize), PullError> {
        let mut all = Vec::new();
        let (_, pages) = self.each_page(what, permission, path, |v| {
            all.extend(v);
            Ok(())
        })?;
        Ok((all, pages))
    }
}

/// Status, `Retry-After` and body of a response, or the transport error.
fn read_reply(
    sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Reply, String> {
    let mut response = sent.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY_BYTES)
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok(Reply {
        status,
        retry_after,
        body,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_https_or_loopback() {
        assert_eq!(
            check_base_url("--graph-url", "https://graph.microsoft.us/").unwrap(),
            "https://graph.microsoft.us"
        );
        assert!(check_base_url("--graph-url", "http://127.0.0.1:8080").is_ok());
        assert!(check_base_url("--graph-url", "http://[::1]:8080").is_ok());
        assert!(check_base_url("--graph-url", "http://localhost:1").is_ok());
        for bad in [
            "http://graph.microsoft.com",
            "http://127.0.0.1.evil.example",
            "ftp://graph.microsoft.com",
            "graph.microsoft.com",
            "https://user:pw@graph.microsoft.com",
            "https://graph.microsoft.com/?x=1",
        ] {
            assert!(check_base_url("--graph-url", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn graph_and_token_errors_become_one_line() {
        assert_eq!(
            error_message(
                r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges"}}"#
            ),
            "Authorization_RequestDenied: Insufficient privileges"
        );
        assert_eq!(
            error_message(
                r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret.\r\nTrace ID: x"}"#
            ),
            "invalid_client: AADSTS7000215: Invalid client secret."
        );
        assert_eq!(error_message("<html>"), "<html>");
    }

    #[test]
    fn the_graph_url_is_the_root() {
        let progress = |_: &Progress| {};
        let err = GraphClient::new(
            "https://graph.microsoft.com/v1.0/",
            "https://login.microsoftonline.com",
            Credential::Token("t".into()),
            RetryPolicy::default(),
            &progress,
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("without the version"), "{err}");
    }
}
