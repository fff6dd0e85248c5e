//! Sign-up, sign-in, tokens and roles, over HTTP.

use contacts_server::auth::{Claims, Role};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::common::{Backend, TEST_SECRET, TestApp, code, db_test};

const SIGN_IN: &str = "mutation($i: SignInInput!) { signIn(input: $i) { token role project { id } user { kind email } } }";

async fn sign_up_and_sign_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, project) = app.sign_up("Agent@Example.com").await;

    // The password is stored only as an Argon2id hash.
    let hash: String = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        entity::user::Entity::find()
            .filter(entity::user::Column::LoginEmail.eq("agent@example.com"))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .unwrap()
    };
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("correct horse"));

    // Sign-in is case-insensitive on the email; projectId may be omitted with one project.
    let data = app
        .ok(
            None,
            SIGN_IN,
            json!({ "i": { "email": " agent@EXAMPLE.com", "password": "correct horse" } }),
        )
        .await;
    assert_eq!(data["signIn"]["role"], "OWNER");
    assert_eq!(data["signIn"]["project"]["id"], project);
    assert_eq!(data["signIn"]["user"]["kind"], "AGENT");
    let token = data["signIn"]["token"].as_str().unwrap();
    let viewer = app
        .ok(
            Some(token),
            "{ viewer { role project { id } contact { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(viewer["viewer"]["role"], "OWNER");
    assert!(viewer["viewer"]["contact"].is_null());

    // Explicit projectId works; another project's id is FORBIDDEN.
    let data = app
        .ok(None, SIGN_IN, json!({ "i": { "email": "agent@example.com", "password": "correct horse", "projectId": project } }))
        .await;
    assert_eq!(data["signIn"]["project"]["id"], project);
    let (_, other_project) = app.sign_up("other@example.com").await;
    let body = app
        .gql(None, SIGN_IN, json!({ "i": { "email": "agent@example.com", "password": "correct horse", "projectId": other_project } }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN");

    // Wrong password and unknown email: the same UNAUTHENTICATED answer.
    let wrong = app
        .gql(
            None,
            SIGN_IN,
            json!({ "i": { "email": "agent@example.com", "password": "wrong password" } }),
        )
        .await;
    let unknown = app
        .gql(
            None,
            SIGN_IN,
            json!({ "i": { "email": "nobody@example.com", "password": "wrong password" } }),
        )
        .await;
    assert_eq!(code(&wrong), "UNAUTHENTICATED");
    assert_eq!(code(&unknown), "UNAUTHENTICATED");
    assert_eq!(
        wrong["errors"][0]["message"],
        unknown["errors"][0]["message"]
    );

    // Duplicate sign-up (any case) is a CONFLICT; short password is BAD_USER_INPUT.
    let body = app
        .gql(
            None,
            "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
            json!({ "i": { "email": "AGENT@example.com", "password": "another pass", "projectName": "X" } }),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT");
    let body = app
        .gql(
            None,
            "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
            json!({ "i": { "email": "new@example.com", "password": "short", "projectName": "X" } }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "password");
    assert_eq!(
        app.count_rows("user").await,
        2,
        "nothing written by failed sign-ups"
    );
}
db_test!(sign_up_and_sign_in);

async fn bad_tokens_are_unauthenticated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let contacts = "{ contacts { totalCount } }";
    assert!(
        app.gql(Some(&agent), contacts, json!({}))
            .await
            .get("errors")
            .is_none()
    );

    // No token: agent queries are UNAUTHENTICATED, viewer is null.
    assert_eq!(
        code(&app.gql(None, contacts, json!({})).await),
        "UNAUTHENTICATED"
    );
    assert!(app.ok(None, "{ viewer { role } }", json!({})).await["viewer"].is_null());

    let claims_of = |exp: i64, role: Role| Claims {
        sub: uuid::Uuid::new_v4(),
        pid: project.parse().unwrap(),
        role,
        iat: exp - 3600,
        exp,
    };
    let now = chrono::Utc::now().timestamp();
    let expired = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims_of(now - 3600, Role::Owner),
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .unwrap();
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims_of(now + 3600, Role::Owner),
        &EncodingKey::from_secret(b"some-other-secret-some-other-secret-0000"),
    )
    .unwrap();
    let other_alg = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &claims_of(now + 3600, Role::Owner),
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .unwrap();
    let mut tampered = agent.clone();
    tampered.insert(tampered.len() - 3, 'x');
    for token in [
        expired.as_str(),
        forged.as_str(),
        other_alg.as_str(),
        "not-a-jwt",
        "",
        tampered.as_str(),
    ] {
        for query in [contacts, "{ viewer { role } }"] {
            let body = app.gql(Some(token), query, json!({})).await;
            assert_eq!(
                code(&body),
                "UNAUTHENTICATED",
                "token {token:?} on {query}: {body}"
            );
        }
    }
    // A wrong scheme is rejected too.
    let resp = reqwest::Client::new()
        .post(format!("{}/graphql", app.base))
        .header("Authorization", format!("Basic {agent}"))
        .json(&json!({ "query": contacts }))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(code(&resp), "UNAUTHENTICATED");
}
db_test!(bad_tokens_are_unauthenticated);

async fn roles_are_enforced(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let (visitor, _) = app.visitor(&project).await;
    // Visitors cannot use agent queries.
    for query in [
        "{ contacts { totalCount } }",
        "{ contact(id: \"00000000-0000-0000-0000-000000000000\") { id } }",
    ] {
        assert_eq!(
            code(&app.gql(Some(&visitor), query, json!({})).await),
            "FORBIDDEN",
            "{query}"
        );
    }
    // Agents cannot use visitor mutations.
    let body = app
        .gql(
            Some(&agent),
            "mutation { createRequest(input: { firstText: \"x\" }) { request { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let body = app.capture(&agent, json!({ "fullname": "x" })).await;
    assert_eq!(code(&body), "FORBIDDEN");
    // Visitor mutations need a token.
    let body = app
        .gql(
            None,
            "mutation { createRequest(input: { firstText: \"x\" }) { request { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "UNAUTHENTICATED");
    assert_eq!(app.count_rows("lead").await, 0);
    assert_eq!(app.count_rows("request").await, 0);

    // Anonymous sign-in to an unknown project is NOT_FOUND; a malformed id BAD_USER_INPUT.
    let q = "mutation($i: SignInAnonymouslyInput!) { signInAnonymously(input: $i) { token } }";
    let body = app
        .gql(
            None,
            q,
            json!({ "i": { "projectId": uuid::Uuid::new_v4() } }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    let body = app
        .gql(None, q, json!({ "i": { "projectId": "nope" } }))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "projectId");
}
db_test!(roles_are_enforced);

#[tokio::test]
async fn production_refuses_to_start_without_a_strong_secret() {
    use contacts_server::{Application, Config};
    for secret in [None, Some("too-short".to_owned())] {
        let mut config = Config::defaults();
        config.production = true;
        config.jwt_secret = secret;
        config.database_url = "sqlite::memory:".into();
        config.bind = "127.0.0.1:0".parse().unwrap();
        let err = Application::build(config).await.err().expect("must refuse");
        assert!(err.to_string().contains("JWT_SECRET"), "{err}");
    }
}
