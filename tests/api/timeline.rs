//! The contact timeline: events in order with their content, written with each change;
//! batched across lists; emptied by erasure.

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, code, db_test};

const TIMELINE: &str = "query($id: ID!, $f: Int, $a: String) { contact(id: $id) { timeline(first: $f, after: $a) { pageInfo { hasNextPage endCursor } nodes { kind actorId field before after tagsAdded tagsRemoved requestId mergeId contactIds } } } }";

async fn events(app: &TestApp, token: &str, id: &Value) -> Vec<Value> {
    app.ok(Some(token), TIMELINE, json!({ "id": id, "f": 100 }))
        .await["contact"]["timeline"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

async fn timeline_records_every_change_newest_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let agent_id = app
        .ok(Some(&agent), "{ viewer { user { id } } }", json!({}))
        .await["viewer"]["user"]["id"]
        .clone();
    let (visitor, visitor_id) = app.visitor(&project).await;
    let made = app.create_request(&visitor, "hello").await;
    let id = made["contact"]["id"].clone();
    app.capture(
        &visitor,
        json!({ "fullname": "Vic", "email": "vic@example.com" }),
    )
    .await;
    let c = app
        .ok(
            Some(&agent),
            "query($id: ID!) { contact(id: $id) { version } }",
            json!({ "id": id }),
        )
        .await;
    app.ok(
        Some(&agent),
        "mutation($id: ID!, $v: Int!) { updateContact(input: { id: $id, expectedVersion: $v, fullname: \"Victor\", note: null }) { id } }",
        json!({ "id": id, "v": c["contact"]["version"] }),
    )
    .await;
    app.ok(
        Some(&agent),
        "mutation($id: ID!) { addContactTags(input: { id: $id, tags: [\"vip\", \"eu\"] }) { id } }",
        json!({ "id": id }),
    )
    .await;
    app.ok(
        Some(&agent),
        "mutation($id: ID!) { removeContactTags(input: { id: $id, tags: [\"EU\"] }) { id } }",
        json!({ "id": id }),
    )
    .await;
    app.ok(
        Some(&agent),
        "mutation($id: ID!) { deleteContact(input: { id: $id }) { id } }",
        json!({ "id": id }),
    )
    .await;
    app.ok(
        Some(&agent),
        "mutation($id: ID!) { restoreContact(input: { id: $id }) { id } }",
        json!({ "id": id }),
    )
    .await;
    let other = app
        .create_contact(&agent, json!({ "fullname": "Dup" }))
        .await;
    let merge_id = app
        .ok(
            Some(&agent),
            "mutation($p: ID!, $s: ID!) { mergeContacts(input: { primaryId: $p, secondaryIds: [$s] }) { mergeId } }",
            json!({ "p": id, "s": other["id"] }),
        )
        .await["mergeContacts"]["mergeId"]
        .clone();
    app.ok(
        Some(&agent),
        "mutation($m: ID!) { unmergeContacts(input: { mergeId: $m }) { contact { id } } }",
        json!({ "m": merge_id }),
    )
    .await;

    let got = events(&app, &agent, &id).await;
    let kinds: Vec<&str> = got.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "UNMERGED",
            "MERGED",
            "RESTORED",
            "DELETED",
            "TAGS_CHANGED",
            "TAGS_CHANGED",
            "FIELD_CHANGED",
            "FIELD_CHANGED",
            "FIELD_CHANGED",
            "REQUEST_CREATED",
            "CREATED",
        ],
        "{got:#?}"
    );
    assert_eq!(got[0]["mergeId"], merge_id);
    assert_eq!(got[0]["contactIds"], json!([other["id"]]));
    assert_eq!(got[1]["contactIds"], json!([other["id"]]));
    assert_eq!(got[4]["tagsRemoved"], json!(["eu"]));
    assert_eq!(got[4]["tagsAdded"], json!([]));
    assert_eq!(got[5]["tagsAdded"], json!(["vip", "eu"]));
    assert_eq!(
        (
            &got[6]["field"],
            &got[6]["before"],
            &got[6]["after"],
            &got[6]["actorId"]
        ),
        (
            &json!("fullname"),
            &json!("Vic"),
            &json!("Victor"),
            &agent_id
        )
    );
    // The visitor's capture: two fields, by the visitor.
    let captured: Vec<(&str, &Value)> = got[7..9]
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), &e["after"]))
        .collect();
    assert!(captured.contains(&("fullname", &json!("Vic"))));
    assert!(captured.contains(&("email", &json!("vic@example.com"))));
    assert_eq!(got[7]["actorId"], visitor_id.as_str());
    assert_eq!(got[9]["requestId"], made["request"]["id"]);
    assert_eq!(got[10]["actorId"], visitor_id.as_str());
    // The merged-away contact has its own MERGED_INTO / UNMERGED.
    let theirs = events(&app, &agent, &other["id"]).await;
    let kinds: Vec<&str> = theirs.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["UNMERGED", "MERGED_INTO", "CREATED"]);

    // Pages of 4 walk the same events.
    let mut after = Value::Null;
    let mut walked = Vec::new();
    loop {
        let page = app
            .ok(
                Some(&agent),
                TIMELINE,
                json!({ "id": id, "f": 4, "a": after }),
            )
            .await["contact"]["timeline"]
            .clone();
        walked.extend(page["nodes"].as_array().unwrap().iter().cloned());
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(walked, got);

    // Visitors do not read timelines.
    let body = app
        .gql(
            Some(&visitor),
            "{ viewer { contact { timeline { nodes { kind } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");

    // Erasure empties the details (values, tags, request ids), keeps kinds.
    app.ok(
        Some(&agent),
        "mutation($id: ID!) { eraseContact(input: { id: $id }) { id } }",
        json!({ "id": id }),
    )
    .await;
    let erased = events(&app, &agent, &id).await;
    assert_eq!(erased[0]["kind"], "ERASED");
    assert_eq!(erased.len(), got.len() + 1);
    for e in &erased[1..] {
        assert_eq!(e["before"], Value::Null);
        assert_eq!(e["after"], Value::Null);
        assert_eq!(e["field"], Value::Null);
        assert_eq!(e["tagsAdded"], json!([]));
        assert_eq!(e["requestId"], Value::Null);
    }
}
db_test!(timeline_records_every_change_newest_first);

async fn erasing_a_survivor_erases_what_was_merged_into_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let (v, b) = crate::merge::visitor_contact(
        &app,
        &project,
        json!({ "fullname": "Secret Person", "email": "secret@example.com", "phone": "+14155552671" }),
        1,
    )
    .await;
    let a = app
        .create_contact(&agent, json!({ "fullname": "Keeper" }))
        .await;
    let merge_id = app
        .ok(
            Some(&agent),
            "mutation($p: ID!, $s: ID!) { mergeContacts(input: { primaryId: $p, secondaryIds: [$s] }) { mergeId } }",
            json!({ "p": a["id"], "s": b }),
        )
        .await["mergeContacts"]["mergeId"]
        .clone();
    app.ok(
        Some(&agent),
        "mutation($id: ID!) { eraseContact(input: { id: $id }) { id erasedAt } }",
        json!({ "id": a["id"] }),
    )
    .await;
    // No trace of the secondary's personal data anywhere: lead (tombstone included), journal,
    // timeline.
    for table in ["lead", "lead_merge", "lead_event", "user", "request"] {
        let backend = app.db.get_database_backend();
        use sea_orm::ConnectionTrait;
        let rows = app
            .db
            .query_all_raw(sea_orm::Statement::from_string(
                backend,
                format!("SELECT * FROM \"{table}\""),
            ))
            .await
            .unwrap();
        let text = format!("{rows:?}");
        for secret in ["Secret Person", "secret@example.com", "4155552671"] {
            assert!(!text.contains(secret), "{secret} left in {table}");
        }
    }
    // The merge became permanent.
    let body = app
        .gql(
            Some(&agent),
            "mutation($m: ID!) { unmergeContacts(input: { mergeId: $m }) { contact { id } } }",
            json!({ "m": merge_id }),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT");
    // Erasure cut the visitor's link (its lead id is gone with the personal data, as for a
    // single erased contact): a returning visitor is a new, empty contact, not the survivor.
    let again = app.create_request(&v, "back again").await;
    assert_ne!(again["contact"]["id"], a["id"]);
    assert_ne!(again["contact"]["id"], b.as_str());
}
db_test!(erasing_a_survivor_erases_what_was_merged_into_it);

/// A merge that was undone still holds both contacts' rows in its journal: erasing the
/// former secondary (now an ordinary contact, found only through the journal's
/// `secondary_ids`) drops them, and leaves another project's journal alone.
async fn erasing_a_former_secondary_empties_the_undone_merge(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, _) = app.sign_up("owner@example.com").await;
    let (other_agent, _) = app.sign_up("other@example.com").await;
    let mut merges = Vec::new();
    for who in [&agent, &other_agent] {
        let a = app
            .create_contact(who, json!({ "fullname": "Keeper" }))
            .await;
        let b = app
            .create_contact(who, json!({ "fullname": "Former Secondary" }))
            .await;
        let merge_id = app
            .ok(
                Some(who),
                "mutation($p: ID!, $s: ID!) { mergeContacts(input: { primaryId: $p, secondaryIds: [$s] }) { mergeId } }",
                json!({ "p": a["id"], "s": b["id"] }),
            )
            .await["mergeContacts"]["mergeId"]
            .as_str()
            .unwrap()
            .to_owned();
        app.ok(
            Some(who),
            "mutation($m: ID!) { unmergeContacts(input: { mergeId: $m }) { contact { id } } }",
            json!({ "m": merge_id }),
        )
        .await;
        merges.push((merge_id, b["id"].as_str().unwrap().to_owned()));
    }
    let snapshot = async |id: &str| {
        use sea_orm::EntityTrait;
        entity::lead_merge::Entity::find_by_id(uuid::Uuid::parse_str(id).unwrap())
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .snapshot
    };
    assert!(
        snapshot(&merges[0].0).await.is_some(),
        "an undone merge keeps its rows"
    );
    app.ok(
        Some(&agent),
        "mutation($id: ID!) { eraseContact(input: { id: $id }) { id } }",
        json!({ "id": merges[0].1 }),
    )
    .await;
    assert_eq!(snapshot(&merges[0].0).await, None);
    assert!(
        snapshot(&merges[1].0).await.is_some(),
        "another project's journal is untouched"
    );
}
db_test!(erasing_a_former_secondary_empties_the_undone_merge);
