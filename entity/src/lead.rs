//! `lead`: a Contact. One per (project, `lead_id`), where `lead_id` is the visitor's user id.

use sea_orm::entity::prelude::*;

/// A Lead's status, stored as an integer code (the peer help desk's codes: TEMP 50, NORMAL
/// 100, DELETED 1000, MERGED 2000). Serialized as that integer too, so the merge journal's
/// row copies keep the stored form.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "i32", db_type = "Integer")]
#[serde(into = "i32", try_from = "i32")]
pub enum LeadStatus {
    /// Created proactively; hidden from lists.
    #[sea_orm(num_value = 50)]
    Temp,
    /// An ordinary Lead.
    #[sea_orm(num_value = 100)]
    Normal,
    /// Soft-deleted; hidden from lists.
    #[sea_orm(num_value = 1000)]
    Deleted,
    /// Merged away (a tombstone, `merged_into` set); never listed, never returned: reads
    /// resolve to the surviving Lead.
    #[sea_orm(num_value = 2000)]
    Merged,
}

impl From<LeadStatus> for i32 {
    fn from(status: LeadStatus) -> i32 {
        status.to_value()
    }
}

impl TryFrom<i32> for LeadStatus {
    type Error = String;
    fn try_from(code: i32) -> Result<Self, String> {
        Self::try_from_value(&code).map_err(|_| format!("unknown lead status code {code}"))
    }
}

/// One Lead (Contact). Serializable so that the merge journal can keep exact copies of rows.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "lead")]
pub struct Model {
    /// Primary key (UUID v4): the Contact's GraphQL `id`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub project_id: Uuid,
    /// The visitor's user id (unique per project).
    pub lead_id: String,
    /// Full name as typed, trimmed, NFC.
    pub fullname: Option<String>,
    /// Email as typed, trimmed, NFC (for display).
    pub email: Option<String>,
    /// The match key of `email`: NFC and lower-cased. Indexed with the project.
    pub email_key: Option<String>,
    /// E.164 phone number, or digits where it does not parse as an international number.
    pub phone: Option<String>,
    /// The name of the linked company (`company_id`), kept in sync by the server (renaming
    /// the company renames it here); `None` when unlinked. Full-text search reads it.
    pub company: Option<String>,
    /// Free-text note by agents.
    pub note: Option<String>,
    /// Street address.
    pub street: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Region / state / province.
    pub region: Option<String>,
    /// Postal code.
    pub zipcode: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Custom attributes (a JSON object).
    pub attributes: Json,
    /// Tags (a JSON array of strings, no duplicates).
    pub tags: Json,
    /// The status.
    pub status: LeadStatus,
    /// Incremented on every write (optimistic concurrency).
    pub version: i32,
    /// Creation time, UTC, microsecond precision.
    pub created_at: DateTimeUtc,
    /// Last write time, UTC.
    pub updated_at: DateTimeUtc,
    /// Creation time of the newest Request, UTC (maintained with each new Request).
    pub last_request_at: Option<DateTimeUtc>,
    /// When the Lead was erased (GDPR): personal data gone, a tombstone remains.
    pub erased_at: Option<DateTimeUtc>,
    /// The surviving Lead this one was merged into (status [`STATUS_MERGED`]); `None` otherwise.
    pub merged_into: Option<Uuid>,
    /// Emails absorbed by merges that differ from `email` (a JSON array of strings, display form).
    pub additional_emails: Json,
    /// The integrating site's id of an identified visitor (unique per project); `None` for
    /// anonymous visitors and hand-made contacts.
    pub external_id: Option<String>,
    /// The agent (a member of the project with role OWNER, ADMIN or AGENT) responsible for
    /// the contact; `None` when unassigned. Absent from merge journals written before owners
    /// existed (read as `None`).
    #[serde(default)]
    pub owner_id: Option<Uuid>,
    /// The company the contact works for (`company.id` of the same project); `None` when
    /// unlinked. Absent from merge journals written before companies existed (read as
    /// `None`).
    #[serde(default)]
    pub company_id: Option<Uuid>,
}

/// No relations are navigated through SeaORM; services join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
