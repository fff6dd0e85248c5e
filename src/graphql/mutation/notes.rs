//! Agents' notes on contacts: add, edit, delete. Any agent may add a note; its author or an
//! OWNER/ADMIN may edit or delete it.

use async_graphql::{Context, ID, Object, Result};

use crate::db::Writer;
use crate::graphql::guards;
use crate::graphql::inputs::{AddContactNoteInput, ContactNoteIdInput, UpdateContactNoteInput};
use crate::graphql::types::note::ContactNote;
use crate::normalize;
use crate::service::notes::{self, Agent};

/// Note mutations.
#[derive(Default)]
pub struct NoteMutation;

/// What `deleteContactNote` returns.
pub struct DeleteContactNotePayload {
    note: entity::contact_note::Model,
}

/// What `deleteContactNote` deleted.
#[Object]
impl DeleteContactNotePayload {
    /// The deleted note's id.
    async fn deleted_note_id(&self) -> ID {
        ID(self.note.id.to_string())
    }

    /// The contact it was on.
    async fn contact_id(&self) -> ID {
        ID(self.note.lead.to_string())
    }
}

fn agent_of(ctx: &Context<'_>) -> Result<(Agent, crate::service::ProjectScope)> {
    let (caller, scope) = guards::require_agent(ctx)?;
    Ok((
        Agent {
            user_id: caller.user_id,
            role: caller.role,
        },
        scope,
    ))
}

#[Object]
impl NoteMutation {
    /// Adds a note by the caller to a contact (newest first in `Contact.notes`; a
    /// `NOTE_ADDED` timeline event). Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor),
    /// `BAD_USER_INPUT` (`contactId`, `body` blank or over 10,000 characters), `NOT_FOUND`
    /// (contact), `CONFLICT` (erased or merged-away contact: `ALREADY_MERGED`).
    async fn add_contact_note(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: AddContactNoteInput,
    ) -> Result<ContactNote> {
        let (agent, scope) = agent_of(ctx)?;
        let contact = normalize::uuid("contactId", &input.contact_id)?;
        let db = &ctx.data::<Writer>()?.0;
        Ok(ContactNote(
            notes::add(db, scope, agent, contact, &input.body).await?,
        ))
    }

    /// Replaces a note's body (`updatedAt` moves; a `NOTE_EDITED` event). Its author, an
    /// OWNER or an ADMIN only. Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor; another
    /// agent's note for an AGENT), `BAD_USER_INPUT` (`id`, `body`), `NOT_FOUND`, `CONFLICT`
    /// (the contact was erased or merged away).
    async fn update_contact_note(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: UpdateContactNoteInput,
    ) -> Result<ContactNote> {
        let (agent, scope) = agent_of(ctx)?;
        let id = normalize::uuid("id", &input.id)?;
        let db = &ctx.data::<Writer>()?.0;
        Ok(ContactNote(
            notes::update(db, scope, agent, id, &input.body).await?,
        ))
    }

    /// Deletes a note (a `NOTE_DELETED` event). Its author, an OWNER or an ADMIN only.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor; another agent's note for an AGENT),
    /// `BAD_USER_INPUT` (`id`), `NOT_FOUND`, `CONFLICT` (the contact was erased or merged
    /// away).
    async fn delete_contact_note(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: ContactNoteIdInput,
    ) -> Result<DeleteContactNotePayload> {
        let (agent, scope) = agent_of(ctx)?;
        let id = normalize::uuid("id", &input.id)?;
        let db = &ctx.data::<Writer>()?.0;
        Ok(DeleteContactNotePayload {
            note: notes::delete(db, scope, agent, id).await?,
        })
    }
}
