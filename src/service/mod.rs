//! The domain, free of GraphQL, in two floors (zero-to-production's domain split, lldap's
//! handlers over a backend):
//! - **use cases** (`accounts`, `contacts`, `visitors`, `merge`, `identity`, `transfer`): each
//!   public function validates its input, opens its own write transaction ([`begin_write`]),
//!   composes store functions, commits;
//! - the **store** ([`store`]): row-level functions over `&impl ConnectionTrait` that never
//!   begin a transaction, every one taking the tenant scope.
//!
//! Beside them: pure rules ([`fields`], the contact's field table; [`merge_plan`]) and the
//! read side (`contact_search`, `duplicates`, `prefetch`, `nodes`, `pagination`), plain
//! queries for the GraphQL readers. All SQL lives here (and in `graphql::loaders`, which calls
//! into here). Modules depend downwards only: use cases → store → pure rules.

pub mod accounts;
pub mod contact_search;
pub mod contacts;
pub mod duplicates;
pub mod fields;
pub mod identity;
pub mod merge;
pub mod merge_plan;
pub mod nodes;
pub mod pagination;
pub mod prefetch;
pub mod store;
pub mod transfer;
pub mod visitors;

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

/// A custom SQL expression with `?` placeholders bound to `values`, whatever the backend
/// (sea-query numbers PostgreSQL's `$` placeholders and takes SQLite's `?`). The SQL must hold
/// no other `?` (no literal, no jsonb `?` operator).
pub(crate) fn cust<V, I>(
    backend: sea_orm::DbBackend,
    sql: impl AsRef<str>,
    values: I,
) -> sea_orm::sea_query::SimpleExpr
where
    V: Into<sea_orm::Value>,
    I: IntoIterator<Item = V>,
{
    let sql = match backend {
        sea_orm::DbBackend::Postgres => sql.as_ref().replace('?', "$"),
        _ => sql.as_ref().to_owned(),
    };
    sea_orm::sea_query::Expr::cust_with_values(sql, values)
}

/// Begins a write transaction. On SQLite it is `BEGIN IMMEDIATE`, so that a transaction that
/// reads before it writes takes the write lock up front and waits (busy timeout) instead of
/// failing with `SQLITE_BUSY` on the upgrade; on PostgreSQL a plain `BEGIN` (READ COMMITTED).
pub async fn begin_write<C: sea_orm::TransactionTrait>(
    db: &C,
) -> Result<C::Transaction, sea_orm::DbErr> {
    db.begin_with_options(sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}
