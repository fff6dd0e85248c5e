//! Subscriptions benchmark (a command, not a test): commit-to-subscriber latency across two
//! instances, and one instance's RSS and CPU holding many subscribers, idle and under load.
//!
//! ```text
//! cargo run --release --example subscriptions_bench -- \
//!     <http://A> <http://B> <pid of A> [subscribers=1000] [events_per_sec=100] [seconds=10]
//! ```
//! A and B run over one PostgreSQL (or A = B on SQLite) with `WS_MAX_CONNECTIONS_PER_TOKEN`
//! at least `subscribers`; `bench/subscriptions.sh` starts them. Prints: latency p50/p99/max
//! (ms, from the mutation's response on B to the event on A's first subscriber: commit
//! happened before the response, so this is an upper bound of commit-to-subscriber), A's RSS
//! (MiB) and CPU (ms per second) idle and under load, events delivered per second in total.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn gql(base: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let body: Value = req.send().await.unwrap().json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

async fn subscriber(base: &str, token: &str) -> Socket {
    let mut request = format!("{}/graphql", base.replacen("http", "ws", 1))
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    ws.send(Message::Text(init.to_string().into()))
        .await
        .unwrap();
    let _ack = ws.next().await.unwrap().unwrap();
    let sub = json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { contactEvents(kinds: [CREATED]) { position contactId } }" } });
    ws.send(Message::Text(sub.to_string().into()))
        .await
        .unwrap();
    ws
}

/// (RSS in MiB, CPU seconds so far) of `pid`, from /proc.
fn usage(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss_kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    (rss_kib / 1024.0, ticks / 100.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (a, b) = (args[1].clone(), args[2].clone());
    let pid: u32 = args[3].parse().unwrap();
    let subscribers: usize = args.get(4).map_or(1000, |v| v.parse().unwrap());
    let rate: u64 = args.get(5).map_or(100, |v| v.parse().unwrap());
    let seconds: u64 = args.get(6).map_or(10, |v| v.parse().unwrap());
    let email = format!("bench-{}@example.com", uuid::Uuid::new_v4().simple());
    let token = gql(
        &a,
        None,
        "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
        json!({ "i": { "email": email, "password": "correct horse", "projectName": "Bench" } }),
    )
    .await["signUp"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let create = "mutation($i: CreateContactInput!) { createContact(input: $i) { id } }";

    // 1. Latency: one subscriber on A, sequential creates on B.
    let mut probe = subscriber(&a, &token).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut latencies = Vec::new();
    for i in 0..200 {
        gql(
            &b,
            Some(&token),
            create,
            json!({ "i": { "fullname": format!("L{i}") } }),
        )
        .await;
        let done = Instant::now();
        let Some(Ok(Message::Text(_))) = probe.next().await else {
            panic!("probe closed")
        };
        latencies.push(done.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "latency B->A (ms, from B's response): p50 {:.2} p99 {:.2} max {:.2} (n={})",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1],
        latencies.len()
    );
    drop(probe);

    // 2. Many subscribers on A: idle, then `rate` events/s written on B.
    let received = Arc::new(AtomicU64::new(0));
    let (base_rss, _) = usage(pid);
    let mut tasks = Vec::new();
    for _ in 0..subscribers {
        let mut ws = subscriber(&a, &token).await;
        let received = received.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(Ok(m)) = ws.next().await {
                if matches!(m, Message::Text(_)) {
                    received.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss0, cpu0) = usage(pid);
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (rss1, cpu1) = usage(pid);
    println!(
        "{subscribers} subscribers idle: RSS {rss1:.1} MiB (+{:.1} over {base_rss:.1} before), CPU {:.1} ms/s",
        rss1 - base_rss,
        (cpu1 - cpu0) * 1000.0 / seconds as f64
    );
    let _ = rss0;
    received.store(0, Ordering::Relaxed);
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    let mut sent = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        tick.tick().await;
        let (b, token) = (b.clone(), token.clone());
        tokio::spawn(async move {
            gql(
                &b,
                Some(&token),
                create,
                json!({ "i": { "fullname": "Load" } }),
            )
            .await;
        });
        sent += 1;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss2, cpu2) = usage(pid);
    let delivered = received.load(Ordering::Relaxed);
    println!(
        "{subscribers} subscribers at {rate} events/s for {seconds} s: RSS {rss2:.1} MiB, CPU {:.1} ms/s, delivered {delivered} of {} ({:.0}/s)",
        (cpu2 - cpu1) * 1000.0 / (seconds + 2) as f64,
        sent * subscribers as u64,
        delivered as f64 / (seconds + 2) as f64
    );
    for t in tasks {
        t.abort();
    }
}
