//! `request`: a conversation, aggregated under one Lead.

use sea_orm::entity::prelude::*;

/// Status code: created but not yet routed.
pub const STATUS_TEMP: i32 = 50;
/// Status code: waiting for an agent (the status of a new Request).
pub const STATUS_UNASSIGNED: i32 = 100;
/// Status code: the visitor left before an agent answered.
pub const STATUS_ABANDONED: i32 = 150;
/// Status code: an agent is assigned.
pub const STATUS_ASSIGNED: i32 = 200;
/// Status code: served.
pub const STATUS_SERVED: i32 = 300;
/// Status code: closed (`closed_at` is set).
pub const STATUS_CLOSED: i32 = 1000;

/// One Request.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "request")]
pub struct Model {
    /// Primary key (UUID v4): the Request's GraphQL `id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Public conversation id: `support-group-<project id>-<32 lowercase hex>`; unique.
    pub request_id: String,
    /// The tenant.
    pub project_id: Uuid,
    /// The Lead (`lead.id`) it aggregates under.
    pub lead: Uuid,
    /// The visitor who opened it (`user.id`).
    pub requester_id: Uuid,
    /// The visitor's first message (non-empty).
    pub first_text: String,
    /// One of the `STATUS_*` codes.
    pub status: i32,
    /// `chat21` (the widget), `email`, `form`, `whatsapp`, `telegram` or `facebook`.
    pub channel: String,
    /// Custom attributes of the conversation (a JSON object).
    pub attributes: Json,
    /// Creation time, UTC, microsecond precision.
    pub created_at: DateTimeUtc,
    /// Last write time, UTC.
    pub updated_at: DateTimeUtc,
    /// When it was closed, UTC.
    pub closed_at: Option<DateTimeUtc>,
}

/// No relations are navigated through SeaORM; services join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
