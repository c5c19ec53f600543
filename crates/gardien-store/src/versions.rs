//! Tenant versions: every accepted change to the policy set, with its audit data.

use sqlx::Row as _;
use sqlx::sqlite::SqliteRow;

use crate::{Store, StoreError};

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

const SELECT_VERSION: &str =
    "SELECT version, author, summary, created_ms, diff, snapshot FROM tenant_versions";

impl Store {
    /// The newest tenant version, if any.
    pub async fn current_version(&self) -> Result<Option<TenantVersion>, StoreError> {
        let row = sqlx::query(&format!("{SELECT_VERSION} ORDER BY version DESC LIMIT 1"))
            .fetch_optional(&self.ctx.pool)
            .await
            .map_err(self.ctx.sql("read the current tenant version"))?;
        row.map(|row| self.decode_version(&row)).transpose()
    }

    /// Tenant version number `version`, if it exists.
    pub async fn version(&self, version: i64) -> Result<Option<TenantVersion>, StoreError> {
        let row = sqlx::query(&format!("{SELECT_VERSION} WHERE version = ?"))
            .bind(version)
            .fetch_optional(&self.ctx.pool)
            .await
            .map_err(self.ctx.sql("read a tenant version"))?;
        row.map(|row| self.decode_version(&row)).transpose()
    }

    /// Every tenant version, newest first, without diffs and snapshots.
    pub async fn versions(&self) -> Result<Vec<VersionSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, author, summary, created_ms FROM tenant_versions \
             ORDER BY version DESC",
        )
        .fetch_all(&self.ctx.pool)
        .await
        .map_err(self.ctx.sql("list tenant versions"))?;
        rows.iter()
            .map(|row| {
                Ok(VersionSummary {
                    version: row.try_get(0)?,
                    author: row.try_get(1)?,
                    summary: row.try_get(2)?,
                    created_ms: row.try_get(3)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(self.ctx.sql("decode tenant versions"))
    }

    /// Saves `change` as the next version if the current one is still `expected` (`None`: no
    /// version yet), in one transaction that holds the write lock from the check to the
    /// commit. Otherwise returns [`StoreError::Conflict`] and writes nothing. Returns the new
    /// version number (1, 2, ...).
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
        let err = self.ctx.sql("save tenant version");
        // IMMEDIATE takes the write lock now, so no other writer (of this or another process)
        // can slip a version in between the check and the insert.
        let mut tx = self
            .ctx
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(&err)?;
        let actual: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM tenant_versions")
            .fetch_one(&mut *tx)
            .await
            .map_err(&err)?;
        if actual != expected {
            // Dropping `tx` rolls back; nothing was written anyway.
            return Err(StoreError::Conflict { expected, actual });
        }
        let version = actual.map_or(1, |v| v + 1);
        sqlx::query(
            "INSERT INTO tenant_versions (version, author, summary, created_ms, diff, snapshot) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(version)
        .bind(&change.author)
        .bind(&change.summary)
        .bind(change.created_ms)
        .bind(diff)
        .bind(snapshot)
        .execute(&mut *tx)
        .await
        .map_err(&err)?;
        tx.commit().await.map_err(&err)?;
        tracing::info!(
            version,
            author = %change.author,
            summary = %change.summary,
            "tenant version saved"
        );
        Ok(version)
    }

    fn decode_version(&self, row: &SqliteRow) -> Result<TenantVersion, StoreError> {
        let decode = self.ctx.sql("decode a tenant version");
        let version: i64 = row.try_get(0).map_err(&decode)?;
        let diff: &str = row.try_get(4).map_err(&decode)?;
        let snapshot: &str = row.try_get(5).map_err(&decode)?;
        Ok(TenantVersion {
            version,
            author: row.try_get(1).map_err(&decode)?,
            summary: row.try_get(2).map_err(&decode)?,
            created_ms: row.try_get(3).map_err(&decode)?,
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
}
