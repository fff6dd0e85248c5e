//! The project's team: add an existing agent account, remove a member (OWNER or ADMIN).

use async_graphql::{Context, Object, Result};

use crate::auth;
use crate::db::Writer;
use crate::graphql::guards;
use crate::graphql::inputs::{AddProjectMemberInput, RemoveProjectMemberInput};
use crate::graphql::types::member::{ProjectMember, RemoveProjectMemberPayload};
use crate::normalize;
use crate::service::members;

/// Team management.
#[derive(Default)]
pub struct TeamMutation;

#[Object]
impl TeamMutation {
    /// Adds an agent who already has an account (signed up) to the caller's project with
    /// `role` (default AGENT). OWNER or ADMIN only; only an OWNER may add an OWNER.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (AGENT, visitor; an ADMIN giving OWNER),
    /// `BAD_USER_INPUT` (`email`, `role` GUEST), `NOT_FOUND` (no agent account with this
    /// email), `CONFLICT` (already a member).
    async fn add_project_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: AddProjectMemberInput,
    ) -> Result<ProjectMember> {
        let (caller, scope) = guards::require_admin(ctx)?;
        let db = &ctx.data::<Writer>()?.0;
        let role = input.role.map_or(auth::Role::Agent, auth::Role::from);
        Ok(ProjectMember(
            members::add(db, scope, caller.role, &input.email, role).await?,
        ))
    }

    /// Removes an agent from the caller's project. Its contacts become unassigned in the same
    /// transaction, each with a timeline event (`FIELD_CHANGED` `owner`, `reason`
    /// `MEMBER_REMOVED`); its notes stay (with `authorId`, `author` null). OWNER or ADMIN
    /// only; only an OWNER may remove an OWNER; the last OWNER cannot be removed.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (AGENT, visitor; an ADMIN removing an OWNER),
    /// `BAD_USER_INPUT` (`userId`), `NOT_FOUND` (not an agent of the project), `CONFLICT` (the
    /// last OWNER).
    async fn remove_project_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: RemoveProjectMemberInput,
    ) -> Result<RemoveProjectMemberPayload> {
        let (caller, scope) = guards::require_admin(ctx)?;
        let user_id = normalize::uuid("userId", &input.user_id)?;
        let db = &ctx.data::<Writer>()?.0;
        let removed = members::remove(db, scope, (caller.user_id, caller.role), user_id).await?;
        Ok(RemoveProjectMemberPayload {
            user_id: removed.user_id,
            unassigned_contacts: removed.unassigned_contacts,
        })
    }
}
