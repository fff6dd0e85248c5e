//! Agents' notes on a contact (use cases, each in its own write transaction): add, edit,
//! delete. A note belongs to one contact of the agent's project; it is never shown to
//! visitors, moves with merges (and back with unmerges) and is deleted by erasure. Each change
//! records a timeline event (`NOTE_ADDED`, `NOTE_EDITED`, `NOTE_DELETED` with `noteId`; never
//! the text, so webhooks and subscriptions carry no note content). Notes do not change the
//! contact's `version` (they are not contact fields).

use entity::contact_note;
use serde_json::json;
use uuid::Uuid;

use super::store::timeline::{self, EventKind, NewEvent};
use super::store::{leads, notes};
use super::{Database, ProjectScope, begin_write, now};
use crate::auth::Role;
use crate::error::{AppError, AppResult};
use crate::normalize;

/// Longest note body, in characters (Unicode scalar values, after NFC).
pub const MAX_NOTE_BODY_CHARS: usize = 10_000;

/// The agent acting on notes: who, and with which role in the project.
#[derive(Clone, Copy, Debug)]
pub struct Agent {
    /// The agent's user id (a note's author).
    pub user_id: Uuid,
    /// The agent's role: OWNER and ADMIN may edit and delete anybody's note.
    pub role: Role,
}

impl Agent {
    fn may_change(&self, note: &contact_note::Model) -> bool {
        note.author_id == Some(self.user_id) || matches!(self.role, Role::Owner | Role::Admin)
    }
}

/// A note body: multi-line text (NFC, trimmed, line feeds and tabs allowed), 1 to
/// [`MAX_NOTE_BODY_CHARS`] characters. Errors: `BAD_USER_INPUT` (`body`).
fn body(raw: &str) -> AppResult<String> {
    normalize::text_multiline("body", Some(raw), MAX_NOTE_BODY_CHARS)?
        .ok_or_else(|| AppError::bad_input("body", "must not be blank"))
}

fn event(kind: EventKind, note: Uuid) -> NewEvent {
    NewEvent {
        kind,
        data: json!({ "noteId": note }),
    }
}

/// Locks the contact `id` of `scope` for a note change: it must exist in the project, not be
/// erased and not be merged away. Errors: `NOT_FOUND`, `CONFLICT` (erased; merged away:
/// `ALREADY_MERGED` with `mergedInto`).
async fn lock_contact(
    txn: &super::WriteTxn,
    scope: ProjectScope,
    id: Uuid,
) -> AppResult<entity::lead::Model> {
    let contact = leads::lock(txn, scope, id).await?;
    if contact.erased_at.is_some() {
        return Err(AppError::Conflict("the contact was erased".into()));
    }
    if let Some(into) = contact.merged_into {
        return Err(AppError::MergedAway { into });
    }
    Ok(contact)
}

/// Adds a note by `agent` to the contact `contact_id` of `scope`. Returns the note.
/// Errors: `BAD_USER_INPUT` (`body` blank, over 10,000 characters, control characters),
/// `NOT_FOUND` (contact), `CONFLICT` (erased or merged-away contact).
pub async fn add(
    db: &impl Database,
    scope: ProjectScope,
    agent: Agent,
    contact_id: Uuid,
    raw_body: &str,
) -> AppResult<contact_note::Model> {
    let body = body(raw_body)?;
    let txn = begin_write(db).await?;
    let contact = lock_contact(&txn, scope, contact_id).await?;
    let at = now();
    let note = contact_note::Model {
        id: Uuid::new_v4(),
        project_id: scope.project_id,
        lead: contact.id,
        author_id: Some(agent.user_id),
        body,
        created_at: at,
        updated_at: at,
    };
    notes::insert(&txn, scope, &note).await?;
    timeline::record(
        &txn,
        scope,
        contact.id,
        Some(agent.user_id),
        vec![event(EventKind::NoteAdded, note.id)],
    );
    txn.commit().await?;
    Ok(note)
}

/// Replaces the body of note `id` of `scope`; its author or an OWNER/ADMIN only. Returns the
/// note (unchanged, without an event, when the body is the same).
/// Errors: `BAD_USER_INPUT` (`body`), `NOT_FOUND` (note), `FORBIDDEN` (another agent's note,
/// caller not OWNER/ADMIN), `CONFLICT` (its contact erased or merged away).
pub async fn update(
    db: &impl Database,
    scope: ProjectScope,
    agent: Agent,
    id: Uuid,
    raw_body: &str,
) -> AppResult<contact_note::Model> {
    let body = body(raw_body)?;
    let txn = begin_write(db).await?;
    let (mut note, contact) = lock_note(&txn, scope, agent, id).await?;
    if note.body == body {
        return Ok(note);
    }
    note.body = body;
    note.updated_at = now();
    notes::save(&txn, scope, &note).await?;
    timeline::record(
        &txn,
        scope,
        contact,
        Some(agent.user_id),
        vec![event(EventKind::NoteEdited, note.id)],
    );
    txn.commit().await?;
    Ok(note)
}

/// Deletes note `id` of `scope`; its author or an OWNER/ADMIN only. Returns the deleted note.
/// Errors: `NOT_FOUND` (note), `FORBIDDEN` (another agent's note, caller not OWNER/ADMIN),
/// `CONFLICT` (its contact erased or merged away).
pub async fn delete(
    db: &impl Database,
    scope: ProjectScope,
    agent: Agent,
    id: Uuid,
) -> AppResult<contact_note::Model> {
    let txn = begin_write(db).await?;
    let (note, contact) = lock_note(&txn, scope, agent, id).await?;
    notes::delete(&txn, scope, note.id).await?;
    timeline::record(
        &txn,
        scope,
        contact,
        Some(agent.user_id),
        vec![event(EventKind::NoteDeleted, note.id)],
    );
    txn.commit().await?;
    Ok(note)
}

/// Locks note `id` and its contact (contact first, as every contact write does, so a note
/// change and a merge or erasure of its contact serialize), checking that `agent` may change
/// it. Returns the note and its contact's id.
async fn lock_note(
    txn: &super::WriteTxn,
    scope: ProjectScope,
    agent: Agent,
    id: Uuid,
) -> AppResult<(contact_note::Model, Uuid)> {
    // Which contact: read without a lock, then lock the contact and the note in that order.
    let found = notes::find(txn, scope, id, false).await?;
    let contact = lock_contact(txn, scope, found.lead).await?;
    let note = notes::find(txn, scope, id, true).await?;
    if note.lead != contact.id {
        // Moved by a merge between the two reads: the contact it is on now was merged away.
        return Err(AppError::Conflict(
            "the note moved to another contact: try again".into(),
        ));
    }
    if !agent.may_change(&note) {
        return Err(AppError::Forbidden(
            "only the note's author, an OWNER or an ADMIN may change it",
        ));
    }
    Ok((note, contact.id))
}
