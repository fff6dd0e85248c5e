//! Leads (Contacts): the visitor's get-or-create, metadata capture, and agents' lookups.

use entity::{lead, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionSession, TransactionTrait,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::prefetch::{Nested, Prefetched};
use super::timeline::{self, NewEvent};
use super::{ProjectScope, begin_write, merge, now};
use crate::error::{AppError, AppResult};
use crate::normalize::{self, NormalizedEmail};

/// Statuses that lists show by default (TEMP and DELETED are hidden).
pub const LISTED_STATUSES: [i32; 1] = [lead::STATUS_NORMAL];

/// Metadata captured by the widget. Every field is optional; an absent or blank one leaves
/// the stored value alone.
#[derive(Clone, Debug, Default)]
pub struct MetadataInput {
    /// Full name (≤ 200 characters).
    pub fullname: Option<String>,
    /// Email (RFC 5322 syntax, ≤ 254 bytes).
    pub email: Option<String>,
    /// Phone (E.164 or national digits).
    pub phone: Option<String>,
    /// Custom attributes: a JSON object merged by top-level key.
    pub attributes: Option<Value>,
}

/// [`MetadataInput`] after validation.
#[derive(Clone, Debug, Default)]
struct ValidMetadata {
    fullname: Option<String>,
    email: Option<NormalizedEmail>,
    phone: Option<String>,
    attributes: Option<Map<String, Value>>,
}

impl MetadataInput {
    fn validate(self) -> AppResult<ValidMetadata> {
        Ok(ValidMetadata {
            fullname: normalize::text(
                "fullname",
                self.fullname.as_deref(),
                normalize::MAX_NAME_CHARS,
            )?,
            email: normalize::email("email", self.email.as_deref())?,
            phone: normalize::phone("phone", self.phone.as_deref())?,
            attributes: normalize::attributes("attributes", self.attributes)?,
        })
    }
}

/// The visitor's Lead in `scope`, created if missing (seeded with the name, email and
/// attributes the visitor gave at sign-in). Race-free: the insert is `ON CONFLICT DO NOTHING`
/// on the unique key (project, lead_id) and the row is read back, locked `FOR UPDATE` on
/// PostgreSQL. Call inside a write transaction ([`begin_write`]).
pub async fn get_or_create_for_visitor(
    txn: &impl ConnectionTrait,
    scope: ProjectScope,
    visitor_id: Uuid,
) -> AppResult<lead::Model> {
    Ok(get_or_create(txn, scope, visitor_id).await?.0)
}

/// [`get_or_create_for_visitor`], also telling whether this call created the Lead.
pub(crate) async fn get_or_create(
    txn: &impl ConnectionTrait,
    scope: ProjectScope,
    visitor_id: Uuid,
) -> AppResult<(lead::Model, bool)> {
    let lead_id = visitor_id.to_string();
    if let Some(found) = find_by_lead_id_locked(txn, scope, &lead_id).await? {
        // A visitor whose contact was merged away lands on the surviving contact.
        return Ok((resolve(txn, scope, found, true).await?, false));
    }
    let visitor = user::Entity::find_by_id(visitor_id)
        .one(txn)
        .await?
        .ok_or(AppError::Unauthenticated("the visitor no longer exists"))?;
    let email = visitor.email.as_deref().map(normalize::email_key);
    let at = now();
    let attributes = match visitor.attributes {
        Value::Object(map) => Value::Object(map),
        _ => Value::Object(Map::new()),
    };
    let mut new = blank(scope, lead_id.clone(), at);
    let id = new.id;
    new.fullname = visitor.fullname;
    new.email = visitor.email;
    new.email_key = email;
    new.attributes = attributes;
    new.external_id = visitor.external_id;
    lead::Entity::insert(lead::ActiveModel::from(new))
        .on_conflict_do_nothing_on([lead::Column::ProjectId, lead::Column::LeadId])
        .exec_without_returning(txn)
        .await?;
    let found = find_by_lead_id_locked(txn, scope, &lead_id)
        .await?
        .ok_or_else(|| AppError::internal("lead missing after get-or-create"))?;
    let created = found.id == id;
    if created {
        timeline::record(
            txn,
            scope,
            found.id,
            Some(visitor_id),
            vec![NewEvent::bare(timeline::CREATED)],
        )
        .await?;
        return Ok((found, true));
    }
    Ok((resolve(txn, scope, found, true).await?, false))
}

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
        status: lead::STATUS_NORMAL,
        version: 1,
        created_at: at,
        updated_at: at,
        last_request_at: None,
        erased_at: None,
        merged_into: None,
        additional_emails: Value::Array(Vec::new()),
        external_id: None,
    }
}

/// Writes every column of `model` to its row (by primary key, within `scope`'s project).
/// Errors: `INTERNAL` when no such row is in the project.
pub(crate) async fn save_all(
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
pub(crate) async fn resolve(
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

pub(crate) async fn find_by_lead_id_locked(
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

/// Applies captured metadata to the visitor's own Lead (created if needed), in one write
/// transaction. Absent or blank fields leave stored values alone; attributes merge by
/// top-level key; `version` and `updated_at` change only when something did; each change is a
/// timeline event by the visitor. When the project's `auto_merge_on_email` is on and the
/// captured email is another listed contact's, the visitor's contact is merged into that one
/// in the same transaction (journaled, undoable; never when both are identified visitors
/// with different external ids) and the surviving contact is returned.
/// Errors: `BAD_USER_INPUT` (`fullname`, `email`, `phone`, `attributes`), checked before
/// anything is written.
pub async fn capture_metadata(
    db: &impl TransactionTrait,
    scope: ProjectScope,
    visitor_id: Uuid,
    input: MetadataInput,
) -> AppResult<lead::Model> {
    let input = input.validate()?;
    let email_given = input.email.as_ref().map(|e| e.key.clone());
    let txn = begin_write(db).await?;
    let (current, created) = get_or_create(&txn, scope, visitor_id).await?;
    let mut next = current.clone();
    if let Some(fullname) = input.fullname {
        next.fullname = Some(fullname);
    }
    if let Some(email) = input.email {
        next.email = Some(email.display);
        next.email_key = Some(email.key);
    }
    if let Some(phone) = input.phone {
        next.phone = Some(phone);
    }
    if let Some(patch) = input.attributes {
        let mut stored = match current.attributes.clone() {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        if normalize::merge_attributes(&mut stored, patch) {
            normalize::check_attributes("attributes", &stored)?;
            next.attributes = Value::Object(stored);
        }
    }
    let mut saved = if next != current {
        // A Lead created by this very call is at its first version.
        next.version = if created {
            current.version
        } else {
            current.version + 1
        };
        next.updated_at = now();
        save_all(&txn, scope, &next).await?;
        let events = timeline::diff(&current, &next);
        timeline::record(&txn, scope, next.id, Some(visitor_id), events).await?;
        next
    } else {
        current
    };
    if let Some(key) = email_given {
        saved = auto_merge_on_email(&txn, scope, visitor_id, saved, &key).await?;
    }
    txn.commit().await?;
    Ok(saved)
}

/// The project's `auto_merge_on_email` rule: merges `lead` into the best other listed contact
/// of the project with email key `key` (most Requests, then oldest), unless both are
/// identified with different external ids. Returns the surviving contact (`lead` itself when
/// the setting is off or nothing matches).
async fn auto_merge_on_email(
    txn: &impl ConnectionTrait,
    scope: ProjectScope,
    visitor_id: Uuid,
    lead: lead::Model,
    key: &str,
) -> AppResult<lead::Model> {
    let enabled = entity::project::Entity::find_by_id(scope.project_id)
        .one(txn)
        .await?
        .is_some_and(|p| p.auto_merge_on_email);
    if !enabled || lead.status != lead::STATUS_NORMAL {
        return Ok(lead);
    }
    let candidates = lead::Entity::find()
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .filter(lead::Column::EmailKey.eq(key))
        .filter(lead::Column::Status.eq(lead::STATUS_NORMAL))
        .filter(lead::Column::Id.ne(lead.id))
        .order_by_asc(lead::Column::CreatedAt)
        .order_by_asc(lead::Column::Id)
        .limit(merge::MAX_SECONDARIES as u64)
        .all(txn)
        .await?;
    let candidates: Vec<lead::Model> = candidates
        .into_iter()
        .filter(|c| match (&c.external_id, &lead.external_id) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        })
        .collect();
    if candidates.is_empty() {
        return Ok(lead);
    }
    let ids: Vec<Uuid> = candidates.iter().map(|c| c.id).collect();
    let counts = super::requests::counts_for_leads(txn, scope, &ids, None).await?;
    // Most Requests first; among equals the oldest (the list is oldest first; max_by_key
    // keeps the last maximum, so walk it reversed).
    let target = candidates
        .iter()
        .rev()
        .max_by_key(|c| counts.get(&c.id).copied().unwrap_or(0))
        .map(|c| c.id)
        .ok_or_else(|| AppError::internal("no merge target"))?;
    let (survivor, _) = merge::merge_in(
        txn,
        scope,
        &merge::MergeInput {
            primary_id: target,
            secondary_ids: vec![lead.id],
            ..Default::default()
        },
        merge::MergeOrigin {
            kind: entity::lead_merge::KIND_AUTO_EMAIL,
            actor: Some(visitor_id),
        },
    )
    .await?;
    Ok(survivor)
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
    use sea_orm::{FromQueryResult, QueryTrait};
    let backend = db.get_database_backend();
    let select = nested.with_columns(select, backend, scope);
    let Some(row) = db.query_one_raw(select.limit(1).build(backend)).await? else {
        return Ok(None);
    };
    let found = lead::Model::from_query_result(&row, "")?;
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
