//! HTTP serving: GraphiQL, health, body limit.

use serde_json::json;

use crate::common::{Backend, TestApp, db_test};

async fn serves_graphiql_health_and_limits(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.max_body_bytes = 4096).await;
    let client = reqwest::Client::new();

    let page = client
        .get(format!("{}/graphql", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.to_lowercase().contains("graphiql"), "{html}");

    let health = client
        .get(format!("{}/health", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    let ready = client
        .get(format!("{}/ready", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    // With the database gone, readiness fails (liveness does not).
    app.db.clone().close().await.unwrap();
    let ready = client
        .get(format!("{}/ready", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let health = client
        .get(format!("{}/health", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    // A body over the limit is refused before it is parsed.
    let big = json!({ "query": format!("{{ viewer {{ role }} }} #{}", "x".repeat(8192)) });
    let resp = client
        .post(format!("{}/graphql", app.base))
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);

    // Malformed JSON is a client error, not a crash; the server keeps serving.
    let resp = client
        .post(format!("{}/graphql", app.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    crate::common::still_serving(&app).await;
}
db_test!(serves_graphiql_health_and_limits);

async fn every_response_carries_a_request_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{}/graphql", app.base))
        .json(&json!({ "query": "{ viewer { role } }" }))
        .send()
        .await
        .unwrap();
    let header = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&header).is_ok(), "{header}");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["extensions"]["requestId"], header);
    // A client's own id is kept (for tracing across services).
    let resp = client
        .post(format!("{}/graphql", app.base))
        .header("x-request-id", "client-123")
        .json(&json!({ "query": "{ viewer { role } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "client-123");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["extensions"]["requestId"], "client-123");
}
db_test!(every_response_carries_a_request_id);
