//! GraphQL over HTTP: GET for queries (never mutations), content negotiation and status
//! codes, automatic persisted queries (APQ) as Apollo Client sends them.

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, code, db_test};

async fn get_queries_content_types_and_apq(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, _) = app.sign_up("owner@example.com").await;
    let client = reqwest::Client::new();
    let url = format!("{}/graphql", app.base);

    // GET executes a query...
    let resp = client
        .get(&url)
        .query(&[
            (
                "query",
                "query($f: Int) { contacts(first: $f) { totalCount } }",
            ),
            ("variables", r#"{"f": 5}"#),
        ])
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["contacts"]["totalCount"], 0);
    // ...never a mutation.
    let resp = client
        .get(&url)
        .query(&[(
            "query",
            "mutation { createContact(input: { fullname: \"x\" }) { id } }",
        )])
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(
        code(&resp.json::<Value>().await.unwrap()),
        "METHOD_NOT_ALLOWED"
    );
    assert_eq!(app.count_rows("lead").await, 0);
    // Without a query, GET is the IDE.
    let page = client.get(&url).send().await.unwrap();
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    // application/graphql-response+json when asked; 400 for a request that cannot execute.
    let accept = "application/graphql-response+json, application/json;q=0.9";
    let resp = client
        .post(&url)
        .header("accept", accept)
        .json(&json!({ "query": "{ viewer { role } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/graphql-response+json"
    );
    let resp = client
        .post(&url)
        .header("accept", accept)
        .json(&json!({ "query": "{ nope }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        code(&resp.json::<Value>().await.unwrap()),
        "GRAPHQL_VALIDATION_FAILED"
    );
    // Legacy application/json: always 200.
    let resp = client
        .post(&url)
        .header("accept", "application/json")
        .json(&json!({ "query": "{ nope }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // APQ: the hash alone is unknown at first; the client resends the query with the hash;
    // from then on the hash alone works, with POST and with GET.
    let query = "{ contacts { totalCount } }";
    let hash = format!(
        "{:x}",
        <sha2::Sha256 as sha2::Digest>::digest(query.as_bytes())
    );
    let ext = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let post = async |body: Value| -> Value {
        client
            .post(&url)
            .bearer_auth(&agent)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    };
    let miss = post(json!({ "extensions": ext })).await;
    assert_eq!(code(&miss), "PERSISTED_QUERY_NOT_FOUND");
    let registered = post(json!({ "query": query, "extensions": ext })).await;
    assert_eq!(registered["data"]["contacts"]["totalCount"], 0);
    let hit = post(json!({ "extensions": ext })).await;
    assert_eq!(hit["data"], registered["data"]);
    let resp = client
        .get(&url)
        .query(&[("extensions", ext.to_string())])
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.json::<Value>().await.unwrap()["data"],
        registered["data"]
    );
}
db_test!(get_queries_content_types_and_apq);
