//! Custom attribute definitions (OWNER or ADMIN): define, rename / change a list's options,
//! archive, restore. Each returns the definition.

use async_graphql::{Context, Object, Result};

use crate::db::Writer;
use crate::graphql::guards;
use crate::graphql::inputs::{
    ContactAttributeIdInput, DefineContactAttributeInput, UpdateContactAttributeInput,
};
use crate::graphql::types::attribute::ContactAttributeDefinition;
use crate::normalize;
use crate::service::attributes::{self, DefinitionPatch, NewDefinition};

/// Custom attribute definitions.
#[derive(Default)]
pub struct AttributeMutation;

#[Object]
impl AttributeMutation {
    /// Defines a key of the project's contact attributes: its label, the type of its values
    /// and, for a LIST, the options. Values written from then on (capture, `createContact`,
    /// `setContactAttributes`, CSV import) must fit it; values stored before stay. At most
    /// 200 definitions per project (archived ones count). OWNER or ADMIN.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (AGENT or visitor), `BAD_USER_INPUT` (`key`,
    /// `label`, `options`: a LIST without options, options for another type; `key` past
    /// 200 definitions), `CONFLICT` with `extensions.existingId` when the key is defined
    /// already (archived or not).
    async fn define_contact_attribute(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")]
        input: DefineContactAttributeInput,
    ) -> Result<ContactAttributeDefinition> {
        let (_, scope) = guards::require_admin(ctx)?;
        let db = &ctx.data::<Writer>()?.0;
        let row = attributes::define(
            db,
            scope,
            NewDefinition {
                key: input.key,
                label: input.label,
                value_type: input.value_type.into(),
                options: input.options,
            },
        )
        .await?;
        Ok(ContactAttributeDefinition(row))
    }

    /// Renames a definition (`label`) and/or replaces a LIST's options (values already stored
    /// stay, even when their option is removed). The key and the type cannot change. OWNER or
    /// ADMIN. Errors: `UNAUTHENTICATED`, `FORBIDDEN`, `BAD_USER_INPUT` (`id`, `label`,
    /// `options`), `NOT_FOUND` (unknown id, or another project's).
    async fn update_contact_attribute(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")]
        input: UpdateContactAttributeInput,
    ) -> Result<ContactAttributeDefinition> {
        let (_, scope) = guards::require_admin(ctx)?;
        let id = normalize::uuid("id", &input.id)?;
        let db = &ctx.data::<Writer>()?.0;
        let patch = DefinitionPatch {
            label: input.label,
            options: input.options,
        };
        Ok(ContactAttributeDefinition(
            attributes::update(db, scope, id, patch).await?,
        ))
    }

    /// Archives a definition: it no longer checks values (its key is then like an undefined
    /// one: refused in strict mode) and is listed only with `includeArchived`; stored values
    /// stay. Idempotent. OWNER or ADMIN. Errors: `UNAUTHENTICATED`, `FORBIDDEN`,
    /// `BAD_USER_INPUT` (`id`), `NOT_FOUND`.
    async fn archive_contact_attribute(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: ContactAttributeIdInput,
    ) -> Result<ContactAttributeDefinition> {
        set_archived(ctx, input, true).await
    }

    /// Restores an archived definition (it checks values again). Idempotent. OWNER or ADMIN.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN`, `BAD_USER_INPUT` (`id`), `NOT_FOUND`.
    async fn restore_contact_attribute(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: ContactAttributeIdInput,
    ) -> Result<ContactAttributeDefinition> {
        set_archived(ctx, input, false).await
    }
}

async fn set_archived(
    ctx: &Context<'_>,
    input: ContactAttributeIdInput,
    archived: bool,
) -> Result<ContactAttributeDefinition> {
    let (_, scope) = guards::require_admin(ctx)?;
    let id = normalize::uuid("id", &input.id)?;
    let db = &ctx.data::<Writer>()?.0;
    Ok(ContactAttributeDefinition(
        attributes::set_archived(db, scope, id, archived).await?,
    ))
}
