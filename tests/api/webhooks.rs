//! Webhooks against a local receiver (an axum server on port 0): signed deliveries verified
//! with the reference implementation (the `standardwebhooks` package from PyPI, run by
//! python3), order and ids, retries after a 500 and a timeout, disabling and re-enabling, the
//! SSRF guard, rollback, erasure, and kill -9 of the real binary mid-delivery.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use contacts_server::Config;
use serde_json::{Value, json};

use crate::common::{Backend, TEST_SECRET, TestApp, TestDb, code, db_test};

/// What the receiver answers to one request.
#[derive(Clone, Debug, PartialEq)]
enum Reply {
    /// This status at once.
    Status(u16),
    /// 200 after this long (past the server's response timeout: a timed-out attempt).
    Sleep(Duration),
}

#[derive(Clone, Debug)]
struct Hit {
    headers: HeaderMap,
    body: String,
    reply: Reply,
}

impl Hit {
    fn accepted(&self) -> bool {
        self.reply == Reply::Status(200)
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
    fn id(&self) -> String {
        self.headers["webhook-id"].to_str().unwrap().to_owned()
    }
}

#[derive(Default)]
struct Inner {
    plan: Mutex<VecDeque<Reply>>,
    /// Answer when the plan is empty (200 unless set).
    default: Mutex<Option<Reply>>,
    hits: Mutex<Vec<Hit>>,
}

/// A local webhook receiver.
struct Receiver {
    url: String,
    port: u16,
    inner: Arc<Inner>,
}

async fn receive(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: String) -> StatusCode {
    let reply = inner.plan.lock().unwrap().pop_front().unwrap_or_else(|| {
        inner
            .default
            .lock()
            .unwrap()
            .clone()
            .unwrap_or(Reply::Status(200))
    });
    inner.hits.lock().unwrap().push(Hit {
        headers,
        body,
        reply: reply.clone(),
    });
    match reply {
        Reply::Status(s) => StatusCode::from_u16(s).unwrap(),
        Reply::Sleep(d) => {
            tokio::time::sleep(d).await;
            StatusCode::OK
        }
    }
}

impl Receiver {
    async fn start() -> Self {
        let inner = Arc::new(Inner::default());
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            port,
            inner,
        }
    }

    fn plan(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.plan.lock().unwrap().extend(replies);
    }

    fn answer_by_default(&self, reply: Reply) {
        *self.inner.default.lock().unwrap() = Some(reply);
    }

    fn hits(&self) -> Vec<Hit> {
        self.inner.hits.lock().unwrap().clone()
    }

    fn accepted(&self) -> Vec<Hit> {
        self.hits().into_iter().filter(Hit::accepted).collect()
    }

    /// Waits until `n` requests were accepted (2xx); returns them in arrival order.
    async fn wait_accepted(&self, n: usize, within: Duration) -> Vec<Hit> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.accepted();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} accepted deliveries, got {}: {:#?}",
                got.len(),
                self.hits()
                    .iter()
                    .map(|h| (&h.body, &h.reply))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `n` requests arrived, whatever the answer.
    async fn wait_hits(&self, n: usize, within: Duration) -> Vec<Hit> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.hits();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} requests, got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Verifies every hit's signature with the reference implementation: the `standardwebhooks`
/// package from PyPI (scripts/test.sh and .ci/run install it). Panics when a signature does
/// not verify, when a wrong secret verifies, or when the package is missing.
fn verify_with_reference(secret: &str, hits: &[Hit]) {
    let cases: Vec<Value> = hits
        .iter()
        .map(|h| {
            let headers: serde_json::Map<String, Value> =
                ["webhook-id", "webhook-timestamp", "webhook-signature"]
                    .iter()
                    .map(|k| ((*k).to_owned(), json!(h.headers[*k].to_str().unwrap())))
                    .collect();
            json!({ "headers": headers, "body": h.body })
        })
        .collect();
    let script = r#"
import json, sys
from standardwebhooks import Webhook, WebhookVerificationError
secret, cases = json.load(sys.stdin)
good = Webhook(secret)
bad = Webhook("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=")
for case in cases:
    good.verify(case["body"], case["headers"])
    try:
        bad.verify(case["body"], case["headers"])
        sys.exit("a wrong secret verified")
    except WebhookVerificationError:
        pass
    try:
        good.verify(case["body"] + " ", case["headers"])
        sys.exit("a changed body verified")
    except WebhookVerificationError:
        pass
print("verified", len(cases))
"#;
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 is needed to verify webhook signatures");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(json!([secret, cases]).to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "reference verification failed (pip install standardwebhooks if the module is missing): {stderr}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("verified {}", hits.len())
    );
}

/// Test settings: private destinations allowed (the receiver is on loopback), short
/// timeouts and backoff, 3 failures disable.
fn fast(c: &mut Config) {
    c.webhook_allow_private_destinations = true;
    c.webhook_poll_interval_ms = 100;
    c.webhook_connect_timeout_ms = 1000;
    c.webhook_response_timeout_ms = 1000;
    c.webhook_backoff_base_ms = 50;
    c.webhook_backoff_cap_ms = 200;
    c.webhook_max_failures = 3;
}

const CREATE: &str = "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { secret webhook { id url events enabled status deliveredPosition } } }";
const LIST: &str = "query { webhooks { id enabled status disabledReason consecutiveFailures deliveredPosition recentDeliveries(first: 20) { position eventType attempt success statusCode error } } }";
const UPDATE_HOOK: &str = "mutation($id: ID!, $i: UpdateWebhookInput!) { updateWebhook(id: $id, input: $i) { id enabled status consecutiveFailures disabledReason } }";
const UPDATE_CONTACT: &str =
    "mutation($i: UpdateContactInput!) { updateContact(input: $i) { id version } }";

/// Registers a webhook; returns (id, secret).
async fn create_hook(app: &TestApp, token: &str, url: &str, events: &[&str]) -> (String, String) {
    let data = app
        .ok(
            Some(token),
            CREATE,
            json!({ "i": { "url": url, "events": events } }),
        )
        .await;
    let c = &data["createWebhook"];
    assert_eq!(c["webhook"]["enabled"], true);
    assert_eq!(c["webhook"]["status"], "ACTIVE");
    (
        c["webhook"]["id"].as_str().unwrap().to_owned(),
        c["secret"].as_str().unwrap().to_owned(),
    )
}

async fn hooks(app: &TestApp, token: &str) -> Vec<Value> {
    app.ok(Some(token), LIST, json!({})).await["webhooks"]
        .as_array()
        .unwrap()
        .clone()
}

async fn delivers_signed_events_in_order(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast).await;
    let receiver = Receiver::start().await;
    let (owner, project) = app.sign_up("hooks-owner@example.com").await;
    let before = app
        .create_contact(&owner, json!({ "fullname": "Before" }))
        .await;
    let (_, secret) = create_hook(
        &app,
        &owner,
        &receiver.url,
        &["CONTACT_CREATED", "CONTACT_UPDATED", "CONTACT_MERGED"],
    )
    .await;
    assert!(secret.starts_with("whsec_"), "{secret}");

    let a = app
        .create_contact(&owner, json!({ "fullname": "Ada" }))
        .await;
    app.ok(
        Some(&owner),
        UPDATE_CONTACT,
        json!({ "i": { "id": a["id"], "expectedVersion": a["version"], "email": "ada@example.com" } }),
    )
    .await;
    let b = app
        .create_contact(&owner, json!({ "fullname": "Bea" }))
        .await;
    let merged = app
        .ok(
            Some(&owner),
            "mutation($p: ID!, $s: ID!) { mergeContacts(input: { primaryId: $p, secondaryIds: [$s] }) { mergeId } }",
            json!({ "p": a["id"], "s": b["id"] }),
        )
        .await;

    let got = receiver.wait_accepted(4, Duration::from_secs(20)).await;
    // Merging also updates the survivor's fields / logs MERGED_INTO on the secondary: only
    // subscribed types arrive, MERGED_INTO never.
    let bodies: Vec<Value> = got.iter().map(Hit::json).collect();
    let types: Vec<&str> = bodies.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(
        &types[..3],
        ["contact.created", "contact.updated", "contact.created"],
        "{bodies:#?}"
    );
    assert!(types.contains(&"contact.merged"), "{bodies:#?}");
    assert!(
        types
            .iter()
            .all(|t| ["contact.created", "contact.updated", "contact.merged"].contains(t))
    );
    assert_eq!(bodies[0]["data"]["contactId"], a["id"]);
    assert_eq!(bodies[1]["data"]["contactId"], a["id"]);
    assert_eq!(bodies[1]["data"]["field"], "email");
    assert_eq!(bodies[1]["data"]["after"], "ada@example.com");
    assert_eq!(bodies[2]["data"]["contactId"], b["id"]);
    let m = bodies
        .iter()
        .find(|b| b["type"] == "contact.merged")
        .unwrap();
    assert_eq!(m["data"]["contactId"], a["id"]);
    assert_eq!(m["data"]["survivorId"], a["id"]);
    assert_eq!(m["data"]["mergedIds"], json!([b["id"]]));
    assert_eq!(m["data"]["mergeId"], merged["mergeContacts"]["mergeId"]);
    for body in &bodies {
        assert_eq!(body["data"]["projectId"], project.as_str());
        assert_ne!(
            body["data"]["contactId"], before["id"],
            "an event from before the webhook"
        );
        assert!(body["data"]["actorId"].is_string());
        chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).unwrap();
    }
    // Strictly increasing positions (decimal strings), distinct stable ids.
    let positions: Vec<i64> = bodies
        .iter()
        .map(|b| b["data"]["position"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    let mut ids: Vec<String> = got.iter().map(Hit::id).collect();
    assert!(ids.iter().all(|id| id.starts_with("msg_")));
    ids.dedup();
    assert_eq!(ids.len(), got.len());
    for h in &got {
        assert_eq!(h.headers["content-type"], "application/json");
        assert!(
            h.headers["webhook-signature"]
                .to_str()
                .unwrap()
                .starts_with("v1,")
        );
    }
    verify_with_reference(&secret, &got);

    // The endpoint's status shows the deliveries.
    let list = hooks(&app, &owner).await;
    assert_eq!(list.len(), 1);
    let deliveries = list[0]["recentDeliveries"].as_array().unwrap();
    assert!(deliveries.len() >= 4, "{list:#?}");
    assert!(
        deliveries
            .iter()
            .all(|d| d["success"] == true && d["statusCode"] == 200)
    );
    assert_eq!(list[0]["status"], "ACTIVE");
}
db_test!(delivers_signed_events_in_order);

async fn retries_after_a_500_and_a_timeout_losing_nothing(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast).await;
    let receiver = Receiver::start().await;
    receiver.plan([
        Reply::Status(500),
        Reply::Sleep(Duration::from_millis(2500)),
    ]);
    let (owner, _) = app.sign_up("retry-owner@example.com").await;
    let (_, secret) = create_hook(&app, &owner, &receiver.url, &["CONTACT_CREATED"]).await;
    let mut contacts = Vec::new();
    for name in ["One", "Two", "Three"] {
        contacts.push(
            app.create_contact(&owner, json!({ "fullname": name }))
                .await["id"]
                .clone(),
        );
    }
    let got = receiver.wait_accepted(3, Duration::from_secs(30)).await;
    let delivered: Vec<Value> = got
        .iter()
        .map(|h| h.json()["data"]["contactId"].clone())
        .collect();
    assert_eq!(delivered, contacts, "in order, none lost, none twice");
    let hits = receiver.hits();
    assert_eq!(hits[0].reply, Reply::Status(500));
    assert!(matches!(hits[1].reply, Reply::Sleep(_)));
    // The retries are the same message (same webhook-id: receivers dedupe on it).
    assert_eq!(hits[0].id(), hits[1].id());
    assert_eq!(hits[1].id(), got[0].id());
    verify_with_reference(&secret, &hits[..3]);

    let list = hooks(&app, &owner).await;
    let d = list[0]["recentDeliveries"].as_array().unwrap();
    // Newest first: ..., success (attempt 3), timeout (attempt 2), HTTP 500 (attempt 1).
    let first_event: Vec<&Value> = d
        .iter()
        .filter(|x| x["position"] == d.last().unwrap()["position"])
        .collect();
    assert_eq!(first_event.len(), 3, "{d:#?}");
    assert_eq!(first_event[2]["attempt"], 1);
    assert_eq!(first_event[2]["statusCode"], 500);
    assert_eq!(first_event[2]["error"], "HTTP 500");
    assert_eq!(first_event[1]["attempt"], 2);
    assert!(first_event[1]["statusCode"].is_null());
    assert!(
        first_event[1]["error"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{d:#?}"
    );
    assert_eq!(first_event[0]["attempt"], 3);
    assert_eq!(first_event[0]["success"], true);
    assert_eq!(list[0]["consecutiveFailures"], 0);
}
db_test!(retries_after_a_500_and_a_timeout_losing_nothing);

async fn disables_after_max_failures_and_re_enables(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast).await;
    let receiver = Receiver::start().await;
    receiver.answer_by_default(Reply::Status(503));
    let (owner, _) = app.sign_up("disable-owner@example.com").await;
    let (id, _) = create_hook(&app, &owner, &receiver.url, &["CONTACT_CREATED"]).await;
    let first = app
        .create_contact(&owner, json!({ "fullname": "First" }))
        .await;
    receiver.wait_hits(3, Duration::from_secs(20)).await;
    // Disabled after the 3rd failure: no 4th attempt, later events wait.
    let deadline = Instant::now() + Duration::from_secs(10);
    let hook = loop {
        let list = hooks(&app, &owner).await;
        if list[0]["enabled"] == false {
            break list[0].clone();
        }
        assert!(Instant::now() < deadline, "not disabled: {list:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(hook["status"], "DISABLED");
    assert_eq!(hook["consecutiveFailures"], 3);
    assert!(
        hook["disabledReason"]
            .as_str()
            .unwrap()
            .contains("3 consecutive failed attempts"),
        "{hook:#?}"
    );
    let second = app
        .create_contact(&owner, json!({ "fullname": "Second" }))
        .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        receiver.hits().len(),
        3,
        "a disabled endpoint got a request"
    );

    // An admin re-enables it: both events arrive, in order.
    receiver.answer_by_default(Reply::Status(200));
    let updated = app
        .ok(
            Some(&owner),
            UPDATE_HOOK,
            json!({ "id": id, "i": { "enabled": true } }),
        )
        .await;
    assert_eq!(updated["updateWebhook"]["status"], "ACTIVE");
    assert_eq!(updated["updateWebhook"]["consecutiveFailures"], 0);
    assert!(updated["updateWebhook"]["disabledReason"].is_null());
    let got = receiver.wait_accepted(2, Duration::from_secs(20)).await;
    let ids: Vec<Value> = got
        .iter()
        .map(|h| h.json()["data"]["contactId"].clone())
        .collect();
    assert_eq!(ids, [first["id"].clone(), second["id"].clone()]);
}
db_test!(disables_after_max_failures_and_re_enables);

async fn ssrf_guard_refuses_private_destinations_by_default(backend: Backend) {
    // The default settings: private destinations refused.
    let app = TestApp::spawn_with(backend, |c| {
        c.webhook_poll_interval_ms = 100;
        c.webhook_backoff_base_ms = 50;
        c.webhook_backoff_cap_ms = 100;
    })
    .await;
    let (owner, _) = app.sign_up("ssrf-owner@example.com").await;
    for url in [
        "http://127.0.0.1/hook",
        "http://127.0.0.1:8080/x",
        "http://10.0.0.8/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://0.0.0.0/x",
        "http://100.64.0.1/x",
        "ftp://example.com/x",
        "not a url",
    ] {
        let body = app
            .gql(
                Some(&owner),
                CREATE,
                json!({ "i": { "url": url, "events": ["CONTACT_CREATED"] } }),
            )
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{url}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["field"], "url",
            "{url}: {body}"
        );
    }
    let body = app
        .gql(
            Some(&owner),
            CREATE,
            json!({ "i": { "url": "https://hooks.invalid/x", "events": [] } }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "events");
    assert_eq!(app.count_rows("webhook").await, 0);

    // A host name is checked when delivering: `localhost` resolves to loopback, refused.
    let receiver = Receiver::start().await;
    let url = format!("http://localhost:{}/hook", receiver.port);
    create_hook(&app, &owner, &url, &["CONTACT_CREATED"]).await;
    app.create_contact(&owner, json!({ "fullname": "Guarded" }))
        .await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let error = loop {
        let list = hooks(&app, &owner).await;
        if let Some(d) = list[0]["recentDeliveries"].as_array().unwrap().first() {
            break d["error"].as_str().unwrap_or_default().to_owned();
        }
        assert!(Instant::now() < deadline, "no attempt recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(error.contains("SSRF guard"), "{error}");
    assert!(error.contains("localhost"), "{error}");
    assert!(
        receiver.hits().is_empty(),
        "the guard let a request through"
    );
}
db_test!(ssrf_guard_refuses_private_destinations_by_default);

async fn a_rolled_back_write_sends_nothing(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast).await;
    let receiver = Receiver::start().await;
    let (owner, project) = app.sign_up("rollback-owner@example.com").await;
    create_hook(&app, &owner, &receiver.url, &["CONTACT_CREATED"]).await;
    // A write that logs CREATED, then rolls back (as a failing --strict import does).
    let scope = contacts_server::service::ProjectScope::operator(project.parse().unwrap());
    let txn = contacts_server::service::begin_write(&app.db)
        .await
        .unwrap();
    let row = contacts_server::service::transfer::ImportContact {
        lead_id: Some("rolled-back".into()),
        ..Default::default()
    }
    .validate(&Default::default())
    .unwrap();
    let (_, rolled) = contacts_server::service::transfer::upsert(&txn, scope, row)
        .await
        .unwrap();
    txn.write_journal().await.unwrap();
    txn.rollback().await.unwrap();
    contacts_server::service::events::ring(scope.project_id);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(receiver.hits().is_empty(), "a rolled-back event was sent");
    let kept = app
        .create_contact(&owner, json!({ "fullname": "Kept" }))
        .await;
    let got = receiver.wait_accepted(1, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all = receiver.hits();
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(got[0].json()["data"]["contactId"], kept["id"]);
    assert_ne!(
        got[0].json()["data"]["contactId"],
        rolled.id.to_string().as_str()
    );
}
db_test!(a_rolled_back_write_sends_nothing);

async fn a_delivery_after_erasure_carries_no_erased_value(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast).await;
    let receiver = Receiver::start().await;
    let (owner, _) = app.sign_up("erase-owner@example.com").await;
    let (id, _) = create_hook(
        &app,
        &owner,
        &receiver.url,
        &["CONTACT_CREATED", "CONTACT_UPDATED", "CONTACT_ERASED"],
    )
    .await;
    // Paused while the contact lives and is erased: its events wait in the log.
    app.ok(
        Some(&owner),
        UPDATE_HOOK,
        json!({ "id": id, "i": { "enabled": false } }),
    )
    .await;
    let c = app
        .create_contact(
            &owner,
            json!({ "fullname": "Erin Secret", "email": "erin.secret@example.com" }),
        )
        .await;
    app.ok(
        Some(&owner),
        UPDATE_CONTACT,
        json!({ "i": { "id": c["id"], "expectedVersion": c["version"], "phone": "+390669881234", "company": "Secret Corp" } }),
    )
    .await;
    app.ok(
        Some(&owner),
        "mutation($i: ContactIdInput!) { eraseContact(input: $i) { id } }",
        json!({ "i": { "id": c["id"] } }),
    )
    .await;
    app.ok(
        Some(&owner),
        UPDATE_HOOK,
        json!({ "id": id, "i": { "enabled": true } }),
    )
    .await;
    let got = receiver.wait_accepted(1, Duration::from_secs(20)).await;
    // Wait for the whole backlog (created, updated ×2, erased; erasure's own field changes
    // are not logged as updates).
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut all = got;
    while !all.iter().any(|h| h.json()["type"] == "contact.erased") {
        assert!(Instant::now() < deadline, "no contact.erased delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
        all = receiver.accepted();
    }
    assert!(all.iter().any(|h| h.json()["type"] == "contact.updated"));
    for hit in &all {
        for secret in ["Erin", "Secret", "erin.secret", "390669881234", "Corp"] {
            assert!(
                !hit.body.contains(secret),
                "erased value {secret} delivered: {}",
                hit.body
            );
        }
    }
}
db_test!(a_delivery_after_erasure_carries_no_erased_value);

async fn webhooks_are_admin_only_and_project_scoped(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast).await;
    let (owner, project) = app.sign_up("scope-owner@example.com").await;
    let agent = app
        .member(&project, "scope-agent@example.com", "AGENT")
        .await;
    let admin = app
        .member(&project, "scope-admin@example.com", "ADMIN")
        .await;
    let (visitor, _) = app.visitor(&project).await;
    let (other, _) = app.sign_up("scope-other@example.com").await;
    let (id, _) = create_hook(
        &app,
        &admin,
        "https://hooks.invalid/a",
        &["CONTACT_CREATED"],
    )
    .await;
    for token in [&agent, &visitor] {
        for (doc, vars) in [
            (LIST, json!({})),
            (
                CREATE,
                json!({ "i": { "url": "https://hooks.invalid/b", "events": ["CONTACT_CREATED"] } }),
            ),
            (UPDATE_HOOK, json!({ "id": id, "i": { "enabled": false } })),
            (
                "mutation($id: ID!) { deleteWebhook(id: $id) { deletedWebhookId } }",
                json!({ "id": id }),
            ),
        ] {
            let body = app.gql(Some(token), doc, vars).await;
            assert_eq!(code(&body), "FORBIDDEN", "{doc}: {body}");
        }
    }
    // Another project's owner: the endpoint does not exist there.
    let body = app
        .gql(
            Some(&other),
            UPDATE_HOOK,
            json!({ "id": id, "i": { "enabled": false } }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    let body = app
        .gql(
            Some(&other),
            "mutation($id: ID!) { deleteWebhook(id: $id) { deletedWebhookId } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    assert!(hooks(&app, &other).await.is_empty());
    // The secret is never shown again; the owner sees the admin's endpoint.
    let list = app
        .ok(
            Some(&owner),
            "query { webhooks { id url events } }",
            json!({}),
        )
        .await;
    assert_eq!(list["webhooks"][0]["id"], id.as_str());
    assert_eq!(list["webhooks"][0]["events"], json!(["CONTACT_CREATED"]));
    let body = app
        .gql(Some(&owner), "query { webhooks { secret } }", json!({}))
        .await;
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED");
    // Update (events, url) and delete.
    let updated = app
        .ok(
            Some(&owner),
            "mutation($id: ID!) { updateWebhook(id: $id, input: { url: \"https://hooks.invalid/c\", events: [CONTACT_DELETED, CONTACT_DELETED, REQUEST_CREATED] }) { url events } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(updated["updateWebhook"]["url"], "https://hooks.invalid/c");
    assert_eq!(
        updated["updateWebhook"]["events"],
        json!(["CONTACT_DELETED", "REQUEST_CREATED"])
    );
    let deleted = app
        .ok(
            Some(&owner),
            "mutation($id: ID!) { deleteWebhook(id: $id) { deletedWebhookId } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(deleted["deleteWebhook"]["deletedWebhookId"], id.as_str());
    assert!(hooks(&app, &owner).await.is_empty());
    let body = app
        .gql(
            Some(&owner),
            "mutation($id: ID!) { deleteWebhook(id: $id) { deletedWebhookId } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
}
db_test!(webhooks_are_admin_only_and_project_scoped);

/// The real binary over `db`, with the receiver-friendly webhook settings.
fn start_binary(db: &TestDb, port: u16) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_contacts-server"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &db.url)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("JWT_SECRET", TEST_SECRET)
        .env("RUST_LOG", "warn")
        .env("WEBHOOK_ALLOW_PRIVATE_DESTINATIONS", "true")
        .env("WEBHOOK_POLL_INTERVAL_MS", "100")
        .env("WEBHOOK_CONNECT_TIMEOUT_MS", "1000")
        .env("WEBHOOK_RESPONSE_TIMEOUT_MS", "2000")
        .env("WEBHOOK_BACKOFF_BASE_MS", "50")
        .env("WEBHOOK_BACKOFF_CAP_MS", "100")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap()
}

async fn wait_healthy(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/health")).await
            && r.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post(base: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let body: Value = req.send().await.unwrap().json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body:#}");
    body["data"].clone()
}

/// kill -9 while the receiver holds the first request open: after a restart (and the dead
/// instance's lease expiring) the event is delivered, and a later one after it.
async fn kill_9_mid_delivery_then_delivered_after_restart(backend: Backend) {
    let db = TestDb::new(backend).await;
    let receiver = Receiver::start().await;
    receiver.plan([Reply::Sleep(Duration::from_secs(30))]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start_binary(&db, port);
    wait_healthy(&base).await;
    let signed = post(
        &base,
        None,
        "mutation { signUp(input: { email: \"kill@example.com\", password: \"correct horse\", projectName: \"K\" }) { token } }",
        json!({}),
    )
    .await;
    let token = signed["signUp"]["token"].as_str().unwrap().to_owned();
    post(
        &base,
        Some(&token),
        CREATE,
        json!({ "i": { "url": receiver.url, "events": ["CONTACT_CREATED"] } }),
    )
    .await;
    let first = post(
        &base,
        Some(&token),
        "mutation { createContact(input: { fullname: \"Held\" }) { id } }",
        json!({}),
    )
    .await;
    let held = receiver.wait_hits(1, Duration::from_secs(20)).await;
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();

    let mut server = start_binary(&db, port);
    wait_healthy(&base).await;
    let second = post(
        &base,
        Some(&token),
        "mutation { createContact(input: { fullname: \"After\" }) { id } }",
        json!({}),
    )
    .await;
    // The lease of the killed instance (connect + response timeout + 5 s) must expire first.
    let got = receiver.wait_accepted(2, Duration::from_secs(40)).await;
    server.kill().unwrap();
    server.wait().unwrap();
    let ids: Vec<Value> = got
        .iter()
        .map(|h| h.json()["data"]["contactId"].clone())
        .collect();
    assert_eq!(
        ids,
        [
            first["createContact"]["id"].clone(),
            second["createContact"]["id"].clone()
        ]
    );
    assert_eq!(
        got[0].id(),
        held[0].id(),
        "the redelivery reuses the webhook-id"
    );
}
db_test!(kill_9_mid_delivery_then_delivered_after_restart);

/// Two server instances over one database: every event is delivered once, by one of them,
/// in order.
async fn two_instances_deliver_each_event_once(backend: Backend) {
    contacts_server::telemetry::init();
    let db = TestDb::new(backend).await;
    let receiver = Receiver::start().await;
    let mut bases = Vec::new();
    for _ in 0..2 {
        let mut config = Config::defaults();
        config.database_url = db.url.clone();
        config.bind = "127.0.0.1:0".parse().unwrap();
        config.jwt_secret = Some(TEST_SECRET.into());
        config.db_max_connections = 4;
        config.rate_limit_mutations_per_min = 0;
        config.rate_limit_sign_in_per_min = 0;
        fast(&mut config);
        let app = contacts_server::Application::build(config).await.unwrap();
        bases.push(format!("http://{}", app.local_addr()));
        tokio::spawn(app.run_until_stopped(std::future::pending()));
    }
    let signed = post(
        &bases[0],
        None,
        "mutation { signUp(input: { email: \"two@example.com\", password: \"correct horse\", projectName: \"T\" }) { token } }",
        json!({}),
    )
    .await;
    let token = signed["signUp"]["token"].as_str().unwrap().to_owned();
    post(
        &bases[1],
        Some(&token),
        CREATE,
        json!({ "i": { "url": receiver.url, "events": ["CONTACT_CREATED"] } }),
    )
    .await;
    let mut expected = Vec::new();
    for i in 0..30 {
        let made = post(
            &bases[i % 2],
            Some(&token),
            "mutation($n: String!) { createContact(input: { fullname: $n }) { id } }",
            json!({ "n": format!("C{i}") }),
        )
        .await;
        expected.push(made["createContact"]["id"].clone());
    }
    let got = receiver.wait_accepted(30, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = receiver.hits();
    assert_eq!(all.len(), 30, "an event was delivered twice or more");
    let ids: Vec<Value> = got
        .iter()
        .map(|h| h.json()["data"]["contactId"].clone())
        .collect();
    assert_eq!(ids, expected, "in log order");
}
db_test!(two_instances_deliver_each_event_once);

/// `rotateWebhookSecret`: the next deliveries are signed with the new secret only.
async fn a_rotated_secret_signs_the_next_deliveries(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast).await;
    let receiver = Receiver::start().await;
    let (owner, _) = app.sign_up("rotate-owner@example.com").await;
    let (id, old) = create_hook(&app, &owner, &receiver.url, &["CONTACT_CREATED"]).await;
    let rotated = app
        .ok(
            Some(&owner),
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret webhook { id } } }",
            json!({ "id": id }),
        )
        .await;
    let new = rotated["rotateWebhookSecret"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(new.starts_with("whsec_") && new != old);
    app.create_contact(&owner, json!({ "fullname": "Rotated" }))
        .await;
    let got = receiver.wait_accepted(1, Duration::from_secs(20)).await;
    verify_with_reference(&new, &got);
    let stale = standardwebhooks::Webhook::new(&old).unwrap();
    assert!(
        stale
            .verify(got[0].body.as_bytes(), &got[0].headers)
            .is_err()
    );
    let body = app
        .gql(
            Some(&owner),
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }",
            json!({ "id": uuid::Uuid::new_v4().to_string() }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
}
db_test!(a_rotated_secret_signs_the_next_deliveries);
