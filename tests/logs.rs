//! No secret, password or token reaches the logs, even at `RUST_LOG=trace`: the real binary
//! runs, serves a sign-up, a sign-in and authenticated calls, and its whole log is searched.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

const SECRET: &str = "jwt-secret-that-must-never-be-logged-0123456789";
const PASSWORD: &str = "password-that-must-never-be-logged";

/// Starts the real binary on a SQLite file in `dir` and a free port, with `args` and
/// `RUST_LOG`; returns the process and the address it printed.
fn spawn_server(dir: &tempfile::TempDir, args: &[&str], rust_log: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_contacts-server"))
        .args(args)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/logs.db?mode=rwc", dir.path().display()),
        )
        .env("BIND", "127.0.0.1:0")
        .env("JWT_SECRET", SECRET)
        .env("RUST_LOG", rust_log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    (child, addr)
}

#[tokio::test]
async fn secrets_and_tokens_never_reach_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = spawn_server(&dir, &[], "trace");
    let url = format!("http://{addr}/graphql");
    let client = reqwest::Client::new();
    let gql = async |token: Option<&str>, query: &str, variables: Value| -> Value {
        let mut req = client
            .post(&url)
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap().json().await.unwrap()
    };
    let up = gql(None, "mutation($p: String!) { signUp(input: { email: \"log@example.com\", password: $p, projectName: \"P\" }) { token project { id } } }", json!({ "p": PASSWORD })).await;
    let token = up["data"]["signUp"]["token"].as_str().unwrap().to_owned();
    let project = up["data"]["signUp"]["project"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let inn = gql(None, "mutation($p: String!) { signIn(input: { email: \"log@example.com\", password: $p }) { token } }", json!({ "p": PASSWORD })).await;
    let token2 = inn["data"]["signIn"]["token"].as_str().unwrap().to_owned();
    let bad = gql(None, "mutation($p: String!) { signIn(input: { email: \"log@example.com\", password: $p }) { token } }", json!({ "p": format!("{PASSWORD}-wrong") })).await;
    assert!(bad["errors"].is_array());
    let anon = gql(
        None,
        "mutation($p: ID!) { signInAnonymously(input: { projectId: $p }) { token } }",
        json!({ "p": project }),
    )
    .await;
    let visitor = anon["data"]["signInAnonymously"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    gql(
        Some(&visitor),
        "mutation { createRequest(input: { firstText: \"hello\" }) { request { id } } }",
        json!({}),
    )
    .await;
    gql(Some(&token), "{ contacts { totalCount } }", json!({})).await;
    gql(
        Some("forged.token.value"),
        "{ contacts { totalCount } }",
        json!({}),
    )
    .await;

    child.kill().unwrap();
    child.wait().unwrap();
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "the log must be verbose for this test to mean anything"
    );
    for (what, needle) in [
        ("JWT secret", SECRET),
        ("password", PASSWORD),
        ("agent token", token.as_str()),
        ("second agent token", token2.as_str()),
        ("visitor token", visitor.as_str()),
        ("token signature", token.rsplit('.').next().unwrap()),
    ] {
        assert!(!log.contains(needle), "the {what} appears in the log");
    }
}

#[tokio::test]
async fn json_logs_carry_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = spawn_server(&dir, &["--log-format", "json"], "info,tower_http=debug");
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .json(&json!({ "query": "{ viewer { role } }" }))
        .send()
        .await
        .unwrap();
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    child.kill().unwrap();
    child.wait().unwrap();
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    assert!(!lines.is_empty());
    assert!(
        lines.iter().any(|l| l["span"]["request_id"] == id.as_str()),
        "no log line carries request_id {id}: {log}"
    );
}
