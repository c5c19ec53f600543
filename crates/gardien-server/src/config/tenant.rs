//! `tenant`: the tenant folder (or single JSON file) the server starts from. Two forms:
//!
//! ```toml
//! tenant = "tenant/"        # imported once, when the store holds no version
//! ```
//!
//! ```toml
//! [tenant]
//! path = "tenant/"
//! watch = true              # follow the folder: every valid edit becomes a new version
//! watch_interval_ms = 1000  # how often it is compared (a burst of edits is one version)
//! ```

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, de::value::MapAccessDeserializer};
use std::path::PathBuf;

/// The tenant the server imports, and whether it follows it (docs/policy-as-code.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantConfig {
    /// Tenant folder (`policies/`, `namedLocations.json`, `directory.json`,
    /// `crossTenantAccess.json`), export folder or single JSON file.
    pub path: PathBuf,
    /// Follow the folder in production: an edit that validates is put in force as a new
    /// version (swapped atomically); an edit that does not is logged and ignored, the last
    /// good version staying in force. Without it the tenant is imported only when the store
    /// holds no version.
    pub watch: bool,
    /// How often, in milliseconds, the folder is compared with what was last read (default
    /// 1000). An edit is read once the folder has not changed for one more interval, so a
    /// burst of edits (a `git pull`, an editor's save) becomes one version.
    pub watch_interval_ms: u64,
}

/// The default of `watch_interval_ms`.
pub const DEFAULT_WATCH_INTERVAL_MS: u64 = 1000;

impl TenantConfig {
    /// The tenant at `path`, imported once (not followed).
    pub fn import(path: impl Into<PathBuf>) -> TenantConfig {
        TenantConfig {
            path: path.into(),
            watch: false,
            watch_interval_ms: DEFAULT_WATCH_INTERVAL_MS,
        }
    }
}

/// The `[tenant]` table form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    path: PathBuf,
    #[serde(default)]
    watch: bool,
    #[serde(default = "default_interval")]
    watch_interval_ms: u64,
}

fn default_interval() -> u64 {
    DEFAULT_WATCH_INTERVAL_MS
}

struct TenantVisitor;

impl<'de> Visitor<'de> for TenantVisitor {
    type Value = TenantConfig;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a path, or a table with `path`, `watch` and `watch_interval_ms`")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<TenantConfig, E> {
        Ok(TenantConfig::import(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TenantConfig, A::Error> {
        let t = Table::deserialize(MapAccessDeserializer::new(map))?;
        if t.watch_interval_ms < 50 {
            return Err(de::Error::custom(
                "tenant.watch_interval_ms: at least 50 (milliseconds)",
            ));
        }
        Ok(TenantConfig {
            path: t.path,
            watch: t.watch,
            watch_interval_ms: t.watch_interval_ms,
        })
    }
}

impl<'de> Deserialize<'de> for TenantConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TenantConfig, D::Error> {
        d.deserialize_any(TenantVisitor)
    }
}
