//! Tenant versions: every accepted change to the policy set, with its audit data.

use crate::backend::Backend as _;
use crate::{Store, StoreError, dispatch};

/// A change to save as the next tenant version.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewVersion {
    /// Who made the change (token subject, CLI user, ...).
    pub author: String,
    /// One-line description of the change.
    pub summary: String,
    /// When the change was accepted, in Unix milliseconds.
    pub created_ms: i64,
    /// Semantic diff against the previous version.
    pub diff: serde_json::Value,
    /// The whole tenant after the change.
    pub snapshot: serde_json::Value,
}

/// A stored tenant version.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantVersion {
    /// Version number: 1, 2, ...
    pub version: i64,
    /// Who made the change.
    pub author: String,
    /// One-line description of the change.
    pub summary: String,
    /// When the change was accepted, in Unix milliseconds.
    pub created_ms: i64,
    /// Semantic diff against the previous version.
    pub diff: serde_json::Value,
    /// The whole tenant as of this version.
    pub snapshot: serde_json::Value,
}

/// A tenant version without its diff and snapshot, for listings.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionSummary {
    /// Version number: 1, 2, ...
    pub version: i64,
    /// Who made the change.
    pub author: String,
    /// One-line description of the change.
    pub summary: String,
    /// When the change was accepted, in Unix milliseconds.
    pub created_ms: i64,
}

/// A [`NewVersion`] with its JSON members serialized, as the backends store it.
pub(crate) struct EncodedVersion {
    pub(crate) author: String,
    pub(crate) summary: String,
    pub(crate) created_ms: i64,
    pub(crate) diff: String,
    pub(crate) snapshot: String,
}

/// The columns every backend selects to read a whole version, in this order.
pub(crate) const VERSION_COLUMNS: &str = "version, author, summary, created_ms, diff, snapshot";

/// A stored version from its columns (the JSON ones as text).
pub(crate) fn decode_version(
    version: i64,
    author: String,
    summary: String,
    created_ms: i64,
    diff: &str,
    snapshot: &str,
) -> Result<TenantVersion, StoreError> {
    Ok(TenantVersion {
        version,
        author,
        summary,
        created_ms,
        diff: serde_json::from_str(diff).map_err(|source| StoreError::Json {
            what: format!("stored diff of tenant version {version}"),
            source,
        })?,
        snapshot: serde_json::from_str(snapshot).map_err(|source| StoreError::Json {
            what: format!("stored snapshot of tenant version {version}"),
            source,
        })?,
    })
}

/// Lists every version, newest first, without diffs and snapshots (the same SQL on both
/// backends).
pub(crate) const LIST_VERSIONS: &str =
    "SELECT version, author, summary, created_ms FROM tenant_versions ORDER BY version DESC";

/// Version summaries from the rows of [`LIST_VERSIONS`].
pub(crate) fn decode_summaries<R: sqlx::Row>(rows: &[R]) -> Result<Vec<VersionSummary>, sqlx::Error>
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    rows.iter()
        .map(|row| {
            Ok(VersionSummary {
                version: row.try_get(0)?,
                author: row.try_get(1)?,
                summary: row.try_get(2)?,
                created_ms: row.try_get(3)?,
            })
        })
        .collect()
}

/// Stored JSON documents from rows of `(key, json text)` (devices, sign-in records), in row
/// order; `what` names a document in errors (`stored device "d1"`).
pub(crate) fn decode_documents<R: sqlx::Row>(
    rows: &[R],
    decode: impl Fn(sqlx::Error) -> StoreError,
    what: impl Fn(&str) -> String,
) -> Result<Vec<serde_json::Value>, StoreError>
where
    for<'r> &'r str: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    rows.iter()
        .map(|row| {
            let key: &str = row.try_get(0).map_err(&decode)?;
            let json: &str = row.try_get(1).map_err(&decode)?;
            serde_json::from_str(json).map_err(|source| StoreError::Json {
                what: what(key),
                source,
            })
        })
        .collect()
}

impl Store {
    /// The newest tenant version, if any.
    pub async fn current_version(&self) -> Result<Option<TenantVersion>, StoreError> {
        dispatch!(&self.db, b => b.current_version().await)
    }

    /// Tenant version number `version`, if it exists.
    pub async fn version(&self, version: i64) -> Result<Option<TenantVersion>, StoreError> {
        dispatch!(&self.db, b => b.version(version).await)
    }

    /// Every tenant version, newest first, without diffs and snapshots.
    pub async fn versions(&self) -> Result<Vec<VersionSummary>, StoreError> {
        dispatch!(&self.db, b => b.versions().await)
    }

    /// Saves `change` as the next version if the current one is still `expected` (`None`: no
    /// version yet), in one transaction that holds a lock excluding every other version
    /// writer, of this or another process, from the check to the commit (SQLite: the write
    /// lock; PostgreSQL: a table lock, with the primary key as a second guard). Otherwise
    /// returns [`StoreError::Conflict`] and writes nothing. Returns the new version number
    /// (1, 2, ...); the change feeds then report [`crate::Change::Version`].
    pub async fn save_version(
        &self,
        expected: Option<i64>,
        change: NewVersion,
    ) -> Result<i64, StoreError> {
        let diff = serde_json::to_string(&change.diff).map_err(|source| StoreError::Json {
            what: "diff of the new tenant version".to_owned(),
            source,
        })?;
        let snapshot =
            serde_json::to_string(&change.snapshot).map_err(|source| StoreError::Json {
                what: "snapshot of the new tenant version".to_owned(),
                source,
            })?;
        let encoded = EncodedVersion {
            author: change.author,
            summary: change.summary,
            created_ms: change.created_ms,
            diff,
            snapshot,
        };
        let version = dispatch!(&self.db, b => b.save_version(expected, &encoded).await)?;
        tracing::info!(
            version,
            author = %encoded.author,
            summary = %encoded.summary,
            "tenant version saved"
        );
        Ok(version)
    }
}
