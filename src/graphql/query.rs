//! Root queries.

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use super::company_loaders::{CompanyPlan, prime_company_list};
use super::guards;
use super::inputs::{
    AttributeFilter, ContactAttributeFilter, ContactFilter, ContactOrder, MergeContactsPreviewInput,
};
use super::loaders::Loaders;
use super::types::attribute::ContactAttributeDefinition;
use super::types::bulk_job::BulkJob;
use super::types::enums::ContactStatus;
use super::types::member::ProjectMember;
use super::types::merge::{DuplicateGroupConnection, MergeContactsPreview};
use super::types::segment::SegmentObject;
use super::types::{
    CompanyConnection, CompanyObject, Contact, ContactConnection, Node, ProjectObject, Request,
    UserObject, Viewer,
};
use crate::error::AppError;
use crate::normalize;
use crate::service::contact_search::ContactQuery;
use crate::service::contact_search::{self, PageRequest};
use crate::service::store::leads;
use crate::service::{
    accounts, attributes, bulk, company_search, duplicates, members, merge, nodes, segments,
};

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
    /// `attributeFilters` compare custom attributes by their keys' definitions
    /// (`ContactAttributeFilter`; one more statement reads those definitions).
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor token), `BAD_USER_INPUT` (`first`,
    /// `last`, `after`, `before`, `search`, `tags`, `attribute`, `attributeFilters`, `owner`,
    /// `unassigned` with `owner`, `companyId`, `segment`, a filter that contradicts the
    /// segment's), `NOT_FOUND` (`segment`).
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
        #[graphql(desc = "Owned by this agent (a `User.id` of `projectMembers`).")] owner: Option<
            ID,
        >,
        #[graphql(desc = "Only unassigned contacts (true) or only assigned ones (false).")]
        unassigned: Option<bool>,
        #[graphql(
            desc = "A saved segment: its filters AND the other arguments (a filter both set must agree)."
        )]
        segment: Option<ID>,
        #[graphql(
            desc = "Typed filters on custom attributes, by each key's definition (all must match; at most 10)."
        )]
        attribute_filters: Option<Vec<ContactAttributeFilter>>,
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
            owner,
            unassigned,
            attribute_filters,
            company_id,
        }
        .into_query(order_by)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let segment = segment
            .map(|id| normalize::uuid("segment", &id))
            .transpose()?;
        let query = segments::within(db, scope, segment, query).await?;
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

    /// The project's custom attribute definitions, oldest first (at most 200); archived ones
    /// only with `includeArchived`. Any agent. One statement.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor token).
    async fn contact_attributes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Also list archived definitions (default false).")]
        include_archived: Option<bool>,
    ) -> Result<Vec<ContactAttributeDefinition>> {
        let (_, scope) = guards::require_agent(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        Ok(
            attributes::list(db, scope, include_archived.unwrap_or(false))
                .await?
                .into_iter()
                .map(ContactAttributeDefinition)
                .collect(),
        )
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

    /// The agents of the caller's project (OWNER, ADMIN, AGENT), in the order they joined:
    /// who can own contacts (`assignContacts`) and write notes. Agents only.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor token).
    async fn project_members(&self, ctx: &Context<'_>) -> Result<Vec<ProjectMember>> {
        let (_, scope) = guards::require_agent(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        Ok(members::list(db, scope)
            .await?
            .into_iter()
            .map(ProjectMember)
            .collect())
    }

    /// The project's saved segments, by name. `contactsCount` of all of them costs one
    /// statement. Agents only. Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor token).
    async fn segments(&self, ctx: &Context<'_>) -> Result<Vec<SegmentObject>> {
        let (_, scope) = guards::require_agent(ctx)?;
        let db = ctx.data::<DatabaseConnection>()?;
        let list = segments::list(db, scope).await?;
        let counts = if ctx.look_ahead().field("contactsCount").exists() {
            let queries: Vec<&ContactQuery> = list.iter().map(|s| &s.query).collect();
            contact_search::count_many(db, scope, &queries)
                .await?
                .into_iter()
                .map(Some)
                .collect()
        } else {
            vec![None; list.len()]
        };
        Ok(list
            .into_iter()
            .zip(counts)
            .map(|(segment, count)| SegmentObject {
                segment,
                scope,
                count,
            })
            .collect())
    }

    /// One segment of the project; null when unknown or another project's.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor token), `BAD_USER_INPUT` (`id`).
    async fn segment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The segment's `id`.")] id: ID,
    ) -> Result<Option<SegmentObject>> {
        let (_, scope) = guards::require_agent(ctx)?;
        let id = normalize::uuid("id", &id)?;
        let db = ctx.data::<DatabaseConnection>()?;
        match segments::get(db, scope, id).await {
            Ok(segment) => Ok(Some(SegmentObject {
                segment,
                scope,
                count: None,
            })),
            Err(AppError::NotFound(_)) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    /// A bulk job of the project (started by a bulk mutation with a `filter` or `segment`):
    /// its progress. Reading a RUNNING job whose server stopped (no progress for
    /// `BULK_LEASE_SECS`) resumes it here, after its last committed batch. Null when unknown
    /// or another project's. Errors: `UNAUTHENTICATED`, `FORBIDDEN` (visitor token),
    /// `BAD_USER_INPUT` (`id`).
    async fn bulk_job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job's `id`.")] id: ID,
    ) -> Result<Option<BulkJob>> {
        let (_, scope) = guards::require_agent(ctx)?;
        let id = normalize::uuid("id", &id)?;
        let db = &ctx.data::<crate::db::Writer>()?.0;
        let job = match bulk::get(db, scope, id).await {
            Ok(job) => job,
            Err(AppError::NotFound(_)) => return Ok(None),
            Err(other) => return Err(other.into()),
        };
        if bulk::stalled(&job) {
            bulk::spawn(db.clone(), scope, job.id, *ctx.data::<bulk::Settings>()?);
        }
        Ok(Some(BulkJob(job)))
    }
}
