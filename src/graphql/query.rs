//! Root queries.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use super::company_loaders::{CompanyPlan, prime_company_list};
use super::guards;
use super::inputs::{AttributeFilter, ContactFilter, ContactOrder, MergeContactsPreviewInput};
use super::loaders::Loaders;
use super::types::enums::ContactStatus;
use super::types::merge::{DuplicateGroupConnection, MergeContactsPreview};
use super::types::{
    CompanyConnection, CompanyObject, Contact, ContactConnection, Node, ProjectObject, Request,
    UserObject, Viewer,
};
use crate::error::AppError;
use crate::normalize;
use crate::service::contact_search::{self, PageRequest};
use crate::service::store::leads;
use crate::service::{accounts, company_search, duplicates, merge, nodes};

/// The root query type.
#[derive(Default)]
pub struct Query;

/// The root query type.
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
            .ok_or(AppError::Unauthenticated(
                "the token's user no longer exists",
            ))?;
        Ok(Some(Viewer { session }))
    }

    /// The agent's project's contacts (Relay connection). Newest first by default; by
    /// relevance when `search` is given without `orderBy`. Filters combine with AND.
    /// `email` matches the normalised key exactly (trim, NFC, case-insensitive; `+` is an
    /// ordinary character). `search` is full text over full name, email, phone and company:
    /// every word matches as a prefix, case- and accent-insensitively (`alvaro` finds
    /// `Álvaro`); a contact whose email equals the whole input ranks first; digits alone
    /// match inside phone numbers. Lists show NORMAL contacts unless `status` says otherwise.
    /// Paginate forward with `first`/`after` or backward with `last`/`before` (default 20,
    /// at most 100); cursors are keyset positions (stable under inserts and ties) and valid
    /// only for the ordering that made them.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor token), `BAD_USER_INPUT` (`first`,
    /// `last`, `after`, `before`, `search`, `tags`, `attribute`, `companyId`).
    #[allow(clippy::too_many_arguments)]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Exact email match (case- and whitespace-insensitive).")] email: Option<
            String,
        >,
        #[graphql(
            desc = "Full-text search (prefix words over name, email, phone, company; ≤ 200 characters)."
        )]
        search: Option<String>,
        #[graphql(desc = "Tags that must all be present (case-insensitive).")] tags: Option<
            Vec<String>,
        >,
        #[graphql(desc = "Statuses to include (default: NORMAL only).")] status: Option<
            Vec<ContactStatus>,
        >,
        #[graphql(desc = "Created at or after this time.")] created_after: Option<DateTime<Utc>>,
        #[graphql(desc = "Created strictly before this time.")] created_before: Option<
            DateTime<Utc>,
        >,
        #[graphql(desc = "Only contacts with (true) or without (false) an email.")]
        has_email: Option<bool>,
        #[graphql(desc = "A top-level custom attribute equal to a JSON scalar.")] attribute: Option<
            AttributeFilter,
        >,
        #[graphql(desc = "Only the contacts linked to this company (`Company.id`).")]
        company_id: Option<ID>,
        #[graphql(desc = "Sort order (default: createdAt DESC, or relevance with `search`).")]
        order_by: Option<ContactOrder>,
        #[graphql(desc = "Page size forward, 0..=100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor to continue after.")] after: Option<String>,
        #[graphql(desc = "Page size backward, 0..=100.")] last: Option<i32>,
        #[graphql(desc = "Cursor to continue before.")] before: Option<String>,
    ) -> Result<ContactConnection> {
        let (_, scope) = guards::require_agent(ctx)?;
        let page = PageRequest::from_args(first, after, last, before)?;
        let query = ContactFilter {
            email,
            search,
            tags,
            status,
            created_after,
            created_before,
            has_email,
            attribute,
            company_id,
        }
        .into_query(order_by);
        let db = ctx.data::<DatabaseConnection>()?;
        let look = ctx.look_ahead();
        let plan = Loaders::plan(
            ctx,
            &[look.field("nodes"), look.field("edges").field("node")],
        );
        let mut rows = contact_search::list(db, scope, &query, page, &plan.nested).await?;
        let ids: Vec<uuid::Uuid> = rows.rows.iter().map(|m| m.id).collect();
        Loaders::feed(ctx, plan, std::mem::take(&mut rows.prefetched), &ids).await?;
        Ok(ContactConnection::new(rows, scope, query))
    }

    /// One contact of the agent's project by id, whatever its status; null when it does not
    /// exist or belongs to another project (the two cannot be told apart). The id of a
    /// contact merged into another one gives the surviving contact (whose `mergedFrom` lists
    /// it), never a dead end.
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
        let look = [ctx.look_ahead()];
        let plan = Loaders::plan(ctx, &look);
        let found = leads::find_resolved(db, scope, id, &plan.nested).await?;
        Ok(match found {
            Some(found) => Some(Contact(Loaders::fed(ctx, plan, found).await?)),
            None => None,
        })
    }

    /// Any object of the agent's project by its id (Relay Global Object Identification):
    /// a Contact, Request, Company, User (a member of the project) or the Project itself;
    /// null when none matches in the caller's project.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor token), `BAD_USER_INPUT` (`id`).
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The object's `id`.")] id: ID,
    ) -> Result<Option<Node>> {
        let (_, scope) = guards::require_agent(ctx)?;
        let id = normalize::uuid("id", &id)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let look = [ctx.look_ahead()];
        let plan = Loaders::plan(ctx, &look);
        Ok(match nodes::find(db, scope, id, &plan.nested).await? {
            None => None,
            Some(nodes::Found::Lead(found)) => Some(Node::Contact(Contact(
                Loaders::fed(ctx, plan, found).await?,
            ))),
            Some(nodes::Found::Request(m)) => Some(Node::Request(Request(m))),
            Some(nodes::Found::Company(m)) => Some(Node::Company(CompanyObject::new(m))),
            Some(nodes::Found::User(m)) => Some(Node::User(UserObject(m))),
            Some(nodes::Found::Project(m)) => Some(Node::Project(ProjectObject(m))),
        })
    }

    /// The agent's project's companies (Relay connection), by name (case-insensitive) then
    /// id. `search` keeps those whose name or domain contains it (case-insensitive
    /// substring). `first` default 20, at most 100; keyset cursors. The companies' selected
    /// `contactsCount` and `contacts` pages load with them, one statement each for the page.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor token), `BAD_USER_INPUT` (`search`,
    /// `first`, `after`).
    async fn companies(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Case-insensitive substring of the name or the domain (≤ 200 characters)."
        )]
        search: Option<String>,
        #[graphql(desc = "Page size, 0..=100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor (`endCursor` of the previous page) to continue after.")]
        after: Option<String>,
    ) -> Result<CompanyConnection> {
        let (_, scope) = guards::require_agent(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let page =
            company_search::list(db, scope, search.as_deref(), first, after.as_deref()).await?;
        prime_company_list(ctx, &ctx.look_ahead(), &page.rows).await?;
        Ok(CompanyConnection::new(page, scope, search))
    }

    /// One company of the agent's project by id; null when it does not exist or belongs to
    /// another project. Its first `contacts` page (with what the contacts select of their
    /// own relations) and its `contactsCount` come in the same SQL statement.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor token), `BAD_USER_INPUT` (`id` not a
    /// UUID).
    async fn company(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The company's `id`.")] id: ID,
    ) -> Result<Option<CompanyObject>> {
        let (_, scope) = guards::require_agent(ctx)?;
        let id = normalize::uuid("id", &id)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let look = ctx.look_ahead();
        let plan = CompanyPlan::of(ctx, &look);
        let Some(found) = company_search::find_with_contacts(db, scope, id, &plan.nested).await?
        else {
            return Ok(None);
        };
        let (company, contacts) = plan.fed(ctx, found).await?;
        Ok(Some(CompanyObject::with_contacts(company, contacts)))
    }

    /// What `mergeContacts` would do with these contacts, computed without writing: blockers
    /// (coded reasons), the surviving value of each field with its source and the
    /// conflicting values, merged attributes and tags, additional emails, and how many
    /// requests, tags and attributes move.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor token), `BAD_USER_INPUT` (ids not
    /// UUIDs, `secondaryIds` empty or over 20). Everything else is a blocker in the result.
    async fn merge_contacts_preview(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The merge to preview.")] input: MergeContactsPreviewInput,
    ) -> Result<MergeContactsPreview> {
        let (_, scope) = guards::require_agent(ctx)?;
        let input = input.to_service()?;
        let db = ctx.data::<DatabaseConnection>()?;
        Ok(MergeContactsPreview(
            merge::preview(db, scope, &input).await?,
        ))
    }

    /// Groups of the project's listed contacts that share an email (normalised:
    /// case-insensitive) or, as a second rule, a phone: likely one person each. Biggest
    /// groups first (then email before phone, then by value), each with a suggested
    /// primary (most requests, then oldest) and at most 50 contacts. Keyset-paginated
    /// (`first` default 20, at most 100); four statements per page.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor token), `BAD_USER_INPUT` (`first`,
    /// `after`).
    async fn duplicate_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0..=100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor (`endCursor` of the previous page) to continue after.")]
        after: Option<String>,
    ) -> Result<DuplicateGroupConnection> {
        let (_, scope) = guards::require_agent(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let page = duplicates::page(db, scope, first, after.as_deref()).await?;
        Ok(DuplicateGroupConnection::new(page, after.is_some()))
    }

    /// The project's webhook endpoints, oldest first, each with its status and recent
    /// delivery attempts. OWNER or ADMIN only.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (AGENT or visitor).
    async fn webhooks(&self, ctx: &Context<'_>) -> Result<Vec<super::types::webhook::Webhook>> {
        super::types::webhook::list(ctx).await
    }
}
