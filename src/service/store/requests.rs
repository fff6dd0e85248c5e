//! Rows of `request` (conversations): insert, and the batched reads behind the nested
//! `Contact.requests` connection.

use std::collections::HashMap;

use entity::{lead, request};
use rand::RngCore;
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, Iterable,
    QueryFilter, QuerySelect, Statement,
};
use uuid::Uuid;

use crate::service::ProjectScope;
use crate::service::pagination::{Cursor, Page, PageArgs, pages_by_group, per_lead_window};

/// Inserts `model` (a new Request of `scope`'s project; the caller sets its Lead's
/// `last_request_at`, [`touch_lead`]). Errors: a model of another project; database errors.
pub async fn insert(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    model: &request::Model,
) -> Result<(), DbErr> {
    if model.project_id != scope.project_id {
        return Err(DbErr::Custom("a Request outside its scope".into()));
    }
    request::Entity::insert(request::ActiveModel::from(model.clone()))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Sets the `last_request_at` of Lead `lead` (in `scope`) to `at`.
pub async fn touch_lead(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    lead: Uuid,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    lead::Entity::update_many()
        .col_expr(lead::Column::LastRequestAt, Expr::value(at))
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .filter(lead::Column::Id.eq(lead))
        .exec(db)
        .await?;
    Ok(())
}

/// A new public conversation id: `support-group-<project id>-<32 lowercase hex>` (128 random
/// bits, the peer help desk's format).
pub fn new_request_id(project_id: Uuid) -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("support-group-{project_id}-{hex}")
}

/// For each Lead in `lead_ids` (within `scope`), one page of its Requests, newest first:
/// ONE statement for all Leads, whatever their number. On PostgreSQL a `LATERAL` top-N per
/// Lead (each an index range scan of `(lead, created_at DESC, id DESC)` that stops after the
/// page: no sort); on SQLite a `ROW_NUMBER() OVER (PARTITION BY lead …)` window (SQLite ≥
/// 3.25). Rows are ordered in Rust, not in SQL. `page.after` applies to every
/// Lead. Leads without Requests are absent from the map. With `requester`, only the Requests
/// that user opened (a visitor sees its own conversations, even on a merged contact).
pub async fn pages_for_leads(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    lead_ids: &[Uuid],
    page: PageArgs,
    requester: Option<Uuid>,
) -> Result<HashMap<Uuid, Page<request::Model>>, DbErr> {
    if page.first == 0 || lead_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = db.get_database_backend();
    let stmt = match backend {
        DbBackend::Postgres => lateral_query(scope, lead_ids, page, requester),
        _ => backend.build(&window_query(scope, lead_ids, page, requester)),
    };
    let rows = request::Model::find_by_statement(stmt).all(db).await?;
    Ok(pages_by_group(rows, |r| r.lead, cursor_of, page.first))
}

/// PostgreSQL: `SELECT r.* FROM (VALUES ($1::uuid), …) l(id) CROSS JOIN LATERAL (SELECT * FROM
/// request WHERE project_id = … AND lead = l.id [AND requester_id = …] [AND keyset] ORDER BY
/// created_at DESC, id DESC LIMIT first + 1) r`.
fn lateral_query(
    scope: ProjectScope,
    lead_ids: &[Uuid],
    page: PageArgs,
    requester: Option<Uuid>,
) -> Statement {
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(lead_ids.len() + 6);
    let mut bind = |v: sea_orm::Value| {
        values.push(v);
        format!("${}", values.len())
    };
    let leads: Vec<String> = lead_ids
        .iter()
        .map(|id| format!("({}::uuid)", bind((*id).into())))
        .collect();
    let mut filter = format!(
        r#""project_id" = {} AND "lead" = "l"."id""#,
        bind(scope.project_id.into())
    );
    if let Some(requester) = requester {
        filter.push_str(&format!(
            r#" AND "requester_id" = {}"#,
            bind(requester.into())
        ));
    }
    if let Some(after) = page.after {
        let at = bind(after.created_at.into());
        let id = bind(after.id.into());
        filter.push_str(&format!(
            r#" AND ("created_at" < {at} OR ("created_at" = {at} AND "id" < {id}))"#
        ));
    }
    let limit = bind((page.first as i64 + 1).into());
    let sql = format!(
        r#"SELECT "r".* FROM (VALUES {}) AS "l"("id") CROSS JOIN LATERAL (SELECT * FROM "request" WHERE {filter} ORDER BY "created_at" DESC, "id" DESC LIMIT {limit}) AS "r""#,
        leads.join(", ")
    );
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

fn window_query(
    scope: ProjectScope,
    lead_ids: &[Uuid],
    page: PageArgs,
    requester: Option<Uuid>,
) -> SelectStatement {
    let mut inner = Query::select();
    inner
        .columns(request::Column::iter())
        .from(request::Entity)
        .and_where(request::Column::ProjectId.eq(scope.project_id))
        .and_where(request::Column::Lead.is_in(lead_ids.iter().copied()));
    if let Some(requester) = requester {
        inner.and_where(request::Column::RequesterId.eq(requester));
    }
    per_lead_window(inner, page)
}

/// Number of Requests of each Lead in `lead_ids` (within `scope`; with `requester`, only
/// those that user opened), in one `GROUP BY` statement. Leads without Requests map to 0.
pub async fn counts_for_leads(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    lead_ids: &[Uuid],
    requester: Option<Uuid>,
) -> Result<HashMap<Uuid, u64>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        lead: Uuid,
        n: i64,
    }
    let mut select = request::Entity::find()
        .select_only()
        .column(request::Column::Lead)
        .column_as(request::Column::Id.count(), "n")
        .filter(request::Column::ProjectId.eq(scope.project_id))
        .filter(request::Column::Lead.is_in(lead_ids.iter().copied()));
    if let Some(requester) = requester {
        select = select.filter(request::Column::RequesterId.eq(requester));
    }
    let rows = select
        .group_by(request::Column::Lead)
        .into_model::<Row>()
        .all(db)
        .await?;
    let mut out: HashMap<Uuid, u64> = lead_ids.iter().map(|id| (*id, 0)).collect();
    for row in rows {
        out.insert(row.lead, u64::try_from(row.n).unwrap_or(0));
    }
    Ok(out)
}

/// The cursor of a Request row.
pub fn cursor_of(row: &request::Model) -> Cursor {
    Cursor {
        created_at: row.created_at,
        id: row.id,
    }
}
