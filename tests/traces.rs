//! OpenTelemetry traces: a server process started with `OTEL_EXPORTER_OTLP_ENDPOINT` sends
//! its spans over OTLP/HTTP (protobuf) to a collector this test runs on a free port (decoded
//! with `opentelemetry-proto`). A request carrying a W3C `traceparent` continues that trace:
//! its HTTP span is the caller's child, with the request id; the GraphQL operation span is the
//! HTTP span's child; every SQL statement of the request is a span under the operation. On
//! SIGTERM the server flushes what it buffered. On SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{Value, json};

#[path = "support/mod.rs"]
mod support;

use support::process::ServerProcess;
use support::{Backend, TestDb};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// What the collector received: each span with its resource's `service.name`.
type Received = Arc<Mutex<Vec<(String, Span)>>>;

/// An OTLP/HTTP trace collector on a free loopback port; its base URL.
async fn collector(received: Received) -> String {
    use axum::body::Bytes;
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let received = received.clone();
            async move {
                let export = ExportTraceServiceRequest::decode(body).unwrap();
                let mut received = received.lock().unwrap();
                for resource in export.resource_spans {
                    let service = resource
                        .resource
                        .as_ref()
                        .and_then(|r| text(&r.attributes, "service.name"))
                        .unwrap_or_default();
                    for scope in resource.scope_spans {
                        for span in scope.spans {
                            received.push((service.clone(), span));
                        }
                    }
                }
                ExportTraceServiceResponse::default().encode_to_vec()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// A string attribute's value.
fn text(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v: &AnyValue| match &v.value {
            Some(any_value::Value::StringValue(s)) => Some(s.clone()),
            Some(any_value::Value::IntValue(i)) => Some(i.to_string()),
            _ => None,
        })
}

/// The one span named `name` among `spans` (fails on none or several).
fn only<'a>(spans: &[&'a Span], name: &str) -> &'a Span {
    let named: Vec<&Span> = spans.iter().copied().filter(|s| s.name == name).collect();
    assert_eq!(named.len(), 1, "{name}: {spans:#?}");
    named[0]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn start(url: &str, otlp: &str) -> ServerProcess {
    ServerProcess::start(
        url,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp),
            ("OTEL_SERVICE_NAME", "contacts-trace-test"),
        ],
    )
    .await
}

async fn gql(
    server: &ServerProcess,
    token: Option<&str>,
    headers: &[(&str, &str)],
    query: &str,
    variables: Value,
) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{}/graphql", server.base))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let body: Value = req.send().await.unwrap().json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body:#}");
    body["data"].clone()
}

async fn a_request_is_one_trace_under_the_callers_span(backend: Backend) {
    let received: Received = Arc::default();
    let otlp = collector(received.clone()).await;
    let db = TestDb::new(backend).await;
    let mut server = start(&db.url, &otlp).await;

    let signed = gql(
        &server,
        None,
        &[],
        "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
        json!({ "i": { "email": "owner@example.com", "password": "correct horse", "fullname": "Agent", "projectName": "P" } }),
    )
    .await;
    let token = signed["signUp"]["token"].as_str().unwrap().to_owned();
    gql(
        &server,
        Some(&token),
        &[],
        "mutation Create($i: CreateContactInput!) { createContact(input: $i) { id } }",
        json!({ "i": { "fullname": "Ada Lovelace" } }),
    )
    .await;
    let traceparent = format!("00-{TRACE_ID}-{CALLER_SPAN}-01");
    let page = gql(
        &server,
        Some(&token),
        &[("traceparent", &traceparent), ("x-request-id", "trace-test-1")],
        "query ContactsPage { contacts(first: 5) { edges { node { fullname requests(first: 2) { totalCount } } } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        page["contacts"]["edges"][0]["node"]["fullname"],
        "Ada Lovelace"
    );

    // SIGTERM: a graceful stop sends the spans still buffered before the process exits.
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status}");

    let spans = received.lock().unwrap().clone();
    assert!(!spans.is_empty(), "no span reached the collector");
    assert!(
        spans
            .iter()
            .all(|(service, _)| service == "contacts-trace-test"),
        "{:?}",
        spans.iter().map(|(s, _)| s).collect::<Vec<_>>()
    );
    let spans: Vec<Span> = spans.into_iter().map(|(_, s)| s).collect();
    let traced: Vec<&Span> = spans
        .iter()
        .filter(|s| hex(&s.trace_id) == TRACE_ID)
        .collect();

    // The HTTP span: the caller's child, a server span with the request id and the status.
    let http = only(&traced, "POST /graphql");
    assert_eq!(hex(&http.parent_span_id), CALLER_SPAN);
    assert_eq!(http.kind, 2, "SPAN_KIND_SERVER");
    assert_eq!(
        text(&http.attributes, "request_id").as_deref(),
        Some("trace-test-1")
    );
    assert_eq!(
        text(&http.attributes, "http.response.status_code").as_deref(),
        Some("200")
    );

    // The operation span, under the HTTP span.
    let operation = only(&traced, "query ContactsPage");
    assert_eq!(operation.parent_span_id, http.span_id);
    assert_eq!(
        text(&operation.attributes, "graphql.operation.name").as_deref(),
        Some("ContactsPage")
    );
    assert_eq!(
        text(&operation.attributes, "graphql.operation.type").as_deref(),
        Some("query")
    );
    assert_eq!(
        text(&operation.attributes, "request_id").as_deref(),
        Some("trace-test-1")
    );

    // Every statement of the request: a span under the operation, with the system and the
    // statement (placeholders, not values), scoped by project.
    let sql: Vec<&&Span> = traced
        .iter()
        .filter(|s| s.name.starts_with("sea_orm."))
        .collect();
    assert!(!sql.is_empty(), "{traced:#?}");
    let system = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgresql",
    };
    for statement in &sql {
        assert_eq!(
            statement.parent_span_id, operation.span_id,
            "{statement:#?}"
        );
        assert_eq!(
            text(&statement.attributes, "db.system").as_deref(),
            Some(system)
        );
        let sql_text = text(&statement.attributes, "db.statement").unwrap_or_default();
        assert!(sql_text.contains("project_id"), "{sql_text}");
        assert!(!sql_text.contains("Ada Lovelace"), "{sql_text}");
    }
    assert!(
        sql.iter().any(|s| {
            text(&s.attributes, "db.statement").is_some_and(|t| t.contains("\"lead\""))
        }),
        "{sql:#?}"
    );

    // A request without `traceparent` starts its own trace, as a root span.
    let all: Vec<&Span> = spans.iter().collect();
    let create = only(&all, "mutation Create");
    assert_ne!(hex(&create.trace_id), TRACE_ID);
    let create_http = spans
        .iter()
        .find(|s| s.span_id == create.parent_span_id)
        .expect("the mutation's HTTP span");
    assert!(create_http.parent_span_id.is_empty(), "{create_http:#?}");

    // Statements outside any request (background polls) are not exported.
    for span in spans.iter().filter(|s| s.name.starts_with("sea_orm.")) {
        assert!(!span.parent_span_id.is_empty(), "{span:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_one_trace_under_the_callers_span_sqlite() {
    a_request_is_one_trace_under_the_callers_span(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_one_trace_under_the_callers_span_postgres() {
    a_request_is_one_trace_under_the_callers_span(Backend::Postgres).await;
}
