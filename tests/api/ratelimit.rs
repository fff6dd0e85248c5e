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
    // On PostgreSQL the budget is the shared table's: its one check is the only statement.
    let check = usize::from(backend == Backend::Postgres);
    assert_eq!(
        app.statements() - before,
        check,
        "a limited mutation runs no SQL but the budget's"
    );
    assert_eq!(app.count_rows("request").await, 4);
    // Queries are not counted; other tokens have their own budget.
    // (`ok` fails on any `errors`; the data must be real.)
    let viewer = app
        .ok(Some(&visitor), "{ viewer { role } }", json!({}))
        .await;
    assert_eq!(viewer["viewer"]["role"], "GUEST", "{viewer:#}");
    let created = app.ok(Some(&other), q, json!({})).await;
    assert!(
        created["createRequest"]["request"]["id"].is_string(),
        "{created:#}"
    );
}
db_test!(mutations_are_limited_per_token);

/// Resident memory of this process, in bytes (Linux `/proc/self/statm`).
fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// 100,000 distinct IPs, emails and users each fill the limiters; the server's pruning task
/// (the same `prune_every` it spawns, here every 200 ms) gives them back once their budgets
/// are whole again (at 60 a minute: one second), instead of holding every key for the life of
/// the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limiter_keys_are_pruned() {
    use contacts_server::ratelimit::{RateLimitConfig, RateLimits, prune_every};
    use std::net::{IpAddr, Ipv6Addr};
    use std::sync::Arc;
    let limits = Arc::new(RateLimits::new(RateLimitConfig {
        anonymous_per_ip: 60,
        sign_in_per_email: 60,
        mutations_per_token: 60,
    }));
    const KEYS: usize = 100_000;
    let before = rss_bytes();
    for i in 0..KEYS {
        let ip = IpAddr::V6(Ipv6Addr::from(i as u128 + 1));
        limits.anonymous_sign_in(ip).await.unwrap();
        limits
            .sign_in(&format!("visitor{i}@example.com"))
            .await
            .unwrap();
        limits.mutation(uuid::Uuid::new_v4(), 1).await.unwrap();
    }
    assert_eq!(limits.keys(), 3 * KEYS);
    let grown = rss_bytes().saturating_sub(before);
    eprintln!(
        "{} keys: RSS +{} KiB ({} bytes a key, all three kinds)",
        3 * KEYS,
        grown / 1024,
        grown / (3 * KEYS)
    );
    let pruner = tokio::spawn(prune_every(
        limits.clone(),
        std::time::Duration::from_millis(200),
    ));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while limits.keys() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    pruner.abort();
    assert_eq!(limits.keys(), 0, "the limiters kept their keys");
    // A key still in use (budget partly spent) is kept: it must go on counting.
    let busy = uuid::Uuid::new_v4();
    for _ in 0..30 {
        limits.mutation(busy, 1).await.unwrap();
    }
    limits.prune().await;
    assert_eq!(limits.keys(), 1);
}

/// Two instances over one database (a load balancer's two servers): with the shared store
/// (`auto` on PostgreSQL) they spend one budget, the same total as one instance; with
/// `RATE_LIMIT_STORE=memory` each counts its own (twice the budget). On SQLite `auto` is
/// the in-process store.
async fn instances_share_the_budget_over_postgres(backend: Backend) {
    use contacts_server::config::RateLimitStore;
    let per_min = 4;
    let app = TestApp::spawn_with(backend, |c| c.rate_limit_anonymous_per_min = per_min).await;
    let (_, project) = app.sign_up("owner@example.com").await;
    let other = app
        .beside(|c| c.rate_limit_anonymous_per_min = per_min)
        .await;
    let apart = app
        .beside(|c| {
            c.rate_limit_anonymous_per_min = per_min;
            c.rate_limit_store = RateLimitStore::Memory;
        })
        .await;
    let sign_in = |base: String| {
        let project = project.clone();
        async move {
            let body: Value = reqwest::Client::new()
                .post(format!("{base}/graphql"))
                .json(&json!({ "query": ANON, "variables": { "p": project } }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body
        }
    };
    // Alternate between the two instances until both refuse.
    let mut allowed = 0;
    for i in 0..(3 * per_min) {
        let base = if i % 2 == 0 {
            app.base.clone()
        } else {
            other.clone()
        };
        let body = sign_in(base).await;
        if body.get("errors").is_none() {
            assert!(
                body["data"]["signInAnonymously"]["token"].is_string(),
                "{body}"
            );
            allowed += 1;
        } else {
            assert_limited(&body);
        }
    }
    let shared = backend == Backend::Postgres;
    let expected = if shared { per_min } else { 2 * per_min };
    assert_eq!(
        allowed, expected,
        "{backend:?}: sign-ins allowed over two instances"
    );
    // The in-process store of a third instance knows nothing of the others' spending.
    for _ in 0..per_min {
        let body = sign_in(apart.clone()).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    assert_limited(&sign_in(apart.clone()).await);
    if shared {
        // Keys are stored hashed: one row per limited IP, no address in clear.
        let rows = app.count_rows("rate_limit_bucket").await;
        assert_eq!(rows, 1, "one bucket (127.0.0.1's)");
    }
}
db_test!(instances_share_the_budget_over_postgres);

/// The shared table forgets budgets that are whole again: at 60 a minute a spent cell is back
/// after a second, and pruning deletes the row; a partly spent one stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_buckets_are_pruned() {
    use contacts_server::ratelimit::{RateLimitConfig, RateLimits};
    let app = TestApp::spawn(Backend::Postgres).await;
    let limits = RateLimits::shared(
        RateLimitConfig {
            anonymous_per_ip: 60,
            sign_in_per_email: 60,
            mutations_per_token: 60,
        },
        app.db.clone(),
    );
    let done = uuid::Uuid::new_v4();
    let busy = uuid::Uuid::new_v4();
    limits.mutation(done, 1).await.unwrap();
    limits.sign_in("someone@example.com").await.unwrap();
    assert_eq!(app.count_rows("rate_limit_bucket").await, 2);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // 30 cells take 30 s to come back.
    limits.mutation(busy, 30).await.unwrap();
    limits.prune().await;
    assert_eq!(app.count_rows("rate_limit_bucket").await, 1);
    // The busy key goes on counting: 30 more fit the burst of 60, the 61st does not.
    limits.mutation(busy, 30).await.unwrap();
    let err = limits.mutation(busy, 1).await.unwrap_err();
    assert!(
        matches!(err, contacts_server::error::AppError::RateLimited { retry_after_secs } if (1..=2).contains(&retry_after_secs)),
        "{err:?}"
    );
}
