//! Rows of `contact_note`: agents' notes on a Lead. Inserted, edited and deleted by the
//! `notes` use cases; listed newest first per Lead (one statement for a whole list of Leads);
//! moved by merges and moved back by unmerges; deleted by erasure.

use std::collections::HashMap;

use entity::contact_note;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, Iterable, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::ProjectScope;
use crate::service::pagination::{Cursor, Page, PageArgs, pages_by_group, per_lead_window};

/// Inserts `note` (its `project_id` must be `scope`'s). Errors: `INTERNAL` otherwise.
pub async fn insert(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    note: &contact_note::Model,
) -> AppResult<()> {
    if note.project_id != scope.project_id {
        return Err(AppError::internal("a note inserted outside its scope"));
    }
    contact_note::Entity::insert(contact_note::ActiveModel::from(note.clone()))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The note `id` of `scope`, locked `FOR UPDATE` on PostgreSQL when `lock`. Errors:
/// `NOT_FOUND` (unknown id or another project's).
pub async fn find(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    id: Uuid,
    lock: bool,
) -> AppResult<contact_note::Model> {
    let mut select = contact_note::Entity::find_by_id(id)
        .filter(contact_note::Column::ProjectId.eq(scope.project_id));
    if lock {
        select = select.lock_exclusive();
    }
    select.one(db).await?.ok_or(AppError::NotFound("note"))
}

/// Writes `note`'s body and `updated_at` (by id, within `scope`).
pub async fn save(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    note: &contact_note::Model,
) -> AppResult<()> {
    contact_note::Entity::update_many()
        .col_expr(contact_note::Column::Body, Expr::value(note.body.clone()))
        .col_expr(
            contact_note::Column::UpdatedAt,
            Expr::value(note.updated_at),
        )
        .filter(contact_note::Column::ProjectId.eq(scope.project_id))
        .filter(contact_note::Column::Id.eq(note.id))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes the note `id` of `scope`.
pub async fn delete(db: &impl ConnectionTrait, scope: ProjectScope, id: Uuid) -> AppResult<()> {
    contact_note::Entity::delete_many()
        .filter(contact_note::Column::ProjectId.eq(scope.project_id))
        .filter(contact_note::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// For each Lead of `leads` (within `scope`), one page of its notes, newest first: ONE
/// statement for all of them. Leads without notes are absent from the map.
pub async fn pages_for_leads(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    leads: &[Uuid],
    args: PageArgs,
) -> Result<HashMap<Uuid, Page<contact_note::Model>>, DbErr> {
    if args.first == 0 || leads.is_empty() {
        return Ok(HashMap::new());
    }
    let mut inner = Query::select();
    inner
        .columns(contact_note::Column::iter())
        .from(contact_note::Entity)
        .and_where(contact_note::Column::ProjectId.eq(scope.project_id))
        .and_where(contact_note::Column::Lead.is_in(leads.iter().copied()));
    let stmt = db
        .get_database_backend()
        .build(&per_lead_window(inner, args));
    let rows = contact_note::Model::find_by_statement(stmt).all(db).await?;
    Ok(pages_by_group(rows, |r| r.lead, cursor_of, args.first))
}

/// The cursor of a note (newest first by creation).
pub fn cursor_of(note: &contact_note::Model) -> Cursor {
    Cursor {
        created_at: note.created_at,
        id: note.id,
    }
}

/// The ids of the notes on each Lead of `leads` (within `scope`), in id order; Leads without
/// notes get an empty list. For the merge journal.
pub async fn ids_by_lead(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    leads: &[Uuid],
) -> AppResult<Vec<(Uuid, Vec<Uuid>)>> {
    let rows: Vec<(Uuid, Uuid)> = contact_note::Entity::find()
        .select_only()
        .column(contact_note::Column::Id)
        .column(contact_note::Column::Lead)
        .filter(contact_note::Column::ProjectId.eq(scope.project_id))
        .filter(contact_note::Column::Lead.is_in(leads.iter().copied()))
        .order_by_asc(contact_note::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(leads
        .iter()
        .map(|&lead| {
            let ids = rows
                .iter()
                .filter(|(_, on)| *on == lead)
                .map(|(id, _)| *id)
                .collect();
            (lead, ids)
        })
        .collect())
}

/// Moves the notes `ids` of `scope` that are on Lead `from` to Lead `to` (merge, unmerge).
pub async fn move_notes(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    ids: &[Uuid],
    from: Uuid,
    to: Uuid,
) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    contact_note::Entity::update_many()
        .col_expr(contact_note::Column::Lead, Expr::value(to))
        .filter(contact_note::Column::ProjectId.eq(scope.project_id))
        .filter(contact_note::Column::Lead.eq(from))
        .filter(contact_note::Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}

/// Erasure: deletes every note on the Leads `leads` of `scope`.
pub async fn delete_for_leads(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    leads: &[Uuid],
) -> AppResult<()> {
    contact_note::Entity::delete_many()
        .filter(contact_note::Column::ProjectId.eq(scope.project_id))
        .filter(contact_note::Column::Lead.is_in(leads.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}
