//! Webhook endpoints, the use cases of OWNER/ADMIN (each its own transaction, scoped to the
//! caller's project), and the pure rules the delivery worker (`crate::webhooks`) applies:
//! which log events are delivered under which type ([`WebhookEventType::of_kind`]), the
//! payload ([`payload`]), the retry backoff ([`backoff`]).

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use entity::lead_event::{self, EventKind};
use entity::{webhook, webhook_delivery};
use rand::{Rng, RngCore};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use uuid::Uuid;

use super::store::{timeline, webhooks as store};
use super::{Database, ProjectScope, begin_write, now};
use crate::error::{AppError, AppResult};

/// The type of a delivered event (`type` of the payload).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WebhookEventType {
    /// `contact.created`: the log's `CREATED`.
    ContactCreated,
    /// `contact.updated`: `FIELD_CHANGED` (one field) and `TAGS_CHANGED`.
    ContactUpdated,
    /// `contact.deleted`: soft-deleted.
    ContactDeleted,
    /// `contact.restored`: restored after a soft delete.
    ContactRestored,
    /// `contact.erased`: erased (GDPR).
    ContactErased,
    /// `contact.merged`: other contacts were merged into this one (the survivor).
    ContactMerged,
    /// `contact.unmerged`: a merge this contact took part in was undone.
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

impl WebhookEventType {
    /// Every type, in the README's order.
    pub const ALL: [Self; 11] = [
        Self::ContactCreated,
        Self::ContactUpdated,
        Self::ContactDeleted,
        Self::ContactRestored,
        Self::ContactErased,
        Self::ContactMerged,
        Self::ContactUnmerged,
        Self::RequestCreated,
        Self::NoteCreated,
        Self::NoteUpdated,
        Self::NoteDeleted,
    ];

    /// The name (payload `type`, and how subscriptions are stored).
    pub fn name(self) -> &'static str {
        match self {
            Self::ContactCreated => "contact.created",
            Self::ContactUpdated => "contact.updated",
            Self::ContactDeleted => "contact.deleted",
            Self::ContactRestored => "contact.restored",
            Self::ContactErased => "contact.erased",
            Self::ContactMerged => "contact.merged",
            Self::ContactUnmerged => "contact.unmerged",
            Self::RequestCreated => "request.created",
            Self::NoteCreated => "note.created",
            Self::NoteUpdated => "note.updated",
            Self::NoteDeleted => "note.deleted",
        }
    }

    /// The type of name `name`, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The type a log event of `kind` is delivered as; `None` for `MERGED_INTO` (the
    /// secondary's side of a merge: its survivor's `MERGED` carries the same fact).
    pub fn of_kind(kind: EventKind) -> Option<Self> {
        Some(match kind {
            EventKind::Created => Self::ContactCreated,
            EventKind::FieldChanged | EventKind::TagsChanged => Self::ContactUpdated,
            EventKind::Deleted => Self::ContactDeleted,
            EventKind::Restored => Self::ContactRestored,
            EventKind::Erased => Self::ContactErased,
            EventKind::Merged => Self::ContactMerged,
            EventKind::Unmerged => Self::ContactUnmerged,
            EventKind::RequestCreated => Self::RequestCreated,
            EventKind::NoteAdded => Self::NoteCreated,
            EventKind::NoteEdited => Self::NoteUpdated,
            EventKind::NoteDeleted => Self::NoteDeleted,
            EventKind::MergedInto => return None,
        })
    }
}

/// The types endpoint `hook` subscribed to (unknown stored names are ignored).
pub fn subscribed(hook: &webhook::Model) -> Vec<WebhookEventType> {
    hook.event_types
        .as_array()
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .filter_map(WebhookEventType::parse)
                .collect()
        })
        .unwrap_or_default()
}

/// The Standard Webhooks payload of log event `event` delivered as `ty`: `{"type",
/// "timestamp" (the event's time, RFC 3339), "data": {"projectId", "contactId", "position"
/// (a decimal string), "actorId", "kind" (the log's kind, e.g. `FIELD_CHANGED`), ...the
/// event's own data}}`; `contact.merged` adds `survivorId` and `mergedIds`. Ids are the API's
/// (UUID strings). An erased contact's earlier events carry no data (erasure emptied it).
pub fn payload(event: &lead_event::Model, ty: WebhookEventType) -> Value {
    let mut data = serde_json::Map::new();
    data.insert("projectId".into(), json!(event.project_id.to_string()));
    data.insert("contactId".into(), json!(event.lead.to_string()));
    data.insert("position".into(), json!(event.position.to_string()));
    data.insert(
        "actorId".into(),
        event
            .actor_id
            .map_or(Value::Null, |a| Value::String(a.to_string())),
    );
    data.insert("kind".into(), json!(kind_name(event.kind)));
    if let Value::Object(own) = &event.data {
        for (k, v) in own {
            data.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    if ty == WebhookEventType::ContactMerged {
        data.insert("survivorId".into(), json!(event.lead.to_string()));
        let merged = event.data.get("contactIds").cloned().unwrap_or(json!([]));
        data.insert("mergedIds".into(), merged);
    }
    json!({
        "type": ty.name(),
        "timestamp": event.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "data": Value::Object(data),
    })
}

fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Created => "CREATED",
        EventKind::FieldChanged => "FIELD_CHANGED",
        EventKind::TagsChanged => "TAGS_CHANGED",
        EventKind::RequestCreated => "REQUEST_CREATED",
        EventKind::Merged => "MERGED",
        EventKind::MergedInto => "MERGED_INTO",
        EventKind::Unmerged => "UNMERGED",
        EventKind::Deleted => "DELETED",
        EventKind::Restored => "RESTORED",
        EventKind::Erased => "ERASED",
        EventKind::NoteAdded => "NOTE_ADDED",
        EventKind::NoteEdited => "NOTE_EDITED",
        EventKind::NoteDeleted => "NOTE_DELETED",
    }
}

/// The `webhook-id` of event `event` (the same for every attempt, so receivers dedupe):
/// `msg_` + the event row's id.
pub fn message_id(event: &lead_event::Model) -> String {
    format!("msg_{}", event.id.simple())
}

/// How long to wait after the `failures`-th consecutive failure (≥ 1): a uniformly random
/// time in `[0, min(cap, base × 2^(failures-1))]` (exponential backoff with full jitter).
pub fn backoff(base: Duration, cap: Duration, failures: u32, rng: &mut impl Rng) -> Duration {
    let exp = base
        .checked_mul(1u32 << failures.saturating_sub(1).min(30))
        .unwrap_or(cap)
        .min(cap);
    let ms = u64::try_from(exp.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rng.gen_range(0..=ms))
}

/// A new signing secret: `whsec_` + base64 of 32 random bytes (Standard Webhooks' form).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Longest accepted endpoint URL, in bytes.
pub const MAX_URL_BYTES: usize = 2000;

/// The URL `raw` checked as a webhook destination ([`crate::webhooks::ssrf::check_url`]).
/// Errors: `BAD_USER_INPUT` (`url`).
fn valid_url(raw: &str, allow_private: bool) -> AppResult<String> {
    if raw.len() > MAX_URL_BYTES {
        return Err(AppError::bad_input(
            "url",
            format!("is longer than {MAX_URL_BYTES} bytes"),
        ));
    }
    crate::webhooks::ssrf::check_url(raw, allow_private)
        .map(|u| u.to_string())
        .map_err(|e| AppError::bad_input("url", e.to_string()))
}

/// `events` deduplicated, as stored. Errors: `BAD_USER_INPUT` (`events` empty).
fn valid_events(events: &[WebhookEventType]) -> AppResult<Value> {
    let mut names: Vec<&str> = Vec::new();
    for ty in events {
        if !names.contains(&ty.name()) {
            names.push(ty.name());
        }
    }
    if names.is_empty() {
        return Err(AppError::bad_input(
            "events",
            "name at least one event type",
        ));
    }
    Ok(json!(names))
}

/// What `create` takes.
#[derive(Clone, Debug)]
pub struct NewWebhook {
    /// The destination (`http` / `https`).
    pub url: String,
    /// The types to deliver (at least one).
    pub events: Vec<WebhookEventType>,
}

/// What `update` changes (`None`: keep).
#[derive(Clone, Debug, Default)]
pub struct WebhookPatch {
    /// A new destination.
    pub url: Option<String>,
    /// New types (at least one).
    pub events: Option<Vec<WebhookEventType>>,
    /// Enable (resets failures, next attempt now) or disable.
    pub enabled: Option<bool>,
}

/// Registers an endpoint of `scope` that receives the events logged after now (its cursor
/// starts at the log's head) and returns it; its `secret` is to be shown to the caller this
/// once. `allow_private` is `WEBHOOK_ALLOW_PRIVATE_DESTINATIONS`. Errors: `BAD_USER_INPUT`
/// (`url`: not http(s), no host, credentials, an IP literal the SSRF guard refuses, too
/// long; `events` empty), `INTERNAL`.
pub async fn create(
    db: &impl Database,
    scope: ProjectScope,
    input: NewWebhook,
    allow_private: bool,
) -> AppResult<webhook::Model> {
    let url = valid_url(&input.url, allow_private)?;
    let event_types = valid_events(&input.events)?;
    let txn = begin_write(db).await?;
    let at = now();
    let row = webhook::Model {
        id: Uuid::new_v4(),
        project_id: scope.project_id,
        url,
        event_types,
        secret: new_secret(),
        enabled: true,
        disabled_reason: None,
        consecutive_failures: 0,
        delivered_position: timeline::head(&txn, scope).await?,
        next_attempt_at: at,
        lease_owner: None,
        lease_until: None,
        created_at: at,
        updated_at: at,
    };
    store::insert(&txn, row.clone()).await?;
    txn.commit().await?;
    Ok(row)
}

/// Changes endpoint `id` of `scope` and returns it. Enabling clears the failures and the
/// disabled reason and schedules the next attempt now; disabling stops deliveries (its cursor
/// stays: re-enabling delivers what was logged meanwhile). Errors: `BAD_USER_INPUT` (as
/// `create`), `NOT_FOUND` (unknown, or another project's), `INTERNAL`.
pub async fn update(
    db: &impl Database,
    scope: ProjectScope,
    id: Uuid,
    patch: WebhookPatch,
    allow_private: bool,
) -> AppResult<webhook::Model> {
    let url = patch
        .url
        .as_deref()
        .map(|u| valid_url(u, allow_private))
        .transpose()?;
    let events = patch.events.as_deref().map(valid_events).transpose()?;
    let txn = begin_write(db).await?;
    let mut row = store::find(&txn, scope, id)
        .await?
        .ok_or(AppError::NotFound("webhook"))?;
    let at = now();
    if let Some(url) = url {
        row.url = url;
    }
    if let Some(events) = events {
        row.event_types = events;
    }
    match patch.enabled {
        Some(true) => {
            row.enabled = true;
            row.disabled_reason = None;
            row.consecutive_failures = 0;
            row.next_attempt_at = at;
        }
        Some(false) => row.enabled = false,
        None => {}
    }
    row.updated_at = at;
    if !store::save(&txn, row.clone()).await? {
        return Err(AppError::NotFound("webhook"));
    }
    txn.commit().await?;
    if row.enabled {
        // Wake the worker: there may be events waiting for this endpoint.
        super::events::ring(scope.project_id);
    }
    Ok(row)
}

/// Gives endpoint `id` of `scope` a new signing secret (effective from its next attempt) and
/// returns it, with the secret to show the caller this once. Errors: `NOT_FOUND` (unknown,
/// or another project's), `INTERNAL`.
pub async fn rotate_secret(
    db: &impl Database,
    scope: ProjectScope,
    id: Uuid,
) -> AppResult<webhook::Model> {
    let txn = begin_write(db).await?;
    let mut row = store::find(&txn, scope, id)
        .await?
        .ok_or(AppError::NotFound("webhook"))?;
    row.secret = new_secret();
    row.updated_at = now();
    if !store::save(&txn, row.clone()).await? {
        return Err(AppError::NotFound("webhook"));
    }
    txn.commit().await?;
    Ok(row)
}

/// Deletes endpoint `id` of `scope` and its delivery records. Errors: `NOT_FOUND` (unknown,
/// or another project's), `INTERNAL`.
pub async fn delete(db: &impl Database, scope: ProjectScope, id: Uuid) -> AppResult<()> {
    let txn = begin_write(db).await?;
    if !store::delete(&txn, scope, id).await? {
        return Err(AppError::NotFound("webhook"));
    }
    txn.commit().await?;
    Ok(())
}

/// The endpoints of `scope`, oldest first. Errors: `INTERNAL`.
pub async fn list(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
) -> AppResult<Vec<webhook::Model>> {
    Ok(store::list(db, scope).await?)
}

/// The newest `first` delivery attempts of each endpoint of `webhooks` (in `scope`), newest
/// first. Errors: `INTERNAL`.
pub async fn recent_deliveries(
    db: &impl ConnectionTrait,
    scope: ProjectScope,
    webhooks: &[Uuid],
    first: usize,
) -> AppResult<HashMap<Uuid, Vec<webhook_delivery::Model>>> {
    Ok(store::recent_deliveries(db, scope, webhooks, first).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_full_jitter_capped() {
        let mut rng = rand::thread_rng();
        let base = Duration::from_millis(100);
        let cap = Duration::from_millis(1000);
        for failures in 1..40 {
            let limit = (100u64 << (failures - 1).min(30)).min(1000);
            for _ in 0..20 {
                let d = backoff(base, cap, failures, &mut rng);
                assert!(d <= Duration::from_millis(limit), "{failures}: {d:?}");
            }
        }
    }

    #[test]
    fn every_type_round_trips_and_merged_into_is_not_delivered() {
        for ty in WebhookEventType::ALL {
            assert_eq!(WebhookEventType::parse(ty.name()), Some(ty));
        }
        assert_eq!(WebhookEventType::of_kind(EventKind::MergedInto), None);
        assert_eq!(
            WebhookEventType::of_kind(EventKind::TagsChanged),
            Some(WebhookEventType::ContactUpdated)
        );
    }

    #[test]
    fn secrets_are_standard_webhooks_secrets() {
        let s = new_secret();
        assert!(s.starts_with("whsec_"));
        assert!(standardwebhooks::Webhook::new(&s).is_ok());
        assert_ne!(s, new_secret());
    }
}
