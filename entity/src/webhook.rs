//! `webhook`: an endpoint of a project that receives its event log, signed as Standard
//! Webhooks says, in position order, at least once.

use sea_orm::entity::prelude::*;

/// One endpoint.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook")]
pub struct Model {
    /// Primary key (UUID v4).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub project_id: Uuid,
    /// Where events are POSTed (`http` or `https`).
    pub url: String,
    /// The subscribed event types (a JSON array of names such as `"contact.created"`).
    pub event_types: Json,
    /// The signing secret: `whsec_` + base64 of 32 random bytes (shown once, at creation).
    pub secret: String,
    /// Whether events are delivered.
    pub enabled: bool,
    /// Why the worker disabled it (after too many consecutive failures); `None` otherwise.
    pub disabled_reason: Option<String>,
    /// Failed attempts since the last success.
    pub consecutive_failures: i32,
    /// The last log position delivered or skipped (at creation: the log's head).
    pub delivered_position: i64,
    /// When the next attempt may start (backoff after a failure).
    pub next_attempt_at: DateTimeUtc,
    /// The worker instance delivering to it now (`None`: nobody).
    pub lease_owner: Option<Uuid>,
    /// Until when that lease holds; an expired lease may be taken by any instance.
    pub lease_until: Option<DateTimeUtc>,
    /// Created, UTC.
    pub created_at: DateTimeUtc,
    /// Last changed by an admin or by the worker's state changes, UTC.
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM; services join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
