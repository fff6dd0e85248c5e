//! The product page's scenario, end to end over HTTP: Chrome visitor, two requests, metadata;
//! Safari visitor with the same email → two contacts.

use serde_json::json;

use crate::common::{Backend, TestApp, db_test};

const CONTACTS_BY_EMAIL: &str = r#"query($email: String) {
  contacts(email: $email) { totalCount nodes { id leadId fullname email requests { totalCount nodes { id requestId firstText status } } } }
}"#;

async fn seed_scenario(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;

    // Chrome: anonymous sign-in, no contact yet.
    let (chrome, chrome_user) = app.visitor(&project).await;
    let viewer = app
        .ok(
            Some(&chrome),
            "{ viewer { role user { id kind } contact { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(viewer["viewer"]["role"], "GUEST");
    assert_eq!(viewer["viewer"]["user"]["kind"], "ANONYMOUS");
    assert!(
        viewer["viewer"]["contact"].is_null(),
        "no lead before the first request"
    );
    assert_eq!(app.count_rows("lead").await, 0);

    // First request creates the contact keyed by the visitor's user id.
    let first = app.create_request(&chrome, "Hello, I need help").await;
    assert_eq!(first["contact"]["leadId"], chrome_user);
    assert_eq!(first["request"]["status"], "UNASSIGNED");
    let request_id = first["request"]["requestId"].as_str().unwrap();
    let prefix = format!("support-group-{project}-");
    assert!(request_id.starts_with(&prefix), "{request_id}");
    let hex = &request_id[prefix.len()..];
    assert_eq!(hex.len(), 32);
    assert!(
        hex.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );

    // Metadata.
    let captured = app
        .capture(
            &chrome,
            json!({ "fullname": "Andrea Sponziello", "email": "andrea1@example.com" }),
        )
        .await;
    assert!(captured.get("errors").is_none(), "{captured:#}");
    assert_eq!(
        captured["data"]["captureContactMetadata"]["id"],
        first["contact"]["id"]
    );

    // Second request: same contact.
    let second = app.create_request(&chrome, "Me again").await;
    assert_eq!(second["contact"]["id"], first["contact"]["id"]);

    let found = app
        .ok(
            Some(&agent),
            CONTACTS_BY_EMAIL,
            json!({ "email": "andrea1@example.com" }),
        )
        .await;
    assert_eq!(found["contacts"]["totalCount"], 1);
    let chrome_contact = &found["contacts"]["nodes"][0];
    assert_eq!(chrome_contact["fullname"], "Andrea Sponziello");
    assert_eq!(chrome_contact["requests"]["totalCount"], 2);
    let texts: Vec<&str> = chrome_contact["requests"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["firstText"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["Me again", "Hello, I need help"], "newest first");

    // Safari: a new anonymous user, same email typed differently.
    let (safari, safari_user) = app.visitor(&project).await;
    assert_ne!(safari_user, chrome_user);
    let safari_first = app.create_request(&safari, "Hi from Safari").await;
    assert_ne!(safari_first["contact"]["id"], first["contact"]["id"]);
    let captured = app
        .capture(
            &safari,
            json!({ "fullname": "Andrea Sp1", "email": "  Andrea1@Example.COM " }),
        )
        .await;
    assert!(captured.get("errors").is_none(), "{captured:#}");

    let found = app
        .ok(
            Some(&agent),
            CONTACTS_BY_EMAIL,
            json!({ "email": "ANDREA1@example.com " }),
        )
        .await;
    assert_eq!(found["contacts"]["totalCount"], 2);
    let nodes = found["contacts"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2);
    // Newest first: Safari's contact, then Chrome's.
    assert_eq!(nodes[0]["leadId"], safari_user);
    assert_eq!(nodes[0]["fullname"], "Andrea Sp1");
    assert_eq!(
        nodes[0]["email"], "Andrea1@Example.COM",
        "display keeps the typed case"
    );
    assert_eq!(nodes[0]["requests"]["totalCount"], 1);
    assert_eq!(nodes[1]["leadId"], chrome_user);
    assert_ne!(nodes[0]["leadId"], nodes[1]["leadId"]);

    // Contact detail of each shows its own requests.
    for (id, expected) in [
        (&first["contact"]["id"], 2),
        (&safari_first["contact"]["id"], 1),
    ] {
        let detail = app
            .ok(
                Some(&agent),
                "query($id: ID!) { contact(id: $id) { id requests { nodes { id contact { id } } } } }",
                json!({ "id": id }),
            )
            .await;
        let requests = detail["contact"]["requests"]["nodes"].as_array().unwrap();
        assert_eq!(requests.len(), expected);
        assert!(requests.iter().all(|r| &r["contact"]["id"] == id));
    }

    // The visitor reads its own contact and requests through viewer.
    let own = app
        .ok(
            Some(&chrome),
            "{ viewer { contact { leadId email requests { totalCount } } } }",
            json!({}),
        )
        .await;
    assert_eq!(own["viewer"]["contact"]["leadId"], chrome_user);
    assert_eq!(own["viewer"]["contact"]["requests"]["totalCount"], 2);
}
db_test!(seed_scenario);

async fn sign_in_anonymously_copies_profile_to_new_contact(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let data = app
        .ok(
            None,
            "mutation($i: SignInAnonymouslyInput!) { signInAnonymously(input: $i) { token expiresAt user { fullname email kind } project { id name } } }",
            json!({ "i": { "projectId": project, "firstname": "Ada", "lastname": "Lovelace", "email": "Ada@Example.com", "attributes": { "plan": "pro" } } }),
        )
        .await;
    let payload = &data["signInAnonymously"];
    assert_eq!(payload["user"]["fullname"], "Ada Lovelace");
    assert_eq!(payload["project"]["id"], project);
    assert_eq!(app.count_rows("lead").await, 0, "sign-in creates no lead");
    let token = payload["token"].as_str().unwrap();
    app.create_request(token, "hi").await;
    let found = app
        .ok(
            Some(&agent),
            "{ contacts(email: \"ada@example.com\") { nodes { fullname email attributes } } }",
            json!({}),
        )
        .await;
    assert_eq!(found["contacts"]["nodes"][0]["fullname"], "Ada Lovelace");
    assert_eq!(
        found["contacts"]["nodes"][0]["attributes"],
        json!({ "plan": "pro" })
    );
}
db_test!(sign_in_anonymously_copies_profile_to_new_contact);
