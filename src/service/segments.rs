//! Saved segments (use cases): a named contact filter shared by the project's agents, used by
//! `contacts(segment:)`, bulk actions and `export-csv --segment`. Peers: Chatwoot's saved
//! filters ("segments"), Intercom's segments.

use entity::segment;
use uuid::Uuid;

use super::contact_search::{self, ContactQuery};
use super::store::segments as store;
use super::{Database, ProjectScope, begin_write, now};
use crate::error::{AppError, AppResult};
use crate::normalize;

/// Longest segment name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Most segments per project.
pub const MAX_SEGMENTS: u64 = 200;

/// A segment with its filter read back.
#[derive(Clone, Debug)]
pub struct Segment {
    /// The row.
    pub row: segment::Model,
    /// Its filter (without an order: a segment filters, its users order).
    pub query: ContactQuery,
}

impl Segment {
    fn of(row: segment::Model) -> AppResult<Self> {
        let query = serde_json::from_value(row.filter.clone()).map_err(AppError::internal)?;
        Ok(Self { row, query })
    }
}

/// Creates (`id` `None`) or replaces (`id` given) a segment named `name` with filter `query`
/// (its `order` is dropped). Returns it. Errors: `BAD_USER_INPUT` (`name` blank or over 100
/// characters; `filter`'s own codes, e.g. `search`, `tags`), `NOT_FOUND` (`id`), `CONFLICT`
/// with `extensions.existingId` (another segment has this name, case-insensitively),
/// `CONFLICT` (over 200 segments).
pub async fn save(
    db: &impl Database,
    scope: ProjectScope,
    actor: Option<Uuid>,
    id: Option<Uuid>,
    name: &str,
    mut query: ContactQuery,
) -> AppResult<Segment> {
    let name = normalize::text("name", Some(name), MAX_NAME_CHARS)?
        .ok_or_else(|| AppError::bad_input("name", "must not be blank"))?;
    let name_key = name.to_lowercase();
    query.order = None;
    contact_search::check(db, scope, &query).await?;
    let filter = serde_json::to_value(&query).map_err(AppError::internal)?;
    let txn = begin_write(db).await?;
    if let Some(taken) = store::find_by_name(&txn, scope, &name_key).await?
        && Some(taken.id) != id
    {
        return Err(AppError::AlreadyExists {
            what: "a segment with this name",
            existing_id: taken.id,
        });
    }
    let at = now();
    let row = match id {
        Some(id) => {
            let mut row = store::find(&txn, scope, id).await?;
            row.name = name;
            row.name_key = name_key;
            row.filter = filter;
            row.updated_at = at;
            store::save(&txn, scope, &row).await?;
            row
        }
        None => {
            if store::count(&txn, scope).await? >= MAX_SEGMENTS {
                return Err(AppError::Conflict(format!(
                    "a project keeps at most {MAX_SEGMENTS} segments"
                )));
            }
            let row = segment::Model {
                id: Uuid::new_v4(),
                project_id: scope.project_id,
                name,
                name_key,
                filter,
                created_by: actor,
                created_at: at,
                updated_at: at,
            };
            store::insert(&txn, scope, &row).await?;
            row
        }
    };
    txn.commit().await?;
    Segment::of(row)
}

/// Deletes segment `id` of `scope`. Errors: `NOT_FOUND`.
pub async fn delete(db: &impl Database, scope: ProjectScope, id: Uuid) -> AppResult<()> {
    if !store::delete(db, scope, id).await? {
        return Err(AppError::NotFound("segment"));
    }
    Ok(())
}

/// The segment `id` of `scope`. Errors: `NOT_FOUND`.
pub async fn get(db: &impl Database, scope: ProjectScope, id: Uuid) -> AppResult<Segment> {
    Segment::of(store::find(db, scope, id).await?)
}

/// Every segment of `scope`, by name.
pub async fn list(db: &impl Database, scope: ProjectScope) -> AppResult<Vec<Segment>> {
    store::list(db, scope)
        .await?
        .into_iter()
        .map(Segment::of)
        .collect()
}

/// `query` within segment `id` of `scope` (`query` AND the segment's filter), or `query`
/// alone without a segment. Errors: `BAD_USER_INPUT` (`segment` not a UUID; a filter that
/// contradicts the segment's), `NOT_FOUND` (segment).
pub async fn within(
    db: &impl Database,
    scope: ProjectScope,
    segment: Option<Uuid>,
    query: ContactQuery,
) -> AppResult<ContactQuery> {
    match segment {
        None => Ok(query),
        Some(id) => query.and(get(db, scope, id).await?.query),
    }
}
