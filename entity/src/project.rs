//! `project`: a tenant. Every other record belongs to exactly one project.

use sea_orm::entity::prelude::*;

/// One project (tenant).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "project")]
pub struct Model {
    /// Primary key (UUID v4).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Display name, 1 to 200 characters.
    pub name: String,
    /// Creation time, UTC.
    pub created_at: DateTimeUtc,
    /// When true, a visitor capturing an email another contact of the project has is merged
    /// into that contact (journaled, undoable). Default false.
    pub auto_merge_on_email: bool,
    /// When true, contact attributes may only use keys the project defined (and did not
    /// archive): any other key is refused on every write. Default false.
    pub strict_attributes: bool,
    /// The HS256 secret the integrating site signs identified visitors' tokens with; `None`
    /// until rotated the first time. Never returned by the API except once, at rotation.
    pub site_secret: Option<String>,
    /// When `site_secret` was last rotated.
    pub site_secret_rotated_at: Option<DateTimeUtc>,
    /// When true, a contact without a company that gets an email whose domain is a
    /// company's `domain` (and not a free-mail provider's) is linked to that company.
    /// Default false.
    pub link_company_by_email_domain: bool,
}

/// No relations are navigated through SeaORM; services join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
