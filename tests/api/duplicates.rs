//! The duplicate finder: groups by email then phone, biggest first, suggested primary,
//! keyset pages, constant statements per page.

use serde_json::json;

use crate::common::{Backend, TestApp, code, db_test};
use crate::merge::visitor_contact;

const GROUPS: &str = "query($f: Int, $a: String) { duplicateContacts(first: $f, after: $a) { pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { rule key size contacts { id } suggestedPrimary { id } } } } }";

async fn duplicates_are_grouped_biggest_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    // Three contacts share an email (one has the most requests), two share another email,
    // two share a phone; one is alone; a deleted one and another project's do not count.
    let mut big = Vec::new();
    for (i, requests) in [1usize, 3, 1].into_iter().enumerate() {
        let email = if i == 1 {
            "Kim@Example.com"
        } else {
            "kim@example.com"
        };
        big.push(
            visitor_contact(&app, &project, json!({ "email": email }), requests)
                .await
                .1,
        );
    }
    let pair_a = app
        .create_contact(&agent, json!({ "email": "lee@example.com" }))
        .await["id"]
        .clone();
    let pair_b = app
        .create_contact(
            &agent,
            json!({ "email": "lee@example.com", "phone": "+14155552671" }),
        )
        .await["id"]
        .clone();
    let phone_twin = app
        .create_contact(&agent, json!({ "phone": "+1 415 555 2671" }))
        .await["id"]
        .clone();
    app.create_contact(&agent, json!({ "email": "alone@example.com" }))
        .await;
    let gone = app
        .create_contact(&agent, json!({ "email": "lee@example.com" }))
        .await;
    app.ok(
        Some(&agent),
        "mutation($id: ID!) { deleteContact(input: { id: $id }) { id } }",
        json!({ "id": gone["id"] }),
    )
    .await;
    let (other, _) = app.sign_up("other@example.com").await;
    app.create_contact(&other, json!({ "email": "lee@example.com" }))
        .await;

    let before = app.statements();
    let page = app.ok(Some(&agent), GROUPS, json!({ "f": 10 })).await["duplicateContacts"].clone();
    assert!(app.statements() - before <= 4, "four statements per page");
    let edges = page["edges"].as_array().unwrap();
    let summary: Vec<(String, String, i64)> = edges
        .iter()
        .map(|e| {
            (
                e["node"]["rule"].as_str().unwrap().to_owned(),
                e["node"]["key"].as_str().unwrap().to_owned(),
                e["node"]["size"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("EMAIL".into(), "kim@example.com".into(), 3),
            ("EMAIL".into(), "lee@example.com".into(), 2),
            ("PHONE".into(), "+14155552671".into(), 2),
        ]
    );
    let kim = &edges[0]["node"];
    assert_eq!(
        kim["suggestedPrimary"]["id"],
        big[1].as_str(),
        "most requests"
    );
    assert_eq!(
        kim["contacts"],
        json!([{ "id": big[0] }, { "id": big[1] }, { "id": big[2] }]),
        "oldest first"
    );
    assert_eq!(
        edges[1]["node"]["suggestedPrimary"]["id"], pair_a,
        "oldest among equals"
    );
    assert_eq!(
        edges[2]["node"]["contacts"],
        json!([{ "id": pair_b }, { "id": phone_twin }])
    );
    assert_eq!(page["pageInfo"]["hasNextPage"], false);

    // Keyset pages of one: the same groups in the same order.
    let mut after = serde_json::Value::Null;
    let mut keys = Vec::new();
    loop {
        let p = app
            .ok(Some(&agent), GROUPS, json!({ "f": 1, "a": after }))
            .await["duplicateContacts"]
            .clone();
        for e in p["edges"].as_array().unwrap() {
            keys.push(e["node"]["key"].as_str().unwrap().to_owned());
        }
        if p["pageInfo"]["hasNextPage"] != true {
            break;
        }
        assert_eq!(p["pageInfo"]["hasPreviousPage"], !after.is_null());
        after = p["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(keys, ["kim@example.com", "lee@example.com", "+14155552671"]);

    // Merging a group makes it disappear.
    app.ok(
        Some(&agent),
        "mutation($p: ID!, $s: [ID!]!) { mergeContacts(input: { primaryId: $p, secondaryIds: $s }) { mergeId } }",
        json!({ "p": big[1], "s": [big[0], big[2]] }),
    )
    .await;
    let page = app.ok(Some(&agent), GROUPS, json!({})).await;
    assert_eq!(
        page["duplicateContacts"]["edges"].as_array().unwrap().len(),
        2
    );

    // Bad arguments.
    for (vars, field) in [
        (json!({ "f": 101 }), "first"),
        (json!({ "a": "not-a-cursor" }), "after"),
    ] {
        let body = app.gql(Some(&agent), GROUPS, vars).await;
        assert_eq!(code(&body), "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], field);
    }
}
db_test!(duplicates_are_grouped_biggest_first);
