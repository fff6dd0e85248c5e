//! Search latency on a large project: seeds N contacts (default 100,000) into one project of a
//! fresh database, then runs 100 `contacts(search:)` service calls (first page of 20 and
//! `totalCount`, as the dashboard asks) and prints p50 / p95 / max.
//!
//!     cargo run --release --example search_bench -- sqlite
//!     cargo run --release --example search_bench -- postgres://postgres@127.0.0.1:5432/postgres
//!
//! A `postgres://` URL names an admin database: a new database `search_bench_<pid>` is created
//! there and dropped after. N can be set with `SEARCH_BENCH_N`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use contacts_server::Config;
use contacts_server::service::ProjectScope;
use contacts_server::service::contact_search::{self, ContactQuery, PageRequest};
use contacts_server::service::store::leads::blank;
use entity::{lead, project};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, Database, EntityTrait};
use serde_json::json;

const FIRST: &[&str] = &[
    "Álvaro",
    "Andrea",
    "Zoë",
    "François",
    "Jürgen",
    "Maria",
    "José",
    "Søren",
    "Chloé",
    "Luca",
    "Emma",
    "Noah",
    "Olivia",
    "Liam",
    "Ana",
    "Björn",
    "Renée",
    "Mateo",
    "Giulia",
    "Hiroshi",
    "Nadia",
    "Omar",
    "Priya",
    "Wei",
];
const LAST: &[&str] = &[
    "Núñez",
    "Sponziello",
    "García",
    "Müller",
    "Rossi",
    "Dubois",
    "Smith",
    "Nakamura",
    "Kowalski",
    "Johansson",
    "Silva",
    "O'Brien",
    "Costa",
    "Novák",
    "Horváth",
    "Ivanova",
    "Kim",
    "Singh",
    "Haddad",
    "Fischer",
];
const COMPANIES: &[&str] = &[
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell",
];

fn fold(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfd()
        .filter(|c| c.is_ascii())
        .collect::<String>()
        .to_lowercase()
}

#[tokio::main]
async fn main() {
    let target = std::env::args().nth(1).unwrap_or_else(|| "sqlite".into());
    let n: usize = std::env::var("SEARCH_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let tmp = tempfile::tempdir().unwrap();
    let (url, admin) = if target.starts_with("postgres") {
        let admin = Database::connect(&target).await.unwrap();
        let name = format!("search_bench_{}", std::process::id());
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        (
            format!("{}/{name}", target.rsplit_once('/').unwrap().0),
            Some((admin, name)),
        )
    } else {
        let path = std::env::var("SEARCH_BENCH_SQLITE_PATH")
            .unwrap_or_else(|_| format!("{}/bench.db", tmp.path().display()));
        (format!("sqlite://{path}?mode=rwc"), None)
    };
    let mut config = Config::defaults();
    config.database_url = url;
    let db = contacts_server::db::connect(&config).await.unwrap();
    contacts_server::db::migrate(&db).await.unwrap();

    let project_id = uuid::Uuid::new_v4();
    project::Entity::insert(project::ActiveModel::from(project::Model {
        id: project_id,
        name: "bench".into(),
        created_at: chrono::Utc::now(),
        auto_merge_on_email: false,
        strict_attributes: false,
        site_secret: None,
        site_secret_rotated_at: None,
        link_company_by_email_domain: false,
    }))
    .exec_without_returning(&db)
    .await
    .unwrap();
    let scope = ProjectScope::operator(project_id);
    let mut rng = StdRng::seed_from_u64(42);
    let started = Instant::now();
    let base = chrono::Utc::now() - chrono::Duration::days(365);
    let mut batch = Vec::with_capacity(500);
    for i in 0..n {
        let first = FIRST[rng.gen_range(0..FIRST.len())];
        let last = LAST[rng.gen_range(0..LAST.len())];
        let at = base + chrono::Duration::seconds(i as i64 * 30);
        let mut m = blank(scope, uuid::Uuid::new_v4().to_string(), at);
        let email = format!(
            "{}.{}{}@example.com",
            fold(first),
            fold(last).replace('\'', ""),
            i
        );
        m.fullname = Some(format!("{first} {last}"));
        m.email_key = Some(email.clone());
        m.email = Some(email);
        m.phone = Some(format!("+3906{:08}", rng.gen_range(0..100_000_000u32)));
        m.company = Some(COMPANIES[rng.gen_range(0..COMPANIES.len())].into());
        m.attributes = json!({ "plan": if i % 3 == 0 { "pro" } else { "free" } });
        batch.push(lead::ActiveModel::from(m));
        if batch.len() == 500 || i + 1 == n {
            lead::Entity::insert_many(std::mem::take(&mut batch))
                .exec_without_returning(&db)
                .await
                .unwrap();
        }
    }
    println!(
        "seeded {n} contacts in {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        if admin.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.execute_unprepared("ANALYZE lead").await.unwrap();
    }

    // 100 searches: name prefixes (accented and not), full names, exact emails, phone digits.
    let mut queries = Vec::new();
    for i in 0..100 {
        let first = FIRST[i % FIRST.len()];
        let last = LAST[i % LAST.len()];
        queries.push(match i % 5 {
            0 => fold(first)[..3].to_owned(),
            1 => format!("{first} {last}"),
            2 => format!(
                "{}.{}{}@example.com",
                fold(first),
                fold(last).replace('\'', ""),
                i * 7
            ),
            3 => format!("06 {:02}", i),
            _ => fold(last),
        });
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    if std::env::var_os("SEARCH_BENCH_VERBOSE").is_some() {
        for sql in [
            "SELECT 1",
            "SELECT count(*) FROM lead_fts WHERE lead_fts MATCH '\"alv\"*'",
            "SELECT count(*) FROM lead",
        ] {
            for _ in 0..3 {
                let t = Instant::now();
                db.execute_unprepared(sql).await.unwrap();
                println!("{sql}: {:.2} ms", ms(t.elapsed()));
            }
        }
    }
    let mut times: Vec<Duration> = Vec::new();
    let mut by_kind: [Vec<Duration>; 5] = Default::default();
    let mut hits = 0u64;
    for (i, q) in queries.iter().enumerate() {
        let query = ContactQuery {
            search: Some(q.clone()),
            ..Default::default()
        };
        let t = Instant::now();
        let page = contact_search::list(
            &db,
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
        let list_time = t.elapsed();
        let total = contact_search::count(&db, scope, &query).await.unwrap();
        if std::env::var_os("SEARCH_BENCH_VERBOSE").is_some() {
            println!(
                "{q:?}: list {:.2} ms, count {:.2} ms, {total} matches",
                ms(list_time),
                ms(t.elapsed() - list_time)
            );
        }
        times.push(t.elapsed());
        by_kind[i % 5].push(t.elapsed());
        assert!(page.rows.len() as u64 <= total);
        hits += total;
    }
    times.sort();
    println!(
        "search over {n} contacts, 100 searches (page of 20 + totalCount): p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms; {hits} matches in all",
        ms(times[49]),
        ms(times[94]),
        ms(times[99])
    );
    for (kind, mut t) in [
        "3-letter prefix",
        "full name",
        "exact email",
        "phone digits",
        "last name",
    ]
    .into_iter()
    .zip(by_kind)
    {
        t.sort();
        println!(
            "  {kind:>15}: p50 {:.2} ms (e.g. {:?})",
            ms(t[t.len() / 2]),
            queries[[
                "3-letter prefix",
                "full name",
                "exact email",
                "phone digits",
                "last name"
            ]
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(0)]
        );
    }
    db.close().await.unwrap();
    if let Some((admin, name)) = admin {
        admin
            .execute_unprepared(&format!("DROP DATABASE {name}"))
            .await
            .unwrap();
    }
}
