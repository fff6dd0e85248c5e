//! Graceful shutdown: a request in flight when shutdown starts completes with 200, new
//! connections are refused from then on, and the run future returns.

use std::time::Duration;

use contacts_server::{Application, Config, db};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde_json::json;

use crate::common::{Backend, TEST_SECRET, db_test};

async fn in_flight_requests_finish_and_new_connections_are_refused(backend: Backend) {
    let test_db = crate::common::TestDb::new(backend).await;
    let mut config = Config::defaults();
    config.database_url = test_db.url.clone();
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.jwt_secret = Some(TEST_SECRET.into());
    config.db_max_connections = 4;
    let pools = db::connect_pools(&config).await.unwrap();
    db::migrate(&pools.write).await.unwrap();
    // The blocker below takes a writer connection (on SQLite: the only one).
    let conn = pools.write.clone();
    let app = Application::build_with_db(config, pools).await.unwrap();
    let addr = app.local_addr();
    let base = format!("http://{addr}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::new();
    let signed_up: serde_json::Value = client
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": "mutation { signUp(input: { email: \"o@example.com\", password: \"correct horse\", projectName: \"P\" }) { token } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signed_up["data"]["signUp"]["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Another client holds a lock the next write must wait for (as in hardening.rs).
    let blocker = conn.begin().await.unwrap();
    let lock = match backend {
        Backend::Sqlite => {
            "INSERT INTO project (id, name, created_at) VALUES (X'00000000000000000000000000000001', 'lock', '2026-01-01T00:00:00+00:00')"
        }
        Backend::Postgres => "LOCK TABLE lead IN ACCESS EXCLUSIVE MODE",
    };
    blocker
        .execute_raw(Statement::from_string(conn.get_database_backend(), lock))
        .await
        .unwrap();
    let in_flight = tokio::spawn(async move {
        reqwest::Client::new()
            .post(format!("{base}/graphql"))
            .bearer_auth(token)
            .json(&json!({ "query": "mutation { createContact(input: { fullname: \"in flight\" }) { fullname } }" }))
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !in_flight.is_finished(),
        "the write should wait on the lock"
    );

    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Listening has stopped: a new connection is refused.
    let refused = tokio::net::TcpStream::connect(addr).await;
    assert!(
        refused.is_err(),
        "a new connection was accepted during shutdown"
    );
    assert!(
        !server.is_finished(),
        "the server must wait for the in-flight request"
    );

    blocker.rollback().await.unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(10), in_flight)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        body["data"]["createContact"]["fullname"], "in flight",
        "{body}"
    );
    // The run future returns (and closed the pool).
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
db_test!(in_flight_requests_finish_and_new_connections_are_refused);
