//! Webhook delivery throughput to a local receiver: a server over a fresh database, one
//! endpoint (paused while N contacts are created, so N `contact.created` events wait in the
//! log), then re-enabled; prints the deliveries per second of the drain (one endpoint is
//! delivered strictly in order, one request at a time: this is the per-endpoint ceiling).
//!
//!     cargo run --release --example webhook_bench -- sqlite
//!     cargo run --release --example webhook_bench -- postgres://postgres@127.0.0.1:5432/postgres
//!
//! `bench/webhooks.sh` runs it. A `postgres://` URL names an admin database: a database
//! `webhook_bench_<pid>` is created there and dropped after. N: `WEBHOOK_BENCH_N` (default
//! 2,000).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use contacts_server::{Application, Config};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

async fn gql(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    query: &str,
    vars: Value,
) -> Value {
    let mut req = client
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": query, "variables": vars }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let body: Value = req.send().await.unwrap().json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

#[tokio::main]
async fn main() {
    let target = std::env::args().nth(1).unwrap_or_else(|| "sqlite".into());
    let n: usize = std::env::var("WEBHOOK_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().unwrap();
    let (url, pg) = if target.starts_with("postgres") {
        let name = format!("webhook_bench_{}", std::process::id());
        let admin = Database::connect(&target).await.unwrap();
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let base = target.rsplit_once('/').unwrap().0;
        (format!("{base}/{name}"), Some((target.clone(), name)))
    } else {
        (
            format!("sqlite://{}/bench.db?mode=rwc", dir.path().display()),
            None,
        )
    };

    // The receiver: counts requests, answers 204.
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let mut config = Config::defaults();
    config.database_url = url;
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.jwt_secret = Some("bench-secret-bench-secret-bench-secret-0123".into());
    config.rate_limit_mutations_per_min = 0;
    config.rate_limit_sign_in_per_min = 0;
    config.webhook_allow_private_destinations = true;
    let app = Application::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));

    let client = reqwest::Client::new();
    let signed = gql(&client, &base, None, "mutation { signUp(input: { email: \"bench@example.com\", password: \"correct horse\", projectName: \"Bench\" }) { token } }", json!({})).await;
    let token = signed["signUp"]["token"].as_str().unwrap().to_owned();
    let created = gql(&client, &base, Some(&token), "mutation($u: String!) { createWebhook(input: { url: $u, events: [CONTACT_CREATED] }) { webhook { id } } }", json!({ "u": hook_url })).await;
    let id = created["createWebhook"]["webhook"]["id"].clone();
    let toggle = "mutation($id: ID!, $on: Boolean!) { updateWebhook(id: $id, input: { enabled: $on }) { id } }";
    gql(
        &client,
        &base,
        Some(&token),
        toggle,
        json!({ "id": id, "on": false }),
    )
    .await;
    for i in 0..n {
        gql(
            &client,
            &base,
            Some(&token),
            "mutation($n: String!) { createContact(input: { fullname: $n }) { id } }",
            json!({ "n": format!("Contact {i}") }),
        )
        .await;
    }
    let started = Instant::now();
    gql(
        &client,
        &base,
        Some(&token),
        toggle,
        json!({ "id": id, "on": true }),
    )
    .await;
    while received.load(Ordering::SeqCst) < n {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "stalled at {}",
            received.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "webhook deliveries ({target}): {n} in {secs:.2} s = {:.0} deliveries/s (one endpoint, in order)",
        n as f64 / secs
    );
    if let Some((admin_url, name)) = pg {
        let admin = Database::connect(&admin_url).await.unwrap();
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
}
