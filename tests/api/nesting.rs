//! Deep and wide client input never reaches a recursive pass unmeasured: argument literals,
//! variable default values, directive arguments, variables, `JSON` scalar values and fragment
//! chains, 10 to 100,000 levels, over POST and GET. Each answer is a GraphQL error (or data)
//! and the server keeps serving. (A 4 KB literal of 2,000 nested lists used to overflow a
//! worker's stack and abort the process.)

use serde_json::{Value, json};

use crate::common::{Backend, TestApp};

/// Levels tried; [`contacts_server::graphql::nesting::MAX_NESTING`] is 64.
const DEPTHS: [usize; 9] = [10, 50, 70, 100, 1_000, 1_500, 2_000, 10_000, 100_000];

#[derive(Clone, Copy, Debug)]
enum Shape {
    List,
    Object,
    Mixed,
}

/// A value nested `depth` levels deep, with `key` opening an object level (`a: ` for a
/// GraphQL literal, `"a": ` for JSON text).
fn nested(shape: Shape, depth: usize, key: &str) -> String {
    let (open, close) = match shape {
        Shape::List => ("[".to_owned(), "]"),
        Shape::Object => (format!("{{{key}"), "}"),
        Shape::Mixed => (format!("[{{{key}"), "}]"),
    };
    let levels = match shape {
        Shape::Mixed => depth.div_ceil(2),
        _ => depth,
    };
    format!("{}1{}", open.repeat(levels), close.repeat(levels))
}

/// A GraphQL value literal nested `depth` levels deep.
fn literal(shape: Shape, depth: usize) -> String {
    nested(shape, depth, "a: ")
}

/// The same nesting as JSON text (for variables; built as text, since building it as a
/// `serde_json::Value` would recurse in the test itself).
fn json_text(shape: Shape, depth: usize) -> String {
    nested(shape, depth, "\"a\": ")
}

/// Every place a client puts a value literal, with `L` standing for it.
const PLACES: [&str; 5] = [
    // An argument literal (the issue's report).
    r#"{ contacts(attribute: {key: "k", equals: L}) { totalCount } }"#,
    // A `JSON` scalar inside an input object.
    r#"mutation { createContact(input: {fullname: "x", attributes: L}) { id } }"#,
    // A variable's default value in the operation definition.
    r#"mutation($v: JSON = L) { createContact(input: {fullname: "x", attributes: $v}) { id } }"#,
    // A directive argument.
    "{ __typename @include(if: L) }",
    // A field argument of an introspection field.
    "{ __type(name: L) { name } }",
];

async fn post(app: &TestApp, body: String) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/graphql", app.base))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn get(app: &TestApp, query: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{}/graphql", app.base))
        .query(&[("query", query)])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// The server still answers a plain query with data and no error.
async fn still_serving(app: &TestApp, after: &str) {
    eprintln!("checked: {after}");
    crate::common::still_serving(app).await;
}

/// The first error's code; the response must have one.
fn error_code(body: &Value, what: &str) -> String {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no coded GraphQL error in {body:#}"))
        .to_owned()
}

fn check(depth: usize, body: &Value, what: &str) {
    if depth > 64 {
        assert_eq!(error_code(body, what), "QUERY_TOO_DEEP", "{what}: {body:#}");
        assert!(
            body.get("data").is_none(),
            "{what}: a request error has no data"
        );
    } else {
        // Shallow values reach validation and execution, which answer on their own terms
        // (a type error, UNAUTHENTICATED, or data).
        assert!(
            body.get("errors").is_some() || body.get("data").is_some(),
            "{what}: {body:#}"
        );
        let code = body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or("");
        assert_ne!(code, "QUERY_TOO_DEEP", "{what}: {body:#}");
        assert_ne!(code, "INTERNAL", "{what}: {body:#}");
    }
}

fn big_limits(app: &mut contacts_server::Config) {
    // Room for 100,000 levels in a body or a URL, so the nesting check (not the size limits)
    // is what answers.
    app.max_body_bytes = 4 << 20;
    app.max_header_bytes = 4 << 20;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_literals_in_every_place_over_post_and_get() {
    let app = TestApp::spawn_with(Backend::Sqlite, big_limits).await;
    for place in PLACES {
        for shape in [Shape::List, Shape::Object, Shape::Mixed] {
            for depth in DEPTHS {
                let query = place.replace('L', &literal(shape, depth));
                let what = format!("POST {shape:?} {depth} in `{}`", &place[..20]);
                let (_, body) = post(&app, json!({ "query": query }).to_string()).await;
                check(depth, &body, &what);
                still_serving(&app, &what).await;
                if query.len() > 20_000 {
                    // A URL this long is refused by HTTP clients before it is sent.
                    continue;
                }
                let what = format!("GET {shape:?} {depth} in `{}`", &place[..20]);
                let (_, body) = get(&app, &query).await;
                check(depth, &body, &what);
                still_serving(&app, &what).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_variables_and_json_values() {
    let app = TestApp::spawn_with(Backend::Sqlite, big_limits).await;
    for shape in [Shape::List, Shape::Object, Shape::Mixed] {
        for depth in DEPTHS {
            let what = format!("variables {shape:?} {depth}");
            let body = format!(
                r#"{{"query": "{VARIABLE_QUERY}", "variables": {{"v": {}}}}}"#,
                json_text(shape, depth)
            );
            let (status, body) = post(&app, body).await;
            let code = error_code(&body, &what);
            if depth > 128 {
                // serde_json's own limit (128 levels) refuses the body before anything else.
                assert_eq!((status, code.as_str()), (400, "BAD_REQUEST"), "{what}");
            } else if depth > 64 {
                assert_eq!(code, "QUERY_TOO_DEEP", "{what}: {body:#}");
            } else {
                // 10 and 50 levels are fine as variables: execution answers (no token).
                assert_eq!(code, "UNAUTHENTICATED", "{what}: {body:#}");
            }
            still_serving(&app, &what).await;
        }
    }
}

/// An operation that uses `$v` as a `JSON` value (refused later for want of a token).
const VARIABLE_QUERY: &str =
    r#"mutation($v: JSON) { createContact(input: {fullname: \"x\", attributes: $v}) { id } }"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wide_literals_and_fragment_chains() {
    let app = TestApp::spawn_with(Backend::Sqlite, big_limits).await;
    // 100,000 siblings in one list, 20,000 keys in one object, 1,000 lists 60 deep side by
    // side: flat enough, so validation answers (a type error), quickly and without crashing.
    let wide_list = format!("[{}]", vec!["1"; 100_000].join(","));
    let wide_object = format!(
        "{{{}}}",
        (0..20_000)
            .map(|i| format!("k{i}: 1"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let forest = format!("[{}]", vec![literal(Shape::List, 60); 1_000].join(","));
    for (name, value) in [
        ("wide list", wide_list),
        ("wide object", wide_object),
        ("forest", forest),
    ] {
        for place in PLACES {
            let query = place.replace('L', &value);
            let (_, body) = post(&app, json!({ "query": query }).to_string()).await;
            check(1, &body, name);
            still_serving(&app, name).await;
        }
    }
    // Fragment spreads nest the validator's and executor's recursion without any bracket:
    // `{ ...F0 } fragment F0 on Query { ...F1 } ...`.
    for links in [10, 30, 40, 1_000, 5_000] {
        let mut text = String::from("query { ...F0 }\n");
        for i in 0..links {
            text.push_str(&format!("fragment F{i} on Query {{ ...F{} }}\n", i + 1));
        }
        text.push_str(&format!("fragment F{links} on Query {{ __typename }}"));
        let (_, body) = post(&app, json!({ "query": text }).to_string()).await;
        let what = format!("fragment chain of {links}");
        // async-graphql follows at most 32 nested spreads (cycles included).
        if links + 1 > 32 {
            assert_eq!(error_code(&body, &what), "QUERY_TOO_DEEP", "{what}");
        } else {
            assert!(body.get("errors").is_none(), "{what}: {body:#}");
            assert_eq!(body["data"]["__typename"], "Query", "{what}");
        }
        still_serving(&app, &what).await;
    }
    // A fragment cycle is refused before anything follows it.
    let (_, body) = post(
        &app,
        json!({ "query": "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }" })
            .to_string(),
    )
    .await;
    assert_eq!(error_code(&body, "cycle"), "QUERY_TOO_DEEP");
    still_serving(&app, "cycle").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persisted_queries_are_measured_too() {
    use sha2::Digest;
    let app = TestApp::spawn_with(Backend::Sqlite, big_limits).await;
    let query = PLACES[0].replace('L', &literal(Shape::List, 2_000));
    let hash = hex(&sha2::Sha256::digest(query.as_bytes()));
    let body = json!({
        "query": query,
        "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } },
    });
    let (_, answer) = post(&app, body.to_string()).await;
    assert_eq!(error_code(&answer, "APQ"), "QUERY_TOO_DEEP");
    // By hash alone (as a client retries): never stored, so not found; never parsed.
    let body = json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } });
    let (_, answer) = post(&app, body.to_string()).await;
    assert_eq!(
        error_code(&answer, "APQ by hash"),
        "PERSISTED_QUERY_NOT_FOUND"
    );
    still_serving(&app, "APQ").await;
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
