//! Agents' contact management: company, note and address columns, `last_request_at`,
//! `erased_at`, and full-text search kept in sync by the database itself:
//! - SQLite: an FTS5 index (`lead_fts`, external content, `unicode61 remove_diacritics 2`
//!   tokenizer: case- and accent-insensitive) maintained by triggers on `lead`;
//! - PostgreSQL: a generated `search_vector tsvector` column over unaccented text
//!   (`unaccent` extension), GIN-indexed.
//!
//! Both index the same tokens: full name, email, phone and company, split on every
//! non-alphanumeric character (so `+`, `.` and `@` in emails separate words).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Lead {
    Table,
    Company,
    Note,
    Street,
    City,
    Region,
    Zipcode,
    Country,
    LastRequestAt,
    ErasedAt,
}

const SQLITE_UP: &[&str] = &[
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
    r#"INSERT INTO lead_fts(lead_fts) VALUES ('rebuild')"#,
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS lead_fts_au",
    "DROP TRIGGER IF EXISTS lead_fts_ad",
    "DROP TRIGGER IF EXISTS lead_fts_ai",
    "DROP TABLE IF EXISTS lead_fts",
];

const POSTGRES_UP: &[&str] = &[
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    // unaccent() is STABLE (it reads a dictionary by name); a generated column needs an
    // IMMUTABLE function: the usual wrapper with the dictionary given explicitly.
    r#"CREATE OR REPLACE FUNCTION contacts_search_text(text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
        AS $$ SELECT lower(regexp_replace(public.unaccent('public.unaccent'::regdictionary, $1), '[^[:alnum:]]+', ' ', 'g')) $$"#,
    r#"ALTER TABLE lead ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        to_tsvector('simple'::regconfig, coalesce(contacts_search_text(fullname), '') || ' ' || coalesce(contacts_search_text(email), '') || ' ' || coalesce(contacts_search_text(phone), '') || ' ' || coalesce(contacts_search_text(company), ''))
    ) STORED"#,
    "CREATE INDEX idx_lead_search ON lead USING GIN (search_vector)",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS idx_lead_search",
    "ALTER TABLE lead DROP COLUMN IF EXISTS search_vector",
    "DROP FUNCTION IF EXISTS contacts_search_text(text)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite: one ALTER per statement.
        for col in [
            string_null(Lead::Company),
            text_null(Lead::Note),
            string_null(Lead::Street),
            string_null(Lead::City),
            string_null(Lead::Region),
            string_null(Lead::Zipcode),
            string_null(Lead::Country),
            timestamp_with_time_zone_null(Lead::LastRequestAt),
            timestamp_with_time_zone_null(Lead::ErasedAt),
        ] {
            let mut col = col;
            manager
                .alter_table(
                    Table::alter()
                        .table(Lead::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        // Backfill last_request_at from existing requests.
        let db = manager.get_connection();
        db.execute_unprepared(
            r#"UPDATE lead SET last_request_at = (SELECT MAX(r.created_at) FROM request r WHERE r.lead = lead.id)"#,
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_lead_project_updated")
                    .table(Lead::Table)
                    .col(Alias::new("project_id"))
                    .col((Alias::new("updated_at"), IndexOrder::Desc))
                    .col((Alias::new("id"), IndexOrder::Desc))
                    .to_owned(),
            )
            .await?;
        let statements = match manager.get_database_backend() {
            DbBackend::Sqlite => SQLITE_UP,
            DbBackend::Postgres => POSTGRES_UP,
            _ => return Err(DbErr::Migration("unsupported database".into())),
        };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements = match manager.get_database_backend() {
            DbBackend::Sqlite => SQLITE_DOWN,
            DbBackend::Postgres => POSTGRES_DOWN,
            _ => return Err(DbErr::Migration("unsupported database".into())),
        };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("idx_lead_project_updated")
                    .table(Lead::Table)
                    .to_owned(),
            )
            .await?;
        for col in [
            Lead::ErasedAt,
            Lead::LastRequestAt,
            Lead::Country,
            Lead::Zipcode,
            Lead::Region,
            Lead::City,
            Lead::Street,
            Lead::Note,
            Lead::Company,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Lead::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
