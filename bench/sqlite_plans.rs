//! SQLite's query plans of the statements contacts-server runs for sample requests (bench/run.sh,
//! target `self-sqlite`). PostgreSQL's statements are read from its statement log
//! (`tools/capture_sql.py`); SQLite has no such log, so this runs the server in-process over the
//! bench's SQLite file with a metric callback on its pools (as the test harness records
//! statements), sends each query's first sample body twice (the first warms the caches, the second
//! is recorded), and writes `<out dir>/<name>.sqlite.json` per query: every statement of the
//! recorded request (its SQL with `?` placeholders, the same with its values inlined) and its
//! `EXPLAIN QUERY PLAN` rows (id, parent, detail), run with the same values through the server's own
//! driver and bundled SQLite. `tools/explain.py` prints them in the report.
//!
//!     JWT_SECRET=<the bench's secret> cargo run --release --example sqlite_plans -- \
//!         <sqlite file> <out dir> <name>=<bodies file> ...
//!
//! A bodies file is `tools/make_bodies.py`'s: lines `authorization<TAB>json body`. Exits non-zero
//! (a panic naming the cause) when a request fails or answers with GraphQL errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use contacts_server::{Application, Config, db};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

/// POSTs one GraphQL body with its Authorization value; panics on a transport or GraphQL error.
async fn post(client: &reqwest::Client, url: &str, auth: &str, body: &str) {
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned());
    if !auth.is_empty() {
        req = req.header("authorization", auth);
    }
    let answer: Value = req.send().await.unwrap().json().await.unwrap();
    assert!(answer.get("errors").is_none(), "{answer}");
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    assert!(
        args.len() >= 3,
        "usage: sqlite_plans <sqlite file> <out dir> <name>=<bodies file> ..."
    );
    let out = Path::new(&args[1]);
    let mut config = Config::defaults();
    config.database_url = format!("sqlite://{}?mode=rw", args[0]);
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.jwt_secret =
        Some(std::env::var("JWT_SECRET").expect("JWT_SECRET: the secret of the bodies' tokens"));
    // No background statement while requests are recorded: the webhook worker polls at start,
    // then not again for an hour.
    config.webhook_poll_interval_ms = 3_600_000;
    let mut pools = db::connect_pools(&config).await.unwrap();
    let log: Arc<Mutex<Vec<Statement>>> = Arc::default();
    for conn in [&mut pools.read, &mut pools.write] {
        let log = log.clone();
        conn.set_metric_callback(move |info| log.lock().unwrap().push(info.statement.clone()));
    }
    let app = Application::build_with_db(config, pools.clone())
        .await
        .unwrap();
    let url = format!("http://{}/graphql", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let client = reqwest::Client::new();
    for arg in &args[2..] {
        let (name, bodies) = arg.split_once('=').expect("<name>=<bodies file>");
        let text = std::fs::read_to_string(bodies).unwrap();
        let (auth, body) = text
            .lines()
            .next()
            .and_then(|l| l.split_once('\t'))
            .expect("a line `authorization<TAB>body`");
        post(&client, &url, auth, body).await;
        let mark = log.lock().unwrap().len();
        post(&client, &url, auth, body).await;
        let statements = log.lock().unwrap()[mark..].to_vec();
        let mut items = Vec::new();
        for st in &statements {
            let explain = Statement {
                sql: format!("EXPLAIN QUERY PLAN {}", st.sql),
                ..st.clone()
            };
            let rows = pools.read.query_all_raw(explain).await.unwrap();
            let plan: Vec<Value> = rows
                .iter()
                .map(|r| {
                    json!([
                        r.try_get_by_index::<i64>(0).unwrap(),
                        r.try_get_by_index::<i64>(1).unwrap(),
                        r.try_get_by_index::<String>(3).unwrap()
                    ])
                })
                .collect();
            items.push(json!({ "sql": st.sql, "inlined": st.to_string(), "plan": plan }));
        }
        let file = out.join(format!("{name}.sqlite.json"));
        let doc = json!({ "name": name, "statements": items });
        std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        println!("{name}: {} statement(s)", items.len());
    }
}
