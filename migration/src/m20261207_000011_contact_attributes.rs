//! Typed custom attributes (issue #16).
//!
//! - `contact_attribute(id, project_id, key, label, type, options, archived_at, created_at,
//!   updated_at)`: a project's definitions of contact attribute keys, unique per
//!   (project_id, key). `type` is `TEXT`, `NUMBER`, `BOOLEAN`, `DATE`, `LIST` or `URL`;
//!   `options` a JSON array of strings (the choices of a `LIST`, `[]` otherwise).
//! - `project.strict_attributes` (default false): when true, writes may use only defined
//!   (not archived) keys.
//! - PostgreSQL: a GIN index on `lead (project_id, attributes)` (`btree_gin` for the uuid,
//!   the default `jsonb_ops` for the object, which serves `@>` containment and the `?` key
//!   test): the attribute filters' `eq`, `in` and `exists` (and the key test that narrows
//!   `gt`, `lt` and `contains`) are written in those operators. SQLite has no generic index
//!   over a JSON object; its filters are `json_extract` expressions over the project's rows.
//!
//! `down` drops the index, the column and the table.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Project {
    Table,
    Id,
    StrictAttributes,
}

#[derive(DeriveIden, Clone, Copy)]
enum ContactAttribute {
    Table,
    Id,
    ProjectId,
    Key,
    Label,
    Type,
    Options,
    ArchivedAt,
    CreatedAt,
    UpdatedAt,
}

const KEY_INDEX: &str = "idx_contact_attribute_project_key";
const ATTRIBUTES_INDEX: &str = "idx_lead_project_attributes";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ContactAttribute::Table)
                    .col(pk_uuid(ContactAttribute::Id))
                    .col(uuid(ContactAttribute::ProjectId))
                    .col(string(ContactAttribute::Key))
                    .col(string(ContactAttribute::Label))
                    .col(string(ContactAttribute::Type))
                    .col(json_binary(ContactAttribute::Options))
                    .col(timestamp_with_time_zone_null(ContactAttribute::ArchivedAt))
                    .col(timestamp_with_time_zone(ContactAttribute::CreatedAt))
                    .col(timestamp_with_time_zone(ContactAttribute::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ContactAttribute::Table, ContactAttribute::ProjectId)
                            .to(Project::Table, Project::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(KEY_INDEX)
                    .table(ContactAttribute::Table)
                    .col(ContactAttribute::ProjectId)
                    .col(ContactAttribute::Key)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Project::Table)
                    .add_column(boolean(Project::StrictAttributes).default(false))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS btree_gin")
                .await?;
            db.execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {ATTRIBUTES_INDEX} ON lead USING GIN (project_id, attributes)"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {ATTRIBUTES_INDEX}"))
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Project::Table)
                    .drop_column(Project::StrictAttributes)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ContactAttribute::Table).to_owned())
            .await
    }
}
