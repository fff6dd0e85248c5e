//! Every type, field, argument, input field and enum value of the schema has a description
//! (frontend teams read them in GraphiQL and in generated clients).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_graphql::Request;

#[tokio::test]
async fn every_schema_element_has_a_description() {
    let schema = contacts_server::graphql::schema::schema_builder().finish();
    let query = r#"{ __schema { types {
        name kind description
        fields(includeDeprecated: true) { name description args { name description } }
        inputFields { name description }
        enumValues(includeDeprecated: true) { name description }
    } } }"#;
    let resp = schema.execute(Request::new(query)).await;
    assert!(resp.errors.is_empty(), "{:?}", resp.errors);
    let data = resp.data.into_json().unwrap();
    let mut missing = Vec::new();
    let blank = |v: &serde_json::Value| v.as_str().is_none_or(|s| s.trim().is_empty());
    for t in data["__schema"]["types"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        if name.starts_with("__") || ["String", "Int", "Float", "Boolean", "ID"].contains(&name) {
            continue;
        }
        if blank(&t["description"]) {
            missing.push(format!("type {name}"));
        }
        for f in t["fields"].as_array().into_iter().flatten() {
            let field = f["name"].as_str().unwrap();
            if blank(&f["description"]) {
                missing.push(format!("field {name}.{field}"));
            }
            for a in f["args"].as_array().into_iter().flatten() {
                if blank(&a["description"]) {
                    missing.push(format!("argument {name}.{field}({})", a["name"]));
                }
            }
        }
        for f in t["inputFields"].as_array().into_iter().flatten() {
            if blank(&f["description"]) {
                missing.push(format!("input field {name}.{}", f["name"]));
            }
        }
        for v in t["enumValues"].as_array().into_iter().flatten() {
            if blank(&v["description"]) {
                missing.push(format!("enum value {name}.{}", v["name"]));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "missing descriptions:\n{}",
        missing.join("\n")
    );
}
