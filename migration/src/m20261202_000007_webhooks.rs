//! Webhooks: endpoints that receive the project's event log (`webhook`), and the recent
//! delivery attempts of each (`webhook_delivery`, pruned by the delivery worker).
//!
//! - `webhook`: the endpoint (`url`, subscribed `event_types` as a JSON array of type names,
//!   its Standard Webhooks `secret`), its state (`enabled`, `disabled_reason`,
//!   `consecutive_failures`), its cursor in the log (`delivered_position`: the last position
//!   delivered or skipped) and its schedule (`next_attempt_at`) and lease (`lease_owner`,
//!   `lease_until`: the instance delivering to it now). The index on `(enabled,
//!   next_attempt_at)` serves the worker's claim of due endpoints.
//! - `webhook_delivery`: one row per attempt: the event's position and type, the attempt
//!   number, the HTTP status or the error text, the duration. Never the payload (an erased
//!   contact's data must not survive in it).

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
enum Webhook {
    Table,
    Id,
    ProjectId,
    Url,
    EventTypes,
    Secret,
    Enabled,
    DisabledReason,
    ConsecutiveFailures,
    DeliveredPosition,
    NextAttemptAt,
    LeaseOwner,
    LeaseUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum WebhookDelivery {
    Table,
    Id,
    ProjectId,
    WebhookId,
    Position,
    EventType,
    Attempt,
    StatusCode,
    Error,
    DurationMs,
    DeliveredAt,
}

const DUE_INDEX: &str = "idx_webhook_due";
const PROJECT_INDEX: &str = "idx_webhook_project";
const DELIVERY_INDEX: &str = "idx_webhook_delivery_webhook";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Webhook::Table)
                    .col(pk_uuid(Webhook::Id))
                    .col(uuid(Webhook::ProjectId))
                    .col(string(Webhook::Url))
                    .col(json_binary(Webhook::EventTypes))
                    .col(string(Webhook::Secret))
                    .col(boolean(Webhook::Enabled))
                    .col(string_null(Webhook::DisabledReason))
                    .col(integer(Webhook::ConsecutiveFailures).default(0))
                    .col(big_integer(Webhook::DeliveredPosition))
                    .col(timestamp_with_time_zone(Webhook::NextAttemptAt))
                    .col(uuid_null(Webhook::LeaseOwner))
                    .col(timestamp_with_time_zone_null(Webhook::LeaseUntil))
                    .col(timestamp_with_time_zone(Webhook::CreatedAt))
                    .col(timestamp_with_time_zone(Webhook::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Webhook::Table, Webhook::ProjectId)
                            .to(Project::Table, Project::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(PROJECT_INDEX)
                    .table(Webhook::Table)
                    .col(Webhook::ProjectId)
                    .col(Webhook::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(DUE_INDEX)
                    .table(Webhook::Table)
                    .col(Webhook::Enabled)
                    .col(Webhook::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDelivery::Table)
                    .col(pk_uuid(WebhookDelivery::Id))
                    .col(uuid(WebhookDelivery::ProjectId))
                    .col(uuid(WebhookDelivery::WebhookId))
                    .col(big_integer(WebhookDelivery::Position))
                    .col(string(WebhookDelivery::EventType))
                    .col(integer(WebhookDelivery::Attempt))
                    .col(integer_null(WebhookDelivery::StatusCode))
                    .col(string_null(WebhookDelivery::Error))
                    .col(big_integer(WebhookDelivery::DurationMs))
                    .col(timestamp_with_time_zone(WebhookDelivery::DeliveredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDelivery::Table, WebhookDelivery::WebhookId)
                            .to(Webhook::Table, Webhook::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDelivery::Table, WebhookDelivery::ProjectId)
                            .to(Project::Table, Project::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(DELIVERY_INDEX)
                    .table(WebhookDelivery::Table)
                    .col(WebhookDelivery::ProjectId)
                    .col(WebhookDelivery::WebhookId)
                    .col((WebhookDelivery::DeliveredAt, IndexOrder::Desc))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookDelivery::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Webhook::Table).to_owned())
            .await?;
        Ok(())
    }
}
