//! Lookup of any object by id within a project (Relay `node`).

use entity::{company, project, request};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{ProjectScope, accounts};
use crate::error::AppResult;

/// What an id turned out to be.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // short-lived, moved once
pub enum Found {
    /// A Lead (Contact), with what `nested` fetched with it.
    Lead(super::store::leads::Found),
    /// A Request.
    Request(request::Model),
    /// A company.
    Company(company::Model),
    /// A member of the project.
    User(entity::user::Model),
    /// The project itself.
    Project(project::Model),
}

/// The object with primary key `id` in `scope`, trying each table (ids are UUID v4, unique
/// across tables); `None` when nothing of the project has it. A Lead comes with the
/// relations `nested` asks for, fetched in the same statement. At most five statements.
pub async fn find(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    id: Uuid,
    nested: &super::prefetch::Nested,
) -> AppResult<Option<Found>> {
    if let Some(found) = super::store::leads::find_resolved(db, scope, id, nested).await? {
        return Ok(Some(Found::Lead(found)));
    }
    if let Some(m) = request::Entity::find_by_id(id)
        .filter(request::Column::ProjectId.eq(scope.project_id))
        .one(db)
        .await?
    {
        return Ok(Some(Found::Request(m)));
    }
    if let Some(m) = super::store::companies::find(db, scope, id).await? {
        return Ok(Some(Found::Company(m)));
    }
    if id == scope.project_id
        && let Some(m) = project::Entity::find_by_id(id).one(db).await?
    {
        return Ok(Some(Found::Project(m)));
    }
    Ok(accounts::users_in_project(db, scope, &[id])
        .await?
        .into_iter()
        .next()
        .map(Found::User))
}
