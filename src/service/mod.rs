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
