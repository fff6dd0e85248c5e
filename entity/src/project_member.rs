//! `project_member`: a user's role in a project (`OWNER`, `ADMIN`, `AGENT` or `GUEST`).

use sea_orm::entity::prelude::*;

/// One membership; the primary key is (project, user).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "project_member")]
pub struct Model {
    /// The project.
    #[sea_orm(primary_key, auto_increment = false)]
    pub project_id: Uuid,
    /// The user.
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// `OWNER`, `ADMIN`, `AGENT` or `GUEST` (visitors).
    pub role: String,
    /// Creation time, UTC.
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM; services join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
