//! Rows of `segment`: a project's saved contact filters.

use entity::segment;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::ProjectScope;

/// The segment `id` of `scope`. Errors: `NOT_FOUND` (unknown id or another project's).
pub async fn find(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    id: Uuid,
) -> AppResult<segment::Model> {
    segment::Entity::find_by_id(id)
        .filter(segment::Column::ProjectId.eq(scope.project_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("segment"))
}

/// The segment of `scope` named `name_key` (lower-cased), if any.
pub async fn find_by_name(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    name_key: &str,
) -> AppResult<Option<segment::Model>> {
    Ok(segment::Entity::find()
        .filter(segment::Column::ProjectId.eq(scope.project_id))
        .filter(segment::Column::NameKey.eq(name_key))
        .one(db)
        .await?)
}

/// Every segment of `scope`, by name (case-insensitive), then id.
pub async fn list(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
) -> AppResult<Vec<segment::Model>> {
    Ok(segment::Entity::find()
        .filter(segment::Column::ProjectId.eq(scope.project_id))
        .order_by_asc(segment::Column::NameKey)
        .order_by_asc(segment::Column::Id)
        .all(db)
        .await?)
}

/// How many segments `scope` has.
pub async fn count(db: &impl ConnectionTrait, scope: ProjectScope) -> AppResult<u64> {
    Ok(segment::Entity::find()
        .filter(segment::Column::ProjectId.eq(scope.project_id))
        .count(db)
        .await?)
}

/// Inserts `model` (its `project_id` must be `scope`'s). Errors: `INTERNAL` otherwise;
/// `CONFLICT` for a name the project already uses (unique index).
pub async fn insert(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    model: &segment::Model,
) -> AppResult<()> {
    if model.project_id != scope.project_id {
        return Err(AppError::internal("a segment inserted outside its scope"));
    }
    segment::Entity::insert(segment::ActiveModel::from(model.clone()))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Writes `model`'s name, filter and `updated_at` (by id, within `scope`).
pub async fn save(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    model: &segment::Model,
) -> AppResult<()> {
    segment::Entity::update_many()
        .col_expr(segment::Column::Name, Expr::value(model.name.clone()))
        .col_expr(
            segment::Column::NameKey,
            Expr::value(model.name_key.clone()),
        )
        .col_expr(segment::Column::Filter, Expr::value(model.filter.clone()))
        .col_expr(segment::Column::UpdatedAt, Expr::value(model.updated_at))
        .filter(segment::Column::ProjectId.eq(scope.project_id))
        .filter(segment::Column::Id.eq(model.id))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes the segment `id` of `scope`; returns whether it existed.
pub async fn delete(db: &impl ConnectionTrait, scope: ProjectScope, id: Uuid) -> AppResult<bool> {
    let done = segment::Entity::delete_many()
        .filter(segment::Column::ProjectId.eq(scope.project_id))
        .filter(segment::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}
