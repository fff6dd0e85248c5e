//! Merging contacts (one person, one contact), with a preview before and an exact undo after.
//!
//! Merging secondaries S₁…Sₙ into a primary P (all of one project), in one transaction:
//! - every Request of the secondaries moves to P;
//! - each of the ten text fields keeps P's value when non-empty, else the first non-empty
//!   value of the secondaries in the order given; a field choice (`field` ← contact) overrides;
//! - attributes merge key by key (P wins, then the secondaries in order fill missing keys);
//!   tags are the union; emails that differ from the surviving one (case-insensitively) are
//!   kept in `additional_emails`;
//! - each secondary becomes a tombstone: status MERGED, `merged_into` = P, its fields kept;
//!   tombstones that pointed at a secondary now point at P (so every tombstone is one hop
//!   from its survivor); a visitor keyed by a tombstone lands on P from then on;
//! - the journal (`lead_merge`) keeps every involved row as it was, the moved Requests and the
//!   re-pointed tombstones: [`unmerge`] restores them exactly.
//!
//! The rules follow the domain notes (`DOMAIN.md`, "Merge"): A's non-empty fields win, empty
//! ones are filled, attributes merge with A winning, tags are unioned, the secondary email is
//! kept, B becomes a tombstone pointing at A, and self-, cross-project and tombstone merges
//! are refused with a clear code.

use std::collections::{HashMap, HashSet};

use entity::{lead, lead_merge, request};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionSession, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::leads::save_all;
use super::timeline::{self, NewEvent};
use super::{ProjectScope, begin_write, now};
use crate::error::{AppError, AppResult};
use crate::normalize;

/// Most secondaries in one merge.
pub const MAX_SECONDARIES: usize = 20;
/// Most additional emails a contact keeps.
pub const MAX_ADDITIONAL_EMAILS: usize = 50;

/// A text field of a contact, as merges see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MergeField {
    /// `fullname`.
    Fullname,
    /// `email` (its match key follows).
    Email,
    /// `phone`.
    Phone,
    /// `company`.
    Company,
    /// `note`.
    Note,
    /// `street`.
    Street,
    /// `city`.
    City,
    /// `region`.
    Region,
    /// `zipcode`.
    Zipcode,
    /// `country`.
    Country,
}

impl MergeField {
    /// Every field, in the order previews list them.
    pub const ALL: [Self; 10] = [
        Self::Fullname,
        Self::Email,
        Self::Phone,
        Self::Company,
        Self::Note,
        Self::Street,
        Self::City,
        Self::Region,
        Self::Zipcode,
        Self::Country,
    ];

    /// The GraphQL field name (`fullname`, `email`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Fullname => "fullname",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Company => "company",
            Self::Note => "note",
            Self::Street => "street",
            Self::City => "city",
            Self::Region => "region",
            Self::Zipcode => "zipcode",
            Self::Country => "country",
        }
    }

    /// The field's value on `m`.
    pub fn get(self, m: &lead::Model) -> Option<&String> {
        match self {
            Self::Fullname => m.fullname.as_ref(),
            Self::Email => m.email.as_ref(),
            Self::Phone => m.phone.as_ref(),
            Self::Company => m.company.as_ref(),
            Self::Note => m.note.as_ref(),
            Self::Street => m.street.as_ref(),
            Self::City => m.city.as_ref(),
            Self::Region => m.region.as_ref(),
            Self::Zipcode => m.zipcode.as_ref(),
            Self::Country => m.country.as_ref(),
        }
    }

    fn set(self, m: &mut lead::Model, value: Option<String>) {
        match self {
            Self::Fullname => m.fullname = value,
            Self::Email => {
                m.email_key = value.as_deref().map(normalize::email_key);
                m.email = value;
            }
            Self::Phone => m.phone = value,
            Self::Company => m.company = value,
            Self::Note => m.note = value,
            Self::Street => m.street = value,
            Self::City => m.city = value,
            Self::Region => m.region = value,
            Self::Zipcode => m.zipcode = value,
            Self::Country => m.country = value,
        }
    }

    /// Values compare as stored, except emails, which compare by match key.
    fn same(self, a: &str, b: &str) -> bool {
        match self {
            Self::Email => normalize::email_key(a) == normalize::email_key(b),
            _ => a == b,
        }
    }
}

/// "Take `field` from contact `contact_id`" (overrides the primary-wins rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldChoice {
    /// The field.
    pub field: MergeField,
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

    fn into_error(self) -> AppError {
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
    pub field: MergeField,
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
    /// One outcome per [`MergeField::ALL`].
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

fn check_shape(input: &MergeInput) -> AppResult<()> {
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
fn blockers(input: &MergeInput, found: &HashMap<Uuid, lead::Model>) -> Vec<Blocker> {
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
        if m.merged_into.is_some() || m.status == lead::STATUS_MERGED {
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
        } else if m.status == lead::STATUS_DELETED {
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

/// Combines `primary` with `secondaries` (in priority order) under `choices`. Errors: a
/// [`BlockReason::TooLarge`] blocker when the result breaks a limit.
pub fn plan(
    primary: &lead::Model,
    secondaries: &[&lead::Model],
    choices: &[FieldChoice],
) -> Result<Plan, Blocker> {
    let too_large = |message: String| Blocker::new(BlockReason::TooLarge, None, message);
    let everyone: Vec<&lead::Model> = std::iter::once(primary)
        .chain(secondaries.iter().copied())
        .collect();
    let mut merged = primary.clone();
    let mut fields = Vec::with_capacity(MergeField::ALL.len());
    for field in MergeField::ALL {
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
        fields.push(FieldOutcome {
            field,
            value,
            source,
            conflicts,
        });
    }

    // Emails: every one that differs from the surviving email, once (by match key).
    let kept_key = merged.email_key.clone();
    let mut keys: Vec<String> = kept_key.into_iter().collect();
    let mut additional: Vec<String> = Vec::new();
    for m in &everyone {
        let extra = normalize::stored_tags(&m.additional_emails);
        for email in m.email.iter().chain(extra.iter()) {
            let key = normalize::email_key(email);
            if !keys.contains(&key) {
                keys.push(key);
                additional.push(email.clone());
            }
        }
    }
    if additional.len() > MAX_ADDITIONAL_EMAILS {
        return Err(too_large(format!(
            "the merged contact would have more than {MAX_ADDITIONAL_EMAILS} additional emails"
        )));
    }
    merged.additional_emails = Value::Array(additional.into_iter().map(Value::String).collect());

    // Attributes: primary wins, then the secondaries in order fill missing keys.
    let object = |v: &Value| match v {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    let mut attributes = object(&primary.attributes);
    let mut sources: HashMap<String, Uuid> =
        attributes.keys().map(|k| (k.clone(), primary.id)).collect();
    let mut attributes_added = Vec::new();
    for s in secondaries {
        for (key, value) in object(&s.attributes) {
            if !attributes.contains_key(&key) {
                attributes_added.push(key.clone());
                sources.insert(key.clone(), s.id);
                attributes.insert(key, value);
            }
        }
    }
    let mut attribute_conflicts = Vec::new();
    let mut conflict_keys: Vec<&String> = attributes.keys().collect();
    conflict_keys.sort();
    for key in conflict_keys {
        let values: Vec<(Uuid, Value)> = everyone
            .iter()
            .filter_map(|m| object(&m.attributes).get(key).map(|v| (m.id, v.clone())))
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

async fn load(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    ids: &[Uuid],
    lock: bool,
) -> AppResult<HashMap<Uuid, lead::Model>> {
    let mut select = lead::Entity::find()
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .filter(lead::Column::Id.is_in(ids.iter().copied()))
        // A fixed lock order: two merges over the same contacts cannot deadlock.
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

fn involved(input: &MergeInput) -> Vec<Uuid> {
    std::iter::once(input.primary_id)
        .chain(input.secondary_ids.iter().copied())
        .collect()
}

/// Shows what [`merge`] would do, without writing: blockers, the surviving value of each field
/// with its source and conflicts, what moves. Errors: `BAD_USER_INPUT` (`secondaryIds`
/// empty or over [`MAX_SECONDARIES`]); everything else is a blocker in the result.
pub async fn preview(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    input: &MergeInput,
) -> AppResult<Preview> {
    check_shape(input)?;
    let ids = involved(input);
    let found = load(db, scope, &ids, false).await?;
    let mut blockers = blockers(input, &found);
    let secondary_ids = unique_secondaries(input);
    let mut plan_out = None;
    if let Some(primary) = found.get(&input.primary_id) {
        let secondaries: Vec<&lead::Model> = secondary_ids
            .iter()
            .filter_map(|id| found.get(id))
            .collect();
        match plan(primary, &secondaries, &input.field_choices) {
            Ok(p) => plan_out = Some(p),
            Err(b) => blockers.push(b),
        }
    }
    let counts = super::requests::counts_for_leads(db, scope, &secondary_ids, None).await?;
    // Primary first, each contact once.
    let contacts = std::iter::once(&input.primary_id)
        .chain(&secondary_ids)
        .filter_map(|id| found.get(id).cloned())
        .collect();
    Ok(Preview {
        blockers,
        plan: plan_out,
        requests_to_move: counts.values().sum(),
        contacts,
    })
}

fn unique_secondaries(input: &MergeInput) -> Vec<Uuid> {
    let mut out: Vec<Uuid> = Vec::new();
    for id in &input.secondary_ids {
        if *id != input.primary_id && !out.contains(id) {
            out.push(*id);
        }
    }
    out
}

/// What the journal keeps to undo a merge exactly.
#[derive(Debug, Serialize, Deserialize)]
struct Snapshot {
    /// The primary as it was.
    primary: lead::Model,
    /// The secondaries as they were, in merge order.
    secondaries: Vec<lead::Model>,
    /// Request ids moved from each secondary.
    requests: Vec<(Uuid, Vec<Uuid>)>,
    /// Tombstones that pointed at each secondary and now point at the primary.
    repointed: Vec<(Uuid, Vec<Uuid>)>,
}

/// Who and what started a merge.
#[derive(Clone, Copy, Debug)]
pub struct MergeOrigin {
    /// `lead_merge::KIND_*`.
    pub kind: &'static str,
    /// The agent or visitor, if any.
    pub actor: Option<Uuid>,
}

/// Merges `input.secondary_ids` into `input.primary_id` in one write transaction and journals
/// it. Returns the surviving contact and the merge id. Errors: `BAD_USER_INPUT`
/// (`secondaryIds` count; blockers SELF_MERGE, DUPLICATE_ID, INVALID_FIELD_CHOICE,
/// TOO_LARGE), `NOT_FOUND` (blocker NOT_FOUND), `CONFLICT` (blockers DELETED, ERASED,
/// ALREADY_MERGED, IDENTIFIED_CONFLICT; a stale expected version). The blocker's reason is in
/// `extensions.reason`. Nothing is written on any error.
pub async fn merge(
    db: &impl TransactionTrait,
    scope: ProjectScope,
    input: &MergeInput,
    origin: MergeOrigin,
) -> AppResult<(lead::Model, Uuid)> {
    check_shape(input)?;
    let txn = begin_write(db).await?;
    let out = merge_in(&txn, scope, input, origin).await?;
    txn.commit().await?;
    Ok(out)
}

/// [`merge`] inside the caller's write transaction (the caller checked the input's shape:
/// internal callers merge one secondary).
pub(crate) async fn merge_in(
    txn: &impl ConnectionTrait,
    scope: ProjectScope,
    input: &MergeInput,
    origin: MergeOrigin,
) -> AppResult<(lead::Model, Uuid)> {
    let ids = involved(input);
    let found = load(txn, scope, &ids, true).await?;
    if let Some(b) = blockers(input, &found).into_iter().next() {
        return Err(b.into_error());
    }
    for expected in &input.expected_versions {
        let current = found.get(&expected.contact_id).ok_or_else(|| {
            AppError::bad_input(
                "expectedVersions",
                "names a contact that is not part of the merge",
            )
        })?;
        if current.version != expected.version {
            return Err(AppError::Conflict(format!(
                "contact {} changed: version is {}, expected {}",
                current.id, current.version, expected.version
            )));
        }
    }
    let primary = found
        .get(&input.primary_id)
        .ok_or(AppError::NotFound("contact"))?;
    let secondary_ids = unique_secondaries(input);
    let secondaries: Vec<&lead::Model> = secondary_ids
        .iter()
        .filter_map(|id| found.get(id))
        .collect();
    let plan = plan(primary, &secondaries, &input.field_choices).map_err(Blocker::into_error)?;
    let at = now();
    let merge_id = Uuid::new_v4();

    // What moves, recorded before moving it.
    let moved: Vec<(Uuid, Uuid)> = request::Entity::find()
        .select_only()
        .column(request::Column::Id)
        .column(request::Column::Lead)
        .filter(request::Column::ProjectId.eq(scope.project_id))
        .filter(request::Column::Lead.is_in(secondary_ids.iter().copied()))
        .into_tuple()
        .all(txn)
        .await?;
    let repointed: Vec<(Uuid, Option<Uuid>)> = lead::Entity::find()
        .select_only()
        .column(lead::Column::Id)
        .column(lead::Column::MergedInto)
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .filter(lead::Column::MergedInto.is_in(secondary_ids.iter().copied()))
        .into_tuple()
        .all(txn)
        .await?;
    let group = |pairs: Vec<(Uuid, Uuid)>| -> Vec<(Uuid, Vec<Uuid>)> {
        secondary_ids
            .iter()
            .map(|s| {
                let mut ids: Vec<Uuid> = pairs
                    .iter()
                    .filter(|(_, owner)| owner == s)
                    .map(|(id, _)| *id)
                    .collect();
                ids.sort();
                (*s, ids)
            })
            .collect()
    };
    let snapshot = Snapshot {
        primary: primary.clone(),
        secondaries: secondaries.iter().map(|m| (*m).clone()).collect(),
        requests: group(moved),
        repointed: group(
            repointed
                .into_iter()
                .filter_map(|(id, into)| into.map(|i| (id, i)))
                .collect(),
        ),
    };

    let mut survivor = plan.merged.clone();
    survivor.version = primary.version + 1;
    survivor.updated_at = at;
    save_all(txn, scope, &survivor).await?;
    request::Entity::update_many()
        .col_expr(request::Column::Lead, Expr::value(primary.id))
        .filter(request::Column::ProjectId.eq(scope.project_id))
        .filter(request::Column::Lead.is_in(secondary_ids.iter().copied()))
        .exec(txn)
        .await?;
    lead::Entity::update_many()
        .col_expr(lead::Column::MergedInto, Expr::value(primary.id))
        .filter(lead::Column::ProjectId.eq(scope.project_id))
        .filter(lead::Column::MergedInto.is_in(secondary_ids.iter().copied()))
        .exec(txn)
        .await?;
    for s in &secondaries {
        let mut tomb = (*s).clone();
        tomb.status = lead::STATUS_MERGED;
        tomb.merged_into = Some(primary.id);
        tomb.version = s.version + 1;
        tomb.updated_at = at;
        save_all(txn, scope, &tomb).await?;
    }
    let snapshot = serde_json::to_value(&snapshot).map_err(AppError::internal)?;
    lead_merge::Entity::insert(lead_merge::ActiveModel::from(lead_merge::Model {
        id: merge_id,
        project_id: scope.project_id,
        primary_id: primary.id,
        secondary_ids: json!(secondary_ids),
        kind: origin.kind.to_owned(),
        actor_id: origin.actor,
        snapshot: Some(snapshot),
        primary_version_after: survivor.version,
        created_at: at,
        undone_at: None,
    }))
    .exec_without_returning(txn)
    .await?;

    record_merge_events(
        txn,
        scope,
        origin.actor,
        merge_id,
        (
            primary.id,
            timeline::MERGED,
            timeline::diff(primary, &survivor),
        ),
        (&secondary_ids, timeline::MERGED_INTO),
    )
    .await?;
    Ok((survivor, merge_id))
}

/// The timeline of a merge or unmerge: on the primary, `primary_kind` (with the secondaries'
/// ids) followed by `extra` events; on each secondary, `secondary_kind` (with the primary's id).
async fn record_merge_events(
    txn: &impl ConnectionTrait,
    scope: ProjectScope,
    actor: Option<Uuid>,
    merge_id: Uuid,
    (primary, primary_kind, extra): (Uuid, &'static str, Vec<NewEvent>),
    (secondaries, secondary_kind): (&[Uuid], &'static str),
) -> AppResult<()> {
    let mut events = vec![NewEvent {
        kind: primary_kind,
        data: json!({ "mergeId": merge_id, "contactIds": secondaries }),
    }];
    events.extend(extra);
    timeline::record(txn, scope, primary, actor, events).await?;
    for s in secondaries {
        let event = NewEvent {
            kind: secondary_kind,
            data: json!({ "mergeId": merge_id, "contactIds": [primary] }),
        };
        timeline::record(txn, scope, *s, actor, vec![event]).await?;
    }
    Ok(())
}

/// Undoes merge `merge_id`: the primary and the secondaries get back exactly the rows they
/// had (fields, tags, attributes, status, version, timestamps), their Requests move back
/// (plus Requests their visitors opened on the survivor since), re-pointed tombstones point at
/// their secondary again. Returns the restored primary and secondaries. Errors: `NOT_FOUND`
/// (no such merge in the project); `CONFLICT` when the merge was already undone, was made
/// permanent by an erasure, or a contact changed since (the message says which and how).
pub async fn unmerge(
    db: &impl TransactionTrait,
    scope: ProjectScope,
    merge_id: Uuid,
    actor: Option<Uuid>,
) -> AppResult<(lead::Model, Vec<lead::Model>)> {
    let txn = begin_write(db).await?;
    let journal = lead_merge::Entity::find_by_id(merge_id)
        .filter(lead_merge::Column::ProjectId.eq(scope.project_id))
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("merge"))?;
    if journal.undone_at.is_some() {
        return Err(AppError::Conflict("the merge was already undone".into()));
    }
    let Some(snapshot) = journal.snapshot.clone() else {
        return Err(AppError::Conflict(
            "a contact of this merge was erased: the merge is permanent".into(),
        ));
    };
    let snapshot: Snapshot = serde_json::from_value(snapshot).map_err(AppError::internal)?;
    let ids: Vec<Uuid> = std::iter::once(snapshot.primary.id)
        .chain(snapshot.secondaries.iter().map(|m| m.id))
        .collect();
    let current = load(&txn, scope, &ids, true).await?;
    let primary_now = current
        .get(&snapshot.primary.id)
        .ok_or_else(|| AppError::Conflict("the primary contact no longer exists".into()))?;
    if primary_now.version != journal.primary_version_after {
        return Err(AppError::Conflict(format!(
            "the surviving contact {} changed since the merge (version {} now, {} right after \
             the merge): undo or revert those changes first",
            primary_now.id, primary_now.version, journal.primary_version_after
        )));
    }
    for before in &snapshot.secondaries {
        let now_row = current.get(&before.id);
        let intact = now_row.is_some_and(|m| {
            m.merged_into == Some(snapshot.primary.id) && m.version == before.version + 1
        });
        if !intact {
            return Err(AppError::Conflict(format!(
                "the merged-away contact {} changed since the merge",
                before.id
            )));
        }
    }
    let at = now();
    let merged_at = journal.created_at;
    let mut last_request: HashMap<Uuid, Option<chrono::DateTime<chrono::Utc>>> = HashMap::new();
    for before in &snapshot.secondaries {
        let mut back: Vec<Uuid> = snapshot
            .requests
            .iter()
            .find(|(s, _)| *s == before.id)
            .map(|(_, ids)| ids.clone())
            .unwrap_or_default();
        // Requests the secondary's visitor opened on the survivor after the merge are theirs.
        if let Ok(visitor) = Uuid::parse_str(&before.lead_id) {
            let newer: Vec<(Uuid, chrono::DateTime<chrono::Utc>)> = request::Entity::find()
                .select_only()
                .column(request::Column::Id)
                .column(request::Column::CreatedAt)
                .filter(request::Column::ProjectId.eq(scope.project_id))
                .filter(request::Column::Lead.eq(snapshot.primary.id))
                .filter(request::Column::RequesterId.eq(visitor))
                .filter(request::Column::CreatedAt.gte(merged_at))
                .into_tuple()
                .all(&txn)
                .await?;
            let newest = newer.iter().map(|(_, c)| *c).max();
            back.extend(newer.into_iter().map(|(id, _)| id));
            last_request.insert(before.id, newest);
        }
        if !back.is_empty() {
            request::Entity::update_many()
                .col_expr(request::Column::Lead, Expr::value(before.id))
                .filter(request::Column::ProjectId.eq(scope.project_id))
                .filter(request::Column::Lead.eq(snapshot.primary.id))
                .filter(request::Column::Id.is_in(back))
                .exec(&txn)
                .await?;
        }
        let tombstones: Vec<Uuid> = snapshot
            .repointed
            .iter()
            .find(|(s, _)| *s == before.id)
            .map(|(_, ids)| ids.clone())
            .unwrap_or_default();
        if !tombstones.is_empty() {
            lead::Entity::update_many()
                .col_expr(lead::Column::MergedInto, Expr::value(before.id))
                .filter(lead::Column::ProjectId.eq(scope.project_id))
                .filter(lead::Column::MergedInto.eq(snapshot.primary.id))
                .filter(lead::Column::Id.is_in(tombstones))
                .exec(&txn)
                .await?;
        }
    }
    let mut restored = Vec::with_capacity(snapshot.secondaries.len());
    for before in &snapshot.secondaries {
        let mut row = before.clone();
        if let Some(Some(newest)) = last_request.get(&before.id) {
            row.last_request_at = row.last_request_at.max(Some(*newest));
        }
        save_all(&txn, scope, &row).await?;
        restored.push(row);
    }
    // The primary: exactly as before, except a newer last request that stayed on it.
    let mut primary = snapshot.primary.clone();
    let newest: Option<chrono::DateTime<chrono::Utc>> = request::Entity::find()
        .select_only()
        .column_as(request::Column::CreatedAt.max(), "m")
        .filter(request::Column::ProjectId.eq(scope.project_id))
        .filter(request::Column::Lead.eq(primary.id))
        .into_tuple::<Option<chrono::DateTime<chrono::Utc>>>()
        .one(&txn)
        .await?
        .flatten();
    primary.last_request_at = primary.last_request_at.max(newest);
    save_all(&txn, scope, &primary).await?;

    lead_merge::Entity::update_many()
        .col_expr(lead_merge::Column::UndoneAt, Expr::value(Some(at)))
        .filter(lead_merge::Column::ProjectId.eq(scope.project_id))
        .filter(lead_merge::Column::Id.eq(journal.id))
        .exec(&txn)
        .await?;
    let secondary_ids: Vec<Uuid> = restored.iter().map(|m| m.id).collect();
    record_merge_events(
        &txn,
        scope,
        actor,
        merge_id,
        (primary.id, timeline::UNMERGED, Vec::new()),
        (&secondary_ids, timeline::UNMERGED),
    )
    .await?;
    txn.commit().await?;
    Ok((primary, restored))
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

/// Erasure: the merges that involve any of `leads` (as primary or secondary) lose their
/// snapshots (personal data) and become permanent. Found through the journal's primary index
/// and the leads' `MERGED` / `MERGED_INTO` timeline events, so call it in the erasing
/// transaction before [`timeline::erase`] empties those events.
pub async fn forget(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    leads: &[Uuid],
) -> Result<(), sea_orm::DbErr> {
    let events = entity::lead_event::Entity::find()
        .filter(entity::lead_event::Column::ProjectId.eq(scope.project_id))
        .filter(entity::lead_event::Column::Lead.is_in(leads.iter().copied()))
        .filter(entity::lead_event::Column::Kind.is_in([timeline::MERGED, timeline::MERGED_INTO]))
        .all(db)
        .await?;
    let by_event = events.iter().filter_map(|e| {
        e.data
            .get("mergeId")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
    });
    let by_primary: Vec<Uuid> = lead_merge::Entity::find()
        .select_only()
        .column(lead_merge::Column::Id)
        .filter(lead_merge::Column::ProjectId.eq(scope.project_id))
        .filter(lead_merge::Column::PrimaryId.is_in(leads.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    let hit: Vec<Uuid> = by_primary.into_iter().chain(by_event).collect();
    if !hit.is_empty() {
        lead_merge::Entity::update_many()
            .col_expr(
                lead_merge::Column::Snapshot,
                Expr::value(Option::<Value>::None),
            )
            .filter(lead_merge::Column::ProjectId.eq(scope.project_id))
            .filter(lead_merge::Column::Id.is_in(hit))
            .exec(db)
            .await?;
    }
    Ok(())
}
