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

/// Sends `head` and `body` over a raw connection (for a chunked body); returns the status and
/// the response body.
async fn raw_http(base: &str, request: &[u8]) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut raw = Vec::new();
    // The server closes after answering (`Connection: close`).
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw);
    let status: u16 = text[9..12].parse().unwrap();
    let (_, body) = text.split_once("\r\n\r\n").unwrap();
    let body = body.trim();
    // A chunked response body: the JSON sits between the first chunk size and the final 0.
    let json_start = body.find('{').unwrap();
    let json_end = body.rfind('}').unwrap();
    (
        status,
        serde_json::from_str(&body[json_start..=json_end]).unwrap(),
    )
}

/// HTTP-level refusals carry GraphQL's shape and a code from the registry; request errors have
/// no `data` entry (GraphQL over HTTP, GraphQL spec §7.1.2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_refusals_are_graphql_shaped() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let client = reqwest::Client::new();
    let url = format!("{}/graphql", app.base);
    let shaped = async |resp: reqwest::Response, status: u16, expected: &str| {
        assert_eq!(resp.status(), status, "{expected}");
        let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.contains("json"), "{expected}: {content_type}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(code(&body), expected, "{body:#}");
        assert!(body.get("data").is_none(), "{body:#}");
        assert!(body["errors"][0]["message"].is_string(), "{body:#}");
    };

    // A body over MAX_BODY_BYTES (256 KiB) with a Content-Length: 413 PAYLOAD_TOO_LARGE.
    let big = json!({ "query": format!("{{ viewer {{ role }} }} #{}", "x".repeat(300_000)) });
    let resp = client.post(&url).json(&big).send().await.unwrap();
    shaped(resp, 413, "PAYLOAD_TOO_LARGE").await;
    // The same body chunked (no Content-Length): the same answer.
    let body = big.to_string();
    let mut request = b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for chunk in body.as_bytes().chunks(16 * 1024) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let (status, answer) = raw_http(&app.base, &request).await;
    assert_eq!(
        (status, code(&answer)),
        (413, "PAYLOAD_TOO_LARGE"),
        "{answer:#}"
    );
    // A small chunked body is served as usual.
    let small = r#"{"query": "{ __typename }"}"#;
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{small}\r\n0\r\n\r\n",
        small.len()
    );
    let (status, answer) = raw_http(&app.base, request.as_bytes()).await;
    assert!(answer.get("errors").is_none(), "{answer:#}");
    assert_eq!(
        (status, &answer["data"]["__typename"]),
        (200, &json!("Query"))
    );

    // No Content-Type, or one other than JSON (a browser's cross-site "simple" POST): 415.
    let query = r#"{"query": "{ __typename }"}"#;
    let resp = client.post(&url).body(query).send().await.unwrap();
    shaped(resp, 415, "BAD_REQUEST").await;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let resp = client
            .post(&url)
            .header("content-type", content_type)
            .body(query)
            .send()
            .await
            .unwrap();
        shaped(resp, 415, "BAD_REQUEST").await;
    }
    // JSON with parameters is JSON.
    let resp = client
        .post(&url)
        .header("content-type", "application/json; charset=utf-8")
        .body(query)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // A body without a `query` string: 400.
    for body in [
        json!({ "qeury": "{ __typename }" }),
        json!({}),
        json!({ "query": "  " }),
    ] {
        let resp = client.post(&url).json(&body).send().await.unwrap();
        shaped(resp, 400, "BAD_REQUEST").await;
    }

    // A document that does not parse or validate: no `data` entry, with either media type
    // (400 with graphql-response+json, 200 with legacy application/json).
    for (accept, status) in [
        ("application/graphql-response+json", 400),
        ("application/json", 200),
    ] {
        for (query, expected) in [
            ("{", "GRAPHQL_VALIDATION_FAILED"),
            ("{ nope }", "GRAPHQL_VALIDATION_FAILED"),
        ] {
            let resp = client
                .post(&url)
                .header("accept", accept)
                .json(&json!({ "query": query }))
                .send()
                .await
                .unwrap();
            shaped(resp, status, expected).await;
        }
    }
    // An execution error keeps `data` (null where the field failed).
    let resp = client
        .post(&url)
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": "{ contacts { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(code(&body), "UNAUTHENTICATED");
    assert!(body.get("data").is_some(), "{body:#}");
}
