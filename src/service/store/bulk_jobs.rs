//! Rows of `bulk_job`: insert, read, claim a job's lease, lock it for a batch, write its
//! progress and its end. Every statement is scoped to the job's project.

use chrono::{DateTime, Utc};
use entity::bulk_job;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::ProjectScope;

/// `bulk_job.status` of a job still to finish.
pub const RUNNING: &str = "RUNNING";
/// `bulk_job.status` of a job that went through every matching contact.
pub const COMPLETED: &str = "COMPLETED";
/// `bulk_job.status` of a job stopped by an internal error.
pub const FAILED: &str = "FAILED";

/// Inserts `job` (its `project_id` must be `scope`'s). Errors: `INTERNAL` otherwise.
pub async fn insert(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    job: &bulk_job::Model,
) -> AppResult<()> {
    if job.project_id != scope.project_id {
        return Err(AppError::internal("a job inserted outside its scope"));
    }
    bulk_job::Entity::insert(bulk_job::ActiveModel::from(job.clone()))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The job `id` of `scope`, locked `FOR UPDATE` on PostgreSQL when `lock`. Errors:
/// `NOT_FOUND` (unknown id or another project's).
pub async fn find(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    id: Uuid,
    lock: bool,
) -> AppResult<bulk_job::Model> {
    let mut select =
        bulk_job::Entity::find_by_id(id).filter(bulk_job::Column::ProjectId.eq(scope.project_id));
    if lock {
        select = select.lock_exclusive();
    }
    select.one(db).await?.ok_or(AppError::NotFound("bulk job"))
}

/// Gives the lease of the RUNNING job `id` of `scope` to `owner` until `until`, unless
/// another owner holds a live lease (one that has not passed `now`). Returns whether `owner`
/// holds it now.
pub async fn claim(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    id: Uuid,
    owner: Uuid,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> AppResult<bool> {
    let done = bulk_job::Entity::update_many()
        .col_expr(bulk_job::Column::LeaseOwner, Expr::value(owner))
        .col_expr(bulk_job::Column::LeaseUntil, Expr::value(until))
        .filter(bulk_job::Column::ProjectId.eq(scope.project_id))
        .filter(bulk_job::Column::Id.eq(id))
        .filter(bulk_job::Column::Status.eq(RUNNING))
        .filter(
            sea_orm::Condition::any()
                .add(bulk_job::Column::LeaseUntil.is_null())
                .add(bulk_job::Column::LeaseUntil.lt(now))
                .add(bulk_job::Column::LeaseOwner.eq(owner)),
        )
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Writes `job`'s progress, status, lease and times (by id, within `scope`).
pub async fn save(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    job: &bulk_job::Model,
) -> AppResult<()> {
    bulk_job::Entity::update_many()
        .col_expr(bulk_job::Column::Status, Expr::value(job.status.clone()))
        .col_expr(bulk_job::Column::Processed, Expr::value(job.processed))
        .col_expr(bulk_job::Column::Succeeded, Expr::value(job.succeeded))
        .col_expr(bulk_job::Column::Skipped, Expr::value(job.skipped))
        .col_expr(bulk_job::Column::Cursor, Expr::value(job.cursor))
        .col_expr(bulk_job::Column::LeaseOwner, Expr::value(job.lease_owner))
        .col_expr(bulk_job::Column::LeaseUntil, Expr::value(job.lease_until))
        .col_expr(bulk_job::Column::Error, Expr::value(job.error.clone()))
        .col_expr(bulk_job::Column::UpdatedAt, Expr::value(job.updated_at))
        .col_expr(bulk_job::Column::FinishedAt, Expr::value(job.finished_at))
        .filter(bulk_job::Column::ProjectId.eq(scope.project_id))
        .filter(bulk_job::Column::Id.eq(job.id))
        .exec(db)
        .await?;
    Ok(())
}
