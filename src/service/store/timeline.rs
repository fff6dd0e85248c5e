//! The contact timeline: events written in the same transaction as the change they describe,
//! read newest first with keyset cursors.
//!
//! Event kinds and their `data`:
//! - `CREATED` `{}`; `DELETED`, `RESTORED`, `ERASED` `{}`;
//! - `FIELD_CHANGED` `{"field", "before", "after"}` (one per field; `attributes` and
//!   `additionalEmails` as whole JSON values; `owner` as user ids, with `"reason":
//!   "MEMBER_REMOVED"` when the owner left the project);
//! - `NOTE_ADDED`, `NOTE_EDITED`, `NOTE_DELETED` `{"noteId"}`;
//! - `TAGS_CHANGED` `{"added": [..], "removed": [..]}`;
//! - `REQUEST_CREATED` `{"requestId": "<Request.id>"}`;
//! - `MERGED` `{"mergeId", "contactIds": [secondaries]}` on the primary, `MERGED_INTO`
//!   `{"mergeId", "contactIds": [primary]}` on each secondary, `UNMERGED` `{"mergeId",
//!   "contactIds"}` on all of them.

use std::collections::HashMap;

use entity::{lead, lead_event};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult,
    Iterable, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::service::fields::ContactField;
use crate::service::pagination::{Cursor, Page, PageArgs, pages_by_group, per_lead_window};
use crate::service::write::WriteTxn;
use crate::service::{ProjectScope, RawSql, now};

pub use entity::lead_event::EventKind;

/// An event to write.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    /// What happened.
    pub kind: EventKind,
    /// Its details (a JSON object).
    pub data: Value,
}

impl NewEvent {
    /// An event without details.
    pub fn bare(kind: EventKind) -> Self {
        Self {
            kind,
            data: Value::Object(Map::new()),
        }
    }
}

fn text(v: Option<&String>) -> Value {
    v.cloned().map_or(Value::Null, Value::String)
}

/// The events that turn `before` into `after`: one `FIELD_CHANGED` per changed text field
/// ([`ContactField::ALL`]; `company` also when the link moves to another company of the same
/// name), then `attributes` and `additionalEmails` (whole JSON values) and `owner`
/// ([`owner_changed`]), one
/// `TAGS_CHANGED`, and `DELETED` / `RESTORED` for a status change. Version and timestamps are
/// not events.
pub fn diff(before: &lead::Model, after: &lead::Model) -> Vec<NewEvent> {
    // A link to another company of the same name is a change of `company` too.
    let relinked = before.company_id != after.company_id;
    let texts = ContactField::ALL.into_iter().filter_map(|f| {
        let (b, a) = (text(f.get(before)), text(f.get(after)));
        (b != a || (f == ContactField::Company && relinked)).then_some((f.name(), b, a))
    });
    let structured = [
        (
            "attributes",
            before.attributes.clone(),
            after.attributes.clone(),
        ),
        (
            "additionalEmails",
            before.additional_emails.clone(),
            after.additional_emails.clone(),
        ),
    ];
    let structured = structured.into_iter().filter(|(_, b, a)| b != a);
    let mut out: Vec<NewEvent> = texts
        .chain(structured)
        .map(|(field, b, a)| NewEvent {
            kind: EventKind::FieldChanged,
            data: json!({ "field": field, "before": b, "after": a }),
        })
        .collect();
    if before.owner_id != after.owner_id {
        out.push(owner_changed(before.owner_id, after.owner_id));
    }
    let old = crate::normalize::stored_tags(&before.tags);
    let new = crate::normalize::stored_tags(&after.tags);
    let added = crate::normalize::subtract_tags(&new, &old);
    let removed = crate::normalize::subtract_tags(&old, &new);
    if !added.is_empty() || !removed.is_empty() {
        out.push(NewEvent {
            kind: EventKind::TagsChanged,
            data: json!({ "added": added, "removed": removed }),
        });
    }
    if before.status != after.status {
        match after.status {
            lead::LeadStatus::Deleted => out.push(NewEvent::bare(EventKind::Deleted)),
            lead::LeadStatus::Normal if before.status == lead::LeadStatus::Deleted => {
                out.push(NewEvent::bare(EventKind::Restored))
            }
            _ => {}
        }
    }
    out
}

/// The `FIELD_CHANGED` event of an owner change: `{"field": "owner", "before", "after"}`
/// (user ids, null when unassigned).
pub fn owner_changed(before: Option<Uuid>, after: Option<Uuid>) -> NewEvent {
    NewEvent {
        kind: EventKind::FieldChanged,
        data: json!({ "field": "owner", "before": before, "after": after }),
    }
}

/// The PostgreSQL `NOTIFY` channel a commit with events rings; its payload is the project id.
pub const NOTIFY_CHANNEL: &str = "contact_events";

/// An event recorded in a write transaction and not yet written ([`record`] makes them,
/// [`write`] writes them).
#[derive(Clone, Debug)]
pub struct Journaled {
    /// The project whose log it joins.
    pub project_id: Uuid,
    /// The Lead it is about.
    pub lead: Uuid,
    /// Who did it (`None`: the system or the operator).
    pub actor: Option<Uuid>,
    /// What happened.
    pub event: NewEvent,
    /// When it was recorded (its `created_at`).
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Records `events` for Lead `lead` of `scope`, by `actor`, in `txn`'s journal: they are
/// written to the log when `txn` commits ([`WriteTxn::commit`]), after every other statement
/// of the use case. Events of one transaction get consecutive positions in the order recorded,
/// and consecutive microsecond timestamps from the time of this call, so their order survives.
pub fn record(
    txn: &WriteTxn,
    scope: ProjectScope,
    lead: Uuid,
    actor: Option<Uuid>,
    events: Vec<NewEvent>,
) {
    let at = now();
    txn.journal(events.into_iter().enumerate().map(|(i, event)| Journaled {
        project_id: scope.project_id,
        lead,
        actor,
        event,
        at: at + chrono::Duration::microseconds(i as i64),
    }));
}

/// Writes `pending` to the event log, per project in order of first appearance: on PostgreSQL
/// one statement (a data-modifying CTE takes the positions on the project's `event_head` row
/// and queues a `NOTIFY` on [`NOTIFY_CHANNEL`], delivered at commit and dropped on rollback;
/// the `INSERT` uses them), on SQLite two (the positions, then the rows). The `event_head`
/// row stays locked until the transaction ends, so events commit in position order. Returns
/// the projects written for.
pub async fn write(db: &impl ConnectionTrait, pending: Vec<Journaled>) -> Result<Vec<Uuid>, DbErr> {
    let mut projects: Vec<Uuid> = Vec::new();
    add_unique(&mut projects, pending.iter().map(|j| j.project_id));
    for &project in &projects {
        let rows: Vec<&Journaled> = pending.iter().filter(|j| j.project_id == project).collect();
        match db.get_database_backend() {
            DbBackend::Postgres => write_postgres(db, project, &rows).await?,
            _ => write_sqlite(db, project, &rows).await?,
        }
    }
    Ok(projects)
}

/// Appends each of `ids` to `to` unless already there (order of first appearance kept).
pub(crate) fn add_unique(to: &mut Vec<Uuid>, ids: impl IntoIterator<Item = Uuid>) {
    for id in ids {
        if !to.contains(&id) {
            to.push(id);
        }
    }
}

/// `sql` + the upsert that takes `n` positions of `project`'s log, up to `RETURNING position`
/// (the last position taken).
fn take_positions(sql: RawSql, project: Uuid, n: i64) -> RawSql {
    sql.sql("INSERT INTO event_head (project_id, position) VALUES (")
        .value(project)
        .sql(", ")
        .value(n)
        .sql(
            ") ON CONFLICT (project_id) DO UPDATE SET position = event_head.position + \
             excluded.position RETURNING position",
        )
}

async fn write_postgres(
    db: &impl ConnectionTrait,
    project: Uuid,
    rows: &[&Journaled],
) -> Result<(), DbErr> {
    let n = rows.len() as i64;
    let mut sql = take_positions(RawSql::new().sql("WITH head AS ("), project, n)
        .sql(" - ")
        .value(n)
        .sql(" AS base, pg_notify(")
        .value(NOTIFY_CHANNEL)
        .sql(", ")
        .value(project.to_string())
        .sql(
            ") IS NULL AS notified) INSERT INTO lead_event (id, project_id, position, lead, \
             kind, actor_id, data, created_at) SELECT v.id, ",
        )
        .value(project)
        .sql(
            ", head.base + v.ord, v.lead, v.kind, v.actor_id, v.data, v.created_at FROM head \
             CROSS JOIN (VALUES ",
        );
    for (i, j) in rows.iter().enumerate() {
        if i > 0 {
            sql = sql.sql(", ");
        }
        sql = sql
            .sql("(")
            .value(Uuid::new_v4())
            .sql(format!(", {}::bigint, ", i + 1))
            .value(j.lead)
            .sql(", ")
            .value(j.event.kind.to_value())
            .sql(", ")
            .value(j.actor)
            .sql(", ")
            .value(j.event.data.clone())
            .sql(", ")
            .value(j.at)
            .sql(")");
    }
    sql = sql.sql(") AS v (id, ord, lead, kind, actor_id, data, created_at)");
    db.execute_raw(sql.into_statement(DbBackend::Postgres))
        .await?;
    Ok(())
}

async fn write_sqlite(
    db: &impl ConnectionTrait,
    project: Uuid,
    rows: &[&Journaled],
) -> Result<(), DbErr> {
    let n = rows.len() as i64;
    let stmt = take_positions(RawSql::new(), project, n).into_statement(db.get_database_backend());
    let row = db
        .query_one_raw(stmt)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("event_head".into()))?;
    let last: i64 = row.try_get("", "position")?;
    let first = last - n + 1;
    let models = rows.iter().enumerate().map(|(i, j)| {
        lead_event::ActiveModel::from(lead_event::Model {
            id: Uuid::new_v4(),
            project_id: project,
            position: first + i as i64,
            lead: j.lead,
            kind: j.event.kind,
            actor_id: j.actor,
            data: j.event.data.clone(),
            created_at: j.at,
        })
    });
    lead_event::Entity::insert_many(models)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The events of `scope`'s log after position `after`, oldest first, at most `limit` (one
/// statement, the `(project_id, position)` index).
pub async fn after(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    after: i64,
    limit: u64,
) -> Result<Vec<lead_event::Model>, DbErr> {
    lead_event::Entity::find()
        .filter(lead_event::Column::ProjectId.eq(scope.project_id))
        .filter(lead_event::Column::Position.gt(after))
        .order_by_asc(lead_event::Column::Position)
        .limit(limit)
        .all(db)
        .await
}

/// The last position given out in `scope`'s log (0 before its first event).
pub async fn head(db: &impl ConnectionTrait, scope: ProjectScope) -> Result<i64, DbErr> {
    let stmt = RawSql::new()
        .sql("SELECT position FROM event_head WHERE project_id = ")
        .value(scope.project_id)
        .into_statement(db.get_database_backend());
    let row = db.query_one_raw(stmt).await?;
    Ok(match row {
        Some(row) => row.try_get("", "position")?,
        None => 0,
    })
}

/// For each Lead of `leads` (within `scope`), one page of its timeline, newest first: ONE
/// statement for all of them (a `ROW_NUMBER() OVER (PARTITION BY lead …)` window). Leads
/// without events are absent from the map.
pub async fn pages_for_leads(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    leads: &[Uuid],
    args: PageArgs,
) -> Result<HashMap<Uuid, Page<lead_event::Model>>, DbErr> {
    if args.first == 0 || leads.is_empty() {
        return Ok(HashMap::new());
    }
    let mut inner = Query::select();
    inner
        .columns(lead_event::Column::iter())
        .from(lead_event::Entity)
        .and_where(lead_event::Column::ProjectId.eq(scope.project_id))
        .and_where(lead_event::Column::Lead.is_in(leads.iter().copied()));
    let stmt = db
        .get_database_backend()
        .build(&per_lead_window(inner, args));
    let rows = lead_event::Model::find_by_statement(stmt).all(db).await?;
    Ok(pages_by_group(rows, |r| r.lead, cursor_of, args.first))
}

/// The cursor of an event.
pub fn cursor_of(row: &lead_event::Model) -> Cursor {
    Cursor {
        created_at: row.created_at,
        id: row.id,
    }
}

/// Erasure: empties the details of every event of the Leads `leads` (field values, tags,
/// request ids), keeping only kinds and times. Call in the erasing transaction.
pub async fn erase(txn: &WriteTxn, scope: ProjectScope, leads: &[Uuid]) -> Result<(), DbErr> {
    // Events recorded earlier in this transaction are scrubbed too.
    txn.write_journal().await?;
    lead_event::Entity::update_many()
        .col_expr(
            lead_event::Column::Data,
            Expr::value(Value::Object(Map::new())),
        )
        .filter(lead_event::Column::ProjectId.eq(scope.project_id))
        .filter(lead_event::Column::Lead.is_in(leads.iter().copied()))
        .exec(txn)
        .await?;
    Ok(())
}
