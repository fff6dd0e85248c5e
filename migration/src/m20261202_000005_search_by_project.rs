//! Full-text search scoped to its project inside the index, on both databases.
//!
//! Every search filters by `project_id`, but the full-text indexes knew nothing of projects:
//! both databases found a word's matches in *all* projects, then dropped the other projects'
//! rows one by one, so a search cost grew with the whole table instead of the project.
//!
//! - PostgreSQL: the GIN index on `search_vector` alone (PostgreSQL ANDed its bitmap with a
//!   bitmap of every row of the project, from a b-tree) is replaced by one GIN index on
//!   `(project_id, search_vector)` (the `btree_gin` extension gives GIN an operator class for
//!   `uuid`): the index scan intersects the project's posting list with the words' own.
//! - SQLite: FTS5 has no such composite index, but it reads a rowid *range* of a word's
//!   doclist without walking the rest. `lead_fts` is rebuilt so that its rowid puts the
//!   project first: `(project bucket << 46) + lead.rowid`, where the bucket is the first two
//!   bytes of the project id (16 bits; `src/service/contact_search.rs` computes the same bucket
//!   from the id it binds). A search asks for the range of
//!   its project's bucket (a superset when two projects share a bucket; the query keeps its
//!   exact `project_id` filter) and finds its lead by `fts rowid & (2^46 - 1)`. Same columns,
//!   tokenizer and statistics as before, so bm25 ranks exactly as before. The content is read
//!   through a view (`lead_fts_source`) that computes that rowid; triggers keep it in sync.
//!
//! Lead rowids must stay below 2^46 (about 7 * 10^13), which an auto-assigned rowid does.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// SQL of a lead's 16-bit project bucket (the first two bytes of its `project_id` blob), for
/// a row alias `row` (`new`, `old` or `lead`). The server computes the same from the id's bytes.
macro_rules! bucket {
    ($row:literal) => {
        concat!(
            "((instr('0123456789ABCDEF', substr(hex(",
            $row,
            ".project_id), 1, 1)) - 1) * 4096 + ",
            "(instr('0123456789ABCDEF', substr(hex(",
            $row,
            ".project_id), 2, 1)) - 1) * 256 + ",
            "(instr('0123456789ABCDEF', substr(hex(",
            $row,
            ".project_id), 3, 1)) - 1) * 16 + ",
            "(instr('0123456789ABCDEF', substr(hex(",
            $row,
            ".project_id), 4, 1)) - 1))"
        )
    };
}

const SQLITE_DROP_FTS: &[&str] = &[
    "DROP TRIGGER IF EXISTS lead_fts_au",
    "DROP TRIGGER IF EXISTS lead_fts_ad",
    "DROP TRIGGER IF EXISTS lead_fts_ai",
    "DROP TABLE IF EXISTS lead_fts",
];

const SQLITE_UP: &[&str] = &[
    concat!(
        "CREATE VIEW lead_fts_source AS SELECT (",
        bucket!("lead"),
        " << 46) + lead.rowid AS fts_rowid, fullname, email, phone, company FROM lead"
    ),
    r#"CREATE VIRTUAL TABLE lead_fts USING fts5(fullname, email, phone, company, content='lead_fts_source', content_rowid='fts_rowid', tokenize="unicode61 remove_diacritics 2")"#,
    concat!(
        "CREATE TRIGGER lead_fts_ai AFTER INSERT ON lead BEGIN ",
        "INSERT INTO lead_fts(rowid, fullname, email, phone, company) VALUES ((",
        bucket!("new"),
        " << 46) + new.rowid, new.fullname, new.email, new.phone, new.company); END"
    ),
    concat!(
        "CREATE TRIGGER lead_fts_ad AFTER DELETE ON lead BEGIN ",
        "INSERT INTO lead_fts(lead_fts, rowid, fullname, email, phone, company) VALUES ('delete', (",
        bucket!("old"),
        " << 46) + old.rowid, old.fullname, old.email, old.phone, old.company); END"
    ),
    concat!(
        "CREATE TRIGGER lead_fts_au AFTER UPDATE OF fullname, email, phone, company, project_id ON lead BEGIN ",
        "INSERT INTO lead_fts(lead_fts, rowid, fullname, email, phone, company) VALUES ('delete', (",
        bucket!("old"),
        " << 46) + old.rowid, old.fullname, old.email, old.phone, old.company); ",
        "INSERT INTO lead_fts(rowid, fullname, email, phone, company) VALUES ((",
        bucket!("new"),
        " << 46) + new.rowid, new.fullname, new.email, new.phone, new.company); END"
    ),
    "INSERT INTO lead_fts(lead_fts) VALUES ('rebuild')",
];

/// The index of migration `m20261129_000002_contact_management`, as it was.
const SQLITE_DOWN: &[&str] = &[
    "DROP VIEW IF EXISTS lead_fts_source",
    r#"CREATE VIRTUAL TABLE lead_fts USING fts5(fullname, email, phone, company, content='lead', content_rowid='rowid', tokenize="unicode61 remove_diacritics 2")"#,
    r#"CREATE TRIGGER lead_fts_ai AFTER INSERT ON lead BEGIN
        INSERT INTO lead_fts(rowid, fullname, email, phone, company) VALUES (new.rowid, new.fullname, new.email, new.phone, new.company);
    END"#,
    r#"CREATE TRIGGER lead_fts_ad AFTER DELETE ON lead BEGIN
        INSERT INTO lead_fts(lead_fts, rowid, fullname, email, phone, company) VALUES ('delete', old.rowid, old.fullname, old.email, old.phone, old.company);
    END"#,
    r#"CREATE TRIGGER lead_fts_au AFTER UPDATE OF fullname, email, phone, company ON lead BEGIN
        INSERT INTO lead_fts(lead_fts, rowid, fullname, email, phone, company) VALUES ('delete', old.rowid, old.fullname, old.email, old.phone, old.company);
        INSERT INTO lead_fts(rowid, fullname, email, phone, company) VALUES (new.rowid, new.fullname, new.email, new.phone, new.company);
    END"#,
    "INSERT INTO lead_fts(lead_fts) VALUES ('rebuild')",
];

const POSTGRES_UP: &[&str] = &[
    // A trusted extension (PostgreSQL 13+): the database owner may create it.
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    "CREATE INDEX IF NOT EXISTS idx_lead_project_search ON lead USING GIN (project_id, search_vector)",
    "DROP INDEX IF EXISTS idx_lead_search",
];

const POSTGRES_DOWN: &[&str] = &[
    "CREATE INDEX IF NOT EXISTS idx_lead_search ON lead USING GIN (search_vector)",
    "DROP INDEX IF EXISTS idx_lead_project_search",
    // Refused (not cascaded) if something else came to depend on the extension.
    "DROP EXTENSION IF EXISTS btree_gin",
];

async fn run(manager: &SchemaManager<'_>, groups: &[&'static [&'static str]]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    for group in groups {
        for sql in group.iter() {
            db.execute_unprepared(sql).await?;
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on both databases (SeaORM runs SQLite migrations without one, each
    /// statement on any pooled connection): a connection whose cached schema still holds the
    /// dropped `lead_fts_ai` would refuse to create it again ("already exists").
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Sqlite => run(manager, &[SQLITE_DROP_FTS, SQLITE_UP]).await,
            DbBackend::Postgres => run(manager, &[POSTGRES_UP]).await,
            _ => Err(DbErr::Migration("unsupported database".into())),
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Sqlite => run(manager, &[SQLITE_DROP_FTS, SQLITE_DOWN]).await,
            DbBackend::Postgres => run(manager, &[POSTGRES_DOWN]).await,
            _ => Err(DbErr::Migration("unsupported database".into())),
        }
    }
}
