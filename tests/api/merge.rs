//! Merging contacts: preview, merge, tombstones, unmerge (exact round trip), blockers,
//! concurrency with visitors' new requests, the visitor's view of a merged contact.

use entity::{lead, request, user};
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, code, db_test};

const MERGE: &str = "mutation($i: MergeContactsInput!) { mergeContacts(input: $i) { mergeId mergedContactIds contact { id fullname email phone company { name } city additionalEmails tags attributes version mergedFrom requestsCount requests(first: 100) { nodes { id } } } } }";
const PREVIEW: &str = "query($i: MergeContactsPreviewInput!) { mergeContactsPreview(input: $i) { canMerge blockers { reason code contactId } contacts { id version } fields { field value sourceContactId conflicts { contactId value } } attributes attributeConflicts { key sourceContactId values { contactId value } } tags additionalEmails requestsToMove tagsAdded attributesAdded } }";
const UNMERGE: &str = "mutation($m: ID!) { unmergeContacts(input: { mergeId: $m }) { contact { id version } restoredContacts { id version } } }";

/// Every row of the tables a merge touches, through the entities (all columns).
async fn dump(app: &TestApp) -> (Vec<lead::Model>, Vec<request::Model>, Vec<user::Model>) {
    (
        lead::Entity::find()
            .order_by_asc(lead::Column::Id)
            .all(&app.db)
            .await
            .unwrap(),
        request::Entity::find()
            .order_by_asc(request::Column::Id)
            .all(&app.db)
            .await
            .unwrap(),
        user::Entity::find()
            .order_by_asc(user::Column::Id)
            .all(&app.db)
            .await
            .unwrap(),
    )
}

/// A visitor with a contact built from `capture` and `requests` requests; returns (token,
/// contact id).
pub async fn visitor_contact(
    app: &TestApp,
    project: &str,
    capture: Value,
    requests: usize,
) -> (String, String) {
    let (token, _) = app.visitor(project).await;
    let mut from_requests = None;
    for i in 0..requests {
        let made = app.create_request(&token, &format!("request {i}")).await;
        from_requests = Some(made["contact"]["id"].as_str().unwrap().to_owned());
    }
    let body = app.capture(&token, capture).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let id = body["data"]["captureContactMetadata"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    if let Some(from_requests) = from_requests {
        assert_eq!(from_requests, id);
    }
    (token, id)
}

fn field<'a>(preview: &'a Value, name: &str) -> &'a Value {
    preview["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == name)
        .unwrap()
}

async fn merge_then_unmerge_restores_every_row(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    // A: the primary (an agent-made contact with a company, tags, attributes).
    let a = app
        .create_contact(
            &agent,
            json!({ "fullname": "Ada Lovelace", "email": "ada@example.com", "company": "Analytical", "tags": ["vip"], "attributes": { "plan": "pro", "seats": 3 } }),
        )
        .await;
    let a_id = a["id"].as_str().unwrap().to_owned();
    // B: a visitor with two requests, another email, a phone, a clashing attribute.
    let (b_token, b_id) = visitor_contact(
        &app,
        &project,
        json!({ "fullname": "Ada L.", "email": "ADA.L@example.org", "phone": "+14155552671", "attributes": { "plan": "free", "source": "ads" } }),
        2,
    )
    .await;
    app.ok(
        Some(&agent),
        "mutation($id: ID!) { addContactTags(input: { id: $id, tags: [\"VIP\", \"lead\"] }) { id } }",
        json!({ "id": b_id }),
    )
    .await;
    // C: merged into B first, so that B's tombstone chain must be re-pointed.
    let (_c_token, c_id) = visitor_contact(
        &app,
        &project,
        json!({ "email": "ada@old.example.com", "attributes": { "city": "London" } }),
        1,
    )
    .await;
    let first = app
        .ok(
            Some(&agent),
            MERGE,
            json!({ "i": { "primaryId": b_id, "secondaryIds": [c_id] } }),
        )
        .await;
    assert_eq!(
        first["mergeContacts"]["contact"]["mergedFrom"],
        json!([c_id])
    );

    let before = dump(&app).await;

    // Preview: nothing written, the plan is visible.
    let statements = app.statements();
    let preview = app
        .ok(
            Some(&agent),
            PREVIEW,
            json!({ "i": { "primaryId": a_id, "secondaryIds": [b_id] } }),
        )
        .await["mergeContactsPreview"]
        .clone();
    assert!(app.statements() > statements);
    assert_eq!(dump(&app).await, before, "a preview writes nothing");
    assert_eq!(preview["canMerge"], true);
    assert_eq!(preview["blockers"], json!([]));
    assert_eq!(field(&preview, "FULLNAME")["value"], "Ada Lovelace");
    assert_eq!(
        field(&preview, "FULLNAME")["sourceContactId"],
        a_id.as_str()
    );
    assert_eq!(
        field(&preview, "FULLNAME")["conflicts"],
        json!([{ "contactId": b_id, "value": "Ada L." }])
    );
    assert_eq!(field(&preview, "PHONE")["value"], "+14155552671");
    assert_eq!(field(&preview, "PHONE")["sourceContactId"], b_id.as_str());
    assert_eq!(preview["requestsToMove"], 3); // B's two and C's one
    assert_eq!(preview["tags"], json!(["vip", "lead"]));
    assert_eq!(preview["tagsAdded"], json!(["lead"]));
    assert_eq!(
        preview["attributes"],
        json!({ "plan": "pro", "seats": 3, "source": "ads", "city": "London" })
    );
    assert_eq!(preview["attributeConflicts"][0]["key"], "plan");
    assert_eq!(
        preview["additionalEmails"],
        json!(["ADA.L@example.org", "ada@old.example.com"])
    );

    // Merge with the versions the preview showed.
    let versions: Vec<Value> = preview["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| json!({ "contactId": c["id"], "version": c["version"] }))
        .collect();
    let merged = app
        .ok(
            Some(&agent),
            MERGE,
            json!({ "i": { "primaryId": a_id, "secondaryIds": [b_id], "expectedVersions": versions } }),
        )
        .await["mergeContacts"]
        .clone();
    let survivor = &merged["contact"];
    // The preview is what the merge did.
    for f in preview["fields"].as_array().unwrap() {
        let name = match f["field"].as_str().unwrap() {
            "FULLNAME" => "fullname",
            "EMAIL" => "email",
            "PHONE" => "phone",
            "COMPANY" => "company",
            "CITY" => "city",
            _ => continue,
        };
        let value = match name {
            // The linked company: its name is the field's value.
            "company" => &survivor["company"]["name"],
            _ => &survivor[name],
        };
        assert_eq!(value, &f["value"], "{name}");
    }
    assert_eq!(survivor["tags"], preview["tags"]);
    assert_eq!(survivor["attributes"], preview["attributes"]);
    assert_eq!(survivor["additionalEmails"], preview["additionalEmails"]);
    assert_eq!(survivor["requestsCount"], 3);
    let mut from: Vec<String> = serde_json::from_value(survivor["mergedFrom"].clone()).unwrap();
    from.sort();
    let mut expected = vec![b_id.clone(), c_id.clone()];
    expected.sort();
    assert_eq!(from, expected, "C's tombstone now points at A too");
    assert_eq!(merged["mergedContactIds"], json!([b_id]));

    // Tombstones resolve; lists never show them; email lookups find the survivor.
    for id in [&b_id, &c_id] {
        let got = app
            .ok(
                Some(&agent),
                "query($id: ID!) { contact(id: $id) { id } node(id: $id) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(got["contact"]["id"], a_id.as_str());
        assert_eq!(got["node"]["id"], a_id.as_str());
    }
    let listed = app
        .ok(
            Some(&agent),
            "{ contacts(first: 100, status: [NORMAL, DELETED, TEMP]) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["contacts"]["nodes"], json!([{ "id": a_id }]));
    for email in [
        "ada.l@EXAMPLE.org",
        "ada@old.example.com",
        "ada@example.com",
    ] {
        let found = app
            .ok(
                Some(&agent),
                "query($e: String!) { contacts(email: $e) { nodes { id } } }",
                json!({ "e": email }),
            )
            .await;
        assert_eq!(
            found["contacts"]["nodes"],
            json!([{ "id": a_id }]),
            "{email}"
        );
    }
    // Every write to a tombstone is refused with a pointer to the survivor, before any
    // version check (the client's version of B is stale since the merge bumped it).
    for write in [
        "mutation($id: ID!) { addContactTags(input: { id: $id, tags: [\"x\"] }) { id } }",
        "mutation($id: ID!) { removeContactTags(input: { id: $id, tags: [\"x\"] }) { id } }",
        "mutation($id: ID!) { updateContact(input: { id: $id, expectedVersion: 1, company: \"X\" }) { id } }",
        "mutation($id: ID!) { setContactAttributes(input: { id: $id, attributes: { k: 1 } }) { id } }",
        "mutation($id: ID!) { deleteContact(input: { id: $id }) { id } }",
        "mutation($id: ID!) { restoreContact(input: { id: $id }) { id } }",
    ] {
        let body = app.gql(Some(&agent), write, json!({ "id": b_id })).await;
        assert_eq!(code(&body), "CONFLICT", "{write}: {body:#}");
        let extensions = &body["errors"][0]["extensions"];
        assert_eq!(extensions["reason"], "ALREADY_MERGED", "{write}: {body:#}");
        assert_eq!(extensions["mergedInto"], a_id.as_str(), "{write}");
    }

    // B's visitor: its contact is now A, but it sees only its own two requests, no note.
    let seen = app
        .ok(
            Some(&b_token),
            "{ viewer { contact { id note requestsCount requests { nodes { firstText } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(seen["viewer"]["contact"]["id"], a_id.as_str());
    assert_eq!(seen["viewer"]["contact"]["requestsCount"], 2);
    assert_eq!(seen["viewer"]["contact"]["note"], Value::Null);

    // Undo: every row of lead, request and user is exactly as before.
    let undone = app
        .ok(Some(&agent), UNMERGE, json!({ "m": merged["mergeId"] }))
        .await;
    assert_eq!(undone["unmergeContacts"]["contact"]["id"], a_id.as_str());
    assert_eq!(
        undone["unmergeContacts"]["restoredContacts"][0]["id"],
        b_id.as_str()
    );
    assert_eq!(dump(&app).await, before, "unmerge restores every row");
    // Undoing twice is a conflict.
    let again = app
        .gql(Some(&agent), UNMERGE, json!({ "m": merged["mergeId"] }))
        .await;
    assert_eq!(code(&again), "CONFLICT");
    // The first merge (C into B) can still be undone, back to three contacts.
    app.ok(
        Some(&agent),
        UNMERGE,
        json!({ "m": first["mergeContacts"]["mergeId"] }),
    )
    .await;
    let listed = app
        .ok(Some(&agent), "{ contacts { totalCount } }", json!({}))
        .await;
    assert_eq!(listed["contacts"]["totalCount"], 3);
}
db_test!(merge_then_unmerge_restores_every_row);

async fn field_choices_pick_the_secondary_value(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, _) = app.sign_up("owner@example.com").await;
    let a = app
        .create_contact(
            &agent,
            json!({ "fullname": "Old Name", "email": "a@example.com" }),
        )
        .await;
    let b = app
        .create_contact(
            &agent,
            json!({ "fullname": "New Name", "email": "b@example.com" }),
        )
        .await;
    let merged = app
        .ok(
            Some(&agent),
            MERGE,
            json!({ "i": { "primaryId": a["id"], "secondaryIds": [b["id"]], "fieldChoices": [
                { "field": "FULLNAME", "contactId": b["id"] },
                { "field": "EMAIL", "contactId": b["id"] }
            ] } }),
        )
        .await;
    let c = &merged["mergeContacts"]["contact"];
    assert_eq!(c["fullname"], "New Name");
    assert_eq!(c["email"], "b@example.com");
    // The primary's own email is not lost: it is an additional email now.
    assert_eq!(c["additionalEmails"], json!(["a@example.com"]));
}
db_test!(field_choices_pick_the_secondary_value);

async fn blockers_have_codes_and_write_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, _) = app.sign_up("owner@example.com").await;
    let (other_agent, _) = app.sign_up("other@example.com").await;
    let a = app.create_contact(&agent, json!({ "fullname": "A" })).await;
    let b = app.create_contact(&agent, json!({ "fullname": "B" })).await;
    let deleted = app.create_contact(&agent, json!({ "fullname": "D" })).await;
    app.ok(
        Some(&agent),
        "mutation($id: ID!) { deleteContact(input: { id: $id }) { id } }",
        json!({ "id": deleted["id"] }),
    )
    .await;
    let merged_away = app.create_contact(&agent, json!({ "fullname": "M" })).await;
    app.ok(
        Some(&agent),
        MERGE,
        json!({ "i": { "primaryId": b["id"], "secondaryIds": [merged_away["id"]] } }),
    )
    .await;
    let foreign = app
        .create_contact(&other_agent, json!({ "fullname": "F" }))
        .await;
    let erased = app.create_contact(&agent, json!({ "fullname": "E" })).await;
    app.ok(
        Some(&agent),
        "mutation($id: ID!) { eraseContact(input: { id: $id }) { id } }",
        json!({ "id": erased["id"] }),
    )
    .await;
    let cases = [
        (json!([erased["id"]]), "CONFLICT", "ERASED"),
        (json!([a["id"]]), "BAD_USER_INPUT", "SELF_MERGE"),
        (json!([foreign["id"]]), "NOT_FOUND", "NOT_FOUND"),
        (json!([deleted["id"]]), "CONFLICT", "DELETED"),
        (json!([merged_away["id"]]), "CONFLICT", "ALREADY_MERGED"),
        (json!([b["id"], b["id"]]), "BAD_USER_INPUT", "DUPLICATE_ID"),
    ];
    let before = dump(&app).await;
    for (secondaries, expected_code, reason) in cases {
        let input = json!({ "primaryId": a["id"], "secondaryIds": secondaries });
        let preview =
            app.ok(Some(&agent), PREVIEW, json!({ "i": input })).await["mergeContactsPreview"]
                .clone();
        assert_eq!(preview["canMerge"], false, "{reason}");
        assert!(
            preview["blockers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b["reason"] == reason && b["code"] == expected_code),
            "{reason}: {preview:#}"
        );
        let body = app.gql(Some(&agent), MERGE, json!({ "i": input })).await;
        assert_eq!(code(&body), expected_code, "{reason}: {body:#}");
        assert_eq!(body["errors"][0]["extensions"]["reason"], reason);
    }
    // A field choice naming a contact outside the merge.
    let body = app
        .gql(
            Some(&agent),
            MERGE,
            json!({ "i": { "primaryId": a["id"], "secondaryIds": [b["id"]], "fieldChoices": [{ "field": "CITY", "contactId": foreign["id"] }] } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["reason"],
        "INVALID_FIELD_CHOICE"
    );
    // A stale version.
    let body = app
        .gql(
            Some(&agent),
            MERGE,
            json!({ "i": { "primaryId": a["id"], "secondaryIds": [b["id"]], "expectedVersions": [{ "contactId": b["id"], "version": 1 }] } }),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT", "{body:#}");
    // Too many tags together.
    let tags_a: Vec<String> = (0..60).map(|i| format!("a{i}")).collect();
    let tags_b: Vec<String> = (0..60).map(|i| format!("b{i}")).collect();
    let big_a = app.create_contact(&agent, json!({ "tags": tags_a })).await;
    let big_b = app.create_contact(&agent, json!({ "tags": tags_b })).await;
    let before_big = dump(&app).await;
    let body = app
        .gql(
            Some(&agent),
            MERGE,
            json!({ "i": { "primaryId": big_a["id"], "secondaryIds": [big_b["id"]] } }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["reason"], "TOO_LARGE");
    assert_eq!(
        dump(&app).await,
        before_big,
        "a refused merge writes nothing"
    );
    // Nothing was written by any refused merge.
    let after = dump(&app).await;
    assert_eq!(after.0.len(), before.0.len() + 2);
    // Unknown merge id; malformed id.
    let body = app
        .gql(Some(&agent), UNMERGE, json!({ "m": uuid::Uuid::new_v4() }))
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    let body = app.gql(Some(&agent), UNMERGE, json!({ "m": "nope" })).await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    // Another project's agent cannot undo this project's merge.
    let m = app
        .ok(
            Some(&agent),
            MERGE,
            json!({ "i": { "primaryId": a["id"], "secondaryIds": [b["id"]] } }),
        )
        .await["mergeContacts"]["mergeId"]
        .clone();
    let body = app
        .gql(Some(&other_agent), UNMERGE, json!({ "m": m }))
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
}
db_test!(blockers_have_codes_and_write_nothing);

async fn unmerge_refuses_when_a_contact_changed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, _) = app.sign_up("owner@example.com").await;
    let a = app.create_contact(&agent, json!({ "fullname": "A" })).await;
    let b = app
        .create_contact(&agent, json!({ "fullname": "B", "city": "Rome" }))
        .await;
    let merged = app
        .ok(
            Some(&agent),
            MERGE,
            json!({ "i": { "primaryId": a["id"], "secondaryIds": [b["id"]] } }),
        )
        .await["mergeContacts"]
        .clone();
    let version = merged["contact"]["version"].as_i64().unwrap();
    app.ok(
        Some(&agent),
        "mutation($id: ID!, $v: Int!) { updateContact(input: { id: $id, expectedVersion: $v, company: \"Acme\" }) { id } }",
        json!({ "id": a["id"], "v": version }),
    )
    .await;
    let body = app
        .gql(Some(&agent), UNMERGE, json!({ "m": merged["mergeId"] }))
        .await;
    assert_eq!(code(&body), "CONFLICT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("changed since the merge"),
        "{body:#}"
    );
    // Still merged: B resolves to A.
    let got = app
        .ok(
            Some(&agent),
            "query($id: ID!) { contact(id: $id) { id } }",
            json!({ "id": b["id"] }),
        )
        .await;
    assert_eq!(got["contact"]["id"], a["id"]);
}
db_test!(unmerge_refuses_when_a_contact_changed);

async fn requests_during_a_merge_land_on_the_survivor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    for round in 0..3 {
        let (a_token, a_id) = visitor_contact(
            &app,
            &project,
            json!({ "fullname": format!("A{round}") }),
            1,
        )
        .await;
        let (b_token, b_id) = visitor_contact(
            &app,
            &project,
            json!({ "fullname": format!("B{round}") }),
            1,
        )
        .await;
        let leads_before = app.count_rows("lead").await;
        let writers = (0..6).map(|i| {
            let app = &app;
            let token = if i % 2 == 0 { &b_token } else { &a_token };
            async move {
                app.create_request(token, &format!("during {i}")).await["contact"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
        });
        let merge = app.ok(
            Some(&agent),
            MERGE,
            json!({ "i": { "primaryId": a_id, "secondaryIds": [b_id] } }),
        );
        let (landed, merged) =
            futures::future::join(futures::future::join_all(writers), merge).await;
        assert_eq!(merged["mergeContacts"]["contact"]["id"], a_id.as_str());
        // A request that committed before the merge was moved by it; one after it landed on
        // A directly; none was left on the tombstone, and no new contact appeared.
        for id in &landed {
            assert!(id == &a_id || id == &b_id, "landed on {id}");
        }
        let after = app.create_request(&b_token, "after").await;
        assert_eq!(after["contact"]["id"], a_id.as_str());
        assert_eq!(app.count_rows("lead").await, leads_before);
        let on_b = request::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.lead.to_string() == b_id)
            .count();
        assert_eq!(on_b, 0, "no request left on the tombstone");
        let count = app
            .ok(
                Some(&agent),
                "query($id: ID!) { contact(id: $id) { requestsCount } }",
                json!({ "id": a_id }),
            )
            .await;
        assert_eq!(count["contact"]["requestsCount"], 2 + 6 + 1);
    }
}
db_test!(requests_during_a_merge_land_on_the_survivor);
