//! Who may call what. The caller comes from the `Authorization` header ([`AuthState`], put in
//! the request's data by the HTTP handler).

use async_graphql::Context;

use crate::auth::{AuthState, Caller, Role};
use crate::error::{AppError, AppResult};
use crate::service::ProjectScope;

/// The caller, if any. Errors: `UNAUTHENTICATED` when a token was sent but is expired,
/// forged or malformed (a bad token is never silently treated as no token).
pub fn caller(ctx: &Context<'_>) -> AppResult<Option<Caller>> {
    match ctx.data_opt::<AuthState>() {
        None | Some(AuthState::Anonymous) => Ok(None),
        Some(AuthState::Invalid) => Err(AppError::Unauthenticated("invalid or expired token")),
        Some(AuthState::Authenticated(caller)) => Ok(Some(*caller)),
    }
}

/// The caller, who must be an agent (OWNER, ADMIN or AGENT) of its project.
/// Errors: `UNAUTHENTICATED` (no or bad token), `FORBIDDEN` (a visitor's token).
pub fn require_agent(ctx: &Context<'_>) -> AppResult<(Caller, ProjectScope)> {
    let caller = caller(ctx)?.ok_or(AppError::Unauthenticated("an agent token is required"))?;
    if !caller.role.is_agent() {
        return Err(AppError::Forbidden("agents only"));
    }
    Ok((caller, scope(caller)))
}

/// The caller, who must be a visitor (GUEST).
/// Errors: `UNAUTHENTICATED` (no or bad token), `FORBIDDEN` (an agent's token).
pub fn require_visitor(ctx: &Context<'_>) -> AppResult<(Caller, ProjectScope)> {
    let caller = caller(ctx)?.ok_or(AppError::Unauthenticated("a visitor token is required"))?;
    if caller.role != Role::Guest {
        return Err(AppError::Forbidden("visitors only"));
    }
    Ok((caller, scope(caller)))
}

/// The tenant scope of a caller.
pub fn scope(caller: Caller) -> ProjectScope {
    ProjectScope::of_caller(&caller)
}

/// The caller, who must be an OWNER or ADMIN of its project.
/// Errors: `UNAUTHENTICATED` (no or bad token), `FORBIDDEN` (AGENT or visitor).
pub fn require_admin(ctx: &Context<'_>) -> AppResult<(Caller, ProjectScope)> {
    let (caller, scope) = require_agent(ctx)?;
    if !matches!(caller.role, Role::Owner | Role::Admin) {
        return Err(AppError::Forbidden("owners and admins only"));
    }
    Ok((caller, scope))
}
