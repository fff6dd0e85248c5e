//! `bulk_job`: an action over every contact matching a filter, processed in keyset batches
//! (each batch its own transaction, committed with the job's cursor and counters).

use sea_orm::entity::prelude::*;

/// One job.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bulk_job")]
pub struct Model {
    /// Primary key (UUID v4): the `BulkJob.id` of the API.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub project_id: Uuid,
    /// What it does: `DELETE`, `ADD_TAGS`, `ASSIGN` or `UPDATE`.
    pub kind: String,
    /// Which contacts: `contacts_server::service::contact_search::ContactQuery` as JSON.
    pub query: Json,
    /// The action's arguments (tags, owner, field patch) as JSON.
    pub params: Json,
    /// `RUNNING`, `COMPLETED` or `FAILED`.
    pub status: String,
    /// Contacts matching when the job was created.
    pub total: i64,
    /// Contacts looked at so far.
    pub processed: i64,
    /// Contacts changed (or already as asked).
    pub succeeded: i64,
    /// Contacts skipped (erased, merged away, or no longer changeable).
    pub skipped: i64,
    /// The last contact id processed: the next batch starts after it.
    pub cursor: Option<Uuid>,
    /// The agent who started it.
    pub actor_id: Option<Uuid>,
    /// The server instance processing it now.
    pub lease_owner: Option<Uuid>,
    /// Until when that instance holds it; past: another may resume the job.
    pub lease_until: Option<DateTimeUtc>,
    /// Why it failed (`FAILED`): an internal error's summary, never data.
    pub error: Option<String>,
    /// Creation time, UTC; contacts created later are not part of the job.
    pub created_at: DateTimeUtc,
    /// Last progress, UTC.
    pub updated_at: DateTimeUtc,
    /// When it completed or failed.
    pub finished_at: Option<DateTimeUtc>,
}

/// No relations are navigated through SeaORM; services join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
