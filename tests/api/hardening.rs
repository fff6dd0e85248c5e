//! Hostile and broken input: GraphQL-shaped HTTP errors, input limits, the control-character
//! rule, CORS, and 50 visitors racing.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, code, db_test};

async fn post_raw(app: &TestApp, body: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/graphql", app.base))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn broken_requests_get_graphql_shaped_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for body in [
        "{not json",
        r#"[{"query":"{ viewer { role } }"},{"query":"{ viewer { role } }"}]"#,
        r#"{"query": "{ viewer { role } }", "variables": "\ud800"}"#,
        "",
    ] {
        let (status, json) = post_raw(&app, body).await;
        assert_eq!(status, 400, "{body}: {json}");
        assert_eq!(code(&json), "BAD_REQUEST", "{body}: {json}");
    }
    // A JSON body without a query is not a GraphQL request (GraphQL over HTTP: 400).
    let (status, json) = post_raw(&app, r#"{"variables": {}}"#).await;
    assert_eq!((status, code(&json)), (400, "BAD_REQUEST"));
    // Still serving.
    crate::common::still_serving(&app).await;
}
db_test!(broken_requests_get_graphql_shaped_errors);

async fn input_limits_and_the_control_character_rule(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let (visitor, _) = app.visitor(&project).await;
    let many_keys: serde_json::Map<String, Value> =
        (0..101).map(|i| (format!("k{i}"), json!(i))).collect();
    let deep = json!({ "a": { "b": { "c": { "d": { "e": { "f": 1 } } } } } });
    let big = json!({ "blob": "x".repeat(17 * 1024) });
    for (input, field) in [
        (json!({ "attributes": many_keys }), "attributes"),
        (json!({ "attributes": deep }), "attributes"),
        (json!({ "attributes": big }), "attributes"),
        (
            json!({ "attributes": { "k": "nul\u{0}byte" } }),
            "attributes",
        ),
        (json!({ "attributes": { "bad\"key": 1 } }), "attributes"),
        (json!({ "fullname": "evil\u{202E}gnp.exe" }), "fullname"),
        (json!({ "fullname": "bell\u{7}" }), "fullname"),
        (
            json!({ "email": format!("{}@example.com", "a".repeat(250)) }),
            "email",
        ),
        (json!({ "email": "a\u{2066}b@example.com" }), "email"),
        (json!({ "phone": "1".repeat(70) }), "phone"),
    ] {
        let body = app.capture(&visitor, input.clone()).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{input}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{input}");
    }
    assert_eq!(app.count_rows("lead").await, 0, "nothing written");
    // Line breaks are fine where text is multi-line, not in names.
    let ok = app
        .create_request(&visitor, "line one\nline two\ttabbed")
        .await;
    assert_eq!(ok["request"]["firstText"], "line one\nline two\ttabbed");
    let nested_ok = app
        .capture(
            &visitor,
            json!({ "attributes": { "a": { "b": { "c": { "d": 1 } } }, "note": "two\nlines" } }),
        )
        .await;
    assert!(nested_ok.get("errors").is_none(), "{nested_ok}");
    // Merging must keep the stored object within the limits too.
    let half: serde_json::Map<String, Value> =
        (0..60).map(|i| (format!("a{i}"), json!(i))).collect();
    let other: serde_json::Map<String, Value> =
        (0..60).map(|i| (format!("b{i}"), json!(i))).collect();
    assert!(
        app.capture(&visitor, json!({ "attributes": half }))
            .await
            .get("errors")
            .is_none()
    );
    let body = app.capture(&visitor, json!({ "attributes": other })).await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    // Tags: count and length.
    let c = app.create_contact(&agent, json!({ "fullname": "T" })).await;
    let too_many: Vec<String> = (0..101).map(|i| format!("t{i}")).collect();
    let body = app
        .gql(
            Some(&agent),
            "mutation($i: ContactTagsInput!) { addContactTags(input: $i) { id } }",
            json!({ "i": { "id": c["id"], "tags": too_many } }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    let body = app
        .gql(
            Some(&agent),
            "mutation($i: ContactTagsInput!) { addContactTags(input: $i) { id } }",
            json!({ "i": { "id": c["id"], "tags": ["x".repeat(65)] } }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
}
db_test!(input_limits_and_the_control_character_rule);

async fn cors_is_off_by_default_and_configurable(backend: Backend) {
    let preflight = async |app: &TestApp, origin: &str| {
        let resp = reqwest::Client::new()
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
            .await
            .unwrap();
        resp.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let closed = TestApp::spawn(backend).await;
    assert_eq!(preflight(&closed, "https://evil.example").await, None);
    let open = TestApp::spawn_with(backend, |c| {
        c.cors_allowed_origins = vec!["https://app.example.com".into()]
    })
    .await;
    assert_eq!(
        preflight(&open, "https://app.example.com").await.as_deref(),
        Some("https://app.example.com")
    );
    assert_eq!(preflight(&open, "https://evil.example").await, None);
}
db_test!(cors_is_off_by_default_and_configurable);

async fn fifty_visitors_race_their_first_requests(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let visitors = join_all((0..50).map(|_| app.visitor(&project))).await;
    let results = join_all(visitors.iter().enumerate().flat_map(|(n, (token, _))| {
        let app = &app;
        (0..3).map(move |k| async move {
            if k < 2 {
                let body = app
                    .gql(Some(token), "mutation($t: String!) { createRequest(input: { firstText: $t }) { contact { id } } }", json!({ "t": format!("v{n} r{k}") }))
                    .await;
                (n, body["data"]["createRequest"]["contact"]["id"].clone(), body)
            } else {
                let body = app.capture(token, json!({ "email": format!("v{n}@example.com") })).await;
                (n, body["data"]["captureContactMetadata"]["id"].clone(), body)
            }
        })
    }))
    .await;
    for (_, id, body) in &results {
        assert!(body.get("errors").is_none() && id.is_string(), "{body}");
    }
    for n in 0..50 {
        let ids: Vec<&Value> = results
            .iter()
            .filter(|(m, ..)| *m == n)
            .map(|(_, id, _)| id)
            .collect();
        assert!(
            ids.iter().all(|id| *id == ids[0]),
            "visitor {n} got several contacts: {ids:?}"
        );
    }
    assert_eq!(app.count_rows("lead").await, 50);
    assert_eq!(app.count_rows("request").await, 100);
    let found = app
        .ok(
            Some(&agent),
            "{ contacts(first: 100) { totalCount nodes { email requestsCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(found["contacts"]["totalCount"], 50);
    assert!(
        found["contacts"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["requestsCount"] == 2 && c["email"].is_string())
    );
}
db_test!(fifty_visitors_race_their_first_requests);

/// Sends `bytes` on a new connection to `app` and reads until the server closes it; panics
/// unless it does within 5 s. Returns what the server sent.
async fn send_until_closed(app: &TestApp, bytes: &[u8], what: &str) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(bytes).await.unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        conn.read_to_end(&mut buf),
    )
    .await;
    assert!(read.is_ok(), "the server kept {what} open");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    buf
}

async fn slow_and_oversized_clients_are_cut_off(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.header_read_timeout_secs = 1).await;

    // Slowloris: a request head that never ends is dropped after the header timeout.
    send_until_closed(
        &app,
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        "a slow connection",
    )
    .await;

    // An oversized head is refused with 431.
    let resp = reqwest::Client::new()
        .post(format!("{}/graphql", app.base))
        .header("x-big", "y".repeat(20 * 1024))
        .json(&json!({ "query": "{ viewer { role } }" }))
        .send()
        .await;
    match resp {
        Ok(r) => assert_eq!(r.status(), 431),
        Err(e) => assert!(e.is_request() || e.is_connect() || e.is_body(), "{e}"),
    }
    // Still serving.
    crate::common::still_serving(&app).await;
}
db_test!(slow_and_oversized_clients_are_cut_off);

/// The header timeout is also the idle timeout of a kept-alive connection: responses announce
/// it (`Keep-Alive: timeout=N`) and the server closes the idle connection after it.
async fn idle_connections_are_announced_then_closed(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.header_read_timeout_secs = 1).await;
    let buf = send_until_closed(
        &app,
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
        "an idle connection",
    )
    .await;
    let text = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 200"), "{text}");
    assert!(text.contains("\r\nkeep-alive: timeout=1\r\n"), "{text}");
    // One response only: the connection was closed idle, not after a second answer.
    assert_eq!(text.matches("http/1.1 ").count(), 1, "{text}");
}
db_test!(idle_connections_are_announced_then_closed);

/// A refusal sent before the request body was read says `Connection: close` (hyper closes
/// that connection): a client told `Keep-Alive` would send its next request into a closing
/// socket (found by the fuzz suite). A request whose body was read keeps the connection.
async fn an_unread_body_closes_the_connection(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.header_read_timeout_secs = 1).await;
    // A Content-Length over the body limit is refused before a byte of the body arrives.
    let buf = send_until_closed(
        &app,
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{",
        "a refused upload",
    )
    .await;
    let text = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 413"), "{text}");
    assert!(text.contains("\r\nconnection: close\r\n"), "{text}");
    assert!(!text.contains("keep-alive"), "{text}");

    // A body read to its end: the connection stays open for a second request.
    let body = r#"{"query":"{ __typename }"}"#;
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let twice = format!("{request}{request}");
    let buf = send_until_closed(&app, twice.as_bytes(), "a kept-alive connection").await;
    let text = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    assert_eq!(text.matches("http/1.1 200").count(), 2, "{text}");
    assert_eq!(
        text.matches("\r\nkeep-alive: timeout=1\r\n").count(),
        2,
        "{text}"
    );
    assert!(!text.contains("connection: close"), "{text}");
}
db_test!(an_unread_body_closes_the_connection);

async fn a_blocked_query_cannot_hold_a_connection(backend: Backend) {
    use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
    let app = TestApp::spawn_with(backend, |c| {
        c.request_timeout_secs = 1;
        c.db_acquire_timeout_secs = 30;
    })
    .await;
    let (agent, _) = app.sign_up("owner@example.com").await;
    // Another client holds a lock that the next write must wait for.
    let url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(()),
    };
    let blocker = app.db.begin().await.unwrap();
    let lock = match url {
        None => {
            "INSERT INTO project (id, name, created_at) VALUES (X'00000000000000000000000000000001', 'lock', '2026-01-01T00:00:00+00:00')"
        }
        Some(()) => "LOCK TABLE lead IN ACCESS EXCLUSIVE MODE",
    };
    blocker
        .execute_raw(Statement::from_string(app.db.get_database_backend(), lock))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let resp = reqwest::Client::new()
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&agent)
        .json(&json!({ "query": "mutation { createContact(input: { fullname: \"waits\" }) { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 408);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    blocker.rollback().await.unwrap();
    // Nothing half-written, and the server serves again.
    assert_eq!(app.count_rows("lead").await, 0);
    let c = app
        .create_contact(&agent, json!({ "fullname": "after" }))
        .await;
    assert_eq!(c["fullname"], "after");
}
db_test!(a_blocked_query_cannot_hold_a_connection);

/// Reproducers found by the schema-driven fuzz run (tests/abuse): each was an `INTERNAL`.
async fn fuzz_findings_are_client_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, _) = app.sign_up("owner@example.com").await;
    let cases: Vec<(Option<&str>, &str, Value)> = vec![
        // Found by the fuzz run's deep-literal generator: a list where an input object or a
        // scalar belongs reached the resolver as an uncoded error (INTERNAL).
        (
            Some(&agent),
            "mutation { deleteContact(input: []) { __typename } }",
            json!({}),
        ),
        (
            None,
            "mutation { captureContactMetadata(input: [[1]]) { __typename } }",
            json!({}),
        ),
        (
            Some(&agent),
            "{ contacts(createdBefore: { }) { __typename } }",
            json!({}),
        ),
        (
            Some(&agent),
            "{ mergeContactsPreview(input: []) { __typename } }",
            json!({}),
        ),
        (
            Some(&agent),
            "{ contacts(createdBefore: \"\") { __typename } }",
            json!({}),
        ),
        (
            Some(&agent),
            "{ contacts(createdAfter: \"2\") { __typename } }",
            json!({}),
        ),
        (
            None,
            "{ contacts(createdAfter: \"yesterday\") { totalCount } }",
            json!({}),
        ),
        (
            Some(&agent),
            "query($d: DateTime) { contacts(createdAfter: $d) { totalCount } }",
            json!({ "d": "yesterday" }),
        ),
        (
            None,
            "mutation { signIn(input: { email: \"\\u0000\", password: \"p\" }) { __typename } }",
            json!({}),
        ),
        (
            Some(&agent),
            "{ contacts(email: \"\\u0000\") { __typename } }",
            json!({}),
        ),
        (
            Some(&agent),
            "query($s: JSON!) { contacts(attribute: { key: \"k\", equals: $s }) { totalCount } }",
            json!({ "s": "a\u{0}b" }),
        ),
    ];
    for (token, query, vars) in cases {
        let body = app.gql(token, query, vars.clone()).await;
        let c = code(&body);
        assert!(
            [
                "BAD_USER_INPUT",
                "GRAPHQL_VALIDATION_FAILED",
                "UNAUTHENTICATED"
            ]
            .contains(&c),
            "{query} {vars}: {body}"
        );
    }
}
db_test!(fuzz_findings_are_client_errors);
