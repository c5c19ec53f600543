//! Who may call what: the bearer tokens of `[admin]`, as SHA-256 digests.
//!
//! - Admin tokens have a name and a role. `[[admin.tokens]]` lists named ones; the older
//!   single `token_sha256` is one more, named `admin`, with the `admin` role. A `reader`
//!   may use the admin API's `GET` routes (policies, named locations, directory, devices,
//!   versions, the sign-in log); an `admin` may do everything, including reading the audit
//!   trail. The name is what the audit trail records.
//! - `decision_token_sha256` opens the decision API only (`/v1/evaluate`, Graph evaluate,
//!   AuthZEN); an `admin`-role token opens it too (a `reader` does not: a decision writes
//!   to the sign-in log).
//! - `metrics_token_sha256`, when set, is required by `/metrics`; every admin token (either
//!   role) is accepted there too.
//!
//! A presented token is hashed once and compared with every configured digest, each
//! comparison in constant time and none cut short, so the answer's timing does not depend
//! on which digest (if any) matched, nor on how many bytes of it did.
//!
//! [`Credentials`] are immutable; the server swaps them whole when `SIGHUP` reloads the
//! configuration ([`crate::state::AppState::reload_credentials`]). Invalid credentials
//! (a malformed digest, two tokens with one name or one digest) are refused as a whole.

use crate::config::AdminConfig;
use serde::Deserialize;
use std::sync::Arc;

/// What an admin token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read-only: the admin API's `GET` routes, except the audit trail.
    Reader,
    /// Everything.
    Admin,
}

impl Role {
    /// `reader` or `admin`, as configured.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Admin => "admin",
        }
    }

    /// Whether this role may do what `needed` allows.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

/// Who is calling the admin API: the configured name of the token presented and its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's name (`admin` for `token_sha256`, `demo` in demo mode).
    pub name: Arc<str>,
    /// Its role.
    pub role: Role,
}

/// Credentials that cannot be used; nothing of them is put in force.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[admin] {0}")]
pub struct CredentialsError(pub String);

/// A configured admin token.
#[derive(Clone)]
struct NamedDigest {
    name: Arc<str>,
    digest: [u8; 32],
    role: Role,
}

/// The tokens in force (digests only).
#[derive(Clone, Default)]
pub struct Credentials {
    admins: Vec<NamedDigest>,
    decision: Option<[u8; 32]>,
    metrics: Option<[u8; 32]>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("admins", &self.names())
            .field("decision", &self.decision.is_some())
            .field("metrics", &self.metrics.is_some())
            .finish()
    }
}

/// The name the audit trail gives `token_sha256`.
pub const LEGACY_NAME: &str = "admin";

/// Most characters of a token name.
const MAX_NAME: usize = 64;

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'))
}

/// Parses a SHA-256 hex digest (64 hex digits, either case); `key` names it in errors.
pub fn parse_digest(key: &str, hex: &str) -> Result<[u8; 32], CredentialsError> {
    let hex = hex.trim();
    let bad = || {
        CredentialsError(format!(
            "{key}: expected 64 hex digits (a SHA-256, as `gardien hash-token` prints it)"
        ))
    };
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        let pair = hex.get(i * 2..i * 2 + 2).ok_or_else(bad)?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// SHA-256 of a presented token.
fn digest(token: &str) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Whether two digests are equal, in constant time (no early exit on the first differing
/// byte).
pub fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Credentials {
    /// Checks and builds the credentials of an `[admin]` section.
    pub fn from_config(admin: &AdminConfig) -> Result<Credentials, CredentialsError> {
        let mut admins: Vec<NamedDigest> = Vec::new();
        if let Some(hex) = &admin.token_sha256 {
            admins.push(NamedDigest {
                name: Arc::from(LEGACY_NAME),
                digest: parse_digest("token_sha256", hex)?,
                role: Role::Admin,
            });
        }
        for (i, token) in admin.tokens.iter().enumerate() {
            let at = format!("tokens[{i}]");
            if !valid_name(&token.name) {
                return Err(CredentialsError(format!(
                    "{at}.name: `{}` must be 1 to {MAX_NAME} letters, digits, `.`, `_`, `-` or `@`",
                    crate::clean::escape(&token.name, 80)
                )));
            }
            let digest = parse_digest(&format!("{at}.sha256"), &token.sha256)?;
            if let Some(other) = admins
                .iter()
                .find(|o| o.name.eq_ignore_ascii_case(&token.name))
            {
                let help = if &*other.name == LEGACY_NAME && admin.token_sha256.is_some() {
                    " (`admin` is the name of token_sha256; give this token another name, or move token_sha256 into [[admin.tokens]])"
                } else {
                    ""
                };
                return Err(CredentialsError(format!(
                    "{at}.name: `{}` is used by two tokens{help}",
                    token.name
                )));
            }
            if let Some(other) = admins.iter().find(|o| digests_equal(&o.digest, &digest)) {
                return Err(CredentialsError(format!(
                    "{at}.sha256: the same token as `{}`; each token must be distinct",
                    other.name
                )));
            }
            admins.push(NamedDigest {
                name: Arc::from(token.name.as_str()),
                digest,
                role: token.role,
            });
        }
        let decision = admin
            .decision_token_sha256
            .as_deref()
            .map(|h| parse_digest("decision_token_sha256", h))
            .transpose()?;
        let metrics = admin
            .metrics_token_sha256
            .as_deref()
            .map(|h| parse_digest("metrics_token_sha256", h))
            .transpose()?;
        Ok(Credentials {
            admins,
            decision,
            metrics,
        })
    }

    /// The admin token `bearer` is, if any. Every configured digest is compared.
    pub fn admin_caller(&self, bearer: Option<&str>) -> Option<Caller> {
        let presented = digest(bearer?);
        let mut found: Option<&NamedDigest> = None;
        for entry in &self.admins {
            // No short cut: every entry is compared whether or not one matched already.
            if digests_equal(&entry.digest, &presented) && found.is_none() {
                found = Some(entry);
            }
        }
        found.map(|e| Caller {
            name: e.name.clone(),
            role: e.role,
        })
    }

    /// Whether `bearer` opens the decision API: the decision token or an `admin`-role token.
    pub fn decision_allowed(&self, bearer: Option<&str>) -> bool {
        let Some(token) = bearer else {
            return false;
        };
        let decision = self
            .decision
            .as_ref()
            .is_some_and(|d| digests_equal(d, &digest(token)));
        let admin = self
            .admin_caller(bearer)
            .is_some_and(|c| c.role.allows(Role::Admin));
        decision | admin
    }

    /// Whether `bearer` may read `/metrics`: anyone without `metrics_token_sha256`, else the
    /// metrics token or any admin token.
    pub fn metrics_allowed(&self, bearer: Option<&str>) -> bool {
        let Some(expected) = &self.metrics else {
            return true;
        };
        let Some(token) = bearer else {
            return false;
        };
        let metrics = digests_equal(expected, &digest(token));
        let admin = self.admin_caller(bearer).is_some();
        metrics | admin
    }

    /// The configured admin tokens: name and role, in configuration order.
    pub fn names(&self) -> Vec<(&str, Role)> {
        self.admins.iter().map(|e| (&*e.name, e.role)).collect()
    }
}

/// What a `SIGHUP` reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// The new credentials are in force: the admin tokens' names and roles.
    Applied(Vec<(String, Role)>),
    /// The file or its `[admin]` section is invalid; the credentials in force stay.
    Refused(String),
}

/// Rereads the configuration file `path` and puts its `[admin]` credentials in force
/// (`SIGHUP`); a file that does not read, parse or check leaves the credentials in force
/// as they were. Other sections are not reloaded (a restart applies them). The reload is
/// logged and recorded in the audit trail (token `sighup`, role `system`, method `RELOAD`,
/// status 200 or 400).
pub async fn reload(state: &crate::state::AppState, path: &std::path::Path) -> Reloaded {
    let outcome = match crate::config::ServerConfig::read(path) {
        Err(e) => Reloaded::Refused(e.to_string()),
        Ok(config) => match state.reload_credentials(&config.admin) {
            Ok(names) => Reloaded::Applied(names),
            Err(e) => Reloaded::Refused(format!("{}: {e}", path.display())),
        },
    };
    let status = match &outcome {
        Reloaded::Applied(names) => {
            let tokens: Vec<String> = names
                .iter()
                .map(|(n, r)| format!("{n} ({})", r.as_str()))
                .collect();
            tracing::info!(
                target: "gardien::audit",
                path = %path.display(),
                tokens = %tokens.join(", "),
                "SIGHUP: admin credentials reloaded"
            );
            200
        }
        Reloaded::Refused(reason) => {
            tracing::error!(
                target: "gardien::audit",
                path = %path.display(),
                error = %reason,
                "SIGHUP: configuration refused; the admin credentials in force stay"
            );
            400
        }
    };
    let entry = gardien_store::AuditEntry {
        created_ms: crate::clock::now_ms(),
        token: "sighup".to_owned(),
        role: "system".to_owned(),
        method: "RELOAD".to_owned(),
        path: crate::clean::truncate(&path.display().to_string(), 1024).into_owned(),
        status,
        version: None,
        author: None,
    };
    if let Err(e) = state.store.append_audit(&entry).await {
        state
            .metrics
            .audit_errors
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::error!(error = %e, "admin audit entry of the reload not stored");
    }
    outcome
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::config::AdminToken;

    fn hex(token: &str) -> String {
        crate::state::hash_token(token)
    }

    fn config(legacy: Option<&str>, tokens: &[(&str, &str, Role)]) -> AdminConfig {
        AdminConfig {
            token_sha256: legacy.map(hex),
            tokens: tokens
                .iter()
                .map(|(name, token, role)| AdminToken {
                    name: (*name).to_owned(),
                    sha256: hex(token),
                    role: *role,
                })
                .collect(),
            ..AdminConfig::default()
        }
    }

    #[test]
    fn named_tokens_are_recognised_with_their_role() {
        let c = Credentials::from_config(&config(
            Some("legacy-token-0123456789"),
            &[
                ("helpdesk", "reader-token-0123456789", Role::Reader),
                ("ops", "ops-token-0123456789", Role::Admin),
            ],
        ))
        .unwrap();
        let who = |t: &str| {
            c.admin_caller(Some(t))
                .map(|c| (c.name.to_string(), c.role))
        };
        assert_eq!(
            who("legacy-token-0123456789"),
            Some(("admin".to_owned(), Role::Admin))
        );
        assert_eq!(
            who("reader-token-0123456789"),
            Some(("helpdesk".to_owned(), Role::Reader))
        );
        assert_eq!(
            who("ops-token-0123456789"),
            Some(("ops".to_owned(), Role::Admin))
        );
        assert_eq!(who("ops-token-0123456789 "), None);
        assert_eq!(c.admin_caller(None), None);
        // A reader opens neither the decision API nor anything it does not read.
        assert!(!c.decision_allowed(Some("reader-token-0123456789")));
        assert!(c.decision_allowed(Some("ops-token-0123456789")));
        assert!(c.metrics_allowed(None), "no metrics token: open");
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Admin.allows(Role::Reader));
        assert!(Role::Admin.allows(Role::Admin));
        assert!(Role::Reader.allows(Role::Reader));
        assert!(!Role::Reader.allows(Role::Admin));
    }

    #[test]
    fn bad_credentials_are_refused_whole() {
        let dup = config(
            None,
            &[
                ("ops", "token-a-0123456789", Role::Admin),
                ("OPS", "token-b-0123456789", Role::Reader),
            ],
        );
        let e = Credentials::from_config(&dup).unwrap_err().to_string();
        assert!(
            e.contains("tokens[1].name") && e.contains("two tokens"),
            "{e}"
        );
        let legacy_clash = config(
            Some("token-a-0123456789"),
            &[("admin", "token-b-0123456789", Role::Admin)],
        );
        let e = Credentials::from_config(&legacy_clash)
            .unwrap_err()
            .to_string();
        assert!(e.contains("name of token_sha256"), "{e}");
        let same = config(
            None,
            &[
                ("a", "token-a-0123456789", Role::Admin),
                ("b", "token-a-0123456789", Role::Reader),
            ],
        );
        let e = Credentials::from_config(&same).unwrap_err().to_string();
        assert!(e.contains("tokens[1].sha256") && e.contains("`a`"), "{e}");
        let mut bad_hex = config(None, &[("a", "token-a-0123456789", Role::Admin)]);
        bad_hex.tokens[0].sha256 = "abc".to_owned();
        let e = Credentials::from_config(&bad_hex).unwrap_err().to_string();
        assert!(
            e.contains("tokens[0].sha256: expected 64 hex digits"),
            "{e}"
        );
        let mut bad_name = config(None, &[("a b", "token-a-0123456789", Role::Admin)]);
        let e = Credentials::from_config(&bad_name).unwrap_err().to_string();
        assert!(e.contains("tokens[0].name: `a b`"), "{e}");
        bad_name.tokens[0].name = String::new();
        assert!(Credentials::from_config(&bad_name).is_err());
    }

    #[test]
    fn metrics_token_or_any_admin_token_reads_metrics() {
        let mut c = config(
            None,
            &[("helpdesk", "reader-token-0123456789", Role::Reader)],
        );
        c.metrics_token_sha256 = Some(hex("metrics-token-0123456789"));
        let c = Credentials::from_config(&c).unwrap();
        assert!(c.metrics_allowed(Some("metrics-token-0123456789")));
        assert!(c.metrics_allowed(Some("reader-token-0123456789")));
        assert!(!c.metrics_allowed(Some("other-token-0123456789")));
        assert!(!c.metrics_allowed(None));
    }

    #[test]
    fn digests_parse_in_either_case() {
        let h = hex("s3cret");
        assert_eq!(
            parse_digest("k", &h).unwrap(),
            parse_digest("k", &h.to_uppercase()).unwrap()
        );
        assert!(parse_digest("k", "xyz").is_err());
        assert!(parse_digest("k", &"é".repeat(32)).is_err());
    }
}
