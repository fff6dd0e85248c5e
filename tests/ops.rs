//! Operator subcommands through the real binary, on SQLite and PostgreSQL: `seed --demo`
//! (then signing in as the printed agent over HTTP), `import-csv` / `export-csv` (happy path,
//! bad rows with line numbers, duplicates, unknown project, strict mode, round trip).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use contacts_server::{Application, Config};
use sea_orm::{ColumnTrait, Database, EntityTrait, QueryFilter};
use serde_json::{Value, json};

#[path = "support/mod.rs"]
mod support;

use support::{Backend, TestDb, db_test};

/// Runs the binary with `DATABASE_URL=url` (off the async runtime).
async fn run(url: &str, args: &[&str]) -> Output {
    let url = url.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_contacts-server"))
            .args(&args)
            .env("DATABASE_URL", url)
            .env("RUST_LOG", "warn")
            .env_remove("CONTACTS_CONFIG")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The value of a `key: value` line.
fn field(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no `{key}:` in {text}"))
        .to_owned()
}

/// A new project (with its OWNER) made through the service layer; returns its id.
async fn new_project(url: &str, email: &str) -> String {
    let db = Database::connect(url).await.unwrap();
    contacts_server::db::migrate(&db).await.unwrap();
    let session = contacts_server::service::accounts::sign_up(
        &db,
        contacts_server::service::accounts::SignUp {
            email: email.into(),
            password: "correct horse".into(),
            fullname: None,
            project_name: "Imports".into(),
        },
    )
    .await
    .unwrap();
    db.close().await.unwrap();
    session.project.id.to_string()
}

async fn export(url: &str, project: &str, dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let out = run(
        url,
        &[
            "export-csv",
            "--project",
            project,
            "--out",
            path.to_str().unwrap(),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::read_to_string(path).unwrap()
}

async fn import(url: &str, project: &str, dir: &Path, csv: &str, extra: &[&str]) -> Output {
    let path = dir.join(format!("in-{}.csv", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, csv).unwrap();
    let mut args = vec!["import-csv", path.to_str().unwrap(), "--project", project];
    args.extend_from_slice(extra);
    run(url, &args).await
}

/// GraphQL over HTTP against `base`.
async fn gql(base: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap().json().await.unwrap()
}

async fn seed_then_sign_in_and_list(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let url = test_db.url.clone();
    let out = run(&url, &["seed", "--demo"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let project = field(&text, "project");
    let password = field(&text, "password");
    assert_eq!(password.len(), 16, "{text}");
    assert_eq!(field(&text, "owner"), "demo-owner@example.com");
    assert_eq!(field(&text, "contacts"), "20");
    let requests: usize = field(&text, "requests").parse().unwrap();
    assert!((20..=60).contains(&requests), "{text}");

    // A second run refuses clearly and writes nothing.
    let again = run(&url, &["seed", "--demo"]).await;
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );

    // The printed agent signs in over the API and lists the contacts.
    let mut config = Config::defaults();
    config.database_url = url.clone();
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.jwt_secret = Some("ops-test-secret-ops-test-secret-0123456789".into());
    let app = Application::build(config).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    for (email, role) in [
        ("demo-owner@example.com", "OWNER"),
        ("demo-agent@example.com", "AGENT"),
    ] {
        let body = gql(
            &base,
            None,
            "mutation($i: SignInInput!) { signIn(input: $i) { token role project { id } } }",
            json!({ "i": { "email": email, "password": password } }),
        )
        .await;
        assert_eq!(body["data"]["signIn"]["role"], role, "{body}");
        assert_eq!(body["data"]["signIn"]["project"]["id"], project.as_str());
        let token = body["data"]["signIn"]["token"].as_str().unwrap().to_owned();
        let list = gql(
            &base,
            Some(&token),
            "{ contacts(first: 50) { totalCount nodes { fullname email phone company { name } tags requestsCount } } }",
            json!({}),
        )
        .await;
        // 20 contacts, every tenth soft-deleted (hidden by default).
        assert_eq!(list["data"]["contacts"]["totalCount"], 18, "{list}");
        let nodes = list["data"]["contacts"]["nodes"].as_array().unwrap();
        let grace = nodes
            .iter()
            .find(|n| n["fullname"] == "Grace Hopper")
            .unwrap();
        assert_eq!(grace["email"], "grace.hopper@example.com");
        assert_eq!(grace["phone"], "+390669881001");
        assert_eq!(grace["company"]["name"], "Globex");
        assert_eq!(grace["tags"], json!(["trial", "newsletter"]));
        assert_eq!(grace["requestsCount"], 2);
    }
    // A fixed password with --password.
    let db2 = TestDb::new(backend).await;
    let url2 = db2.url.clone();
    let out = run(&url2, &["seed", "--demo", "--password", "demo demo demo"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(field(&stdout(&out), "password"), "demo demo demo");
}
db_test!(seed_then_sign_in_and_list);

const HEADER: &str = "lead_id,fullname,email,phone,company,tags,status,attributes,created_at\n";

async fn import_happy_path_and_export(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let url = test_db.url.clone();
    let project = new_project(&url, "owner@example.com").await;
    let csv = format!(
        "{HEADER}crm-1, Grace Hopper ,Grace@Navy.MIL ,+1 415 555 2671,US Navy,VIP|navy,NORMAL,\"{{\"\"rank\"\":\"\"RADM\"\"}}\",2020-01-02T03:04:05.123456Z\n\
         ,Ada Lovelace,ada@example.com,,,,DELETED,,\n"
    );
    let out = import(&url, &project, test_db.dir(), &csv, &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = stdout(&out);
    assert!(
        summary.contains("2 rows in")
            && summary.contains("2 created, 0 updated, 0 unchanged, 0 failed"),
        "{summary}"
    );
    assert!(summary.contains(" rows/s)"), "{summary}");
    let exported = export(&url, &project, test_db.dir(), "out.csv").await;
    let mut lines = exported.lines();
    assert_eq!(
        lines.next().unwrap(),
        "lead_id,fullname,email,phone,company,company_domain,tags,status,attributes,created_at,note,street,city,region,zipcode,country,additional_emails,owner"
    );
    // Normalised like the API does: trimmed, E.164 phone (defused for spreadsheets with a
    // leading `'`); the given created_at kept.
    assert_eq!(
        lines.next().unwrap(),
        "crm-1,Grace Hopper,Grace@Navy.MIL,'+14155552671,US Navy,,VIP|navy,NORMAL,\"{\"\"rank\"\":\"\"RADM\"\"}\",2020-01-02T03:04:05.123456Z,,,,,,,,"
    );
    let ada = lines.next().unwrap();
    // No lead_id: a new UUID.
    let lead_id = ada.split(',').next().unwrap();
    assert!(uuid::Uuid::parse_str(lead_id).is_ok(), "{ada}");
    assert!(
        ada.contains(",Ada Lovelace,ada@example.com,,,,,DELETED,,"),
        "{ada}"
    );
    assert_eq!(lines.next(), None);
}
db_test!(import_happy_path_and_export);

async fn bad_rows_are_reported_with_their_lines(backend: Backend) {
    bad_rows_with_line_ending(backend, "\n").await;
}
db_test!(bad_rows_are_reported_with_their_lines);

/// RFC 4180's (and Excel's) CRLF line ending: the same physical line numbers.
async fn crlf_files_report_the_same_lines(backend: Backend) {
    bad_rows_with_line_ending(backend, "\r\n").await;
}
db_test!(crlf_files_report_the_same_lines);

async fn bad_rows_with_line_ending(backend: Backend, newline: &str) {
    let test_db = TestDb::new(backend).await;
    let url = test_db.url.clone();
    let project = new_project(&url, "owner@example.com").await;
    let csv = format!(
        "{HEADER}\
         ok-1,Good,good@example.com,,,,,,\n\
         bad-email,Bad,not-an-email,,,,,,\n\
         bad-phone,Bad,,call me maybe,,,,,\n\
         bad-json,Bad,,,,,,{{nope,\n\
         bad-ctrl,Bad\u{7}Name,,,,,,,\n\
         bad-status,Bad,,,,,BOGUS,,\n\
         bad-fields,only three,fields\n\
         \"multi\nline-lead\",Bad,,,,,,[1],\n\
         ok-2,Also good,,,,,,,\n"
    )
    .replace('\n', newline);
    let out = import(&url, &project, test_db.dir(), &csv, &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    for expected in [
        "line 3: email: ",
        "line 4: phone: ",
        "line 5: attributes: not valid JSON",
        "line 6: fullname: must not contain control characters",
        "line 7: status: must be NORMAL, DELETED or TEMP",
        "line 8: expected 9 fields, found 3",
        "line 9: ",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in {err}");
    }
    assert!(
        stdout(&out).contains("9 rows in")
            && stdout(&out).contains("2 created, 0 updated, 0 unchanged, 7 failed"),
        "{}",
        stdout(&out)
    );
    let exported = export(&url, &project, test_db.dir(), "out.csv").await;
    let leads: Vec<&str> = exported
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(leads.len(), 2, "{exported}");
    assert!(
        leads.contains(&"ok-1") && leads.contains(&"ok-2"),
        "{exported}"
    );

    // --strict: the first failing row stops the import, nothing is written.
    let project2 = new_project(&url, "owner2@example.com").await;
    let out = import(&url, &project2, test_db.dir(), &csv, &["--strict"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("rolled back, nothing written"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        export(&url, &project2, test_db.dir(), "o2.csv")
            .await
            .lines()
            .count(),
        1
    );
}

async fn duplicate_lead_ids_merge_like_an_update(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let url = test_db.url.clone();
    let project = new_project(&url, "owner@example.com").await;
    let csv = format!(
        "{HEADER}\
         dup,First Name,first@example.com,,Acme,a|b,,\"{{\"\"x\"\":1,\"\"y\"\":1}}\",\n\
         dup,Second Name,,,,B|c,DELETED,\"{{\"\"y\"\":2}}\",\n\
         dup,Second Name,,,,,,,\n"
    );
    let out = import(&url, &project, test_db.dir(), &csv, &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("1 created, 1 updated, 1 unchanged, 0 failed"),
        "{}",
        stdout(&out)
    );
    let exported = export(&url, &project, test_db.dir(), "out.csv").await;
    let rows: Vec<&str> = exported.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{exported}");
    // Given fields replace, empty cells keep, tags add (case-insensitively), attributes merge.
    assert!(
        rows[0].starts_with(
            "dup,Second Name,first@example.com,,Acme,,a|b|c,DELETED,\"{\"\"x\"\":1,\"\"y\"\":2}\","
        ),
        "{}",
        rows[0]
    );
    // Again: the first row sets the first name and `y` back (updated), the second sets them
    // forward again (updated), the third changes nothing.
    let out = import(&url, &project, test_db.dir(), &csv, &[]).await;
    assert!(
        stdout(&out).contains("0 created, 2 updated, 1 unchanged, 0 failed"),
        "{}",
        stdout(&out)
    );
}
db_test!(duplicate_lead_ids_merge_like_an_update);

async fn unknown_project_and_bad_header_are_refused(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let url = test_db.url.clone();
    let project = new_project(&url, "owner@example.com").await;
    let missing = uuid::Uuid::new_v4().to_string();
    let out = import(&url, &missing, test_db.dir(), HEADER, &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("project {missing} not found")),
        "{}",
        stderr(&out)
    );
    let out = run(&url, &["export-csv", "--project", &missing]).await;
    assert_eq!(out.status.code(), Some(2));
    let out = import(
        &url,
        &project,
        test_db.dir(),
        "lead_id,emial\nx,y@example.com\n",
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown column `emial`"),
        "{}",
        stderr(&out)
    );
}
db_test!(unknown_project_and_bad_header_are_refused);

async fn export_import_round_trip(backend: Backend) {
    let test_db = TestDb::new(backend).await;
    let url = test_db.url.clone();
    let out = run(&url, &["seed", "--demo", "--password", "correct horse"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let source = field(&stdout(&out), "project");
    // Odd values too: a tag with `|`, a multi-line note, quotes and commas; companies with
    // domains.
    let extra = "lead_id,fullname,company,company_domain,tags,note,attributes,created_at\n\
         co-1,Ann,Acme Labs,https://www.acme-labs.example/,,,,\n\
         co-2,Bob,,ACME-LABS.example,,,,\n\
         odd-1,\"O'Brien, \"\"Pat\"\"\",,,\"[\"\"a|b\"\",\"\"c\"\"]\",\"line one\nline two\",\"{\"\"nested\"\":{\"\"k\"\":[1,2]}}\",2021-05-06T07:08:09Z\n";
    let out = import(&url, &source, test_db.dir(), extra, &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    // Cells a spreadsheet would run as formulas (a visitor types its name), already-escaped
    // look-alikes, a phone in E.164.
    let formulas = "lead_id,fullname,company,note,city,tags,phone,email\n\
         f-1,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",+cmd,@SUM(1),-2+3,-minus|=eq,+39 06 6988 1234,first@example.net\n\
         f-2,'=already quoted,''=twice,'plain apostrophe,\"\ttab\",ok,,second@example.net\n";
    let out = import(&url, &source, test_db.dir(), formulas, &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    // A merge: f-1 absorbs f-2's email (additional_emails).
    merge_by_lead_id(&url, &source, "f-1", "f-2").await;
    let first = export(&url, &source, test_db.dir(), "a.csv").await;
    assert_eq!(
        first.lines().filter(|l| l.contains("@example.com")).count(),
        20
    );
    // In the file, every formula-like cell is defused with a leading `'`.
    let mut reader = csv::Reader::from_reader(first.as_bytes());
    let header = reader.headers().unwrap().clone();
    let f1 = reader
        .records()
        .map(Result::unwrap)
        .find(|r| &r[0] == "f-1")
        .unwrap();
    let cell = |name: &str| f1[header.iter().position(|h| h == name).unwrap()].to_owned();
    assert_eq!(
        cell("fullname"),
        "'=HYPERLINK(\"http://evil.example\",\"x\")"
    );
    assert_eq!(cell("phone"), "'+390669881234");
    assert_eq!(cell("company"), "'+cmd");
    assert_eq!(cell("note"), "'@SUM(1)");
    assert_eq!(cell("city"), "'-2+3");
    assert_eq!(cell("tags"), "'-minus|=eq|ok");
    assert_eq!(cell("additional_emails"), "second@example.net");
    // Both linked to the one company of that domain (created by the first row).
    for lead_id in ["co-1", "co-2"] {
        let row = first
            .lines()
            .find(|l| l.starts_with(&format!("{lead_id},")))
            .unwrap();
        assert!(row.contains(",Acme Labs,acme-labs.example,"), "{row}");
    }
    let f2 = first.lines().find(|l| l.starts_with("f-2,")).is_none();
    assert!(f2, "the merged-away contact is not exported: {first}");
    let target = new_project(&url, "second@example.com").await;
    let path = test_db.dir().join("a.csv");
    let out = run(
        &url,
        &["import-csv", path.to_str().unwrap(), "--project", &target],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("24 created"), "{}", stdout(&out));
    let second = export(&url, &target, test_db.dir(), "b.csv").await;
    assert_eq!(first, second);
    // What the import stored is what was typed (the `'` is the file's, not the data's).
    let db = Database::connect(&url).await.unwrap();
    let rows = entity::lead::Entity::find()
        .filter(entity::lead::Column::ProjectId.eq(target.parse::<uuid::Uuid>().unwrap()))
        .filter(entity::lead::Column::LeadId.is_in(["f-1", "f-2"]))
        .all(&db)
        .await
        .unwrap();
    let f1 = rows.iter().find(|r| r.lead_id == "f-1").unwrap();
    assert_eq!(
        f1.fullname.as_deref(),
        Some("=HYPERLINK(\"http://evil.example\",\"x\")")
    );
    assert_eq!(f1.company.as_deref(), Some("+cmd"));
    assert_eq!(f1.note.as_deref(), Some("@SUM(1)"));
    assert_eq!(f1.city.as_deref(), Some("-2+3"));
    assert_eq!(f1.phone.as_deref(), Some("+390669881234"));
    assert_eq!(f1.tags, json!(["-minus", "=eq", "ok"]));
    assert_eq!(f1.additional_emails, json!(["second@example.net"]));
}
db_test!(export_import_round_trip);

/// Merges the contact keyed `secondary` into the one keyed `primary` (service layer).
async fn merge_by_lead_id(url: &str, project: &str, primary: &str, secondary: &str) {
    use contacts_server::service::{ProjectScope, merge};
    let db = Database::connect(url).await.unwrap();
    let scope = ProjectScope::operator(project.parse().unwrap());
    let id_of = async |lead_id: &str| {
        entity::lead::Entity::find()
            .filter(entity::lead::Column::ProjectId.eq(scope.project_id))
            .filter(entity::lead::Column::LeadId.eq(lead_id))
            .one(&db)
            .await
            .unwrap()
            .unwrap()
            .id
    };
    let input = merge::MergeInput {
        primary_id: id_of(primary).await,
        secondary_ids: vec![id_of(secondary).await],
        ..Default::default()
    };
    let origin = merge::MergeOrigin {
        kind: entity::lead_merge::MergeKind::Manual,
        actor: None,
    };
    merge::merge(&db, scope, &input, origin).await.unwrap();
    db.close().await.unwrap();
}

/// `export-csv` with extra arguments (a segment, filter flags); its output or failure.
async fn export_with(url: &str, project: &str, extra: &[&str]) -> Output {
    let mut args = vec!["export-csv", "--project", project];
    args.extend_from_slice(extra);
    run(url, &args).await
}

/// The `lead_id` column of an exported file, sorted.
fn lead_ids(csv: &str) -> Vec<String> {
    let mut ids: Vec<String> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn owners_round_trip_and_exports_filter(backend: Backend) {
    use contacts_server::service::{ProjectScope, segments};
    let test_db = TestDb::new(backend).await;
    let url = test_db.url.clone();
    let project = new_project(&url, "owner@example.com").await;
    // The owner column names the owner by sign-in email (case-insensitive on import).
    let csv = "lead_id,fullname,tags,owner,status\n\
         a,Ann,vip,Owner@Example.com,NORMAL\n\
         b,Bob,vip,,NORMAL\n\
         c,Cid,,owner@example.com,DELETED\n\
         d,Dee,vip,nobody@example.com,NORMAL\n";
    let out = import(&url, &project, test_db.dir(), csv, &[]).await;
    let summary = stdout(&out);
    assert!(
        summary.contains("3 created, 0 updated, 0 unchanged, 1 failed"),
        "{summary}"
    );
    assert!(
        stderr(&out).contains("line 5: owner: is not an agent of the project"),
        "{}",
        stderr(&out)
    );
    let all = export(&url, &project, test_db.dir(), "all.csv").await;
    let ann = all.lines().find(|l| l.starts_with("a,")).unwrap();
    assert!(ann.ends_with(",owner@example.com"), "{ann}");
    let bob = all.lines().find(|l| l.starts_with("b,")).unwrap();
    assert!(bob.ends_with(','), "unassigned: {bob}");
    assert_eq!(
        lead_ids(&all),
        ["a", "b", "c"],
        "every status without a filter"
    );

    // Filters as flags: the `contacts` semantics (NORMAL only unless --status says otherwise).
    let out = export_with(&url, &project, &["--tag", "vip"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(lead_ids(&stdout(&out)), ["a", "b"]);
    let out = export_with(
        &url,
        &project,
        &[
            "--unassigned",
            "false",
            "--status",
            "normal",
            "--status",
            "deleted",
        ],
    )
    .await;
    assert_eq!(lead_ids(&stdout(&out)), ["a", "c"]);
    let out = export_with(&url, &project, &["--search", "bob"]).await;
    assert_eq!(lead_ids(&stdout(&out)), ["b"]);
    let out = export_with(&url, &project, &["--status", "gone"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--status gone"), "{}", stderr(&out));

    // A saved segment, alone and with a flag.
    let db = Database::connect(&url).await.unwrap();
    let scope = ProjectScope::operator(project.parse().unwrap());
    let query = contacts_server::service::contact_search::ContactQuery {
        tags: vec!["vip".into()],
        ..Default::default()
    };
    let segment = segments::save(&db, scope, None, None, "VIPs", query)
        .await
        .unwrap();
    db.close().await.unwrap();
    let id = segment.row.id.to_string();
    let out = export_with(&url, &project, &["--segment", &id]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(lead_ids(&stdout(&out)), ["a", "b"]);
    let out = export_with(&url, &project, &["--segment", &id, "--unassigned", "true"]).await;
    assert_eq!(lead_ids(&stdout(&out)), ["b"]);
    let unknown = uuid::Uuid::new_v4().to_string();
    let out = export_with(&url, &project, &["--segment", &unknown]).await;
    assert_eq!(out.status.code(), Some(2), "an unknown segment fails");
}
db_test!(owners_round_trip_and_exports_filter);
