//! `Request` (a conversation) and its Relay connection.

use async_graphql::{Context, ID, Json, Object, Result};
use chrono::{DateTime, Utc};
use entity::request;
use ref_cast::RefCast;
use serde_json::Value;
use uuid::Uuid;

use super::connection::PageInfo;
use super::contact::Contact;
use super::enums::{Channel, RequestStatus};
use crate::error::AppError;
use crate::graphql::loaders::Loaders;
use crate::service::pagination::Page;
use crate::service::store::requests::cursor_of;

/// A Request: one conversation of a visitor, aggregated under the visitor's Contact.
/// Resolved in one pass from its row ([`super::inline`]); [`RequestResolvers`] gives the
/// schema and answers the fields that are not a copy of the row.
pub struct Request(pub request::Model);

impl Request {
    /// Primary key (a UUID); the `Node` interface's `id`.
    pub async fn id(&self, _ctx: &Context<'_>) -> Result<ID> {
        Ok(ID(self.0.id.to_string()))
    }
}

/// A borrowed [`Request`] (a page's rows are not copied to be answered).
pub struct RequestRef<'a>(pub &'a request::Model);

/// The derived resolvers of `Request`, over the same row (`ref_cast`: no copy).
#[derive(RefCast)]
#[repr(transparent)]
pub struct RequestResolvers(request::Model);

/// A request (a conversation) of a visitor, aggregated under the visitor's contact.
#[Object(name = "Request")]
impl RequestResolvers {
    /// Primary key (a UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Public conversation id: `support-group-<projectId>-<32 lowercase hex>`.
    async fn request_id(&self) -> &str {
        &self.0.request_id
    }

    /// The visitor's first message.
    async fn first_text(&self) -> &str {
        &self.0.first_text
    }

    /// Lifecycle status.
    async fn status(&self) -> RequestStatus {
        self.0.status.into()
    }

    /// Where it came from.
    async fn channel(&self) -> Channel {
        Channel::from_stored(&self.0.channel)
    }

    /// Custom attributes of the conversation: a JSON object.
    async fn attributes(&self) -> Json<Value> {
        Json(self.0.attributes.clone())
    }

    /// Creation time (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Last write time (UTC).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// When it was closed (UTC); null while open.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }

    /// The contact it aggregates under (batched by DataLoader).
    /// Errors: `UNAUTHENTICATED` without a caller.
    async fn contact(&self, ctx: &Context<'_>) -> Result<Contact> {
        let loaders = Loaders::of(ctx)?;
        let lead = loaders
            .contacts
            .load_one(self.0.lead)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| AppError::internal("request without its lead"))?;
        Ok(Contact(lead))
    }
}

/// The field `name` of `row` if it is a copy out of the row (no context, no query).
fn plain(row: &request::Model, name: &str) -> Option<async_graphql::Value> {
    use async_graphql::{ScalarType, Value as V};
    let at = |t: &DateTime<Utc>| t.to_value();
    Some(match name {
        "__typename" => V::String("Request".to_owned()),
        "id" => V::String(row.id.to_string()),
        "requestId" => V::String(row.request_id.clone()),
        "firstText" => V::String(row.first_text.clone()),
        "status" => async_graphql::resolver_utils::enum_value(RequestStatus::from(row.status)),
        "channel" => async_graphql::resolver_utils::enum_value(Channel::from_stored(&row.channel)),
        "createdAt" => at(&row.created_at),
        "updatedAt" => at(&row.updated_at),
        "closedAt" => row.closed_at.as_ref().map_or(V::Null, at),
        _ => return None,
    })
}

super::inline::inline_object!(Request, RequestRef, RequestResolvers, plain);

/// An edge of [`RequestConnection`].
pub struct RequestEdge(pub request::Model);

/// A request in a page, with its cursor.
#[Object]
impl RequestEdge {
    /// Opaque cursor of this request in the list.
    async fn cursor(&self) -> String {
        cursor_of(&self.0).encode()
    }

    /// The request.
    async fn node(&self) -> RequestRef<'_> {
        RequestRef(&self.0)
    }
}

/// A page of a contact's Requests (Relay connection), newest first.
pub struct RequestConnection {
    page: Page<request::Model>,
    after_given: bool,
    lead: Uuid,
}

impl RequestConnection {
    /// A connection over `page` of the Lead `lead`.
    pub fn new(page: Page<request::Model>, after_given: bool, lead: Uuid) -> Self {
        Self {
            page,
            after_given,
            lead,
        }
    }
}

/// A page of a contact's requests (Relay Cursor Connections spec).
#[Object]
impl RequestConnection {
    /// The requests of the page with their cursors.
    async fn edges(&self) -> Vec<RequestEdge> {
        self.page.rows.iter().cloned().map(RequestEdge).collect()
    }

    /// The requests of the page.
    async fn nodes(&self) -> Vec<RequestRef<'_>> {
        self.page.rows.iter().map(RequestRef).collect()
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

    /// How many requests the contact has in all (batched by DataLoader across contacts).
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let loaders = Loaders::of(ctx)?;
        Ok(loaders
            .request_counts
            .load_one(self.lead)
            .await
            .map_err(AppError::from)?
            .unwrap_or(0))
    }
}
