//! Errors of the store.
//!
//! The `path` member of the variants that have one says where the data is: the SQLite file,
//! or, for PostgreSQL, the URL with its password replaced by `***`, followed by the schema
//! when one is set (`postgres://gardien:***@db/gardien (schema tenant_a)`).

use std::path::PathBuf;
use std::sync::Arc;

/// Everything that can go wrong in the store; each variant says what failed and where.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The options passed to [`crate::Store::open`] or [`crate::Store::connect`] are unusable.
    #[error("invalid store options: {reason}")]
    InvalidOptions {
        /// Why the options were rejected.
        reason: String,
    },
    /// The parent directory of the database file could not be created.
    #[error("cannot create directory {} for the database: {source}", path.display())]
    CreateDir {
        /// The directory that could not be created.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The database could not be opened or configured: the SQLite file, or the connection to
    /// PostgreSQL (unreachable server, refused authentication, unusable URL or schema).
    #[error("cannot open database {}: {source}", path.display())]
    Open {
        /// The database (see the module documentation).
        path: PathBuf,
        /// The underlying database error.
        source: sqlx::Error,
    },
    /// The SQLite sign-in log writer's own connection (or its checkpointer's) could not be
    /// opened or configured.
    #[error("cannot open the sign-in log writer's connection to {}: {source}", path.display())]
    WriterConnection {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The schema migrations could not be applied.
    #[error("cannot migrate database {}: {source}", path.display())]
    Migrate {
        /// The database (see the module documentation).
        path: PathBuf,
        /// The underlying migration error.
        source: sqlx::migrate::MigrateError,
    },
    /// The keys of the sign-in log's search indexes could not be filled in for the rows
    /// written before SQLite schema version 8 (the store's start after an upgrade).
    #[error("cannot fill the sign-in log's search keys in {}: {source}", path.display())]
    SearchKeys {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A SQL operation failed.
    #[error("{op} failed on database {}: {source}", path.display())]
    Sql {
        /// What the store was doing, e.g. "save tenant version".
        op: &'static str,
        /// The database (see the module documentation).
        path: PathBuf,
        /// The underlying database error.
        source: sqlx::Error,
    },
    /// `save_version` was called with a stale expected version; nothing was written.
    #[error(
        "tenant version conflict: expected current version {}, found {}",
        fmt_version(*expected),
        fmt_version(*actual)
    )]
    Conflict {
        /// The version the caller based its change on (`None`: no version yet).
        expected: Option<i64>,
        /// The version actually current in the store (`None`: no version yet).
        actual: Option<i64>,
    },
    /// The store was closed, or its sign-in log writer has stopped.
    #[error("the store is closed (its sign-in log writer has stopped)")]
    Closed,
    /// `append_nowait` found the sign-in log queue full; the record was not queued.
    #[error("sign-in log queue is full ({capacity} records waiting); record {id} was not queued")]
    QueueFull {
        /// Capacity of the queue ([`crate::StoreOptions::queue`]).
        capacity: usize,
        /// Correlation id of the record that was not queued.
        id: String,
    },
    /// The batch holding a sign-in record could not be committed; the record is not stored.
    #[error(
        "sign-in log batch of {records} records was not committed to {}: {source}",
        path.display()
    )]
    LogBatch {
        /// How many records the failed batch held.
        records: usize,
        /// The database (see the module documentation).
        path: PathBuf,
        /// The database's error (sqlx's, or SQLite's own for the SQLite writer's
        /// connection), shared by every waiter of the batch.
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// A sign-in record was not stored because its correlation id is already in the log; the
    /// other records of its batch were committed.
    #[error(
        "sign-in record {id} not stored in {}: its correlation id is already in the log",
        path.display()
    )]
    DuplicateSignIn {
        /// Correlation id of the rejected record.
        id: String,
        /// The database (see the module documentation).
        path: PathBuf,
    },
    /// A console session id to revoke is empty or longer than 128 bytes.
    #[error("console session id of {len} bytes refused: it must have 1 to 128")]
    InvalidSessionId {
        /// Its length in bytes.
        len: usize,
    },
    /// Writing a sign-in log export failed.
    #[error("cannot write the sign-in log export: {source}")]
    Export {
        /// The underlying I/O error of the output.
        source: std::io::Error,
    },
    /// The sign-in log writer thread could not be started.
    #[error("cannot start the sign-in log writer thread for {}: {source}", path.display())]
    WriterThread {
        /// The database (see the module documentation).
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A sign-in record handed to the log is not a JSON object.
    #[error("sign-in record {id}: {reason}")]
    InvalidRecord {
        /// Its correlation id.
        id: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A stored sign-in record cannot be read back whole (its per-policy fragments; see
    /// [`crate::Fragments`]).
    #[error("stored sign-in record {id}: {reason}")]
    CorruptRecord {
        /// Its correlation id.
        id: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A JSON value could not be serialized, or a stored JSON column could not be parsed.
    #[error("invalid JSON in {what}: {source}")]
    Json {
        /// Which value, e.g. "snapshot of tenant version 3".
        what: String,
        /// The underlying serde_json error.
        source: serde_json::Error,
    },
    /// A device object is unusable (not an object, missing or mismatched `deviceId`, duplicate).
    #[error("invalid device {what}: {reason}")]
    InvalidDevice {
        /// Which device, e.g. `at index 3` or `"4f1c..."`.
        what: String,
        /// Why it was rejected.
        reason: String,
    },
}

fn fmt_version(v: Option<i64>) -> String {
    match v {
        Some(v) => v.to_string(),
        None => "none".to_owned(),
    }
}
