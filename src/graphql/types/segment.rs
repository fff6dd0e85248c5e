//! `Segment`: a saved, shared contact filter.

use async_graphql::{Context, ID, Json, Object, Result};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde_json::Value;

use crate::graphql::inputs::ContactFilter;
use crate::service::ProjectScope;
use crate::service::contact_search;
use crate::service::segments::Segment;

/// A segment, with its live count when the list fetched it.
pub struct SegmentObject {
    /// The segment.
    pub segment: Segment,
    /// Its scope (to count when no count was fetched).
    pub scope: ProjectScope,
    /// `contactsCount` computed with the list (one statement for every segment).
    pub count: Option<u64>,
}

/// A named contact filter shared by the project's agents: `contacts(segment:)`, bulk actions
/// (`filter` + `segment`) and `export-csv --segment` use it.
#[Object(name = "Segment")]
impl SegmentObject {
    /// Primary key (a UUID).
    async fn id(&self) -> ID {
        ID(self.segment.row.id.to_string())
    }

    /// Its name (unique in the project, case-insensitively).
    async fn name(&self) -> &str {
        &self.segment.row.name
    }

    /// Its filter, as JSON in the shape of the `ContactFilter` input (only the filters it
    /// sets), so it can be shown, edited and sent back to `saveSegment`.
    async fn filter(&self) -> Json<Value> {
        Json(ContactFilter::from_query(&self.segment.query).to_json())
    }

    /// How many contacts match it now (for `segments`, one statement counts them all).
    async fn contacts_count(&self, ctx: &Context<'_>) -> Result<u64> {
        if let Some(n) = self.count {
            return Ok(n);
        }
        let db = ctx.data::<DatabaseConnection>()?;
        Ok(contact_search::count(db, self.scope, &self.segment.query).await?)
    }

    /// The agent who created it; null when unknown.
    async fn created_by(&self) -> Option<ID> {
        self.segment.row.created_by.map(|id| ID(id.to_string()))
    }

    /// Creation time (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.segment.row.created_at
    }

    /// Last change (UTC).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.segment.row.updated_at
    }
}

/// What `deleteSegment` returns.
pub struct DeleteSegmentPayload(pub uuid::Uuid);

/// What `deleteSegment` deleted.
#[Object]
impl DeleteSegmentPayload {
    /// The deleted segment's id.
    async fn deleted_segment_id(&self) -> ID {
        ID(self.0.to_string())
    }
}
