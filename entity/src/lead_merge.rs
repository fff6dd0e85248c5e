//! `lead_merge`: the merge journal. One row per merge of secondary Leads into a primary one,
//! holding what is needed to undo it exactly.

use sea_orm::entity::prelude::*;

/// `kind` of a merge an agent asked for.
pub const KIND_MANUAL: &str = "MANUAL";
/// `kind` of a merge made by the project's `auto_merge_on_email` setting.
pub const KIND_AUTO_EMAIL: &str = "AUTO_EMAIL";
/// `kind` of a merge made when an anonymous visitor identified itself.
pub const KIND_IDENTIFY: &str = "IDENTIFY";

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
    /// [`KIND_MANUAL`], [`KIND_AUTO_EMAIL`] or [`KIND_IDENTIFY`].
    pub kind: String,
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
