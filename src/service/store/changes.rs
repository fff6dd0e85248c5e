//! The one place that writes "a contact changed": the row's new state, its `version` and
//! `updated_at`, and the timeline events that describe the change ([`timeline::diff`] plus the
//! caller's own, e.g. `MERGED`). Every edit of a contact (agents' edits, the widget's metadata,
//! imports, merges) goes through [`save`]; events reach the timeline only through
//! [`timeline::record`].

use entity::{lead, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::leads::{blank, find_by_lead_id_locked, resolve, save_all};
use super::timeline::{self, NewEvent};
use crate::error::{AppError, AppResult};
use crate::normalize;
use crate::service::{ProjectScope, WriteTxn, now};

/// Whether a saved change takes a new version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `before.version + 1`: every change a client can have seen the earlier state of.
    Next,
    /// Keep `before.version`: a Lead created earlier in the same transaction (nobody saw it).
    Same,
}

/// Saves `after` as the new state of the contact `before` (same id, in `scope`): `version`
/// per `version`, `updated_at` now; records `events` then the diff `before` → `after` on its
/// timeline, by `actor`. Returns the saved row. Errors: `INTERNAL` when the row is not in the
/// project; database errors.
pub async fn save(
    db: &WriteTxn,
    scope: ProjectScope,
    actor: Option<Uuid>,
    before: &lead::Model,
    mut after: lead::Model,
    version: Version,
    events: Vec<NewEvent>,
) -> AppResult<lead::Model> {
    after.version = match version {
        Version::Next => before.version + 1,
        Version::Same => before.version,
    };
    after.updated_at = now();
    save_all(db, scope, &after).await?;
    let mut events = events;
    events.extend(timeline::diff(before, &after));
    timeline::record(db, scope, after.id, actor, events);
    Ok(after)
}

/// Inserts the new contact `model` of `scope` unless its `lead_id` is taken, and records its
/// `CREATED` event by `actor`. Returns whether it was inserted (nothing is written when not).
pub async fn create(
    db: &WriteTxn,
    scope: ProjectScope,
    actor: Option<Uuid>,
    model: &lead::Model,
) -> AppResult<bool> {
    if !super::leads::insert_new(db, scope, model).await? {
        return Ok(false);
    }
    timeline::record(
        db,
        scope,
        model.id,
        actor,
        vec![NewEvent::bare(timeline::EventKind::Created)],
    );
    Ok(true)
}

/// The visitor's Lead in `scope`, created if missing (seeded with the name, email and
/// attributes the visitor gave at sign-in). Race-free: the insert is `ON CONFLICT DO NOTHING`
/// on the unique key (project, lead_id); when another transaction inserted first, its row is
/// read back, locked `FOR UPDATE` on PostgreSQL (a row this call inserts is locked already). Call inside a write transaction (`service::begin_write`). A Lead this call
/// creates gets `last_request_at` (the time of the Request being opened, if any), and the
/// company of its email's domain under the project's email-domain rule.
/// Returns the Lead and whether this call created it (then its `CREATED` event is recorded).
pub async fn get_or_create_for_visitor(
    txn: &WriteTxn,
    scope: ProjectScope,
    visitor_id: Uuid,
    last_request_at: Option<chrono::DateTime<chrono::Utc>>,
) -> AppResult<(lead::Model, bool)> {
    let lead_id = visitor_id.to_string();
    if let Some(found) = find_by_lead_id_locked(txn, scope, &lead_id).await? {
        // A visitor whose contact was merged away lands on the surviving contact.
        return Ok((resolve(txn, scope, found, true).await?, false));
    }
    let visitor = user::Entity::find_by_id(visitor_id)
        .filter(user::Column::ProjectId.eq(scope.project_id))
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
    new.fullname = visitor.fullname;
    new.email = visitor.email;
    new.email_key = email;
    new.attributes = attributes;
    new.external_id = visitor.external_id;
    new.last_request_at = last_request_at;
    super::company_links::by_email_domain(txn, scope, None, &mut new).await?;
    if create(txn, scope, Some(visitor_id), &new).await? {
        // The row as inserted (and, on PostgreSQL, locked by this transaction's insert).
        return Ok((new, true));
    }
    // Another transaction created it first: read theirs.
    let found = find_by_lead_id_locked(txn, scope, &lead_id)
        .await?
        .ok_or_else(|| AppError::internal("lead missing after get-or-create"))?;
    Ok((resolve(txn, scope, found, true).await?, false))
}

/// Unassigns every contact of `scope` that `owner` owns (the owner left the project), by
/// `actor`: one `UPDATE … RETURNING` (new version, `updated_at` now) and, on each contact, a
/// `FIELD_CHANGED` `owner` event with `"reason": "MEMBER_REMOVED"`. Merged-away contacts
/// (tombstones) are left as journaled, so their merges can still be undone. Returns how many
/// contacts were unassigned.
pub async fn unassign_owner(
    db: &WriteTxn,
    scope: ProjectScope,
    actor: Option<Uuid>,
    owner: Uuid,
) -> AppResult<u64> {
    use sea_orm::ConnectionTrait;
    let stmt = crate::service::RawSql::new()
        .sql("UPDATE lead SET owner_id = NULL, version = version + 1, updated_at = ")
        .value(now())
        .sql(" WHERE project_id = ")
        .value(scope.project_id)
        .sql(" AND owner_id = ")
        .value(owner)
        .sql(" AND merged_into IS NULL RETURNING id")
        .into_statement(db.get_database_backend());
    let rows = db.query_all_raw(stmt).await?;
    for row in &rows {
        let id: Uuid = row.try_get("", "id")?;
        let mut event = timeline::owner_changed(Some(owner), None);
        event.data["reason"] = Value::String("MEMBER_REMOVED".into());
        timeline::record(db, scope, id, actor, vec![event]);
    }
    Ok(rows.len() as u64)
}

/// Saves many contacts at once: each `(before, after)` pair as [`save`] would (`version`
/// `before.version + 1`, `updated_at` now, the timeline diff by `actor`), written with ONE
/// statement (`WITH v(…) AS (VALUES …) UPDATE lead … FROM v`, every column but the key, the
/// tenant and the creation time), so a bulk job's batch costs the same number of statements
/// whatever its size. Every `after` must be a row of `scope` locked by this transaction.
/// Errors: `INTERNAL` for a row of another project or one missing; database errors.
pub async fn save_batch(
    db: &WriteTxn,
    scope: ProjectScope,
    actor: Option<Uuid>,
    pairs: Vec<(lead::Model, lead::Model)>,
) -> AppResult<()> {
    use sea_orm::{ActiveModelTrait, ConnectionTrait, Iterable};
    if pairs.is_empty() {
        return Ok(());
    }
    let at = now();
    let columns: Vec<lead::Column> = lead::Column::iter()
        .filter(|c| {
            !matches!(
                c,
                lead::Column::ProjectId | lead::Column::CreatedAt | lead::Column::Id
            )
        })
        .collect();
    let name = |c: &lead::Column| sea_orm::IdenStatic::as_str(c).to_owned();
    let mut sql = crate::service::RawSql::new().sql(format!(
        "WITH v (id, {}) AS (VALUES ",
        columns.iter().map(name).collect::<Vec<_>>().join(", ")
    ));
    let n = pairs.len();
    for (i, (before, mut after)) in pairs.into_iter().enumerate() {
        if after.project_id != scope.project_id || after.id != before.id {
            return Err(AppError::internal("a batch row outside its scope"));
        }
        after.version = before.version + 1;
        after.updated_at = at;
        timeline::record(db, scope, after.id, actor, timeline::diff(&before, &after));
        let model = lead::ActiveModel::from(after);
        sql = sql.sql(if i == 0 { "(" } else { ", (" }).value(before.id);
        for c in &columns {
            let value = model
                .get(*c)
                .into_value()
                .ok_or_else(|| AppError::internal("a batch row without a column"))?;
            sql = sql.sql(", ").value(value);
        }
        sql = sql.sql(")");
    }
    sql = sql
        .sql(format!(
            ") UPDATE lead SET {} FROM v WHERE lead.id = v.id AND lead.project_id = ",
            columns
                .iter()
                .map(|c| format!("{0} = v.{0}", name(c)))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .value(scope.project_id);
    let done = db
        .execute_raw(sql.into_statement(db.get_database_backend()))
        .await?;
    if done.rows_affected() != n as u64 {
        return Err(AppError::internal("a batch row is missing"));
    }
    Ok(())
}
