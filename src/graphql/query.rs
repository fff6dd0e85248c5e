//! Root queries.

use async_graphql::{Context, ID, Object, Result};
use sea_orm::DatabaseConnection;

use super::guards;
use super::types::{Contact, ContactConnection, Viewer};
use crate::normalize;
use crate::service::accounts;
use crate::service::leads::{self, LeadFilter};
use crate::service::pagination::PageArgs;

/// The root query type.
#[derive(Default)]
pub struct Query;

#[Object]
impl Query {
    /// The caller (agent or visitor) with role and project; null without a token.
    /// A visitor reads its own contact and requests through `viewer.contact`.
    /// Errors: `UNAUTHENTICATED` for an expired, forged or malformed token, or one whose user
    /// or membership no longer exists.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Option<Viewer>> {
        let Some(caller) = guards::caller(ctx)? else {
            return Ok(None);
        };
        let db = ctx.data::<DatabaseConnection>()?;
        let session = accounts::find_session(db, guards::scope(caller), caller.user_id)
            .await?
            .ok_or(crate::error::AppError::Unauthenticated(
                "the token's user no longer exists",
            ))?;
        Ok(Some(Viewer { session }))
    }

    /// The agent's project's contacts, newest first (Relay connection, keyset cursors).
    /// `email` matches the normalised key exactly (trim, NFC, case-insensitive; `+` is an
    /// ordinary character). Lists hide TEMP and DELETED contacts.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor token), `BAD_USER_INPUT` (`first`
    /// outside 0..=100, bad `after`).
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Exact email match (case- and whitespace-insensitive).")] email: Option<
            String,
        >,
        #[graphql(desc = "Page size, 0..=100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor (`pageInfo.endCursor`) to continue after.")] after: Option<String>,
    ) -> Result<ContactConnection> {
        let (_, scope) = guards::require_agent(ctx)?;
        let page = PageArgs::new(first, after.as_deref())?;
        let filter = LeadFilter {
            email_key: email.as_deref().map(normalize::email_key),
        };
        let db = ctx.data::<DatabaseConnection>()?;
        let rows = leads::list(db, scope, &filter, page).await?;
        Ok(ContactConnection::new(
            rows,
            page.after.is_some(),
            scope,
            filter,
        ))
    }

    /// One contact of the agent's project by id; null when it does not exist or belongs to
    /// another project (the two cannot be told apart).
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor token), `BAD_USER_INPUT` (`id` not a
    /// UUID).
    async fn contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact's `id`.")] id: ID,
    ) -> Result<Option<Contact>> {
        let (_, scope) = guards::require_agent(ctx)?;
        let id = normalize::uuid("id", &id)?;
        let db = ctx.data::<DatabaseConnection>()?;
        Ok(leads::find_by_id(db, scope, id).await?.map(Contact))
    }
}
