//! The one typed configuration, from command-line flags and environment variables (clap).

use std::net::SocketAddr;

use clap::Parser;

/// Every setting of the server. Each flag has an environment variable of the name shown.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "contacts-server",
    version,
    about = "GraphQL API server for contacts (leads)"
)]
pub struct Config {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,

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

    /// Largest size of the database connection pool.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// Seconds to wait for a free database connection before failing the request.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT_SECS", default_value_t = 5)]
    pub db_acquire_timeout_secs: u64,

    /// Largest accepted HTTP request body, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub max_body_bytes: usize,

    /// How long, in milliseconds, a DataLoader gathers keys before running its batch query.
    /// 1 ms (async-graphql's default) batches a page of 100 in a release build; raise it when
    /// CPU is so contended that batches split.
    #[arg(long, env = "DATALOADER_DELAY_MS", default_value_t = 1)]
    pub dataloader_delay_ms: u64,

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
    /// default): no CORS headers, so browsers allow same-origin calls only.
    #[arg(
        long,
        env = "CORS_ALLOWED_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub cors_allowed_origins: Vec<String>,

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
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for log shippers).
    Json,
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

    /// A configuration with every default, for tests and tools: as if no flag and no
    /// environment variable were given.
    pub fn defaults() -> Self {
        Self {
            command: None,
            database_url: "sqlite://data/contacts.db?mode=rwc".into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 8000)),
            jwt_secret: None,
            agent_token_ttl_secs: 8 * 3600,
            visitor_token_ttl_secs: 30 * 24 * 3600,
            production: false,
            db_max_connections: 16,
            db_acquire_timeout_secs: 5,
            max_body_bytes: 256 * 1024,
            request_timeout_secs: 30,
            dataloader_delay_ms: 1,
            max_query_depth: 15,
            max_query_complexity: 20_000,
            max_query_aliases: 30,
            max_root_fields: 20,
            rate_limit_anonymous_per_min: 60,
            rate_limit_sign_in_per_min: 10,
            rate_limit_mutations_per_min: 300,
            trusted_client_ip_header: None,
            cors_allowed_origins: Vec::new(),
            log_format: LogFormat::Text,
            header_read_timeout_secs: 10,
            max_header_bytes: 16 * 1024,
        }
    }
}
