//! Identified visitors (site tokens), identification of an anonymous visitor, and the
//! project's `autoMergeOnEmail` setting.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, code, db_test};
use crate::merge::visitor_contact;

const SIGN_IN: &str = "mutation($p: ID!, $t: String!) { signInWithCustomToken(input: { projectId: $p, token: $t }) { token role user { id kind } } }";
const IDENTIFY: &str = "mutation($t: String!) { identifyVisitor(input: { token: $t }) { auth { token user { id kind } } contact { id externalId fullname email requestsCount mergedFrom } } }";

pub(crate) async fn rotate(app: &TestApp, admin: &str) -> String {
    app.ok(
        Some(admin),
        "mutation { rotateProjectSecret { secret rotatedAt } }",
        json!({}),
    )
    .await["rotateProjectSecret"]["secret"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) fn site_token(secret: &str, claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

pub(crate) fn in_ten_minutes() -> i64 {
    chrono::Utc::now().timestamp() + 600
}

async fn an_identified_person_is_one_contact_on_every_browser(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    // Before any secret: refused.
    let body = app
        .gql(None, SIGN_IN, json!({ "p": project, "t": "x.y.z" }))
        .await;
    assert_eq!(code(&body), "UNAUTHENTICATED");
    let secret = rotate(&app, &owner).await;
    assert_eq!(secret.len(), 43);
    let token = site_token(
        &secret,
        json!({ "external_id": "cust-42", "email": "Grace@Example.com", "fullname": "Grace Hopper", "exp": in_ten_minutes() }),
    );
    // Two browsers sign in with the site's token: the same user.
    let chrome = app
        .ok(None, SIGN_IN, json!({ "p": project, "t": token }))
        .await["signInWithCustomToken"]
        .clone();
    let firefox = app
        .ok(None, SIGN_IN, json!({ "p": project, "t": token }))
        .await["signInWithCustomToken"]
        .clone();
    assert_eq!(chrome["user"]["id"], firefox["user"]["id"]);
    assert_eq!(chrome["user"]["kind"], "IDENTIFIED");
    assert_eq!(chrome["role"], "GUEST");
    let c1 = app
        .create_request(chrome["token"].as_str().unwrap(), "from chrome")
        .await;
    let c2 = app
        .create_request(firefox["token"].as_str().unwrap(), "from firefox")
        .await;
    assert_eq!(c1["contact"]["id"], c2["contact"]["id"], "one contact");
    let contact = app
        .ok(
            Some(&owner),
            "query($id: ID!) { contact(id: $id) { externalId fullname email requestsCount } }",
            json!({ "id": c1["contact"]["id"] }),
        )
        .await;
    assert_eq!(
        contact["contact"],
        json!({ "externalId": "cust-42", "fullname": "Grace Hopper", "email": "Grace@Example.com", "requestsCount": 2 })
    );

    // Bad site tokens.
    let other_secret = "another-secret-another-secret-another-secret";
    let bad = [
        site_token(
            other_secret,
            json!({ "external_id": "cust-42", "exp": in_ten_minutes() }),
        ),
        site_token(
            &secret,
            json!({ "external_id": "cust-42", "exp": chrono::Utc::now().timestamp() - 3600 }),
        ),
        site_token(&secret, json!({ "external_id": "cust-42" })),
        site_token(&secret, json!({ "exp": in_ten_minutes() })),
        site_token(
            &secret,
            json!({ "external_id": "  ", "exp": in_ten_minutes() }),
        ),
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &json!({ "external_id": "cust-42", "exp": in_ten_minutes() }),
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap(),
        "garbage".to_owned(),
    ];
    for t in bad {
        let body = app
            .gql(None, SIGN_IN, json!({ "p": project, "t": t }))
            .await;
        assert_eq!(code(&body), "UNAUTHENTICATED", "{t}: {body:#}");
    }
    // Unknown project.
    let body = app
        .gql(
            None,
            SIGN_IN,
            json!({ "p": uuid::Uuid::new_v4(), "t": token }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    // Rotation invalidates tokens signed with the old secret.
    rotate(&app, &owner).await;
    let body = app
        .gql(None, SIGN_IN, json!({ "p": project, "t": token }))
        .await;
    assert_eq!(code(&body), "UNAUTHENTICATED");
    // A token of project A's secret does not sign into project B.
    let (owner_b, project_b) = app.sign_up("owner-b@example.com").await;
    let secret_b = rotate(&app, &owner_b).await;
    let token_b = site_token(
        &secret_b,
        json!({ "external_id": "cust-42", "exp": in_ten_minutes() }),
    );
    let in_b = app
        .ok(None, SIGN_IN, json!({ "p": project_b, "t": token_b }))
        .await;
    assert_ne!(
        in_b["signInWithCustomToken"]["user"]["id"], chrome["user"]["id"],
        "external ids are per project"
    );
    let body = app
        .gql(None, SIGN_IN, json!({ "p": project, "t": token_b }))
        .await;
    assert_eq!(code(&body), "UNAUTHENTICATED");
}
db_test!(an_identified_person_is_one_contact_on_every_browser);

async fn identifying_merges_the_anonymous_contact_undoably(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let secret = rotate(&app, &owner).await;
    // The person used the site identified once (an existing identified contact).
    let token = site_token(
        &secret,
        json!({ "external_id": "u-7", "fullname": "Linus", "exp": in_ten_minutes() }),
    );
    let identified = app
        .ok(None, SIGN_IN, json!({ "p": project, "t": token }))
        .await["signInWithCustomToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let known = app.create_request(&identified, "identified request").await["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Now anonymous on a new browser, with a request and a phone.
    let (anon, anon_contact) = visitor_contact(
        &app,
        &project,
        json!({ "phone": "+14155552671", "attributes": { "utm": "mail" } }),
        1,
    )
    .await;
    let done =
        app.ok(Some(&anon), IDENTIFY, json!({ "t": token })).await["identifyVisitor"].clone();
    assert_eq!(done["contact"]["id"], known.as_str());
    assert_eq!(done["contact"]["externalId"], "u-7");
    // The caller is still the anonymous visitor: it sees the request it opened.
    assert_eq!(done["contact"]["requestsCount"], 1);
    assert_eq!(done["contact"]["mergedFrom"], json!([anon_contact]));
    let agent_view = app
        .ok(
            Some(&owner),
            "query($id: ID!) { contact(id: $id) { requestsCount } }",
            json!({ "id": known }),
        )
        .await;
    assert_eq!(agent_view["contact"]["requestsCount"], 2);
    assert_eq!(done["auth"]["user"]["kind"], "IDENTIFIED");
    // The anonymous token's next request lands on the identified contact.
    let later = app.create_request(&anon, "still anonymous tab").await;
    assert_eq!(later["contact"]["id"], known.as_str());
    // Identifying again is harmless.
    let again = app.ok(Some(&anon), IDENTIFY, json!({ "t": token })).await;
    assert_eq!(again["identifyVisitor"]["contact"]["id"], known.as_str());
    // Journaled: the merge id is on the timeline and undoes it.
    let timeline = app
        .ok(
            Some(&owner),
            "query($id: ID!) { contact(id: $id) { timeline { nodes { kind mergeId contactIds } } } }",
            json!({ "id": known }),
        )
        .await;
    let merged = timeline["contact"]["timeline"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "MERGED")
        .expect("a MERGED event")
        .clone();
    assert_eq!(merged["contactIds"], json!([anon_contact]));
    app.ok(
        Some(&owner),
        "mutation($m: ID!) { unmergeContacts(input: { mergeId: $m }) { restoredContacts { id phone requestsCount } } }",
        json!({ "m": merged["mergeId"] }),
    )
    .await;
    let restored = app
        .ok(
            Some(&owner),
            "query($id: ID!) { contact(id: $id) { id phone requestsCount } }",
            json!({ "id": anon_contact }),
        )
        .await;
    // Its own request and the one its token opened after the merge come back.
    assert_eq!(
        restored["contact"],
        json!({ "id": anon_contact, "phone": "+14155552671", "requestsCount": 2 })
    );
    // An agent cannot identify; an identified visitor cannot identify again.
    let body = app.gql(Some(&owner), IDENTIFY, json!({ "t": token })).await;
    assert_eq!(code(&body), "FORBIDDEN");
    let body = app
        .gql(Some(&identified), IDENTIFY, json!({ "t": token }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
}
db_test!(identifying_merges_the_anonymous_contact_undoably);

const SETTINGS: &str = "mutation($on: Boolean!) { updateProjectSettings(input: { autoMergeOnEmail: $on }) { autoMergeOnEmail } }";

async fn auto_merge_on_email_follows_the_setting(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let agent = app.member(&project, "agent@example.com", "AGENT").await;
    let body = app.gql(Some(&agent), SETTINGS, json!({ "on": true })).await;
    assert_eq!(code(&body), "FORBIDDEN", "only OWNER/ADMIN change settings");
    let (_, first) =
        visitor_contact(&app, &project, json!({ "email": "sam@example.com" }), 2).await;

    // Off (the default): a second browser with the same email is a second contact.
    let (_, second) =
        visitor_contact(&app, &project, json!({ "email": "Sam@Example.com" }), 1).await;
    assert_ne!(first, second);

    // On: a third browser capturing the email is merged into the best match (most requests).
    let on = app.ok(Some(&owner), SETTINGS, json!({ "on": true })).await;
    assert_eq!(on["updateProjectSettings"]["autoMergeOnEmail"], true);
    let (third_token, _) = app.visitor(&project).await;
    let own = app.create_request(&third_token, "hello").await["contact"]["id"].clone();
    let body = app
        .capture(
            &third_token,
            json!({ "email": " SAM@example.com", "fullname": "Sam" }),
        )
        .await;
    let survivor = body["data"]["captureContactMetadata"]["id"].clone();
    assert_eq!(survivor, first.as_str(), "{body:#}");
    let merged = app
        .ok(
            Some(&owner),
            "query($id: ID!) { contact(id: $id) { fullname requestsCount mergedFrom timeline(first: 5) { nodes { kind mergeId } } } }",
            json!({ "id": first }),
        )
        .await["contact"]
        .clone();
    assert_eq!(merged["fullname"], "Sam");
    assert_eq!(merged["requestsCount"], 3);
    assert_eq!(merged["mergedFrom"], json!([own]));
    // Undoable like a manual merge.
    let merge_id = merged["timeline"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "MERGED")
        .unwrap()["mergeId"]
        .clone();
    app.ok(
        Some(&owner),
        "mutation($m: ID!) { unmergeContacts(input: { mergeId: $m }) { contact { id } } }",
        json!({ "m": merge_id }),
    )
    .await;
    let count = app
        .ok(
            Some(&owner),
            "{ contacts(email: \"sam@example.com\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(count["contacts"]["totalCount"], 3);

    // Never across projects.
    let (_, other_project) = app.sign_up("other@example.com").await;
    let (_, foreign) = visitor_contact(
        &app,
        &other_project,
        json!({ "email": "sam@example.com" }),
        1,
    )
    .await;
    assert_ne!(foreign, first);

    // Never between two identified visitors with different external ids.
    let secret = rotate(&app, &owner).await;
    let mut identified = Vec::new();
    for ext in ["id-1", "id-2"] {
        let t = site_token(
            &secret,
            json!({ "external_id": ext, "exp": in_ten_minutes() }),
        );
        let token = app.ok(None, SIGN_IN, json!({ "p": project, "t": t })).await
            ["signInWithCustomToken"]["token"]
            .as_str()
            .unwrap()
            .to_owned();
        app.create_request(&token, "hi").await;
        let body = app
            .capture(&token, json!({ "email": "twin@example.com" }))
            .await;
        identified.push(body["data"]["captureContactMetadata"]["id"].clone());
    }
    assert_ne!(identified[0], identified[1]);
    // Nor by hand: two different identified people are a blocker.
    let body = app
        .gql(
            Some(&owner),
            "mutation($p: ID!, $s: ID!) { mergeContacts(input: { primaryId: $p, secondaryIds: [$s] }) { mergeId } }",
            json!({ "p": identified[0], "s": identified[1] }),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT");
    assert_eq!(
        body["errors"][0]["extensions"]["reason"],
        "IDENTIFIED_CONFLICT"
    );

    // Off again: no merge.
    app.ok(Some(&owner), SETTINGS, json!({ "on": false })).await;
    let (_, fourth) =
        visitor_contact(&app, &project, json!({ "email": "sam@example.com" }), 1).await;
    assert_ne!(fourth, first);
}
db_test!(auto_merge_on_email_follows_the_setting);
