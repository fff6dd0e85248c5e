//! The one typed configuration, from command-line flags, environment variables and an
//! optional TOML file: clap defines every setting (flag, environment variable, built-in
//! default, help) and parses flags and environment; figment layers them over the file
//! (flag > environment variable > file > built-in default), deserializes the result and
//! records where each value came from.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser};
use figment::error::Kind;
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};

/// Every setting of the server. Each flag has an environment variable of the name shown, and
/// a key of the optional TOML file ([`Config::load`]) named like the field.
#[derive(Clone, Debug, Parser, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[command(
    name = "contacts-server",
    version,
    about = "GraphQL API server for contacts (leads)"
)]
pub struct Config {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    #[serde(skip)]
    pub command: Option<Command>,

    /// TOML file with settings (keys named like the flags, with `_` for `-`, e.g.
    /// `database_url = "..."`): a flag or environment variable overrides it; an unknown key
    /// is an error.
    #[arg(long, env = "CONTACTS_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Database URL: `sqlite://PATH?mode=rwc` (the default, a file under ./data/) or
    /// `postgres://USER:PASS@HOST:PORT/DB`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/contacts.db?mode=rwc"
    )]
    pub database_url: String,

    /// Address to listen on (`IP:PORT`; port 0 picks a free port).
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,

    /// Secret that signs tokens (HS256). At least 32 bytes. Required with `--production`; in
    /// development a random one is generated at start (tokens then die with the process).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Lifetime of agents' tokens, in seconds.
    #[arg(long, env = "AGENT_TOKEN_TTL_SECS", default_value_t = 8 * 3600)]
    pub agent_token_ttl_secs: u64,

    /// Lifetime of visitors' tokens, in seconds.
    #[arg(long, env = "VISITOR_TOKEN_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    pub visitor_token_ttl_secs: u64,

    /// Production mode (also on with `APP_ENV=production`): refuse to start without a
    /// `JWT_SECRET` of at least 32 bytes.
    #[arg(long, default_value_t = false)]
    pub production: bool,

    /// Largest size of the database connection pool. On a SQLite file the server instead has
    /// one writer connection and `DB_SQLITE_READERS` readers (at most this many).
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// SQLite file only: connections of the server's query-only reader pool (capped by
    /// `DB_MAX_CONNECTIONS`, at least 1). Writes go through one more connection, the single
    /// writer, where they queue in order.
    #[arg(long, env = "DB_SQLITE_READERS", default_value_t = 4)]
    pub db_sqlite_readers: u32,

    /// PostgreSQL: prepared statements each connection keeps (sqlx's statement cache, least
    /// recently used out). At least 1: with 0, sqlx 0.9 still names every statement and never
    /// frees it (one leaked statement per query), so 0 is refused.
    #[arg(long, env = "DB_STATEMENT_CACHE", default_value_t = 100)]
    pub db_statement_cache: usize,

    /// PostgreSQL: a separate URL for the `LISTEN` connection (live events), e.g. the primary
    /// directly when `DATABASE_URL` goes through a pooler. Unset: `DATABASE_URL`.
    #[arg(long, env = "DATABASE_LISTEN_URL")]
    pub database_listen_url: Option<String>,

    /// PostgreSQL streaming replicas, comma-separated URLs: queries are served by one of them
    /// (mutations, subscriptions and webhooks use the primary, `DATABASE_URL`). A mutation's
    /// answer carries a consistency token; a query sending it back is served only by a replica
    /// that has replayed it, else by the primary (README, "Read replicas").
    #[arg(
        long,
        env = "DATABASE_REPLICA_URLS",
        value_delimiter = ',',
        default_value = ""
    )]
    #[serde(deserialize_with = "comma_separated")]
    pub database_replica_urls: Vec<String>,

    /// Milliseconds a replica may lag behind the primary before queries skip it.
    #[arg(long, env = "REPLICA_MAX_LAG_MS", default_value_t = 5000)]
    pub replica_max_lag_ms: u64,

    /// Milliseconds between reads of each replica's replay position (and the primary's WAL
    /// position); also how stale a replica's known position may be.
    #[arg(long, env = "REPLICA_POLL_MS", default_value_t = 100)]
    pub replica_poll_ms: u64,

    /// Seconds to wait for a free database connection before failing the request.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT_SECS", default_value_t = 5)]
    pub db_acquire_timeout_secs: u64,

    /// PostgreSQL: milliseconds a pooled connection must have been idle before it is pinged
    /// (a `Sync` round trip) on checkout; a connection used more recently goes out unchecked,
    /// as HikariCP's `aliveBypassWindowMs` (500) does. 0 pings on every checkout (sqlx's
    /// default, one more round trip per request). SQLite connections live in the process and
    /// are not pinged on checkout (sqlx still pings every connection, both databases, when it
    /// goes back to the pool).
    #[arg(long, env = "DB_PING_IDLE_MS", default_value_t = 500)]
    pub db_ping_idle_ms: u64,

    /// Largest accepted HTTP request body, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub max_body_bytes: usize,

    /// How long, in milliseconds, a DataLoader gathers keys before running its batch query.
    /// 1 ms (async-graphql's default) batches a page of 100 in a release build; raise it when
    /// CPU is so contended that batches split.
    #[arg(long, env = "DATALOADER_DELAY_MS", default_value_t = 1)]
    pub dataloader_delay_ms: u64,

    /// Seconds a WebSocket client has to send `connection_init` (closed with 4408 after).
    #[arg(long, env = "WS_INIT_TIMEOUT_SECS", default_value_t = 10)]
    pub ws_init_timeout_secs: u64,

    /// WebSocket connections one user (token subject) may hold open on this instance at once
    /// (closed with 4429 beyond).
    #[arg(long, env = "WS_MAX_CONNECTIONS_PER_TOKEN", default_value_t = 8)]
    pub ws_max_connections_per_token: usize,

    /// Subscriptions one WebSocket connection may hold at once (`TOO_MANY_SUBSCRIPTIONS`
    /// beyond).
    #[arg(
        long,
        env = "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION",
        default_value_t = 16
    )]
    pub ws_max_subscriptions_per_connection: usize,

    /// Seconds a WebSocket client may leave a message unread before it is closed as a slow
    /// consumer (1013); it resumes with `after:` and loses nothing.
    #[arg(long, env = "WS_SEND_TIMEOUT_SECS", default_value_t = 10)]
    pub ws_send_timeout_secs: u64,

    /// Milliseconds between looks at a project's event log while it has subscribers, on top
    /// of the wake-ups commits send (the safety net for a lost notification).
    #[arg(long, env = "EVENT_POLL_MS", default_value_t = 2000)]
    pub event_poll_ms: u64,

    /// Deepest selection nesting of an operation (`QUERY_TOO_DEEP` beyond).
    #[arg(long, env = "MAX_QUERY_DEPTH", default_value_t = 15)]
    pub max_query_depth: usize,

    /// Largest operation complexity: each field costs 1, `contacts` and `requests` multiply
    /// their children by their page size (`QUERY_TOO_COMPLEX` beyond).
    #[arg(long, env = "MAX_QUERY_COMPLEXITY", default_value_t = 20_000)]
    pub max_query_complexity: usize,

    /// Most aliased fields in one document (`TOO_MANY_ALIASES` beyond).
    #[arg(long, env = "MAX_QUERY_ALIASES", default_value_t = 30)]
    pub max_query_aliases: usize,

    /// Most root fields in one operation (`TOO_MANY_ROOT_FIELDS` beyond).
    #[arg(long, env = "MAX_ROOT_FIELDS", default_value_t = 20)]
    pub max_root_fields: usize,

    /// Where the rate limits count: `memory` (this process: each instance counts on its own),
    /// `postgres` (one table of the database, shared by every instance over it) or `auto`
    /// (`postgres` on PostgreSQL, `memory` on SQLite).
    #[arg(long, env = "RATE_LIMIT_STORE", value_enum, default_value = "auto")]
    pub rate_limit_store: RateLimitStore,

    /// `signInAnonymously` calls per client IP per minute (0: no limit).
    #[arg(long, env = "RATE_LIMIT_ANONYMOUS_PER_MIN", default_value_t = 60)]
    pub rate_limit_anonymous_per_min: u32,

    /// `signIn` attempts per email per minute (0: no limit).
    #[arg(long, env = "RATE_LIMIT_SIGN_IN_PER_MIN", default_value_t = 10)]
    pub rate_limit_sign_in_per_min: u32,

    /// Mutations per token per minute (0: no limit).
    #[arg(long, env = "RATE_LIMIT_MUTATIONS_PER_MIN", default_value_t = 300)]
    pub rate_limit_mutations_per_min: u32,

    /// Header carrying the client IP set by a trusted reverse proxy (e.g. `X-Forwarded-For`,
    /// whose first address is used; or `X-Real-IP`). Unset: the TCP peer address, and any
    /// such header is ignored.
    #[arg(long, env = "TRUSTED_CLIENT_IP_HEADER")]
    pub trusted_client_ip_header: Option<String>,

    /// Origins allowed to call the API from a browser (CORS), comma-separated, e.g.
    /// `https://app.example.com,https://widget.example.com`; `*` allows any origin. Empty (the
    /// default): no `Access-Control-Allow-Origin`, so browsers allow same-origin calls only.
    #[arg(
        long,
        env = "CORS_ALLOWED_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    #[serde(deserialize_with = "comma_separated")]
    pub cors_allowed_origins: Vec<String>,

    /// OpenTelemetry: the OTLP/HTTP collector's base URL, e.g. `http://127.0.0.1:4318`: a span
    /// per HTTP request (continuing an incoming W3C `traceparent`), GraphQL operation and SQL
    /// statement goes to `<url>/v1/traces` (protobuf). Unset: no traces. The exporter's other
    /// standard variables apply (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`).
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otel_exporter_otlp_endpoint: Option<String>,

    /// OpenTelemetry: the `service.name` of the exported spans.
    #[arg(long, env = "OTEL_SERVICE_NAME", default_value = "contacts-server")]
    pub otel_service_name: String,

    /// Log line format on stderr: `text` (human-readable) or `json` (one JSON object a line).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Seconds a connection has to send its request headers (slow-client protection).
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,

    /// Largest request head (request line and headers), in bytes (at least 8192).
    #[arg(long, env = "MAX_HEADER_BYTES", default_value_t = 16 * 1024)]
    pub max_header_bytes: usize,

    /// Seconds after which an HTTP request is answered with 408 and abandoned.
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// Serve Prometheus metrics at `GET /metrics` on the API's port (`false` turns the
    /// route off: 404). They reveal operation names and traffic volumes: keep the route away
    /// from the public internet (reverse proxy rule) or turn it off.
    #[arg(long, env = "METRICS_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub metrics_enabled: bool,

    /// Milliseconds between the webhook worker's looks for due endpoints when no commit of
    /// this instance woke it (the safety net of the doorbell; a missed wake-up costs latency).
    #[arg(long, env = "WEBHOOK_POLL_INTERVAL_MS", default_value_t = 1000)]
    pub webhook_poll_interval_ms: u64,

    /// Milliseconds a webhook delivery may take to connect to the endpoint.
    #[arg(long, env = "WEBHOOK_CONNECT_TIMEOUT_MS", default_value_t = 5000)]
    pub webhook_connect_timeout_ms: u64,

    /// Milliseconds a webhook delivery may take in all (connect, send, the answer's status
    /// and body); past it the attempt fails and is retried.
    #[arg(long, env = "WEBHOOK_RESPONSE_TIMEOUT_MS", default_value_t = 10_000)]
    pub webhook_response_timeout_ms: u64,

    /// Consecutive failed attempts after which a webhook endpoint is disabled (an admin
    /// re-enables it with `updateWebhook(enabled: true)`).
    #[arg(long, env = "WEBHOOK_MAX_FAILURES", default_value_t = 10)]
    pub webhook_max_failures: u32,

    /// Base of the webhook retry backoff, in milliseconds: after the n-th consecutive
    /// failure the next attempt waits a random time in [0, min(cap, base × 2^(n-1))] (full
    /// jitter).
    #[arg(long, env = "WEBHOOK_BACKOFF_BASE_MS", default_value_t = 1000)]
    pub webhook_backoff_base_ms: u64,

    /// Cap of the webhook retry backoff, in milliseconds.
    #[arg(long, env = "WEBHOOK_BACKOFF_CAP_MS", default_value_t = 3_600_000)]
    pub webhook_backoff_cap_ms: u64,

    /// Let webhooks reach loopback, private (RFC 1918, fc00::/7), link-local (including the
    /// 169.254.169.254 metadata address), CGNAT, unspecified and broadcast addresses. Off:
    /// such destinations are refused (SSRF guard). Turn on only for tests or a trusted network.
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE_DESTINATIONS", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private_destinations: bool,

    /// Delivery attempts kept per webhook endpoint (older ones are pruned by the worker).
    #[arg(long, env = "WEBHOOK_DELIVERIES_KEPT", default_value_t = 50)]
    pub webhook_deliveries_kept: u32,

    /// Contacts per batch of a bulk job (`deleteContacts`, `addTagsToContacts`,
    /// `assignContacts`, `updateContacts` with a filter): each batch is one transaction
    /// (1..=5000).
    #[arg(long, env = "BULK_BATCH_SIZE", default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=5000))]
    pub bulk_batch_size: u64,

    /// Most contacts one bulk job may match (a larger filter is refused with its count).
    #[arg(long, env = "BULK_MAX_CONTACTS", default_value_t = 100_000)]
    pub bulk_max_contacts: u64,

    /// Seconds a server holds a running bulk job without progress before another (or the next
    /// read of the job) may resume it after its last committed batch.
    #[arg(long, env = "BULK_LEASE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub bulk_lease_secs: u64,
}

/// Subcommands of the binary.
#[derive(Clone, Debug, clap::Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Print the GraphQL schema (SDL) to standard output; needs no database.
    ExportSchema,
    /// Apply, revert or list the database migrations of `DATABASE_URL`.
    Migrate {
        /// `up` (apply all pending; the default), `down` (revert the last one) or `status`.
        #[arg(value_enum, default_value = "up")]
        action: MigrateAction,
    },
    /// Print the effective settings as TOML (after flags, environment and config file), each
    /// with where its value came from; secrets are redacted. Needs no database.
    ShowConfig,
    /// Fill the database with demo data (applies pending migrations first).
    Seed {
        /// Create the demo project: an OWNER agent (`demo-owner@example.com`), an AGENT
        /// (`demo-agent@example.com`), 20 visitors with contacts and 1 to 3 requests each.
        /// Refuses (exit code 1) when the demo owner already exists.
        #[arg(long, required = true)]
        demo: bool,
        /// Password of both demo agents (at least 8 characters); a random one is generated
        /// and printed when absent.
        #[arg(long, env = "SEED_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Import contacts from a CSV file into a project (see README, "CSV format"). Exit code 1
    /// when any row failed (the other rows are imported), 2 when nothing could be read.
    ImportCsv {
        /// The CSV file (UTF-8, header row first).
        file: PathBuf,
        /// The project to import into (its id).
        #[arg(long)]
        project: uuid::Uuid,
        /// All or nothing: stop at the first failing row and write no row at all.
        #[arg(long)]
        strict: bool,
        /// Rows written per database transaction (each row in its own savepoint).
        #[arg(long, default_value_t = 500)]
        batch_size: usize,
    },
    /// Export the contacts of a project (except erased ones) as CSV, in the import format: all
    /// of them, or those of a saved segment and/or the filters below (as `contacts` lists them).
    ExportCsv {
        /// The project to export (its id).
        #[arg(long)]
        project: uuid::Uuid,
        /// Output file; standard output when absent.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only the contacts of this saved segment (its id), AND the filters below.
        #[arg(long)]
        segment: Option<uuid::Uuid>,
        /// The filters of `contacts`.
        #[command(flatten)]
        filter: ExportFilter,
    },
}

/// The `contacts` filters as `export-csv` flags (any given one makes the export a filtered
/// list: NORMAL contacts only unless `--status` says otherwise).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ExportFilter {
    /// Full-text search, as `contacts(search:)`.
    #[arg(long)]
    pub search: Option<String>,
    /// Exact email (case- and whitespace-insensitive).
    #[arg(long)]
    pub email: Option<String>,
    /// A tag the contacts must have (repeat for several; all must be present).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// A status to include: normal, deleted or temp (repeat for several).
    #[arg(long = "status")]
    pub statuses: Vec<String>,
    /// Created at or after (RFC 3339).
    #[arg(long)]
    pub created_after: Option<chrono::DateTime<chrono::Utc>>,
    /// Created strictly before (RFC 3339).
    #[arg(long)]
    pub created_before: Option<chrono::DateTime<chrono::Utc>>,
    /// With (true) or without (false) an email.
    #[arg(long)]
    pub has_email: Option<bool>,
    /// Owned by this agent (its user id).
    #[arg(long)]
    pub owner: Option<uuid::Uuid>,
    /// Only unassigned (true) or only assigned (false) contacts.
    #[arg(long)]
    pub unassigned: Option<bool>,
    /// Only the contacts linked to this company (its id).
    #[arg(long)]
    pub company: Option<uuid::Uuid>,
    /// A typed attribute filter as JSON, as one entry of `contacts(attributeFilters:)`, e.g.
    /// '{"key": "seats", "gt": 9}' (repeat for several).
    #[arg(long = "attribute-filter")]
    pub attribute_filters: Vec<String>,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for log shippers).
    Json,
}

/// Where rate limits count ([`Config::rate_limit_store`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateLimitStore {
    /// `postgres` on PostgreSQL, `memory` on SQLite.
    Auto,
    /// In this process.
    Memory,
    /// In the database (PostgreSQL only), shared by every instance.
    Postgres,
}

/// What `migrate` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Revert the most recent migration.
    Down,
    /// List migrations and whether each is applied.
    Status,
}

impl Config {
    /// The rate limits of this configuration.
    pub fn rate_limits(&self) -> crate::ratelimit::RateLimitConfig {
        crate::ratelimit::RateLimitConfig {
            anonymous_per_ip: self.rate_limit_anonymous_per_min,
            sign_in_per_email: self.rate_limit_sign_in_per_min,
            mutations_per_token: self.rate_limit_mutations_per_min,
        }
    }

    /// The limits of bulk jobs of this configuration.
    pub fn bulk(&self) -> crate::service::bulk::Settings {
        crate::service::bulk::Settings {
            batch_size: self.bulk_batch_size.max(1),
            max_contacts: self.bulk_max_contacts,
            lease: std::time::Duration::from_secs(self.bulk_lease_secs.max(1)),
        }
    }

    /// The GraphQL operation limits of this configuration.
    pub fn query_limits(&self) -> crate::graphql::limits::QueryLimits {
        crate::graphql::limits::QueryLimits {
            max_depth: self.max_query_depth,
            max_complexity: self.max_query_complexity,
            max_aliases: self.max_query_aliases,
            max_root_fields: self.max_root_fields,
        }
    }

    /// Whether production mode is on: `--production`, or `APP_ENV=production`.
    pub fn is_production(&self) -> bool {
        self.production || std::env::var("APP_ENV").is_ok_and(|v| v == "production")
    }

    /// A configuration with every default, for tests and tools: as if no flag, no
    /// environment variable and no config file were given (the defaults of the clap
    /// attributes above, their one place).
    pub fn defaults() -> Self {
        let cmd = Self::command().mut_args(|arg| arg.env(None));
        cmd.try_get_matches_from(["contacts-server"])
            .and_then(|matches| Self::from_arg_matches(&matches))
            .unwrap_or_else(|err| unreachable!("the built-in defaults parse: {err}"))
    }
}

/// A list setting's value from the config file: an array, or one comma-separated string (as
/// the flag takes it, and as `show-config` prints it).
fn comma_separated<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged, expecting = "expected a string or an array of strings")]
    enum List {
        One(String),
        Many(Vec<String>),
    }
    Ok(match List::deserialize(de)? {
        List::One(text) => text.split(',').map(str::to_owned).collect(),
        List::Many(items) => items,
    })
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Bad flags or values, `--help` or `--version` (clap renders and exits with it).
    #[error(transparent)]
    Clap(#[from] clap::Error),
    /// The config file could not be read.
    #[error("config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML.
    #[error("config file {path}: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A key of the config file is no setting, or its value has the wrong shape.
    #[error("config file {path}: key `{key}`: {message}")]
    Key {
        /// The file.
        path: PathBuf,
        /// The offending key.
        key: String,
        /// Why.
        message: String,
    },
}

/// Where a setting's effective value came from (see [`Config::load_from`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag,
    /// An environment variable.
    Env,
    /// The config file.
    File,
    /// The built-in default.
    Default,
}

impl Source {
    /// `flag`, `env`, `file` or `default`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Flag => "flag",
            Self::Env => "env",
            Self::File => "file",
            Self::Default => "default",
        }
    }
}

/// A loaded configuration and, per setting, its raw effective value and source.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The typed configuration.
    pub config: Config,
    /// `(TOML key, value, source)` of every setting that has a value, in flag order
    /// (`--config` itself excluded).
    pub effective: Vec<(String, Value, Source)>,
}

/// Clap's built-ins, which are no settings.
const NOT_SETTINGS: [&str; 2] = ["help", "version"];

/// One layer of settings for figment: a dictionary named by its [`Source`], so that figment
/// records, with each merged value, the layer it came from.
struct Layer(Source, figment::Result<Dict>);

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.0.as_str())
    }

    fn data(&self) -> figment::Result<Map<Profile, Dict>> {
        self.1.clone().map(|dict| Profile::Default.collect(dict))
    }
}

impl Config {
    /// [`Config::load_from`] with the process's arguments.
    pub fn load() -> Result<Loaded, ConfigError> {
        Self::load_from(std::env::args_os())
    }

    /// Parses `args` (the program name first) and the environment with clap, then merges with
    /// figment, per setting, the built-in default under the TOML file named by
    /// `--config FILE` or else `CONTACTS_CONFIG` under the environment variable under the
    /// flag. Every key of the file must be a setting's TOML key (see [`settings_table`]),
    /// with a value of the setting's type (a string of digits or `true`/`false` is taken for a
    /// number or boolean; a comma-separated setting takes an array or a comma-separated
    /// string). Errors: [`ConfigError`] (a file's bad key or value names the key).
    pub fn load_from<I, T>(args: I) -> Result<Loaded, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Self::command().try_get_matches_from(args)?;
        let parsed = Self::from_arg_matches(&matches)?;
        // clap's typed values, one layer per place clap found them.
        let values = Value::serialize(&parsed).map(dict);
        let from = |key: &String| match matches.value_source(key) {
            Some(ValueSource::CommandLine) => Source::Flag,
            Some(ValueSource::EnvVariable) => Source::Env,
            _ => Source::Default,
        };
        let clap_layer = |source: Source| {
            let only = |v: Dict| v.into_iter().filter(|(k, _)| from(k) == source).collect();
            Layer(source, values.clone().map(only))
        };
        let path = parsed.config.clone().filter(|p| !p.as_os_str().is_empty());
        let file = match &path {
            Some(path) => read_file(path)?,
            None => toml::Table::new(),
        };
        let figment = Figment::new()
            .merge(clap_layer(Source::Default))
            .merge(Layer(Source::File, Value::serialize(&file).map(dict)))
            .merge(clap_layer(Source::Env))
            .merge(clap_layer(Source::Flag));
        let mut config: Config = figment
            .extract_lossy()
            .map_err(|err| file_error(path.unwrap_or_default(), &file, err))?;
        config.command = parsed.command;
        config.config = parsed.config;
        // Each effective value as its setting's type has it, with the layer it came from.
        let typed = Value::serialize(&config).map(dict).unwrap_or_default();
        let sources = [Source::Flag, Source::Env, Source::File, Source::Default];
        let effective = Self::command()
            .get_arguments()
            .filter_map(|arg| {
                let key = arg.get_id().as_str();
                let value = typed.get(key).filter(|v| !matches!(v, Value::Empty(..)))?;
                let layer = figment.find_metadata(key)?.name.clone();
                let source = sources.into_iter().find(|s| s.as_str() == layer)?;
                Some((key.to_owned(), value.clone(), source))
            })
            .collect();
        Ok(Loaded { config, effective })
    }
}

impl Loaded {
    /// The effective settings as TOML lines (`key = value  # source`; an array as one
    /// comma-separated string), secrets (settings whose environment values clap hides)
    /// redacted as `"<redacted>"`. The output loads back as a config file.
    pub fn to_toml(&self) -> String {
        let cmd = Config::command();
        let mut out = String::new();
        for (key, value, source) in &self.effective {
            let secret = cmd
                .get_arguments()
                .any(|a| a.get_id().as_str() == key && a.is_hide_env_values_set());
            let value = match value {
                _ if secret => quote("<redacted>"),
                Value::String(_, s) => quote(s),
                Value::Array(..) => quote(&plain(value)),
                other => plain(other),
            };
            out.push_str(&format!("{key} = {value}  # {}\n", source.as_str()));
        }
        out
    }
}

/// A TOML basic string (a JSON string literal is one).
fn quote(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// A value as its setting's flag would take it: arrays joined with `,`.
fn plain(value: &Value) -> String {
    match value {
        Value::String(_, s) => s.clone(),
        Value::Array(_, items) => items.iter().map(plain).collect::<Vec<_>>().join(","),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// The dictionary of a serialized struct or table.
fn dict(value: Value) -> Dict {
    value.into_dict().unwrap_or_default()
}

/// The config file's table. Errors: [`ConfigError::Read`], [`ConfigError::Toml`].
fn read_file(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    text.parse::<toml::Table>().map_err(|e| ConfigError::Toml {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// A figment error (only the file's values can fail: clap checked the others) as a
/// [`ConfigError::Key`] naming the key and, for a bad value, the value.
fn file_error(path: PathBuf, file: &toml::Table, err: figment::Error) -> ConfigError {
    let key = err.path.first().cloned().unwrap_or_default();
    let value = match file.get(&key) {
        Some(toml::Value::String(s)) => s.clone(),
        Some(toml::Value::Datetime(d)) => d.to_string(),
        Some(other) => serde_json::to_string(other).unwrap_or_default(),
        None => String::new(),
    };
    let (key, message) = match err.kind {
        Kind::UnknownField(field, _) => (
            field,
            "unknown setting (see the settings table in README.md)".to_owned(),
        ),
        Kind::InvalidType(_, expected) | Kind::InvalidValue(_, expected) => {
            (key, format!("invalid value '{value}': expected {expected}"))
        }
        Kind::UnknownVariant(_, variants) => (
            key,
            format!("invalid value '{value}': expected one of {variants:?}"),
        ),
        other => (key, format!("invalid value '{value}': {other}")),
    };
    ConfigError::Key { path, key, message }
}

/// The settings table of README.md, rendered from the clap command: one Markdown row per
/// setting with its flag, environment variable, TOML key, built-in default and description.
pub fn settings_table() -> String {
    let cmd = Config::command();
    let mut out = String::from(
        "| flag | environment variable | TOML key | default | description |\n|---|---|---|---|---|\n",
    );
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if arg.is_positional() || NOT_SETTINGS.contains(&id) {
            continue;
        }
        let flag = arg
            .get_long()
            .map(|l| format!("`--{l}`"))
            .unwrap_or_default();
        let env = arg
            .get_env()
            .map(|e| format!("`{}`", e.to_string_lossy()))
            .unwrap_or_else(|| "—".into());
        let key = if id == "config" {
            "—".to_owned()
        } else {
            format!("`{id}`")
        };
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let default = match defaults.join(",") {
            d if d.is_empty() => "—".to_owned(),
            d => format!("`{d}`"),
        };
        let help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        out.push_str(&format!(
            "| {flag} | {env} | {key} | {default} | {} |\n",
            cell(&help)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn defaults_are_the_clap_attributes() {
        let defaults = dict(Value::serialize(Config::defaults()).unwrap());
        let mut checked = 0;
        for arg in Config::command().get_arguments() {
            let written: Vec<_> = arg.get_default_values().iter().collect();
            let value = defaults.get(arg.get_id().as_str());
            let Some(value) = value.filter(|v| !matches!(v, Value::Empty(..))) else {
                assert!(written.is_empty(), "{}", arg.get_id());
                continue;
            };
            let written = written
                .iter()
                .map(|v| v.to_string_lossy())
                .collect::<Vec<_>>()
                .join(",");
            assert_eq!(plain(value), written, "{}", arg.get_id());
            checked += 1;
        }
        assert!(checked > 20, "{checked}");
    }
}
