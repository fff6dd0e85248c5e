//! Application start-up: connect, migrate, build the schema, bind, serve with graceful
//! shutdown. `Application::build` with `BIND=127.0.0.1:0` binds a free port (tests).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::Router;
use axum::extract::{ConnectInfo, FromRequest, State};
use axum::http::{HeaderMap, StatusCode, header::AUTHORIZATION};
use axum::response::IntoResponse;
use axum::routing::get;
use sea_orm::ConnectionTrait;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The request id header: set on every request (a new UUID v4 when the client sent none) and
/// returned on the response; also in the GraphQL response's `extensions.requestId` and in
/// every log line of the request.
pub const REQUEST_ID: axum::http::HeaderName = axum::http::HeaderName::from_static("x-request-id");

use crate::auth::{AuthState, JwtKeys, MIN_SECRET_BYTES};
use crate::config::Config;
use crate::db;
use crate::error::ErrorCode;
use crate::graphql::loaders::Loaders;
use crate::graphql::prepare::Gate;
use crate::graphql::schema::{AppSchema, TokenIssuer, build_schema};
use crate::graphql::{guards, limits};
use crate::metrics::Metrics;
use crate::ratelimit::{ClientIp, RateLimits};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The configuration is unusable (e.g. no `JWT_SECRET` in production).
    #[error("configuration: {0}")]
    Config(String),
    /// The database could not be reached or migrated.
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// The listen address could not be bound.
    #[error("bind: {0}")]
    Bind(#[from] std::io::Error),
    /// The metrics registry could not be built.
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// Shared state of the HTTP handlers.
#[derive(Clone)]
struct AppState {
    schema: AppSchema,
    gate: Arc<Gate>,
    client_ip_header: Option<axum::http::HeaderName>,
    keys: JwtKeys,
    db: db::Db,
    batch_delay: Duration,
    metrics: Arc<Metrics>,
}

/// Connection-level HTTP settings.
#[derive(Clone, Copy, Debug)]
struct HttpSettings {
    header_read_timeout: Duration,
    max_header_bytes: usize,
    request_timeout: Duration,
}

/// A built, bound, not yet serving server.
pub struct Application {
    listener: TcpListener,
    rate_limits: Arc<RateLimits>,
    router: Router,
    http: HttpSettings,
    db: db::Db,
    local_addr: SocketAddr,
}

impl Application {
    /// Connects to `config.database_url` ([`db::connect_pools`]: on a SQLite file one writer
    /// connection and a reader pool), applies migrations through the writer, then builds as
    /// [`Application::build_with_db`]. Errors: [`StartupError`].
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let keys = signing_keys(&config)?;
        let db = db::connect_pools(&config).await?;
        db::migrate(&db.write).await?;
        Self::assemble(config, db, keys).await
    }

    /// Builds over existing (migrated) database handles: a [`db::Db`], or one
    /// `DatabaseConnection` used for reads and writes alike. Validates the secret, builds the
    /// schema and router, binds `config.bind`. Errors: [`StartupError`].
    pub async fn build_with_db(
        config: Config,
        db: impl Into<db::Db>,
    ) -> Result<Self, StartupError> {
        let keys = signing_keys(&config)?;
        Self::assemble(config, db.into(), keys).await
    }

    async fn assemble(config: Config, db: db::Db, keys: JwtKeys) -> Result<Self, StartupError> {
        let issuer = TokenIssuer {
            keys: keys.clone(),
            agent_ttl_secs: config.agent_token_ttl_secs,
            visitor_ttl_secs: config.visitor_token_ttl_secs,
        };
        let rate_limits = Arc::new(RateLimits::new(config.rate_limits()));
        let schema = build_schema(
            db.clone(),
            issuer,
            config.query_limits(),
            rate_limits.clone(),
        );
        let client_ip_header = config
            .trusted_client_ip_header
            .as_deref()
            .map(axum::http::HeaderName::try_from)
            .transpose()
            .map_err(|e| StartupError::Config(format!("TRUSTED_CLIENT_IP_HEADER: {e}")))?;
        let metrics = Arc::new(Metrics::new()?);
        let gate = Arc::new(Gate::new(config.query_limits(), rate_limits.clone()));
        let state = AppState {
            schema,
            gate,
            client_ip_header,
            keys,
            db: db.clone(),
            batch_delay: Duration::from_millis(config.dataloader_delay_ms),
            metrics: metrics.clone(),
        };
        let cors = cors_layer(&config.cors_allowed_origins)?;
        let mut router = Router::new()
            .route("/graphql", get(graphql_get).post(graphql_post))
            .route("/health", get(health))
            .route("/ready", get(ready))
            .merge(crate::graphiql::router());
        if config.metrics_enabled {
            router = router.route("/metrics", get(metrics_handler));
        }
        let router = router
            .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
            // tower-http answers an oversized Content-Length with a plain-text 413: give it the
            // GraphQL shape with `PAYLOAD_TOO_LARGE`, like an oversized chunked body gets.
            .layer(axum::middleware::map_response(graphql_shaped_413))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_secs(config.request_timeout_secs),
            ))
            .layer(cors)
            .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let id = req
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }))
            // Outermost: every request gets an `x-request-id` (a UUID v4) before the trace
            // span opens, and the response carries it back.
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            // Outermost of all: counts every response's status (408, 413 and 431 included).
            .layer(axum::middleware::from_fn_with_state(metrics, count_status))
            .with_state(state);
        let listener = TcpListener::bind(config.bind).await?;
        let local_addr = listener.local_addr()?;
        let http = HttpSettings {
            header_read_timeout: Duration::from_secs(config.header_read_timeout_secs.max(1)),
            // hyper's smallest buffer is 8 KiB.
            max_header_bytes: config.max_header_bytes.max(8192),
            request_timeout: Duration::from_secs(config.request_timeout_secs),
        };
        Ok(Self {
            listener,
            rate_limits,
            router,
            http,
            db,
            local_addr,
        })
    }

    /// The bound address (with the real port when `config.bind` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The database handles the server uses (reader and writer).
    pub fn db(&self) -> &db::Db {
        &self.db
    }

    /// Serves HTTP/1.1 until `shutdown` resolves, then closes the listening socket (new
    /// connections are refused), lets in-flight requests finish (for at most the request
    /// timeout; idle keep-alive connections are closed) and closes the database pools.
    ///
    /// Each connection must send its request head within `HEADER_READ_TIMEOUT_SECS` and in at
    /// most `MAX_HEADER_BYTES` (hyper then answers 408 / 431 or closes the connection), so slow
    /// or oversized clients cannot hold connections open. Errors: none so far (accept errors
    /// are logged and retried).
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        use hyper_util::rt::{TokioIo, TokioTimer};
        use tower::ServiceExt;

        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let pruning = tokio::spawn(crate::ratelimit::prune_every(
            self.rate_limits.clone(),
            crate::ratelimit::PRUNE_INTERVAL,
        ));
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!("accept failed: {err}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let router = self.router.clone();
            let service = hyper::service::service_fn(
                move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    router.clone().oneshot(req.map(axum::body::Body::new))
                },
            );
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(self.http.header_read_timeout)
                .max_buf_size(self.http.max_header_bytes);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                if let Err(err) = conn.await {
                    tracing::debug!("connection from {peer} ended: {err}");
                }
            });
        }
        pruning.abort();
        // Stop listening now: new connections are refused while in-flight requests finish.
        let Self {
            listener, http, db, ..
        } = self;
        drop(listener);
        if tokio::time::timeout(http.request_timeout, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("in-flight requests still running at the shutdown deadline");
        }
        if let Err(err) = db.close().await {
            tracing::warn!("closing the database pools: {err}");
        }
        Ok(())
    }
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

fn signing_keys(config: &Config) -> Result<JwtKeys, StartupError> {
    match &config.jwt_secret {
        Some(secret) if secret.len() >= MIN_SECRET_BYTES => Ok(JwtKeys::new(secret.as_bytes())),
        Some(_) if config.is_production() => Err(StartupError::Config(format!(
            "JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes in production"
        ))),
        Some(secret) => {
            tracing::warn!(
                "JWT_SECRET is shorter than {MIN_SECRET_BYTES} bytes: acceptable in development only"
            );
            Ok(JwtKeys::new(secret.as_bytes()))
        }
        None if config.is_production() => Err(StartupError::Config(
            "JWT_SECRET is required in production (--production or APP_ENV=production)".into(),
        )),
        None => {
            tracing::warn!(
                "no JWT_SECRET set: generated a random one for this run (development mode); tokens die with the process"
            );
            Ok(JwtKeys::new(&JwtKeys::random_secret()))
        }
    }
}

/// A request body that is not a GraphQL request (malformed JSON, a batch, a wrong content
/// type): answered like GraphQL over HTTP does, `400` with `{"errors": [...]}` and
/// `extensions.code` `BAD_REQUEST` (`PAYLOAD_TOO_LARGE` and 413 for an oversized body).
pub struct BadGraphqlRequest(async_graphql::ParseRequestError);

impl From<async_graphql::ParseRequestError> for BadGraphqlRequest {
    fn from(err: async_graphql::ParseRequestError) -> Self {
        Self(err)
    }
}

impl IntoResponse for BadGraphqlRequest {
    fn into_response(self) -> axum::response::Response {
        use async_graphql::ParseRequestError as E;
        let (status, code, message) = match &self.0 {
            E::PayloadTooLarge => too_large(),
            E::UnsupportedBatch => (
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                "batch requests are not supported".to_owned(),
            ),
            E::InvalidRequest(err) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                format!("invalid request body: {err}"),
            ),
            other => (
                StatusCode::BAD_REQUEST,
                ErrorCode::BadRequest,
                format!("invalid request: {other}"),
            ),
        };
        refuse(status, code, &message)
    }
}

fn too_large() -> (StatusCode, ErrorCode, String) {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PayloadTooLarge,
        "request body too large".to_owned(),
    )
}

/// Whether `err` (or an error it wraps) is the body length limit.
fn is_length_limit(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// Middleware: a 413 that is not JSON yet (tower-http's own, for a `Content-Length` over the
/// limit) becomes `{"errors": [{"extensions": {"code": "PAYLOAD_TOO_LARGE"}}]}`.
async fn graphql_shaped_413(response: axum::response::Response) -> axum::response::Response {
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE || is_json {
        return response;
    }
    let (status, code, message) = too_large();
    refuse(status, code, &message)
}

/// An HTTP-level refusal in the GraphQL shape: `status`, `code`, `message`.
fn refuse(status: StatusCode, code: ErrorCode, message: &str) -> axum::response::Response {
    (status, axum::Json(code.http_body(message))).into_response()
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
async fn graphql_post(
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
        Err(err) => return BadGraphqlRequest(err).into_response(),
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
/// ([`Gate::prepare`]: persisted query, nesting, cached parse, shape limits), refuses a
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
    let prepared = prepared.and_then(|p| state.gate.charge(&p, user).map(|()| p));
    let (mut response, operation) = match prepared {
        Err(err) => (async_graphql::Response::from_errors(vec![err]), None),
        Ok(prepared) => {
            let mut request = prepared.request.data(auth).data(ClientIp(client_ip));
            if let AuthState::Authenticated(caller) = auth {
                let visitor = (caller.role == crate::auth::Role::Guest).then_some(caller.user_id);
                request = request.data(Loaders::new(
                    state.db.read.clone(),
                    guards::scope(caller),
                    state.batch_delay,
                    visitor,
                ));
            }
            (state.schema.execute(request).await, prepared.operation)
        }
    };
    if let Some(id) = headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()) {
        response.extensions.insert(
            "requestId".to_owned(),
            async_graphql::Value::String(id.to_owned()),
        );
    }
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("code").is_some());
        if !has_code {
            // Errors without a path are the request's own (syntax, validation, variables);
            // any other uncoded error is ours.
            let code = if let Some(code) = limits::code_of_validation_message(&error.message) {
                code
            } else if is_argument_coercion_error(&error.message) {
                // An argument literal that does not parse as its type (e.g. a bad DateTime):
                // async-graphql reports it at the field, without a code.
                ErrorCode::BadUserInput
            } else if error.path.is_empty() {
                ErrorCode::GraphqlValidationFailed
            } else {
                tracing::error!(message = %error.message, "uncoded resolver error");
                error.message = "internal error".into();
                ErrorCode::Internal
            };
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", code.as_str());
        }
    }
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

/// Whether an uncoded resolver error is async-graphql's report of an argument value that
/// does not parse as its type (`Failed to parse "DateTime": ...`,
/// `Invalid value for argument "x" ...`, `Expected input type "T", found [].`) or of a variable
/// the operation uses but the request does not give (`Variable x is not defined.`).
fn is_argument_coercion_error(message: &str) -> bool {
    message.starts_with("Failed to parse ")
        || message.starts_with("Invalid value for argument")
        || message.starts_with("Expected input type ")
        || (message.starts_with("Variable ") && message.ends_with(" is not defined."))
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
async fn graphql_get(
    State(state): State<AppState>,
    connect: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> axum::response::Response {
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

/// `GET /ready`: readiness, 200 `ready` when the database answers through the reader pool
/// and a separate writer pool (SQLite) is open (it is not queried: it may be busy with a queue
/// of writes), 503 otherwise.
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    if state.db.is_split() && state.db.write.get_sqlite_connection_pool().is_closed() {
        tracing::warn!("readiness check: the database writer pool is closed");
        return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable");
    }
    match state.db.read.execute_unprepared("SELECT 1").await {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(err) => {
            tracing::warn!("readiness check: database unreachable: {err}");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
