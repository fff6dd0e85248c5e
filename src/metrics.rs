//! Prometheus metrics (the `prometheus` crate, one registry per [`crate::Application`], so
//! servers in one process never mix their numbers), served at `GET /metrics`.
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `graphql_requests_total` | `operation` | GraphQL requests |
//! | `graphql_request_duration_seconds` | `operation` | their latency (histogram) |
//! | `graphql_errors_total` | `code` | errors, by `extensions.code` |
//! | `http_responses_total` | `status` | HTTP responses, every route |
//! | `db_pool_connections` | `state` (`open`, `idle`, `in_use`) | database pool, at scrape time |
//! | `db_pool_max_connections` | | the pool's size limit |
//!
//! On a SQLite file the pool numbers are the sums of the reader pool and the one-connection
//! writer pool ([`Db`]).
//!
//! Label cardinality is bounded, since clients choose operation names: `operation` is the
//! name of the operation that executed (`anonymous` when it has none, `invalid` when the
//! request failed before execution: syntax, validation, unknown operation); a name over
//! [`MAX_LABEL_CHARS`] or beyond the first [`MAX_OPERATION_NAMES`] distinct ones is `other`.
//! Codes are the server's own; one that is not `[A-Z_]{1,40}` is `OTHER`.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use sea_orm::{DatabaseConnection, DbBackend};

use crate::db::Db;

/// Most distinct operation names labelled; later new names count as `other`.
pub const MAX_OPERATION_NAMES: usize = 100;
/// Longest operation name used as a label; longer ones count as `other`.
pub const MAX_LABEL_CHARS: usize = 64;

/// The metrics of one server.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    errors: IntCounterVec,
    http: IntCounterVec,
    pool: IntGaugeVec,
    pool_max: IntGauge,
    names: Mutex<HashSet<String>>,
}

impl Metrics {
    /// A new registry with every metric registered. Errors: the registry's (a duplicate
    /// metric, which would be a bug).
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "graphql_requests_total",
                "GraphQL requests, by operation name",
            ),
            &["operation"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "graphql_request_duration_seconds",
                "GraphQL request latency in seconds, by operation name",
            ),
            &["operation"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new("graphql_errors_total", "GraphQL errors, by extensions.code"),
            &["code"],
        )?;
        let http = IntCounterVec::new(
            Opts::new("http_responses_total", "HTTP responses, by status code"),
            &["status"],
        )?;
        let pool = IntGaugeVec::new(
            Opts::new(
                "db_pool_connections",
                "Database pool connections: open, idle, in_use",
            ),
            &["state"],
        )?;
        let pool_max = IntGauge::new(
            "db_pool_max_connections",
            "Largest size of the database pool",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(http.clone()))?;
        registry.register(Box::new(pool.clone()))?;
        registry.register(Box::new(pool_max.clone()))?;
        Ok(Self {
            registry,
            requests,
            duration,
            errors,
            http,
            pool,
            pool_max,
            names: Mutex::new(HashSet::new()),
        })
    }

    /// The `operation` label of a request's executed operation: `invalid` (`None`: not
    /// executed), `anonymous`, the name, or `other` (see the module docs).
    pub fn operation_label(&self, executed: Option<Option<&str>>) -> String {
        let name = match executed {
            None => return "invalid".into(),
            Some(None) => return "anonymous".into(),
            Some(Some(name)) => name,
        };
        let valid = !name.is_empty()
            && name.len() <= MAX_LABEL_CHARS
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return "other".into();
        }
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        if names.contains(name) {
            return name.to_owned();
        }
        if names.len() < MAX_OPERATION_NAMES {
            names.insert(name.to_owned());
            return name.to_owned();
        }
        "other".into()
    }

    /// Records one GraphQL request: its operation label, latency and error codes.
    pub fn observe_graphql<'a>(
        &self,
        operation: &str,
        elapsed: Duration,
        codes: impl IntoIterator<Item = &'a str>,
    ) {
        self.requests.with_label_values(&[operation]).inc();
        self.duration
            .with_label_values(&[operation])
            .observe(elapsed.as_secs_f64());
        for code in codes {
            let code = if !code.is_empty()
                && code.len() <= 40
                && code.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            {
                code
            } else {
                "OTHER"
            };
            self.errors.with_label_values(&[code]).inc();
        }
    }

    /// Records one HTTP response status.
    pub fn observe_http(&self, status: u16) {
        self.http.with_label_values(&[&status.to_string()]).inc();
    }

    /// The text exposition (Prometheus format 0.0.4), with the pool gauges of `db` read now
    /// (reader and writer pools summed when they are two). Errors: the encoder's (not
    /// expected for the text format).
    pub fn render(&self, db: &Db) -> Result<String, prometheus::Error> {
        let usage = match (pool_usage(&db.read), db.is_split()) {
            (Some(read), true) => pool_usage(&db.write)
                .map(|write| (read.0 + write.0, read.1 + write.1, read.2 + write.2)),
            (usage, _) => usage,
        };
        if let Some((open, idle, max)) = usage {
            self.pool.with_label_values(&["open"]).set(open);
            self.pool.with_label_values(&["idle"]).set(idle);
            self.pool
                .with_label_values(&["in_use"])
                .set(open.saturating_sub(idle));
            self.pool_max.set(max);
        }
        let mut buf = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buf)?;
        String::from_utf8(buf).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

/// `(open, idle, max)` connections of the sqlx pool behind `db`.
fn pool_usage(db: &DatabaseConnection) -> Option<(i64, i64, i64)> {
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            Some((
                i64::from(pool.size()),
                pool.num_idle() as i64,
                i64::from(pool.options().get_max_connections()),
            ))
        }
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            Some((
                i64::from(pool.size()),
                pool.num_idle() as i64,
                i64::from(pool.options().get_max_connections()),
            ))
        }
        _ => None,
    }
}
