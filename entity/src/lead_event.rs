//! `lead_event`: the timeline of a Lead (created, field changed, tags changed, request created,
//! merged, unmerged, deleted, restored, erased, notes), written in the same transaction as the change;
//! also the project's event log, ordered by `position`.

use sea_orm::entity::prelude::*;

/// What happened to a Lead, stored as its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum EventKind {
    /// Created (by a visitor's first request or metadata, by an agent, or by an import).
    #[sea_orm(string_value = "CREATED")]
    Created,
    /// One field changed.
    #[sea_orm(string_value = "FIELD_CHANGED")]
    FieldChanged,
    /// Tags were added and/or removed.
    #[sea_orm(string_value = "TAGS_CHANGED")]
    TagsChanged,
    /// A new Request aggregates under the Lead.
    #[sea_orm(string_value = "REQUEST_CREATED")]
    RequestCreated,
    /// Other Leads were merged into this one.
    #[sea_orm(string_value = "MERGED")]
    Merged,
    /// This Lead was merged into another one.
    #[sea_orm(string_value = "MERGED_INTO")]
    MergedInto,
    /// A merge this Lead took part in was undone.
    #[sea_orm(string_value = "UNMERGED")]
    Unmerged,
    /// Soft-deleted.
    #[sea_orm(string_value = "DELETED")]
    Deleted,
    /// Restored after a soft delete.
    #[sea_orm(string_value = "RESTORED")]
    Restored,
    /// Erased (GDPR); earlier events lost their personal data.
    #[sea_orm(string_value = "ERASED")]
    Erased,
    /// An agent added a note (`noteId`).
    #[sea_orm(string_value = "NOTE_ADDED")]
    NoteAdded,
    /// A note was edited (`noteId`).
    #[sea_orm(string_value = "NOTE_EDITED")]
    NoteEdited,
    /// A note was deleted (`noteId`).
    #[sea_orm(string_value = "NOTE_DELETED")]
    NoteDeleted,
}

/// One event.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lead_event")]
pub struct Model {
    /// Primary key (UUID v4).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub project_id: Uuid,
    /// Where it stands in its project's event log: from 1, strictly increasing in commit
    /// order within the project (gaps are possible, never reordering).
    pub position: i64,
    /// The Lead it happened to.
    pub lead: Uuid,
    /// What happened.
    pub kind: EventKind,
    /// Who did it (an agent or a visitor); `None` for system changes.
    pub actor_id: Option<Uuid>,
    /// The details (a JSON object; keys depend on `kind`: `field`, `before`, `after`,
    /// `added`, `removed`, `requestId`, `mergeId`, `contactIds`). Emptied by erasure.
    pub data: Json,
    /// When it happened, UTC, microsecond precision.
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM; services join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
