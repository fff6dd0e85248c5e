//! Rows of a merge: [`apply`] writes one (survivor, tombstones, moved Requests, re-pointed
//! tombstones, the `lead_merge` journal entry, the timeline), [`undo`] restores the journaled
//! rows exactly, [`forget`] drops the journal's personal data on erasure. Each runs inside the
//! caller's write transaction: the `merge` use cases, and the widget's auto-merge and
//! identification, which merge as one step of their own transaction.

use std::collections::HashMap;

use entity::{lead, lead_merge, request};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::changes::{self, Version};
use super::company_links;
use super::leads::{load_many, save_all};
use super::notes;
use super::timeline::{self, NewEvent};
use crate::error::{AppError, AppResult};
use crate::service::attribute_rules::AttributeRules;
use crate::service::merge_plan::{
    Blocker, MergeInput, MergeOrigin, blockers, involved, plan, unique_secondaries,
};
use crate::service::{ProjectScope, RawSql, WriteTxn, now};

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
    /// Note ids moved from each secondary (absent from journals written before notes).
    #[serde(default)]
    notes: Vec<(Uuid, Vec<Uuid>)>,
}
/// Merges `input.secondary_ids` into `input.primary_id` inside the caller's write transaction
/// and journals it (the caller checked the input's shape, and loaded the project's attribute
/// `rules`: the merged attributes prefer values that fit them). Returns the surviving contact
/// and the merge id. Errors: as `merge::merge`; nothing is written on any error.
pub async fn apply(
    txn: &WriteTxn,
    scope: ProjectScope,
    input: &MergeInput,
    origin: MergeOrigin,
    rules: &AttributeRules,
) -> AppResult<(lead::Model, Uuid)> {
    let ids = involved(input);
    let found = load_many(txn, scope, &ids, true).await?;
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
    let plan =
        plan(primary, &secondaries, &input.field_choices, rules).map_err(Blocker::into_error)?;
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
        notes: notes::ids_by_lead(txn, scope, &secondary_ids).await?,
    };

    let merged_event = NewEvent {
        kind: timeline::EventKind::Merged,
        data: json!({ "mergeId": merge_id, "contactIds": secondary_ids }),
    };
    let survivor = changes::save(
        txn,
        scope,
        origin.actor,
        primary,
        plan.merged,
        Version::Next,
        vec![merged_event],
    )
    .await?;
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
    for (secondary, ids) in &snapshot.notes {
        notes::move_notes(txn, scope, ids, *secondary, primary.id).await?;
    }
    for s in &secondaries {
        let mut tomb = (*s).clone();
        tomb.status = lead::LeadStatus::Merged;
        tomb.merged_into = Some(primary.id);
        let event = NewEvent {
            kind: timeline::EventKind::MergedInto,
            data: json!({ "mergeId": merge_id, "contactIds": [primary.id] }),
        };
        changes::save(
            txn,
            scope,
            origin.actor,
            s,
            tomb,
            Version::Next,
            vec![event],
        )
        .await?;
    }
    let snapshot = serde_json::to_value(&snapshot).map_err(AppError::internal)?;
    lead_merge::Entity::insert(lead_merge::ActiveModel::from(lead_merge::Model {
        id: merge_id,
        project_id: scope.project_id,
        primary_id: primary.id,
        secondary_ids: json!(secondary_ids),
        kind: origin.kind,
        actor_id: origin.actor,
        snapshot: Some(snapshot),
        primary_version_after: survivor.version,
        created_at: at,
        undone_at: None,
    }))
    .exec_without_returning(txn)
    .await?;
    Ok((survivor, merge_id))
}

/// The timeline of an unmerge: `UNMERGED` on the primary (with the secondaries' ids) and on
/// each secondary (with the primary's id).
fn record_unmerge_events(
    txn: &WriteTxn,
    scope: ProjectScope,
    actor: Option<Uuid>,
    merge_id: Uuid,
    primary: Uuid,
    secondaries: &[Uuid],
) {
    let event = |ids: Value| NewEvent {
        kind: timeline::EventKind::Unmerged,
        data: json!({ "mergeId": merge_id, "contactIds": ids }),
    };
    timeline::record(txn, scope, primary, actor, vec![event(json!(secondaries))]);
    for s in secondaries {
        timeline::record(txn, scope, *s, actor, vec![event(json!([primary]))]);
    }
}

/// Undoes merge `merge_id`: the primary and the secondaries get back exactly the rows they
/// had (fields, tags, attributes, status, version, timestamps, company link — to the
/// company as it is now: unlinked if it was deleted since, its current name if it was
/// renamed), their Requests move back
/// (plus Requests their visitors opened on the survivor since), re-pointed tombstones point at
/// their secondary again. Returns the restored primary and secondaries. Errors: `NOT_FOUND`
/// (no such merge in the project); `CONFLICT` when the merge was already undone, was made
/// permanent by an erasure, or a contact changed since (the message says which and how).
pub async fn undo(
    txn: &WriteTxn,
    scope: ProjectScope,
    merge_id: Uuid,
    actor: Option<Uuid>,
) -> AppResult<(lead::Model, Vec<lead::Model>)> {
    let journal = lead_merge::Entity::find_by_id(merge_id)
        .filter(lead_merge::Column::ProjectId.eq(scope.project_id))
        .lock_exclusive()
        .one(txn)
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
    let current = load_many(txn, scope, &ids, true).await?;
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
                .all(txn)
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
                .exec(txn)
                .await?;
        }
        if let Some((_, ids)) = snapshot.notes.iter().find(|(s, _)| *s == before.id) {
            // Notes added to the survivor after the merge stay on it.
            notes::move_notes(txn, scope, ids, snapshot.primary.id, before.id).await?;
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
                .exec(txn)
                .await?;
        }
    }
    let mut restored = Vec::with_capacity(snapshot.secondaries.len());
    for before in &snapshot.secondaries {
        let mut row = before.clone();
        if let Some(Some(newest)) = last_request.get(&before.id) {
            row.last_request_at = row.last_request_at.max(Some(*newest));
        }
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
        .one(txn)
        .await?
        .flatten();
    primary.last_request_at = primary.last_request_at.max(newest);
    // The companies as they are now (a journaled link may name one deleted or renamed since).
    let mut rows: Vec<lead::Model> = std::iter::once(primary).chain(restored).collect();
    company_links::refresh(txn, scope, &mut rows).await?;
    for row in &rows {
        save_all(txn, scope, row).await?;
    }
    let mut rows = rows.into_iter();
    let primary = rows
        .next()
        .ok_or_else(|| AppError::internal("unmerge lost its primary"))?;
    let restored: Vec<lead::Model> = rows.collect();

    lead_merge::Entity::update_many()
        .col_expr(lead_merge::Column::UndoneAt, Expr::value(Some(at)))
        .filter(lead_merge::Column::ProjectId.eq(scope.project_id))
        .filter(lead_merge::Column::Id.eq(journal.id))
        .exec(txn)
        .await?;
    let secondary_ids: Vec<Uuid> = restored.iter().map(|m| m.id).collect();
    record_unmerge_events(txn, scope, actor, merge_id, primary.id, &secondary_ids);
    Ok((primary, restored))
}

/// Erasure: the merges that involve any of `leads` (as primary or secondary) and can still be
/// undone lose their snapshots (personal data) and become permanent. Found through the
/// journal itself: its `(project_id, primary_id)` index for primaries, and its
/// `secondary_ids` (a JSON array) within the project for secondaries.
pub async fn forget(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    leads: &[Uuid],
) -> Result<(), sea_orm::DbErr> {
    if leads.is_empty() {
        return Ok(());
    }
    let backend = db.get_database_backend();
    // "One of `leads` is in secondary_ids": jsonb containment on PostgreSQL, json_each on
    // SQLite (which stores JSON as text).
    let mut as_secondary = RawSql::new();
    for (i, lead) in leads.iter().enumerate() {
        as_secondary = match backend {
            DbBackend::Postgres => as_secondary
                .sql(if i == 0 { "(" } else { " OR " })
                .sql(r#""secondary_ids" @> "#)
                .value(json!([lead]).to_string())
                .sql("::jsonb"),
            _ => as_secondary
                .sql(if i == 0 {
                    r#"EXISTS (SELECT 1 FROM json_each("lead_merge"."secondary_ids") WHERE "value" IN ("#
                } else {
                    ", "
                })
                .value(lead.to_string()),
        };
    }
    let as_secondary = match backend {
        DbBackend::Postgres => as_secondary.sql(")"),
        _ => as_secondary.sql("))"),
    };
    lead_merge::Entity::update_many()
        .col_expr(
            lead_merge::Column::Snapshot,
            Expr::value(Option::<Value>::None),
        )
        .filter(lead_merge::Column::ProjectId.eq(scope.project_id))
        .filter(lead_merge::Column::Snapshot.is_not_null())
        .filter(
            Condition::any()
                .add(lead_merge::Column::PrimaryId.is_in(leads.iter().copied()))
                .add(as_secondary.into_expr(backend)),
        )
        .exec(db)
        .await?;
    Ok(())
}
