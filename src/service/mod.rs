//! The domain, free of GraphQL, in two floors (zero-to-production's domain split, lldap's
//! handlers over a backend):
//! - **use cases** (`accounts`, `attributes`, `contacts`, `companies`, `visitors`, `merge`, `identity`,
//!   `transfer`): each public function validates its input, opens its own write transaction
//!   ([`begin_write`], a [`WriteTxn`] whose journal of timeline events is written as its last
//!   statement), composes store functions, commits;
//! - the **store** ([`store`]): row-level functions over `&impl ConnectionTrait` (or the
//!   `WriteTxn`, to record events) that never begin a transaction, every one taking the tenant
//!   scope.
//!
//! Beside them: pure rules ([`fields`], the contact's field table; [`merge_plan`];
//! [`attribute_rules`], what typed attributes accept; [`free_mail`]) and the read side
//! (`contact_search`, `company_search`, `attribute_filters`, `duplicates`, `prefetch`, `nodes`,
//! `pagination`), plain queries for the GraphQL readers. All SQL lives here (and in
//! `graphql::loaders`, which calls into here). Modules depend downwards only: use cases →
//! store → pure rules.

pub mod accounts;
pub mod attribute_filters;
pub mod attribute_rules;
pub mod attributes;
pub mod bulk;
pub mod companies;
pub mod company_search;
pub mod contact_search;
pub mod contacts;
pub mod duplicates;
pub mod events;
pub mod fields;
pub mod free_mail;
pub mod identity;
pub mod members;
pub mod merge;
pub mod merge_plan;
pub mod nodes;
pub mod notes;
pub mod pagination;
pub mod prefetch;
pub mod projection;
mod search_walk;
pub mod segments;
pub mod store;
pub mod transfer;
pub mod visitors;
pub mod webhooks;
pub mod write;

pub use write::WriteTxn;

use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;

/// The tenant scope of a call: every query filters on it; there is no lookup by id alone.
/// Built only by its constructors: from a verified caller ([`Self::of_caller`]), a session
/// ([`Self::of_session`]), or the operator's command line ([`Self::operator`]).
// Not `#[non_exhaustive]`: that would still allow struct literals inside this crate.
#[allow(clippy::manual_non_exhaustive)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProjectScope {
    /// The project every record read or written must belong to.
    pub project_id: Uuid,
    /// Keeps struct literals out: a scope comes from a constructor.
    sealed: (),
}

impl ProjectScope {
    /// The scope of a caller whose token was verified (`auth::Caller` exists only then).
    pub fn of_caller(caller: &crate::auth::Caller) -> Self {
        Self::verified(caller.project_id)
    }

    /// The scope of a session: a user signed in (or found for a verified token) in its
    /// project.
    pub fn of_session(session: &accounts::Session) -> Self {
        Self::verified(session.project.id)
    }

    /// The scope the operator names on the command line (`import-csv`, `export-csv`, `seed`;
    /// tests and benchmarks): whoever runs the binary on the server owns every project.
    pub fn operator(project_id: Uuid) -> Self {
        Self::verified(project_id)
    }

    /// A project the service itself verified the caller for (e.g. by a site token).
    pub(crate) fn verified(project_id: Uuid) -> Self {
        Self {
            project_id,
            sealed: (),
        }
    }
}

/// Now, truncated to microseconds: PostgreSQL's precision, so that a timestamp read back
/// equals the one written and keyset cursors compare exactly on both databases.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Raw SQL for what sea-query cannot say (full-text search, JSON functions, correlated
/// JSON aggregates), written as separate pieces: SQL text ([`RawSql::sql`]) and bound values
/// ([`RawSql::value`]). The one placeholder helper: the text is never searched for
/// placeholders, so a `?` in a string literal or PostgreSQL's jsonb `?` operator is kept as
/// written; each value becomes the backend's own placeholder (`$n` on PostgreSQL, `?` on
/// SQLite), numbered by sea-query across the whole statement. Text pieces must be whole SQL
/// tokens (no value inside a string literal); they are read with sea-query's tokenizer, which
/// takes a backslash in a string literal as an escape (so a literal ending in `\` is not
/// supported).
#[derive(Clone, Debug, Default)]
pub(crate) struct RawSql {
    pieces: Vec<Piece>,
}

#[derive(Clone, Debug)]
enum Piece {
    Sql(std::borrow::Cow<'static, str>),
    Value(sea_orm::Value),
}

impl RawSql {
    /// Empty SQL.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Appends SQL text, taken as written.
    pub(crate) fn sql(mut self, text: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        self.pieces.push(Piece::Sql(text.into()));
        self
    }

    /// Appends a bound value (a placeholder in the SQL).
    pub(crate) fn value(mut self, value: impl Into<sea_orm::Value>) -> Self {
        self.pieces.push(Piece::Value(value.into()));
        self
    }

    /// Appends the pieces of `other`.
    pub(crate) fn append(mut self, other: &RawSql) -> Self {
        self.pieces.extend(other.pieces.iter().cloned());
        self
    }

    /// The expression for `backend`: sea-query's `cust_with_values` over a template in which
    /// each value is the backend's placeholder and each text piece has that backend's
    /// placeholder mark escaped (doubled) outside literals, so sea-query binds exactly the
    /// values given and writes the text back unchanged.
    pub(crate) fn into_expr(self, backend: sea_orm::DbBackend) -> sea_orm::sea_query::SimpleExpr {
        let (template, values) = self.render(backend, true);
        sea_orm::sea_query::Expr::cust_with_values(template, values)
    }

    /// A whole statement for `backend` (an `UPDATE … RETURNING`, an upsert): the text as
    /// written, each value as the backend's placeholder.
    pub(crate) fn into_statement(self, backend: sea_orm::DbBackend) -> sea_orm::Statement {
        let (sql, values) = self.render(backend, false);
        sea_orm::Statement::from_sql_and_values(backend, sql, values)
    }

    /// The SQL text and its values for `backend`; with `escape`, the backend's placeholder
    /// mark in text pieces is doubled for sea-query's `cust_with_values`.
    fn render(self, backend: sea_orm::DbBackend, escape: bool) -> (String, Vec<sea_orm::Value>) {
        use sea_orm::sea_query::{Token, Tokenizer};
        let (mark, numbered) = match backend {
            sea_orm::DbBackend::Postgres => ("$", true),
            _ => ("?", false),
        };
        let mut template = String::new();
        let mut values = Vec::new();
        // True right after a placeholder: a following word, digit or mark would join it.
        let mut after_value = false;
        for piece in self.pieces {
            match piece {
                Piece::Sql(text) => {
                    let joins = |c: char| c.is_alphanumeric() || c == '_' || c == '$' || c == '?';
                    if after_value && text.starts_with(joins) {
                        template.push(' ');
                    }
                    // Text without the mark needs no escaping (and no tokenizing: this runs
                    // for every nested column of every read).
                    if escape && text.contains(mark) {
                        for token in Tokenizer::new(&text).iter() {
                            match token {
                                Token::Punctuation(p) if p == mark => {
                                    template.push_str(mark);
                                    template.push_str(mark);
                                }
                                other => template.push_str(other.as_str()),
                            }
                        }
                    } else {
                        template.push_str(&text);
                    }
                    after_value = false;
                }
                Piece::Value(value) => {
                    if after_value {
                        template.push(' ');
                    }
                    values.push(value);
                    template.push_str(mark);
                    if numbered {
                        template.push_str(&values.len().to_string());
                    }
                    after_value = true;
                }
            }
        }
        (template, values)
    }
}

/// What a use case runs on: a pool ([`sea_orm::DatabaseConnection`]) or an open transaction,
/// anything it can query and begin a [`WriteTxn`] on.
pub trait Database:
    sea_orm::ConnectionTrait + sea_orm::TransactionTrait<Transaction = sea_orm::DatabaseTransaction>
{
}

impl<T> Database for T where
    T: sea_orm::ConnectionTrait
        + sea_orm::TransactionTrait<Transaction = sea_orm::DatabaseTransaction>
{
}

/// Begins a use case's write transaction ([`WriteTxn::begin`]).
pub async fn begin_write<C>(db: &C) -> Result<WriteTxn, sea_orm::DbErr>
where
    C: sea_orm::TransactionTrait<Transaction = sea_orm::DatabaseTransaction>,
{
    WriteTxn::begin(db).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::DbBackend;
    use sea_orm::sea_query::{PostgresQueryBuilder, Query, SqliteQueryBuilder};

    fn built(raw: RawSql, backend: DbBackend) -> (String, usize) {
        let mut q = Query::select();
        q.expr(raw.into_expr(backend));
        let (sql, values) = match backend {
            DbBackend::Postgres => q.build(PostgresQueryBuilder),
            _ => q.build(SqliteQueryBuilder),
        };
        (sql, values.0.len())
    }

    #[test]
    fn literals_and_operators_survive_on_postgres() {
        let raw = RawSql::new()
            .sql(r#"("attributes" ? 'k' OR "note" = '?' OR "note" = '$1$' OR "a" ?| "#)
            .value("x")
            .sql(r#") AND "b" = "#)
            .value(2)
            .sql(" AND $ = 1 AND ")
            .value(true);
        assert_eq!(
            built(raw, DbBackend::Postgres),
            (
                r#"SELECT ("attributes" ? 'k' OR "note" = '?' OR "note" = '$1$' OR "a" ?| $1) AND "b" = $2 AND $ = 1 AND $3"#
                    .to_owned(),
                3
            )
        );
    }

    #[test]
    fn literals_survive_on_sqlite() {
        let raw = RawSql::new()
            .sql(r#""note" = '?' AND "a" = "#)
            .value("x")
            .sql(" AND ? = ")
            .value(2)
            .value(3)
            .sql("AND 1");
        assert_eq!(
            built(raw, DbBackend::Sqlite),
            (
                r#"SELECT "note" = '?' AND "a" = ? AND ? = ? ? AND 1"#.to_owned(),
                3
            )
        );
    }

    #[test]
    fn pieces_compose() {
        let filter = RawSql::new().sql(r#""p" = "#).value(1);
        let raw = RawSql::new().sql("(").append(&filter).sql(")");
        assert_eq!(
            built(raw, DbBackend::Postgres),
            (r#"SELECT ("p" = $1)"#.to_owned(), 1)
        );
    }
}
