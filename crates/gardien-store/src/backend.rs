//! The storage trait both backends implement; [`crate::Store`] and [`crate::SignInLog`]
//! validate and serialize their inputs, then dispatch to it. The sign-in log appends go
//! through the writer instead (see [`crate::writer::LogSink`]).

use std::future::Future;

use std::sync::Arc;

use crate::audit::{AuditEntry, AuditFilter, AuditRecord};
use crate::compact::{FRAGMENTS_PER_QUERY, FragmentCache, StoredRecord};
use crate::versions::EncodedVersion;
use crate::{ChangeFeed, LogPosition, SignInFilter, StoreError, TenantVersion, VersionSummary};

/// Position of a record in the log order used by exports: `(created_ms, seq)`.
pub(crate) type LogCursor = (i64, i64);

/// The columns [`decode_stored`] reads, in order, after any the caller puts first.
pub(crate) const STORED_COLUMNS: &str = "correlation_id, record, applied_at, applied";

/// Decodes the [`STORED_COLUMNS`] of `row`, starting at column `first`.
pub(crate) fn decode_stored<R: sqlx::Row>(
    row: &R,
    first: usize,
    decode: &impl Fn(sqlx::Error) -> StoreError,
) -> Result<StoredRecord, StoreError>
where
    for<'r> &'r str: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r [u8]: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    let id: &str = row.try_get(first).map_err(decode)?;
    let record: &str = row.try_get(first + 1).map_err(decode)?;
    let applied_at: Option<i64> = row.try_get(first + 2).map_err(decode)?;
    let applied: Option<&[u8]> = row.try_get(first + 3).map_err(decode)?;
    StoredRecord::new(id.to_owned(), record.to_owned(), applied_at, applied)
}

/// A backend's answer to a search.
pub(crate) struct LogPage {
    /// The records, newest first.
    pub(crate) records: Vec<serde_json::Value>,
    /// The position of the last one.
    pub(crate) last: Option<LogPosition>,
    /// Set when the search stopped at its bound of entries read before filling the page:
    /// the time (Unix ms) back to which it searched. Every matching record at or after it
    /// (and older than the filter's position) is in `records`; older ones were not read.
    pub(crate) stopped_at: Option<i64>,
}

/// Decodes rows of `created_ms, seq` then [`STORED_COLUMNS`] (a search's
/// [`crate::log::SEARCH_HEAD`], an export page): the stored records and the position of the
/// last one.
pub(crate) fn search_rows<R: sqlx::Row>(
    rows: &[R],
    decode: &impl Fn(sqlx::Error) -> StoreError,
) -> Result<(Vec<StoredRecord>, Option<LogPosition>), StoreError>
where
    for<'r> &'r str: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> &'r [u8]: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    let mut stored = Vec::with_capacity(rows.len());
    let mut last = None;
    for row in rows {
        let created_ms: i64 = row.try_get(0).map_err(decode)?;
        let seq: i64 = row.try_get(1).map_err(decode)?;
        stored.push(decode_stored(row, 2, decode)?);
        last = Some(LogPosition { created_ms, seq });
    }
    Ok((stored, last))
}

/// The records of a search page, whole ([`whole_texts`]) and parsed, with the position of
/// the last one.
pub(crate) async fn search_page<B: Backend + Sync>(
    backend: &B,
    stored: Vec<StoredRecord>,
    last: Option<LogPosition>,
) -> Result<(Vec<serde_json::Value>, Option<LogPosition>), StoreError> {
    let ids: Vec<String> = stored.iter().map(|s| s.id.clone()).collect();
    let texts = whole_texts(backend, stored).await?;
    Ok((decode_records(&ids, &texts)?, last))
}

/// The whole JSON texts of `stored` records (compact ones with their fragments spliced
/// back), in order: fragments come from `backend`'s cache or its table.
pub(crate) async fn whole_texts<B: Backend + Sync>(
    backend: &B,
    stored: Vec<StoredRecord>,
) -> Result<Vec<String>, StoreError> {
    let (mut texts, missing) = backend.fragment_cache().lookup(&stored);
    for ids in missing.chunks(FRAGMENTS_PER_QUERY) {
        let read = backend.fragment_texts(ids).await?;
        backend.fragment_cache().remember(&read);
        texts.extend(read);
    }
    stored.into_iter().map(|s| s.into_text(&texts)).collect()
}

/// Parses the whole texts of records `ids` (for [`crate::SignInLog::query`]).
pub(crate) fn decode_records(
    ids: &[String],
    texts: &[String],
) -> Result<Vec<serde_json::Value>, StoreError> {
    ids.iter()
        .zip(texts)
        .map(|(id, json)| {
            serde_json::from_str(json).map_err(|source| StoreError::Json {
                what: format!("stored sign-in record {id}"),
                source,
            })
        })
        .collect()
}

/// Appends the whole texts of an export page's records to `out` as JSON lines.
pub(crate) fn export_lines(texts: &[String], out: &mut Vec<u8>) {
    for json in texts {
        // Stored by `append` as the caller's compact JSON (and fragments): no raw newline.
        out.extend_from_slice(json.as_bytes());
        out.push(b'\n');
    }
}

/// What a backend stores and how it reads it back. Every method maps its errors to a
/// [`StoreError`] naming the backend's location and the operation.
pub(crate) trait Backend {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// Where the data is, with any password masked.
    fn location(&self) -> String;

    /// The newest tenant version, if any.
    fn current_version(
        &self,
    ) -> impl Future<Output = Result<Option<TenantVersion>, StoreError>> + Send;

    /// Tenant version `version`, if it exists.
    fn version(
        &self,
        version: i64,
    ) -> impl Future<Output = Result<Option<TenantVersion>, StoreError>> + Send;

    /// Every tenant version, newest first, without diffs and snapshots.
    fn versions(&self) -> impl Future<Output = Result<Vec<VersionSummary>, StoreError>> + Send;

    /// The newest version number, if any.
    fn current_version_number(
        &self,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;

    /// Inserts `change` as version `expected + 1` (1 if `None`) if the newest version is still
    /// `expected`, serialized against every other writer of any process; otherwise
    /// [`StoreError::Conflict`]. Announces the new version to the change feeds on commit.
    fn save_version(
        &self,
        expected: Option<i64>,
        change: &EncodedVersion,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Every stored device body, ordered by device id (byte order).
    fn devices(&self) -> impl Future<Output = Result<Vec<serde_json::Value>, StoreError>> + Send;

    /// Creates or replaces one device (`body`: its JSON, already checked); `true` if created.
    /// Bumps the devices revision and announces it, in the same transaction.
    fn put_device(
        &self,
        device_id: &str,
        body: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes one device; `true` if it existed (and then bumps and announces the revision).
    fn delete_device(
        &self,
        device_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Replaces every device with `devices` (id, JSON body; ids unique), in one transaction
    /// that also bumps and announces the revision.
    fn replace_devices(
        &self,
        devices: &[(&str, String)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The devices revision counter.
    fn devices_revision(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// A new change feed.
    fn changes(&self) -> impl Future<Output = Result<ChangeFeed, StoreError>> + Send;

    /// Sign-in records matching `filter`, newest first, at most `limit`, and the position
    /// of the last one. With `reads`, a backend may stop after reading about that many
    /// index entries and say where ([`LogPage::stopped_at`]).
    fn query_log(
        &self,
        filter: &SignInFilter,
        limit: i64,
        reads: Option<i64>,
    ) -> impl Future<Output = Result<LogPage, StoreError>> + Send;

    /// Refreshes the planner statistics of the sign-in log.
    fn refresh_statistics(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Adds a console session to the revoked ones until `expires_ms`, and forgets the
    /// revocations that expired before `now_ms`.
    fn revoke_session(
        &self,
        session_id: &str,
        expires_ms: i64,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The revoked console sessions that expire after `now_ms`: `(session id, expiry)`.
    fn revoked_sessions(
        &self,
        now_ms: i64,
    ) -> impl Future<Output = Result<Vec<(String, i64)>, StoreError>> + Send;

    /// Appends to `out` the JSON text and a newline of at most `page` records matching
    /// `filter`, oldest first, after `after`; returns how many and the position of the last.
    fn export_page(
        &self,
        filter: &SignInFilter,
        after: Option<LogCursor>,
        page: i64,
        out: &mut Vec<u8>,
    ) -> impl Future<Output = Result<(usize, Option<LogCursor>), StoreError>> + Send;

    /// The texts of the stored fragments among `ids` (at most 512 of them).
    fn fragment_texts(
        &self,
        ids: &[i64],
    ) -> impl Future<Output = Result<Vec<(i64, Arc<str>)>, StoreError>> + Send;

    /// The fragments this store's readers have read.
    fn fragment_cache(&self) -> &FragmentCache;

    /// Deletes at most `chunk` records created before `before_ms`, in one short
    /// transaction; returns how many.
    fn delete_log_chunk(
        &self,
        before_ms: i64,
        chunk: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Appends one admin audit entry (committed on return); returns its id.
    fn append_audit(
        &self,
        entry: &AuditEntry,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Audit entries matching `filter`, newest first, at most `limit`.
    fn query_audit(
        &self,
        filter: &AuditFilter,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<AuditRecord>, StoreError>> + Send;

    /// Deletes at most `chunk` audit entries created before `before_ms`; returns how many.
    fn delete_audit_chunk(
        &self,
        before_ms: i64,
        chunk: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Closes the connections (the writer is already stopped) and ends the change feeds.
    fn close(&self) -> impl Future<Output = ()> + Send;
}
