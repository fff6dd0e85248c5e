//! The harness cleans up after itself: a test's database (the PostgreSQL database, the SQLite
//! file and its temp dir) is gone after the test, also when the test panics.

use sea_orm::{ConnectionTrait, Database, Statement};

use crate::common::{Backend, TestDb, db_test};

async fn databases_are_removed_even_when_the_test_panics(backend: Backend) {
    if std::env::var_os("KEEP_TEST_DATABASES").is_some() {
        return; // kept on purpose
    }
    let (sender, receiver) = std::sync::mpsc::channel();
    // A "test" that creates its database, then fails.
    let failed = tokio::spawn(async move {
        let db = TestDb::new(backend).await;
        sender
            .send((db.dir().to_path_buf(), db.pg_name().map(str::to_owned)))
            .unwrap();
        // Some data in it, and a connection still open when it unwinds.
        let conn = Database::connect(&db.url).await.unwrap();
        conn.execute_unprepared("CREATE TABLE t (x INTEGER)")
            .await
            .unwrap();
        panic!("the test fails");
    })
    .await;
    assert!(failed.unwrap_err().is_panic());
    let (dir, pg_name) = receiver.recv().unwrap();
    assert!(!dir.exists(), "{} left behind", dir.display());
    match (backend, pg_name) {
        (Backend::Sqlite, None) => {}
        (Backend::Postgres, Some(name)) => {
            let admin = Database::connect(crate::support::pg_admin_url())
                .await
                .unwrap();
            let left = admin
                .query_one_raw(Statement::from_sql_and_values(
                    sea_orm::DbBackend::Postgres,
                    "SELECT count(*) AS n FROM pg_database WHERE datname = $1",
                    [name.clone().into()],
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i64>("", "n")
                .unwrap();
            assert_eq!(left, 0, "database {name} left behind");
        }
        other => panic!("unexpected {other:?}"),
    }
}
db_test!(databases_are_removed_even_when_the_test_panics);

/// The tenancy check bites: a server-side statement (run in a task, as the server runs them)
/// on a tenant table without a `project_id` filter fails the test when its app is dropped;
/// the same statement from the test itself (setup, counting) does not.
async fn unscoped_statements_fail_the_test(backend: Backend) {
    let app = crate::common::TestApp::spawn(backend).await;
    assert_eq!(
        app.count_rows("lead").await,
        0,
        "the test's own count is allowed"
    );
    let db = app.db.clone();
    tokio::spawn(async move {
        db.query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id FROM lead WHERE email_key = 'x'",
        ))
        .await
        .unwrap();
    })
    .await
    .unwrap();
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(app)));
    let message = dropped.expect_err("the unscoped statement went unnoticed");
    let text = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        text.contains("reads lead without a project_id filter"),
        "{text}"
    );
}
db_test!(unscoped_statements_fail_the_test);
