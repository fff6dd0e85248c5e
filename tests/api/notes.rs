//! Agents' notes on contacts: authored, newest first, edited by their author or an
//! OWNER/ADMIN, never visible to visitors, moved by merges and back by unmerges, deleted by
//! erasure, listed for a whole page of contacts in one statement; the old single `note`
//! migrated into a first note.

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, code, db_test};

const ADD: &str = "mutation($c: ID!, $b: String!) { addContactNote(input: { contactId: $c, body: $b }) { id contactId body authorId author { id fullname } createdAt updatedAt } }";
const UPDATE: &str = "mutation($id: ID!, $b: String!) { updateContactNote(input: { id: $id, body: $b }) { id body createdAt updatedAt } }";
const DELETE: &str =
    "mutation($id: ID!) { deleteContactNote(input: { id: $id }) { deletedNoteId contactId } }";
const NOTES: &str = "query($id: ID!, $f: Int, $a: String) { contact(id: $id) { id notes(first: $f, after: $a) { pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { id body } } nodes { id body authorId author { id } } } } }";

async fn user_id(app: &TestApp, token: &str) -> String {
    app.ok(Some(token), "{ viewer { user { id } } }", json!({}))
        .await["viewer"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn add(app: &TestApp, token: &str, contact: &Value, body: &str) -> Value {
    app.ok(Some(token), ADD, json!({ "c": contact, "b": body }))
        .await["addContactNote"]
        .clone()
}

async fn note_bodies(app: &TestApp, token: &str, contact: &Value) -> Vec<String> {
    app.ok(Some(token), NOTES, json!({ "id": contact, "f": 100 }))
        .await["contact"]["notes"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["body"].as_str().unwrap().to_owned())
        .collect()
}

async fn timeline(app: &TestApp, token: &str, contact: &Value) -> Vec<Value> {
    app.ok(
        Some(token),
        "query($id: ID!) { contact(id: $id) { timeline(first: 100) { nodes { kind noteId actorId } } } }",
        json!({ "id": contact }),
    )
    .await["contact"]["timeline"]["nodes"]
        .as_array()
        .unwrap()
        .clone()
}

async fn notes_are_authored_listed_edited_and_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let agent = app.member(&project, "agent@example.com", "AGENT").await;
    let other_agent = app.member(&project, "agent2@example.com", "AGENT").await;
    let admin = app.member(&project, "admin@example.com", "ADMIN").await;
    let agent_id = user_id(&app, &agent).await;
    let contact = app
        .create_contact(&owner, json!({ "fullname": "Ann" }))
        .await;
    let id = contact["id"].clone();

    let first = add(&app, &agent, &id, "  Called,\n\tprefers email  ").await;
    assert_eq!(
        first["body"], "Called,\n\tprefers email",
        "trimmed, lines kept"
    );
    assert_eq!(first["authorId"], agent_id.as_str());
    assert_eq!(first["author"]["id"], agent_id.as_str());
    assert_eq!(first["contactId"], id);
    assert_eq!(first["createdAt"], first["updatedAt"]);
    let second = add(&app, &other_agent, &id, "Second").await;
    let third = add(&app, &agent, &id, "Third").await;
    assert_eq!(
        note_bodies(&app, &owner, &id).await,
        ["Third", "Second", "Called,\n\tprefers email"],
        "newest first"
    );

    // Keyset pages of 2.
    let page = app
        .ok(Some(&owner), NOTES, json!({ "id": id, "f": 2 }))
        .await;
    let notes = &page["contact"]["notes"];
    assert_eq!(notes["pageInfo"]["hasNextPage"], true);
    assert_eq!(notes["edges"][1]["node"]["id"], second["id"]);
    let rest = app
        .ok(
            Some(&owner),
            NOTES,
            json!({ "id": id, "f": 2, "a": notes["pageInfo"]["endCursor"] }),
        )
        .await;
    let rest = &rest["contact"]["notes"];
    assert_eq!(rest["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(rest["nodes"][0]["id"], first["id"]);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    assert_eq!(rest["pageInfo"]["hasPreviousPage"], true);

    // The author edits; another AGENT may not; an ADMIN may.
    let edited = app
        .ok(
            Some(&agent),
            UPDATE,
            json!({ "id": third["id"], "b": "Third, edited" }),
        )
        .await["updateContactNote"]
        .clone();
    assert_eq!(edited["body"], "Third, edited");
    assert_eq!(edited["createdAt"], third["createdAt"]);
    assert_ne!(edited["updatedAt"], third["updatedAt"]);
    let refused = app
        .gql(
            Some(&other_agent),
            UPDATE,
            json!({ "id": third["id"], "b": "hijack" }),
        )
        .await;
    assert_eq!(code(&refused), "FORBIDDEN", "{refused}");
    let refused = app
        .gql(Some(&other_agent), DELETE, json!({ "id": third["id"] }))
        .await;
    assert_eq!(code(&refused), "FORBIDDEN", "{refused}");
    app.ok(
        Some(&admin),
        UPDATE,
        json!({ "id": second["id"], "b": "Second, by the admin" }),
    )
    .await;
    let deleted = app
        .ok(Some(&owner), DELETE, json!({ "id": first["id"] }))
        .await;
    assert_eq!(deleted["deleteContactNote"]["deletedNoteId"], first["id"]);
    assert_eq!(deleted["deleteContactNote"]["contactId"], id);
    assert_eq!(
        note_bodies(&app, &owner, &id).await,
        ["Third, edited", "Second, by the admin"]
    );
    let gone = app
        .gql(Some(&owner), DELETE, json!({ "id": first["id"] }))
        .await;
    assert_eq!(code(&gone), "NOT_FOUND");

    // The timeline says what happened to which note, never its text.
    let events = timeline(&app, &owner, &id).await;
    let notes: Vec<(&str, &Value)> = events
        .iter()
        .filter(|e| e["kind"].as_str().unwrap().starts_with("NOTE_"))
        .map(|e| (e["kind"].as_str().unwrap(), &e["noteId"]))
        .collect();
    assert_eq!(
        notes,
        [
            ("NOTE_DELETED", &first["id"]),
            ("NOTE_EDITED", &second["id"]),
            ("NOTE_EDITED", &third["id"]),
            ("NOTE_ADDED", &third["id"]),
            ("NOTE_ADDED", &second["id"]),
            ("NOTE_ADDED", &first["id"]),
        ]
    );
    assert_eq!(events[0]["actorId"], user_id(&app, &owner).await.as_str());
    // A note is not a contact field: the version did not move.
    let version = app
        .ok(
            Some(&owner),
            "query($id: ID!) { contact(id: $id) { version } }",
            json!({ "id": id }),
        )
        .await["contact"]["version"]
        .clone();
    assert_eq!(version, contact["version"]);
}
db_test!(notes_are_authored_listed_edited_and_deleted);

async fn note_input_is_validated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.sign_up("owner@example.com").await;
    let contact = app
        .create_contact(&owner, json!({ "fullname": "Ann" }))
        .await;
    let id = contact["id"].clone();
    for (body, why) in [
        ("   ", "blank"),
        ("\n\t", "blank lines"),
        ("bad \u{7} bell", "control character"),
    ] {
        let resp = app
            .gql(Some(&owner), ADD, json!({ "c": id, "b": body }))
            .await;
        assert_eq!(code(&resp), "BAD_USER_INPUT", "{why}: {resp}");
        assert_eq!(resp["errors"][0]["extensions"]["field"], "body", "{why}");
    }
    let longest = "é".repeat(10_000);
    let ok = add(&app, &owner, &id, &longest).await;
    assert_eq!(ok["body"].as_str().unwrap().chars().count(), 10_000);
    let resp = app
        .gql(
            Some(&owner),
            ADD,
            json!({ "c": id, "b": "x".repeat(10_001) }),
        )
        .await;
    assert_eq!(code(&resp), "BAD_USER_INPUT");
    assert_eq!(resp["errors"][0]["extensions"]["field"], "body");
    let resp = app
        .gql(Some(&owner), UPDATE, json!({ "id": ok["id"], "b": " " }))
        .await;
    assert_eq!(code(&resp), "BAD_USER_INPUT");
    let resp = app
        .gql(Some(&owner), ADD, json!({ "c": "not-a-uuid", "b": "x" }))
        .await;
    assert_eq!(code(&resp), "BAD_USER_INPUT");
    assert_eq!(resp["errors"][0]["extensions"]["field"], "contactId");
    let resp = app
        .gql(
            Some(&owner),
            ADD,
            json!({ "c": uuid::Uuid::new_v4().to_string(), "b": "x" }),
        )
        .await;
    assert_eq!(code(&resp), "NOT_FOUND");
    // Nothing half-written: the one valid note is all there is.
    assert_eq!(app.count_rows("contact_note").await, 1);
}
db_test!(note_input_is_validated);

async fn notes_stay_in_their_project_and_away_from_visitors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let (other, _) = app.sign_up("other@example.com").await;
    let (visitor, _) = app.visitor(&project).await;
    let made = app.create_request(&visitor, "hello").await;
    let id = made["contact"]["id"].clone();
    let note = add(&app, &owner, &id, "Internal: VIP").await;

    let resp = app
        .gql(Some(&other), ADD, json!({ "c": id, "b": "x" }))
        .await;
    assert_eq!(code(&resp), "NOT_FOUND", "{resp}");
    let resp = app
        .gql(Some(&other), UPDATE, json!({ "id": note["id"], "b": "x" }))
        .await;
    assert_eq!(code(&resp), "NOT_FOUND", "{resp}");
    let resp = app
        .gql(Some(&other), DELETE, json!({ "id": note["id"] }))
        .await;
    assert_eq!(code(&resp), "NOT_FOUND", "{resp}");
    let resp = app
        .ok(Some(&other), NOTES, json!({ "id": id, "f": 10 }))
        .await;
    assert!(resp["contact"].is_null());

    // A visitor reads its own contact, but never the notes.
    let resp = app
        .gql(
            Some(&visitor),
            "{ viewer { contact { id notes { nodes { body } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&resp), "FORBIDDEN", "{resp}");
    assert!(!resp.to_string().contains("VIP"));
    let resp = app
        .gql(Some(&visitor), ADD, json!({ "c": id, "b": "x" }))
        .await;
    assert_eq!(code(&resp), "FORBIDDEN");
    // Subscribers and webhook payloads carry the note's id, not its text.
    let events = app
        .ok(
            Some(&owner),
            "query($id: ID!) { contact(id: $id) { timeline { nodes { kind before after noteId } } } }",
            json!({ "id": id }),
        )
        .await;
    assert!(!events.to_string().contains("VIP"), "{events}");
    assert_eq!(
        app.ok(Some(&owner), NOTES, json!({ "id": id })).await["contact"]["notes"]["nodes"][0]["body"],
        "Internal: VIP"
    );
}
db_test!(notes_stay_in_their_project_and_away_from_visitors);

async fn merge_moves_notes_and_unmerge_moves_them_back(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.sign_up("owner@example.com").await;
    let a = app.create_contact(&owner, json!({ "fullname": "A" })).await;
    let b = app.create_contact(&owner, json!({ "fullname": "B" })).await;
    add(&app, &owner, &a["id"], "on A").await;
    let on_b = add(&app, &owner, &b["id"], "on B").await;
    add(&app, &owner, &b["id"], "on B too").await;
    let merged = app
        .ok(
            Some(&owner),
            "mutation($p: ID!, $s: ID!) { mergeContacts(input: { primaryId: $p, secondaryIds: [$s] }) { mergeId contact { notes { nodes { body contactId } } } } }",
            json!({ "p": a["id"], "s": b["id"] }),
        )
        .await["mergeContacts"]
        .clone();
    let bodies: Vec<&str> = merged["contact"]["notes"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["on B too", "on B", "on A"]);
    assert!(
        merged["contact"]["notes"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["contactId"] == a["id"])
    );
    // A moved note is changed on the survivor; the merged-away id resolves to the survivor.
    app.ok(
        Some(&owner),
        UPDATE,
        json!({ "id": on_b["id"], "b": "on B, edited after the merge" }),
    )
    .await;
    assert_eq!(
        note_bodies(&app, &owner, &b["id"]).await,
        note_bodies(&app, &owner, &a["id"]).await
    );
    // A note added to the survivor after the merge stays with it.
    add(&app, &owner, &a["id"], "after the merge").await;
    app.ok(
        Some(&owner),
        "mutation($m: ID!) { unmergeContacts(input: { mergeId: $m }) { contact { id } } }",
        json!({ "m": merged["mergeId"] }),
    )
    .await;
    assert_eq!(
        note_bodies(&app, &owner, &a["id"]).await,
        ["after the merge", "on A"]
    );
    assert_eq!(
        note_bodies(&app, &owner, &b["id"]).await,
        ["on B too", "on B, edited after the merge"]
    );
}
db_test!(merge_moves_notes_and_unmerge_moves_them_back);

async fn erasure_deletes_the_notes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.sign_up("owner@example.com").await;
    let a = app.create_contact(&owner, json!({ "fullname": "A" })).await;
    let b = app.create_contact(&owner, json!({ "fullname": "B" })).await;
    let kept = add(&app, &owner, &b["id"], "about B").await;
    let note = add(&app, &owner, &a["id"], "secret about A").await;
    assert_eq!(app.count_rows("contact_note").await, 2);
    app.ok(
        Some(&owner),
        "mutation($id: ID!) { eraseContact(input: { id: $id }) { id } }",
        json!({ "id": a["id"] }),
    )
    .await;
    assert_eq!(app.count_rows("contact_note").await, 1);
    let resp = app
        .gql(Some(&owner), UPDATE, json!({ "id": note["id"], "b": "x" }))
        .await;
    assert_eq!(code(&resp), "NOT_FOUND");
    let resp = app
        .gql(Some(&owner), ADD, json!({ "c": a["id"], "b": "again" }))
        .await;
    assert_eq!(code(&resp), "CONFLICT", "an erased contact takes no notes");
    assert!(note_bodies(&app, &owner, &a["id"]).await.is_empty());
    assert_eq!(note_bodies(&app, &owner, &b["id"]).await, ["about B"]);
    assert_eq!(kept["body"], "about B");
}
db_test!(erasure_deletes_the_notes);

async fn notes_of_a_page_cost_one_statement(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let agent = app.member(&project, "agent@example.com", "AGENT").await;
    let query = "query($n: Int!) { contacts(first: $n) { nodes { id notes(first: 3) { nodes { body author { fullname } } } } } }";
    let mut counts = Vec::new();
    for n in [1usize, 20] {
        while app
            .ok(
                Some(&owner),
                "{ contacts(first: 100) { nodes { id } } }",
                json!({}),
            )
            .await["contacts"]["nodes"]
            .as_array()
            .unwrap()
            .len()
            < n
        {
            let c = app.create_contact(&owner, json!({ "fullname": "C" })).await;
            add(&app, &owner, &c["id"], "by the owner").await;
            add(&app, &agent, &c["id"], "by the agent").await;
        }
        let before = app.statements();
        let data = app.ok(Some(&owner), query, json!({ "n": n })).await;
        counts.push(app.statements() - before);
        let nodes = data["contacts"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), n);
        assert!(
            nodes
                .iter()
                .all(|c| c["notes"]["nodes"][0]["body"] == "by the agent"
                    && c["notes"]["nodes"][1]["author"]["fullname"] == "Agent")
        );
    }
    // The page, one statement for every contact's notes, one for every author.
    assert_eq!(counts, [3, 3], "statements for 1 and 20 contacts");
}
db_test!(notes_of_a_page_cost_one_statement);

async fn the_old_note_becomes_the_first_note(backend: Backend) {
    use migration::MigratorTrait;
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.sign_up("owner@example.com").await;
    let with_note = app
        .create_contact(&owner, json!({ "fullname": "N", "note": "Old\nnote" }))
        .await;
    let without = app.create_contact(&owner, json!({ "fullname": "M" })).await;
    // Back to the schema before notes (migration 9's `down`), then up again: its data step
    // copies the old field into a first note.
    let all = migration::Migrator::migrations();
    let nine = all
        .iter()
        .position(|m| m.name() == "m20261204_000009_notes_and_owners")
        .unwrap();
    migration::Migrator::down(&app.db, Some((all.len() - nine) as u32))
        .await
        .unwrap();
    migration::Migrator::up(&app.db, None).await.unwrap();
    let notes = app
        .ok(
            Some(&owner),
            "query($id: ID!) { contact(id: $id) { note notes { nodes { id body authorId author { id } createdAt } } } }",
            json!({ "id": with_note["id"] }),
        )
        .await;
    let contact = &notes["contact"];
    assert_eq!(
        contact["note"], "Old\nnote",
        "the deprecated field still reads"
    );
    assert_eq!(contact["notes"]["nodes"].as_array().unwrap().len(), 1);
    let first = &contact["notes"]["nodes"][0];
    assert_eq!(first["body"], "Old\nnote");
    assert!(first["authorId"].is_null() && first["author"].is_null());
    assert!(note_bodies(&app, &owner, &without["id"]).await.is_empty());
}
db_test!(the_old_note_becomes_the_first_note);
