//! `Contact` (a Lead) and its Relay connection.

use async_graphql::{Context, ID, Json, Object, Result};
use chrono::{DateTime, Utc};
use entity::lead;
use sea_orm::DatabaseConnection;
use serde_json::Value;

use super::connection::PageInfo;
use super::enums::ContactStatus;
use super::request::RequestConnection;
use crate::graphql::loaders::{Loaders, RequestPageKey};
use crate::service::ProjectScope;
use crate::service::leads::{self, LeadFilter};
use crate::service::pagination::{Cursor, Page, PageArgs};

/// A contact (a Lead): one visitor's identity and metadata, aggregating its Requests. The
/// dashboard calls it "Contact"; the database says "lead".
pub struct Contact(pub lead::Model);

#[Object]
impl Contact {
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

    /// Custom attributes: a JSON object.
    async fn attributes(&self) -> Json<Value> {
        Json(self.0.attributes.clone())
    }

    /// Tags (a set: no duplicates).
    async fn tags(&self) -> Vec<String> {
        match &self.0.tags {
            Value::Array(items) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Lifecycle status.
    async fn status(&self) -> ContactStatus {
        ContactStatus::from_code(self.0.status)
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

    /// The contact's Requests, newest first; keyset-paginated (`first` default 20, max 100).
    /// Loaded for all contacts of a list in one statement.
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
        };
        let rows = loaders
            .request_pages
            .load_one(key)
            .await
            .map_err(crate::error::AppError::from)?
            .unwrap_or_else(|| Page::from_overfetch(Vec::new(), page.first));
        Ok(RequestConnection::new(
            rows,
            page.after.is_some(),
            self.0.id,
        ))
    }
}

/// An edge of [`ContactConnection`].
pub struct ContactEdge(pub lead::Model);

#[Object]
impl ContactEdge {
    /// Opaque cursor of this contact in the list.
    async fn cursor(&self) -> String {
        cursor_of(&self.0).encode()
    }

    /// The contact.
    async fn node(&self) -> Contact {
        Contact(self.0.clone())
    }
}

/// A page of contacts (Relay connection), newest first.
pub struct ContactConnection {
    page: Page<lead::Model>,
    after_given: bool,
    scope: ProjectScope,
    filter: LeadFilter,
}

impl ContactConnection {
    /// A connection over `page`, remembering what `totalCount` must count.
    pub fn new(
        page: Page<lead::Model>,
        after_given: bool,
        scope: ProjectScope,
        filter: LeadFilter,
    ) -> Self {
        Self {
            page,
            after_given,
            scope,
            filter,
        }
    }
}

#[Object]
impl ContactConnection {
    /// The contacts of the page with their cursors.
    async fn edges(&self) -> Vec<ContactEdge> {
        self.page.rows.iter().cloned().map(ContactEdge).collect()
    }

    /// The contacts of the page.
    async fn nodes(&self) -> Vec<Contact> {
        self.page.rows.iter().cloned().map(Contact).collect()
    }

    /// Where the page sits in the list.
    async fn page_info(&self) -> PageInfo {
        let cursors: Vec<String> = self
            .page
            .rows
            .iter()
            .map(|r| cursor_of(r).encode())
            .collect();
        PageInfo::new(&cursors, self.page.has_next_page, self.after_given)
    }

    /// How many contacts match the filter in all pages (one `COUNT` statement, run only when
    /// asked for).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let db = ctx.data::<DatabaseConnection>()?;
        Ok(leads::count(db, self.scope, &self.filter).await?)
    }
}

fn cursor_of(row: &lead::Model) -> Cursor {
    Cursor {
        created_at: row.created_at,
        id: row.id,
    }
}
