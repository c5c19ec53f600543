//! The running server's state: the compiled policy set in force (swapped atomically), the
//! signal sources, the store, identity, metrics.
//!
//! Every change to the policy set goes through [`AppState::apply`]: the core validates the
//! whole new tenant, the store saves it as a new version (optimistic concurrency on the
//! version), and only then does the compiled set in force change, in one pointer swap. A
//! rejected change leaves everything as it was.

use crate::clock::{CorrelationIds, now_ms};
use crate::config::ServerConfig;
use crate::credentials::{Caller, Credentials, CredentialsError, Role};
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
use std::sync::atomic::{AtomicI64, Ordering};

/// The policy set in force.
#[derive(Debug)]
pub struct Live {
    /// Its version in the store.
    pub version: i64,
    /// Compiled, ready to decide.
    pub tenant: CompiledTenant,
    /// The Graph JSON it was compiled from.
    pub snapshot: Value,
    /// `appliedConditionalAccessPolicies` texts of recent decisions (a cache, empty at first).
    pub applied: crate::signin_record::AppliedCache,
    /// Record texts of recent decisions (a cache, empty at first).
    pub records: crate::signin_record::RecordCache,
    /// `/v1/evaluate` sign-ins and allowed reports of recent requests (a cache, empty at
    /// first).
    pub evaluations: crate::evaluations::EvaluateCache,
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
    /// Whether the sign-in log can be written (`/readyz`).
    pub log_health: crate::health::LogHealth,
    /// Admin write bodies read and parsed at a time ([`crate::body::ADMIN_BODIES_AT_ONCE`]).
    pub admin_bodies: tokio::sync::Semaphore,
    /// Open connections and timeouts ([`crate::connections`]).
    pub connections: Arc<crate::connections::ConnectionStats>,
    /// The web console's session key and cookie rules ([`crate::console`]).
    pub console: crate::console::ConsoleState,
    /// The store's device revision the registry in force was loaded at.
    devices_revision: AtomicI64,
    write_lock: tokio::sync::Mutex<()>,
    /// This replica's admin edits (read, edit, apply), one at a time in arrival order (the
    /// lock is fair), so that writes without `If-Match` never conflict with each other.
    pub admin_edits: tokio::sync::Mutex<()>,
    /// The tokens in force (`[admin]`), swapped whole by [`AppState::reload_credentials`].
    credentials: ArcSwap<Credentials>,
    /// Sign-in records shipped as JSON lines (`[log.ship]`), when configured.
    pub shipper: Option<crate::log_ship::LogShipper>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("version", &self.live.load().version)
            .field("demo", &self.demo)
            .finish_non_exhaustive()
    }
}

/// SHA-256 of a token, hex (what `gardien hash-token` prints and `token_sha256` holds).
pub fn hash_token(token: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    crate::clock::hex(digest.as_ref())
}

/// Whether `presented` hashes to `expected_hex` (a [`hash_token`] output), in constant time
/// over the digests.
pub fn hash_matches(expected_hex: &str, presented: &str) -> bool {
    let Ok(expected) = crate::credentials::parse_digest("hash", expected_hex) else {
        return false;
    };
    let digest = ring::digest::digest(&ring::digest::SHA256, presented.as_bytes());
    let mut presented = [0u8; 32];
    presented.copy_from_slice(digest.as_ref());
    crate::credentials::digests_equal(&expected, &presented)
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
        mut config: ServerConfig,
        options: StartOptions,
    ) -> Result<Arc<AppState>, StartError> {
        // Prefixes are compared with canonical request paths: make them canonical too.
        for (i, app) in config.apps.iter_mut().enumerate() {
            app.path_prefix = gardien_signals::path::canonical_path(&app.path_prefix)
                .map_err(|e| {
                    StartError::Config(format!("apps[{i}].path_prefix `{}`: {e}", app.path_prefix))
                })?
                .into_owned();
        }
        let store_options = StoreOptions {
            durability: config.store.durability,
            schema: config.store.schema.clone(),
            commit_interval: std::time::Duration::from_micros(u64::from(
                config.log.commit_interval_us,
            )),
            ..StoreOptions::default()
        };
        let store = match &config.store.database {
            Some(url) => Store::connect(url, store_options).await?,
            None => Store::open(&config.store.path, store_options).await?,
        };
        let live = match store.current_version().await? {
            Some(v) => {
                if options.initial_tenant.is_some() {
                    tracing::info!(
                        version = v.version,
                        "the store already holds a policy set; the configured tenant is not imported"
                    );
                }
                live_from_version(v).map_err(StartError::Tenant)?
            }
            None => {
                let snap = options.initial_tenant.unwrap_or_else(snapshot::empty);
                let tenant =
                    snapshot::compile("initial tenant", &snap).map_err(StartError::Tenant)?;
                let diff = snapshot::diff(&snapshot::empty(), &snap);
                let saved = store
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
                    .await;
                match saved {
                    Ok(version) => Live {
                        version,
                        tenant,
                        snapshot: snap,
                        applied: Default::default(),
                        records: Default::default(),
                        evaluations: Default::default(),
                    },
                    // Another replica imported first: use what it stored.
                    Err(StoreError::Conflict { .. }) => {
                        let v = store.current_version().await?.ok_or_else(|| {
                            StartError::Config(
                                "the store reported a concurrent import but holds no version"
                                    .to_owned(),
                            )
                        })?;
                        tracing::info!(
                            version = v.version,
                            "another replica imported the policy set first; using it"
                        );
                        live_from_version(v).map_err(StartError::Tenant)?
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let devices_revision = store.devices_revision().await?;
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
                    let bytes = crate::files::read_regular(path, crate::files::DEFAULT_LIMIT)
                        .map_err(|e| StartError::Config(e.to_string()))?;
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
        let credentials = Credentials::from_config(&config.admin)
            .map_err(|e| StartError::Config(e.to_string()))?;
        if options.demo && !config.listen.ip().is_loopback() {
            return Err(StartError::Config(
                "demo mode opens the admin API without a token: it only listens on loopback"
                    .to_owned(),
            ));
        }
        config
            .console
            .check(&config.identity)
            .map_err(StartError::Config)?;
        let revoked = store
            .revoked_sessions(crate::clock::now_ms())
            .await
            .map_err(StartError::from)?;
        let console = crate::console::ConsoleState::new(&config, revoked)
            .map_err(|e| StartError::Config(e.to_string()))?;
        let metrics = Metrics::default();
        let shipper = config
            .log
            .ship
            .as_ref()
            .map(|c| crate::log_ship::LogShipper::start(c, metrics.ship.clone()))
            .transpose()
            .map_err(|e| StartError::Config(e.to_string()))?;
        metrics
            .policy_version
            .store(live.version, Ordering::Relaxed);
        let state = Arc::new(AppState {
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
            connections: Arc::default(),
            console,
            log_health: crate::health::LogHealth::default(),
            admin_bodies: tokio::sync::Semaphore::new(crate::body::ADMIN_BODIES_AT_ONCE),
            devices_revision: AtomicI64::new(devices_revision),
            write_lock: tokio::sync::Mutex::new(()),
            admin_edits: tokio::sync::Mutex::new(()),
            credentials: ArcSwap::from_pointee(credentials),
            shipper,
        });
        state.analyse(state.live.load_full());
        Ok(state)
    }

    /// Puts `live` in force (one pointer swap) and asks for the console's analyses of it.
    fn put_in_force(&self, live: Live) {
        let live = Arc::new(live);
        self.live.store(live.clone());
        self.analyse(live);
    }

    /// Asks for the console's analyses of the version just put in force, in the background
    /// ([`crate::console::analyses`]), when the console is served.
    fn analyse(&self, live: Arc<Live>) {
        if self.config.console.enabled {
            self.console.analyses.request(live);
        }
    }

    /// The admin token a bearer token is (its name and role); in demo mode (loopback only)
    /// every request is the `demo` admin.
    pub fn admin_caller(&self, bearer: Option<&str>) -> Option<Caller> {
        if self.demo && self.config.listen.ip().is_loopback() {
            return Some(Caller {
                name: Arc::from("demo"),
                role: Role::Admin,
            });
        }
        self.credentials.load().admin_caller(bearer)
    }

    /// Whether a bearer token is an admin token with the `admin` role.
    pub fn admin_allowed(&self, bearer: Option<&str>) -> bool {
        self.admin_caller(bearer)
            .is_some_and(|c| c.role.allows(Role::Admin))
    }

    /// The admin token (named or `token_sha256`) `token` is, demo mode or not: what the
    /// console's token login accepts (the decision and metrics tokens are not admin tokens).
    pub fn console_token(&self, token: &str) -> Option<Caller> {
        if token.is_empty() {
            return None;
        }
        self.credentials.load().admin_caller(Some(token))
    }

    /// Whether any admin token is configured (the console then offers its token login).
    pub fn has_admin_tokens(&self) -> bool {
        !self.credentials.load().names().is_empty()
    }

    /// Whether a bearer token may read `/metrics`: anyone without `metrics_token_sha256`,
    /// else the metrics token or an admin token.
    pub fn metrics_allowed(&self, bearer: Option<&str>) -> bool {
        self.credentials.load().metrics_allowed(bearer)
    }

    /// Whether a bearer token opens the decision API (an `admin`-role or the decision token).
    pub fn decision_allowed(&self, bearer: Option<&str>) -> bool {
        (self.demo && self.config.listen.ip().is_loopback())
            || self.credentials.load().decision_allowed(bearer)
    }

    /// Puts the credentials of an `[admin]` section in force (`SIGHUP`), all or nothing:
    /// invalid ones are refused and those in force stay. Returns the admin tokens now in
    /// force (name and role).
    ///
    /// A section without any admin token is refused while tokens are in force: a file read
    /// while an editor or a configuration tool rewrites it (empty, or cut before `[admin]`)
    /// parses as a configuration without tokens, and putting that in force would lock every
    /// administrator out until a restart. Running without an admin API takes a restart.
    pub fn reload_credentials(
        &self,
        admin: &crate::config::AdminConfig,
    ) -> Result<Vec<(String, Role)>, CredentialsError> {
        let credentials = Credentials::from_config(admin)?;
        if credentials.names().is_empty() && self.has_admin_tokens() {
            return Err(CredentialsError(
                "has no admin token, and reloading it would remove every token in force (a file \
                 read while being rewritten?); restart the server to run without admin tokens"
                    .to_owned(),
            ));
        }
        let names: Vec<(String, Role)> = credentials
            .names()
            .into_iter()
            .map(|(n, r)| (n.to_owned(), r))
            .collect();
        self.credentials.store(Arc::new(credentials));
        Ok(names)
    }

    /// The policy set in force, for an admin write that expects version `expected`
    /// (`If-Match`): when it is not the one in force, this replica may not have put in force
    /// a version another replica just wrote (a notification is milliseconds away), so it
    /// catches up with the store first. The edit must be made on the returned snapshot and
    /// [`AppState::apply`]ed with its version, so a stale copy never hides a newer write.
    pub async fn live_for_write(&self, expected: Option<i64>) -> Arc<Live> {
        if expected.is_some_and(|e| e != self.live.load().version)
            && let Err(e) = self.sync_policy().await
        {
            tracing::warn!(error = %e, "could not catch up with the store before a write");
        }
        self.live.load_full()
    }

    /// Validates a new tenant snapshot, stores it as a new version and puts it in force.
    /// `expected` is the version the new snapshot was derived from (`None`: whatever is
    /// current); another version in force or in the store is a conflict.
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
                    // Another replica wrote first; the change follower loads its version
                    // (at most `version_check_ms` later if the notification was missed).
                    WriteError::Conflict { expected, actual }
                }
                other => WriteError::Store(other),
            })?;
        self.put_in_force(Live {
            version,
            tenant,
            snapshot: new,
            applied: Default::default(),
            records: Default::default(),
            evaluations: Default::default(),
        });
        self.metrics
            .policy_version
            .store(version, Ordering::Relaxed);
        tracing::info!(version, author, "policy set changed");
        Ok(version)
    }

    /// Replaces the device registry in force with the store's devices.
    pub async fn reload_devices(&self) -> Result<usize, StartError> {
        // One reload at a time, so an older registry never replaces a newer one.
        let _guard = self.write_lock.lock().await;
        // Read the revision first: a write landing between the two reads makes the next
        // check reload again, never miss a change.
        let revision = self.store.devices_revision().await?;
        let devices = self.store.devices().await?;
        let registry = registry(&devices)?;
        let n = registry.len();
        let mut signals = Signals::clone(&self.signals.load());
        signals.devices = Arc::new(registry);
        self.signals.store(Arc::new(signals));
        self.devices_revision.store(revision, Ordering::Relaxed);
        Ok(n)
    }

    /// Puts the store's newest policy version in force if it differs from the one in force
    /// (another replica changed it). Returns the version now in force. A stored version the
    /// core rejects (written by a newer gardien, say) leaves the current one in force.
    pub async fn sync_policy(&self) -> Result<i64, SyncError> {
        let Some(newest) = self.store.current_version_number().await? else {
            return Ok(self.live.load().version);
        };
        if newest == self.live.load().version {
            return Ok(newest);
        }
        let _guard = self.write_lock.lock().await;
        let current = self.live.load().version;
        let Some(v) = self.store.current_version().await? else {
            return Ok(current);
        };
        if v.version == current {
            return Ok(current);
        }
        let version = v.version;
        let live = live_from_version(v).map_err(|errors| SyncError::Invalid { version, errors })?;
        if version < current {
            tracing::warn!(
                current,
                version,
                "the store's newest policy version is older than the one in force (restored database?); following the store"
            );
        }
        self.put_in_force(live);
        self.metrics
            .policy_version
            .store(version, Ordering::Relaxed);
        self.metrics.policy_reloads.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            from = current,
            to = version,
            "policy set changed in the store; now in force"
        );
        Ok(version)
    }

    /// Reloads the device registry if the store's device revision moved. Returns whether it
    /// did.
    pub async fn sync_devices(&self) -> Result<bool, SyncError> {
        let revision = self.store.devices_revision().await?;
        if revision == self.devices_revision.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let n = self.reload_devices().await.map_err(|e| match e {
            StartError::Store(e) => SyncError::Store(e),
            other => SyncError::Devices(other.to_string()),
        })?;
        tracing::info!(
            devices = n,
            revision,
            "devices changed in the store; reloaded"
        );
        Ok(true)
    }
}

/// Why a change made in the store (by another replica) could not be put in force; the
/// policy set and devices in force stay as they were.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The store did not answer.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The stored version does not compile.
    #[error("stored policy version {version} is invalid:\n{errors}")]
    Invalid {
        /// The version.
        version: i64,
        /// Why.
        errors: LoadErrors,
    },
    /// The stored devices are invalid.
    #[error("stored devices: {0}")]
    Devices(String),
}

/// Compiles a stored version.
fn live_from_version(v: gardien_store::TenantVersion) -> Result<Live, LoadErrors> {
    let tenant = snapshot::compile(&format!("store:version {}", v.version), &v.snapshot)?;
    Ok(Live {
        version: v.version,
        tenant,
        snapshot: v.snapshot,
        applied: Default::default(),
        records: Default::default(),
        evaluations: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_round_trip() {
        let h = hash_token("s3cret");
        assert_eq!(h.len(), 64);
        assert!(hash_matches(&h, "s3cret"));
        assert!(!hash_matches(&h, "s3cret "));
        assert!(!hash_matches("xyz", "s3cret"));
    }
}
