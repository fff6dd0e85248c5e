//! Database connection and migrations, for SQLite (embedded default) and PostgreSQL.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

use crate::config::Config;

/// How long a SQLite writer waits for the database lock before `SQLITE_BUSY`.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to `config.database_url` with the pool settings of `config`.
///
/// SQLite: the directory of a file database is created if missing; every pooled connection
/// gets WAL journaling, `synchronous=NORMAL`, foreign keys on and a busy timeout (PRAGMAs are
/// per connection, so they are set through the connect options). A `sqlite::memory:` URL gets
/// exactly one connection (each connection would otherwise be its own empty database).
/// Errors: the driver's, when the database cannot be reached or opened.
pub async fn connect(config: &Config) -> Result<DatabaseConnection, DbErr> {
    let url = config.database_url.as_str();
    let mut opts = ConnectOptions::new(url);
    opts.max_connections(config.db_max_connections.max(1))
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(config.db_acquire_timeout_secs))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        create_sqlite_parent_dir(url);
        if url.contains(":memory:") || url.contains("mode=memory") {
            opts.max_connections(1);
        }
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
        });
    }
    Database::connect(opts).await
}

/// Applies every pending migration. Errors: the migrator's.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// The `migrate` subcommand: connects to `config.database_url` and applies every pending
/// migration (`Up`), reverts the last one (`Down`) or prints each migration with its state
/// (`Status`). Errors: the driver's or the migrator's.
pub async fn run_migrate(
    config: &Config,
    action: crate::config::MigrateAction,
) -> Result<(), DbErr> {
    use crate::config::MigrateAction;
    let db = connect(config).await?;
    match action {
        MigrateAction::Up => Migrator::up(&db, None).await?,
        MigrateAction::Down => Migrator::down(&db, Some(1)).await?,
        MigrateAction::Status => {
            for m in Migrator::get_migration_with_status(&db).await? {
                println!("{}\t{}", m.name(), m.status());
            }
        }
    }
    db.close().await
}

fn create_sqlite_parent_dir(url: &str) {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") {
        return;
    }
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
        && let Err(err) = std::fs::create_dir_all(parent)
    {
        tracing::warn!("cannot create {}: {err}", parent.display());
    }
}
