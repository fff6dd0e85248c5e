//! `contact_note`: an agent's note on a Lead (a Contact), with its author and times. Never
//! shown to visitors; moved by merges, moved back by unmerges, deleted by erasure.

use sea_orm::entity::prelude::*;

/// One note.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contact_note")]
pub struct Model {
    /// Primary key (UUID v4): the `ContactNote.id` of the API.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub project_id: Uuid,
    /// The Lead it is on (the survivor's after a merge).
    pub lead: Uuid,
    /// The agent who wrote it; `None` for the note migrated from the old `lead.note` field.
    pub author_id: Option<Uuid>,
    /// The text (multi-line, NFC, trimmed, 1..=10,000 characters).
    pub body: String,
    /// Creation time, UTC, microsecond precision (the list's sort key with `id`).
    pub created_at: DateTimeUtc,
    /// Last edit time, UTC (`created_at` until edited).
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM; services join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
