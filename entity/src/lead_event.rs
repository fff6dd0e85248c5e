//! `lead_event`: the timeline of a Lead (created, field changed, tags changed, request created,
//! merged, unmerged, deleted, restored, erased), written in the same transaction as the change.

use sea_orm::entity::prelude::*;

/// One event.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lead_event")]
pub struct Model {
    /// Primary key (UUID v4).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub project_id: Uuid,
    /// The Lead it happened to.
    pub lead: Uuid,
    /// `CREATED`, `FIELD_CHANGED`, `TAGS_CHANGED`, `REQUEST_CREATED`, `MERGED`, `MERGED_INTO`,
    /// `UNMERGED`, `DELETED`, `RESTORED` or `ERASED`.
    pub kind: String,
    /// Who did it (an agent or a visitor); `None` for system changes.
    pub actor_id: Option<Uuid>,
    /// The details (a JSON object; keys depend on `kind`: `field`, `before`, `after`,
    /// `added`, `removed`, `requestId`, `mergeId`, `contactIds`). Emptied by erasure.
    pub data: Json,
    /// When it happened, UTC, microsecond precision.
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM; services join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
