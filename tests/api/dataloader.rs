//! Nested lists cost a constant number of SQL statements (DataLoader), never N+1.

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, code, db_test};

const NESTED: &str =
    "{ contacts(first: 100) { nodes { id requests { totalCount nodes { id contact { id } } } } } }";

async fn statements_for(app: &TestApp, token: &str) -> (usize, usize) {
    let before = app.statements();
    let data = app.ok(Some(token), NESTED, json!({})).await;
    let n = data["contacts"]["nodes"].as_array().unwrap().len();
    (app.statements() - before, n)
}

async fn nested_lists_cost_constant_statements(backend: Backend) {
    // Tests run in parallel on 2 cores in a debug build (beside servers, receivers and
    // processes of other tests): give the batch window slack so that CPU contention cannot
    // split a batch (production default: 1 ms).
    let app = TestApp::spawn_with(backend, |c| c.dataloader_delay_ms = 100).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let mut visitors = Vec::new();
    for _ in 0..3 {
        let (v, _) = app.visitor(&project).await;
        app.create_request(&v, "one").await;
        app.create_request(&v, "two").await;
        visitors.push(v);
    }
    let (small, n_small) = statements_for(&app, &agent).await;
    assert_eq!(n_small, 3);
    for _ in 0..37 {
        let (v, _) = app.visitor(&project).await;
        app.create_request(&v, "one").await;
        app.create_request(&v, "two").await;
    }
    let (large, n_large) = statements_for(&app, &agent).await;
    assert_eq!(n_large, 40);
    println!(
        "{backend:?}: {small} statements for 3 contacts, {large} for 40 (contacts + requests + counts + contact)"
    );
    assert_eq!(small, large, "statement count must not grow with the page");
    // contacts page, requests page, request counts, Request.contact batch.
    assert!(large <= 4, "{large} statements");
}
db_test!(nested_lists_cost_constant_statements);

const WITH_HISTORY: &str =
    "{ contacts(first: 100) { nodes { id mergedFrom timeline(first: 5) { nodes { kind } } } } }";

async fn timeline_and_merged_from_cost_constant_statements(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.dataloader_delay_ms = 100).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let mut counts = Vec::new();
    for round in [3, 37] {
        for _ in 0..round {
            let (v, _) = app.visitor(&project).await;
            let own = app.create_request(&v, "one").await["contact"]["id"].clone();
            // A hand-made duplicate merged into the visitor's contact.
            let dup = app
                .create_contact(&agent, json!({ "fullname": "dup" }))
                .await;
            app.ok(
                Some(&agent),
                "mutation($p: ID!, $s: ID!) { mergeContacts(input: { primaryId: $p, secondaryIds: [$s] }) { mergeId } }",
                json!({ "p": own, "s": dup["id"] }),
            )
            .await;
        }
        let before = app.statements();
        let data = app.ok(Some(&agent), WITH_HISTORY, json!({})).await;
        let nodes = data["contacts"]["nodes"].as_array().unwrap();
        assert!(
            nodes
                .iter()
                .all(|n| n["mergedFrom"].as_array().unwrap().len() == 1)
        );
        assert!(
            nodes
                .iter()
                .all(|n| !n["timeline"]["nodes"].as_array().unwrap().is_empty())
        );
        counts.push((app.statements() - before, nodes.len()));
    }
    println!("{backend:?}: (statements, contacts) = {counts:?}");
    assert_eq!(
        counts[0].0, counts[1].0,
        "statement count must not grow with the page"
    );
    // contacts page, mergedFrom batch, timeline window.
    assert!(counts[1].0 <= 3, "{counts:?}");
}
db_test!(timeline_and_merged_from_cost_constant_statements);

/// The parent list primes its contacts' `requests` and `requestsCount` (one batch statement
/// each, run in the list's resolver): the nested fields never wait for a DataLoader batch
/// window. With a one-hour window, the query can only answer if priming worked.
async fn lists_prime_nested_requests(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.dataloader_delay_ms = 3_600_000).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    for _ in 0..3 {
        let (v, _) = app.visitor(&project).await;
        app.create_request(&v, "one").await;
        app.capture(&v, json!({ "email": "same@example.com" }))
            .await;
    }
    let id = app
        .ok(
            Some(&agent),
            "{ contacts(first: 1) { nodes { id } } }",
            json!({}),
        )
        .await["contacts"]["nodes"][0]["id"]
        .clone();
    for (query, vars) in [
        (
            "{ contacts(email: \"same@example.com\") { nodes { id requestsCount requests { nodes { firstText } } } } }",
            json!({}),
        ),
        (
            "{ contacts(first: 20) { edges { node { requests(first: 5) { nodes { id } } } } } }",
            json!({}),
        ),
        (
            "query($id: ID!) { contact(id: $id) { requestsCount requests { nodes { firstText } } } }",
            json!({ "id": id }),
        ),
    ] {
        let before = app.statements();
        let answered = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            app.ok(Some(&agent), query, vars),
        )
        .await;
        assert!(answered.is_ok(), "{query} waited for the batch window");
        assert!(app.statements() - before <= 3, "{query}");
    }
}
db_test!(lists_prime_nested_requests);

/// The benchmark's read shapes (bench/queries/self) and the other contact lookups cost ONE
/// SQL statement each on both databases — the contacts and their selected nested relations
/// (a requests page, its `totalCount`, `requestsCount`, `mergedFrom`) together — and stay at
/// one for 1, 20 and 100 contacts; the answers match the DataLoader path's (an aliased
/// second `requests` page, which the planner leaves to the loaders).
async fn reads_cost_one_statement(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.dataloader_delay_ms = 100).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let mut visitor = String::new();
    for i in 0..100 {
        let (v, _) = app.visitor(&project).await;
        app.create_request(&v, "one").await;
        app.create_request(&v, "two").await;
        app.capture(
            &v,
            json!({ "fullname": format!("Ada Lovelace {i}"), "email": format!("ada{i}@example.com") }),
        )
        .await;
        visitor = v;
    }
    let one = |query: &'static str, vars: Value| {
        let app = &app;
        let agent = agent.clone();
        async move {
            let before = app.statements();
            let data = app.ok(Some(&agent), query, vars).await;
            (app.statements() - before, data)
        }
    };
    let (n, data) = one(
        include_str!("../../bench/queries/self/q1_email.graphql"),
        json!({ "email": "ADA7@example.com" }),
    )
    .await;
    assert_eq!(n, 1, "{backend:?} Q1");
    let node = &data["contacts"]["nodes"][0];
    assert_eq!(node["fullname"], "Ada Lovelace 7");
    let texts: Vec<&str> = node["requests"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["firstText"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["two", "one"], "newest first");
    let id = node["id"].clone();

    let (n, data) = one(
        include_str!("../../bench/queries/self/q3_by_id.graphql"),
        json!({ "id": id }),
    )
    .await;
    assert_eq!(n, 1, "{backend:?} Q3");
    assert_eq!(data["contact"]["requests"]["nodes"][0]["firstText"], "two");

    const PAGE: &str = "query($n: Int!) { contacts(first: $n) { nodes { id leadId fullname email requestsCount mergedFrom requests { totalCount pageInfo { hasNextPage } nodes { id requestId firstText status createdAt } } } } }";
    for size in [1, 20, 100] {
        let (n, data) = one(PAGE, json!({ "n": size })).await;
        assert_eq!(n, 1, "{backend:?} a page of {size}");
        let nodes = data["contacts"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), size);
        for node in nodes {
            assert_eq!(node["requestsCount"], 2);
            assert_eq!(node["requests"]["totalCount"], 2);
            assert_eq!(node["requests"]["nodes"].as_array().unwrap().len(), 2);
            assert_eq!(node["mergedFrom"], json!([]));
        }
    }
    let (n, _) = one(
        include_str!("../../bench/queries/self/q2_page.graphql"),
        json!({}),
    )
    .await;
    assert_eq!(n, 1, "{backend:?} Q2");
    let (n, data) = one(
        include_str!("../../bench/queries/self/q5_search.graphql"),
        json!({ "text": "lovelace" }),
    )
    .await;
    assert_eq!(n, 1, "{backend:?} Q5");
    assert_eq!(data["contacts"]["nodes"].as_array().unwrap().len(), 20);

    // node(id:) and a second, aliased page shape (primed by the loaders: one more statement),
    // whose answer equals the planned page's.
    let (n, data) = one(
        "query($id: ID!) { node(id: $id) { ... on Contact { requests(first: 1) { pageInfo { hasNextPage endCursor } nodes { firstText } } } } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(n, 1, "{backend:?} node(id:)");
    let page = &data["node"]["requests"];
    assert_eq!(page["nodes"][0]["firstText"], "two");
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let (n, data) = one(
        "query($id: ID!, $after: String) { contact(id: $id) { a: requests(first: 1, after: $after) { nodes { firstText } } b: requests(first: 5) { nodes { firstText } } } }",
        json!({ "id": id, "after": page["pageInfo"]["endCursor"] }),
    )
    .await;
    assert_eq!(n, 2, "{backend:?} two page shapes");
    assert_eq!(
        data["contact"]["a"]["nodes"],
        json!([{ "firstText": "one" }])
    );
    assert_eq!(
        data["contact"]["b"]["nodes"],
        json!([{ "firstText": "two" }, { "firstText": "one" }])
    );

    // The visitor's own contact, in one statement with the token's session check.
    let before = app.statements();
    let data = app
        .ok(
            Some(&visitor),
            "{ viewer { contact { fullname requestsCount requests { nodes { firstText } } } } }",
            json!({}),
        )
        .await;
    let contact = &data["viewer"]["contact"];
    assert_eq!(contact["fullname"], "Ada Lovelace 99");
    assert_eq!(contact["requestsCount"], 2);
    assert_eq!(contact["requests"]["nodes"].as_array().unwrap().len(), 2);
    println!(
        "{backend:?}: viewer.contact cost {}",
        app.statements() - before
    );
}
db_test!(reads_cost_one_statement);

/// A planned requests page fetches only the columns its selections read (the union of the
/// selections of that page), and every selection still reads real values: two aliased
/// selections of one page with different fields cost one statement, and each field equals
/// what the DataLoader path (every column) answers for the same Requests.
async fn projected_request_columns_answer_like_full_rows(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let (visitor, _) = app.visitor(&project).await;
    app.ok(
        Some(&visitor),
        "mutation($i: CreateRequestInput!) { createRequest(input: $i) { request { id } } }",
        json!({ "i": { "firstText": "by mail", "channel": "EMAIL", "attributes": { "plan": "pro", "seats": 3 } } }),
    )
    .await;
    app.create_request(&visitor, "by chat").await;
    let id = app
        .ok(
            Some(&agent),
            "{ contacts(first: 1) { nodes { id } } }",
            json!({}),
        )
        .await["contacts"]["nodes"][0]["id"]
        .clone();
    const ALL: &str =
        "id requestId firstText status channel attributes createdAt updatedAt closedAt";
    let planned = format!(
        "query($id: ID!) {{ contact(id: $id) {{ b: requests {{ edges {{ cursor node {{ ...R }} }} }} a: requests {{ nodes {{ id }} }} }} }} fragment R on Request {{ {ALL} }}"
    );
    let before = app.statements();
    let data = app.ok(Some(&agent), &planned, json!({ "id": id })).await;
    assert_eq!(
        app.statements() - before,
        1,
        "{backend:?}: one statement for one page"
    );
    let a = data["contact"]["a"]["nodes"].as_array().unwrap().clone();
    let b = data["contact"]["b"]["edges"].as_array().unwrap().clone();
    assert_eq!(b.len(), 2);
    assert_eq!(b[1]["node"]["firstText"], "by mail");
    assert_eq!(b[1]["node"]["channel"], "EMAIL");
    assert_eq!(
        b[1]["node"]["attributes"],
        json!({ "plan": "pro", "seats": 3 })
    );
    assert_eq!(b[0]["node"]["channel"], "CHAT_21");
    assert_eq!(b[0]["node"]["status"], "UNASSIGNED");
    assert!(
        b[0]["node"]["requestId"]
            .as_str()
            .unwrap()
            .starts_with("support-group-")
    );
    assert_eq!(
        a.iter().map(|n| n["id"].clone()).collect::<Vec<_>>(),
        b.iter()
            .map(|e| e["node"]["id"].clone())
            .collect::<Vec<_>>()
    );
    // Plain fields alone (resolved in one pass) answer as through the derived resolvers (a
    // directive sends the object to them whole).
    const PLAIN: &str =
        "__typename id requestId firstText status channel createdAt updatedAt closedAt";
    const RESOLVED: &str = "__typename @include(if: true) id requestId firstText status channel createdAt updatedAt closedAt";
    let inline = app
        .ok(
            Some(&agent),
            &format!("query($id: ID!) {{ contact(id: $id) {{ requests {{ nodes {{ {PLAIN} }} edges {{ node {{ {PLAIN} }} }} }} }} }}"),
            json!({ "id": id }),
        )
        .await;
    let resolved = app
        .ok(
            Some(&agent),
            &format!("query($id: ID!) {{ contact(id: $id) {{ requests {{ nodes {{ {RESOLVED} }} edges {{ node {{ {RESOLVED} }} }} }} }} }}"),
            json!({ "id": id }),
        )
        .await;
    assert_eq!(inline, resolved, "{backend:?}");
    assert_eq!(
        inline["contact"]["requests"]["nodes"][1]["channel"],
        "EMAIL"
    );
    assert_eq!(
        inline["contact"]["requests"]["nodes"][1]["__typename"],
        "Request"
    );
    assert_eq!(
        inline["contact"]["requests"]["nodes"][1]["createdAt"],
        b[1]["node"]["createdAt"]
    );
    // The same fields through the loaders (a second page shape: every column fetched).
    let loaded = format!(
        "query($id: ID!) {{ contact(id: $id) {{ a: requests(first: 1) {{ nodes {{ id }} }} b: requests {{ edges {{ cursor node {{ {ALL} }} }} }} }} }}"
    );
    let data = app.ok(Some(&agent), &loaded, json!({ "id": id })).await;
    assert_eq!(data["contact"]["b"]["edges"], json!(b), "{backend:?}");
}
db_test!(projected_request_columns_answer_like_full_rows);

/// A Contact answers the same (data and errors, for an agent and a visitor) through the one-pass
/// path (plain fields inline, the rest through their resolvers; fragments on `Contact`
/// flattened) as through the derived resolvers alone (a directive, or a fragment on `Node`).
async fn one_pass_contacts_answer_like_their_resolvers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let (visitor, _) = app.visitor(&project).await;
    app.create_request(&visitor, "hello").await;
    let contact = app
        .capture(
            &visitor,
            json!({ "fullname": "Grace Hopper", "email": "grace@example.com", "phone": "+33612345678", "attributes": { "plan": "pro" } }),
        )
        .await["data"]["captureContactMetadata"]
        .clone();
    app.ok(
        Some(&agent),
        "mutation($i: UpdateContactInput!) { updateContact(input: $i) { id } }",
        json!({ "i": { "id": contact["id"], "expectedVersion": contact["version"], "company": "Navy", "note": "met at a conference", "city": "Arlington", "country": "US" } }),
    )
    .await;
    app.ok(
        Some(&agent),
        "mutation($i: ContactTagsInput!) { addContactTags(input: $i) { id } }",
        json!({ "i": { "id": contact["id"], "tags": ["vip", "navy"] } }),
    )
    .await;
    const FIELDS: &str = "id leadId fullname email phone company { id name domain } note street city region zipcode country attributes tags status version createdAt updatedAt lastRequestAt erasedAt additionalEmails externalId mergedFrom requestsCount requests(first: 2) { totalCount nodes { id firstText } }";
    const AGENT_ONLY: &str = "timeline(first: 2) { nodes { __typename } }";
    let shapes = |fields: &str| {
        [
            // One pass: plain, and through fragments on the type (flattened).
            format!(
                "{{ contacts(first: 5) {{ nodes {{ __typename {fields} }} edges {{ node {{ ...C }} }} }} }} fragment C on Contact {{ __typename id ... on Contact {{ {fields} }} }}"
            ),
            // Derived resolvers: a directive; a fragment on the interface.
            format!(
                "{{ contacts(first: 5) {{ nodes {{ __typename @include(if: true) {fields} }} edges {{ node {{ ...N }} }} }} }} fragment N on Node {{ __typename id ... on Contact {{ {fields} }} }}"
            ),
        ]
    };
    let agent_fields = format!("{FIELDS} {AGENT_ONLY}");
    let [inline, resolved] = shapes(&agent_fields);
    let one_pass = app.ok(Some(&agent), &inline, json!({})).await;
    assert_eq!(
        one_pass,
        app.ok(Some(&agent), &resolved, json!({})).await,
        "{backend:?}"
    );
    let node = &one_pass["contacts"]["nodes"][0];
    assert_eq!(node["__typename"], "Contact");
    assert_eq!(node["note"], "met at a conference");
    assert_eq!(node["tags"], json!(["vip", "navy"]));
    assert_eq!(node["version"], contact["version"].as_i64().unwrap() + 2);
    assert_eq!(node["attributes"], json!({ "plan": "pro" }));
    assert_eq!(node["requestsCount"], 1);
    assert_eq!(node["requests"]["nodes"][0]["firstText"], "hello");
    assert_eq!(node["erasedAt"], Value::Null);
    assert!(!node["timeline"]["nodes"].as_array().unwrap().is_empty());
    assert_eq!(one_pass["contacts"]["edges"][0]["node"], *node);

    // A visitor: `note` reads null and `timeline` is FORBIDDEN, on both paths alike.
    let visitor_fields = format!("{FIELDS} {AGENT_ONLY}");
    let viewer =
        |fields: &str, how: &str| format!("{{ viewer {{ contact {{ {how} {fields} }} }} }}");
    let one_pass = app
        .gql(
            Some(&visitor),
            &viewer(&visitor_fields, "__typename"),
            json!({}),
        )
        .await;
    let resolved = app
        .gql(
            Some(&visitor),
            &viewer(&visitor_fields, "__typename @include(if: true)"),
            json!({}),
        )
        .await;
    // The same data and errors (their locations differ with the texts).
    let without_locations = |body: &Value| {
        let mut errors = body["errors"].clone();
        for e in errors.as_array_mut().unwrap() {
            e.as_object_mut().unwrap().remove("locations");
        }
        (body["data"].clone(), errors)
    };
    assert_eq!(
        without_locations(&one_pass),
        without_locations(&resolved),
        "{backend:?}"
    );
    assert_eq!(one_pass["data"]["viewer"]["contact"]["note"], Value::Null);
    assert_eq!(
        one_pass["data"]["viewer"]["contact"]["email"],
        "grace@example.com"
    );
    assert_eq!(code(&one_pass), "FORBIDDEN", "{one_pass}");
    assert_eq!(
        one_pass["errors"][0]["path"],
        json!(["viewer", "contact", "timeline"])
    );
}
db_test!(one_pass_contacts_answer_like_their_resolvers);

/// Every Contact field of a list or lookup reads the same value whatever else is selected
/// (each read fetches only the Lead columns its selection needs): a field alone, all fields,
/// and the DataLoader path (`Request.contact`, whole rows) agree; keyset pages ordered by
/// `updatedAt` and `lastRequestAt` (whose cursors come from those columns) page right with
/// only `id` selected.
async fn projected_lead_columns_answer_like_full_rows(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let (mut ids, mut contacts) = (Vec::new(), Vec::new());
    for i in 0..3 {
        let (visitor, _) = app.visitor(&project).await;
        app.create_request(&visitor, "hello").await;
        let contact = app
            .capture(
                &visitor,
                json!({ "fullname": format!("Grace {i}"), "email": format!("g{i}@example.com"), "phone": "+33612345678", "attributes": { "plan": "pro", "n": i } }),
            )
            .await["data"]["captureContactMetadata"]
            .clone();
        ids.push(contact["id"].clone());
        contacts.push((visitor, contact));
    }
    // Updated newest first, and the oldest asks again: neither order is the creation order.
    for (_, contact) in contacts.iter().rev() {
        app.ok(
            Some(&agent),
            "mutation($i: UpdateContactInput!) { updateContact(input: $i) { id } }",
            json!({ "i": { "id": contact["id"], "expectedVersion": contact["version"], "company": "Navy", "note": "met at a conference", "street": "1 Main St", "city": "Arlington", "region": "VA", "zipcode": "22201", "country": "US" } }),
        )
        .await;
    }
    app.create_request(&contacts[0].0, "again").await;
    app.ok(
        Some(&agent),
        "mutation($ids: [ID!]!) { addTagsToContacts(ids: $ids, tags: [\"vip\"]) { __typename } }",
        json!({ "ids": [ids[1]] }),
    )
    .await;
    const FIELDS: [&str; 22] = [
        "id",
        "leadId",
        "fullname",
        "email",
        "phone",
        "company { id name }",
        "note",
        "street",
        "city",
        "region",
        "zipcode",
        "country",
        "attributes",
        "tags",
        "status",
        "version",
        "createdAt",
        "updatedAt",
        "lastRequestAt",
        "erasedAt",
        "additionalEmails",
        "externalId",
    ];
    let all = FIELDS.join(" ");
    let full = app
        .ok(
            Some(&agent),
            &format!("{{ contacts(first: 10) {{ nodes {{ requests {{ nodes {{ contact {{ {all} }} }} }} }} }} }}"),
            json!({}),
        )
        .await;
    let full: Vec<Value> = full["contacts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["requests"]["nodes"][0]["contact"].clone())
        .collect();
    assert_eq!(full.len(), 3);
    assert_eq!(full[0]["company"]["name"], "Navy");
    assert_eq!(full[1]["tags"], json!(["vip"]));
    let listed = app
        .ok(
            Some(&agent),
            &format!("{{ contacts(first: 10) {{ nodes {{ {all} }} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(
        listed["contacts"]["nodes"],
        json!(full),
        "{backend:?}: all fields"
    );
    for field in FIELDS {
        // The response key: the field's name (`company { id name }` answers under `company`).
        let key = field.split(' ').next().unwrap();
        let one = app
            .ok(
                Some(&agent),
                &format!("{{ contacts(first: 10) {{ edges {{ node {{ {field} }} }} }} }}"),
                json!({}),
            )
            .await;
        let got: Vec<Value> = one["contacts"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"][key].clone())
            .collect();
        let want: Vec<Value> = full.iter().map(|c| c[key].clone()).collect();
        assert_eq!(got, want, "{backend:?}: {field} alone");
        let looked_up = app
            .ok(
                Some(&agent),
                &format!("query($id: ID!) {{ contact(id: $id) {{ {field} }} node(id: $id) {{ ... on Contact {{ {field} }} }} }}"),
                json!({ "id": full[2]["id"] }),
            )
            .await;
        assert_eq!(
            looked_up["contact"][key], full[2][key],
            "{backend:?}: contact {{ {field} }}"
        );
        assert_eq!(
            looked_up["node"][key], full[2][key],
            "{backend:?}: node {{ {field} }}"
        );
    }
    for order in ["UPDATED_AT", "LAST_REQUEST_AT"] {
        let whole = app
            .ok(
                Some(&agent),
                &format!("{{ contacts(first: 10, orderBy: {{ field: {order}, direction: ASC }}) {{ nodes {{ id }} }} }}"),
                json!({}),
            )
            .await["contacts"]["nodes"]
            .clone();
        let mut paged = Vec::new();
        let mut after = Value::Null;
        loop {
            let page = app
                .ok(
                    Some(&agent),
                    &format!("query($after: String) {{ contacts(first: 1, after: $after, orderBy: {{ field: {order}, direction: ASC }}) {{ nodes {{ id }} pageInfo {{ hasNextPage endCursor }} }} }}"),
                    json!({ "after": after }),
                )
                .await["contacts"]
                .clone();
            paged.extend(page["nodes"].as_array().unwrap().iter().cloned());
            if page["pageInfo"]["hasNextPage"] != true || paged.len() > 3 {
                break;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(json!(paged), whole, "{backend:?}: pages by {order}");
        assert_eq!(paged.len(), 3);
    }
}
db_test!(projected_lead_columns_answer_like_full_rows);
