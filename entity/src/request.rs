//! `request`: a conversation, aggregated under one Lead.

use sea_orm::entity::prelude::*;

/// A Request's status, stored as an integer code (TEMP 50, UNASSIGNED 100, ABANDONED 150,
/// ASSIGNED 200, SERVED 300, CLOSED 1000: the peer help desk's codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "i32", db_type = "Integer")]
pub enum RequestStatus {
    /// Created but not yet routed.
    #[sea_orm(num_value = 50)]
    Temp,
    /// Waiting for an agent (the status of a new Request).
    #[sea_orm(num_value = 100)]
    Unassigned,
    /// The visitor left before an agent answered.
    #[sea_orm(num_value = 150)]
    Abandoned,
    /// An agent is assigned.
    #[sea_orm(num_value = 200)]
    Assigned,
    /// Served.
    #[sea_orm(num_value = 300)]
    Served,
    /// Closed (`closed_at` is set).
    #[sea_orm(num_value = 1000)]
    Closed,
}

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
    /// The status.
    pub status: RequestStatus,
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
