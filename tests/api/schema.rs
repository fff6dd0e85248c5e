//! `schema.graphql` is generated from the code: it must not drift.

#[test]
fn schema_graphql_is_up_to_date() {
    let generated = contacts_server::schema_sdl();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    if std::env::var_os("UPDATE_SCHEMA").is_some() && checked_in != generated {
        std::fs::write(path, &generated).unwrap();
        panic!("schema.graphql was out of date and has been rewritten: review and commit it");
    }
    assert!(
        checked_in == generated,
        "schema.graphql is out of date: run `cargo run -- export-schema > schema.graphql` (or UPDATE_SCHEMA=1 cargo test schema) and commit it"
    );
}
