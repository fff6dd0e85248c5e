//! `webhook_delivery`: one delivery attempt of an event to a webhook (the last few per
//! endpoint are kept). Holds status, timing and error text, never the payload.

use sea_orm::entity::prelude::*;

/// One attempt.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_delivery")]
pub struct Model {
    /// Primary key (UUID v4).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub project_id: Uuid,
    /// The endpoint.
    pub webhook_id: Uuid,
    /// The event's position in the project's log.
    pub position: i64,
    /// The event's type (e.g. `contact.created`).
    pub event_type: String,
    /// 1 for the first attempt at this event, 2 for the first retry, ...
    pub attempt: i32,
    /// The HTTP status the endpoint answered; `None` when no answer came (see `error`).
    pub status_code: Option<i32>,
    /// Why the attempt failed without a status (timeout, refused destination, ...), or a
    /// non-2xx status's short description; `None` on success.
    pub error: Option<String>,
    /// How long the attempt took, in milliseconds.
    pub duration_ms: i64,
    /// When the attempt ended, UTC.
    pub delivered_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM; services join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
