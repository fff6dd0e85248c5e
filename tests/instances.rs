//! Several server processes over one PostgreSQL database: an event committed through one
//! instance reaches a subscriber of another (`LISTEN/NOTIFY` rings, the log delivers), and a
//! client whose instance died resumes on another from its last position without loss or
//! repetition.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};

#[path = "support/mod.rs"]
mod support;

use support::process::ServerProcess;
use support::ws::{TRANSPORT_WS, Ws};
use support::{Backend, TestDb};

const EVENTS: &str = "subscription($after: String) { contactEvents(after: $after) { position kind contactId field after } }";

/// One server process on a free port.
struct Instance(ServerProcess);

impl std::ops::Deref for Instance {
    type Target = ServerProcess;
    fn deref(&self) -> &ServerProcess {
        &self.0
    }
}

impl Instance {
    async fn start(url: &str) -> Self {
        // Only the doorbell may deliver quickly: the safety-net poll is set far out.
        Self(ServerProcess::start(url, &[("EVENT_POLL_MS", "600000")]).await)
    }

    async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req = reqwest::Client::new()
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let body: Value = req.send().await.unwrap().json().await.unwrap();
        assert!(body.get("errors").is_none(), "{body:#}");
        body["data"].clone()
    }

    async fn create_contact(&self, token: &str, name: &str) -> Value {
        self.gql(
            Some(token),
            "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }",
            json!({ "i": { "fullname": name } }),
        )
        .await["createContact"]["id"]
            .clone()
    }

    fn kill(mut self) {
        self.0.child.kill().unwrap();
        self.0.child.wait().unwrap();
    }
}

async fn event(ws: &mut Ws) -> Value {
    let payload = ws.payload().await;
    assert!(payload.get("errors").is_none(), "{payload}");
    payload["data"]["contactEvents"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_on_one_instance_reaches_a_subscriber_of_another_and_resumes_on_a_third() {
    let db = TestDb::new(Backend::Postgres).await;
    let a = Instance::start(&db.url).await;
    let b = Instance::start(&db.url).await;
    let signed = a
        .gql(
            None,
            "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
            json!({ "i": { "email": "owner@example.com", "password": "correct horse", "fullname": "Agent", "projectName": "P" } }),
        )
        .await;
    let token = signed["signUp"]["token"].as_str().unwrap().to_owned();

    let mut on_a = Ws::connect(&a.base, TRANSPORT_WS).await;
    on_a.init_with(&token).await;
    on_a.subscribe("1", EVENTS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Written through B, seen on A (the poll is 10 minutes away: NOTIFY did it).
    let first = b.create_contact(&token, "Ada").await;
    let created = event(&mut on_a).await;
    assert_eq!(created["kind"], "CREATED");
    assert_eq!(created["contactId"], first);
    let last: i64 = created["position"].as_str().unwrap().parse().unwrap();

    // A dies; two more changes land through B meanwhile.
    drop(on_a);
    a.kill();
    let second = b.create_contact(&token, "Grace").await;
    let third = b.create_contact(&token, "Hopper").await;

    // The client reconnects to B with its last position: both missed events, in order, once.
    let mut on_b = Ws::connect(&b.base, TRANSPORT_WS).await;
    on_b.init_with(&token).await;
    on_b.subscribe("2", EVENTS, json!({ "after": last.to_string() }))
        .await;
    let missed = [event(&mut on_b).await, event(&mut on_b).await];
    assert_eq!(missed[0]["contactId"], second);
    assert_eq!(missed[1]["contactId"], third);
    assert_eq!(missed[0]["position"], json!((last + 1).to_string()));
    assert_eq!(missed[1]["position"], json!((last + 2).to_string()));

    // And live across instances again: a third process writes, B's subscriber sees it.
    let c = Instance::start(&db.url).await;
    let fourth = c.create_contact(&token, "Lovelace").await;
    let live = event(&mut on_b).await;
    assert_eq!(live["contactId"], fourth);
    assert_eq!(live["position"], json!((last + 3).to_string()));
    on_b.quiet(Duration::from_millis(500)).await;
}
