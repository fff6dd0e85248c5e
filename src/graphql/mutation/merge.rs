//! Merging and unmerging contacts (agents), and project settings / site secret (OWNER or
//! ADMIN).

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db::Writer;
use crate::graphql::guards;
use crate::graphql::inputs::{
    MergeContactsInput, UnmergeContactsInput, UpdateProjectSettingsInput,
};
use crate::graphql::types::merge::{MergeContactsPayload, UnmergeContactsPayload};
use crate::graphql::types::{Contact, ProjectObject};
use crate::normalize;
use crate::service::identity::{self, SettingsPatch};
use crate::service::merge::{self, MergeOrigin};

/// What `rotateProjectSecret` returns.
#[derive(SimpleObject)]
pub struct ProjectSecretPayload {
    /// The new site secret (43 characters of base64url, 256 bits). Shown this once: store it
    /// in the integrating site's server configuration; the API never returns it again.
    pub secret: String,
    /// When it was made (UTC). Tokens signed with the previous secret stopped working then.
    pub rotated_at: DateTime<Utc>,
}

/// Merges, unmerges and project settings.
#[derive(Default)]
pub struct MergeMutation;

#[Object]
impl MergeMutation {
    /// Merges `secondaryIds` into `primaryId` in one transaction: their requests move to the
    /// primary; the primary's non-empty fields win unless `fieldChoices` says otherwise and
    /// its empty ones are filled from the secondaries in order; attributes merge key by key
    /// (primary first); tags are unioned; differing emails go to `additionalEmails`; the
    /// secondaries become tombstones whose ids resolve to the primary (`contact(id:)`,
    /// visitors' new requests). Journaled: undo with `unmergeContacts(input: {mergeId})`.
    /// Nothing is written on any error. See `mergeContactsPreview` for a dry run.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor), `BAD_USER_INPUT` (ids; blockers
    /// SELF_MERGE, DUPLICATE_ID, INVALID_FIELD_CHOICE, TOO_LARGE), `NOT_FOUND` (blocker
    /// NOT_FOUND: unknown or another project's contact), `CONFLICT` (blockers DELETED, ERASED,
    /// ALREADY_MERGED, IDENTIFIED_CONFLICT; a stale `expectedVersions` entry). Blockers carry
    /// their reason in `extensions.reason`.
    async fn merge_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: MergeContactsInput,
    ) -> Result<MergeContactsPayload> {
        let (caller, scope) = guards::require_agent(ctx)?;
        let input = input.to_service()?;
        let db = &ctx.data::<Writer>()?.0;
        let (survivor, merge_id) = merge::merge(
            db,
            scope,
            &input,
            MergeOrigin {
                kind: entity::lead_merge::MergeKind::Manual,
                actor: Some(caller.user_id),
            },
        )
        .await?;
        let mut merged: Vec<ID> = Vec::new();
        for id in &input.secondary_ids {
            let id = ID(id.to_string());
            if !merged.contains(&id) {
                merged.push(id);
            }
        }
        Ok(MergeContactsPayload {
            contact: Contact(survivor),
            merge_id: ID(merge_id.to_string()),
            merged_contact_ids: merged,
        })
    }

    /// Undoes a merge (manual, automatic or by identification): the primary and the
    /// merged-away contacts get back exactly what they had (fields, tags, attributes,
    /// status, version), their requests move back (with requests their visitors opened on
    /// the survivor since). Only while the contacts have not changed since the merge.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor), `BAD_USER_INPUT` (`mergeId`),
    /// `NOT_FOUND` (no such merge in the project), `CONFLICT` (already undone; a contact
    /// changed since, named in the message; made permanent by an erasure).
    async fn unmerge_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: UnmergeContactsInput,
    ) -> Result<UnmergeContactsPayload> {
        let (caller, scope) = guards::require_agent(ctx)?;
        let merge_id = normalize::uuid("mergeId", &input.merge_id)?;
        let db = &ctx.data::<Writer>()?.0;
        let (primary, restored) = merge::unmerge(db, scope, merge_id, Some(caller.user_id)).await?;
        Ok(UnmergeContactsPayload {
            contact: Contact(primary),
            restored_contacts: restored.into_iter().map(Contact).collect(),
        })
    }

    /// Changes project settings (absent fields are left alone); returns the project.
    /// OWNER or ADMIN. Errors: `UNAUTHENTICATED`, `FORBIDDEN` (AGENT or visitor).
    async fn update_project_settings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")]
        input: UpdateProjectSettingsInput,
    ) -> Result<ProjectObject> {
        let (_, scope) = guards::require_admin(ctx)?;
        let db = &ctx.data::<Writer>()?.0;
        let project = identity::update_settings(
            db,
            scope,
            SettingsPatch {
                auto_merge_on_email: input.auto_merge_on_email,
                strict_attributes: input.strict_attributes,
                link_company_by_email_domain: input.link_company_by_email_domain,
            },
        )
        .await?;
        Ok(ProjectObject(project))
    }

    /// Makes a new site secret for identified visitors (`signInWithCustomToken`,
    /// `identifyVisitor`), replacing the old one at once; returns it this once. OWNER or
    /// ADMIN. Errors: `UNAUTHENTICATED`, `FORBIDDEN` (AGENT or visitor).
    async fn rotate_project_secret(&self, ctx: &Context<'_>) -> Result<ProjectSecretPayload> {
        let (_, scope) = guards::require_admin(ctx)?;
        let db = &ctx.data::<Writer>()?.0;
        let (secret, rotated_at) = identity::rotate_site_secret(db, scope).await?;
        Ok(ProjectSecretPayload { secret, rotated_at })
    }
}
