//! One person, one contact: merges (tombstones and a journal for undo), identified visitors
//! (a per-project site secret, external ids), the per-project auto-merge setting and the
//! contact timeline.
//!
//! - `lead.merged_into`: set on a merged-away Lead (a tombstone, status 2000 MERGED) to the
//!   surviving Lead; `lead.additional_emails`: emails absorbed by merges (a JSON array);
//!   `lead.external_id`: the integrating site's id of an identified visitor.
//! - `user.project_id` + `user.external_id`: an identified visitor, unique per project.
//! - `project.auto_merge_on_email`, `project.site_secret` (+ when it was rotated).
//! - `lead_merge`: the merge journal (what a merge changed, so it can be undone).
//! - `lead_event`: the timeline of a Lead, newest first by (created_at, id).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Lead {
    Table,
    Id,
    ProjectId,
    MergedInto,
    AdditionalEmails,
    ExternalId,
    Phone,
}

#[derive(DeriveIden, Clone, Copy)]
enum User {
    Table,
    ProjectId,
    ExternalId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Project {
    Table,
    Id,
    AutoMergeOnEmail,
    SiteSecret,
    SiteSecretRotatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum LeadMerge {
    Table,
    Id,
    ProjectId,
    PrimaryId,
    SecondaryIds,
    Kind,
    ActorId,
    Snapshot,
    PrimaryVersionAfter,
    CreatedAt,
    UndoneAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum LeadEvent {
    Table,
    Id,
    ProjectId,
    Lead,
    Kind,
    ActorId,
    Data,
    CreatedAt,
}

async fn add_columns<T: Iden + Copy + 'static>(
    manager: &SchemaManager<'_>,
    table: T,
    cols: Vec<ColumnDef>,
) -> Result<(), DbErr> {
    // SQLite: one ALTER per statement.
    for mut col in cols {
        manager
            .alter_table(Table::alter().table(table).add_column(&mut col).to_owned())
            .await?;
    }
    Ok(())
}

async fn drop_columns<T: Iden + Copy + 'static, C: Iden + 'static>(
    manager: &SchemaManager<'_>,
    table: T,
    cols: Vec<C>,
) -> Result<(), DbErr> {
    for col in cols {
        manager
            .alter_table(Table::alter().table(table).drop_column(col).to_owned())
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            Lead::Table,
            vec![
                uuid_null(Lead::MergedInto),
                json_binary(Lead::AdditionalEmails).default("[]").to_owned(),
                string_null(Lead::ExternalId),
            ],
        )
        .await?;
        add_columns(
            manager,
            User::Table,
            vec![uuid_null(User::ProjectId), string_null(User::ExternalId)],
        )
        .await?;
        add_columns(
            manager,
            Project::Table,
            vec![
                boolean(Project::AutoMergeOnEmail).default(false).to_owned(),
                string_null(Project::SiteSecret),
                timestamp_with_time_zone_null(Project::SiteSecretRotatedAt),
            ],
        )
        .await?;
        for index in [
            Index::create()
                .name("idx_lead_merged_into")
                .table(Lead::Table)
                .col(Lead::MergedInto)
                .to_owned(),
            Index::create()
                .name("idx_lead_project_phone")
                .table(Lead::Table)
                .col(Lead::ProjectId)
                .col(Lead::Phone)
                .to_owned(),
            Index::create()
                .name("idx_lead_project_external")
                .table(Lead::Table)
                .col(Lead::ProjectId)
                .col(Lead::ExternalId)
                .unique()
                .to_owned(),
            Index::create()
                .name("idx_user_project_external")
                .table(User::Table)
                .col(User::ProjectId)
                .col(User::ExternalId)
                .unique()
                .to_owned(),
        ] {
            manager.create_index(index).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(LeadMerge::Table)
                    .col(pk_uuid(LeadMerge::Id))
                    .col(uuid(LeadMerge::ProjectId))
                    .col(uuid(LeadMerge::PrimaryId))
                    .col(json_binary(LeadMerge::SecondaryIds))
                    .col(string(LeadMerge::Kind))
                    .col(uuid_null(LeadMerge::ActorId))
                    .col(json_binary_null(LeadMerge::Snapshot))
                    .col(integer(LeadMerge::PrimaryVersionAfter))
                    .col(timestamp_with_time_zone(LeadMerge::CreatedAt))
                    .col(timestamp_with_time_zone_null(LeadMerge::UndoneAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(LeadMerge::Table, LeadMerge::ProjectId)
                            .to(Project::Table, Project::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(LeadMerge::Table, LeadMerge::PrimaryId)
                            .to(Lead::Table, Lead::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_lead_merge_primary")
                    .table(LeadMerge::Table)
                    .col(LeadMerge::ProjectId)
                    .col(LeadMerge::PrimaryId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LeadEvent::Table)
                    .col(pk_uuid(LeadEvent::Id))
                    .col(uuid(LeadEvent::ProjectId))
                    .col(uuid(LeadEvent::Lead))
                    .col(string(LeadEvent::Kind))
                    .col(uuid_null(LeadEvent::ActorId))
                    .col(json_binary(LeadEvent::Data))
                    .col(timestamp_with_time_zone(LeadEvent::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(LeadEvent::Table, LeadEvent::ProjectId)
                            .to(Project::Table, Project::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(LeadEvent::Table, LeadEvent::Lead)
                            .to(Lead::Table, Lead::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_lead_event_lead_created")
                    .table(LeadEvent::Table)
                    .col(LeadEvent::Lead)
                    .col((LeadEvent::CreatedAt, IndexOrder::Desc))
                    .col((LeadEvent::Id, IndexOrder::Desc))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LeadEvent::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(LeadMerge::Table).to_owned())
            .await?;
        for (name, table) in [
            ("idx_user_project_external", User::Table.to_string()),
            ("idx_lead_project_external", Lead::Table.to_string()),
            ("idx_lead_project_phone", Lead::Table.to_string()),
            ("idx_lead_merged_into", Lead::Table.to_string()),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        drop_columns(
            manager,
            Project::Table,
            vec![
                Project::SiteSecretRotatedAt,
                Project::SiteSecret,
                Project::AutoMergeOnEmail,
            ],
        )
        .await?;
        drop_columns(
            manager,
            User::Table,
            vec![User::ExternalId, User::ProjectId],
        )
        .await?;
        drop_columns(
            manager,
            Lead::Table,
            vec![Lead::ExternalId, Lead::AdditionalEmails, Lead::MergedInto],
        )
        .await?;
        Ok(())
    }
}
