//! Webhook endpoints and their delivery attempts, row by row. Every statement filters by the
//! endpoint's `project_id`, except ONE: [`claim_due`], the delivery worker's claim of due
//! endpoints across projects (a lease); what follows a claim runs in the claimed endpoint's
//! own project scope. State changes of the worker ([`advance`], [`fail`], [`release`]) also
//! require the caller to still hold the lease, so one delivery happens once across instances.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{webhook, webhook_delivery};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::service::{ProjectScope, RawSql};

/// Inserts `row` (its `project_id` is its scope).
pub async fn insert(db: &impl ConnectionTrait, row: webhook::Model) -> Result<(), DbErr> {
    webhook::Entity::insert(webhook::ActiveModel::from(row))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Endpoint `id` of `scope`, if any.
pub async fn find(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    id: Uuid,
) -> Result<Option<webhook::Model>, DbErr> {
    webhook::Entity::find_by_id(id)
        .filter(webhook::Column::ProjectId.eq(scope.project_id))
        .one(db)
        .await
}

/// The endpoints of `scope`, oldest first.
pub async fn list(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
) -> Result<Vec<webhook::Model>, DbErr> {
    webhook::Entity::find()
        .filter(webhook::Column::ProjectId.eq(scope.project_id))
        .order_by_asc(webhook::Column::CreatedAt)
        .order_by_asc(webhook::Column::Id)
        .all(db)
        .await
}

/// Writes every column of `row` (an admin's change), within `row.project_id`. Returns
/// whether the row still existed.
pub async fn save(db: &impl ConnectionTrait, row: webhook::Model) -> Result<bool, DbErr> {
    let result = webhook::Entity::update_many()
        .set(webhook::ActiveModel::from(row.clone()).reset_all())
        .filter(webhook::Column::Id.eq(row.id))
        .filter(webhook::Column::ProjectId.eq(row.project_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Deletes endpoint `id` of `scope` (its delivery rows go with it, by cascade and here).
/// Returns whether it existed.
pub async fn delete(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    id: Uuid,
) -> Result<bool, DbErr> {
    webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::ProjectId.eq(scope.project_id))
        .filter(webhook_delivery::Column::WebhookId.eq(id))
        .exec(db)
        .await?;
    let result = webhook::Entity::delete_many()
        .filter(webhook::Column::ProjectId.eq(scope.project_id))
        .filter(webhook::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// **The one cross-project statement**: claims up to `limit` due endpoints of any project for
/// worker instance `owner` until `lease_until`, and returns them. Due: enabled, its
/// `next_attempt_at` passed, no live lease (none, or expired before `now`), and its project's
/// log head past its `delivered_position` (something to deliver or skip). One `UPDATE … WHERE
/// id IN (SELECT … LIMIT n) RETURNING *`; on PostgreSQL the subquery takes the rows `FOR
/// UPDATE SKIP LOCKED`, so concurrent instances claim disjoint endpoints; SQLite serialises
/// writers.
pub async fn claim_due(
    db: &impl ConnectionTrait,
    owner: Uuid,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<webhook::Model>, DbErr> {
    let backend = db.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        " FOR UPDATE OF w SKIP LOCKED"
    } else {
        ""
    };
    let stmt = RawSql::new()
        .sql("UPDATE webhook SET lease_owner = ")
        .value(owner)
        .sql(", lease_until = ")
        .value(lease_until)
        .sql(
            " WHERE id IN (SELECT w.id FROM webhook w JOIN event_head h ON h.project_id = \
             w.project_id WHERE w.enabled = ",
        )
        .value(true)
        .sql(" AND w.next_attempt_at <= ")
        .value(now)
        .sql(" AND (w.lease_until IS NULL OR w.lease_until < ")
        .value(now)
        .sql(") AND h.position > w.delivered_position ORDER BY w.next_attempt_at LIMIT ")
        .value(limit as i64)
        .sql(lock)
        .sql(") RETURNING *")
        .into_statement(backend);
    webhook::Model::find_by_statement(stmt).all(db).await
}

/// The endpoint `id` of `scope` as long as `owner` holds its lease.
fn leased(scope: ProjectScope, id: Uuid, owner: Uuid) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(webhook::Column::ProjectId.eq(scope.project_id))
        .add(webhook::Column::Id.eq(id))
        .add(webhook::Column::LeaseOwner.eq(owner))
}

/// After a successful delivery of the event at `position`: moves the endpoint's cursor there,
/// resets its failures and extends `owner`'s lease to `lease_until`. Returns whether `owner`
/// still held the lease (false: stop delivering).
pub async fn advance(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    id: Uuid,
    owner: Uuid,
    position: i64,
    lease_until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = webhook::Entity::update_many()
        .col_expr(webhook::Column::DeliveredPosition, Expr::value(position))
        .col_expr(webhook::Column::ConsecutiveFailures, Expr::value(0))
        .col_expr(webhook::Column::LeaseUntil, Expr::value(lease_until))
        .filter(leased(scope, id, owner))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// After a failed attempt: the cursor at `position` (past skipped events, before the failed
/// one), `failures` consecutive failures, the next attempt at `next_attempt_at`, disabled with
/// `disabled_reason` when given; releases `owner`'s lease. Returns whether `owner` held it.
#[allow(clippy::too_many_arguments)]
pub async fn fail(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    id: Uuid,
    owner: Uuid,
    position: i64,
    failures: i32,
    next_attempt_at: DateTime<Utc>,
    disabled_reason: Option<String>,
) -> Result<bool, DbErr> {
    let mut update = webhook::Entity::update_many()
        .col_expr(webhook::Column::DeliveredPosition, Expr::value(position))
        .col_expr(webhook::Column::ConsecutiveFailures, Expr::value(failures))
        .col_expr(webhook::Column::NextAttemptAt, Expr::value(next_attempt_at))
        .col_expr(
            webhook::Column::LeaseOwner,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(
            webhook::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        );
    if let Some(reason) = disabled_reason {
        update = update
            .col_expr(webhook::Column::Enabled, Expr::value(false))
            .col_expr(webhook::Column::DisabledReason, Expr::value(reason))
            .col_expr(
                webhook::Column::UpdatedAt,
                Expr::value(crate::service::now()),
            );
    }
    let result = update.filter(leased(scope, id, owner)).exec(db).await?;
    Ok(result.rows_affected == 1)
}

/// Releases `owner`'s lease, with the cursor at `position` (past skipped events). Returns
/// whether `owner` held it.
pub async fn release(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    id: Uuid,
    owner: Uuid,
    position: i64,
) -> Result<bool, DbErr> {
    let result = webhook::Entity::update_many()
        .col_expr(webhook::Column::DeliveredPosition, Expr::value(position))
        .col_expr(
            webhook::Column::LeaseOwner,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(
            webhook::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(leased(scope, id, owner))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Records one delivery attempt (its `project_id` is its scope).
pub async fn insert_delivery(
    db: &impl ConnectionTrait,
    row: webhook_delivery::Model,
) -> Result<(), DbErr> {
    webhook_delivery::Entity::insert(webhook_delivery::ActiveModel::from(row))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Deletes all but the newest `keep` attempts of endpoint `webhook` of `scope`.
pub async fn prune_deliveries(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    webhook: Uuid,
    keep: u64,
) -> Result<(), DbErr> {
    let stmt = RawSql::new()
        .sql("DELETE FROM webhook_delivery WHERE project_id = ")
        .value(scope.project_id)
        .sql(" AND webhook_id = ")
        .value(webhook)
        .sql(" AND id NOT IN (SELECT id FROM webhook_delivery WHERE project_id = ")
        .value(scope.project_id)
        .sql(" AND webhook_id = ")
        .value(webhook)
        .sql(" ORDER BY delivered_at DESC, id DESC LIMIT ")
        .value(keep as i64)
        .sql(")")
        .into_statement(db.get_database_backend());
    db.execute_raw(stmt).await?;
    Ok(())
}

/// The newest `first` attempts of each endpoint of `webhooks` (within `scope`), newest first:
/// one statement (the worker keeps at most `WEBHOOK_DELIVERIES_KEPT` per endpoint, which
/// bounds what it reads). Endpoints without attempts are absent from the map.
pub async fn recent_deliveries(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    webhooks: &[Uuid],
    first: usize,
) -> Result<HashMap<Uuid, Vec<webhook_delivery::Model>>, DbErr> {
    let mut out: HashMap<Uuid, Vec<webhook_delivery::Model>> = HashMap::new();
    if webhooks.is_empty() || first == 0 {
        return Ok(out);
    }
    let rows = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::ProjectId.eq(scope.project_id))
        .filter(webhook_delivery::Column::WebhookId.is_in(webhooks.iter().copied()))
        .order_by_desc(webhook_delivery::Column::DeliveredAt)
        .order_by_desc(webhook_delivery::Column::Id)
        .all(db)
        .await?;
    for row in rows {
        let list = out.entry(row.webhook_id).or_default();
        if list.len() < first {
            list.push(row);
        }
    }
    Ok(out)
}
