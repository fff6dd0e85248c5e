//! Newest-first full-text search without reading the table (PostgreSQL; issue #12, Q5).
//!
//! A search ordered by creation time walks the project's newest contacts in
//! `idx_lead_project_created` order and keeps the ones whose words match, for a bounded
//! number of rows, before falling back to the GIN index (`src/service/search_walk.rs`). This
//! migration lets that walk read only the index: `idx_lead_project_created` on
//! `(project_id, created_at DESC, id DESC)` is rebuilt with `INCLUDE (status, search_vector)`,
//! so PostgreSQL checks a row's status and words in the index tuple (an index-only scan on a
//! vacuumed table) instead of fetching each row from the heap. The key columns, their order
//! and the index name are unchanged, so every other use of the index reads as before.
//!
//! SQLite needs no index: its walk reads the lead's rowid from the same index and probes the
//! FTS5 matches by rowid. `down` restores the plain index.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const PG_UP: &[&str] = &[
    "DROP INDEX IF EXISTS idx_lead_project_created",
    "CREATE INDEX idx_lead_project_created ON lead (project_id, created_at DESC, id DESC) INCLUDE (status, search_vector)",
];

const PG_DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS idx_lead_project_created",
    "CREATE INDEX idx_lead_project_created ON lead (project_id, created_at DESC, id DESC)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, PG_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, PG_DOWN).await
    }
}

async fn run(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for sql in statements {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}
