//! Rows of `lead` (Contacts): the visitor's get-or-create, lookups (by id, by key, past
//! tombstones, with the nested relations a read asks for), locks, inserts and saves.

use std::collections::HashMap;

use entity::lead;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::ProjectScope;
use crate::service::prefetch::{Nested, Prefetched};

/// Statuses that lists show by default (TEMP and DELETED are hidden).
pub const LISTED_STATUSES: [lead::LeadStatus; 1] = [lead::LeadStatus::Normal];

/// A new NORMAL Lead of `scope` keyed `lead_id`, version 1, created at `at`, with every
/// optional field empty (not yet inserted).
pub fn blank(
    scope: ProjectScope,
    lead_id: String,
    at: chrono::DateTime<chrono::Utc>,
) -> lead::Model {
    lead::Model {
        id: Uuid::new_v4(),
        project_id: scope.project_id,
        lead_id,
        fullname: None,
        email: None,
        email_key: None,
        phone: None,
        company: None,
        note: None,
        street: None,
        city: None,
        region: None,
        zipcode: None,
        country: None,
        attributes: Value::Object(Map::new()),
        tags: Value::Array(Vec::new()),
        status: lead::LeadStatus::Normal,
        version: 1,
        created_at: at,
        updated_at: at,
        last_request_at: None,
        erased_at: None,
        merged_into: None,
        additional_emails: Value::Array(Vec::new()),
        external_id: None,
        owner_id: None,
        company_id: None,
    }
}

/// Writes every column of `model` to its row (by primary key, within `scope`'s project).
/// Errors: `INTERNAL` when no such row is in the project.
pub async fn save_all(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    model: &lead::Model,
) -> AppResult<()> {
    let done = lead::Entity::update_many()
        .set(lead::ActiveModel::from(model.clone()).reset_all())
        .filter(lead::Column::Id.eq(model.id))
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .exec(db)
        .await?;
    if done.rows_affected != 1 {
        return Err(AppError::internal("the lead to save is not in its project"));
    }
    Ok(())
}

/// Most tombstone hops followed (merges keep every tombstone one hop from its survivor).
const MAX_HOPS: usize = 8;

/// The surviving Lead of `lead`: itself, or the Lead its tombstone chain ends at, locked
/// `FOR UPDATE` on PostgreSQL when `lock`. Errors: `INTERNAL` on a dangling or cyclic chain.
pub async fn resolve(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    mut lead: lead::Model,
    lock: bool,
) -> AppResult<lead::Model> {
    for _ in 0..MAX_HOPS {
        let Some(next) = lead.merged_into else {
            return Ok(lead);
        };
        let mut select =
            lead::Entity::find_by_id(next).filter(lead::Column::ProjectId.eq(scope.project_id));
        if lock {
            select = select.lock_exclusive();
        }
        lead = select
            .one(db)
            .await?
            .ok_or_else(|| AppError::internal("tombstone points at a missing lead"))?;
    }
    Err(AppError::internal("tombstone chain too long"))
}

/// The Lead keyed `lead_id` (a visitor's user id, or an id given by an agent or an import) in
/// `scope`, locked `FOR UPDATE` on PostgreSQL.
pub async fn find_by_lead_id_locked(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    lead_id: &str,
) -> AppResult<Option<lead::Model>> {
    Ok(lead::Entity::find()
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .filter(lead::Column::LeadId.eq(lead_id))
        .lock_exclusive()
        .one(db)
        .await?)
}

/// A Lead found with the nested relations its selection asked for.
#[derive(Clone, Debug)]
pub struct Found {
    /// The Lead (the surviving one when the id led to a merged-away Lead).
    pub lead: lead::Model,
    /// What `nested` fetched with it in the same statement; `None` when the lookup went
    /// through a tombstone (the relations fetched were the tombstone's: the caller loads the
    /// survivor's its own way).
    pub prefetched: Option<Prefetched>,
}

/// The Lead with primary key `id` in `scope`, or the surviving Lead when `id` was merged
/// away, with `nested` fetched in the same statement; `None` when absent or in another
/// project. One statement (one more per tombstone hop).
pub async fn find_resolved(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    id: Uuid,
    nested: &Nested,
) -> AppResult<Option<Found>> {
    let select = lead::Entity::find_by_id(id).filter(lead::Column::ProjectId.eq(scope.project_id));
    find_one(db, scope, select, nested).await
}

/// The Lead with primary key `id` in `scope`; `None` when absent or in another project.
pub async fn find_by_id(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    id: Uuid,
) -> AppResult<Option<lead::Model>> {
    Ok(lead::Entity::find_by_id(id)
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .one(db)
        .await?)
}

/// The visitor's own Lead in `scope` (the surviving one when it was merged away), if it
/// exists yet, with `nested` fetched in the same statement (as [`find_resolved`]).
pub async fn find_for_visitor(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    visitor_id: Uuid,
    nested: &Nested,
) -> AppResult<Option<Found>> {
    let select = lead::Entity::find()
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .filter(lead::Column::LeadId.eq(visitor_id.to_string()));
    find_one(db, scope, select, nested).await
}

/// The first Lead `select` finds, with the columns of `nested`, resolved past tombstones.
async fn find_one(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    select: sea_orm::Select<lead::Entity>,
    nested: &Nested,
) -> AppResult<Option<Found>> {
    use sea_orm::QueryTrait;
    let backend = db.get_database_backend();
    let select = nested.with_columns(nested.lead_columns.project(select), backend, scope);
    let Some(row) = db.query_one_raw(select.limit(1).build(backend)).await? else {
        return Ok(None);
    };
    let found = nested.lead_columns.read(&row)?;
    if found.merged_into.is_some() {
        return Ok(Some(Found {
            lead: resolve(db, scope, found, false).await?,
            prefetched: None,
        }));
    }
    let mut prefetched = Prefetched::default();
    nested.read(&row, &found, &mut prefetched)?;
    Ok(Some(Found {
        lead: found,
        prefetched: Some(prefetched),
    }))
}

/// Leads with primary keys in `ids`, within `scope` (the `Contact` loader).
pub async fn find_many(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    ids: &[Uuid],
) -> Result<Vec<lead::Model>, sea_orm::DbErr> {
    lead::Entity::find()
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .filter(lead::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// The contact `id` of `scope`, locked `FOR UPDATE` on PostgreSQL (call in a write
/// transaction). Errors: `NOT_FOUND` (unknown id or another project's).
pub async fn lock(
    txn: &impl ConnectionTrait,
    scope: ProjectScope,
    id: Uuid,
) -> AppResult<lead::Model> {
    lead::Entity::find_by_id(id)
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("contact"))
}

/// The Leads of `scope` with primary keys in `ids`, by id, locked `FOR UPDATE` on PostgreSQL
/// when `lock` (in id order: two transactions locking the same contacts cannot deadlock).
pub async fn load_many(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    ids: &[Uuid],
    lock: bool,
) -> AppResult<HashMap<Uuid, lead::Model>> {
    let mut select = lead::Entity::find()
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .filter(lead::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(lead::Column::Id);
    if lock {
        select = select.lock_exclusive();
    }
    Ok(select
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect())
}

/// Inserts `model` unless `scope`'s project already has a Lead with its `lead_id`; returns
/// whether it was inserted.
pub async fn insert_new(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    model: &lead::Model,
) -> AppResult<bool> {
    if model.project_id != scope.project_id {
        return Err(AppError::internal("a lead inserted outside its scope"));
    }
    let inserted = lead::Entity::insert(lead::ActiveModel::from(model.clone()))
        .on_conflict_do_nothing_on([lead::Column::ProjectId, lead::Column::LeadId])
        .exec_without_returning(db)
        .await?;
    Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(1)))
}

/// The tombstones of `into` (Leads merged into it), locked `FOR UPDATE` on PostgreSQL.
pub async fn tombstones_locked(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    into: Uuid,
) -> AppResult<Vec<lead::Model>> {
    Ok(lead::Entity::find()
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .filter(lead::Column::MergedInto.eq(into))
        .lock_exclusive()
        .all(db)
        .await?)
}

/// Up to `limit` listed (NORMAL) Leads of `scope` other than `except` whose email match key
/// is `key`, oldest first.
pub async fn listed_with_email_key(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    key: &str,
    except: Uuid,
    limit: u64,
) -> AppResult<Vec<lead::Model>> {
    Ok(lead::Entity::find()
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .filter(lead::Column::EmailKey.eq(key))
        .filter(lead::Column::Status.eq(lead::LeadStatus::Normal))
        .filter(lead::Column::Id.ne(except))
        .order_by_asc(lead::Column::CreatedAt)
        .order_by_asc(lead::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// The ids of the contacts merged into `id` (its tombstones), for each id of `ids`, within
/// `scope` (the `Contact.mergedFrom` loader: one statement).
pub async fn merged_from(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Uuid>>, sea_orm::DbErr> {
    let rows: Vec<(Uuid, Option<Uuid>)> = lead::Entity::find()
        .select_only()
        .column(lead::Column::Id)
        .column(lead::Column::MergedInto)
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .filter(lead::Column::MergedInto.is_in(ids.iter().copied()))
        .order_by_asc(lead::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (id, into) in rows {
        if let Some(into) = into {
            out.entry(into).or_default().push(id);
        }
    }
    Ok(out)
}
