//! Operation limits: refused with a specific code before any resolver runs (no SQL).

use serde_json::json;

use crate::common::{Backend, TestApp, code, db_test};

/// graphql-js's `getIntrospectionQuery()` (what GraphiQL and graphql-codegen send).
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}"#;

async fn operation_limits_refuse_before_any_sql(backend: Backend) {
    let limits = contacts_server::Config::defaults().query_limits();
    let app = TestApp::spawn(backend).await;
    let (agent, _) = app.sign_up("owner@example.com").await;
    let refused = async |query: String, expected: &str| {
        let before = app.statements();
        let body = app.gql(Some(&agent), &query, json!({})).await;
        assert_eq!(code(&body), expected, "{query}: {body}");
        assert!(body["data"].is_null(), "{body}");
        assert_eq!(
            app.statements(),
            before,
            "no statement may run for a refused operation"
        );
    };
    let accepted = async |query: String| {
        let body = app.gql(Some(&agent), &query, json!({})).await;
        assert!(body.get("errors").is_none(), "{query}: {body}");
    };

    // Depth: viewer > contact > k × (requests > nodes > contact) > id is 3k + 3 levels deep.
    let nest = |k: usize| {
        let open = "requests(first: 1) { nodes { contact { ".repeat(k);
        let close = "} } } ".repeat(k);
        format!("{{ viewer {{ contact {{ {open}id {close}}} }} }}")
    };
    let k = (limits.max_depth - 3) / 3;
    assert_eq!(
        3 * k + 3,
        limits.max_depth,
        "nest(k) must reach the default limit"
    );
    accepted(nest(k)).await; // exactly the default limit
    refused(nest(k + 1), "QUERY_TOO_DEEP").await; // 3 levels more

    // Complexity: page sizes multiply.
    accepted("{ contacts(first: 100) { nodes { id requests(first: 20) { totalCount nodes { id contact { id } } } } } }".into()).await;
    refused(
        "{ contacts(first: 100) { nodes { requests(first: 100) { nodes { contact { requests(first: 100) { nodes { id } } } } } } } }".into(),
        "QUERY_TOO_COMPLEX",
    )
    .await;

    // Aliases and root fields.
    let aliases = |n: usize| {
        format!(
            "{{ viewer {{ {} }} }}",
            (0..n)
                .map(|i| format!("a{i}: role"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    accepted(aliases(limits.max_aliases)).await;
    refused(aliases(limits.max_aliases + 1), "TOO_MANY_ALIASES").await;
    let roots = |n: usize| {
        format!(
            "{{ {} }}",
            (0..n)
                .map(|i| format!("r{i}: viewer {{ role }}"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    accepted(roots(limits.max_root_fields)).await;
    refused(roots(limits.max_root_fields + 1), "TOO_MANY_ROOT_FIELDS").await;

    // Introspection is allowed, within the same limits.
    let body = app.gql(None, INTROSPECTION, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert!(body["data"]["__schema"]["types"].as_array().unwrap().len() > 20);

    // Batches are refused.
    let resp = reqwest::Client::new()
        .post(format!("{}/graphql", app.base))
        .json(&json!([{ "query": "{ viewer { role } }" }, { "query": "{ viewer { role } }" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}
db_test!(operation_limits_refuse_before_any_sql);
