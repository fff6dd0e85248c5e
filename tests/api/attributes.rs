//! Typed custom attributes: definitions (define, list, rename, change options, archive,
//! restore, the cap), values checked on every write path (setContactAttributes,
//! createContact, captureContactMetadata, signInAnonymously), strict mode, archived keys,
//! merges preferring fitting values, and tenant isolation. Filters: `attribute_filters.rs`.

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, code, db_test};

pub const DEFINE: &str = "mutation($i: DefineContactAttributeInput!) { defineContactAttribute(input: $i) { id key label type options archived createdAt updatedAt } }";
const UPDATE: &str = "mutation($i: UpdateContactAttributeInput!) { updateContactAttribute(input: $i) { id key label type options archived createdAt updatedAt } }";
const ARCHIVE: &str =
    "mutation($id: ID!) { archiveContactAttribute(input: { id: $id }) { id archived updatedAt } }";
const RESTORE: &str =
    "mutation($id: ID!) { restoreContactAttribute(input: { id: $id }) { id archived } }";
const LIST: &str = "query($all: Boolean) { contactAttributes(includeArchived: $all) { key label type options archived } }";
pub const SET: &str = "mutation($i: SetContactAttributesInput!) { setContactAttributes(input: $i) { attributes version } }";
const CREATE: &str =
    "mutation($i: CreateContactInput!) { createContact(input: $i) { id attributes } }";
pub const SETTINGS: &str = "mutation($on: Boolean!) { updateProjectSettings(input: { strictAttributes: $on }) { strictAttributes } }";

/// Defines an attribute (must succeed); returns the definition.
pub async fn define(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(Some(token), DEFINE, json!({ "i": input })).await["defineContactAttribute"].clone()
}

/// Defines the six typed attributes the tests use: `note` TEXT, `score` NUMBER, `vip`
/// BOOLEAN, `renewal` DATE, `plan` LIST (Free, Pro, Enterprise), `site` URL.
pub async fn define_all(app: &TestApp, token: &str) {
    for (key, t) in [
        ("note", "TEXT"),
        ("score", "NUMBER"),
        ("vip", "BOOLEAN"),
        ("renewal", "DATE"),
        ("plan", "LIST"),
        ("site", "URL"),
    ] {
        let options = if t == "LIST" {
            json!(["Free", "Pro", "Enterprise"])
        } else {
            Value::Null
        };
        define(
            app,
            token,
            json!({ "key": key, "label": key, "type": t, "options": options }),
        )
        .await;
    }
}

/// The `extensions.field` of the first error.
pub fn field(body: &Value) -> &str {
    body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or_else(|| panic!("no extensions.field in {body:#}"))
}

/// Asserts `body` is `BAD_USER_INPUT` on `expected_field` with a message naming `word`.
#[track_caller]
pub fn assert_bad(body: &Value, expected_field: &str, word: &str) {
    assert_eq!(code(body), "BAD_USER_INPUT", "{body:#}");
    assert_eq!(field(body), expected_field, "{body:#}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(word), "{word:?} not in {message:?}");
}

async fn definitions_are_defined_listed_renamed_and_archived(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let agent = app.member(&project, "agent@example.com", "AGENT").await;
    let plan = define(
        &app,
        &owner,
        json!({ "key": "plan", "label": " Plan ", "type": "LIST", "options": ["Free", " Pro ", "Enterprise"] }),
    )
    .await;
    assert_eq!(plan["key"], "plan");
    assert_eq!(plan["label"], "Plan");
    assert_eq!(plan["type"], "LIST");
    assert_eq!(plan["options"], json!(["Free", "Pro", "Enterprise"]));
    assert_eq!(plan["archived"], false);
    assert_eq!(plan["createdAt"], plan["updatedAt"]);
    let score = define(
        &app,
        &owner,
        json!({ "key": "score", "label": "Lead score", "type": "NUMBER" }),
    )
    .await;
    assert_eq!(score["options"], json!([]));
    define(
        &app,
        &owner,
        json!({ "key": "renewal date", "label": "Renewal", "type": "DATE", "options": [] }),
    )
    .await;

    // Every agent lists them, in creation order.
    let list = app.ok(Some(&agent), LIST, json!({})).await;
    assert_eq!(
        list["contactAttributes"],
        json!([
            { "key": "plan", "label": "Plan", "type": "LIST", "options": ["Free", "Pro", "Enterprise"], "archived": false },
            { "key": "score", "label": "Lead score", "type": "NUMBER", "options": [], "archived": false },
            { "key": "renewal date", "label": "Renewal", "type": "DATE", "options": [], "archived": false },
        ])
    );

    // A taken key (whatever the type) is CONFLICT with the holder's id; nothing is added.
    let dup = app
        .gql(
            Some(&owner),
            DEFINE,
            json!({ "i": { "key": "plan", "label": "Other", "type": "TEXT" } }),
        )
        .await;
    assert_eq!(code(&dup), "CONFLICT");
    assert_eq!(dup["errors"][0]["extensions"]["existingId"], plan["id"]);
    for (input, bad_field, word) in [
        (
            json!({ "key": "tier", "label": "Tier", "type": "LIST" }),
            "options",
            "1 to 100",
        ),
        (
            json!({ "key": "tier", "label": "Tier", "type": "LIST", "options": ["a", "A"] }),
            "options",
            "twice",
        ),
        (
            json!({ "key": "tier", "label": "Tier", "type": "LIST", "options": ["a", " "] }),
            "options",
            "blank",
        ),
        (
            json!({ "key": "tier", "label": "Tier", "type": "NUMBER", "options": ["1"] }),
            "options",
            "only a LIST",
        ),
        (
            json!({ "key": "a\"b", "label": "Quote", "type": "TEXT" }),
            "key",
            "quotes",
        ),
        (
            json!({ "key": "", "label": "Empty", "type": "TEXT" }),
            "key",
            "1 to 100",
        ),
        (
            json!({ "key": "tier", "label": "  ", "type": "TEXT" }),
            "label",
            "blank",
        ),
        (
            json!({ "key": "tier", "label": "x".repeat(101), "type": "TEXT" }),
            "label",
            "100",
        ),
    ] {
        let body = app.gql(Some(&owner), DEFINE, json!({ "i": input })).await;
        assert_bad(&body, bad_field, word);
    }
    assert_eq!(
        app.ok(Some(&agent), LIST, json!({})).await["contactAttributes"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Rename and change a list's options (add one, drop one); key and type stay.
    let renamed = app
        .ok(
            Some(&owner),
            UPDATE,
            json!({ "i": { "id": plan["id"], "label": "Pricing plan", "options": ["Free", "Pro", "Team"] } }),
        )
        .await["updateContactAttribute"]
        .clone();
    assert_eq!(renamed["label"], "Pricing plan");
    assert_eq!(renamed["options"], json!(["Free", "Pro", "Team"]));
    assert_eq!(renamed["key"], "plan");
    assert_eq!(renamed["type"], "LIST");
    assert_eq!(renamed["createdAt"], plan["createdAt"]);
    assert!(renamed["updatedAt"].as_str() > plan["updatedAt"].as_str());
    // The same change again changes nothing (not even updatedAt).
    let again = app
        .ok(
            Some(&owner),
            UPDATE,
            json!({ "i": { "id": plan["id"], "label": "Pricing plan" } }),
        )
        .await["updateContactAttribute"]
        .clone();
    assert_eq!(again["updatedAt"], renamed["updatedAt"]);
    let bad = app
        .gql(
            Some(&owner),
            UPDATE,
            json!({ "i": { "id": score["id"], "options": ["1"] } }),
        )
        .await;
    assert_bad(&bad, "options", "only a LIST");
    let bad = app
        .gql(
            Some(&owner),
            UPDATE,
            json!({ "i": { "id": plan["id"], "options": [] } }),
        )
        .await;
    assert_bad(&bad, "options", "1 to 100");
    let missing = app
        .gql(
            Some(&owner),
            UPDATE,
            json!({ "i": { "id": uuid::Uuid::new_v4(), "label": "X" } }),
        )
        .await;
    assert_eq!(code(&missing), "NOT_FOUND");
    let garbage = app
        .gql(
            Some(&owner),
            UPDATE,
            json!({ "i": { "id": "nope", "label": "X" } }),
        )
        .await;
    assert_bad(&garbage, "id", "not a valid id");

    // Archive: hidden unless asked for; idempotent; restore.
    let archived = app
        .ok(Some(&owner), ARCHIVE, json!({ "id": score["id"] }))
        .await["archiveContactAttribute"]
        .clone();
    assert_eq!(archived["archived"], true);
    let twice = app
        .ok(Some(&owner), ARCHIVE, json!({ "id": score["id"] }))
        .await["archiveContactAttribute"]
        .clone();
    assert_eq!(twice["updatedAt"], archived["updatedAt"]);
    let keys = |list: &Value| -> Vec<(String, bool)> {
        list["contactAttributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["key"].as_str().unwrap().to_owned(),
                    d["archived"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    let shown = app.ok(Some(&agent), LIST, json!({})).await;
    assert_eq!(
        keys(&shown),
        [
            ("plan".to_owned(), false),
            ("renewal date".to_owned(), false)
        ]
    );
    let all = app.ok(Some(&agent), LIST, json!({ "all": true })).await;
    assert_eq!(
        keys(&all),
        [
            ("plan".to_owned(), false),
            ("score".to_owned(), true),
            ("renewal date".to_owned(), false)
        ]
    );
    // An archived key is still taken.
    let dup = app
        .gql(
            Some(&owner),
            DEFINE,
            json!({ "i": { "key": "score", "label": "Score", "type": "NUMBER" } }),
        )
        .await;
    assert_eq!(code(&dup), "CONFLICT");
    let restored = app
        .ok(Some(&owner), RESTORE, json!({ "id": score["id"] }))
        .await;
    assert_eq!(restored["restoreContactAttribute"]["archived"], false);
    assert_eq!(
        app.ok(Some(&agent), LIST, json!({})).await,
        all_active(&all)
    );

    // Two admins defining one key at once: one definition, the other is told which.
    let race = json!({ "i": { "key": "race", "label": "Race", "type": "BOOLEAN" } });
    let (x, y) = tokio::join!(
        app.gql(Some(&owner), DEFINE, race.clone()),
        app.gql(Some(&owner), DEFINE, race.clone())
    );
    let (won, lost) = if x.get("errors").is_none() {
        (x, y)
    } else {
        (y, x)
    };
    assert_eq!(code(&lost), "CONFLICT", "{lost}");
    assert_eq!(
        lost["errors"][0]["extensions"]["existingId"],
        won["data"]["defineContactAttribute"]["id"]
    );
}
db_test!(definitions_are_defined_listed_renamed_and_archived);

/// The list `all` with every definition active.
fn all_active(all: &Value) -> Value {
    let mut out = all.clone();
    for d in out["contactAttributes"].as_array_mut().unwrap() {
        d["archived"] = json!(false);
    }
    out
}

async fn a_project_has_at_most_200_definitions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.sign_up("owner@example.com").await;
    let first = define(
        &app,
        &owner,
        json!({ "key": "k0", "label": "k0", "type": "TEXT" }),
    )
    .await;
    app.ok(Some(&owner), ARCHIVE, json!({ "id": first["id"] }))
        .await;
    for i in 1..200 {
        define(
            &app,
            &owner,
            json!({ "key": format!("k{i}"), "label": "k", "type": "TEXT" }),
        )
        .await;
    }
    // Archived definitions count: the 201st is refused.
    let over = app
        .gql(
            Some(&owner),
            DEFINE,
            json!({ "i": { "key": "k200", "label": "k", "type": "TEXT" } }),
        )
        .await;
    assert_bad(&over, "key", "at most 200");
    let all = app.ok(Some(&owner), LIST, json!({ "all": true })).await;
    assert_eq!(all["contactAttributes"].as_array().unwrap().len(), 200);
}
db_test!(a_project_has_at_most_200_definitions);

/// (key, a valid value, how it is stored, an invalid value, a word of the error message).
fn cases() -> Vec<(&'static str, Value, Value, Value, &'static str)> {
    vec![
        (
            "note",
            json!("two\nlines"),
            json!("two\nlines"),
            json!(42),
            "TEXT",
        ),
        ("score", json!(9.5), json!(9.5), json!("10"), "NUMBER"),
        ("vip", json!(true), json!(true), json!("yes"), "BOOLEAN"),
        (
            "renewal",
            json!(" 2028-02-29 "),
            json!("2028-02-29"),
            json!("2027-02-29"),
            "DATE",
        ),
        ("plan", json!(" pro "), json!("Pro"), json!("Gold"), "LIST"),
        (
            "site",
            json!(" https://example.com/a?b=1 "),
            json!("https://example.com/a?b=1"),
            json!("example.com"),
            "URL",
        ),
    ]
}

async fn values_are_checked_on_every_write_path(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    define_all(&app, &owner).await;
    let contact = app.create_contact(&owner, json!({})).await;
    let id = contact["id"].clone();
    for (key, valid, stored, invalid, word) in cases() {
        // setContactAttributes.
        let set = app
            .ok(
                Some(&owner),
                SET,
                json!({ "i": { "id": id, "attributes": { key: valid } } }),
            )
            .await;
        assert_eq!(set["setContactAttributes"]["attributes"][key], stored);
        let version = set["setContactAttributes"]["version"].clone();
        // A bad value fails the whole call (the good key beside it is not written either).
        let bad = app
            .gql(
                Some(&owner),
                SET,
                json!({ "i": { "id": id, "attributes": { key: invalid, "other": 1 } } }),
            )
            .await;
        assert_bad(&bad, &format!("attributes.{key}"), word);
        let now = app
            .ok(
                Some(&owner),
                "query($id: ID!) { contact(id: $id) { attributes version } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(now["contact"]["version"], version);
        assert_eq!(now["contact"]["attributes"][key], stored);
        assert!(now["contact"]["attributes"].get("other").is_none());

        // createContact.
        let created = app
            .ok(
                Some(&owner),
                CREATE,
                json!({ "i": { "attributes": { key: valid } } }),
            )
            .await;
        assert_eq!(
            created["createContact"]["attributes"],
            json!({ key: stored })
        );
        let before = app.count_rows("lead").await;
        let bad = app
            .gql(
                Some(&owner),
                CREATE,
                json!({ "i": { "attributes": { key: invalid } } }),
            )
            .await;
        assert_bad(&bad, &format!("attributes.{key}"), word);
        assert_eq!(app.count_rows("lead").await, before);

        // captureContactMetadata (a fresh visitor: a failed capture creates no contact).
        let (visitor, _) = app.visitor(&project).await;
        let bad = app
            .capture(
                &visitor,
                json!({ "fullname": "V", "attributes": { key: invalid } }),
            )
            .await;
        assert_bad(&bad, &format!("attributes.{key}"), word);
        assert_eq!(app.count_rows("lead").await, before);
        let good = app
            .capture(&visitor, json!({ "attributes": { key: valid } }))
            .await;
        assert_eq!(
            good["data"]["captureContactMetadata"]["attributes"],
            json!({ key: stored }),
            "{good}"
        );

        // signInAnonymously: the visitor's attributes seed its contact.
        let bad = app
            .gql(
                None,
                "mutation($i: SignInAnonymouslyInput!) { signInAnonymously(input: $i) { token } }",
                json!({ "i": { "projectId": project, "attributes": { key: invalid } } }),
            )
            .await;
        assert_bad(&bad, &format!("attributes.{key}"), word);
    }
    // A visitor signed in with valid attributes gets them (as stored) on its contact.
    let signed = app
        .ok(
            None,
            "mutation($i: SignInAnonymouslyInput!) { signInAnonymously(input: $i) { token } }",
            json!({ "i": { "projectId": project, "attributes": { "plan": "enterprise", "renewal": "2030-01-01 " } } }),
        )
        .await;
    let token = signed["signInAnonymously"]["token"].as_str().unwrap();
    let c = app.create_request(token, "hi").await;
    let seeded = app
        .ok(
            Some(&owner),
            "query($id: ID!) { contact(id: $id) { attributes } }",
            json!({ "id": c["contact"]["id"] }),
        )
        .await;
    assert_eq!(
        seeded["contact"]["attributes"],
        json!({ "plan": "Enterprise", "renewal": "2030-01-01" })
    );
    // null is accepted for every type; removing a typed key too.
    let nulls: serde_json::Map<String, Value> = cases()
        .iter()
        .map(|c| (c.0.to_owned(), Value::Null))
        .collect();
    let set = app
        .ok(
            Some(&owner),
            SET,
            json!({ "i": { "id": id, "attributes": nulls, "removeKeys": ["site"] } }),
        )
        .await;
    assert_eq!(
        set["setContactAttributes"]["attributes"],
        json!({ "note": null, "score": null, "vip": null, "renewal": null, "plan": null })
    );
}
db_test!(values_are_checked_on_every_write_path);

async fn strict_mode_refuses_undefined_and_archived_keys(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let score = define(
        &app,
        &owner,
        json!({ "key": "score", "label": "Score", "type": "NUMBER" }),
    )
    .await;
    let contact = app
        .create_contact(
            &owner,
            json!({ "attributes": { "legacy": "kept", "score": 1 } }),
        )
        .await;
    let id = contact["id"].clone();
    let viewer = app
        .ok(
            Some(&owner),
            "{ viewer { project { strictAttributes } } }",
            json!({}),
        )
        .await;
    assert_eq!(viewer["viewer"]["project"]["strictAttributes"], false);

    // Off (the default): undefined keys are free.
    app.ok(
        Some(&owner),
        SET,
        json!({ "i": { "id": id, "attributes": { "free": "x" } } }),
    )
    .await;
    let on = app.ok(Some(&owner), SETTINGS, json!({ "on": true })).await;
    assert_eq!(on["updateProjectSettings"]["strictAttributes"], true);

    // On: an undefined key fails every write path; defined keys and removals still work.
    let bad = app
        .gql(
            Some(&owner),
            SET,
            json!({ "i": { "id": id, "attributes": { "score": 2, "other": "x" } } }),
        )
        .await;
    assert_bad(&bad, "attributes.other", "strict");
    let bad = app
        .gql(
            Some(&owner),
            CREATE,
            json!({ "i": { "attributes": { "other": "x" } } }),
        )
        .await;
    assert_bad(&bad, "attributes.other", "strict");
    let (visitor, _) = app.visitor(&project).await;
    let bad = app
        .capture(&visitor, json!({ "attributes": { "other": null } }))
        .await;
    assert_bad(&bad, "attributes.other", "strict");
    let bad = app
        .gql(
            None,
            "mutation($i: SignInAnonymouslyInput!) { signInAnonymously(input: $i) { token } }",
            json!({ "i": { "projectId": project, "attributes": { "other": 1 } } }),
        )
        .await;
    assert_bad(&bad, "attributes.other", "strict");
    let ok = app
        .ok(
            Some(&owner),
            SET,
            json!({ "i": { "id": id, "attributes": { "score": 2 }, "removeKeys": ["legacy", "free"] } }),
        )
        .await;
    assert_eq!(
        ok["setContactAttributes"]["attributes"],
        json!({ "score": 2 })
    );
    // Writes that set no attribute are not affected by stored undefined keys.
    let captured = app.capture(&visitor, json!({ "fullname": "Ann" })).await;
    assert!(captured.get("errors").is_none(), "{captured}");

    // An archived key counts as undefined: refused in strict mode, free when it is off.
    app.ok(Some(&owner), ARCHIVE, json!({ "id": score["id"] }))
        .await;
    let bad = app
        .gql(
            Some(&owner),
            SET,
            json!({ "i": { "id": id, "attributes": { "score": 3 } } }),
        )
        .await;
    assert_bad(&bad, "attributes.score", "strict");
    app.ok(Some(&owner), SETTINGS, json!({ "on": false })).await;
    let free = app
        .ok(
            Some(&owner),
            SET,
            json!({ "i": { "id": id, "attributes": { "score": "not a number any more" } } }),
        )
        .await;
    assert_eq!(
        free["setContactAttributes"]["attributes"]["score"],
        "not a number any more"
    );
    // Restored, it checks values again (the stored one stays as it is).
    app.ok(Some(&owner), RESTORE, json!({ "id": score["id"] }))
        .await;
    let bad = app
        .gql(
            Some(&owner),
            SET,
            json!({ "i": { "id": id, "attributes": { "score": "4" } } }),
        )
        .await;
    assert_bad(&bad, "attributes.score", "NUMBER");
}
db_test!(strict_mode_refuses_undefined_and_archived_keys);

async fn merges_prefer_values_that_fit_their_definition(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.sign_up("owner@example.com").await;
    // Written before the definitions: the primary's `score` and `plan` no longer fit.
    let primary = app
        .create_contact(
            &owner,
            json!({ "attributes": { "score": "high", "plan": "Gold", "vip": true, "extra": 1 } }),
        )
        .await;
    let secondary = app
        .create_contact(
            &owner,
            json!({ "attributes": { "score": 7, "plan": "legacy", "vip": false, "more": 2 } }),
        )
        .await;
    define(
        &app,
        &owner,
        json!({ "key": "score", "label": "Score", "type": "NUMBER" }),
    )
    .await;
    define(
        &app,
        &owner,
        json!({ "key": "plan", "label": "Plan", "type": "LIST", "options": ["Free", "Pro"] }),
    )
    .await;
    let ids = json!({ "p": primary["id"], "s": secondary["id"] });
    let preview = app
        .ok(
            Some(&owner),
            "query($p: ID!, $s: ID!) { mergeContactsPreview(input: { primaryId: $p, secondaryIds: [$s] }) { canMerge attributes attributeConflicts { key sourceContactId } } }",
            ids.clone(),
        )
        .await;
    let preview = &preview["mergeContactsPreview"];
    // `score`: the secondary's number wins over the primary's legacy text; `plan`: neither
    // fits, the primary's stays (a merge never fails on stored values); `vip`: primary wins.
    let expected = json!({ "score": 7, "plan": "Gold", "vip": true, "extra": 1, "more": 2 });
    assert_eq!(preview["canMerge"], true);
    assert_eq!(preview["attributes"], expected);
    let sources: Vec<(String, String)> = preview["attributeConflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["key"].as_str().unwrap().to_owned(),
                c["sourceContactId"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let p = primary["id"].as_str().unwrap().to_owned();
    let s = secondary["id"].as_str().unwrap().to_owned();
    assert_eq!(
        sources,
        [
            ("plan".to_owned(), p.clone()),
            ("score".to_owned(), s),
            ("vip".to_owned(), p)
        ]
    );
    let merged = app
        .ok(
            Some(&owner),
            "mutation($p: ID!, $s: ID!) { mergeContacts(input: { primaryId: $p, secondaryIds: [$s] }) { contact { attributes } } }",
            ids,
        )
        .await;
    assert_eq!(merged["mergeContacts"]["contact"]["attributes"], expected);
}
db_test!(merges_prefer_values_that_fit_their_definition);

async fn definitions_belong_to_their_project(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (a, _) = app.sign_up("a@example.com").await;
    let (b, project_b) = app.sign_up("b@example.com").await;
    let b_score = define(
        &app,
        &b,
        json!({ "key": "score", "label": "Score", "type": "NUMBER" }),
    )
    .await;
    app.ok(Some(&b), SETTINGS, json!({ "on": true })).await;
    // Project A neither sees nor obeys B's definitions or strict mode.
    let list = app.ok(Some(&a), LIST, json!({ "all": true })).await;
    assert_eq!(list["contactAttributes"], json!([]));
    let c = app
        .create_contact(&a, json!({ "attributes": { "score": "text", "free": 1 } }))
        .await;
    assert_eq!(c["attributes"], json!({ "score": "text", "free": 1 }));
    // A can define the same key its own way; B's stays a NUMBER.
    define(
        &app,
        &a,
        json!({ "key": "score", "label": "Grade", "type": "LIST", "options": ["A", "B"] }),
    )
    .await;
    let bad = app
        .gql(
            Some(&b),
            CREATE,
            json!({ "i": { "attributes": { "score": "A" } } }),
        )
        .await;
    assert_bad(&bad, "attributes.score", "NUMBER");
    // B's definition is NOT_FOUND for A, exactly like an unknown id.
    for doc in [UPDATE, ARCHIVE, RESTORE] {
        let vars = if doc == UPDATE {
            json!({ "i": { "id": b_score["id"], "label": "Mine" } })
        } else {
            json!({ "id": b_score["id"] })
        };
        let body = app.gql(Some(&a), doc, vars).await;
        assert_eq!(code(&body), "NOT_FOUND", "{body}");
    }
    let b_list = app.ok(Some(&b), LIST, json!({})).await;
    assert_eq!(
        b_list["contactAttributes"],
        json!([{ "key": "score", "label": "Score", "type": "NUMBER", "options": [], "archived": false }])
    );
    // B's visitors are held to B's rules.
    let (visitor_b, _) = app.visitor(&project_b).await;
    let bad = app
        .capture(&visitor_b, json!({ "attributes": { "free": 1 } }))
        .await;
    assert_bad(&bad, "attributes.free", "strict");
}
db_test!(definitions_belong_to_their_project);
