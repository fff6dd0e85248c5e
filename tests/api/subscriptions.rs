//! Subscriptions over WebSocket: live events and replay from a position, both protocols,
//! the socket's authentication and close codes, its caps, a visitor's narrow view, rollback
//! and erasure.

use std::time::Duration;

use contacts_server::service::store::timeline::{self, NewEvent};
use contacts_server::service::{ProjectScope, begin_write};
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, db_test};
use crate::support::ws::{LEGACY_WS, Next, TRANSPORT_WS, Ws};

const AGENT_EVENTS: &str = "subscription($after: String, $kinds: [ContactEventKind!], $contact: ID) { contactEvents(after: $after, kinds: $kinds, contactId: $contact) { position kind contactId field after requestId actorId } }";
const VISITOR_EVENTS: &str =
    "subscription($after: String) { visitorEvents(after: $after) { position kind requestId } }";
const RENAME: &str = "mutation($i: UpdateContactInput!) { updateContact(input: $i) { id } }";

async fn rename(app: &TestApp, agent: &str, id: &Value, name: &str) {
    let version = app
        .ok(
            Some(agent),
            "query($id: ID!) { contact(id: $id) { version } }",
            json!({ "id": id }),
        )
        .await["contact"]["version"]
        .clone();
    app.ok(
        Some(agent),
        RENAME,
        json!({ "i": { "id": id, "fullname": name, "expectedVersion": version } }),
    )
    .await;
}

/// The next event of subscription `contactEvents` (asserting no errors).
async fn event(ws: &mut Ws) -> Value {
    let payload = ws.payload().await;
    assert!(payload.get("errors").is_none(), "{payload}");
    payload["data"]["contactEvents"].clone()
}

/// The `extensions.code` of a refused subscription: graphql-ws sends a resolver's error as
/// `next` (then `complete`, consumed here), a validation error as `error`.
async fn refused_code(ws: &mut Ws, id: &str) -> String {
    let message = ws.message().await;
    assert_eq!(message["id"], id, "{message}");
    let error = match message["type"].as_str() {
        Some("next") => {
            let done = ws.message().await;
            assert_eq!(done["type"], "complete", "{done}");
            message["payload"]["errors"][0].clone()
        }
        _ => message["payload"][0].clone(),
    };
    error["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn position(event: &Value) -> i64 {
    event["position"].as_str().unwrap().parse().unwrap()
}

async fn agent_gets_events_live_then_resumes_without_loss(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let mut ws = Ws::connect(&app.base, TRANSPORT_WS).await;
    ws.init_with(&agent).await;
    ws.subscribe("1", AGENT_EVENTS, json!({})).await;
    // The subscription is registered once the server read the message; give it a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let (visitor, visitor_id) = app.visitor(&project).await;
    let made = app.create_request(&visitor, "hello").await;
    let contact = made["contact"]["id"].clone();
    let created = event(&mut ws).await;
    assert_eq!(created["kind"], "CREATED");
    assert_eq!(created["contactId"], contact);
    let opened = event(&mut ws).await;
    assert_eq!(opened["kind"], "REQUEST_CREATED");
    assert_eq!(opened["requestId"], made["request"]["id"]);
    assert_eq!(opened["actorId"], json!(visitor_id));
    assert_eq!(position(&opened), position(&created) + 1);

    rename(&app, &agent, &contact, "Ada").await;
    let renamed = event(&mut ws).await;
    assert_eq!(renamed["kind"], "FIELD_CHANGED");
    assert_eq!(renamed["field"], "fullname");
    assert_eq!(renamed["after"], "Ada");
    let last_seen = position(&renamed);
    ws.close().await;

    // Changes while no one listens, then a resume from the last position seen.
    rename(&app, &agent, &contact, "Grace").await;
    app.create_request(&visitor, "again").await;
    let mut ws = Ws::connect(&app.base, TRANSPORT_WS).await;
    ws.init_with(&agent).await;
    ws.subscribe("2", AGENT_EVENTS, json!({ "after": last_seen.to_string() }))
        .await;
    let missed = [event(&mut ws).await, event(&mut ws).await];
    assert_eq!(missed[0]["kind"], "FIELD_CHANGED");
    assert_eq!(missed[0]["after"], "Grace");
    assert_eq!(missed[1]["kind"], "REQUEST_CREATED");
    assert_eq!(position(&missed[0]), last_seen + 1);
    assert_eq!(position(&missed[1]), last_seen + 2);
    // Then live, with nothing replayed twice.
    rename(&app, &agent, &contact, "Hopper").await;
    let live = event(&mut ws).await;
    assert_eq!(live["after"], "Hopper");
    assert_eq!(position(&live), last_seen + 3);
    ws.quiet(Duration::from_millis(500)).await;

    // Filters: only FIELD_CHANGED of this contact.
    let mut narrow = Ws::connect(&app.base, TRANSPORT_WS).await;
    narrow.init_with(&agent).await;
    narrow
        .subscribe(
            "3",
            AGENT_EVENTS,
            json!({ "after": "0", "kinds": ["FIELD_CHANGED"], "contact": contact }),
        )
        .await;
    let names: Vec<Value> = [
        event(&mut narrow).await,
        event(&mut narrow).await,
        event(&mut narrow).await,
    ]
    .iter()
    .map(|e| e["after"].clone())
    .collect();
    assert_eq!(names, [json!("Ada"), json!("Grace"), json!("Hopper")]);
    narrow.quiet(Duration::from_millis(300)).await;
}
db_test!(agent_gets_events_live_then_resumes_without_loss);

async fn legacy_protocol_carries_the_same_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let mut ws = Ws::connect(&app.base, LEGACY_WS).await;
    ws.init_with(&agent).await;
    ws.subscribe("a", AGENT_EVENTS, json!({ "after": "0" }))
        .await;
    let (visitor, _) = app.visitor(&project).await;
    app.create_request(&visitor, "hello").await;
    let payload = ws.payload().await;
    assert_eq!(payload["data"]["contactEvents"]["kind"], "CREATED");
}
db_test!(legacy_protocol_carries_the_same_events);

async fn the_socket_checks_its_token_and_closes_with_codes(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.ws_init_timeout_secs = 1;
        c.ws_max_connections_per_token = 1;
        c.ws_max_subscriptions_per_connection = 1;
    })
    .await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let (other_agent, _) = app.sign_up("other@example.com").await;

    for payload in [
        json!({}),
        json!({ "Authorization": "Bearer not.a.token" }),
        json!({ "Authorization": format!("Bearer {}x", &agent[..agent.len() - 1]) }),
    ] {
        let mut ws = Ws::connect(&app.base, TRANSPORT_WS).await;
        match ws.init(payload.clone()).await {
            Next::Closed(code, _) => assert_eq!(code, 4403, "{payload}"),
            other => panic!("{payload}: expected close 4403, got {other:?}"),
        }
    }
    // No connection_init at all.
    let mut silent = Ws::connect(&app.base, TRANSPORT_WS).await;
    assert_eq!(silent.close_code().await.0, 4408);

    // One connection per user: a second one of the same agent is refused, another user's is not.
    let mut first = Ws::connect(&app.base, TRANSPORT_WS).await;
    first.init_with(&agent).await;
    let mut second = Ws::connect(&app.base, TRANSPORT_WS).await;
    match second
        .init(json!({ "Authorization": format!("Bearer {agent}") }))
        .await
    {
        Next::Closed(code, _) => assert_eq!(code, 4429),
        other => panic!("expected close 4429, got {other:?}"),
    }
    let mut other = Ws::connect(&app.base, TRANSPORT_WS).await;
    other.init_with(&other_agent).await;

    // One subscription per connection.
    first.subscribe("1", AGENT_EVENTS, json!({})).await;
    first.subscribe("2", AGENT_EVENTS, json!({})).await;
    assert_eq!(
        refused_code(&mut first, "2").await,
        "TOO_MANY_SUBSCRIPTIONS"
    );

    // Roles: a visitor cannot subscribe to the agents' events, nor an agent to a visitor's.
    let (visitor, _) = app.visitor(&project).await;
    let mut as_visitor = Ws::connect(&app.base, TRANSPORT_WS).await;
    as_visitor.init_with(&visitor).await;
    as_visitor.subscribe("v", AGENT_EVENTS, json!({})).await;
    assert_eq!(refused_code(&mut as_visitor, "v").await, "FORBIDDEN");
    other.subscribe("a", VISITOR_EVENTS, json!({})).await;
    assert_eq!(refused_code(&mut other, "a").await, "FORBIDDEN");
    other
        .subscribe("b", AGENT_EVENTS, json!({ "after": "-1" }))
        .await;
    assert_eq!(refused_code(&mut other, "b").await, "BAD_USER_INPUT");
    // A query document that does not validate.
    other
        .subscribe("c", "subscription { contactEvents { nope } }", json!({}))
        .await;
    assert_eq!(
        refused_code(&mut other, "c").await,
        "GRAPHQL_VALIDATION_FAILED"
    );
}
db_test!(the_socket_checks_its_token_and_closes_with_codes);

async fn an_expiring_token_closes_the_socket(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.agent_token_ttl_secs = 2).await;
    let (agent, _) = app.sign_up("owner@example.com").await;
    let mut ws = Ws::connect(&app.base, TRANSPORT_WS).await;
    ws.init_with(&agent).await;
    ws.subscribe("1", AGENT_EVENTS, json!({})).await;
    let (code, reason) = ws.close_code().await;
    assert_eq!((code, reason.as_str()), (4403, "token expired"));
}
db_test!(an_expiring_token_closes_the_socket);

async fn a_visitor_sees_only_its_own_requests(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let (alice, _) = app.visitor(&project).await;
    let (bob, _) = app.visitor(&project).await;
    let first = app.create_request(&alice, "first").await;
    let mut ws = Ws::connect(&app.base, TRANSPORT_WS).await;
    ws.init_with(&alice).await;
    ws.subscribe("1", VISITOR_EVENTS, json!({ "after": "0" }))
        .await;
    let replayed = ws.payload().await["data"]["visitorEvents"].clone();
    assert_eq!(replayed["kind"], "REQUEST_CREATED");
    assert_eq!(replayed["requestId"], first["request"]["id"]);
    // Another visitor's request and an agent's edit of Alice's contact: nothing for Alice.
    app.create_request(&bob, "bob's").await;
    rename(&app, &agent, &first["contact"]["id"], "Alice").await;
    let second = app.create_request(&alice, "second").await;
    let live = ws.payload().await["data"]["visitorEvents"].clone();
    assert_eq!(live["requestId"], second["request"]["id"]);
    ws.quiet(Duration::from_millis(500)).await;
}
db_test!(a_visitor_sees_only_its_own_requests);

async fn another_projects_events_never_arrive(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, _) = app.sign_up("owner@example.com").await;
    let (_, other_project) = app.sign_up("other@example.com").await;
    let mut ws = Ws::connect(&app.base, TRANSPORT_WS).await;
    ws.init_with(&agent).await;
    ws.subscribe("1", AGENT_EVENTS, json!({ "after": "0" }))
        .await;
    let (visitor, _) = app.visitor(&other_project).await;
    app.create_request(&visitor, "elsewhere").await;
    ws.quiet(Duration::from_millis(800)).await;
}
db_test!(another_projects_events_never_arrive);

async fn a_rolled_back_change_emits_nothing_and_takes_no_position(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let (visitor, _) = app.visitor(&project).await;
    let made = app.create_request(&visitor, "hello").await;
    let contact = made["contact"]["id"].clone();
    let scope = ProjectScope::operator(project.parse().unwrap());
    let head = timeline::head(&app.db, scope).await.unwrap();
    assert_eq!(head, 2);
    let mut ws = Ws::connect(&app.base, TRANSPORT_WS).await;
    ws.init_with(&agent).await;
    ws.subscribe("1", AGENT_EVENTS, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // An event written and rolled back.
    let txn = begin_write(&app.db).await.unwrap();
    timeline::record(
        &txn,
        scope,
        contact.as_str().unwrap().parse().unwrap(),
        None,
        vec![NewEvent::bare(timeline::EventKind::Deleted)],
    );
    txn.write_journal().await.unwrap();
    assert_eq!(timeline::head(&txn, scope).await.unwrap(), head + 1);
    txn.rollback().await.unwrap();
    contacts_server::service::events::ring(scope.project_id);
    ws.quiet(Duration::from_millis(500)).await;
    assert_eq!(timeline::head(&app.db, scope).await.unwrap(), head);

    rename(&app, &agent, &contact, "Ada").await;
    let next = event(&mut ws).await;
    assert_eq!(next["kind"], "FIELD_CHANGED");
    assert_eq!(position(&next), head + 1);
}
db_test!(a_rolled_back_change_emits_nothing_and_takes_no_position);

/// A savepoint's events join its transaction's journal when it is released and are forgotten
/// when it rolls back; the transaction writes what remains, in the order recorded, at commit.
async fn a_savepoint_hands_its_events_to_its_transaction(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, project) = app.sign_up("owner@example.com").await;
    let (visitor, _) = app.visitor(&project).await;
    let made = app.create_request(&visitor, "hello").await;
    let contact: uuid::Uuid = made["contact"]["id"].as_str().unwrap().parse().unwrap();
    let scope = ProjectScope::operator(project.parse().unwrap());
    let head = timeline::head(&app.db, scope).await.unwrap();
    let txn = begin_write(&app.db).await.unwrap();
    let kept = txn.savepoint().await.unwrap();
    timeline::record(
        &kept,
        scope,
        contact,
        None,
        vec![NewEvent::bare(timeline::EventKind::Deleted)],
    );
    kept.commit().await.unwrap();
    let dropped = txn.savepoint().await.unwrap();
    timeline::record(
        &dropped,
        scope,
        contact,
        None,
        vec![NewEvent::bare(timeline::EventKind::Erased)],
    );
    dropped.rollback().await.unwrap();
    timeline::record(
        &txn,
        scope,
        contact,
        None,
        vec![NewEvent::bare(timeline::EventKind::Restored)],
    );
    txn.commit().await.unwrap();
    let events = timeline::after(&app.db, scope, head, 10).await.unwrap();
    let kinds: Vec<(i64, timeline::EventKind)> =
        events.iter().map(|e| (e.position, e.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (head + 1, timeline::EventKind::Deleted),
            (head + 2, timeline::EventKind::Restored)
        ]
    );
    assert_eq!(timeline::head(&app.db, scope).await.unwrap(), head + 2);
}
db_test!(a_savepoint_hands_its_events_to_its_transaction);

async fn replayed_events_of_an_erased_contact_hold_nothing_erased(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let (visitor, _) = app.visitor(&project).await;
    let made = app.create_request(&visitor, "hello").await;
    let contact = made["contact"]["id"].clone();
    app.capture(
        &visitor,
        json!({ "fullname": "Secret Name", "email": "secret@example.com" }),
    )
    .await;
    app.ok(
        Some(&agent),
        "mutation($i: ContactIdInput!) { eraseContact(input: $i) { id } }",
        json!({ "i": { "id": contact } }),
    )
    .await;
    let mut ws = Ws::connect(&app.base, TRANSPORT_WS).await;
    ws.init_with(&agent).await;
    ws.subscribe(
        "1",
        "subscription { contactEvents(after: \"0\") { kind field before after requestId } }",
        json!({}),
    )
    .await;
    let mut kinds = Vec::new();
    loop {
        let payload = ws.payload().await;
        let event = payload["data"]["contactEvents"].clone();
        let text = event.to_string();
        assert!(
            !text.contains("Secret") && !text.contains("secret@"),
            "{text}"
        );
        kinds.push(event["kind"].as_str().unwrap().to_owned());
        if event["kind"] == "ERASED" {
            break;
        }
    }
    assert_eq!(kinds.first().map(String::as_str), Some("CREATED"));
    assert!(kinds.contains(&"FIELD_CHANGED".to_owned()), "{kinds:?}");
}
db_test!(replayed_events_of_an_erased_contact_hold_nothing_erased);
