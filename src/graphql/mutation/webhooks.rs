//! Webhook endpoints (OWNER or ADMIN): register, change, delete.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use crate::db::Writer;
use crate::graphql::guards;
use crate::graphql::types::webhook::{Webhook, WebhookEventType};
use crate::normalize;
use crate::service::webhooks::{self, NewWebhook, WebhookPatch};
use crate::webhooks::Policy;

/// Input of `createWebhook`.
#[derive(Debug, InputObject)]
pub struct CreateWebhookInput {
    /// Where to POST events: an `http` or `https` URL (≤ 2,000 bytes). Loopback, private,
    /// link-local and metadata addresses are refused unless the server allows them
    /// (`WEBHOOK_ALLOW_PRIVATE_DESTINATIONS`).
    pub url: String,
    /// The event types to deliver (at least one).
    pub events: Vec<WebhookEventType>,
}

/// Input of `updateWebhook`: absent fields are kept.
#[derive(Debug, InputObject)]
pub struct UpdateWebhookInput {
    /// A new destination (as in `createWebhook`).
    pub url: Option<String>,
    /// New event types (at least one).
    pub events: Option<Vec<WebhookEventType>>,
    /// `true` re-enables (clears failures, next attempt now); `false` stops deliveries.
    pub enabled: Option<bool>,
}

/// What `createWebhook` returns.
#[derive(SimpleObject)]
pub struct CreateWebhookPayload {
    /// The new endpoint (it receives the events logged from now on).
    pub webhook: Webhook,
    /// The signing secret (`whsec_` + base64), for the receiver's Standard Webhooks
    /// verification. Shown this once: the API never returns it again.
    pub secret: String,
}

/// What `rotateWebhookSecret` returns.
#[derive(SimpleObject)]
pub struct RotateWebhookSecretPayload {
    /// The endpoint.
    pub webhook: Webhook,
    /// Its new signing secret (`whsec_` + base64), used from the next attempt on; the old
    /// one stops working at once. Shown this once.
    pub secret: String,
}

/// What `deleteWebhook` returns.
#[derive(SimpleObject)]
pub struct DeleteWebhookPayload {
    /// The deleted endpoint's id.
    pub deleted_webhook_id: ID,
}

/// Webhook endpoints.
#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers an endpoint that receives the project's events of `events` logged from now
    /// on, signed per Standard Webhooks with the returned secret (shown this once).
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (AGENT or visitor), `BAD_USER_INPUT` (`url`: not
    /// http(s), credentials, too long, an address the SSRF guard refuses; `events` empty).
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The operation's input (see the type).")] input: CreateWebhookInput,
    ) -> Result<CreateWebhookPayload> {
        let (_, scope) = guards::require_admin(ctx)?;
        let policy = ctx.data::<Policy>()?;
        let db = &ctx.data::<Writer>()?.0;
        let row = webhooks::create(
            db,
            scope,
            NewWebhook {
                url: input.url,
                events: input.events.into_iter().map(Into::into).collect(),
            },
            policy.allow_private,
        )
        .await?;
        let secret = row.secret.clone();
        Ok(CreateWebhookPayload {
            webhook: Webhook::new(row, Some(Vec::new())),
            secret,
        })
    }

    /// Changes an endpoint; `enabled: true` re-enables a disabled one (failures cleared, next
    /// attempt now, the events logged meanwhile are delivered).
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (AGENT or visitor), `BAD_USER_INPUT` (`id`,
    /// `url`, `events`), `NOT_FOUND` (unknown or another project's endpoint).
    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint.")] id: ID,
        #[graphql(desc = "The changes (see the type).")] input: UpdateWebhookInput,
    ) -> Result<Webhook> {
        let (_, scope) = guards::require_admin(ctx)?;
        let id = normalize::uuid("id", &id)?;
        let policy = ctx.data::<Policy>()?;
        let db = &ctx.data::<Writer>()?.0;
        let patch = WebhookPatch {
            url: input.url,
            events: input
                .events
                .map(|e| e.into_iter().map(Into::into).collect()),
            enabled: input.enabled,
        };
        let row = webhooks::update(db, scope, id, patch, policy.allow_private).await?;
        Ok(Webhook::new(row, None))
    }

    /// Replaces an endpoint's signing secret; attempts from now on are signed with the new
    /// one (returned this once). Errors: `UNAUTHENTICATED`, `FORBIDDEN` (AGENT or visitor),
    /// `BAD_USER_INPUT` (`id`), `NOT_FOUND` (unknown or another project's endpoint).
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint.")] id: ID,
    ) -> Result<RotateWebhookSecretPayload> {
        let (_, scope) = guards::require_admin(ctx)?;
        let id = normalize::uuid("id", &id)?;
        let db = &ctx.data::<Writer>()?.0;
        let row = webhooks::rotate_secret(db, scope, id).await?;
        let secret = row.secret.clone();
        Ok(RotateWebhookSecretPayload {
            webhook: Webhook::new(row, None),
            secret,
        })
    }

    /// Deletes an endpoint and its delivery records; nothing more is sent to it.
    /// Errors: `UNAUTHENTICATED`, `FORBIDDEN` (AGENT or visitor), `BAD_USER_INPUT` (`id`),
    /// `NOT_FOUND` (unknown or another project's endpoint).
    async fn delete_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The endpoint.")] id: ID,
    ) -> Result<DeleteWebhookPayload> {
        let (_, scope) = guards::require_admin(ctx)?;
        let uuid = normalize::uuid("id", &id)?;
        let db = &ctx.data::<Writer>()?.0;
        webhooks::delete(db, scope, uuid).await?;
        Ok(DeleteWebhookPayload {
            deleted_webhook_id: ID(uuid.to_string()),
        })
    }
}
