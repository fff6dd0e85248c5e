//! Keyset pagination: ties on the timestamp, inserts while paging, bounds.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use entity::{lead, request};
use sea_orm::{ActiveModelTrait, IntoActiveModel};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{Backend, TestApp, db_test};

fn lead_at(project: Uuid, at: DateTime<Utc>) -> lead::Model {
    let mut m = contacts_server::service::store::leads::blank(
        contacts_server::service::ProjectScope::operator(project),
        Uuid::new_v4().to_string(),
        at,
    );
    m.email = Some("same@example.com".into());
    m.email_key = Some("same@example.com".into());
    m
}

async fn page_all(
    app: &TestApp,
    token: &str,
    first: i64,
    mut between_pages: impl AsyncFnMut(usize),
) -> Vec<String> {
    let q = "query($f: Int, $a: String) { contacts(email: \"same@example.com\", first: $f, after: $a) { edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage endCursor startCursor } } }";
    let mut after = Value::Null;
    let mut ids = Vec::new();
    for page in 0.. {
        let data = app
            .ok(Some(token), q, json!({ "f": first, "a": after }))
            .await;
        let conn = &data["contacts"];
        let edges = conn["edges"].as_array().unwrap();
        assert!(edges.len() as i64 <= first);
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], page > 0);
        if let Some(last) = edges.last() {
            assert_eq!(conn["pageInfo"]["endCursor"], last["cursor"]);
            assert_eq!(conn["pageInfo"]["startCursor"], edges[0]["cursor"]);
        }
        ids.extend(
            edges
                .iter()
                .map(|e| e["node"]["id"].as_str().unwrap().to_owned()),
        );
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
        between_pages(page).await;
    }
    ids
}

async fn keyset_pages_have_no_skips_or_repeats(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let project: Uuid = project.parse().unwrap();
    let t1 = DateTime::from_timestamp_micros(1_790_000_000_000_000).unwrap();
    let t2 = DateTime::from_timestamp_micros(1_790_000_000_000_001).unwrap();
    let mut expected = Vec::new();
    for i in 0..33 {
        let row = lead_at(project, if i < 25 { t1 } else { t2 });
        row.clone()
            .into_active_model()
            .insert(&app.db)
            .await
            .unwrap();
        expected.push(row);
    }
    // Newest first, id descending within a timestamp.
    expected.sort_by_key(|l| std::cmp::Reverse((l.created_at, l.id)));
    let expected: Vec<String> = expected.iter().map(|l| l.id.to_string()).collect();

    let ids = page_all(&app, &agent, 7, async |_| {}).await;
    assert_eq!(ids, expected);

    // Rows inserted while paging (newer, and at a tied timestamp with a larger id than a
    // cursor) do not shift the pages being read: no skips, no repeats of the original rows.
    let db = app.db.clone();
    let ids = page_all(&app, &agent, 5, async |_| {
        lead_at(project, Utc::now())
            .into_active_model()
            .insert(&db)
            .await
            .unwrap();
    })
    .await;
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "no repeats");
    let original: Vec<&String> = ids.iter().filter(|id| expected.contains(id)).collect();
    assert_eq!(
        original,
        expected.iter().collect::<Vec<_>>(),
        "no skips, same order"
    );

    // first: 0 gives an empty page; the default page size is 20.
    let data = app
        .ok(
            Some(&agent),
            "{ contacts(first: 0) { nodes { id } pageInfo { hasNextPage } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["contacts"]["nodes"], json!([]));
    let data = app
        .ok(Some(&agent), "{ contacts(email: \"same@example.com\") { totalCount nodes { id } pageInfo { hasNextPage } } }", json!({}))
        .await;
    assert_eq!(data["contacts"]["nodes"].as_array().unwrap().len(), 20);
    assert_eq!(data["contacts"]["pageInfo"]["hasNextPage"], true);
}
db_test!(keyset_pages_have_no_skips_or_repeats);

async fn nested_requests_paginate(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let (visitor, visitor_id) = app.visitor(&project).await;
    let created = app.create_request(&visitor, "first").await;
    let contact_id = created["contact"]["id"].as_str().unwrap().to_owned();
    let lead_pk: Uuid = contact_id.parse().unwrap();
    let at = DateTime::from_timestamp_micros(1_790_000_000_000_000).unwrap();
    let mut expected = vec![created["request"]["id"].as_str().unwrap().to_owned()];
    let mut tied = Vec::new();
    for _ in 0..11 {
        let id = Uuid::new_v4();
        request::Model {
            id,
            request_id: contacts_server::service::store::requests::new_request_id(
                project.parse().unwrap(),
            ),
            project_id: project.parse().unwrap(),
            lead: lead_pk,
            requester_id: visitor_id.parse().unwrap(),
            first_text: "tied".into(),
            status: request::RequestStatus::Unassigned,
            channel: "chat21".into(),
            attributes: json!({}),
            created_at: at,
            updated_at: at,
            closed_at: None,
        }
        .into_active_model()
        .insert(&app.db)
        .await
        .unwrap();
        tied.push(id);
    }
    tied.sort_by_key(|id| std::cmp::Reverse(*id));
    expected.extend(tied.iter().map(Uuid::to_string));

    let q = "query($id: ID!, $a: String) { contact(id: $id) { requests(first: 5, after: $a) { totalCount nodes { id } pageInfo { hasNextPage endCursor } } } }";
    let mut after = Value::Null;
    let mut ids = Vec::new();
    loop {
        let data = app
            .ok(Some(&agent), q, json!({ "id": contact_id, "a": after }))
            .await;
        let conn = &data["contact"]["requests"];
        assert_eq!(conn["totalCount"], 12);
        ids.extend(
            conn["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["id"].as_str().unwrap().to_owned()),
        );
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(ids, expected);
}
db_test!(nested_requests_paginate);
