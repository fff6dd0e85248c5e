//! Metadata capture and input validation: normalisation, no wiping, nothing written on error.

use serde_json::json;

use crate::common::{Backend, TestApp, code, db_test};

async fn capture_normalises_merges_and_never_wipes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, project) = app.sign_up("owner@example.com").await;
    let (visitor, _) = app.visitor(&project).await;

    // Capture before any request creates the contact.
    let body = app
        .capture(
            &visitor,
            json!({ "fullname": "  Zoe\u{0301} ", "email": " Zoe+tag@Example.com ", "phone": "0039 06 6988 1234", "attributes": { "plan": "free", "page": "/pricing" } }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let c = &body["data"]["captureContactMetadata"];
    assert_eq!(c["fullname"], "Zo\u{e9}", "trimmed and NFC");
    assert_eq!(c["email"], "Zoe+tag@Example.com");
    assert_eq!(c["phone"], "+390669881234", "E.164");
    assert_eq!(c["version"], 1);

    // Blank and absent fields leave values alone; attributes merge by top-level key.
    let body = app
        .capture(&visitor, json!({ "fullname": "", "email": "   ", "phone": null, "attributes": { "plan": "pro" } }))
        .await;
    let c = &body["data"]["captureContactMetadata"];
    assert_eq!(c["fullname"], "Zo\u{e9}");
    assert_eq!(c["email"], "Zoe+tag@Example.com");
    assert_eq!(c["phone"], "+390669881234");
    assert_eq!(
        c["attributes"],
        json!({ "plan": "pro", "page": "/pricing" })
    );
    assert_eq!(c["version"], 2);

    // A no-op capture does not bump the version.
    let body = app
        .capture(&visitor, json!({ "attributes": { "plan": "pro" } }))
        .await;
    assert_eq!(body["data"]["captureContactMetadata"]["version"], 2);
    assert_eq!(app.count_rows("lead").await, 1);
}
db_test!(capture_normalises_merges_and_never_wipes);

async fn invalid_input_is_rejected_and_nothing_is_written(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let (fresh, _) = app.visitor(&project).await;

    // On a visitor without a contact: no contact gets created by a rejected capture.
    for (input, field) in [
        (json!({ "email": "not-an-email" }), "email"),
        (json!({ "email": "a@b" }), "email"),
        (
            json!({ "fullname": "ok", "phone": "call me maybe" }),
            "phone",
        ),
        (json!({ "phone": "+1 000" }), "phone"),
        (json!({ "fullname": "x".repeat(201) }), "fullname"),
        (json!({ "fullname": "bad\u{0}name" }), "fullname"),
        (json!({ "attributes": [1, 2] }), "attributes"),
        (json!({ "attributes": "text" }), "attributes"),
    ] {
        let body = app.capture(&fresh, input.clone()).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{input}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{input}");
    }
    assert_eq!(app.count_rows("lead").await, 0);

    // On an existing contact: a request with one bad field changes nothing at all.
    app.capture(
        &fresh,
        json!({ "fullname": "Kept", "email": "kept@example.com" }),
    )
    .await;
    let body = app
        .capture(&fresh, json!({ "fullname": "Changed", "email": "broken@" }))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    let own = app
        .ok(
            Some(&fresh),
            "{ viewer { contact { fullname email version } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        own["viewer"]["contact"],
        json!({ "fullname": "Kept", "email": "kept@example.com", "version": 1 })
    );

    // createRequest: empty text, bad attributes → nothing written.
    let q = "mutation($i: CreateRequestInput!) { createRequest(input: $i) { request { id } } }";
    let (other, _) = app.visitor(&project).await;
    for (input, field) in [
        (json!({ "firstText": "   " }), "firstText"),
        (json!({ "firstText": "x".repeat(10_001) }), "firstText"),
        (json!({ "firstText": "hi", "attributes": 5 }), "attributes"),
    ] {
        let body = app.gql(Some(&other), q, json!({ "i": input })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], field);
    }
    assert_eq!(app.count_rows("request").await, 0);
    assert_eq!(app.count_rows("lead").await, 1);

    // Agent arguments.
    for (query, field) in [
        ("{ contacts(first: 101) { totalCount } }", "first"),
        ("{ contacts(first: -1) { totalCount } }", "first"),
        ("{ contacts(after: \"garbage\") { totalCount } }", "after"),
        ("{ contact(id: \"not-a-uuid\") { id } }", "id"),
    ] {
        let body = app.gql(Some(&agent), query, json!({})).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{query}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{query}");
    }
    // A malformed operation gets a code too, and never leaks internals.
    let body = app
        .gql(Some(&agent), "{ contacts { nope } }", json!({}))
        .await;
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED");
    let body = app.gql(Some(&agent), "{ contacts(", json!({})).await;
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED");
}
db_test!(invalid_input_is_rejected_and_nothing_is_written);

/// Emails with characters nobody sees (zero-width joiner and space, soft hyphen, BOM, word
/// joiner, bidi mark, Hangul filler, variation selector, tag character, combining grapheme
/// joiner, no-break space) are refused wherever an email is written; nothing is written.
async fn invisible_characters_in_emails_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let (visitor, _) = app.visitor(&project).await;
    for c in [
        '\u{200D}',
        '\u{200B}',
        '\u{00AD}',
        '\u{FEFF}',
        '\u{2060}',
        '\u{200E}',
        '\u{3164}',
        '\u{FE0F}',
        '\u{E0041}',
        '\u{034F}',
        '\u{00A0}',
        '\u{180E}',
    ] {
        let email = format!("pay{c}pal@example.com");
        let body = app.capture(&visitor, json!({ "email": email })).await;
        assert_eq!(
            code(&body),
            "BAD_USER_INPUT",
            "U+{:04X}: {body:#}",
            c as u32
        );
        assert_eq!(body["errors"][0]["extensions"]["field"], "email");
        let writes = [
            (
                Some(agent.as_str()),
                "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }",
                json!({ "i": { "fullname": "X", "email": email } }),
            ),
            (
                None,
                "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
                json!({ "i": { "email": email, "password": "correct horse", "fullname": "A", "projectName": "P" } }),
            ),
        ];
        for (token, query, variables) in writes {
            let body = app.gql(token, query, variables).await;
            let c = c as u32;
            assert_eq!(code(&body), "BAD_USER_INPUT", "U+{c:04X} {query}: {body:#}");
        }
    }
    assert_eq!(app.count_rows("lead").await, 0);
    // Visible non-ASCII addresses (RFC 6531) are fine.
    let body = app
        .capture(&visitor, json!({ "email": "zoë@exämple.com" }))
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
}
db_test!(invisible_characters_in_emails_are_refused);
