//! The running server's state: the compiled policy set in force (swapped atomically), the
//! signal sources, the store, identity, metrics.
//!
//! Every change to the policy set goes through [`AppState::apply`]: the core validates the
//! whole new tenant, the store saves it as a new version (optimistic concurrency on the
//! version), and only then does the compiled set in force change, in one pointer swap. A
//! rejected change leaves everything as it was.

use crate::clock::{CorrelationIds, now_ms};
use crate::config::ServerConfig;
use crate::identity::{IdentityError, IdentityResolver};
use crate::metrics::Metrics;
use crate::snapshot;
use arc_swap::ArcSwap;
use gardien_core::{CompiledTenant, LoadErrors};
use gardien_signals::Signals;
use gardien_signals::client_ip::{ForwardedHeader, TrustedProxies};
use gardien_signals::devices::{ComplianceRules, DeviceError, DeviceRegistry};
use gardien_signals::geoip::{GeoIp, GeoIpError};
use gardien_signals::risk::{InMemoryHistory, RiskConfig};
use gardien_signals::signals::SignalsConfig;
use gardien_store::{NewVersion, Store, StoreError, StoreOptions};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The policy set in force.
#[derive(Debug)]
pub struct Live {
    /// Its version in the store.
    pub version: i64,
    /// Compiled, ready to decide.
    pub tenant: CompiledTenant,
    /// The Graph JSON it was compiled from.
    pub snapshot: Value,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The tenant to import, or the one stored, is invalid.
    #[error("tenant:\n{0}")]
    Tenant(LoadErrors),
    /// The device registry or compliance rules are invalid.
    #[error("devices: {0}")]
    Devices(#[from] DeviceError),
    /// A GeoIP database could not be opened.
    #[error("geoip: {0}")]
    GeoIp(#[from] GeoIpError),
    /// Identity configuration.
    #[error("identity: {0}")]
    Identity(#[from] IdentityError),
    /// Another configuration value.
    #[error("configuration: {0}")]
    Config(String),
}

/// Why a change to the policy set was not applied.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The core rejected the new tenant (nothing changed).
    #[error("{0}")]
    Rejected(LoadErrors),
    /// The version moved since the client read it (or another replica wrote first).
    #[error("version conflict: expected {expected:?}, current is {actual:?}")]
    Conflict {
        /// What the writer expected.
        expected: Option<i64>,
        /// What is current.
        actual: Option<i64>,
    },
    /// The store failed (nothing changed in force).
    #[error("store: {0}")]
    Store(StoreError),
}

/// What the server starts from, besides its configuration.
#[derive(Debug, Default)]
pub struct StartOptions {
    /// The loopback demo: admin API open without a token.
    pub demo: bool,
    /// Tenant snapshot imported when the store has no version yet.
    pub initial_tenant: Option<Value>,
    /// Graph devices imported when the store has no device yet.
    pub initial_devices: Option<Vec<Value>>,
    /// Compliance rules (JSON text and its name), overriding the configured file.
    pub compliance: Option<(String, Vec<u8>)>,
}

/// Shared state of every request.
pub struct AppState {
    /// Configuration.
    pub config: ServerConfig,
    /// The policy set in force.
    pub live: ArcSwap<Live>,
    /// Signal sources (swapped when devices change).
    pub signals: ArcSwap<Signals>,
    /// Storage.
    pub store: Store,
    /// Who is signing in.
    pub identity: IdentityResolver,
    /// Metrics.
    pub metrics: Metrics,
    /// Correlation ids.
    pub ids: CorrelationIds,
    /// Demo mode (loopback only).
    pub demo: bool,
    /// Sign-in history for risk, when enabled.
    pub history: Option<Arc<InMemoryHistory>>,
    /// Recent denials, for the page nginx fetches after `auth_request` said 403.
    pub denials: crate::denials::RecentDenials,
    write_lock: tokio::sync::Mutex<()>,
    admin_token: Option<[u8; 32]>,
    decision_token: Option<[u8; 32]>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("version", &self.live.load().version)
            .field("demo", &self.demo)
            .finish_non_exhaustive()
    }
}

fn parse_hash(name: &str, hex: &str) -> Result<[u8; 32], StartError> {
    let hex = hex.trim();
    let bad = || StartError::Config(format!("admin.{name}: expected 64 hex digits (SHA-256)"));
    if hex.len() != 64 {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16)
            .map_err(|_| bad())?;
    }
    Ok(out)
}

/// SHA-256 of a token, hex (what `gardien hash-token` prints and `token_sha256` holds).
pub fn hash_token(token: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    crate::clock::hex(digest.as_ref())
}

fn token_matches(expected: &[u8; 32], presented: &str) -> bool {
    let digest = ring::digest::digest(&ring::digest::SHA256, presented.as_bytes());
    // Constant time over the digests: no early exit on the first differing byte.
    digest
        .as_ref()
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// Builds a device registry from Graph device objects.
pub fn registry(devices: &[Value]) -> Result<DeviceRegistry, DeviceError> {
    let bytes = serde_json::to_vec(&json!({ "value": devices })).unwrap_or_default();
    DeviceRegistry::from_json("store:devices", &bytes)
}

fn signals_config(config: &ServerConfig) -> Result<SignalsConfig, StartError> {
    let s = &config.signals;
    let trusted_proxies = TrustedProxies::parse(s.trusted_proxies.iter().map(String::as_str))
        .map_err(|e| StartError::Config(format!("signals.trusted_proxies: {e}")))?;
    let forwarded_header = match &s.forwarded_header {
        None => ForwardedHeader::default(),
        Some(h) => ForwardedHeader::parse(h).ok_or_else(|| {
            StartError::Config(format!(
                "signals.forwarded_header: `{h}` is not x-forwarded-for, forwarded or x-real-ip"
            ))
        })?,
    };
    let header = |key: &str, name: &Option<String>| {
        name.as_deref()
            .map(|h| {
                http::HeaderName::try_from(h).map_err(|_| {
                    StartError::Config(format!("signals.{key}: `{h}` is not a header name"))
                })
            })
            .transpose()
    };
    let device_header = header("device_header", &s.device_header)?;
    let country_header = header("country_header", &s.country_header)?;
    Ok(SignalsConfig {
        trusted_proxies,
        forwarded_header,
        user_header: None,
        device_header,
        country_header,
        risk: RiskConfig::default(),
    })
}

impl AppState {
    /// Opens the store, loads (or imports) the policy set and devices, and opens the signal
    /// sources. Any invalid input stops the start: the server never runs half-configured.
    pub async fn start(
        config: ServerConfig,
        options: StartOptions,
    ) -> Result<Arc<AppState>, StartError> {
        let store = Store::open(
            &config.store.path,
            StoreOptions {
                durability: config.store.durability,
                ..StoreOptions::default()
            },
        )
        .await?;
        let live = match store.current_version().await? {
            Some(v) => {
                if options.initial_tenant.is_some() {
                    tracing::info!(
                        version = v.version,
                        "the store already holds a policy set; the configured tenant is not imported"
                    );
                }
                let tenant =
                    snapshot::compile(&format!("store:version {}", v.version), &v.snapshot)
                        .map_err(StartError::Tenant)?;
                Live {
                    version: v.version,
                    tenant,
                    snapshot: v.snapshot,
                }
            }
            None => {
                let snap = options.initial_tenant.unwrap_or_else(snapshot::empty);
                let tenant =
                    snapshot::compile("initial tenant", &snap).map_err(StartError::Tenant)?;
                let diff = snapshot::diff(&snapshot::empty(), &snap);
                let version = store
                    .save_version(
                        None,
                        NewVersion {
                            author: "import".to_owned(),
                            summary: format!("initial import: {}", snapshot::summary(&diff)),
                            created_ms: now_ms(),
                            diff,
                            snapshot: snap.clone(),
                        },
                    )
                    .await?;
                Live {
                    version,
                    tenant,
                    snapshot: snap,
                }
            }
        };
        let mut devices = store.devices().await?;
        if devices.is_empty()
            && let Some(initial) = options.initial_devices
        {
            registry(&initial)?;
            store.replace_devices(&initial).await?;
            devices = initial;
        }
        let compliance = match &options.compliance {
            Some((name, bytes)) => ComplianceRules::from_json(name, bytes)?,
            None => match &config.signals.compliance {
                Some(path) => {
                    let bytes = std::fs::read(path).map_err(|e| {
                        StartError::Config(format!("cannot read {}: {e}", path.display()))
                    })?;
                    ComplianceRules::from_json(&path.display().to_string(), &bytes)?
                }
                None => ComplianceRules::default(),
            },
        };
        let history = config
            .signals
            .risk
            .then(|| Arc::new(InMemoryHistory::new(64)));
        let signals = Signals {
            config: signals_config(&config)?,
            geoip: Arc::new(GeoIp::open(
                config.signals.geoip.as_deref(),
                config.signals.geoip_anonymous.as_deref(),
            )?),
            devices: Arc::new(registry(&devices)?),
            compliance: Arc::new(compliance),
            history: history
                .clone()
                .map(|h| h as Arc<dyn gardien_signals::risk::SignInHistory>),
        };
        let identity = IdentityResolver::new(&config.identity)?;
        let admin_token = config
            .admin
            .token_sha256
            .as_deref()
            .map(|h| parse_hash("token_sha256", h))
            .transpose()?;
        let decision_token = config
            .admin
            .decision_token_sha256
            .as_deref()
            .map(|h| parse_hash("decision_token_sha256", h))
            .transpose()?;
        if options.demo && !config.listen.ip().is_loopback() {
            return Err(StartError::Config(
                "demo mode opens the admin API without a token: it only listens on loopback"
                    .to_owned(),
            ));
        }
        let metrics = Metrics::default();
        metrics
            .policy_version
            .store(live.version, Ordering::Relaxed);
        Ok(Arc::new(AppState {
            config,
            live: ArcSwap::from_pointee(live),
            signals: ArcSwap::from_pointee(signals),
            store,
            identity,
            metrics,
            ids: CorrelationIds::new(),
            demo: options.demo,
            history,
            denials: crate::denials::RecentDenials::new(4096),
            write_lock: tokio::sync::Mutex::new(()),
            admin_token,
            decision_token,
        }))
    }

    /// Whether a bearer token opens the admin API.
    pub fn admin_allowed(&self, bearer: Option<&str>) -> bool {
        if self.demo && self.config.listen.ip().is_loopback() {
            return true;
        }
        match (&self.admin_token, bearer) {
            (Some(expected), Some(token)) => token_matches(expected, token),
            _ => false,
        }
    }

    /// Whether a bearer token opens the decision API (admin or decision token).
    pub fn decision_allowed(&self, bearer: Option<&str>) -> bool {
        if self.admin_allowed(bearer) {
            return true;
        }
        match (&self.decision_token, bearer) {
            (Some(expected), Some(token)) => token_matches(expected, token),
            _ => false,
        }
    }

    /// Validates a new tenant snapshot, stores it as a new version and puts it in force.
    /// `expected` is the version the writer read (`None`: whatever is current).
    pub async fn apply(
        &self,
        author: &str,
        expected: Option<i64>,
        new: Value,
        summary_prefix: Option<&str>,
    ) -> Result<i64, WriteError> {
        let _guard = self.write_lock.lock().await;
        let current = self.live.load_full();
        if let Some(e) = expected
            && e != current.version
        {
            return Err(WriteError::Conflict {
                expected: Some(e),
                actual: Some(current.version),
            });
        }
        let tenant = match snapshot::compile("request body", &new) {
            Ok(t) => t,
            Err(e) => {
                self.metrics.rejected_writes.fetch_add(1, Ordering::Relaxed);
                return Err(WriteError::Rejected(e));
            }
        };
        let diff = snapshot::diff(&current.snapshot, &new);
        let summary = match summary_prefix {
            Some(p) => format!("{p}: {}", snapshot::summary(&diff)),
            None => snapshot::summary(&diff),
        };
        let version = self
            .store
            .save_version(
                Some(current.version),
                NewVersion {
                    author: author.to_owned(),
                    summary,
                    created_ms: now_ms(),
                    diff,
                    snapshot: new.clone(),
                },
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict { expected, actual } => {
                    WriteError::Conflict { expected, actual }
                }
                other => WriteError::Store(other),
            })?;
        self.live.store(Arc::new(Live {
            version,
            tenant,
            snapshot: new,
        }));
        self.metrics
            .policy_version
            .store(version, Ordering::Relaxed);
        tracing::info!(version, author, "policy set changed");
        Ok(version)
    }

    /// Replaces the device registry in force after a change in the store.
    pub async fn reload_devices(&self) -> Result<usize, StartError> {
        let devices = self.store.devices().await?;
        let registry = registry(&devices)?;
        let n = registry.len();
        let mut signals = Signals::clone(&self.signals.load());
        signals.devices = Arc::new(registry);
        self.signals.store(Arc::new(signals));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_round_trip() {
        let h = hash_token("s3cret");
        assert_eq!(h.len(), 64);
        let Ok(bytes) = parse_hash("token_sha256", &h) else {
            unreachable!("own hash parses");
        };
        assert!(token_matches(&bytes, "s3cret"));
        assert!(!token_matches(&bytes, "s3cret "));
        assert!(parse_hash("token_sha256", "xyz").is_err());
    }
}
