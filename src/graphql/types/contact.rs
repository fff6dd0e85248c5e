//! `Contact` (a Lead) and its Relay connection.

use async_graphql::{Context, ID, Json, Object, Result};
use chrono::{DateTime, Utc};
use entity::lead;
use ref_cast::RefCast;
use sea_orm::DatabaseConnection;
use serde_json::Value;

use super::UserObject;
use super::company::CompanyObject;
use super::connection::PageInfo;
use super::enums::ContactStatus;
use super::note::ContactNoteConnection;
use super::request::RequestConnection;
use super::timeline::ContactEventConnection;
use crate::error::AppError;
use crate::graphql::loaders::{
    Loaders, NotePageKey, RequestPageKey, TimelinePageKey, request_columns_of,
};
use crate::service::ProjectScope;
use crate::service::contact_search::{self, ContactPage, ContactQuery};
use crate::service::pagination::{Cursor, Page, PageArgs};

/// A contact (a Lead): one visitor's identity and metadata, aggregating its Requests. The
/// dashboard calls it "Contact"; the database says "lead". Resolved in one pass from its row
/// ([`super::inline`]); [`ContactResolvers`] gives the schema and answers the fields that are
/// not a copy of the row (relations, `note`).
pub struct Contact(pub lead::Model);

impl Contact {
    /// Primary key (a UUID); the `Node` interface's `id`.
    pub async fn id(&self, _ctx: &Context<'_>) -> Result<ID> {
        Ok(ID(self.0.id.to_string()))
    }
}

/// A borrowed [`Contact`] (a page's rows are not copied to be answered).
pub struct ContactRef<'a>(pub &'a lead::Model);

/// The derived resolvers of `Contact`, over the same row (`ref_cast`: no copy).
#[derive(RefCast)]
#[repr(transparent)]
pub struct ContactResolvers(lead::Model);

/// The field `name` of `row` if it is a copy out of the row (no context, no query).
fn plain(row: &lead::Model, name: &str) -> Option<async_graphql::Value> {
    use async_graphql::{ScalarType, Value as V};
    let text = |t: &Option<String>| t.as_ref().map_or(V::Null, |t| V::String(t.clone()));
    let at = |t: &Option<DateTime<Utc>>| t.as_ref().map_or(V::Null, ScalarType::to_value);
    let list = |l: Vec<String>| V::List(l.into_iter().map(V::String).collect());
    Some(match name {
        "__typename" => V::String("Contact".to_owned()),
        "id" => V::String(row.id.to_string()),
        "leadId" => V::String(row.lead_id.clone()),
        "fullname" => text(&row.fullname),
        "email" => text(&row.email),
        "phone" => text(&row.phone),
        "street" => text(&row.street),
        "city" => text(&row.city),
        "region" => text(&row.region),
        "zipcode" => text(&row.zipcode),
        "country" => text(&row.country),
        "externalId" => text(&row.external_id),
        "tags" => list(crate::normalize::stored_tags(&row.tags)),
        "additionalEmails" => list(crate::normalize::stored_tags(&row.additional_emails)),
        "status" => async_graphql::resolver_utils::enum_value(ContactStatus::from(row.status)),
        "version" => V::from(row.version),
        "createdAt" => row.created_at.to_value(),
        "updatedAt" => row.updated_at.to_value(),
        "lastRequestAt" => at(&row.last_request_at),
        "erasedAt" => at(&row.erased_at),
        _ => return None,
    })
}

super::inline::inline_object!(Contact, ContactRef, ContactResolvers, plain);

/// A contact (a Lead): one visitor's identity and metadata, aggregating its requests. The dashboard says "Contact"; the database says "lead".
#[Object(name = "Contact")]
impl ContactResolvers {
    /// Primary key (a UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The visitor's user id the contact is keyed by (unique per project).
    async fn lead_id(&self) -> &str {
        &self.0.lead_id
    }

    /// Full name as typed (trimmed, NFC).
    async fn fullname(&self) -> Option<&str> {
        self.0.fullname.as_deref()
    }

    /// Email as typed (trimmed, NFC). Matching uses its lower-cased key.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }

    /// Phone in E.164 (`+14155552671`), or national digits where no country code was given.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }

    /// The company the contact works for; null when unlinked, and always null for a visitor
    /// (companies are agents' data). Batched across a list (fetched in the contacts' own
    /// statement when planned, else one statement per list).
    async fn company(&self, ctx: &Context<'_>) -> Result<Option<CompanyObject>> {
        let Some(id) = self.0.company_id else {
            return Ok(None);
        };
        if is_visitor(ctx)? {
            return Ok(None);
        }
        let loaders = Loaders::of(ctx)?;
        Ok(loaders
            .companies
            .load_one(id)
            .await
            .map_err(AppError::from)?
            .map(CompanyObject::new))
    }

    /// Free-text note of the agents, as written before notes existed (migration 9 copied it
    /// into the contact's first note); always null for a visitor (agents' notes are internal).
    #[graphql(
        deprecation = "Use `notes`: authored, timestamped notes. This field keeps the text of the old single note (and what `updateContact(note:)` still writes)."
    )]
    async fn note(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Ok(if is_visitor(ctx)? {
            None
        } else {
            self.0.note.as_deref()
        })
    }

    /// Street address.
    async fn street(&self) -> Option<&str> {
        self.0.street.as_deref()
    }

    /// City.
    async fn city(&self) -> Option<&str> {
        self.0.city.as_deref()
    }

    /// Region, state or province.
    async fn region(&self) -> Option<&str> {
        self.0.region.as_deref()
    }

    /// Postal code.
    async fn zipcode(&self) -> Option<&str> {
        self.0.zipcode.as_deref()
    }

    /// Country.
    async fn country(&self) -> Option<&str> {
        self.0.country.as_deref()
    }

    /// Custom attributes: a JSON object.
    async fn attributes(&self) -> Json<Value> {
        Json(self.0.attributes.clone())
    }

    /// Tags (a set: no duplicates).
    async fn tags(&self) -> Vec<String> {
        crate::normalize::stored_tags(&self.0.tags)
    }

    /// Lifecycle status.
    async fn status(&self) -> ContactStatus {
        self.0.status.into()
    }

    /// Incremented on every write (for optimistic concurrency).
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Creation time (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Last write time (UTC).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// When the newest request was created (UTC); null without requests. Stored on the
    /// contact with each new request: costs no query.
    async fn last_request_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_request_at
    }

    /// When the contact was erased (GDPR); null unless erased. An erased contact is a
    /// tombstone without personal data.
    async fn erased_at(&self) -> Option<DateTime<Utc>> {
        self.0.erased_at
    }

    /// Other emails of the person, absorbed by merges (they differ from `email`
    /// case-insensitively). `contacts(email:)` finds the contact by the email of any contact
    /// merged into it.
    async fn additional_emails(&self) -> Vec<String> {
        crate::normalize::stored_tags(&self.0.additional_emails)
    }

    /// The integrating site's id of an identified visitor (`signInWithCustomToken`); null for
    /// anonymous visitors and hand-made contacts.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }

    /// The agent responsible for the contact (`assignContacts`); null when unassigned, when
    /// the owner is no longer an agent of the project, and always for a visitor (the team is
    /// internal). Batched across a list (one statement).
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<UserObject>> {
        let Some(owner) = self.0.owner_id else {
            return Ok(None);
        };
        if is_visitor(ctx)? {
            return Ok(None);
        }
        Ok(Loaders::of(ctx)?
            .agents
            .load_one(owner)
            .await
            .map_err(AppError::from)?
            .map(UserObject))
    }

    /// The agents' notes on the contact, newest first (keyset-paginated, `first` default 20,
    /// max 100); loaded for all contacts of a list in one statement. Agents only.
    /// Errors: `FORBIDDEN` (visitor), `BAD_USER_INPUT` (`first`, `after`).
    async fn notes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0..=100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor (`endCursor` of the previous page) to continue after.")]
        after: Option<String>,
    ) -> Result<ContactNoteConnection> {
        if is_visitor(ctx)? {
            return Err(AppError::Forbidden("notes are for agents").into());
        }
        let page = PageArgs::new(first, after.as_deref())?;
        let rows = Loaders::of(ctx)?
            .note_pages
            .load_one(NotePageKey {
                lead: self.0.id,
                page,
            })
            .await
            .map_err(AppError::from)?
            .unwrap_or_else(|| Page::from_overfetch(Vec::new(), page.first));
        Ok(ContactNoteConnection::new(rows, page.after.is_some()))
    }

    /// Ids of the contacts merged into this one (each resolves to this contact in
    /// `contact(id:)`); batched by DataLoader across a list (one statement).
    async fn merged_from(&self, ctx: &Context<'_>) -> Result<Vec<ID>> {
        let loaders = Loaders::of(ctx)?;
        Ok(loaders
            .merged_from
            .load_one(self.0.id)
            .await
            .map_err(AppError::from)?
            .unwrap_or_default()
            .into_iter()
            .map(|id| ID(id.to_string()))
            .collect())
    }

    /// What happened to the contact, newest first (keyset-paginated, `first` default 20, max
    /// 100): created, field changes (before, after, actor), tag changes, requests, merges,
    /// unmerges, deletes, restores, erasure. Written in the same transaction as each change;
    /// loaded for all contacts of a list in one statement. Agents only.
    /// Errors: `FORBIDDEN` (visitor), `BAD_USER_INPUT` (`first`, `after`).
    async fn timeline(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0..=100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor (`endCursor` of the previous page) to continue after.")]
        after: Option<String>,
    ) -> Result<ContactEventConnection> {
        if is_visitor(ctx)? {
            return Err(AppError::Forbidden("the timeline is for agents").into());
        }
        let page = PageArgs::new(first, after.as_deref())?;
        let loaders = Loaders::of(ctx)?;
        let rows = loaders
            .timeline_pages
            .load_one(TimelinePageKey {
                lead: self.0.id,
                page,
            })
            .await
            .map_err(AppError::from)?
            .unwrap_or_else(|| Page::from_overfetch(Vec::new(), page.first));
        Ok(ContactEventConnection::new(rows, page.after.is_some()))
    }

    /// How many requests the contact has (batched by DataLoader across a list: one
    /// `GROUP BY` statement). For a visitor: the requests it opened.
    async fn requests_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let loaders = Loaders::of(ctx)?;
        Ok(loaders
            .request_counts
            .load_one(self.0.id)
            .await
            .map_err(AppError::from)?
            .unwrap_or(0))
    }

    /// The contact's Requests, newest first; keyset-paginated (`first` default 20, max 100).
    /// Loaded for all contacts of a list in one statement. For a visitor: the requests it
    /// opened (a merged contact may hold other browsers' conversations).
    /// Errors: `BAD_USER_INPUT` (`first`, `after`).
    async fn requests(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0..=100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor (`endCursor` of the previous page) to continue after.")]
        after: Option<String>,
    ) -> Result<RequestConnection> {
        let page = PageArgs::new(first, after.as_deref())?;
        let loaders = Loaders::of(ctx)?;
        let key = RequestPageKey {
            lead: self.0.id,
            page,
            columns: request_columns_of(&ctx.field()),
        };
        let rows = loaders
            .request_pages
            .load_one(key)
            .await
            .map_err(AppError::from)?
            .unwrap_or_else(|| Page::from_overfetch(Vec::new(), page.first));
        Ok(RequestConnection::new(
            rows,
            page.after.is_some(),
            self.0.id,
        ))
    }
}

/// Whether the caller is a widget visitor (GUEST).
fn is_visitor(ctx: &Context<'_>) -> Result<bool> {
    Ok(crate::graphql::guards::caller(ctx)?.is_some_and(|c| c.role == crate::auth::Role::Guest))
}

/// An edge of [`ContactConnection`].
pub struct ContactEdge<'a> {
    node: &'a lead::Model,
    cursor: &'a str,
}

/// A contact in a page, with its cursor.
#[Object]
impl ContactEdge<'_> {
    /// Opaque cursor of this contact in the list (valid for the same ordering only).
    async fn cursor(&self) -> &str {
        self.cursor
    }

    /// The contact.
    async fn node(&self) -> ContactRef<'_> {
        ContactRef(self.node)
    }
}

/// A page of contacts (Relay connection).
pub struct ContactConnection {
    page: ContactPage,
    total: Total,
}

/// What a [`ContactConnection`]'s `totalCount` counts.
enum Total {
    /// The contacts matching a list's query (boxed: the query is large, a company's id
    /// small).
    Query(ProjectScope, Box<ContactQuery>),
    /// The listed contacts of a company (its loader: batched across companies).
    Company(uuid::Uuid),
}

impl ContactConnection {
    /// A connection over `page`, remembering what `totalCount` must count.
    pub fn new(page: ContactPage, scope: ProjectScope, query: ContactQuery) -> Self {
        Self {
            page,
            total: Total::Query(scope, Box::new(query)),
        }
    }

    /// The connection of a page of company `company`'s contacts (newest first, keyset
    /// cursors over (created_at, id)), fetched after a cursor or not.
    pub fn of_company(rows: Page<lead::Model>, after_given: bool, company: uuid::Uuid) -> Self {
        let cursors = rows
            .rows
            .iter()
            .map(|m| {
                Cursor {
                    created_at: m.created_at,
                    id: m.id,
                }
                .encode()
            })
            .collect();
        Self {
            page: ContactPage {
                rows: rows.rows,
                cursors,
                has_next_page: rows.has_next_page,
                has_previous_page: after_given,
                prefetched: Default::default(),
                conditions: Vec::new(),
            },
            total: Total::Company(company),
        }
    }
}

/// A page of contacts (Relay Cursor Connections spec).
#[Object]
impl ContactConnection {
    /// The contacts of the page with their cursors.
    async fn edges(&self) -> Vec<ContactEdge<'_>> {
        self.page
            .rows
            .iter()
            .zip(&self.page.cursors)
            .map(|(node, cursor)| ContactEdge { node, cursor })
            .collect()
    }

    /// The contacts of the page.
    async fn nodes(&self) -> Vec<ContactRef<'_>> {
        self.page.rows.iter().map(ContactRef).collect()
    }

    /// Where the page sits in the list.
    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.page.has_next_page,
            has_previous_page: self.page.has_previous_page,
            start_cursor: self.page.cursors.first().cloned(),
            end_cursor: self.page.cursors.last().cloned(),
        }
    }

    /// How many contacts match the filters in all pages (one `COUNT` statement, run only
    /// when asked for; a company's: batched across companies).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        match &self.total {
            Total::Query(scope, query) => {
                let db = ctx.data::<DatabaseConnection>()?;
                let conditions = &self.page.conditions;
                Ok(contact_search::count_checked(db, *scope, query, conditions).await?)
            }
            Total::Company(id) => Ok(Loaders::of(ctx)?
                .company_contact_counts
                .load_one(*id)
                .await
                .map_err(AppError::from)?
                .unwrap_or(0)),
        }
    }
}
