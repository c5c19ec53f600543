//! The PostgreSQL backend (in progress: `connect` reports it unavailable).

use crate::backend::{Backend, LogCursor};
use crate::versions::EncodedVersion;
use crate::{
    Change, ChangeFeed, SignInFilter, SignInLog, StoreError, StoreOptions, TenantVersion,
    VersionSummary,
};

/// A PostgreSQL store (none can exist yet).
#[derive(Clone)]
pub(crate) enum PgDb {}

/// A PostgreSQL change feed (none can exist yet).
pub(crate) enum PgFeed {}

impl PgFeed {
    pub(crate) async fn next(&mut self) -> Result<Change, StoreError> {
        match *self {}
    }
}

/// Reports that the PostgreSQL backend is not available yet.
pub(crate) async fn connect(
    url: &str,
    _options: &StoreOptions,
) -> Result<(PgDb, SignInLog), StoreError> {
    Err(StoreError::InvalidOptions {
        reason: format!(
            "{}: the PostgreSQL backend is not available in this build yet",
            crate::location::mask_password(url)
        ),
    })
}

impl Backend for PgDb {
    fn backend(&self) -> &'static str {
        match *self {}
    }
    fn location(&self) -> String {
        match *self {}
    }
    async fn current_version(&self) -> Result<Option<TenantVersion>, StoreError> {
        match *self {}
    }
    async fn version(&self, _: i64) -> Result<Option<TenantVersion>, StoreError> {
        match *self {}
    }
    async fn versions(&self) -> Result<Vec<VersionSummary>, StoreError> {
        match *self {}
    }
    async fn current_version_number(&self) -> Result<Option<i64>, StoreError> {
        match *self {}
    }
    async fn save_version(&self, _: Option<i64>, _: &EncodedVersion) -> Result<i64, StoreError> {
        match *self {}
    }
    async fn devices(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        match *self {}
    }
    async fn put_device(&self, _: &str, _: &str) -> Result<bool, StoreError> {
        match *self {}
    }
    async fn delete_device(&self, _: &str) -> Result<bool, StoreError> {
        match *self {}
    }
    async fn replace_devices(&self, _: &[(&str, String)]) -> Result<(), StoreError> {
        match *self {}
    }
    async fn devices_revision(&self) -> Result<i64, StoreError> {
        match *self {}
    }
    async fn changes(&self) -> Result<ChangeFeed, StoreError> {
        match *self {}
    }
    async fn query_log(
        &self,
        _: &SignInFilter,
        _: i64,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        match *self {}
    }
    async fn export_page(
        &self,
        _: &SignInFilter,
        _: Option<LogCursor>,
        _: i64,
        _: &mut Vec<u8>,
    ) -> Result<(usize, Option<LogCursor>), StoreError> {
        match *self {}
    }
    async fn delete_log_chunk(&self, _: i64, _: i64) -> Result<u64, StoreError> {
        match *self {}
    }
    async fn close(&self) {
        match *self {}
    }
}
