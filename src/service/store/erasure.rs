//! Erasure of a Lead's rows (GDPR Art. 17): what `contacts::erase` does to each contact it
//! erases.

use entity::{lead, request, user};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::AppResult;
use crate::service::ProjectScope;

/// Erases one Lead row (the `contacts::erase` use case): its personal fields, tags and
/// attributes emptied, `leadId` → `erased:<id>`, status DELETED (MERGED for a tombstone),
/// `erasedAt` = `at`; its Requests' `firstText` → `[erased]` and attributes `{}`; the visitor
/// users behind it lose name, email, external id and attributes. Returns the erased row.
pub async fn scrub(
    txn: &impl ConnectionTrait,
    scope: ProjectScope,
    current: &lead::Model,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<lead::Model> {
    let mut tomb = super::leads::blank(scope, format!("erased:{}", current.id), current.created_at);
    tomb.id = current.id;
    tomb.status = if current.merged_into.is_some() {
        lead::LeadStatus::Merged
    } else {
        lead::LeadStatus::Deleted
    };
    tomb.merged_into = current.merged_into;
    tomb.version = current.version + 1;
    tomb.updated_at = at;
    tomb.last_request_at = current.last_request_at;
    tomb.erased_at = Some(at);
    super::leads::save_all(txn, scope, &tomb).await?;

    request::Entity::update_many()
        .col_expr(request::Column::FirstText, Expr::value("[erased]"))
        .col_expr(
            request::Column::Attributes,
            Expr::value(Value::Object(Map::new())),
        )
        .col_expr(request::Column::UpdatedAt, Expr::value(at))
        .filter(request::Column::ProjectId.eq(scope.project_id))
        .filter(request::Column::Lead.eq(current.id))
        .exec(txn)
        .await?;
    // The visitor user(s) behind the contact: the one it was keyed by and every requester.
    let mut users: Vec<Uuid> = request::Entity::find()
        .select_only()
        .column(request::Column::RequesterId)
        .filter(request::Column::ProjectId.eq(scope.project_id))
        .filter(request::Column::Lead.eq(current.id))
        .distinct()
        .into_tuple()
        .all(txn)
        .await?;
    if let Ok(keyed) = Uuid::parse_str(&current.lead_id) {
        users.push(keyed);
    }
    user::Entity::update_many()
        .col_expr(user::Column::Fullname, Expr::value(Option::<String>::None))
        .col_expr(user::Column::Email, Expr::value(Option::<String>::None))
        .col_expr(
            user::Column::ExternalId,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            user::Column::Attributes,
            Expr::value(Value::Object(Map::new())),
        )
        .filter(user::Column::ProjectId.eq(scope.project_id))
        .filter(user::Column::Id.is_in(users))
        .filter(user::Column::Kind.ne(user::UserKind::Agent))
        .exec(txn)
        .await?;
    Ok(tomb)
}
