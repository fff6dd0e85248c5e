//! `BulkJob`: a bulk action over every contact matching a filter, processed in batches.

use async_graphql::{Enum, ID, Json, Object};
use chrono::{DateTime, Utc};
use entity::bulk_job;
use serde_json::Value;

use crate::graphql::inputs::ContactFilter;
use crate::service::contact_search::ContactQuery;

/// What a bulk job does to each contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum BulkJobKind {
    /// `deleteContacts`: soft-delete.
    Delete,
    /// `addTagsToContacts`.
    AddTags,
    /// `assignContacts`: set or clear the owner.
    Assign,
    /// `updateContacts`: change fields and attributes.
    Update,
}

/// Where a bulk job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum BulkJobStatus {
    /// Batches remain (a job whose server stopped resumes when it is read after
    /// `BULK_LEASE_SECS`).
    Running,
    /// Every matching contact was processed.
    Completed,
    /// Stopped by an error (`error`); the batches before it stay applied.
    Failed,
}

/// A bulk job.
pub struct BulkJob(pub bulk_job::Model);

/// A bulk action over every contact that matched a filter when it started (contacts created
/// later are left out), processed in keyset batches of `BULK_BATCH_SIZE`, each batch its own
/// transaction with the job's progress: an interrupted job resumes after its last batch and
/// never applies a change twice. Every changed contact gets its timeline event.
#[Object]
impl BulkJob {
    /// Primary key (a UUID): `bulkJob(id:)` reads the progress.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// What it does.
    async fn kind(&self) -> BulkJobKind {
        match self.0.kind.as_str() {
            "DELETE" => BulkJobKind::Delete,
            "ADD_TAGS" => BulkJobKind::AddTags,
            "ASSIGN" => BulkJobKind::Assign,
            _ => BulkJobKind::Update,
        }
    }

    /// Where it stands.
    async fn status(&self) -> BulkJobStatus {
        match self.0.status.as_str() {
            "COMPLETED" => BulkJobStatus::Completed,
            "FAILED" => BulkJobStatus::Failed,
            _ => BulkJobStatus::Running,
        }
    }

    /// The contacts it takes: the filter (in the shape of the `ContactFilter` input, a
    /// segment's filters included) as JSON.
    async fn filter(&self) -> Json<Value> {
        let query: ContactQuery = serde_json::from_value(self.0.query.clone()).unwrap_or_default();
        Json(ContactFilter::from_query(&query).to_json())
    }

    /// Contacts that matched when it started.
    async fn total(&self) -> i64 {
        self.0.total
    }

    /// Contacts processed so far (`succeeded` + `skipped`).
    async fn processed(&self) -> i64 {
        self.0.processed
    }

    /// Contacts changed, or already as asked.
    async fn succeeded(&self) -> i64 {
        self.0.succeeded
    }

    /// Contacts skipped: erased or merged away since, or the change broke a limit (e.g. too
    /// many tags).
    async fn skipped(&self) -> i64 {
        self.0.skipped
    }

    /// Why it failed; null unless FAILED.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    /// The agent who started it.
    async fn actor_id(&self) -> Option<ID> {
        self.0.actor_id.map(|id| ID(id.to_string()))
    }

    /// When it started (UTC).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Its last progress (UTC).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// When it completed or failed (UTC); null while running.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
}
