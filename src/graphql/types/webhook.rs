//! Webhook endpoints and their recent delivery attempts (OWNER / ADMIN).

use async_graphql::{ComplexObject, Context, Enum, ID, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{webhook, webhook_delivery};
use sea_orm::DatabaseConnection;

use crate::error::AppError;
use crate::graphql::guards;
use crate::service::webhooks as service;

/// The type of a delivered event: the payload's `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "crate::service::webhooks::WebhookEventType")]
pub enum WebhookEventType {
    /// `contact.created`: a contact was created.
    ContactCreated,
    /// `contact.updated`: one field changed, or tags were added / removed.
    ContactUpdated,
    /// `contact.deleted`: soft-deleted.
    ContactDeleted,
    /// `contact.restored`: restored after a soft delete.
    ContactRestored,
    /// `contact.erased`: erased (GDPR).
    ContactErased,
    /// `contact.merged`: contacts were merged into this one (`survivorId`, `mergedIds`).
    ContactMerged,
    /// `contact.unmerged`: a merge was undone.
    ContactUnmerged,
    /// `request.created`: a new request under the contact.
    RequestCreated,
    /// `note.created`: an agent added a note to the contact (`noteId`).
    NoteCreated,
    /// `note.updated`: a note was edited (`noteId`).
    NoteUpdated,
    /// `note.deleted`: a note was deleted (`noteId`).
    NoteDeleted,
}

/// Where an endpoint stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum WebhookStatus {
    /// Enabled, last attempt succeeded (or none yet).
    Active,
    /// Enabled, retrying after failed attempts (`consecutiveFailures` > 0).
    Retrying,
    /// Disabled (by an admin, or after `WEBHOOK_MAX_FAILURES` failures: `disabledReason`).
    Disabled,
}

/// Most `recentDeliveries` per endpoint in one query.
pub const MAX_DELIVERIES_PAGE: i32 = 100;

/// A webhook endpoint: events of the project's log are POSTed to it, signed (Standard
/// Webhooks), in log order, at least once. Its secret is shown only by `createWebhook`.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Webhook {
    /// The endpoint's id.
    pub id: ID,
    /// Where events are POSTed.
    pub url: String,
    /// The delivered types.
    pub events: Vec<WebhookEventType>,
    /// Whether events are delivered.
    pub enabled: bool,
    /// Enabled and healthy, retrying, or disabled.
    pub status: WebhookStatus,
    /// Why it was disabled automatically (null when enabled or disabled by an admin).
    pub disabled_reason: Option<String>,
    /// Failed attempts since the last success.
    pub consecutive_failures: i32,
    /// The last log position delivered or skipped (a decimal string; the event payloads'
    /// `position`).
    pub delivered_position: String,
    /// When the next attempt may start (UTC).
    pub next_attempt_at: DateTime<Utc>,
    /// Created (UTC).
    pub created_at: DateTime<Utc>,
    /// Last changed (UTC).
    pub updated_at: DateTime<Utc>,
    /// The endpoint's id (for reading its attempts).
    #[graphql(skip)]
    pub model_id: uuid::Uuid,
    /// Its attempts, newest first, when the `webhooks` query read them for every endpoint.
    #[graphql(skip)]
    pub prefetched: Option<Vec<webhook_delivery::Model>>,
}

impl Webhook {
    /// The output of `row`, with its attempts when already read (newest first).
    pub fn new(row: webhook::Model, prefetched: Option<Vec<webhook_delivery::Model>>) -> Self {
        let status = if !row.enabled {
            WebhookStatus::Disabled
        } else if row.consecutive_failures > 0 {
            WebhookStatus::Retrying
        } else {
            WebhookStatus::Active
        };
        Self {
            id: ID(row.id.to_string()),
            events: service::subscribed(&row)
                .into_iter()
                .map(Into::into)
                .collect(),
            url: row.url,
            enabled: row.enabled,
            status,
            disabled_reason: row.disabled_reason,
            consecutive_failures: row.consecutive_failures,
            delivered_position: row.delivered_position.to_string(),
            next_attempt_at: row.next_attempt_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            model_id: row.id,
            prefetched,
        }
    }
}

#[ComplexObject]
impl Webhook {
    /// The newest delivery attempts, newest first (the server keeps the last
    /// `WEBHOOK_DELIVERIES_KEPT`). Errors: `BAD_USER_INPUT` (`first` outside 0..100).
    async fn recent_deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many (0..100).", default = 10)] first: i32,
    ) -> Result<Vec<WebhookDelivery>> {
        let first = check_first(first)?;
        let rows = match &self.prefetched {
            Some(rows) => rows.iter().take(first).cloned().collect(),
            None => {
                let (_, scope) = guards::require_admin(ctx)?;
                let db = ctx.data::<DatabaseConnection>()?;
                service::recent_deliveries(db, scope, &[self.model_id], first)
                    .await?
                    .remove(&self.model_id)
                    .unwrap_or_default()
            }
        };
        Ok(rows.into_iter().map(WebhookDelivery::from).collect())
    }
}

/// `first` of `recentDeliveries` as a count. Errors: `BAD_USER_INPUT` (`first`).
pub fn check_first(first: i32) -> Result<usize, AppError> {
    if (0..=MAX_DELIVERIES_PAGE).contains(&first) {
        Ok(first as usize)
    } else {
        Err(AppError::bad_input(
            "first",
            format!("must be between 0 and {MAX_DELIVERIES_PAGE}"),
        ))
    }
}

/// One delivery attempt of an event to an endpoint.
#[derive(SimpleObject)]
pub struct WebhookDelivery {
    /// The attempt's id.
    pub id: ID,
    /// The event's log position (decimal string).
    pub position: String,
    /// The event's type name (e.g. `contact.created`).
    pub event_type: String,
    /// 1 for the first attempt at this event, 2 for the first retry, ...
    pub attempt: i32,
    /// Whether the endpoint answered 2xx in time.
    pub success: bool,
    /// The HTTP status answered (null when none came).
    pub status_code: Option<i32>,
    /// Why it failed (timeout, refused destination, connection error, `HTTP 500`); null on
    /// success.
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: i32,
    /// When it ended (UTC).
    pub delivered_at: DateTime<Utc>,
}

impl From<webhook_delivery::Model> for WebhookDelivery {
    fn from(row: webhook_delivery::Model) -> Self {
        Self {
            id: ID(row.id.to_string()),
            position: row.position.to_string(),
            event_type: row.event_type,
            attempt: row.attempt,
            success: row.error.is_none(),
            status_code: row.status_code,
            error: row.error,
            duration_ms: i32::try_from(row.duration_ms).unwrap_or(i32::MAX),
            delivered_at: row.delivered_at,
        }
    }
}

/// The `webhooks` query: the caller's project's endpoints, with their attempts read in one
/// more statement when `recentDeliveries` is selected. Errors: `UNAUTHENTICATED`,
/// `FORBIDDEN` (AGENT or visitor).
pub async fn list(ctx: &Context<'_>) -> Result<Vec<Webhook>> {
    let (_, scope) = guards::require_admin(ctx)?;
    let db = ctx.data::<DatabaseConnection>()?;
    let rows = service::list(db, scope).await?;
    let mut deliveries = if ctx.look_ahead().field("recentDeliveries").exists() {
        let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
        Some(service::recent_deliveries(db, scope, &ids, MAX_DELIVERIES_PAGE as usize).await?)
    } else {
        None
    };
    Ok(rows
        .into_iter()
        .map(|row| {
            let pre = deliveries
                .as_mut()
                .map(|d| d.remove(&row.id).unwrap_or_default());
            Webhook::new(row, pre)
        })
        .collect())
}
