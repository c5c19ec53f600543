//! Every signal assembled into the [`SignIn`] the core evaluates, with a [`Derived`] record
//! of where each value came from (what `gardien signin` shows an administrator).
//!
//! Identity and device headers are read only from a trusted proxy, like the forwarding
//! header: a client talking to gardien directly cannot name a user or a device.

use crate::client_ip::{ClientIp, ForwardedHeader, IpSource, TrustedProxies, client_ip_found};
use crate::devices::{ComplianceFailure, ComplianceRules, DeviceRegistry};
use crate::geoip::{AnonymousFlags, GeoIp, Place};
use crate::headers::Found;
use crate::os_version::OsVersion;
use crate::risk::{RiskAssessment, RiskConfig, RiskFacts, SignInHistory, assess};
use crate::useragent::classify_remembered;
use gardien_core::SignIn;
use gardien_core::model::enums::{AuthMethods, ClientAppType, DevicePlatform, RiskLevel};
use http::{HeaderMap, HeaderName};
use std::net::IpAddr;
use std::sync::Arc;

/// Most bytes of a User-Agent looked at.
pub const MAX_USER_AGENT_BYTES: usize = 2048;

/// How signals are read.
#[derive(Debug, Clone, Default)]
pub struct SignalsConfig {
    /// Proxies whose headers are believed (none by default).
    pub trusted_proxies: TrustedProxies,
    /// Which header carries the forwarding chain.
    pub forwarded_header: ForwardedHeader,
    /// Header a trusted proxy puts the authenticated user's id in (e.g. `x-forwarded-user`).
    pub user_header: Option<HeaderName>,
    /// Header a trusted proxy puts the device identifier in (e.g. the SHA-256 fingerprint of
    /// the mTLS client certificate: `x-client-cert-sha256`).
    pub device_header: Option<HeaderName>,
    /// Header a trusted proxy or CDN puts the client's country in (Cloudflare
    /// `cf-ipcountry`, CloudFront `cloudfront-viewer-country`), used when no GeoIP database
    /// gives one. `XX` and `T1` (unknown, Tor) read as no country.
    pub country_header: Option<HeaderName>,
    /// Risk thresholds.
    pub risk: RiskConfig,
}

/// What a sign-in could not be built without.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignalsError {
    /// No user id was given and no trusted proxy sent one.
    #[error("no user: give one, or configure a user header sent by a trusted proxy")]
    NoUser,
    /// No resource application was given.
    #[error("no application: name the resource application (app id) the request is for")]
    NoApplication,
}

/// One request as the server (or the CLI) sees it.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    /// TCP peer address.
    pub peer: Option<IpAddr>,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// The user, when the caller already knows it (overrides the user header).
    pub user: Option<&'a str>,
    /// The resource application id.
    pub application: Option<&'a str>,
    /// Authentication methods completed in the user's session, if known.
    pub methods: AuthMethods,
    /// Now, in seconds since the Unix epoch (the caller's clock; signals read none).
    pub now: u64,
}

/// Where each value of the sign-in came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Derived {
    /// The client address and how it was found.
    pub client_ip: ClientIp,
    /// Whether the peer is a trusted proxy (identity and device headers then count).
    pub peer_trusted: bool,
    /// Where the user id came from: `"given"` or the header name.
    pub user_source: String,
    /// Country and coordinates (`None`: no address or no database).
    pub place: Option<Place>,
    /// Anonymous-network flags (`None`: no address or no database).
    pub anonymous: Option<AnonymousFlags>,
    /// GeoIP lookups that failed (the value is then unknown).
    pub geoip_errors: Vec<String>,
    /// The User-Agent was present.
    pub user_agent: bool,
    /// Platform from the User-Agent.
    pub platform: DevicePlatform,
    /// OS version from the User-Agent.
    pub os_version: Option<OsVersion>,
    /// Client app type from the User-Agent.
    pub client_app_type: ClientAppType,
    /// The device identifier the proxy sent.
    pub device_identifier: Option<String>,
    /// The identifier names a registered device.
    pub device_registered: bool,
    /// Why the registered device is not compliant (empty: compliant).
    pub compliance_failures: Vec<ComplianceFailure>,
    /// Sign-in risk, when a risk source is configured.
    pub risk: Option<RiskAssessment>,
}

/// The signal sources: configuration, GeoIP, device registry, compliance rules, history.
///
/// Cheap to clone: the sources are shared, so a server can swap one of them (a new device
/// registry) and keep the others.
#[derive(Default, Clone)]
pub struct Signals {
    /// Configuration.
    pub config: SignalsConfig,
    /// GeoIP databases.
    pub geoip: Arc<GeoIp>,
    /// Registered devices.
    pub devices: Arc<DeviceRegistry>,
    /// Compliance rules.
    pub compliance: Arc<ComplianceRules>,
    /// Earlier sign-ins, for impossible travel and unfamiliar countries.
    pub history: Option<Arc<dyn SignInHistory>>,
}

impl std::fmt::Debug for Signals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signals")
            .field("config", &self.config)
            .field("geoip", &self.geoip)
            .field("devices", &self.devices.len())
            .field("history", &self.history.is_some())
            .finish()
    }
}

/// The value of a header sent exactly once, as trimmed non-empty text. A repeated,
/// non-UTF-8 or empty header reads as absent: ambiguous input is never half-read.
pub fn header_text(headers: &HeaderMap, name: impl http::header::AsHeaderName) -> Option<&str> {
    Found::lookup(headers, name).text()
}

/// How many headers [`Signals::sign_in`] reads ([`Signals::header_names`]).
pub const SIGNAL_HEADERS: usize = 5;

impl Signals {
    /// The headers [`Signals::sign_in`] reads, for [`crate::headers::scan`]: the forwarding
    /// header, the user, device and country headers (when configured) and `User-Agent`.
    pub fn header_names(&self) -> [Option<&HeaderName>; SIGNAL_HEADERS] {
        let c = &self.config;
        [
            Some(c.forwarded_header.header_name()),
            c.user_header.as_ref(),
            c.device_header.as_ref(),
            c.country_header.as_ref(),
            Some(&http::header::USER_AGENT),
        ]
    }

    /// Builds the sign-in of a request and the record of where each value came from.
    pub fn sign_in(&self, ctx: &RequestContext<'_>) -> Result<(SignIn, Derived), SignalsError> {
        let found = crate::headers::scan(ctx.headers, self.header_names());
        self.sign_in_found(ctx, &found)
    }

    /// As [`Signals::sign_in`], with the values of [`Signals::header_names`] found already in
    /// `ctx.headers` (by [`crate::headers::scan`], in the same order).
    pub fn sign_in_found<'f>(
        &self,
        ctx: &RequestContext<'_>,
        found: &[Found<'f>; SIGNAL_HEADERS],
    ) -> Result<(SignIn, Derived), SignalsError> {
        let c = &self.config;
        let [forwarded, user_found, device_found, country_found, ua_found] = *found;
        let ip = client_ip_found(
            ctx.peer,
            ctx.headers,
            forwarded,
            &c.trusted_proxies,
            c.forwarded_header,
        );
        let peer_trusted = ctx.peer.is_some_and(|p| {
            c.trusted_proxies
                .contains(gardien_core::network::normalize_ip(p))
        });
        // The user, device and country headers count only from a trusted proxy.
        let trusted_header = |found: Found<'f>| found.text().filter(|_| peer_trusted);

        let (user, user_source) = match (ctx.user, trusted_header(user_found)) {
            (Some(u), _) => (u, "given".to_owned()),
            (None, Some(u)) => (
                u,
                c.user_header
                    .as_ref()
                    .map(|h| h.as_str().to_owned())
                    .unwrap_or_default(),
            ),
            (None, None) => return Err(SignalsError::NoUser),
        };
        let application = ctx
            .application
            .filter(|a| !a.trim().is_empty())
            .ok_or(SignalsError::NoApplication)?;

        // Where: country, coordinates, anonymous network.
        let mut geoip_errors = Vec::new();
        let place = match (ip.address, &self.geoip.places) {
            (Some(a), Some(db)) => match db.place(a) {
                Ok(p) => Some(p),
                Err(e) => {
                    geoip_errors.push(e.to_string());
                    None
                }
            },
            _ => None,
        };
        let place = match (place, trusted_header(country_found).and_then(country_code)) {
            (
                Some(Place {
                    country: Some(_), ..
                }),
                _,
            )
            | (_, None) => place,
            (p, Some(country)) => Some(Place {
                country: Some(country),
                coordinates: p.and_then(|p| p.coordinates),
            }),
        };
        let anonymous = match (ip.address, &self.geoip.anonymous) {
            (Some(a), Some(db)) => match db.anonymous(a) {
                Ok(f) => Some(f),
                Err(e) => {
                    geoip_errors.push(e.to_string());
                    None
                }
            },
            _ => None,
        };

        // What: platform, OS version, client type.
        let ua = ua_found.first().map(|v| truncate(v.as_bytes()));
        let info = classify_remembered(ua.unwrap_or(""));

        // Which device.
        let device_identifier = trusted_header(device_found).map(str::to_owned);
        let record = device_identifier
            .as_deref()
            .and_then(|id| self.devices.find(id));
        let compliance_failures = record.map(|r| self.compliance.check(r)).unwrap_or_default();
        let device = record.map(|r| {
            let mut info = r.info.clone();
            info.is_compliant = Some(compliance_failures.is_empty());
            info
        });

        // Risk, when there is something to compute it from.
        let risk = (self.geoip.anonymous.is_some() || self.history.is_some()).then(|| {
            assess(
                &RiskFacts {
                    user: Some(user),
                    now: ctx.now,
                    country: place.and_then(|p| p.country),
                    coordinates: place.and_then(|p| p.coordinates),
                    anonymous: anonymous.unwrap_or_default(),
                },
                self.history.as_deref(),
                &c.risk,
            )
        });

        let mut signin = SignIn::user(user, &[application]);
        signin.client_app_type = Some(info.client_app_type);
        signin.device_platform = Some(info.platform);
        signin.ip_address = ip.address;
        signin.country = place.and_then(|p| p.country);
        signin.device = device;
        signin.sign_in_risk = risk.as_ref().map(|r| r.level);
        signin.session.methods = ctx.methods;
        signin.session.anonymous_network = anonymous.is_some_and(AnonymousFlags::any);
        // Entra's dated changes are read at the request time.
        signin.at = i64::try_from(ctx.now).ok();

        let derived = Derived {
            client_ip: ip,
            peer_trusted,
            user_source,
            place,
            anonymous,
            geoip_errors,
            user_agent: ua.is_some(),
            platform: info.platform,
            os_version: info.os_version,
            client_app_type: info.client_app_type,
            device_registered: record.is_some(),
            device_identifier,
            compliance_failures,
            risk,
        };
        Ok((signin, derived))
    }
}

/// An ISO 3166-1 alpha-2 code from a country header (`XX`, `T1` and anything else: none).
fn country_code(text: &str) -> Option<[u8; 2]> {
    match text.as_bytes() {
        [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            let code = [a.to_ascii_uppercase(), b.to_ascii_uppercase()];
            (&code != b"XX").then_some(code)
        }
        _ => None,
    }
}

/// The first [`MAX_USER_AGENT_BYTES`] of a header as text (lossy bytes dropped).
fn truncate(bytes: &[u8]) -> &str {
    let bytes = &bytes[..bytes.len().min(MAX_USER_AGENT_BYTES)];
    match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
    }
}

impl Derived {
    /// The record of a sign-in given whole (a Graph evaluate request body): nothing was
    /// derived from a connection; platform and client app are as the request gave them.
    pub fn given(signin: &SignIn) -> Derived {
        Derived {
            client_ip: ClientIp {
                address: signin.ip_address,
                source: IpSource::Given,
            },
            peer_trusted: false,
            user_source: "given".to_owned(),
            place: None,
            anonymous: None,
            geoip_errors: Vec::new(),
            user_agent: false,
            platform: signin.device_platform.unwrap_or(DevicePlatform::Unknown),
            os_version: None,
            client_app_type: signin.client_app_type.unwrap_or(ClientAppType::Other),
            device_identifier: None,
            device_registered: signin.device.is_some(),
            compliance_failures: Vec::new(),
            risk: None,
        }
    }

    /// One line per signal, for administrators (`gardien signin` without `--json`).
    pub fn describe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let ip = match (self.client_ip.address, self.client_ip.source) {
            (Some(a), IpSource::Forwarded { hop }) => {
                format!("client IP {a} (forwarding header, entry {hop} from the right)")
            }
            (Some(a), IpSource::Given) => format!("client IP {a} (given with the request)"),
            (Some(a), _) => format!("client IP {a} (TCP peer)"),
            (None, source) => format!(
                "client IP unknown: {} (in no IP named location)",
                match source {
                    IpSource::Unknown(p) => p.describe(),
                    _ => "no address",
                }
            ),
        };
        lines.push(ip);
        lines.push(format!(
            "peer {} a trusted proxy",
            if self.peer_trusted { "is" } else { "is not" }
        ));
        lines.push(format!("user from {}", self.user_source));
        lines.push(match self.place {
            Some(Place {
                country: Some(c), ..
            }) => format!("country {} (GeoIP)", String::from_utf8_lossy(&c)),
            Some(_) => "country unknown: the address maps to no country".to_owned(),
            None => "country unknown: no address or no GeoIP database".to_owned(),
        });
        match self.anonymous {
            Some(f) if f.any() => lines.push(format!(
                "anonymous network: {}",
                f.names().collect::<Vec<_>>().join(", ")
            )),
            Some(_) => lines.push("not an anonymous network".to_owned()),
            None => {}
        }
        for e in &self.geoip_errors {
            lines.push(format!("GeoIP error: {e}"));
        }
        lines.push(format!(
            "platform {}{} and client app type {} ({})",
            self.platform.as_str(),
            self.os_version.map(|v| format!(" {v}")).unwrap_or_default(),
            self.client_app_type.as_str(),
            if self.user_agent {
                "User-Agent"
            } else {
                "no User-Agent"
            }
        ));
        lines.push(match (&self.device_identifier, self.device_registered) {
            (None, _) => "device: none presented (unregistered)".to_owned(),
            (Some(id), false) => format!("device `{id}`: not registered (unregistered)"),
            (Some(id), true) if self.compliance_failures.is_empty() => {
                format!("device `{id}`: registered, compliant")
            }
            (Some(id), true) => format!(
                "device `{id}`: registered, not compliant: {}",
                self.compliance_failures
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        });
        if let Some(r) = &self.risk {
            let level = match r.level {
                RiskLevel::None => "none",
                other => other.as_str(),
            };
            if r.detections.is_empty() {
                lines.push(format!("sign-in risk {level}"));
            } else {
                lines.push(format!(
                    "sign-in risk {level}: {}",
                    r.detections
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            }
        }
        lines
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn signals(trusted: &str) -> Signals {
        Signals {
            config: SignalsConfig {
                trusted_proxies: TrustedProxies::parse([trusted]).unwrap(),
                country_header: Some(HeaderName::from_static("cf-ipcountry")),
                ..SignalsConfig::default()
            },
            ..Signals::default()
        }
    }

    fn country(s: &Signals, peer: &str, value: &str) -> Option<[u8; 2]> {
        let mut headers = HeaderMap::new();
        headers.insert("cf-ipcountry", HeaderValue::from_str(value).unwrap());
        let ctx = RequestContext {
            peer: Some(peer.parse().unwrap()),
            headers: &headers,
            user: Some("u1"),
            application: Some("app"),
            methods: AuthMethods::default(),
            now: 0,
        };
        s.sign_in(&ctx).unwrap().0.country
    }

    #[test]
    fn country_header_is_read_only_from_a_trusted_proxy() {
        let s = signals("10.0.0.0/8");
        assert_eq!(country(&s, "10.0.0.1", "br"), Some(*b"BR"));
        assert_eq!(country(&s, "203.0.113.9", "BR"), None, "untrusted peer");
        assert_eq!(country(&s, "10.0.0.1", "XX"), None, "unknown");
        assert_eq!(country(&s, "10.0.0.1", "T1"), None, "Tor");
        assert_eq!(country(&s, "10.0.0.1", "BRA"), None, "not alpha-2");
    }
}
