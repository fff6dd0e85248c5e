//! Typed custom attributes (use cases, each in its own write transaction): an OWNER or ADMIN
//! defines a key of the contacts' `attributes` (label, type, the options of a list), renames
//! it, changes a list's options, archives and restores it; every agent lists them. What a
//! definition accepts is `attribute_rules`; the writes of contacts check their values against
//! the project's active definitions.
//!
//! The key and the type of a definition are immutable: values are stored under the key in
//! every contact, so renaming the key or changing the type would silently orphan or
//! invalidate them. A new key (and archiving the old one) is the explicit way.

use entity::contact_attribute::{self as attribute, AttributeType};
use serde_json::Value;
use uuid::Uuid;

use super::attribute_rules::{self as rules, MAX_DEFINITIONS};
use super::store::attribute_defs;
use super::{Database, ProjectScope, begin_write, now};
use crate::error::{AppError, AppResult};
use crate::normalize;

/// Input of [`define`].
#[derive(Clone, Debug)]
pub struct NewDefinition {
    /// The key in `attributes` (1..=100 characters, no quotes, backslashes or control
    /// characters).
    pub key: String,
    /// The name shown to agents (1..=100 characters).
    pub label: String,
    /// The type of the values.
    pub value_type: AttributeType,
    /// The choices of a `LIST` (1..=100, distinct case-insensitively); absent or empty for
    /// other types.
    pub options: Option<Vec<String>>,
}

/// Defines an attribute key of `scope`'s contacts. Values written from then on are checked
/// against it; values stored before are left as they are.
/// Errors: `BAD_USER_INPUT` (`key`, `label`, `options`: a LIST without options, options on
/// another type; `key` when the project already has [`MAX_DEFINITIONS`] definitions, archived
/// ones included); `CONFLICT` with `extensions.existingId` when the key is defined already
/// (archived or not).
pub async fn define(
    db: &impl Database,
    scope: ProjectScope,
    input: NewDefinition,
) -> AppResult<attribute::Model> {
    let key = normalize::attribute_key("key", &input.key)?;
    let label = rules::label(&input.label)?;
    let options = rules::options_for(input.value_type, input.options.as_deref())?;
    let at = now();
    let row = attribute::Model {
        id: Uuid::new_v4(),
        project_id: scope.project_id,
        key,
        label,
        value_type: input.value_type,
        options: Value::Array(options.into_iter().map(Value::String).collect()),
        archived_at: None,
        created_at: at,
        updated_at: at,
    };
    let txn = begin_write(db).await?;
    attribute_defs::lock_project(&txn, scope).await?;
    if let Some(existing) = attribute_defs::find_by_key(&txn, scope, &row.key).await? {
        return Err(taken(existing.id));
    }
    if attribute_defs::count(&txn, scope).await? >= MAX_DEFINITIONS {
        return Err(AppError::bad_input(
            "key",
            format!(
                "a project has at most {MAX_DEFINITIONS} attribute definitions (archived ones count: restore one instead)"
            ),
        ));
    }
    if !attribute_defs::insert_new(&txn, scope, &row).await? {
        let existing = attribute_defs::find_by_key(&txn, scope, &row.key)
            .await?
            .ok_or_else(|| AppError::internal("conflicting definition vanished"))?;
        return Err(taken(existing.id));
    }
    txn.commit().await?;
    Ok(row)
}

fn taken(existing_id: Uuid) -> AppError {
    AppError::AlreadyExists {
        what: "an attribute with this key",
        existing_id,
    }
}

/// A change of a definition: `None` leaves a part alone.
#[derive(Clone, Debug, Default)]
pub struct DefinitionPatch {
    /// A new label (1..=100 characters).
    pub label: Option<String>,
    /// The new options of a `LIST` (the whole list: options may be added, removed, reordered
    /// or respelled; stored values are left as they are).
    pub options: Option<Vec<String>>,
}

/// Renames definition `id` of `scope` and/or replaces a `LIST`'s options; `updated_at` moves
/// only when something changed. Archived definitions can be changed too.
/// Errors: `BAD_USER_INPUT` (`id`, `label`, `options`: invalid, or given for a type other
/// than LIST), `NOT_FOUND` (unknown id or another project's).
pub async fn update(
    db: &impl Database,
    scope: ProjectScope,
    id: Uuid,
    patch: DefinitionPatch,
) -> AppResult<attribute::Model> {
    let label = patch.label.as_deref().map(rules::label).transpose()?;
    modify(db, scope, id, |row| {
        let options = patch
            .options
            .as_deref()
            .map(|raw| rules::options_for(row.value_type, Some(raw)))
            .transpose()?;
        let mut changed = false;
        if let Some(label) = label
            && label != row.label
        {
            row.label = label;
            changed = true;
        }
        if let Some(options) = options {
            let options = Value::Array(options.into_iter().map(Value::String).collect());
            if options != row.options {
                row.options = options;
                changed = true;
            }
        }
        Ok(changed)
    })
    .await
}

/// Archives (`archived`) or restores definition `id` of `scope`. An archived definition no
/// longer checks values (its key is like an undefined one: refused in strict mode) and is
/// hidden from `contactAttributes` unless asked for; its values stay. Idempotent.
/// Errors: `NOT_FOUND` (unknown id or another project's).
pub async fn set_archived(
    db: &impl Database,
    scope: ProjectScope,
    id: Uuid,
    archived: bool,
) -> AppResult<attribute::Model> {
    modify(db, scope, id, |row| {
        if row.archived_at.is_some() == archived {
            return Ok(false);
        }
        row.archived_at = archived.then(now);
        Ok(true)
    })
    .await
}

/// Locks definition `id` of `scope` in a write transaction, lets `change` edit a copy, and
/// saves it (`updated_at` now) when `change` reports a change.
async fn modify(
    db: &impl Database,
    scope: ProjectScope,
    id: Uuid,
    change: impl FnOnce(&mut attribute::Model) -> AppResult<bool>,
) -> AppResult<attribute::Model> {
    let txn = begin_write(db).await?;
    let mut row = attribute_defs::lock(&txn, scope, id).await?;
    if !change(&mut row)? {
        return Ok(row);
    }
    row.updated_at = now();
    attribute_defs::save(&txn, scope, &row).await?;
    txn.commit().await?;
    Ok(row)
}

/// The definitions of `scope`, oldest first; archived ones only when `include_archived`.
/// One statement. Errors: database errors only.
pub async fn list(
    db: &impl sea_orm::ConnectionTrait,
    scope: ProjectScope,
    include_archived: bool,
) -> AppResult<Vec<attribute::Model>> {
    attribute_defs::list(db, scope, include_archived).await
}
