//! The HTTP layer, one job per file: `router` (routes and layers), `graphql` (the GraphQL
//! handler over GET and POST), `refusal` (HTTP-level refusals in the GraphQL shape), `serve`
//! (the HTTP/1 accept loop with its header-read timeout and graceful shutdown), `ws` (GraphQL
//! subscriptions over WebSocket), `consistency` (read-your-writes tokens over read replicas).
//! [`crate::startup`] assembles them.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::JwtKeys;
use crate::db;
use crate::graphql::prepare::Gate;
use crate::graphql::schema::AppSchema;
use crate::metrics::Metrics;

mod consistency;
mod graphql;
mod refusal;
mod router;
mod serve;
pub mod ws;

pub(crate) use router::router;
pub(crate) use serve::{HttpSettings, serve};

/// The request id header: set on every request (a new UUID v4 when the client sent none) and
/// returned on the response; also in the GraphQL response's `extensions.requestId` and in
/// every log line of the request.
pub const REQUEST_ID: axum::http::HeaderName = axum::http::HeaderName::from_static("x-request-id");

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub(crate) struct AppState {
    /// The executable schema.
    pub(crate) schema: AppSchema,
    /// Persisted queries, the document cache, operation limits and the mutation budget.
    pub(crate) gate: Arc<Gate>,
    /// The trusted proxy header that gives the client's IP, when configured.
    pub(crate) client_ip_header: Option<axum::http::HeaderName>,
    /// Verifies `Authorization` tokens.
    pub(crate) keys: JwtKeys,
    /// The reader and writer pools.
    pub(crate) db: db::Db,
    /// The loaders' batch delay.
    pub(crate) batch_delay: Duration,
    /// The Prometheus registry.
    pub(crate) metrics: Arc<Metrics>,
    /// WebSocket limits, open connections, the shutdown signal.
    pub(crate) ws: Arc<ws::WsSettings>,
    /// The read replicas (`DATABASE_REPLICA_URLS`), when configured.
    pub(crate) replicas: Option<Arc<crate::replicas::Replicas>>,
    /// Whether spans are exported (`OTEL_EXPORTER_OTLP_ENDPOINT`): only then does a request
    /// get a GraphQL operation span and continue an incoming `traceparent`.
    pub(crate) traced: bool,
}
