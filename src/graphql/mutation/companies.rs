//! Agents' company mutations: create and update (OWNER, ADMIN or AGENT), delete (OWNER or
//! ADMIN: irreversible, and it changes every linked contact). Another project's id is
//! `NOT_FOUND`, exactly like an unknown one.

use async_graphql::{Context, ID, Object, Result};

use crate::db::Writer;
use crate::graphql::guards;
use crate::graphql::inputs::{CreateCompanyInput, DeleteCompanyInput, UpdateCompanyInput, patch};
use crate::graphql::types::{CompanyObject, DeleteCompanyPayload};
use crate::normalize;
use crate::service::companies::{self, CompanyPatch, NewCompany};
use crate::service::fields::Patch;

/// Company management by agents.
#[derive(Default)]
pub struct CompanyMutation;

#[Object]
impl CompanyMutation {
    /// Creates a company. Agents (OWNER, ADMIN, AGENT).
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor), `BAD_USER_INPUT` (`name` blank or
    /// over 200 characters, `domain` not a domain name, `attributes`), `CONFLICT` with
    /// `extensions.existingId` when another company of the project has the domain.
    async fn create_company(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: CreateCompanyInput,
    ) -> Result<CompanyObject> {
        let (_, scope) = guards::require_agent(ctx)?;
        let db = &ctx.data::<Writer>()?.0;
        let model = companies::create(
            db,
            scope,
            NewCompany {
                name: input.name,
                domain: input.domain,
                attributes: input.attributes.map(|j| j.0),
            },
        )
        .await?;
        Ok(CompanyObject::new(model))
    }

    /// Partial update with optimistic concurrency: an absent field is left alone, `null`
    /// clears `domain` or `attributes`; `expectedVersion` must equal the stored `version`
    /// (which then increases by one). A new name shows at once on every linked contact's
    /// `company` (and in their full-text search) without changing the contacts' versions.
    /// Agents (OWNER, ADMIN, AGENT).
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor), `BAD_USER_INPUT` (`id`, `name`
    /// blank, null or over 200 characters, `domain`, `attributes`), `NOT_FOUND` (unknown or
    /// another project's), `CONFLICT` (stale `expectedVersion`; another company has the
    /// domain, with `extensions.existingId`). Nothing is written on any error.
    async fn update_company(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: UpdateCompanyInput,
    ) -> Result<CompanyObject> {
        let (_, scope) = guards::require_agent(ctx)?;
        let id = normalize::uuid("id", &input.id)?;
        let db = &ctx.data::<Writer>()?.0;
        let attributes = match patch(&input.attributes) {
            Patch::Keep => Patch::Keep,
            Patch::Clear => Patch::Clear,
            Patch::Set(json) => Patch::Set(json.0),
        };
        let model = companies::update(
            db,
            scope,
            id,
            input.expected_version,
            CompanyPatch {
                name: patch(&input.name),
                domain: patch(&input.domain),
                attributes,
            },
        )
        .await?;
        Ok(CompanyObject::new(model))
    }

    /// Deletes a company. Its contacts are unlinked, not deleted: each gets a new version and
    /// a `FIELD_CHANGED` timeline event of `company`, in the same transaction. Irreversible.
    /// OWNER or ADMIN.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (AGENT or visitor), `BAD_USER_INPUT` (`id`),
    /// `NOT_FOUND` (unknown or another project's).
    async fn delete_company(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: DeleteCompanyInput,
    ) -> Result<DeleteCompanyPayload> {
        let (caller, scope) = guards::require_admin(ctx)?;
        let id = normalize::uuid("id", &input.id)?;
        let db = &ctx.data::<Writer>()?.0;
        let deleted = companies::delete(db, scope, Some(caller.user_id), id).await?;
        Ok(DeleteCompanyPayload {
            deleted_company_id: ID(deleted.id.to_string()),
            unlinked_contacts: deleted.unlinked_contacts,
        })
    }
}
