//! The admin audit trail: one entry per admin API request made with a valid token, naming
//! the token (its configured name and role), the request and the answer's status.
//!
//! The server writes an entry after the request is answered (so the status is known) and
//! before the answer leaves; policy versions keep their own `author` besides (free text the
//! client may set), while the audit's `token` is the name the configuration gave the
//! credential that was presented.

use crate::backend::Backend as _;
use crate::{Store, StoreError, dispatch};

/// Default of [`AuditFilter::limit`].
pub const DEFAULT_AUDIT_LIMIT: usize = 100;
/// Cap of [`AuditFilter::limit`].
pub const MAX_AUDIT_LIMIT: usize = 10_000;
/// Entries deleted per transaction by [`Store::delete_audit_before`].
const DELETE_CHUNK: i64 = 10_000;

/// An entry to append to the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When the request was answered, in Unix milliseconds.
    pub created_ms: i64,
    /// The configured name of the token presented (`demo` in demo mode).
    pub token: String,
    /// The token's role (`reader`, `admin`).
    pub role: String,
    /// HTTP method.
    pub method: String,
    /// Path and query of the request.
    pub path: String,
    /// HTTP status of the answer.
    pub status: u16,
    /// The policy version an accepted write created, if any.
    pub version: Option<i64>,
    /// The `X-Gardien-Author` the client sent, if any (free text, not authenticated).
    pub author: Option<String>,
}

/// A stored audit entry, as `GET /v1/admin/audit` returns it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// Insertion order (increasing).
    pub id: i64,
    /// When, in Unix milliseconds.
    #[serde(skip)]
    pub created_ms: i64,
    /// The configured name of the token presented.
    pub token: String,
    /// The token's role.
    pub role: String,
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// HTTP status of the answer.
    pub status: u16,
    /// The policy version an accepted write created.
    pub version: Option<i64>,
    /// The `X-Gardien-Author` the client sent.
    pub author: Option<String>,
}

/// Which entries [`Store::audit`] returns; `Default` matches everything (newest 100).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Token name (exact).
    pub token: Option<String>,
    /// Created at or after, in Unix milliseconds (inclusive).
    pub from_ms: Option<i64>,
    /// Created before, in Unix milliseconds (exclusive).
    pub to_ms: Option<i64>,
    /// Most entries returned (default 100, capped at 10 000).
    pub limit: Option<usize>,
}

/// The columns every backend selects to read an entry, in this order.
pub(crate) const AUDIT_COLUMNS: &str =
    "seq, created_ms, token, role, method, path, status, version, author";

/// Audit records from rows of [`AUDIT_COLUMNS`].
pub(crate) fn decode_audit<R: sqlx::Row>(rows: &[R]) -> Result<Vec<AuditRecord>, sqlx::Error>
where
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    rows.iter()
        .map(|row| {
            let status: i32 = row.try_get(6)?;
            Ok(AuditRecord {
                id: row.try_get(0)?,
                created_ms: row.try_get(1)?,
                token: row.try_get(2)?,
                role: row.try_get(3)?,
                method: row.try_get(4)?,
                path: row.try_get(5)?,
                status: u16::try_from(status).unwrap_or(0),
                version: row.try_get(7)?,
                author: row.try_get(8)?,
            })
        })
        .collect()
}

/// Appends ` AND column = value` for every member of `filter` but the limit (the statement
/// must already have a `WHERE`).
pub(crate) fn push_audit_filter<'a, DB>(
    qb: &mut sqlx::QueryBuilder<'a, DB>,
    filter: &'a AuditFilter,
) where
    DB: sqlx::Database,
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    if let Some(token) = &filter.token {
        qb.push(" AND token = ").push_bind(token.as_str());
    }
    if let Some(from) = filter.from_ms {
        qb.push(" AND created_ms >= ").push_bind(from);
    }
    if let Some(to) = filter.to_ms {
        qb.push(" AND created_ms < ").push_bind(to);
    }
}

impl Store {
    /// Appends an entry to the admin audit trail (committed when this returns `Ok`); returns
    /// its id.
    pub async fn append_audit(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        dispatch!(&self.db, b => b.append_audit(entry).await)
    }

    /// Audit entries matching `filter`, newest first, at most `filter.limit` (default 100,
    /// capped at 10 000).
    pub async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
        let limit = filter
            .limit
            .unwrap_or(DEFAULT_AUDIT_LIMIT)
            .min(MAX_AUDIT_LIMIT);
        dispatch!(&self.db, b => b.query_audit(filter, crate::log::to_i64(limit)).await)
    }

    /// Deletes the audit entries created before `before_ms`, in chunks of 10 000 per
    /// transaction; returns how many (retention).
    pub async fn delete_audit_before(&self, before_ms: i64) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let deleted =
                dispatch!(&self.db, b => b.delete_audit_chunk(before_ms, DELETE_CHUNK).await)?;
            total += deleted;
            if deleted < DELETE_CHUNK.unsigned_abs() {
                break;
            }
        }
        Ok(total)
    }
}
