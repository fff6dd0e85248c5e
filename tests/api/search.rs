//! `contacts` search, filters, ordering and pagination in both directions.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, code, db_test};

async fn ids(app: &TestApp, token: &str, args: &str) -> Vec<String> {
    let q = format!("{{ contacts({args}) {{ nodes {{ id }} }} }}");
    app.ok(Some(token), &q, json!({})).await["contacts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A project row with every setting at its default, written straight to the database (the
/// service-level tests below seed leads in bulk, without an agent).
async fn insert_project(
    app: &TestApp,
    id: uuid::Uuid,
    name: String,
    created_at: chrono::DateTime<chrono::Utc>,
) {
    use entity::project;
    use sea_orm::EntityTrait;
    project::Entity::insert(project::ActiveModel::from(project::Model {
        id,
        name,
        created_at,
        auto_merge_on_email: false,
        strict_attributes: false,
        site_secret: None,
        site_secret_rotated_at: None,
        link_company_by_email_domain: false,
    }))
    .exec_without_returning(&app.db)
    .await
    .unwrap();
}

async fn full_text_search(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, _) = app.sign_up("owner@example.com").await;
    let (other, _) = app.sign_up("other@example.com").await;
    let mk = async |input: Value| {
        app.create_contact(&agent, input).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let alvaro = mk(json!({ "fullname": "Álvaro Núñez", "email": "alvaro@example.com" })).await;
    let plus = mk(json!({ "fullname": "Andrea Plus", "email": "andrea+test@example.com" })).await;
    let decoy = mk(json!({ "fullname": "Andrea Decoy", "email": "andrea@test.example.com" })).await;
    let phone = mk(json!({ "fullname": "Phone Person", "phone": "+39 06 6988 1234" })).await;
    let acme = mk(json!({ "fullname": "Wile Coyote", "company": "ACME Corporation" })).await;
    // Same name in another project: never found.
    app.create_contact(&other, json!({ "fullname": "Álvaro Núñez" }))
        .await;

    let search = async |s: &str| ids(&app, &agent, &format!("search: {}", json!(s))).await;
    // Accents, case, prefixes.
    for s in [
        "alvaro",
        "ALVARO",
        "Álvaro",
        "alv",
        "nunez",
        "núñ",
        "alvaro nunez",
    ] {
        assert_eq!(search(s).await, vec![alvaro.clone()], "{s}");
    }
    // `+`, `.` and `@` are ordinary characters; the exact email ranks first.
    let r = search("andrea+test@example.com").await;
    assert_eq!(r.first(), Some(&plus), "{r:?}");
    let r = search("andrea@test.example.com").await;
    assert_eq!(r.first(), Some(&decoy), "{r:?}");
    assert_eq!(search("andrea").await.len(), 2);
    // Phone digits, with or without formatting; company prefix.
    assert_eq!(search("6988 1234").await, vec![phone.clone()]);
    assert_eq!(search("+39 06 6988").await, vec![phone.clone()]);
    assert_eq!(search("acme").await, vec![acme.clone()]);
    assert_eq!(search("corp").await, vec![acme.clone()]);
    // No match, punctuation only, FTS syntax is not interpreted.
    assert!(search("zzzz").await.is_empty());
    assert!(search("@@").await.is_empty());
    assert!(search("alvaro OR \"x\" NEAR(").await.is_empty());
    assert_eq!(search("   ").await.len(), 5, "a blank search is no search");
    let long = app
        .gql(
            Some(&agent),
            "query($s: String) { contacts(search: $s) { totalCount } }",
            json!({ "s": "x".repeat(201) }),
        )
        .await;
    assert_eq!(code(&long), "BAD_USER_INPUT");

    // Search follows edits (the index is kept in sync by the database).
    let v = app
        .ok(
            Some(&agent),
            "query($id: ID!) { contact(id: $id) { version } }",
            json!({ "id": acme }),
        )
        .await["contact"]["version"]
        .clone();
    app.ok(
        Some(&agent),
        "mutation($i: UpdateContactInput!) { updateContact(input: $i) { id } }",
        json!({ "i": { "id": acme, "expectedVersion": v, "company": "Roadrunner Ltd" } }),
    )
    .await;
    assert!(search("acme").await.is_empty());
    assert_eq!(search("roadrunner").await, vec![acme.clone()]);
    // totalCount counts matches.
    let t = app
        .ok(
            Some(&agent),
            "{ contacts(search: \"andrea\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(t["contacts"]["totalCount"], 2);
}
db_test!(full_text_search);

async fn filters(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, _) = app.sign_up("owner@example.com").await;
    let mk = async |input: Value| {
        app.create_contact(&agent, input).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let a = mk(json!({ "fullname": "A", "email": "a@example.com", "tags": ["VIP", "blue"], "attributes": { "plan": "pro", "seats": 5, "trial": false } })).await;
    let b = mk(
        json!({ "fullname": "B", "tags": ["vip"], "attributes": { "plan": "free", "seats": 1 } }),
    )
    .await;
    let c = mk(json!({ "fullname": "C", "email": "c@example.com" })).await;
    let set = |v: Vec<String>| v.into_iter().collect::<HashSet<_>>();
    let hs = |v: &[&String]| v.iter().map(|s| (*s).clone()).collect::<HashSet<_>>();

    assert_eq!(
        set(ids(&app, &agent, "tags: [\"vip\"]").await),
        hs(&[&a, &b])
    );
    assert_eq!(
        set(ids(&app, &agent, "tags: [\"VIP\", \"Blue\"]").await),
        hs(&[&a])
    );
    assert_eq!(
        set(ids(&app, &agent, "hasEmail: true").await),
        hs(&[&a, &c])
    );
    assert_eq!(set(ids(&app, &agent, "hasEmail: false").await), hs(&[&b]));
    assert_eq!(
        set(ids(
            &app,
            &agent,
            "attribute: { key: \"plan\", equals: \"pro\" }"
        )
        .await),
        hs(&[&a])
    );
    assert_eq!(
        set(ids(&app, &agent, "attribute: { key: \"seats\", equals: 1 }").await),
        hs(&[&b])
    );
    assert_eq!(
        set(ids(&app, &agent, "attribute: { key: \"trial\", equals: false }").await),
        hs(&[&a])
    );
    let bad = app
        .gql(
            Some(&agent),
            "{ contacts(attribute: { key: \"plan\", equals: { x: 1 } }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&bad), "BAD_USER_INPUT");

    let all = app.ok(Some(&agent), "{ contacts(orderBy: { field: CREATED_AT, direction: ASC }) { nodes { id createdAt } } }", json!({})).await;
    let b_created = all["contacts"]["nodes"][1]["createdAt"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        set(ids(&app, &agent, &format!("createdAfter: \"{b_created}\"")).await),
        hs(&[&b, &c])
    );
    assert_eq!(
        set(ids(&app, &agent, &format!("createdBefore: \"{b_created}\"")).await),
        hs(&[&a])
    );

    // Status: NORMAL by default; DELETED on request.
    app.ok(
        Some(&agent),
        "mutation($i: ContactIdInput!) { deleteContact(input: $i) { id } }",
        json!({ "i": { "id": c } }),
    )
    .await;
    assert_eq!(set(ids(&app, &agent, "hasEmail: true").await), hs(&[&a]));
    assert_eq!(set(ids(&app, &agent, "status: [DELETED]").await), hs(&[&c]));
    assert_eq!(
        set(ids(&app, &agent, "status: [NORMAL, DELETED]").await).len(),
        3
    );
    // Combined with search.
    assert_eq!(
        set(ids(&app, &agent, "search: \"a\", tags: [\"blue\"]").await),
        hs(&[&a])
    );
}
db_test!(filters);

/// Reads every page of `contacts(orderBy: …)` forward with `first: 3` (calling `between`
/// after each page), then backward with `last: 3`; returns both id lists.
async fn walk(
    app: &TestApp,
    token: &str,
    order: &str,
    mut between: impl AsyncFnMut(),
) -> (Vec<String>, Vec<String>) {
    let q = format!(
        "query($f: Int, $a: String, $l: Int, $b: String) {{ contacts(orderBy: {order}, first: $f, after: $a, last: $l, before: $b) {{ edges {{ cursor node {{ id }} }} pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} }} }}"
    );
    let mut forward = Vec::new();
    let mut after = Value::Null;
    loop {
        let c = app.ok(Some(token), &q, json!({ "f": 3, "a": after })).await["contacts"].clone();
        forward.extend(
            c["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["id"].as_str().unwrap().to_owned()),
        );
        if c["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = c["pageInfo"]["endCursor"].clone();
        between().await;
    }
    let mut backward = Vec::new();
    let mut before = Value::Null;
    loop {
        let c = app
            .ok(Some(token), &q, json!({ "l": 3, "b": before }))
            .await["contacts"]
            .clone();
        let mut page: Vec<String> = c["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
            .collect();
        page.extend(backward);
        backward = page;
        if c["pageInfo"]["hasPreviousPage"] != true {
            break;
        }
        before = c["pageInfo"]["startCursor"].clone();
    }
    (forward, backward)
}

async fn every_order_paginates_both_ways(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    // Ties on every key: names repeat (and some are missing), many share timestamps.
    for i in 0..11 {
        let name = match i % 4 {
            0 => json!("bob"),
            1 => json!("Alice"),
            2 => Value::Null,
            _ => json!("alice"),
        };
        app.create_contact(&agent, json!({ "fullname": name }))
            .await;
    }
    use sea_orm::{ConnectionTrait, Statement};
    let backend_db = app.db.get_database_backend();
    app.db
        .execute_raw(Statement::from_string(backend_db, "UPDATE lead SET created_at = (SELECT MIN(created_at) FROM lead), updated_at = (SELECT MIN(created_at) FROM lead)"))
        .await
        .unwrap();
    // Some contacts with requests (LAST_REQUEST_AT), others without.
    for _ in 0..3 {
        let (v, _) = app.visitor(&project).await;
        app.create_request(&v, "hello").await;
    }
    for order in [
        "{ field: CREATED_AT, direction: DESC }",
        "{ field: CREATED_AT, direction: ASC }",
        "{ field: UPDATED_AT, direction: DESC }",
        "{ field: FULLNAME, direction: ASC }",
        "{ field: FULLNAME, direction: DESC }",
        "{ field: LAST_REQUEST_AT, direction: DESC }",
        "{ field: LAST_REQUEST_AT, direction: ASC }",
    ] {
        let reference = ids(&app, &agent, &format!("orderBy: {order}, first: 100")).await;
        assert_eq!(reference.len(), 14);
        let (forward, backward) = walk(&app, &agent, order, async || {}).await;
        assert_eq!(forward, reference, "forward {order}");
        assert_eq!(backward, reference, "backward {order}");

        // Inserts while paging: the original rows are each seen once, in order.
        let db_token = agent.clone();
        let (forward, _) = walk(&app, &agent, order, async || {
            app.create_contact(&db_token, json!({ "fullname": "Alice" }))
                .await;
        })
        .await;
        let seen: Vec<&String> = forward.iter().filter(|id| reference.contains(id)).collect();
        assert_eq!(
            seen,
            reference.iter().collect::<Vec<_>>(),
            "inserts while paging {order}"
        );
        assert_eq!(
            forward.iter().collect::<HashSet<_>>().len(),
            forward.len(),
            "no repeats {order}"
        );
        // Remove the inserted rows for the next ordering.
        app.db
            .execute_raw(Statement::from_string(
                backend_db,
                format!(
                    "DELETE FROM lead WHERE id NOT IN ({})",
                    reference
                        .iter()
                        .map(|id| match backend_db {
                            sea_orm::DbBackend::Postgres => format!("'{id}'"),
                            _ => format!("X'{}'", id.replace('-', "")),
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            ))
            .await
            .unwrap();
    }
    // Relevance order pages too; a cursor of one ordering is refused by another.
    let a = app.ok(Some(&agent), "{ contacts(search: \"alice\", first: 2) { totalCount pageInfo { endCursor hasNextPage } } }", json!({})).await;
    assert_eq!(a["contacts"]["pageInfo"]["hasNextPage"], true);
    let cursor = a["contacts"]["pageInfo"]["endCursor"].clone();
    let next = app.ok(Some(&agent), "query($c: String) { contacts(search: \"alice\", first: 100, after: $c) { nodes { id } } }", json!({ "c": cursor })).await;
    let total = a["contacts"]["totalCount"].as_u64().unwrap() as usize;
    assert_eq!(
        next["contacts"]["nodes"].as_array().unwrap().len(),
        total - 2
    );
    let wrong = app
        .gql(
            Some(&agent),
            "query($c: String) { contacts(first: 2, after: $c) { totalCount } }",
            json!({ "c": cursor }),
        )
        .await;
    assert_eq!(code(&wrong), "BAD_USER_INPUT");
    let both = app
        .gql(
            Some(&agent),
            "{ contacts(first: 2, last: 2) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&both), "BAD_USER_INPUT");
}
db_test!(every_order_paginates_both_ways);

async fn list_fields_cost_constant_statements(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.dataloader_delay_ms = 30).await;
    let (agent, project) = app.sign_up("owner@example.com").await;
    let q = "{ contacts(first: 100, search: \"x\") { nodes { id lastRequestAt requestsCount } } }";
    let mut counts = Vec::new();
    for n in [2, 25] {
        while app.count_rows("lead").await < n {
            let (v, _) = app.visitor(&project).await;
            app.create_request(&v, "hi").await;
            app.capture(&v, json!({ "fullname": "Xavier" })).await;
        }
        let before = app.statements();
        let data = app.ok(Some(&agent), q, json!({})).await;
        assert_eq!(
            data["contacts"]["nodes"].as_array().unwrap().len(),
            n as usize
        );
        assert!(data["contacts"]["nodes"][0]["lastRequestAt"].is_string());
        assert_eq!(data["contacts"]["nodes"][0]["requestsCount"], 1);
        counts.push(app.statements() - before);
    }
    assert_eq!(counts[0], counts[1], "{counts:?}");
    assert!(counts[1] <= 2, "{counts:?}");
}
db_test!(list_fields_cost_constant_statements);

/// Search is scoped to its project inside the full-text index (migration
/// `m20261202_000005_search_by_project`: on SQLite, projects whose ids share their first two
/// bytes share a rowid range of `lead_fts`). Two such projects, and a third one elsewhere:
/// a common word and a rare one give exactly the rows a plain filter gives, newest first, in
/// relevance order and in `count`, never another project's.
async fn search_stays_in_its_project(backend: Backend) {
    use contacts_server::service::ProjectScope;
    use contacts_server::service::contact_search::{
        self, ContactQuery, Direction, OrderField, PageRequest,
    };
    use contacts_server::service::store::leads::blank;
    use entity::lead;
    use sea_orm::EntityTrait;
    use uuid::Uuid;

    let app = TestApp::spawn(backend).await;
    let ids = [
        "abcd0000-0000-4000-8000-000000000001",
        "abcd0000-0000-4000-8000-000000000002",
        "12340000-0000-4000-8000-000000000003",
    ]
    .map(|s| Uuid::parse_str(s).unwrap());
    let base = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let mut expected: Vec<Vec<(chrono::DateTime<chrono::Utc>, Uuid)>> = vec![Vec::new(); 3];
    let mut rare = Vec::new();
    for (p, &project_id) in ids.iter().enumerate() {
        insert_project(&app, project_id, format!("p{p}"), base).await;
        let scope = ProjectScope::operator(project_id);
        let mut rows = Vec::new();
        for i in 0..60i64 {
            // Interleaved creation times across projects; every third contact is a Costa.
            let at = base + chrono::Duration::seconds(i * 3 + p as i64);
            let mut m = blank(scope, format!("l{p}-{i}"), at);
            m.fullname = Some(if i % 3 == 0 {
                format!("María Costa {i}")
            } else {
                format!("Luca Rossi {i}")
            });
            if i == 7 {
                m.fullname = Some(format!("Zebulon Quixote{p}"));
                rare.push(m.id);
            }
            if i % 3 == 0 {
                expected[p].push((at, m.id));
            }
            rows.push(lead::ActiveModel::from(m));
        }
        lead::Entity::insert_many(rows)
            .exec_without_returning(&app.db)
            .await
            .unwrap();
    }
    for (p, &project_id) in ids.iter().enumerate() {
        let scope = ProjectScope::operator(project_id);
        let mut want = expected[p].clone();
        want.sort_by(|a, b| b.cmp(a));
        let want: Vec<Uuid> = want.into_iter().map(|(_, id)| id).collect();
        let newest = ContactQuery {
            search: Some("costa".into()),
            order: Some((OrderField::CreatedAt, Direction::Desc)),
            ..ContactQuery::default()
        };
        // Page by page, newest first.
        let mut got = Vec::new();
        let mut after = None;
        loop {
            let page = contact_search::list(
                &app.db,
                scope,
                &newest,
                PageRequest::Forward { first: 7, after },
                &Default::default(),
            )
            .await
            .unwrap();
            got.extend(page.rows.iter().map(|r| r.id));
            assert!(page.rows.iter().all(|r| r.project_id == project_id));
            if !page.has_next_page {
                break;
            }
            after = page.cursors.last().cloned();
        }
        assert_eq!(got, want, "project {p}, newest first");
        assert_eq!(
            contact_search::count(&app.db, scope, &newest)
                .await
                .unwrap(),
            20
        );
        // Relevance order: the same set.
        let relevance = ContactQuery {
            search: Some("costa".into()),
            ..ContactQuery::default()
        };
        let page = contact_search::list(
            &app.db,
            scope,
            &relevance,
            PageRequest::Forward {
                first: 100,
                after: None,
            },
            &Default::default(),
        )
        .await
        .unwrap();
        let mut got: Vec<Uuid> = page.rows.iter().map(|r| r.id).collect();
        let mut all = want.clone();
        got.sort();
        all.sort();
        assert_eq!(got, all, "project {p}, relevance");
        // A rare word: the project's own contact only (the other projects have "quixote1"…).
        for (q, order) in [
            ("zebulon", Some((OrderField::CreatedAt, Direction::Desc))),
            ("zebulon", None),
        ] {
            let query = ContactQuery {
                search: Some(q.into()),
                order,
                ..ContactQuery::default()
            };
            let page = contact_search::list(
                &app.db,
                scope,
                &query,
                PageRequest::Forward {
                    first: 20,
                    after: None,
                },
                &Default::default(),
            )
            .await
            .unwrap();
            let got: Vec<Uuid> = page.rows.iter().map(|r| r.id).collect();
            assert_eq!(got, vec![rare[p]], "project {p}, rare word {order:?}");
        }
        let exact = ContactQuery {
            search: Some(format!("quixote{p}")),
            ..ContactQuery::default()
        };
        assert_eq!(
            contact_search::count(&app.db, scope, &exact).await.unwrap(),
            1
        );
    }
}
db_test!(search_stays_in_its_project);

/// A search ordered by creation time walks the project's creation-time index for a bounded
/// number of rows (`src/service/search_walk.rs`: 100 per row of the page) and falls back to
/// the full-text index when the page does not fill. 400 contacts, pages of 1 and 2 (walks of
/// 200 and 300 rows), both directions, forward and backward: a word dense among the newest
/// (the walk answers, then falls back for its old tail), one found only among the oldest
/// (fallback from the first page), one with fewer matches than a page, a tie on the creation
/// time and a soft-deleted match. Every page equals the reference sorted here, in one statement.
async fn search_walk_and_its_fallback(backend: Backend) {
    use contacts_server::service::ProjectScope;
    use contacts_server::service::contact_search::{
        self, ContactQuery, Direction, OrderField, PageRequest,
    };
    use contacts_server::service::store::leads::blank;
    use entity::lead;
    use sea_orm::EntityTrait;
    use uuid::Uuid;

    let app = TestApp::spawn(backend).await;
    let project_id = Uuid::new_v4();
    let base = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    insert_project(&app, project_id, "walk".into(), base).await;
    let scope = ProjectScope::operator(project_id);
    let ribeiro = [395, 390, 380, 370, 360, 355, 101];
    let costa = [0, 1, 2, 3, 4, 5, 399];
    let mut data: Vec<(&str, chrono::DateTime<chrono::Utc>, Uuid)> = Vec::new();
    let mut rows = Vec::new();
    for i in 0..400i64 {
        // 355 and 360 share their creation time (the id breaks the tie).
        let at = base + chrono::Duration::seconds(if i == 360 { 355 } else { i });
        let mut m = blank(scope, format!("w-{i}"), at);
        let word = if ribeiro.contains(&i) {
            "Ribeiro"
        } else if costa.contains(&i) {
            "Costa"
        } else if i == 200 {
            "Quixote"
        } else {
            "Rossi"
        };
        m.fullname = Some(format!("Ana {word} {i}"));
        if i == 390 {
            m.status = lead::LeadStatus::Deleted;
        } else {
            data.push((word, at, m.id));
        }
        rows.push(lead::ActiveModel::from(m));
    }
    lead::Entity::insert_many(rows)
        .exec_without_returning(&app.db)
        .await
        .unwrap();

    for word in ["Ribeiro", "Costa", "Quixote"] {
        for dir in [Direction::Desc, Direction::Asc] {
            let mut want: Vec<(chrono::DateTime<chrono::Utc>, Uuid)> = data
                .iter()
                .filter(|(w, _, _)| *w == word)
                .map(|(_, at, id)| (*at, *id))
                .collect();
            want.sort();
            if dir == Direction::Desc {
                want.reverse();
            }
            let want: Vec<Uuid> = want.into_iter().map(|(_, id)| id).collect();
            let q = ContactQuery {
                search: Some(word.to_lowercase()),
                order: Some((OrderField::CreatedAt, dir)),
                ..ContactQuery::default()
            };
            for size in [1u64, 2] {
                // Forward, page by page.
                let (mut got, mut after) = (Vec::new(), None);
                loop {
                    // In a task, as the server runs it: the tenancy check reads its SQL too.
                    let (mark, sql_mark) = (app.statements(), app.sql_mark());
                    let (db, q2) = (app.db.clone(), q.clone());
                    let page = tokio::spawn(async move {
                        let forward = PageRequest::Forward { first: size, after };
                        contact_search::list(&db, scope, &q2, forward, &Default::default()).await
                    })
                    .await
                    .unwrap()
                    .unwrap();
                    assert_eq!(app.statements() - mark, 1, "{word} {dir:?} {size}");
                    let sql = app.sql_since(sql_mark);
                    assert!(
                        sql[0].contains(r#""walk" AS"#),
                        "the walk's statement: {sql:?}"
                    );
                    got.extend(page.rows.iter().map(|r| r.id));
                    if !page.has_next_page {
                        break;
                    }
                    after = page.cursors.last().cloned();
                }
                assert_eq!(got, want, "{word} {dir:?} forward, pages of {size}");
                // Backward from the end.
                let (mut got, mut before) = (Vec::new(), None);
                loop {
                    let page = contact_search::list(
                        &app.db,
                        scope,
                        &q,
                        PageRequest::Backward { last: size, before },
                        &Default::default(),
                    )
                    .await
                    .unwrap();
                    let mut ids: Vec<Uuid> = page.rows.iter().map(|r| r.id).collect();
                    ids.extend(got);
                    got = ids;
                    if !page.has_previous_page {
                        break;
                    }
                    before = page.cursors.first().cloned();
                }
                assert_eq!(got, want, "{word} {dir:?} backward, pages of {size}");
            }
        }
    }
}
db_test!(search_walk_and_its_fallback);
