//! `ContactAttributeDefinition`: a project's definition of one custom attribute key.

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};
use entity::contact_attribute;

use super::enums::ContactAttributeType;
use crate::normalize;

/// A custom attribute definition (a stored row).
pub struct ContactAttributeDefinition(pub contact_attribute::Model);

/// A project's definition of one key of its contacts' `attributes`: its label, the type of
/// its values and, for a LIST, the options. Writes of contact attributes (capture,
/// `createContact`, `setContactAttributes`, CSV import) check values against the definitions
/// that are not archived; `contacts(attributeFilters:)` compares by the type.
#[Object]
impl ContactAttributeDefinition {
    /// The definition's id (a UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The key in `Contact.attributes` (immutable).
    async fn key(&self) -> &str {
        &self.0.key
    }

    /// The name shown to agents.
    async fn label(&self) -> &str {
        &self.0.label
    }

    /// The type of the values (immutable).
    #[graphql(name = "type")]
    async fn value_type(&self) -> ContactAttributeType {
        self.0.value_type.into()
    }

    /// The choices of a LIST, in order; empty for other types.
    async fn options(&self) -> Vec<String> {
        normalize::stored_tags(&self.0.options)
    }

    /// Whether it is archived: it then checks no value (its key is like an undefined one) and
    /// `contactAttributes` lists it only with `includeArchived`.
    async fn archived(&self) -> bool {
        self.0.archived_at.is_some()
    }

    /// Creation time, UTC.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Last change (label, options, archived), UTC.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
