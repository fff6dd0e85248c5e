//! The one harness of the integration binaries (`tests/api`, `tests/ops.rs`, `tests/cli.rs`),
//! included by each with `#[path = "…/support/mod.rs"] mod support;`: the backends, the
//! `db_test!` macro that runs a test on both, and [`TestDb`], a fresh database that removes
//! itself when dropped (also when the test panics).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use sea_orm::{ConnectionTrait, Database};

/// The database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub mod process;
pub mod tenant_sql;
pub mod ws;

/// Defines `mod $name { sqlite, postgres }` running `async fn $name(Backend)` on each.
#[allow(unused_macros)]
macro_rules! db_test {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::support::Backend::Postgres).await
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use db_test;

/// Prefix of every PostgreSQL database a test creates (`scripts/test.sh` counts those left).
pub const PG_DB_PREFIX: &str = "contacts_test_";

/// The admin URL of the PostgreSQL server the tests may `CREATE DATABASE` on.
pub fn pg_admin_url() -> String {
    match std::env::var("CONTACTS_TEST_PG_URL") {
        Ok(url) => url,
        Err(_) => panic!(
            "CONTACTS_TEST_PG_URL is not set: run the suite with scripts/test.sh, which starts PostgreSQL"
        ),
    }
}

/// A fresh, empty database with a temp dir beside it: a SQLite file in the dir, or a new
/// PostgreSQL database on `CONTACTS_TEST_PG_URL`'s server. Dropping it removes the dir (and
/// the SQLite file) and drops the PostgreSQL database `WITH (FORCE)` (closing the
/// connections still open on it), from a connection of its own on a runtime of its own, so
/// it also runs while a failing test unwinds. `KEEP_TEST_DATABASES=1` keeps them (to look
/// at a failing test's data).
pub struct TestDb {
    /// The database URL.
    pub url: String,
    dir: tempfile::TempDir,
    /// (admin URL, database name) of a PostgreSQL database.
    pg: Option<(String, String)>,
}

impl TestDb {
    /// Creates the database (no migrations). Panics when it cannot.
    pub async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => Self {
                url: format!("sqlite://{}/test.db?mode=rwc", dir.path().display()),
                dir,
                pg: None,
            },
            Backend::Postgres => {
                let admin_url = pg_admin_url();
                let admin = Database::connect(&admin_url).await.unwrap();
                let name = format!("{PG_DB_PREFIX}{}", uuid::Uuid::new_v4().simple());
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap();
                admin.close().await.unwrap();
                let base = admin_url.rsplit_once('/').unwrap().0;
                Self {
                    url: format!("{base}/{name}"),
                    dir,
                    pg: Some((admin_url, name)),
                }
            }
        }
    }

    /// The PostgreSQL database's name (`None` on SQLite).
    pub fn pg_name(&self) -> Option<&str> {
        self.pg.as_ref().map(|(_, name)| name.as_str())
    }

    /// A temp dir for the test's own files, removed with the database.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.pg.take() else {
            return;
        };
        if std::env::var_os("KEEP_TEST_DATABASES").is_some() {
            return;
        }
        // Never panic here (a panic while unwinding aborts): report and go on.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let admin = Database::connect(&admin_url)
                    .await
                    .map_err(|e| e.to_string())?;
                let result = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("{name}: {e}"));
                let _ = admin.close().await;
                result
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("test database not dropped: {e}"),
            Err(_) => eprintln!("test database not dropped: the dropping thread panicked"),
        }
    }
}
