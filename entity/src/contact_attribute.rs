//! `contact_attribute`: a project's definition of one custom attribute key of its contacts
//! (a label, a value type, the choices of a list). The values themselves stay in
//! `lead.attributes`; writes check them against the definition of their key.

use sea_orm::entity::prelude::*;

/// The type of an attribute's values, stored as its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum AttributeType {
    /// A JSON string.
    #[sea_orm(string_value = "TEXT")]
    Text,
    /// A finite JSON number.
    #[sea_orm(string_value = "NUMBER")]
    Number,
    /// A JSON boolean.
    #[sea_orm(string_value = "BOOLEAN")]
    Boolean,
    /// An ISO 8601 calendar date `YYYY-MM-DD` (a JSON string).
    #[sea_orm(string_value = "DATE")]
    Date,
    /// One of the definition's `options` (a JSON string).
    #[sea_orm(string_value = "LIST")]
    List,
    /// An absolute `http` or `https` URL (a JSON string).
    #[sea_orm(string_value = "URL")]
    Url,
}

/// One attribute definition.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contact_attribute")]
pub struct Model {
    /// Primary key (UUID v4): the `ContactAttributeDefinition.id` of the API.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub project_id: Uuid,
    /// The top-level key in `lead.attributes` (unique per project, immutable).
    pub key: String,
    /// The name shown to agents (1..=100 characters, NFC).
    pub label: String,
    /// The type of the values (immutable).
    #[sea_orm(column_name = "type")]
    pub value_type: AttributeType,
    /// The choices of a `LIST` (a JSON array of strings); `[]` for other types.
    pub options: Json,
    /// When it was archived (it then no longer checks values); `None` while active.
    pub archived_at: Option<DateTimeUtc>,
    /// Creation time, UTC (the list's order, with `id`).
    pub created_at: DateTimeUtc,
    /// Last change, UTC.
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM; services join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
