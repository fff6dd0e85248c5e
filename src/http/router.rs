//! The router: routes (`/graphql` GET and POST, GraphiQL's assets, `/health`, `/ready`,
//! `/metrics`) and the layers every request goes through (body limit, a GraphQL-shaped 413,
//! request timeout, CORS, tracing span, request id, status counter).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use sea_orm::ConnectionTrait;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use super::graphql::{graphql_get, graphql_post};
use super::refusal::graphql_shaped_413;
use super::{AppState, REQUEST_ID};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::startup::StartupError;

/// The application's router over `state`, with `config`'s body limit, request timeout, CORS
/// origins and `/metrics` switch. Errors: `StartupError::Config` for a CORS origin that is
/// not a valid header value.
pub(crate) fn router(config: &Config, state: AppState) -> Result<Router, StartupError> {
    let metrics = state.metrics.clone();
    let traced = state.traced;
    let cors = cors_layer(&config.cors_allowed_origins)?;
    let mut router = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .merge(crate::graphiql::router());
    if config.metrics_enabled {
        router = router.route("/metrics", get(metrics_handler));
    }
    Ok(router
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        // tower-http answers an oversized Content-Length with a plain-text 413: give it the
        // GraphQL shape with `PAYLOAD_TOO_LARGE`, like an oversized chunked body gets.
        .layer(axum::middleware::map_response(graphql_shaped_413))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(config.request_timeout_secs),
        ))
        .layer(cors)
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(move |req: &axum::http::Request<_>| http_span(req, traced))
                .on_response(
                    move |res: &axum::http::Response<_>, _: Duration, span: &tracing::Span| {
                        if traced {
                            span.record("http.response.status_code", res.status().as_u16());
                        }
                    },
                ),
        )
        // Outermost: every request gets an `x-request-id` (a UUID v4) before the trace
        // span opens, and the response carries it back.
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        // Outermost of all: counts every response's status (408, 413 and 431 included).
        .layer(axum::middleware::from_fn_with_state(metrics, count_status))
        .with_state(state))
}

/// The span of one HTTP request, with its method, path and request id (in every log line of
/// the request). When `traced` (spans are exported, [`crate::traces`]), it continues the
/// client's W3C `traceparent` and gets OpenTelemetry's server-span name and kind.
fn http_span<B>(req: &axum::http::Request<B>, traced: bool) -> tracing::Span {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let span = tracing::info_span!(
        "http",
        method = %req.method(),
        path = %req.uri().path(),
        request_id = %id,
        otel.name = tracing::field::Empty,
        otel.kind = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    );
    if traced {
        span.record(
            "otel.name",
            format!("{} {}", req.method(), req.uri().path()),
        );
        span.record("otel.kind", "server");
        crate::traces::continue_trace(&span, req.headers());
    }
    span
}

/// The CORS layer for `origins` (see `Config::cors_allowed_origins`): none allowed when
/// empty; any with `*`. Only GET and POST, and the `Authorization` and `Content-Type`
/// request headers. Errors: `StartupError::Config` for an origin that is not a valid header
/// value.
fn cors_layer(origins: &[String]) -> Result<tower_http::cors::CorsLayer, StartupError> {
    use axum::http::{HeaderValue, Method, header};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let origins: Vec<&str> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    let allow = if origins.contains(&"*") {
        AllowOrigin::any()
    } else {
        let list = origins
            .iter()
            .map(|o| HeaderValue::from_str(o))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StartupError::Config(format!("CORS_ALLOWED_ORIGINS: {e}")))?;
        AllowOrigin::list(list)
    };
    Ok(CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600)))
}

/// `GET /metrics` (unless `METRICS_ENABLED=false`): the Prometheus text exposition of
/// [`crate::metrics`], with the database pool's usage read now; 500 if encoding fails.
async fn metrics_handler(State(state): State<AppState>) -> axum::response::Response {
    match state.metrics.render(&state.db) {
        Ok(text) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(err) => {
            tracing::error!("rendering metrics: {err}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Middleware: counts the status of every response in `http_responses_total`.
async fn count_status(
    State(metrics): State<Arc<Metrics>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let response = next.run(request).await;
    metrics.observe_http(response.status().as_u16());
    response
}

/// `GET /health`: liveness, 200 `ok` while the process serves HTTP.
async fn health() -> &'static str {
    "ok"
}

/// `GET /ready`: readiness as JSON, `{"status": "ready" | "unavailable", "databases":
/// [{"name": "primary", "up": true}, {"name": "replica-1", "up": true, "lagMs": 12}]}`: 200
/// when the database answers through the reader pool (the primary on PostgreSQL) and a
/// separate writer pool (SQLite) is open (it is not queried: it may be busy with a queue of
/// writes), 503 otherwise. Replicas are listed as their poller last saw them; one that is down
/// does not make the server unready (queries go to the primary).
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let up = if state.db.is_split() && state.db.write.get_sqlite_connection_pool().is_closed() {
        tracing::warn!("readiness check: the database writer pool is closed");
        false
    } else {
        match state.db.read.execute_unprepared("SELECT 1").await {
            Ok(_) => true,
            Err(err) => {
                tracing::warn!("readiness check: database unreachable: {err}");
                false
            }
        }
    };
    let databases = match &state.replicas {
        Some(replicas) => replicas.status(up),
        None => vec![crate::replicas::DatabaseStatus {
            name: "primary".into(),
            up,
            lag_ms: None,
        }],
    };
    let status = if up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if up { "ready" } else { "unavailable" },
        "databases": databases,
    });
    (status, axum::Json(body))
}
