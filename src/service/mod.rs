//! The domain, free of GraphQL: plain async functions over `&impl ConnectionTrait` and a tenant
//! scope. All SQL lives here (and in `graphql::loaders`, which calls into here).

pub mod accounts;
pub mod contact_search;
pub mod contacts;
pub mod duplicates;
pub mod identity;
pub mod leads;
pub mod merge;
pub mod nodes;
pub mod pagination;
pub mod prefetch;
pub mod requests;
pub mod timeline;
pub mod transfer;

use chrono::{DateTime, SubsecRound, Utc};
use uuid::Uuid;

/// The tenant scope of a call: every query filters on it; there is no lookup by id alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProjectScope {
    /// The project every record read or written must belong to.
    pub project_id: Uuid,
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
