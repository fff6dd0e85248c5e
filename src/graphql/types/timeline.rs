//! `ContactEvent`: one entry of a contact's timeline, and its Relay connection.

use async_graphql::{ID, Json, Object};
use chrono::{DateTime, Utc};
use entity::lead_event;
use serde_json::Value;

use super::connection::PageInfo;
use super::enums::ContactEventKind;
use crate::service::pagination::Page;
use crate::service::store::timeline::cursor_of;

/// One timeline event.
pub struct ContactEvent(pub lead_event::Model);

impl ContactEvent {
    fn data(&self, key: &str) -> Option<&Value> {
        self.0.data.get(key).filter(|v| !v.is_null())
    }

    fn strings(&self, key: &str) -> Vec<String> {
        match self.0.data.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// One event of a contact's timeline (what happened, when, by whom). Which of the optional
/// fields are set depends on `kind`. Erasure empties the details of earlier events.
#[Object]
impl ContactEvent {
    /// Primary key (a UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Where it stands in its project's event log (decimal digits of a 64-bit integer,
    /// increasing in commit order): `contactEvents(after:)` resumes after it.
    async fn position(&self) -> String {
        self.0.position.to_string()
    }

    /// The contact it happened to.
    async fn contact_id(&self) -> ID {
        ID(self.0.lead.to_string())
    }

    /// What happened. Errors: `INTERNAL` for a kind this server does not know.
    async fn kind(&self) -> ContactEventKind {
        self.0.kind.into()
    }

    /// When (UTC, microseconds).
    async fn at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The user who did it (an agent or the visitor); null for system changes.
    async fn actor_id(&self) -> Option<ID> {
        self.0.actor_id.map(|id| ID(id.to_string()))
    }

    /// FIELD_CHANGED: the field (`fullname`, `email`, …, `attributes`, `additionalEmails`,
    /// `owner`).
    async fn field(&self) -> Option<String> {
        self.data("field")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// FIELD_CHANGED: the value before (JSON: a string, an object for `attributes`, a user id
    /// for `owner`, null when empty).
    async fn before(&self) -> Option<Json<Value>> {
        self.data("before").cloned().map(Json)
    }

    /// FIELD_CHANGED: the value after.
    async fn after(&self) -> Option<Json<Value>> {
        self.data("after").cloned().map(Json)
    }

    /// TAGS_CHANGED: tags added.
    async fn tags_added(&self) -> Vec<String> {
        self.strings("added")
    }

    /// TAGS_CHANGED: tags removed.
    async fn tags_removed(&self) -> Vec<String> {
        self.strings("removed")
    }

    /// REQUEST_CREATED: the request's `id`.
    async fn request_id(&self) -> Option<ID> {
        self.data("requestId")
            .and_then(Value::as_str)
            .map(|s| ID(s.to_owned()))
    }

    /// MERGED, MERGED_INTO, UNMERGED: the merge (`unmergeContacts(input: {mergeId})`).
    async fn merge_id(&self) -> Option<ID> {
        self.data("mergeId")
            .and_then(Value::as_str)
            .map(|s| ID(s.to_owned()))
    }

    /// NOTE_ADDED, NOTE_EDITED, NOTE_DELETED: the note (`ContactNote.id`; a deleted note's id
    /// no longer resolves).
    async fn note_id(&self) -> Option<ID> {
        self.data("noteId")
            .and_then(Value::as_str)
            .map(|s| ID(s.to_owned()))
    }

    /// Why a change was made by the system rather than asked for: `MEMBER_REMOVED` on the
    /// `owner` FIELD_CHANGED of a contact whose owner left the project; null otherwise.
    async fn reason(&self) -> Option<String> {
        self.data("reason")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// MERGED: the contacts absorbed; MERGED_INTO: the survivor; UNMERGED: the others.
    async fn contact_ids(&self) -> Vec<ID> {
        self.strings("contactIds").into_iter().map(ID).collect()
    }
}

/// An edge of [`ContactEventConnection`].
pub struct ContactEventEdge(lead_event::Model);

/// An event in a page, with its cursor.
#[Object]
impl ContactEventEdge {
    /// Opaque cursor of this event.
    async fn cursor(&self) -> String {
        cursor_of(&self.0).encode()
    }

    /// The event.
    async fn node(&self) -> ContactEvent {
        ContactEvent(self.0.clone())
    }
}

/// A page of a contact's timeline, newest first (Relay connection).
pub struct ContactEventConnection {
    page: Page<lead_event::Model>,
    after_given: bool,
}

impl ContactEventConnection {
    /// A connection over `page`, fetched after a cursor or not.
    pub fn new(page: Page<lead_event::Model>, after_given: bool) -> Self {
        Self { page, after_given }
    }
}

/// A page of a contact's timeline, newest first (Relay Cursor Connections spec).
#[Object]
impl ContactEventConnection {
    /// The events of the page with their cursors.
    async fn edges(&self) -> Vec<ContactEventEdge> {
        self.page
            .rows
            .iter()
            .cloned()
            .map(ContactEventEdge)
            .collect()
    }

    /// The events of the page.
    async fn nodes(&self) -> Vec<ContactEvent> {
        self.page.rows.iter().cloned().map(ContactEvent).collect()
    }

    /// Where the page sits in the timeline.
    async fn page_info(&self) -> PageInfo {
        let cursors: Vec<String> = self
            .page
            .rows
            .iter()
            .map(|r| cursor_of(r).encode())
            .collect();
        PageInfo::new(&cursors, self.page.has_next_page, self.after_given)
    }
}
