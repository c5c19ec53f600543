//! `gardien.toml`: what the administrator configures. Every section has secure defaults:
//! trust no proxy, admin API closed, minimal disclosure on the denial page.
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! tenant = "tenant/"                  # imported when the store has no version yet
//!                                     # ([tenant] path, watch = true: followed, `tenant`)
//!
//! [store]
//! path = "gardien.db"
//! durability = "process"              # or "power" (fsync every commit)
//!
//! [log]
//! acknowledge = "committed"           # reply after the record's batch is committed; or "queued"
//! retention_days = 90
//!
//! [log.ship]                          # also as JSON lines, for a SIEM
//! output = "file"                     # or "stdout"
//! path = "/var/log/gardien/signins.jsonl"
//! hash_key_file = "/etc/gardien/log-hash.key"
//! [log.ship.mask]
//! ipAddress = "truncate"
//! userPrincipalName = "hash"
//!
//! [signals]
//! trusted_proxies = ["127.0.0.1/32"]
//! forwarded_header = "x-forwarded-for" # or "forwarded", "x-real-ip"
//! device_header = "x-client-cert-sha256"
//! geoip = "GeoLite2-City.mmdb"
//! geoip_anonymous = "GeoIP2-Anonymous-IP.mmdb"
//! devices = "devices.json"            # imported when the store has no device yet
//! compliance = "compliance.json"
//! risk = true
//!
//! [identity.headers]                  # Authelia / oauth2-proxy style, trusted proxies only
//! user = "remote-user"
//!
//! [[apps]]
//! host = "wiki.example.com"
//! path_prefix = "/"
//! app_id = "00000003-0000-0ff1-ce00-000000000000"
//! name = "Wiki"
//!
//! [page]
//! disclosure = "minimal"              # detailed, full
//! support = "mailto:helpdesk@example.com"
//!
//! [admin]
//! token_sha256 = "…"                  # `gardien hash-token` prints it
//!
//! [[admin.tokens]]                    # several named tokens, reloaded on SIGHUP
//! name = "helpdesk"
//! sha256 = "…"
//! role = "reader"                     # or "admin"
//! ```

mod tenant;

pub use tenant::{DEFAULT_WATCH_INTERVAL_MS, TenantConfig};

use crate::denial::Disclosure;
use crate::identity::IdentityConfig;
use gardien_store::Durability;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is invalid or has an unknown key.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, with the line from the TOML parser.
        reason: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on (default `127.0.0.1:8080`).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Tenant (directory or single JSON file) imported when the store holds no version, or
    /// followed (`[tenant] watch = true`).
    #[serde(default)]
    pub tenant: Option<TenantConfig>,
    /// Storage.
    #[serde(default)]
    pub store: StoreConfig,
    /// Sign-in log.
    #[serde(default)]
    pub log: LogConfig,
    /// Signal sources.
    #[serde(default)]
    pub signals: SignalsSection,
    /// Who is signing in.
    #[serde(default)]
    pub identity: IdentityConfig,
    /// Which application a host and path belong to.
    #[serde(default)]
    pub apps: Vec<AppRoute>,
    /// Denial page.
    #[serde(default)]
    pub page: PageConfig,
    /// Admin API and decision API access.
    #[serde(default)]
    pub admin: AdminConfig,
    /// The AuthZEN Authorization API (`[authzen]`).
    #[serde(default)]
    pub authzen: AuthzenConfig,
    /// Connections and request bodies: timeouts and limits (`docs/security.md`).
    #[serde(default)]
    pub http: HttpConfig,
    /// The web console for the help desk and the admins (`docs/console.md`).
    #[serde(default)]
    pub console: crate::console::ConsoleConfig,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// `[store]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// SQLite file (default `gardien.db`), used when `database` is not set.
    #[serde(default = "default_db")]
    pub path: PathBuf,
    /// A PostgreSQL URL (`postgres://user@host:5432/db`) shared by several replicas; when set,
    /// `path` is not used. `gardien serve --database` overrides it.
    #[serde(default)]
    pub database: Option<String>,
    /// PostgreSQL schema holding gardien's tables (created if missing; default: the
    /// connection's `search_path`, normally `public`).
    #[serde(default)]
    pub schema: Option<String>,
    /// What a committed record survives (SQLite; PostgreSQL commits are as durable as the
    /// server's own settings make them).
    #[serde(default = "default_durability")]
    pub durability: Durability,
    /// How often, in milliseconds, a replica compares its policy version and device
    /// revision with the store, in case a change notification was missed (default 2000).
    #[serde(default = "default_version_check_ms")]
    pub version_check_ms: u64,
}

fn default_db() -> PathBuf {
    PathBuf::from("gardien.db")
}

fn default_durability() -> Durability {
    Durability::Process
}

fn default_version_check_ms() -> u64 {
    2000
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: default_db(),
            database: None,
            schema: None,
            durability: default_durability(),
            version_check_ms: default_version_check_ms(),
        }
    }
}

/// When a decision is answered relative to its sign-in record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Acknowledge {
    /// The answer waits until the record's batch is committed (group commit): every answered
    /// decision is in the log, even after `kill -9`. Default.
    #[default]
    Committed,
    /// The answer goes out once the record is queued; a crash loses every record not yet
    /// committed (up to the queue capacity).
    Queued,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// When a decision is answered.
    #[serde(default)]
    pub acknowledge: Acknowledge,
    /// Records older than this are deleted (hourly). `0` keeps everything.
    #[serde(default = "default_retention")]
    pub retention_days: u32,
    /// Records also shipped as JSON lines (`[log.ship]`), masked per field.
    #[serde(default)]
    pub ship: Option<ShipConfig>,
    /// While records keep coming, the log writer starts a batch no sooner than this many
    /// microseconds after the previous one (unless 64 records wait): fewer, larger commits
    /// for at most this much more latency. `0` commits as soon as a record arrives (one
    /// client sending one request at a time waits least). Default 500, at most
    /// [`MAX_COMMIT_INTERVAL_US`].
    #[serde(default = "default_commit_interval_us")]
    pub commit_interval_us: u32,
    /// Most index entries one page of a sign-in search reads (`GET /v1/signins`, the
    /// console's search): a page that reaches it before it is full stops there, says back to
    /// when it searched and links on (`docs/signins.md`). Default
    /// [`gardien_store::SEARCH_READS`] (50,000, under 10 ms of a core), from 1 to
    /// [`MAX_SEARCH_READS`].
    #[serde(default = "default_search_reads")]
    pub search_reads: usize,
}

/// The largest `[log] search_reads`: 100 times the default (about a second of a core per
/// page), so that no setting makes one request's work grow with the log.
pub const MAX_SEARCH_READS: usize = 5_000_000;

fn default_search_reads() -> usize {
    gardien_store::SEARCH_READS
}

/// The largest `[log] commit_interval_us`: 10 ms. A longer wait would hold every decision
/// answered after its commit (`acknowledge = "committed"`) for that long.
pub const MAX_COMMIT_INTERVAL_US: u32 = 10_000;

fn default_commit_interval_us() -> u32 {
    500
}

impl LogConfig {
    /// Checks `commit_interval_us` against [`MAX_COMMIT_INTERVAL_US`] and `search_reads`
    /// against 1 and [`MAX_SEARCH_READS`].
    fn check(&self) -> Result<(), String> {
        if !(1..=MAX_SEARCH_READS).contains(&self.search_reads) {
            return Err(format!(
                "[log] search_reads = {} is not from 1 to {MAX_SEARCH_READS}: it bounds the index entries one sign-in search page reads",
                self.search_reads
            ));
        }
        if self.commit_interval_us > MAX_COMMIT_INTERVAL_US {
            return Err(format!(
                "[log] commit_interval_us = {} is more than {MAX_COMMIT_INTERVAL_US} (10 ms): every decision answered after its commit would wait that long",
                self.commit_interval_us
            ));
        }
        Ok(())
    }
}

/// Where `[log.ship]` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShipOutput {
    /// Standard output (the server logs to standard error).
    Stdout,
    /// `path`, rotated by size.
    File,
}

/// `[log.ship]`: every sign-in record, as the store keeps it, also written as one JSON line
/// to standard output or a rotating file, with per-field masks (`crate::log_ship`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipConfig {
    /// `stdout` or `file`.
    pub output: ShipOutput,
    /// The file (`output = "file"`); rotated files are `path.1` (newest) to `path.<keep>`.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// The file is rotated before it would grow past this many bytes (default 100 MiB).
    #[serde(default = "default_ship_max_bytes")]
    pub max_bytes: u64,
    /// Rotated files kept (default 5); older ones are deleted.
    #[serde(default = "default_ship_keep")]
    pub keep: u32,
    /// A file holding the HMAC-SHA256 secret of `hash` masks (at least 16 bytes; a trailing
    /// newline is ignored).
    #[serde(default)]
    pub hash_key_file: Option<PathBuf>,
    /// Or an environment variable holding it.
    #[serde(default)]
    pub hash_key_env: Option<String>,
    /// Per-field masks (`[log.ship.mask]`): `field = "drop" | "hash" | "truncate"`.
    #[serde(default)]
    pub mask: crate::log_ship::mask::MaskRules,
}

fn default_ship_max_bytes() -> u64 {
    100 * 1024 * 1024
}

fn default_ship_keep() -> u32 {
    5
}

fn default_retention() -> u32 {
    90
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            acknowledge: Acknowledge::default(),
            retention_days: default_retention(),
            ship: None,
            commit_interval_us: default_commit_interval_us(),
            search_reads: default_search_reads(),
        }
    }
}

/// `[signals]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SignalsSection {
    /// Proxies whose forwarding, identity and device headers are believed (none by default).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// `x-forwarded-for` (default), `forwarded` or `x-real-ip`.
    #[serde(default)]
    pub forwarded_header: Option<String>,
    /// Header carrying the device identifier (client-certificate fingerprint).
    #[serde(default)]
    pub device_header: Option<String>,
    /// Header a trusted proxy or CDN puts the client's country in (`cf-ipcountry`), used
    /// when no GeoIP database gives one.
    #[serde(default)]
    pub country_header: Option<String>,
    /// MaxMind Country or City database.
    #[serde(default)]
    pub geoip: Option<PathBuf>,
    /// MaxMind Anonymous-IP database.
    #[serde(default)]
    pub geoip_anonymous: Option<PathBuf>,
    /// Graph devices JSON imported when the store has no device yet.
    #[serde(default)]
    pub devices: Option<PathBuf>,
    /// Compliance rules JSON.
    #[serde(default)]
    pub compliance: Option<PathBuf>,
    /// Compute sign-in risk from anonymous networks, impossible travel and unfamiliar
    /// countries (history kept in memory, per replica).
    #[serde(default)]
    pub risk: bool,
}

/// `[[apps]]`: requests for this host and path are for this application.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppRoute {
    /// Host, without port, compared case-insensitively; `*` matches any host.
    pub host: String,
    /// Path prefix (default `/`); the longest matching prefix wins. Compared with the
    /// request's canonical path (`gardien_signals::path`), case-insensitively unless
    /// `case_sensitive` is set.
    #[serde(default = "default_prefix")]
    pub path_prefix: String,
    /// Compare `path_prefix` case-sensitively (default `false`: `/Payroll` is `/payroll`,
    /// as on case-insensitive backends).
    #[serde(default)]
    pub case_sensitive: bool,
    /// Application (client) id the policies name.
    pub app_id: String,
    /// Name shown on the denial page.
    #[serde(default)]
    pub name: Option<String>,
}

fn default_prefix() -> String {
    "/".to_owned()
}

/// `[page]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PageConfig {
    /// What the denial page discloses.
    #[serde(default)]
    pub disclosure: Disclosure,
    /// Support contact shown to users.
    #[serde(default)]
    pub support: Option<String>,
}

/// `[authzen]`: the OpenID AuthZEN Authorization API (`docs/authzen.md`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AuthzenConfig {
    /// The Policy Decision Point identifier published in
    /// `/.well-known/authzen-configuration` (an `https://` URL without query or fragment,
    /// e.g. `https://gardien.example.com`); by default `https://` and the request's `Host`.
    #[serde(default)]
    pub policy_decision_point: Option<String>,
}

impl AuthzenConfig {
    /// Checks `policy_decision_point`: an `https://` URL with a host and without query or
    /// fragment (the specification's PDP identifier).
    fn check(&self) -> Result<(), String> {
        let Some(text) = &self.policy_decision_point else {
            return Ok(());
        };
        let ok = text.starts_with("https://")
            && !text.contains(['?', '#'])
            && text
                .parse::<http::Uri>()
                .ok()
                .and_then(|u| u.host().map(|h| !h.is_empty()))
                .unwrap_or(false);
        if ok {
            Ok(())
        } else {
            Err(format!(
                "[authzen] policy_decision_point must be an https:// URL without query or fragment, not `{text}`"
            ))
        }
    }
}

/// `[admin]`: who may call the admin, decision and metrics APIs. `gardien serve` reloads
/// this section on `SIGHUP` (`docs/security.md`, "Admin credentials").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// SHA-256 (hex) of a bearer token with the `admin` role, named `admin` in the audit
    /// trail (the single token of earlier versions; `tokens` names several). Without any
    /// admin token the admin API is refused (except `serve --demo` on loopback).
    #[serde(default)]
    pub token_sha256: Option<String>,
    /// Named admin tokens (`[[admin.tokens]]`), each with a role.
    #[serde(default)]
    pub tokens: Vec<AdminToken>,
    /// Admin audit entries older than this are deleted (hourly). `0` keeps everything
    /// (default 365).
    #[serde(default = "default_audit_retention")]
    pub audit_retention_days: u32,
    /// SHA-256 (hex) of a token for the decision API (`/v1/evaluate`, Graph evaluate) only.
    /// The admin token is also accepted there.
    #[serde(default)]
    pub decision_token_sha256: Option<String>,
    /// SHA-256 (hex) of a bearer token `/metrics` then requires (the admin token is also
    /// accepted). Without it, `/metrics` is open (it discloses counts, never identities).
    #[serde(default)]
    pub metrics_token_sha256: Option<String>,
}

fn default_audit_retention() -> u32 {
    365
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            token_sha256: None,
            tokens: Vec::new(),
            audit_retention_days: default_audit_retention(),
            decision_token_sha256: None,
            metrics_token_sha256: None,
        }
    }
}

/// One `[[admin.tokens]]` entry: a named bearer token with a role.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminToken {
    /// The name the audit trail records (letters, digits, `.`, `_`, `-`, `@`; at most 64;
    /// unique, compared case-insensitively).
    pub name: String,
    /// SHA-256 (hex) of the token (`gardien hash-token` prints it).
    pub sha256: String,
    /// What the token may do.
    pub role: crate::credentials::Role,
}

/// `[http]`: what one connection or request may cost before it is authenticated and
/// decided. Every value has a safe default; `docs/security.md` lists them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// A connection must send a complete request head within this many milliseconds
    /// (default 10000); otherwise it is closed (slowloris).
    #[serde(default = "default_header_read_timeout_ms")]
    pub header_read_timeout_ms: u64,
    /// A keep-alive connection with no request in flight is closed after this many
    /// milliseconds (default 60000).
    #[serde(default = "default_idle_timeout_ms")]
    pub idle_timeout_ms: u64,
    /// Connections served at once; more wait in the kernel's accept queue. Default (`0`):
    /// the file-descriptor limit (raised to its hard limit at start) minus 128 for the
    /// store, log and GeoIP files, at most 65536.
    #[serde(default)]
    pub max_connections: usize,
    /// Largest body of an admin write (policies, named locations, directory, devices), in
    /// bytes (default 4 MiB). Enforced while the body streams in, after the token check.
    #[serde(default = "default_admin_body_bytes")]
    pub admin_body_bytes: usize,
    /// Largest body of `/v1/evaluate` and Graph's what-if `evaluate`, in bytes (default
    /// 256 KiB).
    #[serde(default = "default_decision_body_bytes")]
    pub decision_body_bytes: usize,
    /// Most JSON values (objects, arrays, strings, numbers, keys) a body may hold (default
    /// 250000): parsing a body never costs more than this many values in memory.
    #[serde(default = "default_max_json_values")]
    pub max_json_values: usize,
}

fn default_header_read_timeout_ms() -> u64 {
    10_000
}

fn default_idle_timeout_ms() -> u64 {
    60_000
}

fn default_admin_body_bytes() -> usize {
    4 * 1024 * 1024
}

fn default_decision_body_bytes() -> usize {
    256 * 1024
}

fn default_max_json_values() -> usize {
    250_000
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout_ms: default_header_read_timeout_ms(),
            idle_timeout_ms: default_idle_timeout_ms(),
            max_connections: 0,
            admin_body_bytes: default_admin_body_bytes(),
            decision_body_bytes: default_decision_body_bytes(),
            max_json_values: default_max_json_values(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            tenant: None,
            store: StoreConfig::default(),
            log: LogConfig::default(),
            signals: SignalsSection::default(),
            identity: IdentityConfig::default(),
            apps: Vec::new(),
            page: PageConfig::default(),
            admin: AdminConfig::default(),
            authzen: AuthzenConfig::default(),
            http: HttpConfig::default(),
            console: crate::console::ConsoleConfig::default(),
        }
    }
}

impl ServerConfig {
    /// Parses a configuration text; `path` names it in errors.
    pub fn parse(path: &str, text: &str) -> Result<ServerConfig, ConfigError> {
        let config: ServerConfig = toml::from_str(text).map_err(|e| {
            let mut reason = e.to_string().trim_end().to_owned();
            if let Some(hint) = gardien_core::schema::unknown_field_hint(e.message()) {
                reason.push('\n');
                reason.push_str(&hint);
            }
            ConfigError::Invalid {
                path: path.to_owned(),
                reason,
            }
        })?;
        config
            .authzen
            .check()
            .and_then(|()| config.log.check())
            .map_err(|reason| ConfigError::Invalid {
                path: path.to_owned(),
                reason,
            })?;
        Ok(config)
    }

    /// Reads and parses a configuration file. Relative paths inside it are resolved against
    /// the file's directory.
    pub fn read(path: &Path) -> Result<ServerConfig, ConfigError> {
        let text = crate::files::read_text(path, 1024 * 1024).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            source: e.into_io(),
        })?;
        let mut config = ServerConfig::parse(&path.display().to_string(), &text)?;
        if let Some(base) = path.parent() {
            config.resolve_paths(base);
        }
        Ok(config)
    }

    /// Makes every relative path absolute against `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if let Some(t) = &mut self.tenant {
            fix(&mut t.path);
        }
        fix(&mut self.store.path);
        for p in [
            &mut self.signals.geoip,
            &mut self.signals.geoip_anonymous,
            &mut self.signals.devices,
            &mut self.signals.compliance,
        ]
        .into_iter()
        .flatten()
        {
            fix(p);
        }
        if let Some(ship) = &mut self.log.ship {
            for p in [&mut ship.path, &mut ship.hash_key_file]
                .into_iter()
                .flatten()
            {
                fix(p);
            }
        }
        if let Some(jwt) = &mut self.identity.jwt
            && let Some(f) = &mut jwt.jwks_file
        {
            fix(f);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_closed() {
        let c = ServerConfig::parse("t.toml", "").unwrap();
        assert!(c.signals.trusted_proxies.is_empty());
        assert!(c.admin.token_sha256.is_none());
        assert_eq!(c.page.disclosure, Disclosure::Minimal);
        assert_eq!(c.log.acknowledge, Acknowledge::Committed);
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn the_commit_interval_is_bounded() {
        let c = ServerConfig::parse("t.toml", "").unwrap();
        assert_eq!(c.log.commit_interval_us, 500);
        let c = ServerConfig::parse("t.toml", "[log]\ncommit_interval_us = 0\n").unwrap();
        assert_eq!(c.log.commit_interval_us, 0);
        let c = ServerConfig::parse("t.toml", "[log]\ncommit_interval_us = 10000\n").unwrap();
        assert_eq!(c.log.commit_interval_us, MAX_COMMIT_INTERVAL_US);
        let Err(e) = ServerConfig::parse("t.toml", "[log]\ncommit_interval_us = 10001\n") else {
            panic!("a commit interval above 10 ms is refused");
        };
        let e = e.to_string();
        assert!(e.contains("t.toml"), "{e}");
        assert!(e.contains("commit_interval_us = 10001"), "{e}");
    }

    #[test]
    fn the_search_bound_is_bounded() {
        let c = ServerConfig::parse("t.toml", "").unwrap();
        assert_eq!(c.log.search_reads, gardien_store::SEARCH_READS);
        let c = ServerConfig::parse("t.toml", "[log]\nsearch_reads = 1\n").unwrap();
        assert_eq!(c.log.search_reads, 1);
        let c = ServerConfig::parse("t.toml", "[log]\nsearch_reads = 5000000\n").unwrap();
        assert_eq!(c.log.search_reads, MAX_SEARCH_READS);
        for refused in ["0", "5000001"] {
            let text = format!("[log]\nsearch_reads = {refused}\n");
            let Err(e) = ServerConfig::parse("t.toml", &text) else {
                panic!("search_reads = {refused} is refused");
            };
            let e = e.to_string();
            assert!(e.contains(&format!("search_reads = {refused}")), "{e}");
        }
    }

    #[test]
    fn unknown_key_is_named_with_the_file() {
        let Err(e) = ServerConfig::parse("g.toml", "[page]\ndisclosur = \"full\"\n") else {
            unreachable!("an unknown key must be rejected");
        };
        let text = e.to_string();
        assert!(text.starts_with("g.toml:"), "{text}");
        assert!(text.contains("disclosur"), "{text}");
        assert!(text.contains("did you mean `disclosure`?"), "{text}");
    }

    #[test]
    fn the_tenant_is_a_path_or_a_table() {
        let c = ServerConfig::parse("g.toml", "tenant = \"t\"\n").unwrap();
        assert_eq!(c.tenant, Some(TenantConfig::import("t")));
        assert!(!c.tenant.unwrap().watch);
        let c = ServerConfig::parse("g.toml", "[tenant]\npath = \"t\"\nwatch = true\n").unwrap();
        let t = c.tenant.unwrap();
        assert!(t.watch);
        assert_eq!(t.watch_interval_ms, DEFAULT_WATCH_INTERVAL_MS);
        for (bad, said) in [
            ("[tenant]\nwatch = true\n", "missing field `path`"),
            (
                "[tenant]\npath = \"t\"\nwach = true\n",
                "did you mean `watch`?",
            ),
            (
                "[tenant]\npath = \"t\"\nwatch_interval_ms = 1\n",
                "tenant.watch_interval_ms: at least 50",
            ),
            ("tenant = 3\n", "expected a path, or a table"),
        ] {
            let e = ServerConfig::parse("g.toml", bad).unwrap_err().to_string();
            assert!(e.starts_with("g.toml:") && e.contains(said), "{bad}: {e}");
        }
    }

    #[test]
    fn relative_paths_follow_the_file() {
        let mut c = ServerConfig::parse(
            "g.toml",
            "tenant = \"t\"\n[store]\npath = \"x.db\"\n[signals]\ngeoip = \"/abs.mmdb\"\n",
        )
        .unwrap();
        c.resolve_paths(Path::new("/etc/gardien"));
        assert_eq!(c.tenant, Some(TenantConfig::import("/etc/gardien/t")));
        assert_eq!(c.store.path, PathBuf::from("/etc/gardien/x.db"));
        assert_eq!(c.signals.geoip, Some(PathBuf::from("/abs.mmdb")));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod example_file {
    use super::*;

    #[test]
    fn the_sample_configuration_reads_and_resolves_its_paths() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/gardien.toml");
        let c = ServerConfig::read(&path).unwrap();
        let examples = path.parent().unwrap();
        assert_eq!(
            c.tenant.as_ref().unwrap().path,
            examples.join("demo/tenant")
        );
        assert!(c.tenant.as_ref().unwrap().path.is_dir());
        assert!(c.signals.devices.as_ref().unwrap().is_file());
        assert!(c.signals.compliance.as_ref().unwrap().is_file());
        assert_eq!(c.apps.len(), 2);
        assert_eq!(c.page.disclosure, Disclosure::Minimal);
        assert!(c.identity.headers.is_some());
    }
}
