//! The one typed configuration, from command-line flags, environment variables and an
//! optional TOML file (clap; the file's values become clap's defaults, so the precedence is
//! flag > environment variable > file > built-in default).

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser};

/// Every setting of the server. Each flag has an environment variable of the name shown, and
/// a key of the optional TOML file ([`Config::load`]) named like the field.
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

    /// TOML file with settings (keys named like the flags, with `_` for `-`, e.g.
    /// `database_url = "..."`): a flag or environment variable overrides it; an unknown key
    /// is an error.
    #[arg(long, env = "CONTACTS_CONFIG")]
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
    /// default): no `Access-Control-Allow-Origin`, so browsers allow same-origin calls only.
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

    /// Serve Prometheus metrics at `GET /metrics` on the API's port (`false` turns the
    /// route off: 404). They reveal operation names and traffic volumes: keep the route away
    /// from the public internet (reverse proxy rule) or turn it off.
    #[arg(long, env = "METRICS_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub metrics_enabled: bool,
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
    /// Export the contacts of a project (except erased ones) as CSV, in the import format.
    ExportCsv {
        /// The project to export (its id).
        #[arg(long)]
        project: uuid::Uuid,
        /// Output file; standard output when absent.
        #[arg(long)]
        out: Option<PathBuf>,
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
            db_sqlite_readers: 4,
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
            config: None,
            metrics_enabled: true,
        }
    }
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
    /// `(TOML key, raw value, source)` of every setting that has a value, in flag order
    /// (`--config` itself excluded).
    pub effective: Vec<(String, String, Source)>,
}

/// Settings that are no TOML keys: the file's own path, and clap's built-ins.
const NOT_IN_FILE: [&str; 3] = ["config", "help", "version"];

impl Config {
    /// [`Config::load_from`] with the process's arguments.
    pub fn load() -> Result<Loaded, ConfigError> {
        Self::load_from(std::env::args_os())
    }

    /// Parses `args` (the program name first) with the environment, over the TOML file named
    /// by `--config FILE` / `--config=FILE` or else `CONTACTS_CONFIG`: every key of the file
    /// must be a setting's TOML key (see [`settings_table`]); its value (a string, integer,
    /// float, boolean, or an array of those for comma-separated settings) becomes that flag's
    /// default, so flag > environment > file > built-in default. Errors: [`ConfigError`] (an
    /// unknown key names the key).
    pub fn load_from<I, T>(args: I) -> Result<Loaded, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let path =
            config_path(&args).or_else(|| std::env::var_os("CONTACTS_CONFIG").map(PathBuf::from));
        let mut cmd = Self::command();
        let mut from_file = Vec::new();
        if let Some(path) = path.filter(|p| !p.as_os_str().is_empty()) {
            for (key, value) in read_file(&path)? {
                let known = cmd.get_arguments().any(|a| {
                    a.get_id().as_str() == key
                        && !a.is_positional()
                        && !NOT_IN_FILE.contains(&key.as_str())
                });
                if !known {
                    return Err(ConfigError::Key {
                        path,
                        key,
                        message: "unknown setting (see the settings table in README.md)".into(),
                    });
                }
                let raw = toml_to_raw(&value).map_err(|message| ConfigError::Key {
                    path: path.clone(),
                    key: key.clone(),
                    message,
                })?;
                check_value(&cmd, &key, &raw).map_err(|message| ConfigError::Key {
                    path: path.clone(),
                    key: key.clone(),
                    message,
                })?;
                cmd = cmd.mut_arg(key.as_str(), |a| a.default_value(raw));
                from_file.push(key);
            }
        }
        let matches = cmd.try_get_matches_from(&args)?;
        let config = Self::from_arg_matches(&matches)?;
        let mut effective = Vec::new();
        for arg in Self::command().get_arguments() {
            let id = arg.get_id().as_str();
            if NOT_IN_FILE.contains(&id) {
                continue;
            }
            let Some(raw) = matches.get_raw(id) else {
                continue;
            };
            let value = raw
                .map(|v| v.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(",");
            let source = match matches.value_source(id) {
                Some(clap::parser::ValueSource::CommandLine) => Source::Flag,
                Some(clap::parser::ValueSource::EnvVariable) => Source::Env,
                _ if from_file.iter().any(|k| k == id) => Source::File,
                _ => Source::Default,
            };
            effective.push((id.to_owned(), value, source));
        }
        Ok(Loaded { config, effective })
    }
}

impl Loaded {
    /// The effective settings as TOML lines (`key = "value"  # source`), secrets (settings
    /// whose environment values clap hides) redacted as `"<redacted>"`.
    pub fn to_toml(&self) -> String {
        let cmd = Config::command();
        let mut out = String::new();
        for (key, value, source) in &self.effective {
            let secret = cmd
                .get_arguments()
                .any(|a| a.get_id().as_str() == key && a.is_hide_env_values_set());
            let value = if secret { "<redacted>" } else { value.as_str() };
            // Numbers and booleans bare; anything else as a JSON string literal, which is a
            // valid TOML basic string.
            let quoted = if value.parse::<i64>().is_ok() || value == "true" || value == "false" {
                value.to_owned()
            } else {
                serde_json::Value::String(value.to_owned()).to_string()
            };
            out.push_str(&format!("{key} = {quoted}  # {}\n", source.as_str()));
        }
        out
    }
}

/// The value of `--config FILE` or `--config=FILE` in `args`, if any.
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let text = arg.to_string_lossy();
        if text == "--" {
            break;
        }
        if text == "--config" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    None
}

fn read_file(path: &std::path::Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    text.parse::<toml::Table>().map_err(|e| ConfigError::Toml {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Checks `raw` with the value parser of the setting `key` (each part, for comma-separated
/// settings), so that a bad file value is reported against the file. Errors: the parser's
/// message.
fn check_value(cmd: &clap::Command, key: &str, raw: &str) -> Result<(), String> {
    let Some(arg) = cmd.get_arguments().find(|a| a.get_id().as_str() == key) else {
        return Err("unknown setting".into());
    };
    if !arg.get_action().takes_values() {
        // A switch (`--production`): the file may say true or false.
        return match raw {
            "true" | "false" => Ok(()),
            _ => Err(format!("expected true or false, found {raw:?}")),
        };
    }
    let Some(long) = arg.get_long() else {
        return Ok(());
    };
    // Parse the value alone with this setting's own definition (parser, delimiter).
    let probe = clap::Command::new("config-file").arg(arg.clone());
    probe
        .try_get_matches_from(["config-file".to_owned(), format!("--{long}={raw}")])
        .map(|_| ())
        .map_err(|e| {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            first.trim_start_matches("error: ").to_owned()
        })
}

/// A TOML value as the string clap parses: scalars as written, arrays joined with `,`.
fn toml_to_raw(value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        toml::Value::Array(items) => items
            .iter()
            .map(|v| match v {
                toml::Value::Array(_) | toml::Value::Table(_) => {
                    Err("arrays hold plain values only".to_owned())
                }
                other => toml_to_raw(other),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.join(",")),
        toml::Value::Table(_) | toml::Value::Datetime(_) => {
            Err("expected a string, number, boolean or array".to_owned())
        }
    }
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
        if arg.is_positional() || NOT_IN_FILE[1..].contains(&id) {
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
        let key = if NOT_IN_FILE.contains(&id) {
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
