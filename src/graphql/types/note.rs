//! `ContactNote`: an agent's note on a contact, and its Relay connection.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::contact_note;

use super::UserObject;
use super::connection::PageInfo;
use crate::error::AppError;
use crate::graphql::loaders::Loaders;
use crate::service::pagination::Page;
use crate::service::store::notes::cursor_of;

/// One note.
pub struct ContactNote(pub contact_note::Model);

/// An agent's note on a contact (internal: never visible to visitors). Moves with merges and
/// back with unmerges; deleted by erasure.
#[Object]
impl ContactNote {
    /// Primary key (a UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The contact it is on.
    async fn contact_id(&self) -> ID {
        ID(self.0.lead.to_string())
    }

    /// The text (multi-line, NFC, trimmed, 1..=10,000 characters).
    async fn body(&self) -> &str {
        &self.0.body
    }

    /// The author's user id; null for the note migrated from the old `Contact.note` field.
    async fn author_id(&self) -> Option<ID> {
        self.0.author_id.map(|id| ID(id.to_string()))
    }

    /// The author, while an agent of the project; null for the migrated note or an author
    /// who left the project (batched across a list: one statement).
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<UserObject>> {
        let Some(author) = self.0.author_id else {
            return Ok(None);
        };
        let loaders = Loaders::of(ctx)?;
        Ok(loaders
            .agents
            .load_one(author)
            .await
            .map_err(AppError::from)?
            .map(UserObject))
    }

    /// Creation time (UTC): the list's order, newest first.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Last edit time (UTC); equals `createdAt` until edited.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// An edge of [`ContactNoteConnection`].
pub struct ContactNoteEdge(contact_note::Model);

/// A note in a page, with its cursor.
#[Object]
impl ContactNoteEdge {
    /// Opaque cursor of this note.
    async fn cursor(&self) -> String {
        cursor_of(&self.0).encode()
    }

    /// The note.
    async fn node(&self) -> ContactNote {
        ContactNote(self.0.clone())
    }
}

/// A page of a contact's notes, newest first (Relay connection).
pub struct ContactNoteConnection {
    page: Page<contact_note::Model>,
    after_given: bool,
}

impl ContactNoteConnection {
    /// A connection over `page`, fetched after a cursor or not.
    pub fn new(page: Page<contact_note::Model>, after_given: bool) -> Self {
        Self { page, after_given }
    }
}

/// A page of a contact's notes, newest first (Relay Cursor Connections spec).
#[Object]
impl ContactNoteConnection {
    /// The notes of the page with their cursors.
    async fn edges(&self) -> Vec<ContactNoteEdge> {
        self.page
            .rows
            .iter()
            .cloned()
            .map(ContactNoteEdge)
            .collect()
    }

    /// The notes of the page.
    async fn nodes(&self) -> Vec<ContactNote> {
        self.page.rows.iter().cloned().map(ContactNote).collect()
    }

    /// Where the page sits in the list.
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
