//! Rows of `contact_attribute` (a project's attribute definitions) and the project's attribute
//! rules for a write ([`rules`]: one statement).

use std::collections::HashMap;

use entity::contact_attribute::{self as attribute, AttributeType};
use sea_orm::sea_query::{Expr, LockType};
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::normalize;
use crate::service::attribute_rules::{AttributeRules, Definition};
use crate::service::{ProjectScope, RawSql};

/// The project's attribute rules (its strict mode and its active definitions), in ONE
/// statement: the project row left-joined with its active definitions.
/// Errors: `NOT_FOUND` when the project does not exist.
pub async fn rules(db: &impl ConnectionTrait, scope: ProjectScope) -> AppResult<AttributeRules> {
    let statement = RawSql::new()
        .sql(
            r#"SELECT "project"."strict_attributes" AS "strict", "contact_attribute"."key" AS "key", "contact_attribute"."type" AS "value_type", "contact_attribute"."options" AS "options" FROM "project" LEFT JOIN "contact_attribute" ON "contact_attribute"."project_id" = "#,
        )
        .value(scope.project_id)
        .sql(r#" AND "contact_attribute"."archived_at" IS NULL WHERE "project"."id" = "#)
        .value(scope.project_id)
        .into_statement(db.get_database_backend());
    let rows = db.query_all_raw(statement).await?;
    let Some(first) = rows.first() else {
        return Err(AppError::NotFound("project"));
    };
    let mut out = AttributeRules {
        strict: first.try_get::<bool>("", "strict")?,
        definitions: HashMap::with_capacity(rows.len()),
    };
    for row in &rows {
        let Some(key) = row.try_get::<Option<String>>("", "key")? else {
            continue;
        };
        let value_type: String = row.try_get("", "value_type")?;
        let options: Value = row.try_get("", "options")?;
        out.definitions.insert(
            key,
            Definition {
                value_type: parse_type(&value_type)?,
                options: normalize::stored_tags(&options),
            },
        );
    }
    Ok(out)
}

fn parse_type(name: &str) -> AppResult<AttributeType> {
    AttributeType::try_from_value(&name.to_owned())
        .map_err(|_| AppError::internal(format!("unknown attribute type {name}")))
}

/// The active definitions of `keys` in `scope`, by key (the typed filters of a contact list):
/// one statement.
pub async fn active(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    keys: &[String],
) -> AppResult<HashMap<String, Definition>> {
    let rows = attribute::Entity::find()
        .filter(attribute::Column::ProjectId.eq(scope.project_id))
        .filter(attribute::Column::ArchivedAt.is_null())
        .filter(attribute::Column::Key.is_in(keys.iter().cloned()))
        .all(db)
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.key.clone(), Definition::of(r)))
        .collect())
}

/// The definitions of `scope`, oldest first (creation time, then id); archived ones only
/// when `include_archived`.
pub async fn list(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    include_archived: bool,
) -> AppResult<Vec<attribute::Model>> {
    let mut select = attribute::Entity::find()
        .filter(attribute::Column::ProjectId.eq(scope.project_id))
        .order_by_asc(attribute::Column::CreatedAt)
        .order_by_asc(attribute::Column::Id);
    if !include_archived {
        select = select.filter(attribute::Column::ArchivedAt.is_null());
    }
    Ok(select.all(db).await?)
}

/// How many definitions `scope` has, archived ones included.
pub async fn count(db: &impl ConnectionTrait, scope: ProjectScope) -> AppResult<u64> {
    Ok(attribute::Entity::find()
        .filter(attribute::Column::ProjectId.eq(scope.project_id))
        .count(db)
        .await?)
}

/// Locks `scope`'s project row (`FOR NO KEY UPDATE` on PostgreSQL: it does not block the
/// key-share locks that inserts referencing the project take; SQLite's write transaction is
/// exclusive already), so that concurrent definitions are counted one after the other.
/// Errors: `NOT_FOUND` when the project does not exist.
pub async fn lock_project(db: &impl ConnectionTrait, scope: ProjectScope) -> AppResult<()> {
    entity::project::Entity::find_by_id(scope.project_id)
        .select_only()
        .column(entity::project::Column::Id)
        .lock(LockType::NoKeyUpdate)
        .into_tuple::<Uuid>()
        .one(db)
        .await?
        .ok_or(AppError::NotFound("project"))?;
    Ok(())
}

/// Inserts `row` unless `scope` already has a definition with its key; returns whether it was
/// inserted.
pub async fn insert_new(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    row: &attribute::Model,
) -> AppResult<bool> {
    if row.project_id != scope.project_id {
        return Err(AppError::internal(
            "a definition inserted outside its scope",
        ));
    }
    let inserted = attribute::Entity::insert(attribute::ActiveModel::from(row.clone()))
        .on_conflict_do_nothing_on([attribute::Column::ProjectId, attribute::Column::Key])
        .exec_without_returning(db)
        .await?;
    Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(1)))
}

/// The definition of `key` in `scope`, if any.
pub async fn find_by_key(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    key: &str,
) -> AppResult<Option<attribute::Model>> {
    Ok(attribute::Entity::find()
        .filter(attribute::Column::ProjectId.eq(scope.project_id))
        .filter(attribute::Column::Key.eq(key))
        .one(db)
        .await?)
}

/// The definition `id` of `scope`, locked `FOR UPDATE` on PostgreSQL (call in a write
/// transaction). Errors: `NOT_FOUND` (unknown id or another project's).
pub async fn lock(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    id: Uuid,
) -> AppResult<attribute::Model> {
    attribute::Entity::find_by_id(id)
        .filter(attribute::Column::ProjectId.eq(scope.project_id))
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or(AppError::NotFound("contact attribute"))
}

/// Writes the label, options, archived time and update time of `row` (by id, within
/// `scope`). Errors: `INTERNAL` when the row is not in the project.
pub async fn save(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    row: &attribute::Model,
) -> AppResult<()> {
    let done = attribute::Entity::update_many()
        .col_expr(attribute::Column::Label, Expr::value(row.label.clone()))
        .col_expr(attribute::Column::Options, Expr::value(row.options.clone()))
        .col_expr(attribute::Column::ArchivedAt, Expr::value(row.archived_at))
        .col_expr(attribute::Column::UpdatedAt, Expr::value(row.updated_at))
        .filter(attribute::Column::Id.eq(row.id))
        .filter(attribute::Column::ProjectId.eq(scope.project_id))
        .exec(db)
        .await?;
    if done.rows_affected != 1 {
        return Err(AppError::internal(
            "the definition to save is not in its project",
        ));
    }
    Ok(())
}
