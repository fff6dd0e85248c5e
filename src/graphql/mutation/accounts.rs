//! Sign-up and sign-in mutations.

use async_graphql::{Context, Object, Result};
use sea_orm::DatabaseConnection;

use std::sync::Arc;

use crate::auth::Caller;
use crate::db::Writer;
use crate::graphql::inputs::{
    SignInAnonymouslyInput, SignInInput, SignInWithCustomTokenInput, SignUpInput,
};
use crate::graphql::schema::TokenIssuer;
use crate::graphql::types::AuthPayload;
use crate::normalize;
use crate::ratelimit::{ClientIp, RateLimits};
use crate::service::accounts::{self, AnonymousSignIn, Session, SignUp};
use crate::service::identity;

/// Mutations that create sessions.
#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates an agent, a new project, and makes the agent its OWNER; returns an agent
    /// token. The password is stored only as an Argon2id hash.
    /// Errors: `BAD_USER_INPUT` (`email`, `password` shorter than 8, `fullname`,
    /// `projectName`), `CONFLICT` (an agent with this email exists).
    async fn sign_up(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: SignUpInput,
    ) -> Result<AuthPayload> {
        let db = &ctx.data::<Writer>()?.0;
        let session = accounts::sign_up(
            db,
            SignUp {
                email: input.email,
                password: input.password,
                fullname: input.fullname,
                project_name: input.project_name,
            },
        )
        .await?;
        issue(ctx, session)
    }

    /// Signs an agent in, scoped to `projectId` (optional when the agent has one project).
    /// Attempts are rate-limited per email (`RATE_LIMITED` with `extensions.retryAfter`).
    /// Errors: `UNAUTHENTICATED` (wrong email or password; the two are indistinguishable),
    /// `FORBIDDEN` (not a member of `projectId`), `BAD_USER_INPUT` (`projectId` missing for
    /// an agent of several projects, or not a UUID).
    async fn sign_in(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: SignInInput,
    ) -> Result<AuthPayload> {
        // Read-only: the reader pool (a sign-in writes nothing).
        let db = ctx.data::<DatabaseConnection>()?;
        ctx.data::<Arc<RateLimits>>()?
            .sign_in(&normalize::lookup_key("email", &input.email)?)
            .await?;
        let project_id = input
            .project_id
            .as_deref()
            .map(|id| normalize::uuid("projectId", id))
            .transpose()?;
        let session = accounts::sign_in(db, &input.email, &input.password, project_id).await?;
        issue(ctx, session)
    }

    /// Signs a widget visitor in anonymously: a new user (random UUID v4) with a GUEST
    /// membership of `projectId`. No contact is created until the first request or metadata
    /// capture. Rate-limited per client IP. Errors: `RATE_LIMITED`, `NOT_FOUND` (unknown project), `BAD_USER_INPUT` (`projectId`,
    /// `firstname`, `lastname`, `email`, `attributes`).
    async fn sign_in_anonymously(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: SignInAnonymouslyInput,
    ) -> Result<AuthPayload> {
        let db = &ctx.data::<Writer>()?.0;
        if let Some(ClientIp(ip)) = ctx.data_opt::<ClientIp>() {
            ctx.data::<Arc<RateLimits>>()?
                .anonymous_sign_in(*ip)
                .await?;
        }
        let project_id = normalize::uuid("projectId", &input.project_id)?;
        let session = accounts::sign_in_anonymously(
            db,
            project_id,
            AnonymousSignIn {
                firstname: input.firstname,
                lastname: input.lastname,
                email: input.email,
                attributes: input.attributes.map(|j| j.0),
            },
        )
        .await?;
        issue(ctx, session)
    }

    /// Signs an identified visitor in with the integrating site's token (HS256 with the
    /// project's site secret, see `rotateProjectSecret`; claims `external_id` required,
    /// `email` and `fullname` optional, `exp` required). The same `external_id` is the same
    /// user on every browser, hence one contact. Rate-limited per client IP like
    /// `signInAnonymously`. Errors: `RATE_LIMITED`, `NOT_FOUND` (unknown project),
    /// `BAD_USER_INPUT` (`projectId`), `UNAUTHENTICATED` (no site secret yet; the token is
    /// invalid, expired, signed with another secret or algorithm, or lacks `external_id`).
    async fn sign_in_with_custom_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")]
        input: SignInWithCustomTokenInput,
    ) -> Result<AuthPayload> {
        let db = &ctx.data::<Writer>()?.0;
        if let Some(ClientIp(ip)) = ctx.data_opt::<ClientIp>() {
            ctx.data::<Arc<RateLimits>>()?
                .anonymous_sign_in(*ip)
                .await?;
        }
        let project_id = normalize::uuid("projectId", &input.project_id)?;
        let session = identity::sign_in_with_site_token(db, project_id, &input.token).await?;
        issue(ctx, session)
    }
}

/// Signs a session's user in: a token for it.
pub(crate) fn issue(ctx: &Context<'_>, session: Session) -> Result<AuthPayload> {
    let issuer = ctx.data::<TokenIssuer>()?;
    let caller = Caller {
        user_id: session.user.id,
        project_id: session.project.id,
        role: session.role,
    };
    let token = issuer.issue(caller)?;
    Ok(AuthPayload { session, token })
}
