//! `ProjectMember`: an agent of the project (the team that owns contacts and writes notes).

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};

use super::UserObject;
use super::enums::Role;
use crate::service::store::members::Member;

/// One agent of the project.
pub struct ProjectMember(pub Member);

/// An agent of the project (OWNER, ADMIN or AGENT): a possible contact owner.
#[Object]
impl ProjectMember {
    /// The agent's user.
    async fn user(&self) -> UserObject {
        UserObject(self.0.user.clone())
    }

    /// Its role in the project.
    async fn role(&self) -> Role {
        self.0.role.into()
    }

    /// When it joined the project (UTC).
    async fn joined_at(&self) -> DateTime<Utc> {
        self.0.joined_at
    }
}

/// What `removeProjectMember` returns.
pub struct RemoveProjectMemberPayload {
    /// The removed agent's user id.
    pub user_id: uuid::Uuid,
    /// How many contacts it owned (now unassigned).
    pub unassigned_contacts: u64,
}

/// What `removeProjectMember` did.
#[Object]
impl RemoveProjectMemberPayload {
    /// The removed agent's user id.
    async fn removed_user_id(&self) -> ID {
        ID(self.user_id.to_string())
    }

    /// How many contacts it owned: each is now unassigned, with a timeline event
    /// (`FIELD_CHANGED` `owner`, `reason` `MEMBER_REMOVED`).
    async fn unassigned_contacts(&self) -> u64 {
        self.unassigned_contacts
    }
}
