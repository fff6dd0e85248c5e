//! The project's team (use cases): list the agents, add an existing agent account to the
//! project, remove a member. Contacts owned by a removed member become unassigned in the same
//! transaction, each with a timeline event saying so.

use entity::user;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::store::changes;
use super::store::members::{self, Member};
use super::{Database, ProjectScope, begin_write, now};
use crate::auth::Role;
use crate::error::{AppError, AppResult};
use crate::normalize;

/// The agents (OWNER, ADMIN, AGENT) of `scope`, in the order they joined.
pub async fn list(db: &impl Database, scope: ProjectScope) -> AppResult<Vec<Member>> {
    members::list(db, scope).await
}

/// Adds the agent account with sign-in email `email` to `scope` with `role`, by an OWNER or
/// ADMIN (`actor_role`). Only an OWNER may add an OWNER; visitors' GUEST role cannot be given.
/// Returns the new member. Errors: `BAD_USER_INPUT` (`email` invalid; `role` GUEST),
/// `FORBIDDEN` (an ADMIN giving OWNER), `NOT_FOUND` (no agent account has this email: it must
/// sign up first), `CONFLICT` (already a member).
pub async fn add(
    db: &impl Database,
    scope: ProjectScope,
    actor_role: Role,
    email: &str,
    role: Role,
) -> AppResult<Member> {
    let email = normalize::email("email", Some(email))?
        .ok_or_else(|| AppError::bad_input("email", "is required"))?;
    if !role.is_agent() {
        return Err(AppError::bad_input("role", "must be OWNER, ADMIN or AGENT"));
    }
    if role == Role::Owner && actor_role != Role::Owner {
        return Err(AppError::Forbidden("only an OWNER may add an OWNER"));
    }
    let txn = begin_write(db).await?;
    let account = user::Entity::find()
        .filter(user::Column::LoginEmail.eq(&email.key))
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("agent"))?;
    if members::agent_role(&txn, scope, account.id, false)
        .await?
        .is_some()
    {
        return Err(AppError::Conflict(
            "the agent is already a member of the project".into(),
        ));
    }
    let at = now();
    members::insert(&txn, scope, account.id, role, at).await?;
    txn.commit().await?;
    Ok(Member {
        user: account,
        role,
        joined_at: at,
    })
}

/// What [`remove`] did.
#[derive(Clone, Debug)]
pub struct Removed {
    /// The removed member's user id.
    pub user_id: Uuid,
    /// How many contacts it owned and now are unassigned.
    pub unassigned_contacts: u64,
}

/// Removes the agent `user_id` from `scope`, by `actor` (an OWNER or ADMIN; an ADMIN cannot
/// remove an OWNER; the last OWNER cannot be removed). In one transaction the membership ends
/// and every contact it owned becomes unassigned, each with a `FIELD_CHANGED` `owner` event
/// (`reason` `MEMBER_REMOVED`). The agent's account stays (it may belong to other projects);
/// tokens it already holds for this project are refused by `viewer` and expire with their
/// `exp`. Errors: `NOT_FOUND` (not an agent of the project), `FORBIDDEN` (an ADMIN removing an
/// OWNER), `CONFLICT` (the last OWNER).
pub async fn remove(
    db: &impl Database,
    scope: ProjectScope,
    actor: (Uuid, Role),
    user_id: Uuid,
) -> AppResult<Removed> {
    let txn = begin_write(db).await?;
    let role = members::agent_role(&txn, scope, user_id, true)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    if role == Role::Owner {
        if actor.1 != Role::Owner {
            return Err(AppError::Forbidden("only an OWNER may remove an OWNER"));
        }
        if members::owner_count(&txn, scope).await? <= 1 {
            return Err(AppError::Conflict(
                "the project's last OWNER cannot be removed".into(),
            ));
        }
    }
    members::delete(&txn, scope, user_id).await?;
    let unassigned_contacts = changes::unassign_owner(&txn, scope, Some(actor.0), user_id).await?;
    txn.commit().await?;
    Ok(Removed {
        user_id,
        unassigned_contacts,
    })
}
