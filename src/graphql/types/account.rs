//! `User`, `Project`, `AuthPayload` and `Viewer`.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use entity::{project, user};
use sea_orm::DatabaseConnection;

use super::contact::Contact;
use super::enums::{Role, UserKind};
use crate::auth::{self, IssuedToken};
use crate::graphql::loaders::Loaders;
use crate::service::ProjectScope;
use crate::service::accounts::Session;
use crate::service::store::leads;

/// A user: an agent or a widget visitor.
pub struct UserObject(pub user::Model);

/// A user: an agent of the dashboard or a widget visitor.
#[Object(name = "User")]
impl UserObject {
    /// Primary key (a UUID v4); a visitor's contact is keyed by it (`Contact.leadId`).
    pub async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Agent or anonymous visitor.
    async fn kind(&self) -> UserKind {
        self.0.kind.into()
    }

    /// Display name.
    async fn fullname(&self) -> Option<&str> {
        self.0.fullname.as_deref()
    }

    /// Email as given.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
}

/// A project: the tenant every record belongs to.
pub struct ProjectObject(pub project::Model);

/// A project: the tenant every record belongs to.
#[Object(name = "Project")]
impl ProjectObject {
    /// Primary key (a UUID): what the widget passes to `signInAnonymously`.
    pub async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Whether a visitor capturing an email another contact has is merged into that contact
    /// automatically (see `updateProjectSettings`).
    async fn auto_merge_on_email(&self) -> bool {
        self.0.auto_merge_on_email
    }

    /// Whether contact attributes may use only defined (not archived) keys: any other key is
    /// refused with `BAD_USER_INPUT` on `attributes.<key>` (see `updateProjectSettings`,
    /// `defineContactAttribute`).
    async fn strict_attributes(&self) -> bool {
        self.0.strict_attributes
    }

    /// Whether a contact without a company that gets an email is linked to the company
    /// whose `domain` is the email's domain (never a free-mail provider's; see
    /// `updateProjectSettings`).
    async fn link_company_by_email_domain(&self) -> bool {
        self.0.link_company_by_email_domain
    }

    /// When the site secret for identified visitors was last rotated; null when never (the
    /// secret itself is shown only by `rotateProjectSecret`).
    async fn site_secret_rotated_at(&self) -> Option<DateTime<Utc>> {
        self.0.site_secret_rotated_at
    }
}

/// What a sign-in returns: a bearer token for `Authorization: Bearer <token>`, scoped to one
/// project.
pub struct AuthPayload {
    /// The session behind the token.
    pub session: Session,
    /// The token.
    pub token: IssuedToken,
}

/// What a sign-in returns: a bearer token scoped to one project, its expiry, the user and the project.
#[Object]
impl AuthPayload {
    /// A signed JWT (HS256). Send it as `Authorization: Bearer <token>`.
    async fn token(&self) -> &str {
        &self.token.token
    }

    /// When the token expires (UTC); sign in again after.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.token.expires_at
    }

    /// The signed-in user.
    async fn user(&self) -> UserObject {
        UserObject(self.session.user.clone())
    }

    /// The project the token is scoped to.
    async fn project(&self) -> ProjectObject {
        ProjectObject(self.session.project.clone())
    }

    /// The user's role in that project (GUEST for visitors).
    async fn role(&self) -> Role {
        self.session.role.into()
    }
}

/// The caller: who, with which role, in which project.
pub struct Viewer {
    /// The caller's session.
    pub session: Session,
}

/// The caller: who, with which role, in which project.
#[Object]
impl Viewer {
    /// The signed-in user.
    async fn user(&self) -> UserObject {
        UserObject(self.session.user.clone())
    }

    /// The user's role in the project.
    async fn role(&self) -> Role {
        self.session.role.into()
    }

    /// The project the token is scoped to.
    async fn project(&self) -> ProjectObject {
        ProjectObject(self.session.project.clone())
    }

    /// A visitor's own contact, with its requests; null before the first request or metadata
    /// capture, and for agents.
    async fn contact(&self, ctx: &Context<'_>) -> Result<Option<Contact>> {
        if self.session.role != auth::Role::Guest {
            return Ok(None);
        }
        let db = ctx.data::<DatabaseConnection>()?;
        let scope = ProjectScope::of_session(&self.session);
        let look = [ctx.look_ahead()];
        let plan = Loaders::plan(ctx, &look);
        Ok(
            match leads::find_for_visitor(db, scope, self.session.user.id, &plan.nested).await? {
                Some(found) => Some(Contact(Loaders::fed(ctx, plan, found).await?)),
                None => None,
            },
        )
    }
}
