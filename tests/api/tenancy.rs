//! Tenant isolation: nobody sees another project's data; a visitor sees only its own.

use serde_json::json;

use crate::common::{Backend, TestApp, db_test};

async fn agents_see_only_their_project(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent_a, project_a) = app.sign_up("a@example.com").await;
    let (agent_b, project_b) = app.sign_up("b@example.com").await;
    let (visitor_a, _) = app.visitor(&project_a).await;
    let created = app.create_request(&visitor_a, "hello from A").await;
    app.capture(&visitor_a, json!({ "email": "shared@example.com" }))
        .await;
    let contact_a = created["contact"]["id"].as_str().unwrap().to_owned();
    let (visitor_b, _) = app.visitor(&project_b).await;
    app.create_request(&visitor_b, "hello from B").await;
    app.capture(&visitor_b, json!({ "email": "shared@example.com" }))
        .await;

    let q = "query($e: String) { contacts(email: $e) { totalCount nodes { id } } }";
    for email in [json!(null), json!("shared@example.com")] {
        let a = app.ok(Some(&agent_a), q, json!({ "e": email })).await;
        let b = app.ok(Some(&agent_b), q, json!({ "e": email })).await;
        assert_eq!(a["contacts"]["totalCount"], 1);
        assert_eq!(b["contacts"]["totalCount"], 1);
        assert_eq!(a["contacts"]["nodes"][0]["id"], contact_a);
        assert_ne!(b["contacts"]["nodes"][0]["id"], contact_a);
    }
    // B asking for A's contact by id gets null, exactly as for an id that does not exist.
    let by_id = "query($id: ID!) { contact(id: $id) { id } }";
    let b = app
        .ok(Some(&agent_b), by_id, json!({ "id": contact_a }))
        .await;
    assert!(b["contact"].is_null());
    let missing = app
        .ok(Some(&agent_b), by_id, json!({ "id": uuid::Uuid::new_v4() }))
        .await;
    assert_eq!(b, missing);
    let a = app
        .ok(Some(&agent_a), by_id, json!({ "id": contact_a }))
        .await;
    assert_eq!(a["contact"]["id"], contact_a);
}
db_test!(agents_see_only_their_project);

async fn visitors_see_only_their_own_contact(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, project) = app.sign_up("a@example.com").await;
    let (first, first_user) = app.visitor(&project).await;
    let (second, second_user) = app.visitor(&project).await;
    app.create_request(&first, "first's secret").await;
    app.capture(&first, json!({ "fullname": "First" })).await;
    // The second visitor writes to its own contact, never the first's.
    app.capture(&second, json!({ "fullname": "Second" })).await;
    let q = "{ viewer { contact { leadId fullname requests { nodes { firstText } } } } }";
    let one = app.ok(Some(&first), q, json!({})).await;
    let two = app.ok(Some(&second), q, json!({})).await;
    assert_eq!(one["viewer"]["contact"]["leadId"], first_user);
    assert_eq!(one["viewer"]["contact"]["fullname"], "First");
    assert_eq!(two["viewer"]["contact"]["leadId"], second_user);
    assert_eq!(two["viewer"]["contact"]["fullname"], "Second");
    assert_eq!(two["viewer"]["contact"]["requests"]["nodes"], json!([]));
}
db_test!(visitors_see_only_their_own_contact);

/// An agent of project A cannot touch project B's users: a contact of A keyed by (made with
/// `leadId` =) a user id of B, then erased, leaves B's identified and anonymous visitors'
/// rows exactly as they were, and B's identified visitor keeps its user id.
async fn erasing_never_reaches_another_projects_users(backend: Backend) {
    use crate::identity::{in_ten_minutes, rotate, site_token};
    use sea_orm::EntityTrait;
    let app = TestApp::spawn(backend).await;
    let (agent_a, _) = app.sign_up("a@example.com").await;
    let (owner_b, project_b) = app.sign_up("b@example.com").await;
    let secret = rotate(&app, &owner_b).await;
    let token = site_token(
        &secret,
        json!({ "external_id": "cust-7", "email": "grace@example.com", "fullname": "Grace Hopper", "exp": in_ten_minutes() }),
    );
    let sign_in = "mutation($p: ID!, $t: String!) { signInWithCustomToken(input: { projectId: $p, token: $t }) { user { id } } }";
    let identified = app
        .ok(None, sign_in, json!({ "p": project_b, "t": token }))
        .await["signInWithCustomToken"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let anonymous = app
        .ok(
            None,
            "mutation($i: SignInAnonymouslyInput!) { signInAnonymously(input: $i) { user { id } } }",
            json!({ "i": { "projectId": project_b, "firstname": "Ada", "email": "ada@example.com", "attributes": { "plan": "pro" } } }),
        )
        .await["signInAnonymously"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let users = async || {
        let mut rows = entity::user::Entity::find().all(&app.db).await.unwrap();
        rows.sort_by_key(|u| u.id);
        rows
    };
    let before = users().await;
    assert!(
        before
            .iter()
            .any(|u| u.email.as_deref() == Some("ada@example.com"))
    );
    for user_id in [&identified, &anonymous] {
        let contact = app
            .create_contact(
                &agent_a,
                json!({ "leadId": user_id, "fullname": "Mallory" }),
            )
            .await;
        let erased = app
            .ok(
                Some(&agent_a),
                "mutation($i: ContactIdInput!) { eraseContact(input: $i) { erasedAt } }",
                json!({ "i": { "id": contact["id"] } }),
            )
            .await;
        assert!(erased["eraseContact"]["erasedAt"].is_string());
    }
    assert_eq!(
        users().await,
        before,
        "B's users were changed by A's erasure"
    );
    let again = app
        .ok(None, sign_in, json!({ "p": project_b, "t": token }))
        .await;
    assert_eq!(
        again["signInWithCustomToken"]["user"]["id"],
        identified.as_str()
    );
}
db_test!(erasing_never_reaches_another_projects_users);
