//! Rate limits: anonymous sign-in per client IP (trusted proxy header only when configured),
//! sign-in attempts per email, mutations per token.

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, code, db_test};

const ANON: &str = "mutation($p: ID!) { signInAnonymously(input: { projectId: $p }) { token } }";

async fn anon_with_header(app: &TestApp, project: &str, header: Option<(&str, &str)>) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{}/graphql", app.base))
        .json(&json!({ "query": ANON, "variables": { "p": project } }));
    if let Some((name, value)) = header {
        req = req.header(name, value);
    }
    req.send().await.unwrap().json().await.unwrap()
}

fn assert_limited(body: &Value) {
    assert_eq!(code(body), "RATE_LIMITED", "{body}");
    let retry = body["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap();
    assert!((1..=60).contains(&retry), "retryAfter {retry}");
}

async fn anonymous_sign_in_is_limited_per_ip(backend: Backend) {
    // Without a trusted header: the peer address counts, X-Forwarded-For is ignored.
    let app = TestApp::spawn_with(backend, |c| c.rate_limit_anonymous_per_min = 3).await;
    let (_, project) = app.sign_up("owner@example.com").await;
    for i in 0..3 {
        let spoof = format!("10.0.0.{i}");
        let body =
            anon_with_header(&app, &project, Some(("x-forwarded-for", spoof.as_str()))).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    assert_limited(&anon_with_header(&app, &project, Some(("x-forwarded-for", "10.9.9.9"))).await);
    let users = app.count_rows("user").await;

    // With a trusted header: each client address has its own budget.
    let app2 = TestApp::spawn_with(backend, |c| {
        c.rate_limit_anonymous_per_min = 2;
        c.trusted_client_ip_header = Some("x-forwarded-for".into());
    })
    .await;
    let (_, project2) = app2.sign_up("owner@example.com").await;
    for ip in [
        "203.0.113.1",
        "203.0.113.1",
        "203.0.113.2, 10.0.0.1",
        "203.0.113.2",
    ] {
        let body = anon_with_header(&app2, &project2, Some(("x-forwarded-for", ip))).await;
        assert!(body.get("errors").is_none(), "{ip}: {body}");
    }
    assert_limited(
        &anon_with_header(&app2, &project2, Some(("x-forwarded-for", "203.0.113.1"))).await,
    );
    // A refused sign-in writes nothing.
    assert_eq!(app.count_rows("user").await, users);
}
db_test!(anonymous_sign_in_is_limited_per_ip);

async fn sign_in_attempts_are_limited_per_email(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.rate_limit_sign_in_per_min = 3).await;
    app.sign_up("owner@example.com").await;
    let q = "mutation($e: String!, $p: String!) { signIn(input: { email: $e, password: $p }) { token } }";
    for _ in 0..3 {
        let body = app
            .gql(
                None,
                q,
                json!({ "e": "owner@example.com", "p": "wrong password" }),
            )
            .await;
        assert_eq!(code(&body), "UNAUTHENTICATED");
    }
    // Brute force is stopped even with the right password, also when the case differs.
    assert_limited(
        &app.gql(
            None,
            q,
            json!({ "e": "OWNER@example.com", "p": "correct horse" }),
        )
        .await,
    );
    // Another email has its own budget.
    let body = app
        .gql(None, q, json!({ "e": "someone@example.com", "p": "x" }))
        .await;
    assert_eq!(code(&body), "UNAUTHENTICATED");
}
db_test!(sign_in_attempts_are_limited_per_email);

async fn mutations_are_limited_per_token(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.rate_limit_mutations_per_min = 4).await;
    let (_, project) = app.sign_up("owner@example.com").await;
    let (visitor, _) = app.visitor(&project).await;
    let (other, _) = app.visitor(&project).await;
    let q = "mutation { createRequest(input: { firstText: \"hi\" }) { request { id } } }";
    for _ in 0..4 {
        assert!(
            app.gql(Some(&visitor), q, json!({}))
                .await
                .get("errors")
                .is_none()
        );
    }
    let before = app.statements();
    assert_limited(&app.gql(Some(&visitor), q, json!({})).await);
    assert_eq!(app.statements(), before, "a limited mutation runs no SQL");
    assert_eq!(app.count_rows("request").await, 4);
    // Queries are not counted; other tokens have their own budget.
    assert!(
        app.gql(Some(&visitor), "{ viewer { role } }", json!({}))
            .await
            .get("errors")
            .is_none()
    );
    assert!(
        app.gql(Some(&other), q, json!({}))
            .await
            .get("errors")
            .is_none()
    );
}
db_test!(mutations_are_limited_per_token);
