//! Bulk actions by filter ("select all matching"): previews, jobs in keyset batches (the same
//! statements per batch whatever the job's size), every changed contact with its timeline
//! event, resumption after an interruption without applying anything twice, caps, tenancy.

use std::time::Duration;

use contacts_server::service::ProjectScope;
use contacts_server::service::bulk::{self, Action, Settings};
use contacts_server::service::contact_search::ContactQuery;
use entity::lead;
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{Backend, TestApp, code, db_test};

const JOB: &str = "query($id: ID!) { bulkJob(id: $id) { id kind status total processed succeeded skipped error filter finishedAt } }";

/// Inserts `n` contacts into `project` straight into the database (500 a statement), named
/// `{prefix}{i}`, tagged `tags`; returns their ids.
async fn seed(app: &TestApp, project: &str, n: usize, prefix: &str, tags: &[&str]) -> Vec<Uuid> {
    let scope = ProjectScope::operator(project.parse().unwrap());
    let mut ids = Vec::with_capacity(n);
    let at = contacts_server::service::now();
    let models: Vec<lead::Model> = (0..n)
        .map(|i| {
            let mut m =
                contacts_server::service::store::leads::blank(scope, format!("{prefix}-{i}"), at);
            m.fullname = Some(format!("{prefix}{i}"));
            m.tags = json!(tags);
            ids.push(m.id);
            m
        })
        .collect();
    for chunk in models.chunks(500) {
        lead::Entity::insert_many(chunk.iter().cloned().map(lead::ActiveModel::from))
            .exec_without_returning(&app.db)
            .await
            .unwrap();
    }
    ids
}

/// Polls `bulkJob(id:)` until it is no longer RUNNING; returns it.
async fn finished(app: &TestApp, token: &str, id: &Value) -> Value {
    for _ in 0..600 {
        let job = app.ok(Some(token), JOB, json!({ "id": id })).await["bulkJob"].clone();
        if job["status"] != "RUNNING" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} still running after 30 s");
}

async fn count_where(app: &TestApp, sql: &str) -> i64 {
    let row = app
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn events_of_kind(app: &TestApp, kind: &str) -> i64 {
    count_where(
        app,
        &format!("SELECT COUNT(*) AS n FROM lead_event WHERE kind = '{kind}'"),
    )
    .await
}

async fn preview_counts_and_a_job_changes_every_match(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    seed(&app, &project, 30, "Lead", &["lead"]).await;
    seed(&app, &project, 5, "Other", &["other"]).await;
    let before = app.count_rows("lead_event").await;
    let preview = app
        .ok(
            Some(&owner),
            "mutation { addTagsToContacts(filter: { tags: [\"lead\"] }, preview: true, tags: [\"q4\"]) { matchedCount job { id } results { id } } }",
            json!({}),
        )
        .await["addTagsToContacts"]
        .clone();
    assert_eq!(
        preview,
        json!({ "matchedCount": 30, "job": null, "results": [] })
    );
    assert_eq!(
        app.count_rows("lead_event").await,
        before,
        "a preview writes nothing"
    );

    let started = app
        .ok(
            Some(&owner),
            "mutation { addTagsToContacts(filter: { tags: [\"lead\"] }, tags: [\"q4\", \"Lead\"]) { matchedCount job { id kind status total } } }",
            json!({}),
        )
        .await["addTagsToContacts"]
        .clone();
    assert_eq!(started["matchedCount"], 30);
    assert_eq!(started["job"]["kind"], "ADD_TAGS");
    assert_eq!(started["job"]["total"], 30);
    let job = finished(&app, &owner, &started["job"]["id"]).await;
    assert_eq!(job["status"], "COMPLETED", "{job}");
    assert_eq!(
        (&job["processed"], &job["succeeded"], &job["skipped"]),
        (&json!(30), &json!(30), &json!(0))
    );
    assert_eq!(job["filter"], json!({ "tags": ["lead"] }));
    assert!(job["finishedAt"].is_string());
    let tagged = app
        .ok(
            Some(&owner),
            "{ contacts(tags: [\"q4\"]) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(tagged["contacts"]["totalCount"], 30);
    let others = app
        .ok(
            Some(&owner),
            "{ contacts(tags: [\"other\", \"q4\"]) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(others["contacts"]["totalCount"], 0);
    assert_eq!(
        events_of_kind(&app, "TAGS_CHANGED").await,
        30,
        "one event per contact"
    );
    // The event says what changed, by whom.
    let owner_id = app
        .ok(Some(&owner), "{ viewer { user { id } } }", json!({}))
        .await["viewer"]["user"]["id"]
        .clone();
    let one = app
        .ok(
            Some(&owner),
            "{ contacts(tags: [\"q4\"], first: 1) { nodes { version timeline(first: 1) { nodes { kind tagsAdded actorId } } } } }",
            json!({}),
        )
        .await["contacts"]["nodes"][0]
        .clone();
    assert_eq!(one["version"], 2);
    assert_eq!(
        one["timeline"]["nodes"][0],
        json!({ "kind": "TAGS_CHANGED", "tagsAdded": ["q4"], "actorId": owner_id })
    );

    // Update, assign and delete by filter and segment.
    let segment = app
        .ok(
            Some(&owner),
            "mutation { saveSegment(input: { name: \"Others\", filter: { tags: [\"other\"] } }) { id } }",
            json!({}),
        )
        .await["saveSegment"]["id"]
        .clone();
    let run = |doc: &'static str| {
        let app = &app;
        let owner = owner.clone();
        let segment = segment.clone();
        async move {
            let data = app.ok(Some(&owner), doc, json!({ "s": segment })).await;
            let payload = data.as_object().unwrap().values().next().unwrap().clone();
            finished(app, &owner, &payload["job"]["id"]).await
        }
    };
    let job = run("mutation($s: ID!) { updateContacts(segment: $s, input: { city: \"Oslo\", attributes: { tier: 2 } }) { job { id } } }").await;
    assert_eq!(
        (&job["status"], &job["succeeded"]),
        (&json!("COMPLETED"), &json!(5))
    );
    let oslo = app
        .ok(
            Some(&owner),
            "query($s: ID!) { contacts(segment: $s) { nodes { city attributes } } }",
            json!({ "s": segment }),
        )
        .await;
    for c in oslo["contacts"]["nodes"].as_array().unwrap() {
        assert_eq!(
            (&c["city"], &c["attributes"]),
            (&json!("Oslo"), &json!({ "tier": 2 }))
        );
    }
    let job = run("mutation($s: ID!) { assignContacts(segment: $s, filter: { search: \"Other1\" }, ownerId: null) { job { id } } }").await;
    assert_eq!(
        (&job["total"], &job["succeeded"]),
        (&json!(1), &json!(1)),
        "segment AND filter"
    );
    let job = run("mutation($s: ID!) { deleteContacts(segment: $s) { job { id } } }").await;
    assert_eq!(job["succeeded"], 5);
    let left = app
        .ok(
            Some(&owner),
            "query($s: ID!) { contacts(segment: $s) { totalCount } }",
            json!({ "s": segment }),
        )
        .await;
    assert_eq!(
        left["contacts"]["totalCount"], 0,
        "deleted contacts leave the list"
    );
    assert_eq!(events_of_kind(&app, "DELETED").await, 5);
}
db_test!(preview_counts_and_a_job_changes_every_match);

async fn bulk_arguments_are_validated(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.bulk_max_contacts = 5).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let (other, _) = app.sign_up("other@example.com").await;
    let other_id = app
        .ok(Some(&other), "{ viewer { user { id } } }", json!({}))
        .await["viewer"]["user"]["id"]
        .clone();
    let ids = seed(&app, &project, 6, "C", &["t"]).await;
    let cases = [
        (
            json!({}),
            "mutation { deleteContacts { matchedCount } }",
            "ids",
        ),
        (
            json!({ "ids": [ids[0].to_string()] }),
            "mutation($ids: [ID!]) { deleteContacts(ids: $ids, filter: {}) { matchedCount } }",
            "ids",
        ),
        (
            json!({}),
            "mutation { deleteContacts(filter: { tags: [\"t\"] }) { matchedCount } }",
            "filter",
        ),
        (
            json!({}),
            "mutation { deleteContacts(filter: { search: \"\\u0001\" }, preview: true) { matchedCount } }",
            "search",
        ),
        (
            json!({ "o": other_id }),
            "mutation($o: ID) { assignContacts(filter: { search: \"C1\" }, ownerId: $o) { matchedCount } }",
            "ownerId",
        ),
        (
            json!({ "o": other_id }),
            "mutation($o: ID) { assignContacts(filter: { search: \"C1\" }, ownerId: $o, preview: true) { matchedCount } }",
            "ownerId",
        ),
        (
            json!({}),
            "mutation { updateContacts(filter: { search: \"C1\" }, input: {}) { matchedCount } }",
            "input",
        ),
        (
            json!({}),
            "mutation { updateContacts(filter: { search: \"C1\" }, input: { city: \"x\\ny\" }) { matchedCount } }",
            "city",
        ),
        (
            json!({}),
            "mutation { addTagsToContacts(filter: { search: \"C1\" }, tags: [\" \"]) { matchedCount } }",
            "tags",
        ),
    ];
    for (vars, doc, field) in cases {
        let resp = app.gql(Some(&owner), doc, vars).await;
        assert_eq!(code(&resp), "BAD_USER_INPUT", "{doc}: {resp}");
        assert_eq!(resp["errors"][0]["extensions"]["field"], field, "{doc}");
    }
    let resp = app
        .gql(
            Some(&owner),
            "mutation($s: ID!) { deleteContacts(segment: $s) { matchedCount } }",
            json!({ "s": Uuid::new_v4().to_string() }),
        )
        .await;
    assert_eq!(code(&resp), "NOT_FOUND");
    assert_eq!(app.count_rows("bulk_job").await, 0, "no job was recorded");
    // Within the cap: a preview of 5 of the 6, then the job.
    let ok = app
        .ok(
            Some(&owner),
            "mutation { deleteContacts(filter: { search: \"C\" }, preview: true) { matchedCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        ok["deleteContacts"]["matchedCount"], 6,
        "previews are not capped"
    );
    // Ids keep their per-id results (and their preview counts only this project's).
    let resp = app
        .ok(
            Some(&owner),
            "mutation($ids: [ID!]) { deleteContacts(ids: $ids, preview: true) { matchedCount results { id } } }",
            json!({ "ids": [ids[0].to_string(), Uuid::new_v4().to_string(), "nope"] }),
        )
        .await;
    assert_eq!(resp["deleteContacts"]["matchedCount"], 1);
}
db_test!(bulk_arguments_are_validated);

async fn jobs_stay_in_their_project(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let (other, other_project) = app.sign_up("other@example.com").await;
    seed(&app, &project, 3, "Ours", &["t"]).await;
    seed(&app, &other_project, 4, "Theirs", &["t"]).await;
    let started = app
        .ok(
            Some(&other),
            "mutation { addTagsToContacts(filter: { tags: [\"t\"] }, tags: [\"x\"]) { matchedCount job { id } } }",
            json!({}),
        )
        .await["addTagsToContacts"]
        .clone();
    assert_eq!(started["matchedCount"], 4);
    let job = finished(&app, &other, &started["job"]["id"]).await;
    assert_eq!(job["succeeded"], 4);
    let ours = app
        .ok(
            Some(&owner),
            "{ contacts(tags: [\"x\"]) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(ours["contacts"]["totalCount"], 0, "our contacts untouched");
    let seen = app
        .ok(Some(&owner), JOB, json!({ "id": started["job"]["id"] }))
        .await;
    assert!(
        seen["bulkJob"].is_null(),
        "another project's job is invisible"
    );
}
db_test!(jobs_stay_in_their_project);

fn settings() -> Settings {
    Settings {
        batch_size: 500,
        max_contacts: 100_000,
        lease: Duration::from_secs(30),
    }
}

/// Runs job `id` to its end in a server-like task (so the tenancy rule checks its
/// statements); returns the statements it ran.
async fn run_job(
    app: &TestApp,
    scope: ProjectScope,
    id: Uuid,
    max_batches: Option<usize>,
) -> usize {
    let before = app.statements();
    let db = app.db.clone();
    let job = tokio::spawn(async move {
        bulk::run(&db, scope, id, bulk::instance(), settings(), max_batches).await
    })
    .await
    .unwrap()
    .unwrap();
    assert_ne!(job.status, "FAILED", "{job:?}");
    app.statements() - before
}

async fn ten_thousand_contacts_in_batches_of_constant_cost(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, project) = app.sign_up("owner@example.com").await;
    let scope = ProjectScope::operator(project.parse().unwrap());
    seed(&app, &project, 10_000, "Big", &["big"]).await;
    seed(&app, &project, 1_000, "Small", &["small"]).await;
    let tagged = |tag: &str| ContactQuery {
        tags: vec![tag.to_owned()],
        ..Default::default()
    };
    let add = |tag: &str| Action::AddTags {
        tags: vec![tag.to_owned()],
    };
    let small = bulk::start(&app.db, scope, None, tagged("small"), add("s"), settings())
        .await
        .unwrap();
    let big = bulk::start(&app.db, scope, None, tagged("big"), add("b"), settings())
        .await
        .unwrap();
    assert_eq!((small.total, big.total), (1_000, 10_000));
    let small_cost = run_job(&app, scope, small.id, None).await;
    let big_cost = run_job(&app, scope, big.id, None).await;
    // 2 batches of 500 against 20: the difference is 18 batches of the same cost.
    let per_batch = (big_cost - small_cost) / 18;
    assert_eq!(
        (big_cost - small_cost) % 18,
        0,
        "{small_cost} vs {big_cost}"
    );
    assert!(
        per_batch <= 8,
        "a batch of 500 costs {per_batch} statements, not one per contact"
    );
    // Besides its batches, a job costs its claim and the last, empty batch.
    let overhead = small_cost - 2 * per_batch;
    assert!(
        overhead <= per_batch,
        "{small_cost} = 2 × {per_batch} + {overhead}"
    );
    let done = bulk::get(&app.db, scope, big.id).await.unwrap();
    assert_eq!(
        (
            done.status.as_str(),
            done.processed,
            done.succeeded,
            done.skipped
        ),
        ("COMPLETED", 10_000, 10_000, 0)
    );
    assert_eq!(events_of_kind(&app, "TAGS_CHANGED").await, 11_000);
    let versions = count_where(&app, "SELECT COUNT(*) AS n FROM lead WHERE version = 2").await;
    assert_eq!(versions, 11_000, "each contact saved once");
}
db_test!(ten_thousand_contacts_in_batches_of_constant_cost);

async fn an_interrupted_job_resumes_without_applying_twice(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    let scope = ProjectScope::operator(project.parse().unwrap());
    seed(&app, &project, 10_000, "Big", &["big"]).await;
    let query = ContactQuery {
        tags: vec!["big".into()],
        ..Default::default()
    };
    let action = Action::AddTags {
        tags: vec!["done".into()],
    };
    let job = bulk::start(&app.db, scope, None, query, action, settings())
        .await
        .unwrap();
    // Three batches, then the process "dies": its lease stays until it expires.
    run_job(&app, scope, job.id, Some(3)).await;
    let halfway = bulk::get(&app.db, scope, job.id).await.unwrap();
    assert_eq!(
        (halfway.status.as_str(), halfway.processed),
        ("RUNNING", 1_500)
    );
    assert_eq!(events_of_kind(&app, "TAGS_CHANGED").await, 1_500);
    // A batch that was rolled back (the crash mid-transaction) left nothing behind.
    let txn = contacts_server::service::begin_write(&app.db)
        .await
        .unwrap();
    txn.rollback().await.unwrap();
    // While the lease is live, another instance does not take the job.
    let other = tokio::spawn({
        let db = app.db.clone();
        async move { bulk::run(&db, scope, job.id, Uuid::new_v4(), settings(), None).await }
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(other.processed, 1_500, "the live lease kept the job");
    assert!(!bulk::stalled(&other));
    // The lease expires; the next read of the job resumes it.
    app.db
        .execute_unprepared("UPDATE bulk_job SET lease_until = '2000-01-01T00:00:00+00:00'")
        .await
        .unwrap();
    let done = finished(&app, &owner, &json!(job.id.to_string())).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(
        (&done["processed"], &done["succeeded"]),
        (&json!(10_000), &json!(10_000))
    );
    assert_eq!(
        events_of_kind(&app, "TAGS_CHANGED").await,
        10_000,
        "one event per contact"
    );
    let versions = count_where(&app, "SELECT COUNT(*) AS n FROM lead WHERE version = 2").await;
    assert_eq!(versions, 10_000, "every contact changed exactly once");
}
db_test!(an_interrupted_job_resumes_without_applying_twice);

async fn erased_and_merged_contacts_are_skipped(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.sign_up("owner@example.com").await;
    let mut ids = Vec::new();
    for n in 0..4 {
        let c = app
            .create_contact(
                &owner,
                json!({ "fullname": format!("S{n}"), "tags": ["s"] }),
            )
            .await;
        ids.push(c["id"].clone());
    }
    app.ok(
        Some(&owner),
        "mutation($id: ID!) { eraseContact(input: { id: $id }) { id } }",
        json!({ "id": ids[0] }),
    )
    .await;
    app.ok(
        Some(&owner),
        "mutation($id: ID!) { deleteContact(input: { id: $id }) { id } }",
        json!({ "id": ids[1] }),
    )
    .await;
    // Every status: the erased one (DELETED, no tags any more) does not match `tags`, so
    // match by name; the erased contact's name is gone too: match NORMAL and DELETED.
    let started = app
        .ok(
            Some(&owner),
            "mutation { updateContacts(filter: { status: [NORMAL, DELETED] }, input: { country: \"NO\" }) { matchedCount job { id } } }",
            json!({}),
        )
        .await["updateContacts"]
        .clone();
    assert_eq!(started["matchedCount"], 4);
    let job = finished(&app, &owner, &started["job"]["id"]).await;
    assert_eq!(
        (&job["succeeded"], &job["skipped"]),
        (&json!(3), &json!(1)),
        "{job}"
    );
    let erased = app
        .ok(
            Some(&owner),
            "query($id: ID!) { contact(id: $id) { country erasedAt } }",
            json!({ "id": ids[0] }),
        )
        .await;
    assert!(
        erased["contact"]["country"].is_null(),
        "an erased contact is never written"
    );
}
db_test!(erased_and_merged_contacts_are_skipped);

async fn bulk_updates_check_attributes_and_link_one_company(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, project) = app.sign_up("owner@example.com").await;
    app.ok(
        Some(&owner),
        "mutation { defineContactAttribute(input: { key: \"seats\", label: \"Seats\", type: NUMBER }) { id } }",
        json!({}),
    )
    .await;
    let ids = seed(&app, &project, 1_200, "Lead", &["lead"]).await;
    // By ids: each contact checked on its own, with the attribute's definition.
    let resp = app
        .ok(
            Some(&owner),
            "mutation($ids: [ID!]) { updateContacts(ids: $ids, input: { attributes: { seats: \"ten\" } }) { succeeded failed results { error { code field } } } }",
            json!({ "ids": [ids[0].to_string()] }),
        )
        .await["updateContacts"]
        .clone();
    assert_eq!(resp["failed"], 1);
    assert_eq!(
        resp["results"][0]["error"],
        json!({ "code": "BAD_USER_INPUT", "field": "attributes.seats" })
    );
    // By filter: one company (created once, by name) for every contact, in batches; the typed
    // value is checked once per batch.
    let started = app
        .ok(
            Some(&owner),
            "mutation { updateContacts(filter: { tags: [\"lead\"] }, input: { company: \"Acme Corp\", attributes: { seats: 10 } }) { matchedCount job { id } } }",
            json!({}),
        )
        .await["updateContacts"]
        .clone();
    assert_eq!(started["matchedCount"], 1_200);
    let job = finished(&app, &owner, &started["job"]["id"]).await;
    assert_eq!(
        (&job["status"], &job["succeeded"]),
        (&json!("COMPLETED"), &json!(1_200)),
        "{job}"
    );
    let companies = app
        .ok(
            Some(&owner),
            "{ companies { totalCount nodes { id name contactsCount } } }",
            json!({}),
        )
        .await["companies"]
        .clone();
    assert_eq!(
        companies["totalCount"], 1,
        "one company, created once: {companies}"
    );
    assert_eq!(companies["nodes"][0]["contactsCount"], 1_200);
    let company_id = companies["nodes"][0]["id"].clone();
    let found = app
        .ok(
            Some(&owner),
            "query($c: ID) { contacts(companyId: $c, attributeFilters: [{ key: \"seats\", eq: 10 }]) { totalCount } }",
            json!({ "c": company_id }),
        )
        .await;
    assert_eq!(found["contacts"]["totalCount"], 1_200);
    // A job whose values do not fit skips every contact (each one checked), changing none.
    let started = app
        .ok(
            Some(&owner),
            "mutation { updateContacts(filter: { tags: [\"lead\"] }, input: { attributes: { seats: \"many\" } }) { job { id } } }",
            json!({}),
        )
        .await["updateContacts"]
        .clone();
    let job = finished(&app, &owner, &started["job"]["id"]).await;
    assert_eq!(
        (&job["succeeded"], &job["skipped"]),
        (&json!(0), &json!(1_200)),
        "{job}"
    );
    // Segments carry the new filters too.
    let segment = app
        .ok(
            Some(&owner),
            "mutation($c: ID) { saveSegment(input: { name: \"Acme, 10 seats\", filter: { companyId: $c, attributeFilters: [{ key: \"seats\", gt: 9 }] } }) { filter contactsCount } }",
            json!({ "c": company_id }),
        )
        .await["saveSegment"]
        .clone();
    assert_eq!(segment["contactsCount"], 1_200);
    assert_eq!(
        segment["filter"],
        json!({ "companyId": company_id, "attributeFilters": [{ "key": "seats", "gt": 9 }] })
    );
}
db_test!(bulk_updates_check_attributes_and_link_one_company);
