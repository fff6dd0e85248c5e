//! Application start-up: connect, migrate, build the schema and the router ([`crate::http`]),
//! bind, serve (`crate::http::serve`) with graceful shutdown. `Application::build` with
//! `BIND=127.0.0.1:0` binds a free port (tests).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use crate::auth::{JwtKeys, MIN_SECRET_BYTES};
use crate::config::Config;
use crate::db;
use crate::graphql::prepare::Gate;
use crate::graphql::schema::{TokenIssuer, build_schema};
use crate::http::{AppState, HttpSettings};
use crate::metrics::Metrics;
use crate::ratelimit::RateLimits;

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

/// A built, bound, not yet serving server.
pub struct Application {
    listener: TcpListener,
    rate_limits: Arc<RateLimits>,
    router: Router,
    http: HttpSettings,
    db: db::Db,
    local_addr: SocketAddr,
    ws: Arc<crate::http::ws::WsSettings>,
    /// The webhook worker's database handle, whether that pool is its own, its settings.
    webhooks: (sea_orm::DatabaseConnection, bool, crate::webhooks::Settings),
    /// The read replicas and their poll interval.
    replicas: Option<(Arc<crate::replicas::Replicas>, Duration)>,
    /// The pool `LISTEN` takes its connection from (`DATABASE_LISTEN_URL`, else the reader).
    listen_db: sea_orm::DatabaseConnection,
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
        if config.db_statement_cache == 0 {
            return Err(StartupError::Config(
                "DB_STATEMENT_CACHE must be at least 1 (sqlx 0.9 leaks a prepared statement per query without its cache)".into(),
            ));
        }
        let issuer = TokenIssuer {
            keys: keys.clone(),
            agent_ttl_secs: config.agent_token_ttl_secs,
            visitor_ttl_secs: config.visitor_token_ttl_secs,
        };
        let rate_limits = Arc::new(rate_limits(&config, &db)?);
        let replicas = crate::replicas::Replicas::connect(&config, db.write.clone())
            .await?
            .map(Arc::new);
        let listen_db = match config.database_listen_url.as_deref() {
            Some(url) if !url.trim().is_empty() => db::connect_postgres(&config, url, 1).await?,
            _ => db.read.clone(),
        };
        let webhooks = crate::webhooks::Settings::of(&config);
        let policy = crate::webhooks::Policy {
            allow_private: webhooks.allow_private,
        };
        let feeds = Arc::new(crate::events::Feeds::new(
            db.read.clone(),
            Duration::from_millis(config.event_poll_ms.max(10)),
        ));
        let schema = build_schema(
            db.clone(),
            issuer,
            rate_limits.clone(),
            feeds,
            policy,
            config.bulk(),
        );
        let ws = Arc::new(crate::http::ws::WsSettings::new(
            Duration::from_secs(config.ws_init_timeout_secs.max(1)),
            Duration::from_secs(config.ws_send_timeout_secs.max(1)),
            config.ws_max_connections_per_token.max(1),
            config.ws_max_subscriptions_per_connection.max(1),
        ));
        let client_ip_header = config
            .trusted_client_ip_header
            .as_deref()
            .map(axum::http::HeaderName::try_from)
            .transpose()
            .map_err(|e| StartupError::Config(format!("TRUSTED_CLIENT_IP_HEADER: {e}")))?;
        let state = AppState {
            schema,
            gate: Arc::new(Gate::new(config.query_limits(), rate_limits.clone())),
            client_ip_header,
            keys,
            db: db.clone(),
            batch_delay: Duration::from_millis(config.dataloader_delay_ms),
            metrics: Arc::new(Metrics::new()?),
            ws: ws.clone(),
            replicas: replicas.clone(),
            traced: config.otel_exporter_otlp_endpoint.is_some(),
        };
        let router = crate::http::router(&config, state)?;
        let (webhook_db, own_webhook_db) = crate::webhooks::connect(&config, &db).await?;
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
            ws,
            webhooks: (webhook_db, own_webhook_db, webhooks),
            replicas: replicas.map(|r| (r, Duration::from_millis(config.replica_poll_ms.max(10)))),
            listen_db,
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

    /// Serves HTTP/1.1 (`crate::http::serve`) until `shutdown` resolves, then closes the
    /// listening socket (new connections are refused), lets in-flight requests finish (for at
    /// most the request timeout; idle keep-alive connections are closed), stops the webhook
    /// worker (`crate::webhooks`, running meanwhile) and closes the database pools. Prunes
    /// the rate limiters' keys meanwhile.
    ///
    /// Each connection must send its request head within `HEADER_READ_TIMEOUT_SECS` and in at
    /// most `MAX_HEADER_BYTES` (hyper then answers 408 / 431 or closes the connection), so slow
    /// or oversized clients cannot hold connections open. Errors: none so far (accept errors
    /// are logged and retried).
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let pruning = tokio::spawn(crate::ratelimit::prune_every(
            self.rate_limits.clone(),
            crate::ratelimit::PRUNE_INTERVAL,
        ));
        let listening = tokio::spawn(crate::events::listen::run(self.listen_db.clone()));
        let polling = self
            .replicas
            .clone()
            .map(|(replicas, every)| tokio::spawn(replicas.poll_every(every)));
        let (hook_db, own, settings) = self.webhooks;
        let worker =
            crate::webhooks::spawn(hook_db, own, settings).map_err(std::io::Error::other)?;
        let ws = self.ws.clone();
        let shutdown = async move {
            shutdown.await;
            // WebSockets are upgraded out of hyper's graceful watch: close them now.
            ws.closing.send_replace(true);
        };
        crate::http::serve(self.listener, self.router, self.http, shutdown).await;
        pruning.abort();
        listening.abort();
        if let Some(polling) = polling {
            polling.abort();
        }
        worker.stop(Duration::from_secs(5)).await;
        if let Err(err) = self.db.close().await {
            tracing::warn!("closing the database pools: {err}");
        }
        Ok(())
    }
}

/// The rate limits of `config` over their store (`RATE_LIMIT_STORE`): `auto` shares them
/// through PostgreSQL's `rate_limit_bucket` table (over the writer pool) and keeps them in
/// process memory on SQLite. Errors: `StartupError::Config` for `postgres` on SQLite.
fn rate_limits(config: &Config, db: &db::Db) -> Result<RateLimits, StartupError> {
    use crate::config::RateLimitStore;
    let postgres =
        sea_orm::ConnectionTrait::get_database_backend(&db.write) == sea_orm::DbBackend::Postgres;
    match (config.rate_limit_store, postgres) {
        (RateLimitStore::Memory, _) | (RateLimitStore::Auto, false) => {
            Ok(RateLimits::new(config.rate_limits()))
        }
        (RateLimitStore::Postgres | RateLimitStore::Auto, true) => {
            Ok(RateLimits::shared(config.rate_limits(), db.write.clone()))
        }
        (RateLimitStore::Postgres, false) => Err(StartupError::Config(
            "RATE_LIMIT_STORE=postgres needs a PostgreSQL DATABASE_URL".into(),
        )),
    }
}

/// The signing keys of `config.jwt_secret`; in development a short secret is accepted with a
/// warning and a missing one replaced by a random one. Errors: `StartupError::Config` in
/// production for a missing or short (under `MIN_SECRET_BYTES`) secret.
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
