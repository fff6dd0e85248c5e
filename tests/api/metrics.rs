//! `GET /metrics`: per-operation counts and latency, errors per code, HTTP statuses and pool
//! usage, scraped over HTTP after real traffic; bounded operation labels; the off switch.

use serde_json::json;

use crate::common::{Backend, TestApp, db_test};

async fn scrape(app: &TestApp) -> String {
    let resp = reqwest::get(format!("{}/metrics", app.base)).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    resp.text().await.unwrap()
}

/// The value of the sample line starting with `series ` (exact series, labels included).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{series} ")))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        .parse()
        .unwrap()
}

async fn metrics_count_operations_errors_statuses_and_pool(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, _) = app.sign_up("owner@example.com").await;
    for _ in 0..3 {
        app.ok(
            Some(&agent),
            "query ListContacts { contacts { totalCount } }",
            json!({}),
        )
        .await;
    }
    app.ok(Some(&agent), "{ viewer { role } }", json!({})).await;
    // Errors: UNAUTHENTICATED at execution, a syntax error before it, and a bad input.
    let body = app
        .gql(
            None,
            "query ListContacts { contacts { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(crate::common::code(&body), "UNAUTHENTICATED");
    let body = app.gql(None, "query Broken { contacts {", json!({})).await;
    assert_eq!(crate::common::code(&body), "GRAPHQL_VALIDATION_FAILED");
    let body = app
        .gql(
            Some(&agent),
            "mutation Bad { createContact(input: { email: \"nope\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(crate::common::code(&body), "BAD_USER_INPUT");
    // A 404 is counted too.
    let resp = reqwest::get(format!("{}/nowhere", app.base)).await.unwrap();
    assert_eq!(resp.status(), 404);

    let text = scrape(&app).await;
    assert_eq!(
        sample(&text, "graphql_requests_total{operation=\"ListContacts\"}"),
        4.0
    );
    // The harness's sign-up (`mutation($i: ...)`) and `{ viewer ... }` are unnamed.
    assert_eq!(
        sample(&text, "graphql_requests_total{operation=\"anonymous\"}"),
        2.0
    );
    assert_eq!(
        sample(&text, "graphql_requests_total{operation=\"invalid\"}"),
        1.0
    );
    assert_eq!(
        sample(&text, "graphql_requests_total{operation=\"Bad\"}"),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "graphql_request_duration_seconds_count{operation=\"ListContacts\"}"
        ),
        4.0
    );
    let sum = sample(
        &text,
        "graphql_request_duration_seconds_sum{operation=\"ListContacts\"}",
    );
    assert!(sum > 0.0 && sum < 30.0, "{sum}");
    assert_eq!(
        sample(
            &text,
            "graphql_request_duration_seconds_bucket{operation=\"ListContacts\",le=\"+Inf\"}"
        ),
        4.0
    );
    assert_eq!(
        sample(&text, "graphql_errors_total{code=\"UNAUTHENTICATED\"}"),
        1.0
    );
    assert_eq!(
        sample(
            &text,
            "graphql_errors_total{code=\"GRAPHQL_VALIDATION_FAILED\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(&text, "graphql_errors_total{code=\"BAD_USER_INPUT\"}"),
        1.0
    );
    // sign-up + 3 + 1 + 3 errors (GraphQL errors are 200 in legacy JSON mode).
    assert_eq!(sample(&text, "http_responses_total{status=\"200\"}"), 8.0);
    assert_eq!(sample(&text, "http_responses_total{status=\"404\"}"), 1.0);
    // The pool: the harness's limit (SQLite: 4 readers + the one writer), at least one
    // connection open, idle <= open.
    let max = match backend {
        Backend::Sqlite => 5.0,
        Backend::Postgres => 8.0,
    };
    assert_eq!(sample(&text, "db_pool_max_connections"), max);
    let open = sample(&text, "db_pool_connections{state=\"open\"}");
    let idle = sample(&text, "db_pool_connections{state=\"idle\"}");
    let in_use = sample(&text, "db_pool_connections{state=\"in_use\"}");
    assert!((1.0..=max).contains(&open), "{open}");
    assert!(
        idle <= open && in_use == open - idle,
        "{open} {idle} {in_use}"
    );
}
db_test!(metrics_count_operations_errors_statuses_and_pool);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operation_labels_are_bounded() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let long = format!("Q{}", "x".repeat(70));
    app.ok(None, &format!("query {long} {{ __typename }}"), json!({}))
        .await;
    for i in 0..contacts_server::metrics::MAX_OPERATION_NAMES + 5 {
        app.ok(None, &format!("query Op{i} {{ __typename }}"), json!({}))
            .await;
    }
    let text = scrape(&app).await;
    assert!(!text.contains(&long));
    // The first 100 distinct names are kept, the rest (and the long one) are `other`.
    assert_eq!(
        sample(&text, "graphql_requests_total{operation=\"Op0\"}"),
        1.0
    );
    assert_eq!(
        sample(&text, "graphql_requests_total{operation=\"Op99\"}"),
        1.0
    );
    assert!(!text.contains("operation=\"Op100\""));
    assert_eq!(
        sample(&text, "graphql_requests_total{operation=\"other\"}"),
        6.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_be_turned_off() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.metrics_enabled = false).await;
    let resp = reqwest::get(format!("{}/metrics", app.base)).await.unwrap();
    assert_eq!(resp.status(), 404);
}
