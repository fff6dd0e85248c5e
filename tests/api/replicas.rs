//! Read replicas with read-your-writes (`DATABASE_REPLICA_URLS`), PostgreSQL only.
//!
//! The "replica" here is the test database itself, reached as a role whose `search_path` puts
//! a schema `fake` before `pg_catalog`, where `pg_last_wal_replay_lsn()` returns a position the
//! test sets: the routing (token, lag, down) is then deterministic. Real streaming replication
//! (`pg_basebackup -R`, replay paused) is the cluster test's (`tests/cluster/`).

use std::time::Duration;

use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

use contacts_server::replicas::Lsn;

use crate::common::{Backend, TestApp, code};
use crate::support::pg_admin_url;

const CONTACTS: &str = "{ contacts(first: 50) { nodes { id } } }";

/// A POST with optional bearer token and consistency token header; (x-read-from,
/// x-consistency-token, body).
async fn post(
    app: &TestApp,
    token: Option<&str>,
    consistency: Option<&str>,
    body: Value,
) -> (Option<String>, Option<String>, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/graphql", app.base))
        .json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(c) = consistency {
        req = req.header("x-consistency-token", c);
    }
    let resp = req.send().await.unwrap();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (from, token) = (header("x-read-from"), header("x-consistency-token"));
    (from, token, resp.json().await.unwrap())
}

async fn ready(app: &TestApp) -> Value {
    reqwest::get(format!("{}/ready", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The fake replay position the "replica" reports.
async fn set_replay(app: &TestApp, lsn: &str) {
    app.db
        .execute_unprepared(&format!("UPDATE fake.replay_at SET lsn = '{lsn}'"))
        .await
        .unwrap();
    // Two polls (20 ms each) later the server knows it.
    tokio::time::sleep(Duration::from_millis(150)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_read_a_replica_that_has_their_writes() {
    let role = format!("fake_replica_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(&pg_admin_url()).await.unwrap();
    admin
        .execute_unprepared(&format!(
            "CREATE ROLE {role} LOGIN SUPERUSER; \
             ALTER ROLE {role} SET search_path = fake, pg_catalog, public"
        ))
        .await
        .unwrap();
    let app = TestApp::spawn_with(Backend::Postgres, |c| {
        let replica = c.database_url.replacen("postgres@", &format!("{role}@"), 1);
        assert_ne!(replica, c.database_url);
        // The fake replay position, NULL (as on a database not in recovery) until set.
        let url = c.database_url.clone();
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                let db = Database::connect(&url).await.unwrap();
                db.execute_unprepared(
                    "CREATE SCHEMA fake; CREATE TABLE fake.replay_at (lsn pg_lsn); \
                     INSERT INTO fake.replay_at VALUES (NULL); \
                     CREATE FUNCTION fake.pg_last_wal_replay_lsn() RETURNS pg_lsn \
                     LANGUAGE sql AS 'SELECT lsn FROM fake.replay_at'",
                )
                .await
                .unwrap();
                db.close().await.unwrap();
            })
        })
        .join()
        .unwrap();
        c.database_replica_urls = vec![replica];
        c.replica_poll_ms = 20;
        c.replica_max_lag_ms = 1500;
    })
    .await;
    // No replay position: not a replica, skipped.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let status = ready(&app).await;
    assert_eq!(status["status"], "ready", "{status}");
    assert_eq!(status["databases"][1]["name"], "replica-1", "{status}");
    assert_eq!(status["databases"][1]["up"], false, "{status}");
    let (agent, project) = app.sign_up("owner@example.com").await;
    let (from, _, body) = post(&app, Some(&agent), None, json!({ "query": CONTACTS })).await;
    assert_eq!(
        from.as_deref(),
        Some("primary"),
        "a down replica is skipped"
    );
    assert!(body["data"]["contacts"]["nodes"].is_array(), "{body}");

    set_replay(&app, "FFFF/0").await;
    let status = ready(&app).await;
    assert_eq!(status["databases"][1]["up"], true, "{status}");
    assert_eq!(status["databases"][1]["lagMs"], 0, "{status}");

    // A write goes to the primary and answers with its consistency token.
    let (visitor, _) = app.visitor(&project).await;
    let write = json!({ "query": "mutation { createRequest(input: { firstText: \"hi\" }) { contact { id } } }" });
    let (from, header, body) = post(&app, Some(&visitor), None, write.clone()).await;
    assert_eq!(from.as_deref(), Some("primary"));
    let token = body["extensions"]["consistencyToken"]
        .as_str()
        .unwrap_or_else(|| panic!("no token in {body}"))
        .to_owned();
    assert_eq!(header.as_deref(), Some(token.as_str()));
    assert!(token.contains('/'), "{token}");
    let contact = body["data"]["createRequest"]["contact"]["id"].clone();

    // The replica has replayed past it: it serves the read, which sees the write.
    let (from, _, body) = post(
        &app,
        Some(&agent),
        Some(&token),
        json!({ "query": CONTACTS }),
    )
    .await;
    assert_eq!(from.as_deref(), Some("replica-1"), "{body}");
    assert_eq!(
        body["data"]["contacts"]["nodes"][0]["id"], contact,
        "{body}"
    );

    // The replica falls behind the write: the token's read goes to the primary (header or
    // extension alike); a read without it may be served stale by the replica.
    let (_, _, body) = post(&app, Some(&visitor), None, write.clone()).await;
    let second = body["extensions"]["consistencyToken"]
        .as_str()
        .unwrap()
        .to_owned();
    // One byte short of the second write: the token parser and printer are the server's.
    let behind = Lsn(second.parse::<Lsn>().unwrap().0 - 1).to_string();
    set_replay(&app, &behind).await;
    let (from, _, body) = post(
        &app,
        Some(&agent),
        Some(&second),
        json!({ "query": CONTACTS }),
    )
    .await;
    assert_eq!(from.as_deref(), Some("primary"), "{body}");
    assert_eq!(
        body["data"]["contacts"]["nodes"].as_array().unwrap().len(),
        1
    );
    let (from, _, _) = post(
        &app,
        Some(&agent),
        None,
        json!({ "query": CONTACTS, "extensions": { "consistencyToken": second } }),
    )
    .await;
    assert_eq!(from.as_deref(), Some("primary"));
    let (from, _, body) = post(&app, Some(&agent), None, json!({ "query": CONTACTS })).await;
    assert_eq!(from.as_deref(), Some("replica-1"), "{body}");
    // The older token is still satisfied by the replica.
    let (from, _, _) = post(
        &app,
        Some(&agent),
        Some(&token),
        json!({ "query": CONTACTS }),
    )
    .await;
    assert_eq!(from.as_deref(), Some("replica-1"));

    // Left behind for longer than REPLICA_MAX_LAG_MS: skipped by every read.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    let status = ready(&app).await;
    assert!(
        status["databases"][1]["lagMs"].as_u64().unwrap() > 1500,
        "{status}"
    );
    let (from, _, _) = post(&app, Some(&agent), None, json!({ "query": CONTACTS })).await;
    assert_eq!(from.as_deref(), Some("primary"));
    // Caught up again: back to the replica.
    set_replay(&app, "FFFF/0").await;
    let (from, _, _) = post(
        &app,
        Some(&agent),
        Some(&second),
        json!({ "query": CONTACTS }),
    )
    .await;
    assert_eq!(from.as_deref(), Some("replica-1"));

    // A token this server never gave is refused, before anything runs.
    for bad in ["yesterday", "1/2/3", "0/123456789"] {
        let (_, _, body) = post(&app, Some(&agent), Some(bad), json!({ "query": CONTACTS })).await;
        assert_eq!(code(&body), "BAD_REQUEST", "{bad}: {body}");
        assert!(
            body.get("data").is_none() || body["data"].is_null(),
            "{body}"
        );
    }
    let (_, _, body) = post(
        &app,
        Some(&agent),
        None,
        json!({ "query": CONTACTS, "extensions": { "consistencyToken": 7 } }),
    )
    .await;
    assert_eq!(code(&body), "BAD_REQUEST", "{body}");

    drop(app);
    let _ = admin
        .execute_unprepared(&format!("DROP ROLE IF EXISTS {role}"))
        .await;
}

/// Without replicas nothing changes: no routing header, no token; `/ready` lists the primary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_replicas_answers_carry_no_token() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let (_, project) = app.sign_up("owner@example.com").await;
    let (visitor, _) = app.visitor(&project).await;
    let (from, header, body) = post(
        &app,
        Some(&visitor),
        None,
        json!({ "query": "mutation { createRequest(input: { firstText: \"hi\" }) { contact { id } } }" }),
    )
    .await;
    assert!(
        body["data"]["createRequest"]["contact"]["id"].is_string(),
        "{body}"
    );
    assert_eq!((from, header), (None, None));
    assert!(
        body["extensions"].get("consistencyToken").is_none(),
        "{body}"
    );
    let status = ready(&app).await;
    assert_eq!(
        status,
        json!({ "status": "ready", "databases": [{ "name": "primary", "up": true }] })
    );
}

/// Settings that cannot work are refused at start: a statement cache of 0 (sqlx 0.9 would
/// leak a named statement per query), replicas over SQLite, the shared rate-limit store on
/// SQLite.
#[tokio::test]
async fn unworkable_settings_are_refused_at_start() {
    use contacts_server::config::RateLimitStore;
    use contacts_server::{Application, Config};
    let base = || {
        let mut c = Config::defaults();
        c.database_url = "sqlite::memory:".into();
        c.bind = "127.0.0.1:0".parse().unwrap();
        c
    };
    let mut c = base();
    c.db_statement_cache = 0;
    let err = Application::build(c).await.err().expect("must refuse");
    assert!(err.to_string().contains("DB_STATEMENT_CACHE"), "{err}");
    let mut c = base();
    c.database_replica_urls = vec!["postgres://postgres@127.0.0.1:1/x".into()];
    let err = Application::build(c).await.err().expect("must refuse");
    assert!(err.to_string().contains("DATABASE_REPLICA_URLS"), "{err}");
    let mut c = base();
    c.rate_limit_store = RateLimitStore::Postgres;
    let err = Application::build(c).await.err().expect("must refuse");
    assert!(err.to_string().contains("RATE_LIMIT_STORE"), "{err}");
}
