//! Root mutations, one file per domain, merged.

mod accounts;
mod attributes;
mod bulk;
mod companies;
mod contacts;
mod merge;
mod notes;
mod segments;
mod team;
mod visitor;
mod webhooks;

use async_graphql::MergedObject;

pub use accounts::AccountMutation;
pub use attributes::AttributeMutation;
pub use bulk::{BulkContactResult, BulkContactsPayload, BulkError, BulkMutation};
pub use companies::CompanyMutation;
pub use contacts::ContactMutation;
pub use merge::{MergeMutation, ProjectSecretPayload};
pub use notes::{DeleteContactNotePayload, NoteMutation};
pub use segments::SegmentMutation;
pub use team::TeamMutation;
pub use visitor::{IdentifyVisitorPayload, VisitorMutation};
pub use webhooks::{
    CreateWebhookPayload, DeleteWebhookPayload, RotateWebhookSecretPayload, WebhookMutation,
};

/// The root mutation type.
#[derive(Default, MergedObject)]
pub struct Mutation(
    AccountMutation,
    VisitorMutation,
    ContactMutation,
    BulkMutation,
    CompanyMutation,
    MergeMutation,
    WebhookMutation,
    NoteMutation,
    TeamMutation,
    SegmentMutation,
    AttributeMutation,
);
