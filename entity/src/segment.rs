//! `segment`: a saved, named contact filter shared by a project's agents.

use sea_orm::entity::prelude::*;

/// One segment.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "segment")]
pub struct Model {
    /// Primary key (UUID v4): the `Segment.id` of the API.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub project_id: Uuid,
    /// Display name (NFC, trimmed, 1..=100 characters).
    pub name: String,
    /// The lower-cased name: unique per project.
    pub name_key: String,
    /// The filter: `contacts_server::service::contact_search::ContactQuery` as JSON.
    pub filter: Json,
    /// The agent who created it; `None` once unknown.
    pub created_by: Option<Uuid>,
    /// Creation time, UTC.
    pub created_at: DateTimeUtc,
    /// Last change, UTC.
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM; services join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
