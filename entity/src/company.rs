//! `company`: an organisation the project's contacts work for. Contacts link to one through
//! `lead.company_id`; `lead.company` holds its name (kept in sync by the server).

use sea_orm::entity::prelude::*;

/// One company.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "company")]
pub struct Model {
    /// Primary key (UUID v4): the `Company.id` of the API.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub project_id: Uuid,
    /// The name as typed (trimmed, NFC), 1..=200 characters.
    pub name: String,
    /// The match key of `name` (lower-cased): by-name links and the search compare it.
    /// Indexed with the project.
    pub name_key: String,
    /// The web domain (lower-case ASCII, IDNA-encoded, no scheme, path, port or `www.`);
    /// unique per project where set.
    pub domain: Option<String>,
    /// Custom attributes (a JSON object, the contacts' attribute rules).
    pub attributes: Json,
    /// Incremented on every write (optimistic concurrency).
    pub version: i32,
    /// Creation time, UTC, microsecond precision.
    pub created_at: DateTimeUtc,
    /// Last write time, UTC.
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM; services join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
