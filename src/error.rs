//! The one error registry: [`AppError`] cases, each with one machine code ([`ErrorCode`]) that
//! clients read from `extensions.code`. Internal details are logged, never sent.
//!
//! Codes follow Apollo Server's conventional names (`UNAUTHENTICATED`, `FORBIDDEN`,
//! `BAD_USER_INPUT`, ...), so generated clients and GraphQL tooling recognise them.

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, SqlErr};

/// A stable machine code, sent as `extensions.code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// No valid token where one is needed; or an expired, forged or malformed token.
    Unauthenticated,
    /// A valid token whose role may not do this (e.g. a visitor calling an agent query).
    Forbidden,
    /// The record does not exist in the caller's project (another project's id included).
    NotFound,
    /// An argument failed validation; `extensions.field` names it.
    BadUserInput,
    /// The write conflicts with the stored state (duplicate key, stale version).
    Conflict,
    /// The request is not a valid GraphQL operation for this schema (syntax, unknown field,
    /// wrong variable type).
    GraphqlValidationFailed,
    /// Too many calls in a window (per client IP, email or token).
    RateLimited,
    /// A fault on the server's side; details are in the server log only.
    Internal,
    /// The operation nests selections deeper than `MAX_QUERY_DEPTH`, or the document, its
    /// variables or its fragment spreads nest deeper than `graphql::nesting::MAX_NESTING`.
    QueryTooDeep,
    /// The operation's complexity is over `MAX_QUERY_COMPLEXITY`.
    QueryTooComplex,
    /// The document has more aliased fields than `MAX_QUERY_ALIASES`.
    TooManyAliases,
    /// An operation selects more root fields than `MAX_ROOT_FIELDS`.
    TooManyRootFields,
    /// An automatic persisted query's hash is unknown: send the query text with it (Apollo's
    /// protocol).
    PersistedQueryNotFound,
    /// The HTTP request is not a GraphQL request (malformed JSON, no `query`, a batch, a
    /// content type other than `application/json`); HTTP 400 or 415.
    BadRequest,
    /// The request body is over `MAX_BODY_BYTES`; HTTP 413.
    PayloadTooLarge,
    /// A mutation sent with GET; HTTP 405.
    MethodNotAllowed,
}

impl ErrorCode {
    /// Every code the API sends, in the README's order.
    pub const ALL: [ErrorCode; 16] = [
        Self::Unauthenticated,
        Self::Forbidden,
        Self::NotFound,
        Self::BadUserInput,
        Self::Conflict,
        Self::QueryTooDeep,
        Self::QueryTooComplex,
        Self::TooManyAliases,
        Self::TooManyRootFields,
        Self::RateLimited,
        Self::BadRequest,
        Self::PayloadTooLarge,
        Self::MethodNotAllowed,
        Self::PersistedQueryNotFound,
        Self::GraphqlValidationFailed,
        Self::Internal,
    ];

    /// The `extensions.code` string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Conflict => "CONFLICT",
            Self::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Self::RateLimited => "RATE_LIMITED",
            Self::Internal => "INTERNAL",
            Self::QueryTooDeep => "QUERY_TOO_DEEP",
            Self::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Self::TooManyAliases => "TOO_MANY_ALIASES",
            Self::TooManyRootFields => "TOO_MANY_ROOT_FIELDS",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::BadRequest => "BAD_REQUEST",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
        }
    }

    /// A request-level GraphQL error (no path) with this code and `message`.
    pub fn server_error(self, message: impl Into<String>) -> async_graphql::ServerError {
        let mut err = async_graphql::ServerError::new(message, None);
        err.extensions
            .get_or_insert_with(Default::default)
            .set("code", self.as_str());
        err
    }

    /// The `{"errors": [{"message", "extensions": {"code"}}]}` body of an HTTP-level refusal
    /// (GraphQL over HTTP's shape for a request that never reached execution).
    pub fn http_body(self, message: &str) -> serde_json::Value {
        serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": self.as_str() } }] })
    }
}

/// Every error the domain can return. Services return it; resolvers convert it once, through
/// `From<AppError> for async_graphql::Error`, which sets `extensions.code` (and `field`).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// `UNAUTHENTICATED`.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// `FORBIDDEN`.
    #[error("{0}")]
    Forbidden(&'static str),
    /// `NOT_FOUND`: the named kind of record.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// `BAD_USER_INPUT`, with the offending input field's name (GraphQL spelling).
    #[error("{message}")]
    BadUserInput {
        /// The input field, e.g. `email`.
        field: &'static str,
        /// A human-readable reason.
        message: String,
    },
    /// `CONFLICT`.
    #[error("{0}")]
    Conflict(String),
    /// `CONFLICT` on a create whose key is taken; `extensions.existingId` gives the holder.
    #[error("a contact with this leadId already exists")]
    AlreadyExists {
        /// The existing record's id.
        existing_id: uuid::Uuid,
    },
    /// A merge blocker (see `service::merge::Blocker`): sent with `code` as
    /// `extensions.code` (`BAD_USER_INPUT`, `NOT_FOUND` or `CONFLICT`) and the blocker's
    /// machine reason as `extensions.reason` (e.g. `SELF_MERGE`).
    #[error("{message}")]
    Blocked {
        /// The `extensions.code`.
        code: ErrorCode,
        /// The blocker's reason code (`extensions.reason`).
        reason: &'static str,
        /// A human-readable reason.
        message: String,
    },
    /// `CONFLICT` (`extensions.reason` `ALREADY_MERGED`): a write to a merged-away contact;
    /// `extensions.mergedInto` gives the surviving contact to write to instead.
    #[error("the contact was merged into {into}: edit that contact")]
    MergedAway {
        /// The surviving contact.
        into: uuid::Uuid,
    },
    /// `RATE_LIMITED`: too many calls; `extensions.retryAfter` gives the seconds to wait.
    #[error("rate limit exceeded: retry after {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a retry can succeed.
        retry_after_secs: u64,
    },
    /// `INTERNAL`: the source is logged, the client sees only "internal error".
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    /// A `BAD_USER_INPUT` error for `field`.
    pub fn bad_input(field: &'static str, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field,
            message: message.into(),
        }
    }

    /// An `INTERNAL` error carrying `detail` for the log.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal(detail.to_string())
    }

    /// This error's machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated(_) => ErrorCode::Unauthenticated,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::BadUserInput { .. } => ErrorCode::BadUserInput,
            Self::Conflict(_) | Self::AlreadyExists { .. } | Self::MergedAway { .. } => {
                ErrorCode::Conflict
            }
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Blocked { code, .. } => *code,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

/// Database errors, mapped in this one place: a unique-key violation is `CONFLICT`, a
/// foreign-key violation `BAD_USER_INPUT`, anything else `INTERNAL`.
impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                Self::Conflict("the record already exists".into())
            }
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                Self::bad_input("id", "a referenced record does not exist")
            }
            _ => Self::internal(err),
        }
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        let code = err.code();
        let message = match &err {
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        let mut gql = async_graphql::Error::new(message);
        gql = gql.extend_with(|_, ext| ext.set("code", code.as_str()));
        match &err {
            AppError::BadUserInput { field, .. } => {
                let field = *field;
                gql = gql.extend_with(|_, ext| ext.set("field", field));
            }
            AppError::RateLimited { retry_after_secs } => {
                let secs = *retry_after_secs;
                gql = gql.extend_with(|_, ext| ext.set("retryAfter", secs));
            }
            AppError::AlreadyExists { existing_id } => {
                let id = existing_id.to_string();
                gql = gql.extend_with(|_, ext| ext.set("existingId", id));
            }
            AppError::MergedAway { into } => {
                let into = into.to_string();
                gql = gql.extend_with(|_, ext| {
                    ext.set("reason", "ALREADY_MERGED");
                    ext.set("mergedInto", into);
                });
            }
            AppError::Blocked { reason, .. } => {
                let reason = *reason;
                gql = gql.extend_with(|_, ext| ext.set("reason", reason));
            }
            _ => {}
        }
        gql
    }
}

/// Loader errors (`Arc<DbErr>`, shared by every key of a batch) are internal.
impl From<std::sync::Arc<DbErr>> for AppError {
    fn from(err: std::sync::Arc<DbErr>) -> Self {
        Self::internal(err)
    }
}

/// The result type of services.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    /// The README's error table names every code of the registry, and no other.
    #[test]
    fn readme_lists_every_code() {
        let readme = include_str!("../README.md");
        let start = readme.find("### Errors").expect("an Errors section");
        let table: String = readme[start..]
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .map(|l| l.split('|').nth(1).unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let listed: Vec<&str> = table
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|w| w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            .collect();
        let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        for code in &codes {
            assert!(listed.contains(code), "README's error table lacks {code}");
        }
        for code in &listed {
            assert!(
                codes.contains(code),
                "README lists {code}, not in ErrorCode"
            );
        }
    }
}
