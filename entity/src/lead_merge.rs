//! `lead_merge`: the merge journal. One row per merge of secondary Leads into a primary one,
//! holding what is needed to undo it exactly.

use sea_orm::entity::prelude::*;

/// What started a merge, stored as its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum MergeKind {
    /// An agent asked for it.
    #[sea_orm(string_value = "MANUAL")]
    Manual,
    /// The project's `auto_merge_on_email` setting.
    #[sea_orm(string_value = "AUTO_EMAIL")]
    AutoEmail,
    /// An anonymous visitor identified itself.
    #[sea_orm(string_value = "IDENTIFY")]
    Identify,
}

/// One merge.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "lead_merge")]
pub struct Model {
    /// Primary key (UUID v4): the `mergeId` of the API.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub project_id: Uuid,
    /// The surviving Lead.
    pub primary_id: Uuid,
    /// The merged-away Leads, in the order given (a JSON array of UUID strings).
    pub secondary_ids: Json,
    /// What started it.
    pub kind: MergeKind,
    /// Who merged (an agent or the visitor); `None` for system merges.
    pub actor_id: Option<Uuid>,
    /// Every involved row as it was before the merge (primary and secondaries), the moved
    /// Requests per secondary and the re-pointed tombstones; `None` once erased (GDPR), which
    /// makes the merge permanent.
    pub snapshot: Option<Json>,
    /// The primary's `version` right after the merge: unmerge requires it unchanged.
    pub primary_version_after: i32,
    /// When it was merged, UTC.
    pub created_at: DateTimeUtc,
    /// When it was undone, UTC; `None` while in force.
    pub undone_at: Option<DateTimeUtc>,
}

/// No relations are navigated through SeaORM; services join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
