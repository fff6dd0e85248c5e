//! Saved segments and bulk jobs (issue #16).
//!
//! - `segment(id, project_id, name, name_key, filter, created_by, created_at, updated_at)`: a
//!   named, shared contact filter of a project (`filter`: the service's `ContactQuery` as
//!   JSON). `name_key` (the lower-cased name) is unique per project.
//! - `bulk_job(id, project_id, kind, query, params, status, total, processed, succeeded,
//!   skipped, cursor, actor_id, lease_owner, lease_until, error, created_at, updated_at,
//!   finished_at)`: an action over every contact matching `query`, processed in keyset
//!   batches of contact ids; `cursor` (the last id processed) is committed with each batch,
//!   so an interrupted job resumes after it without applying anything twice. Indexed by
//!   `(project_id, created_at)` for a project's recent jobs.
//!
//! `down` drops both tables.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Project {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Segment {
    Table,
    Id,
    ProjectId,
    Name,
    NameKey,
    Filter,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum BulkJob {
    Table,
    Id,
    ProjectId,
    Kind,
    Query,
    Params,
    Status,
    Total,
    Processed,
    Succeeded,
    Skipped,
    Cursor,
    ActorId,
    LeaseOwner,
    LeaseUntil,
    Error,
    CreatedAt,
    UpdatedAt,
    FinishedAt,
}

const SEGMENT_NAME_INDEX: &str = "idx_segment_project_name";
const JOB_INDEX: &str = "idx_bulk_job_project_created";

fn project_fk(table: impl IntoIden + Copy, column: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Project::Table, Project::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Segment::Table)
                    .col(pk_uuid(Segment::Id))
                    .col(uuid(Segment::ProjectId))
                    .col(string(Segment::Name))
                    .col(string(Segment::NameKey))
                    .col(json_binary(Segment::Filter))
                    .col(uuid_null(Segment::CreatedBy))
                    .col(timestamp_with_time_zone(Segment::CreatedAt))
                    .col(timestamp_with_time_zone(Segment::UpdatedAt))
                    .foreign_key(&mut project_fk(Segment::Table, Segment::ProjectId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(SEGMENT_NAME_INDEX)
                    .table(Segment::Table)
                    .col(Segment::ProjectId)
                    .col(Segment::NameKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(BulkJob::Table)
                    .col(pk_uuid(BulkJob::Id))
                    .col(uuid(BulkJob::ProjectId))
                    .col(string(BulkJob::Kind))
                    .col(json_binary(BulkJob::Query))
                    .col(json_binary(BulkJob::Params))
                    .col(string(BulkJob::Status))
                    .col(big_integer(BulkJob::Total))
                    .col(big_integer(BulkJob::Processed).default(0))
                    .col(big_integer(BulkJob::Succeeded).default(0))
                    .col(big_integer(BulkJob::Skipped).default(0))
                    .col(uuid_null(BulkJob::Cursor))
                    .col(uuid_null(BulkJob::ActorId))
                    .col(uuid_null(BulkJob::LeaseOwner))
                    .col(timestamp_with_time_zone_null(BulkJob::LeaseUntil))
                    .col(string_null(BulkJob::Error))
                    .col(timestamp_with_time_zone(BulkJob::CreatedAt))
                    .col(timestamp_with_time_zone(BulkJob::UpdatedAt))
                    .col(timestamp_with_time_zone_null(BulkJob::FinishedAt))
                    .foreign_key(&mut project_fk(BulkJob::Table, BulkJob::ProjectId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(JOB_INDEX)
                    .table(BulkJob::Table)
                    .col(BulkJob::ProjectId)
                    .col(BulkJob::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(BulkJob::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Segment::Table).to_owned())
            .await
    }
}
