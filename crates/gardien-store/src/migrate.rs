//! Schema migrations, embedded in the binary and applied with sqlx's runtime [`Migrator`].

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};
use sqlx::sqlite::SqliteConnection;

/// (version, description, SQL) of every migration, oldest first. Never edit an applied one:
/// sqlx checks their checksums on every open.
const MIGRATIONS: &[(i64, &str, &str)] =
    &[(1, "initial", include_str!("../migrations/0001_initial.sql"))];

/// The embedded migrations as a sqlx migration source.
#[derive(Debug)]
struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async { Ok(migrations()) })
    }
}

fn migrations() -> Vec<Migration> {
    MIGRATIONS
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

/// Applies every migration not yet applied to the database; a no-op on an up-to-date file.
pub(crate) async fn run(conn: &mut SqliteConnection) -> Result<(), MigrateError> {
    let migrator = Migrator::new(Embedded).await?;
    migrator.run(conn).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_are_increasing_and_unique() {
        let versions: Vec<i64> = super::MIGRATIONS.iter().map(|m| m.0).collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
        assert!(versions.first().is_some_and(|&v| v == 1));
    }
}
