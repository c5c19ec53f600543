//! Schema migrations, embedded in the binary and applied with sqlx's runtime [`Migrator`].

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migrate, MigrateError, Migration, MigrationSource, MigrationType, Migrator};

/// (version, description, SQL) of a migration.
type Embedded = &'static [(i64, &'static str, &'static str)];

/// Every SQLite migration, oldest first. Never edit an applied one: sqlx checks their
/// checksums (of the SQL text only) on every open.
pub(crate) const SQLITE: Embedded = &[
    (
        1,
        "initial",
        include_str!("../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "counters",
        include_str!("../migrations/sqlite/0002_counters.sql"),
    ),
    (
        3,
        "admin audit",
        include_str!("../migrations/sqlite/0003_admin_audit.sql"),
    ),
    (
        4,
        "search indexes",
        include_str!("../migrations/sqlite/0004_search_indexes.sql"),
    ),
    (
        5,
        "console sessions",
        include_str!("../migrations/sqlite/0005_console_sessions.sql"),
    ),
    (
        6,
        "compact records",
        include_str!("../migrations/sqlite/0006_compact_records.sql"),
    ),
    (
        7,
        "partial decision index",
        include_str!("../migrations/sqlite/0007_partial_decision_index.sql"),
    ),
    (
        8,
        "search keys",
        include_str!("../migrations/sqlite/0008_search_keys.sql"),
    ),
    (
        9,
        "keyed search indexes",
        include_str!("../migrations/sqlite/0009_keyed_search_indexes.sql"),
    ),
];

/// The SQLite version after which the store fills the ids' keys of the rows written before
/// (`sqlite/keys.rs`), before applying the next.
pub(crate) const SQLITE_KEYS_ADDED: i64 = 8;

/// Every PostgreSQL migration, oldest first. Same rule.
pub(crate) const POSTGRES: Embedded = &[
    (
        1,
        "initial",
        include_str!("../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "admin audit",
        include_str!("../migrations/postgres/0002_admin_audit.sql"),
    ),
    (
        3,
        "search indexes",
        include_str!("../migrations/postgres/0003_search_indexes.sql"),
    ),
    (
        4,
        "console sessions",
        include_str!("../migrations/postgres/0004_console_sessions.sql"),
    ),
    (
        5,
        "compact records",
        include_str!("../migrations/postgres/0005_compact_records.sql"),
    ),
    (
        6,
        "partial decision index",
        include_str!("../migrations/postgres/0006_partial_decision_index.sql"),
    ),
];

/// Embedded migrations as a sqlx migration source.
#[derive(Debug)]
struct Source(Embedded);

impl MigrationSource<'static> for Source {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async move { Ok(migrations(self.0)) })
    }
}

fn migrations(embedded: Embedded) -> Vec<Migration> {
    embedded
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                Cow::Borrowed(sql),
                false,
            )
        })
        .collect()
}

/// Applies every migration of `embedded` not yet applied to the database; a no-op on an
/// up-to-date one. On PostgreSQL, sqlx holds an advisory lock (keyed on the database name)
/// from before it creates its `_sqlx_migrations` table until the last migration is applied,
/// so processes starting together take turns; each migration runs in a transaction.
pub(crate) async fn run<C: Migrate>(conn: &mut C, embedded: Embedded) -> Result<(), MigrateError> {
    let migrator = Migrator::new(Source(embedded)).await?;
    migrator.run_direct(conn).await
}

/// As [`run`], with the migrations of `embedded` up to `version` only (the database may have
/// later ones applied already).
pub(crate) async fn run_up_to<C: Migrate>(
    conn: &mut C,
    embedded: Embedded,
    version: i64,
) -> Result<(), MigrateError> {
    let first = embedded.iter().take_while(|m| m.0 <= version).count();
    let mut migrator = Migrator::new(Source(embedded.get(..first).unwrap_or_default())).await?;
    migrator.set_ignore_missing(true);
    migrator.run_direct(conn).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_are_increasing_and_unique() {
        for embedded in [super::SQLITE, super::POSTGRES] {
            let versions: Vec<i64> = embedded.iter().map(|m| m.0).collect();
            assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
            assert!(versions.first().is_some_and(|&v| v == 1));
        }
    }

    /// The searches name the result index's condition (`log::DECISION_INDEXED`) so that the
    /// partial index may be used: it must be the very term of the index's latest definition.
    #[test]
    fn searches_name_the_result_index_condition() {
        let condition = crate::log::DECISION_INDEXED.trim_start_matches(" AND ");
        for embedded in [super::SQLITE, super::POSTGRES] {
            let latest = embedded
                .iter()
                .rev()
                .find(|m| m.2.contains("CREATE INDEX sign_ins_decision"))
                .map_or("", |m| m.2);
            assert!(
                latest.contains(&format!("WHERE {condition};")),
                "{condition} in {latest}"
            );
        }
    }

    /// sqlx compares the checksum (SHA-384 of the SQL text) of every applied migration on
    /// each open: moving the SQLite migrations must not have changed a byte. The expected
    /// value is the checksum of `migrations/0001_initial.sql` as first released.
    #[test]
    fn the_first_sqlite_migration_is_unchanged() {
        let migrations = super::migrations(super::SQLITE);
        let checksum: String = migrations
            .first()
            .map(|m| m.checksum.iter().map(|b| format!("{b:02x}")).collect())
            .unwrap_or_default();
        assert_eq!(
            checksum,
            "8d9c2cc3d06c6e81fa76154b35c48cf976953fe1a966a0beb0e921bd5a196b22\
             25361d74fbff187abb9e765fa0c401f6"
        );
    }
}
