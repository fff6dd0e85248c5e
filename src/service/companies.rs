//! Agents' management of companies (use cases, each in its own write transaction): create,
//! update (optimistic concurrency; a rename renames the linked contacts' `company` text in
//! the same transaction), delete (every linked contact unlinked, each with its timeline
//! event). Every function is scoped to the agent's project: another project's id is
//! `NOT_FOUND`, exactly like a missing one. The read side is `company_search`.

use entity::company;
use serde_json::Value;
use uuid::Uuid;

use super::fields::Patch;
use super::store::{companies, company_links};
use super::{Database, ProjectScope, begin_write, now};
use crate::error::{AppError, AppResult};
use crate::normalize;

/// Longest accepted company name, in characters.
pub const MAX_COMPANY_NAME_CHARS: usize = 200;

/// Input of [`create`].
#[derive(Clone, Debug, Default)]
pub struct NewCompany {
    /// The name (required: 1..=200 characters after trimming).
    pub name: String,
    /// The web domain or URL (normalised by `normalize::domain`).
    pub domain: Option<String>,
    /// Custom attributes (a JSON object, the contacts' attribute rules).
    pub attributes: Option<Value>,
}

/// Changes of [`update`]: `Keep` leaves a field, `Clear` empties it, `Set` replaces it.
#[derive(Clone, Debug, Default)]
pub struct CompanyPatch {
    /// The name (cannot be cleared).
    pub name: Patch<String>,
    /// The domain.
    pub domain: Patch<String>,
    /// The attributes: the whole object is replaced (cleared: `{}`).
    pub attributes: Patch<Value>,
}

/// The name `raw` as stored. Errors: `BAD_USER_INPUT` on `name` (blank, over 200
/// characters, control characters).
fn valid_name(raw: &str) -> AppResult<String> {
    normalize::text("name", Some(raw), MAX_COMPANY_NAME_CHARS)?
        .ok_or_else(|| AppError::bad_input("name", "must not be blank"))
}

/// Creates a company. Errors: `BAD_USER_INPUT` (`name`, `domain`, `attributes`; nothing
/// written), `CONFLICT` with `extensions.existingId` when another company of the project has
/// the domain.
pub async fn create(
    db: &impl Database,
    scope: ProjectScope,
    input: NewCompany,
) -> AppResult<company::Model> {
    let name = valid_name(&input.name)?;
    let domain = normalize::domain("domain", input.domain.as_deref())?;
    let attributes = normalize::attributes("attributes", input.attributes)?.unwrap_or_default();
    let mut model = companies::new(scope, name, domain);
    model.attributes = Value::Object(attributes);
    let txn = begin_write(db).await?;
    companies::insert(&txn, scope, &model).await?;
    txn.commit().await?;
    Ok(model)
}

/// Partial update with optimistic concurrency: `expected_version` must equal the stored
/// `version` (which then increases by one when something changed). A new name is also
/// written to the `company` text of every linked contact, in the same transaction (a rename
/// is not a change of the contacts: no version, no timeline event). Errors:
/// `BAD_USER_INPUT` (`name` blank or cleared, `domain`, `attributes`; checked before anything
/// is read), `NOT_FOUND` (unknown id or another project's), `CONFLICT` (stale
/// `expected_version`; another company has the domain, with `extensions.existingId`).
pub async fn update(
    db: &impl Database,
    scope: ProjectScope,
    id: Uuid,
    expected_version: i32,
    patch: CompanyPatch,
) -> AppResult<company::Model> {
    let name = match patch.name {
        Patch::Keep => None,
        Patch::Clear => return Err(AppError::bad_input("name", "cannot be cleared")),
        Patch::Set(raw) => Some(valid_name(&raw)?),
    };
    let domain = match patch.domain {
        Patch::Keep => None,
        Patch::Clear => Some(None),
        Patch::Set(raw) => Some(normalize::domain("domain", Some(&raw))?),
    };
    let attributes = match patch.attributes {
        Patch::Keep => None,
        Patch::Clear => Some(Default::default()),
        Patch::Set(value) => {
            Some(normalize::attributes("attributes", Some(value))?.unwrap_or_default())
        }
    };
    let txn = begin_write(db).await?;
    let current = companies::lock(&txn, scope, id).await?;
    if current.version != expected_version {
        return Err(AppError::Conflict(format!(
            "the company changed: version is {}, expected {expected_version}",
            current.version
        )));
    }
    let mut next = current.clone();
    if let Some(name) = name {
        next.name_key = normalize::match_key(&name);
        next.name = name;
    }
    if let Some(domain) = domain {
        next.domain = domain;
    }
    if let Some(attributes) = attributes {
        next.attributes = Value::Object(attributes);
    }
    if next == current {
        return Ok(current);
    }
    next.version = current.version + 1;
    next.updated_at = now();
    companies::save(&txn, scope, &next).await?;
    if next.name != current.name {
        companies::rename_contacts(&txn, scope, id, &next.name).await?;
    }
    txn.commit().await?;
    Ok(next)
}

/// What [`delete`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deleted {
    /// The deleted company.
    pub id: Uuid,
    /// How many contacts were unlinked (each got a new version and a `FIELD_CHANGED` event
    /// of `company`); merged-away contacts are unlinked too but not counted.
    pub unlinked_contacts: u64,
}

/// Deletes a company; its contacts are unlinked, not deleted (each gets a new version and a
/// `FIELD_CHANGED` event of `company` by `actor`, in the same transaction). Irreversible.
/// Errors: `NOT_FOUND` (unknown id or another project's).
pub async fn delete(
    db: &impl Database,
    scope: ProjectScope,
    actor: Option<Uuid>,
    id: Uuid,
) -> AppResult<Deleted> {
    let txn = begin_write(db).await?;
    companies::lock(&txn, scope, id).await?;
    let unlinked_contacts = company_links::unlink_all(&txn, scope, actor, id).await?;
    companies::delete(&txn, scope, id).await?;
    txn.commit().await?;
    Ok(Deleted {
        id,
        unlinked_contacts,
    })
}
