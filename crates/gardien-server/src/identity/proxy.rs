//! Identity headers set by a trusted authenticating proxy (Authelia, oauth2-proxy, ...).

use gardien_signals::headers::Found;
use http::HeaderName;

/// How many headers [`ProxyHeaders::names`] lists.
pub(super) const PROXY_HEADERS: usize = 5;

use super::{HeaderIdentityConfig, Identity, IdentityError, IdentitySource, amr};

/// Parsed header names.
#[derive(Debug)]
pub(super) struct ProxyHeaders {
    user: HeaderName,
    groups: HeaderName,
    email: HeaderName,
    name: HeaderName,
    methods: Option<HeaderName>,
}

fn header_name(setting: &str, value: &str) -> Result<HeaderName, IdentityError> {
    HeaderName::from_bytes(value.trim().as_bytes()).map_err(|_| {
        IdentityError::Config(format!("headers.{setting}: `{value}` is not a header name"))
    })
}

/// The value of a header that appears exactly once and is valid UTF-8, trimmed, non-empty
/// and at most [`crate::clean::MAX_IDENTITY_VALUE`] bytes (the groups header: 8 times
/// that). A repeated, non-UTF-8 or oversized header counts as absent: it is never
/// half-read, logged or echoed back.
fn single(found: Found<'_>, name: &HeaderName) -> Option<String> {
    single_bounded(found, name, crate::clean::MAX_IDENTITY_VALUE)
}

fn single_bounded(found: Found<'_>, name: &HeaderName, max: usize) -> Option<String> {
    let value = found.first()?;
    if found.count() > 1 {
        tracing::debug!(header = %name, "repeated identity header ignored");
        return None;
    }
    let Ok(text) = std::str::from_utf8(value.as_bytes()) else {
        tracing::debug!(header = %name, "non-UTF-8 identity header ignored");
        return None;
    };
    let text = text.trim();
    if text.len() > max {
        tracing::debug!(header = %name, bytes = text.len(), "oversized identity header ignored");
        return None;
    }
    (!text.is_empty()).then(|| text.to_string())
}

/// Splits a comma-separated header value, dropping empty items.
fn list(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty())
}

impl ProxyHeaders {
    /// Checks the configured header names.
    pub(super) fn new(config: &HeaderIdentityConfig) -> Result<Self, IdentityError> {
        Ok(ProxyHeaders {
            user: header_name("user", &config.user)?,
            groups: header_name("groups", &config.groups)?,
            email: header_name("email", &config.email)?,
            name: header_name("name", &config.name)?,
            methods: config
                .methods
                .as_deref()
                .map(|m| header_name("methods", m))
                .transpose()?,
        })
    }

    /// The headers [`ProxyHeaders::read_found`] reads, for [`gardien_signals::headers::scan`]:
    /// user, groups, email, name and (when configured) methods.
    pub(super) fn names(&self) -> [Option<&HeaderName>; PROXY_HEADERS] {
        [
            Some(&self.user),
            Some(&self.groups),
            Some(&self.email),
            Some(&self.name),
            self.methods.as_ref(),
        ]
    }

    /// Reads the identity from the values of [`ProxyHeaders::names`] found in the request
    /// (same order); `None` without a usable user header. Call only for requests from a
    /// trusted proxy.
    pub(super) fn read_found(&self, found: &[Found<'_>; PROXY_HEADERS]) -> Option<Identity> {
        let [user, groups, email, name, methods] = *found;
        let user_id = single(user, &self.user)?;
        let groups = single_bounded(groups, &self.groups, 8 * crate::clean::MAX_IDENTITY_VALUE)
            .map(|g| list(&g).map(str::to_string).collect())
            .unwrap_or_default();
        let methods = self
            .methods
            .as_ref()
            .and_then(|m| single(methods, m))
            .map(|m| amr::methods_from_amr(list(&m)))
            .unwrap_or_default();
        Some(Identity {
            user_id,
            email: single(email, &self.email),
            name: single(name, &self.name),
            groups,
            methods,
            auth_contexts: Vec::new(),
            roles: Vec::new(),
            tenant_id: None,
            source: IdentitySource::ProxyHeaders,
        })
    }
}
