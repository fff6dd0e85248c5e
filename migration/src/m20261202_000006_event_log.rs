//! The timeline becomes the project's event log: every `lead_event` row gets a per-project,
//! strictly increasing `position`, which subscriptions resume from and webhooks deliver by.
//!
//! - `lead_event.position` (BIGINT, unique per project): existing rows are numbered per
//!   project in `(created_at, id)` order, from 1.
//! - `event_head(project_id, position)`: the last position given out in each project. A
//!   writer takes its positions with one upsert on that row, which holds the row's lock until
//!   its transaction ends: two transactions of one project commit their events in position
//!   order, so a reader that has seen position `n` never later finds a smaller one appear.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum LeadEvent {
    Table,
    ProjectId,
    Position,
}

#[derive(DeriveIden, Clone, Copy)]
enum EventHead {
    Table,
    ProjectId,
    Position,
}

const INDEX: &str = "ux_lead_event_project_position";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(LeadEvent::Table)
                    .add_column(
                        ColumnDef::new(LeadEvent::Position)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE lead_event SET position = numbered.n FROM (SELECT id, ROW_NUMBER() OVER \
             (PARTITION BY project_id ORDER BY created_at, id) AS n FROM lead_event) AS numbered \
             WHERE lead_event.id = numbered.id",
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(LeadEvent::Table)
                    .col(LeadEvent::ProjectId)
                    .col(LeadEvent::Position)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EventHead::Table)
                    .col(
                        ColumnDef::new(EventHead::ProjectId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(EventHead::Position).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(
            "INSERT INTO event_head (project_id, position) \
             SELECT project_id, MAX(position) FROM lead_event GROUP BY project_id",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EventHead::Table).to_owned())
            .await?;
        manager
            .drop_index(Index::drop().name(INDEX).table(LeadEvent::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(LeadEvent::Table)
                    .drop_column(LeadEvent::Position)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
