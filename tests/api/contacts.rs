//! Agents' contact management: create, update, attributes, tags, delete/restore, bulk,
//! erase, node.

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, code, db_test};

const UPDATE: &str = "mutation($i: UpdateContactInput!) { updateContact(input: $i) { id fullname email phone company { name } note city country version updatedAt } }";

async fn create_and_update_contacts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, _) = app.sign_up("owner@example.com").await;
    let (other_agent, _) = app.sign_up("other@example.com").await;

    let c = app
        .create_contact(
            &agent,
            json!({ "fullname": " Grace Hopper ", "email": "Grace@Navy.mil", "phone": "+1 415 555 2671", "company": "US Navy",
                     "city": "Arlington", "tags": ["VIP", " vip ", "admiral"], "attributes": { "rank": "RADM" }, "leadId": "crm-42" }),
        )
        .await;
    assert_eq!(c["fullname"], "Grace Hopper");
    assert_eq!(c["phone"], "+14155552671");
    assert_eq!(c["tags"], json!(["VIP", "admiral"]));
    assert_eq!(c["leadId"], "crm-42");
    assert_eq!(c["version"], 1);
    assert_eq!(c["status"], "NORMAL");
    assert_eq!(c["company"]["name"], "US Navy");
    let id = c["id"].as_str().unwrap().to_owned();

    // leadId is unique per project: CONFLICT naming the existing contact; other projects may reuse it.
    let dup = app
        .gql(
            Some(&agent),
            "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }",
            json!({ "i": { "leadId": "crm-42" } }),
        )
        .await;
    assert_eq!(code(&dup), "CONFLICT");
    assert_eq!(dup["errors"][0]["extensions"]["existingId"], id);
    let elsewhere = app
        .create_contact(&other_agent, json!({ "leadId": "crm-42" }))
        .await;
    assert_ne!(elsewhere["id"], id);
    // Generated leadId when absent.
    let generated = app
        .create_contact(&agent, json!({ "fullname": "No Key" }))
        .await;
    assert!(uuid::Uuid::parse_str(generated["leadId"].as_str().unwrap()).is_ok());

    // Invalid input: nothing written.
    let before = app.count_rows("lead").await;
    let bad = app
        .gql(
            Some(&agent),
            "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }",
            json!({ "i": { "email": "nope" } }),
        )
        .await;
    assert_eq!(code(&bad), "BAD_USER_INPUT");
    assert_eq!(bad["errors"][0]["extensions"]["field"], "email");
    assert_eq!(app.count_rows("lead").await, before);

    // Partial update: absent fields stay, null clears, version increments.
    let u = app
        .ok(Some(&agent), UPDATE, json!({ "i": { "id": id, "expectedVersion": 1, "company": null, "note": "Met at\nthe conference", "country": "US" } }))
        .await;
    let u = &u["updateContact"];
    assert_eq!(u["fullname"], "Grace Hopper");
    assert_eq!(u["email"], "Grace@Navy.mil");
    assert!(u["company"].is_null());
    assert_eq!(u["note"], "Met at\nthe conference");
    assert_eq!(u["city"], "Arlington");
    assert_eq!(u["country"], "US");
    assert_eq!(u["version"], 2);

    // Stale version: CONFLICT, nothing written.
    let stale = app
        .gql(
            Some(&agent),
            UPDATE,
            json!({ "i": { "id": id, "expectedVersion": 1, "fullname": "Overwritten" } }),
        )
        .await;
    assert_eq!(code(&stale), "CONFLICT");
    let now = app
        .ok(
            Some(&agent),
            "query($id: ID!) { contact(id: $id) { fullname version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        now["contact"],
        json!({ "fullname": "Grace Hopper", "version": 2 })
    );

    // The email match key follows an updated email.
    app.ok(
        Some(&agent),
        UPDATE,
        json!({ "i": { "id": id, "expectedVersion": 2, "email": "AMAZING.grace@navy.mil" } }),
    )
    .await;
    let found = app
        .ok(
            Some(&agent),
            "{ contacts(email: \"amazing.grace@NAVY.mil\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(found["contacts"]["totalCount"], 1);

    // Unknown id or another project's: NOT_FOUND, and no record is created.
    let before = app.count_rows("lead").await;
    for target in [
        uuid::Uuid::new_v4().to_string(),
        elsewhere["id"].as_str().unwrap().to_owned(),
    ] {
        let body = app
            .gql(
                Some(&agent),
                UPDATE,
                json!({ "i": { "id": target, "expectedVersion": 1, "fullname": "X" } }),
            )
            .await;
        assert_eq!(code(&body), "NOT_FOUND");
    }
    assert_eq!(app.count_rows("lead").await, before);
}
db_test!(create_and_update_contacts);

async fn attributes_and_tags(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, _) = app.sign_up("owner@example.com").await;
    let c = app
        .create_contact(
            &agent,
            json!({ "attributes": { "a": 1, "b": 2 }, "tags": ["One"] }),
        )
        .await;
    let id = c["id"].as_str().unwrap();

    let q = "mutation($i: SetContactAttributesInput!) { setContactAttributes(input: $i) { attributes version } }";
    let r = app.ok(Some(&agent), q, json!({ "i": { "id": id, "attributes": { "b": 20, "c": { "nested": true } }, "removeKeys": ["a"] } })).await;
    assert_eq!(
        r["setContactAttributes"]["attributes"],
        json!({ "b": 20, "c": { "nested": true } })
    );
    assert_eq!(r["setContactAttributes"]["version"], 2);
    let bad = app
        .gql(
            Some(&agent),
            q,
            json!({ "i": { "id": id, "attributes": [1] } }),
        )
        .await;
    assert_eq!(code(&bad), "BAD_USER_INPUT");

    let add = "mutation($i: ContactTagsInput!) { addContactTags(input: $i) { tags version } }";
    let remove =
        "mutation($i: ContactTagsInput!) { removeContactTags(input: $i) { tags version } }";
    let r = app
        .ok(
            Some(&agent),
            add,
            json!({ "i": { "id": id, "tags": [" two ", "ONE", "Two", "three"] } }),
        )
        .await;
    assert_eq!(r["addContactTags"]["tags"], json!(["One", "two", "three"]));
    let r = app
        .ok(
            Some(&agent),
            add,
            json!({ "i": { "id": id, "tags": ["one"] } }),
        )
        .await;
    assert_eq!(
        r["addContactTags"]["version"], 3,
        "adding a present tag changes nothing"
    );
    let r = app
        .ok(
            Some(&agent),
            remove,
            json!({ "i": { "id": id, "tags": ["TWO", "absent"] } }),
        )
        .await;
    assert_eq!(r["removeContactTags"]["tags"], json!(["One", "three"]));
    let bad = app
        .gql(
            Some(&agent),
            add,
            json!({ "i": { "id": id, "tags": ["  "] } }),
        )
        .await;
    assert_eq!(code(&bad), "BAD_USER_INPUT");
    assert_eq!(bad["errors"][0]["extensions"]["field"], "tags");
}
db_test!(attributes_and_tags);

async fn delete_restore_and_bulk(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, _) = app.sign_up("owner@example.com").await;
    let (other_agent, _) = app.sign_up("other@example.com").await;
    let a = app.create_contact(&agent, json!({ "fullname": "A" })).await["id"].clone();
    let b = app.create_contact(&agent, json!({ "fullname": "B" })).await["id"].clone();
    let foreign = app
        .create_contact(&other_agent, json!({ "fullname": "F" }))
        .await["id"]
        .clone();
    let list =
        "query($s: [ContactStatus!]) { contacts(status: $s) { totalCount nodes { id status } } }";

    let r = app
        .ok(
            Some(&agent),
            "mutation($i: ContactIdInput!) { deleteContact(input: $i) { status } }",
            json!({ "i": { "id": a } }),
        )
        .await;
    assert_eq!(r["deleteContact"]["status"], "DELETED");
    assert_eq!(
        app.ok(Some(&agent), list, json!({})).await["contacts"]["totalCount"],
        1
    );
    let deleted = app
        .ok(Some(&agent), list, json!({ "s": ["DELETED"] }))
        .await;
    assert_eq!(
        deleted["contacts"]["nodes"],
        json!([{ "id": a, "status": "DELETED" }])
    );
    let r = app
        .ok(
            Some(&agent),
            "mutation($i: ContactIdInput!) { restoreContact(input: $i) { status } }",
            json!({ "i": { "id": a } }),
        )
        .await;
    assert_eq!(r["restoreContact"]["status"], "NORMAL");

    // Bulk: one bad id, one foreign id and one unknown id do not fail the others.
    let r = app
        .ok(
            Some(&agent),
            "mutation($ids: [ID!]!) { deleteContacts(ids: $ids) { succeeded failed results { id contact { status } error { code field } } } }",
            json!({ "ids": [a, "not-a-uuid", foreign, b, uuid::Uuid::new_v4()] }),
        )
        .await;
    let r = &r["deleteContacts"];
    assert_eq!(r["succeeded"], 2);
    assert_eq!(r["failed"], 3);
    let codes: Vec<Value> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["error"]["code"].clone())
        .collect();
    assert_eq!(
        codes,
        [
            Value::Null,
            json!("BAD_USER_INPUT"),
            json!("NOT_FOUND"),
            Value::Null,
            json!("NOT_FOUND")
        ]
    );
    assert_eq!(r["results"][0]["contact"]["status"], "DELETED");
    // The foreign contact is untouched.
    let f = app
        .ok(
            Some(&other_agent),
            "query($id: ID!) { contact(id: $id) { status } }",
            json!({ "id": foreign }),
        )
        .await;
    assert_eq!(f["contact"]["status"], "NORMAL");

    let r = app
        .ok(
            Some(&agent),
            "mutation($ids: [ID!]!, $t: [String!]!) { addTagsToContacts(ids: $ids, tags: $t) { succeeded failed results { contact { tags } } } }",
            json!({ "ids": [a, foreign], "t": ["bulk"] }),
        )
        .await;
    assert_eq!(r["addTagsToContacts"]["succeeded"], 1);
    assert_eq!(
        r["addTagsToContacts"]["results"][0]["contact"]["tags"],
        json!(["bulk"])
    );
    let empty = app
        .gql(
            Some(&agent),
            "mutation { deleteContacts(ids: []) { succeeded } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&empty), "BAD_USER_INPUT");
}
db_test!(delete_restore_and_bulk);

/// Every text-like value of every table, as text.
async fn all_text(app: &TestApp) -> Vec<String> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let backend = app.db.get_database_backend();
    let columns: Vec<(String, String)> = match backend {
        DbBackend::Postgres => app
            .db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns WHERE table_schema = 'public'",
            ))
            .await
            .unwrap()
            .iter()
            .map(|r| (r.try_get("", "t").unwrap(), r.try_get("", "c").unwrap()))
            .collect(),
        _ => {
            let tables: Vec<String> = app
                .db
                .query_all_raw(Statement::from_string(backend, "SELECT name FROM sqlite_master WHERE type = 'table'"))
                .await
                .unwrap()
                .iter()
                .map(|r| r.try_get("", "name").unwrap())
                .collect();
            let mut out = Vec::new();
            for t in tables {
                for r in app
                    .db
                    .query_all_raw(Statement::from_string(backend, format!("SELECT name FROM pragma_table_info('{t}')")))
                    .await
                    .unwrap()
                {
                    out.push((t.clone(), r.try_get("", "name").unwrap()));
                }
            }
            out
        }
    };
    let mut values = Vec::new();
    for (t, c) in columns {
        let sql = format!(r#"SELECT CAST("{c}" AS TEXT) AS v FROM "{t}""#);
        for r in app
            .db
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
        {
            if let Ok(Some(v)) = r.try_get::<Option<String>>("", "v") {
                values.push(v.to_lowercase());
            }
        }
    }
    values
}

async fn erase_leaves_no_trace(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let agent = app.member(&project, "agent@example.com", "AGENT").await;
    let admin = app.member(&project, "admin@example.com", "ADMIN").await;
    let data = app
        .ok(
            None,
            "mutation($i: SignInAnonymouslyInput!) { signInAnonymously(input: $i) { token } }",
            json!({ "i": { "projectId": project, "firstname": "Zelda", "lastname": "Quixotic", "email": "zelda.quixotic@secret.example", "attributes": { "ssn": "078-05-1120" } } }),
        )
        .await;
    let visitor = data["signInAnonymously"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = app
        .create_request(&visitor, "My card 4111 is stolen, Zelda Quixotic here")
        .await;
    app.capture(
        &visitor,
        json!({ "phone": "+1 415 555 2671", "attributes": { "mother": "Xanthippe" } }),
    )
    .await;
    let id = created["contact"]["id"].as_str().unwrap().to_owned();
    app.ok(
        Some(&agent),
        "mutation($i: ContactTagsInput!) { addContactTags(input: $i) { id } }",
        json!({ "i": { "id": id, "tags": ["quixotic-tag"] } }),
    )
    .await;
    let secrets = [
        "zelda",
        "quixotic",
        "078-05-1120",
        "xanthippe",
        "4155552671",
        "4111",
    ];
    let text = all_text(&app).await;
    for s in secrets {
        assert!(
            text.iter().any(|v| v.contains(s)),
            "{s} must be stored before erasure"
        );
    }

    let erase = "mutation($i: ContactIdInput!) { eraseContact(input: $i) { id fullname email phone tags attributes status erasedAt leadId } }";
    assert_eq!(
        code(
            &app.gql(Some(&agent), erase, json!({ "i": { "id": id } }))
                .await
        ),
        "FORBIDDEN"
    );
    let r = app
        .ok(Some(&admin), erase, json!({ "i": { "id": id } }))
        .await;
    let t = &r["eraseContact"];
    assert!(t["fullname"].is_null() && t["email"].is_null() && t["phone"].is_null());
    assert_eq!(t["tags"], json!([]));
    assert_eq!(t["attributes"], json!({}));
    assert_eq!(t["status"], "DELETED");
    assert!(t["erasedAt"].is_string());
    assert_eq!(t["leadId"], format!("erased:{id}"));

    let text = all_text(&app).await;
    for s in secrets {
        let hits: Vec<&String> = text.iter().filter(|v| v.contains(s)).collect();
        assert!(hits.is_empty(), "{s} survives erasure in {hits:?}");
    }
    // The tombstone keeps counts and references valid; it cannot come back.
    assert_eq!(app.count_rows("request").await, 1);
    let still = app.ok(Some(&owner), "query($id: ID!) { contact(id: $id) { requestsCount requests { nodes { firstText } } } }", json!({ "id": id })).await;
    assert_eq!(still["contact"]["requestsCount"], 1);
    assert_eq!(
        still["contact"]["requests"]["nodes"][0]["firstText"],
        "[erased]"
    );
    let body = app
        .gql(
            Some(&owner),
            "mutation($i: ContactIdInput!) { restoreContact(input: $i) { id } }",
            json!({ "i": { "id": id } }),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT");
    // Search does not find it by its former name.
    let found = app
        .ok(
            Some(&owner),
            "{ contacts(search: \"zelda\", status: [NORMAL, DELETED]) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(found["contacts"]["totalCount"], 0);
}
db_test!(erase_leaves_no_trace);

async fn node_resolves_every_type_in_the_project_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let (other, _) = app.sign_up("other@example.com").await;
    let (visitor, visitor_id) = app.visitor(&project).await;
    let created = app.create_request(&visitor, "hi").await;
    let q = "query($id: ID!) { node(id: $id) { __typename id } }";
    for (id, typename) in [
        (created["contact"]["id"].as_str().unwrap(), "Contact"),
        (created["request"]["id"].as_str().unwrap(), "Request"),
        (visitor_id.as_str(), "User"),
        (project.as_str(), "Project"),
    ] {
        let r = app.ok(Some(&agent), q, json!({ "id": id })).await;
        assert_eq!(r["node"], json!({ "__typename": typename, "id": id }));
        let r = app.ok(Some(&other), q, json!({ "id": id })).await;
        assert!(r["node"].is_null(), "{typename} leaks across projects");
    }
    assert_eq!(
        code(&app.gql(Some(&visitor), q, json!({ "id": project })).await),
        "FORBIDDEN"
    );
}
db_test!(node_resolves_every_type_in_the_project_only);
