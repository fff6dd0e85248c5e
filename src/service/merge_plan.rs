//! The pure half of merging: what a merge of given rows would produce ([`plan`]) and why it
//! cannot happen ([`blockers`]). No database access: preview and merge share it, so a preview
//! shows exactly what the merge writes.
//!
//! The rules follow the domain notes (`DOMAIN.md`, "Merge"): the primary's non-empty fields
//! win, empty ones are filled from the secondaries in the order given (a field choice
//! overrides; the company link follows the company name's source), attributes merge key by
//! key with the primary winning (a value that fits the key's typed definition first), tags
//! are unioned, every other email is kept in
//! `additional_emails`; self-, cross-project and tombstone merges are
//! refused with a clear reason.

use std::collections::{HashMap, HashSet};

use entity::lead;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::normalize;
use crate::service::attribute_rules::AttributeRules;
use crate::service::fields::ContactField;

/// Most secondaries in one merge.
pub const MAX_SECONDARIES: usize = 20;
/// Most additional emails a contact keeps.
pub const MAX_ADDITIONAL_EMAILS: usize = 50;

/// "Take `field` from contact `contact_id`" (overrides the primary-wins rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldChoice {
    /// The field.
    pub field: ContactField,
    /// The contact (primary or one of the secondaries) whose value survives, even if empty.
    pub contact_id: Uuid,
}

/// The version a contact must still have for the merge to go ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpectedVersion {
    /// The contact.
    pub contact_id: Uuid,
    /// Its `version` when the client looked.
    pub version: i32,
}

/// What to merge.
#[derive(Clone, Debug, Default)]
pub struct MergeInput {
    /// The surviving contact.
    pub primary_id: Uuid,
    /// The contacts merged into it, 1..=[`MAX_SECONDARIES`], in priority order.
    pub secondary_ids: Vec<Uuid>,
    /// Per-field overrides.
    pub field_choices: Vec<FieldChoice>,
    /// Optimistic-concurrency checks (any of the involved contacts).
    pub expected_versions: Vec<ExpectedVersion>,
}

/// Why a merge cannot happen: defined in the error registry.
pub use crate::error::BlockReason;

/// One reason a merge cannot happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocker {
    /// Why.
    pub reason: BlockReason,
    /// The contact concerned, when one is.
    pub contact_id: Option<Uuid>,
    /// A human-readable explanation.
    pub message: String,
}

impl Blocker {
    fn new(reason: BlockReason, contact_id: Option<Uuid>, message: impl Into<String>) -> Self {
        Self {
            reason,
            contact_id,
            message: message.into(),
        }
    }

    pub(crate) fn into_error(self) -> AppError {
        AppError::Blocked {
            reason: self.reason,
            message: self.message,
        }
    }
}

/// What happens to one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldOutcome {
    /// The field.
    pub field: ContactField,
    /// The surviving value.
    pub value: Option<String>,
    /// The contact it comes from (`None` when every contact's is empty).
    pub source: Option<Uuid>,
    /// Other contacts' non-empty values that differ from the surviving one (they stay on the
    /// tombstones and in the journal; emails also go to `additional_emails`).
    pub conflicts: Vec<(Uuid, String)>,
}

/// An attribute key with different values on several contacts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeConflict {
    /// The key.
    pub key: String,
    /// The contact whose value survives.
    pub source: Uuid,
    /// Every contact's value for the key, primary first.
    pub values: Vec<(Uuid, Value)>,
}

/// The computed result of a merge (no database access).
#[derive(Clone, Debug)]
pub struct Plan {
    /// The primary as it will be (before the version bump).
    pub merged: lead::Model,
    /// One outcome per [`ContactField::ALL`].
    pub fields: Vec<FieldOutcome>,
    /// Attribute keys with conflicting values.
    pub attribute_conflicts: Vec<AttributeConflict>,
    /// Attribute keys the primary gains.
    pub attributes_added: Vec<String>,
    /// Tags the primary gains.
    pub tags_added: Vec<String>,
}

/// What `mergeContactsPreview` shows.
#[derive(Clone, Debug)]
pub struct Preview {
    /// Every reason the merge would be refused (empty when it can go ahead).
    pub blockers: Vec<Blocker>,
    /// The result, when the contacts could be read and combined.
    pub plan: Option<Plan>,
    /// Requests that would move to the primary.
    pub requests_to_move: u64,
    /// The involved contacts found (primary first), with their current versions.
    pub contacts: Vec<lead::Model>,
}

pub(crate) fn check_shape(input: &MergeInput) -> AppResult<()> {
    check_secondary_count(input.secondary_ids.len())
}

/// Errors: `BAD_USER_INPUT` on `secondaryIds` unless `count` is 1..=[`MAX_SECONDARIES`].
pub fn check_secondary_count(count: usize) -> AppResult<()> {
    if count == 0 || count > MAX_SECONDARIES {
        return Err(AppError::bad_input(
            "secondaryIds",
            format!("give 1 to {MAX_SECONDARIES} ids"),
        ));
    }
    Ok(())
}

/// The blockers of merging `input` given the rows `found` (by id, project-scoped).
pub(crate) fn blockers(input: &MergeInput, found: &HashMap<Uuid, lead::Model>) -> Vec<Blocker> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    seen.insert(input.primary_id);
    for id in &input.secondary_ids {
        if *id == input.primary_id {
            out.push(Blocker::new(
                BlockReason::SelfMerge,
                Some(*id),
                "a contact cannot be merged into itself",
            ));
        } else if !seen.insert(*id) {
            out.push(Blocker::new(
                BlockReason::DuplicateId,
                Some(*id),
                "the same contact is listed twice",
            ));
        }
    }
    let all: Vec<Uuid> = std::iter::once(input.primary_id)
        .chain(input.secondary_ids.iter().copied())
        .collect();
    let mut checked = HashSet::new();
    for id in &all {
        if !checked.insert(*id) {
            continue;
        }
        let Some(m) = found.get(id) else {
            out.push(Blocker::new(
                BlockReason::NotFound,
                Some(*id),
                "no such contact in this project",
            ));
            continue;
        };
        if m.merged_into.is_some() || m.status == lead::LeadStatus::Merged {
            out.push(Blocker::new(
                BlockReason::AlreadyMerged,
                Some(*id),
                format!(
                    "the contact was already merged into {}",
                    m.merged_into.map(|u| u.to_string()).unwrap_or_default()
                ),
            ));
        } else if m.erased_at.is_some() {
            out.push(Blocker::new(
                BlockReason::Erased,
                Some(*id),
                "the contact was erased",
            ));
        } else if m.status == lead::LeadStatus::Deleted {
            out.push(Blocker::new(
                BlockReason::Deleted,
                Some(*id),
                "the contact is deleted: restore it first",
            ));
        }
    }
    if let Some(primary) = found.get(&input.primary_id)
        && let Some(ext) = &primary.external_id
    {
        for id in &input.secondary_ids {
            if let Some(other) = found.get(id).and_then(|m| m.external_id.as_ref())
                && other != ext
            {
                out.push(Blocker::new(
                    BlockReason::IdentifiedConflict,
                    Some(*id),
                    "both contacts are identified visitors with different external ids",
                ));
            }
        }
    }
    for choice in &input.field_choices {
        if !all.contains(&choice.contact_id) {
            out.push(Blocker::new(
                BlockReason::InvalidFieldChoice,
                Some(choice.contact_id),
                format!(
                    "the choice for `{}` names a contact that is not part of the merge",
                    choice.field.name()
                ),
            ));
        }
    }
    out
}

/// Combines `primary` with `secondaries` (in priority order) under `choices`, preferring for
/// each attribute key a value that fits the project's `rules` (`merge_attributes`).
/// Errors: a [`BlockReason::TooLarge`] blocker when the result breaks a limit.
pub fn plan(
    primary: &lead::Model,
    secondaries: &[&lead::Model],
    choices: &[FieldChoice],
    rules: &AttributeRules,
) -> Result<Plan, Blocker> {
    let too_large = |message: String| Blocker::new(BlockReason::TooLarge, None, message);
    let everyone: Vec<&lead::Model> = std::iter::once(primary)
        .chain(secondaries.iter().copied())
        .collect();
    let mut merged = primary.clone();
    let mut fields = Vec::with_capacity(ContactField::ALL.len());
    for field in ContactField::ALL {
        let (value, source) = match choices.iter().rev().find(|c| c.field == field) {
            Some(choice) => {
                let from = everyone.iter().find(|m| m.id == choice.contact_id);
                (from.and_then(|m| field.get(m)).cloned(), from.map(|m| m.id))
            }
            None => everyone
                .iter()
                .find_map(|m| field.get(m).map(|v| (Some(v.clone()), Some(m.id))))
                .unwrap_or((None, None)),
        };
        let mut conflicts: Vec<(Uuid, String)> = Vec::new();
        for m in &everyone {
            if let Some(v) = field.get(m)
                && !value.as_deref().is_some_and(|kept| field.same(kept, v))
                && !conflicts.iter().any(|(_, c)| field.same(c, v))
            {
                conflicts.push((m.id, v.clone()));
            }
        }
        field.set(&mut merged, value.clone());
        if field == ContactField::Company {
            // The link follows the name: the company of the contact the name comes from.
            merged.company_id = source
                .and_then(|id| everyone.iter().find(|m| m.id == id))
                .and_then(|m| m.company_id);
        }
        fields.push(FieldOutcome {
            field,
            value,
            source,
            conflicts,
        });
    }

    // Emails: every one that differs from the surviving email, once (by match key).
    let emails: Vec<String> = everyone
        .iter()
        .flat_map(|m| {
            let extra = normalize::stored_tags(&m.additional_emails);
            m.email.iter().cloned().chain(extra)
        })
        .collect();
    let additional = normalize::union_emails(
        merged.email_key.as_deref(),
        &[],
        emails.iter().map(String::as_str),
    );
    if additional.len() > MAX_ADDITIONAL_EMAILS {
        return Err(too_large(format!(
            "the merged contact would have more than {MAX_ADDITIONAL_EMAILS} additional emails"
        )));
    }
    merged.additional_emails = Value::Array(additional.into_iter().map(Value::String).collect());

    let (attributes, sources, attributes_added) = merge_attributes(&everyone, rules);
    let mut attribute_conflicts = Vec::new();
    let mut conflict_keys: Vec<&String> = attributes.keys().collect();
    conflict_keys.sort();
    for key in conflict_keys {
        let values: Vec<(Uuid, Value)> = everyone
            .iter()
            .filter_map(|m| m.attributes.get(key).map(|v| (m.id, v.clone())))
            .collect();
        if values.iter().any(|(_, v)| *v != values[0].1) {
            attribute_conflicts.push(AttributeConflict {
                key: key.clone(),
                source: sources.get(key).copied().unwrap_or(primary.id),
                values,
            });
        }
    }
    normalize::check_attributes("attributes", &attributes).map_err(|e| too_large(e.to_string()))?;
    merged.attributes = Value::Object(attributes);

    // Tags: the union.
    let stored = normalize::stored_tags(&primary.tags);
    let mut tags = stored.clone();
    for s in secondaries {
        tags = normalize::union_tags(&tags, &normalize::stored_tags(&s.tags))
            .map_err(|e| too_large(e.to_string()))?;
    }
    let tags_added = tags[stored.len()..].to_vec();
    merged.tags = Value::Array(tags.into_iter().map(Value::String).collect());

    merged.last_request_at = everyone.iter().filter_map(|m| m.last_request_at).max();
    Ok(Plan {
        merged,
        fields,
        attribute_conflicts,
        attributes_added,
        tags_added,
    })
}

/// The merged attributes of `everyone` (primary first, then the secondaries in priority
/// order), the contact each key's value comes from, and the keys the primary gains. Key by
/// key, the first non-null value that fits the key's active definition in `rules` wins (so a
/// value stored before its key was defined, or one that no longer fits, gives way to one that
/// does); when none does, the first value present. Stored values are never re-checked here:
/// a merge is not blocked by a legacy value, it keeps one only when no contact has a better
/// one.
fn merge_attributes(
    everyone: &[&lead::Model],
    rules: &AttributeRules,
) -> (Map<String, Value>, HashMap<String, Uuid>, Vec<String>) {
    let primary = everyone.first().map(|m| m.id).unwrap_or_default();
    let mut keys: Vec<String> = Vec::new();
    for m in everyone {
        if let Value::Object(map) = &m.attributes {
            keys.extend(
                map.keys()
                    .filter(|k| !keys.contains(k))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
        }
    }
    let mut attributes = Map::new();
    let mut sources = HashMap::new();
    let mut added = Vec::new();
    for key in keys {
        let candidates: Vec<(Uuid, &Value)> = everyone
            .iter()
            .filter_map(|m| m.attributes.get(&key).map(|v| (m.id, v)))
            .collect();
        let chosen = candidates
            .iter()
            .find(|(_, v)| !v.is_null() && rules.fits(&key, v))
            .or(candidates.first());
        let Some((source, value)) = chosen else {
            continue;
        };
        if !candidates.iter().any(|(id, _)| *id == primary) {
            added.push(key.clone());
        }
        sources.insert(key.clone(), *source);
        attributes.insert(key, (*value).clone());
    }
    (attributes, sources, added)
}

pub(crate) fn involved(input: &MergeInput) -> Vec<Uuid> {
    std::iter::once(input.primary_id)
        .chain(input.secondary_ids.iter().copied())
        .collect()
}

pub(crate) fn unique_secondaries(input: &MergeInput) -> Vec<Uuid> {
    let mut out: Vec<Uuid> = Vec::new();
    for id in &input.secondary_ids {
        if *id != input.primary_id && !out.contains(id) {
            out.push(*id);
        }
    }
    out
}

/// Who and what started a merge.
#[derive(Clone, Copy, Debug)]
pub struct MergeOrigin {
    /// `lead_merge::KIND_*`.
    pub kind: entity::lead_merge::MergeKind,
    /// The agent or visitor, if any.
    pub actor: Option<Uuid>,
}
