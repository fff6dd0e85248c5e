//! Per-request DataLoaders: one `IN` query per relation and batch, `Error = Arc<DbErr>`.
//! Built by the HTTP handler for each request with the caller's tenant scope, so caches and
//! batches never mix requests, users or projects.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{contact_note, lead, lead_event, request, user};
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::service::ProjectScope;
use crate::service::fields::ContactField;
use crate::service::pagination::{Page, PageArgs};
use crate::service::prefetch::{LeadColumns, Nested, Prefetched, RequestColumns};
use crate::service::store::{leads, members, notes, requests, timeline};

pub use super::company_loaders::{
    CompanyContactCountLoader, CompanyContactsKey, CompanyContactsLoader, CompanyLoader,
};

/// The loaders of one request. Request pages and counts are cached for the request, so a
/// parent list can prime them ([`Loaders::prime_requests`]).
pub struct Loaders {
    /// Contacts (Leads) by primary key.
    pub contacts: DataLoader<ContactLoader>,
    /// One page of Requests per Lead.
    pub request_pages: DataLoader<RequestPageLoader, HashMapCache>,
    /// Number of Requests per Lead.
    pub request_counts: DataLoader<RequestCountLoader, HashMapCache>,
    /// Ids of the contacts merged into each Lead.
    pub merged_from: DataLoader<MergedFromLoader, HashMapCache>,
    /// One page of timeline events per Lead.
    pub timeline_pages: DataLoader<TimelinePageLoader>,
    /// One page of notes per Lead.
    pub note_pages: DataLoader<NotePageLoader>,
    /// Agents of the project by user id (contact owners, note authors).
    pub agents: DataLoader<AgentLoader, HashMapCache>,
    /// Companies by primary key (`Contact.company`; fed by the contacts' statements).
    pub companies: DataLoader<CompanyLoader, HashMapCache>,
    /// One page of contacts per company (`Company.contacts` in a list).
    pub company_contacts: DataLoader<CompanyContactsLoader, HashMapCache>,
    /// Number of listed contacts per company (`Company.contactsCount`,
    /// `Company.contacts.totalCount`).
    pub company_contact_counts: DataLoader<CompanyContactCountLoader, HashMapCache>,
    /// The visitor whose Requests alone these loaders see (`None` for agents).
    visitor: Option<Uuid>,
}

/// How the nested relations of a contact selection get loaded: `nested` in the contacts'
/// own statement, the other `requests` page shapes by [`Loaders::prime_requests`].
pub struct Plan<'a> {
    /// What the contacts' statement fetches.
    pub nested: Nested,
    /// Every `requests` selection (those whose page is not `nested.requests` are primed).
    requests: Vec<async_graphql::SelectionField<'a>>,
    /// The distinct columns of the selections of `nested.requests`' page (whose union
    /// `nested.request_columns` is): its rows are fed to the cache under each.
    request_columns: Vec<RequestColumns>,
}

impl Loaders {
    /// Loaders scoped to `scope` over `db`, each waiting `batch_delay` to gather keys (the
    /// resolvers of one list level run concurrently and enqueue their keys within
    /// microseconds; see `Config::dataloader_delay_ms`). With `visitor`, Requests are limited
    /// to those that visitor opened.
    pub fn new(
        db: DatabaseConnection,
        scope: ProjectScope,
        batch_delay: Duration,
        visitor: Option<Uuid>,
    ) -> Self {
        let spawn = |fut| {
            // A batch runs in its own task: under the span of the request that started it.
            tokio::spawn(tracing::Instrument::in_current_span(fut));
        };
        Self {
            contacts: DataLoader::new(
                ContactLoader {
                    db: db.clone(),
                    scope,
                },
                spawn,
            )
            .delay(batch_delay),
            request_pages: DataLoader::with_cache(
                RequestPageLoader {
                    db: db.clone(),
                    scope,
                    visitor,
                },
                spawn,
                HashMapCache::default(),
            )
            .delay(batch_delay),
            request_counts: DataLoader::with_cache(
                RequestCountLoader {
                    db: db.clone(),
                    scope,
                    visitor,
                },
                spawn,
                HashMapCache::default(),
            )
            .delay(batch_delay),
            merged_from: DataLoader::with_cache(
                MergedFromLoader {
                    db: db.clone(),
                    scope,
                },
                spawn,
                HashMapCache::default(),
            )
            .delay(batch_delay),
            timeline_pages: DataLoader::new(
                TimelinePageLoader {
                    db: db.clone(),
                    scope,
                },
                spawn,
            )
            .delay(batch_delay),
            note_pages: DataLoader::new(
                NotePageLoader {
                    db: db.clone(),
                    scope,
                },
                spawn,
            )
            .delay(batch_delay),
            agents: DataLoader::with_cache(
                AgentLoader {
                    db: db.clone(),
                    scope,
                },
                spawn,
                HashMapCache::default(),
            )
            .delay(batch_delay),
            companies: DataLoader::with_cache(
                CompanyLoader {
                    db: db.clone(),
                    scope,
                },
                spawn,
                HashMapCache::default(),
            )
            .delay(batch_delay),
            company_contacts: DataLoader::with_cache(
                CompanyContactsLoader {
                    db: db.clone(),
                    scope,
                },
                spawn,
                HashMapCache::default(),
            )
            .delay(batch_delay),
            company_contact_counts: DataLoader::with_cache(
                CompanyContactCountLoader { db, scope },
                spawn,
                HashMapCache::default(),
            )
            .delay(batch_delay),
            visitor,
        }
    }

    /// The plan for the contact selections `contact` (the look-ahead of `contact(id:)`,
    /// `viewer.contact`, `node(id:)`, or a connection's `nodes` / `edges.node`): the first
    /// valid `requests` page, `requestsCount` / `requests.totalCount` and `mergedFrom` go
    /// into the contacts' statement; further `requests` page shapes are primed after it.
    /// Without loaders (no caller) the plan is empty.
    pub fn plan<'a>(ctx: &Context<'_>, contact: &[async_graphql::Lookahead<'a>]) -> Plan<'a> {
        let Some(loaders) = ctx.data_opt::<Self>() else {
            return Plan {
                nested: Nested::default(),
                requests: Vec::new(),
                request_columns: Vec::new(),
            };
        };
        let requests: Vec<async_graphql::SelectionField<'a>> = contact
            .iter()
            .flat_map(|c| c.field("requests").selection_fields())
            .collect();
        let mut nested = Nested {
            lead_columns: lead_columns_of(contact),
            requester: loaders.visitor,
            requests_count: contact.iter().any(|c| c.field("requestsCount").exists())
                || requests
                    .iter()
                    .any(|f| f.selection_set().any(|s| s.name() == "totalCount")),
            merged_from: contact.iter().any(|c| c.field("mergedFrom").exists()),
            // Company internals are agents' data: a visitor's `company` is always null.
            company: loaders.visitor.is_none()
                && contact.iter().any(|c| c.field("company").exists()),
            requests: None,
            request_columns: RequestColumns::NONE,
        };
        nested.requests = requests.iter().find_map(page_of);
        let mut request_columns = Vec::new();
        for field in requests.iter().filter(|f| page_of(f) == nested.requests) {
            let columns = request_columns_of(field);
            nested.request_columns = nested.request_columns.with(columns);
            if !request_columns.contains(&columns) {
                request_columns.push(columns);
            }
        }
        Plan {
            nested,
            requests,
            request_columns,
        }
    }

    /// Feeds what the contacts' statement fetched for `plan` to the loaders' caches, then
    /// primes the plan's other `requests` page shapes for `leads` (one statement each).
    /// Errors: `INTERNAL` (database).
    pub async fn feed(
        ctx: &Context<'_>,
        plan: Plan<'_>,
        prefetched: Prefetched,
        leads: &[Uuid],
    ) -> AppResult<()> {
        let Some(loaders) = ctx.data_opt::<Self>() else {
            return Ok(());
        };
        if let Some(page) = plan.nested.requests {
            // Fetched with the union of the selections' columns: a superset of each one's
            // (normally there is one selection, and the rows move).
            if let Some((&last, others)) = plan.request_columns.split_last() {
                let key = |lead, columns| RequestPageKey {
                    lead,
                    page,
                    columns,
                };
                let mut keyed = Vec::new();
                for &columns in others {
                    keyed.extend(
                        prefetched
                            .request_pages
                            .iter()
                            .map(|(lead, rows)| (key(*lead, columns), rows.clone())),
                    );
                }
                keyed.extend(
                    prefetched
                        .request_pages
                        .into_iter()
                        .map(|(lead, rows)| (key(lead, last), rows)),
                );
                loaders.request_pages.feed_many(keyed).await;
            }
        }
        loaders
            .request_counts
            .feed_many(prefetched.request_counts)
            .await;
        loaders.merged_from.feed_many(prefetched.merged_from).await;
        loaders
            .companies
            .feed_many(prefetched.companies.into_iter().map(|c| (c.id, c)))
            .await;
        let rest: Vec<async_graphql::SelectionField<'_>> = plan
            .requests
            .into_iter()
            .filter(|f| page_of(f) != plan.nested.requests)
            .collect();
        if !rest.is_empty() {
            loaders.prime_requests(leads, &rest, false).await?;
        }
        Ok(())
    }

    /// [`Loaders::feed`] for one contact `found` by a lookup planned with `plan`; returns its
    /// Lead. When the lookup went through a tombstone (its statement fetched the tombstone's
    /// relations), the survivor's `requests` pages and counts are primed instead (one
    /// statement each). Errors: `INTERNAL` (database).
    pub async fn fed(
        ctx: &Context<'_>,
        plan: Plan<'_>,
        found: leads::Found,
    ) -> AppResult<lead::Model> {
        let lead = found.lead;
        match found.prefetched {
            Some(prefetched) => Self::feed(ctx, plan, prefetched, &[lead.id]).await?,
            None => {
                if let Some(loaders) = ctx.data_opt::<Self>() {
                    loaders
                        .prime_requests(&[lead.id], &plan.requests, plan.nested.requests_count)
                        .await?;
                }
            }
        }
        Ok(lead)
    }

    /// Primes the `requests` (and `requestsCount`) of `leads` for the selections in
    /// `requests_fields` / `counts_wanted`: runs now, in the parent's resolver, the one batch
    /// statement each DataLoader would run after its batch delay, and feeds the results to
    /// the loaders' caches, so that the nested fields resolve without waiting. Selections
    /// with invalid arguments are skipped (the field itself reports the error).
    pub async fn prime_requests(
        &self,
        leads: &[Uuid],
        requests_fields: &[async_graphql::SelectionField<'_>],
        counts_wanted: bool,
    ) -> Result<(), Arc<DbErr>> {
        if leads.is_empty() {
            return Ok(());
        }
        let mut pages: Vec<(PageArgs, RequestColumns)> = Vec::new();
        for field in requests_fields {
            if let Some(page) = page_of(field) {
                let shape = (page, request_columns_of(field));
                if !pages.contains(&shape) {
                    pages.push(shape);
                }
            }
        }
        for (page, columns) in pages {
            let keys: Vec<RequestPageKey> = leads
                .iter()
                .map(|&lead| RequestPageKey {
                    lead,
                    page,
                    columns,
                })
                .collect();
            let loaded = self.request_pages.loader().load(&keys).await?;
            self.request_pages.feed_many(loaded).await;
        }
        if counts_wanted {
            let loaded = self.request_counts.loader().load(leads).await?;
            self.request_counts.feed_many(loaded).await;
        }
        Ok(())
    }

    /// The request's loaders. Errors: `UNAUTHENTICATED` when the request has no caller (no
    /// loaders are built for it).
    pub fn of<'a>(ctx: &'a Context<'_>) -> AppResult<&'a Self> {
        ctx.data_opt::<Self>()
            .ok_or(AppError::Unauthenticated("authentication required"))
    }
}

/// The page a `requests(first:, after:)` (or `contacts(first:, after:)`) selection asks
/// for; `None` when its arguments are invalid (the field itself reports the error).
pub(super) fn page_of(field: &async_graphql::SelectionField<'_>) -> Option<PageArgs> {
    let arguments = field.arguments().ok()?;
    let mut first = None;
    let mut after = None;
    for (name, value) in arguments {
        match (name.as_str(), value) {
            ("first", async_graphql::Value::Number(n)) => {
                first = Some(n.as_i64().and_then(|n| i32::try_from(n).ok())?)
            }
            ("after", async_graphql::Value::String(s)) => after = Some(s),
            _ => {}
        }
    }
    PageArgs::new(first, after.as_deref()).ok()
}

/// The Lead columns the contact selections `contact` read (fragments included): the text
/// fields by their registry (`ContactField`), the others below; a field neither knows reads
/// every column.
fn lead_columns_of(contact: &[async_graphql::Lookahead<'_>]) -> LeadColumns {
    use entity::lead::Column as C;
    let mut columns = LeadColumns::ALWAYS;
    let selections: Vec<async_graphql::SelectionField<'_>> =
        contact.iter().flat_map(|c| c.selection_fields()).collect();
    for field in selections.iter().flat_map(|f| f.selection_set()) {
        // `company` is the linked Company (its id), not the text column of that name.
        if field.name() == "company" {
            columns = columns.with(C::CompanyId);
            continue;
        }
        if let Some(text) = ContactField::from_name(field.name()) {
            columns = columns.with(text.column());
            continue;
        }
        let column = match field.name() {
            "id" | "mergedFrom" | "timeline" | "notes" | "requestsCount" | "requests"
            | "createdAt" | "__typename" => continue,
            "owner" => C::OwnerId,
            "leadId" => C::LeadId,
            "attributes" => C::Attributes,
            "tags" => C::Tags,
            "status" => C::Status,
            "version" => C::Version,
            "updatedAt" => C::UpdatedAt,
            "lastRequestAt" => C::LastRequestAt,
            "erasedAt" => C::ErasedAt,
            "additionalEmails" => C::AdditionalEmails,
            "externalId" => C::ExternalId,
            _ => return LeadColumns::ALL,
        };
        columns = columns.with(column);
    }
    columns
}

/// The Request columns a `requests { nodes { … } edges { cursor node { … } } }` selection
/// (`requests`) reads, fragments included; `contact`, `id`, `createdAt` and the cursor need
/// none of the optional ones, a field this list does not know needs every one.
pub fn request_columns_of(requests: &async_graphql::SelectionField<'_>) -> RequestColumns {
    let mut columns = RequestColumns::NONE;
    let mut add = |node: async_graphql::SelectionField<'_>| {
        for field in node.selection_set() {
            columns = columns.with(match field.name() {
                "id" | "createdAt" | "contact" | "__typename" => RequestColumns::NONE,
                "requestId" => RequestColumns::REQUEST_ID,
                "firstText" => RequestColumns::FIRST_TEXT,
                "status" => RequestColumns::STATUS,
                "channel" => RequestColumns::CHANNEL,
                "attributes" => RequestColumns::ATTRIBUTES,
                "updatedAt" => RequestColumns::UPDATED_AT,
                "closedAt" => RequestColumns::CLOSED_AT,
                _ => RequestColumns::ALL,
            });
        }
    };
    for field in requests.selection_set() {
        match field.name() {
            "nodes" => add(field),
            "edges" => field
                .selection_set()
                .filter(|f| f.name() == "node")
                .for_each(&mut add),
            _ => {}
        }
    }
    columns
}

/// Loads Leads by primary key within the tenant scope.
pub struct ContactLoader {
    db: DatabaseConnection,
    scope: ProjectScope,
}

impl Loader<Uuid> for ContactLoader {
    type Value = lead::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        Ok(leads::find_many(&self.db, self.scope, keys)
            .await?
            .into_iter()
            .map(|l| (l.id, l))
            .collect())
    }
}

/// Key of [`RequestPageLoader`]: a Lead, the page wanted of its Requests, and the columns
/// its reader resolves (a prefetched page may hold only those; the loader fetches every
/// column whatever the key says).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestPageKey {
    /// The Lead's primary key.
    pub lead: Uuid,
    /// The page (`first`, `after`).
    pub page: PageArgs,
    /// The columns the page's reader resolves ([`request_columns_of`]).
    pub columns: RequestColumns,
}

/// Key of [`TimelinePageLoader`]: a Lead and the page wanted of its timeline events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimelinePageKey {
    /// The Lead's primary key.
    pub lead: Uuid,
    /// The page (`first`, `after`).
    pub page: PageArgs,
}

/// Key of [`NotePageLoader`]: a Lead and the page wanted of its notes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NotePageKey {
    /// The Lead's primary key.
    pub lead: Uuid,
    /// The page (`first`, `after`).
    pub page: PageArgs,
}

/// A per-Lead (or per-company) page key ([`load_pages`]).
pub(super) trait PageKey: Copy + Eq + std::hash::Hash {
    /// The Lead's (or company's) primary key: the group a page belongs to.
    fn lead(&self) -> Uuid;
    /// The page wanted.
    fn page(&self) -> PageArgs;
}

impl PageKey for RequestPageKey {
    fn lead(&self) -> Uuid {
        self.lead
    }
    fn page(&self) -> PageArgs {
        self.page
    }
}

impl PageKey for TimelinePageKey {
    fn lead(&self) -> Uuid {
        self.lead
    }
    fn page(&self) -> PageArgs {
        self.page
    }
}

impl PageKey for NotePageKey {
    fn lead(&self) -> Uuid {
        self.lead
    }
    fn page(&self) -> PageArgs {
        self.page
    }
}

/// Loads one page of Requests per Lead: one statement per distinct page shape in the batch
/// (normally exactly one).
pub struct RequestPageLoader {
    db: DatabaseConnection,
    scope: ProjectScope,
    visitor: Option<Uuid>,
}

impl Loader<RequestPageKey> for RequestPageLoader {
    type Value = Page<request::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[RequestPageKey],
    ) -> Result<HashMap<RequestPageKey, Self::Value>, Self::Error> {
        load_pages(keys, |leads, page| async move {
            requests::pages_for_leads(&self.db, self.scope, &leads, page, self.visitor).await
        })
        .await
    }
}

/// Counts Requests per Lead in one `GROUP BY` statement.
pub struct RequestCountLoader {
    db: DatabaseConnection,
    scope: ProjectScope,
    visitor: Option<Uuid>,
}

impl Loader<Uuid> for RequestCountLoader {
    type Value = u64;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, u64>, Self::Error> {
        Ok(requests::counts_for_leads(&self.db, self.scope, keys, self.visitor).await?)
    }
}

/// Loads the ids of the contacts merged into each Lead (its tombstones) in one statement.
pub struct MergedFromLoader {
    db: DatabaseConnection,
    scope: ProjectScope,
}

impl Loader<Uuid> for MergedFromLoader {
    type Value = Vec<Uuid>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Vec<Uuid>>, Self::Error> {
        Ok(leads::merged_from(&self.db, self.scope, keys).await?)
    }
}

/// Loads one page of timeline events per Lead: one statement per distinct page shape.
pub struct TimelinePageLoader {
    db: DatabaseConnection,
    scope: ProjectScope,
}

impl Loader<TimelinePageKey> for TimelinePageLoader {
    type Value = Page<lead_event::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[TimelinePageKey],
    ) -> Result<HashMap<TimelinePageKey, Self::Value>, Self::Error> {
        load_pages(keys, |leads, page| async move {
            timeline::pages_for_leads(&self.db, self.scope, &leads, page).await
        })
        .await
    }
}

/// Loads one page of notes per Lead: one statement per distinct page shape.
pub struct NotePageLoader {
    db: DatabaseConnection,
    scope: ProjectScope,
}

impl Loader<NotePageKey> for NotePageLoader {
    type Value = Page<contact_note::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[NotePageKey],
    ) -> Result<HashMap<NotePageKey, Self::Value>, Self::Error> {
        load_pages(keys, |leads, page| async move {
            notes::pages_for_leads(&self.db, self.scope, &leads, page).await
        })
        .await
    }
}

/// Loads agents of the project (OWNER, ADMIN, AGENT) by user id in one statement; a user who
/// is not an agent of the project is absent.
pub struct AgentLoader {
    db: DatabaseConnection,
    scope: ProjectScope,
}

impl Loader<Uuid> for AgentLoader {
    type Value = user::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, user::Model>, Self::Error> {
        Ok(members::agents_by_id(&self.db, self.scope, keys)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect())
    }
}

/// The batch of a per-Lead page loader: one `load(leads, page)` call (one statement) per
/// distinct page shape among `keys` (normally exactly one); a Lead without rows gets an empty
/// page.
pub(super) async fn load_pages<K: PageKey, T: Clone, Fut>(
    keys: &[K],
    load: impl Fn(Vec<Uuid>, PageArgs) -> Fut,
) -> Result<HashMap<K, Page<T>>, Arc<DbErr>>
where
    Fut: std::future::Future<Output = Result<HashMap<Uuid, Page<T>>, DbErr>>,
{
    let mut by_page: HashMap<PageArgs, Vec<K>> = HashMap::new();
    for key in keys {
        by_page.entry(key.page()).or_default().push(*key);
    }
    let mut out = HashMap::with_capacity(keys.len());
    for (page, keys) in by_page {
        // Keys per Lead (several only when readers of one page want other columns): the
        // last one takes the page, the others a copy.
        let mut left: HashMap<Uuid, usize> = HashMap::with_capacity(keys.len());
        let mut lead_ids = Vec::with_capacity(keys.len());
        for key in &keys {
            let n = left.entry(key.lead()).or_insert(0);
            if *n == 0 {
                lead_ids.push(key.lead());
            }
            *n += 1;
        }
        let mut pages = load(lead_ids, page).await?;
        for key in keys {
            let n = left.entry(key.lead()).or_insert(1);
            *n -= 1;
            let found = if *n == 0 {
                pages.remove(&key.lead())
            } else {
                pages.get(&key.lead()).cloned()
            };
            let found = found.unwrap_or_else(|| Page::from_overfetch(Vec::new(), page.first));
            out.insert(key, found);
        }
    }
    Ok(out)
}
