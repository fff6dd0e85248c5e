//! Agents' management of contacts (use cases, each in its own write transaction): create,
//! update (optimistic concurrency), attributes, tags, soft delete / restore, GDPR erasure,
//! and bulk variants. Every function is scoped to the agent's project; an id of another
//! project is `NOT_FOUND`, exactly like a missing one.

use entity::lead;
use sea_orm::{ConnectionTrait, DbBackend};
use serde_json::Value;
use uuid::Uuid;

use super::attribute_rules::AttributeRules;
use super::fields::{ContactField, ContactFields, Patch};
use super::store::changes::{self, Version};
use super::store::company_links::{self, CompanyLink};
use super::store::timeline::{self, NewEvent};
use super::store::{attribute_defs, erasure, leads, members, merges, notes};
use super::{Database, ProjectScope, WriteTxn, begin_write, now};
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

/// Creates a contact by hand; its attributes are checked against the project's definitions
/// (one statement, when there are attributes). Its company: the one named by `company` in the
/// fields (case-insensitive, created when the project has none), or `company_id`; with
/// neither, the project's email-domain rule may link one
/// (`store::company_links::by_email_domain`). Errors: `BAD_USER_INPUT` (any field, `leadId`
/// blank or over 200 characters, `tags`, `attributes`, `attributes.<key>`, `companyId`:
/// unknown, another project's, or given with `company`); `CONFLICT` with
/// `extensions.existingId` when the project already has a contact with this `leadId`.
/// Nothing is written on any error.
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
    let txn = begin_write(db).await?;
    let attributes = if attributes.is_empty() {
        attributes
    } else {
        attribute_defs::rules(&txn, scope)
            .await?
            .check(attributes)?
    };
    let mut model = leads::blank(scope, lead_id.clone(), now());
    fields.apply(&mut model);
    model.tags = Value::Array(tags.into_iter().map(Value::String).collect());
    model.attributes = Value::Object(attributes);
    company_links::apply(&txn, scope, &link, &mut model).await?;
    if link.is_keep() {
        company_links::by_email_domain(&txn, scope, None, &mut model).await?;
    }
    if !changes::create(&txn, scope, actor, &model).await? {
        let existing = leads::find_by_lead_id_locked(&txn, scope, &lead_id)
            .await?
            .ok_or_else(|| AppError::internal("conflicting lead vanished"))?;
        return Err(AppError::AlreadyExists {
            what: "a contact with this leadId",
            existing_id: existing.id,
        });
    }
    txn.commit().await?;
    Ok(model)
}

/// Whether a change of a contact needs the project's attribute rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rules {
    /// Read them (one statement) and give them to the change.
    Load,
    /// The change sets no attribute: the change gets empty rules.
    Skip,
}

/// Locks the contact `id` of `scope` in a write transaction and changes it ([`modify_in`]),
/// then commits.
pub(crate) async fn modify(
    db: &impl Database,
    scope: ProjectScope,
    actor: Option<Uuid>,
    target: (Uuid, Option<i32>),
    link: &CompanyLink,
    rules: Rules,
    change: impl FnOnce(&mut lead::Model, &AttributeRules) -> AppResult<bool>,
) -> AppResult<lead::Model> {
    let txn = begin_write(db).await?;
    let saved = modify_in(&txn, scope, actor, target, link, rules, change).await?;
    txn.commit().await?;
    Ok(saved)
}

/// Inside the caller's write transaction `txn`: locks the contact `id` of `scope`, reads the
/// project's attribute rules when `rules` says so, lets `change` edit a copy, then applies
/// `link` (with [`CompanyLink::Keep`], the email-domain rule for a new email), and saves it
/// when anything changed (version + 1, `updated_at` now). Erased contacts cannot change.
/// Errors: `NOT_FOUND`; `CONFLICT` when `expected_version` is given and stale, or the contact
/// is erased; `CONFLICT` `ALREADY_MERGED` for a merged-away contact; whatever `change` and
/// the link return.
async fn modify_in(
    txn: &WriteTxn,
    scope: ProjectScope,
    actor: Option<Uuid>,
    (id, expected_version): (Uuid, Option<i32>),
    link: &CompanyLink,
    rules: Rules,
    change: impl FnOnce(&mut lead::Model, &AttributeRules) -> AppResult<bool>,
) -> AppResult<lead::Model> {
    let current = leads::lock(txn, scope, id).await?;
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
    let rules = match rules {
        Rules::Load => attribute_defs::rules(txn, scope).await?,
        Rules::Skip => AttributeRules::default(),
    };
    let mut next = current.clone();
    let mut changed = change(&mut next, &rules)?;
    changed |= company_links::apply(txn, scope, link, &mut next).await?;
    if link.is_keep() {
        changed |=
            company_links::by_email_domain(txn, scope, current.email_key.as_deref(), &mut next)
                .await?;
    }
    if !changed {
        return Ok(current);
    }
    changes::save(txn, scope, actor, &current, next, Version::Next, Vec::new()).await
}

/// Makes `owner` (an agent of the project; `None`: nobody) the owner of the contact `id`.
/// The membership is checked in the same transaction (locked, so a concurrent removal of the
/// member either waits or is seen). Errors: `BAD_USER_INPUT` (`ownerId`: not an agent of the
/// project), `NOT_FOUND`, `CONFLICT` (erased; merged away).
pub async fn assign(
    db: &impl Database,
    scope: ProjectScope,
    actor: Option<Uuid>,
    id: Uuid,
    owner: Option<Uuid>,
) -> AppResult<lead::Model> {
    let txn = begin_write(db).await?;
    if let Some(owner) = owner {
        check_owner(&txn, scope, owner, true).await?;
    }
    let keep = CompanyLink::Keep;
    let saved = modify_in(
        &txn,
        scope,
        actor,
        (id, None),
        &keep,
        Rules::Skip,
        |m, _| {
            let changed = m.owner_id != owner;
            m.owner_id = owner;
            Ok(changed)
        },
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

/// Checks that `owner` is an agent (OWNER, ADMIN, AGENT) of `scope` (with a shared lock on
/// the membership when `lock`). Errors: `BAD_USER_INPUT` (`ownerId`).
pub(crate) async fn check_owner(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    owner: Uuid,
    lock: bool,
) -> AppResult<()> {
    if members::agent_role(db, scope, owner, lock).await?.is_none() {
        return Err(AppError::bad_input(
            "ownerId",
            "is not an agent of the project",
        ));
    }
    Ok(())
}

/// [`assign`] for each contact of `ids` on its own (one bad id does not fail the others);
/// the owner is checked once first. Errors (whole call): `BAD_USER_INPUT` (`ids` empty or
/// over [`MAX_BULK`]; `ownerId` not an agent of the project).
pub async fn assign_many(
    db: &impl Database,
    scope: ProjectScope,
    actor: Option<Uuid>,
    ids: &[String],
    owner: Option<Uuid>,
) -> AppResult<Vec<BulkOutcome>> {
    check_bulk(ids)?;
    if let Some(owner) = owner {
        check_owner(db, scope, owner, false).await?;
    }
    each(ids, |id| assign(db, scope, actor, id, owner)).await
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
    let version = Some(expected_version);
    modify(
        db,
        scope,
        actor,
        (id, version),
        &link,
        Rules::Skip,
        |m, _| Ok(fields.apply(m)),
    )
    .await
}

/// Merges `set` into the attributes by top-level key, then removes `remove_keys`. The keys of
/// `set` are checked against the project's definitions (one statement, when `set` has keys);
/// removing a key is always allowed. Errors: `BAD_USER_INPUT` (`attributes` not an object,
/// `attributes.<key>`, `removeKeys` invalid), `NOT_FOUND`.
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
    let rules = if set.is_empty() {
        Rules::Skip
    } else {
        Rules::Load
    };
    modify(
        db,
        scope,
        actor,
        (id, None),
        &CompanyLink::Keep,
        rules,
        |m, rules| {
            let set = rules.check(set)?;
            let mut attrs = normalize::stored_attributes(&m.attributes);
            let mut changed = normalize::merge_attributes(&mut attrs, set);
            for key in &remove {
                changed |= attrs.remove(key).is_some();
            }
            normalize::check_attributes("attributes", &attrs)?;
            m.attributes = Value::Object(attrs);
            Ok(changed)
        },
    )
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
    modify_row(db, scope, actor, id, |m| combine_tags(m, tags, combine)).await
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
    modify_row(db, scope, actor, id, |m| Ok(set_status_of(m, status))).await
}

/// [`modify`] for a change of the row alone: no company link, no attribute rules.
async fn modify_row(
    db: &impl Database,
    scope: ProjectScope,
    actor: Option<Uuid>,
    id: Uuid,
    change: impl FnOnce(&mut lead::Model) -> AppResult<bool>,
) -> AppResult<lead::Model> {
    let keep = CompanyLink::Keep;
    modify(db, scope, actor, (id, None), &keep, Rules::Skip, |m, _| {
        change(m)
    })
    .await
}

/// Replaces `m`'s tags with `combine(stored, tags)`; returns whether the set changed (its
/// size). Errors: whatever `combine` returns (e.g. more than 100 tags).
pub(crate) fn combine_tags(
    m: &mut lead::Model,
    tags: &[String],
    combine: impl FnOnce(&[String], &[String]) -> AppResult<Vec<String>>,
) -> AppResult<bool> {
    let stored = normalize::stored_tags(&m.tags);
    let next = combine(&stored, tags)?;
    let changed = next.len() != stored.len();
    m.tags = Value::Array(next.into_iter().map(Value::String).collect());
    Ok(changed)
}

/// Sets `m`'s status; returns whether it changed.
pub(crate) fn set_status_of(m: &mut lead::Model, status: lead::LeadStatus) -> bool {
    let changed = m.status != status;
    m.status = status;
    changed
}

/// GDPR erasure (right to erasure, GDPR Art. 17). IRREVERSIBLE. In one transaction: the
/// contact's personal fields, tags, attributes and notes are emptied (notes deleted), its owner
/// unassigned and its company unlinked (the company itself is not personal data and stays),
/// its `leadId` replaced by
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
    notes::delete_for_leads(&txn, scope, &ids).await?;
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

/// Runs `op` for each id of `ids` in order, each on its own, collecting per-id outcomes.
/// Errors (whole call): `BAD_USER_INPUT` (`ids` empty or over [`MAX_BULK`]).
pub(crate) async fn each<F, Fut>(ids: &[String], mut op: F) -> AppResult<Vec<BulkOutcome>>
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
