//! Saved segments: a named, shared filter of the project's contacts; live counts (all of a
//! list in one statement); `contacts(segment:)` ANDs it with the other arguments.

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, code, db_test};

const SAVE: &str = "mutation($i: SaveSegmentInput!) { saveSegment(input: $i) { id name filter contactsCount createdBy createdAt updatedAt } }";
const LIST: &str = "{ segments { id name filter contactsCount } }";
const IN_SEGMENT: &str = "query($s: ID!, $t: [String!], $e: String) { contacts(segment: $s, tags: $t, email: $e, first: 100) { totalCount nodes { fullname } } }";

fn names(data: &Value) -> Vec<String> {
    let mut out: Vec<String> = data["contacts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["fullname"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

async fn user_id(app: &TestApp, token: &str) -> String {
    app.ok(Some(token), "{ viewer { user { id } } }", json!({}))
        .await["viewer"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn segments_are_saved_counted_and_listed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let agent = app.member(&project, "agent@example.com", "AGENT").await;
    let agent_id = user_id(&app, &agent).await;
    for (name, tags, email) in [
        ("Ann", vec!["vip", "eu"], Some("ann@example.com")),
        ("Bob", vec!["vip"], None),
        ("Cid", vec!["eu"], Some("cid@example.com")),
        ("Dee", vec![], Some("dee@example.com")),
    ] {
        app.create_contact(
            &owner,
            json!({ "fullname": name, "tags": tags, "email": email }),
        )
        .await;
    }
    let vip = app
        .ok(
            Some(&agent),
            SAVE,
            json!({ "i": { "name": "  VIPs  ", "filter": { "tags": ["VIP"] } } }),
        )
        .await["saveSegment"]
        .clone();
    assert_eq!(vip["name"], "VIPs");
    assert_eq!(vip["filter"], json!({ "tags": ["VIP"] }));
    assert_eq!(vip["contactsCount"], 2);
    assert_eq!(vip["createdBy"], agent_id.as_str());
    let with_email = app
        .ok(
            Some(&owner),
            SAVE,
            json!({ "i": { "name": "Reachable", "filter": { "hasEmail": true, "status": ["NORMAL", "DELETED"] } } }),
        )
        .await["saveSegment"]
        .clone();
    assert_eq!(
        with_email["filter"],
        json!({ "hasEmail": true, "status": ["NORMAL", "DELETED"] })
    );
    assert_eq!(with_email["contactsCount"], 3);

    // The list, by name, with live counts.
    let list = app.ok(Some(&owner), LIST, json!({})).await["segments"].clone();
    let listed: Vec<(&str, i64)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap(),
                s["contactsCount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed, [("Reachable", 3), ("VIPs", 2)]);

    // contacts(segment:) is the segment's filter AND the arguments.
    let in_vip = app
        .ok(Some(&owner), IN_SEGMENT, json!({ "s": vip["id"] }))
        .await;
    assert_eq!(names(&in_vip), ["Ann", "Bob"]);
    assert_eq!(in_vip["contacts"]["totalCount"], 2);
    let vip_eu = app
        .ok(
            Some(&owner),
            IN_SEGMENT,
            json!({ "s": vip["id"], "t": ["eu"] }),
        )
        .await;
    assert_eq!(names(&vip_eu), ["Ann"]);
    let reachable_ann = app
        .ok(
            Some(&owner),
            IN_SEGMENT,
            json!({ "s": with_email["id"], "e": "ANN@example.com" }),
        )
        .await;
    assert_eq!(names(&reachable_ann), ["Ann"]);

    // Live: a change to the contacts shows in the next count.
    app.create_contact(&owner, json!({ "fullname": "Eve", "tags": ["vip"] }))
        .await;
    let again = app
        .ok(
            Some(&owner),
            "query($id: ID!) { segment(id: $id) { name contactsCount } }",
            json!({ "id": vip["id"] }),
        )
        .await;
    assert_eq!(again["segment"]["contactsCount"], 3);

    // Replace (rename + new filter), then delete.
    let replaced = app
        .ok(
            Some(&owner),
            SAVE,
            json!({ "i": { "id": vip["id"], "name": "EU", "filter": { "tags": ["eu"] } } }),
        )
        .await["saveSegment"]
        .clone();
    assert_eq!(replaced["id"], vip["id"]);
    assert_eq!(replaced["contactsCount"], 2);
    assert_eq!(replaced["createdAt"], vip["createdAt"]);
    assert_ne!(replaced["updatedAt"], vip["updatedAt"]);
    let deleted = app
        .ok(
            Some(&agent),
            "mutation($id: ID!) { deleteSegment(input: { id: $id }) { deletedSegmentId } }",
            json!({ "id": vip["id"] }),
        )
        .await;
    assert_eq!(deleted["deleteSegment"]["deletedSegmentId"], vip["id"]);
    let list = app.ok(Some(&owner), LIST, json!({})).await;
    assert_eq!(list["segments"].as_array().unwrap().len(), 1);
    let gone = app
        .gql(Some(&owner), IN_SEGMENT, json!({ "s": vip["id"] }))
        .await;
    assert_eq!(code(&gone), "NOT_FOUND");
}
db_test!(segments_are_saved_counted_and_listed);

async fn segment_input_is_validated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.sign_up("owner@example.com").await;
    let first = app
        .ok(
            Some(&owner),
            SAVE,
            json!({ "i": { "name": "Leads", "filter": {} } }),
        )
        .await["saveSegment"]
        .clone();
    let cases = [
        (
            json!({ "name": " ", "filter": {} }),
            "BAD_USER_INPUT",
            Some("name"),
        ),
        (
            json!({ "name": "x".repeat(101), "filter": {} }),
            "BAD_USER_INPUT",
            Some("name"),
        ),
        (
            json!({ "name": "S", "filter": { "search": "a\u{1}b" } }),
            "BAD_USER_INPUT",
            Some("search"),
        ),
        (
            json!({ "name": "S", "filter": { "tags": [""] } }),
            "BAD_USER_INPUT",
            Some("tags"),
        ),
        (
            json!({ "name": "S", "filter": { "attributeFilters": [{ "key": "\u{0}" }] } }),
            "BAD_USER_INPUT",
            Some("attributeFilters"),
        ),
        (
            json!({ "name": "S", "filter": { "owner": "nope" } }),
            "BAD_USER_INPUT",
            Some("owner"),
        ),
        (
            json!({ "name": "S", "filter": { "owner": uuid::Uuid::new_v4().to_string(), "unassigned": true } }),
            "BAD_USER_INPUT",
            Some("unassigned"),
        ),
        (
            json!({ "id": uuid::Uuid::new_v4().to_string(), "name": "S", "filter": {} }),
            "NOT_FOUND",
            None,
        ),
        (
            json!({ "name": "LEADS", "filter": { "hasEmail": true } }),
            "CONFLICT",
            None,
        ),
    ];
    for (input, expected, field) in cases {
        let resp = app.gql(Some(&owner), SAVE, json!({ "i": input })).await;
        assert_eq!(code(&resp), expected, "{input}: {resp}");
        if let Some(field) = field {
            assert_eq!(resp["errors"][0]["extensions"]["field"], field, "{input}");
        }
        if expected == "CONFLICT" {
            assert_eq!(resp["errors"][0]["extensions"]["existingId"], first["id"]);
        }
    }
    // A list argument that contradicts the segment's own filter.
    let reachable = app
        .ok(
            Some(&owner),
            SAVE,
            json!({ "i": { "name": "Ann's", "filter": { "email": "ann@example.com" } } }),
        )
        .await["saveSegment"]["id"]
        .clone();
    let resp = app
        .gql(
            Some(&owner),
            IN_SEGMENT,
            json!({ "s": reachable, "e": "bob@example.com" }),
        )
        .await;
    assert_eq!(code(&resp), "BAD_USER_INPUT");
    assert_eq!(resp["errors"][0]["extensions"]["field"], "email");
    assert_eq!(app.count_rows("segment").await, 2, "nothing else written");
}
db_test!(segment_input_is_validated);

async fn segments_stay_in_their_project(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let (other, _) = app.sign_up("other@example.com").await;
    let (visitor, _) = app.visitor(&project).await;
    app.create_contact(&owner, json!({ "fullname": "Ann", "tags": ["t"] }))
        .await;
    app.create_contact(&other, json!({ "fullname": "Theirs", "tags": ["t"] }))
        .await;
    let ours = app
        .ok(
            Some(&owner),
            SAVE,
            json!({ "i": { "name": "T", "filter": { "tags": ["t"] } } }),
        )
        .await["saveSegment"]
        .clone();
    assert_eq!(
        ours["contactsCount"], 1,
        "the other project's contact is not counted"
    );
    let theirs = app
        .ok(
            Some(&other),
            "query($id: ID!) { segment(id: $id) { id } }",
            json!({ "id": ours["id"] }),
        )
        .await;
    assert!(theirs["segment"].is_null());
    let resp = app
        .gql(Some(&other), IN_SEGMENT, json!({ "s": ours["id"] }))
        .await;
    assert_eq!(code(&resp), "NOT_FOUND");
    let resp = app
        .gql(
            Some(&other),
            SAVE,
            json!({ "i": { "id": ours["id"], "name": "Stolen", "filter": {} } }),
        )
        .await;
    assert_eq!(code(&resp), "NOT_FOUND");
    let resp = app
        .gql(
            Some(&other),
            "mutation($id: ID!) { deleteSegment(input: { id: $id }) { deletedSegmentId } }",
            json!({ "id": ours["id"] }),
        )
        .await;
    assert_eq!(code(&resp), "NOT_FOUND");
    assert!(
        app.ok(Some(&other), LIST, json!({})).await["segments"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let resp = app.gql(Some(&visitor), LIST, json!({})).await;
    assert_eq!(code(&resp), "FORBIDDEN");
}
db_test!(segments_stay_in_their_project);

async fn every_segment_count_in_one_statement(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.sign_up("owner@example.com").await;
    for (n, tag) in ["a", "b", "c", "a"].iter().enumerate() {
        app.create_contact(
            &owner,
            json!({ "fullname": format!("C{n}"), "tags": [tag], "email": format!("c{n}@example.com") }),
        )
        .await;
    }
    let mut costs = Vec::new();
    for (i, filter) in [
        json!({ "tags": ["a"] }),
        json!({ "search": "c1" }),
        json!({ "hasEmail": true, "tags": ["b"] }),
        json!({ "email": "c2@example.com" }),
        json!({}),
    ]
    .into_iter()
    .enumerate()
    {
        app.ok(
            Some(&owner),
            SAVE,
            json!({ "i": { "name": format!("S{i}"), "filter": filter } }),
        )
        .await;
        let before = app.statements();
        let list = app.ok(Some(&owner), LIST, json!({})).await;
        costs.push(app.statements() - before);
        let counts: Vec<i64> = list["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["contactsCount"].as_i64().unwrap())
            .collect();
        assert_eq!(counts, [2, 1, 1, 1, 4][..=i], "real counts per filter");
    }
    assert_eq!(
        costs, [2; 5],
        "the list, then one statement for every count"
    );
}
db_test!(every_segment_count_in_one_statement);
