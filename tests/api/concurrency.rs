//! Races: concurrent first requests of one visitor give one contact; many visitors' write
//! flows at once all succeed (on SQLite they queue for the one writer connection); reads are
//! answered while a write transaction is open (SQLite: the reader pool).

use futures::future::join_all;
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use serde_json::json;

use crate::common::{Backend, TestApp, db_test};

async fn concurrent_first_requests_create_one_contact(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    for round in 0..3 {
        let (visitor, user_id) = app.visitor(&project).await;
        let results = join_all((0..6).map(|i| {
            let app = &app;
            let visitor = visitor.clone();
            async move {
                if i % 2 == 0 {
                    app.create_request(&visitor, &format!("race {round}-{i}"))
                        .await["contact"]["id"]
                        .clone()
                } else {
                    let body = app
                        .capture(&visitor, json!({ "attributes": { format!("k{i}"): i } }))
                        .await;
                    assert!(body.get("errors").is_none(), "{body:#}");
                    body["data"]["captureContactMetadata"]["id"].clone()
                }
            }
        }))
        .await;
        assert!(
            results.iter().all(|id| id == &results[0]),
            "one contact: {results:?}"
        );
        let found = app
            .ok(Some(&agent), "query($id: ID!) { contact(id: $id) { leadId attributes requests { totalCount } } }", json!({ "id": results[0] }))
            .await;
        assert_eq!(found["contact"]["leadId"], user_id);
        assert_eq!(found["contact"]["requests"]["totalCount"], 3);
        // Every concurrent attribute capture survived (no lost update).
        assert_eq!(
            found["contact"]["attributes"],
            json!({ "k1": 1, "k3": 3, "k5": 5 })
        );
    }
    assert_eq!(app.count_rows("lead").await, 3);
    assert_eq!(app.count_rows("request").await, 9);
}
db_test!(concurrent_first_requests_create_one_contact);

/// Visitors at once in [`concurrent_visitor_write_flows_all_succeed`].
const VISITORS: usize = 48;

/// The widget's write flow (signInAnonymously, createRequest, captureContactMetadata) for
/// many visitors at once: every mutation succeeds (no `SQLITE_BUSY`, no acquire timeout),
/// and every contact and request is there and counted.
async fn concurrent_visitor_write_flows_all_succeed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let backend = app.db.get_database_backend();
    let flows = join_all((0..VISITORS).map(|i| {
        let app = &app;
        let project = project.clone();
        async move {
            // `visitor` and `create_request` assert there are no errors.
            let (token, user_id) = app.visitor(&project).await;
            let created = app.create_request(&token, &format!("flow {i}")).await;
            let body = app
                .capture(
                    &token,
                    json!({ "email": format!("visitor{i}@example.com"), "fullname": format!("Visitor {i}") }),
                )
                .await;
            assert!(body.get("errors").is_none(), "visitor {i}: {body:#}");
            let contact = &body["data"]["captureContactMetadata"];
            assert_eq!(contact["id"], created["contact"]["id"], "visitor {i}");
            assert_eq!(contact["leadId"], user_id.as_str(), "visitor {i}");
            (contact["id"].clone(), created["request"]["id"].clone())
        }
    }))
    .await;
    let mut contacts: Vec<String> = flows
        .iter()
        .map(|(c, _)| c.as_str().unwrap().to_owned())
        .collect();
    contacts.sort();
    contacts.dedup();
    assert_eq!(contacts.len(), VISITORS, "one contact per visitor");
    assert_eq!(app.count_rows("lead").await, VISITORS as i64);
    assert_eq!(app.count_rows("request").await, VISITORS as i64);
    // Every visitor user, and its GUEST membership (plus the owner's).
    assert_eq!(app.count_rows("project_member").await, VISITORS as i64 + 1);
    let listed = app
        .ok(
            Some(&agent),
            "{ contacts(first: 100) { totalCount nodes { id email requests { totalCount nodes { id } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["contacts"]["totalCount"], VISITORS);
    let nodes = listed["contacts"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), VISITORS);
    for (contact, request) in &flows {
        let node = nodes
            .iter()
            .find(|n| &n["id"] == contact)
            .unwrap_or_else(|| panic!("contact {contact} not listed"));
        assert_eq!(node["requests"]["totalCount"], 1, "{node}");
        assert_eq!(&node["requests"]["nodes"][0]["id"], request, "{node}");
        assert!(
            node["email"].as_str().unwrap().ends_with("@example.com"),
            "{node}"
        );
    }
    // The project's log: CREATED, REQUEST_CREATED and two FIELD_CHANGED per visitor, at
    // positions 1..=n without a gap, the head at n.
    let row = app
        .db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT COUNT(*) AS n, MIN(position) AS lo, MAX(position) AS hi, \
                 (SELECT position FROM event_head WHERE project_id = {p}) AS head \
                 FROM lead_event WHERE project_id = {p}",
                p = if backend == DbBackend::Postgres {
                    "$1"
                } else {
                    "?1"
                }
            ),
            [uuid::Uuid::parse_str(&project).unwrap().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    let n: i64 = row.try_get("", "n").unwrap();
    assert_eq!(n, 4 * VISITORS as i64);
    assert_eq!(row.try_get::<i64>("", "lo").unwrap(), 1);
    assert_eq!(row.try_get::<i64>("", "hi").unwrap(), n);
    assert_eq!(row.try_get::<i64>("", "head").unwrap(), n);
}
db_test!(concurrent_visitor_write_flows_all_succeed);

/// A use case's timeline events are written by its last statement (the project's
/// `event_head` row, locked until commit, is taken after every other write): a visitor's
/// first request writes its Lead, its Request, then both events (`CREATED`,
/// `REQUEST_CREATED`) with one position take. The new Lead is inserted with its
/// `lastRequestAt` (no update after the insert, no read-back).
async fn events_are_written_after_the_use_case_s_other_writes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let (token, _) = app.visitor(&project).await;
    let mark = app.sql_mark();
    let made = app.create_request(&token, "hello").await;
    let sql = app.sql_since(mark);
    assert!(
        !sql.iter().any(|s| s.starts_with(r#"UPDATE "lead""#)),
        "{sql:#?}"
    );
    assert_eq!(
        sql.iter()
            .filter(|s| s.starts_with(r#"SELECT "lead"."id""#))
            .count(),
        1,
        "{sql:#?}"
    );
    let seen = app
        .ok(
            Some(&agent),
            "query($id: ID!) { contact(id: $id) { lastRequestAt requests { nodes { id createdAt } } } }",
            json!({ "id": made["contact"]["id"] }),
        )
        .await;
    let contact = &seen["contact"];
    assert_eq!(contact["requests"]["nodes"][0]["id"], made["request"]["id"]);
    assert_eq!(
        contact["lastRequestAt"],
        contact["requests"]["nodes"][0]["createdAt"]
    );
    let position = |needle: &str| {
        sql.iter()
            .rposition(|s| s.contains(needle))
            .unwrap_or_else(|| panic!("no {needle} in {sql:#?}"))
    };
    let takes: Vec<&String> = sql
        .iter()
        .filter(|s| s.contains("INSERT INTO event_head"))
        .collect();
    assert_eq!(takes.len(), 1, "{sql:#?}");
    let take = position("INSERT INTO event_head");
    assert!(position(r#"INSERT INTO "lead""#) < take, "{sql:#?}");
    assert!(position(r#"INSERT INTO "request""#) < take, "{sql:#?}");
    // Both events in the one statement (PostgreSQL) or the next one (SQLite).
    let rows = if backend == Backend::Postgres {
        &sql[take]
    } else {
        &sql[take + 1]
    };
    assert!(rows.contains("lead_event"), "{rows}");
    let scope = contacts_server::service::ProjectScope::operator(project.parse().unwrap());
    assert_eq!(
        contacts_server::service::store::timeline::head(&app.db, scope)
            .await
            .unwrap(),
        2
    );
}
db_test!(events_are_written_after_the_use_case_s_other_writes);

/// While a write transaction holds the writer (on SQLite its only connection), a query is
/// answered (from the reader pool, without the uncommitted row) and a mutation waits its turn
/// instead of failing; after the commit both rows are there.
async fn reads_are_answered_while_a_write_transaction_is_open(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.db_acquire_timeout_secs = 30).await;
    let (agent, _) = app.sign_up("owner@example.com").await;
    app.create_contact(&agent, json!({ "fullname": "before" }))
        .await;
    let count = "{ contacts { totalCount } }";

    // An open write transaction on the writer handle (on SQLite it holds the only writer
    // connection and the database's write lock).
    let blocker = app.pools.write.begin().await.unwrap();
    let id = match backend {
        Backend::Sqlite => "X'00000000000000000000000000000001'",
        Backend::Postgres => "'00000000-0000-0000-0000-000000000001'",
    };
    blocker
        .execute_raw(Statement::from_string(
            blocker.get_database_backend(),
            format!("INSERT INTO project (id, name, created_at) VALUES ({id}, 'open txn', '2026-01-01T00:00:00+00:00')"),
        ))
        .await
        .unwrap();
    let writer = {
        let app = &app;
        let agent = agent.clone();
        async move {
            app.create_contact(&agent, json!({ "fullname": "queued" }))
                .await
        }
    };
    let reader = async {
        // Answered while the transaction is open, whether or not the mutation is queued yet.
        // On SQLite the mutation cannot have committed (it needs the writer, held by
        // `blocker`); on PostgreSQL it need not wait at all.
        let seen = app.ok(Some(&agent), count, json!({})).await;
        let total = seen["contacts"]["totalCount"].as_i64().unwrap();
        match backend {
            Backend::Sqlite => assert_eq!(total, 1, "{seen}"),
            Backend::Postgres => assert!((1..=2).contains(&total), "{seen}"),
        }
        let projects = app
            .pools
            .read
            .query_one_raw(Statement::from_string(
                app.pools.read.get_database_backend(),
                "SELECT COUNT(*) AS n FROM project WHERE name = 'open txn'",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap();
        assert_eq!(projects, 0, "a reader never sees an uncommitted row");
        blocker.commit().await.unwrap();
    };
    let (queued, ()) = tokio::join!(writer, reader);
    assert_eq!(queued["fullname"], "queued");
    let seen = app.ok(Some(&agent), count, json!({})).await;
    assert_eq!(seen["contacts"]["totalCount"], 2, "{seen}");
    assert_eq!(app.count_rows("project").await, 2);
}
db_test!(reads_are_answered_while_a_write_transaction_is_open);

/// On a SQLite file the server's readers are query-only and separate from the one writer
/// connection: a write sent to a reader fails at once; the writer pool has one connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_gets_one_writer_and_query_only_readers() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert!(app.pools.is_split());
    assert_eq!(
        app.pools
            .write
            .get_sqlite_connection_pool()
            .options()
            .get_max_connections(),
        1
    );
    assert_eq!(
        app.pools
            .read
            .get_sqlite_connection_pool()
            .options()
            .get_max_connections(),
        4,
        "min(DB_SQLITE_READERS = 4, DB_MAX_CONNECTIONS = 8)"
    );
    let err = app
        .pools
        .read
        .execute_unprepared(
            "INSERT INTO project (id, name, created_at) VALUES (X'01', 'x', '2026-01-01T00:00:00+00:00')",
        )
        .await
        .expect_err("a reader must not write");
    assert!(err.to_string().contains("readonly"), "{err}");
    for (pool, kib) in [(&app.pools.write, -4096), (&app.pools.read, -2048)] {
        let row = pool
            .query_one_raw(Statement::from_string(
                pool.get_database_backend(),
                "PRAGMA cache_size",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), kib);
    }
    let mode = app
        .pools
        .read
        .query_one_raw(Statement::from_string(
            app.pools.read.get_database_backend(),
            "PRAGMA journal_mode",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<String>(0)
        .unwrap();
    assert_eq!(mode, "wal");
}

/// The bundled SQLite is compiled with the options of `.cargo/config.toml` (no memory
/// statistics, a page cache per connection): each removes a mutex that every connection of the
/// process took (bench/RESULTS.md). A build without them would still pass every other test.
#[tokio::test]
async fn sqlite_is_built_without_its_global_mutexes() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let rows = app
        .pools
        .read
        .query_all_raw(Statement::from_string(
            app.pools.read.get_database_backend(),
            "PRAGMA compile_options",
        ))
        .await
        .unwrap();
    let options: Vec<String> = rows
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect();
    assert!(
        options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
        "{options:?}"
    );
    assert!(
        !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
        "{options:?}"
    );
    assert!(options.iter().any(|o| o == "ENABLE_FTS5"), "{options:?}");
}

/// `sqlite::memory:` is one database per connection: reader and writer are one pool of one
/// connection, so what the writer wrote the reader reads.
#[tokio::test]
async fn sqlite_memory_shares_one_connection_for_reads_and_writes() {
    let mut config = contacts_server::Config::defaults();
    config.database_url = "sqlite::memory:".into();
    let pools = contacts_server::db::connect_pools(&config).await.unwrap();
    assert!(!pools.is_split());
    assert_eq!(
        pools
            .read
            .get_sqlite_connection_pool()
            .options()
            .get_max_connections(),
        1
    );
    contacts_server::db::migrate(&pools.write).await.unwrap();
    pools
        .write
        .execute_unprepared(
            "INSERT INTO project (id, name, created_at) VALUES (X'01', 'mem', '2026-01-01T00:00:00+00:00')",
        )
        .await
        .unwrap();
    let row = pools
        .read
        .query_one_raw(Statement::from_string(
            pools.read.get_database_backend(),
            "SELECT COUNT(*) FROM project",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), 1);
    pools.close().await.unwrap();
}
