//! Companies: CRUD, validation codes, tenancy, the visitor's view, deletion (unlinking with
//! timeline events), the email-domain rule, merge / unmerge, statement counts, and the data
//! migration of the old free-text company field.

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, TestDb, code, db_test};

const CREATE: &str = "mutation($i: CreateCompanyInput!) { createCompany(input: $i) { id name domain attributes version createdAt updatedAt contactsCount } }";
const UPDATE: &str = "mutation($i: UpdateCompanyInput!) { updateCompany(input: $i) { id name domain attributes version updatedAt } }";
const DELETE: &str = "mutation($id: ID!) { deleteCompany(input: { id: $id }) { deletedCompanyId unlinkedContacts } }";
const COMPANY: &str = "query($id: ID!) { company(id: $id) { id name domain attributes version contactsCount contacts { totalCount pageInfo { hasNextPage endCursor } nodes { id fullname company { id name } } } } }";
const CONTACT: &str = "query($id: ID!) { contact(id: $id) { id version company { id name domain } timeline(first: 50) { nodes { kind field before after } } } }";
const UPDATE_CONTACT: &str = "mutation($i: UpdateContactInput!) { updateContact(input: $i) { id version company { id name } } }";
const CREATE_CONTACT: &str = "mutation($i: CreateContactInput!) { createContact(input: $i) { id version company { id name } } }";

async fn create_company(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(Some(token), CREATE, json!({ "i": input })).await["createCompany"].clone()
}

async fn create_contact(app: &TestApp, token: &str, input: Value) -> Value {
    app.ok(Some(token), CREATE_CONTACT, json!({ "i": input }))
        .await["createContact"]
        .clone()
}

async fn contact(app: &TestApp, token: &str, id: &Value) -> Value {
    app.ok(Some(token), CONTACT, json!({ "id": id })).await["contact"].clone()
}

/// The `(field, before, after)` of a contact's FIELD_CHANGED events of `company`, oldest
/// first.
fn company_events(contact: &Value) -> Vec<(Value, Value)> {
    let mut out: Vec<(Value, Value)> = contact["timeline"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "FIELD_CHANGED" && e["field"] == "company")
        .map(|e| (e["before"].clone(), e["after"].clone()))
        .collect();
    out.reverse();
    out
}

/// The `extensions.field` of the first error.
fn field(body: &Value) -> &str {
    body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or_else(|| panic!("no field in {body:#}"))
}

async fn companies_crud_and_links(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.sign_up("owner@example.com").await;
    let created = create_company(
        &app,
        &owner,
        json!({ "name": "  Acme Corp ", "domain": "https://www.ACME.io/about?x=1", "attributes": { "tier": "gold", "seats": 40 } }),
    )
    .await;
    assert_eq!(created["name"], "Acme Corp");
    assert_eq!(created["domain"], "acme.io");
    assert_eq!(
        created["attributes"],
        json!({ "tier": "gold", "seats": 40 })
    );
    assert_eq!(created["version"], 1);
    assert_eq!(created["contactsCount"], 0);
    assert_eq!(created["createdAt"], created["updatedAt"]);
    let acme = created["id"].clone();
    let globex = create_company(
        &app,
        &owner,
        json!({ "name": "Globex", "domain": "bücher.de" }),
    )
    .await;
    assert_eq!(globex["domain"], "xn--bcher-kva.de", "IDNA to ASCII");

    // Contacts link by name (case-insensitive, the company's own spelling shows) or by id.
    let ann = create_contact(
        &app,
        &owner,
        json!({ "fullname": "Ann", "company": "ACME CORP" }),
    )
    .await;
    assert_eq!(ann["company"], json!({ "id": acme, "name": "Acme Corp" }));
    let bob = create_contact(
        &app,
        &owner,
        json!({ "fullname": "Bob", "companyId": acme }),
    )
    .await;
    assert_eq!(bob["company"]["id"], acme);
    // A new name creates the company.
    let cid = create_contact(
        &app,
        &owner,
        json!({ "fullname": "Cid", "company": "Initech" }),
    )
    .await;
    let initech = cid["company"]["id"].clone();
    assert_eq!(cid["company"]["name"], "Initech");
    assert_ne!(initech, acme);
    // The timeline says it like any field change.
    let got = contact(&app, &owner, &ann["id"]).await;
    assert_eq!(got["company"]["domain"], "acme.io");

    // company(id:) with its contacts, newest first.
    let data = app.ok(Some(&owner), COMPANY, json!({ "id": acme })).await;
    let c = &data["company"];
    assert_eq!(c["name"], "Acme Corp");
    assert_eq!(c["contactsCount"], 2);
    assert_eq!(c["contacts"]["totalCount"], 2);
    let names: Vec<&str> = c["contacts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["fullname"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Bob", "Ann"]);
    assert_eq!(c["contacts"]["nodes"][0]["company"]["name"], "Acme Corp");
    // Paging the contacts: one per page, in the same order.
    let page = app
        .ok(
            Some(&owner),
            "query($id: ID!, $after: String) { company(id: $id) { contacts(first: 1, after: $after) { pageInfo { hasNextPage hasPreviousPage endCursor } nodes { fullname } } } }",
            json!({ "id": acme }),
        )
        .await["company"]["contacts"]
        .clone();
    assert_eq!(page["nodes"], json!([{ "fullname": "Bob" }]));
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let next = app
        .ok(
            Some(&owner),
            "query($id: ID!, $after: String) { company(id: $id) { contacts(first: 1, after: $after) { pageInfo { hasNextPage hasPreviousPage } nodes { fullname } } } }",
            json!({ "id": acme, "after": page["pageInfo"]["endCursor"] }),
        )
        .await["company"]["contacts"]
        .clone();
    assert_eq!(next["nodes"], json!([{ "fullname": "Ann" }]));
    assert_eq!(next["pageInfo"]["hasNextPage"], false);
    assert_eq!(next["pageInfo"]["hasPreviousPage"], true);
    // A soft-deleted contact is not listed.
    app.ok(
        Some(&owner),
        "mutation($id: ID!) { deleteContact(input: { id: $id }) { id } }",
        json!({ "id": ann["id"] }),
    )
    .await;
    let data = app.ok(Some(&owner), COMPANY, json!({ "id": acme })).await;
    assert_eq!(data["company"]["contactsCount"], 1);
    assert_eq!(data["company"]["contacts"]["nodes"][0]["fullname"], "Bob");
    app.ok(
        Some(&owner),
        "mutation($id: ID!) { restoreContact(input: { id: $id }) { id } }",
        json!({ "id": ann["id"] }),
    )
    .await;
    // contacts(companyId:) filters the list.
    let filtered = app
        .ok(
            Some(&owner),
            "query($c: ID!) { contacts(companyId: $c) { totalCount nodes { fullname } } }",
            json!({ "c": initech }),
        )
        .await;
    assert_eq!(filtered["contacts"]["totalCount"], 1);
    assert_eq!(filtered["contacts"]["nodes"][0]["fullname"], "Cid");

    // The list: by name, case-insensitive substring of name or domain, keyset pages.
    let list = |search: Value, after: Value| {
        let app = &app;
        let owner = owner.clone();
        async move {
            app.ok(
                Some(&owner),
                "query($s: String, $a: String) { companies(search: $s, first: 2, after: $a) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { name } } nodes { name domain contactsCount } } }",
                json!({ "s": search, "a": after }),
            )
            .await["companies"]
                .clone()
        }
    };
    let first = list(Value::Null, Value::Null).await;
    assert_eq!(first["totalCount"], 3);
    assert_eq!(
        first["nodes"],
        json!([
            { "name": "Acme Corp", "domain": "acme.io", "contactsCount": 2 },
            { "name": "Globex", "domain": "xn--bcher-kva.de", "contactsCount": 0 }
        ])
    );
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let rest = list(Value::Null, first["pageInfo"]["endCursor"].clone()).await;
    assert_eq!(
        rest["nodes"],
        json!([{ "name": "Initech", "domain": null, "contactsCount": 1 }])
    );
    assert_eq!(rest["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    assert_eq!(list(json!("CME c"), Value::Null).await["totalCount"], 1);
    assert_eq!(
        list(json!("bcher"), Value::Null).await["nodes"][0]["name"],
        "Globex"
    );
    assert_eq!(list(json!("100%_"), Value::Null).await["totalCount"], 0);

    // Update: absent keeps, null clears, a rename reaches the linked contacts (their text,
    // their search) without a new version of theirs.
    let bob_before = contact(&app, &owner, &bob["id"]).await;
    let updated = app
        .ok(
            Some(&owner),
            UPDATE,
            json!({ "i": { "id": acme, "expectedVersion": 1, "name": "Acme Industries", "attributes": null } }),
        )
        .await["updateCompany"]
        .clone();
    assert_eq!(updated["name"], "Acme Industries");
    assert_eq!(updated["domain"], "acme.io", "absent: kept");
    assert_eq!(updated["attributes"], json!({}));
    assert_eq!(updated["version"], 2);
    let bob_after = contact(&app, &owner, &bob["id"]).await;
    assert_eq!(bob_after["company"]["name"], "Acme Industries");
    assert_eq!(bob_after["version"], bob_before["version"]);
    let found = app
        .ok(
            Some(&owner),
            "{ contacts(search: \"industries\") { nodes { fullname } } }",
            json!({}),
        )
        .await;
    let mut names: Vec<String> = found["contacts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["fullname"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["Ann", "Bob"], "full-text search sees the new name");
    let updated = app
        .ok(
            Some(&owner),
            UPDATE,
            json!({ "i": { "id": acme, "expectedVersion": 2, "domain": null, "attributes": { "tier": "silver" } } }),
        )
        .await["updateCompany"]
        .clone();
    assert_eq!(updated["domain"], Value::Null);
    assert_eq!(updated["attributes"], json!({ "tier": "silver" }));
    assert_eq!(updated["version"], 3);
    // Nothing to change: same version.
    let same = app
        .ok(
            Some(&owner),
            UPDATE,
            json!({ "i": { "id": acme, "expectedVersion": 3, "name": "Acme Industries" } }),
        )
        .await["updateCompany"]
        .clone();
    assert_eq!(same["version"], 3);

    // Relinking and unlinking a contact: one FIELD_CHANGED event per change.
    let v = contact(&app, &owner, &bob["id"]).await["version"].clone();
    let moved = app
        .ok(
            Some(&owner),
            UPDATE_CONTACT,
            json!({ "i": { "id": bob["id"], "expectedVersion": v, "companyId": initech } }),
        )
        .await["updateContact"]
        .clone();
    assert_eq!(moved["company"]["name"], "Initech");
    let unlinked = app
        .ok(Some(&owner), UPDATE_CONTACT, json!({ "i": { "id": bob["id"], "expectedVersion": moved["version"], "company": null } }))
        .await["updateContact"]
        .clone();
    assert_eq!(unlinked["company"], Value::Null);
    let bob_now = contact(&app, &owner, &bob["id"]).await;
    // (Created with its company: the CREATED event says it; then one event per change.)
    assert_eq!(
        company_events(&bob_now),
        [
            (json!("Acme Industries"), json!("Initech")),
            (json!("Initech"), Value::Null)
        ]
    );
    // Blank unlinks too; an unlinked contact stays so on a `companyId: null`.
    let cid_now = contact(&app, &owner, &cid["id"]).await;
    let blank = app
        .ok(Some(&owner), UPDATE_CONTACT, json!({ "i": { "id": cid["id"], "expectedVersion": cid_now["version"], "company": "  " } }))
        .await["updateContact"]
        .clone();
    assert_eq!(blank["company"], Value::Null);
    // node(id:) resolves a company.
    let node = app
        .ok(
            Some(&owner),
            "query($id: ID!) { node(id: $id) { __typename id ... on Company { name } } }",
            json!({ "id": initech }),
        )
        .await;
    assert_eq!(
        node["node"],
        json!({ "__typename": "Company", "id": initech, "name": "Initech" })
    );
}
db_test!(companies_crud_and_links);

async fn company_validation_codes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.sign_up("owner@example.com").await;
    let acme = create_company(&app, &owner, json!({ "name": "Acme", "domain": "acme.io" })).await;
    for (input, want) in [
        (json!({ "name": "   " }), "name"),
        (json!({ "name": "x".repeat(201) }), "name"),
        (json!({ "name": "a\u{0}b" }), "name"),
        (json!({ "name": "Ok", "domain": "not a domain" }), "domain"),
        (json!({ "name": "Ok", "domain": "127.0.0.1" }), "domain"),
        (json!({ "name": "Ok", "domain": "info@other.io" }), "domain"),
        (
            json!({ "name": "Ok", "domain": "ftp://other.io" }),
            "domain",
        ),
        (json!({ "name": "Ok", "domain": "localhost" }), "domain"),
        (json!({ "name": "Ok", "attributes": [1, 2] }), "attributes"),
    ] {
        let body = app.gql(Some(&owner), CREATE, json!({ "i": input })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{input}");
        assert_eq!(field(&body), want, "{input}");
    }
    // 200 characters is fine.
    create_company(&app, &owner, json!({ "name": "y".repeat(200) })).await;
    // A taken domain, in any spelling: CONFLICT naming the holder.
    for domain in ["acme.io", "WWW.Acme.IO", "https://acme.io/contact"] {
        let body = app
            .gql(
                Some(&owner),
                CREATE,
                json!({ "i": { "name": "Acme 2", "domain": domain } }),
            )
            .await;
        assert_eq!(code(&body), "CONFLICT", "{domain}");
        assert_eq!(body["errors"][0]["extensions"]["existingId"], acme["id"]);
    }
    let other = create_company(
        &app,
        &owner,
        json!({ "name": "Other", "domain": "other.io" }),
    )
    .await;
    let body = app
        .gql(
            Some(&owner),
            UPDATE,
            json!({ "i": { "id": other["id"], "expectedVersion": 1, "domain": "acme.io" } }),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT");
    assert_eq!(body["errors"][0]["extensions"]["existingId"], acme["id"]);
    // Stale version; name cleared; bad id.
    let body = app
        .gql(
            Some(&owner),
            UPDATE,
            json!({ "i": { "id": other["id"], "expectedVersion": 7, "name": "X" } }),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT");
    let body = app
        .gql(
            Some(&owner),
            UPDATE,
            json!({ "i": { "id": other["id"], "expectedVersion": 1, "name": null } }),
        )
        .await;
    assert_eq!((code(&body), field(&body)), ("BAD_USER_INPUT", "name"));
    let body = app
        .gql(
            Some(&owner),
            UPDATE,
            json!({ "i": { "id": "nope", "expectedVersion": 1 } }),
        )
        .await;
    assert_eq!((code(&body), field(&body)), ("BAD_USER_INPUT", "id"));
    let unknown = uuid::Uuid::new_v4().to_string();
    let body = app
        .gql(
            Some(&owner),
            UPDATE,
            json!({ "i": { "id": unknown, "expectedVersion": 1, "name": "X" } }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    let body = app
        .gql(Some(&owner), DELETE, json!({ "id": unknown }))
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    // Nothing changed by the refused writes.
    let again = app
        .ok(Some(&owner), COMPANY, json!({ "id": other["id"] }))
        .await;
    assert_eq!(again["company"]["version"], 1);
    assert_eq!(again["company"]["domain"], "other.io");
    assert_eq!(app.count_rows("company").await, 3);

    // Contact inputs: both ways at once, an unknown id, not an id, a too-long name.
    for (input, want) in [
        (
            json!({ "fullname": "X", "company": "Acme", "companyId": acme["id"] }),
            "companyId",
        ),
        (
            json!({ "fullname": "X", "companyId": unknown }),
            "companyId",
        ),
        (json!({ "fullname": "X", "companyId": "nope" }), "companyId"),
        (
            json!({ "fullname": "X", "company": "z".repeat(201) }),
            "company",
        ),
    ] {
        let body = app
            .gql(Some(&owner), CREATE_CONTACT, json!({ "i": input }))
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{input}");
        assert_eq!(field(&body), want, "{input}");
    }
    let c = create_contact(&app, &owner, json!({ "fullname": "Y" })).await;
    let body = app
        .gql(Some(&owner), UPDATE_CONTACT, json!({ "i": { "id": c["id"], "expectedVersion": 1, "company": null, "companyId": acme["id"] } }))
        .await;
    assert_eq!((code(&body), field(&body)), ("BAD_USER_INPUT", "companyId"));
    let body = app
        .gql(
            Some(&owner),
            UPDATE_CONTACT,
            json!({ "i": { "id": c["id"], "expectedVersion": 9, "company": "Brand New" } }),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT");
    // A contact write that fails after creating a company by name leaves no company.
    create_contact(&app, &owner, json!({ "fullname": "Z", "leadId": "crm-1" })).await;
    let body = app
        .gql(
            Some(&owner),
            CREATE_CONTACT,
            json!({ "i": { "fullname": "Z2", "leadId": "crm-1", "company": "Brand New" } }),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT");
    assert_eq!(
        app.count_rows("company").await,
        3,
        "rolled back with the contact"
    );
    assert_eq!(app.count_rows("lead").await, 2);
    // List arguments.
    for (query, want) in [
        ("{ companies(first: 101) { nodes { id } } }", "first"),
        ("{ companies(after: \"bm9wZQ\") { nodes { id } } }", "after"),
        (
            "{ companies(search: \"a\\u0000\") { nodes { id } } }",
            "search",
        ),
        (
            "{ contacts(companyId: \"nope\") { nodes { id } } }",
            "companyId",
        ),
    ] {
        let body = app.gql(Some(&owner), query, json!({})).await;
        assert_eq!(
            (code(&body), field(&body)),
            ("BAD_USER_INPUT", want),
            "{query}"
        );
    }
    let body = app
        .gql(
            Some(&owner),
            "query($id: ID!) { company(id: $id) { contacts(first: 500) { nodes { id } } } }",
            json!({ "id": acme["id"] }),
        )
        .await;
    assert_eq!((code(&body), field(&body)), ("BAD_USER_INPUT", "first"));
}
db_test!(company_validation_codes);

async fn companies_are_tenant_scoped(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (a, _) = app.sign_up("a@example.com").await;
    let (b, _) = app.sign_up("b@example.com").await;
    let acme = create_company(&app, &a, json!({ "name": "Acme", "domain": "acme.io" })).await;
    let ann = create_contact(
        &app,
        &a,
        json!({ "fullname": "Ann", "companyId": acme["id"] }),
    )
    .await;
    let id = acme["id"].clone();
    // Reads: null, never listed, no contacts through the filter.
    let got = app
        .ok(
            Some(&b),
            "query($id: ID!) { company(id: $id) { id } node(id: $id) { id } contacts(companyId: $id) { totalCount } companies { totalCount nodes { id } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(got["company"], Value::Null);
    assert_eq!(got["node"], Value::Null);
    assert_eq!(got["contacts"]["totalCount"], 0);
    assert_eq!(got["companies"]["totalCount"], 0);
    // Writes: NOT_FOUND; another project's company cannot be linked.
    let body = app
        .gql(
            Some(&b),
            UPDATE,
            json!({ "i": { "id": id, "expectedVersion": 1, "name": "Mine" } }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    let body = app.gql(Some(&b), DELETE, json!({ "id": id })).await;
    assert_eq!(code(&body), "NOT_FOUND");
    let body = app
        .gql(
            Some(&b),
            CREATE_CONTACT,
            json!({ "i": { "fullname": "X", "companyId": id } }),
        )
        .await;
    assert_eq!((code(&body), field(&body)), ("BAD_USER_INPUT", "companyId"));
    // The same name and domain in another project are another company.
    let own = create_company(&app, &b, json!({ "name": "Acme", "domain": "acme.io" })).await;
    assert_ne!(own["id"], id);
    let bob = create_contact(&app, &b, json!({ "fullname": "Bob", "company": "acme" })).await;
    assert_eq!(bob["company"]["id"], own["id"]);
    // Project A's company is untouched and still has its contact only.
    let data = app.ok(Some(&a), COMPANY, json!({ "id": id })).await;
    assert_eq!(data["company"]["name"], "Acme");
    assert_eq!(data["company"]["contactsCount"], 1);
    assert_eq!(data["company"]["contacts"]["nodes"][0]["id"], ann["id"]);
}
db_test!(companies_are_tenant_scoped);

async fn visitors_never_see_companies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let (visitor, _) = app.visitor(&project).await;
    let made = app.create_request(&visitor, "hello").await;
    let id = made["contact"]["id"].clone();
    app.ok(
        Some(&owner),
        UPDATE_CONTACT,
        json!({ "i": { "id": id, "expectedVersion": 1, "company": "Acme" } }),
    )
    .await;
    assert_eq!(contact(&app, &owner, &id).await["company"]["name"], "Acme");
    for how in ["", "@include(if: true)"] {
        let data = app
            .ok(
                Some(&visitor),
                &format!("{{ viewer {{ contact {{ id {how} company {{ id name domain contactsCount }} }} }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(data["viewer"]["contact"]["id"], id);
        assert_eq!(data["viewer"]["contact"]["company"], Value::Null, "{how}");
    }
}
db_test!(visitors_never_see_companies);

async fn deleting_a_company_unlinks_its_contacts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let admin = app.member(&project, "admin@example.com", "ADMIN").await;
    let agent = app.member(&project, "agent@example.com", "AGENT").await;
    let acme = create_company(&app, &agent, json!({ "name": "Acme" })).await;
    let ann = create_contact(
        &app,
        &agent,
        json!({ "fullname": "Ann", "company": "Acme" }),
    )
    .await;
    let bob = create_contact(
        &app,
        &agent,
        json!({ "fullname": "Bob", "company": "acme" }),
    )
    .await;
    // A third one, merged into a contact of another company: its tombstone stays linked.
    let zed = create_contact(
        &app,
        &agent,
        json!({ "fullname": "Zed", "company": "Zed Co" }),
    )
    .await;
    let dup = create_contact(
        &app,
        &agent,
        json!({ "fullname": "Ann dup", "company": "Acme" }),
    )
    .await;
    let merge_id = app
        .ok(
            Some(&agent),
            "mutation($p: ID!, $s: ID!) { mergeContacts(input: { primaryId: $p, secondaryIds: [$s] }) { mergeId contact { company { name } } } }",
            json!({ "p": zed["id"], "s": dup["id"] }),
        )
        .await["mergeContacts"]
        .clone();
    assert_eq!(merge_id["contact"]["company"]["name"], "Zed Co");
    let ids: Vec<Value> = [&ann, &bob].iter().map(|c| c["id"].clone()).collect();
    let mut versions = Vec::new();
    for id in &ids {
        versions.push(contact(&app, &owner, id).await["version"].as_i64().unwrap());
    }
    let body = app
        .gql(Some(&agent), DELETE, json!({ "id": acme["id"] }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "agents cannot delete companies");
    let deleted = app
        .ok(Some(&admin), DELETE, json!({ "id": acme["id"] }))
        .await["deleteCompany"]
        .clone();
    assert_eq!(deleted["deletedCompanyId"], acme["id"]);
    assert_eq!(
        deleted["unlinkedContacts"], 2,
        "the tombstone is not a contact"
    );
    for (id, version) in ids.iter().zip(versions) {
        let now = contact(&app, &owner, id).await;
        assert_eq!(now["company"], Value::Null);
        assert_eq!(now["version"], version + 1);
        assert_eq!(
            company_events(&now).last().unwrap(),
            &(json!("Acme"), Value::Null)
        );
    }
    let gone = app
        .ok(Some(&owner), COMPANY, json!({ "id": acme["id"] }))
        .await;
    assert_eq!(gone["company"], Value::Null);
    assert_eq!(app.count_rows("company").await, 1, "Zed Co stays");
    let found = app
        .ok(
            Some(&owner),
            "{ contacts(search: \"acme\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        found["contacts"]["totalCount"], 0,
        "the name left the contacts"
    );
    // The merge is still undoable (the tombstone kept its version); the restored contact is
    // unlinked, since its company no longer exists, and Zed keeps its own.
    let undone = app
        .ok(
            Some(&owner),
            "mutation($m: ID!) { unmergeContacts(input: { mergeId: $m }) { contact { company { name } } restoredContacts { id company { id } } } }",
            json!({ "m": merge_id["mergeId"] }),
        )
        .await["unmergeContacts"]
        .clone();
    assert_eq!(undone["contact"]["company"]["name"], "Zed Co");
    assert_eq!(undone["restoredContacts"][0]["id"], dup["id"]);
    assert_eq!(undone["restoredContacts"][0]["company"], Value::Null);
    let body = app
        .gql(Some(&owner), DELETE, json!({ "id": acme["id"] }))
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
}
db_test!(deleting_a_company_unlinks_its_contacts);

async fn email_domain_links_contacts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let acme = create_company(&app, &owner, json!({ "name": "Acme", "domain": "acme.io" })).await;
    let google = create_company(
        &app,
        &owner,
        json!({ "name": "Google", "domain": "gmail.com" }),
    )
    .await;
    let unicode = create_company(
        &app,
        &owner,
        json!({ "name": "Bücher", "domain": "bücher.de" }),
    )
    .await;
    // Off by default: no link.
    let off = create_contact(
        &app,
        &owner,
        json!({ "fullname": "Off", "email": "off@acme.io" }),
    )
    .await;
    assert_eq!(off["company"], Value::Null);
    let settings = app
        .ok(
            Some(&owner),
            "mutation { updateProjectSettings(input: { linkCompanyByEmailDomain: true }) { linkCompanyByEmailDomain autoMergeOnEmail } }",
            json!({}),
        )
        .await;
    assert_eq!(
        settings["updateProjectSettings"],
        json!({ "linkCompanyByEmailDomain": true, "autoMergeOnEmail": false })
    );
    // An agent's create, any case; an IDN domain; never a free-mail provider; never a new
    // company for an unknown domain.
    let ann = create_contact(
        &app,
        &owner,
        json!({ "fullname": "Ann", "email": "Ann@ACME.io" }),
    )
    .await;
    assert_eq!(ann["company"]["id"], acme["id"]);
    let uwe = create_contact(
        &app,
        &owner,
        json!({ "fullname": "Uwe", "email": "uwe@bücher.de" }),
    )
    .await;
    assert_eq!(uwe["company"]["id"], unicode["id"]);
    let free = create_contact(
        &app,
        &owner,
        json!({ "fullname": "Free", "email": "free@gmail.com" }),
    )
    .await;
    assert_eq!(free["company"], Value::Null, "{google}");
    let stranger = create_contact(
        &app,
        &owner,
        json!({ "fullname": "S", "email": "s@unknown.example" }),
    )
    .await;
    assert_eq!(stranger["company"], Value::Null);
    assert_eq!(app.count_rows("company").await, 3);
    // An explicit company wins; an explicit unlink stays unlinked.
    let chosen = create_contact(
        &app,
        &owner,
        json!({ "fullname": "C", "email": "c@acme.io", "company": "Other" }),
    )
    .await;
    assert_eq!(chosen["company"]["name"], "Other");
    // An agent's update of the email: linked, with its timeline event.
    let moved = app
        .ok(Some(&owner), UPDATE_CONTACT, json!({ "i": { "id": off["id"], "expectedVersion": off["version"], "email": "off@acme.io " } }))
        .await["updateContact"]
        .clone();
    assert_eq!(
        moved["company"],
        Value::Null,
        "the same email is not a new one"
    );
    let moved = app
        .ok(Some(&owner), UPDATE_CONTACT, json!({ "i": { "id": off["id"], "expectedVersion": moved["version"], "email": "off2@acme.io" } }))
        .await["updateContact"]
        .clone();
    assert_eq!(moved["company"]["id"], acme["id"]);
    let timeline = contact(&app, &owner, &off["id"]).await;
    assert_eq!(company_events(&timeline), [(Value::Null, json!("Acme"))]);
    let kept = app
        .ok(Some(&owner), UPDATE_CONTACT, json!({ "i": { "id": chosen["id"], "expectedVersion": chosen["version"], "email": "c2@acme.io" } }))
        .await["updateContact"]
        .clone();
    assert_eq!(
        kept["company"]["name"], "Other",
        "a contact with a company keeps it"
    );
    let unlinked = app
        .ok(Some(&owner), UPDATE_CONTACT, json!({ "i": { "id": kept["id"], "expectedVersion": kept["version"], "email": "c3@acme.io", "company": null } }))
        .await["updateContact"]
        .clone();
    assert_eq!(unlinked["company"], Value::Null, "an explicit unlink wins");
    // A visitor's capture.
    let (visitor, _) = app.visitor(&project).await;
    let made = app.create_request(&visitor, "hello").await;
    let body = app
        .capture(&visitor, json!({ "email": "vis@acme.io" }))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let vis = contact(&app, &owner, &made["contact"]["id"]).await;
    assert_eq!(vis["company"]["id"], acme["id"]);
    // A visitor who signed in with an email: linked when its contact is created.
    let signed = app
        .ok(
            None,
            "mutation($i: SignInAnonymouslyInput!) { signInAnonymously(input: $i) { token } }",
            json!({ "i": { "projectId": project, "email": "early@acme.io" } }),
        )
        .await["signInAnonymously"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let made = app.create_request(&signed, "hi").await;
    assert_eq!(
        contact(&app, &owner, &made["contact"]["id"]).await["company"]["id"],
        acme["id"]
    );
    // Off again: no more links.
    app.ok(
        Some(&owner),
        "mutation { updateProjectSettings(input: { linkCompanyByEmailDomain: false }) { id } }",
        json!({}),
    )
    .await;
    let late = create_contact(
        &app,
        &owner,
        json!({ "fullname": "Late", "email": "late@acme.io" }),
    )
    .await;
    assert_eq!(late["company"], Value::Null);
}
db_test!(email_domain_links_contacts);

async fn merge_keeps_or_chooses_the_company_and_unmerge_restores(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.sign_up("owner@example.com").await;
    let a = create_contact(
        &app,
        &owner,
        json!({ "fullname": "Ada", "email": "ada@a.example", "company": "Acme" }),
    )
    .await;
    let b = create_contact(
        &app,
        &owner,
        json!({ "fullname": "Ada L", "email": "ada@b.example", "company": "Globex" }),
    )
    .await;
    let acme = a["company"]["id"].clone();
    let globex = b["company"]["id"].clone();
    const MERGE: &str = "mutation($i: MergeContactsInput!) { mergeContacts(input: $i) { mergeId contact { id company { id name } } } }";
    const PREVIEW: &str = "query($i: MergeContactsPreviewInput!) { mergeContactsPreview(input: $i) { fields { field value sourceContactId } } }";
    const UNMERGE: &str = "mutation($m: ID!) { unmergeContacts(input: { mergeId: $m }) { contact { id company { id } } restoredContacts { id company { id name } } } }";
    let company_of = |preview: &Value| {
        preview["mergeContactsPreview"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == "COMPANY")
            .unwrap()
            .clone()
    };
    // The survivor keeps its company.
    let preview = app
        .ok(
            Some(&owner),
            PREVIEW,
            json!({ "i": { "primaryId": a["id"], "secondaryIds": [b["id"]] } }),
        )
        .await;
    assert_eq!(
        company_of(&preview),
        json!({ "field": "COMPANY", "value": "Acme", "sourceContactId": a["id"] })
    );
    let merged = app
        .ok(
            Some(&owner),
            MERGE,
            json!({ "i": { "primaryId": a["id"], "secondaryIds": [b["id"]] } }),
        )
        .await["mergeContacts"]
        .clone();
    assert_eq!(
        merged["contact"]["company"],
        json!({ "id": acme, "name": "Acme" })
    );
    let undone = app
        .ok(Some(&owner), UNMERGE, json!({ "m": merged["mergeId"] }))
        .await["unmergeContacts"]
        .clone();
    assert_eq!(undone["contact"]["company"]["id"], acme);
    assert_eq!(
        undone["restoredContacts"][0]["company"],
        json!({ "id": globex, "name": "Globex" })
    );
    // A COMPANY choice takes the secondary's link; unmerge restores both links.
    let choice = json!({ "i": { "primaryId": a["id"], "secondaryIds": [b["id"]], "fieldChoices": [{ "field": "COMPANY", "contactId": b["id"] }] } });
    let preview = app.ok(Some(&owner), PREVIEW, choice.clone()).await;
    assert_eq!(company_of(&preview)["value"], "Globex");
    let merged = app.ok(Some(&owner), MERGE, choice).await["mergeContacts"].clone();
    assert_eq!(
        merged["contact"]["company"],
        json!({ "id": globex, "name": "Globex" })
    );
    let survivor = contact(&app, &owner, &a["id"]).await;
    assert_eq!(
        company_events(&survivor).last().unwrap(),
        &(json!("Acme"), json!("Globex"))
    );
    // Globex's contacts: the survivor (the tombstone is not listed).
    let data = app.ok(Some(&owner), COMPANY, json!({ "id": globex })).await;
    assert_eq!(data["company"]["contactsCount"], 1);
    assert_eq!(data["company"]["contacts"]["nodes"][0]["id"], a["id"]);
    // The secondary's company renamed meanwhile: the restored row shows the current name.
    app.ok(
        Some(&owner),
        UPDATE,
        json!({ "i": { "id": globex, "expectedVersion": 1, "name": "Globex Corp" } }),
    )
    .await;
    let undone = app
        .ok(Some(&owner), UNMERGE, json!({ "m": merged["mergeId"] }))
        .await["unmergeContacts"]
        .clone();
    assert_eq!(undone["contact"]["company"]["id"], acme);
    assert_eq!(
        undone["restoredContacts"][0]["company"],
        json!({ "id": globex, "name": "Globex Corp" })
    );
    // A primary without a company takes the first secondary's.
    let c = create_contact(&app, &owner, json!({ "fullname": "No company" })).await;
    let merged = app
        .ok(
            Some(&owner),
            MERGE,
            json!({ "i": { "primaryId": c["id"], "secondaryIds": [a["id"]] } }),
        )
        .await["mergeContacts"]
        .clone();
    assert_eq!(merged["contact"]["company"]["id"], acme);
}
db_test!(merge_keeps_or_chooses_the_company_and_unmerge_restores);

/// `company(id:)` with its contacts page (and their nested relations, its counts) costs ONE
/// statement; a list of companies with their contacts, and a contacts page with each
/// contact's company, cost as many statements for 1 as for 20.
async fn company_reads_cost_constant_statements(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.dataloader_delay_ms = 100).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let (visitor, _) = app.visitor(&project).await;
    let made = app.create_request(&visitor, "hello").await;
    app.ok(
        Some(&owner),
        UPDATE_CONTACT,
        json!({ "i": { "id": made["contact"]["id"], "expectedVersion": 1, "company": "Company 00" } }),
    )
    .await;
    let statements = |query: &'static str, vars: Value| {
        let app = &app;
        let owner = owner.clone();
        async move {
            let before = app.statements();
            let data = app.ok(Some(&owner), query, vars).await;
            (app.statements() - before, data)
        }
    };
    const COMPANY_ONE: &str =
        "query($id: ID!) { company(id: $id) { name contacts { nodes { id fullname } } } }";
    const COMPANY_ALL: &str = "query($id: ID!) { company(id: $id) { name domain contactsCount contacts(first: 5) { totalCount pageInfo { hasNextPage } edges { cursor node { id fullname email company { name } requestsCount requests { nodes { firstText } } } } } } }";
    const COMPANIES: &str = "{ companies(first: 100) { nodes { name contactsCount contacts(first: 5) { totalCount nodes { id fullname company { name } } } } } }";
    const CONTACTS: &str = "{ contacts(first: 100) { nodes { id company { id name domain } } } }";
    let mut counts = Vec::new();
    for round in [1, 20] {
        // `round` companies, each with 2 contacts (the first also with the visitor's).
        while app.count_rows("company").await < round {
            let n = app.count_rows("company").await;
            create_company(
                &app,
                &owner,
                json!({ "name": format!("Company {n:02}"), "domain": format!("c{n}.example") }),
            )
            .await;
        }
        for i in 0..round {
            let name = format!("Company {i:02}");
            while app
                .ok(
                    Some(&owner),
                    "query($s: String) { companies(search: $s) { nodes { contactsCount } } }",
                    json!({ "s": name }),
                )
                .await["companies"]["nodes"][0]["contactsCount"]
                .as_i64()
                .unwrap()
                < 2
            {
                create_contact(
                    &app,
                    &owner,
                    json!({ "fullname": format!("Of {name}"), "company": name }),
                )
                .await;
            }
        }
        let id = app
            .ok(
                Some(&owner),
                "{ companies(search: \"company 00\") { nodes { id } } }",
                json!({}),
            )
            .await["companies"]["nodes"][0]["id"]
            .clone();
        let (n, data) = statements(COMPANY_ONE, json!({ "id": id })).await;
        assert_eq!(n, 1, "{backend:?} company(id:) with its contacts");
        assert_eq!(
            data["company"]["contacts"]["nodes"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let (n, data) = statements(COMPANY_ALL, json!({ "id": id })).await;
        assert_eq!(
            n, 1,
            "{backend:?} company(id:) with counts and nested relations"
        );
        let c = &data["company"];
        assert_eq!(c["contactsCount"], 2);
        assert_eq!(c["contacts"]["totalCount"], 2);
        let edges = c["contacts"]["edges"].as_array().unwrap();
        assert_eq!(edges[0]["node"]["company"]["name"], "Company 00");
        let requests: i64 = edges
            .iter()
            .map(|e| e["node"]["requestsCount"].as_i64().unwrap())
            .sum();
        assert_eq!(requests, 1, "the visitor's request");
        assert!(
            edges
                .iter()
                .any(|e| e["node"]["requests"]["nodes"][0]["firstText"] == "hello")
        );
        let (n, data) = statements(COMPANIES, json!({})).await;
        let nodes = data["companies"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len() as i64, round);
        for node in nodes {
            assert_eq!(node["contactsCount"], 2);
            assert_eq!(node["contacts"]["totalCount"], 2);
            assert_eq!(node["contacts"]["nodes"].as_array().unwrap().len(), 2);
            assert_eq!(
                node["contacts"]["nodes"][0]["company"]["name"],
                node["name"]
            );
        }
        let (m, data) = statements(CONTACTS, json!({})).await;
        assert_eq!(
            data["contacts"]["nodes"].as_array().unwrap().len() as i64,
            2 * round
        );
        assert!(
            data["contacts"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["company"]["name"].is_string())
        );
        assert_eq!(
            m, 1,
            "{backend:?} contacts with their companies: one statement"
        );
        counts.push(n);
    }
    println!("{backend:?}: companies with contacts: {counts:?} statements for 1 and 20 companies");
    assert_eq!(
        counts[0], counts[1],
        "statement count must not grow with the page"
    );
    // Companies page, contacts counts, contacts pages (the contacts' companies are the
    // listed ones).
    assert_eq!(counts[1], 3, "{counts:?}");
}
db_test!(company_reads_cost_constant_statements);

/// Migration 10 turns the old free-text `lead.company` into companies: one per distinct
/// trimmed, case-insensitive text per project, named by its most frequent spelling, a bare
/// domain also its domain; every Lead linked and showing that name.
async fn migration_turns_company_texts_into_companies(backend: Backend) {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
    let test_db = TestDb::new(backend).await;
    let db = Database::connect(&test_db.url).await.unwrap();
    Migrator::up(&db, Some(9)).await.unwrap();
    let db_backend = db.get_database_backend();
    let placeholders = |n: usize| -> String {
        (1..=n)
            .map(|i| match db_backend {
                DbBackend::Postgres => format!("${i}"),
                _ => "?".to_owned(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (p1, p2) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    for p in [p1, p2] {
        db.execute_raw(Statement::from_sql_and_values(
            db_backend,
            format!(
                "INSERT INTO project (id, name, created_at) VALUES ({})",
                placeholders(3)
            ),
            [p.into(), "P".into(), chrono::Utc::now().into()],
        ))
        .await
        .unwrap();
    }
    let texts: [(uuid::Uuid, Option<&str>); 9] = [
        (p1, Some("Acme")),
        (p1, Some(" ACME")),
        (p1, Some("Acme")),
        (p1, Some("acme")),
        (p1, Some("Globex.IO")),
        (p1, Some("www.globex.io")),
        (p1, None),
        (p2, Some("acme")),
        (p2, Some("  ")),
    ];
    let mut leads = Vec::new();
    for (project, text) in texts {
        let id = uuid::Uuid::new_v4();
        db.execute_raw(Statement::from_sql_and_values(
            db_backend,
            format!(
                "INSERT INTO lead (id, project_id, lead_id, company, attributes, tags, status, version, created_at, updated_at) VALUES ({})",
                placeholders(10)
            ),
            [
                id.into(),
                project.into(),
                id.to_string().into(),
                text.map(str::to_owned).into(),
                json!({}).into(),
                json!([]).into(),
                100.into(),
                1.into(),
                chrono::Utc::now().into(),
                chrono::Utc::now().into(),
            ],
        ))
        .await
        .unwrap();
        leads.push(id);
    }
    Migrator::up(&db, None).await.unwrap();
    use sea_orm::{EntityTrait, QueryOrder};
    let companies = entity::company::Entity::find()
        .order_by_asc(entity::company::Column::NameKey)
        .all(&db)
        .await
        .unwrap();
    let summary: Vec<(uuid::Uuid, &str, &str, Option<&str>)> = companies
        .iter()
        .map(|c| {
            (
                c.project_id,
                c.name.as_str(),
                c.name_key.as_str(),
                c.domain.as_deref(),
            )
        })
        .collect();
    assert_eq!(summary.len(), 4, "{summary:?}");
    assert!(summary.contains(&(p1, "Acme", "acme", None)));
    assert!(summary.contains(&(p2, "acme", "acme", None)));
    // "Globex.IO" and "www.globex.io" are two texts, both the domain globex.io: the first
    // (by key) takes it.
    assert!(summary.contains(&(p1, "Globex.IO", "globex.io", Some("globex.io"))));
    assert!(summary.contains(&(p1, "www.globex.io", "www.globex.io", None)));
    let rows = entity::lead::Entity::find().all(&db).await.unwrap();
    let of = |id: uuid::Uuid| rows.iter().find(|r| r.id == id).unwrap();
    let acme1 = companies
        .iter()
        .find(|c| c.project_id == p1 && c.name == "Acme")
        .unwrap();
    for &id in &leads[0..4] {
        assert_eq!(of(id).company_id, Some(acme1.id));
        assert_eq!(
            of(id).company.as_deref(),
            Some("Acme"),
            "the chosen spelling"
        );
        assert_eq!(of(id).version, 1, "not a change of the contact");
    }
    assert_eq!(of(leads[6]).company_id, None);
    let acme2 = companies.iter().find(|c| c.project_id == p2).unwrap();
    assert_eq!(of(leads[7]).company_id, Some(acme2.id));
    assert_eq!(of(leads[8]).company_id, None, "a blank text is no company");
    // And back down.
    Migrator::down(&db, Some(1)).await.unwrap();
    let left = db
        .query_one_raw(Statement::from_string(
            db_backend,
            "SELECT count(*) AS n FROM lead WHERE company = 'Acme'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(left, 4);
    db.close().await.unwrap();
}
db_test!(migration_turns_company_texts_into_companies);
