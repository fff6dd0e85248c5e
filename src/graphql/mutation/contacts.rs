//! Agents' contact management mutations. Every one needs an agent token (OWNER, ADMIN or
//! AGENT; `eraseContact` OWNER or ADMIN) and touches only the agent's project: another
//! project's id is `NOT_FOUND`, exactly like an unknown one. Each returns the changed contact.

use async_graphql::{Context, Json, Object, Result};
use serde_json::Value;

use crate::db::Writer;
use crate::graphql::guards;
use crate::graphql::inputs::{
    ContactIdInput, ContactTagsInput, CreateContactInput, SetContactAttributesInput,
    UpdateContactInput,
};
use crate::graphql::types::Contact;
use crate::normalize;
use crate::service::contacts::{self, NewContact};

/// Contact management by agents.
#[derive(Default)]
pub struct ContactMutation;

#[Object]
impl ContactMutation {
    /// Creates a contact by hand. `leadId` defaults to a new UUID. The company: `company`
    /// (a name: the project's company of that name, case-insensitive, created when there is
    /// none) or `companyId`; with neither, the project's email-domain rule may link one.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN`, `BAD_USER_INPUT` (any field; `companyId`
    /// unknown, another project's, or given with `company`), `CONFLICT` with
    /// `extensions.existingId` when the project has a contact with this `leadId`.
    async fn create_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: CreateContactInput,
    ) -> Result<Contact> {
        let (caller, scope) = guards::require_agent(ctx)?;
        let db = &ctx.data::<Writer>()?.0;
        let fields = input.fields();
        let company_id = input.company_id()?;
        let model = contacts::create(
            db,
            scope,
            Some(caller.user_id),
            NewContact {
                fields,
                tags: input.tags.unwrap_or_default(),
                attributes: input.attributes.map(|j| j.0),
                lead_id: input.lead_id,
                company_id,
            },
        )
        .await?;
        Ok(Contact(model))
    }

    /// Partial update with optimistic concurrency: an absent field is left alone, an
    /// explicit `null` (or blank) clears it; `expectedVersion` must equal the stored
    /// `version` (which then increases by one). `company` (a name, found or created) or
    /// `companyId` links the contact; `null` unlinks.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN`, `BAD_USER_INPUT` (`id`, any field;
    /// `companyId` unknown, another project's, or given with `company`),
    /// `NOT_FOUND` (never creates), `CONFLICT` (stale `expectedVersion`, or an erased
    /// contact; nothing written).
    async fn update_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: UpdateContactInput,
    ) -> Result<Contact> {
        let (caller, scope) = guards::require_agent(ctx)?;
        let id = normalize::uuid("id", &input.id)?;
        let db = &ctx.data::<Writer>()?.0;
        let fields = input.fields();
        let company_id = input.company_id()?;
        Ok(Contact(
            contacts::update(
                db,
                scope,
                Some(caller.user_id),
                (id, input.expected_version),
                fields,
                company_id,
            )
            .await?,
        ))
    }

    /// Merges `attributes` into the contact's custom attributes by top-level key, then
    /// removes `removeKeys`. Errors: `UNAUTHENTICATED`, `FORBIDDEN`, `BAD_USER_INPUT`
    /// (`id`, `attributes`, `removeKeys`), `NOT_FOUND`, `CONFLICT` (erased).
    async fn set_contact_attributes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: SetContactAttributesInput,
    ) -> Result<Contact> {
        let (caller, scope) = guards::require_agent(ctx)?;
        let id = normalize::uuid("id", &input.id)?;
        let db = &ctx.data::<Writer>()?.0;
        let attributes: Option<Value> = input.attributes.map(|Json(v)| v);
        Ok(Contact(
            contacts::set_attributes(
                db,
                scope,
                Some(caller.user_id),
                id,
                attributes,
                input.remove_keys,
            )
            .await?,
        ))
    }

    /// Adds tags (a set: trimmed, case preserved, de-duplicated case-insensitively).
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN`, `BAD_USER_INPUT` (`id`, `tags` empty or too
    /// long, more than 100 tags), `NOT_FOUND`, `CONFLICT` (erased).
    async fn add_contact_tags(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: ContactTagsInput,
    ) -> Result<Contact> {
        let (caller, scope) = guards::require_agent(ctx)?;
        let id = normalize::uuid("id", &input.id)?;
        let db = &ctx.data::<Writer>()?.0;
        Ok(Contact(
            contacts::add_tags(db, scope, Some(caller.user_id), id, &input.tags).await?,
        ))
    }

    /// Removes tags (compared case-insensitively; absent tags are ignored).
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN`, `BAD_USER_INPUT` (`id`, `tags`), `NOT_FOUND`,
    /// `CONFLICT` (erased).
    async fn remove_contact_tags(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: ContactTagsInput,
    ) -> Result<Contact> {
        let (caller, scope) = guards::require_agent(ctx)?;
        let id = normalize::uuid("id", &input.id)?;
        let db = &ctx.data::<Writer>()?.0;
        Ok(Contact(
            contacts::remove_tags(db, scope, Some(caller.user_id), id, &input.tags).await?,
        ))
    }

    /// Soft-deletes a contact (status DELETED: hidden from `contacts` unless asked for with
    /// `status`; still readable with `contact(id:)`). Undo with `restoreContact`.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN`, `BAD_USER_INPUT` (`id`), `NOT_FOUND`,
    /// `CONFLICT` (erased).
    async fn delete_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: ContactIdInput,
    ) -> Result<Contact> {
        let (caller, scope) = guards::require_agent(ctx)?;
        let id = normalize::uuid("id", &input.id)?;
        let db = &ctx.data::<Writer>()?.0;
        Ok(Contact(
            contacts::delete(db, scope, Some(caller.user_id), id).await?,
        ))
    }

    /// Restores a soft-deleted contact (status NORMAL).
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN`, `BAD_USER_INPUT` (`id`), `NOT_FOUND`,
    /// `CONFLICT` (erased contacts cannot be restored).
    async fn restore_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: ContactIdInput,
    ) -> Result<Contact> {
        let (caller, scope) = guards::require_agent(ctx)?;
        let id = normalize::uuid("id", &input.id)?;
        let db = &ctx.data::<Writer>()?.0;
        Ok(Contact(
            contacts::restore(db, scope, Some(caller.user_id), id).await?,
        ))
    }

    /// GDPR erasure (right to erasure, GDPR Art. 17). **Irreversible.** Removes the
    /// contact's personal data and every copy of it: name, email, phone, company link, note,
    /// address, tags and attributes of the contact (the company itself stays); the first text and attributes of its
    /// requests; name, email and attributes of the visitor users behind it. What remains is
    /// a tombstone (status DELETED, `erasedAt` set, `leadId` = `erased:<id>`) so that counts
    /// and references stay valid. OWNER or ADMIN only. Idempotent.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (AGENT or visitor), `BAD_USER_INPUT` (`id`),
    /// `NOT_FOUND`.
    async fn erase_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: ContactIdInput,
    ) -> Result<Contact> {
        let (caller, scope) = guards::require_admin(ctx)?;
        let id = normalize::uuid("id", &input.id)?;
        let db = &ctx.data::<Writer>()?.0;
        Ok(Contact(
            contacts::erase(db, scope, Some(caller.user_id), id).await?,
        ))
    }
}
