//! The first schema: `project`, `user`, `project_member`, `lead`, `request`, with their keys and
//! indexes. Timestamps are `timestamp with time zone` (UTC); ids are UUIDs.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Project {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum User {
    Table,
    Id,
    Kind,
    LoginEmail,
    PasswordHash,
    Fullname,
    Email,
    Attributes,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ProjectMember {
    Table,
    ProjectId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
#[allow(clippy::enum_variant_names)] // `lead_id` is the column's name
enum Lead {
    Table,
    Id,
    ProjectId,
    LeadId,
    Fullname,
    Email,
    EmailKey,
    Phone,
    Attributes,
    Tags,
    Status,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
#[allow(clippy::enum_variant_names)] // `request_id` is the column's name
enum Request {
    Table,
    Id,
    RequestId,
    ProjectId,
    Lead,
    RequesterId,
    FirstText,
    Status,
    Channel,
    Attributes,
    CreatedAt,
    UpdatedAt,
    ClosedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Project::Table)
                    .col(pk_uuid(Project::Id))
                    .col(string(Project::Name))
                    .col(timestamp_with_time_zone(Project::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(User::Table)
                    .col(pk_uuid(User::Id))
                    .col(string(User::Kind))
                    // Agents only: the normalised sign-in email, unique (NULLs are distinct).
                    .col(string_null(User::LoginEmail).unique_key())
                    .col(string_null(User::PasswordHash))
                    .col(string_null(User::Fullname))
                    .col(string_null(User::Email))
                    .col(json_binary(User::Attributes))
                    .col(timestamp_with_time_zone(User::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ProjectMember::Table)
                    .col(uuid(ProjectMember::ProjectId))
                    .col(uuid(ProjectMember::UserId))
                    .col(string(ProjectMember::Role))
                    .col(timestamp_with_time_zone(ProjectMember::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(ProjectMember::ProjectId)
                            .col(ProjectMember::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ProjectMember::Table, ProjectMember::ProjectId)
                            .to(Project::Table, Project::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ProjectMember::Table, ProjectMember::UserId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_project_member_user")
                    .table(ProjectMember::Table)
                    .col(ProjectMember::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Lead::Table)
                    .col(pk_uuid(Lead::Id))
                    .col(uuid(Lead::ProjectId))
                    .col(string(Lead::LeadId))
                    .col(string_null(Lead::Fullname))
                    .col(string_null(Lead::Email))
                    .col(string_null(Lead::EmailKey))
                    .col(string_null(Lead::Phone))
                    .col(json_binary(Lead::Attributes))
                    .col(json_binary(Lead::Tags))
                    .col(integer(Lead::Status))
                    .col(integer(Lead::Version))
                    .col(timestamp_with_time_zone(Lead::CreatedAt))
                    .col(timestamp_with_time_zone(Lead::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Lead::Table, Lead::ProjectId)
                            .to(Project::Table, Project::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One Lead per (project, visitor id): the key that makes get-or-create race-free.
        manager
            .create_index(
                Index::create()
                    .name("uq_lead_project_lead_id")
                    .table(Lead::Table)
                    .col(Lead::ProjectId)
                    .col(Lead::LeadId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // `contacts(email:)`: exact match on the normalised key within a project.
        manager
            .create_index(
                Index::create()
                    .name("idx_lead_project_email_key")
                    .table(Lead::Table)
                    .col(Lead::ProjectId)
                    .col(Lead::EmailKey)
                    .to_owned(),
            )
            .await?;
        // "A project's leads, newest first" with the id tie-breaker of the keyset cursor.
        manager
            .create_index(
                Index::create()
                    .name("idx_lead_project_created")
                    .table(Lead::Table)
                    .col(Lead::ProjectId)
                    .col((Lead::CreatedAt, IndexOrder::Desc))
                    .col((Lead::Id, IndexOrder::Desc))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Request::Table)
                    .col(pk_uuid(Request::Id))
                    .col(string_uniq(Request::RequestId))
                    .col(uuid(Request::ProjectId))
                    .col(uuid(Request::Lead))
                    .col(uuid(Request::RequesterId))
                    .col(text(Request::FirstText))
                    .col(integer(Request::Status))
                    .col(string(Request::Channel))
                    .col(json_binary(Request::Attributes))
                    .col(timestamp_with_time_zone(Request::CreatedAt))
                    .col(timestamp_with_time_zone(Request::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Request::ClosedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Request::Table, Request::ProjectId)
                            .to(Project::Table, Project::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Request::Table, Request::Lead)
                            .to(Lead::Table, Lead::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Request::Table, Request::RequesterId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A Lead's Requests, newest first (the nested `requests` connection and its loader).
        manager
            .create_index(
                Index::create()
                    .name("idx_request_lead_created")
                    .table(Request::Table)
                    .col(Request::Lead)
                    .col((Request::CreatedAt, IndexOrder::Desc))
                    .col((Request::Id, IndexOrder::Desc))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_request_project_created")
                    .table(Request::Table)
                    .col(Request::ProjectId)
                    .col(Request::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_request_requester")
                    .table(Request::Table)
                    .col(Request::RequesterId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Request::Table.into_iden(),
            Lead::Table.into_iden(),
            ProjectMember::Table.into_iden(),
            User::Table.into_iden(),
            Project::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
