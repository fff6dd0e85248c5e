//! Database connection and migrations, for SQLite (embedded default) and PostgreSQL.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

use crate::config::Config;

/// How long a SQLite connection waits for the database lock before `SQLITE_BUSY` (the server's
/// own writes queue for its one writer connection instead; this covers another process, e.g.
/// `import-csv`, and checkpoints).
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// `PRAGMA cache_size` of the server's SQLite writer connection: -4096, i.e. at most 4 MiB of
/// page cache (a negative value is KiB). The writer walks every index a write touches (lead
/// indexes, FTS5 segments), so it gets twice a reader's. Halved from 8 MiB on 2026-12-07: peak
/// RSS under load −6 to −10 MB at 1M contacts, req/s within noise (bench/RESULTS.md).
pub const SQLITE_WRITER_CACHE_KIB: i64 = 4 * 1024;

/// `PRAGMA cache_size` of each SQLite reader connection: -2048, at most 2 MiB (SQLite's own
/// default); the operating system's page cache holds the rest of the file. Also bounds a sort's
/// memory before it spills to a temporary file.
pub const SQLITE_READER_CACHE_KIB: i64 = 2 * 1024;

/// The server's database handles: `read` for queries, `write` for every write transaction
/// (and anything that reads then writes).
///
/// On a SQLite file they are two pools: `write` has exactly one connection, so concurrent
/// write transactions wait their turn in the pool's FIFO acquire queue (bounded by
/// `DB_ACQUIRE_TIMEOUT_SECS`) instead of sleeping in SQLite's busy handler; `read` has
/// `min(DB_SQLITE_READERS, DB_MAX_CONNECTIONS)` connections opened with `PRAGMA query_only`,
/// so a write sent to it by mistake fails at once instead of contending for the lock. Under
/// WAL, readers never wait for the writer. On PostgreSQL and on an in-memory SQLite database
/// (`sqlite::memory:`, where each connection would be its own database) there is one pool and
/// both handles are clones of it.
#[derive(Clone, Debug)]
pub struct Db {
    /// Queries (never writes on SQLite: the connections are query-only).
    pub read: DatabaseConnection,
    /// Write transactions: on a SQLite file, a pool of one connection.
    pub write: DatabaseConnection,
    split: bool,
}

impl Db {
    /// Both handles over one pool `conn` (PostgreSQL, in-memory SQLite, tools).
    pub fn single(conn: DatabaseConnection) -> Self {
        Self {
            read: conn.clone(),
            write: conn,
            split: false,
        }
    }

    /// Whether `read` and `write` are separate pools (a SQLite file).
    pub fn is_split(&self) -> bool {
        self.split
    }

    /// Closes the pool(s), waiting for connections in use to be returned. Errors: the
    /// driver's (the first one, after trying both pools).
    pub async fn close(self) -> Result<(), DbErr> {
        let read = if self.split {
            self.read.close().await
        } else {
            Ok(())
        };
        let write = self.write.close().await;
        read.and(write)
    }
}

impl From<DatabaseConnection> for Db {
    fn from(conn: DatabaseConnection) -> Self {
        Self::single(conn)
    }
}

/// The newtype under which the writer handle ([`Db::write`]) is in the GraphQL context
/// (`ctx.data::<Writer>()`), next to the reader `DatabaseConnection`: mutation resolvers
/// that write take this one.
#[derive(Clone, Debug)]
pub struct Writer(pub DatabaseConnection);

/// Whether `url` names an in-memory SQLite database.
fn is_sqlite_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Connects one pool to `config.database_url` of up to `config.db_max_connections`
/// connections: what the CLI (`migrate`, `seed`, `import-csv`, `export-csv`) uses.
///
/// SQLite: the directory of a file database is created if missing; every pooled connection
/// gets WAL journaling, `synchronous=NORMAL`, foreign keys on, a busy timeout and the
/// writer's `cache_size` (PRAGMAs are per connection, so they are set through the connect
/// options). A `sqlite::memory:` URL gets exactly one connection (each connection would
/// otherwise be its own empty database).
/// Errors: the driver's, when the database cannot be reached or opened.
pub async fn connect(config: &Config) -> Result<DatabaseConnection, DbErr> {
    let url = config.database_url.as_str();
    let mut size = config.db_max_connections.max(1);
    if url.starts_with("sqlite:") {
        create_sqlite_parent_dir(url);
        if is_sqlite_memory(url) {
            size = 1;
        }
    }
    connect_pool(config, size, SqliteRole::Writer).await
}

/// Connects the server's handles ([`Db`]) to `config.database_url`: on a SQLite file, the
/// one-connection writer pool first (it creates the file and turns WAL on), then the
/// query-only reader pool of `min(config.db_sqlite_readers, config.db_max_connections)`
/// connections (at least 1); otherwise one pool, as [`connect`]. Errors: the driver's, when the
/// database cannot be reached or opened.
pub async fn connect_pools(config: &Config) -> Result<Db, DbErr> {
    let url = config.database_url.as_str();
    if !url.starts_with("sqlite:") || is_sqlite_memory(url) {
        return connect(config).await.map(Db::single);
    }
    create_sqlite_parent_dir(url);
    let write = connect_pool(config, 1, SqliteRole::Writer).await?;
    let readers = config
        .db_sqlite_readers
        .min(config.db_max_connections)
        .max(1);
    let read = match connect_pool(config, readers, SqliteRole::Reader).await {
        Ok(read) => read,
        Err(err) => {
            let _ = write.close().await;
            return Err(err);
        }
    };
    Ok(Db {
        read,
        write,
        split: true,
    })
}

/// What a SQLite pool is for: its connections' `cache_size`, and `query_only` for readers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SqliteRole {
    Writer,
    Reader,
}

/// A pool of at most `size` connections (at least one kept open) with the SQLite PRAGMAs of
/// `role` when the URL is SQLite. Errors: the driver's.
async fn connect_pool(
    config: &Config,
    size: u32,
    role: SqliteRole,
) -> Result<DatabaseConnection, DbErr> {
    connect_url(config, &config.database_url, size, role, false).await
}

/// A pool of at most `size` connections to `url` with `config`'s pool settings: SQLite's
/// PRAGMAs of `role`, or PostgreSQL's statement cache (`DB_STATEMENT_CACHE`); `lazy`: no
/// connection is opened before the first use. Errors: the driver's.
async fn connect_url(
    config: &Config,
    url: &str,
    size: u32,
    role: SqliteRole,
    lazy: bool,
) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url);
    opts.connect_lazy(lazy)
        .max_connections(size.max(1))
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(config.db_acquire_timeout_secs))
        .sqlx_logging(false);
    if url.starts_with("postgres") {
        // A checkout pings only a connection idle for `DB_PING_IDLE_MS`: sqlx's default pings
        // every time, one more round trip per request (without it, PostgreSQL's CPU per read
        // −8 to −21 % and p99 −11 to −30 %: bench/RESULTS.md, 2026-12-07).
        opts.test_before_acquire_if_idle_for(Duration::from_millis(config.db_ping_idle_ms));
        let cache = config.db_statement_cache;
        opts.map_sqlx_postgres_opts(move |o| o.statement_cache_capacity(cache));
    }
    if url.starts_with("sqlite:") {
        // In-process connections: no peer can hang up, so no checkout ping (each would be a hop
        // to the connection's worker thread and back; sqlx's ping on release stays).
        opts.test_before_acquire(false);
        let cache_kib = match role {
            SqliteRole::Writer => SQLITE_WRITER_CACHE_KIB,
            SqliteRole::Reader => SQLITE_READER_CACHE_KIB,
        };
        opts.map_sqlx_sqlite_opts(move |o| {
            let o = o
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .pragma("cache_size", format!("-{cache_kib}"));
            match role {
                SqliteRole::Writer => o,
                SqliteRole::Reader => o.pragma("query_only", "ON"),
            }
        });
    }
    Database::connect(opts).await
}

/// A PostgreSQL pool of at most `size` connections to `url` (the direct `LISTEN` URL) with
/// the server's pool settings. Errors: the driver's.
pub async fn connect_postgres(
    config: &Config,
    url: &str,
    size: u32,
) -> Result<DatabaseConnection, DbErr> {
    connect_url(config, url, size, SqliteRole::Reader, false).await
}

/// A replica's pool of up to `DB_MAX_CONNECTIONS` connections to `url`, opened lazily (a
/// replica that is down at start does not stop the server). Errors: the driver's, for a URL
/// it cannot parse.
pub async fn connect_lazy_postgres(
    config: &Config,
    url: &str,
) -> Result<DatabaseConnection, DbErr> {
    connect_url(
        config,
        url,
        config.db_max_connections,
        SqliteRole::Reader,
        true,
    )
    .await
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
