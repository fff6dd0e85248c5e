//! The one error registry: every `extensions.code` the API sends ([`ErrorCode`]), every
//! `extensions.reason` ([`BlockReason`]), the [`AppError`] cases of the domain (each with one
//! code), and the one classifier of async-graphql's own uncoded errors
//! ([`classify_uncoded`]). Internal details are logged, never sent. README's error tables are
//! generated from [`ErrorCode::ALL`] and [`BlockReason::ALL`] (a unit test fails on drift).
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
    /// A WebSocket connection already holds `WS_MAX_SUBSCRIPTIONS_PER_CONNECTION`
    /// subscriptions.
    TooManySubscriptions,
}

impl ErrorCode {
    /// Every code the API sends, in the README's order.
    pub const ALL: [ErrorCode; 17] = [
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
        Self::TooManySubscriptions,
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
            Self::TooManySubscriptions => "TOO_MANY_SUBSCRIPTIONS",
        }
    }

    /// When the API sends this code: the README's wording (its error table is generated from
    /// this, see [`ErrorCode::markdown_table`]).
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Unauthenticated => {
                "no token where one is needed; an expired, forged or malformed token; wrong email or password"
            }
            Self::Forbidden => {
                "a valid token whose role may not do this (visitor on agent queries, agent on visitor mutations, agent not a member of `projectId`)"
            }
            Self::NotFound => "an unknown record, e.g. `signInAnonymously` with an unknown project",
            Self::BadUserInput => {
                "an invalid argument (`extensions.field` names it): email, phone, names, attributes not an object, a custom attribute value that does not fit its definition or an undefined key in strict mode (`attributes.<key>`), `first` outside 0..100, a bad cursor or id; an argument or variable value that does not parse as its type (e.g. a bad `DateTime`)"
            }
            Self::Conflict => {
                "a duplicate (an agent email already signed up; a contact `leadId` or a company `domain` already used, with `extensions.existingId`), a stale `expectedVersion`, a change to an erased or merged-away contact (`extensions.reason` `ALREADY_MERGED`, `extensions.mergedInto`), a merge blocker or an unmerge after changes (`extensions.reason` for merge blockers, below)"
            }
            Self::QueryTooDeep => {
                "the operation nests selections deeper than `MAX_QUERY_DEPTH`, or the document, its variables or its fragment spreads nest past the fixed bounds (below); refused before any resolver runs (no SQL)"
            }
            Self::QueryTooComplex => {
                "the operation's complexity is over `MAX_QUERY_COMPLEXITY` (each field costs 1, a list field its page size times its children); refused before any resolver runs"
            }
            Self::TooManyAliases => {
                "the document has more aliased fields than `MAX_QUERY_ALIASES`; refused before any resolver runs"
            }
            Self::TooManyRootFields => {
                "an operation selects more root fields than `MAX_ROOT_FIELDS`; refused before any resolver runs"
            }
            Self::RateLimited => {
                "over a rate limit; `extensions.retryAfter` gives the seconds to wait"
            }
            Self::BadRequest => {
                "HTTP 400 or 415: the HTTP request itself is not a GraphQL request: malformed JSON, a batch, no `query` string, a bad `persistedQuery` extension (another version, a hash that does not match the text), a POST whose `Content-Type` is not `application/json` (415)"
            }
            Self::PayloadTooLarge => {
                "HTTP 413: the body is over `MAX_BODY_BYTES` (with a `Content-Length` or chunked)"
            }
            Self::MethodNotAllowed => "HTTP 405: a mutation over GET",
            Self::TooManySubscriptions => {
                "a subscription over the connection's cap (`WS_MAX_SUBSCRIPTIONS_PER_CONNECTION`): complete one first"
            }
            Self::PersistedQueryNotFound => {
                "an APQ hash the server does not know yet: resend with the query"
            }
            Self::GraphqlValidationFailed => {
                "the operation itself is invalid (syntax, unknown field, wrong variable type)"
            }
            Self::Internal => "a server fault; the message is only `internal error`",
        }
    }

    /// README's error table (`| code | when |`), one row per code of [`ErrorCode::ALL`], in
    /// order.
    pub fn markdown_table() -> String {
        let mut out = String::from("| code | when |\n|---|---|\n");
        for code in Self::ALL {
            out.push_str(&format!("| `{}` | {} |\n", code.as_str(), code.meaning()));
        }
        out
    }

    /// A request-level GraphQL error (no path) with this code and `message`.
    pub fn server_error(self, message: impl Into<String>) -> async_graphql::ServerError {
        let mut err = async_graphql::ServerError::new(message, None);
        err.extensions
            .get_or_insert_with(Default::default)
            .set("code", self.as_str());
        err
    }

    /// A request-level GraphQL error with this code and `message`, located at `pos` in the
    /// document.
    pub fn server_error_at(
        self,
        message: impl Into<String>,
        pos: async_graphql::Pos,
    ) -> async_graphql::ServerError {
        let mut err = self.server_error(message);
        err.locations = vec![pos];
        err
    }

    /// The `{"errors": [{"message", "extensions": {"code"}}]}` body of an HTTP-level refusal
    /// (GraphQL over HTTP's shape for a request that never reached execution).
    pub fn http_body(self, message: &str) -> serde_json::Value {
        serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": self.as_str() } }] })
    }
}

/// Why a merge cannot happen: `extensions.reason` of the error `mergeContacts` returns (with
/// [`BlockReason::code`] as `extensions.code`) and `MergeBlocker.reason` of the preview.
/// `ALREADY_MERGED` is also the reason of a write to a merged-away contact
/// ([`AppError::MergedAway`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockReason {
    /// A secondary is the primary itself.
    SelfMerge,
    /// An id is given twice.
    DuplicateId,
    /// No such contact in the caller's project (another project's contacts included).
    NotFound,
    /// The contact is soft-deleted (restore it first).
    Deleted,
    /// The contact was erased (GDPR).
    Erased,
    /// The contact is already merged into another one (a tombstone).
    AlreadyMerged,
    /// Both contacts are identified visitors with different external ids.
    IdentifiedConflict,
    /// A field choice names a contact that is not part of the merge.
    InvalidFieldChoice,
    /// The merged contact would exceed a limit (tags, attributes, additional emails).
    TooLarge,
}

impl BlockReason {
    /// Every reason, in the README's order.
    pub const ALL: [BlockReason; 9] = [
        Self::SelfMerge,
        Self::DuplicateId,
        Self::InvalidFieldChoice,
        Self::TooLarge,
        Self::NotFound,
        Self::Deleted,
        Self::Erased,
        Self::AlreadyMerged,
        Self::IdentifiedConflict,
    ];

    /// The machine reason (`extensions.reason`, `MergeBlocker.reason`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SelfMerge => "SELF_MERGE",
            Self::DuplicateId => "DUPLICATE_ID",
            Self::NotFound => "NOT_FOUND",
            Self::Deleted => "DELETED",
            Self::Erased => "ERASED",
            Self::AlreadyMerged => "ALREADY_MERGED",
            Self::IdentifiedConflict => "IDENTIFIED_CONFLICT",
            Self::InvalidFieldChoice => "INVALID_FIELD_CHOICE",
            Self::TooLarge => "TOO_LARGE",
        }
    }

    /// The `extensions.code` `mergeContacts` fails with.
    pub fn code(self) -> ErrorCode {
        match self {
            Self::SelfMerge | Self::DuplicateId | Self::InvalidFieldChoice | Self::TooLarge => {
                ErrorCode::BadUserInput
            }
            Self::NotFound => ErrorCode::NotFound,
            Self::Deleted | Self::Erased | Self::AlreadyMerged | Self::IdentifiedConflict => {
                ErrorCode::Conflict
            }
        }
    }

    /// When a merge is blocked for this reason: the README's wording.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::SelfMerge => "a secondary is the primary itself",
            Self::DuplicateId => "an id is listed twice",
            Self::InvalidFieldChoice => "a field choice names a contact outside the merge",
            Self::TooLarge => {
                "the merged contact would exceed a limit: 100 tags, the attribute limits, 50 additional emails"
            }
            Self::NotFound => "an unknown contact, or another project's",
            Self::Deleted => "a soft-deleted contact: restore it first",
            Self::Erased => "an erased contact",
            Self::AlreadyMerged => {
                "a contact already merged into another one (also a write to a merged-away contact, with `extensions.mergedInto`)"
            }
            Self::IdentifiedConflict => {
                "both contacts are identified visitors with different external ids"
            }
        }
    }

    /// README's merge-blocker table (`| reason | code | when |`), one row per reason of
    /// [`BlockReason::ALL`], in order.
    pub fn markdown_table() -> String {
        let mut out = String::from("| reason | code | when |\n|---|---|---|\n");
        for reason in Self::ALL {
            out.push_str(&format!(
                "| `{}` | `{}` | {} |\n",
                reason.as_str(),
                reason.code().as_str(),
                reason.meaning()
            ));
        }
        out
    }
}

/// The code of an error async-graphql raised itself, without `extensions.code`: the **one**
/// place that reads async-graphql's message text, because for these errors it gives nothing
/// typed (`InputValueError` becomes a `ServerError` with only a message and a position).
/// Depth, recursion and complexity limits need no such reading: `graphql::limits` checks
/// them before async-graphql does.
///
/// Takes the message and whether the error has a `path` (it arose while executing a field);
/// returns:
/// - `BAD_USER_INPUT` for an argument or variable value that does not parse as its type:
///   `Failed to parse "T": ...` and `Expected input type "T", found ...` (while executing),
///   `Invalid value for argument ...` (validation of a literal), `Variable x is not defined.`
///   (a variable the request does not give);
/// - `GRAPHQL_VALIDATION_FAILED` for any other error without a path (the request's own:
///   validation, an unknown operation name);
/// - `INTERNAL` for any other error with a path (the caller logs it and replaces the
///   message).
///
/// A unit test produces each recognised message with async-graphql itself, so an upgrade
/// that changes one fails a test.
pub fn classify_uncoded(message: &str, has_path: bool) -> ErrorCode {
    let coercion = message.starts_with("Failed to parse ")
        || message.starts_with("Invalid value for argument")
        || message.starts_with("Expected input type ")
        || (message.starts_with("Variable ") && message.ends_with(" is not defined."));
    if coercion {
        ErrorCode::BadUserInput
    } else if has_path {
        ErrorCode::Internal
    } else {
        ErrorCode::GraphqlValidationFailed
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
    /// `BAD_USER_INPUT` on one custom attribute of a contact: `extensions.field` is
    /// `attributes.<key>` (the value does not fit the key's definition, or the project is in
    /// strict mode and the key is not defined).
    #[error("{message}")]
    BadAttribute {
        /// The attribute's top-level key.
        key: String,
        /// A human-readable reason (what type was expected).
        message: String,
    },
    /// `CONFLICT` on a create or change whose unique key is taken (a contact's `leadId`, a
    /// company's `domain`, a segment's name, an attribute's key); `extensions.existingId` gives
    /// the holder.
    #[error("{what} already exists")]
    AlreadyExists {
        /// What is taken, e.g. `a contact with this leadId`.
        what: &'static str,
        /// The existing record's id.
        existing_id: uuid::Uuid,
    },
    /// A merge blocker (see `service::merge::Blocker`): sent with the reason's
    /// [`BlockReason::code`] as `extensions.code` (`BAD_USER_INPUT`, `NOT_FOUND` or
    /// `CONFLICT`) and the reason as `extensions.reason` (e.g. `SELF_MERGE`).
    #[error("{message}")]
    Blocked {
        /// Why (`extensions.reason`).
        reason: BlockReason,
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
    /// `TOO_MANY_SUBSCRIPTIONS`: the connection already holds this many.
    #[error("this connection already holds {0} subscriptions")]
    TooManySubscriptions(usize),
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

    /// A `BAD_USER_INPUT` error on the custom attribute `key` (`extensions.field`
    /// `attributes.<key>`).
    pub fn bad_attribute(key: &str, message: impl Into<String>) -> Self {
        Self::BadAttribute {
            key: key.to_owned(),
            message: message.into(),
        }
    }

    /// The input a `BAD_USER_INPUT` error names (`extensions.field`): the field of
    /// [`AppError::BadUserInput`], `attributes.<key>` for [`AppError::BadAttribute`]; `None`
    /// for other errors.
    pub fn input_field(&self) -> Option<String> {
        match self {
            Self::BadUserInput { field, .. } => Some((*field).to_owned()),
            Self::BadAttribute { key, .. } => Some(format!("attributes.{key}")),
            _ => None,
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
            Self::BadUserInput { .. } | Self::BadAttribute { .. } => ErrorCode::BadUserInput,
            Self::Conflict(_) | Self::AlreadyExists { .. } | Self::MergedAway { .. } => {
                ErrorCode::Conflict
            }
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::TooManySubscriptions(_) => ErrorCode::TooManySubscriptions,
            Self::Blocked { reason, .. } => reason.code(),
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
        if let Some(field) = err.input_field() {
            gql = gql.extend_with(|_, ext| ext.set("field", field.as_str()));
        }
        match &err {
            AppError::RateLimited { retry_after_secs } => {
                let secs = *retry_after_secs;
                gql = gql.extend_with(|_, ext| ext.set("retryAfter", secs));
            }
            AppError::AlreadyExists { existing_id, .. } => {
                let id = existing_id.to_string();
                gql = gql.extend_with(|_, ext| ext.set("existingId", id));
            }
            AppError::MergedAway { into } => {
                let into = into.to_string();
                gql = gql.extend_with(|_, ext| {
                    ext.set("reason", BlockReason::AlreadyMerged.as_str());
                    ext.set("mergedInto", into);
                });
            }
            AppError::Blocked { reason, .. } => {
                let reason = reason.as_str();
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
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::{BlockReason, ErrorCode, classify_uncoded};
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

    /// Replaces (with `UPDATE_README=1`) or checks README's generated table between
    /// `<!-- {name}:begin ... -->` and `<!-- {name}:end -->`.
    fn generated_section(name: &str, generated: &str) {
        let begin = format!(
            "<!-- {name}:begin (generated: UPDATE_README=1 cargo test --lib readme_) -->\n"
        );
        let end = format!("<!-- {name}:end -->");
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        let (head, rest) = readme
            .split_once(&begin)
            .unwrap_or_else(|| panic!("README has no `{begin}` marker"));
        let (table, tail) = rest
            .split_once(&end)
            .unwrap_or_else(|| panic!("README has no `{end}` marker"));
        if std::env::var_os("UPDATE_README").is_some() && table != generated {
            std::fs::write(path, format!("{head}{begin}{generated}{end}{tail}")).unwrap();
            return;
        }
        assert!(
            table == generated,
            "README.md's {name} is out of date: run `UPDATE_README=1 cargo test --lib readme_` and commit it"
        );
    }

    /// README's error table and merge-blocker table are generated from the registry: every
    /// code and reason, once, in order (one test: both rewrite the same file).
    #[test]
    fn readme_tables_are_generated() {
        let table = ErrorCode::markdown_table();
        generated_section("error-table", &table);
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code:?} twice in ALL");
            assert!(table.contains(&format!("| `{}` |", code.as_str())));
        }
        assert!(
            table.contains("| `INTERNAL` | a server fault; the message is only `internal error` |")
        );
        let table = BlockReason::markdown_table();
        generated_section("merge-reasons", &table);
        let mut seen = std::collections::HashSet::new();
        for reason in BlockReason::ALL {
            assert!(seen.insert(reason.as_str()), "{reason:?} twice in ALL");
        }
        assert!(table.contains("| `SELF_MERGE` | `BAD_USER_INPUT` |"));
        assert!(table.contains("| `IDENTIFIED_CONFLICT` | `CONFLICT` |"));
    }

    /// A `match` that lists every variant: adding one without adding it to `ALL` fails here
    /// (the compiler forces the match; the test, the count).
    #[test]
    fn all_lists_every_variant() {
        let index = |c: ErrorCode| match c {
            ErrorCode::Unauthenticated
            | ErrorCode::Forbidden
            | ErrorCode::NotFound
            | ErrorCode::BadUserInput
            | ErrorCode::Conflict
            | ErrorCode::GraphqlValidationFailed
            | ErrorCode::RateLimited
            | ErrorCode::Internal
            | ErrorCode::QueryTooDeep
            | ErrorCode::QueryTooComplex
            | ErrorCode::TooManyAliases
            | ErrorCode::TooManyRootFields
            | ErrorCode::PersistedQueryNotFound
            | ErrorCode::BadRequest
            | ErrorCode::PayloadTooLarge
            | ErrorCode::MethodNotAllowed
            | ErrorCode::TooManySubscriptions => ErrorCode::ALL.iter().position(|x| *x == c),
        };
        for code in ErrorCode::ALL {
            assert!(index(code).is_some());
        }
        assert_eq!(ErrorCode::ALL.len(), 17);
        let reason = |r: BlockReason| match r {
            BlockReason::SelfMerge
            | BlockReason::DuplicateId
            | BlockReason::NotFound
            | BlockReason::Deleted
            | BlockReason::Erased
            | BlockReason::AlreadyMerged
            | BlockReason::IdentifiedConflict
            | BlockReason::InvalidFieldChoice
            | BlockReason::TooLarge => BlockReason::ALL.iter().position(|x| *x == r),
        };
        for r in BlockReason::ALL {
            assert!(reason(r).is_some());
        }
        assert_eq!(BlockReason::ALL.len(), 9);
    }

    struct Q;

    #[Object]
    impl Q {
        async fn n(&self, n: i32) -> i32 {
            n
        }
        async fn at(&self, at: chrono::DateTime<chrono::Utc>) -> String {
            at.to_rfc3339()
        }
    }

    /// The errors of `query` with `variables` on a small schema, each with its class.
    async fn classified(query: &str, variables: serde_json::Value) -> Vec<(String, ErrorCode)> {
        let schema = Schema::new(Q, EmptyMutation, EmptySubscription);
        let request = async_graphql::Request::new(query)
            .variables(async_graphql::Variables::from_json(variables));
        let response = schema.execute(request).await;
        assert!(!response.errors.is_empty(), "{query}: no error");
        response
            .errors
            .into_iter()
            .map(|e| {
                let class = classify_uncoded(&e.message, !e.path.is_empty());
                (e.message, class)
            })
            .collect()
    }

    /// Each message the classifier recognises, as async-graphql produces it today.
    #[tokio::test]
    async fn classifies_each_message_async_graphql_sends() {
        let cases = [
            // An argument literal that is not a DateTime: refused while executing the field.
            (
                "{ at(at: \"yesterday\") }",
                serde_json::json!({}),
                "Failed to parse \"DateTime\"",
            ),
            // A literal of the wrong type: refused by validation.
            (
                "{ n(n: \"x\") }",
                serde_json::json!({}),
                "Invalid value for argument",
            ),
            // A literal a scalar's parser refuses (validation lets scalars through).
            (
                "{ at(at: 5) }",
                serde_json::json!({}),
                "Expected input type \"DateTime\"",
            ),
            // A variable value of the wrong type: refused by validation.
            (
                "query($v: Int!) { n(n: $v) }",
                serde_json::json!({ "v": "x" }),
                "Invalid value for argument",
            ),
            // A nullable variable left out, for a non-null argument.
            (
                "query($v: Int) { n(n: $v) }",
                serde_json::json!({}),
                "Expected input type \"Int\", found null.",
            ),
            // A non-null variable the request does not give.
            (
                "query($v: Int!) { n(n: $v) }",
                serde_json::json!({}),
                "Variable v is not defined.",
            ),
        ];
        for (query, variables, start) in cases {
            let errors = classified(query, variables).await;
            assert!(
                errors
                    .iter()
                    .any(|(m, _)| m.starts_with(start) || m == start),
                "{query}: async-graphql no longer says `{start}...`: {errors:?}"
            );
            for (message, class) in errors {
                assert_eq!(class, ErrorCode::BadUserInput, "{query}: {message}");
            }
        }
        // Anything else: the request's own without a path, ours with one.
        let errors = classified("{ nope }", serde_json::json!({})).await;
        assert_eq!(
            errors[0].1,
            ErrorCode::GraphqlValidationFailed,
            "{errors:?}"
        );
        assert_eq!(
            classify_uncoded("Data `Db` does not exist.", true),
            ErrorCode::Internal
        );
    }
}
