//! `VisitorEvent`: what a visitor's subscription receives (its own requests only).

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};
use entity::lead_event;

/// An event of the visitor's own conversation history.
pub struct VisitorEvent(pub lead_event::Model);

/// A new request of this visitor (`REQUEST_CREATED`); fetch it with `viewer { requests }`.
#[Object]
impl VisitorEvent {
    /// Where it stands in the project's event log (decimal digits of a 64-bit integer): give
    /// it as `after:` to resume.
    async fn position(&self) -> String {
        self.0.position.to_string()
    }

    /// Always `REQUEST_CREATED` for now.
    async fn kind(&self) -> super::enums::ContactEventKind {
        self.0.kind.into()
    }

    /// When (UTC, microseconds).
    async fn at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The request's `id`.
    async fn request_id(&self) -> Option<ID> {
        self.0
            .data
            .get("requestId")
            .and_then(|v| v.as_str())
            .map(|s| ID(s.to_owned()))
    }
}
