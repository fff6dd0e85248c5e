//! The GraphQL HTTP handler: `GET` and `POST /graphql` (GraphQL over HTTP), their refusals
//! (415, 400, 405, 413: [`super::refusal`]), per-request context (caller, client IP, loaders),
//! execution, and the response's post-processing: every error gets an `extensions.code`
//! (async-graphql's own through [`classify_uncoded`]), `extensions.requestId`, metrics, and
//! `application/graphql-response+json` with a 4xx for a request that could not execute.

use std::net::{IpAddr, SocketAddr};

use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::{ConnectInfo, FromRequest, State};
use axum::http::{HeaderMap, StatusCode, header::AUTHORIZATION};
use axum::response::IntoResponse;
use tracing::Instrument;

use super::refusal::{BadGraphqlRequest, is_length_limit, refuse, too_large};
use super::{AppState, REQUEST_ID};
use crate::auth::AuthState;
use crate::error::{ErrorCode, classify_uncoded};
use crate::graphql::guards;
use crate::graphql::loaders::Loaders;
use crate::ratelimit::ClientIp;

/// Gives every error of `response` an `extensions.code`: async-graphql's own errors carry
/// none, so the registry's one classifier ([`classify_uncoded`]) gives it; an uncoded
/// resolver error is logged and becomes "internal error". Over HTTP and WebSocket alike.
pub(super) fn give_codes(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("code").is_some());
        if !has_code {
            // async-graphql's own errors carry no code: the registry's one classifier gives it.
            let code = classify_uncoded(&error.message, !error.path.is_empty());
            if code == ErrorCode::Internal {
                tracing::error!(message = %error.message, "uncoded resolver error");
                error.message = "internal error".into();
            }
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", code.as_str());
        }
    }
}

/// Whether a POST's `Content-Type` is `application/json` (parameters such as `charset`
/// allowed). GraphQL over HTTP makes JSON the one body every server must accept; refusing
/// the rest (`text/plain`, forms, multipart, none at all) also keeps browsers from sending
/// cross-site "simple" POSTs without a CORS preflight (CSRF; Apollo Server's rule too).
fn is_json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.type_() == mime::APPLICATION && m.subtype() == mime::JSON)
}

/// `POST /graphql`: refuses a body that is not `application/json` (415) or has no `query`
/// (400, unless it names an automatic persisted query), then [`graphql_handler`].
pub(super) async fn graphql_post(
    State(state): State<AppState>,
    connect: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> axum::response::Response {
    if !is_json_content_type(&headers) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadRequest,
            "send the GraphQL request as `Content-Type: application/json`",
        );
    }
    // The whole body, under the body limit (tower-http's `Limited` reports an overflow of a
    // chunked body as a typed `LengthLimitError`, found in the error's sources).
    let bytes = match axum::body::to_bytes(request.into_body(), usize::MAX).await {
        Ok(bytes) => bytes,
        Err(err) => {
            let (status, code, message) = if is_length_limit(&err) {
                too_large()
            } else {
                tracing::debug!("reading a request body: {err}");
                (
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadRequest,
                    "the request body could not be read".to_owned(),
                )
            };
            return refuse(status, code, &message);
        }
    };
    let parsed = match async_graphql::http::receive_json(bytes.as_ref()).await {
        Ok(parsed) => parsed,
        Err(err) => return BadGraphqlRequest::from(err).into_response(),
    };
    if let Some(refusal) = missing_query(&parsed) {
        return refusal;
    }
    graphql_handler(State(state), connect, headers, parsed, false).await
}

/// The 400 for a request with no `query` text and no persisted-query hash (e.g. a misspelt
/// `qeury` key): GraphQL over HTTP requires `query` to be a string.
fn missing_query(request: &async_graphql::Request) -> Option<axum::response::Response> {
    let missing =
        request.query.trim().is_empty() && !request.extensions.contains_key("persistedQuery");
    missing.then(|| {
        refuse(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            "the request has no `query` string",
        )
    })
}

/// Executes a GraphQL request (POST, or GET with `refuse_mutations`): prepares it
/// ([`crate::graphql::prepare::Gate::prepare`]: persisted query, nesting, cached parse, operation limits), refuses a
/// mutation over GET (405), authenticates the `Authorization` header, charges a mutation to the
/// caller's budget, builds this request's loaders (scoped to the caller's project), executes,
/// and gives every error an `extensions.code`.
async fn graphql_handler(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    request: async_graphql::Request,
    refuse_mutations: bool,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let prepared = state.gate.prepare(request);
    if refuse_mutations
        && let Ok(prepared) = &prepared
        && prepared.operation.as_ref().is_some_and(|o| o.is_mutation)
    {
        let body = ErrorCode::MethodNotAllowed.http_body("mutations must be sent with POST");
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(axum::http::header::ALLOW, "POST")],
            axum::Json(body),
        )
            .into_response();
    }
    let auth = match headers.get(AUTHORIZATION) {
        None => AuthState::Anonymous,
        Some(value) => match value.to_str() {
            Ok(text) => state.keys.authenticate(Some(text)),
            Err(_) => AuthState::Invalid,
        },
    };
    let client_ip = client_ip(&state, &headers, peer);
    let user = match auth {
        AuthState::Authenticated(caller) => Some(caller.user_id),
        _ => None,
    };
    let prepared = match prepared {
        Ok(p) => state.gate.charge(&p, user).await.map(|()| p),
        Err(err) => Err(err),
    };
    let prepared = prepared.and_then(|mut p| {
        super::consistency::token(&headers, &mut p.request).map(|token| (p, token))
    });
    let request_id = headers.get(REQUEST_ID).and_then(|v| v.to_str().ok());
    let mut read_from = None;
    let mut wrote = false;
    let (mut response, operation) = match prepared {
        Err(err) => (async_graphql::Response::from_errors(vec![err]), None),
        Ok((prepared, token)) => {
            let is_mutation = prepared.operation.as_ref().is_some_and(|o| o.is_mutation);
            let mut request = prepared.request.data(auth).data(ClientIp(client_ip));
            // With replicas, a query reads from the one `token` allows (mutations: primary).
            let mut reader = state.db.read.clone();
            if let Some(replicas) = &state.replicas {
                if is_mutation {
                    read_from = Some("primary");
                    wrote = true;
                } else {
                    let chosen = replicas.reader(token);
                    reader = chosen.conn.clone();
                    read_from = Some(chosen.name);
                    request = request.data(reader.clone());
                }
            }
            if let AuthState::Authenticated(caller) = auth {
                let visitor = (caller.role == crate::auth::Role::Guest).then_some(caller.user_id);
                request = request.data(Loaders::new(
                    reader,
                    guards::scope(caller),
                    state.batch_delay,
                    visitor,
                ));
            }
            let span = operation_span(state.traced, prepared.operation.as_ref(), request_id);
            let response = state.schema.execute(request).instrument(span).await;
            (response, prepared.operation)
        }
    };
    let token = match (&state.replicas, wrote) {
        (Some(replicas), true) => super::consistency::after_write(replicas, &mut response).await,
        _ => None,
    };
    if let Some(id) = request_id {
        response.extensions.insert(
            "requestId".to_owned(),
            async_graphql::Value::String(id.to_owned()),
        );
    }
    give_codes(&mut response);
    // A request that failed before execution (parse, validation, limits) has no `data` entry
    // (GraphQL spec §7.1.2: "If an error was raised before execution begins, the data entry
    // should not be present").
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let executed = match (&operation, request_error) {
        (Some(op), false) => Some(op.name.as_deref()),
        _ => None,
    };
    let operation = state.metrics.operation_label(executed);
    state.metrics.observe_graphql(
        &operation,
        started.elapsed(),
        response.errors.iter().map(|e| {
            e.extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .and_then(|v| match v {
                    async_graphql::Value::String(s) => Some(s.as_str()),
                    _ => None,
                })
                .unwrap_or("OTHER")
        }),
    );
    // GraphQL over HTTP: `application/graphql-response+json` when the client accepts it, with
    // a 4xx status for a request that could not execute (parse, validation, limits);
    // otherwise legacy `application/json`, always 200.
    let accepts_graphql_response = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/graphql-response+json"));
    let mut http = if request_error {
        let mut body = serde_json::to_value(&response)
            .unwrap_or_else(|_| ErrorCode::Internal.http_body("internal error"));
        if let Some(map) = body.as_object_mut() {
            map.remove("data");
        }
        axum::Json(body).into_response()
    } else {
        GraphQLResponse::from(response).into_response()
    };
    super::consistency::set_headers(http.headers_mut(), read_from, token);
    if accepts_graphql_response {
        http.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/graphql-response+json"),
        );
        if request_error {
            *http.status_mut() = StatusCode::BAD_REQUEST;
        }
    } else {
        http.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        );
    }
    http
}

/// The span of one GraphQL operation when spans are exported (`traced`), else none: named
/// `query Name`, `mutation Name` or `subscription Name` (OpenTelemetry's GraphQL semantic conventions), with the
/// request id.
fn operation_span(
    traced: bool,
    operation: Option<&crate::graphql::prepare::Operation>,
    request_id: Option<&str>,
) -> tracing::Span {
    if !traced {
        return tracing::Span::none();
    }
    let kind = match operation {
        Some(op) if op.is_mutation => "mutation",
        Some(op) if op.is_subscription => "subscription",
        _ => "query",
    };
    let name = operation.and_then(|op| op.name.as_deref());
    tracing::info_span!(
        "graphql",
        otel.name = %match name {
            Some(name) => format!("{kind} {name}"),
            None => kind.to_owned(),
        },
        graphql.operation.type = kind,
        graphql.operation.name = name,
        request_id = request_id,
    )
}

/// The client's IP: the first address of the trusted proxy header when one is configured and
/// parses, else the TCP peer. An unconfigured header is never read (it could be spoofed).
fn client_ip(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
    state
        .client_ip_header
        .as_ref()
        .and_then(|name| headers.get(name))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| peer.ip())
}

/// `GET /graphql`: a query in the URL (`?query=...&variables=...`, or an automatic persisted
/// query's `extensions`) is executed, as GraphQL over HTTP allows for queries; a mutation is
/// refused with 405 (GET must not change state). Without them: the GraphiQL IDE
/// ([`crate::graphiql::page`]).
pub(super) async fn graphql_get(
    State(state): State<AppState>,
    connect: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> axum::response::Response {
    if super::ws::is_upgrade(&request) {
        return super::ws::upgrade(state, request).await;
    }
    let query = request.uri().query().unwrap_or_default();
    let executes = query
        .split('&')
        .any(|p| p.starts_with("query=") || p.starts_with("extensions="));
    if !executes {
        return crate::graphiql::page();
    }
    let parsed = match GraphQLRequest::<BadGraphqlRequest>::from_request(request, &()).await {
        Ok(parsed) => parsed.into_inner(),
        Err(rejection) => return rejection.into_response(),
    };
    if let Some(refusal) = missing_query(&parsed) {
        return refusal;
    }
    graphql_handler(State(state), connect, headers, parsed, true).await
}
