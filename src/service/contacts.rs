//! Agents' management of contacts: create, update (optimistic concurrency), attributes, tags,
//! soft delete / restore, GDPR erasure, and bulk variants. Every function is scoped to the
//! agent's project; an id of another project is `NOT_FOUND`, exactly like a missing one.

use entity::{lead, request, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect,
    TransactionSession, TransactionTrait,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::leads::{blank, save_all};
use super::timeline::{self, NewEvent};
use super::{ProjectScope, begin_write, merge, now};
use crate::error::{AppError, AppResult};
use crate::normalize::{self, NormalizedEmail};

/// Longest accepted note, in characters.
pub const MAX_NOTE_CHARS: usize = 10_000;
/// Longest accepted company / address field, in characters.
pub const MAX_FIELD_CHARS: usize = 200;
/// Most ids in one bulk call.
pub const MAX_BULK: usize = 100;

/// A change to one optional field: leave it, clear it (explicit `null`), or set it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Absent: leave the stored value alone.
    #[default]
    Keep,
    /// Explicit `null`: clear the stored value.
    Clear,
    /// A new value.
    Set(T),
}

/// The editable text fields of a contact.
#[derive(Clone, Debug, Default)]
pub struct ContactFields {
    /// Full name (≤ 200 characters).
    pub fullname: Patch<String>,
    /// Email (validated; the match key is derived).
    pub email: Patch<String>,
    /// Phone (E.164 or national digits).
    pub phone: Patch<String>,
    /// Company (≤ 200 characters).
    pub company: Patch<String>,
    /// Note (≤ 10,000 characters, multi-line).
    pub note: Patch<String>,
    /// Street (≤ 200 characters).
    pub street: Patch<String>,
    /// City (≤ 200 characters).
    pub city: Patch<String>,
    /// Region (≤ 200 characters).
    pub region: Patch<String>,
    /// Postal code (≤ 200 characters).
    pub zipcode: Patch<String>,
    /// Country (≤ 200 characters).
    pub country: Patch<String>,
}

/// Validated [`ContactFields`]: `Some(None)` clears, `Some(Some(v))` sets, `None` keeps.
#[derive(Clone, Debug, Default)]
pub(crate) struct ValidFields {
    fullname: Option<Option<String>>,
    email: Option<Option<NormalizedEmail>>,
    phone: Option<Option<String>>,
    company: Option<Option<String>>,
    note: Option<Option<String>>,
    street: Option<Option<String>>,
    city: Option<Option<String>>,
    region: Option<Option<String>>,
    zipcode: Option<Option<String>>,
    country: Option<Option<String>>,
}

fn check<T>(
    patch: Patch<String>,
    parse: impl FnOnce(&str) -> AppResult<Option<T>>,
) -> AppResult<Option<Option<T>>> {
    match patch {
        Patch::Keep => Ok(None),
        Patch::Clear => Ok(Some(None)),
        // A blank value clears, like `null`: a stored field is never set to "".
        Patch::Set(v) => Ok(Some(parse(&v)?)),
    }
}

impl ContactFields {
    /// Validates and normalises every field (the API's rules). Errors: `BAD_USER_INPUT`
    /// naming the first bad field.
    pub(crate) fn validate(self) -> AppResult<ValidFields> {
        let line =
            |field: &'static str, max: usize| move |v: &str| normalize::text(field, Some(v), max);
        Ok(ValidFields {
            fullname: check(self.fullname, line("fullname", normalize::MAX_NAME_CHARS))?,
            email: check(self.email, |v| normalize::email("email", Some(v)))?,
            phone: check(self.phone, |v| normalize::phone("phone", Some(v)))?,
            company: check(self.company, line("company", MAX_FIELD_CHARS))?,
            note: check(self.note, |v| {
                normalize::text_multiline("note", Some(v), MAX_NOTE_CHARS)
            })?,
            street: check(self.street, line("street", MAX_FIELD_CHARS))?,
            city: check(self.city, line("city", MAX_FIELD_CHARS))?,
            region: check(self.region, line("region", MAX_FIELD_CHARS))?,
            zipcode: check(self.zipcode, line("zipcode", MAX_FIELD_CHARS))?,
            country: check(self.country, line("country", MAX_FIELD_CHARS))?,
        })
    }
}

impl ValidFields {
    /// Applies the changes to `model`; returns whether anything changed.
    pub(crate) fn apply(self, model: &mut lead::Model) -> bool {
        fn put<T: PartialEq>(slot: &mut T, value: Option<T>) -> bool {
            match value {
                Some(v) if *slot != v => {
                    *slot = v;
                    true
                }
                _ => false,
            }
        }
        let mut changed = false;
        if let Some(email) = self.email {
            let (display, key) = match email {
                Some(e) => (Some(e.display), Some(e.key)),
                None => (None, None),
            };
            changed |= put(&mut model.email, Some(display));
            model.email_key = key;
        }
        changed |= put(&mut model.fullname, self.fullname);
        changed |= put(&mut model.phone, self.phone);
        changed |= put(&mut model.company, self.company);
        changed |= put(&mut model.note, self.note);
        changed |= put(&mut model.street, self.street);
        changed |= put(&mut model.city, self.city);
        changed |= put(&mut model.region, self.region);
        changed |= put(&mut model.zipcode, self.zipcode);
        changed |= put(&mut model.country, self.country);
        changed
    }
}

/// Input of [`create`].
#[derive(Clone, Debug, Default)]
pub struct NewContact {
    /// The fields (`Keep` and `Clear` both mean "empty" on creation).
    pub fields: ContactFields,
    /// Tags.
    pub tags: Vec<String>,
    /// Custom attributes (a JSON object).
    pub attributes: Option<Value>,
    /// The visitor id to key the contact by; a new UUID when absent.
    pub lead_id: Option<String>,
}

/// Creates a contact by hand. Errors: `BAD_USER_INPUT` (any field, `leadId` blank or over 200
/// characters, `tags`, `attributes`); `CONFLICT` with `extensions.existingId` when the
/// project already has a contact with this `leadId`.
pub async fn create(
    db: &impl TransactionTrait,
    scope: ProjectScope,
    actor: Option<Uuid>,
    input: NewContact,
) -> AppResult<lead::Model> {
    let fields = input.fields.validate()?;
    let tags = normalize::tags("tags", &input.tags)?;
    let tags = normalize::union_tags(&[], &tags)?;
    let attributes = normalize::attributes("attributes", input.attributes)?.unwrap_or_default();
    let lead_id = match input.lead_id {
        None => Uuid::new_v4().to_string(),
        Some(id) => normalize::text("leadId", Some(&id), 200)?
            .ok_or_else(|| AppError::bad_input("leadId", "must not be blank"))?,
    };
    let mut model = blank(scope, lead_id.clone(), now());
    fields.apply(&mut model);
    model.tags = Value::Array(tags.into_iter().map(Value::String).collect());
    model.attributes = Value::Object(attributes);
    let txn = begin_write(db).await?;
    let inserted = lead::Entity::insert(lead::ActiveModel::from(model.clone()))
        .on_conflict_do_nothing_on([lead::Column::ProjectId, lead::Column::LeadId])
        .exec_without_returning(&txn)
        .await?;
    if !matches!(inserted, sea_orm::TryInsertResult::Inserted(1)) {
        let existing = super::leads::find_by_lead_id_locked(&txn, scope, &lead_id)
            .await?
            .ok_or_else(|| AppError::internal("conflicting lead vanished"))?;
        return Err(AppError::AlreadyExists {
            existing_id: existing.id,
        });
    }
    timeline::record(
        &txn,
        scope,
        model.id,
        actor,
        vec![NewEvent::bare(timeline::CREATED)],
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// The contact `id` of `scope`, locked `FOR UPDATE` on PostgreSQL (call in a write
/// transaction). Errors: `NOT_FOUND` (unknown id or another project's).
async fn lock(txn: &impl ConnectionTrait, scope: ProjectScope, id: Uuid) -> AppResult<lead::Model> {
    lead::Entity::find_by_id(id)
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("contact"))
}

/// Locks the contact `id` of `scope` in a write transaction, lets `change` edit a copy, and
/// saves it when `change` reports a change (version + 1, `updated_at` now). Erased contacts
/// cannot change. Errors: `NOT_FOUND`; `CONFLICT` when `expected_version` is given and stale,
/// or the contact is erased; whatever `change` returns.
async fn modify(
    db: &impl TransactionTrait,
    scope: ProjectScope,
    actor: Option<Uuid>,
    id: Uuid,
    expected_version: Option<i32>,
    change: impl FnOnce(&mut lead::Model) -> AppResult<bool>,
) -> AppResult<lead::Model> {
    let txn = begin_write(db).await?;
    let current = lock(&txn, scope, id).await?;
    // What the contact *is* (erased, merged away) before how old the caller's copy is: a
    // merge bumps the tombstone's version, and `ALREADY_MERGED` + `mergedInto` is the answer
    // a client can act on.
    if current.erased_at.is_some() {
        return Err(AppError::Conflict("the contact was erased".into()));
    }
    if let Some(into) = current.merged_into {
        return Err(AppError::MergedAway { into });
    }
    if let Some(expected) = expected_version
        && expected != current.version
    {
        return Err(AppError::Conflict(format!(
            "the contact changed: version is {}, expected {expected}",
            current.version
        )));
    }
    let mut next = current.clone();
    if !change(&mut next)? {
        return Ok(current);
    }
    next.version = current.version + 1;
    next.updated_at = now();
    save_all(&txn, scope, &next).await?;
    timeline::record(&txn, scope, next.id, actor, timeline::diff(&current, &next)).await?;
    txn.commit().await?;
    Ok(next)
}

/// Partial update with optimistic concurrency: `Keep` leaves a field, `Clear` empties it.
/// Errors: `BAD_USER_INPUT` (any field; checked before anything is read or written),
/// `NOT_FOUND` (unknown id or another project's: never creates), `CONFLICT` (stale
/// `expected_version`; nothing written).
pub async fn update(
    db: &impl TransactionTrait,
    scope: ProjectScope,
    actor: Option<Uuid>,
    id: Uuid,
    expected_version: i32,
    fields: ContactFields,
) -> AppResult<lead::Model> {
    let fields = fields.validate()?;
    modify(db, scope, actor, id, Some(expected_version), |m| {
        Ok(fields.apply(m))
    })
    .await
}

/// Merges `set` into the attributes by top-level key, then removes `remove_keys`.
/// Errors: `BAD_USER_INPUT` (`attributes` not an object, `removeKeys` invalid), `NOT_FOUND`.
pub async fn set_attributes(
    db: &impl TransactionTrait,
    scope: ProjectScope,
    actor: Option<Uuid>,
    id: Uuid,
    set: Option<Value>,
    remove_keys: Vec<String>,
) -> AppResult<lead::Model> {
    let set = normalize::attributes("attributes", set)?.unwrap_or_default();
    let remove: Vec<String> = remove_keys
        .iter()
        .map(|k| normalize::attribute_key("removeKeys", k))
        .collect::<AppResult<_>>()?;
    modify(db, scope, actor, id, None, |m| {
        let mut attrs = match &m.attributes {
            Value::Object(map) => map.clone(),
            _ => Map::new(),
        };
        let mut changed = normalize::merge_attributes(&mut attrs, set);
        for key in &remove {
            changed |= attrs.remove(key).is_some();
        }
        normalize::check_attributes("attributes", &attrs)?;
        m.attributes = Value::Object(attrs);
        Ok(changed)
    })
    .await
}

/// Adds tags (set semantics, case-insensitive). Errors: `BAD_USER_INPUT` (`tags`), `NOT_FOUND`.
pub async fn add_tags(
    db: &impl TransactionTrait,
    scope: ProjectScope,
    actor: Option<Uuid>,
    id: Uuid,
    tags: &[String],
) -> AppResult<lead::Model> {
    let tags = normalize::tags("tags", tags)?;
    edit_tags(db, scope, actor, id, &tags, normalize::union_tags).await
}

/// Removes tags (compared case-insensitively). Errors: `BAD_USER_INPUT` (`tags`), `NOT_FOUND`.
pub async fn remove_tags(
    db: &impl TransactionTrait,
    scope: ProjectScope,
    actor: Option<Uuid>,
    id: Uuid,
    tags: &[String],
) -> AppResult<lead::Model> {
    let tags = normalize::tags("tags", tags)?;
    edit_tags(db, scope, actor, id, &tags, |stored, remove| {
        Ok(normalize::subtract_tags(stored, remove))
    })
    .await
}

/// Replaces the stored tags with `combine(stored, tags)` (`tags` already normalised); a
/// change is saved only when the set's size changed.
async fn edit_tags(
    db: &impl TransactionTrait,
    scope: ProjectScope,
    actor: Option<Uuid>,
    id: Uuid,
    tags: &[String],
    combine: impl FnOnce(&[String], &[String]) -> AppResult<Vec<String>>,
) -> AppResult<lead::Model> {
    modify(db, scope, actor, id, None, |m| {
        let stored = normalize::stored_tags(&m.tags);
        let next = combine(&stored, tags)?;
        let changed = next.len() != stored.len();
        m.tags = Value::Array(next.into_iter().map(Value::String).collect());
        Ok(changed)
    })
    .await
}

/// Soft-deletes (status DELETED; hidden from lists by default). Idempotent.
/// Errors: `NOT_FOUND`; `CONFLICT` for an erased contact.
pub async fn delete(
    db: &impl TransactionTrait,
    scope: ProjectScope,
    actor: Option<Uuid>,
    id: Uuid,
) -> AppResult<lead::Model> {
    set_status(db, scope, actor, id, lead::STATUS_DELETED).await
}

/// Undoes [`delete`] (status NORMAL). Idempotent. Errors: `NOT_FOUND`; `CONFLICT` for an
/// erased contact (erasure is irreversible).
pub async fn restore(
    db: &impl TransactionTrait,
    scope: ProjectScope,
    actor: Option<Uuid>,
    id: Uuid,
) -> AppResult<lead::Model> {
    set_status(db, scope, actor, id, lead::STATUS_NORMAL).await
}

async fn set_status(
    db: &impl TransactionTrait,
    scope: ProjectScope,
    actor: Option<Uuid>,
    id: Uuid,
    status: i32,
) -> AppResult<lead::Model> {
    modify(db, scope, actor, id, None, |m| {
        let changed = m.status != status;
        m.status = status;
        Ok(changed)
    })
    .await
}

/// GDPR erasure (right to erasure, GDPR Art. 17). IRREVERSIBLE. In one transaction: the
/// contact's personal fields, tags and attributes are emptied, its `leadId` replaced by
/// `erased:<id>`, status DELETED, `erasedAt` set; each of its Requests' `firstText` becomes
/// `[erased]` and their attributes `{}`; the visitor users it was keyed by lose their name,
/// email and attributes. Contacts merged into it (its tombstones) are erased the same way,
/// the merge journal entries involving any of them lose their snapshots (those merges become
/// permanent) and their timeline events lose their details (an `ERASED` event remains). What
/// remains is PII-free, so counts and foreign keys stay valid. On SQLite the full-text index is
/// then optimised so no token of the erased text survives in its segments. Idempotent on an
/// erased contact. Errors: `NOT_FOUND`.
pub async fn erase(
    db: &(impl TransactionTrait + ConnectionTrait),
    scope: ProjectScope,
    actor: Option<Uuid>,
    id: Uuid,
) -> AppResult<lead::Model> {
    let txn = begin_write(db).await?;
    let current = lock(&txn, scope, id).await?;
    if current.erased_at.is_some() {
        return Ok(current);
    }
    let tombstones = lead::Entity::find()
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .filter(lead::Column::MergedInto.eq(current.id))
        .lock_exclusive()
        .all(&txn)
        .await?;
    let at = now();
    let mut erased = None;
    for row in std::iter::once(&current).chain(tombstones.iter()) {
        let tomb = erase_one(&txn, scope, row, at).await?;
        if row.id == current.id {
            erased = Some(tomb);
        }
    }
    let ids: Vec<Uuid> = std::iter::once(current.id)
        .chain(tombstones.iter().map(|t| t.id))
        .collect();
    merge::forget(&txn, scope, &ids).await?;
    timeline::erase(&txn, scope, &ids).await?;
    timeline::record(
        &txn,
        scope,
        current.id,
        actor,
        vec![NewEvent::bare(timeline::ERASED)],
    )
    .await?;
    if txn.get_database_backend() == DbBackend::Sqlite {
        txn.execute_unprepared("INSERT INTO lead_fts(lead_fts) VALUES ('optimize')")
            .await?;
    }
    txn.commit().await?;
    erased.ok_or_else(|| AppError::internal("erased contact missing"))
}

/// Erases one Lead row (see [`erase`]): its fields, its Requests' texts, its visitor users.
async fn erase_one(
    txn: &impl ConnectionTrait,
    scope: ProjectScope,
    current: &lead::Model,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<lead::Model> {
    let mut tomb = blank(scope, format!("erased:{}", current.id), current.created_at);
    tomb.id = current.id;
    tomb.status = if current.merged_into.is_some() {
        lead::STATUS_MERGED
    } else {
        lead::STATUS_DELETED
    };
    tomb.merged_into = current.merged_into;
    tomb.version = current.version + 1;
    tomb.updated_at = at;
    tomb.last_request_at = current.last_request_at;
    tomb.erased_at = Some(at);
    save_all(txn, scope, &tomb).await?;

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
        .filter(user::Column::Kind.ne(user::KIND_AGENT))
        .exec(txn)
        .await?;
    Ok(tomb)
}

/// One outcome of a bulk call.
#[derive(Debug)]
pub struct BulkOutcome {
    /// The id as given.
    pub id: String,
    /// The changed contact, or why this id failed.
    pub result: AppResult<lead::Model>,
}

/// Soft-deletes each contact of `ids` on its own (one bad id does not fail the others).
/// Errors (whole call): `BAD_USER_INPUT` (`ids`: empty or more than [`MAX_BULK`]).
pub async fn delete_many(
    db: &impl TransactionTrait,
    scope: ProjectScope,
    actor: Option<Uuid>,
    ids: &[String],
) -> AppResult<Vec<BulkOutcome>> {
    bulk(ids, |id| delete(db, scope, actor, id)).await
}

/// Adds `tags` to each contact of `ids` on its own. Errors (whole call): `BAD_USER_INPUT`
/// (`ids` empty or over [`MAX_BULK`]; `tags` invalid).
pub async fn add_tags_many(
    db: &impl TransactionTrait,
    scope: ProjectScope,
    actor: Option<Uuid>,
    ids: &[String],
    tags: &[String],
) -> AppResult<Vec<BulkOutcome>> {
    let tags = normalize::tags("tags", tags)?;
    bulk(ids, |id| {
        edit_tags(db, scope, actor, id, &tags, normalize::union_tags)
    })
    .await
}

/// Runs `op` for each id of `ids` in order, each on its own, collecting per-id outcomes.
async fn bulk<F, Fut>(ids: &[String], mut op: F) -> AppResult<Vec<BulkOutcome>>
where
    F: FnMut(Uuid) -> Fut,
    Fut: std::future::Future<Output = AppResult<lead::Model>>,
{
    check_bulk(ids)?;
    let mut out = Vec::with_capacity(ids.len());
    for raw in ids {
        let result = match normalize::uuid("ids", raw) {
            Ok(id) => op(id).await,
            Err(e) => Err(e),
        };
        out.push(BulkOutcome {
            id: raw.clone(),
            result,
        });
    }
    Ok(out)
}

fn check_bulk(ids: &[String]) -> AppResult<()> {
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(AppError::bad_input(
            "ids",
            format!("give 1 to {MAX_BULK} ids"),
        ));
    }
    Ok(())
}
