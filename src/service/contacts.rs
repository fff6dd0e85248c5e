//! Agents' management of contacts (use cases, each in its own write transaction): create,
//! update (optimistic concurrency), attributes, tags, soft delete / restore, GDPR erasure,
//! and bulk variants. Every function is scoped to the agent's project; an id of another
//! project is `NOT_FOUND`, exactly like a missing one.

use entity::lead;
use sea_orm::{ConnectionTrait, DbBackend};
use serde_json::Value;
use uuid::Uuid;

use super::fields::{ContactField, ContactFields, Patch};
use super::store::changes::{self, Version};
use super::store::company_links::{self, CompanyLink};
use super::store::timeline::{self, NewEvent};
use super::store::{erasure, leads, merges};
use super::{Database, ProjectScope, begin_write, now};
use crate::error::{AppError, AppResult};
use crate::normalize;

/// Most ids in one bulk call.
pub const MAX_BULK: usize = 100;

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
    /// The company to link, by id (instead of `company` in `fields`, a name).
    pub company_id: Option<Uuid>,
}

/// Creates a contact by hand. Its company: the one named by `company` in the fields
/// (case-insensitive, created when the project has none), or `company_id`; with neither, the
/// project's email-domain rule may link one (`store::company_links::by_email_domain`).
/// Errors: `BAD_USER_INPUT` (any field, `leadId` blank or over 200 characters, `tags`,
/// `attributes`, `companyId`: unknown, another project's, or given with `company`);
/// `CONFLICT` with `extensions.existingId` when the project already has a contact with this
/// `leadId`. Nothing is written on any error.
pub async fn create(
    db: &impl Database,
    scope: ProjectScope,
    actor: Option<Uuid>,
    input: NewContact,
) -> AppResult<lead::Model> {
    let mut fields = input.fields.validate()?;
    let link = CompanyLink::from_input(
        fields.take(ContactField::Company),
        input.company_id.map_or(Patch::Keep, Patch::Set),
    )?;
    let tags = normalize::tags("tags", &input.tags)?;
    let tags = normalize::union_tags(&[], &tags)?;
    let attributes = normalize::attributes("attributes", input.attributes)?.unwrap_or_default();
    let lead_id = match input.lead_id {
        None => Uuid::new_v4().to_string(),
        Some(id) => normalize::text("leadId", Some(&id), 200)?
            .ok_or_else(|| AppError::bad_input("leadId", "must not be blank"))?,
    };
    let mut model = leads::blank(scope, lead_id.clone(), now());
    fields.apply(&mut model);
    model.tags = Value::Array(tags.into_iter().map(Value::String).collect());
    model.attributes = Value::Object(attributes);
    let txn = begin_write(db).await?;
    company_links::apply(&txn, scope, &link, &mut model).await?;
    if link.is_keep() {
        company_links::by_email_domain(&txn, scope, None, &mut model).await?;
    }
    if !changes::create(&txn, scope, actor, &model).await? {
        let existing = leads::find_by_lead_id_locked(&txn, scope, &lead_id)
            .await?
            .ok_or_else(|| AppError::internal("conflicting lead vanished"))?;
        return Err(AppError::AlreadyExists {
            what: "a contact with this leadId already exists",
            existing_id: existing.id,
        });
    }
    txn.commit().await?;
    Ok(model)
}

/// Locks the contact `id` of `scope` in a write transaction, lets `change` edit a copy, then
/// applies `link` (with [`CompanyLink::Keep`], the email-domain rule for a new email), and
/// saves it when anything changed (version + 1, `updated_at` now). Erased contacts cannot
/// change. Errors: `NOT_FOUND`; `CONFLICT` when `expected_version` is given and stale, or
/// the contact is erased; whatever `change` and the link return.
async fn modify(
    db: &impl Database,
    scope: ProjectScope,
    actor: Option<Uuid>,
    (id, expected_version): (Uuid, Option<i32>),
    link: &CompanyLink,
    change: impl FnOnce(&mut lead::Model) -> AppResult<bool>,
) -> AppResult<lead::Model> {
    let txn = begin_write(db).await?;
    let current = leads::lock(&txn, scope, id).await?;
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
    let mut changed = change(&mut next)?;
    changed |= company_links::apply(&txn, scope, link, &mut next).await?;
    if link.is_keep() {
        changed |=
            company_links::by_email_domain(&txn, scope, current.email_key.as_deref(), &mut next)
                .await?;
    }
    if !changed {
        return Ok(current);
    }
    let saved = changes::save(
        &txn,
        scope,
        actor,
        &current,
        next,
        Version::Next,
        Vec::new(),
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

/// Partial update with optimistic concurrency: `Keep` leaves a field, `Clear` empties it.
/// The company: `company` in the fields links by name (case-insensitive, created when the
/// project has none; cleared: unlinked), `company_id` by id (`Clear`: unlinked); when
/// neither is given and the email changes, the project's email-domain rule may link one.
/// Errors: `BAD_USER_INPUT` (any field, checked before anything is read or written;
/// `companyId` unknown, another project's, or given with `company`), `NOT_FOUND` (unknown
/// id or another project's: never creates), `CONFLICT` (stale `expected_version`; nothing
/// written).
pub async fn update(
    db: &impl Database,
    scope: ProjectScope,
    actor: Option<Uuid>,
    (id, expected_version): (Uuid, i32),
    fields: ContactFields,
    company_id: Patch<Uuid>,
) -> AppResult<lead::Model> {
    let mut fields = fields.validate()?;
    let link = CompanyLink::from_input(fields.take(ContactField::Company), company_id)?;
    modify(db, scope, actor, (id, Some(expected_version)), &link, |m| {
        Ok(fields.apply(m))
    })
    .await
}

/// Merges `set` into the attributes by top-level key, then removes `remove_keys`.
/// Errors: `BAD_USER_INPUT` (`attributes` not an object, `removeKeys` invalid), `NOT_FOUND`.
pub async fn set_attributes(
    db: &impl Database,
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
    modify(db, scope, actor, (id, None), &CompanyLink::Keep, |m| {
        let mut attrs = normalize::stored_attributes(&m.attributes);
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
    db: &impl Database,
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
    db: &impl Database,
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
    db: &impl Database,
    scope: ProjectScope,
    actor: Option<Uuid>,
    id: Uuid,
    tags: &[String],
    combine: impl FnOnce(&[String], &[String]) -> AppResult<Vec<String>>,
) -> AppResult<lead::Model> {
    modify(db, scope, actor, (id, None), &CompanyLink::Keep, |m| {
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
    db: &impl Database,
    scope: ProjectScope,
    actor: Option<Uuid>,
    id: Uuid,
) -> AppResult<lead::Model> {
    set_status(db, scope, actor, id, lead::LeadStatus::Deleted).await
}

/// Undoes [`delete`] (status NORMAL). Idempotent. Errors: `NOT_FOUND`; `CONFLICT` for an
/// erased contact (erasure is irreversible).
pub async fn restore(
    db: &impl Database,
    scope: ProjectScope,
    actor: Option<Uuid>,
    id: Uuid,
) -> AppResult<lead::Model> {
    set_status(db, scope, actor, id, lead::LeadStatus::Normal).await
}

async fn set_status(
    db: &impl Database,
    scope: ProjectScope,
    actor: Option<Uuid>,
    id: Uuid,
    status: lead::LeadStatus,
) -> AppResult<lead::Model> {
    modify(db, scope, actor, (id, None), &CompanyLink::Keep, |m| {
        let changed = m.status != status;
        m.status = status;
        Ok(changed)
    })
    .await
}

/// GDPR erasure (right to erasure, GDPR Art. 17). IRREVERSIBLE. In one transaction: the
/// contact's personal fields, tags and attributes are emptied and its company unlinked (the
/// company itself is not personal data and stays), its `leadId` replaced by
/// `erased:<id>`, status DELETED, `erasedAt` set; each of its Requests' `firstText` becomes
/// `[erased]` and their attributes `{}`; the visitor users it was keyed by lose their name,
/// email and attributes. Contacts merged into it (its tombstones) are erased the same way,
/// the merge journal entries involving any of them lose their snapshots (those merges become
/// permanent) and their timeline events lose their details (an `ERASED` event remains). What
/// remains is PII-free, so counts and foreign keys stay valid. On SQLite the full-text index is
/// then optimised so no token of the erased text survives in its segments. Idempotent on an
/// erased contact. Errors: `NOT_FOUND`.
pub async fn erase(
    db: &impl Database,
    scope: ProjectScope,
    actor: Option<Uuid>,
    id: Uuid,
) -> AppResult<lead::Model> {
    let txn = begin_write(db).await?;
    let current = leads::lock(&txn, scope, id).await?;
    if current.erased_at.is_some() {
        return Ok(current);
    }
    let tombstones = leads::tombstones_locked(&txn, scope, current.id).await?;
    let at = now();
    let mut erased = None;
    for row in std::iter::once(&current).chain(tombstones.iter()) {
        let tomb = erasure::scrub(&txn, scope, row, at).await?;
        if row.id == current.id {
            erased = Some(tomb);
        }
    }
    let ids: Vec<Uuid> = std::iter::once(current.id)
        .chain(tombstones.iter().map(|t| t.id))
        .collect();
    merges::forget(&txn, scope, &ids).await?;
    timeline::erase(&txn, scope, &ids).await?;
    timeline::record(
        &txn,
        scope,
        current.id,
        actor,
        vec![NewEvent::bare(timeline::EventKind::Erased)],
    );
    if txn.get_database_backend() == DbBackend::Sqlite {
        txn.execute_unprepared("INSERT INTO lead_fts(lead_fts) VALUES ('optimize')")
            .await?;
    }
    txn.commit().await?;
    erased.ok_or_else(|| AppError::internal("erased contact missing"))
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
    db: &impl Database,
    scope: ProjectScope,
    actor: Option<Uuid>,
    ids: &[String],
) -> AppResult<Vec<BulkOutcome>> {
    bulk(ids, |id| delete(db, scope, actor, id)).await
}

/// Adds `tags` to each contact of `ids` on its own. Errors (whole call): `BAD_USER_INPUT`
/// (`ids` empty or over [`MAX_BULK`]; `tags` invalid).
pub async fn add_tags_many(
    db: &impl Database,
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
