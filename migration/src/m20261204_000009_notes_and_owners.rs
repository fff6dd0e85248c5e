//! Notes and owners (issue #16).
//!
//! - `contact_note(id, project_id, lead, author_id, body, created_at, updated_at)`: agents'
//!   notes on a Lead, listed newest first through the `(project_id, lead, created_at, id)`
//!   index. `author_id` is NULL for the note migrated from the old field.
//! - Every non-empty `lead.note` becomes that Lead's first note (author NULL, created and
//!   updated at the Lead's `updated_at`), with the Lead's own id as the note's id: one
//!   statement, deterministic, and unique since a Lead has at most one such note. The column
//!   stays (the deprecated `Contact.note`).
//! - `lead.owner_id` (NULL: unassigned), indexed with `project_id` for the `owner:` filter.
//!
//! `down` drops the table, the index and the column.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Project {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Lead {
    Table,
    Id,
    ProjectId,
    OwnerId,
}

#[derive(DeriveIden, Clone, Copy)]
enum ContactNote {
    Table,
    Id,
    ProjectId,
    Lead,
    AuthorId,
    Body,
    CreatedAt,
    UpdatedAt,
}

const NOTE_INDEX: &str = "idx_contact_note_lead";
const OWNER_INDEX: &str = "idx_lead_project_owner";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ContactNote::Table)
                    .col(pk_uuid(ContactNote::Id))
                    .col(uuid(ContactNote::ProjectId))
                    .col(uuid(ContactNote::Lead))
                    .col(uuid_null(ContactNote::AuthorId))
                    .col(text(ContactNote::Body))
                    .col(timestamp_with_time_zone(ContactNote::CreatedAt))
                    .col(timestamp_with_time_zone(ContactNote::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ContactNote::Table, ContactNote::ProjectId)
                            .to(Project::Table, Project::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ContactNote::Table, ContactNote::Lead)
                            .to(Lead::Table, Lead::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(NOTE_INDEX)
                    .table(ContactNote::Table)
                    .col(ContactNote::ProjectId)
                    .col(ContactNote::Lead)
                    .col((ContactNote::CreatedAt, IndexOrder::Desc))
                    .col((ContactNote::Id, IndexOrder::Desc))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO contact_note (id, project_id, lead, author_id, body, created_at, \
                 updated_at) SELECT id, project_id, id, NULL, note, updated_at, updated_at \
                 FROM lead WHERE note IS NOT NULL AND note <> '' AND erased_at IS NULL",
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Lead::Table)
                    .add_column(ColumnDef::new(Lead::OwnerId).uuid().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(OWNER_INDEX)
                    .table(Lead::Table)
                    .col(Lead::ProjectId)
                    .col(Lead::OwnerId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(OWNER_INDEX)
                    .table(Lead::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Lead::Table)
                    .drop_column(Lead::OwnerId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ContactNote::Table).to_owned())
            .await
    }
}
