//! `project`: a tenant. Every other record belongs to exactly one project.

use sea_orm::entity::prelude::*;

/// One project (tenant).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "project")]
pub struct Model {
    /// Primary key (UUID v4).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Display name, 1 to 200 characters.
    pub name: String,
    /// Creation time, UTC.
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM; services join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
