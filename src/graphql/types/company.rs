//! `Company`, its Relay connection, and what `deleteCompany` returns.

use async_graphql::{Context, ID, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{company, lead};
use sea_orm::DatabaseConnection;
use serde_json::Value;

use super::connection::PageInfo;
use super::contact::ContactConnection;
use crate::error::AppError;
use crate::graphql::loaders::{CompanyContactsKey, Loaders};
use crate::service::ProjectScope;
use crate::service::company_search::{self, CompanyPage};
use crate::service::pagination::{Page, PageArgs};

/// A company of the project, with the contacts linked to it.
pub struct CompanyObject {
    /// The row.
    pub model: company::Model,
    /// The contacts page fetched with the company (`company(id:)`'s one statement): its
    /// arguments and rows (holding the columns that selection reads).
    contacts: Option<(PageArgs, Page<lead::Model>)>,
}

impl CompanyObject {
    /// A company whose relations load through the loaders.
    pub fn new(model: company::Model) -> Self {
        Self {
            model,
            contacts: None,
        }
    }

    /// A company with the contacts page fetched with it.
    pub fn with_contacts(
        model: company::Model,
        contacts: Option<(PageArgs, Page<lead::Model>)>,
    ) -> Self {
        Self { model, contacts }
    }
}

/// A company (an organisation the project's contacts work for): agents' data, never shown to
/// visitors. Contacts link to it with `company` / `companyId`.
#[Object(name = "Company")]
impl CompanyObject {
    /// Primary key (a UUID).
    pub async fn id(&self) -> ID {
        ID(self.model.id.to_string())
    }

    /// The name as typed (trimmed, NFC; 1..=200 characters). Linked contacts' `company`
    /// follows it.
    async fn name(&self) -> &str {
        &self.model.name
    }

    /// The web domain: lower-case ASCII (IDNA), without scheme, path, port or `www.`;
    /// unique in the project; null when unknown.
    async fn domain(&self) -> Option<&str> {
        self.model.domain.as_deref()
    }

    /// Custom attributes: a JSON object.
    async fn attributes(&self) -> Json<Value> {
        Json(self.model.attributes.clone())
    }

    /// Incremented on every write (for optimistic concurrency: `updateCompany`'s
    /// `expectedVersion`).
    async fn version(&self) -> i32 {
        self.model.version
    }

    /// Creation time (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    /// Last write time (UTC).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.model.updated_at
    }

    /// How many listed (NORMAL) contacts are linked to it (batched across a list: one
    /// `GROUP BY` statement; fetched with the company by `company(id:)`).
    async fn contacts_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let loaders = Loaders::of(ctx)?;
        Ok(loaders
            .company_contact_counts
            .load_one(self.model.id)
            .await
            .map_err(AppError::from)?
            .unwrap_or(0))
    }

    /// Its listed (NORMAL) contacts, newest first; keyset-paginated (`first` default 20, max
    /// 100). `company(id:)` fetches the first page with the company in one statement; in a
    /// list, the pages of all companies load in one statement. `totalCount` is
    /// `contactsCount`.
    /// Errors: `BAD_USER_INPUT` (`first`, `after`).
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0..=100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor (`endCursor` of the previous page) to continue after.")]
        after: Option<String>,
    ) -> Result<ContactConnection> {
        let page = PageArgs::new(first, after.as_deref())?;
        let rows = match &self.contacts {
            Some((fetched, rows)) if *fetched == page => rows.clone(),
            _ => Loaders::of(ctx)?
                .company_contacts
                .load_one(CompanyContactsKey {
                    company: self.model.id,
                    page,
                })
                .await
                .map_err(AppError::from)?
                .unwrap_or_else(|| Page::from_overfetch(Vec::new(), page.first)),
        };
        Ok(ContactConnection::of_company(
            rows,
            page.after.is_some(),
            self.model.id,
        ))
    }
}

/// An edge of [`CompanyConnection`].
pub struct CompanyEdge<'a> {
    node: &'a company::Model,
    cursor: &'a str,
}

/// A company in a page, with its cursor.
#[Object]
impl CompanyEdge<'_> {
    /// Opaque cursor of this company in the list.
    async fn cursor(&self) -> &str {
        self.cursor
    }

    /// The company.
    async fn node(&self) -> CompanyObject {
        CompanyObject::new(self.node.clone())
    }
}

/// A page of companies (Relay connection).
pub struct CompanyConnection {
    page: CompanyPage,
    scope: ProjectScope,
    search: Option<String>,
}

impl CompanyConnection {
    /// A connection over `page`, remembering the search `totalCount` counts.
    pub fn new(page: CompanyPage, scope: ProjectScope, search: Option<String>) -> Self {
        Self {
            page,
            scope,
            search,
        }
    }
}

/// A page of companies, by name (Relay Cursor Connections spec).
#[Object]
impl CompanyConnection {
    /// The companies of the page with their cursors.
    async fn edges(&self) -> Vec<CompanyEdge<'_>> {
        self.page
            .rows
            .iter()
            .zip(&self.page.cursors)
            .map(|(node, cursor)| CompanyEdge { node, cursor })
            .collect()
    }

    /// The companies of the page.
    async fn nodes(&self) -> Vec<CompanyObject> {
        self.page
            .rows
            .iter()
            .cloned()
            .map(CompanyObject::new)
            .collect()
    }

    /// Where the page sits in the list.
    async fn page_info(&self) -> PageInfo {
        PageInfo::new(
            &self.page.cursors,
            self.page.has_next_page,
            self.page.has_previous_page,
        )
    }

    /// How many companies match the search in all pages (one `COUNT` statement, run only
    /// when asked for).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let db = ctx.data::<DatabaseConnection>()?;
        Ok(company_search::count(db, self.scope, self.search.as_deref()).await?)
    }
}

/// What `deleteCompany` returns.
#[derive(SimpleObject)]
pub struct DeleteCompanyPayload {
    /// The id of the deleted company.
    pub deleted_company_id: ID,
    /// How many contacts were unlinked (each got a new version and a `FIELD_CHANGED` event of
    /// `company`).
    pub unlinked_contacts: u64,
}
